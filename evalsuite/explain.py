"""Where a task's gap to the card can come from, as far as the run itself can show it.

    evalsuite explain run_dir=results/mine        # explain.md, explain.json, plot_gap.png beside report.md

Per task: ours minus the card's number, then each thing the run can put a number (or a fact) on,
stated as a bound or an alternative, never as a share of the gap (they overlap and do not add up):
sampling noise (the 95% interval, and what halving it would take), unfinished and truncated
answers (the score had they been answered at the run's own accuracy, and at most), scores still
missing, each OPEN variant's number, each protocol deviation, the data version, and the judge.
docs/explain.md describes each line.
"""
from __future__ import annotations

import math
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path


from matplotlib.figure import Figure

from evalsuite.card_rows import finite_number
from evalsuite.results import TaskResult
from evalsuite.summary import TaskSummary
from evalsuite.types import Score


_num = finite_number


def _f(x: float | None, signed: bool = False) -> str:
    return "-" if x is None else (f"{x:+.1f}" if signed else f"{x:.1f}")


@dataclass
class Part:
    """One thing the run shows about the gap: a line of text and, where it is a number, the range
    of scores it allows (low = high for an alternative number, like an OPEN variant)."""

    kind: str  # noise | unanswered | missing | variant | deviation | harness | data | judge
    text: str
    low: float | None = None
    high: float | None = None
    estimate: float | None = None  # a point inside [low, high] the text names (the at-accuracy score)


@dataclass
class TaskGap:
    task: str
    benchmark: str
    ours: float | None
    ci: tuple[float | None, float | None]
    card: float | None
    gap: float | None
    card_in_ci: bool | None
    data: str  # where the items came from, in a few words (report.md's table)
    graded_by: str  # the judge's name, the official harness, or "none" (graded by rules)
    parts: list[Part] = field(default_factory=list)


# ---------------------------------------------------------------- the parts

def item_values(task: TaskResult) -> dict[str, list[Score]]:
    by_item: dict[str, list[Score]] = {}
    for (sid, _), s in sorted(task.scores.items()):
        by_item.setdefault(sid, []).append(s)
    return by_item


def noise_part(summary: TaskSummary, by_item: dict[str, list[Score]], card: float | None) -> Part | None:
    """The interval, and what it would take to halve it. The items are the unit: the variance of
    the item means is the spread between items plus each item's own sampling spread over k; more
    samples shrink only the second, more items shrink both."""
    lo, hi = _num(summary.ci95[0]), _num(summary.ci95[1])
    if lo is None or hi is None:
        return None
    half = (hi - lo) / 2
    n = int(summary.n_items or len(by_item) or 0)
    inside = "" if card is None else (" The card's number is inside it: this gap is within noise." if lo <= card <= hi
                                      else " The card's number is outside it.")
    text = f"95% interval over {n} items: [{_f(lo)}, {_f(hi)}] (±{half:.1f}).{inside} Halving it takes about 4x the items ({4 * n})"
    means = [sum(float(s.value) for s in v) / len(v) for v in by_item.values() if v]
    ks = [len(v) for v in by_item.values() if v]
    if len(means) >= 2 and min(ks) >= 2:
        m = sum(means) / len(means)
        spread = sum((x - m) ** 2 for x in means) / (len(means) - 1)  # variance of the item means
        # each item's own sampling variance of its mean, unbiased from its k samples
        within = sum(x * (1 - x) * k / (k - 1) / k for x, k in zip(means, ks)) / len(means)
        between = max(0.0, spread - within)
        k_now = sum(ks) / len(ks)
        target = spread / 4
        if spread == 0:
            text += ("; every item scored the same, so the interval is one point: it shows no noise, "
                     "not the absence of it")
        elif within == 0 or between >= target:
            text += (f"; no number of samples per item halves it at these {n} items: the spread between items "
                     f"alone keeps it near ±{1.96 * 100 * math.sqrt(between / len(means)):.1f}")
        else:
            k_needed = math.ceil(within * k_now / (target - between))
            text += f", or about {k_needed} samples per item at these {n} items (now {k_now:g})"
    elif ks and max(ks) < 2:
        text += "; with one sample per item the run cannot tell the items' spread from the sampling's"
    return Part("noise", text + ".", lo, hi)


def unanswered_part(summary: TaskSummary, by_item: dict[str, list[Score]], ours: float | None) -> Part | None:
    """Unfinished (thinking never closed) and truncated (hit max tokens) samples scored 0, answered
    instead at the run's own accuracy on its other samples (the item's own where it has some), and
    at most all right. An estimate and a bound, not a measurement."""
    if ours is None:
        return None
    scores = [s for v in by_item.values() for s in v]
    if scores:
        cut = [s for s in scores if s.unfinished or s.truncated]
        if not cut:
            return None
        rest = [float(s.value) for s in scores if not (s.unfinished or s.truncated)]
        overall = sum(rest) / len(rest) if rest else None
        at_rate, at_most = [], []
        for v in by_item.values():
            own = [float(s.value) for s in v if not (s.unfinished or s.truncated)]
            rate = sum(own) / len(own) if own else overall
            cut_here = lambda s: s.unfinished or s.truncated  # noqa: E731
            at_rate.append(sum((rate if rate is not None and float(s.value) == 0 and cut_here(s) else float(s.value))
                               for s in v) / len(v))
            at_most.append(sum((1.0 if cut_here(s) else float(s.value)) for s in v) / len(v))
        estimate = 100 * sum(at_rate) / len(at_rate) if overall is not None else None
        high = 100 * sum(at_most) / len(at_most)
        share = 100 * len(cut) / len(scores)
        n_unf = sum(bool(s.unfinished) for s in cut)
        what = f"{len(cut)} of {len(scores)} samples ({share:.1f}%) unfinished or truncated ({n_unf} unfinished)"
    else:  # a summary without its scores: its rates only
        share = max(_num(summary.unfinished_rate) or 0, _num(summary.truncated_rate) or 0)
        if share <= 0:
            return None
        kept = 1 - share / 100
        estimate = ours / kept if kept > 0 else None
        high = min(100.0, ours + share)
        what = f"{share:.1f}% of samples unfinished or truncated (from the summary's rates)"
    at = "" if estimate is None else f"; answered at the run's own accuracy on the rest: {_f(estimate)} ({_f(estimate - ours, True)})"
    return Part("unanswered", f"{what}, scored 0{at}; at most {_f(high)} were every one of them right.",
                ours, high, estimate)


def missing_part(summary: TaskSummary, ours: float | None) -> Part | None:
    missing, expected = int(summary.missing_scores or 0), int(summary.expected_scores or 0)
    if not missing or not expected or ours is None:
        return None
    f = missing / expected
    low, high = ours * (1 - f), ours * (1 - f) + 100 * f
    return Part("missing", f"{missing} of {expected} scores not made yet: the finished run lands in "
                           f"[{_f(low)}, {_f(high)}] (all of them wrong .. all right); rerun the same command to finish.",
                low, high)


def variant_parts(summary: TaskSummary, card: float | None) -> list[Part]:
    out = []
    for name, value in summary.open_variants().items():
        if _num(value) is None:
            continue
        gap = "" if card is None else f": the gap would be {_f(value - card, True)} had the card used it"
        out.append(Part("variant", f"OPEN variant {name}: {_f(value)}{gap}.", value, value))
    return out


def deviation_parts(summary: TaskSummary) -> list[Part]:
    return [Part("deviation", f"protocol deviation: {d}. This run does not measure its effect; a run with the "
                              f"card's setting does.") for d in summary.deviations]


def harness_part(task: TaskResult, by_item: dict[str, list[Score]]) -> Part | None:
    """Generations another harness made (responses_format=...): its prompt and settings, not this
    task's, made them; a prompt that never asked for the answer form our scorer reads explains the
    answers it cannot find."""
    made = ((task.manifest or {}).get("responses") or {}).get("made_by")
    if not isinstance(made, dict):
        return None
    harness = made.get("harness")
    settings = made.get("settings") or {}
    shown = ", ".join(f"{k} {settings.get(k, 'unknown')}" for k in ("temperature", "top_p", "max_tokens"))
    prompt = made.get("prompt")
    quoted = "unknown (its file does not keep it)" if prompt in (None, "unknown") else \
        repr(" ".join(str(prompt).split())[:160] + ("..." if len(" ".join(str(prompt).split())) > 160 else ""))
    text = (f"the generations were made by {harness} with its own prompt and settings, not this task's: "
            f"prompt {quoted}; {shown} (as its file says)")
    asks = made.get("our_prompt_asks_for_theirs_does_not") or []
    scores = [s for v in by_item.values() for s in v]
    # finished answers in which our scorer found none (cut-off and unfinished ones have their own line)
    unread = sum(s.extracted is None and not s.truncated and not s.unfinished and not s.scoring_error
                 for s in scores)
    if asks:
        text += f". Its prompt never asks for {' or '.join(asks)}, the form this task's scorer reads"
        if unread:
            text += (f": that explains the {unread} of {len(scores)} samples ({100 * unread / len(scores):.1f}%) "
                     f"that finished with no answer our scorer can find")
    return Part("harness", text + ".")


def data_source(task: TaskResult) -> str:
    """Where the items came from: the file, the bundled sample set or the hub dataset at its revision."""
    ds = (task.manifest or {}).get("dataset") or {}
    if not ds:
        return "unknown (no run.json)"
    sample_set = ds.get("source") == "sample"
    where = ds.get("path") or ("the bundled sample set" if sample_set else ds.get("hub_id")) or "generated"
    rev = ds.get("revision")
    sha = ds.get("resolved_sha")
    return where + (f" @ {rev}" if rev and not ds.get("path") and not sample_set else "") + \
        (f" (commit {str(sha)[:12]})" if sha else "")


def data_part(task: TaskResult) -> Part:
    manifest = task.manifest or {}
    ds = manifest.get("dataset") or {}
    version = ((manifest.get("config") or {}).get("data") or {}).get("version")
    if not ds:
        return Part("data", f"data version: {data_source(task)}.")
    text = (f"data: {data_source(task)}, source {ds.get('source')}, {ds.get('n_items')} items"
            + (f", data.version {version}" if version is not None else ""))
    if ds.get("source") == "sample":
        text += ": not the benchmark; its number is not comparable with the card's"
    return Part("data", text + ".")


def graded_by(summary: TaskSummary) -> str:
    """Who graded the number, in a few words: the judge, the official harness, or none (rules)."""
    if summary.judge is not None:
        return summary.judge.name
    if summary.harness is not None:
        return f"harness {summary.harness.name} {summary.harness.version}"
    return "none"


def judge_part(summary: TaskSummary) -> Part:
    judge, harness = summary.judge, summary.harness
    if judge is None and harness is not None:  # an agentic row: the official harness ran and graded it
        return Part("judge", f"graded by the official harness {harness.name} {harness.version}"
                    + (f"; not run: {', '.join(harness.not_run)}" if harness.not_run else "") + ".")
    if judge is None:
        return Part("judge", "judge: none (graded by rules).")
    text = (f"judge: {judge.name} (model {judge.model}, prompt {judge.prompt}, parse {judge.parse}); "
            f"{judge.unparseable} of {judge.answers} replies unparseable")
    if judge.variant is not None:
        agreement = _num(judge.variant.agreement)
        text += (f"; variant judge {judge.variant.name} (model {judge.variant.model})"
                 + (f", agreement {agreement:.0f}%" if agreement is not None else ""))
    return Part("judge", text + "; the card's judge may differ.")


def explain_task(task: TaskResult, card: float | None) -> TaskGap | None:
    summary = task.summary
    if not summary:
        return None
    ours = _num(summary.value)
    lo, hi = _num(summary.ci95[0]), _num(summary.ci95[1])
    gap = None if card is None or ours is None else ours - card
    by_item = item_values(task)
    parts = [p for p in (noise_part(summary, by_item, card), unanswered_part(summary, by_item, ours),
                         missing_part(summary, ours)) if p is not None]
    parts += variant_parts(summary, card) + deviation_parts(summary)
    parts += [p for p in (harness_part(task, by_item),) if p is not None] + [data_part(task), judge_part(summary)]
    return TaskGap(task.name, str(summary.benchmark or task.benchmark or task.name), ours, (lo, hi), card, gap,
                   None if card is None or lo is None or hi is None else lo <= card <= hi,
                   data_source(task), graded_by(summary), parts)


def explain_tasks(tasks: list[TaskResult]) -> list[TaskGap]:
    from evalsuite.card_rows import build_rows

    out = []
    for row in build_rows(tasks):
        if row.task is not None and row.summary:
            gap = explain_task(row.task, row.card_reference)
            if gap is not None:
                out.append(gap)
    return out


# ---------------------------------------------------------------- text

CAVEAT = ("Each line is a bound or an alternative the run itself shows, not a share of the gap: they overlap, "
          "and what they leave unexplained is not attributed to anything.")


def headline(g: TaskGap) -> str:
    lo, hi = g.ci
    ours = f"{_f(g.ours)} [{_f(lo)}, {_f(hi)}]"
    if g.card is None:
        return f"ours {ours}; the card has no number for {g.benchmark}"
    return f"ours {ours} vs the card's {_f(g.card)}: gap {_f(g.gap, True)}"


def explain_markdown(gaps: list[TaskGap], title: str) -> str:
    lines = [f"# {title}", "", CAVEAT, ""]
    if not gaps:
        lines.append("No task of this run has scores yet.")
    for g in gaps:
        lines += [f"## {g.task} ({g.benchmark})", "", headline(g), ""]
        lines += [f"- **{p.kind}**: {p.text}" for p in g.parts] + [""]
    return "\n".join(lines) + "\n"


def report_table(gaps: list[TaskGap]):
    """report.md's compact version: one row per task (explain.md has every line)."""
    from evalsuite.tables import Table

    rows = []
    for g in gaps:
        by = {}
        for p in g.parts:
            by.setdefault(p.kind, []).append(p)
        noise = f"±{(g.ci[1] - g.ci[0]) / 2:.1f}" if None not in g.ci else "-"
        if g.card_in_ci is not None:
            noise += " (card inside)" if g.card_in_ci else " (card outside)"
        unanswered = by.get("unanswered", [None])[0]
        variants = [p.low for p in by.get("variant", [])]
        rows.append([g.task, _f(g.ours), _f(g.card), _f(g.gap, True), noise,
                     "-" if unanswered is None else f"{_f(unanswered.estimate)} (at most {_f(unanswered.high)})",
                     f"{_f(min(variants))} .. {_f(max(variants))}" if variants else "-",
                     str(len(by.get("deviation", []))), g.data, g.graded_by])
    return Table(["task", "ours", "card", "gap", "noise (95% CI)", "unfinished/truncated answered", "OPEN variants",
                  "deviations", "data", "judge"], rows) if rows else None


# ---------------------------------------------------------------- the plot

def fig_gap(gaps: list[TaskGap]) -> Figure | None:
    """Per task, on the score axis: our number with its interval, the card's number, the score had the
    unfinished/truncated answers been answered (estimate, and the range up to all right), the range
    missing scores allow, and each OPEN variant."""
    gaps = [g for g in gaps if g.ours is not None]
    if not gaps:
        return None
    fig = Figure(figsize=(8.5, 1.2 + 0.7 * len(gaps)))
    ax = fig.subplots()
    seen: set[str] = set()

    def label(name: str) -> str | None:
        if name in seen:
            return None
        seen.add(name)
        return name

    for y, g in enumerate(reversed(gaps)):
        lo, hi = g.ci
        if lo is not None and hi is not None:
            ax.plot([lo, hi], [y, y], color="#d62728", lw=6, alpha=0.25, solid_capstyle="butt",
                    label=label("ours: 95% interval"))
        ax.plot([g.ours], [y], "o", color="#d62728", label=label("ours"))
        if g.card is not None:
            ax.plot([g.card], [y], "D", color="#1f77b4", label=label("card"))
        for p in g.parts:
            if p.kind == "unanswered" and p.low is not None:
                ax.plot([p.low, p.high], [y + 0.18] * 2, color="#ff7f0e", lw=1.5,
                        label=label("unfinished/truncated: up to all right"))
                if p.estimate is not None:
                    ax.plot([p.estimate], [y + 0.18], "^", color="#ff7f0e",
                            label=label("... answered at the run's accuracy"))
            elif p.kind == "missing":
                ax.plot([p.low, p.high], [y - 0.18] * 2, color="#7f7f7f", lw=1.5, ls="--",
                        label=label("missing scores: all wrong .. all right"))
            elif p.kind == "variant":
                ax.plot([p.low], [y - 0.18], "x", color="#2ca02c", label=label("OPEN variant"))
    ax.set_yticks(range(len(gaps)), [f"{g.task}\ngap {_f(g.gap, True)}" for g in reversed(gaps)], fontsize=8)
    ax.set_xlim(-2, 102)
    ax.set_ylim(-0.7, len(gaps) - 0.3)
    ax.set_xlabel("score (0-100)")
    ax.grid(axis="x", alpha=0.3)
    ax.set_title("The gap to the card: what the run can show (bounds and alternatives, not shares)", fontsize=10)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- one run

def write_explain(run_dir: Path, tasks: list[TaskResult] | None = None, plot: bool = True) -> tuple[str, list[TaskGap]]:
    """explain.md, explain.json (and plot_gap.png) in run_dir; returns the markdown and the gaps."""
    from evalsuite import store
    from evalsuite.results import scan

    run_dir = Path(run_dir)
    gaps = explain_tasks(scan(run_dir) if tasks is None else tasks)
    text = explain_markdown(gaps, f"Where the gap to the card comes from: {run_dir}")
    (run_dir / "explain.md").write_text(text, encoding="utf-8")
    store.write_json(run_dir / "explain.json", [asdict(g) for g in gaps])
    if plot:
        try:
            from evalsuite.plots import save

            save(fig_gap(gaps), run_dir / "plot_gap.png")
        except Exception as e:  # noqa: BLE001 - a plot must not cost the text
            print(f"warning: plot_gap.png not written ({type(e).__name__}: {e})", file=sys.stderr)
    return text, gaps
