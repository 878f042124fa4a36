"""IMO AnswerBench (google-deepmind/superhuman, imobench/answerbench.csv): 400 short-answer
olympiad problems (algebra, combinatorics, geometry, number theory; IMO-Easy to IMO-Hard).

A member of the math answer family (configs/task/_math.yaml): the family's prompt, the last
\\boxed{} after the thinking, graded by our math checker (tasks/matharena.py's `score`). Many
answers are functions, sets of functions or conditions in words, which no value-equivalence checker
can settle: an answer the checker did not find equal is kept as wrong only when the checker's "no"
stands; otherwise it is marked `needs_judge` with the reason (`undecidable_reason`,
evalsuite/scoring/math.py) and counted. The headline counts those as wrong (a lower bound);
`variant:if_judged_right` counts them right (the ceiling a judge could reach), and
`needs_judge_%` is their share of the answers, so the number is honest without a judge.

Rows: the csv's columns (Problem ID, Problem, Short Answer, Category, Level, Subcategory, Source).
Breakdown: per category and per level.
"""
from __future__ import annotations

from evalsuite.data import load_rows
from evalsuite.errors import UserError
from evalsuite.metrics import item_mean
from evalsuite.scoring.math import undecidable_reason
from evalsuite.types import Grade, Sample, Score
from tasks import matharena
from tasks.multiple_choice import group_means

COLUMNS = ("Problem ID", "Problem", "Short Answer")
CSV_URL = ("https://raw.githubusercontent.com/google-deepmind/superhuman/{revision}/imobench/answerbench.csv")
same_answer = matharena.same_answer


def no_hub_copy(dataset) -> list[dict]:
    raise UserError(f"IMO AnswerBench is a csv on GitHub, not a hub dataset: download "
                    f"{CSV_URL.format(revision=dataset.get('revision') or 'main')} and pass data.path=answerbench.csv "
                    f"(or data=sample for the project's own problems)")


def load(cfg) -> list[Sample]:
    style = cfg.task.get("prompt", "card")
    if style not in matharena.PROMPTS:
        raise UserError(f"unknown task.prompt {style!r}; choose one of: {', '.join(matharena.PROMPTS)}")
    samples = []
    for n, row in enumerate(load_rows(cfg, hub_loader=no_hub_copy), 1):
        missing = [c for c in COLUMNS if not str(row.get(c) or "").strip()]
        if missing:
            raise UserError(f"imo_answerbench row {n}: missing column(s) {missing}; the file needs AnswerBench's "
                            f"columns ({', '.join(COLUMNS)}, Category, Level, Subcategory, Source)")
        samples.append(Sample(
            id=str(row["Problem ID"]).strip(),
            messages=[{"role": "user", "content": matharena.PROMPTS[style].format(problem=str(row["Problem"]).strip())}],
            reference=str(row["Short Answer"]).strip(),
            meta={key.lower(): str(row.get(key) or "unknown").strip() for key in ("Category", "Level", "Subcategory", "Source")},
        ))
    return samples


def needs_judge(sample: Sample, extracted: str | None) -> str | None:
    """Why an answer graded wrong may be right after all (a judge's case), or None. The judge stage
    asks this of every wrong answer."""
    return None if extracted is None else undecidable_reason(sample.reference, extracted)


def score(sample: Sample, answer: str, cfg) -> Grade:
    grade = matharena.score(sample, answer, cfg)
    if grade.value < 1.0:
        reason = needs_judge(sample, grade.extracted)
        if reason:
            grade.detail["needs_judge"] = reason
    return grade


def breakdown(samples: dict[str, Sample], scores: list[Score], cfg) -> dict[str, float]:
    out = group_means(samples, scores, "category") | group_means(samples, scores, "level")
    known = [s for s in scores if s.sample_id in samples]
    pending = [s for s in known if s.detail.get("needs_judge")]
    out["needs_judge_%"] = 100.0 * len(pending) / len(known) if known else 0.0
    out["variant:if_judged_right"] = item_mean((s.sample_id, 1.0 if s.detail.get("needs_judge") else s.value)
                                               for s in known)
    return out
