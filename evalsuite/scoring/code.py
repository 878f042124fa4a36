"""Code extraction from a model's answer: fenced Markdown blocks.

Which block counts is a protocol choice (docs/protocol.md: LiveCodeBench's reference takes the last
fenced block, NVIDIA's scripts the first ```python block), so the caller picks `which`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

# An opening fence: 3+ backticks, an optional info string ("python", "py3", "python title=x").
_FENCE = re.compile(r"^[ \t]{0,3}(`{3,})[ \t]*([^`\n]*?)[ \t]*$")
LANGUAGE_ALIASES = {"python": {"python", "py", "python3", "py3"}, "cpp": {"cpp", "c++", "cc", "cxx"}}


@dataclass
class CodeBlock:
    language: str  # the info string's first word, lower-cased; "" when the fence had none
    code: str


def code_blocks(text: str) -> list[CodeBlock]:
    """Every closed fenced block, in order. An unclosed trailing fence (a cut-off answer) is not a block."""
    blocks: list[CodeBlock] = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        ticks = len(m.group(1))
        language = m.group(2).split()[0].lower() if m.group(2).strip() else ""
        closing = re.compile(r"^[ \t]{0,3}`{%d,}[ \t]*$" % ticks)
        for j in range(i + 1, len(lines)):
            if closing.match(lines[j]):
                blocks.append(CodeBlock(language, "\n".join(lines[i + 1:j])))
                i = j + 1
                break
        else:
            break  # unclosed: nothing after it can be a block either
    return blocks


def extract_code_block(text: str | None, which: Literal["last", "first"] = "last",
                       language: str | None = "python") -> str | None:
    """The first or last fenced block in `language` (its usual aliases too); when no block is
    labelled so, the first/last block without a label; None when there is no such code.
    `language=None` takes any block, labelled or not (the reference runner's rule)."""
    if not text:
        return None
    if which not in ("last", "first"):
        raise ValueError(f"which must be 'last' or 'first', not {which!r}")
    blocks = [b for b in code_blocks(text) if b.code.strip()]
    if language is not None:
        names = LANGUAGE_ALIASES.get(language.lower(), {language.lower()})
        labelled = [b for b in blocks if b.language in names]
        blocks = labelled or [b for b in blocks if b.language == ""]
    if not blocks:
        return None
    return (blocks[-1] if which == "last" else blocks[0]).code
