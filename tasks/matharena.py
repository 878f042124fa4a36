"""AIME 2025, AIME 2026 and HMMT February 2025: MathArena's final-answer competitions.

Rows: MathArena's schema (problem_idx, problem, answer) or NeMo-Skills' (id, problem,
expected_answer). Graded on the last \\boxed{} after </think> (boxes chained on its line are one
answer; a box cut off is no answer): integers as integers ("016" == 16), everything else by
symbolic equivalence, a unit after the value ignored, answers of several values (comma-separated, a
set, "a or b", `\\pm`) as sets. The answer forms: evalsuite/scoring/math.py, docs/math_answers.md.
maj@k votes by the same equivalence (`same_answer`).

"""
from __future__ import annotations

from evalsuite.data import column_problem, load_rows
from evalsuite.errors import UserError
from evalsuite.scoring.math import extract_last_boxed, math_equal, parse_integer, strip_answer_decorations
from evalsuite.task import Setting, TaskSpec, run_mode
from evalsuite.types import Grade, Sample

# The card authors' prompt; "simple" is the one other harnesses use (docs/protocol.md: OPEN, default card).
PROMPTS = {
    "card": "{problem}\n\nPlease place your final answer inside \\boxed{{}}.",
    "simple": "Solve the following math problem. Make sure to put the answer (and only answer) inside \\boxed{{}}.\n\n{problem}",
    # the card's tool-integrated example: every mode=tir run uses it (docs/tir.md)
    "tir": "Solve the following math problem. Put your answer inside \\boxed{{}}.\n\n{problem}",
}


def load(cfg) -> list[Sample]:
    style = "tir" if run_mode(cfg) == "tir" else cfg.task.get("prompt", "card")
    samples = []
    for n, row in enumerate(load_rows(cfg), 1):
        problem = row.get("problem")
        answer = row.get("answer", row.get("expected_answer"))
        why = column_problem(row, ("problem",), () if answer is not None else ("answer",))
        if why:
            raise UserError(f"{cfg.task.name} row {n}: {why}; each row needs 'problem' (text) and 'answer' "
                            f"(or 'expected_answer')")
        sid = row.get("problem_idx", row.get("id", n))
        content = PROMPTS[style].format(problem=problem.strip())
        samples.append(Sample(id=str(sid), messages=[{"role": "user", "content": content}],
                              reference=str(answer).strip()))
    return samples


def answer_key(answer: str) -> str:
    """Equal strings after normalisation share a key ("016" and "16"); answers equal only
    symbolically are put in one maj@k class by `same_answer`."""
    as_int = parse_integer(answer)
    return str(as_int) if as_int is not None else strip_answer_decorations(answer).replace(" ", "")


def score(sample: Sample, answer: str, cfg) -> Grade:
    boxed = extract_last_boxed(answer)
    if boxed is None:
        cut = bool(answer) and ("\\boxed{" in answer or "\\fbox{" in answer)
        return Grade(0.0, None, {"reason": "the last \\boxed{} never closes (cut off)" if cut
                                 else "no \\boxed{} after the thinking"})
    return Grade(float(math_equal(sample.reference, boxed)), boxed, answer_key=answer_key(boxed))


def same_answer(earlier: str, later: str) -> bool:
    """Are two extracted answers one maj@k vote? The grader's own equivalence (the pipeline calls it
    in killable workers)."""
    return math_equal(earlier, later)


TASK = TaskSpec(load=load, score=score, same_answer=same_answer,
                settings={"prompt": Setting(str, choices=("card", "simple"),
                                            doc="the card authors' prompt or other harnesses': OPEN, docs/protocol.md")})
