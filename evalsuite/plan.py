"""`evalsuite plan ...`: what a run will cost before any GPU time is spent.

    evalsuite plan suite=card model=nemotron-cascade-2 backend=vllm [calibration=RUN_DIR] [gpu=H200] [shards=N]

Per task: requests, prompt tokens, the budget of new tokens, the tokens likely to be generated (the
mean per generation a finished run recorded in its calibration.json, else the whole budget: the
`estimate` column says which), the engine configuration it runs on (a suite starts each once), and
GPU-hours at the throughput measured for this model on this GPU (evalsuite/throughput.json, rows
only from runs on that GPU; none measured: the hours stay blank and the line says so). With
shards=N, the wall time of one shard. Prompts are built and counted by the dry run's own code
(evalsuite.dryrun.measure_task); a task whose items are costly to build (NIAH at 1M) gives its
prompt sizes from its settings (TaskSpec.plan_prompts).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig

from evalsuite import store
from evalsuite.errors import UserError
from evalsuite.rundir import CALIBRATION

THROUGHPUT = Path(__file__).resolve().parent / "throughput.json"
DEFAULT_GPU = "H200"


@dataclass
class TaskPlan:
    task: str
    requests: int
    prompt_tokens: int  # distinct prompts: one prefill each with prefix caching
    max_tokens: int
    generated_tokens: int  # the estimate
    estimate: str  # "calibration (N generations)" | "budget"
    engine: str  # "A", "B" ...: one letter per engine configuration of the run
    gpu_hours: float | None
    misfits: int = 0  # items whose prompt + max_tokens exceed max_model_len (the dry run lists them)
    problem: str | None = None  # why the task could not be planned


# ---------------------------------------------------------------- the two files

def load_throughput(path: Path = THROUGHPUT) -> list[dict]:
    rows = store.read_json(path, expect=list) if path.exists() else []
    return [r for r in rows if isinstance(r, dict)]


def measured(rows: list[dict], model: str, gpu: str) -> dict | None:
    """The row measured for this model config on this GPU, if any (the most recent)."""
    found = [r for r in rows if r.get("model") == model and str(r.get("gpu", "")).upper() == gpu.upper()]
    return found[-1] if found else None


def load_calibration(where: str | None) -> dict[str, dict]:
    if not where:
        return {}
    path = Path(where).expanduser()
    path = path / CALIBRATION if path.is_dir() else path
    if not path.is_file():
        raise UserError(f"calibration={where}: no {CALIBRATION} there; give a finished run's run_dir or its "
                        f"{CALIBRATION} (drop calibration= to estimate from the budget)")
    return store.read_json(path, expect=dict)


# ---------------------------------------------------------------- the plan

def plan_task(cfg: DictConfig, calibration: dict[str, dict], rate: dict | None, engine: str) -> TaskPlan:
    from evalsuite import pipeline
    from evalsuite.dryrun import measure_task
    from evalsuite.planning import context_limit, fit_to_context, max_new_tokens, wanted_keys
    from evalsuite.task import resolve

    name = str(cfg.task.name)
    pipeline.settle(cfg)
    spec = resolve(cfg)
    budget = max_new_tokens(cfg)
    if spec.plan_prompts is not None:
        prompts = spec.plan_prompts(cfg)
        requests, prompt_tokens = len(prompts) * int(cfg.samples), sum(n for _, n in prompts)
        clamp, limit = bool(cfg.task.get("clamp_budget", False)), context_limit(cfg)
        misfits = sum(fit_to_context(n, budget, limit, clamp).verdict == "misfit" for _, n in prompts)
    else:
        samples = pipeline.load_samples(cfg, spec)
        size = measure_task(cfg, samples, spec)
        requests, prompt_tokens = len(wanted_keys(cfg, samples)), size.prompt_tokens_unique
        misfits = len(size.misfits)
    known = calibration.get(name)
    if known and known.get("model") == str(cfg.model.name) and int(known.get("max_tokens", budget)) == budget:
        per_request, estimate = min(float(known["mean_tokens"]), budget), f"calibration ({known['generations']} generations)"
    else:
        per_request, estimate = float(budget), "budget"
    generated = round(per_request * requests)
    hours = None
    if rate and rate.get("decode_tok_s"):
        seconds = generated / float(rate["decode_tok_s"])
        if rate.get("prefill_tok_s"):
            seconds += prompt_tokens / float(rate["prefill_tok_s"])
        hours = seconds / 3600
    return TaskPlan(name, requests, prompt_tokens, budget, generated, estimate, engine, hours, misfits)


def make_plan(cfgs: list[DictConfig], calibration: dict[str, dict], rate: dict | None) -> list[TaskPlan]:
    from evalsuite import pipeline

    letters: dict[str | None, str] = {}
    plans = []
    for i in pipeline.by_engine(cfgs):
        cfg = cfgs[i]
        key = pipeline.engine_configuration(cfg)
        engine = "-" if key is None else letters.setdefault(key, chr(ord("A") + len(letters)))
        try:
            plans.append(plan_task(cfg, calibration, rate, engine))
        except UserError as e:
            plans.append(TaskPlan(str(cfg.task.name), 0, 0, 0, 0, "-", engine, None, problem=str(e)))
    return plans


def describe(plans: list[TaskPlan], cfgs: list[DictConfig], rate: dict | None, model: str, gpu: str,
             shards: int) -> str:
    from evalsuite import pipeline

    head = ("task", "engine", "requests", "prompt tok", "max_tokens", "est. generated", "estimate", "GPU-h")
    rows = [(p.task, p.engine, f"{p.requests:,}", f"{p.prompt_tokens:,}", f"{p.max_tokens:,}", f"{p.generated_tokens:,}",
             p.estimate, "-" if p.gpu_hours is None else f"{p.gpu_hours:.3g}") for p in plans if p.problem is None]
    total_h = sum(p.gpu_hours or 0 for p in plans)
    rows.append(("total", "", f"{sum(p.requests for p in plans):,}", f"{sum(p.prompt_tokens for p in plans):,}", "",
                 f"{sum(p.generated_tokens for p in plans):,}", "", f"{total_h:.3g}" if rate else "-"))
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) if i in (0, 1, 6) else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in [head, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    configs = {}
    for cfg in cfgs:
        key = pipeline.engine_configuration(cfg)
        if key is not None:
            configs.setdefault(key, json.loads(key))
    engines = [f"{chr(ord('A') + i)}: {k['kind']} max_model_len={k.get('max_model_len')}" for i, k in enumerate(configs.values())]
    lines.append(f"engine configurations: {len(configs)} ({'; '.join(engines) or 'none: nothing generated here'}), "
                 f"each started once per process")
    if rate:
        start = float(rate.get("engine_start_s") or 0)
        wall = total_h * 3600 / shards + len(configs) * start
        lines.append(f"throughput: {model} on {gpu}: {rate['decode_tok_s']:,} tok/s generated"
                     + (f", {rate['prefill_tok_s']:,} tok/s prefill" if rate.get("prefill_tok_s") else "")
                     + ("" if rate.get("prefill_tok_s") else " (prefill not measured: prompt tokens not priced)")
                     + f", engine start {start:g} s (measured: {rate.get('source', '?')})")
        lines.append(f"wall time{f' per shard (shards={shards}, one GPU each)' if shards > 1 else ''}: "
                     f"{wall / 3600:.2f} h (generation spread evenly over the shards, plus each engine's start)")
    else:
        lines.append(f"GPU-hours: no throughput measured for model {model} on {gpu} in {THROUGHPUT.name}; "
                     f"a GPU run of this model records one (docs/scaling.md says how)")
    if any(p.estimate == "budget" for p in plans if p.problem is None):
        lines.append("estimate=budget: every generation counted at its full budget (an upper bound); "
                     "calibration=RUN_DIR of a finished run uses its mean lengths")
    for p in plans:
        if p.misfits:
            lines.append(f"[{p.task}] {p.misfits} items do NOT fit max_model_len: `dry_run=true` lists them and the fixes")
        if p.problem:
            lines.append(f"[{p.task}] not planned: {p.problem}")
    return "\n".join(lines)


def plan_run(cfg: DictConfig, cfgs: list[DictConfig], calibration: str | None = None, gpu: str = DEFAULT_GPU) -> str:
    """The plan of a run (cfg, and its task configs cfgs): per task and in total, as printed.
    `calibration`: a finished run's run_dir or its calibration.json; `gpu`: the throughput row's GPU."""
    model = str(cfg.model.name)
    rate = measured(load_throughput(), model, gpu)
    plans = make_plan(cfgs, load_calibration(calibration), rate)
    return describe(plans, cfgs, rate, model, gpu, max(1, int(cfg.get("shards") or 1)))
