"""Metrics over scores: avg@k (mean pass@1), unbiased pass@k, maj@k, standard error and a bootstrap
95% interval over items, no-answer / scoring-error / unfinished / truncated rates. Everything on a 0-100 scale.

Items are the unit of resampling: 30 AIME problems x 64 samples is 30 observations of per-item
accuracy, not 1,920 independent ones, so the interval is honest about how few problems there are.
Every figure (headline, OPEN variants, breakdowns) averages the same way: the mean over items of
each item's mean (`item_mean`), so an item with more samples never weighs more.
"""
from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from typing import Any, Callable, Iterable

from evalsuite.types import Score

VoteKey = tuple[str, int]  # (sample_id, k)


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


def item_means(values: Iterable[tuple[Any, float]]) -> dict[Any, float]:
    """(item, value) pairs -> each item's mean value (0-1), items in first-seen order."""
    by_item: dict[Any, list[float]] = defaultdict(list)
    for item, value in values:
        by_item[item].append(float(value))
    return {item: sum(v) / len(v) for item, v in by_item.items()}


def item_mean(values: Iterable[tuple[Any, float]]) -> float:
    """The one averaging rule of every figure (headline, OPEN variants, breakdowns), 0-100: the mean
    over items of each item's mean value; NaN when empty. With equal samples per item it is the flat
    mean; with unequal ones (a run still going, a shard missing) every item keeps an equal weight.
    An "item" is whatever is resampled: a sample id, or (sample id, instruction) for a per-instruction
    figure."""
    means = item_means(values)
    return 100.0 * sum(means.values()) / len(means) if means else float("nan")


def group_mean(samples: dict, scores: Iterable[Score], key: str, seed: int = 0,
               resamples: int = 1000) -> tuple[float, list[float], dict[str, tuple[float, int]]]:
    """A headline that weighs groups, not items, equally (MultiChallenge's mean of its four axes,
    WMT24++'s mean over languages): (the mean over groups of each group's item_mean, its 95%
    interval resampling items within each group, {group: (value, items)}), all 0-100. Groups are
    `Sample.meta[key]` of the scored items."""
    groups: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for s in scores:
        sample = samples.get(s.sample_id)
        if sample is not None:
            groups[str(sample.meta.get(key))][s.sample_id].append(float(s.value))
    if not groups:
        return float("nan"), [float("nan"), float("nan")], {}
    per_item = {g: [sum(v) / len(v) for v in items.values()] for g, items in groups.items()}
    cells = {g: (100.0 * sum(v) / len(v), len(v)) for g, v in per_item.items()}
    value = sum(c[0] for c in cells.values()) / len(cells)
    rng = random.Random(seed)
    draws = sorted(sum(100.0 * sum(rng.choices(v, k=len(v))) / len(v) for v in per_item.values()) / len(per_item)
                   for _ in range(resamples))
    return value, [draws[int(0.025 * resamples)], draws[min(resamples - 1, int(0.975 * resamples))]], cells


def vote_key(score: Score) -> str | None:
    """The answer a sample votes for in maj@k by string (the task's normalised key, else the
    extracted answer); None when it gave no answer."""
    key = score.answer_key if score.answer_key is not None else score.extracted
    return None if key is None else str(key)


def majority_value(scores: list[Score], votes: dict[VoteKey, str] | None = None) -> float:
    """The value of the most common answer (ties: the earliest sample's); no answers count as 0.
    `votes` (from `vote_classes`) puts equivalent answers in one class; without it answers vote by
    their normalised string."""
    votes = votes or {}
    keys = [None if vote_key(s) is None else votes.get((s.sample_id, s.k), vote_key(s)) for s in scores]
    counts = Counter(k for k in keys if k is not None)
    if not counts:
        return 0.0
    top = max(counts.values())
    winner = next(k for k in keys if k is not None and counts[k] == top)
    return next(s.value for s, k in zip(scores, keys) if k == winner)


def vote_classes(scores: Iterable[Score], same: Callable[[str, str], bool], timeout_s: float,
                 memory_mb: int | None = None) -> tuple[dict[VoteKey, str], int]:
    """For maj@k by equivalence: each answer's class, keyed by the class's first member (lowest k).
    Returns ({(sample_id, k): class key}, comparisons that failed or ran out of time or memory).

    Answers graded 1.0 all equal the reference, so they are one class, and no answer graded below
    1.0 can be in it; only wrong answers with different strings are compared, `same(earlier, later)`
    in killable workers under `timeout_s` per answer (sympy can hang in C code) and `memory_mb` of
    growth per worker (`workers.DEFAULT_MEMORY_MB` when None), never in this process. A pair whose
    comparison runs out of memory is "not the same" and counted; an answer whose comparisons time
    out or kill the worker stays a class of its own and is counted."""
    from evalsuite.workers import DEFAULT_MEMORY_MB, map_with_deadline

    classes: dict[VoteKey, str] = {}
    jobs: list[tuple[list[str], str]] = []  # (the item's earlier wrong answers, this one)
    # per wrong key: the item's class of each wrong key, the earlier keys, this key, the samples that gave it
    pending: list[tuple[dict[str, str], list[str], str, list[VoteKey]]] = []
    for item_scores in group_by_item(scores).values():
        first_right: str | None = None
        wrong: dict[str, tuple[str, list[VoteKey]]] = {}  # key -> (its first answer's text, its samples)
        for s in item_scores:
            key = vote_key(s)
            if key is None:
                continue
            if s.value >= 1.0:
                first_right = first_right or key
                classes[(s.sample_id, s.k)] = first_right
            else:
                text = key if s.extracted is None else str(s.extracted)
                wrong.setdefault(key, (text, []))[1].append((s.sample_id, s.k))
        keys = list(wrong)
        class_of = {key: key for key in keys}
        for j, key in enumerate(keys):
            if j:
                jobs.append(([wrong[k][0] for k in keys[:j]], wrong[key][0]))
            pending.append((class_of, keys[:j], key, wrong[key][1]))

    def first_equal(job: tuple[list[str], str]) -> tuple[int | None, int]:
        """(the first earlier answer equal to this one, or None; pairs that ran out of memory)."""
        earlier, answer = job
        over_cap = 0
        for i, other in enumerate(earlier):
            try:
                if same(other, answer):
                    return i, over_cap
            except MemoryError:  # this pair only: the worker freed it and goes on with the next
                over_cap += 1
        return None, over_cap

    outcomes = iter(map_with_deadline(first_equal, jobs, timeout_s,
                                      memory_mb=DEFAULT_MEMORY_MB if memory_mb is None else memory_mb))
    failed = 0
    for class_of, earlier, key, where in pending:  # in k order: an earlier answer's class is settled first
        if earlier:
            outcome = next(outcomes)
            if not outcome.ok:
                failed += 1
            else:
                match, over_cap = outcome.value
                failed += over_cap
                if match is not None:
                    class_of[key] = class_of[earlier[match]]
        for w in where:
            classes[w] = class_of[key]
    return classes, failed


def is_scoring_error(score: Score) -> bool:
    return bool(score.scoring_error)


def mean_accuracy(scores: Iterable[Score]) -> float:
    """avg@k on a 0-100 scale, by the one averaging rule (`item_mean`)."""
    return item_mean((s.sample_id, s.value) for s in scores)


def summarize(scores: list[Score], seed: int = 0, votes: dict[VoteKey, str] | None = None) -> dict:
    """Every metric of one task's scores. `votes`: maj@k's answer classes (`vote_classes`); without
    them answers vote by their normalised string."""
    by_item = group_by_item(scores)
    n_items = len(by_item)
    if n_items == 0:
        return {"n_items": 0, "samples": 0, "value": float("nan"), "ci95": [float("nan")] * 2}
    all_scores = [s for v in by_item.values() for s in v]
    means = list(item_means((s.sample_id, s.value) for s in all_scores).values())
    n_min = min(len(v) for v in by_item.values())
    n_max = max(len(v) for v in by_item.values())
    value = item_mean((s.sample_id, s.value) for s in all_scores) / 100
    sd = math.sqrt(sum((m - value) ** 2 for m in means) / (n_items - 1)) if n_items > 1 else 0.0
    lo, hi = bootstrap_ci(means, seed=seed)
    # the answers whose finish reason is known (another harness's file may not say): NaN when none is
    known = [s for s in all_scores if s.truncated is not None]
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
        "truncated_rate": 100 * sum(bool(s.truncated) for s in known) / len(known) if known else float("nan"),
    }
    ks = sorted({k for k in (1, 2, 4, 8, 16, 32, 64, 128, n_min) if k <= n_min})
    out["pass_at_k"] = {
        str(k): 100 * sum(pass_at_k(len(v[:n_min]), sum(s.value >= 1.0 for s in v[:n_min]), k)
                          for v in by_item.values()) / n_items
        for k in ks
    }
    out["maj_at_k"] = {
        str(k): 100 * sum(majority_value(v[:k], votes) for v in by_item.values()) / n_items for k in ks
    }
    return out
