"""Contest judge throughput: C++ programs per second, ours against a reference that compiles and
runs each (program, test) afresh with plain subprocesses and no cache, both on the same workers.

Ours (evalsuite.sandbox.contest_judge): each program compiled once inside the sandbox, its binary cached by
digest, then run test by test in a fork server. The programs are fast (a few ms per test), so what
shows is per-program and per-test overhead; a quarter of them are wrong, and every verdict must
agree with the reference's. Then the same programs are scored again: every binary must come from
the cache (hit rate 100%).

    python -m bench contest            # bench/results.json["contest"]
    python -m bench contest --quick
"""
from __future__ import annotations

import os
import random
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from evalsuite.sandbox.contest_judge import (BinaryCache, ContestJudge, JudgeSettings, JudgeTest, Problem, compare_tokens,
                                     find_toolchain, toolchain_missing)

TESTS = 25
PROGRAMS, QUICK_PROGRAMS = 24, 8
FLOOR = 5.0

PROGRAM = r"""
#include <cstdio>
// variant %(variant)d
int main() {
    int n; long long k; if (std::scanf("%%d %%lld", &n, &k) != 2) return 1;
    static long long a[2000]; for (int i = 0; i < n; i++) std::scanf("%%lld", &a[i]);
    long long pairs = 0;
    for (int i = 0; i < n; i++) for (int j = i + 1; j < n; j++) pairs += a[i] + a[j] == k;
    std::printf("%%lld\n", pairs %(wrong)s);
}
"""


def _problem(seed: int = 24) -> Problem:
    rng = random.Random(seed)
    tests = []
    for _ in range(TESTS):
        n, k = rng.randint(1, 300), rng.randint(2, 200)
        a = [rng.randint(1, 100) for _ in range(n)]
        pairs = sum(a[i] + a[j] == k for i in range(n) for j in range(i + 1, n))
        tests.append(JudgeTest(f"{n} {k}\n{' '.join(map(str, a))}\n", f"{pairs}\n"))
    return Problem("bench-pairs", tests, time_limit_s=2.0, memory_mb=256)


def _programs(n: int) -> list[str]:
    return [PROGRAM % {"variant": i, "wrong": "+ 1" if i % 4 == 3 else ""} for i in range(n)]


def _reference_one(compiler: str, flags: tuple[str, ...], source: str, problem: Problem) -> str:
    """The reference: for every test, compile the program afresh and run it in a plain subprocess."""
    with tempfile.TemporaryDirectory(prefix="contest-ref-") as tmp:
        src, binary = os.path.join(tmp, "a.cpp"), os.path.join(tmp, "a.out")
        with open(src, "w") as f:
            f.write(source)
        for test in problem.tests:
            made = subprocess.run([compiler, *flags, src, "-o", binary], capture_output=True, timeout=120)
            if made.returncode != 0:
                return "compile_error"
            try:
                run = subprocess.run([binary], input=test.input.encode(), capture_output=True,
                                     timeout=problem.time_limit_s * 2 + 1)
            except subprocess.TimeoutExpired:
                return "timeout"
            if run.returncode != 0:
                return "runtime_error"
            if compare_tokens(run.stdout.decode("utf-8", "replace"), test.answer) is not None:
                return "wrong"
    return "pass"


def run(quick: bool = False) -> dict[str, Any]:
    why = toolchain_missing()
    if why:
        return {"skipped": why}
    toolchain = find_toolchain()
    workers = max(1, min(4, os.cpu_count() or 1))
    problem = _problem()
    sources = _programs(QUICK_PROGRAMS if quick else PROGRAMS)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(workers) as ex:
        reference = list(ex.map(lambda s: _reference_one(toolchain.compiler, toolchain.flags, s, problem), sources))
    reference_s = time.perf_counter() - t0

    with tempfile.TemporaryDirectory(prefix="contest-bench-cache-") as cache_dir:
        cache = BinaryCache(cache_dir)
        with ContestJudge(JudgeSettings(toolchain), workers=workers, cache=cache) as judge:
            judge.judge(problem, "int main(){}")  # servers up and warm before the clock starts
            misses0 = cache.misses
            t0 = time.perf_counter()
            ours = judge.judge_many([(problem, s) for s in sources])
            ours_s = time.perf_counter() - t0
            first_misses = cache.misses - misses0
            hits1, misses1 = cache.hits, cache.misses
            t0 = time.perf_counter()
            rescored = judge.judge_many([(problem, s) for s in sources])
            rescore_s = time.perf_counter() - t0
            rescore_hits, rescore_misses = cache.hits - hits1, cache.misses - misses1
    ours_verdicts = [r.verdict for r in ours]
    disagreements = sum(a != b for a, b in zip(ours_verdicts, reference))
    rescore_disagreements = sum(r.verdict != v for r, v in zip(rescored, ours_verdicts))
    n = len(sources)
    speedup = (n / ours_s) / (n / reference_s)
    return {
        "programs": n, "tests_per_program": TESTS, "workers": workers, "compiler": toolchain.version,
        "flags": list(toolchain.flags),
        "ours_programs_per_s": round(n / ours_s, 2), "reference_programs_per_s": round(n / reference_s, 3),
        "speedup": round(speedup, 1), "floor": FLOOR, "meets_floor": speedup >= FLOOR,
        "verdicts": {v: ours_verdicts.count(v) for v in sorted(set(ours_verdicts))},
        "verdict_disagreements": disagreements,
        "compiles_first_score": first_misses,
        "rescore_programs_per_s": round(n / rescore_s, 2), "rescore_cache_hit_rate": round(
            rescore_hits / max(1, rescore_hits + rescore_misses), 3),
        "rescore_verdict_disagreements": rescore_disagreements,
    }


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
