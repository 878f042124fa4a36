"""IMO AnswerBench: 400 olympiad problems with short answers (google-deepmind/superhuman imobench,
`answerbench_v2.csv`: Problem ID, Problem, Short Answer, Category, Subcategory, Source).

A minimal math-checked task: the last \\boxed{} after </think> against the short answer by the
shared math checker; with a judge configured (the default), the answers the checker cannot decide
go to the benchmark authors' autograder (tasks/imo_autograder.py). `~judge` (no judge) grades with the
checker alone (recorded as a deviation).
"""
from __future__ import annotations

from evalsuite.data import load_rows
from evalsuite.errors import UserError
from evalsuite.metrics import item_mean
from evalsuite.types import Grade, Sample
from tasks.imo_autograder import checker_verdict, judge_calls, judge_requests, score_judged  # noqa: F401
from tasks.matharena import PROMPTS


def load(cfg) -> list[Sample]:
    samples = []
    for n, row in enumerate(load_rows(cfg, hub_loader=not_on_hub), 1):
        problem, answer = row.get("Problem"), row.get("Short Answer")
        if not isinstance(problem, str) or answer is None:
            raise UserError(f"imo_answerbench row {n}: needs 'Problem' and 'Short Answer'; got columns {sorted(row)}")
        samples.append(Sample(id=str(row.get("Problem ID") or n),
                              messages=[{"role": "user", "content": PROMPTS["card"].format(problem=problem.strip())}],
                              reference=str(answer).strip(),
                              meta={"problem": problem.strip(), "category": row.get("Category"), "level": row.get("Level")}))
    return samples


def not_on_hub(dataset) -> list:
    raise UserError(f"{dataset.get('hub_id') or 'IMO-Bench'} is published as CSV files in google-deepmind/superhuman "
                    f"(imobench/), not as a hub dataset: download the file and pass data.path=FILE, or data=sample")


def score(sample: Sample, answer: str, cfg) -> Grade:
    value, boxed = checker_verdict(sample.reference, answer)
    if boxed is None:
        return Grade(0.0, None, {"reason": "no \\boxed{} after the thinking"})
    return Grade(value or 0.0, boxed, {"decided_by": "checker" if value is not None else "checker (undecided: wrong)"})


def breakdown(samples: dict[str, Sample], scores, cfg) -> dict[str, float]:
    out = {}
    for category in sorted({str(samples[s.sample_id].meta.get("category")) for s in scores}):
        out[f"category: {category}"] = item_mean((s.sample_id, s.value) for s in scores
                                                 if str(samples[s.sample_id].meta.get("category")) == category)
    judged = [s for s in scores if s.detail.get("decided_by") == "judge"]
    if judged:
        out["share decided by the judge"] = 100.0 * len(judged) / len(scores)
    return out


def deviations(samples: list[Sample], cfg) -> list[str]:
    return [] if cfg.get("judge") is not None else ["no judge (~judge): the math checker alone (undecided answers count wrong)"]
