"""The records that flow through a run (see docs/tasks.md: load -> render -> generate -> split -> score).

Every record is keyed by (sample_id, k): the k-th generation for one item. Records are written as
one JSON object per line; `to_dict`/`from_dict` are the only (de)serialisers.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from evalsuite.errors import UserError


@dataclass
class Sample:
    """One benchmark item, as a task's `load` returns it."""

    id: str
    messages: list[dict[str, str]]  # chat turns without the system prompt: [{"role": "user", "content": ...}]
    reference: Any  # what the scorer compares against (an answer string, tests, a letter ...)
    meta: dict[str, Any] = field(default_factory=dict)  # anything reports group by (difficulty, domain ...)
    # the exact tokens of the chat-templated prompt, when the task already counted them while fitting
    # it to the context (NIAH, LongBench v2, AA-LCR): the budget check then does not count again
    prompt_tokens: int | None = None
    # the ids of the items whose answers this item's prompt holds (SciCode's earlier steps;
    # TaskSpec.chain builds the prompt from them): generated and graded after them, evalsuite/chain.py
    after: list[str] = field(default_factory=list)


@dataclass
class Request:
    """One generation to make: a rendered prompt and the seed of this (sample_id, k)."""

    sample_id: str
    k: int
    prompt: str
    seed: int
    messages: list[dict[str, str]] = field(default_factory=list)  # for chat-completions backends
    max_tokens: int | None = None  # per-request budget when it was clamped to fit the context


@dataclass
class Generation:
    sample_id: str
    k: int
    text: str  # everything the model produced, thinking included
    tokens: int | None  # generated tokens; None: unknown (another harness's file that does not say)
    finish_reason: str  # "stop" | "length" | "error" | FINISH_UNKNOWN
    prompt_tokens: int = 0
    seed: int | None = None
    # The thinking, when it came apart from the answer (a server's reasoning_content, a responses
    # file's reasoning field; "" when none was given): `text` is then the answer alone, never split.
    # None: `text` is the raw output, split at the model's think_end (render.split_generation).
    reasoning: str | None = None


FINISH_UNKNOWN = "unknown"  # why the generation stopped is not known (another harness's file that does not say)


@dataclass
class Grade:
    """What a task's scorer says about one answer."""

    value: float  # 1.0 correct, 0.0 wrong; fractions allowed (needle recall, ...)
    extracted: str | None = None  # the answer the scorer read (None: no answer found)
    detail: dict[str, Any] = field(default_factory=dict)  # anything else worth keeping (the viewer shows it)
    # the same answer under each OPEN protocol choice, by name (LiveCodeBench's first code block,
    # IFBench's strict reading): averaged like the headline into the summary's variants
    variants: dict[str, float] = field(default_factory=dict)
    # why the scorer could not grade (sandbox down, tests missing, judge reply unreadable): counted
    # in the summary's scoring-error rate, not as the model's missing answer
    scoring_error: str | None = None
    answer_key: str | None = None  # what maj@k votes on when not `extracted` ("016" and "16": "16")
    # why the task's checker cannot decide this answer (IMO AnswerBench's prose reference): counted
    # wrong, listed in the report for a judge or a reader
    needs_judge: str | None = None


@dataclass
class Score:
    sample_id: str
    k: int
    value: float
    extracted: str | None
    unfinished: bool  # thinking never closed: no answer, counted wrong
    truncated: bool | None  # finish_reason == "length"; None: the finish reason is unknown
    detail: dict[str, Any] = field(default_factory=dict)
    graded: str | None = None  # digest of the generation this score graded (store.generation_digest)
    variants: dict[str, float] = field(default_factory=dict)  # Grade.variants; a missing name: `value`
    scoring_error: str | None = None  # Grade.scoring_error, or the scorer's own crash or timeout
    answer_key: str | None = None  # Grade.answer_key
    needs_judge: str | None = None  # Grade.needs_judge
    # a chained item (TaskSpec.chain): digest of the earlier items' generations it was graded with
    # (chain.earlier_digest); when one of them changes, the score is stale though its own text is not
    graded_after: str | None = None


# the fields of a grade the engine reads besides value and extracted; scores.jsonl files written
# before they were fields keep them inside `detail` (score_from_record lifts them out)
ENGINE_FIELDS = ("scoring_error", "answer_key", "needs_judge")


def score_from_grade(sample_id: str, k: int, grade: Grade, unfinished: bool, truncated: bool | None) -> Score:
    """The one copy of a grade into a score: every field the grade carries."""
    return Score(sample_id, k, float(grade.value), grade.extracted, unfinished, truncated, dict(grade.detail),
                 variants={name: float(v) for name, v in grade.variants.items()},
                 scoring_error=grade.scoring_error, answer_key=grade.answer_key, needs_judge=grade.needs_judge)


def score_from_record(record: dict[str, Any]) -> Score:
    """A scores.jsonl record as a Score: the only reader of one. A record of an earlier version keeps
    `scoring_error`, `answer_key` and `needs_judge` in its detail; they are lifted into the fields
    here, so an old run reports as it did."""
    score = from_dict(Score, record)
    detail = score.detail or {}
    old = {name: detail[name] for name in ENGINE_FIELDS if name in detail and getattr(score, name) is None}
    if old:
        score.detail = {k: v for k, v in detail.items() if k not in old}
        for name, value in old.items():
            setattr(score, name, None if value is None else str(value))
    return score


def generation_from_record(record: dict[str, Any]) -> Generation:
    """A generations.jsonl record as a Generation (fields of other stages, e.g. a TIR run's `tir`,
    are not part of it: read those from the record)."""
    return from_dict(Generation, record)


@dataclass(frozen=True)
class Breakdown:
    """One cell of a breakdown: a score over the units whose coordinates are `by`, e.g.
    {"domain": "Physics"} or {"depth": 50, "length": 4096} (NIAH's needles)."""

    by: dict[str, Any]
    value: float  # 0-100
    items: int  # how many units were averaged


@dataclass(frozen=True)
class Figures:
    """What a task's own `figures` adds to the engine's: OPEN variants that are not one value per
    answer (IFBench's instruction level, NIAH's mean of tasks) and cells over other units."""

    variants: dict[str, float] = field(default_factory=dict)
    cells: list[Breakdown] = field(default_factory=list)
    # other figures beside the score, by name (HLE's calibration error): the summary's `metrics`
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class CardRowCell:
    """Another row of the card that a task's run measures (ArenaHard v2's categories), from the
    same scores: that row's number, its interval and its items."""

    value: float  # 0-100
    ci95: list[float]
    n_items: int


@dataclass(frozen=True)
class Headline:
    """A task's own headline, for a number that is not the mean of per-answer values (ArenaHard:
    pooled pairwise verdicts with a bootstrap over prompts)."""

    value: float
    ci95: list[float]
    stderr: float | None = None
    variants: dict[str, float] = field(default_factory=dict)
    cells: list[Breakdown] = field(default_factory=list)
    # what the value counts when it is not a percentage of answers (IOI's "points of 600", ICPC's
    # "problems solved of 12"): the summary's `metric` in place of avg@k
    metric: str | None = None
    # further rows of the card this task's run measures, by the card's benchmark name
    card_rows: dict[str, CardRowCell] = field(default_factory=dict)


def to_dict(record: Any) -> dict[str, Any]:
    # the records are flat: a shallow copy is enough (dataclasses.asdict deep-copies, ~18 s per 100k)
    return dict(record.__dict__)


def from_dict(cls: type, data: dict[str, Any]):
    fields = dataclasses.fields(cls)
    names = {f.name for f in fields}
    try:
        return cls(**{k: v for k, v in data.items() if k in names})
    except TypeError:
        missing = [f.name for f in fields if f.name not in data
                   and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
        if not missing:
            raise
        raise UserError(f"a {cls.__name__} record without {', '.join(missing)} "
                        f"({str(data)[:80]}); it was not written by evalsuite: fix or delete it, then rerun") from None
