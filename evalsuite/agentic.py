"""The agentic family: each benchmark is run by its OFFICIAL harness, as a subprocess in its own
virtual environment, against the model's OpenAI-compatible endpoint; its result files are imported
item by item into this run's records (docs/agentic.md).

    <cache or data_dir>/harnesses/<name>-<version>/   the harness's venv (`evalsuite prepare`)
    <run_dir>/<task>/harness/                        its configuration, its own result files, its log
    <run_dir>/<task>/generations.jsonl               one record per item the harness finished: the
                                                     text is the harness's verdict record (JSON)

A task of the family declares `TaskSpec(harness=Harness(...))`. The generate stage (`generate_stage`)
starts `vllm serve` with the card's tool flags (backend=vllm) or uses the server at backend.base_url
(backend=openai), runs the harness with the configuration the task writes, streams its output, and
imports every finished item. The harness's own resume keeps finished items from running again; an
item already imported is never asked for again. Scoring reads the verdict the harness gave; the
model's text never reaches a verdict of ours.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from omegaconf import DictConfig, OmegaConf

from evalsuite import store
from evalsuite.errors import UserError
from evalsuite.rundir import GENERATIONS, MANIFEST, task_dir
from evalsuite.types import Generation, Grade, Sample, to_dict

HARNESS_DIR = "harness"  # under the task's run directory: the harness's config, results and log
LOG = "harness.log"
# The card's serve flags for tool use (`vllm serve ... --enable-auto-tool-choice ...`)
CARD_TOOL_FLAGS = ("--enable-auto-tool-choice", "--tool-call-parser", "qwen3_coder", "--reasoning-parser", "nemotron_v3")


@dataclass(frozen=True)
class ItemResult:
    """One item as the harness finished it: what is imported into generations.jsonl."""

    sample_id: str
    verdict: float  # 1.0 solved, 0.0 not (tau2's reward, BFCL's valid, the harness's own rule)
    k: int = 0  # the trial (tau2's trials per task)
    trajectory: str | None = None  # the harness's file with the conversation, relative to the task dir
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    error: str | None = None  # the harness could not finish the item (an infrastructure error): redone
    detail: dict[str, Any] = field(default_factory=dict)  # the harness's own fields worth keeping


@dataclass(frozen=True)
class Harness:
    """How a task drives its official harness. Every callable gets the task's config."""

    name: str  # the harness's package name (bfcl-eval, harbor ...)
    version: str  # the pinned version (or commit) `evalsuite prepare` installs
    install: tuple[str, ...]  # pip requirements of its venv, e.g. ("bfcl-eval==2026.3.23",)
    # run the harness for these items (a subprocess); `env` holds the endpoint's address
    run: Callable[[DictConfig, list[Sample], "Endpoint", Path], None]
    # the harness's result files -> one ItemResult per finished item
    collect: Callable[[DictConfig, list[Sample], Path], list[ItemResult]]
    # the settings that go beside the number (run.json, summary): categories, trials, agent ...
    settings: Callable[[DictConfig], dict[str, Any]]
    # what this machine lacks to run the harness at all (a container runtime, a key): one line each
    requirements: Callable[[DictConfig], list[str]] = lambda cfg: []
    # parts of the benchmark that cannot run here, by name -> why (web search without a key)
    not_run: Callable[[DictConfig], dict[str, str]] = lambda cfg: {}
    # the dry run's sizing beyond items: images, disk, containers
    size: Callable[[DictConfig, list[Sample]], dict[str, Any]] = lambda cfg, samples: {}
    # where the harness's code comes from when it is not on a registry (a pinned repository commit)
    source: str | None = None
    python: str | None = None  # the lowest Python the harness supports, when above ours (harbor: 3.12)
    # what `evalsuite prepare` fetches with the installed harness besides itself (a dataset's tasks)
    fetch: Callable[[DictConfig], dict[str, Any]] | None = None


# ---------------------------------------------------------------- the harness's virtual environment

def harnesses_root(cfg: DictConfig) -> Path:
    """Where harness venvs live: under data_dir (offline compute nodes), else evalsuite's cache."""
    from evalsuite.embedded import cache_root

    return (Path(str(cfg.data_dir)).expanduser() if cfg.get("data_dir") else cache_root()) / "harnesses"


def venv_dir(cfg: DictConfig, harness: Harness) -> Path:
    return harnesses_root(cfg) / f"{harness.name}-{harness.version}"


def venv_python(cfg: DictConfig, harness: Harness) -> Path:
    return venv_dir(cfg, harness) / "bin" / "python"


def missing_venv(cfg: DictConfig, harness: Harness) -> str | None:
    python = venv_python(cfg, harness)
    if python.exists() and (venv_dir(cfg, harness) / "INSTALLED").exists():
        return None
    return (f"the official harness {harness.name} {harness.version} is not installed ({venv_dir(cfg, harness)}); "
            f"run `evalsuite prepare task={cfg.task.name}`" + (f" with data_dir={cfg.data_dir}" if cfg.get("data_dir") else ""))


def install_venv(cfg: DictConfig, harness: Harness) -> dict[str, Any]:
    """Create the harness's own venv with its pinned version (never the project's venv). Marked
    INSTALLED only when pip finished, so a half install is redone."""
    out = venv_dir(cfg, harness)
    if not missing_venv(cfg, harness):
        facts = {"dir": str(out), "installed": "already", "requirements": list(harness.install)}
    else:
        facts = _install(cfg, harness, out)
    if harness.fetch is not None:  # idempotent: what is there already is kept
        facts["fetched"] = harness.fetch(cfg)
    return facts


def _install(cfg: DictConfig, harness: Harness, out: Path) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([venv_interpreter(harness), "-m", "venv", "--clear", str(out)], check=True)
    pip = [str(out / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check", *harness.install]
    print(f"[{cfg.task.name}] installing {' '.join(harness.install)} into {out} (its own venv)", file=sys.stderr)
    done = subprocess.run(pip)
    if done.returncode != 0:
        where = f" ({harness.source}: GitHub must be reachable from here)" if harness.source else ""
        raise UserError(f"pip could not install {' '.join(harness.install)} into {out} (exit {done.returncode}){where}; "
                        f"see pip's output above, fix it and run `evalsuite prepare` again")
    freeze = subprocess.run([str(out / "bin" / "python"), "-m", "pip", "freeze"], capture_output=True, text=True)
    (out / "INSTALLED").write_text(freeze.stdout, encoding="utf-8")
    return {"dir": str(out), "installed": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "requirements": list(harness.install)}


def venv_interpreter(harness: Harness) -> str:
    """The Python the harness's venv is made from: ours, or python3.X on PATH when it needs newer."""
    if harness.python is None or sys.version_info[:2] >= tuple(int(x) for x in harness.python.split(".")):
        return sys.executable
    for name in (f"python{harness.python}", "python3.13", "python3.12"):
        found = shutil.which(name)
        if found:
            probe = subprocess.run([found, "-c", "import sys; print(sys.version_info[:2] >= (%s))" % harness.python.replace(".", ", ")],
                                   capture_output=True, text=True)
            if probe.stdout.strip() == "True":
                return found
    raise UserError(f"{harness.name} {harness.version} needs Python >= {harness.python} and this machine has "
                    f"{sys.version_info[0]}.{sys.version_info[1]} only; install python{harness.python} (e.g. from the OS "
                    f"packages or conda) and run `evalsuite prepare` again")


def script(name: str) -> Path:
    """A driver we run inside the harness's venv (stdlib + the harness only)."""
    return Path(__file__).resolve().parent / "harness_scripts" / name


def run_in_venv(cfg: DictConfig, harness: Harness, args: list[str], env: dict[str, str], log: Path,
                what: str) -> None:
    """The harness's python with args; its output streamed to stderr (prefixed) and to the log.
    A harness that fails stops the run with one line naming its log."""
    problem = missing_venv(cfg, harness)
    if problem:
        raise UserError(problem)
    run_streaming([str(venv_python(cfg, harness)), *args], env, log, f"[{cfg.task.name}] {harness.name}", what)


def listed_items(cfg: DictConfig, harness: Harness, driver: str, selection: str,
                 write_config: Callable[[Path], Path], what: str) -> list[dict[str, Any]]:
    """The benchmark's items as the harness's own loader lists them: `DRIVER list CONFIG` in its
    venv (CONFIG from `write_config(folder)`) prints one JSON object a line. Kept beside the venv,
    one file per `selection` (the categories, domains, split asked for), so it runs once."""
    problem = missing_venv(cfg, harness)
    if problem:
        raise UserError(problem)
    cache = venv_dir(cfg, harness) / f"items-{hashlib.sha256(selection.encode()).hexdigest()[:12]}.jsonl"
    if not cache.exists():
        config = write_config(venv_dir(cfg, harness) / "listing")
        done = subprocess.run([str(venv_python(cfg, harness)), str(script(driver)), "list", str(config)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise UserError(f"{harness.name} could not list its {what} (exit {done.returncode}): "
                            f"{(done.stderr.strip().splitlines() or ['no output'])[-1][:200]}")
        tmp = cache.with_suffix(".tmp")
        tmp.write_text(done.stdout, encoding="utf-8")
        tmp.replace(cache)
    return [json.loads(line) for line in cache.read_text(encoding="utf-8").splitlines() if line.strip()]


def run_streaming(argv: list[str], env: dict[str, str], log: Path, prefix: str, what: str) -> None:
    log.parent.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
    with log.open("a", encoding="utf-8") as sink:
        sink.write(f"\n# {time.strftime('%Y-%m-%dT%H:%M:%S%z')} {what}: {' '.join(argv)}\n")
        # in our process group: a job killed whole (kill -9 of the group, Slurm) takes the harness too
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=full_env,
                                text=True, errors="replace")
        try:
            assert proc.stdout is not None
            for line in proc.stdout:  # tqdm's \r updates come through as lines of their own
                for part in line.replace("\r", "\n").splitlines():
                    if part.strip():
                        sink.write(part + "\n")
                        sink.flush()
                        print(f"{prefix}: {part}", file=sys.stderr, flush=True)
            code = proc.wait()
        except BaseException:  # our own interruption: the harness goes with us (its resume keeps its work)
            proc.terminate()
            proc.wait()
            raise
    if code != 0:
        raise UserError(f"{prefix} {what} failed (exit {code}); its output is in {log}; fix the cause and "
                        f"rerun the same command (finished items are kept)")


# ---------------------------------------------------------------- the endpoint

@dataclass
class Endpoint:
    base_url: str  # http://HOST:PORT/v1
    model_id: str  # the name the server serves the model under
    api_key: str
    process: subprocess.Popen | None = None  # a server we started (stopped when the stage ends)


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


def record_harness(cfg: DictConfig, harness: Harness) -> None:
    path = task_dir(cfg) / MANIFEST
    manifest = store.read_json(path, expect=dict) if path.exists() else {}
    manifest["harness"] = describe(cfg, harness)
    store.write_json(path, manifest)


def runnable(cfg: DictConfig, harness: Harness, samples: list[Sample]) -> list[Sample]:
    """The items whose part of the benchmark can run here (the rest are "not run", never zero)."""
    skipped = harness.not_run(cfg)
    return [s for s in samples if s.meta.get("category") not in skipped]


def generate_stage(cfg: DictConfig, samples: list[Sample], spec: Any) -> int:
    """Run the harness for every item not yet imported, then import what it finished."""
    harness = harness_of(spec)
    path = task_dir(cfg) / GENERATIONS
    work = task_dir(cfg) / HARNESS_DIR
    record_harness(cfg, harness)
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
        imported = import_results(cfg, harness, samples, work)
    print(f"[{cfg.task.name}] imported {imported} items from {harness.name}'s result files", file=sys.stderr)
    return imported


def import_results(cfg: DictConfig, harness: Harness, samples: list[Sample], work: Path) -> int:
    """Every item the harness finished, into generations.jsonl; an item stored with the same record
    is not written again."""
    path = task_dir(cfg) / GENERATIONS
    stored = store.read_generations(path)
    ids = {s.id for s in samples}
    fresh = []
    for item in harness.collect(cfg, samples, work):
        if item.sample_id not in ids:
            continue
        g = as_generation(item)
        old = stored.get((item.sample_id, item.k))
        if old is None or store.generation_digest(old) != store.generation_digest(g):
            fresh.append(to_dict(g))
    store.append_records(path, fresh)
    return len(fresh)


def as_generation(item: ItemResult) -> Generation:
    record = {"verdict": item.verdict, "trajectory": item.trajectory, "input_tokens": item.input_tokens,
              "output_tokens": item.output_tokens, "cost_usd": item.cost_usd, "error": item.error,
              **({"detail": item.detail} if item.detail else {})}
    return Generation(item.sample_id, item.k, json.dumps(record, sort_keys=True, default=str), item.output_tokens,
                      "error" if item.error else "stop", prompt_tokens=item.input_tokens, reasoning="")


def score(sample: Sample, answer: str, cfg: DictConfig) -> Grade:
    """The harness's verdict, read from the record we imported (never from the model's text)."""
    try:
        record = json.loads(answer)
        verdict = float(record["verdict"])
    except (ValueError, TypeError, KeyError):
        return Grade(0.0, None, scoring_error="not a record imported from the harness")
    detail = {k: record.get(k) for k in ("trajectory", "input_tokens", "output_tokens", "cost_usd") if record.get(k) is not None}
    detail.update(record.get("detail") or {})
    return Grade(verdict, "solved" if verdict >= 1.0 else "not solved", detail)


# ---------------------------------------------------------------- summary and checks

def summary_section(cfg: DictConfig, spec: Any, samples: list[Sample], scores: list[Any]) -> dict[str, Any]:
    """Beside the number: the harness, its settings, what it cost, and the parts not run."""
    harness = harness_of(spec)
    facts = describe(cfg, harness)
    costs = [s.detail.get("cost_usd") for s in scores if isinstance(s.detail.get("cost_usd"), (int, float))]
    facts["cost_usd"] = sum(costs) if costs else None
    facts["tokens_in"] = sum(int(s.detail.get("input_tokens") or 0) for s in scores)
    facts["tokens_out"] = sum(int(s.detail.get("output_tokens") or 0) for s in scores)
    return facts


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


def container_runtime() -> tuple[str | None, str]:
    """The container runtime that answers here, or None with exactly what is missing."""
    found = []
    for name, probe in (("docker", ["docker", "info", "--format", "{{.ServerVersion}}"]),
                        ("podman", ["podman", "info", "--format", "{{.Version.Version}}"]),
                        ("apptainer", ["apptainer", "--version"])):
        if shutil.which(name) is None:
            continue
        try:
            done = subprocess.run(probe, capture_output=True, text=True, timeout=20)
        except (OSError, subprocess.TimeoutExpired) as e:
            found.append(f"{name} is installed but `{' '.join(probe)}` failed ({e})")
            continue
        if done.returncode == 0:
            return name, done.stdout.strip()
        first = (done.stderr.strip().splitlines() or ["no output"])[-1][:160]
        found.append(f"{name} is installed but its daemon does not answer ({first})")
    if found:
        return None, "; ".join(found)
    return None, "no container runtime: none of docker, podman or apptainer is on PATH"


def dry_run(cfg: DictConfig, samples: list[Sample], spec: Any) -> dict[str, Any]:
    """The work before it is done: items, trials, runs, the parts not run, what the harness needs."""
    harness = harness_of(spec)
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
