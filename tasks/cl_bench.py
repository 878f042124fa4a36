"""CL-bench (tencent/CL-bench): 1,899 tasks over 500 expert-written contexts (new domain knowledge,
rule systems, procedures, empirical data) that a model must learn from the context itself, each
graded against its rubrics by a judge, all or nothing.

Rows: messages (the task's conversation in chat format: its own system prompt, the context and the
task; some rows carry earlier turns), rubrics (a list of criteria: strings, or objects with
`rubric_criteria`), metadata (task_id, context_id, context_category, sub_category). The model
answers the conversation (rendered under the history rule, evalsuite.render.history_messages); the
row's own system prompt replaces the card's. A judge (evalsuite/configs/judge/; the official GPT-5.1) grades
the final answer with the official rubric prompt: score 1 only when every rubric is met. An empty
answer scores 0 without asking the judge, as the official script does. The headline is the solve
rate (the mean of the binary scores), broken down by context category and sub-category; the share
of rubrics the judge found met is reported beside it (metrics).
"""
from __future__ import annotations

import json
import re

from evalsuite.data import load_rows
from evalsuite.errors import UserError
from evalsuite.judge_rules import JudgeAsk, fill, load_prompt, parse_rule, prompt_name, unparseable
from evalsuite.task import JudgeHooks, TaskSpec
from evalsuite.types import Figures, Grade, Sample


def rubric_texts(rubrics, n: int) -> list[str]:
    items = json.loads(rubrics) if isinstance(rubrics, str) else rubrics
    if not isinstance(items, list) or not items:
        raise UserError(f"cl_bench row {n}: rubrics must be a non-empty list")
    out = [str(r.get("rubric_criteria", "") if isinstance(r, dict) else r).strip() for r in items]
    return [r for r in out if r]


def load(cfg) -> list[Sample]:
    samples = []
    for n, row in enumerate(load_rows(cfg), 1):
        messages, meta = row.get("messages"), row.get("metadata")
        messages = json.loads(messages) if isinstance(messages, str) else messages
        meta = json.loads(meta) if isinstance(meta, str) else meta
        if not isinstance(messages, list) or not messages or not isinstance(meta, dict) or "rubrics" not in row:
            raise UserError(f"cl_bench row {n}: needs CL-bench's columns messages (a chat), rubrics and metadata "
                            f"(task_id, context_category, ...); got {sorted(row)}")
        turns = [{"role": str(m.get("role")), "content": str(m.get("content"))} for m in messages]
        if turns[-1]["role"] != "user":
            raise UserError(f"cl_bench row {n}: the conversation must end with the user's turn")
        samples.append(Sample(id=str(meta.get("task_id") or n), messages=turns,
                              reference={"rubrics": rubric_texts(row["rubrics"], n)},
                              meta={"context_category": str(meta.get("context_category") or "unknown"),
                                    "sub_category": str(meta.get("sub_category") or "unknown"),
                                    "context_id": meta.get("context_id")}))
    return samples


def judge_requests(sample: Sample, answer: str, cfg) -> list[JudgeAsk]:
    if not answer.strip():
        return []  # the official script scores an empty answer 0 without a judge
    rubrics = "\n".join(f"{i}. {r}" for i, r in enumerate(sample.reference["rubrics"], 1))
    return [JudgeAsk("rubrics", [{"role": "user", "content": fill(load_prompt(prompt_name(cfg)),
                                                                  rubrics=rubrics, response=answer)}])]


_SCORE = re.compile(r'"Overall Score"\s*:\s*"?\s*([01])\b')


def read_grading(reply: str) -> dict | None:
    """{"score": 0|1, "met": [...]} from the judge's JSON (code fences allowed); the "Overall Score"
    field alone when the JSON around it does not parse; None when there is no score."""
    text = (reply or "").strip()
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        try:
            data = json.loads(text[start:end + 1])
        except json.JSONDecodeError:
            data = None
        if isinstance(data, dict) and str(data.get("Overall Score")).strip() in ("0", "1"):
            met = data.get("List of Requirement Satisfaction Status")
            return {"score": int(str(data["Overall Score"]).strip()),
                    "met": [str(x).strip().lower() for x in met] if isinstance(met, list) else []}
    found = _SCORE.findall(text)
    return {"score": int(found[-1]), "met": []} if found else None


PARSE_RULES = {"cl_bench_score": read_grading}


def score_judged(sample: Sample, answer: str, replies: dict[str, str], cfg) -> Grade:
    if "rubrics" not in replies:
        return Grade(0.0, None, {"empty_answer": True})
    name, rule = parse_rule(cfg, PARSE_RULES)
    grading = rule(replies["rubrics"])
    if grading is None:
        return unparseable(replies["rubrics"], name, 'no "Overall Score" of 0 or 1')
    met = grading["met"]
    detail = {"rubrics": len(sample.reference["rubrics"]), "met": met}
    if met:
        detail["met_share"] = sum(x == "yes" for x in met) / len(met)
    return Grade(float(grading["score"]), str(grading["score"]), detail)


def figures(samples: dict[str, Sample], scores, cfg) -> Figures:
    shares = [s.detail["met_share"] for s in scores if "met_share" in s.detail]
    return Figures(metrics={"rubrics met % (judge's list)": 100.0 * sum(shares) / len(shares)} if shares else {})


TASK = TaskSpec(load=load, figures=figures, breakdown_by=("context_category", "sub_category"),
                judge=JudgeHooks(requests=judge_requests, score=score_judged, required=True))
