"""The preflight (every problem of a run listed at once, before any weights load) and fast hub
failures, through the real CLI against the vLLM stand-in (FakeLLMStandIn, not vLLM)."""
from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading

import vllm_stand_in

from evalsuite.config import compose
from tests.conftest import ROOT

STAND_IN = ["backend=vllm", "backend.vllm_module=vllm_stand_in", "model=smollm2-135m-vllm"]


def _cli(*args: str, home) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "EVALSUITE_SMOLLM2_DIR")}
    env.update(HF_HUB_OFFLINE="1", HF_HOME=str(home), TOKENIZERS_PARALLELISM="false",
               PYTHONPATH=os.pathsep.join([os.path.dirname(vllm_stand_in.__file__), env.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-m", "evalsuite", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env=env)


def test_preflight_lists_every_problem_of_the_card_suite_and_starts_nothing(tmp_path):
    """The card's suite on a machine with no hub access and no token: every task's problem at once."""
    run_dir = tmp_path / "run"
    proc = _cli("suite=card", *STAND_IN, "limit=1", f"run_dir={run_dir}",
                'suite.per_task.ifbench=["data.path=/nowhere/IFBench_test.294.jsonl"]', home=tmp_path / "hf")
    assert proc.returncode == 2, proc.stderr[-3000:]
    errors = proc.stderr[proc.stderr.index("error: "):].splitlines()
    card_tasks = list(compose(["suite=card"]).suite.tasks)  # every task of the suite has a problem here
    assert errors[0].startswith(f"error: preflight found {len(card_tasks)} problems") and "preflight=false" in errors[0]
    problems = dict(line.removeprefix("  - ").split(": ", 1) for line in errors[1:])
    assert list(problems) == card_tasks
    assert {"aime25", "livecodebench", "gpqa_diamond", "ifbench", "niah", "mmlu_pro", "longbench_v2"} <= set(problems)
    assert "data.path=answerbench.csv" in problems["imo_answerbench"]
    for task, hub_id in (("aime25", "MathArena/aime_2025"), ("livecodebench", "livecodebench/code_generation_lite")):
        assert problems[task].startswith(f"cannot load {hub_id} ") and "data_dir=DIR" in problems[task]
    assert problems["gpqa_diamond"] == ("Idavidrein/gpqa is gated and no Hugging Face token is set: accept its terms "
                                        "on the hub page and set HF_TOKEN (or `huggingface-cli login`), or pass "
                                        "data.path=FILE with a local copy")
    assert problems["ifbench"] == "data file not found: /nowhere/IFBench_test.294.jsonl (check data.path=...)"
    assert problems["niah"] == ("task.length 1,048,576 > the model's max_model_len 8,192; lower task.length or "
                                "raise model.max_model_len_long (the window long-context tasks run at)")
    assert not list(run_dir.rglob("generations.jsonl")) and "starting the engine" not in proc.stderr

    # preflight=false: the tasks that can run do, the one that cannot is a row with its reason
    proc = _cli("suite=card", *STAND_IN, "data=sample", "limit=1", "samples=1", f"run_dir={run_dir}",
                "suite.tasks=[aime25,ifbench]", "preflight=false",
                'suite.per_task.ifbench=["data.path=/nowhere/IFBench_test.294.jsonl"]', home=tmp_path / "hf")
    assert proc.returncode == 3, proc.stderr[-3000:]
    assert "| ifbench | IFBench (prompt) | not run: data file not found: /nowhere/IFBench_test.294.jsonl" in proc.stdout
    assert any(line.startswith("| aime25 | AIME 2025 |") and "| 1 x 1 |" in line for line in proc.stdout.splitlines())
    assert "suite card: 1 of 2 tasks not run (ifbench); exit status 3" in proc.stderr


def test_preflight_catches_a_budget_misfit_and_a_run_dir_of_other_settings(tmp_path):
    run_dir = tmp_path / "run"
    base = ("task=aime25", *STAND_IN, "data=sample", "limit=2", "samples=1", f"run_dir={run_dir}")
    assert _cli(*base, home=tmp_path / "hf").returncode == 0
    proc = _cli(*base, "sampling.temperature=0.3", "model.max_model_len=200", home=tmp_path / "hf")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines[0] == "error: preflight found 2 problems" + lines[0].split("problems", 1)[1]
    assert "aime25: " in lines[1] and "holds generations made with other settings (temperature: 1.0 -> 0.3)" in lines[1]
    assert "items do NOT fit max_model_len 200" in lines[2] and "task.clamp_budget=true" in lines[2]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _probe(endpoint: str) -> dict:
    code = ("import json, huggingface_hub.constants as c; from evalsuite.data import ensure_fast_hub_failures; "
            "line = ensure_fast_hub_failures(); import os; "
            "print(json.dumps({'line': line, 'env': os.environ.get('HF_HUB_OFFLINE'), 'hub': c.HF_HUB_OFFLINE}))")
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")}
    env["HF_ENDPOINT"] = endpoint
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_an_unreachable_hub_switches_hub_clients_offline_a_reachable_one_does_not():
    gone = _probe(f"http://127.0.0.1:{_closed_port()}")
    assert gone["line"].startswith("the Hugging Face hub is not reachable from here")
    assert gone["env"] == "1" and gone["hub"] is True  # also in the already imported client

    class NotFound(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self):
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), NotFound)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        there = _probe(f"http://127.0.0.1:{server.server_port}")  # an error status is still an answer
    finally:
        server.shutdown()
    assert there == {"line": None, "env": None, "hub": False}


def test_preflight_names_a_hosted_judge_whose_key_is_not_set(tmp_path, monkeypatch):
    """IMO AnswerBench's default judge is Gemini through its hosted API: without the key the run
    would fail only after generating; the preflight says so first, and ~judge needs no key."""
    from evalsuite import preflight

    monkeypatch.delenv("GEMINI_API_KEY", raising=False)
    problems = preflight.check_task(compose(["task=imo_answerbench", "data=sample", f"run_dir={tmp_path}"]))
    assert any(p.startswith("judge gemini-2.5-pro needs $GEMINI_API_KEY (its API key) set") for p in problems), problems
    assert not any("API key" in p for p in preflight.check_task(
        compose(["task=imo_answerbench", "data=sample", f"run_dir={tmp_path}", "~judge"])))
    monkeypatch.setenv("GEMINI_API_KEY", "set")
    assert not any("API key" in p for p in preflight.check_task(
        compose(["task=imo_answerbench", "data=sample", f"run_dir={tmp_path}"])))
