"""Metrics over scores: avg@k (mean pass@1), unbiased pass@k, maj@k, standard error and a bootstrap
95% interval over items, no-answer / scoring-error / unfinished / truncated rates. Everything on a 0-100 scale.

Items are the unit of resampling: 30 AIME problems x 64 samples is 30 observations of per-item
accuracy, not 1,920 independent ones, so the interval is honest about how few problems there are.
"""
from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from typing import Iterable

from evalsuite.types import Score


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k (Chen et al. 2021): 1 - C(n-c, k) / C(n, k)."""
    if n - c < k:
        return 1.0
    return 1.0 - math.prod((n - c - i) / (n - i) for i in range(k))


def bootstrap_ci(values: list[float], n_resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Percentile 95% interval of the mean, resampling items with replacement."""
    if not values:
        return (float("nan"), float("nan"))
    if len(values) == 1:
        return (values[0], values[0])
    rng = random.Random(seed)
    n = len(values)
    means = sorted(sum(rng.choices(values, k=n)) / n for _ in range(n_resamples))
    return (means[int(0.025 * n_resamples)], means[min(n_resamples - 1, int(0.975 * n_resamples))])


def group_by_item(scores: Iterable[Score]) -> dict[str, list[Score]]:
    by_item: dict[str, list[Score]] = defaultdict(list)
    for s in scores:
        by_item[s.sample_id].append(s)
    for lst in by_item.values():
        lst.sort(key=lambda s: s.k)
    return dict(by_item)


def majority_value(scores: list[Score]) -> float:
    """The value of the most common answer (ties: the earliest sample's); no answers count as 0."""
    keys = [s.detail.get("answer_key", s.extracted) for s in scores]
    counts = Counter(k for k in keys if k is not None)
    if not counts:
        return 0.0
    top = max(counts.values())
    winner = next(k for k in keys if k is not None and counts[k] == top)
    return next(s.value for s, k in zip(scores, keys) if k == winner)


def is_scoring_error(score: Score) -> bool:
    return bool((score.detail or {}).get("scoring_error"))


def mean_accuracy(scores: Iterable[Score]) -> float:
    """avg@k on a 0-100 scale: the mean over items of each item's mean value (NaN when empty)."""
    by_item = group_by_item(scores)
    if not by_item:
        return float("nan")
    return 100.0 * sum(sum(s.value for s in v) / len(v) for v in by_item.values()) / len(by_item)


def summarize(scores: list[Score], seed: int = 0) -> dict:
    by_item = group_by_item(scores)
    n_items = len(by_item)
    if n_items == 0:
        return {"n_items": 0, "samples": 0, "value": float("nan"), "ci95": [float("nan")] * 2}
    item_means = [sum(s.value for s in v) / len(v) for v in by_item.values()]
    n_min = min(len(v) for v in by_item.values())
    n_max = max(len(v) for v in by_item.values())
    value = sum(item_means) / n_items
    sd = math.sqrt(sum((m - value) ** 2 for m in item_means) / (n_items - 1)) if n_items > 1 else 0.0
    lo, hi = bootstrap_ci(item_means, seed=seed)
    all_scores = [s for v in by_item.values() for s in v]
    out = {
        "value": 100 * value,
        "stderr": 100 * sd / math.sqrt(n_items),
        "ci95": [100 * lo, 100 * hi],
        "n_items": n_items,
        "samples": n_min,
        "samples_max": n_max,
        "n_scores": len(all_scores),
        # a scorer that failed (timeout, crash, memory cap, sandbox failure) is not an answer the
        # model never gave: its own rate, out of no_answer_rate
        "no_answer_rate": 100 * sum(s.extracted is None and not is_scoring_error(s) for s in all_scores) / len(all_scores),
        "scoring_error_rate": 100 * sum(is_scoring_error(s) for s in all_scores) / len(all_scores),
        "unfinished_rate": 100 * sum(s.unfinished for s in all_scores) / len(all_scores),
        "truncated_rate": 100 * sum(s.truncated for s in all_scores) / len(all_scores),
    }
    ks = sorted({k for k in (1, 2, 4, 8, 16, 32, 64, 128, n_min) if k <= n_min})
    out["pass_at_k"] = {
        str(k): 100 * sum(pass_at_k(len(v[:n_min]), sum(s.value >= 1.0 for s in v[:n_min]), k)
                          for v in by_item.values()) / n_items
        for k in ks
    }
    out["maj_at_k"] = {
        str(k): 100 * sum(majority_value(v[:k]) for v in by_item.values()) / n_items for k in ks
    }
    return out
