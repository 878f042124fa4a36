"""IMO AnswerBench (google-deepmind/superhuman, imobench/answerbench.csv): 400 short-answer
olympiad problems (algebra, combinatorics, geometry, number theory; IMO-Easy to IMO-Hard).

A member of the math answer family (evalsuite/configs/task/_math.yaml): the family's prompt, the last
\\boxed{} after the thinking, graded by our math checker (tasks/matharena.py's `score`). Many
answers are functions, sets of functions or conditions in words, which no value-equivalence checker
can settle: an answer the checker did not find equal is kept as wrong only when the checker's "no"
stands; otherwise it is marked `needs_judge` with the reason (`undecidable_reason`,
evalsuite/scoring/math.py) and counted. With a judge (the default: the benchmark authors'
autograder, tasks/imo_autograder.py) those answers, and answers without a \boxed{}, are judged;
with `~judge` the headline counts them as wrong (a lower bound), the variant `if_judged_right`
counts them right (the ceiling a judge could reach), and the report lists every one of them
("Needs a judge"), so the number is honest without a judge.

Rows: the csv's columns (Problem ID, Problem, Short Answer, Category, Level, Subcategory, Source).
Breakdown: per category and per level.
"""
from __future__ import annotations

from evalsuite.data import load_rows
from evalsuite.errors import UserError
from evalsuite.scoring.math import undecidable_reason
from evalsuite.task import Setting, TaskSpec
from evalsuite.types import Figures, Grade, Sample, Score
from tasks import imo_autograder as autograder
from tasks import matharena

COLUMNS = ("Problem ID", "Problem", "Short Answer")
CSV_URL = "https://raw.githubusercontent.com/google-deepmind/superhuman/{revision}/imobench/{file}"


def github_csv(file: str):
    """The hub loader of an IMO-Bench file: there is no hub copy (the files are csvs on GitHub), so
    it names the file to download and the setting that reads it."""
    def no_hub_copy(dataset) -> list[dict]:
        url = CSV_URL.format(revision=dataset.get("revision") or "main", file=file)
        raise UserError(f"IMO-Bench's {file} is a csv on GitHub, not a hub dataset: download {url} and pass "
                        f"data.path={file} (or data=sample for the project's own problems)")
    return no_hub_copy


def load(cfg) -> list[Sample]:
    style = cfg.task.get("prompt", "card")
    samples = []
    for n, row in enumerate(load_rows(cfg, hub_loader=github_csv("answerbench.csv")), 1):
        missing = [c for c in COLUMNS if not str(row.get(c) or "").strip()]
        if missing:
            raise UserError(f"imo_answerbench row {n}: missing column(s) {missing}; the file needs AnswerBench's "
                            f"columns ({', '.join(COLUMNS)}, Category, Level, Subcategory, Source)")
        samples.append(Sample(
            id=str(row["Problem ID"]).strip(),
            messages=[{"role": "user", "content": matharena.PROMPTS[style].format(problem=str(row["Problem"]).strip())}],
            reference=str(row["Short Answer"]).strip(),
            meta={"problem": str(row["Problem"]).strip(),  # the autograder judge reads the problem itself
                  **{key.lower(): str(row.get(key) or "unknown").strip()
                     for key in ("Category", "Level", "Subcategory", "Source")}},
        ))
    return samples


def needs_judge(sample: Sample, extracted: str | None) -> str | None:
    """Why an answer graded wrong may be right after all (a judge's case), or None. The judge stage
    asks this of every wrong answer."""
    return None if extracted is None else undecidable_reason(sample.reference, extracted)


def score(sample: Sample, answer: str, cfg) -> Grade:
    grade = matharena.score(sample, answer, cfg)
    reason = needs_judge(sample, grade.extracted) if grade.value < 1.0 else None
    grade.needs_judge = reason
    # the ceiling a judge could reach: every answer the checker cannot decide counted right
    grade.variants["if_judged_right"] = 1.0 if reason else grade.value
    return grade


def figures(samples: dict[str, Sample], scores: list[Score], cfg) -> Figures:
    """With a judge: the share of answers it decided (the rest the checker settled)."""
    judged = sum((s.detail or {}).get("decided_by") == "judge" for s in scores)
    return Figures(metrics={"decided by the judge %": 100.0 * judged / len(scores)}) if judged and scores else Figures()


def deviations(samples: list[Sample], cfg) -> list[str]:
    return [] if cfg.get("judge") is not None else [
        "no judge (~judge): the math checker alone (answers it cannot decide count wrong)"]


TASK = TaskSpec(load=load, score=score, same_answer=matharena.same_answer, breakdown_by=("category", "level"),
                judge=autograder.JUDGE, deviations=deviations, figures=figures,
                settings={"prompt": Setting(str, choices=("card", "simple"))})
