"""The hf backend's CPU thread count: from the CPUs this process may use (affinity, cgroup quota)
less what other running work holds, recorded in run.json."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from evalsuite.backends.hf import _cgroup_quota, cpu_threads
from evalsuite.errors import UserError


def write(path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_cgroup_v2_quota_is_the_tightest_on_the_way_up(tmp_path):
    root = tmp_path / "cgroup"
    write(tmp_path / "self", "0::/jobs/mine\n")
    write(root / "cpu.max", "max 100000\n")
    write(root / "jobs" / "cpu.max", "150000 100000\n")  # 1.5 CPUs for every job
    write(root / "jobs" / "mine" / "cpu.max", "max 100000\n")
    assert _cgroup_quota(root, tmp_path / "self") == 1.5


def test_cgroup_v1_quota_and_none(tmp_path):
    root = tmp_path / "cgroup"
    write(tmp_path / "self", "4:memory:/x\n3:cpu,cpuacct:/x\n")
    write(root / "cpu,cpuacct" / "cpu.cfs_quota_us", "-1\n")
    write(root / "cpu,cpuacct" / "x" / "cpu.cfs_quota_us", "200000\n")
    write(root / "cpu,cpuacct" / "x" / "cpu.cfs_period_us", "100000\n")
    assert _cgroup_quota(root, tmp_path / "self") == 2.0
    write(root / "cpu,cpuacct" / "x" / "cpu.cfs_quota_us", "-1\n")
    assert _cgroup_quota(root, tmp_path / "self") is None
    assert _cgroup_quota(root, tmp_path / "missing") is None


def test_affinity_bounds_the_threads():
    # a process allowed on one CPU gets one thread, whatever the machine has
    code = ("import os, json; os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]}); "
            "from evalsuite.backends.hf import cpu_threads; print(json.dumps(cpu_threads('auto')))")
    out = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert (out["threads"], out["affinity_cpus"], out["usable_cpus"]) == (1, 1, 1)


def test_busy_neighbours_take_their_cpus():
    usable = len(os.sched_getaffinity(0))
    spinners = [subprocess.Popen([sys.executable, "-c", "while 1: pass"]) for _ in range(usable)]
    try:
        found = cpu_threads("auto")
    finally:
        for p in spinners:
            p.kill()
            p.wait()
    assert found["others_running"] >= usable and found["threads"] == 1  # a spinner on every CPU: one thread


def test_a_given_number_is_used_and_a_bad_one_is_one_line():
    assert cpu_threads(3) == {"threads": 3, "rule": "backend.threads as given"}
    for bad in (0, "many", 1.5, True):
        with pytest.raises(UserError, match="backend.threads"):
            cpu_threads(bad)


@pytest.mark.slow
def test_run_json_records_the_threads(tmp_path, cli):
    proc = cli("task=aime25", "data=sample", "limit=1", "samples=1", "sampling.max_tokens=2", "stage=generate",
               f"run_dir={tmp_path}")
    assert proc.returncode == 0, proc.stderr
    runtime = json.loads((tmp_path / "aime25" / "run.json").read_text())["backend_runtime"]
    assert runtime["device"] == "cpu" and runtime["cpu_threads"]["threads"] >= 1
    assert runtime["cpu_threads"]["usable_cpus"] == len(os.sched_getaffinity(0))
    assert "hf on CPU:" in proc.stderr
