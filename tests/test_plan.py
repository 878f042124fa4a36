"""`evalsuite plan`: the card's suite priced before any GPU time, from the real tokenizer and task
loaders (no weights), the throughput table and a finished run's calibration."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import vllm_stand_in
from conftest import assert_one_line_error

from evalsuite.cli import plan_command
from evalsuite.errors import UserError

REPO = Path(__file__).resolve().parent.parent
CARD = ["suite=card", "model=smollm2-135m-vllm", "backend=vllm", "data=sample"]


def _rows(text: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split() for line in text.splitlines()[2:] if line and not line.startswith(("engine", "throughput", "wall", "estimate", "GPU", "["))}


def test_plan_prints_for_the_card_suite(capsys):
    # the card's model config (its windows, budgets, chat settings) with the embedded model's tokenizer:
    # the real one is a hub download
    assert plan_command(["suite=card", "model=nemotron-cascade-2", "model.path=embedded:smollm2-135m",
                      "model.revision=null", "backend=vllm", "data=sample"]) == 0
    out = capsys.readouterr().out
    rows = _rows(out)
    from evalsuite.config import compose

    assert set(compose(["suite=card"]).suite.tasks) <= set(rows)
    assert rows["niah"][1] == "B" and {rows[t][1] for t in rows if t not in ("niah", "total")} == {"A"}
    assert rows["niah"][2] == "800" and rows["niah"][3] == f"{800 * (1_048_576 - 128):,}"  # 8 tasks x 100 at 1M
    assert rows["aime25"][2] == f"{8 * 64:,}" and rows["aime25"][6] == "budget"  # 8 sample items x the card's 64
    assert int(rows["aime25"][5].replace(",", "")) == 512 * int(rows["aime25"][4].replace(",", ""))
    assert "engine configurations: 2 (A: offline max_model_len=262144; B: offline max_model_len=1048576)" in out
    # no throughput of the card's model measured yet: no hours made up
    assert rows["total"][-1] == "-" and "no throughput measured for model nemotron-cascade-2 on H200" in out


def test_plan_prices_gpu_hours_only_from_a_measured_row(capsys):
    base = ["suite=card", "suite.tasks=[aime25]", "model=smollm2-135m-vllm", "backend=vllm", "data=sample"]
    assert plan_command(base) == 0
    out = capsys.readouterr().out
    assert "throughput: smollm2-135m-vllm on H200: 16,698 tok/s generated" in out  # the measured row
    row = _rows(out)["aime25"]
    assert abs(float(row[-1]) - int(row[5].replace(",", "")) / 16698 / 3600) < 1e-3
    assert plan_command([*base, "gpu=H100"]) == 0
    out = capsys.readouterr().out
    assert _rows(out)["aime25"][-1] == "-" and "no throughput measured for model smollm2-135m-vllm on H100" in out


def test_plan_per_shard_wall_time(capsys):
    base = ["suite=card", "suite.tasks=[aime25,hmmt_feb25]", "model=smollm2-135m-vllm", "backend=vllm", "data=sample"]
    plan_command(base)
    one = capsys.readouterr().out
    plan_command([*base, "shards=4"])
    four = capsys.readouterr().out
    hours = [float(line.split(": ")[1].split()[0]) for text in (one, four) for line in text.splitlines() if line.startswith("wall time")]
    total = float(_rows(one)["total"][-1])
    assert "per shard (shards=4, one GPU each)" in four
    assert abs(hours[0] - (total + 28.9 / 3600)) < 0.01 and abs(hours[1] - (total / 4 + 28.9 / 3600)) < 0.01


def test_a_finished_run_calibrates_the_next_plan(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("EVALSUITE_SMOLLM2_DIR", raising=False)
    env = {**os.environ, "HF_HUB_OFFLINE": "1",
           "PYTHONPATH": os.pathsep.join([os.path.dirname(vllm_stand_in.__file__), os.environ.get("PYTHONPATH", "")])}
    run = [*CARD[1:], "task=aime25", "backend.vllm_module=vllm_stand_in", "limit=2", "samples=2", f"run_dir={tmp_path}"]
    done = subprocess.run([sys.executable, "-m", "evalsuite", *run], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    calibration = json.loads((tmp_path / "calibration.json").read_text())["aime25"]
    gens = [json.loads(line) for line in (tmp_path / "aime25" / "generations.jsonl").read_text().splitlines()]
    assert calibration["generations"] == 4 and calibration["mean_tokens"] == round(sum(g["tokens"] for g in gens) / 4, 1)
    assert plan_command(["suite=card", "suite.tasks=[aime25]", *CARD[1:], f"calibration={tmp_path}"]) == 0
    row = _rows(capsys.readouterr().out)["aime25"]
    assert row[6:8] == ["calibration", "(4"] and int(row[5].replace(",", "")) == round(calibration["mean_tokens"] * 512)
    with pytest.raises(UserError, match="no calibration.json there"):
        plan_command([*CARD, f"calibration={tmp_path / 'nowhere'}"])


def test_plan_arguments_are_parsed_by_the_cli(cli):
    """plan.py is a plain function (plan_run); cli.plan_command reads its options and overrides."""
    with pytest.raises(UserError, match="usage: evalsuite plan"):
        plan_command(["-h"])
    with pytest.raises(UserError, match="unrecognised argument 'cards'"):
        plan_command(["suite=card", "cards"])
    assert_one_line_error(cli("plan", "task=aime25", "data=sample", "calibration=/nowhere"), "no calibration.json there")
