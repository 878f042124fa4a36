"""Boxed-answer extraction and answer equivalence for math benchmarks. `extract_last_boxed` is the
one last-box extractor of every task (GPQA's boxed letters too).

Before any comparison a unit after a value is dropped (`strip_unit`) and an answer of several values
(a list, a set, "a or b") is split into its values (`answer_parts`). Equivalence goes through math-verify (LaTeX -> sympy, sets, intervals, units) with its own signal
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
        spaces = re.match(r" *", text[i:i + 200]).end()  # bounded: a run of spaces is never rescanned
        if text.startswith("{", i + spaces):  # \boxed{5}, \boxed {5}
            if i + spaces in closing:
                return text[i + spaces + 1:closing[i + spaces]].strip()
        elif spaces:  # \boxed 5 (a TeX form some models emit)
            word = re.match(r" +([^\s$]+)", text[i:i + 200])
            if word:
                return word.group(1).rstrip(".")
    return None


# A unit after the value: `\text{ units}^2`, `\,\text{cm}^{3}`, `\text{°}`, `\mathrm{cm}`.
_TRAILING_UNIT = re.compile(r"\\(text|textrm|mbox|mathrm)\s*\{([^{}]*)\}(?:\s*\^\s*(?:\{[^{}]*\}|\\circ|\w))?\s*$")


def _rstrip_spacing(s: str) -> str:
    """Without the trailing spaces and TeX spacing (`\\,` `\\;` `\\ ` `~`) before a unit."""
    while True:
        s = s.rstrip()
        if s.endswith(("\\,", "\\;", "\\:", "\\!")):
            s = s[:-2]
        elif s.endswith(("~", "\\")):  # `\\ ` lost its space to rstrip
            s = s[:-1]
        else:
            return s


def _is_unit(command: str, content: str) -> bool:
    """Words only (letters, spaces, `.`, `/`, `-`) or a degree sign. `\\mathrm` needs two letters:
    `\\mathrm{e}`, `\\mathrm{i}`, `\\mathrm{d}` are the constants e and i and a differential."""
    word = content.strip()
    if word == "°":
        return True
    if not (word[:1].isalpha() or word[:1] == "/") or not all(c.isalpha() or c in " ./-°" for c in word):
        return False
    return command != "mathrm" or sum(c.isalpha() for c in word) >= 2


def strip_unit(ans: str) -> str:
    """`468 \\text{ units}^2` -> `468`. The golds of these benchmarks are bare numbers, so a unit
    (even a wrong one: units^3 for an area) never changes the verdict; the value before it is what
    is compared. An answer that is nothing but text keeps its text."""
    s = ans
    for _ in range(3):  # a unit written in pieces: `5 \text{ m}\text{/s}`
        m = _TRAILING_UNIT.search(s)
        if not m or not _is_unit(m.group(1), m.group(2)):
            break
        rest = _rstrip_spacing(s[:m.start()])
        if not rest.strip():
            break
        s = rest
    return s


def strip_answer_decorations(ans: str) -> str:
    """What never changes an answer's value: $, units, \\text{} wrappers, %, degrees, trailing period."""
    s = ans.strip().strip("$").strip()
    s = strip_unit(s.rstrip(".").rstrip())
    s = re.sub(r"\\(?:text|textbf|mathrm|mbox)\{([^{}]*)\}", r"\1", s)
    s = re.sub(r"\^\s*\{?\\circ\}?", "", s)
    s = s.replace("°", "").replace("\\degree", "")
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


# Between the values of a multi-value answer: `a \text{ or } b`, `a \quad\text{and}\quad b`, `a; b`.
_OR_AND = re.compile(r"(?:\\q?quad|\\[,;: ]|\s)*\\(?:text|textrm|mbox|mathrm)\s*\{\s*(?:or|and)\s*\}(?:\\q?quad|\\[,;: ]|\s)*"
                     r"|\s+(?:or|and)\s+|\s*(?<!\\);\s*")
_SET_OPEN = re.compile(r"^(?:[A-Za-z]\s*(?:=|\\in)\s*)?(?:\\left\s*)?\\\{")
_SET_CLOSE = re.compile(r"(?:\\right\s*)?\\\}$")


def _unwrap_set(s: str) -> str:
    """`\\{a, b\\}`, `\\left\\{a, b\\right\\}`, `x \\in \\{a, b\\}` -> `a, b`, when the braces enclose the
    whole answer (`\\{1\\} \\cup \\{2\\}` is left alone)."""
    opened, closed = _SET_OPEN.match(s), _SET_CLOSE.search(s)
    if not opened or not closed or closed.start() < opened.end():
        return s
    inner = s[opened.end():closed.start()]
    depth = 0
    for m in re.finditer(r"\\[{}]", inner):
        depth += 1 if m.group() == "\\{" else -1
        if depth < 0:
            return s
    return inner if depth == 0 else s


def answer_parts(ans: str) -> list[str]:
    """The values of an answer: a set, a list, or values joined by "or"/"and" are several values
    (`\\{1, 2\\}`, `x = 1 \\text{ or } x = 2`, `1, 2` -> 2 parts); anything else is one."""
    s = _unwrap_set(ans.strip().strip("$").strip())
    s = _OR_AND.sub(", ", s)
    return [p for p in (strip_answer_decorations(part) for part in split_top_level(s)) if p]


def _verify_one(gold: str, pred: str) -> bool:
    from math_verify import parse, verify

    g = parse(f"${gold}$", parsing_timeout=None)
    p = parse(f"\\boxed{{{pred}}}", parsing_timeout=None)
    if not g or not p:
        return False
    return bool(verify(g, p, timeout_seconds=None))


def math_equal(gold: str, pred: str) -> bool:
    """Is `pred` the same answer as `gold`? Integers compare as integers; an answer of several
    values (a list, a set, "a or b") compares as a set with the gold's values (order free, each by
    symbolic equivalence); the rest by math-verify. A unit after a value is never compared."""
    if pred is None or gold is None:
        return False
    gold, pred = str(gold), str(pred)
    if len(pred) > _MAX_ANSWER_CHARS:
        return False
    whole_gold, whole_pred = strip_answer_decorations(gold), strip_answer_decorations(pred)
    if not whole_pred:
        return False
    if whole_gold == whole_pred:
        return True
    gi, pi = parse_integer(whole_gold), parse_integer(whole_pred)
    if gi is not None and pi is not None:
        return gi == pi
    gold_parts, pred_parts = answer_parts(gold), answer_parts(pred)
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
    if not gold_parts or not pred_parts:
        return False
    gold, pred = gold_parts[0], pred_parts[0]
    try:
        return _verify_one(gold, pred)
    except Exception:  # math-verify/sympy may raise on pathological input: that is a wrong answer
        return False


# A word of three or more letters that is not a LaTeX command (\frac) nor a math function name: prose.
_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{3,}")
_MATH_WORDS = {"and", "sin", "cos", "tan", "cot", "sec", "csc", "log", "exp", "max", "min", "gcd", "lcm", "mod",
               "deg", "lim", "inf", "sup", "det", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "infty"}
# `f(x) = ...`, `P(x, y)=`: an answer that is a function, which equivalence of values cannot settle.
_FUNCTION_ANSWER = re.compile(r"[A-Za-z]\s*\(\s*[A-Za-z](?:\s*,\s*[A-Za-z])*\s*\)\s*=")


def _prose_words(text: str) -> list[str]:
    text = re.sub(r"\\(?:text|textrm|mathrm|mbox|textbf|operatorname)\s*\{([^{}]*)\}", r" \1 ", text)
    text = re.sub(r"\\[A-Za-z]+", " ", text)
    return [w for w in _WORD.findall(text) if w.lower() not in _MATH_WORDS]


def undecidable_reason(gold: str, pred: str) -> str | None:
    """Why our checker cannot settle an answer it did not find equal to the reference, or None
    when its "not equal" stands. An answer that is prose, or a function (`f(x)=2x+c`), or that
    math-verify cannot read, may still be right in words the checker cannot compare: such an
    answer needs a judge. Call it only after `math_equal` said no (an equal answer is decided)."""
    for side, text in (("reference", gold), ("answer", pred)):
        text = strip_answer_decorations(str(text or ""))
        if not text:
            continue
        words = _prose_words(text)
        if words:
            return f"the {side} is prose ({' '.join(words[:4])})"
        if _FUNCTION_ANSWER.search(text):
            return f"the {side} is a function"
    try:
        from math_verify import parse

        for side, text in (("reference", f"${gold}$"), ("answer", f"\\boxed{{{pred}}}")):
            if not parse(text, parsing_timeout=None):
                return f"math-verify cannot read the {side}"
    except Exception:  # sympy may raise on pathological input: the checker could not decide
        return "math-verify failed on it"
    return None
