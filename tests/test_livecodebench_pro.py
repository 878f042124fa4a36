"""LiveCodeBench Pro 25Q2: loading the problems and their test archives (the project's own sample
set, in the benchmark's layout), the prompt, the card rows, and runs through the real CLI whose
C++ programs get the right verdicts from the real judge."""
from __future__ import annotations

import io
import json
import sys
import zipfile
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from evalsuite.config import compose
from evalsuite.contest_tasks import parse_memory, parse_time
from evalsuite.sandbox.contest_judge import toolchain_missing
from evalsuite.errors import UserError
from tests.conftest import ROOT, task_cfg
from tasks import livecodebench_pro as lcbp

sys.path.insert(0, str(ROOT / "tests" / "fixtures"))
import contest_solutions as cs  # noqa: E402

needs_gpp = pytest.mark.skipif(toolchain_missing() is not None, reason=toolchain_missing() or "")


def make_cfg(**task_overrides):
    return task_cfg("livecodebench_pro", **task_overrides)


# ------------------------------------------------------------------------------------ loading

def test_sample_set_loads_in_the_benchmarks_layout():
    samples = {s.id: s for s in lcbp.load(make_cfg())}
    assert {k: s.meta["difficulty"] for k, s in samples.items()} == {"lcbp-s1": "easy", "lcbp-s2": "medium",
                                                                      "lcbp-s3": "hard"}
    prompt = samples["lcbp-s1"].messages[0]["content"]
    assert prompt.startswith("You are given n integers") and prompt.endswith("```cpp\n// Your solution code here\n```")
    plain, checked, interactive = (lcbp._problem(samples[p], make_cfg()) for p in ("lcbp-s1", "lcbp-s2", "lcbp-s3"))
    assert (plain.time_limit_s, plain.memory_mb, plain.checker, len(plain.tests)) == (1.0, 256, "tokens", 4)
    assert checked.checker == "testlib" and "testlib's calling convention" in checked.checker_source
    assert interactive.interactor_source and interactive.checker == "tokens"
    assert [s.id for s in lcbp.load(make_cfg(difficulty="medium"))] == ["lcbp-s2"]
    with pytest.raises(UserError, match="unknown task.difficulty"):
        lcbp.load(make_cfg(difficulty="brutal"))


def _zip(files: dict[str, str]) -> dict[str, bytes]:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    with zipfile.ZipFile(io.BytesIO(buf.getvalue())) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def test_archive_layouts_and_limits():
    files = _zip({"config.yaml": "time: 1500ms\nmemory: 262144k\ncases:\n  - {input: a.in, output: a.out}\n",
                  "testdata/a.in": "1\n", "testdata/a.out": "2\n"})
    p = lcbp.problem_from_archive("x", files, "x")
    assert (p.time_limit_s, p.memory_mb, [t.answer for t in p.tests]) == (1.5, 256, ["2\n"])
    # no config: numbered pairs in numeric order, the judge's default limits
    p = lcbp.problem_from_archive("y", _zip({"testdata/10.in": "c", "testdata/10.ans": "C", "testdata/2.in": "b",
                                             "testdata/2.ans": "B"}), "y")
    assert [t.input for t in p.tests] == ["b", "c"] and p.time_limit_s == 2.0
    assert (parse_time("2s", ""), parse_time(1000, ""), parse_memory("1g", ""), parse_memory(512, "")) == (2.0, 1.0, 1024, 512)


@pytest.mark.parametrize("files, needle", [
    ({"config.yaml": "subtasks:\n  - {score: 100, n_cases: 2}\n", "testdata/1.in": "", "testdata/1.ans": ""},
     "test 2.in / 2.ans is missing"),
    ({"config.yaml": "type: submit_answer\n", "testdata/1.in": "", "testdata/1.ans": ""}, "is not judged here"),
    ({"config.yaml": "type: interactive\n", "testdata/1.in": "", "testdata/1.ans": ""}, "without its interactor"),
    ({"config.yaml": "checker: chk.cc\n", "testdata/1.in": "", "testdata/1.ans": ""}, "checker chk.cc is missing"),
    ({"config.yaml": "time: soon\n", "testdata/1.in": "", "testdata/1.ans": ""}, "is not like 2s"),
    ({"config.yaml": ": [\n"}, "is not YAML"),
    ({"README": "x"}, "holds no tests"),
])
def test_bad_archives_are_one_line_errors(files, needle):
    with pytest.raises(UserError, match=needle.replace(".", r"\.").replace("(", r"\(")):
        lcbp.problem_from_archive("p", _zip(files), "problem p")


def test_the_hub_tests_are_fetched_when_scored_and_a_failure_names_the_fix(tmp_path):
    cfg = make_cfg()
    cfg.data.source = "hub"
    sample = lcbp.load(make_cfg())[0]
    hub_sample = type(sample)(sample.id, sample.messages, {"archive": None}, sample.meta)
    with pytest.raises(UserError, match="LiveCodeBench-Pro-Testcase .*task.tests_dir=DIR"):
        lcbp._problem(hub_sample, cfg)  # offline here: one line with the fixes
    cfg.task.tests_dir = str(tmp_path)
    with pytest.raises(UserError, match="has no lcbp-s1.zip"):
        lcbp.load(OmegaConf.merge(cfg, {"data": {"path": str(ROOT / "tasks/samples/livecodebench_pro.jsonl")}}))


def test_the_card_rows_and_the_suites():
    assert "livecodebench_pro" in compose(["suite=card"]).suite.tasks
    assert "livecodebench_pro" in compose(["suite=card_tir"]).suite.tasks
    cfg = compose(["task=livecodebench_pro"])
    assert cfg.task.benchmark == "LiveCodeBenchPro 25Q2 (Easy)" and cfg.task.dataset.split == "quater_2025_4_6"
    assert len(cfg.task.dataset.revision) == 40 and len(cfg.task.dataset.tests_revision) == 40


def test_no_compiler_is_a_scoring_error_naming_the_fix():
    cfg = make_cfg(compiler="no-such-g++")
    sample = lcbp.load(make_cfg())[0]
    grade = lcbp.score(sample, "```cpp\nint main(){}\n```", cfg)
    assert grade.value == 0.0 and "make setup" in grade.scoring_error


@needs_gpp
def test_a_broken_archive_is_a_scoring_error_not_a_wrong_answer(tmp_path):
    (tmp_path / "lcbp-s1.zip").write_bytes(b"not a zip")
    sample = lcbp.load(make_cfg())[0]
    broken = type(sample)(sample.id, sample.messages, {"archive": str(tmp_path / "lcbp-s1.zip")}, sample.meta)
    grade = lcbp.score(broken, "```cpp\nint main(){}\n```", make_cfg())
    assert grade.detail["verdict"] == "no_tests" and "not a readable zip" in grade.scoring_error


# ------------------------------------------------------------------------------------ the CLI

def _answer(code: str) -> str:
    return "The idea is simple.\n\n```cpp\n" + code + "\n```\n"


def _run(cli, tmp_path, name: str, programs: dict[str, list[str]], *extra: str, cache: Path) -> Path:
    """A scoring run of these programs (k = 0, 1, ... per problem) through `python -m evalsuite`."""
    responses = tmp_path / f"{name}.jsonl"
    n = max(len(v) for v in programs.values())
    with responses.open("w") as f:
        for pid, codes in programs.items():
            for k in range(n):
                f.write(json.dumps({"id": pid, "k": k, "response": _answer(codes[k % len(codes)])}) + "\n")
    run_dir = tmp_path / name
    proc = cli("task=livecodebench_pro", "data=sample", f"samples={n}", "stage=score", f"responses={responses}",
               f"run_dir={run_dir}", "task.workers=2", *extra, env={"EVALSUITE_CONTEST_CACHE": str(cache)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return run_dir


def _scores(run_dir: Path) -> dict[tuple[str, int], dict]:
    rows = [json.loads(line) for line in (run_dir / "livecodebench_pro" / "scores.jsonl").read_text().splitlines()]
    return {(r["sample_id"], r["k"]): r for r in rows}


@needs_gpp
def test_verdicts_through_the_cli_and_a_rescore_that_compiles_nothing(cli, tmp_path):
    by_problem: dict[str, list[str]] = {}
    for (pid, name) in cs.EXPECTED:
        by_problem.setdefault(pid, []).append(name)
    programs = {pid: [cs.PROGRAMS[n] for n in names] for pid, names in by_problem.items()}
    cache = tmp_path / "binaries"
    run_dir = _run(cli, tmp_path, "verdicts", programs, cache=cache)
    scores = _scores(run_dir)
    n = max(len(v) for v in programs.values())
    for pid, names in by_problem.items():
        for k in range(n):
            name = names[k % len(names)]
            assert scores[(pid, k)]["detail"]["verdict"] == cs.EXPECTED[(pid, name)], (pid, name, scores[(pid, k)]["detail"])
    assert "expected initializer" in scores[("lcbp-s1", 4)]["detail"]["message"]
    run = json.loads((run_dir / "livecodebench_pro" / "run.json").read_text())["scoring_environment"]
    assert run["judge"]["flags"] == ["-O2", "-std=gnu++17"] and run["judge"]["time_scale"] == 1.0
    assert run["judge"]["version"].startswith("g++") and run["sandbox"]["seccomp"] is not None
    summary = json.loads((run_dir / "livecodebench_pro" / "summary.json").read_text())
    rows = summary["card_rows"]
    assert set(rows) == {"LiveCodeBenchPro 25Q2 (Med)", "LiveCodeBenchPro 25Q2 (Hard)"}
    assert {c["by"]["difficulty"]: c["items"] for c in summary["breakdown"] if "difficulty" in c["by"]} == \
        {"easy": 1, "medium": 1, "hard": 1}
    report = (run_dir / "report.md").read_text()
    assert "LiveCodeBenchPro 25Q2 (Easy)" in report and "LiveCodeBenchPro 25Q2 (Med)" in report

    # the same answers scored again (another run dir): every binary comes from the cache
    again = _scores(_run(cli, tmp_path, "rescore", programs, cache=cache))
    compiled = [s["detail"] for s in again.values() if s["detail"]["verdict"] != "no_code"]
    assert compiled and all(d["compile_cached"] for d in compiled)
    assert {key: s["detail"]["verdict"] for key, s in again.items()} == \
        {key: s["detail"]["verdict"] for key, s in scores.items()}


@needs_gpp
def test_right_programs_score_every_row_and_the_time_scale_is_a_deviation(cli, tmp_path):
    programs = {"lcbp-s1": [cs.PAIRS_RIGHT], "lcbp-s2": [cs.SPLIT_RIGHT], "lcbp-s3": [cs.GUESS_RIGHT]}
    run_dir = _run(cli, tmp_path, "right", programs, "task.time_scale=2", cache=tmp_path / "binaries")
    summary = json.loads((run_dir / "livecodebench_pro" / "summary.json").read_text())
    assert summary["value"] == 100.0
    rows = summary["card_rows"]
    assert all(cell["value"] == 100.0 for cell in rows.values())
    assert any("time limits scaled by 2" in d for d in summary["deviations"])
    assert not any("workers" in d for d in summary["deviations"])  # how the judge runs, not what it measures
    assert json.loads((run_dir / "livecodebench_pro" / "run.json").read_text())["scoring_environment"]["judge"]["time_scale"] == 2.0


@needs_gpp
def test_hostile_programs_through_the_cli(cli, tmp_path):
    hostile = [cs.HOSTILE["fork_bomb"], cs.HOSTILE["reads_answers"], cs.SPLIT_FORGES_CHECKER,
               cs.COMPILER_BOMBS["includes_itself"], cs.HOSTILE["refused_syscalls"]]
    run_dir = _run(cli, tmp_path, "hostile", {"lcbp-s2": hostile}, cache=tmp_path / "binaries")
    scores = _scores(run_dir)
    assert all(s["value"] == 0.0 for s in scores.values()), scores
    assert scores[("lcbp-s2", 3)]["detail"]["verdict"] == "compile_error"
    honest = _scores(_run(cli, tmp_path, "honest", {"lcbp-s2": [cs.HOSTILE["outlives_its_test"]]}, cache=tmp_path / "binaries"))
    assert honest[("lcbp-s2", 0)]["value"] == 1.0
