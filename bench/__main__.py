"""`make bench`: every benchmark module's run(), merged into bench/results.json (quoted in the README).

    python -m bench                 # all
    python -m bench math niah       # some
    python -m bench --quick         # smaller sizes, for a smoke check
"""
from __future__ import annotations

import importlib
import json
import platform
import sys
import time
from pathlib import Path

MODULES = {"math": "bench.math_bench", "sandbox": "bench.sandbox_bench", "ifbench": "bench.ifbench_bench",
           "niah": "bench.niah_bench", "harness": "bench.harness_bench", "session": "bench.session_bench",
           "tir": "bench.tir_bench", "contest": "bench.contest_bench",
           "sandbox_memory": "bench.sandbox_memory_bench", "ioi": "bench.ioi_bench", "overlap": "bench.overlap_bench"}


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    names = [a for a in argv if not a.startswith("-")] or list(MODULES)
    unknown = [n for n in names if n not in MODULES]
    if unknown:
        print(f"error: unknown bench {unknown[0]!r}; choose from {', '.join(MODULES)}", file=sys.stderr)
        return 2
    out_path = Path(__file__).resolve().parent / "results.json"
    results = json.loads(out_path.read_text()) if out_path.exists() else {}
    for name in names:
        try:
            module = importlib.import_module(MODULES[name])
        except ModuleNotFoundError as e:
            print(f"[{name}] skipped: {e}", file=sys.stderr)
            continue
        print(f"[{name}] running ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        res = module.run(quick=quick)
        res["_measured"] = {"date": time.strftime("%Y-%m-%d"), "wall_s": round(time.perf_counter() - t0, 1),
                            "machine": f"{platform.machine()} {platform.processor() or ''} cores={__import__('os').cpu_count()}".strip(),
                            "quick": quick}
        results[name] = res
        print(json.dumps({name: res}, indent=2))
        out_path.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
