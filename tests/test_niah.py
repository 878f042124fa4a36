"""NIAH: exact token fitting with the real tokenizer, needle placement, seeding, scoring, essays."""
from __future__ import annotations

import json
import re

import pytest
from omegaconf import OmegaConf

from evalsuite.errors import UserError
from evalsuite.render import build_messages, render_prompt, tokenizer_at
from evalsuite.scoring.strings import string_match_all, string_match_part
from evalsuite.types import Sample, Score
from evalsuite import summary as summary_module
from tasks import niah
from tests.fixtures_run import figures_by_name
from tasks import niah_build as build

SYSTEM = "You are a helpful and harmless assistant.\n\nYou are not allowed to use any tools"
LENGTHS = [2048, 4096, 16384]


def tokenizer_dir() -> str:
    """The embedded model's tokenizer; a saved copy of the same one while embedded.py is unavailable."""
    try:
        from evalsuite.embedded import model_dir

        return str(model_dir())
    except Exception:
        return "/tmp/smol"


def make_cfg(**task) -> OmegaConf:
    return OmegaConf.create({
        "task": {"name": "niah", "instances": 2, "length": 4096, **task},
        "data": {"source": "hub"},
        "model": {"path": tokenizer_dir(), "thinking_kwarg": None},
        "system_prompt": SYSTEM,
        "sampling": {"max_tokens": 128},
    })


@pytest.fixture(scope="module")
def cfg():
    return make_cfg(length=LENGTHS)


@pytest.fixture(scope="module")
def samples(cfg) -> list[Sample]:
    return niah.load(cfg)


@pytest.fixture(scope="module")
def tokenizer(cfg):
    return tokenizer_at(tokenizer_dir())


def context_of(sample: Sample) -> str:
    text = sample.messages[0]["content"]
    return text[text.index("afterwards.\n") + len("afterwards.\n"):text.rindex("\nWhat ")]


def test_every_task_length_and_instance_is_there(samples):
    ids = [s.id for s in samples]
    assert len(ids) == len(set(ids)) == 8 * len(LENGTHS) * 2
    assert "niah_single_1/len2048/0000" in ids and "niah_multiquery/len16384/0001" in ids
    for s in samples:
        task, length, index = s.id.split("/")
        assert s.meta["niah_task"] == task and f"len{s.meta['length']}" == length and re.fullmatch(r"\d{4}", index)
        assert s.meta["family"] == niah.TASKS[task].family


def test_token_counts_are_exact_and_fill_the_budget(samples, tokenizer, cfg):
    for s in samples:
        rendered = render_prompt(tokenizer, build_messages(s.messages, SYSTEM), False, cfg.model)
        exact = len(tokenizer(rendered, add_special_tokens=False)["input_ids"])
        assert s.prompt_tokens == exact, s.id
        budget = s.meta["length"] - 128
        assert budget - 100 < exact <= budget, s.id  # short by less than one haystack piece (a uuid line: <= ~85)


def test_full_token_check_agrees_with_windows(cfg):
    full = niah.load(make_cfg(length=4096, token_check="full", tasks=["niah_multikey_3", "niah_multivalue"]))
    fast = niah.load(make_cfg(length=4096, tasks=["niah_multikey_3", "niah_multivalue"]))
    assert [s.prompt_tokens for s in full] == [s.prompt_tokens for s in fast]
    assert [s.messages for s in full] == [s.messages for s in fast]


def test_needles_sit_at_their_recorded_depths(samples):
    for s in samples:
        task = niah.TASKS[s.meta["niah_task"]]
        context = context_of(s)
        assert len(s.reference) == len(s.meta["depths"]) == task.queries * task.values
        assert len(s.meta["needle_depths"]) == task.keys * task.values
        for gold, depth in zip(s.reference, s.meta["depths"]):
            at = context.index(f"is: {gold}.")  # the needle carrying this gold value
            start = context.rfind("One of the special magic", 0, at)
            assert abs(start / len(context) - depth / 100) < 0.08, (s.id, start / len(context), depth)
        assert context.count("One of the special magic") >= len(s.meta["needle_depths"])


def test_query_wording_singular_and_plural(samples):
    by_task = {s.meta["niah_task"]: s.messages[0]["content"] for s in samples}
    single = by_task["niah_single_3"]
    assert single.startswith("A special magic uuid is hidden within the following text.")
    assert "What is the special magic uuid for " in single and single.endswith("mentioned in the provided text?")
    multi = by_task["niah_multiquery"]
    assert multi.startswith("Some special magic numbers are hidden within the following text. Make sure to "
                            "memorize it. I will quiz you about the numbers afterwards.\n")
    assert re.search(r"What are all the special magic numbers for \S+, \S+, \S+, and \S+ mentioned", multi)
    assert by_task["niah_multivalue"].count("What are all the special magic numbers for ") == 1
    assert "The grass is green. The sky is blue." in by_task["niah_single_1"]


def test_values_and_keys_have_the_protocol_shapes(samples):
    uuid_re = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
    for s in samples:
        task = niah.TASKS[s.meta["niah_task"]]
        for gold in s.reference:
            assert re.fullmatch(r"\d{7}" if task.value_kind == "numbers" else uuid_re, gold)
        question = s.messages[0]["content"].rsplit("\n", 1)[1]
        if task.key_kind == "words":
            assert re.search(r"for [a-z]+-[a-z]+", question)
        else:
            assert re.search(f"for {uuid_re}", question)
        if s.meta["haystack"] == "needle":  # the asked key appears once: its distractor line was dropped
            key = re.search(r"for (\S+) mentioned", question).group(1)
            assert context_of(s).count(f"for {key} is:") == 1


def test_same_seed_same_prompts_other_seed_other_prompts(samples):
    again = niah.load(make_cfg(length=2048, tasks=["niah_single_2", "niah_multikey_2"]))
    first = {s.id: s for s in samples}
    for s in again:
        assert s.messages == first[s.id].messages and s.reference == first[s.id].reference
    other = niah.load(make_cfg(length=2048, tasks=["niah_single_2"], seed=7))
    assert other[0].reference != first[other[0].id].reference


def test_score_string_match_all():
    sample = Sample("x", [], ["1234567", "abcdef12-aaaa-4bbb-8ccc-123456789abc"], {})
    assert niah.score(sample, "They are 1234567 and ABCDEF12-AAAA-4BBB-8CCC-123456789ABC.", None).value == 1.0
    half = niah.score(sample, "The number is 1234567.", None)
    assert half.value == 0.5 and half.detail["found"] == [True, False]
    assert niah.score(sample, "I don't know", None).value == 0.0
    assert niah.score(sample, "", None).value == 0.0 and niah.score(sample, "", None).extracted is None
    assert niah.score(sample, None, None).value == 0.0  # never raises
    assert string_match_all("a 12 b", ["12", "99"]) == 0.5 and string_match_all("x", []) == 0.0
    assert string_match_part("a 12 b", ["12", "99"]) == 1.0 and string_match_part("a", ["12"]) == 0.0


def test_breakdown_per_task_family_variants_and_depth_length(samples):
    by_id = {s.id: s for s in samples}
    scores = []
    for s in samples:
        answer = s.reference[0] if s.meta["niah_task"] == "niah_multivalue" else " ".join(s.reference)
        grade = niah.score(s, answer, None)
        scores.append(Score(s.id, 0, grade.value, grade.extracted, False, False, grade.detail))
    out = figures_by_name(niah.TASK, by_id, scores)
    assert out["niah_task=niah_single_1"] == 100.0 and out["niah_task=niah_multivalue"] == 25.0
    assert out["family=multivalue"] == 25.0 and out["family=single"] == 100.0
    assert out["mean_of_8"] == pytest.approx((7 * 100 + 25) / 8)
    assert out["mean_of_families"] == pytest.approx((3 * 100 + 25) / 4)
    assert set(out) >= {f"length={n}" for n in LENGTHS}
    cells = [c for c in summary_module.task_figures(niah.TASK, by_id, scores, None).cells if set(c.by) == {"depth", "length"}]
    assert cells and all(0 <= c.value <= 100 for c in cells)
    assert {c.by["length"] for c in cells} == set(LENGTHS)
    assert all(c.by["depth"] in niah.depth_grid(11) for c in cells)
    unfinished = [Score(s.id, 0, 0.0, None, True, False, {}) for s in samples]
    assert figures_by_name(niah.TASK, by_id, unfinished)["mean_of_8"] == 0.0
    # unequal samples per item: one niah_single_1 item answered right once and wrong three more times
    # weighs as much as its right-once sibling: (1/4 + 1) / 2, not the flat 2/5
    single = [s for s in samples if s.meta["niah_task"] == "niah_single_1"][:2]
    right = [sc for sc in scores if sc.sample_id in {s.id for s in single}]
    extra = [Score(single[0].id, k, 0.0, "x", False, False, {"found": [False]}) for k in (1, 2, 3)]
    assert figures_by_name(niah.TASK, {s.id: s for s in single}, right + extra)["niah_task=niah_single_1"] == pytest.approx(62.5)


def test_prose_generator_is_seeded_and_varied():
    a, b = build.prose_sentences(42, 500), build.prose_sentences(42, 500)
    assert a == b and a != build.prose_sentences(43, 500)
    assert len(set(a)) > 490
    assert all(s[0].isupper() and s.endswith(".") for s in a)
    words = {w.strip(".,").lower() for s in a for w in s.split()}
    assert len(words) > 400
    assert build.split_sentences(" ".join(a[:20])) == a[:20]


def test_essay_files_and_their_errors(tmp_path):
    essay = tmp_path / "essay.txt"
    essay.write_text("First thought here.  It spans\nlines! Does it ask? \"Quoted start.\" Done.\n")
    assert build.read_essays([str(essay)]) == ["First thought here.", "It spans lines!", "Does it ask?",
                                               "\"Quoted start.\"", "Done."]
    assert build.read_essays([str(tmp_path)]) == build.read_essays([str(essay)])  # a directory of .txt
    with pytest.raises(UserError, match="essay file not found.*task.essay_files"):
        build.read_essays([str(tmp_path / "missing.txt")])
    long_essay = tmp_path / "long.txt"
    long_essay.write_text(" ".join(build.prose_sentences(1, 400)))
    got = niah.load(make_cfg(length=2048, tasks=["niah_single_2"], essay_files=[str(long_essay)], instances=1))
    assert got[0].meta["essay"] == "files" and build.prose_sentences(1, 1)[0] in got[0].messages[0]["content"]


def test_user_errors_name_cause_and_fix():
    with pytest.raises(UserError, match="unknown NIAH task.*niah_single_9.*choose from"):
        niah.load(make_cfg(tasks=["niah_single_9"]))
    with pytest.raises(UserError, match="too small for niah_multiquery.*use task.length >="):
        niah.load(make_cfg(length=300, tasks=["niah_multiquery"]))
    with pytest.raises(UserError, match="task.length='lots'"):
        niah.load(make_cfg(length="lots"))
    with pytest.raises(UserError, match="task.depths"):
        niah.load(make_cfg(depths=3))
    assert niah.parse_length("1M") == 1_048_576 and niah.parse_length("4K") == 4096 and niah.parse_length(8192) == 8192


def test_large_runs_stream_through_the_jsonl_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(niah, "IN_MEMORY_TOKENS", 0)  # as if the run were at 1M tokens
    config = make_cfg(length=2048, tasks=["niah_single_1", "niah_multikey_3"], cache_dir=str(tmp_path))
    first = niah.load(config)
    files = list(tmp_path.glob("niah-*.jsonl"))
    assert len(files) == 1 and len(files[0].read_text().splitlines()) == 4
    assert json.loads(files[0].read_text().splitlines()[0])["id"] == "niah_single_1/len2048/0000"
    assert [s.messages for s in niah.load(config)] == [s.messages for s in first]  # read back, same prompts
    assert niah.cache_path(make_cfg(length=2048, tasks=["niah_single_1"], cache_dir=str(tmp_path))) != files[0]


def test_generated_essays_are_flagged_as_a_deviation(samples, cfg):
    essay = [s for s in samples if s.meta.get("essay") == "generated"]
    noise = [s for s in samples if s.meta["niah_task"] == "niah_single_1"]
    assert essay and noise
    assert "essay haystack: generated prose" in niah.deviations(essay, cfg)[0]
    assert niah.deviations(noise, cfg) == []
