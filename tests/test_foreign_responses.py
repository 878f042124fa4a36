"""Other harnesses' own output files (tests/fixtures/foreign/, written by us in each harness's layout)
graded by our scorer, item by item beside the harness's own verdicts."""
from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from conftest import assert_one_line_error
from evalsuite import pipeline, report
from evalsuite.config import compose
from evalsuite.errors import UserError

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "foreign"
NEMO_AIME = FIXTURES / "nemo_skills" / "aime25"
LM_EVAL = FIXTURES / "samples_aime25_2026-01-05T10-00-00.123456.jsonl"
INSPECT = FIXTURES / "inspect_aime25.eval"
LIGHTEVAL = FIXTURES / "details_gpqa_diamond_2026-01-05T10-00-00.parquet"
THINKING = "model=nemotron-cascade-2"  # a thinking model: only the text after </think> is graded


def run(tmp_path, *overrides: str) -> dict:
    cfg = compose(["data=sample", "stage=score", THINKING, f"run_dir={tmp_path}", *overrides])
    return pipeline.run_task(cfg)


def verdict(summary, name: str) -> dict:
    return next(v for v in summary.sections["agreement"]["verdicts"] if v["verdict"] == name)


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


def test_inspect_eval_archive_epochs_and_reasoning(tmp_path):
    s = run(tmp_path, "task=aime25", "limit=2", "samples=2", f"responses={INSPECT}", "responses_format=inspect")
    match = verdict(s, "match")
    assert (match["compared"], match["agree"]) == (4, 3)
    [d] = match["disagreements"]
    assert (d["item"], d["k"], d["ours_extracted"], d["theirs"], d["ours"]) == ("1", 1, "55.0", 0.0, 1.0)
    gens = {(g["sample_id"], g["k"]): g for g in map(json.loads, (tmp_path / "aime25" / "generations.jsonl").open())}
    assert gens[("1", 0)]["reasoning"] == "10*11/2 = 55" and gens[("1", 0)]["text"] == "\\boxed{55}"
    assert gens[("2", 1)]["finish_reason"] == "length" and s.truncated_rate == 25.0


def test_inspect_json_log_reads_like_the_archive(tmp_path):
    with zipfile.ZipFile(INSPECT) as z:
        header = json.loads(z.read("header.json"))
        samples = [json.loads(z.read(n)) for n in sorted(z.namelist()) if n.startswith("samples/")]
    log = tmp_path / "log.json"
    log.write_text(json.dumps({**header, "samples": samples}))
    s = run(tmp_path / "run", "task=aime25", "limit=2", "samples=2", f"responses={log}", "responses_format=inspect")
    assert (verdict(s, "match")["compared"], verdict(s, "match")["agree"]) == (4, 3)


def test_lighteval_details_parquet_gpqa(tmp_path):
    s = run(tmp_path, "task=gpqa_diamond", "limit=3", "samples=1", f"responses={LIGHTEVAL}", "responses_format=lighteval")
    em = verdict(s, "extractive_match")
    assert (em["compared"], em["agree"]) == (3, 2)
    [d] = em["disagreements"]
    assert (d["item"], d["ours_extracted"], d["theirs_extracted"]) == ("sample03", "D", "B")
    gen = json.loads((tmp_path / "gpqa_diamond" / "generations.jsonl").read_text().splitlines()[0])
    assert gen["reasoning"] == "E scales as n^2, so 9."  # lighteval's reasonings, kept apart from the answer


def test_lighteval_option_order_other_than_ours_is_refused(tmp_path, cli):
    import pandas as pd

    frame = pd.read_parquet(LIGHTEVAL)
    frame.at[0, "doc"] = {**frame.at[0, "doc"], "gold_index": 0}  # A, where our shuffle put the answer at C
    path = tmp_path / "details_gpqa.parquet"
    frame.to_parquet(path)
    proc = cli("task=gpqa_diamond", "data=sample", "limit=3", "stage=score", f"responses={path}",
               "responses_format=lighteval", f"run_dir={tmp_path / 'r'}")
    assert_one_line_error(proc, "option order differs", "task.shuffle_seed")


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
    assert s.n_items == 2 and s.sections["agreement"]["unmatched"] == 2  # item 3 in both seed files


def test_a_file_of_our_own_afterwards_drops_the_harness_side(tmp_path):
    run(tmp_path, "task=aime25", "limit=2", "samples=1", f"responses={LM_EVAL}", "responses_format=lm_eval")
    own = tmp_path / "own.jsonl"
    own.write_text(json.dumps({"id": "1", "response": "\\boxed{55}"}) + "\n")
    s = run(tmp_path, "task=aime25", "limit=2", "samples=1", f"responses={own}")
    assert "agreement" not in s.sections and not (tmp_path / "aime25" / "foreign.jsonl").exists()


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
