"""`evalsuite prepare` then a run with data_dir= and no network, through the real CLI. The "hub"
datasets are local directories in the hub's layout and the datasets' own schema (the hub loader
reads those the same way); the model is the tiny NemotronH directory; generation is the vLLM
stand-in (FakeLLMStandIn, not vLLM)."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys

import pytest
import vllm_stand_in

from bench.tiny_nemotronh import build
from evalsuite.data import SAMPLES_DIR
from tests.conftest import ROOT, assert_one_line_error

STAND_IN = ["backend=vllm", "backend.vllm_module=vllm_stand_in"]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cli(*args: str, hf_home, online_env: bool = False) -> subprocess.CompletedProcess:
    """Without HF_HUB_OFFLINE and with the hub's endpoint a closed local port: any hub request the
    run made would fail, and it is the run itself that must stay offline."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "HF_TOKEN")}
    env.update(HF_ENDPOINT=f"http://127.0.0.1:{_closed_port()}", HF_HOME=str(hf_home), TOKENIZERS_PARALLELISM="false",
               PYTHONPATH=os.pathsep.join([os.path.dirname(vllm_stand_in.__file__), env.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-m", "evalsuite", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env=env)


@pytest.fixture
def sources(tmp_path, embedded_model_dir):
    """Three datasets laid out as their hub repos (AIME with a card stating its licence; GPQA,
    gated), and the model directory."""
    aime, lcb, gpqa = (tmp_path / "hub" / name for name in ("aime_2025", "code_generation_lite", "gpqa"))
    for d in (aime, lcb, gpqa):
        d.mkdir(parents=True)
    shutil.copy(SAMPLES_DIR / "aime25.jsonl", aime / "train.jsonl")
    (aime / "README.md").write_text("---\nlicense: cc-by-nc-sa-4.0\n---\n# AIME 2025\n")
    shutil.copy(SAMPLES_DIR / "livecodebench.jsonl", lcb / "test.jsonl")
    shutil.copy(SAMPLES_DIR / "gpqa_diamond.csv", gpqa / "train.csv")
    model = build(tmp_path / "models" / "tiny-nemotronh", embedded_model_dir)
    suite = ["suite=card", "suite.tasks=[aime25,livecodebench,gpqa_diamond,niah]",
             "model=nemotron-cascade-2", f"model.path={model}",
             f'+suite.per_task.aime25=["task.dataset.hub_id={aime}"]',
             f'+suite.per_task.livecodebench=["task.dataset.hub_id={lcb}","task.dataset.config=null"]',
             f'+suite.per_task.gpqa_diamond=["task.dataset.hub_id={gpqa}","task.dataset.config=null"]',
             '+suite.per_task.niah=["task.length=4096","task.tasks=[niah_single_1]","task.instances=1"]']
    return {"suite": suite, "hub": tmp_path / "hub", "aime": aime, "model": model}


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_prepare_then_an_offline_run_from_data_dir(tmp_path, sources):
    data_dir = tmp_path / "prepared"
    proc = _cli("prepare", *sources["suite"], f"data_dir={data_dir}", "prepare.model=true", hf_home=tmp_path / "hf")
    assert proc.returncode == 0, proc.stderr[-3000:]
    manifest = json.loads((data_dir / "manifest.json").read_text())
    aime = manifest["datasets"]["aime25"]
    assert aime["kind"] == "hub" and aime["hub_id"] == str(sources["aime"]) and aime["revision"] == "main"
    assert aime["rows"] == 8 and aime["license"] == "cc-by-nc-sa-4.0" and aime["note"] == "not gated"
    assert set(aime["files"]) == {"data/aime25/train.parquet", "data/aime25/DATASET_CARD.md"}
    gpqa = manifest["datasets"]["gpqa_diamond"]
    assert gpqa["gated"] is True and "must have accepted its terms" in gpqa["note"]
    assert gpqa["license"].startswith("not stated") and manifest["datasets"]["livecodebench"]["rows"] == 14
    assert manifest["datasets"]["niah"]["kind"] == "generated"
    model, = manifest["models"].values()
    assert {"models/tiny-nemotronh/config.json", "models/tiny-nemotronh/tokenizer.json"} <= \
        {rel.replace(model["dir"], "models/tiny-nemotronh") for rel in model["files"]}
    every = {rel: facts for e in [*manifest["datasets"].values(), model] for rel, facts in e.get("files", {}).items()}
    for rel, facts in every.items():
        assert _sha(data_dir / rel) == facts["sha256"] and (data_dir / rel).stat().st_size == facts["bytes"]
    sums = dict(reversed(line.split("  ", 1)) for line in (data_dir / "SHA256SUMS").read_text().splitlines())
    assert sums == {rel: facts["sha256"] for rel, facts in every.items()}  # what `sha256sum -c SHA256SUMS` checks

    expected_ids = [json.loads(line)["problem_idx"] for line in (sources["aime"] / "train.jsonl").read_text().splitlines()]
    shutil.rmtree(sources["hub"])  # the compute node sees none of the sources
    shutil.rmtree(sources["model"])
    run_dir = tmp_path / "run"
    proc = _cli(*sources["suite"], *STAND_IN, "limit=2", "samples=1", f"data_dir={data_dir}", f"run_dir={run_dir}",
                hf_home=tmp_path / "hf2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = json.loads((run_dir / "aime25" / "run.json").read_text())
    assert run["dataset"]["source"] == "data_dir" and run["dataset"]["hub_id"] == str(sources["aime"])
    assert run["offline"]["data_dir"] == str(data_dir) and run["offline"]["network"].startswith("none")
    assert run["offline"]["model_from_data_dir"] and run["model"]["path"] == str(data_dir / model["dir"])
    items = [json.loads(line) for line in (run_dir / "aime25" / "samples.jsonl").read_text().splitlines()]
    assert [i["id"] for i in items] == [str(x) for x in expected_ids[:2]]
    for task in ("livecodebench", "gpqa_diamond", "niah"):
        assert json.loads((run_dir / task / "summary.json").read_text())["n_items"] >= 1

    # a damaged copy is caught before anything runs
    with (data_dir / "data" / "aime25" / "train.parquet").open("ab") as f:
        f.write(b"\0")
    proc = _cli(*sources["suite"][:1], "suite.tasks=[aime25]", *sources["suite"][2:5], *STAND_IN,
                f"data_dir={data_dir}", f"run_dir={tmp_path}/run2", hf_home=tmp_path / "hf2")
    last = proc.stderr.strip().splitlines()[-1]
    assert proc.returncode == 2 and last.startswith("error: aime25: ") and "train.parquet does not match its sha256" in last
    assert not (tmp_path / "run2" / "aime25" / "generations.jsonl").exists()


def test_data_dir_without_the_tasks_copy_says_how_to_make_it(tmp_path):
    data_dir = tmp_path / "prepared"
    data_dir.mkdir()
    (data_dir / "manifest.json").write_text(json.dumps({"datasets": {}, "models": {}}))
    proc = _cli("task=hmmt_feb25", f"data_dir={data_dir}", f"run_dir={tmp_path}/run", hf_home=tmp_path / "hf")
    assert_one_line_error(proc, "holds no copy of MathArena/hmmt_feb_2025", "evalsuite prepare task=hmmt_feb25")
    proc = _cli("task=hmmt_feb25", f"data_dir={tmp_path}/nothing", f"run_dir={tmp_path}/run", hf_home=tmp_path / "hf")
    assert_one_line_error(proc, "has no manifest.json", "evalsuite prepare")
    assert_one_line_error(_cli("prepare", "task=aime25", hf_home=tmp_path / "hf"), "needs data_dir=DIR")
