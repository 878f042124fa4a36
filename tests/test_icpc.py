"""ICPC World Finals 2025: Kattis problem packages (the project's own two: an interactive problem
with a Kattis-protocol interactor, a float-tolerance one), verdicts from the real judge, and the
"solved / 12" headline through the real CLI."""
from __future__ import annotations

import json
import shutil
import sys

import pytest

from evalsuite.card import card_rows, card_value
from evalsuite.config import compose
from evalsuite.sandbox.contest_judge import toolchain_missing
from evalsuite.errors import UserError
from tests.conftest import ROOT, task_cfg
from tasks import icpc

SAMPLES = ROOT / "tasks" / "samples" / "icpc_wf25"
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))
import icpc_solutions as sol  # noqa: E402

needs_gpp = pytest.mark.skipif(toolchain_missing() is not None, reason=toolchain_missing() or "")


def make_cfg(**task_overrides):
    return task_cfg("icpc_wf25", workers=2, **task_overrides)


def test_packages_load_in_the_kattis_layout():
    samples = {s.id: s for s in icpc.load(make_cfg())}
    assert list(samples) == ["area", "guess"] and samples["guess"].meta["interactive"]
    assert samples["area"].messages[0]["content"].startswith("\\problemname{Polygon Area}")
    guess, _ = icpc.load_package(SAMPLES / "guess")
    assert guess.interactor_source and guess.checker_protocol == "kattis" and len(guess.tests) == 5
    assert (guess.time_limit_s, guess.memory_mb) == (1.0, 256)
    area, _ = icpc.load_package(SAMPLES / "area")
    assert area.checker == "float" and area.float_tolerance == 1e-6


@pytest.mark.parametrize("edit, needle", [
    (lambda d: (d / "problem.yaml").write_text("name: x\nvalidation: default\n"), "no time limit"),
    (lambda d: (d / "problem.yaml").write_text("name: x\nvalidation: score\nlimits: {time_limit: 1}\n"), "is not judged here"),
    (lambda d: shutil.rmtree(d / "output_validators"), "needs one C\\+\\+ output validator"),
    (lambda d: (d / "data" / "secret" / "02.ans").unlink(), "has no .ans beside it"),
    (lambda d: (d / "problem.yaml").write_text(": [\n"), "is not YAML"),
])
def test_bad_packages_are_one_line_errors(tmp_path, edit, needle):
    folder = tmp_path / "guess"
    shutil.copytree(SAMPLES / "guess", folder)
    edit(folder)
    with pytest.raises(UserError, match=needle):
        icpc.load_package(folder)


def test_without_an_archive_the_error_names_the_fix():
    cfg = make_cfg()
    cfg.data.source = "hub"
    with pytest.raises(UserError, match="task.archive_dir=DIR"):
        icpc.load(cfg)


def test_the_card_row_reads_solved_of_twelve():
    assert card_value("ICPC World Finals 2025") == 10.0
    assert [r.value for r in card_rows() if r.score == "10/12"] == [10.0]


@needs_gpp
def test_verdicts_from_the_real_judge():
    samples = {s.id: s for s in icpc.load(make_cfg())}
    pairs = [(samples[pid], f"```cpp\n{sol.PROGRAMS[name]}\n```") for pid, name in sol.VERDICTS]
    for (key, want), grade in zip(sol.VERDICTS.items(), icpc.score_batch(pairs, make_cfg())):
        assert grade.detail["verdict"] in want.split("|"), (key, grade.detail)
        assert grade.value == (1.0 if want == "pass" else 0.0)


@needs_gpp
def test_solved_through_the_cli(cli, tmp_path):
    responses = tmp_path / "r.jsonl"
    programs = {"guess": ["GUESS_LINEAR", "GUESS_HOSTILE", "GUESS_RIGHT"], "area": ["AREA_WRONG", "AREA_WRONG", "AREA_WRONG"]}
    with responses.open("w") as f:
        for pid, names in programs.items():
            for k, name in enumerate(names):
                f.write(json.dumps({"id": pid, "k": k, "response": f"```cpp\n{sol.PROGRAMS[name]}\n```"}) + "\n")
    run_dir = tmp_path / "run"
    proc = cli("task=icpc_wf25", "data=sample", "samples=3", "stage=score", f"responses={responses}", f"run_dir={run_dir}",
               "task.workers=2", env={"EVALSUITE_CONTEST_CACHE": str(tmp_path / "binaries")})
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((run_dir / "icpc_wf25" / "summary.json").read_text())
    # guess is solved by its third submission, area by none; the first submissions solve nothing
    assert summary["value"] == 1.0 and summary["variants"] == {"first_submission": 0.0}
    assert summary["metric"] == "problems solved of 2"  # the unit, not avg@3
    report = (run_dir / "report.md").read_text()
    row = next(line for line in report.splitlines() if "| ICPC World Finals 2025 |" in line)
    assert "10/12" in row and "-9.0" in row and "| problems solved of 2 |" in row
    other = next(line for line in report.split("## Other metrics")[1].splitlines() if line.startswith("| icpc_wf25 |"))
    assert other.startswith("| icpc_wf25 | - | - |")  # no pass@k / maj@k of a count of problems


def test_the_suite():
    assert "icpc_wf25" in compose(["suite=card_code"]).suite.tasks
    assert compose(["task=icpc_wf25"]).task.benchmark == "ICPC World Finals 2025"


def test_preflight_loads_every_package(tmp_path):
    shutil.copytree(SAMPLES, tmp_path / "wf")
    (tmp_path / "wf" / "area" / "problem.yaml").write_text("name: x\n")
    problems = icpc.preflight(make_cfg(archive_dir=str(tmp_path / "wf")))
    assert problems and "area: no time limit" in problems[0]
