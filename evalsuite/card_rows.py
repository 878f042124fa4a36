"""The card's table beside a run: one row per card benchmark (and per task of the run that measures
it), with the run's number, its interval, the card's cells and the gap. Report, compare, plots
and notebooks all read rows from here.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from evalsuite.card import CARD_MODEL, CardCell, card_benchmarks, card_cells
from evalsuite.results import TaskResult
from evalsuite.summary import TaskSummary

NOT_ON_CARD = "Not on the card"


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
        variants = self.summary.open_variants() if self.summary is not None else {}
        return {name: v for name, v in variants.items() if finite_number(v) is not None}


def build_rows(tasks: list[TaskResult]) -> list[Row]:
    """Every card row, in the card's order, with the tasks of this run that measure it; then the
    tasks whose benchmark the card does not have."""
    by_benchmark: dict[str, list[TaskResult]] = {}
    for t in tasks:
        by_benchmark.setdefault(t.benchmark or "", []).append(t)
        for derived in card_row_results(t):  # one task, several card rows (ArenaHard v2's three)
            by_benchmark.setdefault(derived.benchmark or "", []).append(derived)
    rows = []
    for group, benchmark in card_benchmarks():
        cells = card_cells(benchmark)
        for t in by_benchmark.pop(benchmark, None) or [None]:
            rows.append(Row(group, benchmark, t, cells))
    for benchmark, ts in by_benchmark.items():
        rows += [Row(NOT_ON_CARD, benchmark or t.name, t, {}) for t in ts]
    return rows


def card_row_results(task: TaskResult) -> list[TaskResult]:
    """The other card rows a task's summary measures (its `card_rows`: benchmark -> value, ci95,
    n_items), each as a result of its own with that row's number, from the same judgements."""
    if task.summary is None:
        return []
    out = []
    for benchmark, cell in task.summary.card_rows.items():
        summary = dataclasses.replace(task.summary, benchmark=benchmark, value=cell.value, ci95=list(cell.ci95),
                                      n_items=cell.n_items, breakdown=[], card_rows={})
        out.append(TaskResult(task.name, task.dir, summary, task.manifest))
    return out
