"""Sandbox sessions: what one call costs with the session warm (issue 15's goal: < 5 ms).

The overhead is a call's wall time as the harness sees it (send, splice into the session, run,
report, read back) for cells that do almost nothing, so the number is the session's own cost.
Also: opening a session (a fresh fork server with its namespaces and root), and a cell that
prints 64 KiB (the output path).

    python -m bench session
"""
from __future__ import annotations

import statistics
import time
from typing import Any

from evalsuite.sandbox.sessions import Session

CALLS, QUICK_CALLS = 2000, 300


def _timed(s: Session, code: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        r = s.execute(code)
        out.append((time.perf_counter() - t0) * 1000)
        assert r.ok, r
    return out


def run(quick: bool = False) -> dict[str, Any]:
    n = QUICK_CALLS if quick else CALLS
    opens = []
    for _ in range(3 if quick else 10):
        t0 = time.perf_counter()
        s = Session()
        opens.append((time.perf_counter() - t0) * 1000)
        s.close()
    with Session() as s:
        s.execute("x = 0")
        _timed(s, "x += 1", 20)  # warm
        statement = _timed(s, "x += 1", n)
        expression = _timed(s, "x * 2", n)
        printing = _timed(s, "print('y' * 65535)", max(50, n // 10))
        isolation = s.isolation
    p = lambda xs, q: round(statistics.quantiles(xs, n=100)[q - 1], 3)  # noqa: E731
    result = {
        "bench": "session", "calls": n, "isolation_limits": isolation.get("limits"),
        "statement_ms": {"median": round(statistics.median(statement), 3), "p99": p(statement, 99)},
        "expression_ms": {"median": round(statistics.median(expression), 3), "p99": p(expression, 99)},
        "print_64k_ms": {"median": round(statistics.median(printing), 3)},
        "open_ms": {"median": round(statistics.median(opens), 1)},
    }
    result["floors"] = {"warm_call_overhead_lt_5ms": result["statement_ms"]["median"] < 5
                        and result["expression_ms"]["median"] < 5}
    return result


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
