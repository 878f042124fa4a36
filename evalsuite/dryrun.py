"""Before a run spends anything: the dry run (how big is this job?) and `make eval`'s choice of
model, backend and suite (what will run, and why).

`dry_run=true` builds every prompt of a task exactly as the run would, tokenizes them with the
model's own tokenizer (no weights, no GPU), checks each item against max_model_len and reports the
items that do not fit instead of stopping at the first, and sizes the job:

    evalsuite suite=card model=nemotron-cascade-2 dry_run=true
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

from omegaconf import DictConfig

from evalsuite.types import Sample

_TOKENIZERS: dict[tuple[str, str | None], Any] = {}  # a suite's tasks share one tokenizer


def _tokenizer(model_cfg: DictConfig) -> Any:
    from evalsuite.render import load_tokenizer

    key = (str(model_cfg.path), model_cfg.get("revision"))
    if key not in _TOKENIZERS:
        _TOKENIZERS[key] = load_tokenizer(model_cfg)
    return _TOKENIZERS[key]


def count_prompt_tokens(tokenizer: Any, prompts: Sequence[str], batch: int = 256) -> list[int]:
    """Token counts of the rendered prompts (the template already holds any BOS), batched through
    the fast tokenizer."""
    counts: list[int] = []
    for start in range(0, len(prompts), batch):
        counts += [len(ids) for ids in tokenizer(list(prompts[start:start + batch]), add_special_tokens=False).input_ids]
    return counts


@dataclass
class TaskSize:
    """What one task of a run will cost, in tokens."""

    task: str
    items: int
    samples: int
    requests: int
    prompt_tokens_total: int  # summed over every request (what is prefilled without prefix caching)
    prompt_tokens_unique: int  # summed over distinct prompts (one prefill each with prefix caching)
    prompt_tokens_max: int
    max_tokens: int  # the generation budget of one request
    generation_budget: int  # requests x max_tokens: the most that can be generated
    token_total: int  # prompt_tokens_total + generation_budget
    max_model_len: int | None
    misfits: list[dict] = field(default_factory=list)  # items whose prompt + max_tokens > max_model_len
    clamped: list[dict] = field(default_factory=list)  # ... that task.clamp_budget=true would shrink instead


def size_task(cfg: DictConfig, request_tokens: Sequence[tuple[str, str, int]]) -> TaskSize:
    """The numbers from (sample_id, prompt, prompt tokens) per request; the fit rule is
    pipeline.check_budget's. A task may give an item's samples different prompts (shuffled options)."""
    from evalsuite.pipeline import max_new_tokens

    budget = max_new_tokens(cfg)
    limit = int(cfg.model.max_model_len) if cfg.model.get("max_model_len") else None
    clamp = bool(cfg.task.get("clamp_budget", False))
    longest: dict[str, int] = {}
    unique: dict[str, int] = {}
    for sid, prompt, n in request_tokens:
        longest[sid] = max(longest.get(sid, 0), n)
        unique[prompt] = n
    misfits, clamped = [], []
    for sid, n in longest.items():
        if limit is None or n + budget <= limit:
            continue
        row = {"sample_id": sid, "prompt_tokens": n, "max_tokens": budget, "max_model_len": limit}
        (clamped if clamp and n < limit else misfits).append(row)
    requests = len(request_tokens)
    total = sum(n for _, _, n in request_tokens)
    return TaskSize(task=str(cfg.task.name), items=len(longest), samples=int(cfg.samples), requests=requests,
                    prompt_tokens_total=total, prompt_tokens_unique=sum(unique.values()),
                    prompt_tokens_max=max(longest.values(), default=0), max_tokens=budget,
                    generation_budget=requests * budget, token_total=total + requests * budget,
                    max_model_len=limit, misfits=misfits, clamped=clamped)


def describe_size(size: TaskSize) -> str:
    line = (f"[{size.task}] dry run: {size.items} items x {size.samples} samples = {size.requests:,} requests | "
            f"prompt tokens {size.prompt_tokens_total:,} total (max {size.prompt_tokens_max:,}) | "
            f"generation budget {size.requests:,} x {size.max_tokens:,} = {size.generation_budget:,} | "
            f"total {size.token_total:,} tokens")
    if size.max_model_len is None:
        return line + " | no max_model_len to check against"
    if size.misfits:
        line += f" | {misfit_text(size)}"
    else:
        line += f" | all fit max_model_len {size.max_model_len:,}"
    if size.clamped:
        line += f" | {len(size.clamped)} items would have max_tokens clamped (task.clamp_budget=true)"
    return line


def misfit_text(size: TaskSize) -> str:
    """The items whose prompt + max_tokens exceed max_model_len, and the fixes."""
    first = ", ".join(f"{m['sample_id']} ({m['prompt_tokens']:,}+{m['max_tokens']:,})" for m in size.misfits[:3])
    return (f"{len(size.misfits)} items do NOT fit max_model_len {size.max_model_len:,}: {first}"
            f"{' ...' if len(size.misfits) > 3 else ''}; lower sampling.max_tokens, raise "
            f"model.max_model_len, or set task.clamp_budget=true")


def measure_task(cfg: DictConfig, samples: list[Sample]) -> TaskSize:
    """Every prompt built and tokenized as the run would; nothing generated, no weights loaded."""
    from evalsuite.pipeline import build_requests, import_task, wanted_keys

    tokenizer = _tokenizer(cfg.model)
    requests = build_requests(cfg, samples, tokenizer, wanted_keys(cfg, samples), import_task(cfg))
    prompts = list(dict.fromkeys(r.prompt for r in requests))  # an item's samples mostly share one prompt
    counts = dict(zip(prompts, count_prompt_tokens(tokenizer, prompts)))
    return size_task(cfg, [(r.sample_id, r.prompt, counts[r.prompt]) for r in requests])


def dry_run_task(cfg: DictConfig, samples: list[Sample]) -> dict:
    from evalsuite import judge
    from evalsuite.pipeline import import_task

    size = measure_task(cfg, samples)
    print(describe_size(size), file=sys.stderr)
    judging = judge.size_judging(cfg, import_task(cfg), samples, _tokenizer(cfg.model))
    for line in judge.describe_judging(str(cfg.task.name), judging):
        print(line, file=sys.stderr)
    return {"dry_run": True, **asdict(size), "judging": judging}


def dry_run_table(rows: Sequence[dict]) -> str:
    """The CLI's table over a suite's dry runs, with a total row."""
    head = ("task", "items", "samples", "requests", "prompt tok", "max prompt", "max_tokens", "gen budget", "total tok", "misfits")
    body = [(r["task"], r["items"], r["samples"], r["requests"], r["prompt_tokens_total"], r["prompt_tokens_max"],
             r["max_tokens"], r["generation_budget"], r["token_total"], len(r["misfits"])) for r in rows]
    if len(body) > 1:
        body.append(("total", sum(r["items"] for r in rows), "", sum(r["requests"] for r in rows),
                     sum(r["prompt_tokens_total"] for r in rows), max(r["prompt_tokens_max"] for r in rows), "",
                     sum(r["generation_budget"] for r in rows), sum(r["token_total"] for r in rows),
                     sum(len(r["misfits"]) for r in rows)))
    cells = [head] + [tuple(f"{v:,}" if isinstance(v, int) else str(v) for v in row) for row in body]
    widths = [max(len(row[i]) for row in cells) for i in range(len(head))]
    lines = ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# ---------------------------------------------------------------- make eval: which model, backend, suite

GPU_DEFAULTS = {"suite": "card", "model": "nemotron-cascade-2", "backend": "vllm"}
CPU_DEFAULTS = {"suite": "smoke"}


@dataclass
class RunChoice:
    """What `make eval` (EVALSUITE_PROFILE=auto) adds before the user's overrides, and why."""

    overrides: list[str]  # defaults the user did not set, to go before the user's own
    values: dict[str, str]  # suite/model/backend as they will run
    reasons: dict[str, str]  # the same keys -> why
    gpus: list[str]
    vllm: str | None


def detect_gpus() -> list[str]:
    """GPU names from `nvidia-smi -L` (no CUDA context, no torch import); [] without a driver."""
    if not shutil.which("nvidia-smi"):
        return []
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return []
    if out.returncode != 0:
        return []
    return [line.split(":", 1)[1].split("(UUID")[0].strip() for line in out.stdout.splitlines() if line.startswith("GPU ")]


def vllm_version() -> str | None:
    """vllm's version if importable here, without importing it (that takes seconds)."""
    if importlib.util.find_spec("vllm") is None:
        return None
    try:
        return importlib.metadata.version("vllm")
    except importlib.metadata.PackageNotFoundError:
        return "unknown version"


def choose_run(user_overrides: Sequence[str], gpus: list[str] | None = None, vllm: str | None | bool = False) -> RunChoice:
    """The card's suite on the card's model with vllm where a GPU and vllm are found; the smoke suite
    on the embedded model elsewhere. The user's own overrides always win (a task= drops the suite)."""
    gpus = detect_gpus() if gpus is None else gpus
    vllm = vllm_version() if vllm is False else vllm
    on_gpu = bool(gpus) and bool(vllm)
    if on_gpu:
        why = f"{len(gpus)} GPU{'s' if len(gpus) > 1 else ''} ({gpus[0]}) and vllm {vllm} found: the card's run"
        defaults = GPU_DEFAULTS
    else:
        why = ("GPU found but vllm is not importable (pip install 'evalsuite[vllm]' for the card's run): smoke run"
               if gpus else "no GPU found: the smoke run on the embedded model")
        defaults = CPU_DEFAULTS
    user = {}
    for o in user_overrides:
        key, eq, value = o.partition("=")
        if eq:
            user[key.lstrip("+~")] = value
    overrides, values, reasons = [], {}, {}
    for key, value in defaults.items():
        if key in user or (key == "suite" and "task" in user):
            continue
        overrides.append(f"{key}={value}")
        values[key], reasons[key] = value, why
    for key in ("suite", "model", "backend", "task"):
        if key in user:
            values[key], reasons[key] = user[key], "your override"
    return RunChoice(overrides, values, reasons, list(gpus), vllm or None)


def choice_banner(choice: RunChoice) -> str:
    """Two or three lines: what runs, and why each part was picked."""
    shown = " | ".join(f"{k} {choice.values[k]}" for k in ("suite", "task", "model", "backend") if k in choice.values)
    lines = [f"evalsuite: {shown or 'config defaults'}"]
    by_reason: dict[str, list[str]] = {}
    for key, reason in choice.reasons.items():
        by_reason.setdefault(reason, []).append(f"{key}={choice.values[key]}")
    lines += [f"  {', '.join(keys)}: {reason}" for reason, keys in by_reason.items()]
    if choice.values.get("backend") == "vllm" and not choice.vllm:
        lines.append("  warning: backend=vllm but vllm is not importable here; pip install 'evalsuite[vllm]' or use backend=hf")
    return "\n".join(lines)
