"""A STAND-IN MODEL for tool-integrated reasoning: a real OpenAI-compatible HTTP server (standard
library) that replays scripted multi-turn completions. No model that makes tool calls can run on
this machine, so tests and bench/tir_bench.py use this in its place.

    python tests/tir_stand_in_server.py --port 8012 --script SCRIPT.json

SCRIPT.json: {"model_id": "stand-in", "delay_s": 0.0, "conversations": [{"match": TEXT,
"turns": [TURN0, TURN1, ...]}, ...]}. A /completions request is answered from the first
conversation whose `match` occurs in its prompt, with turn n = how many <tool_response> the prompt
already holds (so a resumed conversation gets the turn it is at). Like a real server it honours
`stop` (the text ends before the first stop string, finish_reason "stop") and `max_tokens` (one
token per whitespace-separated word; cut there with finish_reason "length"). A turn may be
{"text": ..., "delay_s": ...} to take that long. Every request is logged to --log (one JSON line).
"""
from __future__ import annotations

import re
import time

from openai_stub import LocalServer, OpenAIStubHandler, RequestLog, local_server, serve_script


def words(text: str) -> int:
    return len(re.findall(r"\S+", text))


def answer(script: dict, body: dict) -> dict:
    prompt = str(body.get("prompt") or "")
    conv = next((c for c in script["conversations"] if c["match"] in prompt), None)
    if conv is None:
        return {"text": "I have no script for this prompt.", "finish_reason": "stop", "tokens": 7, "delay": 0.0}
    n = prompt.count("<tool_response>")
    turn = conv["turns"][min(n, len(conv["turns"]) - 1)]
    text, delay = (turn["text"], float(turn.get("delay_s", 0))) if isinstance(turn, dict) else (turn, None)
    finish = "stop"
    for stop in body.get("stop") or []:
        if stop in text:
            text = text[:text.index(stop)]
    budget = int(body.get("max_tokens") or 16)
    if words(text) > budget:
        text = " ".join(text.split()[:budget])
        finish = "length"
    return {"text": text, "finish_reason": finish, "tokens": max(1, words(text)),
            "delay": float(script.get("delay_s", 0.0)) if delay is None else delay}


def make_handler(script: dict, log: RequestLog):
    class Handler(OpenAIStubHandler):
        model_ids = (script.get("model_id", "stand-in"),)

        def do_POST(self):
            body = self.read_json()
            if self.not_served("/v1/completions"):
                return
            out = answer(script, body)
            time.sleep(out["delay"])
            log.write({"t": time.time(), "prompt_tail": str(body.get("prompt"))[-300:], "max_tokens": body.get("max_tokens"),
                       "seed": body.get("seed"), "stop": body.get("stop")})
            self.send_json(200, {"id": "stand-in", "object": "text_completion",
                             "choices": [{"index": 0, "text": out["text"], "finish_reason": out["finish_reason"]}],
                             "usage": {"prompt_tokens": words(str(body.get("prompt"))),
                                       "completion_tokens": out["tokens"]}})

    return Handler


def serve(script: dict, port: int, log_path: str | None = None) -> LocalServer:
    """The stand-in in this process (bench/tir_bench.py): call serve_forever() on a thread."""
    return local_server(make_handler(script, RequestLog(log_path)), port)


if __name__ == "__main__":
    serve_script(make_handler)
