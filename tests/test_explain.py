"""`evalsuite explain`: the gap to the card split into what the run can show, on a real run of the
embedded model and on hand-built run directories with known contents."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import assert_one_line_error
from evalsuite import explain, report
from evalsuite.results import scan
from tests.fixtures_run import small_run, write_fake_task  # noqa: F401 - small_run is a fixture
from evalsuite import summary as summaries
from evalsuite.types import Breakdown


def gap_of(run_dir, task: str) -> explain.TaskGap:
    return next(g for g in explain.explain_tasks(scan(run_dir)) if g.task == task)


def parts(g: explain.TaskGap, kind: str) -> list[explain.Part]:
    return [p for p in g.parts if p.kind == kind]


def test_explain_on_a_real_run(small_run, tmp_path, cli):
    run_dir = tmp_path / "run"
    shutil.copytree(small_run, run_dir)  # the shared run stays as the other tests expect it
    proc = cli("explain", f"run_dir={run_dir}")
    assert proc.returncode == 0, proc.stderr
    text = (run_dir / "explain.md").read_text()
    assert "## aime25 (AIME 2025)" in text and "vs the card's 92.4: gap" in text
    for kind in ("noise", "deviation", "data", "judge"):
        assert f"- **{kind}**:" in text
    summary = json.loads((run_dir / "aime25" / "summary.json").read_text())
    for deviation in summary["deviations"]:  # each one, by name
        assert f"protocol deviation: {deviation}." in text
    assert "judge: none" in text and "the bundled sample set" in text
    [entry] = json.loads((run_dir / "explain.json").read_text())
    assert entry["task"] == "aime25" and entry["card"] == 92.4
    assert entry["gap"] == pytest.approx(summary["value"] - 92.4)
    assert (run_dir / "plot_gap.png").stat().st_size > 1000
    report.write_run_report(run_dir, [], extras=False)
    assert "## Where the gap to the card comes from" in (run_dir / "report.md").read_text()


def test_unfinished_answers_at_the_runs_own_accuracy(tmp_path):
    # item 1: right, unfinished, right, wrong -> its own finished accuracy 2/3 fills the unfinished one;
    # item 2: all unfinished -> the run's finished accuracy (2 of 3) fills all four
    write_fake_task(tmp_path, "aime25", "AIME 2025", {"1": ["correct", "unfinished", "correct", "wrong"],
                                                     "2": ["unfinished"] * 4})
    g = gap_of(tmp_path, "aime25")
    [p] = parts(g, "unanswered")
    assert g.ours == pytest.approx(25.0)
    assert p.estimate == pytest.approx(100 * ((1 + 2 / 3 + 1 + 0) / 4 + 2 / 3) / 2)
    assert (p.low, p.high) == (pytest.approx(25.0), pytest.approx(100 * (0.75 + 1.0) / 2))
    assert "5 of 8 samples (62.5%) unfinished or truncated (5 unfinished)" in p.text


def test_noise_says_whether_more_samples_can_halve_the_interval(tmp_path):
    # every item all right or all wrong: the spread is between items, which more samples cannot shrink
    write_fake_task(tmp_path, "aime25", "AIME 2025", {str(i): ["correct"] * 4 if i % 2 else ["wrong"] * 4 for i in range(1, 9)})
    [noise] = parts(gap_of(tmp_path, "aime25"), "noise")
    assert "about 4x the items (32)" in noise.text and "no number of samples per item halves it" in noise.text
    # every item a coin flip: the spread is sampling, which more samples do shrink
    other = tmp_path / "other"
    flips = {"1": ["correct", "wrong", "correct", "wrong"], "2": ["correct", "wrong", "wrong", "wrong"],
             "3": ["correct", "correct", "wrong", "correct"], "4": ["wrong", "correct", "correct", "wrong"]}
    write_fake_task(other, "aime25", "AIME 2025", flips)
    [noise] = parts(gap_of(other, "aime25"), "noise")
    needed = int(noise.text.split("or about ")[1].split(" samples per item")[0])
    assert needed > 4 and "(now 4)" in noise.text


def test_open_variants_deviations_judge_and_missing_scores(tmp_path):
    write_fake_task(tmp_path, "livecodebench", "LiveCodeBench v6 (2408-2505)", {"a": ["correct", "wrong"], "b": ["wrong"]},
                    group="Code", expected_samples=2,
                    variants={"first_block": 40.0, "timeout_12s": 30.0},
                    cells=[Breakdown({"difficulty": "easy"}, 25.0, 1)])
    summary_path = tmp_path / "livecodebench" / "summary.json"
    summary = summaries.read(summary_path)
    identity = {"fingerprint": "fp", "backend": "openai", "prompt": "equivalence", "parse": "verdict",
                "sampling": {}, "price": {}}
    summary.judge = summaries.JudgeFacts(
        name="big", model="some-judge-70b", **identity, answers=3, unparseable=1, unparseable_rate=100 / 3,
        missing=0, ledger={}, backend_versions=[],
        variant=summaries.VariantJudge(name="small", model="some-judge-8b", **identity, value=20.0, agreement=50.0,
                                       unparseable=0))
    summaries.write(summary_path, summary)
    g = gap_of(tmp_path, "livecodebench")
    card = g.card
    variants = {p.text.split(":")[0]: p for p in parts(g, "variant")}
    # not the difficulty group; the variant judge's number is an alternative like an OPEN variant's
    assert set(variants) == {"OPEN variant first_block", "OPEN variant timeout_12s", "OPEN variant judge small"}
    assert f"the gap would be {40.0 - card:+.1f}" in variants["OPEN variant first_block"].text
    [missing] = parts(g, "missing")
    f = 1 / 4
    assert (missing.low, missing.high) == (pytest.approx(g.ours * (1 - f)), pytest.approx(g.ours * (1 - f) + 100 * f))
    assert [p.text for p in parts(g, "deviation")] == [
        "protocol deviation: samples 2 (card: 64). This run does not measure its effect; a run with the card's setting does."]
    assert parts(g, "judge")[0].text == (
        "judge: big (model some-judge-70b, prompt equivalence, parse verdict); 1 of 3 replies unparseable; "
        "variant judge small (model some-judge-8b), agreement 50%; the card's judge may differ.")
    assert g.graded_by == "big"


def test_a_benchmark_not_on_the_card(tmp_path):
    write_fake_task(tmp_path, "mine", "My Benchmark", {"1": ["correct", "wrong"]})
    g = gap_of(tmp_path, "mine")
    assert g.card is None and g.gap is None
    assert "the card has no number for My Benchmark" in explain.explain_markdown([g], "t")
    assert "The card's number" not in parts(g, "noise")[0].text


def test_a_summary_without_scores_uses_its_rates(tmp_path):
    task_dir = write_fake_task(tmp_path, "aime25", "AIME 2025", {"1": ["correct", "unfinished"]})
    (task_dir / "scores.jsonl").unlink()
    (task_dir / "generations.jsonl").unlink()
    [p] = parts(gap_of(tmp_path, "aime25"), "unanswered")
    assert "from the summary's rates" in p.text and p.high == pytest.approx(100.0)


def test_explain_errors_are_one_line(cli, tmp_path):
    assert_one_line_error(cli("explain", f"run_dir={tmp_path / 'nope'}"), "not found")
    assert_one_line_error(cli("explain", f"run_dir={tmp_path}"), "no task directories")
    assert_one_line_error(cli("explain", f"run_dir={tmp_path}", "colour=red"), "unknown option 'colour'")


def test_generations_from_another_harness_prompt_are_named(tmp_path, cli):
    # inspect's own log (tests/fixtures/foreign): its prompt asks for "the final number as your last
    # word", never for the \boxed{} our AIME scorer reads
    log = Path(__file__).resolve().parent / "fixtures" / "foreign" / "inspect_aime25.eval"
    proc = cli("task=aime25", "data=sample", "limit=2", "samples=2", "stage=score", f"responses={log}",
               "responses_format=inspect", f"run_dir={tmp_path}")
    assert proc.returncode == 0, proc.stderr
    assert cli("explain", f"run_dir={tmp_path}", "plots=false").returncode == 0
    [harness] = parts(gap_of(tmp_path, "aime25"), "harness")
    assert "made by inspect with its own prompt and settings, not this task's" in harness.text
    assert "'Solve the following problem. Give only the final number" in harness.text
    assert "temperature 0.6, top_p 0.95, max_tokens 64" in harness.text
    # "The sum is 55": a right answer in no box (the other answer without one was cut off at max_tokens)
    assert ("never asks for \\boxed{}, the form this task's scorer reads: that explains the 1 of 4 samples (25.0%) "
            "that finished with no answer our scorer can find") in harness.text
    assert "- **harness**:" in (tmp_path / "explain.md").read_text()


def test_a_run_of_our_own_has_no_harness_line(tmp_path):
    write_fake_task(tmp_path, "aime25", "AIME 2025", {"1": ["correct", "wrong"]})
    assert parts(gap_of(tmp_path, "aime25"), "harness") == []
