"""evalsuite's generation of a task against a bare `LLM.generate` of the same requests, in one
process on one engine (engine start excluded). Floor: harness / bare < 1.05.

The harness side is the pipeline's whole generate stage (store read, backend set-up, prompt
rendering, budget check, tokenization, SamplingParams, the engine call, output conversion, fsynced
store writes); the bare side is one `llm.generate(prompts, params)` with everything prepared
beforehand. Both run after a full warm-up (Triton compiles on the first call), alternating.

    python -m bench.vllm_ratio [samples=256 ...overrides]   # on a GPU node with vllm
"""
from __future__ import annotations

from evalsuite import planning, store, task
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

BASE = ["task=aime25", "backend=vllm", "model=smollm2-135m-vllm", "data=sample", "samples=256",
        "backend.progress=false"]


def run(overrides: list[str] | None = None, repeats: int = 2) -> dict:
    from omegaconf import OmegaConf

    from evalsuite import pipeline
    from evalsuite.backends.vllm import VLLMBackend, sampling_base, sampling_kwargs
    from evalsuite.config import compose
    from evalsuite.rundir import task_run

    root = Path(tempfile.mkdtemp(prefix="vllm_ratio_"))
    cfg = compose([*BASE, *(overrides or []), f"run_dir={root}/setup"])
    spec = task.resolve(cfg)
    samples = pipeline.load_samples(cfg, spec)
    backend = VLLMBackend(cfg)
    t0 = time.perf_counter()
    llm = backend.engine
    engine_start = time.perf_counter() - t0
    requests = planning.build_requests(cfg, samples, backend.tokenizer, planning.wanted_keys(cfg, samples))
    sampling = OmegaConf.merge(cfg.sampling, {"max_tokens": planning.max_new_tokens(cfg)})
    prompts = [backend.engine_prompt(r) for r in requests]
    base = sampling_base(sampling, backend.skip_special_tokens)
    params = [backend.sampling_params(**sampling_kwargs(base, r)) for r in requests]

    def bare() -> tuple[float, int]:
        t = time.perf_counter()
        outs = llm.generate(prompts, params, use_tqdm=False)
        return time.perf_counter() - t, sum(len(o.outputs[0].token_ids) for o in outs)

    def harness(i: int) -> tuple[float, int]:
        run_cfg = compose([*BASE, *(overrides or []), f"run_dir={root}/harness{i}"])
        t = time.perf_counter()
        pipeline.generate_stage(task_run(run_cfg, spec, samples))
        seconds = time.perf_counter() - t
        gens = store.read_records(root / f"harness{i}" / "aime25" / "generations.jsonl", repair=False)
        return seconds, sum(g["tokens"] for g in gens)

    warm_s, _ = bare()  # Triton compiles, CUDA graphs warm
    rows = []
    for i in range(repeats):
        b, bt = bare()
        h, ht = harness(i)
        rows.append({"bare_s": round(b, 3), "bare_tokens": bt, "harness_s": round(h, 3), "harness_tokens": ht,
                     "ratio": round(h / b, 4)})
        print(f"[ratio] round {i}: bare {b:.2f} s ({bt} tok), harness {h:.2f} s ({ht} tok), ratio {h / b:.4f}",
              file=sys.stderr)
    shutil.rmtree(root, ignore_errors=True)
    bare_total = sum(r["bare_s"] for r in rows)
    harness_total = sum(r["harness_s"] for r in rows)
    import torch
    import vllm

    return {"requests": len(requests), "engine_start_s": round(engine_start, 1), "warmup_s": round(warm_s, 2),
            "rounds": rows, "ratio": round(harness_total / bare_total, 4), "floor": 1.05,
            "ok": harness_total / bare_total < 1.05,
            "bare_tok_s": round(sum(r["bare_tokens"] for r in rows) / bare_total),
            "vllm": vllm.__version__, "torch": torch.__version__, "gpu": torch.cuda.get_device_name(0)}


if __name__ == "__main__":
    result = run(sys.argv[1:])
    print(json.dumps(result, indent=2))
