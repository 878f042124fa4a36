"""Harness overhead: what evalsuite adds around the model.

(a) hf: a 200-request run of the real pipeline, every stage (aime25 sample set, 8 items x 25
    samples, max_tokens 8) on the embedded SmolLM2; overhead = wall time - time inside
    model.generate - the backend's start-up (torch import and weights: the model's cost, reported
    beside it, as vllm's engine start is). Floor: under 3% of the wall time, or under 2 s.
(b) vllm path without a GPU: request building, budget check, tokenization, SamplingParams kwargs,
    output conversion and fsynced store writes for 100,000 synthetic outputs (1,000 items x 100
    samples, ~1 KB of text each), the engine replaced by a synthetic one whose time is subtracted.
    Floor: under 10 s.

    python -c "from bench.harness_bench import run; print(run())"      # quick=True: a smaller (a)
"""
from __future__ import annotations

from evalsuite import planning
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def hf_overhead(quick: bool = False) -> dict:
    from evalsuite import backends, pipeline
    from evalsuite.config import compose

    samples_per_item = 5 if quick else 25
    root = Path(tempfile.mkdtemp(prefix="bench_hf_"))
    cfg = compose(["task=aime25", "data=sample", "backend=hf", f"samples={samples_per_item}",
                   "sampling.max_tokens=8", f"run_dir={root}"])
    made: dict[str, Any] = {}
    real_load = backends.load_backend

    def load_and_keep(c):  # the pipeline builds its own backend: keep it to read its generate time
        t = time.perf_counter()
        made["backend"] = real_load(c)
        made["init_s"] = time.perf_counter() - t
        return made["backend"]

    backends.load_backend = load_and_keep
    try:
        t0 = time.perf_counter()
        summary = pipeline.run_task(cfg)
        wall = time.perf_counter() - t0
    finally:
        backends.load_backend = real_load
        shutil.rmtree(root, ignore_errors=True)
    inside = made["backend"].generate_seconds
    # backend start-up (torch import, weights) is the model's cost, as engine start is on vllm
    overhead = wall - inside - made["init_s"]
    return {"requests": summary.n_scores, "wall_s": round(wall, 2), "generate_s": round(inside, 2),
            "backend_init_s": round(made["init_s"], 2), "overhead_s": round(overhead, 2),
            "overhead_pct": round(100 * overhead / wall, 1),
            "floor": "overhead < 3% or < 2 s (backend init excluded)", "ok": overhead < 2.0 or overhead / wall < 0.03}


@dataclass
class _Completion:
    text: str
    token_ids: list
    finish_reason: str


@dataclass
class _Output:
    prompt_token_ids: list
    outputs: list


class SyntheticEngine:
    """Answers instantly in vllm.LLM.generate's output shape; its own time is subtracted."""

    def __init__(self, text_chars: int):
        self.text = ("x" * (text_chars - 12)) + " \\boxed{42}"
        self.token_ids = list(range(text_chars // 4))
        self.seconds = 0.0

    def generate(self, prompts, params, use_tqdm=False):
        t = time.perf_counter()
        outs = [_Output(p["prompt_token_ids"], [_Completion(self.text, self.token_ids, "stop")]) for p in prompts]
        self.seconds += time.perf_counter() - t
        return outs


def vllm_path_overhead(n_items: int = 1000, samples: int = 100, text_chars: int = 1000) -> dict:
    from omegaconf import OmegaConf

    from evalsuite import store
    from evalsuite.backends.vllm import VLLMBackend
    from evalsuite.config import compose
    from evalsuite.types import Sample, to_dict

    root = Path(tempfile.mkdtemp(prefix="bench_vllm_"))
    cfg = compose(["task=aime25", "backend=vllm", "model=smollm2-135m-vllm", f"samples={samples}",
                   f"run_dir={root}", "backend.progress=false"])
    items = [Sample(str(i), [{"role": "user", "content": f"Problem {i}: find x if {i}x + 3 = {2 * i + 3}. "
                                                         "Please place your final answer inside \\boxed{}."}], "2")
             for i in range(n_items)]
    engine = SyntheticEngine(text_chars)
    backend = VLLMBackend(cfg, llm=engine, sampling_params_factory=dict)  # dict: SamplingParams' kwargs as built
    path = root / "aime25" / "generations.jsonl"
    try:
        t0 = time.perf_counter()
        requests = planning.build_requests(cfg, items, backend.tokenizer, planning.wanted_keys(cfg, items))
        t_build = time.perf_counter() - t0
        planning.check_budget(cfg, requests, backend.count_tokens)
        t_budget = time.perf_counter() - t0 - t_build
        sampling = OmegaConf.merge(cfg.sampling, {"max_tokens": planning.max_new_tokens(cfg)})
        store_s = 0.0

        def on_batch(gens) -> None:  # what pipeline.generate_stage hands the backend
            nonlocal store_s
            t = time.perf_counter()
            store.append_records(path, [to_dict(g) for g in gens])
            store_s += time.perf_counter() - t

        backend.generate(requests, sampling, on_batch)
        wall = time.perf_counter() - t0
        stored = len(store.read_records(path))
        size_mb = path.stat().st_size / 1e6
    finally:
        shutil.rmtree(root, ignore_errors=True)
    overhead = wall - engine.seconds
    return {"outputs": stored, "overhead_s": round(overhead, 2), "build_requests_s": round(t_build, 2),
            "budget_check_s": round(t_budget, 2), "store_writes_s": round(store_s, 2),
            "backend_s": round(wall - t_build - t_budget - store_s - engine.seconds, 2),
            "synthetic_engine_s": round(engine.seconds, 2),
            "store_mb": round(size_mb, 1), "floor": "< 10 s", "ok": overhead < 10.0 and stored == n_items * samples}


def run(quick: bool = False) -> dict:
    return {"hf_200_requests": hf_overhead(quick), "vllm_path_100k_outputs": vllm_path_overhead()}


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
