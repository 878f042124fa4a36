"""Shared fixtures: the real CLI in a subprocess, the real embedded model, temporary run dirs."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

# Tests never reach the hub: set before any test imports huggingface_hub or datasets (they read it
# once, at import), so a hub call fails at once instead of retrying a network that is not there.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("EVALSUITE_SHARED", ROOT.parent / "shared"))


def run_cli(*args: str, timeout: float = 600, env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m evalsuite ARGS` as a user would type it; returns the finished process."""
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", **(env or {})}
    return subprocess.run([sys.executable, "-m", "evalsuite", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env=full_env)


def task_cfg(name: str, **task_overrides):
    """A task's own config (evalsuite/configs/task/NAME.yaml) on the bundled sample set, seed 0, with
    these task settings: what a task module's functions take, without composing a whole run."""
    from omegaconf import OmegaConf

    from evalsuite.config import CONFIG_DIR

    task = OmegaConf.load(CONFIG_DIR / "task" / f"{name}.yaml").task
    cfg = OmegaConf.create({"task": OmegaConf.to_container(task), "data": {"source": "sample"}, "seed": 0})
    for key, value in task_overrides.items():
        cfg.task[key] = value
    return cfg


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    """A user's mistake: exit 2 and exactly one `error: ...` line on stderr naming the cause."""
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture(scope="session")
def embedded_model_dir() -> Path:
    from evalsuite.embedded import model_dir

    return model_dir()


@pytest.fixture
def cli():
    return run_cli


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_serving(base_url: str, proc: subprocess.Popen, timeout_s: float, what: str) -> None:
    """Poll a local test server's GET /models until it answers; a server that exits first, or never
    answers, fails the test with what it is."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode} before serving")
        try:
            with urllib.request.urlopen(f"{base_url}/models", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not come up in {timeout_s:g} s")


@pytest.fixture
def fresh_stand_in_engine(monkeypatch):
    """No engine left over between tests of the vLLM path on its CPU stand-in (tests/vllm_stand_in.py):
    the process's engine and the stand-in's counters start empty, and the engine is shut down after."""
    from vllm_stand_in import FakeLLMStandIn

    from evalsuite.backends import vllm as vb

    monkeypatch.delenv("EVALSUITE_SMOLLM2_DIR", raising=False)
    vb._ENGINE.clear()
    FakeLLMStandIn.instances.clear()
    FakeLLMStandIn.failed_once = False
    yield
    vb.shutdown_engine()
