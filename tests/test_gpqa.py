"""GPQA-Diamond: letter extraction, option shuffling (recorded, deterministic, per_sample), both
prompt styles, the bundled sample set, scoring and the per-domain breakdown."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from evalsuite.config import compose
from evalsuite.errors import UserError
from evalsuite.scoring.letters import extract_choice_letter, read_choice_letter
from evalsuite.types import Score
from tasks import gpqa
from tests.fixtures_run import figures_by_name

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- letters

@pytest.mark.parametrize("text, letter", [
    ("So the answer is clear.\nAnswer: B", "B"),
    ("**Answer:** C", "C"),
    ("**Answer: D**", "D"),
    ("Answer: (B)", "B"),
    ("ANSWER: a", "A"),
    ("answer:   C.", "C"),
    ("Final Answer: B) the second option", "B"),
    ("The final answer is C.", "C"),
    ("The final answer is $\\boxed{D}$", "D"),
    ("We get \\boxed{B}.", "B"),
    ("\\boxed{\\text{B}}", "B"),
    ("\\boxed{(C)}", "C"),
    ("\\boxed{\\textbf{A}}", "A"),
    ("Answer: A\n...on reflection...\nAnswer: C", "C"),  # the last Answer line
    ("Answer: B\nThe final answer is D", "D"),  # "final answer is" outranks an Answer line
    ("\\boxed{A}\nAnswer: C", "A"),  # a boxed letter outranks both
    ("\\boxed{42}\nAnswer: C", "C"),  # a boxed non-letter is not a choice: read on
])
def test_letter_found(text, letter):
    assert extract_choice_letter(text) == letter


@pytest.mark.parametrize("text", [
    "Answer: A or B",
    "\\boxed{A, C}",
    "\\boxed{A \\text{ and } C}",
    "The final answer is B/D",
    "**Answer:** (A), (C)",
])
def test_two_letters_are_ambiguous(text):
    reading = read_choice_letter(text)
    assert reading.letter is None and reading.ambiguous
    assert extract_choice_letter(text) is None


@pytest.mark.parametrize("text", [
    "", "   ", "I am not sure.", "Answer: none of these", "A detailed analysis follows.",
    "Answer: Approximately 6.6 km", "The answer depends on the gauge.",
])
def test_no_letter(text):
    assert extract_choice_letter(text) is None


def test_letters_parameter():
    assert extract_choice_letter("Answer: E", letters="ABCDE") == "E"
    assert extract_choice_letter("Answer: E") is None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200) | st.lists(st.sampled_from(["\\boxed{", "}", "Answer:", "A", " or ", "**", "(", ")",
                                                         "final answer is", "\n", "\\text{", "B"]),
                                        max_size=20).map("".join))
def test_extraction_never_raises(text):
    assert extract_choice_letter(text) in (None, "A", "B", "C", "D")


# ---------------------------------------------------------------- the task

def make_cfg(**task):
    base = compose(["task=gpqa_diamond", "data=sample"])  # the YAML extends the multiple-choice family
    return OmegaConf.merge(base, {"task": task})


@pytest.fixture(scope="module")
def samples():
    return gpqa.load(make_cfg())


def test_yaml_matches_the_card():
    cfg = make_cfg()
    assert cfg.task.benchmark == "GPQA-Diamond" and cfg.task.group == "Knowledge & STEM"
    assert cfg.samples == 8 and cfg.sampling.temperature == 1.0 and cfg.sampling.top_p == 0.95
    assert cfg.sampling.max_tokens == 131072 and cfg.task.thinking is True
    assert cfg.task.dataset.gated is True and cfg.task.dataset.config == "gpqa_diamond"


def test_bundled_sample_loads(samples):
    assert 8 <= len(samples) <= 12
    assert {s.meta["domain"] for s in samples} == {"Physics", "Chemistry", "Biology"}
    assert len({s.id for s in samples}) == len(samples)


def option_lines(sample):
    return sample.messages[0]["content"].rsplit("\n\n", 1)[1].split("\n")


def test_permutation_recorded_and_correct_letter_shows_the_correct_answer(samples):
    rows = {r["Record ID"]: r for r in gpqa.load_rows(make_cfg())}
    for s in samples:
        order, letter = s.reference["order"], s.reference["letter"]
        assert sorted(order) == [0, 1, 2, 3]
        shown = dict(line.split(") ", 1) for line in option_lines(s))
        assert shown[letter] == rows[s.id]["Correct Answer"]
        for j, column in enumerate(order):  # every letter traces to its column
            assert shown["ABCD"[j]] == rows[s.id][gpqa.CHOICE_COLUMNS[column]]


def test_shuffle_is_deterministic_and_seeded(samples):
    again = gpqa.load(make_cfg())
    assert [s.reference["order"] for s in again] == [s.reference["order"] for s in samples]
    other = gpqa.load(make_cfg(shuffle_seed=7))
    assert [s.reference["order"] for s in other] != [s.reference["order"] for s in samples]
    letters = {s.reference["letter"] for s in samples}
    assert len(letters) >= 2  # the correct answer is not always in one place


def test_answer_line_prompt(samples):
    text = samples[0].messages[0]["content"]
    assert text.startswith("Answer the following multiple choice question. The last line of your response should "
                           "be in the following format: 'Answer: A/B/C/D' (e.g. 'Answer: A').\n\n")
    assert [line[:3] for line in option_lines(samples[0])] == ["A) ", "B) ", "C) ", "D) "]


def test_boxed_prompt():
    boxed = gpqa.load(make_cfg(prompt_style="boxed"))[0]
    text = boxed.messages[0]["content"]
    assert "\\boxed{}" in text
    assert [line[:4] for line in option_lines(boxed)] == ["(A) ", "(B) ", "(C) ", "(D) "]


def test_bad_options_are_user_errors():
    from evalsuite.task import check_settings

    with pytest.raises(UserError, match="task.prompt_style='fancy' is not one of its values"):
        check_settings(make_cfg(prompt_style="fancy"), gpqa.TASK)
    with pytest.raises(UserError, match="task.shuffle='always' is not one of its values"):
        check_settings(make_cfg(shuffle="always"), gpqa.TASK)


def test_missing_columns_are_user_errors(tmp_path):
    path = tmp_path / "gpqa.csv"
    path.write_text("Question,Correct Answer\nWhat?,Yes\n")
    cfg = OmegaConf.merge(make_cfg(), {"data": {"path": str(path)}})
    with pytest.raises(UserError, match="Incorrect Answer 1"):
        gpqa.load(cfg)


def test_per_sample_mode_gives_each_k_its_own_permutation():
    cfg = make_cfg(shuffle="per_sample")
    sample = gpqa.load(cfg)[0]
    assert gpqa.TASK.sample_for_k(sample, 0, cfg) is sample
    views = [gpqa.TASK.sample_for_k(sample, k, cfg) for k in range(8)]
    assert len({tuple(v.reference["order"]) for v in views}) > 1
    assert views[3] == gpqa.TASK.sample_for_k(sample, 3, cfg)  # deterministic per k
    for v in views:
        shown = dict(line.split(") ", 1) for line in option_lines(v))
        assert shown[v.reference["letter"]] == sample.reference["choices"][0]
        assert gpqa.score(v, f"Answer: {v.reference['letter']}", cfg).value == 1.0
    # per_question ignores k
    plain_cfg = make_cfg()
    plain = gpqa.load(plain_cfg)[0]
    assert gpqa.TASK.sample_for_k(plain, 5, plain_cfg) is plain
    assert "choices" not in plain.reference  # per_question keeps no option text beyond the prompt


def test_score(samples):
    cfg = make_cfg()
    s = samples[0]
    right, wrong = s.reference["letter"], next(c for c in "ABCD" if c != s.reference["letter"])
    grade = gpqa.score(s, f"Let me think.\n**Answer:** {right}", cfg)
    assert grade.value == 1.0 and grade.extracted == right
    assert grade.detail["order"] == s.reference["order"] and grade.answer_key == "Correct Answer"
    assert gpqa.score(s, f"Answer: {wrong}", cfg).value == 0.0
    # Two letters: the headline reads them as the card's tooling does (the first letter after
    # "Answer:"); the lenient reading, the variant beside it, calls them ambiguous and wrong.
    both = gpqa.score(s, f"Answer: {right} or {wrong}", cfg)
    assert both.value == 1.0 and both.extracted == right and both.detail["letter_reading"] == "nemo_skills"
    assert both.variants == {"lenient_letters": 0.0} and both.detail["lenient_letter"] is None
    lenient = gpqa.score(s, f"Answer: {right} or {wrong}", make_cfg(letter_reading="lenient"))
    assert lenient.value == 0.0 and lenient.extracted is None and "several" in lenient.detail["reason"]
    assert lenient.variants == {}  # the headline is the lenient reading: no variant repeats it
    assert gpqa.score(s, "", cfg).extracted is None


def test_thinking_is_never_consulted(samples):
    """The pipeline hands score() only the text after </think>; an answer without a letter is wrong
    even if the thinking (not passed) named the right one, and a scorer given only the answer never
    reaches back into it."""
    s = samples[0]
    thinking = f"<think>Clearly Answer: {s.reference['letter']}</think>"
    answer_only = "I could not decide."
    assert gpqa.score(s, answer_only, make_cfg()).value == 0.0
    assert thinking not in answer_only


def test_breakdown_by_domain(samples):
    by_id = {s.id: s for s in samples}
    physics = [s.id for s in samples if s.meta["domain"] == "Physics"]
    biology = [s.id for s in samples if s.meta["domain"] == "Biology"]
    scores = [Score(physics[0], 0, 1.0, "A", False, False), Score(physics[0], 1, 0.0, "B", False, False),
              Score(physics[1], 0, 1.0, "C", False, False), Score(biology[0], 0, 0.0, None, True, False)]
    # Physics: item 0 scores 1/2, item 1 scores 1/1 -> (0.5 + 1) / 2 = 75, the headline's per-item rule
    # (a flat mean over the 3 samples would say 66.7)
    assert figures_by_name(gpqa.TASK, by_id, scores, make_cfg()) == {"domain=Biology": 0.0, "domain=Physics": pytest.approx(75.0)}


def test_unclosed_boxes_are_read_in_linear_time():
    """The letter path reads boxes with the math path's extractor, on the math path's hostile input:
    150,000 unclosed boxes. A quadratic rescan (each box scanned to the end) would take ~10^10 steps
    and never finish within a test run; the shared linear one takes milliseconds."""
    hostile = "\\boxed{" * 150_000
    assert read_choice_letter(hostile) == read_choice_letter("no choice here")
    assert read_choice_letter(hostile + "\nAnswer: C").letter == "C"
    reading = read_choice_letter("\\boxed{B}" + hostile)  # the last box is cut off: not the abandoned B
    assert reading.letter is None


def test_one_box_extractor_for_every_task():
    from evalsuite.scoring import letters
    from evalsuite.scoring.math import extract_last_boxed

    assert letters.extract_last_boxed is extract_last_boxed
    assert read_choice_letter("\\boxed {A or C}").ambiguous  # a space before the brace keeps the whole box
