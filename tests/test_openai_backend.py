"""The openai backend: plain functions on their own, then real runs through the CLI against a real
OpenAI-compatible HTTP server on localhost serving the embedded SmolLM2 (tests/smollm2_server.py:
http.server + transformers), including a server killed mid-run and restarted: the rerun resumes
and loses nothing."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import free_port, wait_until_serving
from omegaconf import OmegaConf

from evalsuite import pipeline, store, task
from evalsuite.backends import openai as ob
from evalsuite.config import compose
from evalsuite.errors import UserError
from evalsuite.rundir import task_run
from evalsuite.types import Generation, Request, to_dict

ROOT = Path(__file__).resolve().parent.parent
MODEL_ALIAS = "smollm2"


# ---------------------------------------------------------------- plain functions

def _settings(**kw) -> ob.ServerSettings:
    return ob.ServerSettings(base_url="http://x/v1", **kw)


def test_request_body_completions_and_chat():
    sampling = ob.sampling_fields(OmegaConf.create({"temperature": 0.6, "top_p": 0.95, "max_tokens": 64}))
    r = Request("3", 1, "<|im_start|>user\nhi<|im_end|>\n", seed=77, messages=[{"role": "user", "content": "hi"}], max_tokens=20)
    body = ob.request_body(_settings(extra_body={"add_special_tokens": False}), "m", r, sampling)
    assert body == {"model": "m", "n": 1, "seed": 77, "max_tokens": 20, "temperature": 0.6, "top_p": 0.95,
                    "prompt": r.prompt, "add_special_tokens": False}
    chat = ob.request_body(_settings(api="chat"), "m", r, sampling, {"enable_thinking": True})
    assert chat["messages"] == r.messages and chat["chat_template_kwargs"] == {"enable_thinking": True}
    assert "prompt" not in chat


def test_parse_response_completions_usage_and_finish():
    r = Request("3", 1, "p", seed=5)
    g = ob.parse_response(r, {"choices": [{"text": "x \\boxed{2}", "finish_reason": "length"}],
                              "usage": {"completion_tokens": 9, "prompt_tokens": 4}}, "completions", len)
    assert (g.text, g.tokens, g.finish_reason, g.prompt_tokens, g.seed, g.reasoning) == ("x \\boxed{2}", 9, "length", 4, 5, None)
    g = ob.parse_response(r, {"choices": [{"text": "abc", "finish_reason": "stop"}]}, "completions", len)
    assert g.tokens == 3 and g.finish_reason == "stop"  # no usage: counted with the tokenizer


def test_parse_response_reasoning_content():
    r = Request("3", 1, "p", seed=5)
    msg = {"role": "assistant", "content": "The answer is \\boxed{7}.", "reasoning_content": "3+4=7"}
    g = ob.parse_response(r, {"choices": [{"message": msg, "finish_reason": "stop"}]}, "chat", len)
    assert g.text == "The answer is \\boxed{7}." and g.reasoning == "3+4=7"
    newer = {"role": "assistant", "content": "ok", "reasoning": "think"}  # vLLM >= 0.10 names it `reasoning`
    assert ob.parse_response(r, {"choices": [{"message": newer}]}, "chat", len).reasoning == "think"
    unclosed = {"role": "assistant", "content": None, "reasoning_content": "still thinking"}
    g = ob.parse_response(r, {"choices": [{"message": unclosed, "finish_reason": "length"}]}, "chat", len)
    assert g.text == "still thinking" and g.reasoning is None and g.finish_reason == "length"


def test_pipeline_scores_server_split_reasoning(tmp_path):
    """A generation whose thinking came back in reasoning_content is graded on its text; one whose
    thinking never closed is unfinished, never graded on the thinking."""
    cfg = compose(["task=aime25", "data=sample", "limit=1", "samples=3", f"run_dir={tmp_path}", "model.reasoning=true"])
    spec = task.resolve(cfg)
    samples = pipeline.load_samples(cfg, spec)
    ref = samples[0].reference
    r = Request(samples[0].id, 0, "p", 0)
    gens = [ob.parse_response(Request(r.sample_id, 0, "p", 0), {"choices": [{"message": {
                "content": f"So \\boxed{{{ref}}}", "reasoning_content": "long thought"}, "finish_reason": "stop"}]}, "chat", len),
            ob.parse_response(Request(r.sample_id, 1, "p", 0), {"choices": [{"message": {
                "content": None, "reasoning_content": f"maybe \\boxed{{{ref}}}"}, "finish_reason": "length"}]}, "chat", len),
            Generation(r.sample_id, 2, f"thought</think>\\boxed{{{ref}}}", 5, "stop")]
    store.append_records(tmp_path / "aime25" / "generations.jsonl", [to_dict(g) for g in gens])
    run = task_run(cfg, spec, samples)
    pipeline.score_stage(run, rescore=False)
    scores = {s.k: s for s in pipeline.load_scores(run)}
    assert scores[0].value == 1.0 and not scores[0].unfinished
    assert scores[1].value == 0.0 and scores[1].unfinished and scores[1].truncated
    assert scores[2].value == 1.0


def test_pick_model_and_backoff():
    assert ob.pick_model(["a"], None, "u") == "a"
    assert ob.pick_model([], "z", "u") == "z"  # a server without /models: trust the user
    with pytest.raises(UserError, match=r"does not serve model 'z' \(it serves: a, b\); set backend.model_id"):
        ob.pick_model(["a", "b"], "z", "u")
    with pytest.raises(UserError, match="serves 2 models"):
        ob.pick_model(["a", "b"], None, "u")
    delays = [ob.backoff_delay(i, 1.0, 8.0) for i in range(6)]
    assert 0.5 <= delays[0] <= 1.0 and all(d <= 8.0 for d in delays) and delays[5] >= 4.0


def test_missing_base_url_is_one_line():
    with pytest.raises(UserError, match=r"backend.base_url=http://HOST:PORT/v1"):
        ob.ServerSettings.from_cfg(compose(["backend=openai"]).backend)


# ---------------------------------------------------------------- a real server

class ModelServer:
    """tests/smollm2_server.py in its own process group, so a kill takes all of it at once."""

    def __init__(self, port: int, log: Path):
        self.port, self.log, self.proc = port, log, None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> "ModelServer":
        cmd = [sys.executable, str(ROOT / "tests" / "smollm2_server.py"), "--port", str(self.port), "--model-id", MODEL_ALIAS]
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_until_serving(self.base_url, self.proc, 120, f"the SmolLM2 test server (log: {self.log})")
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = ModelServer(free_port(), tmp_path_factory.mktemp("server") / "server.log").start()
    yield srv
    srv.kill()


def _cli(run_dir: Path, base_url: str, *extra: str, timeout: float = 240) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "evalsuite", "task=aime25", "data=sample", "backend=openai",
           f"backend.base_url={base_url}", f"run_dir={run_dir}", "sampling.max_tokens=24", *extra]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def _gens(run_dir: Path) -> list[dict]:
    return store.read_records(run_dir / "aime25" / "generations.jsonl")


def _error_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    return [line for line in proc.stderr.splitlines() if line.startswith("error:")][-1]


@pytest.mark.slow
def test_real_run_through_cli_completions_and_chat(server, tmp_path):
    proc = _cli(tmp_path / "a", server.base_url, "limit=2", "samples=2", f"backend.model_id={MODEL_ALIAS}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    gens = _gens(tmp_path / "a")
    assert sorted((g["sample_id"], g["k"]) for g in gens) == [("1", 0), ("1", 1), ("2", 0), ("2", 1)]
    assert all(g["text"] and 0 < g["tokens"] <= 24 and g["finish_reason"] in ("stop", "length") for g in gens)
    assert all(g["prompt_tokens"] > 10 for g in gens)  # our rendered chat prompt went to /completions
    summary = json.loads((tmp_path / "a" / "aime25" / "summary.json").read_text())
    assert summary["backend"] == "openai" and summary["n_scores"] == 4
    # model_id left out: the server's only model; the chat endpoint with Request.messages
    proc = _cli(tmp_path / "b", server.base_url, "limit=1", "samples=1", "backend.api=chat")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(_gens(tmp_path / "b")) == 1 and _gens(tmp_path / "b")[0]["text"]


@pytest.mark.slow
def test_wrong_model_id_is_one_clear_line(server, tmp_path):
    line = _error_line(_cli(tmp_path, server.base_url, "limit=1", "samples=1", "backend.model_id=no-such-model"))
    assert "does not serve model 'no-such-model'" in line and MODEL_ALIAS in line and "backend.model_id" in line


def test_server_down_is_one_clear_line_quickly(tmp_path):
    t0 = time.time()
    proc = _cli(tmp_path, f"http://127.0.0.1:{free_port()}/v1", "limit=1", "samples=1",
                "backend.max_retries=2", "backend.backoff_s=0.05")
    line = _error_line(proc)
    assert "did not answer GET /models after 3 tries" in line and "start the server or fix backend.base_url" in line
    assert time.time() - t0 < 60  # the CLI's own start-up is most of it


@pytest.mark.slow
def test_server_killed_mid_run_then_restarted_loses_nothing(server, tmp_path):
    run_dir = tmp_path / "r"
    args = ["limit=4", "samples=4", "backend.concurrency=2", "backend.flush_every=1",
            "backend.max_retries=2", "backend.backoff_s=0.1", f"backend.model_id={MODEL_ALIAS}"]
    cmd = [sys.executable, "-m", "evalsuite", "task=aime25", "data=sample", "backend=openai",
           f"backend.base_url={server.base_url}", f"run_dir={run_dir}", "sampling.max_tokens=24", *args]
    run = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while len(_gens(run_dir)) < 3 and time.time() < deadline and run.poll() is None:
        time.sleep(0.05)
    server.kill()  # mid-run: requests in flight fail, retries find nobody
    out, err = run.communicate(timeout=120)
    failed = subprocess.CompletedProcess(cmd, run.returncode, out, err)
    assert "did not answer item" in _error_line(failed) and "rerun the same command to resume" in _error_line(failed)
    kept = {(g["sample_id"], g["k"]): g["text"] for g in _gens(run_dir)}
    assert 3 <= len(kept) < 16
    server.start()
    proc = _cli(run_dir, server.base_url, *args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    gens = _gens(run_dir)
    keys = [(g["sample_id"], g["k"]) for g in gens]
    assert len(keys) == len(set(keys)) == 16  # every (sample_id, k) once
    assert all({(g["sample_id"], g["k"]): g["text"] for g in gens}[k] == v for k, v in kept.items())
    assert f"{16 - len(kept)} to make ({len(kept)} already stored)" in proc.stderr
