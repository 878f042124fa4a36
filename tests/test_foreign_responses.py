"""Other harnesses' own output files (tests/fixtures/foreign/, written by us in each harness's layout)
graded by our scorer, item by item beside the harness's own verdicts."""
from __future__ import annotations

import dataclasses
import json
import math
import zipfile
from pathlib import Path

import pytest

from conftest import assert_one_line_error
from evalsuite import pipeline, report
from evalsuite.config import compose
from evalsuite.errors import UserError
from evalsuite.foreign.inspect_ai import inspect_log

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "foreign"
NEMO_AIME = FIXTURES / "nemo_skills" / "aime25"
LM_EVAL = FIXTURES / "samples_aime25_2026-01-05T10-00-00.123456.jsonl"
INSPECT = FIXTURES / "inspect_aime25.eval"
LIGHTEVAL = FIXTURES / "details_gpqa_diamond_2026-01-05T10-00-00.parquet"
# written by lm-eval 0.4.13 itself on the embedded model (lm_eval_task/gpqa_sample.yaml: GPQA's
# cot_zeroshot task over this project's sample questions, repeats 2)
# lm-eval's own GPQA prompt asks for "The correct answer is (X)", a form the headline's reading (NeMo-Skills'
# "The final answer is X" or a box) does not take: these tests are about its lettering, read leniently
LM_EVAL_READING = "task.letter_reading=lenient"
LM_EVAL_GPQA = FIXTURES / "samples_gpqa_sample_cot_zeroshot_2026-12-06T22-54-51.142084.jsonl"
THINKING = "model=nemotron-cascade-2"  # a thinking model: only the text after </think> is graded


def run(tmp_path, *overrides: str) -> dict:
    cfg = compose(["data=sample", "stage=score", THINKING, f"run_dir={tmp_path}", *overrides])
    return pipeline.run_task(cfg)


def verdict(summary, name: str) -> dict:
    return dataclasses.asdict(next(v for v in summary.agreement.verdicts if v.verdict == name))


def test_nemo_skills_seed_files_graded_beside_symbolic_correct(tmp_path):
    s = run(tmp_path, "task=aime25", "limit=3", "samples=2", f"responses={NEMO_AIME}", "responses_format=nemo_skills")
    assert s.n_scores == 6  # 3 items x 2 seed files (rs0 -> k=0, rs1 -> k=1)
    sym = verdict(s, "symbolic_correct")
    assert (sym["compared"], sym["agree"], sym["per"]) == (6, 4, "sample")
    by_k = {d["k"]: d for d in sym["disagreements"]}
    # the ids in the file are NeMo-Skills' own ("aime25-1" is our item 2): items are matched by text
    assert {d["item"] for d in sym["disagreements"]} == {"2"}
    # "023": NeMo's literal comparison says wrong, our integer comparison says 23
    assert by_k[0]["ours_extracted"] == by_k[0]["theirs_extracted"] == "023"
    assert (by_k[0]["ours"], by_k[0]["theirs"]) == (1.0, 0.0)
    # rs1 kept the raw text with a box only inside the thinking: NeMo graded it, we grade after </think>
    assert (by_k[1]["ours_extracted"], by_k[1]["theirs_extracted"], by_k[1]["ours"], by_k[1]["theirs"]) == (None, "23", 0.0, 1.0)
    assert verdict(s, "judge_correct")["compared"] == 1
    # _full_generation is graded our way: item 3's thinking never closed there, so it is unfinished
    assert s.unfinished_rate == pytest.approx(100 / 6)
    task_dir = tmp_path / "aime25"
    full = json.loads((task_dir / "agreement.json").read_text())
    assert full["format"] == "nemo_skills" and full["imported"] == 6
    assert json.loads((task_dir / "run.json").read_text())["responses"]["format"] == "nemo_skills"
    report.write_run_report(tmp_path, [], extras=False)
    md = (tmp_path / "report.md").read_text()
    assert "## Agreement with the other harness's verdicts" in md and "| symbolic_correct | sample | headline | 6 | 4 | 66.7" in md


def test_nemo_skills_ifbench_verdicts_compare_with_our_prompt_level_variants(tmp_path):
    s = run(tmp_path, "task=ifbench", "limit=2", "samples=1", f"responses={FIXTURES / 'nemo_skills' / 'ifbench'}",
            "responses_format=nemo_skills")
    loose, strict = verdict(s, "prompt_loose"), verdict(s, "prompt_strict")
    assert loose["ours_figure"] == "headline"  # IFBench's headline is prompt-level loose
    assert strict["ours_figure"] == "prompt_strict"
    assert (strict["compared"], strict["agree"]) == (2, 2)
    # the file's loose verdict on s2 says "followed": the official checkers' reading does not
    assert (loose["agree"], [d["item"] for d in loose["disagreements"]]) == (1, ["s2"])


def test_lm_eval_samples_file_every_filter_is_a_verdict(tmp_path):
    s = run(tmp_path, "task=aime25", "limit=3", "samples=1", f"responses={LM_EVAL}", "responses_format=lm_eval")
    strict = verdict(s, "exact_match,strict-match")
    assert (strict["compared"], strict["agree"]) == (3, 2)
    [d] = strict["disagreements"]
    assert (d["item"], d["ours_extracted"], d["theirs_extracted"], d["ours"], d["theirs"]) == ("2", "023", "023", 1.0, 0.0)
    assert verdict(s, "exact_match,flexible-extract")["compared"] == 1  # doc 0 only has that filter


def lm_eval_gpqa(tmp_path, edit=None) -> Path:
    """lm-eval's own GPQA samples file (LM_EVAL_GPQA), or a copy with `edit(row)` applied to each row."""
    if edit is None:
        return LM_EVAL_GPQA
    rows = [json.loads(line) for line in LM_EVAL_GPQA.open()]
    path = tmp_path / LM_EVAL_GPQA.name
    path.write_text("".join(json.dumps(edit(r) or r) + "\n" for r in rows))
    return path


def test_lm_eval_gpqa_file_grades_in_its_own_option_order(tmp_path, cli):
    # lm-eval shuffles GPQA's options with Python's global random state: its order is not ours, and no
    # task.shuffle_seed can make it so; each of its letters is read as the option it showed under it
    proc = cli("task=gpqa_diamond", "data=sample", "limit=4", "samples=2", "stage=score", f"responses={LM_EVAL_GPQA}",
               LM_EVAL_READING,
               "responses_format=lm_eval", f"run_dir={tmp_path}")
    assert proc.returncode == 0, proc.stderr
    task_dir = tmp_path / "gpqa_diamond"
    source = json.loads((task_dir / "foreign_source.json").read_text())
    assert source["option_orders"]["sample01"] == [3, 1, 2, 0]  # (A) 27 (B) 3 (C) 6 (D) 9: Correct Answer is D
    assert source["gold_differs"] == []  # its "(D)" is our correct option, read its way
    scores = {(r["sample_id"], r["k"]): r for r in map(json.loads, (task_dir / "scores.jsonl").open())}
    # "The correct answer is (C) About 6.6 km.": its C is "About 66 km", a wrong option (D is 6.6 km)
    assert (scores[("sample03", 1)]["extracted"], scores[("sample03", 1)]["value"]) == ("C", 0.0)
    assert scores[("sample03", 1)]["answer_key"] == "Incorrect Answer 2"
    agreement = json.loads((task_dir / "agreement.json").read_text())
    # take_first: each filter's verdict is on the document's first response, compared with ours on it
    assert {(v["verdict"], v["per"], v["compared"]) for v in agreement["verdicts"]} == \
        {("exact_match,strict-match", "sample", 4), ("exact_match,flexible-extract", "sample", 4)}


def test_lm_eval_repeats_compare_like_with_like_and_each_filter_keeps_its_extraction(tmp_path):
    def edit(row):
        if row["doc"]["Record ID"] == "sample03":  # its second response now names the right option, D
            row["resps"][0][1] = "The correct answer is (D) About 6.6 km."
        if row["doc"]["Record ID"] == "sample01" and row["filter"] == "flexible-extract":
            row["exact_match"] = 1.0  # as if lm-eval had graded its "(A)" right
    s = run(tmp_path, "task=gpqa_diamond", "limit=4", "samples=2", f"responses={lm_eval_gpqa(tmp_path, edit)}", LM_EVAL_READING,
            "responses_format=lm_eval", "model=smollm2-135m")
    strict = verdict(s, "exact_match,strict-match")
    # lm-eval judged sample03 on its first response (wrong); ours on that response is wrong too; our
    # mean over both samples (0.5) is not what it judged
    assert (strict["per"], strict["compared"], strict["agree"]) == ("sample", 4, 4)
    flexible = verdict(s, "exact_match,flexible-extract")
    [d] = flexible["disagreements"]
    # the second filter's own extraction, not the first filter's "[invalid]"
    assert (d["item"], d["k"], d["theirs_extracted"], d["ours_extracted"], d["theirs"], d["ours"]) == \
        ("sample01", 0, "(A)", "A", 1.0, 0.0)


def test_lm_eval_majority_vote_filter_is_compared_with_our_majority(tmp_path):
    def edit(row):
        if row["filter"] == "strict-match":
            row["filter"] = "maj@2"  # as lm-eval names a majority_vote filter
        if row["doc"]["Record ID"] == "sample03":
            row["resps"][0][1] = "The correct answer is (D) About 6.6 km."
            if row["filter"] == "maj@2":  # the only answer given wins the vote: right
                row["filtered_resps"], row["exact_match"] = ["(D)"], 1.0
    s = run(tmp_path, "task=gpqa_diamond", "limit=4", "samples=2", f"responses={lm_eval_gpqa(tmp_path, edit)}", LM_EVAL_READING,
            "responses_format=lm_eval", "model=smollm2-135m")
    voted = verdict(s, "exact_match,maj@2")
    # ours on the answer most samples gave (D, right): agrees; our mean (0.5) or first sample (no answer) would not
    assert (voted["per"], voted["compared"], voted["agree"]) == ("item (majority answer)", 4, 4)
    assert verdict(s, "exact_match,flexible-extract")["per"] == "sample"  # take_first: the first response's


def test_a_file_without_lengths_or_finish_reasons_says_unknown_not_zero(tmp_path):
    s = run(tmp_path, "task=gpqa_diamond", "limit=4", "samples=2", f"responses={LM_EVAL_GPQA}", LM_EVAL_READING,
            "responses_format=lm_eval", "model=smollm2-135m")
    assert math.isnan(s.truncated_rate) and math.isnan(s.tokens["mean"])
    gens = [json.loads(line) for line in (tmp_path / "gpqa_diamond" / "generations.jsonl").open()]
    assert {(g["tokens"], g["finish_reason"]) for g in gens} == {(None, "unknown")}
    made = json.loads((tmp_path / "gpqa_diamond" / "run.json").read_text())["responses"]["made_by"]
    assert made["settings"]["temperature"] == 0.7 and made["settings"]["max_tokens"] == 48
    assert made["settings"]["top_p"] == "unknown"
    assert made["prompt"].startswith("<|im_start|>system") and "(A) 27" in made["prompt"]
    assert made["finish_reasons"] == {"stop": 0, "length": 0, "unknown": 8}
    assert "top_p unknown: the lm_eval file does not say (card: 0.95)" in s.deviations
    report.write_run_report(tmp_path, [], extras=False)
    row = next(line for line in (tmp_path / "report.md").read_text().splitlines() if line.startswith("| gpqa_diamond |"))
    assert row.endswith("| - | - / - / - |  |")  # truncated % and tokens: unknown, not 0


def test_inspect_eval_archive_written_by_inspect_itself(tmp_path, cli):
    # made by inspect_ai 0.3.285 (make_inspect_eval.py): its members are zstd-compressed, which the
    # standard library's zipfile cannot read on Python 3.11
    with zipfile.ZipFile(INSPECT) as z:
        assert {i.compress_type for i in z.infolist()} == {93}
    proc = cli("task=aime25", "data=sample", "limit=2", "samples=2", "stage=score", f"responses={INSPECT}",
               "responses_format=inspect", f"run_dir={tmp_path}", THINKING)
    assert proc.returncode == 0, proc.stderr
    match = json.loads((tmp_path / "aime25" / "agreement.json").read_text())["verdicts"][0]
    assert (match["verdict"], match["compared"], match["agree"]) == ("match", 4, 1)
    by_key = {(d["item"], d["k"]): d for d in match["disagreements"]}
    # inspect's match(numeric=True) reads the last number of "The sum is 55"; our AIME scorer reads \boxed{}
    assert (by_key[("1", 0)]["theirs"], by_key[("1", 0)]["ours"], by_key[("1", 0)]["ours_extracted"]) == (1.0, 0.0, None)
    # "\boxed{23}": inspect finds no number it accepts, we read 23
    assert (by_key[("2", 0)]["theirs"], by_key[("2", 0)]["ours"]) == (0.0, 1.0)
    gens = {(g["sample_id"], g["k"]): g for g in map(json.loads, (tmp_path / "aime25" / "generations.jsonl").open())}
    assert gens[("1", 0)]["reasoning"] == "10*11/2 = 55" and gens[("1", 0)]["text"] == "The sum is 55"
    assert gens[("2", 1)]["finish_reason"] == "length" and gens[("2", 1)]["tokens"] == 64
    summary = json.loads((tmp_path / "aime25" / "summary.json").read_text())
    assert summary["truncated_rate"] == 25.0 and summary["tokens"]["max"] == 64


def test_inspect_json_log_reads_like_the_archive(tmp_path):
    header, samples = inspect_log(INSPECT)
    log = tmp_path / "log.json"
    log.write_text(json.dumps({**header, "samples": [s for _, s in samples]}))
    s = run(tmp_path / "run", "task=aime25", "limit=2", "samples=2", f"responses={log}", "responses_format=inspect")
    assert (verdict(s, "match")["compared"], verdict(s, "match")["agree"]) == (4, 1)


@pytest.mark.parametrize("damage", ["truncated", "member", "not_zip"])
def test_an_unreadable_eval_archive_is_one_line(cli, tmp_path, damage):
    data = INSPECT.read_bytes()
    if damage == "truncated":
        data = data[: len(data) // 2]
    elif damage == "member":  # a sample member's compressed bytes corrupted: zstd fails, or the CRC does
        with zipfile.ZipFile(INSPECT) as z:
            info = z.getinfo("samples/1_epoch_1.json")
        at = info.header_offset + 30 + len(info.filename) + len(info.extra) + 40
        data = data[:at] + bytes(b ^ 0xFF for b in data[at:at + 16]) + data[at + 16:]
    else:
        data = b"PK\x03\x04 this is not an archive"
    path = tmp_path / "broken.eval"
    path.write_bytes(data)
    proc = cli("task=aime25", "data=sample", "stage=score", "samples=2", f"responses={path}", "responses_format=inspect",
               f"run_dir={tmp_path / 'r'}")
    assert_one_line_error(proc, "not a readable inspect .eval archive", str(path))


def test_what_the_file_says_about_its_run_is_recorded_not_ours(tmp_path):
    s = run(tmp_path, "task=aime25", "limit=2", "samples=2", f"responses={INSPECT}", "responses_format=inspect",
            "sampling.temperature=1.0", "system_prompt='ours, never sent'")
    made = json.loads((tmp_path / "aime25" / "run.json").read_text())["responses"]["made_by"]
    assert made["harness"] == "inspect"
    assert {k: made["settings"][k] for k in ("temperature", "top_p", "max_tokens")} == \
        {"temperature": 0.6, "top_p": 0.95, "max_tokens": 64}
    assert made["system_prompt"] == "You are a careful mathematician."
    assert made["prompt"].startswith("Solve the following problem. Give only the final number")
    assert made["our_prompt_asks_for_theirs_does_not"] == ["\\boxed{}"]
    assert made["finish_reasons"] == {"stop": 3, "length": 1, "unknown": 0}
    assert made["lengths"] == {"given": 4, "unknown": 0}
    assert made["not_applied"]["system_prompt"] == "ours, never sent"
    assert (s.protocol["temperature"], s.protocol["max_tokens"], s.protocol["made_by"]) == (0.6, 64, "inspect")
    assert "temperature 0.6 in the inspect file (card: 1.0)" in s.deviations
    assert not any(d.startswith("temperature 1.0") for d in s.deviations)  # ours, which made nothing
    assert any(d.startswith("generated by inspect with its own prompt") and "\\boxed{}" in d for d in s.deviations)


def test_lighteval_details_parquet_gpqa(tmp_path):
    s = run(tmp_path, "task=gpqa_diamond", "limit=3", "samples=1", f"responses={LIGHTEVAL}", "responses_format=lighteval")
    em = verdict(s, "extractive_match")
    assert (em["compared"], em["agree"]) == (3, 2)
    [d] = em["disagreements"]
    assert (d["item"], d["ours_extracted"], d["theirs_extracted"]) == ("sample03", "D", "B")
    gen = json.loads((tmp_path / "gpqa_diamond" / "generations.jsonl").read_text().splitlines()[0])
    assert gen["reasoning"] == "E scales as n^2, so 9."  # lighteval's reasonings, kept apart from the answer


def lighteval_gpqa_in_their_order(tmp_path, their_options: list[str], answer: str) -> Path:
    """The lighteval fixture's first row, its options shown in `their_options` order (lighteval's
    gpqa prompt shuffles with Python's global random state: no seed of ours reproduces it)."""
    import pandas as pd

    frame = pd.read_parquet(LIGHTEVAL)
    doc = dict(frame.at[0, "doc"])
    head, _ = doc["query"].split("\n\nA) ", 1)
    doc["query"] = head + "\n\n" + "\n".join(f"{'ABCD'[i]}) {o}" for i, o in enumerate(their_options))
    doc["gold_index"] = their_options.index("9")
    frame.at[0, "doc"] = doc
    frame.at[0, "model_response"] = {**frame.at[0, "model_response"], "text": [answer]}
    path = tmp_path / "details_gpqa.parquet"
    frame.to_parquet(path)
    return path


def test_lighteval_letters_are_read_as_the_options_it_showed(tmp_path, cli):
    # ours shows sample01's options as A) 6 B) 27 C) 9 D) 3; the file shows them in the source order
    # (Correct Answer first): its "A" is right
    path = lighteval_gpqa_in_their_order(tmp_path, ["9", "3", "6", "27"], "Answer: A")
    proc = cli("task=gpqa_diamond", "data=sample", "limit=3", "stage=score", f"responses={path}",
               "responses_format=lighteval", f"run_dir={tmp_path / 'r'}")
    assert proc.returncode == 0, proc.stderr
    [score] = [json.loads(line) for line in (tmp_path / "r" / "gpqa_diamond" / "scores.jsonl").open()
               if json.loads(line)["sample_id"] == "sample01"]
    assert (score["value"], score["extracted"], score["answer_key"]) == (1.0, "A", "Correct Answer")
    source = json.loads((tmp_path / "r" / "gpqa_diamond" / "foreign_source.json").read_text())
    assert source["option_orders"]["sample01"] == [0, 1, 2, 3] and source["gold_differs"] == []
    agreement = json.loads((tmp_path / "r" / "gpqa_diamond" / "agreement.json").read_text())
    assert agreement["verdicts"][0]["agree"] == 2  # sample03 stays the one disagreement


def test_an_option_the_run_does_not_have_is_one_line(tmp_path, cli):
    path = lighteval_gpqa_in_their_order(tmp_path, ["9", "3", "6", "81"], "Answer: A")
    proc = cli("task=gpqa_diamond", "data=sample", "limit=3", "stage=score", f"responses={path}",
               "responses_format=lighteval", f"run_dir={tmp_path / 'r'}")
    assert_one_line_error(proc, "option D ('81') is none of item sample01's options")


def test_lighteval_flat_layout_jsonl(tmp_path):
    problems = [json.loads(line) for line in (Path(pipeline.__file__).parent.parent / "tasks" / "samples" / "aime25.jsonl").open()][:2]
    rows = [{"example": p["problem"], "full_prompt": f"Solve: {p['problem']}", "predictions": [f"<think>easy</think>\\boxed{{{p['answer']}}}"],
             "gold": [str(p["answer"])], "metrics": {"extractive_match": 1.0}, "specifics": {}} for p in problems]
    path = tmp_path / "details_aime25.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    s = run(tmp_path / "run", "task=aime25", "limit=2", "samples=1", f"responses={path}", "responses_format=lighteval")
    assert (verdict(s, "extractive_match")["compared"], verdict(s, "extractive_match")["agree"]) == (2, 2)


def test_limit_skips_the_rest_of_a_whole_benchmark_file_and_says_so(tmp_path):
    s = run(tmp_path, "task=aime25", "limit=2", "samples=2", f"responses={NEMO_AIME}", "responses_format=nemo_skills")
    assert s.n_items == 2 and s.agreement.unmatched == 2  # item 3 in both seed files


def test_a_file_of_our_own_afterwards_drops_the_harness_side(tmp_path):
    run(tmp_path, "task=aime25", "limit=2", "samples=1", f"responses={LM_EVAL}", "responses_format=lm_eval")
    own = tmp_path / "own.jsonl"
    own.write_text(json.dumps({"id": "1", "response": "\\boxed{55}"}) + "\n")
    s = run(tmp_path, "task=aime25", "limit=2", "samples=1", f"responses={own}")
    assert s.agreement is None and not (tmp_path / "aime25" / "foreign.jsonl").exists()


@pytest.mark.parametrize("fmt, path, needles", [
    ("nemo_skills", LM_EVAL, ("not a nemo_skills file", "responses_format=lm_eval")),
    ("lm_eval", NEMO_AIME / "output-rs0.jsonl", ("not a lm_eval file", "responses_format=nemo_skills")),
    ("inspect", LM_EVAL, ("not an inspect_ai log", "responses_format=lm_eval")),
    ("lighteval", LM_EVAL, ("not a lighteval file", "responses_format=lm_eval")),
])
def test_a_file_in_another_layout_is_one_line_naming_the_right_format(cli, tmp_path, fmt, path, needles):
    proc = cli("task=aime25", "data=sample", "stage=score", f"responses={path}", f"responses_format={fmt}",
               f"run_dir={tmp_path}")
    assert_one_line_error(proc, *needles)


def test_format_setting_errors(tmp_path):
    with pytest.raises(UserError, match="unknown responses_format 'helm'"):
        run(tmp_path, "task=aime25", f"responses={LM_EVAL}", "responses_format=helm")
    with pytest.raises(UserError, match="give the file with responses=FILE"):
        run(tmp_path, "task=aime25", "responses_format=lm_eval")
    with pytest.raises(UserError, match="reasoning_field is for evalsuite's own jsonl"):
        run(tmp_path, "task=aime25", f"responses={LM_EVAL}", "responses_format=lm_eval", "responses_split=reasoning_field")
    with pytest.raises(UserError, match="sample 1 is outside 0..0"):
        run(tmp_path, "task=aime25", "samples=1", f"responses={NEMO_AIME}", "responses_format=nemo_skills")


def test_missing_fields_name_the_line(tmp_path):
    broken = tmp_path / "output-rs0.jsonl"
    broken.write_text(json.dumps({"problem": "What is the sum of the first $10$ positive integers?", "expected_answer": "55"}) + "\n")
    with pytest.raises(UserError, match=r"output-rs0.jsonl:1: no string \"generation\" field"):
        run(tmp_path, "task=aime25", f"responses={broken}", "responses_format=nemo_skills")
    stray = tmp_path / "stray" / "output-rs0.jsonl"
    stray.parent.mkdir()
    stray.write_text(json.dumps({"problem": "An item of some other benchmark entirely.", "generation": "x"}) + "\n")
    with pytest.raises(UserError, match="matches no item of aime25"):
        run(tmp_path, "task=aime25", f"responses={stray.parent}", "responses_format=nemo_skills")
    empty_dir = tmp_path / "empty"
    empty_dir.mkdir()
    with pytest.raises(UserError, match="no output-rs<seed>.jsonl"):
        run(tmp_path, "task=aime25", f"responses={empty_dir}", "responses_format=nemo_skills")
