"""The agentic family's stage: a task that declares `TaskSpec(harness=Harness(...))`
(evalsuite/agentic.py) is run by its official harness, and its result files are imported item by
item into this run's records (docs/agentic.md).

    <run_dir>/<task>/harness/                        its configuration, its own result files, its log
    <run_dir>/<task>/generations.jsonl               one record per item the harness finished: the
                                                     text is the harness's verdict record (JSON)

The generate stage (`generate_stage`) starts `vllm serve` with the card's tool flags (backend=vllm)
or uses the server at backend.base_url (backend=openai), runs the harness with the configuration
the task writes, streams its output, and imports every finished item. The harness's own resume
keeps finished items from running again; an item already imported is never asked for again.
Scoring reads the verdict the harness gave (`evalsuite.agentic.score`).
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from evalsuite import store
from evalsuite.agentic import Endpoint, Harness, as_generation, missing_venv, runnable, venv_dir
from evalsuite.errors import UserError
from evalsuite.rundir import GENERATIONS, TaskRun, update_manifest
from evalsuite.summary import HarnessFacts
from evalsuite.types import to_dict

HARNESS_DIR = "harness"  # under the task's run directory: the harness's config, results and log
# The card's serve flags for tool use (`vllm serve ... --enable-auto-tool-choice ...`)
CARD_TOOL_FLAGS = ("--enable-auto-tool-choice", "--tool-call-parser", "qwen3_coder", "--reasoning-parser", "nemotron_v3")


# ---------------------------------------------------------------- the endpoint

def serve_command(cfg: DictConfig, port: int) -> list[str]:
    """`vllm serve` for the model with the card's serve line and its tool flags."""
    from evalsuite.embedded import resolve_model_path

    model = cfg.model
    argv = ["vllm", "serve", resolve_model_path(str(model.path)), "--port", str(port),
            "--served-model-name", str(model.path), "--dtype", str(model.get("dtype") or "auto")]
    if model.get("trust_remote_code"):
        argv.append("--trust-remote-code")
    if model.get("max_model_len"):
        argv += ["--max-model-len", str(int(model.max_model_len))]
    vllm = OmegaConf.to_container(model.vllm, resolve=True) if model.get("vllm") else {}
    if vllm.get("mamba_ssm_cache_dtype"):
        argv += ["--mamba-ssm-cache-dtype", str(vllm["mamba_ssm_cache_dtype"])]
    if vllm.get("tensor_parallel_size"):
        argv += ["--tensor-parallel-size", str(vllm["tensor_parallel_size"])]
    if vllm.get("gpu_memory_utilization"):
        argv += ["--gpu-memory-utilization", str(vllm["gpu_memory_utilization"])]
    return argv + list(CARD_TOOL_FLAGS)


def wait_for_models(base_url: str, proc: subprocess.Popen | None, timeout_s: float) -> list[str]:
    deadline = time.time() + timeout_s
    last = ""
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise UserError(f"vllm serve exited with status {proc.returncode} before serving; its output is above")
        try:
            with urllib.request.urlopen(f"{base_url}/models", timeout=5) as r:
                return [m.get("id") for m in json.load(r).get("data", [])]
        except (OSError, ValueError) as e:
            last = str(e)
            time.sleep(1 if proc is not None else 0.5)
    raise UserError(f"no OpenAI-compatible server answers at {base_url}/models ({last}); start it (docs/agentic.md "
                    f"shows the card's `vllm serve` line) or fix backend.base_url")


def open_endpoint(cfg: DictConfig) -> Endpoint:
    """backend=openai: the server at backend.base_url (checked to serve the model); backend=vllm:
    `vllm serve` started here with the card's tool flags."""
    backend = cfg.backend
    if backend.name == "openai":
        if not backend.get("base_url"):
            raise UserError("an agentic task needs the model's OpenAI-compatible endpoint: backend=openai "
                            "backend.base_url=http://HOST:PORT/v1 (or backend=vllm to start `vllm serve` here)")
        base = str(backend.base_url).rstrip("/")
        served = wait_for_models(base, None, float(backend.get("connect_timeout_s", 10)))
        model_id = backend.get("model_id") or (served[0] if len(served) == 1 else None)
        if model_id is None or model_id not in served:
            raise UserError(f"the server at {base} does not serve model {model_id!r} (it serves: {', '.join(map(str, served))}); "
                            f"set backend.model_id to one of those")
        key = backend.get("api_key") or os.environ.get(str(backend.get("api_key_env") or "OPENAI_API_KEY")) or "EMPTY"
        return Endpoint(base, str(model_id), key)
    if backend.name == "vllm":
        if shutil.which("vllm") is None:
            raise UserError("backend=vllm starts `vllm serve` for an agentic task, but vllm is not installed here; "
                            "install it, or serve the model elsewhere and use backend=openai backend.base_url=...")
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        argv = serve_command(cfg, port)
        print(f"[{cfg.task.name}] starting: {' '.join(argv)}", file=sys.stderr)
        proc = subprocess.Popen(argv, start_new_session=True)
        base = f"http://127.0.0.1:{port}/v1"
        endpoint = Endpoint(base, str(cfg.model.path), "EMPTY", proc)
        try:
            wait_for_models(base, proc, float(backend.get("startup_timeout_s", 1800)))
        except BaseException:
            close_endpoint(endpoint)
            raise
        return endpoint
    raise UserError(f"an agentic task talks to the model through an OpenAI-compatible endpoint; backend={backend.name} "
                    f"has none: use backend=openai backend.base_url=... or backend=vllm")


def close_endpoint(endpoint: Endpoint) -> None:
    if endpoint.process is not None and endpoint.process.poll() is None:
        os.killpg(endpoint.process.pid, signal.SIGTERM)
        try:
            endpoint.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(endpoint.process.pid, signal.SIGKILL)


# ---------------------------------------------------------------- generate: run the harness, import its results

def harness_of(spec: Any) -> Harness:
    return spec.harness


def describe(cfg: DictConfig, harness: Harness) -> dict[str, Any]:
    """The harness's name, version and settings: written to run.json and beside the number."""
    return {"name": harness.name, "version": harness.version, "install": list(harness.install),
            "source": harness.source, "venv": str(venv_dir(cfg, harness)), "settings": harness.settings(cfg),
            "not_run": harness.not_run(cfg)}


def record_harness(run: TaskRun, harness: Harness) -> None:
    update_manifest(run.dir, harness=describe(run.cfg, harness))


def generate_stage(run: TaskRun) -> int:
    """Run the harness for every item not yet imported, then import what it finished."""
    cfg, samples = run.cfg, run.samples
    harness = harness_of(run.spec)
    path = run.path(GENERATIONS)
    work = run.path(HARNESS_DIR)
    record_harness(run, harness)
    trials = int(cfg.samples)
    done = {key for key, g in store.read_generations(path).items() if g.finish_reason != "error"}
    todo = [s for s in runnable(cfg, harness, samples) if any((s.id, k) not in done for k in range(trials))]
    skipped = harness.not_run(cfg)
    for part, why in skipped.items():
        print(f"[{cfg.task.name}] not run: {part} ({why})", file=sys.stderr)
    if not todo:
        print(f"[{cfg.task.name}] generate: every runnable item already imported", file=sys.stderr)
        return 0
    print(f"[{cfg.task.name}] generate: {len(todo)} items through {harness.name} {harness.version} "
          f"({len(samples) - len(todo)} already imported or not run)", file=sys.stderr)
    problems = harness.requirements(cfg)
    if problems:
        raise UserError("; ".join(problems))
    endpoint = open_endpoint(cfg)
    try:
        harness.run(cfg, todo, endpoint, work)
    finally:
        close_endpoint(endpoint)
        imported = import_results(run, harness, work)
    print(f"[{cfg.task.name}] imported {imported} items from {harness.name}'s result files", file=sys.stderr)
    return imported


def import_results(run: TaskRun, harness: Harness, work: Path) -> int:
    """Every item the harness finished, into generations.jsonl; an item stored with the same record
    is not written again."""
    path = run.path(GENERATIONS)
    stored = store.read_generations(path)
    ids = {s.id for s in run.samples}
    fresh = []
    for item in harness.collect(run.cfg, run.samples, work):
        if item.sample_id not in ids:
            continue
        g = as_generation(item)
        old = stored.get((item.sample_id, item.k))
        if old is None or store.generation_digest(old) != store.generation_digest(g):
            fresh.append(to_dict(g))
    store.append_records(path, fresh)
    return len(fresh)


# ---------------------------------------------------------------- summary and checks

def summary_facts(run: TaskRun, scores: list[Any]) -> HarnessFacts:
    """Beside the number: the harness, its settings, what it cost, and the parts not run."""
    costs = [s.detail.get("cost_usd") for s in scores if isinstance(s.detail.get("cost_usd"), (int, float))]
    return HarnessFacts(**describe(run.cfg, harness_of(run.spec)), cost_usd=sum(costs) if costs else None,
                        tokens_in=sum(int(s.detail.get("input_tokens") or 0) for s in scores),
                        tokens_out=sum(int(s.detail.get("output_tokens") or 0) for s in scores))


def preflight(cfg: DictConfig, spec: Any) -> list[str]:
    """What stops the harness from running here: its venv, what the machine lacks, the endpoint's
    settings. Parts that cannot run (keys, services) are not problems: they are reported as not run."""
    harness = harness_of(spec)
    problems = [p for p in (missing_venv(cfg, harness),) if p]
    problems += harness.requirements(cfg)
    if cfg.backend.name == "openai" and not cfg.backend.get("base_url"):
        problems.append("an agentic task needs the model's endpoint: backend.base_url=http://HOST:PORT/v1 "
                        "(or backend=vllm to start `vllm serve` with the card's tool flags)")
    elif cfg.backend.name not in ("openai", "vllm"):
        problems.append(f"an agentic task talks to an OpenAI-compatible endpoint; backend={cfg.backend.name} has "
                        f"none: use backend=openai backend.base_url=... or backend=vllm")
    for part, why in harness.not_run(cfg).items():
        print(f"[{cfg.task.name}] preflight: {part} will not run ({why}); the summary marks it not run", file=sys.stderr)
    return problems


def dry_run(run: TaskRun) -> dict[str, Any]:
    """The work before it is done: items, trials, runs, the parts not run, what the harness needs."""
    cfg, samples = run.cfg, run.samples
    harness = harness_of(run.spec)
    runs = runnable(cfg, harness, samples)
    out = {"dry_run": True, "task": str(cfg.task.name), "items": len(samples), "samples": int(cfg.samples),
           "requests": len(runs) * int(cfg.samples), "harness": describe(cfg, harness),
           "requirements": harness.requirements(cfg), **harness.size(cfg, samples)}
    by_part: dict[str, int] = {}
    for s in samples:
        by_part[str(s.meta.get("category", "all"))] = by_part.get(str(s.meta.get("category", "all")), 0) + 1
    out["by_category"] = by_part
    print(f"[{cfg.task.name}] dry run: {len(samples)} items x {cfg.samples} trials through {harness.name} "
          f"{harness.version}; {len(runs)} items runnable here"
          + "".join(f" | {k}: {v}" for k, v in harness.size(cfg, samples).items() if not isinstance(v, (dict, list)))
          + "".join(f" | not run: {part} ({why})" for part, why in harness.not_run(cfg).items())
          + "".join(f" | missing: {p}" for p in out["requirements"]), file=sys.stderr)
    for key in ("prompt_tokens_total", "prompt_tokens_max", "max_tokens", "generation_budget", "token_total"):
        out.setdefault(key, 0)
    out.setdefault("misfits", [])
    return out
