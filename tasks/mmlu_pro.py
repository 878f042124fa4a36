"""MMLU-Pro (TIGER-Lab/MMLU-Pro, split test): up to ten options per question, 14 subjects.

A member of the multiple-choice family (tasks/multiple_choice.py). Rows in the hub's schema:
question_id, question, options (a list: fewer than ten for some questions), answer (the letter),
answer_index, cot_content, category, src. MMLU-ProX's rows (option_0 ... option_9 instead of a list)
are read by the same `choice` (tasks/mmlu_prox.py). Breakdown: per subject (`breakdown_by`: the
samples' `subject` meta, the row's category; one summary cell per subject).
"""
from __future__ import annotations

from typing import Any

from evalsuite.data import load_rows
from evalsuite.errors import UserError
from evalsuite.task import TaskSpec
from evalsuite.types import Grade, Sample
from tasks import multiple_choice as mc

STYLES = ("answer_line", "answer_line_boxed")


def row_options(row: dict[str, Any], where: str) -> list[str]:
    """`options` as a list (MMLU-Pro) or option_0 ... option_9 columns (MMLU-ProX)."""
    if "options" in row:
        return mc.option_list(row["options"], where)
    columns = sorted((k for k in row if k.startswith("option_") and k[7:].isdigit()), key=lambda k: int(k[7:]))
    if not columns:
        raise UserError(f"{where}: no options; the row needs MMLU-Pro's `options` list or MMLU-ProX's "
                        f"option_0 ... option_9 columns")
    return mc.option_list([row[c] for c in columns], where)


def choice(row: dict[str, Any], n: int, what: str) -> mc.Choice:
    where = f"{what} row {n}"
    if not str(row.get("question") or "").strip():
        raise UserError(f"{where}: no question; the file needs MMLU-Pro's columns (question_id, question, "
                        f"options, answer, answer_index, category)")
    options = row_options(row, where)
    index = row.get("answer_index")
    if index is None or str(index).strip() in ("", "-1"):
        letter = str(row.get("answer") or "").strip().upper()
        if len(letter) != 1 or letter not in mc.ALPHABET:
            raise UserError(f"{where}: no answer letter (answer) or answer_index")
        index = mc.ALPHABET.index(letter)
    return mc.Choice(id=str(row.get("question_id", f"row{n}")).strip(), question=str(row["question"]).strip(),
                     options=options, answer=int(index),
                     meta={"subject": str(row.get("category") or "unknown").strip(),
                           "src": str(row.get("src") or "").strip()})


def load(cfg) -> list[Sample]:
    opts = mc.settings(cfg)
    return [mc.make_sample(choice(row, n, str(cfg.task.name)), opts)
            for n, row in enumerate(load_rows(cfg), 1)]


def score(sample: Sample, answer: str, cfg) -> Grade:
    return mc.score(sample, answer, cfg)


TASK = TaskSpec(load=load, score=score, breakdown_by=("subject",), settings=mc.family_settings(STYLES))
