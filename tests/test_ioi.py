"""IOI 2025: the open IOI schema (the project's own two sample problems: a grader, a CMS-order
partial checker, subtasks sharing tests), IOI's subtask and problem rules, and runs through the
real CLI whose C++ submissions get their points from the real judge."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from evalsuite.config import compose
from evalsuite.sandbox.contest_judge import toolchain_missing
from evalsuite.errors import UserError
from evalsuite.types import Score
from tests.conftest import ROOT, task_cfg
from tasks import ioi

sys.path.insert(0, str(ROOT / "tests" / "fixtures"))
import ioi_solutions as sol  # noqa: E402

needs_gpp = pytest.mark.skipif(toolchain_missing() is not None, reason=toolchain_missing() or "")


def make_cfg(**task_overrides):
    return task_cfg("ioi25", workers=2, **task_overrides)


def _answer(code: str) -> str:
    return "Subtask by subtask.\n\n```cpp\n" + code + "\n```\n"


# ------------------------------------------------------------------------------------ loading

def test_sample_set_loads_in_the_open_ioi_schema():
    samples = {s.id: s for s in ioi.load(make_cfg())}
    assert list(samples) == ["total", "peak"]
    total = samples["total"].reference
    assert [(s["name"], s["points"]) for s in total["subtasks"]] == [("00-samples", 0), ("01-small", 40), ("02-full", 60)]
    assert (total["time_limit_s"], total["memory_mb"]) == (1.0, 256)
    assert set(total["graders"]) == {"grader.cpp", "total.h"} and "CMS order" in total["checker"]
    assert samples["peak"].reference["checker"] is None
    assert samples["total"].messages[0]["content"].endswith("must not read from stdin, write to stdout or define `main`.")
    problem, names = ioi.judge_problem(total, ioi.test_cases(make_cfg())["total"])
    # the tests that subtasks share run once
    assert names == ["0-01", "1-01", "1-02", "2-01", "2-02"] and problem.partial and problem.checker_protocol == "cms"
    # NeMo-Skills' ioi24 layout: one prompt per scored subtask, the problem's submissions pooled
    per_subtask = ioi.load(make_cfg(prompt_per="subtask"))
    assert [s.id for s in per_subtask] == ["total/01-small", "total/02-full", "peak/01-small", "peak/02-full"]


@pytest.mark.parametrize("change, needle", [
    (lambda r: r.pop("test_names"), "missing columns \\['test_names'\\]"),
    (lambda r: r.update(task_type="Communication"), "task type 'Communication' is not judged here"),
    (lambda r: r.update(grader_files=[["checker/checker.cpp", "int main(){}"]]), "no grader source"),
    (lambda r: r.update(memory_limit="lots"), "memory_limit 'lots' is not a number"),
    (lambda r: r.update(year=2024), "no problems of year 2025"),
])
def test_bad_problem_rows_are_one_line_errors(tmp_path, change, needle):
    row = json.loads((ROOT / "tasks/samples/ioi25.jsonl").read_text().splitlines()[0])
    change(row)
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps(row) + "\n")
    cfg = OmegaConf.merge(make_cfg(), {"data": {"path": str(path)}})
    with pytest.raises(UserError, match=needle):
        ioi.load(cfg)


def test_missing_tests_are_a_scoring_error_naming_the_fix(tmp_path):
    tests = tmp_path / "tests.jsonl"
    tests.write_text(json.dumps({"problem_id": "total", "test_name": "0-01", "test_input": "1\n1\n", "test_output": "1\n"}) + "\n")
    sample = ioi.load(make_cfg())[0]
    grade = ioi.score(sample, _answer(sol.TOTAL_RIGHT), make_cfg(tests_path=str(tests)))
    assert grade.value == 0.0 and "are not in the test cases" in grade.scoring_error
    with pytest.raises(UserError, match="is not a file"):
        ioi.test_cases(make_cfg(tests_path=str(tmp_path / "none.jsonl")))


# ------------------------------------------------------------------------------------ the rules

SUBTASKS = [{"name": "a", "points": 30.0, "tests": []}, {"name": "b", "points": 70.0, "tests": []}]


def test_problem_points_are_the_best_per_subtask_and_round_robin_keeps_the_top_submissions():
    subs = [{"a": 30.0, "b": 0.0}, {"a": 0.0, "b": 35.0}, {"a": 0.0, "b": 0.0}]
    assert ioi.best_per_subtask(SUBTASKS, subs) == {"a": 30.0, "b": 35.0}
    # the round-robin figure keeps the 1 submission with the most points: only its subtasks count
    assert ioi.round_robin(SUBTASKS, subs, 1) == {"a": 0.0, "b": 35.0}
    assert ioi.best_per_subtask(SUBTASKS, []) == {"a": 0.0, "b": 0.0}


def test_headline_sums_problems_with_cells_per_problem_and_subtask():
    samples = {s.id: s for s in ioi.load(make_cfg())}
    scores = [Score("total", 0, 0.4, "x", False, False, {"subtask_points": {"00-samples": 0, "01-small": 40, "02-full": 0}}),
              Score("total", 1, 0.3, "x", False, False, {"subtask_points": {"00-samples": 0, "01-small": 0, "02-full": 30}}),
              Score("peak", 0, 0.0, None, False, False, {"verdict": "no_code"})]
    h = ioi.headline(samples, scores, make_cfg(round_robin_limit=1))
    assert h.value == 70.0 and h.variants == {"round_robin_1": 40.0}
    cells = {tuple(sorted(c.by.items())): c.value for c in h.cells}
    assert cells[(("problem", "total"),)] == 70.0 and cells[(("problem", "peak"),)] == 0.0
    assert cells[(("subtask", "total/02-full"),)] == 30.0


# ------------------------------------------------------------------------------------ the judge

@needs_gpp
def test_every_submission_gets_its_points_from_the_real_judge():
    samples = {s.id: s for s in ioi.load(make_cfg())}
    pairs = [(samples[pid], _answer(sol.PROGRAMS[name])) for pid, name in sol.POINTS]
    grades = list(ioi.score_batch(pairs, make_cfg()))
    for (key, want), grade in zip(sol.POINTS.items(), grades):
        assert grade.detail["subtask_points"] == want, (key, grade.detail)
    by_name = {name: g.detail for (_, name), g in zip(sol.POINTS, grades)}
    assert by_name["TOTAL_NOT_COMPILING"]["verdict"] == "compile_error"
    assert by_name["TOTAL_OWN_MAIN"]["verdict"] == "compile_error" and "main" in by_name["TOTAL_OWN_MAIN"]["message"]
    assert by_name["TOTAL_SPINS"]["verdict"] == "timeout"
    assert "partially correct" in by_name["TOTAL_CLOSE"]["message"]


# ------------------------------------------------------------------------------------ the CLI

def _run(cli, tmp_path, name: str, programs: dict[str, list[str]], *extra: str) -> Path:
    responses = tmp_path / f"{name}.jsonl"
    n = max(len(v) for v in programs.values())
    with responses.open("w") as f:
        for pid, names in programs.items():
            for k in range(n):
                f.write(json.dumps({"id": pid, "k": k, "response": _answer(sol.PROGRAMS[names[k % len(names)]])}) + "\n")
    run_dir = tmp_path / name
    proc = cli("task=ioi25", "data=sample", f"samples={n}", "stage=score", f"responses={responses}",
               f"run_dir={run_dir}", "task.workers=2", *extra, env={"EVALSUITE_CONTEST_CACHE": str(tmp_path / "binaries")})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return run_dir


@needs_gpp
def test_points_through_the_cli_beside_the_card_and_a_rescore_that_compiles_nothing(cli, tmp_path):
    # total: one submission passes subtask 1 only, one earns half of subtask 2, one does not compile;
    # peak: the small subtask twice, then a full solution
    programs = {"total": ["TOTAL_OVERFLOWS", "TOTAL_CLOSE", "TOTAL_NOT_COMPILING"],
                "peak": ["PEAK_SMALL_ONLY", "PEAK_SMALL_ONLY", "PEAK_RIGHT"]}
    run_dir = _run(cli, tmp_path, "points", programs)
    scores = [json.loads(line) for line in (run_dir / "ioi25" / "scores.jsonl").read_text().splitlines()]
    only_one = next(s for s in scores if s["sample_id"] == "total" and s["k"] == 0)
    assert only_one["detail"]["subtask_points"] == {"00-samples": 0.0, "01-small": 40.0, "02-full": 0.0}
    summary = json.loads((run_dir / "ioi25" / "summary.json").read_text())
    assert summary["value"] == 170.0 and summary["metric"] == "points of 200"  # total 40 + 30, peak 30 + 70
    cells = {tuple(sorted(c["by"].items())): c["value"] for c in summary["breakdown"]}
    assert cells[(("subtask", "total/02-full"),)] == 30.0 and cells[(("problem", "peak"),)] == 100.0
    report = (run_dir / "report.md").read_text()
    assert "| subtask | total/01-small | 40.0 | 3 |" in report
    row = next(line for line in report.splitlines() if "| IOI 2025 |" in line)
    assert "170.0" in row and "439.3" in row and "348.6" in row
    run = json.loads((run_dir / "ioi25" / "run.json").read_text())["scoring_environment"]
    assert run["judge"]["flags"] == ["-DEVAL", "-std=gnu++20", "-O2", "-pipe"]

    again = [json.loads(line) for line in (_run(cli, tmp_path, "rescore", programs) / "ioi25" / "scores.jsonl")
             .read_text().splitlines()]
    assert all(s["detail"]["compile_cached"] for s in again)
    assert [s["detail"]["subtask_points"] for s in again] == [s["detail"]["subtask_points"] for s in scores]


@needs_gpp
def test_hostile_submissions_through_the_cli_earn_nothing(cli, tmp_path):
    run_dir = _run(cli, tmp_path, "hostile", {"total": ["TOTAL_FORGES_VERDICT", "TOTAL_READS_ANSWERS", "TOTAL_OWN_MAIN"],
                                              "peak": ["PEAK_RIGHT"]})
    summary = json.loads((run_dir / "ioi25" / "summary.json").read_text())
    assert summary["value"] == 100.0  # peak's 100; nothing from total


def test_the_card_row_and_the_suite():
    assert "ioi25" in compose(["suite=card_code"]).suite.tasks
    cfg = compose(["task=ioi25"])
    assert cfg.task.benchmark == "IOI 2025" and cfg.samples == 50


def test_preflight_names_missing_test_cases(tmp_path):
    cfg = OmegaConf.merge(make_cfg(), {"data": {"path": str(ROOT / "tasks/samples/ioi25.jsonl"), "source": "hub"}})
    problems = ioi.preflight(cfg)
    assert problems and "ioi25_tests.jsonl" in problems[0]
    assert ioi.preflight(make_cfg()) == ([] if toolchain_missing() is None else [f"ioi25: {toolchain_missing()}"])


@needs_gpp
def test_prepare_fetches_and_checksums_the_problems_and_their_tests(tmp_path):
    hub = tmp_path / "hub"  # the dataset repository's layout, as a local directory
    hub.mkdir()
    shutil.copy(ROOT / "tasks/samples/ioi25.jsonl", hub / "test.jsonl")
    shutil.copy(ROOT / "tasks/samples/ioi25/ioi25_tests.jsonl", hub / "ioi25_tests.jsonl")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT), "EVALSUITE_CONTEST_CACHE": str(tmp_path / "bin")}
    prep = subprocess.run([sys.executable, "-m", "evalsuite", "prepare", "task=ioi25", f"data_dir={tmp_path / 'data'}",
                           f"task.dataset.hub_id={hub}"], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert prep.returncode == 0, prep.stderr[-2000:]
    entry = json.loads((tmp_path / "data" / "manifest.json").read_text())["datasets"]["ioi25"]
    tests = entry["dataset_files"]["ioi25_tests.jsonl"]
    assert entry["rows"] == 6 and entry["files"][tests]["sha256"] in (tmp_path / "data" / "SHA256SUMS").read_text()
    responses = tmp_path / "r.jsonl"
    responses.write_text(json.dumps({"id": "peak", "k": 0, "response": _answer(sol.PEAK_SMALL_ONLY)}) + "\n")
    run = subprocess.run([sys.executable, "-m", "evalsuite", "task=ioi25", "data=hub", f"data_dir={tmp_path / 'data'}",
                          f"task.dataset.hub_id={hub}", "samples=1", "stage=score", f"responses={responses}",
                          f"run_dir={tmp_path / 'run'}", "task.workers=1"], cwd=ROOT, capture_output=True, text=True,
                         timeout=600, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads((tmp_path / "run" / "ioi25" / "summary.json").read_text())["value"] == 30.0
