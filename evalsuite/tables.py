"""The blocks a report is made of (tables, paragraphs, lists, images), each rendered as markdown and
as HTML, so report.md and report.html (and explain.md's tables) show the same content."""
from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path


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


@dataclass
class Link:
    text: str
    target: str  # a path relative to the report


@dataclass
class Paragraph:
    """Text with links inside; a `note` (a legend, a caveat) is set apart in HTML."""

    parts: list[str | Link]
    note: bool = False

    def markdown(self) -> str:
        return "".join(p if isinstance(p, str) else f"[{p.text}]({p.target})" for p in self.parts)

    def html(self) -> str:
        inner = "".join(html.escape(p) if isinstance(p, str)
                        else f'<a href="{html.escape(p.target)}">{html.escape(p.text)}</a>' for p in self.parts)
        return f'<p class="legend">{inner}</p>' if self.note else f"<p>{inner}</p>"


def link_line(links: dict[str, str], sep: str = " · ") -> Paragraph:
    """{text: target} as one line of links."""
    parts: list[str | Link] = []
    for text, target in links.items():
        parts += [sep] if parts else []
        parts.append(Link(text, target))
    return Paragraph(parts)


@dataclass
class Bullets:
    items: list[str]

    def markdown(self) -> str:
        return "\n".join(f"- {item}" for item in self.items)

    def html(self) -> str:
        return "<ul>" + "".join(f"<li>{html.escape(item)}</li>" for item in self.items) + "</ul>"


@dataclass
class Subheading:
    """A heading inside a section (one task's part of it)."""

    text: str

    def markdown(self) -> str:
        return f"### {self.text}"

    def html(self) -> str:
        return f"<h3>{html.escape(self.text)}</h3>"


@dataclass
class Images:
    paths: list[str]  # relative to the report

    def markdown(self) -> str:
        return "\n".join(f"![{Path(p).stem}]({p})" for p in self.paths)

    def html(self) -> str:
        return "\n".join(f'<figure><img src="{html.escape(p)}" alt="{html.escape(Path(p).stem)}"></figure>'
                         for p in self.paths)
