"""Boxed extraction and answer equivalence on real answer forms, plus fuzzing on hostile output."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalsuite.render import split_reasoning
from evalsuite.scoring.math import extract_last_boxed, math_equal, parse_integer, split_top_level
from evalsuite.types import Sample
from tasks.matharena import answer_key, score

EXTRACTION = [
    (r"The answer is \boxed{42}.", "42"),
    (r"\boxed{\frac{1}{2}}", r"\frac{1}{2}"),
    (r"first \boxed{1} then \boxed{2}", "2"),  # two boxes: the last one
    (r"\boxed{a{b{c}}d}", "a{b{c}}d"),  # nested braces
    (r"\fbox{7}", "7"),
    (r"\boxed 5.", "5"),
    (r"\boxed{3} and an unclosed \boxed{4", None),  # the last box was cut off: no answer, not the abandoned 3
    (r"no box here", None),
    (r"\boxed{\left(1, 2\right)}", r"\left(1, 2\right)"),
    (r"$\boxed{\text{(B)}}$", r"\text{(B)}"),
    (r"\boxed{ 16 }", "16"),
    (r"\boxed{\{1,2\}}", r"\{1,2\}"),
    ("", None),
    (r"\boxed{}", ""),
    (r"\fbox{1} then \boxed{2}, finally \fbox{3}", "3"),
    (r"\boxed {A or B}", "A or B"),  # a space before the brace: still the braced content
]


@pytest.mark.parametrize("text,expected", EXTRACTION)
def test_extract_last_boxed(text, expected):
    assert extract_last_boxed(text) == expected


EQUIVALENT = [
    ("16", "016"), ("16", "16"), ("16", "16.0"), ("16", "+16"), ("1000", "1,000"), ("1000", "1{,}000"),
    ("70", r"\text{70}"), ("70", "$70$"), ("30", r"30^\circ"), ("30", r"30^{\circ}"), ("50", r"50\%"),
    ("50", "50%"), (r"\frac{1}{576}", r"\dfrac{1}{576}"), (r"\frac{1}{576}", r"\frac1{576}"),
    (r"\frac{1}{2}", r"\tfrac{1}{2}"), (r"\frac{1}{2}", "0.5"), (r"\frac{1}{2}", "1/2"),
    (r"\frac{9 \sqrt{23}}{23}", r"\frac{9}{\sqrt{23}}"), (r"1-\frac{2}{\pi}", r"\frac{\pi-2}{\pi}"),
    (r"2^{25} \cdot 26!", r"2^{25}26!"), (r"2^{25} \cdot 26!", r"26! \cdot 2^{25}"),
    (r"\frac{-1+\sqrt{17}}{2}, \frac{-1-\sqrt{17}}{2}", r"\frac{-1-\sqrt{17}}{2}, \frac{-1+\sqrt{17}}{2}"),
    (r"\frac{-1+\sqrt{17}}{2}, \frac{-1-\sqrt{17}}{2}", r"\frac{-1+\sqrt{17}}{2},\frac{-1-\sqrt{17}}{2}"),
    ("2, 3", "3, 2"), (r"\sqrt{\frac{95}{24}}", r"\frac{\sqrt{570}}{12}"), (r"8\sqrt{10}", r"\sqrt{640}"),
    (r"\sqrt{23}-2 \sqrt{3}", r"-2\sqrt{3}+\sqrt{23}"), (r"14+4\sqrt{37}", r"4\sqrt{37}+14"),
    (r"\frac{448}{3}", r"149\frac{1}{3}"), (r"\pi", r"\pi"), (r"6\pi", r"6 \pi"), (r"\frac{5}{6}", r"\left(\frac{5}{6}\right)"),
    (r"3\sqrt{2}", r"\sqrt{18}"), ("[1,2)", "[1,2)"), (r"\frac{7}{18}", r"\frac{14}{36}"),
    ("-984", "-984"), ("-984", r"- 984"), ("2304", r"2\,304"), ("6300", r"6300."),
    (r"\frac{2025}{101}", r"\dfrac{2025}{101}"), (r"\sqrt{6}", r"6^{1/2}"),
]

NOT_EQUIVALENT = [
    ("16", "17"), ("16", "160"), (r"\frac{1}{576}", r"\frac{1}{575}"), (r"\sqrt{\frac{95}{24}}", r"\frac{\sqrt{570}}{24}"),
    ("2, 3", "2"), ("2, 3", "2, 3, 4"), ("2, 3", "2, 4"), ("[1,2)", "(1,2)"), (r"6\pi", "6"),
    ("16", ""), ("16", "sixteen"), (r"\pi", "3.14"), ("1000", "100"), (r"2^{25} \cdot 26!", r"2^{24}26!"),
    ("70", "7"),
]


@pytest.mark.parametrize("gold,pred", EQUIVALENT)
def test_equivalent(gold, pred):
    assert math_equal(gold, pred), (gold, pred)


@pytest.mark.parametrize("gold,pred", NOT_EQUIVALENT)
def test_not_equivalent(gold, pred):
    assert not math_equal(gold, pred), (gold, pred)


# A unit after the value (`\text{}` with an exponent or a symbol) is never compared: the golds are bare
# numbers, so even a wrong unit (units^3 for an area) keeps a right number right.
UNITS = [
    ("468", r"468 \text{ units}^2"), ("468", r"468 \text{ units}^3"), ("200", r"200 \text{ doors}"),
    ("336", r"336\text{°}"), ("336", "336°"), ("336", r"336^{\circ}"), ("90", r"90^\circ"),
    ("8", r"8 \text{ cm}^3"), ("8", r"8\,\text{cm}^{3}"), ("5", r"5 \mathrm{cm}"), ("5", r"5 \text{ m}\text{/s}"),
    ("1000", r"1{,}000 \text{ dollars}"), ("468", r"$468 \text{ square units}$."),
]
# Several values written as a set or joined by "or"/"and" compare as the set of the gold's values.
SETS = [
    ("1, 2", r"\{1, 2\}"), ("1, 2", r"\left\{2, 1\right\}"), ("1, 2", r"x = 1 \text{ or } 2"),
    ("1, 2", r"x = 1 \text{ or } x = 2"), ("1, 2", r"1 \text{ and } 2"), ("1, 2", r"1 \quad\text{or}\quad 2"),
    ("1, 2", r"x \in \{1, 2\}"), ("5", r"\{5\}"), ("2, 3", r"2 \text{ cm}, 3 \text{ cm}"),
    (r"\frac{-1+\sqrt{17}}{2}, \frac{-1-\sqrt{17}}{2}",
     r"x = \frac{-1-\sqrt{17}}{2} \text{ or } x = \frac{-1+\sqrt{17}}{2}"),
    (r"\frac{-1+\sqrt{17}}{2}, \frac{-1-\sqrt{17}}{2}", r"\left\{\frac{-1-\sqrt{17}}{2}, \frac{-1+\sqrt{17}}{2}\right\}"),
]
UNITS_AND_SETS_WRONG = [
    ("468", r"469 \text{ units}^2"),  # a unit never rescues a wrong number
    ("468", r"468^2"),  # an exponent without a unit is mathematics
    ("2", r"2\mathrm{e}"), ("2", r"2\mathrm{i}"),  # one-letter \mathrm is a constant, not a unit
    ("5", r"\text{ apples}"),  # only text: nothing to compare
    ("1, 2, 3", r"\{1,2\}"), ("1, 2", r"\{1,2,3\}"), ("1, 2", r"\{1, 3\}"),
    ("16", r"16 \text{ or } 17"), ("16", r"16 \text{ or } 16"),  # hedging between values is not an answer
    (r"\frac{1}{2}", r"\frac{1}{2} \text{ or } \frac{1}{3}"),
    ("(1, 2)", r"\{1, 2\}"), ("1, 2", "(1, 2)"),  # a tuple is not a set of values
    (r"\frac{-1+\sqrt{17}}{2}, \frac{-1-\sqrt{17}}{2}", r"\left\{\frac{-1+\sqrt{17}}{2}, \frac{-1+\sqrt{17}}{2}\right\}"),
    ("2304", r"2\;304 \text{ or } 1"),
]


@pytest.mark.parametrize("gold,pred", UNITS + SETS)
def test_units_and_sets_equivalent(gold, pred):
    assert math_equal(gold, pred), (gold, pred)


@pytest.mark.parametrize("gold,pred", UNITS_AND_SETS_WRONG)
def test_units_and_sets_not_equivalent(gold, pred):
    assert not math_equal(gold, pred), (gold, pred)


def test_unit_forms_score_through_the_task():
    grade = score(_sample("468"), r"The area is $\boxed{468 \text{ units}^2}$.", None)
    assert grade.value == 1.0 and grade.answer_key == answer_key("468") == "468"


def test_case_count_floor():
    assert len(EXTRACTION) + len(EQUIVALENT) + len(NOT_EQUIVALENT) >= 60


def test_parse_integer_and_split():
    assert parse_integer("016") == 16 and parse_integer("1,000") == 1000 and parse_integer("1.5") is None
    assert split_top_level(r"\frac{1,2}{3}, 4") == [r"\frac{1,2}{3}", "4"]
    assert split_top_level("(1, 2)") == ["(1, 2)"]


def _sample(ref: str) -> Sample:
    return Sample(id="1", messages=[{"role": "user", "content": "q"}], reference=ref)


def test_score_uses_answer_only_and_box_in_thinking_is_ignored():
    text = r"<think>maybe \boxed{16}</think>I am not sure."
    _, answer = split_reasoning(text, reasoning=True)
    grade = score(_sample("16"), answer, None)
    assert grade.value == 0.0 and grade.extracted is None  # the box inside the thinking never counts


def test_unfinished_thinking_has_no_answer():
    assert split_reasoning(r"<think>so \boxed{16}", reasoning=True) == (r"<think>so \boxed{16}", None)
    assert split_reasoning(r"plain \boxed{16}", reasoning=False)[1] == r"plain \boxed{16}"
    # a model without a thinking mode: a literal tag is text, not a boundary
    assert split_reasoning(r"\boxed{16} </think> x", reasoning=False) == ("", r"\boxed{16} </think> x")


def test_score_and_majority_key():
    grade = score(_sample("16"), r"Thus \boxed{016}.", None)
    assert grade.value == 1.0 and grade.extracted == "016"
    assert answer_key("016") == answer_key("16") == "16"


def test_real_answers_equal_themselves():
    """Every answer of the real files (when ../shared is present) is equivalent to itself boxed."""
    import json

    from tests.conftest import SHARED

    path = SHARED / "data" / "hmmt_feb25" / "train.jsonl"
    if not path.exists():
        pytest.skip("../shared/data not present")
    for line in path.read_text().splitlines():
        ans = json.loads(line)["answer"]
        assert math_equal(ans, extract_last_boxed(rf"\boxed{{{ans}}}")), ans


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list("\\boxedfrac{}()[]0123456789 ,^_$") + ["\\boxed{", "\\fbox{", "\\boxed ", "}"]),
                max_size=200).map("".join))
def test_fuzz_extraction_never_raises(text):
    out = extract_last_boxed(text)
    assert out is None or isinstance(out, str)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=80))
def test_fuzz_equivalence_never_raises(text):
    assert math_equal("16", text) in (True, False)


def test_adversarial_inputs():
    hostile = ["\\boxed{" * 150_000, "{" * 500_000 + "\\boxed{1}", "\\boxed{" + "{" * 100_000 + "}" * 100_000 + "}"]
    assert extract_last_boxed(hostile[0]) is None
    assert extract_last_boxed(hostile[1]) == "1"
    assert extract_last_boxed(hostile[2]) == "{" * 100_000 + "}" * 100_000
    assert math_equal("16", "x" + " " * 100_000 + r"\text{ cm}") is False  # long answers are refused, not scanned
    # the notation rewrites do linear work on any input: unmatched or deeply nested radicals, long repeats
    # (a quadratic scan of 1,999 `√(` or a period search over 1,900 digits would stall this test)
    for text in ["√(" * 999, "√(" * 666 + ")" * 666, "0." + "0" * 1900 + r"1\ldots", r"0.\overline{" + "1" * 1900 + "}",
                 r"0.\dot{1}" + "2" * 1900 + r"\dot{3}", "√(" * 500_000, "0." + "3" * 500_000 + r"\ldots"]:
        assert answer_key(text) is not None
    assert math_equal("1", "0." + "9" * 61 + r"\ldots") is False  # past 60 digits a repeat is not read


# ------------------------------------------------------------ answer forms (one rule each, docs/math_answers.md)

# Boxes one after the other on the answer's line, joined only by spacing, `$`, a comma or "and"/"or",
# are one answer of several values; boxes on earlier lines or with words between are abandoned.
BOX_FORMS = [
    (r"\boxed{2} and \boxed{5}", "2, 5"), (r"$\boxed{2}$, $\boxed{5}$", "2, 5"), (r"\boxed{2} \text{ or } \boxed{5}.", "2, 5"),
    (r"\(\boxed{2}\) and \(\boxed{-3}\)", "2, -3"), (r"\boxed{2}\quad\boxed{5}", "2, 5"),
    ("First \\boxed{7}.\nSo the answers are \\boxed{2} and \\boxed{5}.", "2, 5"),  # the earlier line's box is abandoned
    ("\\boxed{2}\n\\boxed{5}", "5"), (r"\boxed{2}\\ \boxed{5}", "5"),  # a line break (TeX's too) ends the chain
    (r"x = \boxed{2}, y = \boxed{5}", "5"), (r"\boxed{1} is wrong, so \boxed{2}", "2"),
    (r"\boxed{5} \quad \boxed{5}", "5"),  # the same box twice is one value
    # a last box that never closes is an answer cut off: nothing, never the abandoned box before it
    (r"\boxed{12} wait, that is wrong: \boxed{13", None), (r"\boxed{\frac{1}{2}", None),
    (r"\boxed{2} and \boxed{5", None),
]


@pytest.mark.parametrize("text,expected", BOX_FORMS)
def test_box_forms(text, expected):
    assert extract_last_boxed(text) == expected


FORMS_EQUAL = [
    # \pm is two values; against a two-valued gold in any order or as a set, and the reverse
    ("3, -3", r"\pm 3"), ("-3,3", r"\pm 3"), (r"\{-3, 3\}", r"\pm 3"), (r"\pm 3", "3, -3"), (r"\pm 3", r"\{3, -3\}"),
    ("3, -3", r"x = \pm 3"), ("3, -3", "±3"), (r"\pm\sqrt{2}", r"\sqrt{2}, -\sqrt{2}"), (r"2 \mp 1", "1, 3"),
    (r"\frac{1\pm\sqrt{5}}{2}", r"\frac{1-\sqrt{5}}{2}, \frac{1+\sqrt{5}}{2}"),
    # an inequality in one variable is its interval
    ("(0,1]", r"0<x\le1"), ("(0,1]", r"0 < x \leq 1"), ("(0,1]", "0<x≤1"), ("(0,1]", r"1 \ge x > 0"),
    (r"[2,\infty)", r"x \ge 2"), (r"[2,\infty)", r"x\geq 2"), (r"[2,\infty)", r"2 \le a"), (r"(-\infty, 3)", "x < 3"),
    (r"(-\infty, 3)", "3 > x"), ("[1,2)", r"1 \le t < 2"), (r"0<x\le1", "(0,1]"), (r"0<x\le1", r"\left(0, 1\right]"),
    # a repeating decimal is its fraction
    (r"\frac{4}{9}", r"0.\overline{4}"), (r"\frac{4}{9}", r"0.4444\ldots"), (r"\frac{4}{9}", r"0.\dot{4}"),
    (r"\frac{4}{9}", "0.444..."), (r"\frac{4}{9}", "0.4444…"), (r"\frac{1}{6}", r"0.1\overline{6}"),
    (r"\frac{1}{6}", r"0.1666\ldots"), (r"\frac{1}{7}", r"0.\dot{1}4285\dot{7}"), (r"\frac{1}{7}", r"0.\overline{142857}"),
    (r"\frac{1}{7}", r"0.142857142857\dots"), ("1", r"0.\overline{9}"), (r"\frac{7}{3}", r"2.\overline{3}"),
    (r"-\frac{1}{3}", r"-0.\overline{3}"), (r"\frac{1}{3}", r"0.\bar{3}"),
    # a unicode symbol is its LaTeX command; a radical takes the operand after it
    (r"\sqrt{6}", "√6"), (r"2\sqrt{3}", "2√3"), (r"\sqrt[3]{2}", "∛2"), (r"\sqrt{12}", "2√3"), (r"\frac{\sqrt{6}}{2}", "√6/2"),
    (r"\sqrt{x+1}", "√(x+1)"), (r"\sqrt[4]{2}", "∜2"), (r"\sqrt{2}+1", "1+√2"), (r"3\pi", "3π"), (r"\sqrt{\pi}", "√π"),
    # a plain number with a percent sign is the number; a percent after anything else is /100
    ("75", r"75\%"), ("75", "75%"), ("12.5", r"12.5\%"), ("75", r"75 \text{ percent}"), ("75", "75 percent"),
    (r"\frac{3}{400}", r"\frac{3}{4}\%"), ("0.0075", r"\frac{3}{4}\%"),
    # a unit or a label after the value is still dropped
    ("12", r"12 \text{ cm}"), ("30", r"30 \text{ degrees}"), ("5", r"5\text{ dollars}"), ("7", r"7 \text{ ways}"),
    ("60", r"60 \text{ km per hour}"), ("468", r"468 \text{ square units}"), ("468", r"468 \text{ units squared}"),
    ("5", r"5 \text{ min}"),
]

FORMS_NOT_EQUAL = [
    # words that change the answer are not a unit: the answer stays distinct from the bare number
    ("12", r"12 \text{ or more}"), ("12", r"12\text{ at least}"), ("12", r"\text{at least } 12"), ("3", r"3 \text{ each}"),
    ("5", r"5 \text{ not}"), ("12", r"12 \text{ or fewer}"), ("10", r"10 \text{ less than}"), ("5", r"5 \text{ thousand}"),
    ("4", r"4 \text{ and up}"), ("12", r"12 \text{ approximately}"), ("12", "12 or more"), ("12", r"12 \text{ squared}"),
    ("12", r"12 \text{ more than } 5"),
    # a percent sign is read, not deleted
    (r"\frac{3}{4}", r"\frac{3}{4}\%"), (r"\frac{1}{2}", r"\frac{1}{2}\%"), ("0.75", r"75\%"),  # 75% is 75 (the rule above)
    # \pm is two values: never one of them alone, nor two other values
    ("3", r"\pm 3"), (r"\pm 3", "3"), ("3, -3", r"\pm 4"), ("1, 3", r"2 \pm 2"), ("3, -3", r"3, -3, \pm 3"),
    # an inequality's interval keeps its ends and its direction
    ("(0,1]", r"0 \le x \le 1"), ("(0,1]", "0<x<1"), (r"[2,\infty)", "x > 2"), (r"[2,\infty)", r"x \le 2"),
    ("2", r"x \ge 2"), ("(0,1]", r"0 < x \ge 1"),
    # a decimal that merely trails off is an approximation; a repeat reads as what it shows
    (r"\frac{4}{9}", "0.4444"), (r"\frac{2}{5}", r"0.4\ldots"), (r"\frac{4}{9}", r"0.\overline{5}"), (r"\pi", r"3.14159\ldots"),
    (r"\frac{1}{6}", r"0.\overline{16}"), (r"\frac{1}{3}", "0.3"), (r"\frac{1}{9}", r"0.12\ldots"),
    # radicals keep their operand and index
    (r"\sqrt{6}", "√5"), (r"2\sqrt{3}", "3√2"), (r"\sqrt[3]{2}", "√2"), (r"\sqrt{x}+1", "√(x+1)"),
]


@pytest.mark.parametrize("gold,pred", FORMS_EQUAL)
def test_answer_forms_equal(gold, pred):
    assert math_equal(gold, pred), (gold, pred)


@pytest.mark.parametrize("gold,pred", FORMS_NOT_EQUAL)
def test_answer_forms_not_equal(gold, pred):
    assert not math_equal(gold, pred), (gold, pred)


def test_words_that_change_the_answer_leave_it_undecidable():
    """`12 \\text{ at least}` is neither 12 nor a readable value: the checker says so (IMO's judge decides)."""
    from evalsuite.scoring.math import undecidable_reason

    for pred in (r"12 \text{ at least}", r"12 \text{ or more}", r"3 \text{ each}"):
        assert not math_equal("12", pred)
        assert undecidable_reason("12", pred), pred


def test_answer_forms_score_through_the_task():
    assert score(_sample("2, 5"), r"The roots are $\boxed{2}$ and $\boxed{5}$.", None).value == 1.0
    assert score(_sample("3, -3"), r"So $x = \boxed{\pm 3}$.", None).value == 1.0
    cut = score(_sample("12"), r"\boxed{12}. Hmm, wait: recount, it is \boxed{1", None)
    assert cut.value == 0.0 and cut.extracted is None and "cut off" in cut.detail["reason"]
    assert score(_sample("12"), r"\boxed{12 \text{ or more}}", None).value == 0.0
