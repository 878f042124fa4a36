"""Before a run spends anything: how big is this job?

`dry_run=true` builds every prompt of a task exactly as the run would, tokenizes them with the
model's own tokenizer (no weights, no GPU), checks each item against max_model_len and reports the
items that do not fit instead of stopping at the first, and sizes the job:

    evalsuite suite=card model=nemotron-cascade-2 dry_run=true
"""
from __future__ import annotations

import sys
from dataclasses import asdict, dataclass, field
from typing import Sequence

from omegaconf import DictConfig

from evalsuite.planning import (build_requests, context_limit, count_prompt_tokens, fit_to_context, max_new_tokens,
                                wanted_keys)
from evalsuite.render import load_tokenizer
from evalsuite.rundir import TaskRun
from evalsuite.task import TaskSpec
from evalsuite.types import Sample


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
    """The numbers from (sample_id, prompt, prompt tokens) per request, each item judged by the
    run's own fit rule (planning.fit_to_context). A task may give an item's samples different
    prompts (shuffled options): the longest decides."""
    budget, limit = max_new_tokens(cfg), context_limit(cfg)
    clamp = bool(cfg.task.get("clamp_budget", False))
    longest: dict[str, int] = {}
    unique: dict[str, int] = {}
    for sid, prompt, n in request_tokens:
        longest[sid] = max(longest.get(sid, 0), n)
        unique[prompt] = n
    misfits, clamped = [], []
    for sid, n in longest.items():
        verdict = fit_to_context(n, budget, limit, clamp).verdict
        if verdict != "fits":
            row = {"sample_id": sid, "prompt_tokens": n, "max_tokens": budget, "max_model_len": limit}
            (clamped if verdict == "clamped" else misfits).append(row)
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


def measure_task(cfg: DictConfig, samples: list[Sample], spec: TaskSpec) -> TaskSize:
    """Every prompt built and tokenized as the run would; nothing generated, no weights loaded."""
    tokenizer = load_tokenizer(cfg.model)
    requests = build_requests(cfg, samples, tokenizer, wanted_keys(cfg, samples), spec)
    prompts = list(dict.fromkeys(r.prompt for r in requests))  # an item's samples mostly share one prompt
    counts = dict(zip(prompts, count_prompt_tokens(tokenizer, prompts)))
    return size_task(cfg, [(r.sample_id, r.prompt, counts[r.prompt]) for r in requests])


def dry_run_task(run: TaskRun) -> dict:
    from evalsuite import judge

    if run.spec.harness is not None:  # an official harness's work: items, trials, and what it needs
        from evalsuite.agentic_stage import dry_run

        return dry_run(run)
    size = measure_task(run.cfg, run.samples, run.spec)
    print(describe_size(size), file=sys.stderr)
    judging = judge.size_judging(run, load_tokenizer(run.cfg.model))
    for line in judge.describe_judging(run.name, judging):
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
