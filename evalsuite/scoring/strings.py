"""String-match scoring primitives (RULER's metrics), shared by the tasks that grade by recall of
gold strings in free text."""
from __future__ import annotations

from collections.abc import Sequence


def matched_golds(prediction: str, golds: Sequence[str]) -> list[bool]:
    """For each gold string: does it occur in the prediction, case-insensitively, as a substring."""
    text = (prediction or "").lower()
    return [str(gold).lower() in text for gold in golds]


def string_match_all(prediction: str, golds: Sequence[str]) -> float:
    """The fraction of the gold strings found in the prediction (0.0 when there are no golds)."""
    found = matched_golds(prediction, golds)
    return sum(found) / len(found) if found else 0.0


def string_match_part(prediction: str, golds: Sequence[str]) -> float:
    """1.0 when at least one gold string is found in the prediction, else 0.0."""
    return 1.0 if any(matched_golds(prediction, golds)) else 0.0
