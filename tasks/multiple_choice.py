"""The multiple-choice family: a question, lettered options (any number), one letter to grade.

Every multiple-choice benchmark (GPQA's four shuffled options, MMLU-Pro's ten, MMLU-Redux's four,
LongBench v2's four after a long document) turns its rows into `Choice` records and leaves the rest
here: the prompt styles, an optional seeded option shuffle (recorded with every score), the grading
through the letter readings (evalsuite/scoring/letters.py: the card's tooling's rule named by
`task.letter_reading` as the headline, the lenient reading beside it as the variant
`lenient_letters`) and the per-group breakdown.

`task.letters` is the letter set a benchmark offers (ABCD, ABCDEFGHIJ): the prompt lists all of them,
as NVIDIA's prompts do even for a row with fewer options, and the grader reads any of them, so a
letter past a row's last option is an answer, and a wrong one. `Sample.reference` holds the correct
`letter`, the `order` shown (`order[j]` is the source option shown as letter j) and `k`.
"""
from __future__ import annotations

import dataclasses
import json
import random
from dataclasses import dataclass, field
from typing import Any, Sequence

from evalsuite.errors import UserError
from evalsuite.scoring.letters import ALPHABET, LENIENT, READINGS, read_choice_letter
from evalsuite.task import Setting
from evalsuite.types import Grade, Sample


# {letters}: "A/B/C/D"; {listed}: "A, B, C or D"; {question}; {options}: one line per option.
PROMPTS = {
    # NVIDIA's evaluation harness (GPQA, MMLU-Pro), word for word.
    "answer_line": ("Answer the following multiple choice question. The last line of your response should be in the "
                    "following format: 'Answer: {letters}' (e.g. 'Answer: A').\n\n{question}\n\n{options}"),
    # NVIDIA's ten-choice boxed variant: the same last line, the letter inside \boxed{}.
    "answer_line_boxed": ("Answer the following multiple choice question. The last line of your response should be in "
                          "the following format: 'Answer: \\boxed{{{letters}}}' (e.g. 'Answer: \\boxed{{A}}').\n\n"
                          "{question}\n\n{options}"),
    # The card authors' style for GPQA: the letter in \boxed{}, options "(A) ...". Their exact wording
    # is not public; this is ours (OPEN in docs/protocol.md).
    "boxed": ("Answer the following multiple choice question. Think step by step, then put the letter of the "
              "correct option ({listed}) inside \\boxed{{}}.\n\n{question}\n\n{options}"),
    # NVIDIA's general boxed prompt (MMLU-Redux): the question and its options follow the instruction.
    "solve_boxed": ("Solve the following problem. Make sure to put the answer (and only answer) inside "
                    "\\boxed{{}}.\n\n{question}\n\n{options}"),
}
OPTION_LINE = {"answer_line": "{letter}) {text}", "answer_line_boxed": "{letter}) {text}",
               "boxed": "({letter}) {text}", "solve_boxed": "{letter}) {text}"}
SHUFFLES = ("none", "per_question", "per_sample")


@dataclass(frozen=True)
class Choice:
    """One multiple-choice item in source order, before any shuffle."""

    id: str
    question: str
    options: list[str]
    answer: int  # index into `options` of the correct one
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    letters: str
    style: str
    shuffle: str
    seed: int


def letter_set(cfg: Any) -> str:
    letters = str(cfg.task.get("letters") or "ABCD").strip().upper()
    if not letters or not ALPHABET.startswith(letters):
        raise UserError(f"task.letters={letters!r}: give the option letters from A on, e.g. ABCD or ABCDEFGHIJ")
    return letters


def family_settings(styles: Sequence[str], shuffles: Sequence[str] = SHUFFLES) -> dict[str, Setting]:
    """The family's `task.*` settings for a benchmark's TaskSpec; `styles`: the prompt styles this
    benchmark offers (LongBench v2 has its own template)."""
    return {"prompt_style": Setting(str, choices=tuple(styles)), "shuffle": Setting(str, choices=tuple(shuffles)),
            "shuffle_seed": Setting(int), "letters": Setting(str, doc="the option letters from A on: ABCD, ABCDEFGHIJ"),
            "letter_reading": Setting(str, choices=tuple(READINGS),
                                      doc="how the chosen letter is read: the card's tooling's rule or lenient")}


def settings(cfg: Any) -> Settings:
    """The family's task settings as the task reads them (the TaskSpec checked their values)."""
    task = cfg.task
    return Settings(letter_set(cfg), str(task.get("prompt_style", "answer_line")), str(task.get("shuffle", "none")),
                    int(task.get("shuffle_seed", 42)))


def option_list(value: Any, where: str) -> list[str]:
    """A row's options as a list of strings: a list, or (from a csv) its JSON text. Trailing empty
    options (a ten-option file padded for rows with fewer) are dropped."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise UserError(f"{where}: options must be a list (or its JSON text in a csv cell)") from None
    if not isinstance(value, (list, tuple)) or hasattr(value, "keys"):
        try:
            value = list(value)  # a numpy array from a parquet file
        except TypeError:
            raise UserError(f"{where}: options must be a list, not {type(value).__name__}") from None
    options = [str(o).strip() if o is not None else "" for o in value]
    while options and options[-1] in ("", "N/A"):
        options.pop()
    return options


def permutation(seed: int, record_id: str, n: int, k: int = 0) -> list[int]:
    """The option order for one question (and generation k): independent of row order and of
    `limit`, so a subset or a reordered file shows each question exactly as the full run did."""
    order = list(range(n))
    random.Random(f"{seed}/{record_id}/{k}").shuffle(order)
    return order


def render(question: str, options: Sequence[str], order: Sequence[int], opts: Settings) -> str:
    shown = opts.letters[:len(options)]
    lines = "\n".join(OPTION_LINE[opts.style].format(letter=shown[j], text=options[i]) for j, i in enumerate(order))
    listed = ", ".join(opts.letters[:-1]) + f" or {opts.letters[-1]}" if len(opts.letters) > 1 else opts.letters
    return PROMPTS[opts.style].format(letters="/".join(opts.letters), listed=listed, question=question, options=lines)


def order_for(item_id: str, n: int, opts: Settings, k: int = 0) -> list[int]:
    return list(range(n)) if opts.shuffle == "none" else permutation(opts.seed, item_id, n, k)


def reference(item: Choice, order: list[int], opts: Settings, k: int = 0) -> dict[str, Any]:
    ref: dict[str, Any] = {"letter": opts.letters[order.index(item.answer)], "order": order, "k": k}
    if opts.shuffle == "per_sample":  # the other k's prompts are rendered from the text
        ref.update(question=item.question, choices=list(item.options), answer=item.answer)
    return ref


def make_sample(item: Choice, opts: Settings, content: str | None = None) -> Sample:
    """The Sample of one item at k=0. `content` replaces the family's rendering for a benchmark with
    its own template (LongBench v2); the options it shows must be in `item.options` order."""
    if len(item.options) < 2:
        raise UserError(f"item {item.id}: {len(item.options)} option(s); a multiple-choice item needs two or more")
    if len(item.options) > len(opts.letters):
        raise UserError(f"item {item.id} has {len(item.options)} options but task.letters={opts.letters} offers "
                        f"{len(opts.letters)}; set task.letters={ALPHABET[:len(item.options)]}")
    if not 0 <= item.answer < len(item.options):
        raise UserError(f"item {item.id}: the answer index {item.answer} is not one of its {len(item.options)} options")
    order = order_for(item.id, len(item.options), opts)
    text = content if content is not None else render(item.question, item.options, order, opts)
    return Sample(id=item.id, messages=[{"role": "user", "content": text}], reference=reference(item, order, opts),
                  meta=dict(item.meta))


def sample_for_k(sample: Sample, k: int, cfg: Any) -> Sample:
    """The sample as generation k sees it: itself, unless task.shuffle=per_sample gives each k its
    own option order."""
    opts = settings(cfg)
    if opts.shuffle != "per_sample" or k == sample.reference.get("k", 0):
        return sample
    ref = sample.reference
    item = Choice(sample.id, ref["question"], ref["choices"], int(ref["answer"]))
    order = permutation(opts.seed, sample.id, len(item.options), k)
    return dataclasses.replace(sample, messages=[{"role": "user", "content": render(item.question, item.options, order, opts)}],
                               reference=reference(item, order, opts, k))


def score(sample: Sample, answer: str, cfg: Any, option_names: Sequence[str] | None = None) -> Grade:
    """1.0 when the letter the headline reading (`task.letter_reading`) finds is the correct one;
    the variant `lenient_letters` grades the lenient reading. maj@k votes on the source option
    (`answer_key`: its name in `option_names`, else its source letter), never the shown letter:
    under a per-sample shuffle one letter is another option in each k."""
    letters = letter_set(cfg)
    rule = str(cfg.task.get("letter_reading") or "nemo_skills")
    language = str(sample.meta.get("language") or "en")
    reading = read_choice_letter(answer or "", letters, rule, language)
    ref = sample.reference
    detail: dict[str, Any] = {"correct_letter": ref["letter"], "order": ref["order"], "k": ref.get("k", 0),
                              "letter_reading": rule, "read_from": reading.source}
    variants: dict[str, float] = {}
    if rule != LENIENT:
        lenient = read_choice_letter(answer or "", letters, LENIENT, language)
        detail["lenient_letter"] = lenient.letter
        variants["lenient_letters"] = float(lenient.letter == ref["letter"])
    if reading.ambiguous:
        detail["reason"] = "the answer names several letters"
    if reading.letter is None:
        return Grade(0.0, None, detail, variants=variants)
    shown = letters.find(reading.letter)
    if 0 <= shown < len(ref["order"]):
        source = ref["order"][shown]
        key = option_names[source] if option_names else ALPHABET[source]
    else:
        key = reading.letter  # a letter past the last option: wrong, but an answer
    return Grade(float(reading.letter == ref["letter"]), reading.letter, detail, variants=variants, answer_key=key)
