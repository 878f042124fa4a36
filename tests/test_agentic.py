"""The agentic family (evalsuite/agentic.py, agentic_stage.py): official harnesses run as subprocesses in their own
venvs, their result files imported item by item.

BFCL v4 runs end to end through the REAL bfcl-eval (its pinned version, in the venv that `evalsuite
prepare task=bfcl_v4` makes) against a STAND-IN model on localhost (tests/tool_call_stand_in_server.py:
scripted tool calls, since no model that makes tool calls runs here). Those tests skip when the
harness's venv is absent (it is several GB: `evalsuite prepare task=bfcl_v4` makes it).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evalsuite.config import compose
from tests.conftest import ROOT, assert_one_line_error, free_port, wait_until_serving

BFCL_PYTHON = Path(os.environ.get("EVALSUITE_CACHE", Path.home() / ".cache" / "evalsuite")).expanduser() / \
    "harnesses" / "bfcl-eval-2026.3.23" / "bin" / "python"
needs_bfcl = pytest.mark.skipif(not (BFCL_PYTHON.parent.parent / "INSTALLED").exists(),
                                reason="bfcl-eval's venv is not installed (evalsuite prepare task=bfcl_v4)")

# four simple_python entries of bfcl-eval 2026.3.23: two right calls, a wrong value, a text answer
SCRIPT = {"model_id": "stand-in", "replies": [
    {"match": "area of a triangle with a base of 10",
     "tool_calls": [{"name": "calculate_triangle_area", "arguments": {"base": 10, "height": 5}}]},
    {"match": "factorial of 5", "tool_calls": [{"name": "math_factorial", "arguments": {"number": 6}}]},
    {"match": "hypotenuse", "content": "The hypotenuse is about 6.4."},
    {"match": "roots of a quadratic",
     "tool_calls": [{"name": "algebra_quadratic_roots", "arguments": {"a": 1, "b": -3, "c": 2}}]},
]}
EXPECTED = {"simple_python_0": 1.0, "simple_python_1": 0.0, "simple_python_2": 0.0, "simple_python_3": 1.0}


class StandIn:
    """The stand-in tool-calling model as a real server process on localhost."""

    def __init__(self, tmp: Path, delay_s: float = 0.0):
        self.port, self.log, script = free_port(), tmp / "requests.jsonl", tmp / "script.json"
        script.write_text(json.dumps({**SCRIPT, "delay_s": delay_s}))
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "tool_call_stand_in_server.py"), "--port",
                                      str(self.port), "--script", str(script), "--log", str(self.log)],
                                     cwd=ROOT / "tests")
        wait_until_serving(self.base_url, self.proc, 20, "the stand-in tool-calling model")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def requests(self) -> list[dict]:
        return [json.loads(line) for line in self.log.read_text().splitlines()] if self.log.exists() else []

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def bfcl_args(server: StandIn, run: Path, *extra: str) -> list[str]:
    return ["task=bfcl_v4", "task.categories=[simple_python]", "limit=4", "backend=openai",
            f"backend.base_url={server.base_url}", "backend.model_id=stand-in", f"run_dir={run}", *extra]


def verdicts(task_dir: Path) -> dict[str, float]:
    return {r["sample_id"]: r["value"] for r in map(json.loads, (task_dir / "scores.jsonl").read_text().splitlines())}


@needs_bfcl
def test_bfcl_v4_end_to_end_through_the_real_harness(cli, tmp_path):
    server = StandIn(tmp_path)
    try:
        run = tmp_path / "run"
        proc = cli(*bfcl_args(server, run))
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "bfcl-eval: " in proc.stderr  # the harness's own progress, streamed
        task = run / "bfcl_v4"
        assert verdicts(task) == EXPECTED
        first = json.loads((task / "generations.jsonl").read_text().splitlines()[1])
        record = json.loads(first["text"])
        assert record["verdict"] == 0.0 and "number" in json.dumps(record["detail"]["error"])
        assert (task / record["trajectory"].removeprefix("harness/")).exists() or (task / record["trajectory"]).exists()
        summary = json.loads((task / "summary.json").read_text())
        assert summary["value"] == pytest.approx(50.0)
        harness = summary["harness"]
        assert (harness["name"], harness["version"]) == ("bfcl-eval", "2026.3.23")
        assert json.loads((task / "run.json").read_text())["harness"]["settings"]["categories"] == ["simple_python"]
        assert len(server.requests()) == 4
        # a rerun imports nothing new and asks the model nothing
        again = cli(*bfcl_args(server, run))
        assert again.returncode == 0 and "every runnable item already imported" in again.stderr
        assert len(server.requests()) == 4
        report = (run / "report.md").read_text()
        assert "BFCL v4" in report and "52.9" in report  # beside the card's number
    finally:
        server.stop()


@needs_bfcl
def test_bfcl_v4_killed_mid_run_loses_nothing_and_runs_nothing_twice(tmp_path):
    server = StandIn(tmp_path, delay_s=1.5)
    try:
        run = tmp_path / "run"
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        argv = [sys.executable, "-m", "evalsuite", *bfcl_args(server, run, "task.threads=1")]
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        deadline = time.time() + 120
        while len(server.requests()) < 2 and time.time() < deadline:
            time.sleep(0.1)
        assert len(server.requests()) >= 2, "the harness never reached the model"
        os.killpg(proc.pid, signal.SIGKILL)  # the whole job, harness included, at once
        proc.wait()
        time.sleep(2.5)  # a request in flight at the kill is answered (and logged) by the server
        result = next((run / "bfcl_v4" / "harness" / "result").rglob("BFCL_v4_simple_python_result.json"))
        kept = {json.loads(line)["id"] for line in result.read_text().splitlines() if line.endswith("}")}
        asked_before = len(server.requests())
        assert 1 <= len(kept) < 4

        done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        assert verdicts(run / "bfcl_v4") == EXPECTED  # nothing lost
        # nothing run twice: after the restart the model is asked only for the entries bfcl had not kept
        assert len(server.requests()) - asked_before == 4 - len(kept)
        lines = [json.loads(line)["id"] for line in result.read_text().splitlines()]
        assert sorted(lines) == sorted(EXPECTED)  # each entry once in bfcl's own file
    finally:
        server.stop()


def test_without_the_harness_the_preflight_says_how_to_install_it(cli, tmp_path, embedded_model_dir):
    cache = tmp_path / "cache"  # a cache with the embedded model and no harness
    cache.mkdir()
    (cache / "smollm2-135m").symlink_to(embedded_model_dir.parent)
    proc = cli("task=bfcl_v4", "task.categories=[simple_python]", "backend=openai", "backend.base_url=http://127.0.0.1:9/v1", f"run_dir={tmp_path / 'r'}",
               env={"EVALSUITE_CACHE": str(cache)})
    assert_one_line_error(proc, "bfcl-eval 2026.3.23 is not installed", "evalsuite prepare task=bfcl_v4")


@needs_bfcl
def test_web_search_without_a_key_is_not_run_and_the_dry_run_says_so(cli, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "SERPAPI_API_KEY"}
    proc = subprocess.run([sys.executable, "-m", "evalsuite", "task=bfcl_v4", "dry_run=true", "backend=openai",
                           "backend.base_url=http://127.0.0.1:9/v1", f"run_dir={tmp_path / 'r'}"],
                          cwd=ROOT, env={**env, "HF_HUB_OFFLINE": "1"}, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "not run: web_search_base (needs SERPAPI_API_KEY" in proc.stderr
    assert "5,106" in proc.stdout or "5106" in proc.stdout  # every entry of the pinned bfcl-eval


def test_bfcl_overall_follows_bfcls_own_weighting():
    from tasks import bfcl_v4

    acc = {c: (0.5, 10) for c in bfcl_v4.SCORING}
    acc["live_simple"], acc["live_multiple"] = (1.0, 30), (0.0, 10)  # live is weighted by counts
    parts = bfcl_v4.sections(acc, missing_as_zero=False)
    assert parts["live"] == pytest.approx((1.0 * 30 + 0.0 * 10 + 0.5 * 10 + 0.5 * 10) / 60)
    assert bfcl_v4.overall(parts) == pytest.approx(100 * (0.5 * 10 + parts["live"] * 10 + 0.5 * 10 + 0.5 * 30 + 0.5 * 40) / 100)
    # web search not run: the agentic section is the memory alone; bfcl's own reading counts it 0
    del acc["web_search_base"], acc["web_search_no_snippet"]
    assert bfcl_v4.sections(acc, missing_as_zero=False)["agentic"] == pytest.approx(0.5)
    assert bfcl_v4.sections(acc, missing_as_zero=True)["agentic"] == pytest.approx(0.25)
    nothing_agentic = {c: v for c, v in acc.items() if c not in bfcl_v4.MEMORY}
    parts = bfcl_v4.sections(nothing_agentic, missing_as_zero=False)
    assert parts["agentic"] is None  # not run, not zero: the overall renormalises over the rest
    assert bfcl_v4.overall(parts) == pytest.approx(100 * (0.5 * 10 + parts["live"] * 10 + 0.5 * 10 + 0.5 * 30) / 60)


def test_serve_command_carries_the_cards_tool_flags():
    from evalsuite.agentic_stage import serve_command

    argv = serve_command(compose(["model=nemotron-cascade-2", "task=bfcl_v4"]), 8000)
    line = " ".join(argv)
    assert line.startswith("vllm serve nvidia/Nemotron-Cascade-2-30B-A3B")
    for flag in ("--enable-auto-tool-choice --tool-call-parser qwen3_coder --reasoning-parser nemotron_v3",
                 "--trust-remote-code", "--mamba-ssm-cache-dtype float32", "--max-model-len 262144"):
        assert flag in line


# ---------------------------------------------------------------- imports of the other harnesses' result files

def run_import(task: str, tmp_path: Path, samples: list, overrides: tuple[str, ...] = ()):
    """The harness's files (already under <run>/<task>/harness) imported, scored and summarized by
    the pipeline, as the generate stage does after the harness ran."""
    from evalsuite import agentic_stage, pipeline
    from evalsuite.rundir import task_run
    from evalsuite.task import resolve

    cfg = compose([f"task={task}", f"run_dir={tmp_path / 'run'}", *overrides])
    spec = resolve(cfg)
    run = task_run(cfg, spec, samples)
    work = run.path(agentic_stage.HARNESS_DIR)
    imported = agentic_stage.import_results(run, spec.harness, work)
    pipeline.score_stage(run, rescore=False)
    summary = pipeline.summarize_task(run)
    return imported, summary, run.dir, work


def tau2_simulation(task_id: str, trial: int, reward: float | None, reason: str = "user_stop") -> dict:
    """One SimulationRun as tau2 writes it (tau2's src/tau2/data_model/simulation.py: id, task_id,
    start/end time, duration, termination_reason, agent_cost, user_cost, reward_info, messages, trial, seed)."""
    return {"id": f"sim-{task_id}-{trial}", "task_id": task_id, "timestamp": "2026-12-06T10:00:00",
            "start_time": "2026-12-06T10:00:00", "end_time": "2026-12-06T10:01:00", "duration": 60.0,
            "termination_reason": reason, "agent_cost": 0.01, "user_cost": 0.002,
            "reward_info": None if reward is None else {"reward": reward, "reward_breakdown": {"DB": reward}},
            "messages": [{"role": "user", "content": "hi", "turn_idx": 0},
                         {"role": "assistant", "content": "hello", "turn_idx": 1,
                          "usage": {"prompt_tokens": 100, "completion_tokens": 20}}],
            "trial": trial, "seed": 300 + trial}


def test_tau2_results_import_item_by_item_with_pass1_per_domain_and_the_cards_average(tmp_path):
    """Files written from tau2's documented Results schema (tau2 is not on a registry and its
    repository cannot be fetched here): airline as one JSON file, retail in tau2's directory format."""
    from evalsuite.types import Sample

    samples = [Sample(f"{d}/{i}", [], None, {"category": d, "domain": d}) for d, i in
               (("airline", "0"), ("airline", "1"), ("retail", "7"))]
    work = tmp_path / "run" / "tau2_bench" / "harness" / "tau2"
    work.mkdir(parents=True)
    (work / "airline.json").write_text(json.dumps({
        "timestamp": "2026-12-06T10:00:00", "info": {"git_commit": "x", "num_trials": 2}, "tasks": [],
        "simulations": [tau2_simulation("0", 0, 1.0), tau2_simulation("0", 1, 0.0),
                        tau2_simulation("1", 0, 1.0), tau2_simulation("1", 1, 1.0)]}))
    sims = work / "retail" / "simulations"
    sims.mkdir(parents=True)
    (work / "retail" / "results.json").write_text(json.dumps({"info": {}, "tasks": []}))
    (sims / "a.json").write_text(json.dumps(tau2_simulation("7", 0, 0.0)))
    (sims / "b.json").write_text(json.dumps(tau2_simulation("7", 1, None, "infrastructure_error")))

    imported, summary, task, _ = run_import("tau2_bench", tmp_path, samples, ("samples=2",))
    assert imported == 6
    scores = {(r["sample_id"], r["k"]): r["value"] for r in map(json.loads, (task / "scores.jsonl").read_text().splitlines())}
    assert scores == {("airline/0", 0): 1.0, ("airline/0", 1): 0.0, ("airline/1", 0): 1.0, ("airline/1", 1): 1.0,
                      ("retail/7", 0): 0.0}  # the infrastructure error is no verdict: redone on the next run
    cells = {c.by["domain"]: c.value for c in summary.breakdown if "domain" in c.by}
    assert cells == {"airline": pytest.approx(75.0), "retail": pytest.approx(0.0)}
    assert summary.value == pytest.approx(37.5)  # the card's average: the mean of the domains' pass^1
    assert summary.variants["pooled"] == pytest.approx(50.0)
    assert "pass^2" not in summary.variants  # retail's task has one trial so far: no pass^2 yet
    record = json.loads(json.loads((task / "generations.jsonl").read_text().splitlines()[0])["text"])
    assert record["trajectory"].startswith("harness/tau2/airline.json#sim-0-")
    assert record["cost_usd"] == pytest.approx(0.012) and record["output_tokens"] == 20
    assert summary.harness.settings["commit"] == "0879eb0b695b6508abbbe5ab32be132d5f10ca66"


def harbor_trial(task: str, trial: str, reward: float | None, exception: str | None = None) -> dict:
    """One trial's result.json in Harbor 0.25.0's TrialResult schema (harbor/models/trial/result.py:
    task_name, trial_name, trial_uri, task_id, task_checksum, config, agent_info, agent_result
    (AgentContext), verifier_result (VerifierResult.rewards), exception_info, timings)."""
    return {"id": "6f1c0b1e-0000-4000-8000-000000000000", "task_name": task, "trial_name": trial,
            "trial_uri": f"file:///jobs/evalsuite/{trial}", "task_id": {"path": f"tasks/{task}"},
            "task_checksum": "abc", "config": {"task": {"path": f"tasks/{task}"}},
            "agent_info": {"name": "terminus-2", "version": "2.0.0", "model_info": {"name": "stand-in", "provider": "openai"}},
            "agent_result": {"n_input_tokens": 5000, "n_cache_tokens": 0, "n_output_tokens": 700, "cost_usd": None},
            "verifier_result": None if reward is None else {"rewards": {"reward": reward}},
            "exception_info": None if exception is None else {
                "exception_type": exception, "exception_message": "container did not start",
                "exception_traceback": "", "occurred_at": "2026-12-06T10:00:00Z"},
            "started_at": "2026-12-06T10:00:00Z", "finished_at": "2026-12-06T10:05:00Z"}


def test_terminal_bench_trials_import_from_harbors_job_directory(tmp_path):
    """Files written from Harbor's documented schema (Harbor needs Python >= 3.12 and containers,
    neither of which this machine has)."""
    from evalsuite.types import Sample

    names = ["fix-git", "hello-world", "build-cython-ext"]
    samples = [Sample(n, [], None, {"category": "terminal-bench"}) for n in names]
    job = tmp_path / "run" / "terminal_bench_2" / "harness" / "jobs" / "evalsuite"
    for trial, data in (("fix-git__a1", harbor_trial("fix-git", "fix-git__a1", 1.0)),
                        ("hello-world__b2", harbor_trial("hello-world", "hello-world__b2", 0.0)),
                        ("build-cython-ext__c3", harbor_trial("build-cython-ext", "build-cython-ext__c3", None,
                                                              "EnvironmentStartTimeoutError"))):
        (job / trial / "agent").mkdir(parents=True)
        (job / trial / "result.json").write_text(json.dumps(data))
        (job / trial / "agent" / "trajectory.json").write_text("{}")
    (job / "in-flight__d4").mkdir()
    (job / "in-flight__d4" / "result.json").write_text('{"task_name": "fix-git", "trial_na')  # being written

    imported, summary, task, _ = run_import("terminal_bench_2", tmp_path, samples, ("task.task_names=[fix-git,hello-world,build-cython-ext]",))
    assert imported == 3
    assert verdicts(task) == {"fix-git": 1.0, "hello-world": 0.0}  # the crashed trial is redone, not a zero
    assert summary.value == pytest.approx(50.0) and summary.missing_scores == 1
    record = json.loads(json.loads((task / "generations.jsonl").read_text().splitlines()[0])["text"])
    assert record["trajectory"] == "harness/jobs/evalsuite/build-cython-ext__c3/agent/trajectory.json" or \
        record["trajectory"].endswith("agent/trajectory.json")
    assert (summary.harness.name, summary.harness.version) == ("harbor", "0.25.0")


def test_swe_verified_imports_openhands_output_and_swebenchs_verdicts(tmp_path):
    """OpenHands' output.jsonl rows written from its documented schema (its runner needs Python >= 3.12
    and containers); swebench's run report made by swebench itself (tests/fixtures/agentic/)."""
    from evalsuite.types import Sample

    ids = ["astropy__astropy-12907", "django__django-11133", "sympy__sympy-20590"]
    samples = [Sample(i, [], None, {"category": "swe-bench", "repo": i.split("__")[0]}) for i in ids]
    out = tmp_path / "run" / "swe_verified" / "harness" / "openhands" / "princeton-nlp__SWE-bench_Verified-test" / "stand-in"
    out.mkdir(parents=True)
    rows = [{"instance_id": i, "test_result": {"git_patch": "diff --git a/x b/x\n+fix\n"}, "history": [],
             "metrics": {"accumulated_cost": 0.5, "accumulated_token_usage": {"prompt_tokens": 1000, "completion_tokens": 100}},
             "error": None} for i in ids]
    (out / "output.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"instance_id": "cut')
    # swebench's run report, made by the real swebench 5.0.2 (swebench.harness.reporting.make_run_report,
    # which needs no container) from per-instance reports: astropy resolved, django not, sympy unevaluated
    shutil.copy(ROOT / "tests" / "fixtures" / "agentic" / "swebench-5.0.2_run_report.json", out / "stand-in.evalsuite.json")
    # ... and one instance's own report.json agreeing with it
    logs = out / "logs" / "run_evaluation" / "evalsuite" / "stand-in" / ids[1]
    logs.mkdir(parents=True)
    (logs / "report.json").write_text(json.dumps({ids[1]: {"patch_is_None": False, "patch_exists": True,
                                                           "patch_successfully_applied": True, "resolved": False}}))

    imported, summary, task, _ = run_import("swe_verified", tmp_path, samples, ("data=sample",))
    assert imported == 3
    assert verdicts(task) == {ids[0]: 1.0, ids[1]: 0.0}  # swebench's error is no verdict: redone
    assert summary.value == pytest.approx(50.0)
    assert summary.harness.cost_usd == pytest.approx(1.0)


def test_container_tasks_name_the_missing_runtime_before_any_work(tmp_path, embedded_model_dir):
    bare_path = os.pathsep.join(p for p in ("/usr/bin", "/bin") if Path(p).is_dir())  # no docker, podman, apptainer
    proc = subprocess.run([sys.executable, "-m", "evalsuite", "task=swe_verified", "data=sample", "backend=openai",
                           "backend.base_url=http://127.0.0.1:9/v1", f"run_dir={tmp_path / 'r'}"],
                          cwd=ROOT, env={**os.environ, "PATH": bare_path, "HF_HUB_OFFLINE": "1"},
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "no container runtime: none of docker, podman or apptainer is on PATH" in proc.stderr
    assert "openhands-benchmarks" in proc.stderr and "evalsuite prepare task=swe_verified" in proc.stderr
    assert not (tmp_path / "r" / "swe_verified" / "generations.jsonl").exists()


@pytest.mark.skipif(not any(Path(p, "docker").exists() for p in os.environ.get("PATH", "").split(os.pathsep)),
                    reason="no docker client here")
def test_a_docker_client_without_its_daemon_is_named_as_such():
    from evalsuite.agentic import container_runtime

    runtime, facts = container_runtime()
    if runtime == "docker":
        pytest.skip("docker's daemon answers here")
    assert runtime is None and "docker is installed but its daemon does not answer" in facts


def test_the_dry_run_sizes_a_container_task(cli, tmp_path):
    proc = cli("task=swe_verified", "data=sample", "dry_run=true", "backend=openai", "backend.base_url=http://127.0.0.1:9/v1",
               f"run_dir={tmp_path / 'r'}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "3 items x 1 trials through openhands-benchmarks" in proc.stderr
    assert "containers: 6" in proc.stderr and "over 3 repositories" in proc.stderr


def test_tau2_pass_hat_k_is_the_chance_k_trials_all_succeed():
    from tasks.tau2_bench import pass_hat_k

    assert pass_hat_k({"a": [1.0, 1.0, 0.0, 1.0]}, 2) == pytest.approx(100 * 3 / 6)
    assert pass_hat_k({"a": [1.0, 1.0], "b": [0.0, 1.0]}, 1) == pytest.approx(75.0)
    assert pass_hat_k({"a": [1.0]}, 2) is None


@needs_bfcl
@pytest.mark.slow
def test_bfcl_v4_against_the_embedded_smollm2_served_over_http(tmp_path, embedded_model_dir):
    """The real model behind a real server (tests/smollm2_server.py, chat completions without tool
    calls): it answers in text, which bfcl reads as "no function call": right for irrelevance."""
    port = free_port()
    server = subprocess.Popen([sys.executable, str(ROOT / "tests" / "smollm2_server.py"), "--port", str(port),
                               "--model-dir", str(embedded_model_dir)], cwd=ROOT / "tests",
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/v1", server, 120, "the SmolLM2 server")
        run = tmp_path / "run"
        proc = subprocess.run([sys.executable, "-m", "evalsuite", "task=bfcl_v4", "task.categories=[irrelevance]", "limit=2",
                               "backend=openai", f"backend.base_url=http://127.0.0.1:{port}/v1", "backend.model_id=smollm2",
                               f"run_dir={run}"], cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"},
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert verdicts(run / "bfcl_v4") == {"irrelevance_0": 1.0, "irrelevance_1": 1.0}
        tokens = [json.loads(r["text"])["output_tokens"] for r in
                  map(json.loads, (run / "bfcl_v4" / "generations.jsonl").read_text().splitlines())]
        assert all(t > 0 for t in tokens)  # the model's own usage, through bfcl's result file
    finally:
        server.kill()
        server.wait()


@needs_bfcl
def test_prepare_records_the_harness_of_an_agentic_task(cli, tmp_path):
    data = tmp_path / "data"
    (data / "harnesses").mkdir(parents=True)
    (data / "harnesses" / "bfcl-eval-2026.3.23").symlink_to(BFCL_PYTHON.parent.parent)  # installed already
    proc = cli("prepare", "task=bfcl_v4", f"data_dir={data}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    entry = json.loads((data / "manifest.json").read_text())["datasets"]["bfcl_v4"]
    assert entry["kind"] == "harness" and (entry["name"], entry["version"]) == ("bfcl-eval", "2026.3.23")
    assert entry["requirements"] == ["bfcl-eval==2026.3.23", "soundfile"]


def test_a_tau2_results_file_cut_by_a_kill_gets_its_last_readable_copy_back(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("tau2_run", ROOT / "evalsuite" / "harness_scripts" / "tau2_run.py")
    driver = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(driver)  # the driver itself imports tau2 only inside its functions
    results = tmp_path / "airline.json"
    results.write_text(json.dumps({"simulations": [tau2_simulation("0", 0, 1.0)]}))
    driver.keep_readable(results)  # a run starts: the readable file is copied aside
    results.write_text('{"simulations": [{"id": "sim-0-0", "task_')  # tau2 killed while rewriting it
    driver.keep_readable(results)  # the next run starts
    assert json.loads(results.read_text())["simulations"][0]["id"] == "sim-0-0"
