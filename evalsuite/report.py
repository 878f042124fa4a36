"""Tables of a run beside the card's numbers: report.md, report.csv, report.html (+ plots, viewer).

    evalsuite report run_dir=results/smoke/smollm2-135m     # rebuilt from the run's files alone
    evalsuite compare results/run_a results/run_b [out=DIR]  # runs side by side

Rows follow the card's table (group, benchmark, in its order) and every card row is shown, run or
not, so the card's columns are the card. Our cell is the headline metric with its 95% interval over
items; the gap is ours minus Cascade-2's card number; "in CI" says whether that number lies inside
our interval, the first question to ask before reading anything into a gap.
"""
from __future__ import annotations

import csv
import html
import io
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalsuite.card import CARD_MODEL, DAGGER, card_benchmarks, card_cells, card_models
from evalsuite.card_rows import NOT_ON_CARD, Row, build_rows, finite_number
from evalsuite.errors import UserError
from evalsuite.results import TaskResult, scan
from evalsuite.summary import TaskSummary
from evalsuite.tables import Bullets, Images, Link, Paragraph, Subheading, Table, link_line, markdown_table

WARN = "\u26a0"


# ---------------------------------------------------------------- one row of the report

def _fmt(x: Any, nd: int = 1) -> str:
    x = finite_number(x)
    return "-" if x is None else f"{x:.{nd}f}"


def judge_text(summary: TaskSummary | None) -> str:
    """Who graded a judged number: the judge, and the variant judge with their agreement."""
    judge = summary.judge if summary is not None else None
    if judge is None:
        return ""
    text = f"judge {judge.name}"
    if judge.variant is not None:
        agreement = finite_number(judge.variant.agreement)
        text += f"; variant {judge.variant.name}" + (f", agreement {agreement:.0f}%" if agreement is not None else "")
    return text


def harness_text(summary: TaskSummary | None) -> str:
    """Which official harness made an agentic number (evalsuite/agentic.py), and what it did not run."""
    harness = summary.harness if summary is not None else None
    if harness is None:
        return ""
    text = f"{harness.name} {harness.version}"
    return text + (f"; not run: {', '.join(harness.not_run)}" if harness.not_run else "")


def failure_reason(row: Row) -> str | None:
    """Why the suite could not run this task (its failure.json), while it has no scores."""
    if row.task is None or row.summary is not None or not row.task.failure:
        return None
    return str(row.task.failure.get("reason") or "unknown")


def ours_text(row: Row) -> str:
    if row.task is None:
        return "not run"
    if row.summary is None:
        reason = failure_reason(row)
        return f"not run: {reason}" if reason else "no scores"
    lo, hi = row.ci
    mark = " TIR" if row.summary.mode == "tir" else ""  # beside the card's [bracketed] number
    judged = judge_text(row.summary) or harness_text(row.summary)
    return f"{_fmt(row.value)} [{_fmt(lo)}, {_fmt(hi)}]{mark}" + (f" ({judged})" if judged else "")


def metric_text(summary: TaskSummary | None) -> str:
    """What the number counts: avg@k (a mean over answers, in %), or the task's own unit (IOI's
    points, ICPC's problems solved)."""
    return summary.metric if summary is not None else ""


def size_text(summary: TaskSummary | None) -> str:
    if summary is None:
        return ""
    text = f"{summary.n_items} x {summary.samples}"
    if summary.samples_max and summary.samples_max != summary.samples:
        text += f"-{summary.samples_max}"
    if summary.missing_scores:
        text += f" ({summary.missing_scores} missing)"
    return text


def protocol_text(summary: TaskSummary | None) -> str:
    p = summary.protocol if summary is not None else {}
    if not p:
        return ""
    thinking = {True: "thinking", False: "no thinking"}.get(p.get("thinking"), "thinking ?")
    return (f"k={p.get('samples', '?')}, {p.get('max_tokens', '?')} tok, T={p.get('temperature', '?')}, "
            f"top_p={p.get('top_p', '?')}, {thinking}")


def deviations_text(summary: TaskSummary | None) -> str:
    devs = summary.deviations if summary is not None else []
    return f"{WARN} " + "; ".join(devs) if devs else ""


def variants_text(row: Row, sep: str = " · ") -> str:
    return sep.join(f"{name} {_fmt(v)}" for name, v in row.variants().items())


def in_ci_text(flag: bool | None) -> str:
    return {True: "yes", False: "no", None: "-"}[flag]


def gap_text(gap: float | None) -> str:
    return "-" if gap is None else f"{gap:+.1f}"


# ---------------------------------------------------------------- the run's table in three formats

def table_header() -> list[str]:
    others = [m for m in card_models() if m != CARD_MODEL]
    return (["group", "benchmark", "task", "ours [95% CI]", "metric", "items x samples", "OPEN variants",
             f"{CARD_MODEL} (card) [TIR]", *others, "gap", "card in CI", "protocol", "deviations"])


def table_cells(row: Row) -> list[str]:
    models = card_models()
    return [row.group, row.benchmark, row.task.name if row.task else "", ours_text(row), metric_text(row.summary),
            size_text(row.summary),
            variants_text(row), *(row.card[m].text if m in row.card else "" for m in models),
            gap_text(row.gap), in_ci_text(row.card_in_ci), protocol_text(row.summary), deviations_text(row.summary)]


def csv_record(row: Row) -> dict[str, Any]:
    s = row.summary
    p = s.protocol if s is not None else {}
    lo, hi = row.ci
    rec: dict[str, Any] = {
        "group": row.group, "benchmark": row.benchmark, "task": row.task.name if row.task else "",
        "status": "not run" if row.task is None or failure_reason(row) else ("ok" if s else "no scores"),
        "reason": failure_reason(row) or "", "mode": s.mode if s else "",
        "metric": s.metric if s else "", "value": row.value, "ci_low": lo, "ci_high": hi,
        "stderr": finite_number(s.stderr) if s else None,
        "n_items": s.n_items if s else None, "samples": s.samples if s else None,
        "missing_scores": s.missing_scores if s else None,
    }
    for model in card_models():
        cell = row.card.get(model)
        rec[f"card:{model}"] = cell.text if cell else ""
    rates = ("no_answer_rate", "scoring_error_rate", "unfinished_rate", "truncated_rate")
    rec.update({"gap": row.gap, "card_in_ci": row.card_in_ci,
                **{name: finite_number(getattr(s, name)) if s else None for name in rates},
                "protocol_samples": p.get("samples"), "max_tokens": p.get("max_tokens"), "temperature": p.get("temperature"),
                "top_p": p.get("top_p"), "thinking": p.get("thinking"), "deviations": "; ".join(s.deviations if s else [])})
    rec["judge"] = judge_text(s)
    rec["harness"] = harness_text(s)
    for name, value in row.variants().items():  # one column per OPEN variant, named as the summary names it
        rec[f"variant {name}"] = value
    return rec


def csv_text(records: list[dict[str, Any]]) -> str:
    columns: dict[str, None] = {}
    for r in records:
        columns.update(dict.fromkeys(r))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for r in records:
        writer.writerow({k: "" if v is None else v for k, v in r.items()})
    return buf.getvalue()


def format_table(tasks: list[TaskResult]) -> str:
    """The terminal's table: the tasks this run has scores for, and those the suite could not run
    (with the reason), in the card's order, beside Cascade-2's number."""
    rows = [r for r in build_rows([t for t in tasks if t.summary or t.failure]) if r.task is not None]
    header = ["task", "benchmark", "ours [95% CI]", "metric", "items x samples", "card", "gap", "in CI", "no answer %",
              "scoring errors %", "truncated %", "OPEN variants", "deviations"]
    cells = [[r.task.name, r.benchmark, ours_text(r), metric_text(r.summary), size_text(r.summary),
              r.card[r.card_model].text if r.card_model in r.card else "-", gap_text(r.gap), in_ci_text(r.card_in_ci),
              *(_fmt(getattr(r.summary, name)) if r.summary else "-"
                for name in ("no_answer_rate", "scoring_error_rate", "truncated_rate")),
              variants_text(r), "; ".join(r.summary.deviations if r.summary else []) or "-"] for r in rows]
    return markdown_table(header, cells)


# ---------------------------------------------------------------- what a run lacks

def harness_tasks() -> dict[str, str]:
    """task name -> the card benchmark it measures, for every task this harness can run."""
    from omegaconf import OmegaConf

    from evalsuite.config import CONFIG_DIR

    out = {}
    for path in sorted((CONFIG_DIR / "task").glob("*.yaml")):
        try:
            benchmark = OmegaConf.select(OmegaConf.load(path), "task.benchmark")
        except Exception:  # noqa: BLE001 - a broken task YAML is that task's problem, not the report's
            continue
        if benchmark:
            out[path.stem] = str(benchmark)
    return out


def task_notes(tasks: list[TaskResult]) -> list[str]:
    """What each task of the run lacks, or how its numbers were made (results.Note), one line each."""
    return [f"{t.name}: {n.text}" for t in tasks for n in t.notes]


def untried_note(tasks: list[TaskResult]) -> str | None:
    """The tasks this harness has that the run did not run (None: it ran all of them)."""
    ran = {t.name for t in tasks}
    not_run = [f"{name} ({bench})" for name, bench in harness_tasks().items() if name not in ran]
    return "tasks this harness has that this run did not run: " + ", ".join(not_run) if not_run else None


def missing_notes(tasks: list[TaskResult]) -> list[str]:
    """report's "What is missing": each task's notes, then the harness's tasks the run did not run."""
    untried = untried_note(tasks)
    return task_notes(tasks) + ([untried] if untried else [])


# ---------------------------------------------------------------- sections beside the main table

def other_metrics_table(tasks: list[TaskResult]) -> Table | None:
    header = ["task", "pass@k", "maj@k", "no answer %", "scoring errors %", "unfinished %", "truncated %",
              "tokens mean / median / max", "the task's own"]
    rows = []
    for t in tasks:
        s = t.summary
        if s is None:
            continue
        tok = s.tokens
        # pass@k and maj@k are of answers graded right or wrong in %; not of a task that counts its own unit
        per_answer = s.metric.startswith("avg@")
        rows.append([t.name,
                     ", ".join(f"@{k} {_fmt(v)}" for k, v in s.pass_at_k.items()) if per_answer else "-",
                     ", ".join(f"@{k} {_fmt(v)}" for k, v in s.maj_at_k.items()) if per_answer else "-",
                     _fmt(s.no_answer_rate), _fmt(s.scoring_error_rate), _fmt(s.unfinished_rate),
                     _fmt(s.truncated_rate),
                     f"{_fmt(tok.get('mean'), 0)} / {_fmt(tok.get('median'), 0)} / {_fmt(tok.get('max'), 0)}",
                     ", ".join(f"{name} {_fmt(v)}" for name, v in s.metrics.items())])
    return Table(header, rows) if rows else None


def judges_table(tasks: list[TaskResult]) -> Table | None:
    """Per judged task: the judge (and variant), agreement, unparseable replies, and the ledger."""
    rows = []
    for t in tasks:
        judge = t.summary.judge if t.summary is not None else None
        if judge is None:
            continue
        for name, ledger in judge.ledger.items():  # the judge's, then the variant judge's
            variant = judge.variant if name != judge.name else None
            cost = finite_number(ledger.cost)
            rows.append([t.name, f"{'variant' if variant else 'judge'} {name}", (variant or judge).model,
                         str(variant.unparseable) if variant else f"{judge.unparseable} of {judge.answers}",
                         _fmt(variant.agreement, 0) if variant else "",
                         f"{ledger.requests:,}", f"{ledger.tokens_in:,}", f"{ledger.tokens_out:,}",
                         "-" if cost is None else f"${cost:,.4f}"])
    header = ["task", "judge", "model", "unparseable", "agreement %", "requests", "tokens in", "tokens out", "cost"]
    return Table(header, rows) if rows else None


def harnesses_table(tasks: list[TaskResult]) -> Table | None:
    """Per agentic task: the official harness that ran it, its settings, the parts not run, its cost."""
    rows = []
    for t in tasks:
        harness = t.summary.harness if t.summary is not None else None
        if harness is None:
            continue
        cost = finite_number(harness.cost_usd)
        rows.append([t.name, f"{harness.name} {harness.version}",
                     "; ".join(f"{k}={v}" for k, v in harness.settings.items() if not isinstance(v, (dict, list)))[:300],
                     "; ".join(f"{k}: {v}" for k, v in harness.not_run.items()) or "-",
                     f"{harness.tokens_in:,}", f"{harness.tokens_out:,}",
                     "-" if cost is None else f"${cost:,.4f}"])
    header = ["task", "harness", "settings", "not run", "tokens in", "tokens out", "cost"]
    return Table(header, rows) if rows else None


def breakdown_tables(tasks: list[TaskResult]) -> list[tuple[str, Table]]:
    """(task, table) of each task's one-coordinate breakdowns (difficulty, domain, family ...);
    the variants are in the main table, two-coordinate grids (NIAH's depth x length) in plots."""
    out = []
    for t in tasks:
        if t.summary is None:
            continue
        rows = [[names[0], str(cell.by[names[0]]), _fmt(cell.value), str(cell.items)]
                for names, cells in t.summary.breakdown_groups().items() if len(names) == 1
                for cell in cells if finite_number(cell.value) is not None]
        if rows:
            out.append((t.name, Table(["by", "group", "score", "items"], rows)))
    return out


def needs_judge_table(tasks: list[TaskResult], limit: int = 200) -> Table | None:
    """The answers a task's checker could not decide (`Score.needs_judge`, IMO AnswerBench):
    counted wrong in the headline, listed here for a judge or a reader."""
    rows = []
    for t in tasks:
        for (sample_id, k), score in sorted(t.scores.items()):
            if score.needs_judge:
                rows.append([t.name, f"{sample_id}#{k}", str(score.extracted or "")[:120], score.needs_judge])
    if not rows:
        return None
    more = len(rows) - limit
    rows = rows[:limit] + ([["", f"... {more} more", "", ""]] if more > 0 else [])
    return Table(["task", "item#k", "answer", "why the checker cannot decide"], rows)


def run_facts(tasks: list[TaskResult]) -> list[str]:
    def distinct(key: str) -> str:
        return ", ".join(sorted({str(getattr(t.summary, key)) for t in tasks
                                 if t.summary and getattr(t.summary, key)})) or "?"

    times = sorted(str((t.manifest or {}).get("time")) for t in tasks if (t.manifest or {}).get("time"))
    facts = [f"model: {distinct('model')}", f"backend: {distinct('backend')}"]
    if times:
        facts.append(f"started: {times[0]}")
    return facts


LEGEND = (f"ours: the headline metric (avg@k = pass@1 averaged over k samples) with its 95% bootstrap interval "
          f"over items. {DAGGER}: a baseline the card's authors ran themselves. [x]: the card's tool-integrated "
          f"(TIR) number. gap: ours minus {CARD_MODEL}'s card number. card in CI: that number lies inside our "
          f"interval. {WARN}: the run's protocol differs from the card's.")


COMPARE_LEGEND = (f"The card's table, every column ({DAGGER}: a baseline the card's authors ran themselves), each run "
                  f"beside the column of its model (model.card_model; a model without one beside {CARD_MODEL}): the "
                  f"headline metric with its 95% interval over items, items x samples, and the gap to that column's "
                  f"number ('in CI': the card's number lies inside the run's interval).")


# ---------------------------------------------------------------- the run report's sections, in order

@dataclass
class CardTable:
    """The main table, every card row (markdown: the group a column; HTML: a heading row per group)."""

    rows: list[Row]

    def markdown(self) -> str:
        return markdown_table(table_header(), [table_cells(r) for r in self.rows])

    def html(self) -> str:
        return card_table_html(self.rows)


Block = Paragraph | Bullets | Subheading | Table | CardTable | Images


@dataclass
class ReportSection:
    """One `## title` of a report and what it shows, in order; the lead (title "") sits under the
    page's own title, without a heading."""

    title: str
    blocks: list[Block]


def run_report_sections(rows: list[Row], tasks: list[TaskResult], images: list[str]) -> list[ReportSection]:
    """The run report, section by section: report.md and report.html both render this one list."""
    sections = [ReportSection("", [Paragraph([" · ".join(run_facts(tasks))]), CardTable(rows),
                                   Paragraph([LEGEND], note=True)])]
    missing = missing_notes(tasks)
    sections.append(ReportSection("What is missing", [Bullets(missing) if missing
                                                      else Paragraph(["Nothing: every task ran to completion."])]))
    for title, table in (("Other metrics", other_metrics_table(tasks)), ("Judges", judges_table(tasks)),
                         ("Official harnesses", harnesses_table(tasks))):
        if table:
            sections.append(ReportSection(title, [table]))
    sections += [ReportSection(f"Breakdown: {name}", [table]) for name, table in breakdown_tables(tasks)]
    judge_table = needs_judge_table(tasks)
    if judge_table:
        sections.append(ReportSection("Needs a judge", [judge_table]))
    sections += extra_sections(tasks)
    if images:
        sections.append(ReportSection("Plots", [Images(images)]))
    return sections


def extra_sections(tasks: list[TaskResult]) -> list[ReportSection]:
    """The sections from explain.py (the gap to the card) and foreign/agreement.py (agreement with
    another harness's verdicts)."""
    from evalsuite import explain
    from evalsuite.foreign.agreement import agreement_blocks

    out = []
    gap_table = explain.report_table(explain.explain_tasks(tasks))
    if gap_table:
        out.append(ReportSection("Where the gap to the card comes from", [
            Paragraph([explain.CAVEAT + " Every line: ", Link("explain.md", "explain.md"), "."], note=True), gap_table]))
    agreements = [(t.name, t.summary.agreement) for t in tasks
                  if t.summary is not None and t.summary.agreement is not None]
    if agreements:
        out.append(ReportSection("Agreement with the other harness's verdicts",
                                 [block for name, found in agreements for block in agreement_blocks(name, found)]))
    return out


# ---------------------------------------------------------------- the two renderers

def report_markdown(title: str, sections: list[ReportSection], links: dict[str, str]) -> str:
    """report.md: the title, the links to the report's other files, then each section."""
    parts = [f"# {title}"] + ([link_line(links).markdown()] if links else [])
    for section in sections:
        parts += ([f"## {section.title}"] if section.title else []) + [b.markdown() for b in section.blocks]
    return "\n\n".join(parts) + "\n"


# ---------------------------------------------------------------- HTML

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin:.8em 0}th,td{border:1px solid #ccc;padding:3px 6px;vertical-align:top}
th{background:#f2f2f2;position:sticky;top:0}td.num{text-align:right;white-space:nowrap}
tr.notrun td{color:#999}tr.group td{background:#eef3f8;font-weight:600}
td.variants{white-space:pre-line;font-size:12px}td.yes{background:#e6f4e6}td.no{background:#fbe9e7}td.dev{color:#a15c00}
img{max-width:100%;border:1px solid #eee;margin:.5em 0}.legend{color:#555;max-width:70em}
"""


def card_table_html(rows: list[Row]) -> str:
    """The main table, with each card group as a heading row instead of a repeated column."""
    header = table_header()[1:]
    numeric = {"ours [95% CI]", "items x samples", "gap", *header[header.index("OPEN variants") + 1:-3]}
    out = ["<table class=\"card\"><thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header)
           + "</tr></thead><tbody>"]
    group = None
    for row in rows:
        if row.group != group:
            group = row.group
            out.append(f'<tr class="group"><td colspan="{len(header)}">{html.escape(group)}</td></tr>')
        cells = table_cells(row)[1:]
        cells[header.index("OPEN variants")] = variants_text(row, "\n")
        tds = []
        for name, text in zip(header, cells):
            cls = "num" if name in numeric else ""
            if name == "card in CI" and row.card_in_ci is not None:
                cls = in_ci_text(row.card_in_ci)
            elif name == "deviations" and text:
                cls = "dev"
            elif name == "OPEN variants":
                cls = "variants"
            tds.append(f'<td class="{cls}">{html.escape(text)}</td>' if cls else f"<td>{html.escape(text)}</td>")
        out.append(("<tr class=\"notrun\">" if row.task is None or failure_reason(row) else "<tr>") + "".join(tds) + "</tr>")
    return "\n".join(out) + "</tbody></table>"


def report_html(title: str, sections: list[ReportSection], links: dict[str, str]) -> str:
    """report.html: the same sections as report_markdown, as one page."""
    body = [f"<h1>{html.escape(title)}</h1>"] + ([link_line(links).html()] if links else [])
    for section in sections:
        body += ([f"<h2>{html.escape(section.title)}</h2>"] if section.title else []) + [b.html() for b in section.blocks]
    return page(title, "\n".join(body))


def page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{CSS}</style></head><body>\n{body}\n</body></html>\n")


# ---------------------------------------------------------------- one run

def merge_fresh(run_dir: Path, tasks: list[TaskResult], summaries: list[TaskSummary]) -> list[TaskResult]:
    """The run's files, with the summaries just computed in this process taking precedence."""
    by_name = {t.name: t for t in tasks}
    for s in summaries:
        t = by_name.get(s.task)
        if t is None:
            by_name[s.task] = TaskResult(s.task, run_dir / s.task, s, None)
        else:
            t.summary = s
            t.notes = [n for n in t.notes if n.kind != "rebuilt"]  # the fresh summary replaces the rebuilt one
    return sorted(by_name.values(), key=lambda t: t.name)


def write_extras(run_dir: Path, tasks: list[TaskResult]) -> tuple[list[str], bool]:
    """Plots and the sample viewer. Their failure costs a warning, never the table: a run that took
    hours must still end with its numbers."""
    images: list[str] = []
    viewer_ok = False
    try:
        from evalsuite import plots

        images = [p.name for p in plots.write_run_plots(run_dir, tasks)]
    except Exception as e:  # noqa: BLE001
        print(f"warning: plots not written ({type(e).__name__}: {e})", file=sys.stderr)
    from evalsuite.explain import write_explain

    (run_dir / "plot_gap.png").unlink(missing_ok=True)  # only this report's plot may be linked
    write_explain(run_dir, tasks, plot=True)  # explain.md and its plot (the gap to the card)
    if (run_dir / "plot_gap.png").exists():
        images.append("plot_gap.png")
    try:
        from evalsuite import viewer

        viewer.write_viewer(run_dir, tasks)
        viewer_ok = True
    except Exception as e:  # noqa: BLE001
        print(f"warning: viewer.html not written ({type(e).__name__}: {e})", file=sys.stderr)
    return images, viewer_ok


def write_run_report(run_dir: Path, summaries: list[TaskSummary], extras: bool = True) -> str:
    """report.md/.csv/.html (+ plots, viewer.html) for everything run_dir holds; returns the
    terminal's table."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    tasks = merge_fresh(run_dir, scan(run_dir), summaries)
    rows = build_rows(tasks)
    images, viewer_ok = write_extras(run_dir, tasks) if extras else ([], False)
    files = {"report.md": "report.md", "report.html": "report.html", "report.csv": "report.csv"}
    if viewer_ok:
        files["per-sample viewer"] = "viewer.html"
    title = f"evalsuite report: {run_dir}"
    sections = run_report_sections(rows, tasks, images)
    for name, render in (("report.md", report_markdown), ("report.html", report_html)):
        links = {text: target for text, target in files.items() if target != name}  # each page links the others
        (run_dir / name).write_text(render(title, sections, links), encoding="utf-8")
    (run_dir / "report.csv").write_text(csv_text([csv_record(r) for r in rows]), encoding="utf-8")
    if not extras:
        from evalsuite.explain import write_explain

        write_explain(run_dir, tasks, plot=False)
    table = (format_table(tasks) if any(t.summary or t.failure for t in tasks)
             else "(no task of this run has scores yet)")
    tail = [f"report: {run_dir / 'report.md'} (also .csv, .html{', viewer.html' if viewer_ok else ''})"]
    tail += [f"missing: {n}" for n in task_notes(tasks)]
    return table + "\n" + "\n".join(tail)


# ---------------------------------------------------------------- several runs

@dataclass
class RunColumn:
    label: str
    path: Path
    tasks: list[TaskResult]


def run_labels(paths: list[Path]) -> list[str]:
    """Directory names, unless two runs share one: then as much of the path as tells them apart."""
    labels = [p.name or str(p) for p in paths]
    depth = 1
    while len(set(labels)) < len(labels) and depth < 6:
        depth += 1
        labels = ["/".join(p.resolve().parts[-depth:]) for p in paths]
    return labels if len(set(labels)) == len(labels) else [str(p) for p in paths]


def run_card_model(run: RunColumn) -> str:
    """The card column a run is placed beside: its model's, as its summaries record it."""
    return next((t.summary.card_model for t in run.tasks if t.summary is not None), CARD_MODEL)


def compare_header(runs: list[RunColumn]) -> list[str]:
    """The card's columns, each followed by the runs of that model (ours beside the card's)."""
    header = ["group", "benchmark", "task"]
    for model in card_models():
        header.append(f"{model} (card)")
        for run in runs:
            if run_card_model(run) == model:
                header += [run.label, f"{run.label} n", f"{run.label} gap"]
    return header


def compare_runs(run_dirs: list[Path], out_dir: Path) -> str:
    runs = [RunColumn(label, Path(d), scan(Path(d))) for label, d in zip(run_labels(run_dirs), run_dirs)]
    for run in runs:
        if not any(t.summary for t in run.tasks):
            raise UserError(f"{run.path}: no task with scores in this run (nothing to compare)")
    cells_by_run = [{(r.benchmark, r.task.name): r for r in build_rows(run.tasks) if r.task} for run in runs]
    keys: dict[tuple[str, str, str], None] = {}  # (group, benchmark, task): every card row, then the rest
    for group, bench in card_benchmarks():
        tasks = sorted({task for cells in cells_by_run for (b, task) in cells if b == bench}) or [""]
        keys.update(dict.fromkeys((group, bench, task) for task in tasks))
    for cells in cells_by_run:
        for (bench, task), row in cells.items():
            if row.group == NOT_ON_CARD:
                keys.setdefault((NOT_ON_CARD, bench, task), None)

    header = compare_header(runs)
    md_rows, csv_rows, proto_rows, variant_rows = [], [], [], []
    for group, bench, task in keys:
        card = card_cells(bench)
        line = [group, bench, task]
        proto = [bench, task]
        for model in card_models():
            line.append(card[model].text if model in card else "")
            for run, cells in zip(runs, cells_by_run):
                if run_card_model(run) != model:
                    continue
                row = cells.get((bench, task))
                if row is None:
                    line += ["not run", "", ""]
                    continue
                line += [ours_text(row), size_text(row.summary),
                         gap_text(row.gap) + (" (in CI)" if row.card_in_ci else "")]
        for run, cells in zip(runs, cells_by_run):
            row = cells.get((bench, task))
            if row is None:
                proto.append("")
                continue
            if row.variants():
                variant_rows.append([bench, task, run.label, variants_text(row)])
            proto.append(" ".join(x for x in (protocol_text(row.summary), deviations_text(row.summary)) if x))
            csv_rows.append({"run": run.label, "run_dir": str(run.path), **csv_record(row)})
        md_rows.append(line)
        if task:
            proto_rows.append(proto)
    runs_table = Table(["run", "path", "model", "backend", "tasks with scores"],
                                [[r.label, str(r.path), *[f.split(": ", 1)[1] for f in run_facts(r.tasks)[:2]],
                                  str(sum(1 for t in r.tasks if t.summary))] for r in runs])
    main_table = Table(header, md_rows)
    proto_table = Table(["benchmark", "task", *[r.label for r in runs]], proto_rows)

    out_dir.mkdir(parents=True, exist_ok=True)
    images: list[str] = []
    try:
        from evalsuite import plots

        images = [p.name for p in plots.write_compare_plots(out_dir, [(r.label, r.tasks) for r in runs])]
    except Exception as e:  # noqa: BLE001 - a plot must not cost the table
        print(f"warning: plots not written ({type(e).__name__}: {e})", file=sys.stderr)
    title = "evalsuite compare: " + " vs ".join(r.label for r in runs)
    missing = [f"{r.label}: {n}" for r in runs for n in task_notes(r.tasks)]
    variants_table = Table(["benchmark", "task", "run", "OPEN variants"], variant_rows)
    sections = [ReportSection("", [runs_table, main_table, Paragraph([COMPARE_LEGEND], note=True)]),
                ReportSection("Protocol by run", [proto_table])]
    if variant_rows:
        sections.append(ReportSection("OPEN variants by run", [variants_table]))
    if missing:
        sections.append(ReportSection("What is missing", [Bullets(missing)]))
    if images:
        sections.append(ReportSection("Plots", [Images(images)]))
    (out_dir / "report.md").write_text(report_markdown(title, sections, {}), encoding="utf-8")
    (out_dir / "report.csv").write_text(csv_text(csv_rows), encoding="utf-8")
    (out_dir / "report.html").write_text(report_html(title, sections, {}), encoding="utf-8")
    return main_table.markdown() + f"\ncompare: {out_dir / 'report.md'} (also .csv, .html)"


def default_compare_dir(dirs: list[Path]) -> Path:
    """Beside the first run: results/compare-<a>-vs-<b>."""
    names = "-vs-".join(p.resolve().name for p in dirs)[:120]
    return dirs[0].resolve().parent / f"compare-{names}"
