"""GPQA-Diamond: 198 graduate-level four-option questions (Idavidrein/gpqa, gated).

A member of the multiple-choice family (tasks/multiple_choice.py): this module only turns GPQA's
columns into `Choice` records. Options are shuffled with a fixed seed (`task.shuffle_seed`, NVIDIA's
42) and the permutation is kept in `Sample.reference["order"]`: `order[j]` is the column shown as
letter j (0 = Correct Answer, 1-3 = Incorrect Answer 1-3), so every graded letter traces back to the
option the model saw.

`task.shuffle`: `per_question` (default: one permutation per question, as the card) or `per_sample`
(a new permutation for each generation k: the spec's `sample_for_k` gives generation k its own
view, for its prompt and its grading alike). `none` is not offered: GPQA's correct answer is
always its first column.

`task.prompt_style`: `answer_line` (NVIDIA's harness, default) or `boxed` (the card authors' style).
The authors ask that the questions never be republished: nothing here writes them anywhere.
"""
from __future__ import annotations

from evalsuite.data import load_rows
from evalsuite.errors import UserError
from evalsuite.task import TaskSpec
from evalsuite.types import Grade, Sample
from tasks import multiple_choice as mc

CHOICE_COLUMNS = ("Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3")
STYLES = ("answer_line", "boxed")


def load(cfg) -> list[Sample]:
    opts = mc.settings(cfg)
    samples = []
    for n, row in enumerate(load_rows(cfg), 1):
        missing = [c for c in ("Question", *CHOICE_COLUMNS) if not str(row.get(c) or "").strip()]
        if missing:
            raise UserError(f"gpqa row {n}: missing or empty column(s) {missing}; the file needs GPQA's columns "
                            f"(Question, Correct Answer, Incorrect Answer 1-3, High-level domain, Record ID)")
        item = mc.Choice(
            id=str(row.get("Record ID") or f"row{n}").strip(),
            question=str(row["Question"]).strip(),
            options=[str(row[c]).strip() for c in CHOICE_COLUMNS],
            answer=0,
            meta={"domain": str(row.get("High-level domain") or "unknown").strip(),
                  "subdomain": str(row.get("Subdomain") or "unknown").strip()},
        )
        samples.append(mc.make_sample(item, opts))
    return samples


def score(sample: Sample, answer: str, cfg) -> Grade:
    return mc.score(sample, answer, cfg, option_names=CHOICE_COLUMNS)


TASK = TaskSpec(load=load, score=score, sample_for_k=mc.sample_for_k, breakdown_by=("domain",),
                settings=mc.family_settings(STYLES, shuffles=("per_question", "per_sample")))
