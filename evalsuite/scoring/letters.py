"""Multiple-choice letter extraction, shared by the tasks that grade a chosen option (GPQA ...).

Read in order of how explicitly the model committed: the last \\boxed{X} (the one linear-time
extractor every task uses, evalsuite/scoring/math.py), else the last "The final
answer is X" (or "The correct answer is X", LongBench v2's format), else the last "Answer: X" (markdown bold, brackets and case tolerated). The text given
is only the answer after </think>: a letter inside the thinking is never consulted.

An answer that names two or more letters ("Answer: A or B", "\\boxed{A, C}") is not a choice: the
reading is `ambiguous` and the letter None, so it is graded wrong. Nothing here raises.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from evalsuite.scoring.math import extract_last_boxed


@dataclass(frozen=True)
class ChoiceReading:
    letter: str | None  # the chosen letter; None when there is none or it is ambiguous
    source: str  # "boxed" | "final_answer" | "answer_line" | "none"
    ambiguous: bool = False  # the answer named several letters


_WRAPPERS = re.compile(r"\\(?:text|textbf|mathrm|mathbf|textit|mbox|operatorname)\s*\{([^{}]*)\}")


def letters_named(fragment: str, letters: str) -> list[str]:
    """The option letters a short answer fragment names, in order: "(B)" -> [B]; "A or C" -> [A, C].
    Letters count only as standalone tokens, so words ("A detailed ...") are not read as choices
    unless the fragment is nothing but that letter."""
    text = _WRAPPERS.sub(r"\1", fragment)
    for _ in range(2):  # nested wrappers: \text{\textbf{B}}
        text = _WRAPPERS.sub(r"\1", text)
    text = re.sub(r"[*_$`\\{}]", " ", text).strip()
    if not text:
        return []
    letter_set = re.escape(letters)
    whole = re.fullmatch(rf"[\s(\[]*([{letter_set}{letter_set.lower()}])[\s)\].:]*", text)
    if whole:
        return [whole.group(1).upper()]
    # Leading choice, then any further letters joined by , / & "or" "and": "A or B", "(A), (C)".
    head = re.match(rf"[\s(\[]*([{letter_set}])(?![A-Za-z0-9])[)\]]?", text)
    if not head:
        return []
    found = [head.group(1)]
    rest = text[head.end():]
    joined = re.compile(rf"\s*(?:,|/|&|\bor\b|\band\b|\+)\s*[(\[]?([{letter_set}])(?![A-Za-z0-9])[)\]]?")
    while True:
        m = joined.match(rest)
        if not m:
            break
        found.append(m.group(1))
        rest = rest[m.end():]
    return found


def _reading(fragment: str, letters: str, source: str) -> ChoiceReading | None:
    named = letters_named(fragment, letters)
    if not named:
        return None
    if len(set(named)) > 1:
        return ChoiceReading(None, source, ambiguous=True)
    return ChoiceReading(named[0], source)


def read_choice_letter(text: str, letters: str = "ABCD") -> ChoiceReading:
    """The letter the answer commits to, and where it was read (see the module doc)."""
    if not isinstance(text, str) or not text.strip():
        return ChoiceReading(None, "none")
    boxed = extract_last_boxed(text)
    if boxed is not None:
        reading = _reading(boxed, letters, "boxed")
        if reading:
            return reading
    final = list(re.finditer(r"(?:final|correct) answer is\s*:?\s*([^\n]{0,40})", text, re.I))
    if final:
        reading = _reading(final[-1].group(1), letters, "final_answer")
        if reading:
            return reading
    lines = list(re.finditer(r"(?<![A-Za-z])answer[\s*_]*[:：][\s*_]*([^\n]{0,60})", text, re.I))
    for m in reversed(lines):
        reading = _reading(m.group(1), letters, "answer_line")
        if reading:
            return reading
    return ChoiceReading(None, "none")


def extract_choice_letter(text: str, letters: str = "ABCD") -> str | None:
    """The chosen letter, or None when no single letter is given (absent or ambiguous)."""
    try:
        return read_choice_letter(text, letters).letter
    except Exception:  # defensive: a scorer must never fail on model output
        return None
