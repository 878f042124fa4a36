"""The real embedded SmolLM2 through the real CLI: a run, and a run killed with -9 then resumed."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

GREEDY = ("task=aime25", "data=sample", "samples=2", "sampling.temperature=0",
          "sampling.max_tokens=48", "backend.batch_size=1")


def _records(path):
    return [json.loads(l) for l in path.read_text().splitlines() if l.strip()]


def test_real_model_run(cli, tmp_path, embedded_model_dir):
    proc = cli("task=aime25", "data=sample", "limit=2", "samples=2", "sampling.max_tokens=32", f"run_dir={tmp_path}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    d = tmp_path / "aime25"
    gens = _records(d / "generations.jsonl")
    assert sorted((g["sample_id"], g["k"]) for g in gens) == [("1", 0), ("1", 1), ("2", 0), ("2", 1)]
    assert all(g["text"] and 0 < g["tokens"] <= 32 and g["finish_reason"] in ("stop", "length") for g in gens)
    assert len(_records(d / "scores.jsonl")) == 4
    summary = json.loads((d / "summary.json").read_text())
    assert summary["n_items"] == 2 and summary["samples"] == 2 and summary["mode"] == "standard"
    assert "aime25" in proc.stdout and (tmp_path / "report.md").exists()  # the table printed at the end
    manifest = json.loads((d / "run.json").read_text())
    assert manifest["versions"]["transformers"] and manifest["fingerprint"]["max_tokens"] == 32
    # the same command again: nothing to generate, same numbers
    again = cli("task=aime25", "data=sample", "limit=2", "samples=2", "sampling.max_tokens=32", f"run_dir={tmp_path}")
    assert again.returncode == 0 and "already stored" in again.stderr
    assert json.loads((d / "summary.json").read_text())["value"] == summary["value"]


def test_kill_and_resume_loses_nothing(cli, tmp_path, embedded_model_dir):
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    gen_file = killed / "aime25" / "generations.jsonl"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "evalsuite", *GREEDY, "limit=3", f"run_dir={killed}"], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 900  # a wait for the first stored generation, not a speed target
    while time.time() < deadline and (not gen_file.exists() or len(gen_file.read_text().splitlines()) < 1):
        assert proc.poll() is None, f"the run ended (status {proc.returncode}) before storing a generation"
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(_records(gen_file))
    assert 1 <= done_before < 6, "the kill should land mid-generation"
    resumed = cli(*GREEDY, "limit=3", f"run_dir={killed}")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"({done_before} already stored)" in resumed.stderr
    uninterrupted = cli(*GREEDY, "limit=3", f"run_dir={clean}")
    assert uninterrupted.returncode == 0

    def keyed(path):
        recs = _records(path)
        keys = [(r["sample_id"], r["k"]) for r in recs]
        assert len(keys) == len(set(keys)) == 6  # nothing lost, nothing duplicated
        return {(r["sample_id"], r["k"]): r for r in recs}

    a, b = keyed(gen_file), keyed(clean / "aime25" / "generations.jsonl")
    assert {k: v["text"] for k, v in a.items()} == {k: v["text"] for k, v in b.items()}
    sa, sb = keyed(killed / "aime25" / "scores.jsonl"), keyed(clean / "aime25" / "scores.jsonl")
    assert {k: v["value"] for k, v in sa.items()} == {k: v["value"] for k, v in sb.items()}


def test_seeded_sampling_is_reproducible(cli, tmp_path, embedded_model_dir):
    args = ("task=hmmt_feb25", "data=sample", "limit=2", "samples=2", "sampling.max_tokens=24")
    assert cli(*args, f"run_dir={tmp_path}/a").returncode == 0
    assert cli(*args, "backend.batch_size=1", f"run_dir={tmp_path}/b").returncode == 0
    texts = [{(g["sample_id"], g["k"]): g["text"] for g in _records(tmp_path / r / "hmmt_feb25" / "generations.jsonl")}
             for r in ("a", "b")]
    assert texts[0] == texts[1]  # per-(sample, k) seeds: batch composition does not change a sample
    assert texts[0][("1", 0)] != texts[0][("1", 1)]  # and different k are different samples


def test_niah_at_4k_on_the_real_model(cli, tmp_path, embedded_model_dir):
    """NIAH end to end at a 4K context (it fits SmolLM2's window): build, generate, score, report."""
    proc = cli("task=niah", "task.length=4096", "task.tasks=[niah_single_1,niah_multikey_2]", "task.instances=1",
               f"run_dir={tmp_path}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    gens = _records(tmp_path / "niah" / "generations.jsonl")
    assert len(gens) == 2 and all(3900 < g["prompt_tokens"] <= 4096 - 128 for g in gens)
    summary = json.loads((tmp_path / "niah" / "summary.json").read_text())
    assert summary["n_items"] == 2 and 0.0 <= summary["value"] <= 100.0
    cells = {(tuple(c["by"]), tuple(c["by"].values())) for c in summary["breakdown"]}
    assert {(("niah_task",), ("niah_single_1",)), (("niah_task",), ("niah_multikey_2",)),
            (("family",), ("single",)), (("family",), ("multikey",))} <= cells
