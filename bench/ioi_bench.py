"""IOI scoring at the card's scale: 6 problems x 50 submissions, every test of every subtask,
through tasks.ioi's own path (grader linked with each submission, a CMS-order partial checker on
half the problems, GroupMin subtasks, best per subtask over the submissions), with the compile
cache; then the same submissions scored again (every binary from the cache).

The problems are synthetic (written here, the sample set's shape): 3 subtasks (0, 40, 60 points),
20 tests, subtasks sharing tests. Submissions: distinct sources (each compiles once), a mix of
right, subtask-1-only (an int accumulator), partial (5% off on large inputs) and non-compiling.
Floor: the first scoring under 10 minutes on this machine's cores.

    python -m bench ioi            # bench/results.json["ioi"]
    python -m bench ioi --quick    # 2 problems x 10 submissions
"""
from __future__ import annotations

import json
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from evalsuite.config import CONFIG_DIR
from evalsuite.contest_tasks import judge_settings, shared_judge
from evalsuite.sandbox.contest_judge import toolchain_missing

PROBLEMS, SUBMISSIONS = 6, 50
QUICK_PROBLEMS, QUICK_SUBMISSIONS = 2, 10
TESTS = 20
FLOOR_S = 600.0

GRADER = r'''#include <cstdio>
#include <vector>
#include "%(id)s.h"
int main() {
    int n; if (std::scanf("%%d", &n) != 1) return 0;
    std::vector<long long> a(n); for (auto& x : a) std::scanf("%%lld", &x);
    std::printf("%%lld\n", solve(a));
}
'''
CHECKER = r'''#include <cstdio>
#include <cstdlib>
int main(int argc, char** argv) {
    FILE* ans = std::fopen(argv[2], "r"); FILE* out = std::fopen(argv[3], "r"); long long want = 0, got = 0;
    std::fscanf(ans, "%lld", &want);
    if (!out || std::fscanf(out, "%lld", &got) != 1) { std::printf("0\n"); return 0; }
    double off = want ? std::llabs(got - want) / (double)std::llabs(want) : (got ? 1.0 : 0.0);
    std::printf(off == 0 ? "1\n" : off <= 0.1 ? "0.5\n" : "0\n"); return 0;
}
'''
RIGHT = '#include "%(id)s.h"\n// submission %(k)d\nlong long solve(std::vector<long long> a) { long long s = %(c)d; for (auto x : a) s += x * %(m)d; return s; }\n'
SMALL_ONLY = '#include "%(id)s.h"\n// submission %(k)d\nlong long solve(std::vector<long long> a) { int s = %(c)d; for (auto x : a) s += (int)(x * %(m)d); return s; }\n'
CLOSE = ('#include "%(id)s.h"\n// submission %(k)d\nlong long solve(std::vector<long long> a) { long long s = %(c)d; for (auto x : a) s += x * %(m)d;'
         ' return a.size() > 10 ? s + s / 20 : s; }\n')
BROKEN = '#include "%(id)s.h"\n// submission %(k)d\nlong long solve(std::vector<long long> a) { return a.size() }\n'
KINDS = [RIGHT, SMALL_ONLY, CLOSE, RIGHT, SMALL_ONLY, BROKEN, RIGHT, CLOSE, SMALL_ONLY, RIGHT]


def _write_problems(folder: Path, n_problems: int, rng: random.Random) -> tuple[Path, Path]:
    rows, tests = [], []
    for p in range(n_problems):
        pid, c, m = f"bench{p}", p, p + 1
        names = [f"t{i:02d}" for i in range(TESTS)]
        for i, name in enumerate(names):
            big = i >= TESTS // 2
            a = [rng.randint(10**6, 10**9) if big else rng.randint(1, 1000) for _ in range(rng.randint(200, 2000) if big else rng.randint(1, 10))]
            tests.append({"problem_id": pid, "test_name": name, "test_input": f"{len(a)}\n{' '.join(map(str, a))}\n",
                          "test_output": f"{c + m * sum(a)}\n"})
        files = [["graders/grader.cpp", GRADER % {"id": pid}],
                 [f"graders/{pid}.h", f"#pragma once\n#include <vector>\nlong long solve(std::vector<long long> a);\n"]]
        if p % 2 == 0:
            files.append(["checker/checker.cpp", CHECKER])
        for sub, points, tnames in [("00-samples", 0, names[:1]), ("01-small", 40, names[:TESTS // 2]), ("02-full", 60, names)]:
            rows.append({"year": 2025, "name": pid, "id": pid, "subtask": sub, "score": points, "time_limit": 1.0,
                         "memory_limit": 256 << 20, "score_precision": 2, "task_type": "Batch", "test_names": tnames,
                         "grader_files": files, "problem": f"Problem {pid}"})
    problems, test_file = folder / "problems.jsonl", folder / "tests.jsonl"
    problems.write_text("".join(json.dumps(r) + "\n" for r in rows))
    test_file.write_text("".join(json.dumps(r) + "\n" for r in tests))
    return problems, test_file


def run(quick: bool = False) -> dict[str, Any]:
    why = toolchain_missing()
    if why:
        return {"skipped": why}
    from tasks import ioi

    n_problems, n_subs = (QUICK_PROBLEMS, QUICK_SUBMISSIONS) if quick else (PROBLEMS, SUBMISSIONS)
    workers = max(1, min(4, os.cpu_count() or 1))
    with tempfile.TemporaryDirectory(prefix="ioi-bench-") as tmp:
        os.environ["EVALSUITE_CONTEST_CACHE"] = str(Path(tmp) / "binaries")
        problems, tests = _write_problems(Path(tmp), n_problems, random.Random(25))
        task = OmegaConf.load(CONFIG_DIR / "task" / "ioi25.yaml").task
        cfg = OmegaConf.create({"task": OmegaConf.to_container(task), "data": {"source": "hub", "path": str(problems)}, "seed": 0})
        cfg.task.tests_path, cfg.task.workers = str(tests), workers
        samples = ioi.load(cfg)
        pairs = []
        for sample in samples:
            p = int(sample.id[5:])
            for k in range(n_subs):
                code = KINDS[k % len(KINDS)] % {"id": sample.id, "k": k, "c": p, "m": p + 1}
                pairs.append((sample, f"```cpp\n{code}```"))
        judge = shared_judge(judge_settings(cfg), workers)
        judge.judge(ioi.judge_problem(samples[0].reference, ioi.test_cases(cfg)[samples[0].id])[0], "int main(){}")
        t0 = time.perf_counter()
        grades = list(ioi.score_batch(pairs, cfg, judge))
        first_s = time.perf_counter() - t0
        hits0, misses0 = judge.cache.hits, judge.cache.misses
        t0 = time.perf_counter()
        again = list(ioi.score_batch(pairs, cfg, judge))
        rescore_s = time.perf_counter() - t0
        hits, misses = judge.cache.hits - hits0, judge.cache.misses - misses0
    def expected(i: int) -> float:  # CLOSE earns half of subtask 2 only where a checker gives fractions
        kind, checked = KINDS[i % n_subs % len(KINDS)], (i // n_subs) % 2 == 0
        return {RIGHT: 100.0, SMALL_ONLY: 40.0, CLOSE: 70.0 if checked else 40.0, BROKEN: 0.0}[kind]

    wrong_points = sum(g.detail.get("points") != expected(i) for i, g in enumerate(grades))
    n = len(pairs)
    return {
        "problems": n_problems, "submissions_per_problem": n_subs, "tests_per_problem": TESTS, "workers": workers,
        "first_scoring_s": round(first_s, 1), "s_per_submission": round(first_s / n, 3),
        "rescore_s": round(rescore_s, 1), "rescore_s_per_submission": round(rescore_s / n, 3),
        "rescore_cache_hit_rate": round(hits / max(1, hits + misses), 3),
        "points_disagreements": wrong_points,
        "rescore_disagreements": sum(a.detail.get("subtask_points") != b.detail.get("subtask_points") for a, b in zip(grades, again)),
        "floor_s": FLOOR_S, "meets_floor": first_s < FLOOR_S,
    }


if __name__ == "__main__":
    import sys

    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
