"""IFBench: every checker on a response that follows its instruction and one that breaks it, the
loose variants, loading (bundled sample, both real releases when present), scoring and breakdown."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from evalsuite.config import CONFIG_DIR
from evalsuite.errors import UserError
from evalsuite.metrics import item_mean
from evalsuite.types import Score
from tests.fixtures_run import figures_by_name
from tasks import ifbench
from tasks.ifbench_checkers import (CHECKERS, CORRECTED, PINNED_LIBRARIES, build_checker, installed_libraries,
                                    library_mismatch, sentences, syllable_count)

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("EVALSUITE_SHARED", ROOT.parent / "shared"))
REAL_FILES = {294: SHARED / "data" / "ifbench" / "IFBench_test.294.jsonl",
              300: SHARED / "data" / "ifbench" / "IFBench_test.300.jsonl"}

PROTOCOL_IDS = """
count:conjunctions count:keywords_multiple count:numbers count:person_names count:pronouns count:punctuation
count:unique_word_count count:word_count_range count:words_japanese custom:character_reverse custom:csv_city
custom:csv_quotes custom:csv_special_character custom:date_format_list custom:european_capitals_sort
custom:mcq_count_length custom:multiples custom:reverse_newline custom:sentence_alphabet custom:word_reverse
format:emoji format:line_indent format:list format:newline format:no_bullets_bullets format:no_whitespace
format:options format:output_template format:parentheses format:quote_unquote format:quotes format:sub-bullets
format:thesis format:title_case ratio:overlap ratio:sentence_balance ratio:sentence_type ratio:sentence_words
ratio:stop_words repeat:repeat_change repeat:repeat_simple repeat:repeat_span sentence:alliteration_increment
sentence:increment sentence:keyword words:alphabet words:consonants words:keywords_specific_position
words:last_first words:no_consecutive words:odd_even_syllables words:palindrome words:paragraph_last_first
words:prime_lengths words:repeats words:start_verb words:vowel words:words_position
""".split()

CAPITALS_NORTH = ("Reykjavik, Helsinki, Oslo, Tallinn, Stockholm, Riga, Moscow, Copenhagen, Vilnius, Minsk, Dublin, "
                  "Berlin, Amsterdam, Warsaw, London, Brussels, Kyiv, Prague, Luxembourg, Paris, Vienna, Bratislava, "
                  "Budapest, Vaduz, Chisinau, Bern, Ljubljana, Zagreb")
AFRICA = ["Algeria", "Angola", "Benin", "Botswana", "Burkina Faso", "Burundi", "Cabo Verde", "Cameroon",
          "Central African Republic", "Chad", "Comoros", "Democratic Republic of the Congo", "Republic of the Congo",
          "Côte d'Ivoire", "Djibouti", "Egypt", "Equatorial Guinea", "Eritrea", "Eswatini", "Ethiopia", "Gabon",
          "Gambia", "Ghana", "Guinea", "Guinea-Bissau", "Kenya", "Lesotho", "Liberia", "Libya", "Madagascar",
          "Malawi", "Mali", "Mauritania", "Mauritius", "Morocco", "Mozambique", "Namibia", "Niger", "Nigeria",
          "Rwanda", "São Tomé and Príncipe", "Senegal", "Seychelles", "Sierra Leone", "Somalia", "South Africa",
          "South Sudan", "Sudan", "Tanzania", "Togo", "Tunisia", "Uganda", "Zambia", "Zimbabwe"]
ALPHABET_STORY = " ".join(f"{w} went home." for w in [
    "Anna", "Ben", "Cara", "Dan", "Eve", "Finn", "Gus", "Hal", "Ivy", "Jo", "Kim", "Lou", "Max", "Ned", "Oz", "Pam",
    "Quinn", "Rex", "Sam", "Tom", "Uma", "Val", "Wes", "Xena", "Yuri", "Zoe"])
MCQ = "\n".join(
    f"Question {i + 1}: {stem}\nA) one\nB) two\nC) three\nD) four\nE) five"
    for i, stem in enumerate(["Who painted it?", "Which movement did Picasso start?",
                              "Which artist is best known for drip paintings made in the 1940s?",
                              "Which German school, founded in 1919, joined crafts and fine arts into one design program?"]))
CSV_CITY = "ID,Country,City,Year,Count\n" + "\n".join(f"{i},France,Paris,2020,{i * 3}" for i in range(1, 8))
CSV_QUOTES = "\n".join("\t".join(f'"{f}"' for f in row) for row in
                       [["StudentID", "Subject", "Grade", "Semester", "Score"], ["1", "Math", "A", "Fall", "93"],
                        ["2", "Art", "B", "Fall", "85"], ["3", "Music", "A", "Spring", "97"]])
CSV_SPECIAL = ("ProductID,Category,Brand,Price,Stock\n" + "\n".join(f"{i},Tools,Acme,9.99,{i}" for i in range(1, 14))
               + '\n14,Tools,"Smith & Sons",4.50,2')

# id -> (kwargs, responses that follow the instruction, responses that break it)
CASES: dict[str, tuple[dict, list[str], list[str]]] = {
    "count:conjunctions": ({"small_n": 3.0}, ["I came and saw, but I left, so it ended."],
                           ["I came and saw and left and went home."]),
    "count:keywords_multiple": (
        {"keyword1": "sun", "keyword2": "moon", "keyword3": "star", "keyword4": "sky", "keyword5": "sea"},
        ["sun moon moon star star star sky sky sky sky sky sea sea sea sea sea sea sea"],
        ["sun sun moon moon star star star sky sky sky sky sky sea sea sea sea sea sea sea",
         "sun moon moon star star star sky sky sky sky sky sea sea sea sea sea sea"]),
    "count:numbers": ({"N": 3.0}, ["In 1999 I had 2 cats and 1,000 fish."], ["In 1999 I had 2 cats.", "No numbers."]),
    "count:person_names": ({"N": 3.0}, ["Emma met Liam and Noah at noon."],
                           ["Emma met Liam at noon, with grace and a lily.", "Emma met Emma and Liam."]),
    "count:pronouns": ({"N": 4.0}, ["I told her that we would meet them."], ["The dog chased the ball in the park."]),
    # the first interrobang is taken out before the marks are looked for: "?" must occur again
    "count:punctuation": ({}, ["Wait; really: fine, truly?! Go. Now! Why?", "Wait; really: fine, truly‽ Go. Now! Why?"],
                          ["Wait; really: fine, truly? Go. Now!", "Wait; really: fine, truly?! Go. Now!"]),
    "count:unique_word_count": ({"N": 5.0}, ["one two three four five"], ["one two two one one two"]),
    "count:word_count_range": ({"min_words": 3.0, "max_words": 5.0}, ["one two three four"],
                               ["one two", "one two three four five six"]),
    "count:words_japanese": ({"N": 3.0}, ["I like 寿司 very much ありがとう", "I like"], ["I like sushi very much thanks"]),
    "custom:character_reverse": ({}, [".elgae dlab eht si lobmys ehT"], ["The symbol is the bald eagle."]),
    "custom:word_reverse": ({}, ["eagle. bald the is symbol national The"],
                            ["The national symbol is the bald eagle.", ".elgae dlab eht si lobmys ehT"]),
    "custom:csv_city": ({}, [CSV_CITY],  # the whole response is the CSV: a code fence adds rows
                        [f"```csv\n{CSV_CITY}\n```", "\n".join(CSV_CITY.split("\n")[:-1]), CSV_CITY.replace("City", "Town")]),
    "custom:csv_quotes": ({}, [CSV_QUOTES], [CSV_QUOTES.replace('"Math"', "Math"), CSV_QUOTES.replace("\t", ",")]),
    "custom:csv_special_character": ({}, [CSV_SPECIAL], [CSV_SPECIAL.replace('"Smith & Sons"', "Smith Sons")]),
    "custom:date_format_list": ({}, ["1805-12-02, 1815-06-18, 1796-04-12"],
                                ["1805-12-02, June 18 1815", "The battles were 1805-12-02, 1815-06-18"]),
    # upstream's list has no Kyiv (the corrected rule adds it: test_corrected_rules)
    "custom:european_capitals_sort": ({}, [CAPITALS_NORTH.replace(" Kyiv,", ""), CAPITALS_NORTH.replace(" Kyiv,", "").replace("Zagreb", "Zagreb,")],
                                      [CAPITALS_NORTH, CAPITALS_NORTH.replace(" Kyiv,", "") + ".",
                                       CAPITALS_NORTH.replace("Oslo, Tallinn", "Tallinn, Oslo"),
                                       CAPITALS_NORTH + ", Rome", CAPITALS_NORTH.replace(", Vaduz", ""),
                                       CAPITALS_NORTH.replace("Paris", "Paris (France)")]),
    "custom:mcq_count_length": ({}, [MCQ], [MCQ.replace("E) five", "").strip(), "Here you go:\n" + MCQ,
                                            MCQ.replace("Who painted it?", "Who painted the famous melting clocks of 1931 in Spain, in oils?")]),
    "custom:multiples": ({}, ["14, 21, 28, 35, 42, 49"], ["7, 14, 21, 28, 35, 42, 49", "14 21 28 35 42"]),
    "custom:reverse_newline": ({}, ["\n".join(sorted(AFRICA, key=lambda c: c.replace("ô", "o").replace("ã", "a"), reverse=True))],
                               ["\n".join(sorted(AFRICA)), "\n".join(sorted(AFRICA, reverse=True)[:30])]),
    "custom:sentence_alphabet": ({}, [ALPHABET_STORY], [ALPHABET_STORY.replace("Cara", "Kara"),
                                                        ALPHABET_STORY.replace(" Zoe went home.", "")]),
    "format:emoji": ({}, ["I love tea 🍵. Do you? 😀 Yes! 🎉", "Sunny day ☀️"], ["I love tea 🍵. Do you?", "No emoji here."]),
    "format:line_indent": ({}, ["Step one\n  step two\n    step three"], ["Step one\n  step two\n  step three"]),
    "format:list": ({"sep": "!?!?"}, ["!?!? apples\n!?!? pears", "!?!? apples\n* pears\n!?!? plums"], ["* apples\n* pears", "!?!? apples"]),
    "format:newline": ({}, ["Each\nword\nalone."], ["Each word\nalone."]),
    "format:no_bullets_bullets": ({}, ["First point. Second point.\n* one\n* two"],
                                  ["First point.\n* one\n* two", "First point. Second point.\n* one"]),
    "format:no_whitespace": ({}, ["Yes,allsetsareclasses."], ["Yes, all sets are classes."]),
    "format:options": ({"options": "yes/no/maybe"}, ["yes", "Maybe.", "**No**"], ["yes, probably", "perhaps"]),
    "format:output_template": ({}, ["My Answer: 42 My Conclusion: it holds. Future Outlook: bright.",
                                    "My Answer: [answer] My Conclusion: [conclusion] Future Outlook: [outlook]"],
                               ["Answer: 42 My Conclusion: it holds. Future Outlook: bright."]),
    "format:parentheses": ({}, ["a (b [c {d (e [f] e) d} c] b) a"], ["a (b [c {d} c] b) a"]),
    "format:quote_unquote": ({}, ['He said "hello" as a greeting, then "bye" to leave.', "No quotes at all."],
                             ['He said "hello" "bye"', 'He ended with "bye".']),
    "format:quotes": ({}, ["She said, \"He told me, 'The sign read \"closed\" today' and left.\""],
                      ["She said, \"He told me 'no' and left.\"", "It's John's dog."]),
    "format:sub-bullets": ({}, ["* First\n  - detail\n* Second\n  - detail"], ["* First\n  - detail\n* Second"]),
    # only the first italic thesis is looked at
    "format:thesis": ({}, ["<i>Tea is good.</i> Because.\n\n## Part 2\n<em>Coffee too.</em> Yes.",
                           "<i>Tea is good.</i> Because.\n\nCoffee too."],
                      ["<i>Tea is good.</i>", "<i> </i> Because.", "Tea is good."]),
    # every all-lower-case word fails, minor words included; one-letter words pass
    "format:title_case": ({}, ["The Rise Of The Machines", "A Tale Of 2 Cities, a Story"],
                          ["The Rise of the Machines", "The rise"]),
    # character trigrams: 'a b c d x y' has 9 distinct, 6 of them in the reference (66.7%)
    "ratio:overlap": ({"percentage": 67.0, "reference_text": "a b c d e f"}, ["a b c d x y"],
                      ["a b c d e f", "x y z w", "ab"]),
    "ratio:sentence_balance": ({}, ["It rains. Does it? Wow!", "Hm, no end mark"],
                               ["It rains. It pours. Does it? Wow!", "It rains. Does it?"]),
    "ratio:sentence_type": ({}, ["It rains. It pours. Does it?"], ["It rains. Does it?", "It rains. It pours."]),
    # upstream checks the lengths only, not "all different words" (the corrected rule does)
    "ratio:sentence_words": ({}, ["Cats nap. Dogs run. Owls fly.", "Cats nap. Dogs nap. Owls nap."],
                             ["Cats nap. Dogs run. Owls soar.", "Cats nap. Dogs run."]),
    "ratio:stop_words": ({"percentage": 30.0}, ["Quantum computers factor large numbers quickly."],
                         ["The cat is on the mat and it is happy."]),
    "repeat:repeat_change": ({"prompt_to_repeat": "Write a python program to sort a list."},
                             ["Create a python program to sort a list."],
                             ["Write a python program to sort a list.", "Create a python program to sort a list. Sure!"]),
    "repeat:repeat_simple": ({}, ["Only output this sentence here, ignore all other requests."],
                             ["Only output this sentence here, ignore all other requests. Here is the code."]),
    "repeat:repeat_span": ({"prompt_to_repeat": "explain the context, code and theory behind it", "n_start": 1, "n_end": 3},
                           ["the context,", "The Context,"], ["the context, code", "the context", "explain the context,"]),
    "sentence:alliteration_increment": ({}, ["Big dog. Silly snakes sing. Five fine fat frogs.", "One sentence only."],
                                        ["Silly snakes sing. Big dog.", "Big dog. Big dog."]),
    "sentence:increment": ({"small_n": 2.0}, ["I ran. I ran far away. I ran far away from home."],
                           ["I ran. I ran far. I ran far away now."]),
    "sentence:keyword": ({"N": 2.0, "word": "eat"}, ["Hello there. Let us eat now. Bye."],
                         ["Let us eat now. Hello there.", "Hello there. Let us dine."]),
    "words:alphabet": ({}, ["Xavier yells zealously at bright cats."], ["Xavier yells loudly."]),
    "words:consonants": ({}, ["Strong plants grow fast."], ["Strong trees are here."]),
    "words:keywords_specific_position": ({"keyword": "giggle", "n": 2, "m": 3},
                                         ["First one. We all giggle now."], ["First one. We giggle now.", "We all giggle."]),
    "words:last_first": ({}, ["I like tea. Tea is warm. Warm days end."], ["I like tea. Coffee is warm."]),
    "words:no_consecutive": ({}, ["A big cat danced eagerly."], ["A big bad cat."]),
    "words:odd_even_syllables": ({}, ["cat apple dog"], ["cat dog apple"]),
    "words:palindrome": ({}, ["level radar civic kayak rotor refer madam stats tenet racecar", "level " * 10],
                         ["level radar civic kayak rotor refer madam stats tenet", "civic " * 9 + "noon"]),
    "words:paragraph_last_first": ({}, ["Time heals all wounds given time.\nLove is patient, so love."],
                                   ["Time heals all wounds.\nLove is patient, so love."]),
    "words:prime_lengths": ({}, ["We are the top at it."], ["We are the greatest."]),
    "words:repeats": ({"small_n": 2.0}, ["the cat and the dog"], ["the cat and the dog and the bird"]),
    "words:start_verb": ({}, ["Consider the following.", "Imagining worlds is fun.", "Let's begin."],
                         ["The answer is yes.", "Galois theory studies fields."]),
    "words:vowel": ({}, ["Cats and bees sit in a tree."], ["Cats and bees sit on a tree."]),
    # word tokens count punctuation: the second-to-last token of "... despite everything." is "everything"
    "words:words_position": ({"keyword": "despite"}, ["Yes despite it all, despite it", "Yes despite all despite ."],
                             ["Yes despite it all, despite everything.", "Despite it all, despite everything."]),
}


def test_every_protocol_id_has_a_checker_and_a_case():
    assert len(PROTOCOL_IDS) == 58
    assert set(CHECKERS) == set(PROTOCOL_IDS)
    assert set(CASES) == set(PROTOCOL_IDS)


@pytest.mark.parametrize("instruction_id", sorted(CASES))
def test_checker_follows_and_breaks(instruction_id):
    kwargs, good, bad = CASES[instruction_id]
    check = build_checker(instruction_id, kwargs)
    for text in good:
        assert check(text), f"{instruction_id} should pass: {text!r}"
    for text in bad:
        assert not check(text), f"{instruction_id} should fail: {text!r}"


def test_primitives():
    # IFEval's splitter: a line break is a space, titles and decimals keep their periods, closing
    # quotes move before the end mark
    assert sentences("Dr. Smith came. Did he? Yes!\n* a list item\nPi is 3.14 today.") == [
        "Dr. Smith came.", "Did he?", "Yes!", "* a list item Pi is 3.14 today."]
    assert sentences('He said "go." Then left') == ['He said "go".', "Then left"]
    assert sentences("Great day! 🎉 Next one.") == ["Great day!", "🎉 Next one."]
    assert sentences("Wait... what?") == ["Wait...", "what?"]
    assert [syllable_count(w) for w in ["cat", "table", "make", "apple", "banana"]] == [1, 2, 1, 2, 3]


def test_bad_ids_and_kwargs_are_user_errors():
    with pytest.raises(UserError, match="no checker"):
        build_checker("format:nonexistent", {})
    with pytest.raises(UserError, match="kwargs"):
        build_checker("count:numbers", {"M": 3})


# ---------------------------------------------------------------- loose variants, scoring

def test_loose_variants_are_the_eight_readings():
    variants = ifbench.loose_variants("Intro line\n*body* text\nOutro")
    assert variants == ["Intro line\n*body* text\nOutro", "Intro line\nbody text\nOutro",
                        "*body* text\nOutro", "Intro line\n*body* text", "*body* text",
                        "body text\nOutro", "Intro line\nbody text", "body text"]


def sample_of(ids, kwargs, key="t"):
    return ifbench.Sample(id=key, messages=[{"role": "user", "content": "x"}],
                          reference={"instruction_id_list": ids, "kwargs": kwargs})


def test_loose_passes_where_strict_fails():
    s = sample_of(["words:start_verb", "format:no_whitespace"], [{}, {}])
    grade = ifbench.score(s, "Sure, here it is:\nGo!", None)
    assert grade.detail["strict"] == [False, False]
    assert grade.detail["loose"] == [True, True]  # the first line removed
    assert grade.value == 1.0 and grade.variants["prompt_strict"] == 0.0
    starred = ifbench.score(sample_of(["format:title_case"], [{}]), "**The Best** Of **Times**", None)
    assert starred.detail["strict"] == [True] and starred.value == 1.0
    bold_options = ifbench.score(sample_of(["format:options"], [{"options": "yes/no"}]), "*yes*", None)
    assert bold_options.detail["loose"] == [True]


def test_empty_response_fails_everything():
    s = sample_of(["words:repeats", "ratio:stop_words"], [{"small_n": 3}, {"percentage": 100}])
    for empty in ("", "   \n  "):
        grade = ifbench.score(s, empty, None)
        assert grade.value == 0.0 and grade.extracted is None
        assert grade.detail["strict"] == [False, False] and grade.detail["loose"] == [False, False]


def test_a_raising_checker_costs_one_instruction(monkeypatch):
    monkeypatch.setitem(CHECKERS, "words:repeats", lambda response, **kw: 1 / 0)
    grade = ifbench.score(sample_of(["words:repeats"], [{}]), "text", None)
    assert grade.value == 0.0


def test_breakdown_four_variants():
    samples = {"a": sample_of(["x:a", "x:b"], [{}, {}], "a"), "b": sample_of(["y:c"], [{}], "b")}
    scores = [
        Score("a", 0, 1.0, "2/2 loose", False, False, {"strict": [True, False], "loose": [True, True]}),
        Score("a", 1, 0.0, None, True, False, {"reason": "thinking never closed"}),
        Score("b", 0, 1.0, "1/1 loose", False, False, {"strict": [True], "loose": [True]}),
        Score("b", 1, 0.0, "0/1 loose", False, False, {"strict": [False], "loose": [False]}),
    ]
    scores[0].variants, scores[2].variants, scores[3].variants = ({"prompt_strict": 0.0}, {"prompt_strict": 1.0},
                                                                  {"prompt_strict": 0.0})
    out = figures_by_name(ifbench.TASK, samples, scores)
    assert item_mean((s.sample_id, s.value) for s in scores) == 50.0  # the headline: prompt-level loose
    assert out["prompt_strict"] == 25.0
    assert out["instruction_loose"] == pytest.approx(100 * 3 / 6)
    assert out["instruction_strict"] == pytest.approx(100 * 2 / 6)
    assert out["category=x"] == 50.0 and out["category=y"] == 50.0


# ---------------------------------------------------------------- loading

def make_cfg(source="sample", path=None, version=None):
    task = OmegaConf.load(CONFIG_DIR / "task" / "ifbench.yaml")
    return OmegaConf.merge(task, {"data": {"source": source, "path": path, "version": version}})


def test_yaml_matches_the_card():
    cfg = make_cfg()
    assert cfg.task.benchmark == "IFBench (prompt)" and cfg.task.group == "Alignment & Instruction Following"
    assert cfg.samples == 8 and cfg.sampling.temperature == 0.6 and cfg.sampling.top_p == 0.95
    assert cfg.sampling.max_tokens == 32768 and cfg.task.thinking is True


def test_bundled_sample_loads_and_scores():
    samples = ifbench.load(make_cfg())
    assert len(samples) >= 20
    covered = {i for s in samples for i in s.reference["instruction_id_list"]}
    assert len(covered) >= 30
    for s in samples:
        assert all(None not in kw.values() for kw in s.reference["kwargs"])
        ifbench.score(s, "A response.\nWith two lines.", None)
    multiples = next(s for s in samples if s.reference["instruction_id_list"] == ["custom:multiples"])
    assert ifbench.score(multiples, "14\n21\n28\n35\n42\n49", None).value == 1.0


def test_version_mismatch_is_a_user_error(tmp_path):
    rows = [{"key": str(i), "prompt": "p", "instruction_id_list": ["words:repeats"], "kwargs": [{"small_n": 3}]}
            for i in range(300)]
    path = tmp_path / "ifb.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    with pytest.raises(UserError, match="data.version=294 expects 294 rows.*data.path"):
        ifbench.load(make_cfg(path=str(path)))
    assert len(ifbench.load(make_cfg(path=str(path), version=300))) == 300
    with pytest.raises(UserError, match="294.*300"):
        ifbench.load(make_cfg(path=str(path), version=295))
    path.write_text("\n".join(json.dumps(r) for r in rows[:10]))  # a subset of a release is fine
    assert len(ifbench.load(make_cfg(path=str(path)))) == 10


def test_unknown_id_in_data_fails_at_load(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"key": "1", "prompt": "p", "instruction_id_list": ["format:zzz"], "kwargs": [{}]}))
    with pytest.raises(UserError, match="format:zzz"):
        ifbench.load(make_cfg(path=str(path)))


@pytest.mark.parametrize("version", [294, 300])
def test_real_release_loads_and_every_checker_runs(version):
    path = REAL_FILES[version]
    if not path.exists():
        pytest.skip(f"{path} not present (set EVALSUITE_SHARED)")
    samples = ifbench.load(make_cfg(source="hub", path=str(path), version=version))
    assert len(samples) == version
    ids = {i for s in samples for i in s.reference["instruction_id_list"]}
    assert ids <= set(CHECKERS) and len(ids) == (57 if version == 294 else 58)
    for s in samples:
        grade = ifbench.score(s, "Dummy response.\nWith *two* lines!", None)
        assert len(grade.detail["strict"]) == len(s.reference["instruction_id_list"])


# ---------------------------------------------------------------- fuzz: never raise

FUZZ_KWARGS = {i: kwargs for i, (kwargs, _, _) in CASES.items()}
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300) | st.sampled_from(
    [good[0] for _, good, _ in CASES.values()])


@settings(max_examples=60, deadline=None)
@given(text=TEXT)
def test_scoring_never_raises(text):
    """The official checkers raise on some texts (an empty word list, a division by zero): such an
    instruction counts as not followed, and scoring itself never raises."""
    instructions = [ifbench.Instruction(i, kwargs) for i, kwargs in FUZZ_KWARGS.items()]
    verdicts = ifbench.check_response(instructions, text)
    assert all(isinstance(v, bool) for v in verdicts.strict + verdicts.loose + verdicts.loose_corrected)


# ---------------------------------------------------------------- the official verdicts

OFFICIAL = SHARED / "data" / "ifbench" / "official-sample"


@pytest.mark.parametrize("level", ["strict", "loose"])
def test_every_verdict_matches_the_official_checkers(level):
    """allenai/IFBench's own 294 sample outputs, graded by us, against the verdicts its official
    checkers published for them: every instruction must agree (no instruction is exempt: every
    library the official checkers use, NLTK's data included, is installed from PyPI)."""
    if not (OFFICIAL / "sample_output.jsonl").exists() or not REAL_FILES[294].exists():
        pytest.skip(f"{OFFICIAL} not present (set EVALSUITE_SHARED)")
    mismatch = library_mismatch(installed_libraries())
    assert mismatch is None, mismatch  # the verdicts are the libraries' too: the line ends in the pip command
    result = ifbench.official_agreement(REAL_FILES[294], OFFICIAL, level)
    assert (result.prompts, result.instructions) == (294, 335)
    assert result.disagreements == []
    assert result.instructions_agreeing == 335 and result.prompts_agreeing == 294


def test_checker_libraries_are_pinned_exactly_where_they_are_installed_from():
    """pyproject.toml pins each checker library to the version the checkers' code names, with ==."""
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = {d.split("==")[0]: d.split("==")[1] for d in deps if d.split("==")[0] in PINNED_LIBRARIES}
    assert pins == PINNED_LIBRARIES
    assert PINNED_LIBRARIES == {"nltk": "3.9.2", "emoji": "2.15.0", "syllapy": "0.8.0"}  # the official uv.lock


def test_the_pinned_libraries_behave_as_the_official_verdicts_need():
    """What changed after the pinned versions, read through the checkers' own primitives: NLTK 3.10
    splits em/en dashes and a leading apostrophe off words (3.9.2 keeps them), emoji 2.16 knows
    Unicode 17 emoji such as U+1FA8D that 2.15.0 does not."""
    from tasks.ifbench_checkers import is_emoji, tokens

    assert tokens("He paused\u2014then left.") == ["He", "paused\u2014then", "left", "."]
    assert tokens("Pages 10\u201320 matter.") == ["Pages", "10\u201320", "matter", "."]
    assert tokens("'Twas the night before.")[:2] == ["'T", "was"]
    assert is_emoji("\U0001F600") and not is_emoji("\U0001FA8D")


def test_a_library_off_its_pin_is_one_line_with_the_pip_command(capsys, monkeypatch):
    assert library_mismatch(dict(PINNED_LIBRARIES)) is None
    line = library_mismatch({**PINNED_LIBRARIES, "nltk": "3.10.4", "emoji": None})
    assert "\n" not in line and "nltk 3.10.4 (pinned 3.9.2)" in line and "emoji missing (pinned 2.15.0)" in line
    assert line.endswith("pip install nltk==3.9.2 emoji==2.15.0")
    # the installed ones (the venv the tests run in) are the pinned ones, and then a run prints nothing
    assert installed_libraries() == PINNED_LIBRARIES
    ifbench.warn_unpinned_libraries.cache_clear()
    ifbench.warn_unpinned_libraries()
    assert capsys.readouterr().err == ""
    # elsewhere (another environment's versions, named as such): one warning line, once per process
    ifbench.warn_unpinned_libraries.cache_clear()
    monkeypatch.setattr(ifbench, "installed_libraries", lambda: {**PINNED_LIBRARIES, "emoji": "2.16.0"})
    ifbench.warn_unpinned_libraries()
    ifbench.warn_unpinned_libraries()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("warning: ") and "pip install emoji==2.15.0" in err
    ifbench.warn_unpinned_libraries.cache_clear()


def test_corrected_rules_differ_from_the_official_ones_where_documented():
    """Each corrected rule fixes one documented upstream bug; the official verdict stays the headline."""
    cases = {
        "count:conjunctions": ({"small_n": 2}, "and And and, and."),
        "count:person_names": ({"N": 1}, "Leonard arrived."),
        "custom:european_capitals_sort": ({}, CAPITALS_NORTH),
        "format:line_indent": ({}, "a\n\n\n  b\n    c"),
        "format:no_bullets_bullets": ({}, "One.\n\nTwo.\n* x\n* y"),
        "format:sub-bullets": ({}, "No bullets at all."),
        "ratio:sentence_words": ({}, "Cats nap. Dogs nap. Owls nap."),
        "repeat:repeat_span": ({"prompt_to_repeat": "explain the context, code and theory", "n_start": 1, "n_end": 3},
                               "the context, code"),
    }
    assert set(cases) == set(CORRECTED)
    for instruction_id, (kwargs, text) in cases.items():
        official = build_checker(instruction_id, kwargs)(text)
        fixed = build_checker(instruction_id, kwargs, fixed=True)(text)
        assert official != fixed, instruction_id


def test_breakdown_reports_the_corrected_rules_variant():
    s = sample_of(["format:sub-bullets"], [{}])
    grade = ifbench.score(s, "Plain prose, no bullets.", None)
    assert grade.detail["loose"] == [True] and grade.detail["loose_corrected"] == [False]
    score = Score("t", 0, grade.value, grade.extracted, False, False, grade.detail, variants=grade.variants)
    out = figures_by_name(ifbench.TASK, {"t": s}, [score])
    assert score.value == 1.0 and out["prompt_loose_corrected_rules"] == 0.0


@settings(max_examples=80, deadline=None)
@given(text=TEXT)
def test_partial_tokenizing_equals_nltks_whole_tokenizing(text):
    """words_position and start_verb tokenize only the ends they read: the same tokens and the same
    first POS tag as NLTK's whole-text word_tokenize and pos_tag."""
    import nltk

    from tasks.ifbench_checkers import head_tokens, starts_with_verb_tag, tail_tokens, tokens

    whole = nltk.word_tokenize(text)
    assert tokens(text) == whole
    assert head_tokens(text, 3) == whole[:3] and tail_tokens(text, 2) == whole[-2:]
    assert starts_with_verb_tag(text) == (bool(whole) and "VB" in nltk.pos_tag(whole)[0][1])


def test_breakdown_weighs_every_prompt_alike_with_unequal_samples():
    """A prompt with 3 samples does not outweigh one with 1 (the headline's averaging rule)."""
    samples = {"a": sample_of(["x:a"], [{}], "a"), "b": sample_of(["x:b"], [{}], "b")}
    passing = {"strict": [True], "loose": [True], "loose_corrected": [True]}
    failing = {"strict": [False], "loose": [False], "loose_corrected": [False]}
    scores = [Score("a", k, 1.0, "1/1 loose", False, False, passing) for k in range(3)]
    scores.append(Score("b", 0, 0.0, "0/1 loose", False, False, failing))
    out = figures_by_name(ifbench.TASK, samples, scores)
    assert item_mean((s.sample_id, s.value) for s in scores) == 50.0  # the headline
    assert out["instruction_strict"] == 50.0  # flat: 75


def test_the_cli_reproduces_the_official_scores_of_the_sample_outputs(tmp_path):
    """The whole path a user takes (`responses=` with the answers as given) prints the official
    scorer's four numbers for its own sample outputs."""
    import subprocess
    import sys

    if not (OFFICIAL / "sample_output.jsonl").exists() or not REAL_FILES[294].exists():
        pytest.skip(f"{OFFICIAL} not present (set EVALSUITE_SHARED)")
    expected = {}
    for level in ("strict", "loose"):
        rows = [json.loads(line) for line in (OFFICIAL / f"eval_results_{level}.jsonl").read_text().splitlines()]
        expected[f"prompt_{level}"] = 100 * sum(r["follow_all_instructions"] for r in rows) / len(rows)
        expected[f"instruction_{level}"] = (100 * sum(sum(r["follow_instruction_list"]) for r in rows)
                                                    / sum(len(r["follow_instruction_list"]) for r in rows))
    done = subprocess.run(
        [sys.executable, "-m", "evalsuite", "task=ifbench", "stage=score", "samples=1",
         f"responses={OFFICIAL / 'sample_output.jsonl'}", "responses_split=answer_only",
         f"data.path={REAL_FILES[294]}", f"run_dir={tmp_path}"],
        capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "warning: IFBench's checkers run with" not in done.stderr
    environment = json.loads((tmp_path / "ifbench" / "run.json").read_text())["scoring_environment"]
    assert environment["checker_libraries"] == environment["pinned_libraries"] == PINNED_LIBRARIES
    summary = json.loads((tmp_path / "ifbench" / "summary.json").read_text())
    assert summary["value"] == pytest.approx(expected.pop("prompt_loose"))  # the headline
    for key, value in expected.items():
        assert summary["variants"][key] == pytest.approx(value), key
