"""Terminal-Bench 2.0 through its official harness, Harbor (PyPI `harbor`, pinned), in its own venv
(evalsuite/agentic.py, docs/agentic.md). Every task runs in a container: the preflight names the
runtime it found (docker, podman or apptainer, as Harbor's environment docker, podman or
singularity) or says exactly what is missing.

Harbor writes a job directory: one folder per trial with its `result.json` (Harbor's TrialResult:
task_name, verifier_result.rewards, agent_result tokens and cost, exception_info) and the agent's
trajectory under agent/. A rerun of the same job resumes it (`harbor job resume`), so finished
trials are not run again. The agent is Harbor's terminus-2 (OPEN: the card names no agent).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from evalsuite import agentic
from evalsuite.agentic import Endpoint, Harness, ItemResult
from evalsuite.errors import UserError
from evalsuite.task import Setting, TaskSpec
from evalsuite.types import Sample

VERSION = "0.25.0"
DATASET = "terminal-bench@2.0"
HARBOR_ENV = {"docker": "docker", "podman": "podman", "apptainer": "singularity"}
JOB = "evalsuite"  # the job's folder under harness/jobs: one job per run directory, resumed


def requirements(cfg: DictConfig) -> list[str]:
    runtime, facts = agentic.container_runtime()
    if runtime is None:
        return [f"Terminal-Bench 2.0 runs every task in a container and this machine has none that works: {facts}; "
                f"run it where docker, podman or apptainer runs (docs/agentic.md)"]
    return []


def dataset_dir(cfg: DictConfig) -> Path:
    return agentic.venv_dir(cfg, HARNESS) / "dataset"


def fetch(cfg: DictConfig) -> dict[str, Any]:
    """The dataset's tasks, downloaded by Harbor itself beside its venv (where the network is)."""
    out = dataset_dir(cfg)
    if not any(out.rglob("task.toml")):
        agentic.run_in_venv(cfg, HARNESS, ["-m", "harbor.cli.main", "dataset", "download", str(cfg.task.dataset_name),
                                           "-o", str(out)], {}, agentic.venv_dir(cfg, HARNESS) / "fetch.log",
                            "download the dataset")
    return {"dataset": str(cfg.task.dataset_name), "dir": str(out), "tasks": len(task_dirs(out))}


def task_dirs(root: Path) -> list[Path]:
    return sorted({p.parent for p in root.rglob("task.toml")})


def load(cfg: DictConfig) -> list[Sample]:
    """The tasks: task.task_names=all (every task of the dataset `evalsuite prepare` downloaded),
    a list of names, or a file with one name per line."""
    names = cfg.task.task_names
    if names == "all":
        dirs = task_dirs(dataset_dir(cfg)) if dataset_dir(cfg).is_dir() else []
        if not dirs:
            raise UserError(f"{cfg.task.dataset_name} is not downloaded ({dataset_dir(cfg)}); run `evalsuite prepare "
                            f"task={cfg.task.name}` where the network is, or give task.task_names=[...]")
        return [Sample(d.name, [], None, {"category": "terminal-bench"}) for d in dirs]
    if isinstance(names, str):
        path = Path(names).expanduser()
        if not path.is_file():
            raise UserError(f"task.task_names={names}: no such file; give a file with one Terminal-Bench 2.0 task "
                            f"name per line, or a list")
        names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    else:
        names = list(OmegaConf.to_container(names) if OmegaConf.is_config(names) else names)
    if not names:
        raise UserError("task.task_names is empty: list the Terminal-Bench 2.0 tasks (a list or a file of names); "
                        "`harbor dataset` lists those of terminal-bench@2.0")
    return [Sample(str(n), [], None, {"category": "terminal-bench"}) for n in names]


def run(cfg: DictConfig, samples: list[Sample], endpoint: Endpoint, work: Path) -> None:
    runtime, _ = agentic.container_runtime()
    jobs = work / "jobs"
    if (jobs / JOB / "config.json").exists():  # Harbor's own resume: finished trials are kept
        argv = ["-m", "harbor.cli.main", "job", "resume", "-p", str(jobs / JOB)]
    else:
        argv = ["-m", "harbor.cli.main", "run", "-d", str(cfg.task.dataset_name), "-a", str(cfg.task.agent),
                "-m", f"openai/{endpoint.model_id}", "--base-url", endpoint.base_url, "--api-key-name", "OPENAI_API_KEY",
                "--env", HARBOR_ENV[runtime or "docker"], "-n", str(int(cfg.task.concurrency)),
                "--n-attempts", str(int(cfg.samples)), "--jobs-dir", str(jobs), "--job-name", JOB]
        for name in (s.id for s in samples):
            argv += ["-t", name]
    agentic.run_in_venv(cfg, HARNESS, argv, {"OPENAI_API_KEY": endpoint.api_key}, work / agentic.LOG, "run the job")


def collect(cfg: DictConfig, samples: list[Sample], work: Path) -> list[ItemResult]:
    """Every finished trial of the job: its result.json, in Harbor's TrialResult schema."""
    job = work / "jobs" / JOB
    if not job.is_dir():
        return []
    out, attempts = [], {}
    for path in sorted(job.glob("*/result.json")):
        try:
            trial = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # a trial still being written: imported on the next run
        if not isinstance(trial, dict) or "task_name" not in trial or trial.get("finished_at") is None:
            continue
        name = str(trial["task_name"])
        k = attempts.setdefault(name, 0)
        attempts[name] += 1
        rewards = (trial.get("verifier_result") or {}).get("rewards") or {}
        agent = trial.get("agent_result") or {}
        exception = trial.get("exception_info")
        reward = rewards.get("reward")
        # a trial whose verifier never ran (the container did not start) is not a verdict: redone
        error = None if reward is not None else (f"{exception.get('exception_type')}: {exception.get('exception_message', '')[:200]}"
                                                 if exception else "no verifier reward")
        trajectory = path.parent / "agent" / "trajectory.json"
        out.append(ItemResult(name, float(reward or 0.0), k=k,
                              trajectory=str((trajectory if trajectory.exists() else path).relative_to(work.parent)),
                              input_tokens=int(agent.get("n_input_tokens") or 0),
                              output_tokens=int(agent.get("n_output_tokens") or 0), cost_usd=agent.get("cost_usd"),
                              error=error,
                              detail={"trial": trial.get("trial_name"),
                                      "exception": exception.get("exception_type") if exception else None}))
    return out


def settings(cfg: DictConfig) -> dict[str, Any]:
    runtime, facts = agentic.container_runtime()
    return {"dataset": str(cfg.task.dataset_name), "agent": str(cfg.task.agent), "attempts": int(cfg.samples),
            "concurrency": int(cfg.task.concurrency), "container_runtime": runtime or f"none ({facts})"}


def size(cfg: DictConfig, samples: list[Sample]) -> dict[str, Any]:
    return {"containers": len(samples) * int(cfg.samples), "images": f"one per task ({len(samples)})",
            "disk": "the task images (Harbor builds or pulls each; sizes vary per task)"}


HARNESS = Harness(name="harbor", version=VERSION, install=(f"harbor=={VERSION}",), run=run, collect=collect,
                  settings=settings, requirements=requirements, size=size, python="3.12", fetch=fetch)

TASK = TaskSpec(
    load=load, score=agentic.score, harness=HARNESS,
    settings={"dataset_name": Setting(str, doc="Harbor's dataset (terminal-bench@2.0)"),
              "task_names": Setting((list, str), doc="the tasks: a list, or a file with one name per line"),
              "agent": Setting(str, doc="Harbor's agent (terminus-2)"),
              "concurrency": Setting(int, minimum=1, doc="trials Harbor runs at once")},
)
