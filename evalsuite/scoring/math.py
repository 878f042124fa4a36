"""Boxed-answer extraction and answer equivalence for math benchmarks. `extract_last_boxed` is the
one last-box extractor of every task (GPQA's boxed letters too).

Before any comparison, one rule per answer form (docs/math_answers.md lists them all):
`standard_notation` rewrites unicode (`√6`) and repeating decimals (`0.\\overline{4}`) to LaTeX
math-verify reads; `_percent` reads a percent sign; `strip_unit` drops a unit or label after the
value (never words that change it: `_is_unit`); `answer_parts` splits an answer of several values
(a list, a set, "a or b", `\\pm`) and reads an inequality as its interval. Equivalence goes through
math-verify (LaTeX -> sympy, sets, intervals) with its own signal timeouts off: the hard time
limit and the memory cap are the killable worker process the pipeline runs every scorer and every
maj@k comparison in (evalsuite/workers.py), which a hanging C call inside sympy cannot defeat.
"""
from __future__ import annotations

import re

_MAX_ANSWER_CHARS = 2000  # a "boxed answer" longer than this is junk, and sympy would choke on it


_BRACE_RE = re.compile(r"(?<!\\)[{}]")
_BOX_RE = re.compile(r"\\(?:boxed|fbox)")


# What may stand between two boxes that together give one answer: spaces, `$`, `\(` `\)`, TeX
# spacing, a comma or semicolon, and "and"/"or" (bare or in `\text{}`); never a line break.
_BOX_JOIN = re.compile(r"(?:[ \t$,;&~]|\\[()\[\],;: !]|\\q?quad(?![A-Za-z])"
                       r"|\\(?:text|textrm|mbox|mathrm)\s*\{\s*(?:and|or)?\s*\}|(?<![A-Za-z])(?:and|or)(?![A-Za-z]))*")


def extract_last_boxed(text: str) -> str | None:
    """The final answer's box: the content of the last \\boxed{...} or \\fbox{...} (nested braces
    matched; `\\boxed 5` too), or None.

    - A last box that never closes is an answer cut off: None, never an earlier (abandoned) box.
    - Boxes written one after the other on the answer's line, joined only by spacing, `$`, a comma
      or "and"/"or" (`\\boxed{2} and \\boxed{5}`, `$\\boxed{2}$, $\\boxed{5}$`), are one answer of
      several values: "2, 5". Boxes on earlier lines, or with other words between, are abandoned
      attempts: only the last counts. The same box written twice is one value. (math-verify
      joins adjacent boxes the same way.)

    Linear time: braces are matched in one pass, so 1 MB of `\\boxed{` costs milliseconds, not a
    quadratic rescan."""
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
    boxes = list(_BOX_RE.finditer(text, first))
    for n in range(len(boxes) - 1, -1, -1):
        i = boxes[n].end()
        spaces = re.match(r" *", text[i:i + 200]).end()  # bounded: a run of spaces is never rescanned
        if text.startswith("{", i + spaces):  # \boxed{5}, \boxed {5}
            if i + spaces not in closing:
                return None  # the last box was cut off
            values = [text[i + spaces + 1:closing[i + spaces]].strip()]
            start = boxes[n].start()
            for earlier in reversed(boxes[:n]):  # boxes chained before it on the same line
                j = earlier.end()
                end = closing.get(j)
                if not text.startswith("{", j) or end is None or end >= start \
                        or not _BOX_JOIN.fullmatch(text, end + 1, start):
                    break
                values.append(text[j + 1:end].strip())
                start = earlier.start()
            return ", ".join(dict.fromkeys(reversed(values)))  # a box written twice is one value
        if spaces:  # \boxed 5 (a TeX form some models emit)
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


# Words that bound, negate, join, approximate, distribute or scale a quantity: text holding one of
# them is part of the answer, not a unit or a label ("12 or more" is not 12, "5 thousand" is not 5);
# so is "squared"/"cubed" right after the value.
# Such an answer keeps its words and compares unequal to a bare number (or is undecidable).
_QUALIFIER_WORDS = frozenset("""
    or and not no nor but except either neither
    more less fewer least most than at over under above below exceeding exactly only
    greater smaller larger higher lower minimum maximum up to from between within
    about approximately approx around roughly nearly almost circa
    each every apiece
    all any some none
    if unless when where for with without
    hundred thousand million billion trillion dozen half quarter double triple twice
    negative positive minus plus percent percentage pct
""".split())


def _is_unit(command: str, content: str) -> bool:
    """A unit or a label: words only (letters, spaces, `.`, `/`, `-`) or a degree sign, and none of
    them a qualifier (`_QUALIFIER_WORDS`): `\\text{ cm}`, `\\text{ square units}`, `\\text{ dollars}`
    are units, `\\text{ or more}`, `\\text{ each}` are not. `\\mathrm` needs two letters:
    `\\mathrm{e}`, `\\mathrm{i}`, `\\mathrm{d}` are the constants e and i and a differential."""
    word = content.strip()
    if word == "°":
        return True
    if not (word[:1].isalpha() or word[:1] == "/") or not all(c.isalpha() or c in " ./-°" for c in word):
        return False
    words = re.findall(r"[a-z]+", word.lower())
    if any(w in _QUALIFIER_WORDS for w in words) or words[:1] in (["squared"], ["cubed"]):
        return False  # `12 \\text{ squared}` is 144; `12 \\text{ units squared}` is a unit
    return command != "mathrm" or sum(c.isalpha() for c in word) >= 2


def strip_unit(ans: str) -> str:
    """`468 \\text{ units}^2` -> `468`. The golds of these benchmarks are bare numbers, so a unit
    (even a wrong one: units^3 for an area) never changes the verdict; the value before it is what
    is compared. An answer that is nothing but text keeps its text, and so does text that is not a
    unit (`12 \\text{ or more}`: `_is_unit`)."""
    s = ans
    for _ in range(3):  # a unit written in pieces: `5 \\text{ m}\\text{/s}`
        m = _TRAILING_UNIT.search(s)
        if not m or not _is_unit(m.group(1), m.group(2)):
            break
        rest = _rstrip_spacing(s[:m.start()])
        if not rest.strip():
            break
        s = rest
    return s


# Unicode a model writes for a LaTeX command; each becomes that command (a radical: `_radicals`).
_UNICODE_COMMANDS = {"π": "\\pi", "∞": "\\infty", "±": "\\pm", "∓": "\\mp", "×": "\\times", "·": "\\cdot",
                     "⋅": "\\cdot", "÷": "\\div", "≤": "\\le", "≥": "\\ge", "⩽": "\\le", "⩾": "\\ge",
                     "≠": "\\ne", "−": "-", "–": "-"}
_RADICALS = {"√": "\\sqrt", "∛": "\\sqrt[3]", "∜": "\\sqrt[4]"}
_RADICAND = re.compile(r"\s*(?:(\d+(?:\.\d+)?|[A-Za-z]|\\[A-Za-z]+)|([({]))")


def _closing_brackets(s: str) -> dict[int, int]:
    """Position of each `(` / `{` -> the position of its matching close, in one pass."""
    closing: dict[int, int] = {}
    stacks: dict[str, list[int]] = {"(": [], "{": []}
    for i, c in enumerate(s):
        if c in stacks:
            stacks[c].append(i)
        elif c in ")}":
            stack = stacks["(" if c == ")" else "{"]
            if stack:
                closing[stack.pop()] = i
    return closing


def _radicals(s: str) -> str:
    """`√6` -> `\\sqrt{6}`, `2√3` -> `2\\sqrt{3}`, `∛2` -> `\\sqrt[3]{2}`, `√(x+1)` / `√{x+1}` ->
    `\\sqrt{x+1}`: a radical takes the operand after it (a number, a letter or command, or a
    bracketed group), as TeX's `\\sqrt` takes its next token."""
    closing = _closing_brackets(s)
    brace_at: set[int] = set()  # the closes of bracketed radicands, written as `}`
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if i in brace_at:
            out.append("}")
            i += 1
        elif c not in _RADICALS:
            out.append(c)
            i += 1
        elif (m := _RADICAND.match(s, i + 1)) and m.group(1):
            out.append(f"{_RADICALS[c]}{{{m.group(1)}}}")
            i = m.end()
        elif m and m.start(2) in closing:  # a bracketed group, up to its matching close
            out.append(_RADICALS[c] + "{")
            brace_at.add(closing[m.start(2)])
            i = m.start(2) + 1
        else:  # no operand we can read: TeX's reading (the next token)
            out.append(_RADICALS[c] + " ")
            i += 1
    return "".join(out)


# A repeating decimal: `0.\overline{4}`, `0.1\overline{6}`, `0.\bar{3}`, `0.\dot{4}`, `0.\dot{1}4\dot{2}`.
_OVERLINE = re.compile(r"(\d*)\.(\d*)\\(?:overline|bar)\s*(?:\{(\d+)\}|(\d))")
_DOTTED = re.compile(r"(\d*)\.(\d*)((?:\\dot\s*(?:\{\d\}|\d))(?:\d*\\dot\s*(?:\{\d\}|\d))?)")
# A decimal whose digits trail off: `0.4444\ldots`, `0.1666...`, `0.3…`.
_TRAILING_OFF = re.compile(r"(\d*)\.(\d+)\s*(?:\\[lc]?dots(?![A-Za-z])|\.\.\.|…)")


_MAX_REPEAT_DIGITS = 60  # a repeating decimal longer than this is junk: left as written (no quadratic work)


def _repeating_fraction(whole: str, fixed: str, period: str) -> str | None:
    """whole.fixed(period)(period)... as `\\frac{p}{q}` in lowest terms (an integer when q is 1);
    None when it is longer than `_MAX_REPEAT_DIGITS`."""
    import math

    if len(whole) + len(fixed) + len(period) > _MAX_REPEAT_DIGITS:
        return None
    num = int(whole + fixed + period or "0") - int(whole + fixed or "0")
    den = (10 ** len(period) - 1) * 10 ** len(fixed)
    g = math.gcd(num, den)
    num, den = num // g, den // g
    return str(num) if den == 1 else f"\\frac{{{num}}}{{{den}}}"


def _overline(m: re.Match) -> str:
    return _repeating_fraction(m.group(1), m.group(2), m.group(3) or m.group(4)) or m.group(0)


def _shown_period(digits: str) -> tuple[int, int] | None:
    """(digits before the repeat, period) of digits that show their repeating block at least twice
    at their end (`4444` -> (0, 1), `1666` -> (1, 1), `142857142857` -> (0, 6)); the shortest
    prefix, then the shortest period. None when no block shows twice (`0.12...` is not readable)."""
    for start in range(len(digits)):
        tail = digits[start:]
        for period in range(1, len(tail) // 2 + 1):
            if all(tail[k] == tail[k - period] for k in range(period, len(tail))):
                return start, period
    return None


def _trailing_off(m: re.Match) -> str:
    whole, digits = m.group(1), m.group(2)
    shown = _shown_period(digits) if len(whole) + len(digits) <= _MAX_REPEAT_DIGITS else None
    if shown is None:
        return m.group(0)  # not a readable repeat: an approximation, which `math_equal` refuses
    start, period = shown
    return _repeating_fraction(whole, digits[:start], digits[start:start + period]) or m.group(0)


def _dotted(m: re.Match) -> str:
    """`\\dot` over the first and last digit of the repeating block (over one digit: that digit)."""
    marks = re.findall(r"\\dot\s*\{?(\d)\}?|(\d)", m.group(3))
    block = "".join(d or plain for d, plain in marks)
    return _repeating_fraction(m.group(1), m.group(2), block) or m.group(0)


def standard_notation(s: str) -> str:
    """Notation rewritten to the LaTeX math-verify reads, value unchanged: unicode symbols as their
    commands (`π`, `±`, `≤`, `√6` -> `\\sqrt{6}`), a repeating decimal as its fraction
    (`0.\\overline{4}`, `0.\\dot{4}`, `0.4444\\ldots` -> `\\frac{4}{9}`). An answer longer than
    `_MAX_ANSWER_CHARS` is left as it is (`math_equal` refuses it): no hostile length costs more
    than linear work here."""
    if len(s) > _MAX_ANSWER_CHARS:
        return s
    if any(c in s for c in _UNICODE_COMMANDS):
        s = "".join(_UNICODE_COMMANDS[c] + (" " if _UNICODE_COMMANDS[c][-1:].isalpha() else "")
                    if c in _UNICODE_COMMANDS else c for c in s)
    if any(c in s for c in _RADICALS):
        s = _radicals(s)
    if "." in s:
        s = _OVERLINE.sub(_overline, s)
        s = _DOTTED.sub(_dotted, s)
        s = _TRAILING_OFF.sub(_trailing_off, s)
    return s


# A percent sign, or the word, after the value.
_PERCENT = re.compile(r"\s*(?:\\%|(?<!\\)%|\\(?:text|textrm|mbox|mathrm)\s*\{\s*(?:percent|percentage|pct)\s*\}"
                      r"|(?<![A-Za-z\\])(?:percent|percentage|pct)(?![A-Za-z]))")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


def _percent(s: str) -> str:
    """A plain number followed by a percent sign is that number (`75\\%` compares as 75, as in
    NeMo-Skills' grader and math-verify for integers: these golds write a percentage as its
    number); a percent sign after anything else means /100 (`\\frac{3}{4}\\%` is 3/400), left as
    `\\%` for math-verify, which reads it so."""
    if "%" not in s and "percent" not in s and "pct" not in s:
        return s
    s = _PERCENT.sub(r"\\%", s)
    if s.endswith("\\%") and _PLAIN_NUMBER.fullmatch(s[:-2].rstrip()):
        return s[:-2].rstrip()
    return s


def strip_answer_decorations(ans: str) -> str:
    """What never changes an answer's value: $, units, \\text{} wrappers, degrees, trailing period;
    unicode and repeating-decimal notation rewritten (`standard_notation`); a percent read by
    `_percent`."""
    s = standard_notation(ans.strip().strip("$").strip())
    s = _percent(s.rstrip(".").rstrip())
    s = strip_unit(s)
    s = re.sub(r"\\(?:text|textbf|mathrm|mbox)\{([^{}]*)\}", r"\1", s)
    s = re.sub(r"\^\s*\{?\\circ\}?", "", s)
    s = s.replace("°", "").replace("\\degree", "")
    s = s.replace("\\$", "")
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


_PLUS_MINUS = re.compile(r"\\(pm|mp)(?![A-Za-z])")


def _plus_minus(part: str) -> list[str]:
    """`\\pm 3` is two values, 3 and -3 (`\\frac{1 \\pm \\sqrt{5}}{2}` the two roots): a value with one
    `\\pm` (or `\\mp`) is the value with + and the value with -. With several, which signs go
    together is not said: left to math-verify."""
    signs = _PLUS_MINUS.findall(part)
    if len(signs) != 1:
        return [part]
    first, second = ("+", "-") if signs[0] == "pm" else ("-", "+")
    return [_PLUS_MINUS.sub(first, part), _PLUS_MINUS.sub(second, part)]


_RELATION = re.compile(r"\\(?:leqslant|leq|le|lt|geqslant|geq|ge|gt)(?![A-Za-z])|<=|>=|<|>")
_VARIABLE = re.compile(r"(?:[A-Za-z]|\\(?:alpha|beta|gamma|delta|epsilon|varepsilon|theta|vartheta|lambda|mu|nu|xi|rho"
                       r"|sigma|tau|phi|varphi|chi|psi|omega))(?:_(?:\{[^{}]*\}|[A-Za-z0-9]))?")


def _as_interval(part: str) -> str:
    """An inequality in one variable is the interval it describes: `0<x\\le1` -> `(0, 1]`,
    `x \\ge 2` -> `[2, \\infty)`, `3 > x` -> `(-\\infty, 3)`. The variable is the side that is a
    single letter (with a subscript) or a Greek letter; the middle one in a chain. Anything else is
    left as it is."""
    ops = [m.group() for m in _RELATION.finditer(part)]
    if not ops or len(ops) > 2:
        return part
    sides = [x.strip() for x in _RELATION.split(part)]
    if any(not x or "=" in x for x in sides):
        return part
    less = [op in ("<", "<=") or op.startswith(("\\le", "\\lt")) for op in ops]
    strict = [op in ("<", ">") or op in ("\\lt", "\\gt") for op in ops]
    if len(ops) == 2:
        if less[0] != less[1] or not _VARIABLE.fullmatch(sides[1]) or _VARIABLE.fullmatch(sides[0]):
            return part
        (lo, lo_open), (hi, hi_open) = ((sides[0], strict[0]), (sides[2], strict[1])) if less[0] else \
            ((sides[2], strict[1]), (sides[0], strict[0]))
    else:
        variable_left = bool(_VARIABLE.fullmatch(sides[0]))
        if variable_left == bool(_VARIABLE.fullmatch(sides[1])):
            return part  # `a < b` or `1 < 2`: which side is the variable is not said
        bound = sides[1] if variable_left else sides[0]
        if less[0] == variable_left:  # x < b, or b > x
            (lo, lo_open), (hi, hi_open) = ("-\\infty", True), (bound, strict[0])
        else:
            (lo, lo_open), (hi, hi_open) = (bound, strict[0]), ("\\infty", True)
    return f"{'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"


def answer_parts(ans: str) -> list[str]:
    """The values of an answer: a set, a list, or values joined by "or"/"and" are several values
    (`\\{1, 2\\}`, `x = 1 \\text{ or } x = 2`, `1, 2` -> 2 parts), and so is a value with `\\pm`
    (`_plus_minus`); anything else is one. An inequality is read as its interval (`_as_interval`)."""
    s = _unwrap_set(ans.strip().strip("$").strip())
    s = _OR_AND.sub(", ", s)
    parts = [p for p in (strip_answer_decorations(part) for part in split_top_level(s)) if p]
    return [_as_interval(value) for part in parts for value in _plus_minus(part)]


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
    if _TRAILING_OFF.search(whole_gold) or _TRAILING_OFF.search(whole_pred):
        return False  # digits that trail off without a readable repeat are an approximation, not a value
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
    except MemoryError:  # over the worker's memory cap: the caller records it (a scoring error, an unresolved vote)
        raise
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
