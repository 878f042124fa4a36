"""Boxed-answer extraction and answer equivalence for math benchmarks.

Equivalence goes through math-verify (LaTeX -> sympy, sets, intervals, units) with its own signal
timeouts off: the hard time limit is the killable worker process the pipeline runs every scorer in
(evalsuite/workers.py), which a hanging C call inside sympy cannot defeat.
"""
from __future__ import annotations

import re

_MAX_ANSWER_CHARS = 2000  # a "boxed answer" longer than this is junk, and sympy would choke on it


_BRACE_RE = re.compile(r"(?<!\\)[{}]")
_BOX_RE = re.compile(r"\\(?:boxed|fbox)")


def extract_last_boxed(text: str) -> str | None:
    """Content of the last \\boxed{...} or \\fbox{...} (nested braces matched; `\\boxed 5` too).
    An unclosed last box falls back to the previous complete one. Linear time: braces are matched
    in one pass, so 1 MB of `\\boxed{` costs milliseconds, not a quadratic rescan."""
    if not text:
        return None
    first = min((i for i in (text.find("\\boxed"), text.find("\\fbox")) if i >= 0), default=-1)
    if first < 0:
        return None
    closing: dict[int, int] = {}
    stack: list[int] = []
    for m in _BRACE_RE.finditer(text, first):
        if m.group() == "{":
            stack.append(m.start())
        elif stack:
            closing[stack.pop()] = m.start()
    for m in reversed(list(_BOX_RE.finditer(text, first))):
        i = m.end()
        if text.startswith("{", i):
            if i in closing:
                return text[i + 1:closing[i]].strip()
        elif text.startswith(" ", i):  # \boxed 5 (a TeX form some models emit)
            word = re.match(r" +([^\s$]+)", text[i:i + 200])
            if word:
                return word.group(1).rstrip(".")
    return None


def strip_answer_decorations(ans: str) -> str:
    """What never changes an answer's value: $, \\text{} wrappers, %, degrees, trailing period."""
    s = ans.strip().strip("$").strip()
    s = re.sub(r"\\(?:text|textbf|mathrm|mbox)\{([^{}]*)\}", r"\1", s)
    s = re.sub(r"\^\s*\{?\\circ\}?", "", s)
    s = s.replace("\\%", "").replace("%", "").replace("\\$", "")
    s = s.replace("\\!", "").replace("\\,", "").replace("\\;", "").replace("\\ ", " ")
    s = re.sub(r"\\(?:left|right)(?=[()\[\]|.])", "", s)
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    return s.strip().rstrip(".").strip()


_INT_RE = re.compile(r"[+-]?\d+")


def parse_integer(ans: str) -> int | None:
    """'016' -> 16, '1{,}000' / '1,000' -> 1000, '16.0' -> 16; None when it is not an integer."""
    s = strip_answer_decorations(ans).replace("{,}", "").replace(" ", "")
    if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+", s):
        s = s.replace(",", "")
    if re.fullmatch(r"[+-]?\d+\.0*", s):
        s = s.split(".")[0]
    if _INT_RE.fullmatch(s) and len(s) < 400:
        return int(s)
    return None


def split_top_level(s: str, sep: str = ",") -> list[str]:
    """Split on separators outside any bracket: '\\frac{1,2}{3}, 4' -> 2 parts; '(1, 2)' -> 1 part."""
    parts, depth, cur = [], 0, []
    for c in s:
        if c in "{[(":
            depth += 1
        elif c in "}])":
            depth -= 1
        if c == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def _verify_one(gold: str, pred: str) -> bool:
    from math_verify import parse, verify

    g = parse(f"${gold}$", parsing_timeout=None)
    p = parse(f"\\boxed{{{pred}}}", parsing_timeout=None)
    if not g or not p:
        return False
    return bool(verify(g, p, timeout_seconds=None))


def math_equal(gold: str, pred: str) -> bool:
    """Is `pred` the same answer as `gold`? Integers compare as integers; comma-separated answers
    compare as sets (order free, each element by symbolic equivalence); the rest by math-verify."""
    if pred is None or gold is None:
        return False
    gold, pred = strip_answer_decorations(str(gold)), strip_answer_decorations(str(pred))
    if not pred or len(pred) > _MAX_ANSWER_CHARS:
        return False
    if gold == pred:
        return True
    gi, pi = parse_integer(gold), parse_integer(pred)
    if gi is not None and pi is not None:
        return gi == pi
    gold_parts, pred_parts = split_top_level(gold), split_top_level(pred)
    if len(gold_parts) > 1 or len(pred_parts) > 1:
        if len(gold_parts) != len(pred_parts):
            return False
        remaining = list(pred_parts)
        for g in gold_parts:  # greedy matching is exact here: equivalence is transitive
            hit = next((p for p in remaining if math_equal(g, p)), None)
            if hit is None:
                return False
            remaining.remove(hit)
        return True
    try:
        return _verify_one(gold, pred)
    except Exception:  # math-verify/sympy may raise on pathological input: that is a wrong answer
        return False
