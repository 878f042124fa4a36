"""bench/gpu_session.py's rehearsal, dressed on a CPU: the exit check against real processes (one
that hangs after its report, as the NIAH run did on the H200) and one task through the real CLI
with the vLLM stand-in (FakeLLMStandIn, not vLLM) playing an engine core its shutdown leaves behind."""
from __future__ import annotations

import os
import shutil
import sys

import vllm_stand_in

from bench import gpu_session
from evalsuite.data import SAMPLES_DIR


def test_a_run_that_outlives_its_report_fails_the_exit_check(tmp_path, monkeypatch):
    session = gpu_session.Session(tmp_path)
    report = tmp_path / "report.md"
    ends = [sys.executable, "-c", f"open({str(report)!r}, 'w').write('y')"]
    row = gpu_session.watch(session, ends, report, 300)
    assert row["exits"] and row["rc"] == 0 and row["exit_after_report_s"] >= 0
    monkeypatch.setattr(gpu_session, "EXIT_LIMIT_S", 1)  # a generous hang guard would make the test slow, not better
    hangs = [sys.executable, "-c", f"import time; open({str(report)!r}, 'w').write('x'); time.sleep(600)"]
    row = gpu_session.watch(session, hangs, report, 300)
    assert not row["exits"] and row["failure"].startswith("still running") and row["failure"].endswith("killed")
    assert row["rc"] == -9  # the whole process group


def test_rehearsal_of_one_task_records_its_exit_engine_start_and_memory(tmp_path, monkeypatch, embedded_model_dir):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(SAMPLES_DIR / "aime25.jsonl", data / "aime25.jsonl")
    monkeypatch.setenv("GPU_SESSION_DATA", str(data))
    monkeypatch.setenv("EVALSUITE_SMOLLM2_DIR", str(embedded_model_dir))  # the tiny model's tokenizer
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([os.path.dirname(vllm_stand_in.__file__), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setattr(gpu_session, "RUNS", tmp_path / "runs")
    monkeypatch.setattr(gpu_session, "EXTRA", ["backend.vllm_module=vllm_stand_in",
                                               "+backend.engine_args.stand_in_engine_core=true",
                                               "+backend.engine_args.stand_in_ignore_shutdown=true"])
    session = gpu_session.Session(tmp_path)
    gpu_session.step_rehearse(session, ["aime25"])
    row = session.results["rehearse"]["aime25"]
    assert row["rc"] == 0 and row["exits"] and row["exit_after_report_s"] <= gpu_session.EXIT_LIMIT_S
    assert row["data"] == f"data.path={data / 'aime25.jsonl'}" and row["generations"] == 8 * 2 == row["scored"]
    assert isinstance(row["engine_start_s"], float) and row["peak_host_rss_gb"] > 0
    assert session.results["rehearse"]["all_exit"] is True
    config = (tmp_path / "runs" / "tiny-nemotronh" / "config.json").read_text()
    assert '"model_type": "nemotron_h"' in config


def test_suite_step_runs_the_rehearsal_in_one_process_and_counts_its_engine_starts(tmp_path, monkeypatch, embedded_model_dir):
    data = tmp_path / "data"
    data.mkdir()
    for name in ("aime25", "hmmt_feb25"):
        shutil.copy(SAMPLES_DIR / f"{name}.jsonl", data / f"{name}.jsonl")
    monkeypatch.setenv("GPU_SESSION_DATA", str(data))
    monkeypatch.setenv("EVALSUITE_SMOLLM2_DIR", str(embedded_model_dir))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([os.path.dirname(vllm_stand_in.__file__), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setattr(gpu_session, "RUNS", tmp_path / "runs")
    monkeypatch.setattr(gpu_session, "EXTRA", ["backend.vllm_module=vllm_stand_in"])
    session = gpu_session.Session(tmp_path)
    gpu_session.step_rehearse(session, ["aime25", "hmmt_feb25"])  # before: a process and an engine per task
    gpu_session.step_suite(session, ["aime25", "hmmt_feb25"])
    row = session.results["suite"]
    assert row["rc"] == 0 and row["exits"] and row["engine_starts"] == 1 == row["configurations"]
    assert row["before"]["processes"] == 2 == row["before"]["engine_starts"]
    assert row["per_task"]["aime25"]["generations"] == 8 * 2 == row["per_task"]["aime25"]["scored"]
    assert row["per_task"]["hmmt_feb25"]["scored"] == row["per_task"]["hmmt_feb25"]["generations"] > 0
    assert isinstance(row["saved_s"], float)
