"""The small tables report.md, report.html and explain.md share."""
from __future__ import annotations

import html
from dataclasses import dataclass


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
