"""IMO ProofBench: 60 proof problems with a reference solution and grading guidelines
(google-deepmind/superhuman imobench, `proofbench_v2.csv`: Problem ID, Problem, Solution, Grading
guidelines, Category, Level, Short Answer, Source).

Each proof is graded 0-7 by a judge following the problem's guidelines, with the benchmark authors'
ProofBench grading prompt (default judge Gemini 2.5 Pro, their autograder model); the verdict is
the first <points>N out of 7</points> of the reply. The card's number is OPEN: the mean of points/7
(the headline) and the share of proofs scoring at least 6 are both reported.
"""
from __future__ import annotations

import re

from evalsuite.data import column_problem, load_rows
from evalsuite.errors import UserError
from evalsuite.judge_rules import JudgeAsk, fill, load_prompt, parse_rule, prompt_name, unparseable
from evalsuite.metrics import item_mean
from evalsuite.task import JudgeHooks, TaskSpec
from evalsuite.types import Figures, Grade, Sample
from tasks.imo_answerbench import github_csv

HIGH_MARK = 6  # "almost correct" or better: the share-of-proofs reading of the card's number
# The problem, then our own request for a proof (the card's wording is not public: OPEN)
PROMPT = "{problem}\n\nWrite a complete and rigorous proof."


def load(cfg) -> list[Sample]:
    samples = []
    for n, row in enumerate(load_rows(cfg, hub_loader=github_csv("proofbench_v2.csv")), 1):
        problem, solution, guidelines = row.get("Problem"), row.get("Solution"), row.get("Grading guidelines")
        why = column_problem(row, ("Problem", "Solution", "Grading guidelines"))
        if why:
            raise UserError(f"imo_proofbench row {n}: {why}; each row needs 'Problem', 'Solution' and "
                            f"'Grading guidelines' (text)")
        samples.append(Sample(id=str(row.get("Problem ID") or n),
                              messages=[{"role": "user", "content": PROMPT.format(problem=problem.strip())}],
                              reference={"solution": solution, "guidelines": guidelines},
                              meta={"problem": problem.strip(), "category": row.get("Category"), "level": row.get("Level")}))
    return samples


def judge_requests(sample: Sample, answer: str, cfg) -> list[JudgeAsk]:
    text = fill(load_prompt(prompt_name(cfg)), problem_statement=sample.meta["problem"],
                solution=sample.reference["solution"], guidelines=sample.reference["guidelines"], student_answer=answer)
    return [JudgeAsk("grade", [{"role": "user", "content": text}])]



_POINTS = re.compile(r"<points>\s*(\d+)\s*out\s+of\s+7\s*</points>", re.IGNORECASE)


def read_points(reply: str) -> int | None:
    """The first <points>N out of 7</points> block (the prompt says the first is parsed), N in 0..7."""
    found = _POINTS.search(reply)
    if not found or not 0 <= int(found.group(1)) <= 7:
        return None
    return int(found.group(1))


PARSE_RULES = {"points_of_7": read_points}


def score_judged(sample: Sample, answer: str, replies: dict[str, str], cfg) -> Grade:
    name, rule = parse_rule(cfg, PARSE_RULES)
    points = rule(replies["grade"])
    if points is None:
        return unparseable(replies["grade"], name, "no <points>N out of 7</points>")
    return Grade(points / 7, str(points), {"points": points}, variants={f"share >= {HIGH_MARK}": float(points >= HIGH_MARK)})


def figures(samples: dict[str, Sample], scores, cfg) -> Figures:
    """Mean points (of 7) over the graded proofs; the headline is mean points / 7 over every answer,
    and the variant `share >= 6` the share of proofs at or above the mark (the card's number is OPEN)."""
    graded = [s for s in scores if "points" in s.detail]
    mean = item_mean((s.sample_id, s.detail["points"]) for s in graded) / 100 if graded else float("nan")
    return Figures(metrics={"mean points (of 7)": mean})


TASK = TaskSpec(load=load, figures=figures, breakdown_by=("level",),
                judge=JudgeHooks(requests=judge_requests, score=score_judged, required=True))
