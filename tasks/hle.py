"""HLE (Humanity's Last Exam), text-only: the cais/hle questions without an image, graded by a judge.

The model answers under the benchmark's own system prompt (explanation, answer, confidence); a
judge (evalsuite/configs/judge/, default GPT-4o as NVIDIA's configs; o3-mini is the official leaderboard's:
OPEN, `+judge@judge_variant=o3-mini` reports both) reads the answer against the reference with the
benchmark's judge prompt and says `correct: yes|no` and the answer's confidence. Reported: accuracy
and the calibration error (the benchmark's binned RMS error between stated confidence and accuracy).
Questions with an image are dropped and counted (a deviation the report shows). The dataset is
gated and its authors ask that questions not be republished: tasks/samples/hle.jsonl holds
questions we wrote ourselves, in the dataset's columns.
"""
from __future__ import annotations

import math
import re

from evalsuite.data import column_problem, load_rows
from evalsuite.errors import UserError
from evalsuite.judge_rules import JudgeAsk, fill, last_field, load_prompt, parse_rule, prompt_name, unparseable
from evalsuite.task import JudgeHooks, TaskSpec
from evalsuite.types import Figures, Grade, Sample

SYSTEM_PROMPTS = {"exactMatch": "hle_system_exact", "multipleChoice": "hle_system_choice"}
CALIBRATION_BIN = 100  # the benchmark's bin size (beta) for the calibration error


def load(cfg) -> list[Sample]:
    rows = load_rows(cfg)
    text_only = [r for r in rows if not r.get("image")]
    dropped = len(rows) - len(text_only)
    samples = []
    for n, row in enumerate(text_only, 1):
        question, answer, kind = row.get("question"), row.get("answer"), row.get("answer_type")
        why = column_problem(row, ("question",), ("answer", "answer_type"))
        if why or kind not in SYSTEM_PROMPTS:
            raise UserError(f"hle row {n}: {why or f'answer_type is {kind!r}'}; each row needs 'question' (text), "
                            f"'answer' and 'answer_type' (exactMatch|multipleChoice)")
        system = load_prompt(SYSTEM_PROMPTS[kind])
        samples.append(Sample(id=str(row.get("id") or n),
                              messages=[{"role": "system", "content": system}, {"role": "user", "content": question}],
                              reference=str(answer),
                              meta={"category": row.get("category"), "answer_type": kind, "image_dropped": dropped,
                                    "rows": len(rows)}))
    return samples


# ---------------------------------------------------------------- the judge

def judge_requests(sample: Sample, answer: str, cfg) -> list[JudgeAsk]:
    question = next(m["content"] for m in sample.messages if m["role"] == "user")
    text = fill(load_prompt(prompt_name(cfg)), question=question, response=answer, correct_answer=sample.reference)
    return [JudgeAsk("verdict", [{"role": "user", "content": text}])]



def read_fields(reply: str) -> dict:
    """The judge's `correct:` (yes/no), `confidence:` (0-100, the prompt's default 100 when absent)
    and `extracted_final_answer:` fields, each read at the start of its line, the last statement of
    each counting (judge.last_field): "incorrect: yes" or a quoted "correct: yes" is no verdict."""
    correct = re.match(r"""['"\[(]*(yes|no)\b""", last_field(reply, "correct") or "", re.IGNORECASE)
    confidence = re.match(r"(\d+(?:\.\d+)?)", last_field(reply, "confidence") or "")
    return {"correct": correct.group(1).lower() if correct else None,
            "confidence": min(100.0, float(confidence.group(1))) if confidence else 100.0,
            "extracted": last_field(reply, "extracted_final_answer")}


PARSE_RULES = {"hle_fields": read_fields}


def score_judged(sample: Sample, answer: str, replies: dict[str, str], cfg) -> Grade:
    name, rule = parse_rule(cfg, PARSE_RULES)
    reply = replies["verdict"]
    fields = rule(reply)
    if fields["correct"] is None:
        return unparseable(reply, name, "no 'correct: yes|no' line")
    extracted = fields["extracted"]
    if extracted is not None and extracted.lower() == "none":
        extracted = None
    return Grade(float(fields["correct"] == "yes"), extracted or fields["correct"],
                 {"confidence": fields["confidence"], "judge_extracted": extracted})


# ---------------------------------------------------------------- reports

def calibration_error(confidence: list[float], correct: list[float], beta: int = CALIBRATION_BIN) -> float:
    """The benchmark's RMS calibration error, 0-100: predictions sorted by confidence (0-1) in bins
    of `beta` (the last bin takes the remainder; fewer than beta predictions are one bin), each
    bin's |mean confidence - accuracy| squared, weighted by its share of predictions."""
    n = len(confidence)
    if n == 0:
        return float("nan")
    order = sorted(range(n), key=lambda i: confidence[i])
    edges = list(range(0, n, beta))[: max(1, n // beta)] + [n]
    total = 0.0
    for lo, hi in zip(edges, edges[1:]):
        idx = order[lo:hi]
        gap = sum(confidence[i] for i in idx) / len(idx) - sum(correct[i] for i in idx) / len(idx)
        total += len(idx) / n * gap * gap
    return 100.0 * math.sqrt(total)


def figures(samples: dict[str, Sample], scores, cfg) -> Figures:
    """The benchmark's calibration error (0-100) over the judged answers, beside the accuracy."""
    judged = [s for s in scores if "confidence" in s.detail]
    return Figures(metrics={"calibration_error": calibration_error([s.detail["confidence"] / 100 for s in judged],
                                                                   [s.value for s in judged])})


def deviations(samples: list[Sample], cfg) -> list[str]:
    dropped = samples[0].meta.get("image_dropped", 0) if samples else 0
    return [f"text-only: {dropped} of {samples[0].meta.get('rows')} questions had an image and were dropped"] if dropped else []


TASK = TaskSpec(load=load, figures=figures, deviations=deviations, breakdown_by=("category",),
                judge=JudgeHooks(requests=judge_requests, score=score_judged, required=True))
