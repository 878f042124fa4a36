"""Reports from a run's files: the card's table beside ours, compare, partial runs, one-line errors,
results.load, the plots and the notebook (executed on a real run of the embedded model)."""
from __future__ import annotations

import csv
import html
import io
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from evalsuite import explain, report, results
from evalsuite import summary as summaries
from evalsuite.card import CARD_MODEL, card_rows
from evalsuite.card_rows import NOT_ON_CARD
from evalsuite.cli import report_command
from evalsuite.errors import UserError
from evalsuite.types import Breakdown
from tests.conftest import ROOT, assert_one_line_error
from tests.fixtures_run import small_run, write_fake_task  # noqa: F401 - small_run is a fixture

DAGGER = "\u2021"


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def ours_row(rows: list[dict[str, str]], task: str) -> dict[str, str]:
    return next(r for r in rows if r["task"] == task)


# ---------------------------------------------------------------- a real run's files

@pytest.mark.slow
def test_report_from_a_real_run(small_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(small_run, run_dir)
    summary = json.loads((run_dir / "aime25" / "summary.json").read_text())
    for name in ("report.md", "report.csv", "report.html", "viewer.html"):
        (run_dir / name).unlink(missing_ok=True)

    assert report_command(["report", f"run_dir={run_dir}"]) == 0

    row = ours_row(read_csv(run_dir / "report.csv"), "aime25")
    assert row["benchmark"] == "AIME 2025" and row["status"] == "ok"
    assert float(row["value"]) == pytest.approx(summary["value"])
    assert float(row["ci_low"]) == pytest.approx(summary["ci95"][0])
    assert row["n_items"] == "2" and row["samples"] == "2"
    assert row[f"card:{CARD_MODEL}"] == "92.4 [98.6]"
    assert float(row["gap"]) == pytest.approx(summary["value"] - 92.4)
    assert row["max_tokens"] == "96" and row["temperature"] == "1.0" and row["top_p"] == "1.0"
    assert "limit 2" in row["deviations"] and "samples 2 (card: 64)" in row["deviations"]

    md = (run_dir / "report.md").read_text()
    line = next(ln for ln in md.splitlines() if "| aime25 |" in ln)
    lo, hi = summary["ci95"]
    assert f"{summary['value']:.1f} [{lo:.1f}, {hi:.1f}]" in line and "| 2 x 2 |" in line
    assert "\u26a0 samples 2 (card: 64)" in line and "k=2, 96 tok, T=1.0, top_p=1.0" in line
    assert "aime26 (AIME 2026)" in md  # the harness's other tasks are named as not run
    html = (run_dir / "report.html").read_text()
    assert 'href="viewer.html"' in html and "plot_vs_card.png" in html
    for png in ("plot_vs_card.png", "plot_avg_at_k.png", "plot_lengths.png"):
        assert (run_dir / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (run_dir / "plot_niah_depth_length.png").exists()  # no NIAH in this run

    # rebuilt from the files alone: the same report twice
    first = (run_dir / "report.md").read_text()
    report_command(["report", str(run_dir)])
    assert (run_dir / "report.md").read_text() == first


@pytest.mark.slow
def test_results_load_matches_the_files(small_run):
    run = results.load(small_run)
    assert list(run.samples.columns) == results.SAMPLE_COLUMNS
    assert len(run.samples) == 4 and set(run.samples.k) == {0, 1}
    scores = [json.loads(ln) for ln in (small_run / "aime25" / "scores.jsonl").read_text().splitlines()]
    by_key = {(s["sample_id"], s["k"]): s for s in scores}
    for r in run.samples.itertuples():
        assert r.score == by_key[(r.sample_id, r.k)]["value"]
        assert r.finish_reason in ("stop", "length") and r.tokens > 0
    assert run.summaries.loc[0, "task"] == "aime25" and "ci_low" in run.summaries.columns
    items, why = results.load_items(run.tasks[0])
    assert why is None and items["1"].reference == "55"  # rebuilt by the task's loader from run.json


@pytest.mark.slow
def test_notebook_runs_on_a_real_run(small_run, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("EVALSUITE_RUN_DIR", str(small_run))
    nb = nbformat.read(ROOT / "notebooks" / "results.ipynb", as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3  # bars, avg@k, lengths
    text = "".join(o.get("text", "") for o in outputs)
    assert "1 tasks, 4 samples" in text and str(small_run / "viewer.html") in text
    shown = "".join(str(o.get("data", {}).get("text/markdown", "")) for o in outputs)
    assert "## aime25 (AIME 2025)" in shown and "**noise**" in shown  # the gap section (evalsuite.explain)


def test_report_md_and_html_show_the_same_sections_in_order(tmp_path):
    """report.md and report.html render one list of sections (report.run_report_sections): a real run
    of another harness's responses (graded, compared with its verdicts) has the same `## ` titles in
    both, the agreement section included."""
    from evalsuite import pipeline
    from evalsuite.config import compose

    nemo_aime = ROOT / "tests" / "fixtures" / "foreign" / "nemo_skills" / "aime25"
    pipeline.run_task(compose(["task=aime25", "data=sample", "limit=3", "samples=2", "stage=score",
                               "model=nemotron-cascade-2", f"responses={nemo_aime}", "responses_format=nemo_skills",
                               f"run_dir={tmp_path}"]))
    report.write_run_report(tmp_path, [])
    md_titles = [ln[3:] for ln in (tmp_path / "report.md").read_text().splitlines() if ln.startswith("## ")]
    html_titles = [html.unescape(t) for t in re.findall(r"<h2>(.*?)</h2>", (tmp_path / "report.html").read_text())]
    assert md_titles == html_titles
    assert {"What is missing", "Agreement with the other harness's verdicts", "Plots"} <= set(md_titles)
    md, page = (tmp_path / "report.md").read_text(), (tmp_path / "report.html").read_text()
    assert "### aime25: nemo_skills" in md and "<h3>aime25: nemo_skills" in page
    assert "| symbolic_correct | sample | headline | 6 | 4 | 66.7 |" in md and "<td>symbolic_correct</td>" in page
    # each page links the report's other files, never itself
    assert "[report.html](report.html)" in md and "(report.md)" not in md
    assert 'href="report.md"' in page and 'href="report.html"' not in page


# ---------------------------------------------------------------- the card's columns

def test_every_card_row_is_in_the_card_columns(tmp_path):
    write_fake_task(tmp_path, "aime25", "AIME 2025", {"1": ["correct", "wrong"]})
    report.write_run_report(tmp_path, [], extras=False)
    rows = read_csv(tmp_path / "report.csv")
    by_benchmark = {r["benchmark"]: r for r in rows}
    for card in card_rows():
        cell = by_benchmark[card.benchmark][f"card:{card.model}"]
        printed = card.score + (DAGGER if card.source == "card_authors" else "")
        assert (printed in cell) if card.mode == "standard" else (f"[{printed}]" in cell), (card, cell)
    md = (tmp_path / "report.md").read_text()
    assert all(f"| {c.benchmark} |" in md for c in card_rows())
    # card order: the first rows are the card's first benchmarks
    assert [r["benchmark"] for r in rows[:3]] == ["IMO 2025", "IMO AnswerBench", "IMO ProofBench"]
    assert "91.9" + DAGGER in by_benchmark["AIME 2025"]["card:Qwen3.5-35B-A3B"]


def test_gap_and_interval_against_the_card(tmp_path):
    # 10 items, all correct: 100 [100, 100] vs the card's 92.4: +7.6, the card's number outside
    write_fake_task(tmp_path, "aime25", "AIME 2025", {str(i): ["correct"] for i in range(10)})
    # 19 of 20 correct: 95 with an interval of about [85, 100] that holds the card's 94.6
    write_fake_task(tmp_path, "hmmt_feb25", "HMMT Feb25", {str(i): ["correct" if i else "wrong"] for i in range(20)})
    report.write_run_report(tmp_path, [], extras=False)
    rows = read_csv(tmp_path / "report.csv")
    aime = ours_row(rows, "aime25")
    assert float(aime["gap"]) == pytest.approx(7.6) and aime["card_in_ci"] == "False"
    hmmt = ours_row(rows, "hmmt_feb25")
    assert float(hmmt["gap"]) == pytest.approx(95 - 94.6) and hmmt["card_in_ci"] == "True"


def test_open_variants_are_shown_beside_the_headline(tmp_path):
    variants = {"prompt_loose": 80.0, "prompt_strict": 75.0, "instruction_loose": 85.5, "instruction_strict": 82.0}
    write_fake_task(tmp_path, "ifbench", "IFBench (prompt)", {"a": ["correct"], "b": ["wrong"]},
                    group="Alignment & Instruction Following", variants=variants,
                    cells=[Breakdown({"difficulty": "easy"}, 90.0, 1)])
    table = report.write_run_report(tmp_path, [], extras=False)
    assert "prompt_strict 75.0" in table and "instruction_loose 85.5" in table
    md = (tmp_path / "report.md").read_text()
    line = next(ln for ln in md.splitlines() if "| ifbench |" in ln)
    assert "prompt_loose 80.0 · prompt_strict 75.0 · instruction_loose 85.5 · instruction_strict 82.0" in line
    assert "## Breakdown: ifbench" in md and "| difficulty | easy | 90.0 | 1 |" in md
    row = ours_row(read_csv(tmp_path / "report.csv"), "ifbench")
    assert row["variant prompt_strict"] == "75.0"


def test_a_benchmark_not_on_the_card_still_gets_a_row(tmp_path):
    write_fake_task(tmp_path, "mytask", "My Benchmark", {"1": ["correct"]}, group="Custom")
    report.write_run_report(tmp_path, [], extras=False)
    row = ours_row(read_csv(tmp_path / "report.csv"), "mytask")
    assert row["group"] == NOT_ON_CARD and row["value"] == "100.0" and row["gap"] == ""


# ---------------------------------------------------------------- partial runs

def test_partial_run_reports_what_it_has_and_what_is_missing(tmp_path):
    # aime25: 3 items x 4 samples wanted, item 3 has only 2 scored
    write_fake_task(tmp_path, "aime25", "AIME 2025",
                    {"1": ["correct"] * 4, "2": ["wrong"] * 4, "3": ["correct", "wrong"]}, expected_samples=4)
    # hmmt: scored but stopped before its summary
    write_fake_task(tmp_path, "hmmt_feb25", "HMMT Feb25", {"1": ["correct", "correct"], "2": ["wrong", "none"]},
                    summary=False)
    # aime26: generated, never scored
    aime26 = write_fake_task(tmp_path, "aime26", "AIME 2026", {"1": ["correct"]}, summary=False)
    (aime26 / "scores.jsonl").unlink()
    # hle: generated, never judged: its hint names the judge stage first
    hle = write_fake_task(tmp_path, "hle", "HLE", {"1": ["correct"]}, summary=False, config={
        "task": {"name": "hle", "benchmark": "HLE", "group": "Knowledge", "module": "tasks.hle"}, "samples": 1,
        "seed": 0, "model": {"name": "fake", "reasoning": True}, "backend": {"name": "none"}, "judge": None,
        "sampling": {"temperature": 1.0, "top_p": 0.95, "max_tokens": 1024}})
    (hle / "scores.jsonl").unlink()

    table = report.write_run_report(tmp_path, [], extras=False)
    md = (tmp_path / "report.md").read_text()
    rows = read_csv(tmp_path / "report.csv")
    assert "aime25: 2 of 12 scores missing" in md and "3 x 2-4 (2 missing)" in md
    assert "hmmt_feb25: no summary.json: recomputed from scores.jsonl" in md
    assert float(ours_row(rows, "hmmt_feb25")["value"]) == pytest.approx(50.0)  # recomputed
    assert "aime26: 1 generations but nothing scored yet (`evalsuite task=aime26 stage=score run_dir=...`)" in md
    assert "hle: 1 generations but nothing scored yet (`evalsuite task=hle stage=judge judge=NAME" in md
    assert ours_row(rows, "aime26")["status"] == "no scores"
    assert "missing: aime25: 2 of 12 scores missing" in table
    # a report never writes into the run's record files
    assert not (tmp_path / "hmmt_feb25" / "summary.json").exists()


def test_torn_last_line_is_skipped_not_repaired(tmp_path):
    task_dir = write_fake_task(tmp_path, "aime25", "AIME 2025", {"1": ["correct", "wrong"]})
    scores = task_dir / "scores.jsonl"
    scores.write_bytes(scores.read_bytes() + b'{"sample_id": "1", "k": 2, "val')
    before = scores.read_bytes()
    run = results.load(tmp_path)
    assert len(run.samples) == 2 and scores.read_bytes() == before


def test_fresh_summaries_win_over_the_files(tmp_path):
    write_fake_task(tmp_path, "aime25", "AIME 2025", {"1": ["wrong"]})
    fresh = summaries.read(tmp_path / "aime25" / "summary.json")
    fresh.value, fresh.ci95 = 42.0, [40.0, 44.0]
    table = report.write_run_report(tmp_path, [fresh], extras=False)
    assert "42.0 [40.0, 44.0]" in table


# ---------------------------------------------------------------- compare

def test_compare_two_runs_side_by_side(tmp_path):
    a, b = tmp_path / "smollm2", tmp_path / "nemotron"
    write_fake_task(a, "aime25", "AIME 2025", {"1": ["wrong", "wrong"], "2": ["correct", "wrong"]})
    write_fake_task(b, "aime25", "AIME 2025", {"1": ["correct", "correct"], "2": ["correct", "wrong"]})
    write_fake_task(b, "hmmt_feb25", "HMMT Feb25", {"1": ["correct"]})
    out = tmp_path / "cmp"
    assert report_command(["compare", str(a), str(b), f"out={out}"]) == 0
    md = (out / "report.md").read_text()
    header = next(ln for ln in md.splitlines() if ln.startswith("| group | benchmark |"))
    assert "| smollm2 |" in header and "| nemotron |" in header
    # every card column is there, ‡ marks included, each run beside its model's column
    # (these runs' model has no column of its own: beside Cascade-2's)
    for model in report.card_models():
        assert f"| {model} (card) |" in header
    assert header.index("Nemotron-Cascade-2-30B-A3B (card)") < header.index("| smollm2 |") < header.index("Nemotron-3-Nano")
    aime = next(ln for ln in md.splitlines() if ln.startswith("| Math | AIME 2025 |"))
    assert "25.0 [" in aime and "75.0 [" in aime and "| 92.4 [98.6] |" in aime and "| 91.9\u2021 |" in aime
    assert any(ln.startswith("| Agentic | BFCL v4 |") for ln in md.splitlines())  # card rows not run are shown too
    hmmt = next(ln for ln in md.splitlines() if ln.startswith("| Math | HMMT Feb25 |"))
    assert "not run" in hmmt and "100.0 [" in hmmt
    rows = read_csv(out / "report.csv")
    assert {(r["run"], r["task"]) for r in rows} == {("smollm2", "aime25"), ("nemotron", "aime25"),
                                                     ("nemotron", "hmmt_feb25")}
    assert (out / "report.html").exists() and (out / "plot_vs_card.png").exists()


def test_compare_places_a_baseline_run_beside_its_models_column(tmp_path):
    """A run of a baseline model (model.card_model: Qwen3.5-35B-A3B) sits beside Qwen's column and
    its gap is to Qwen's number (AIME 2025: 91.9, a ‡ number), not to Cascade-2's."""
    import json

    cascade, qwen = tmp_path / "cascade", tmp_path / "qwen"
    write_fake_task(cascade, "aime25", "AIME 2025", {"1": ["correct"], "2": ["correct"]})
    task_dir = write_fake_task(qwen, "aime25", "AIME 2025", {"1": ["correct"], "2": ["correct"]})
    summary = json.loads((task_dir / "summary.json").read_text())
    (task_dir / "summary.json").write_text(json.dumps({**summary, "card_model": "Qwen3.5-35B-A3B"}))
    out = tmp_path / "cmp"
    assert report_command(["compare", str(cascade), str(qwen), f"out={out}"]) == 0
    md = (out / "report.md").read_text()
    header = next(ln for ln in md.splitlines() if ln.startswith("| group | benchmark |"))
    assert header.index("| cascade |") < header.index("Nemotron-3-Nano") < header.index("Qwen3.5-35B-A3B (card)") \
        < header.index("| qwen |")
    aime = next(ln for ln in md.splitlines() if ln.startswith("| Math | AIME 2025 |")).split(" | ")
    assert aime[-1].startswith("+8.1")  # 100 - 91.9, Qwen's number (Cascade-2's would give +7.6)
    assert "+7.6" in " | ".join(aime)  # the Cascade-2 run's gap, beside Cascade-2's column
    assert "91.9\u2021" in aime


def test_compare_labels_runs_with_the_same_name_apart(tmp_path):
    a, b = tmp_path / "x" / "run", tmp_path / "y" / "run"
    for d in (a, b):
        write_fake_task(d, "aime25", "AIME 2025", {"1": ["correct"]})
    assert report.run_labels([a, b]) == ["x/run", "y/run"]


# ---------------------------------------------------------------- errors: one line, exit 2



def test_corrupt_summary_is_aassert_one_line_error(cli, tmp_path):
    task_dir = write_fake_task(tmp_path, "aime25", "AIME 2025", {"1": ["correct"]})
    (task_dir / "summary.json").write_text('{"task": "aime25", "value": ')
    assert_one_line_error(cli("report", f"run_dir={tmp_path}"), str(task_dir / "summary.json"), "corrupt JSON")


def test_report_errors_name_the_cause(cli, tmp_path):
    assert_one_line_error(cli("report", f"run_dir={tmp_path / 'nope'}"), "not found")
    assert_one_line_error(cli("report"), "usage: evalsuite report run_dir=DIR")
    assert_one_line_error(cli("compare", str(tmp_path)), "two or more run directories")
    (tmp_path / "empty").mkdir()
    assert_one_line_error(cli("report", f"run_dir={tmp_path / 'empty'}"), "no task directories")


def test_corrupt_scores_line_names_the_file_and_line(tmp_path):
    task_dir = write_fake_task(tmp_path, "aime25", "AIME 2025", {"1": ["correct", "wrong", "wrong"]})
    lines = (task_dir / "scores.jsonl").read_text().splitlines()
    lines[1] = "{garbage"
    (task_dir / "scores.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError, match=r"scores\.jsonl:2: corrupt record"):
        results.load(tmp_path)


# ---------------------------------------------------------------- plots' numbers

def test_avg_at_k_curve_uses_the_first_k_samples():
    import pandas as pd

    from evalsuite.plots import avg_at_k_curve

    samples = pd.DataFrame({"sample_id": ["a", "a", "a", "b", "b", "b"], "k": [0, 1, 2, 0, 1, 2],
                            "score": [1.0, 0.0, 0.0, 1.0, 1.0, float("nan")]})
    curve = avg_at_k_curve(samples)
    assert list(curve.value) == [100.0, 75.0, pytest.approx(100 / 3)]
    assert list(curve.n_items) == [2, 2, 1]  # b has no third score: left out at k=3


def test_niah_heat_map_only_with_several_lengths(tmp_path):
    from evalsuite import plots

    one = [Breakdown({"depth": d, "length": 4096}, 100.0, 1) for d in (0, 50, 100)]
    write_fake_task(tmp_path / "a", "niah", "NIAH@1M (RULER Subset)", {"1": ["correct"]}, cells=one)
    assert plots.fig_niah_heatmap(results.scan(tmp_path / "a")) is None
    two = one + [Breakdown({"depth": d, "length": 8192}, 50.0, 1) for d in (0, 50, 100)]
    write_fake_task(tmp_path / "b", "niah", "NIAH@1M (RULER Subset)", {"1": ["correct"]}, cells=two)
    grid = plots.depth_length_grid(results.scan(tmp_path / "b"))
    assert grid.shape == (3, 2) and grid.loc[50.0, 8192] == 50.0
    assert plots.fig_niah_heatmap(results.scan(tmp_path / "b")) is not None


def test_unmerged_shards_are_read_and_said(tmp_path):
    root = tmp_path / "aime25"
    write_fake_task(root, "shard-0000-of-0002", "AIME 2025", {"1": ["correct", "wrong"]})
    write_fake_task(root, "shard-0001-of-0002", "AIME 2025", {"2": ["correct", "correct"]})
    for shard in root.iterdir():
        (shard / "summary.json").unlink()  # shards never summarize; the unsharded report does
    run = results.load(tmp_path)
    assert len(run.samples) == 4 and run.summary("aime25").value == pytest.approx(75.0)
    report.write_run_report(tmp_path, [], extras=False)
    assert "aime25: 2 shards not merged yet" in (tmp_path / "report.md").read_text()


def test_per_sample_variants_are_read_from_the_scores_as_named():
    scores = [{"sample_id": "1", "k": 0, "value": 1.0, "extracted": "1", "unfinished": False, "truncated": False,
               "variants": {"first_block": 0.0, "timeout_12s": 1.0}},
              {"sample_id": "2", "k": 0, "value": 0.0, "extracted": None, "unfinished": True, "truncated": False}]
    frame = pd.DataFrame([{"task": "t", "sample_id": s["sample_id"], "k": s["k"], "variants": s.get("variants") or {}}
                          for s in scores])
    long = results.variant_scores(frame)
    assert list(zip(long.variant, long.value)) == [("first_block", 0.0), ("timeout_12s", 1.0)]


def test_a_suites_failed_task_is_a_not_run_row_with_its_reason(tmp_path, capsys):
    """failure.json (written by a suite for a task that could not run) survives into every rebuild
    of the report; the task's next successful summary removes it."""
    from evalsuite import pipeline
    from evalsuite.config import compose

    write_fake_task(tmp_path, "aime25", "AIME 2025", {"1": ["correct"], "2": ["wrong"]})
    cfg = compose(["task=gpqa_diamond", f"run_dir={tmp_path}"])
    reason = "Idavidrein/gpqa is gated: accept its terms on the hub page and set HF_TOKEN"
    pipeline.record_failure(cfg, reason)
    assert report_command(["report", f"run_dir={tmp_path}"]) == 0
    terminal = capsys.readouterr().out
    assert f"| gpqa_diamond | GPQA-Diamond | not run: {reason} |" in terminal
    assert f"missing: gpqa_diamond: not run: {reason}" in terminal
    row = ours_row(read_csv(tmp_path / "report.csv"), "gpqa_diamond")
    assert row["status"] == "not run" and row["reason"] == reason and row["value"] == ""
    assert ours_row(read_csv(tmp_path / "report.csv"), "aime25")["status"] == "ok"
    assert f"not run: {reason}" in (tmp_path / "report.md").read_text()
    assert '<tr class="notrun"><td>GPQA-Diamond</td><td>gpqa_diamond</td>' in (tmp_path / "report.html").read_text()


# ---------------------------------------------------------------- summary.json: typed fields, older files

def judge_identity(name: str, model: str) -> dict:
    return {"name": name, "fingerprint": f"fp-{name}", "backend": "openai", "model": model, "prompt": "hle",
            "parse": "hle_fields", "sampling": {"temperature": 0.0}, "price": {}}


def every_fact() -> dict:
    """Each typed field a stage or mode adds to a summary, filled."""
    ledger = summaries.JudgeLedger(requests=4, tokens_in=1000, tokens_out=200, cost=0.0125, usage_missing=0)
    return {
        "metrics": {"calibration error": 12.5},
        "card_rows": {"ArenaHard v2 Hard Prompt": summaries.CardRowCell(40.0, [30.0, 50.0], 3)},
        "judge": summaries.JudgeFacts(
            **judge_identity("gpt-4o", "gpt-4o-2024-08-06"), answers=4, unparseable=1, unparseable_rate=25.0,
            missing=0, ledger={"gpt-4o": ledger, "o3-mini": ledger}, backend_versions=[],
            variant=summaries.VariantJudge(**judge_identity("o3-mini", "o3-mini-2025-01-31"), value=37.5,
                                           agreement=75.0, unparseable=0)),
        "tir": summaries.TirFacts(
            settings={"tool_timeout_s": 2.0, "max_calls": None}, conversations=4, calls_per_conversation=1.5,
            turns_per_conversation=2.5, tool_s_total=3.0, tool_s_per_call=0.5, tool_errors=1, malformed_calls=0,
            tool_timeouts=0, session_deaths=0, tool_output_tokens=80, hit_budget=1, hit_call_cap=0, replay_mismatches=0),
        "harness": summaries.HarnessFacts(
            name="bfcl-eval", version="2026.3.23", install=["bfcl-eval==2026.3.23"], source=None, venv="/v",
            settings={"categories": "simple_python"}, not_run={"web_search": "no SERPAPI_API_KEY"}, cost_usd=None,
            tokens_in=10, tokens_out=5),
        "agreement": summaries.Agreement(
            format="nemo_skills", file="out.jsonl", rows=4, imported=4, unmatched=0, empty=0, gold_differs=[],
            made_by={"harness": "nemo_skills"}, verdicts=[summaries.VerdictAgreement(
                verdict="symbolic_correct", per="sample", ours_figure="headline", compared=4, agree=3,
                agreement=75.0, theirs_mean=50.0, ours_mean=25.0, not_scored_by_us=0,
                disagreements=[summaries.Disagreement("1", 1, None, "1", 0.0, 1.0, "out.jsonl:2")])]),
    }


def test_summary_json_round_trip_with_every_typed_field(tmp_path):
    task_dir = write_fake_task(tmp_path, "hle", "HLE (no tool)", {"1": ["correct", "wrong"], "2": ["wrong", "wrong"]})
    path = task_dir / "summary.json"
    summary = summaries.read(path)
    for name, value in every_fact().items():
        setattr(summary, name, value)
    summaries.write(path, summary)
    data = json.loads(path.read_text())
    assert data["schema"] == 3 and "sections" not in data
    assert data["judge"]["variant"]["agreement"] == 75.0 and data["tir"]["settings"]["tool_timeout_s"] == 2.0
    again = summaries.read(path)
    assert again == summary
    assert isinstance(again.judge.ledger["o3-mini"], summaries.JudgeLedger)
    assert isinstance(again.agreement.verdicts[0].disagreements[0], summaries.Disagreement)
    # the variant judge's number is an OPEN candidate of its own, by name, never a key of `variants`
    assert again.open_variants() == {"judge o3-mini": 37.5} and again.variants == {}

    report.write_run_report(tmp_path, [], extras=False)
    md = (tmp_path / "report.md").read_text()
    assert "(judge gpt-4o; variant o3-mini, agreement 75%)" in md and "judge o3-mini 37.5" in md
    assert "| hle | variant o3-mini | o3-mini-2025-01-31 | 0 | 75 | 4 |" in md  # the Judges table
    assert "| hle | judge gpt-4o | gpt-4o-2024-08-06 | 1 of 4 |" in md
    assert "bfcl-eval 2026.3.23" in md and "web_search: no SERPAPI_API_KEY" in md  # the harnesses table
    assert "calibration error 12.5" in md  # the task's own metrics
    assert "| symbolic_correct | sample | headline | 4 | 3 | 75.0 |" in md  # the agreement section
    assert "| ArenaHard v2 Hard Prompt | hle | 40.0 [30.0, 50.0]" in md  # a further card row from the same scores
    # the gap section's cells come from the typed record, not from its own text
    gap = next(g for g in explain.explain_tasks(results.scan(tmp_path)) if g.benchmark == "HLE (no tool)")
    assert (gap.graded_by, gap.data) == ("gpt-4o", "generated")
    assert "| generated | gpt-4o |" in md


def test_a_schema_2_summary_is_rebuilt_from_its_scores(tmp_path):
    task_dir = write_fake_task(tmp_path, "aime25", "AIME 2025", {"1": ["correct", "wrong"], "2": ["correct", "correct"]})
    path = task_dir / "summary.json"
    old = json.loads(path.read_text())
    for name in ("metrics", "card_rows", *summaries.FACTS):
        old.pop(name)
    old.update(schema=2, value=1.0, sections={"judge": {"name": "gpt-4o"}, "metrics": {"x": 1.0}})
    path.write_text(json.dumps(old))
    [task] = results.scan(tmp_path)
    assert task.summary.value == pytest.approx(75.0) and not task.summary.complete  # from scores.jsonl
    assert [n.kind for n in task.notes] == ["rebuilt"] and "schema 2" in task.notes[0].text
    table = report.write_run_report(tmp_path, [], extras=False)
    assert "numbers recomputed from its scores" in table
    assert json.loads(path.read_text())["schema"] == 2  # a report never rewrites the run's files
    # a summary made in this process replaces the rebuilt one, and its note goes with it
    assert "recomputed" not in report.write_run_report(tmp_path, [task.summary], extras=False)
