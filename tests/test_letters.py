"""The multiple-choice letter readings (evalsuite/scoring/letters.py): NeMo-Skills' rule, the card's
tooling's, as each row's config names it, and the lenient reading reported beside it."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from evalsuite.config import compose
from evalsuite.scoring.letters import (MMLU_PROX_ANSWER_PHRASES, READINGS, Question, mmlu_prox_pattern,
                                       read_choice_letter, read_lenient, read_nemo_skills,
                                       read_nemo_skills_mmlu_prox)
from tasks import gpqa, mmlu_prox
from tasks import multiple_choice as mc
from tests.conftest import assert_one_line_error
from tests.fixtures_run import figures_by_name

TEN = "ABCDEFGHIJ"


# ---------------------------------------------------------------- NeMo-Skills' rule

@pytest.mark.parametrize("text, letter", [
    ("Let me think.\nAnswer: B", "B"),
    ("**Answer:** c", "C"),  # any case, upper-cased
    ("Answer: B\n\nOn reflection...\nAnswer: D", "D"),  # the last Answer: anywhere
    ("The final answer is C", "C"),  # the default pattern, on the last line only
    ("The final answer is C\nThat is all.", None),
    ("\\boxed{B}\nAnswer: C", "B"),  # the last box first
    ("\\boxed{B} is wrong; Answer: C", "B"),  # its rule has no notion of a rejected box
    ("\\boxed{42}\nAnswer: C", "C"),  # a box without a capital letter: on to Answer:
    ("\\boxed{\\text{(D)}}", "D"),  # a longer box: its last standalone capital
    ("\\boxed{A, C}", "C"),  # several letters: the last, never ambiguous
    ("Answer: B or C", "B"),  # the first letter after Answer:
    ("\\boxed{b}", "B"),  # one character, upper-cased as it is
    ("\\boxed{5}", "5"),  # one character, even a digit: an answer, and wrong
    ("\\boxed{ß}", "SS"),  # upper-cased as Python does
    ("\\boxed{ب}", "B"), ("\\boxed{Ｃ}", "C"),  # its Arabic and fullwidth A-D map
    ("\\boxed {B}", None),  # no brace right after \boxed: no box
    ("\\boxed{A} then \\boxed{B", None),  # an unclosed last box: no box, no earlier one
    ("\\boxed{}\nAnswer: D", "D"),  # an empty box counts as none
    ("Answer: I think it's G", "I"),  # the pronoun is read as option I
    ("The answer is B.", None), ("答案：B", None), ("Answer：B", None),  # forms it does not read
])
def test_nemo_skills_reading(text, letter):
    assert read_nemo_skills(text, Question(TEN)).letter == letter


def test_mmlu_prox_patterns_are_the_languages_answer_phrases():
    assert len(MMLU_PROX_ANSWER_PHRASES) == len(mmlu_prox.ALL_LANGUAGES) == 29
    assert set(MMLU_PROX_ANSWER_PHRASES) == set(mmlu_prox.ALL_LANGUAGES)
    read = lambda text, lang: read_nemo_skills_mmlu_prox(text, Question(TEN, lang)).letter  # noqa: E731
    assert read("Die Antwort ist (D).", "de") == "D" and read("La réponse est C", "fr") == "C"
    assert read("答えは (B) です", "ja") == "B" and read("答えは(B)です", "ja") is None  # its spaces are literal
    assert read("Thus the answer is **(J)**", "en") == "J" and read("The Answer is J", "en") is None
    assert read("Ответ - (E)", "ru") == "E" and read("उत्तर (H) हो।", "ne") == "H"
    assert read("Die Antwort ist (A) ... nein: Die Antwort ist (C)", "de") == "C"  # the last match
    assert read("Die Antwort ist Dreifach", "de") == "D"  # nothing ends the letter: a word's initial counts
    assert read("\\boxed{A}\nDie Antwort ist (D)", "de") == "A"  # the box first (relaxed extraction)
    assert read("Reasoning...\nAnswer: F", "de") == "F"  # then Answer: anywhere
    assert mmlu_prox_pattern("en").startswith("answer")  # English drops its leading "the"


def test_each_row_names_its_reading():
    for task in ("gpqa_diamond", "mmlu_pro", "mmlu_redux"):
        assert compose([f"task={task}"]).task.letter_reading == "nemo_skills"
    assert compose(["task=mmlu_prox"]).task.letter_reading == "nemo_skills_mmlu_prox"
    assert compose(["task=longbench_v2"]).task.letter_reading == "lenient"  # its own template: see its YAML
    assert set(READINGS) == {"nemo_skills", "nemo_skills_mmlu_prox", "lenient"}


def test_an_unknown_reading_is_a_one_line_error(cli):
    proc = cli("task=gpqa_diamond", "data=sample", "task.letter_reading=strict", "dry_run=true")
    assert_one_line_error(proc, "task.letter_reading='strict'", "nemo_skills, nemo_skills_mmlu_prox, lenient")


def test_mmlu_prox_grades_with_the_rows_language():
    cfg = compose(["task=mmlu_prox", "data=sample", "task.languages=all"])
    samples = mmlu_prox.load(cfg)
    s = next(x for x in samples if x.meta["language"] == "de")
    right = s.reference["letter"]
    grade = mmlu_prox.score(s, f"Schritt für Schritt ... Die Antwort ist ({right})", cfg)
    assert grade.value == 1.0 and grade.detail["read_from"] == "pattern"
    assert grade.variants["lenient_letters"] == 1.0
    other = next(x for x in samples if x.meta["language"] != "de")
    assert mmlu_prox.score(other, f"Die Antwort ist ({other.reference['letter']})", cfg).value == 0.0  # not its phrase


def test_the_gap_is_a_variant_in_the_summary():
    cfg = compose(["task=gpqa_diamond", "data=sample"])
    samples = gpqa.load(cfg)[:2]
    from evalsuite.types import Score
    answers = {samples[0].id: f"The answer is {samples[0].reference['letter']}.",  # only the lenient reading reads it
               samples[1].id: f"Answer: {samples[1].reference['letter']}"}  # both do
    scores = []
    for s in samples:
        g = gpqa.score(s, answers[s.id], cfg)
        scores.append(Score(s.id, 0, g.value, g.extracted, g.extracted is None, False, g.detail, variants=g.variants))
    out = figures_by_name(gpqa.TASK, {s.id: s for s in samples}, scores, cfg)
    assert out["lenient_letters"] == 100.0
    assert [sc.value for sc in scores] == [0.0, 1.0]


def test_a_letter_outside_the_options_is_an_answer_and_wrong():
    cfg = OmegaConf.create({"task": {"letters": "ABCD", "prompt_style": "answer_line", "letter_reading": "nemo_skills"}})
    sample = mc.make_sample(mc.Choice("q", "Q?", ["a", "b", "c", "d"], 1), mc.settings(cfg))
    for answer, read in [("Answer: I think so", "I"), ("\\boxed{7}", "7"), ("Answer: Z", "Z")]:
        grade = mc.score(sample, answer, cfg)
        assert grade.value == 0.0 and grade.extracted == read and grade.answer_key == read


# ---------------------------------------------------------------- the lenient reading

@pytest.mark.parametrize("text, letter", [
    ("The answer is B.", "B"),
    ("Answer - C", "C"),
    ("Answer is C", "C"),
    ("The correct option is (D)", "D"),
    ("After weighing them all.\nAnswer: Option E", "E"),
    ("Answer: choice D", "D"),
    ("Everything considered, the last one fits.\nOption E", "E"),
    ("Choice D", "D"),
    ("So the answer should be D", "D"),
    ("Both B and C looked plausible at first. I'll go with B", "B"),
    ("B", "B"), ("(B)", "B"), ("B)", "B"), ("B.", "B"), ("**B**", "B"), ("b", "B"),
    ("Answer: 'B'", "B"), ('Answer: "B"', "B"), ("Answer: ‘B’", "B"), ("The answer is “B”.", "B"),
    ("Answer: Ｂ", "B"), ("Answer：B", "B"), ("答案：Ｂ", "B"),  # fullwidth letters and colons
    ("Réponse : C", "C"), ("答案：B", "B"), ("Antwort: D", "D"), ("Respuesta: A", "A"), ("回答：C", "C"),
    ("정답: B", "B"), ("Ответ: С", "C"),  # a Cyrillic С that looks like the option letter
    ("Die Antwort ist (D).", "D"), ("答えは (B) です", "B"), ("La risposta è (F)", "F"), ("Jibu ni (J)", "J"),
    ("La respuesta correcta es (B)", "B"), ("Die richtige Antwort ist C.", "C"), ("答案是B。", "B"),
    ("The correct answer here is E", "E"), ("Правильный ответ: B", "B"), ("उत्तर (H) हो।", "H"),
    ("Odpověď: H", "H"), ("Відповідь: (G)", "G"), ("Trả lời: E", "E"), ("الإجابة: C", "C"),
    ("My answer: A is tempting, but the units disagree.\n\nWorking it through again...\nAnswer: C", "C"),
    ("\\boxed{B} is wrong; Answer: C", "C"),  # a box the text rejects
    ("It is not \\boxed{A}. The answer is D.", "D"),
    ("\\boxed{A}\nAnswer: C", "A"),  # a box that stands outranks a later line
    ("\\boxed{42}\nAnswer: C", "C"),
    ("Answer: I think it's G", "G"),  # the pronoun, then the letter
    ("Answer: I", "I"),  # option I exists with ten options
    ("The answer is not B; it is C.\nAnswer: C", "C"),
])
def test_lenient_reads(text, letter):
    assert read_lenient(text, Question(TEN)).letter == letter


@pytest.mark.parametrize("text", [
    "Answer: B or C", "B and D", "Answer: B and D", "The answer is A/C.", "\\boxed{A, C}", "Ответ: A или C\nB and C",
])
def test_lenient_several_letters_are_ambiguous(text):
    reading = read_lenient(text, Question(TEN))
    assert reading.letter is None and reading.ambiguous


@pytest.mark.parametrize("text, letters", [
    ("Ответ: Г", TEN),  # a Cyrillic letter that is no option letter (options are A-J)
    ("Answer: I", "ABCD"),  # no option I among four
    ("Answer: I think so too.", "ABCD"),
    ("The answer is not B.", "ABCD"),
    ("A detailed analysis follows.", "ABCD"),
    ("I am not sure.", "ABCD"),
    ("The answer is clear once the units agree.", "ABCD"),
    ("Answer: Approximately 6.6 km", "ABCD"),
    ("We compare answer B with answer C in turn.", "ABCD"),  # no commitment
    ("Because of this, none.", "ABCD"),
])
def test_lenient_reads_no_letter(text, letters):
    assert read_lenient(text, Question(letters)).letter is None


# ---------------------------------------------------------------- every reading, any text

_PIECES = ["\\boxed{", "}", "Answer:", "answer is", "A", "I", " or ", "**", "(", ")", "'", "“", "Ｂ", "：",
           "The final answer is ", "\n", "\\text{", "B", "J", "Die Antwort ist", "答案", "not ", "Option", "ب"]


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=300) | st.lists(st.sampled_from(_PIECES), max_size=25).map("".join),
       language=st.sampled_from(sorted(MMLU_PROX_ANSWER_PHRASES) + ["xx"]),
       letters=st.sampled_from(["ABCD", TEN]))
def test_no_text_makes_a_reading_raise(text, language, letters):
    for name in READINGS:
        reading = READINGS[name](text, Question(letters, language))
        assert reading.letter is None or reading.letter.strip()  # NeMo-Skills upper-cases any one character: ß -> SS
        if name == "lenient":
            assert reading.letter is None or reading.letter in letters
        assert read_choice_letter(text, letters, name, language) == reading


def test_hostile_text_is_read_in_linear_time():
    """Each input is a few hundred KB that a quadratic scan (a pattern retried from every position
    to the end) would take hours on; linear readings finish in well under a second each."""
    assert read_nemo_skills("\\boxed{B}" + "\\boxed{" * 150_000).letter is None  # its last box is unclosed
    assert read_lenient("Answer:" + " " * 300_000 + "B").letter is None  # a letter counts within 80 characters of its lead
    assert read_nemo_skills("Answer:" + " " * 300_000 + "B").letter == "B"
    for hostile in ("answer is " * 50_000, "(" * 300_000, "Die Antwort ist " * 30_000, "I " * 200_000):
        for read in READINGS.values():
            reading = read(hostile, Question(TEN, "de"))
            assert reading.letter in (None, "I", "D")  # "Die Antwort ist Die": that pattern reads D
