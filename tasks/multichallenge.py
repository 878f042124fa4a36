"""Scale AI MultiChallenge: multi-turn conversations whose final user turn tests one of four axes
(instruction retention, inference memory, self-coherence, reliable versioned editing).

Rows (the public release, data/benchmark_questions.jsonl of ekwinox117/multi-challenge):
QUESTION_ID, AXIS, CONVERSATION (user and assistant turns, the last one the user's), TARGET_QUESTION
(the yes/no criterion the judge applies), PASS_CRITERIA (the verdict that passes: YES or NO).
The model writes the conversation's next assistant turn: the conversation is a request of its own,
rendered by the model's template under the history rule (evalsuite.render.history_messages). A
judge (evalsuite/configs/judge/; the official GPT-4o, gpt-4o-2024-08-06) reads the final answer (the text
after </think>) against TARGET_QUESTION with the official prompt; the item passes when its verdict
equals PASS_CRITERIA. The headline is the official one: the mean of the four axes' pass rates; the
pass rate over all items is a variant, each axis a breakdown cell. docs/protocol.md has the OPEN
choices.
"""
from __future__ import annotations

import json
import re

from evalsuite.data import load_rows
from evalsuite.errors import UserError
from evalsuite.judge_rules import JudgeAsk, fill, load_prompt, parse_rule, prompt_name, unparseable
from evalsuite.metrics import group_mean, item_mean
from evalsuite.task import JudgeHooks, TaskSpec
from evalsuite.types import Grade, Headline, Sample

AXES = ("INSTRUCTION_RETENTION", "INFERENCE_MEMORY", "SELF_COHERENCE", "RELIABLE_VERSION_EDITING")
COLUMNS = ("QUESTION_ID", "AXIS", "CONVERSATION", "TARGET_QUESTION", "PASS_CRITERIA")


def conversation(value, n: int) -> list[dict[str, str]]:
    """The row's turns as chat messages; the last must be the user's (the model answers it)."""
    turns = json.loads(value) if isinstance(value, str) else value
    if not isinstance(turns, list) or not turns:
        raise UserError(f"multichallenge row {n}: CONVERSATION is not a list of turns")
    out = []
    for t in turns:
        role, content = (t.get("role"), t.get("content")) if isinstance(t, dict) else (None, None)
        if role not in ("system", "user", "assistant") or not isinstance(content, str):
            raise UserError(f"multichallenge row {n}: a turn needs role (system|user|assistant) and text content; got {t!r:.80}")
        out.append({"role": role, "content": content})
    if out[-1]["role"] != "user":
        raise UserError(f"multichallenge row {n}: the conversation must end with the user's turn (the one the model answers)")
    return out


URL = "https://raw.githubusercontent.com/ekwinox117/multi-challenge/{revision}/data/benchmark_questions.jsonl"


def no_hub_copy(dataset) -> list[dict]:
    """The hub loader: there is no hub copy (the release is a file on GitHub), so it names the file."""
    url = URL.format(revision=dataset.get("revision") or "main")
    raise UserError(f"MultiChallenge's benchmark_questions.jsonl is a file on GitHub, not a hub dataset: download {url} "
                    f"and pass data.path=benchmark_questions.jsonl (or data=sample for the project's own conversations)")


def load(cfg) -> list[Sample]:
    samples = []
    for n, row in enumerate(load_rows(cfg, hub_loader=no_hub_copy), 1):
        missing = [c for c in COLUMNS if row.get(c) in (None, "")]
        if missing:
            raise UserError(f"multichallenge row {n}: missing column(s) {missing}; the file needs MultiChallenge's "
                            f"columns ({', '.join(COLUMNS)})")
        criteria = str(row["PASS_CRITERIA"]).strip().upper()
        if criteria not in ("YES", "NO"):
            raise UserError(f"multichallenge row {n}: PASS_CRITERIA {row['PASS_CRITERIA']!r} is not YES or NO")
        samples.append(Sample(id=str(row["QUESTION_ID"]), messages=conversation(row["CONVERSATION"], n),
                              reference={"target_question": str(row["TARGET_QUESTION"]), "pass_criteria": criteria},
                              meta={"axis": str(row["AXIS"]).strip().upper()}))
    return samples


def judge_requests(sample: Sample, answer: str, cfg) -> list[JudgeAsk]:
    text = fill(load_prompt(prompt_name(cfg)), model_response=answer, criteria=sample.reference["target_question"])
    return [JudgeAsk("verdict", [{"role": "user", "content": text}])]


_JSON_VERDICT = re.compile(r'"verdict"\s*:\s*"\s*(YES|NO)\s*"', re.IGNORECASE)
_LAST_WORD = re.compile(r"\b(YES|NO)\b")


def read_verdict(reply: str) -> str | None:
    """The judge's YES or NO: the official structured output's "verdict" when the reply has one,
    else the last YES or NO written in capitals (the prompt asks for the verdict after the reasoning)."""
    found = _JSON_VERDICT.findall(reply or "")
    if found:
        return found[-1].upper()
    words = _LAST_WORD.findall(reply or "")
    return words[-1] if words else None


PARSE_RULES = {"multichallenge_verdict": read_verdict}


def score_judged(sample: Sample, answer: str, replies: dict[str, str], cfg) -> Grade:
    name, rule = parse_rule(cfg, PARSE_RULES)
    verdict = rule(replies["verdict"])
    if verdict is None:
        return unparseable(replies["verdict"], name, "no YES or NO verdict")
    return Grade(float(verdict == sample.reference["pass_criteria"]), verdict,
                 {"verdict": verdict, "pass_criteria": sample.reference["pass_criteria"]})


def headline(samples: dict[str, Sample], scores, cfg) -> Headline | None:
    """The official score: the mean of the axes' pass rates; all items pooled is the variant."""
    if not scores:
        return None
    value, ci95, _ = group_mean(samples, scores, "axis", seed=int(cfg.seed))
    return Headline(value=value, ci95=ci95,
                    variants={"all items (not by axis)": item_mean((s.sample_id, s.value) for s in scores)})


def deviations(samples: list[Sample], cfg) -> list[str]:
    unknown = sorted({s.meta["axis"] for s in samples} - set(AXES))
    return [f"axes outside MultiChallenge's four: {', '.join(unknown)}"] if unknown else []


TASK = TaskSpec(load=load, breakdown_by=("axis",), headline=headline, deviations=deviations,
                judge=JudgeHooks(requests=judge_requests, score=score_judged, required=True))
