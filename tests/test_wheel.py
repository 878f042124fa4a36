"""The installable package: a wheel built from this tree, installed (not editable) into a fresh venv,
runs a task from a directory that has no checkout in it. The wheel must carry every file the engine
reads: the Hydra configs, the prompts, the judge prompts and the bundled sample sets."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow  # build + install + one real generation by the embedded model: ~30 s


def source_files() -> list[str]:
    """The tree as a clean clone would have it: tracked and not-ignored files, never build outputs."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the wheel is built from the files git tracks")
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout.splitlines()
    return [f for f in out if (ROOT / f).is_file()]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    # built from a copy: an in-tree build leaves build/ and *.egg-info beside the sources
    src, dist = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("dist")
    for name in source_files():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, src / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(dist)], cwd=src, check=True, capture_output=True, text=True, timeout=300)
    (built,) = dist.glob("evalsuite-*.whl")
    return built


def test_the_wheel_carries_every_file_of_the_packages(wheel):
    inside = {n for n in zipfile.ZipFile(wheel).namelist() if ".dist-info/" not in n}
    wanted = {f for f in source_files() if f.startswith(("evalsuite/", "tasks/"))}
    assert wanted - inside == set()
    assert "evalsuite/configs/config.yaml" in inside and "evalsuite/configs/task/aime25.yaml" in inside


def test_an_installed_wheel_runs_a_task_from_another_directory(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                    "--no-index", str(wheel)], check=True, capture_output=True, text=True, timeout=300)
    # the dependencies (torch, transformers, hydra...) come from the running venv, offline: a path
    # line in a .pth adds its site-packages after the new venv's own, so the wheel's evalsuite wins
    # (and that venv's own .pth files, an editable evalsuite among them, are not run)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "shared_venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")

    where = subprocess.run([str(python), "-c", "import evalsuite, tasks; print(evalsuite.__file__); print(tasks.__file__)"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert all(Path(p).is_relative_to(venv) for p in where), where

    proc = subprocess.run([str(venv / "bin" / "evalsuite"), "task=aime25", "data=sample", "limit=1", "samples=1"],
                          cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "| aime25 | AIME 2025 |" in proc.stdout
    summary = json.loads((elsewhere / "results" / "smollm2-135m" / "aime25" / "summary.json").read_text())
    assert summary["task"] == "aime25"
