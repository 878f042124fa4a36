"""The card's table (a copy of every row, evalsuite/card/baselines.csv) and look-ups into it."""
from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the row model reads a run's task; results never imports the card
    from evalsuite.results import TaskResult
    from evalsuite.summary import TaskSummary

CARD_CSV = Path(__file__).resolve().parent / "card" / "baselines.csv"
CARD_MODEL = "Nemotron-Cascade-2-30B-A3B"
NOT_ON_CARD = "Not on the card"
DAGGER = "\u2021"  # the card's mark for baselines its authors ran themselves


@dataclass(frozen=True)
class CardRow:
    group: str
    benchmark: str
    model: str
    mode: str  # standard | tir (tool-integrated reasoning, the card's bracketed numbers)
    score: str  # as printed: "92.4", "35 pts", "10/12"
    source: str  # official | card_authors (the card's double-dagger rows: run by the card's authors)

    @property
    def value(self) -> float | None:
        return float(self.score) if re.fullmatch(r"-?\d+(\.\d+)?", self.score.strip()) else None


@lru_cache(maxsize=1)
def card_rows() -> tuple[CardRow, ...]:
    with CARD_CSV.open(encoding="utf-8", newline="") as f:
        return tuple(CardRow(**row) for row in csv.DictReader(f))


def card_column(card_model: str | None) -> str:
    """The card column a run is compared with: its model's own (model.card_model), else Cascade-2's
    (a model without a column, like the embedded one, is read against the card's model)."""
    return card_model if card_model and any(row.model == card_model for row in card_rows()) else CARD_MODEL


def card_value(benchmark: str, model: str = CARD_MODEL, mode: str = "standard") -> float | None:
    for row in card_rows():
        if row.benchmark == benchmark and row.model == model and row.mode == mode:
            return row.value
    return None


def benchmark_order() -> list[str]:
    """Benchmarks in the card's table order (reports follow it)."""
    seen: dict[str, None] = {}
    for row in card_rows():
        seen.setdefault(row.benchmark, None)
    return list(seen)


@dataclass(frozen=True)
class CardCell:
    text: str  # as the card prints it: "92.4 [98.6]", "91.9‡", "35 pts"
    value: float | None  # the standard-mode number, when it is a number
    tir_value: float | None = None
    by_card_authors: bool = False  # the standard number is a ‡ one


def card_models() -> list[str]:
    """Cascade-2 first, then the baselines in the card's column order."""
    seen = {CARD_MODEL: None}
    for row in card_rows():
        seen.setdefault(row.model, None)
    return list(seen)


def card_benchmarks() -> list[tuple[str, str]]:
    """(group, benchmark) in the card's table order."""
    seen: dict[tuple[str, str], None] = {}
    for row in card_rows():
        seen.setdefault((row.group, row.benchmark), None)
    return list(seen)


def card_cells(benchmark: str) -> dict[str, CardCell]:
    by_model: dict[str, dict[str, Any]] = {}
    for row in card_rows():
        if row.benchmark == benchmark:
            by_model.setdefault(row.model, {})[row.mode] = row
    cells = {}
    for model, modes in by_model.items():
        std, tir = modes.get("standard"), modes.get("tir")
        text = std.score + (DAGGER if std.source == "card_authors" else "") if std else "-"
        if tir:
            text += f" [{tir.score}{DAGGER if tir.source == 'card_authors' else ''}]"
        cells[model] = CardCell(text, std.value if std else None, tir.value if tir else None,
                                bool(std and std.source == "card_authors"))
    return cells


# ---------------------------------------------------------------- a row of the card beside a run

def finite_number(x: Any) -> float | None:
    """x as a float, or None when it is not a finite number (missing, NaN, a bool, text)."""
    if x is None or isinstance(x, bool):
        return None
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


@dataclass
class Row:
    group: str
    benchmark: str
    task: TaskResult | None  # None: a card row this run did not run
    card: dict[str, CardCell]

    @property
    def summary(self) -> TaskSummary | None:
        return self.task.summary if self.task else None

    @property
    def card_model(self) -> str:
        """The card column this run is read against: its model's (model.card_model), else Cascade-2's."""
        return self.summary.card_model if self.summary is not None else CARD_MODEL

    @property
    def card_reference(self) -> float | None:
        """The card's number for this run's model in the mode the run was made in (TIR runs vs [brackets])."""
        cell = self.card.get(self.card_model)
        if cell is None:
            return None
        return cell.tir_value if self.summary is not None and self.summary.mode == "tir" else cell.value

    @property
    def value(self) -> float | None:
        return finite_number(self.summary.value) if self.summary is not None else None

    @property
    def ci(self) -> tuple[float | None, float | None]:
        ci = self.summary.ci95 if self.summary is not None else [None, None]
        return finite_number(ci[0]), finite_number(ci[1])

    @property
    def gap(self) -> float | None:
        ref = self.card_reference
        return None if ref is None or self.value is None else self.value - ref

    @property
    def card_in_ci(self) -> bool | None:
        ref, (lo, hi) = self.card_reference, self.ci
        return None if ref is None or lo is None or hi is None else lo <= ref <= hi

    def variants(self) -> dict[str, float]:
        """The OPEN choices' candidates (docs/protocol.md), shown beside the headline."""
        variants = self.summary.variants if self.summary is not None else {}
        return {name: v for name, v in variants.items() if finite_number(v) is not None}


def build_rows(tasks: list[TaskResult]) -> list[Row]:
    """Every card row, in the card's order, with the tasks of this run that measure it; then the
    tasks whose benchmark the card does not have."""
    by_benchmark: dict[str, list[TaskResult]] = {}
    for t in tasks:
        by_benchmark.setdefault(t.benchmark or "", []).append(t)
    rows = []
    for group, benchmark in card_benchmarks():
        cells = card_cells(benchmark)
        for t in by_benchmark.pop(benchmark, None) or [None]:
            rows.append(Row(group, benchmark, t, cells))
    for benchmark, ts in by_benchmark.items():
        rows += [Row(NOT_ON_CARD, benchmark or t.name, t, {}) for t in ts]
    return rows
