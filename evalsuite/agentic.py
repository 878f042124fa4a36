"""The agentic family, the task's side (part of the kit: docs/tasks.md, "The kit"): each benchmark
is run by its OFFICIAL harness, as a subprocess in its own virtual environment, against the
model's OpenAI-compatible endpoint (docs/agentic.md).

    <cache or data_dir>/harnesses/<name>-<version>/   the harness's venv (`evalsuite prepare`)

A task of the family declares `TaskSpec(harness=Harness(...), score=score)`: how to run its harness
(`run_in_venv`, `listed_items`), how to read the harness's result files into `ItemResult`s, and
`score`, which reads back the verdict the harness gave; the model's text never reaches a verdict of
ours. The stage that starts the endpoint, runs the harness and imports its results is
evalsuite/agentic_stage.py.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from omegaconf import DictConfig

from evalsuite.errors import UserError
from evalsuite.types import Generation, Grade, Sample

LOG = "harness.log"  # the harness's output, in the folder the stage gives `Harness.run`


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
    """The model's OpenAI-compatible server a harness talks to (evalsuite/agentic_stage.py opens it)."""

    base_url: str  # http://HOST:PORT/v1
    model_id: str  # the name the server serves the model under
    api_key: str
    process: subprocess.Popen | None = None  # a server we started (stopped when the stage ends)


# ---------------------------------------------------------------- the items, the imported record and its verdict

def runnable(cfg: DictConfig, harness: Harness, samples: list[Sample]) -> list[Sample]:
    """The items whose part of the benchmark can run here (the rest are "not run", never zero)."""
    skipped = harness.not_run(cfg)
    return [s for s in samples if s.meta.get("category") not in skipped]


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


# ---------------------------------------------------------------- checks

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
