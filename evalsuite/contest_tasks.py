"""What the C++ contest tasks (tasks/livecodebench_pro.py, icpc.py, ioi.py) share: the judge their
settings ask for (one per process), the loop that scores a batch of answers chunk by chunk, and the
time and memory limits as problem packages write them. Each task says how a sample becomes the
judge's Problem and how a JudgeResult becomes its Grade; the judge itself is
evalsuite/sandbox/contest_judge.py (docs/sandbox.md, "The contest judge").
"""
from __future__ import annotations

import atexit
import os
import re
import threading
from pathlib import Path
from typing import Any, Callable, Iterator

from evalsuite.errors import UserError
from evalsuite.sandbox.contest_judge import (DEFAULT_FLAGS, BinaryCache, ContestJudge, JudgeResult, JudgeSettings, Problem,
                                             find_toolchain, toolchain_missing)
from evalsuite.scoring.code import extract_code_block
from evalsuite.task import Setting
from evalsuite.types import Grade, Sample


# ------------------------------------------------------------------------------------- limits

def parse_time(value: Any, where: str) -> float:
    """'2s', '1500ms', 2 (seconds), 2000 (a bare number over 100: milliseconds) -> seconds."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*(ms|s)?\s*", str(value))
    if not m:
        raise UserError(f"{where}: time limit {value!r} is not like 2s or 1500ms")
    n = float(m.group(1))
    return n / 1000 if m.group(2) == "ms" or (m.group(2) is None and n > 100) else n


def parse_memory(value: Any, where: str) -> int:
    """'256m', '256MB', '262144k', '1g', 256 (a bare number: MiB, or KiB when over 65536) -> MiB."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*([kmg])?i?b?\s*", str(value).lower())
    if not m:
        raise UserError(f"{where}: memory limit {value!r} is not like 256m or 262144k")
    n, unit = float(m.group(1)), m.group(2)
    if unit is None:
        unit = "k" if n > 65536 else "m"
    return max(1, int(n * {"k": 1 / 1024, "m": 1, "g": 1024}[unit]))


# ------------------------------------------------------------------------------------- the judge

# the task settings judge_settings and judge_workers read: every contest task declares them (a task
# may say more of testlib_h)
JUDGE_SETTINGS = {
    "compiler": Setting(str, doc="the C++ compiler (its version is part of every cache key)"),
    "flags": Setting(list, nullable=True, doc=f"compiler flags; null: {' '.join(DEFAULT_FLAGS)}"),
    "time_scale": Setting((int, float), minimum=0.01, doc="multiplies every problem's time limit (a deviation when not 1)"),
    "testlib_h": Setting(str, nullable=True, doc="path of testlib.h, for checkers and interactors that include it"),
    "workers": Setting(int, nullable=True, minimum=1, protocol=False, doc="parallel judge servers; null: one per core"),
}


def judge_settings(cfg) -> JudgeSettings | str:
    """The judge's settings from task.compiler, flags, time_scale and testlib_h, or why C++ cannot
    be judged on this machine (one line). A bad setting is a UserError."""
    task = cfg.task
    flags = tuple(str(f) for f in (task.get("flags") or DEFAULT_FLAGS))
    scale = float(task.get("time_scale", 1.0))
    if scale <= 0:
        raise UserError(f"task.time_scale={scale} must be positive (1: the problems' own limits)")
    testlib = task.get("testlib_h")
    testlib_text = None
    if testlib:
        path = Path(str(testlib)).expanduser()
        if not path.is_file():
            raise UserError(f"task.testlib_h={path} is not a file; point it at testlib.h (github.com/MikeMirzayanov/testlib)")
        testlib_text = path.read_text(encoding="utf-8", errors="replace")
    compiler = str(task.get("compiler", "g++"))
    toolchain = find_toolchain(compiler, flags)
    if toolchain is None:
        return toolchain_missing(compiler) or f"{compiler} does not run"
    return JudgeSettings(toolchain, time_scale=scale, testlib_h=testlib_text)


def judge_missing(cfg) -> list[str]:
    """The preflight's line when C++ cannot be judged on this machine; none when it can."""
    settings = judge_settings(cfg)
    return [f"{cfg.task.name}: {settings}"] if isinstance(settings, str) else []


def judge_workers(cfg) -> int:
    return int(cfg.task.get("workers") or os.cpu_count() or 1)


_judges: dict[tuple, ContestJudge] = {}
_lock = threading.Lock()


def shared_judge(settings: JudgeSettings, workers: int) -> ContestJudge:
    """One judge per process and settings (a forked scoring worker starts its own), closed at exit."""
    key = (os.getpid(), repr(settings.describe()), settings.testlib_h)
    with _lock:
        judge = _judges.get(key)
        if judge is None or judge._closed:
            judge = _judges[key] = ContestJudge(settings, workers=workers, cache=BinaryCache())
            atexit.register(judge.close)
        judge.ensure_workers(workers)
        return judge


def judge_environment(cfg, **rules: str) -> dict[str, Any]:
    """What programs were judged under, for run.json: compiler and flags, the time scale, the
    sandbox's isolation, and the task's own `rules` (how its limits and verdicts are read)."""
    settings = judge_settings(cfg)
    if isinstance(settings, str):
        return {"judge": None, "why": settings}
    judge = shared_judge(settings, judge_workers(cfg))
    return {"judge": settings.describe(), "sandbox": judge.isolation, **rules}


def judge_deviations(cfg, protocol_flags: tuple[str, ...]) -> list[str]:
    """A time scale other than 1 and compiler flags other than the benchmark's own."""
    out = []
    scale = float(cfg.task.get("time_scale", 1.0))
    if scale != 1.0:
        out.append(f"time limits scaled by {scale:g} (task.time_scale): the problems' own limits are the protocol")
    flags = list(cfg.task.get("flags") or DEFAULT_FLAGS)
    if flags != list(protocol_flags):
        out.append(f"compiled with {' '.join(flags)} instead of {' '.join(protocol_flags)}")
    return out


# ------------------------------------------------------------------------------------- scoring

def judge_detail(result: JudgeResult, **extra: Any) -> dict[str, Any]:
    """A grade's detail: the verdict, tests passed, the judge's message, the task's `extra`."""
    return {"verdict": result.verdict, "tests_passed": sum(t.verdict == "pass" for t in result.tests),
            "tests": result.n_tests, "message": result.message, "compile_cached": result.compile_cached, **extra}


def judge_failure(grade: Grade, result: JudgeResult) -> Grade:
    """The task's grade of a judged program; a sandbox failure makes it a scoring error (the
    machine's fault, not the answer's), whatever the task's own grade said."""
    if result.verdict == "sandbox_error":
        grade.scoring_error = f"judge: {result.message}"
    return grade


def score_answers(pairs: list[tuple[Sample, str]], cfg, problem: Callable[[Sample, Any], Problem],
                  grade: Callable[[Sample, JudgeResult, str], Grade], problem_id: Callable[[Sample], str] = lambda s: s.id,
                  no_code: dict[str, Any] | None = None, judge: ContestJudge | None = None) -> Iterator[Grade]:
    """Grades in order, every program of a chunk judged in parallel (a chunk: a few times as many
    answers as workers, so only its problems' tests are in memory: `problem(sample, cfg)` is read
    once per chunk for each `problem_id(sample)`). The last ```cpp block is the program; an answer
    without one gets `no_code` as its detail. Never raises on a model's output: a problem whose data is broken
    (a UserError) and a machine without the compiler are scoring errors naming the fix."""
    settings = judge_settings(cfg)
    workers = judge_workers(cfg)
    chunk = max(64, 4 * workers)
    for at in range(0, len(pairs), chunk):
        part = pairs[at:at + chunk]
        codes = [extract_code_block(answer, which="last", language="cpp") for _, answer in part]
        if isinstance(settings, str):
            yield from (Grade(0.0, c, {"verdict": "no_judge"}, scoring_error=settings) for c in codes)
            continue
        jobs, owners, broken, problems = [], [], {}, {}
        for i, ((sample, _), code) in enumerate(zip(part, codes)):
            if code is None:
                continue
            pid = problem_id(sample)
            try:
                if pid not in problems:
                    problems[pid] = problem(sample, cfg)
                jobs.append((problems[pid], code))
                owners.append(i)
            except UserError as e:  # the problem's data, not the answer: a scoring error
                broken[i] = str(e)
        results = dict(zip(owners, (judge or shared_judge(settings, workers)).judge_many(jobs)))
        for i, ((sample, _), code) in enumerate(zip(part, codes)):
            if i in results:
                yield judge_failure(grade(sample, results[i], code), results[i])
            elif i in broken:
                yield Grade(0.0, code, {"verdict": "no_tests"}, scoring_error=broken[i])
            else:
                yield Grade(0.0, None, dict(no_code or {"verdict": "no_code"}))
