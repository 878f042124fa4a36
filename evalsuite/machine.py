"""What this machine can run, for `make eval` (EVALSUITE_PROFILE=auto): GPUs and vllm found here
decide the model, backend and suite, and the CLI prints why before the user's overrides apply.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import shutil
import subprocess
from dataclasses import dataclass
from typing import Sequence

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
