"""GPQA-Diamond: 198 graduate-level four-option questions (Idavidrein/gpqa, gated).

Options are shuffled with a fixed seed (`task.shuffle_seed`, NVIDIA's 42) and the permutation is
kept in `Sample.reference["order"]`: `order[j]` is the column shown as letter j (0 = Correct Answer,
1-3 = Incorrect Answer 1-3), so every graded letter traces back to the option the model saw.

`task.shuffle`: `per_question` (default: one permutation per question, as the card) or `per_sample`
(a new permutation for each generation k). The prompt then depends on k: the spec's `sample_for_k`
gives generation k its own view, for its prompt and its grading alike.

`task.prompt_style`: `answer_line` (NVIDIA's harness, default) or `boxed` (the card authors' style).
The authors ask that the questions never be republished: nothing here writes them anywhere.
"""
from __future__ import annotations

import dataclasses
import random

from evalsuite.data import load_rows
from evalsuite.errors import UserError
from evalsuite.scoring.letters import read_choice_letter
from evalsuite.task import Setting, TaskSpec
from evalsuite.types import Grade, Sample

LETTERS = "ABCD"
CHOICE_COLUMNS = ("Correct Answer", "Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3")
SHUFFLES = ("per_question", "per_sample")

PROMPTS = {
    # NVIDIA's evaluation harness (docs/protocol.md), word for word.
    "answer_line": ("Answer the following multiple choice question. The last line of your response should be in the "
                    "following format: 'Answer: A/B/C/D' (e.g. 'Answer: A').\n\n{question}\n\n{options}"),
    # The card authors' style: the letter in \boxed{}, options "(A) ...". Their exact wording is not
    # public; this is ours (OPEN in docs/protocol.md).
    "boxed": ("Answer the following multiple choice question. Think step by step, then put the letter of the "
              "correct option (A, B, C or D) inside \\boxed{{}}.\n\n{question}\n\n{options}"),
}
OPTION_LINE = {"answer_line": "{letter}) {text}", "boxed": "({letter}) {text}"}


def _options(cfg) -> tuple[str, str, int]:
    style = cfg.task.get("prompt_style", "answer_line")
    shuffle = cfg.task.get("shuffle", "per_question")
    return style, shuffle, int(cfg.task.get("shuffle_seed", 42))


def permutation(seed: int, record_id: str, k: int = 0) -> list[int]:
    """The option order for one question (and generation k): independent of row order and of
    `limit`, so a subset or a reordered file shows each question exactly as the full run did."""
    order = list(range(len(CHOICE_COLUMNS)))
    random.Random(f"{seed}/{record_id}/{k}").shuffle(order)
    return order


def render(question: str, choices: list[str], order: list[int], style: str) -> str:
    options = "\n".join(OPTION_LINE[style].format(letter=LETTERS[j], text=choices[i]) for j, i in enumerate(order))
    return PROMPTS[style].format(question=question, options=options)


def _reference(choices: list[str], question: str, order: list[int], k: int, keep_text: bool) -> dict:
    ref = {"letter": LETTERS[order.index(0)], "order": order, "k": k}
    if keep_text:  # per_sample needs the text to render the other k's prompts
        ref.update(question=question, choices=choices)
    return ref


def load(cfg) -> list[Sample]:
    style, shuffle, seed = _options(cfg)
    samples = []
    for n, row in enumerate(load_rows(cfg), 1):
        missing = [c for c in ("Question", *CHOICE_COLUMNS) if not str(row.get(c) or "").strip()]
        if missing:
            raise UserError(f"gpqa row {n}: missing or empty column(s) {missing}; the file needs GPQA's columns "
                            f"(Question, Correct Answer, Incorrect Answer 1-3, High-level domain, Record ID)")
        record_id = str(row.get("Record ID") or f"row{n}").strip()
        question = str(row["Question"]).strip()
        choices = [str(row[c]).strip() for c in CHOICE_COLUMNS]
        order = permutation(seed, record_id)
        samples.append(Sample(
            id=record_id,
            messages=[{"role": "user", "content": render(question, choices, order, style)}],
            reference=_reference(choices, question, order, 0, keep_text=shuffle == "per_sample"),
            meta={"domain": str(row.get("High-level domain") or "unknown").strip(),
                  "subdomain": str(row.get("Subdomain") or "unknown").strip()},
        ))
    return samples


def sample_for_k(sample: Sample, k: int, cfg) -> Sample:
    """The sample as generation k sees it: itself for per_question, a k-th permutation for per_sample."""
    style, shuffle, seed = _options(cfg)
    if shuffle != "per_sample" or k == sample.reference.get("k", 0):
        return sample
    question, choices = sample.reference["question"], sample.reference["choices"]
    order = permutation(seed, sample.id, k)
    return dataclasses.replace(sample, messages=[{"role": "user", "content": render(question, choices, order, style)}],
                               reference=_reference(choices, question, order, k, keep_text=True))


def score(sample: Sample, answer: str, cfg) -> Grade:
    reading = read_choice_letter(answer or "", LETTERS)
    ref = sample.reference
    detail = {"correct_letter": ref["letter"], "order": ref["order"], "k": ref.get("k", 0), "read_from": reading.source}
    if reading.ambiguous:
        detail["reason"] = "the answer names several letters"
    if reading.letter is None:
        return Grade(0.0, None, detail)
    # maj@k must vote on the option, not the letter: under per_sample the same letter is another option.
    detail["answer_key"] = CHOICE_COLUMNS[ref["order"][LETTERS.index(reading.letter)]]
    return Grade(float(reading.letter == ref["letter"]), reading.letter, detail)


TASK = TaskSpec(
    load=load, score=score, sample_for_k=sample_for_k, breakdown_by=("domain",),
    settings={"prompt_style": Setting(str, choices=tuple(PROMPTS), doc="answer_line | boxed: OPEN"),
              "shuffle": Setting(str, choices=SHUFFLES), "shuffle_seed": Setting(int)})
