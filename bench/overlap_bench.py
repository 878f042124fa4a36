"""Scoring while generating, on a CPU: wall time of stage=all (each stored batch graded while the
next is generated) against stage=generate then stage=score, and against generation alone, on
LiveCodeBench (programs run in the sandbox) and IFBench (the instruction checkers).

The engine is `tests/vllm_stand_in.py` (FakeLLMStandIn, NOT vLLM), paced at the rate the tiny
NemotronH of the card's architecture generated these tasks at on the H200 (docs/gpu-runs/
session-3.log: 2,482 tok/s on LiveCodeBench's 20 requests, 11,977 tok/s on IFBench's 588); its
texts are one fixed answer per task (a stdin program, an English paragraph) that the real scorers
grade. Floor: the overlapped run within 10% of generation alone.

    python -m bench overlap
"""
from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

FLOOR = 1.10
# task -> (tokens/s measured on the H200 for this task, the stand-in's answer)
TASKS = {
    "livecodebench": (2482, "Reading the input, then counting.\n```python\nimport sys\n\ndata = sys.stdin.read().split()\n"
                            "total = 0\nfor word in data:\n    total += len(word)\nprint(total)\n```\n"),
    "ifbench": (11977, "The river bends twice before it reaches the town. " * 12
                       + "\n\nIn short, the answer is the town by the river, described in plain words without lists."),
}


def _run(overrides: list[str], stages: list[str], text: str) -> float:
    from omegaconf import OmegaConf

    from evalsuite import pipeline
    from evalsuite.backends import close_all
    from evalsuite.config import compose

    t0 = time.perf_counter()
    for stage in stages:
        cfg = compose([*overrides, f"stage={stage}"])
        OmegaConf.update(cfg, "backend.engine_args.stand_in_text", text, force_add=True)
        pipeline.run_task(cfg)
    seconds = time.perf_counter() - t0
    close_all()
    return seconds


def run(quick: bool = False) -> dict:
    repo = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(repo / "tests"))  # vllm_stand_in
    samples = 2 if quick else 8
    out: dict = {"engine": "tests/vllm_stand_in.py (not vLLM), paced at the H200's measured tok/s per task",
                 "floor": f"overlapped <= {FLOOR} x generation alone", "samples": samples}
    root = Path(tempfile.mkdtemp(prefix="overlap-bench-"))
    try:
        for task, (rate, text) in TASKS.items():
            def overrides(name: str) -> list[str]:
                return [f"task={task}", "backend=vllm", "backend.vllm_module=vllm_stand_in", "model=smollm2-135m-vllm",
                        "data=sample", f"samples={samples}", "sampling.max_tokens=2048", "model.max_new_tokens=2048", "backend.chunk_size=8",
                        "backend.progress=false", f"+backend.engine_args.stand_in_tokens_per_s={rate}",
                        f"run_dir={root / name / task}"]

            _run([*overrides("warmup"), "limit=1", "samples=1"], ["all"], text)  # imports, tokenizer, sandbox
            generate = _run(overrides("generate"), ["generate"], text)
            sequential = _run(overrides("sequential"), ["generate", "score"], text)
            overlapped = _run(overrides("overlapped"), ["all"], text)
            out[task] = {"tokens_per_s": rate, "generate_alone_s": round(generate, 2),
                         "generate_then_score_s": round(sequential, 2), "overlapped_s": round(overlapped, 2),
                         "overlapped_over_generate": round(overlapped / generate, 3),
                         "ok": overlapped <= FLOOR * generate}
    finally:
        shutil.rmtree(root, ignore_errors=True)
    out["ok"] = all(out[t]["ok"] for t in TASKS)
    return out


if __name__ == "__main__":
    import json

    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
