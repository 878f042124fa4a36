"""What every reader makes (`ForeignRow`s in a `ForeignFile`), the format names, and the reading
helpers the readers share."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from omegaconf import DictConfig

from evalsuite import store
from evalsuite.errors import UserError


FORMATS = ("nemo_skills", "lm_eval", "lighteval", "inspect")


@dataclass
class ForeignRow:
    """One generation of another harness, with what that harness said about it."""

    where: str  # file:line (or file:sample) for error messages and the agreement file
    ids: list[str]  # the harness's own ids for the item (tried after the question text)
    question: str | None  # the item's question/prompt text as the harness stored it
    k: int
    text: str
    reasoning: str | None = None  # None: `text` is raw output (our split applies)
    tokens: int | None = None  # None: the file does not say
    finish_reason: str | None = None  # "stop" | "length"; None: the file does not say
    extracted: str | None = None  # the harness's own extraction of the answer
    verdicts: dict[str, float] = field(default_factory=dict)  # its verdicts on this sample
    item_verdicts: dict[str, float] = field(default_factory=dict)  # its verdicts on the whole item (all k)
    # its extraction under each verdict where they differ (lm-eval: one per filter)
    extracted_by: dict[str, str | None] = field(default_factory=dict)
    # item verdicts on one answer the harness chose among the samples (a majority-vote filter)
    voted: set[str] = field(default_factory=set)
    gold: Any = None  # the harness's reference answer, checked against ours
    prompt: str | None = None  # the whole prompt the harness sent, where its file keeps it
    options: list[str] | None = None  # a multiple-choice item's option texts in the order the harness lettered them


@dataclass
class ForeignFile:
    """A harness's file read: its rows, and what it says about how they were made."""

    rows: list[ForeignRow]
    empty: int = 0  # rows of generations that never finished
    # decoding and prompt as the file states them (temperature, top_p, max_tokens, system_prompt,
    # prompt_template, model, ...); a key the file does not state is absent: unknown, never a default
    settings: dict[str, Any] = field(default_factory=dict)


def responses_format(cfg: DictConfig) -> str | None:
    name = cfg.get("responses_format")
    if name is None or str(name).strip() in ("", "evalsuite"):
        return None
    if str(name) not in FORMATS:
        raise UserError(f"unknown responses_format {name!r}; choose one of: {', '.join(FORMATS)} "
                        f"(or drop it for evalsuite's own jsonl)")
    return str(name)


def as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)) and value == value:
        return float(value)
    return None


def read_jsonl(path: Path, fmt: str) -> list[tuple[int, dict]]:
    rows = []
    try:
        lines = store.jsonl_lines(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text; responses_format={fmt} reads the harness's .jsonl file") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            raise UserError(f"{path}:{n}: not valid JSON; responses_format={fmt} reads one JSON object per line") from None
        if not isinstance(row, dict):
            raise UserError(f"{path}:{n}: a JSON {type(row).__name__}, not an object; this is not a {fmt} file")
        rows.append((n, row))
    return rows


def guess_format(row: Any) -> str | None:
    """Which harness's layout a record looks like, for the error that names the right format."""
    if not isinstance(row, dict):
        return None
    if "resps" in row and "doc_id" in row:
        return "lm_eval"
    if "generation" in row and ({"expected_answer", "symbolic_correct", "predicted_answer"} & set(row)):
        return "nemo_skills"
    if "samples" in row and "eval" in row or {"epoch", "scores"} <= set(row):
        return "inspect"
    if "predictions" in row or "model_response" in row:
        return "lighteval"
    if "response" in row and ("id" in row or "prompt" in row):
        return "evalsuite"
    return None


def wrong_layout(where: str, fmt: str, missing: str, row: Any) -> UserError:
    guess = guess_format(row)
    hint = ("; it looks like evalsuite's own jsonl: drop responses_format" if guess == "evalsuite" else
            f"; it looks like responses_format={guess}" if guess and guess != fmt else "")
    return UserError(f"{where}: no {missing}; this is not a {fmt} file{hint}")


def first_text(row: dict, names: Iterable[str]) -> str | None:
    for name in names:
        value = row.get(name)
        if isinstance(value, str) and value.strip():
            return value
    return None


QUESTION_FIELDS = ("problem", "question", "Question", "prompt", "question_content", "query", "input")
ID_FIELDS = ("id", "problem_idx", "key", "question_id", "task_id", "Record ID", "record_id")


def row_ids(row: dict) -> list[str]:
    return [str(row[name]) for name in ID_FIELDS if row.get(name) is not None]


def as_count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def finish_of(value: Any) -> str | None:
    """A harness's stop reason in our two words; None where it says nothing we can read."""
    if not isinstance(value, str):
        return None
    value = value.strip().lower()
    return ("length" if value in ("length", "max_tokens", "model_length", "max_length") else
            "stop" if value in ("stop", "eos", "end_turn", "stop_sequence", "tool_calls") else None)


# lm-eval's self-consistency filters (majority_vote) are named for it ("maj@64", "maj@8"), as are
# lighteval's majority metrics ("maj@4")
VOTING_FILTER = re.compile(r"maj|vote", re.IGNORECASE)
