"""A STAND-IN JUDGE for tests: a real OpenAI-compatible HTTP server on localhost that answers the
judge prompts of HLE, ArenaHard v2, IMO-Bench, MultiChallenge, AA-LCR and CL-Bench, and a
translation metric's asks, by fixed rules instead of judgement (a paid judge
cannot run here). It exercises the real client, retries, storage and parsing; its verdicts mean
nothing.

    python tests/judge_stand_in.py --port 8012 [--log FILE] [--delay 0.2]

Model ids: `stand-in-judge` (the rules below), `stand-in-lenient` (always the best verdict),
`stand-in-garbage` (a reply no parse rule reads). Rules: HLE "correct: yes" when the reference
answer appears in the response; ArenaHard the longer answer wins (a strong verdict when twice as
long); the IMO autograder "Correct" when the golden answer appears in the solution; ProofBench 7
points when the proof ends with "QED", else 1; MultiChallenge "YES" when the response holds the
criterion's first quoted phrase; AA-LCR "CORRECT" when the candidate holds the official answer's
first word; CL-bench a rubric met when the response holds its first quoted phrase (score 1 when all
are, rubrics without one unmet); a metric ask ({"src", "mt", "ref"}) the share of characters the
translation and the reference have in common (a stand-in for xCOMET). Every request is appended to --log (one JSON line:
the model id and a digest of the messages) so tests can count what was asked.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import threading
import time
from http.server import ThreadingHTTPServer

from openai_stub import OpenAIStubHandler

MODELS = ("stand-in-judge", "stand-in-lenient", "stand-in-garbage")


def between(text: str, start: str, end: str) -> str:
    i = text.find(start)
    if i < 0:
        return ""
    j = text.find(end, i + len(start))
    return text[i + len(start): j if j >= 0 else len(text)].strip()


def verdict(model: str, text: str) -> str:
    if model == "stand-in-garbage":
        return "Hmm. Both have merits; I would rather not say."
    lenient = model == "stand-in-lenient"
    try:  # a translation metric's ask: {"src", "mt", "ref"}
        triple = json.loads(text)
    except ValueError:
        triple = None
    if isinstance(triple, dict) and {"src", "mt", "ref"} <= set(triple):
        ref, mt = set(triple["ref"]), set(triple["mt"])
        return f"{1.0 if lenient else len(ref & mt) / max(1, len(ref | mt)):.6f}"  # shared characters
    if "[correct_answer]:" in text:  # HLE
        response = between(text, "[response]:", "Your judgement must be")
        gold = text.rsplit("[correct_answer]:", 1)[1].split("\n", 1)[0].strip()
        right = lenient or gold.lower() in response.lower()
        conf = re.findall(r"Confidence:\s*(\d+)", response)
        return (f"extracted_final_answer: {gold if right else 'something else'}\n\nreasoning: stand-in rule.\n\n"
                f"correct: {'yes' if right else 'no'}\n\nconfidence: {conf[-1] if conf else 100}")
    if "<|The Start of Assistant A's Answer|>" in text:  # ArenaHard
        a = between(text, "<|The Start of Assistant A's Answer|>", "<|The End of Assistant A's Answer|>")
        b = between(text, "<|The Start of Assistant B's Answer|>", "<|The End of Assistant B's Answer|>")
        if lenient:
            label = "B>>A"
        elif len(a) == len(b):
            label = "A=B"
        elif len(a) > len(b):
            label = "A>>B" if len(a) >= 2 * len(b) else "A>B"
        else:
            label = "B>>A" if len(b) >= 2 * len(a) else "B>A"
        return f"The stand-in compares lengths. My final verdict is: [[{label}]]"
    if "Golden Answer:" in text:  # IMO AnswerBench autograder
        solution = between(text, "Model Solution:", "Golden Answer:")
        gold = text.rsplit("Golden Answer:", 1)[1].strip()
        right = lenient or gold.strip("$ ") in solution
        return f"<thinking>stand-in rule</thinking>\n\\boxed{{{'Correct' if right else 'Incorrect'}}}"
    if "**PROPOSED SOLUTION**" in text:  # IMO ProofBench
        proof = between(text, "**PROPOSED SOLUTION**", "Present your detailed thought process")
        points = 7 if lenient or proof.rstrip().endswith("QED") else 1
        return f"Stand-in grading.\n<points>{points} out of 7</points>"
    if "<CRITERIA>" in text:  # MultiChallenge
        response = between(text, "<MODEL_RESPONSE>", "</MODEL_RESPONSE>")
        quoted = re.findall(r'"([^"]+)"', between(text, "<CRITERIA>", "</CRITERIA>"))
        yes = lenient or (bool(quoted) and quoted[0].lower() in response.lower())
        return f"The stand-in looks for the criterion's quoted phrase.\n\n{'YES' if yes else 'NO'}"
    if "CANDIDATE ANSWER TO ASSESS:" in text:  # AA-LCR
        official = between(text, "The OFFICIAL ANSWER:", "CANDIDATE ANSWER TO ASSESS:")
        candidate = between(text, "CANDIDATE ANSWER TO ASSESS:", "Reply only with")
        first = re.findall(r"\w+", official.lower())[:1]
        right = lenient or (bool(first) and first[0] in re.findall(r"\w+", candidate.lower()))
        return "CORRECT" if right else "INCORRECT"
    if "【Student Response】" in text:  # CL-bench
        rubrics = between(text, "【Rubrics】:", "【Student Response】:").splitlines()
        response = between(text, "【Student Response】:", "Please strictly output ONLY")
        met = []
        for line in rubrics:
            quoted = re.findall(r'"([^"]+)"', line)
            met.append("yes" if lenient or (quoted and quoted[0] in response) else "no")
        return json.dumps({"Grading Rationale": "stand-in rule", "List of Requirement Satisfaction Status": met,
                           "Overall Score": int(bool(met) and all(m == "yes" for m in met))})
    return "no rule for this prompt"


def make_handler(log_path: str | None, delay: float):
    lock = threading.Lock()

    class Handler(OpenAIStubHandler):
        model_ids = tuple(MODELS)

        def do_POST(self):
            body = self.read_json()
            model = body.get("model")
            if model not in MODELS or self.path.rstrip("/") != "/v1/chat/completions":
                self.send_json(404, {"error": {"message": f"The model `{model}` does not exist."}})
                return
            text = "\n".join(str(m.get("content")) for m in body.get("messages") or [])
            if delay:
                time.sleep(delay)
            reply = verdict(model, text)
            if log_path:
                with lock, open(log_path, "a") as f:
                    f.write(json.dumps({"model": model, "digest": hashlib.sha256(text.encode()).hexdigest()[:16]}) + "\n")
            usage = {"prompt_tokens": len(text.split()), "completion_tokens": len(reply.split())}
            self.send_json(200, {"id": "stand-in", "object": "chat.completion", "model": model, "usage": usage,
                             "choices": [{"index": 0, "finish_reason": "stop",
                                          "message": {"role": "assistant", "content": reply}}]})

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", default=None)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(args.log, args.delay))
    print(f"stand-in judge on http://127.0.0.1:{args.port}/v1", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
