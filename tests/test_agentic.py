"""The agentic family (evalsuite/agentic.py): official harnesses run as subprocesses in their own
venvs, their result files imported item by item.

BFCL v4 runs end to end through the REAL bfcl-eval (its pinned version, in the venv that `evalsuite
prepare task=bfcl_v4` makes) against a STAND-IN model on localhost (tests/tool_call_stand_in_server.py:
scripted tool calls, since no model that makes tool calls runs here). Those tests skip when the
harness's venv is absent (it is several GB: `evalsuite prepare task=bfcl_v4` makes it).
"""
from __future__ import annotations

import json
import os
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
        harness = summary["sections"]["harness"]
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
    from evalsuite.agentic import serve_command

    argv = serve_command(compose(["model=nemotron-cascade-2", "task=bfcl_v4"]), 8000)
    line = " ".join(argv)
    assert line.startswith("vllm serve nvidia/Nemotron-Cascade-2-30B-A3B")
    for flag in ("--enable-auto-tool-choice --tool-call-parser qwen3_coder --reasoning-parser nemotron_v3",
                 "--trust-remote-code", "--mamba-ssm-cache-dtype float32", "--max-model-len 262144"):
        assert flag in line
