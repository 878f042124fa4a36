"""The small tables report.md, report.html and explain.md share, and the argument parsing of the
subcommands that write them (report, compare, explain)."""
from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

from evalsuite.errors import UserError


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    def cell(text: str) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def html_table(header: list[str], rows: list[list[str]]) -> str:
    out = ["<table><thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr></thead><tbody>"]
    out += ["<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows]
    return "\n".join(out) + "</tbody></table>"


@dataclass
class Table:
    """A small table both report.md and report.html show."""

    header: list[str]
    rows: list[list[str]]

    def markdown(self) -> str:
        return markdown_table(self.header, self.rows)

    def html(self) -> str:
        return html_table(self.header, self.rows)


def one_run_dir(command: str, options: dict[str, str], positional: list[str], usage: str) -> Path:
    """The one run directory a subcommand reads (`run_dir=DIR` or a bare DIR), checked to hold tasks."""
    from evalsuite.rundir import is_task_dir

    dirs = ([options["run_dir"]] if "run_dir" in options else []) + positional
    if len(dirs) != 1:
        raise UserError(f"evalsuite {command} takes one run directory; {usage}")
    run_dir = Path(dirs[0])
    if not run_dir.is_dir():
        raise UserError(f"run directory {run_dir} not found (give the run_dir=... of an earlier run)")
    if not any(is_task_dir(p) for p in run_dir.iterdir()):
        raise UserError(f"{run_dir}: no task directories here (is it the run_dir=... of a run?)")
    return run_dir


def wants_plots(options: dict[str, str]) -> bool:
    return options.get("plots", "true").lower() not in ("false", "0", "no")


def parse_args(argv: list[str], usage: str) -> tuple[dict[str, str], list[str]]:
    """A subcommand's `key=value` options and its positional arguments; -h prints its usage."""
    options, positional = {}, []
    for a in argv:
        if a in ("-h", "--help"):
            raise UserError(usage)
        if "=" in a:
            key, _, value = a.partition("=")
            options[key.lstrip("+")] = value
        else:
            positional.append(a)
    return options, positional
