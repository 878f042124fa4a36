"""Sandbox throughput: our fork-server sandbox vs the reference runner's approach, side by side.

The reference approach (LiveCodeBench's runner, and most harnesses): a fresh `python` process per
program, its tests run in sequence inside it with a per-test alarm. Ours: evalsuite.sandbox.
Both grade the same 454 x 8 = 3,632 programs (our own problems from tests/fixtures), every verdict
must agree, and we report programs/s on fast programs (tests of a few ms: where per-program cost
shows) and on a realistic mix (correct, wrong, crashing and timing-out solutions on full tests).

    python -c "from bench.sandbox_bench import run; print(run(quick=True))"
"""
from __future__ import annotations

import importlib.util
import json
import os
import random
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from evalsuite.sandbox.programs import Job, Limits, SandboxPool, TestCase

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = 454 * 8
QUICK_PROGRAMS = 400
MIX_TIMEOUT_S = 1.0  # short, so the timing-out programs do not dominate the run
# a realistic mix of what models write: mostly right, some wrong, some crash, a few too slow
MIX_WEIGHTS = {"correct": 0.62, "wrong": 0.2, "crash": 0.15, "slow": 0.03}

# The reference approach: one fresh interpreter per program, its tests run and graded inside it
# with a per-test SIGALRM (as the reference runner does), with the same prelude, value conversion
# and comparison as the sandbox, so verdicts are comparable.
REFERENCE_DRIVER = r"""
import io, json, os, signal, sys
from evalsuite.sandbox import server
from evalsuite.sandbox.programs import compare_plain, compare_stdout, loads_untrusted, _unplain_hook
job = json.loads(sys.stdin.read())
out = os.dup(1)
records, current = [], [-1]
def emit():
    os.write(out, json.dumps(records).encode()); os._exit(0)
def on_alarm(*_):
    records.append({"test": current[0], "verdict": "timeout"}); emit()
signal.signal(signal.SIGALRM, on_alarm)
def clock(i):
    current[0] = i; signal.setitimer(signal.ITIMER_REAL, job["limits"]["timeout_s"])
def stdio(data):
    fd = os.memfd_create("in"); os.write(fd, data.encode()); os.lseek(fd, 0, 0); os.dup2(fd, 0); os.close(fd)
    fd = os.memfd_create("out"); os.dup2(fd, 1); os.close(fd)
    sys.stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)))
    sys.stdout = io.TextIOWrapper(io.BufferedWriter(io.FileIO(1, "w", closefd=False)))
def verdict_of(e):
    return server.exc_verdict(e)
prelude = server.build_prelude()
clock(-1)
try:
    code = compile(job["code"], "<solution>", "exec")
except BaseException:
    records.append({"test": -1, "verdict": "compile_error"}); emit()
try:
    if job["mode"] == "call":
        stdio(""); ns = dict(prelude); exec(code, ns)
        func = getattr(ns["Solution"](), job["func_name"]) if isinstance(ns.get("Solution"), type) else ns[job["func_name"]]
except BaseException as e:
    records.append({"test": -1, "verdict": verdict_of(e)}); emit()
for i, (test_in, test_out) in enumerate(job["tests"]):
    clock(i)
    try:
        if job["mode"] == "call":
            got = func(*[json.loads(line) for line in test_in.split("\n")])
            got = loads_untrusted(json.dumps(server.to_plain(got)), _unplain_hook)
            wrong = compare_plain(got, json.loads(test_out))
        else:
            stdio(test_in); ns = dict(prelude)
            try:
                exec(code, ns)
            except SystemExit:
                pass
            sys.stdout.flush()
            wrong = compare_stdout(os.pread(1, os.fstat(1).st_size, 0).decode("utf-8", "replace"), test_out)
        verdict = "wrong" if wrong else "pass"
    except BaseException as e:
        verdict = verdict_of(e)
    signal.setitimer(signal.ITIMER_REAL, 0)
    records.append({"test": i, "verdict": verdict})
    if verdict != "pass":
        break
emit()
"""


def _reference_run(job: Job) -> tuple[str, float]:
    payload = json.dumps({"code": job.code, "mode": job.mode, "func_name": job.func_name,
                          "limits": {"timeout_s": job.limits.timeout_s, "max_output_mb": job.limits.max_output_mb},
                          "tests": [[t.input, t.output] for t in job.tests]})
    t0 = time.perf_counter()
    guard = (len(job.tests) + 2) * (job.limits.timeout_s + 1) + 10
    try:
        proc = subprocess.run([sys.executable, "-c", REFERENCE_DRIVER], input=payload.encode(),
                              capture_output=True, timeout=guard)
        records = json.loads(proc.stdout or b"[]")
    except (subprocess.TimeoutExpired, ValueError):
        return "timeout", time.perf_counter() - t0
    wall = time.perf_counter() - t0
    failed = next((r for r in records if r.get("verdict") != "pass"), None)
    if failed:
        return failed["verdict"], wall
    passed = sum(r.get("verdict") == "pass" for r in records if r.get("test", -1) >= 0)
    return ("pass" if passed == len(job.tests) else "runtime_error"), wall


def _problems() -> list[tuple[Any, list[TestCase]]]:
    spec = importlib.util.spec_from_file_location("lcb_solutions", ROOT / "tests" / "fixtures" / "lcb_solutions.py")
    fixtures = importlib.util.module_from_spec(spec)
    sys.modules["lcb_solutions"] = fixtures
    spec.loader.exec_module(fixtures)
    out = []
    for p in fixtures.PROBLEMS:
        tests = [TestCase(t["input"], t["output"]) for t in fixtures.tests_of(p, p.public_inputs + p.private_inputs)]
        out.append((p, tests))
    return out


def build_jobs(count: int, fast: bool, seed: int = 0) -> list[Job]:
    """`fast`: correct/wrong/crashing programs on the small public tests only (each test < 5 ms).
    Otherwise the mix: all four kinds on public + private tests, 1 s per test."""
    rng = random.Random(seed)
    problems = _problems()
    kinds, weights = zip(*MIX_WEIGHTS.items())
    jobs = []
    for n in range(count):
        problem, tests = problems[(n // 8) % len(problems)]  # 8 samples per problem, as in a run
        if fast:
            kind = rng.choice(["correct", "correct", "wrong", "crash"])
            tests = tests[:len(problem.public_inputs)]
        else:
            kind = rng.choices(kinds, weights)[0]
        mode = "call" if problem.func_name else "stdin"
        jobs.append(Job(problem.solutions[kind], tests, mode, problem.func_name,
                        Limits(timeout_s=MIX_TIMEOUT_S), tests_key=f"{problem.question_id}:{len(tests)}"))
    return jobs


def _compare(jobs: list[Job], pool: SandboxPool, workers: int, label: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    ours = pool.run_many(jobs, progress=f"sandbox {label}")
    ours_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with ThreadPoolExecutor(workers) as ex:
        reference = list(ex.map(_reference_run, jobs))
    reference_s = time.perf_counter() - t0
    mismatches = [(i, o.verdict, r[0]) for i, (o, r) in enumerate(zip(ours, reference)) if o.verdict != r[0]]
    overhead_ms = [1000 * max(0.0, o.wall_s - o.cpu_s) for o in ours]
    verdicts: dict[str, int] = {}
    for o in ours:
        verdicts[o.verdict] = verdicts.get(o.verdict, 0) + 1
    return {
        "programs": len(jobs),
        "sandbox_s": round(ours_s, 2), "reference_s": round(reference_s, 2),
        "sandbox_programs_per_s": round(len(jobs) / ours_s, 1),
        "reference_programs_per_s": round(len(jobs) / reference_s, 1),
        "speedup": round(reference_s / ours_s, 2),
        "median_overhead_ms": round(statistics.median(overhead_ms), 2),
        "reference_median_wall_ms": round(1000 * statistics.median(r[1] for r in reference), 2),
        "verdicts": verdicts,
        "verdict_mismatches": mismatches[:20],
        "n_mismatches": len(mismatches),
    }


def run(quick: bool = False) -> dict[str, Any]:
    count = QUICK_PROGRAMS if quick else PROGRAMS
    workers = os.cpu_count() or 1
    with SandboxPool(workers) as pool:
        isolation = pool.isolation
        pool.run_many(build_jobs(2 * workers, fast=True))  # warm: servers started, tests cached
        fast = _compare(build_jobs(count, fast=True), pool, workers, "fast")
        mix = _compare(build_jobs(count, fast=False), pool, workers, "mix")
    result = {
        "bench": "sandbox", "quick": quick, "workers": workers, "isolation": isolation,
        "fast": fast, "mix": mix,
        "floors": {
            "fast_speedup_ge_5x": fast["speedup"] >= 5,
            "mix_not_slower": mix["speedup"] >= 1,
            "median_overhead_lt_10ms": fast["median_overhead_ms"] < 10,
            "identical_verdicts": fast["n_mismatches"] == 0 and mix["n_mismatches"] == 0,
        },
    }
    if not result["floors"]["identical_verdicts"]:
        raise AssertionError(f"sandbox and reference verdicts differ: fast {fast['verdict_mismatches']}, "
                             f"mix {mix['verdict_mismatches']}")
    return result


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
