"""Tables of a run beside the card's numbers."""
from __future__ import annotations

import math
from pathlib import Path

from evalsuite.card import benchmark_order


def _fmt(x: float | None, nd: int = 1) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{nd}f}"


def format_table(summaries: list[dict]) -> str:
    """Markdown: task, items, samples, avg@k [95% CI], the card's number, the gap, deviations."""
    order = {b: i for i, b in enumerate(benchmark_order())}
    rows = sorted(summaries, key=lambda s: (order.get(s.get("benchmark"), 999), s["task"]))
    lines = ["| task | items | samples | avg@k | 95% CI | card | gap | no answer % | truncated % | deviations |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for s in rows:
        card = s.get("card_value")
        gap = None if card is None or math.isnan(s["value"]) else s["value"] - card
        lo, hi = s["ci95"]
        missing = f" ({s['missing_scores']} missing)" if s.get("missing_scores") else ""
        lines.append(f"| {s['task']} | {s['n_items']} | {s['samples']}{missing} | {_fmt(s['value'])} | "
                     f"[{_fmt(lo)}, {_fmt(hi)}] | {_fmt(card)} | {_fmt(gap)} | {_fmt(s.get('no_answer_rate'))} | "
                     f"{_fmt(s.get('truncated_rate'))} | {'; '.join(s.get('deviations', [])) or '-'} |")
    return "\n".join(lines)


def write_run_report(run_dir: Path, summaries: list[dict]) -> str:
    table = format_table(summaries)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "report.md").write_text(f"# {run_dir}\n\n{table}\n", encoding="utf-8")
    return table


def main(argv: list[str]) -> int:
    raise SystemExit("evalsuite report: not built yet")
