"""Sharding: deterministic partition, merge by key, and real local jobs through Hydra's submitit
launcher, one of them killed midway, resubmitted, merged and compared with a single-process run."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from evalsuite.errors import UserError
from evalsuite.sharding import parse_shard, shard_index
from tests.conftest import ROOT


def test_shards_partition_keys():
    keys = [(str(i), k) for i in range(50) for k in range(8)]
    for n in (1, 2, 3, 8):
        parts = [{key for key in keys if shard_index(*key, n) == i} for i in range(n)]
        assert set().union(*parts) == set(keys) and sum(map(len, parts)) == len(keys)
    assert [shard_index("7", 3, 5) for _ in range(3)] == [shard_index("7", 3, 5)] * 3


def test_parse_shard_errors():
    assert parse_shard("2/8") == (2, 8) and parse_shard(None) is None
    for bad in ("8/8", "x/2", "-1/3"):
        with pytest.raises(UserError):
            parse_shard(bad)


def _gens(path):
    recs = [json.loads(l) for l in path.read_text().splitlines() if l.strip()]
    keys = [(r["sample_id"], r["k"]) for r in recs]
    assert len(keys) == len(set(keys))
    return {(r["sample_id"], r["k"]): r for r in recs}


COMMON = ["task=aime25", "data=sample", "limit=3", "samples=2", "sampling.temperature=0",
          "sampling.max_tokens=12", "backend.batch_size=1"]


@pytest.mark.slow
def test_submitit_local_jobs_killed_resubmitted_merged(cli, tmp_path, embedded_model_dir):
    run_dir = tmp_path / "sharded"
    multirun = [sys.executable, "-m", "evalsuite", "-m", "hydra/launcher=submitit_local", *COMMON,
                "shard=0,1", "shards=2", f"run_dir={run_dir}", "hydra.launcher.timeout_min=10"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    shard_dirs = [run_dir / "aime25" / f"shard-{i:04d}-of-0002" for i in range(2)]

    # 1. two local jobs; the first shard to store a generation has its job killed with -9
    proc = subprocess.Popen(multirun, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    victim, deadline = None, time.time() + 300
    while victim is None and time.time() < deadline:
        for d in shard_dirs:
            if (d / "generations.jsonl").exists() and (d / "run.json").exists():
                victim = d
                break
        time.sleep(0.05)
    assert victim is not None, "no shard started generating"
    pid = json.loads((victim / "run.json").read_text())["pid"]
    assert pid != proc.pid  # the job runs in its own process, as on a cluster node
    os.kill(pid, signal.SIGKILL)
    proc.wait(timeout=600)
    stored_before = len(_gens(victim / "generations.jsonl"))
    assert stored_before < 3, "the kill should land before the shard finished"

    # 2. resubmit the same command: every job resumes from its own files
    again = subprocess.run(multirun, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    status = cli("status", str(run_dir))
    assert status.returncode == 0 and "| aime25 | 6 | 6 | 6 | 2 |" in status.stdout, status.stdout

    # 3. the report merges the shards; the result equals a single-process run
    merged = cli(*COMMON, "stage=report", f"run_dir={run_dir}")
    assert merged.returncode == 0, merged.stderr[-2000:]
    single = cli(*COMMON, f"run_dir={tmp_path}/single")
    assert single.returncode == 0, single.stderr[-2000:]
    a, b = _gens(run_dir / "aime25" / "generations.jsonl"), _gens(tmp_path / "single" / "aime25" / "generations.jsonl")
    assert len(a) == 6 and {k: v["text"] for k, v in a.items()} == {k: v["text"] for k, v in b.items()}
    sa = json.loads((run_dir / "aime25" / "summary.json").read_text())
    sb = json.loads((tmp_path / "single" / "aime25" / "summary.json").read_text())
    assert sa["value"] == sb["value"] and sa["missing_scores"] == 0 and sa["n_scores"] == 6


def test_report_names_missing_keys(cli, tmp_path):
    """A shard that never ran: the merged report says exactly which (sample_id, k) are missing."""
    shard = tmp_path / "aime25" / "shard-0000-of-0002"
    shard.mkdir(parents=True)
    rows = [{"sample_id": "1", "k": 0, "text": "\\boxed{55}", "tokens": 3, "finish_reason": "stop"}]
    (shard / "generations.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    from evalsuite.pipeline import generation_digest

    (shard / "scores.jsonl").write_text(json.dumps({"sample_id": "1", "k": 0, "value": 1.0, "extracted": "55",
                                                    "unfinished": False, "truncated": False, "detail": {},
                                                    "graded": generation_digest(rows[0])}) + "\n")
    proc = cli("task=aime25", "data=sample", "limit=2", "samples=1", "stage=report", f"run_dir={tmp_path}")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((tmp_path / "aime25" / "summary.json").read_text())
    assert summary["missing_scores"] == 1 and summary["missing"] == ["2#0"] and summary["value"] == 100.0
