"""The card's table (a copy of every row, evalsuite/card/baselines.csv) and look-ups into it."""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

CARD_CSV = Path(__file__).resolve().parent / "card" / "baselines.csv"
CARD_MODEL = "Nemotron-Cascade-2-30B-A3B"
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
        """The number a run is compared with: "92.4" -> 92.4; "10/12" (problems solved) -> 10."""
        text = self.score.strip()
        if re.fullmatch(r"-?\d+(\.\d+)?", text):
            return float(text)
        solved = re.fullmatch(r"(\d+)\s*/\s*\d+", text)
        return float(solved.group(1)) if solved else None


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
