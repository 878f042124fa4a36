"""PNG plots beside the report.

Figures are built with matplotlib's object API (Figure, not pyplot): saving a PNG goes through Agg
with no display and no global state, and a notebook shows the same Figure inline. Each `fig_*`
returns a Figure, or None when the run has nothing of that kind to draw; `write_run_plots` and
`write_compare_plots` save them next to report.md.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from evalsuite.card import card_models
from evalsuite.card_rows import build_rows
from evalsuite.results import TaskResult, sample_rows

OURS_COLOR = "#d62728"
MODEL_COLORS = ["#1f77b4", "#7f7f7f", "#bcbd22", "#17becf", "#9467bd", "#8c564b"]
RUN_COLORS = ["#d62728", "#ff7f0e", "#2ca02c", "#e377c2", "#8c564b", "#9467bd"]


def _wrap(text: str, width: int = 16) -> str:
    words, lines, line = text.split(), [], ""
    for w in words:
        if line and len(line) + 1 + len(w) > width:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    return "\n".join(lines + [line])


def _finite(x: Any) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


# ---------------------------------------------------------------- ours vs the card

def fig_bars(runs: list[tuple[str, list[TaskResult]]]) -> Figure | None:
    """Per benchmark: each run's headline with its 95% interval as error bars, then the card's
    models (hatched: a number the card's authors ran themselves)."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}  # (benchmark, task) -> {"card": cells, run: row}
    for label, tasks in runs:
        for row in build_rows(tasks):
            if row.task is None or row.value is None:
                continue
            entry = groups.setdefault((row.benchmark, row.task.name), {"card": row.card})
            entry[label] = row
    if not groups:
        return None
    models = card_models()
    labels = [label for label, _ in runs]
    series = labels + models
    width = 0.8 / len(series)
    fig = Figure(figsize=(max(6.0, 1.6 + 0.55 * len(series) * len(groups)), 4.6))
    ax = fig.subplots()
    x = np.arange(len(groups))
    seen_hatch = False
    for i, name in enumerate(series):
        pos = x - 0.4 + width * (i + 0.5)
        for j, (key, entry) in enumerate(groups.items()):
            if name in labels:
                row = entry.get(name)
                if row is None:
                    continue
                lo, hi = row.ci
                err = None if lo is None or hi is None else [[max(0.0, row.value - lo)], [max(0.0, hi - row.value)]]
                ax.bar(pos[j], row.value, width, color=RUN_COLORS[labels.index(name) % len(RUN_COLORS)],
                       yerr=err, capsize=3, ecolor="black")
                top = hi if hi is not None else row.value
                ax.text(pos[j], top + 1.0, f"{row.value:.1f}", ha="center", va="bottom", fontsize=7,
                        rotation=90)
            else:
                cell = entry["card"].get(name)
                if cell is None or cell.value is None:
                    continue
                authors = cell.by_card_authors
                seen_hatch |= authors
                color = MODEL_COLORS[models.index(name) % len(MODEL_COLORS)]
                ax.bar(pos[j], cell.value, width, color=color, alpha=0.85, hatch="//" if authors else None,
                       edgecolor="white" if authors else None)
    names = [f"{b}\n({t})" if sum(1 for bb, _ in groups if bb == b) > 1 else b for b, t in groups]
    ax.set_xticks(x, [_wrap(n) for n in names], fontsize=8)
    ax.set_ylabel("score (0-100)")
    ax.set_ylim(0, 110)
    ax.grid(axis="y", alpha=0.3)
    title = "This run vs the card" if len(runs) == 1 else "Runs vs the card"
    ax.set_title(f"{title}  (error bars: 95% interval over items)", fontsize=10)
    # built by hand: a legend taken from the bars would show whichever hatch a model had first
    handles = [Patch(color=RUN_COLORS[i % len(RUN_COLORS)], label=label) for i, label in enumerate(labels)]
    handles += [Patch(color=MODEL_COLORS[i % len(MODEL_COLORS)], alpha=0.85, label=f"{m} (card)")
                for i, m in enumerate(models) if any(m in e["card"] and e["card"][m].value is not None
                                                     for e in groups.values())]
    if seen_hatch:
        handles.append(Patch(facecolor="#bbbbbb", hatch="//", edgecolor="white", label="\u2021 run by the card's authors"))
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- how avg@k settles

def avg_at_k_curve(samples: pd.DataFrame) -> pd.DataFrame:
    """avg@k using the first k samples of every item, k = 1..n, with a normal 95% band over items.
    Only items scored at every k count, so the curve never mixes items in and out."""
    scored = samples.dropna(subset=["score"])
    if scored.empty:
        return pd.DataFrame(columns=["k", "value", "lo", "hi", "n_items"])
    wide = scored.pivot_table(index="sample_id", columns="k", values="score", aggfunc="last").sort_index(axis=1)
    rows = []
    for k in range(1, wide.shape[1] + 1):
        first_k = wide.iloc[:, :k].dropna()
        if first_k.empty:
            break
        item_means = first_k.mean(axis=1) * 100
        n = len(item_means)
        se = item_means.std(ddof=1) / math.sqrt(n) if n > 1 else 0.0
        mean = item_means.mean()
        rows.append({"k": k, "value": mean, "lo": mean - 1.96 * se, "hi": mean + 1.96 * se, "n_items": n})
    return pd.DataFrame(rows)


def fig_avg_at_k(samples: pd.DataFrame, card_values: dict[str, float | None]) -> Figure | None:
    # a task with one sample per item (NIAH) has no curve to draw
    tasks = [t for t in samples["task"].unique()
             if samples.loc[samples.task == t].dropna(subset=["score"])["k"].nunique() > 1]
    if not tasks:
        return None
    cols = min(3, len(tasks))
    nrows = math.ceil(len(tasks) / cols)
    fig = Figure(figsize=(4.2 * cols, 3.2 * nrows))
    axes = fig.subplots(nrows, cols, squeeze=False)
    for ax, task in zip(axes.flat, tasks):
        curve = avg_at_k_curve(samples[samples.task == task])
        ax.plot(curve.k, curve.value, marker="o", ms=3, color=OURS_COLOR, label="avg@k (first k samples)")
        ax.fill_between(curve.k, curve.lo.clip(lower=0), curve.hi.clip(upper=100), color=OURS_COLOR, alpha=0.15,
                        label="95% band over items")
        card = card_values.get(task)
        if card is not None:
            ax.axhline(card, ls="--", color=MODEL_COLORS[0], lw=1, label=f"card {card:g}")
        n_all = samples.loc[samples.task == task, "sample_id"].nunique()
        n_used = int(curve.n_items.iloc[-1])
        ax.set_title(f"{task} ({n_used} items" + (f" of {n_all}: those with all k samples)" if n_used < n_all else ")"),
                     fontsize=10)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("samples per item (k)")
        ax.set_ylabel("avg@k")
        ax.set_ylim(-2, 102)
        ax.set_xlim(0.5, max(2, curve.k.max()) + 0.5)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    for ax in list(axes.flat)[len(tasks):]:
        ax.axis("off")
    fig.suptitle("How avg@k settles as samples are added", fontsize=11)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- NIAH depth x length

def depth_length_grid(tasks: list[TaskResult]) -> pd.DataFrame:
    """Recall by needle depth (rows) and context length (columns) from the summaries' breakdowns;
    several tasks (the 8 NIAH tasks run separately) are averaged cell by cell."""
    cells: dict[tuple[float, int], list[float]] = {}
    for t in tasks:
        if t.summary is None:
            continue
        for cell in t.summary.breakdown_groups().get(("depth", "length"), []):
            if _finite(cell.value) is not None:
                cells.setdefault((float(cell.by["depth"]), int(cell.by["length"])), []).append(float(cell.value))
    if not cells:
        return pd.DataFrame()
    frame = pd.DataFrame([{"depth": d, "length": n, "value": sum(v) / len(v)} for (d, n), v in cells.items()])
    return frame.pivot(index="depth", columns="length", values="value").sort_index().sort_index(axis=1)


def _length_label(n: int) -> str:
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return f"{n >> 20}M"
    if n >= 1024 and n % 1024 == 0:
        return f"{n >> 10}K"
    return f"{n:,}"


def fig_niah_heatmap(tasks: list[TaskResult]) -> Figure | None:
    grid = depth_length_grid(tasks)
    if grid.empty or grid.shape[1] < 2:  # one length: the breakdown table says it all
        return None
    fig = Figure(figsize=(1.6 + 0.9 * grid.shape[1], 1.4 + 0.32 * grid.shape[0]))
    ax = fig.subplots()
    image = ax.imshow(grid.values, cmap="RdYlGn", vmin=0, vmax=100, aspect="auto")
    ax.set_xticks(range(grid.shape[1]), [_length_label(int(c)) for c in grid.columns])
    ax.set_yticks(range(grid.shape[0]), [f"{d:g}%" for d in grid.index])
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            v = grid.values[i, j]
            if not np.isnan(v):
                ax.text(j, i, f"{v:.0f}", ha="center", va="center", fontsize=7)
    ax.set_xlabel("context length (tokens)")
    ax.set_ylabel("needle depth")
    ax.set_title("NIAH: needle recall by depth and length", fontsize=10)
    fig.colorbar(image, ax=ax, label="recall %")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- response lengths and truncation

def fig_lengths(samples: pd.DataFrame, max_tokens: dict[str, int | None]) -> Figure | None:
    gen = samples.dropna(subset=["tokens"])
    tasks = list(gen["task"].unique())
    if not tasks:
        return None
    fig = Figure(figsize=(max(8.0, 2.0 + 1.6 * len(tasks)), 3.8))
    ax_len, ax_rate = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
    data = [gen.loc[gen.task == t, "tokens"].astype(float).values for t in tasks]
    ax_len.boxplot(data, showfliers=True, widths=0.5)
    for i, values in enumerate(data, 1):  # every response as a dot: k is often small
        jitter = np.random.default_rng(i).uniform(-0.12, 0.12, len(values))
        ax_len.scatter(i + jitter, values, s=6, alpha=0.4, color=OURS_COLOR, zorder=3)
        budget = max_tokens.get(tasks[i - 1])
        if budget:
            ax_len.hlines(budget, i - 0.35, i + 0.35, colors="black", linestyles="--", lw=1,
                          label="max tokens" if i == 1 else None)
    ax_len.set_xticks(range(1, len(tasks) + 1), tasks, rotation=20, fontsize=8)
    ax_len.set_ylabel("generated tokens per response")
    if gen["tokens"].max() > 50 * max(1, gen["tokens"].min()):
        ax_len.set_yscale("log")
    ax_len.set_title("Response lengths", fontsize=10)
    ax_len.grid(axis="y", alpha=0.3)
    if any(max_tokens.values()):
        ax_len.legend(fontsize=7)

    truncated = [100 * gen.loc[gen.task == t, "finish_reason"].eq("length").mean() for t in tasks]
    unfinished = [100 * gen.loc[gen.task == t, "unfinished"].fillna(False).astype(bool).mean() for t in tasks]
    x = np.arange(len(tasks))
    ax_rate.bar(x - 0.2, truncated, 0.4, color="#ff7f0e", label="truncated (hit max tokens)")
    ax_rate.bar(x + 0.2, unfinished, 0.4, color="#7f7f7f", label="unfinished (thinking never closed)")
    ax_rate.set_xticks(x, tasks, rotation=20, fontsize=8)
    ax_rate.set_ylim(0, 105)
    ax_rate.set_ylabel("% of responses")
    ax_rate.set_title("Truncation", fontsize=10)
    ax_rate.grid(axis="y", alpha=0.3)
    ax_rate.legend(fontsize=7)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- writing them

def samples_frame(tasks: list[TaskResult]) -> pd.DataFrame:
    from evalsuite.results import SAMPLE_COLUMNS

    return pd.DataFrame([r for t in tasks for r in sample_rows(t)], columns=SAMPLE_COLUMNS)


def save(fig: Figure | None, path: Path) -> Path | None:
    if fig is None:
        if path.exists():  # a plot from an earlier report that no longer applies
            path.unlink()
        return None
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def write_run_plots(run_dir: Path, tasks: list[TaskResult]) -> list[Path]:
    samples = samples_frame(tasks)
    card_values = {r.task.name: r.card_reference for r in build_rows(tasks) if r.task is not None}
    # another harness's generations may have an "unknown" budget: no line is drawn for it
    max_tokens = {t.name: budget if isinstance(budget := t.summary.protocol.get("max_tokens"), (int, float)) else None
                  for t in tasks if t.summary is not None}
    written = [save(fig_bars([("this run", tasks)]), run_dir / "plot_vs_card.png"),
               save(fig_avg_at_k(samples, card_values), run_dir / "plot_avg_at_k.png"),
               save(fig_niah_heatmap(tasks), run_dir / "plot_niah_depth_length.png"),
               save(fig_lengths(samples, max_tokens), run_dir / "plot_lengths.png")]
    return [p for p in written if p is not None]


def write_compare_plots(out_dir: Path, runs: list[tuple[str, list[TaskResult]]]) -> list[Path]:
    path = save(fig_bars(runs), out_dir / "plot_vs_card.png")
    return [path] if path else []

