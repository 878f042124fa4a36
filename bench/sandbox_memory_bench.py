"""The harness's memory and time on the worst outputs a program can hand back for comparison.

A program may print up to its output cap (64 MiB per test). Each case runs one such program in a
fresh harness process (one fork server) and reports how much that process's peak RSS grew while
reading and grading the output, and the seconds the comparison itself takes on the same text:

- tokens_one_line: ~63 MiB of one-character numbers on one line, against a two-token expected line
  (the reference's rule converts every token to a Decimal before comparing);
- tokens_many_lines: ~63 MiB of one-number lines against a two-line expected output;
- one_astral_char: tokens_one_line plus one emoji (the decoded text takes 4 bytes a character);
- equal_numbers: a million tokens equal only as numbers ("1.0" for "1"): the most comparing work an
  expected output of that size can cause.

    python -m bench sandbox_memory            # writes bench/results.json
    python -c "from bench.sandbox_memory_bench import run; print(run(quick=True))"   # 8 MiB outputs
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent

# VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so a child would start at its parent's peak
CASE = r"""
import json, sys, time
from evalsuite.sandbox.programs import SandboxPool, TestCase, make_job
def hwm_kib():
    with open("/proc/self/status") as f:
        return int(next(l for l in f if l.startswith("VmHWM:")).split()[1])
code, expected = json.loads(sys.stdin.read())
with SandboxPool(1) as pool:
    pool.run(make_job("print(1)", [TestCase("", "1")]))
    base = hwm_kib()
    t0 = time.perf_counter()
    result = pool.run(make_job(code, [TestCase("", expected)], timeout_s=60))
    wall = time.perf_counter() - t0
    grown = hwm_kib() - base
print(json.dumps({"verdict": result.verdict, "harness_peak_growth_mib": round(grown / 1024, 1),
                  "program_wall_s": round(wall, 2)}))
"""


def cases(size_mib: int) -> dict[str, tuple[str, str, Callable[[], str]]]:
    """name: (program, expected output, the program's output for timing the comparison alone)."""
    pairs = (size_mib << 20) // 2 - 16
    tokens = f"import sys\nsys.stdout.write('1 ' * {pairs})"
    lines = f"import sys\nsys.stdout.write('1\\n' * {pairs})"
    astral = f"import sys\nsys.stdout.write('1 ' * {pairs} + '\\U0001F600')"
    million = 1_000_000
    equal = f"import sys\nsys.stdout.write('1.0 ' * {million})"
    return {
        "tokens_one_line": (tokens, "1 1", lambda: "1 " * pairs),
        "tokens_many_lines": (lines, "1\n1", lambda: "1\n" * pairs),
        "one_astral_char": (astral, "1 1", lambda: "1 " * pairs + "\U0001F600"),
        "equal_numbers": (equal, "1 " * million, lambda: "1.0 " * million),
    }


def _measure(code: str, expected: str) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-c", CASE], input=json.dumps([code, expected]).encode(),
                          capture_output=True, cwd=ROOT, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"case failed: {proc.stderr.decode()[-500:]}")
    return json.loads(proc.stdout.decode().strip().splitlines()[-1])


def run(quick: bool = False) -> dict[str, Any]:
    from evalsuite.sandbox.programs import compare_stdout

    size_mib = 8 if quick else 63
    out: dict[str, Any] = {"bench": "sandbox_memory", "quick": quick, "output_mib": size_mib, "cases": {}}
    for name, (code, expected, make_output) in cases(size_mib).items():
        result = _measure(code, expected)
        output = make_output()
        t0 = time.perf_counter()
        compare_stdout(output, expected)
        result["compare_s"] = round(time.perf_counter() - t0, 3)
        del output
        out["cases"][name] = result
    worst = max(c["harness_peak_growth_mib"] for c in out["cases"].values())
    out["worst_harness_peak_growth_mib"] = worst
    # the bytes read once, and their text: 1 byte a character for ASCII, 4 (and a passing 1-byte
    # copy while decoding widens) when one character is outside the BMP: at most 6x the output
    out["floors"] = {"growth_within_6x_output": worst <= 6 * size_mib + 32,
                     "every_case_graded": all(c["verdict"] in ("wrong", "pass") for c in out["cases"].values())}
    return out


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
