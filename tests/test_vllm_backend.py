"""The vllm backend on a CPU: settings, request and output conversion, sharding, GPU placement,
budget, and the whole pipeline against `vllm_stand_in` (FakeLLMStandIn, not vLLM). The real engine
ran on an H200: docs/backends.md."""
from __future__ import annotations

import json
import os
from types import SimpleNamespace

import pytest
import vllm_stand_in
from omegaconf import OmegaConf
from vllm_stand_in import CompletionOutputStandIn, FakeLLMStandIn, RequestOutputStandIn, SamplingParamsStandIn

from evalsuite import pipeline, store, planning, task
from evalsuite.backends import vllm as vb
from evalsuite.config import compose
from evalsuite.errors import UserError
from evalsuite.types import Request

STAND_IN = ["backend=vllm", "backend.vllm_module=vllm_stand_in", "model=smollm2-135m-vllm", "data=sample"]


pytestmark = pytest.mark.usefixtures("fresh_stand_in_engine")


def _gens(run_dir) -> list[dict]:
    return store.read_records(run_dir / "aime25" / "generations.jsonl")


# ---------------------------------------------------------------- settings

def test_engine_kwargs_take_the_card_models_serve_settings():
    cfg = compose(["backend=vllm", "model=nemotron-cascade-2"])
    kw = vb.engine_kwargs(cfg)
    assert kw["model"] == "nvidia/Nemotron-Cascade-2-30B-A3B" and kw["revision"] == "main"
    assert kw["trust_remote_code"] is True and kw["mamba_ssm_cache_dtype"] == "float32"
    assert kw["max_model_len"] == 262144 and kw["gpu_memory_utilization"] == 0.9
    assert kw["tensor_parallel_size"] == 1 and kw["enable_prefix_caching"] is True
    assert "reasoning_parser" not in kw and "tool_call_parser" not in kw  # vllm serve's, not the engine's


def test_engine_kwargs_overrides_and_tensor_parallel():
    cfg = compose(["backend=vllm", "model=nemotron-cascade-2", "backend.gpus_per_engine=2",
                   "+backend.engine_args.enforce_eager=true", "model.max_model_len=1048576"])
    kw = vb.engine_kwargs(cfg)
    assert kw["tensor_parallel_size"] == 2 and kw["enforce_eager"] is True and kw["max_model_len"] == 1048576


def test_sampling_kwargs_seed_and_clamped_budget():
    sampling = OmegaConf.create({"temperature": 0.6, "top_p": 0.95, "max_tokens": 100, "top_k": 20})
    r = Request("7", 3, "p", seed=1234, max_tokens=40)
    base = vb.sampling_base(sampling)
    kw = vb.sampling_kwargs(base, r)
    assert kw == {"n": 1, "temperature": 0.6, "top_p": 0.95, "max_tokens": 40, "seed": 1234,
                  "skip_special_tokens": True, "top_k": 20}
    assert vb.sampling_kwargs(base, Request("7", 3, "p", seed=1))["max_tokens"] == 100
    assert vb.sampling_base(sampling, skip_special_tokens=False)["skip_special_tokens"] is False


def test_special_end_of_thinking_tag_is_kept():
    tok = SimpleNamespace(all_special_tokens=["<|im_end|>", "</think>"])
    assert vb.keeps_special_tokens(tok, "</think>")
    assert not vb.keeps_special_tokens(SimpleNamespace(all_special_tokens=["<|im_end|>"]), "</think>")


# ---------------------------------------------------------------- outputs

def _output(text, n_tokens, finish, prompt_len=5):
    return RequestOutputStandIn("0", None, list(range(prompt_len)),
                                [CompletionOutputStandIn(0, text, list(range(n_tokens)), finish)])


def test_to_generation_maps_text_tokens_and_finish():
    r = Request("12", 2, "p", seed=99)
    g = vb.to_generation(r, _output("<think>x</think> \\boxed{3}", 17, "stop"))
    assert (g.sample_id, g.k, g.tokens, g.finish_reason, g.prompt_tokens, g.seed) == ("12", 2, 17, "stop", 5, 99)
    assert g.text == "<think>x</think> \\boxed{3}"
    assert vb.to_generation(r, _output("abc", 8, "length")).finish_reason == "length"
    assert vb.to_generation(r, _output("", 0, "abort")).finish_reason == "error"  # redone on rerun
    assert vb.to_generation(r, _output("", 0, None)).finish_reason == "error"


def test_to_generations_refuses_a_count_mismatch():
    with pytest.raises(RuntimeError, match="2 outputs for 1 prompts"):
        vb.to_generations([Request("1", 0, "p", 0)], [_output("a", 1, "stop"), _output("b", 1, "stop")])


# ---------------------------------------------------------------- sharding and placement

def test_shard_requests_partition_is_complete_disjoint_and_stable():
    reqs = [Request(str(i), k, "p", 0) for i in range(50) for k in range(8)]
    shards = vb.shard_requests(reqs, 3)
    keys = [(r.sample_id, r.k) for s in shards for r in s]
    assert sorted(keys) == sorted((r.sample_id, r.k) for r in reqs)
    assert all(shards) and vb.shard_requests(list(reversed(reqs)), 3)[1] != []
    again = vb.shard_requests(list(reversed(reqs)), 3)
    assert [sorted((r.sample_id, r.k) for r in s) for s in again] == [sorted((r.sample_id, r.k) for r in s) for s in shards]


def test_plan_engines_disjoint_shared_and_too_few():
    assert [p.gpus for p in vb.plan_engines(4, 1, ["0", "1", "2", "3"], 0.9)] == [["0"], ["1"], ["2"], ["3"]]
    assert [p.gpus for p in vb.plan_engines(2, 2, ["0", "1", "2", "3"], 0.9)] == [["0", "1"], ["2", "3"]]
    shared = vb.plan_engines(2, 1, ["0"], 0.85)
    assert [p.gpus for p in shared] == [["0"], ["0"]] and all(p.gpu_memory_utilization == 0.45 for p in shared)
    with pytest.raises(UserError, match="needs 4 GPUs but 2 are visible"):
        vb.plan_engines(2, 2, ["0", "1"], 0.9)
    with pytest.raises(UserError, match="none is visible"):
        vb.plan_engines(2, 1, [], 0.9)


# ---------------------------------------------------------------- the pipeline against the stand-in

def test_run_through_pipeline_chunks_seeds_and_resumes(tmp_path):
    cfg = compose([*STAND_IN, "task=aime25", "limit=3", "samples=4", f"run_dir={tmp_path}", "backend.chunk_size=5"])
    summary = pipeline.run_task(cfg)
    engine = FakeLLMStandIn.instances[0]
    assert engine.calls == [5, 5, 2]  # 12 requests in chunks of 5
    assert engine.kwargs["dtype"] == "bfloat16" and engine.kwargs["max_model_len"] == 8192
    gens = _gens(tmp_path)
    assert sorted((g["sample_id"], g["k"]) for g in gens) == sorted((s, k) for s in ("1", "2", "3") for k in range(4))
    assert summary.backend == "vllm" and summary.expected_scores == 12 and summary.missing_scores == 0
    assert len({g["seed"] for g in gens}) == 12
    first = {(g["sample_id"], g["k"]): g["text"] for g in gens}
    # a crash after the first chunk: keep 5 records, rerun the same command
    path = tmp_path / "aime25" / "generations.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:5]))
    (tmp_path / "aime25" / "scores.jsonl").unlink()
    pipeline.run_task(cfg)
    assert FakeLLMStandIn.instances[0].calls[-2:] == [5, 2]  # only the 7 missing, same engine reused
    gens = _gens(tmp_path)
    assert len(gens) == 12 and {(g["sample_id"], g["k"]): g["text"] for g in gens} == first  # seeds reproduce


def test_text_prompts_and_token_prompts(tmp_path):
    cfg = compose([*STAND_IN, "task=aime25", "limit=1", "samples=1", f"run_dir={tmp_path}"])
    backend = vb.VLLMBackend(cfg)
    samples = pipeline.load_samples(cfg, task.resolve(cfg))
    r = planning.build_requests(cfg, samples, backend.tokenizer, planning.wanted_keys(cfg, samples))[0]
    ids = backend.engine_prompt(r)["prompt_token_ids"]
    assert ids == backend.tokenizer(r.prompt, add_special_tokens=False).input_ids
    assert backend.count_tokens(r.prompt) == len(ids) == backend.count_tokens_batch([r.prompt])[0]
    backend.prompt_format = "text"
    assert backend.engine_prompt(r) == r.prompt


def test_budget_is_checked_before_the_engine_starts(tmp_path):
    cfg = compose([*STAND_IN, "task=aime25", "limit=2", "samples=2", f"run_dir={tmp_path}", "model.max_model_len=200"])
    with pytest.raises(UserError, match=r"task aime25, item 1: prompt \d+ \+ max_tokens 384 tokens > max_model_len 200"):
        pipeline.run_task(cfg)
    assert FakeLLMStandIn.instances == []  # no engine, no GPU time
    cfg = compose([*STAND_IN, "task=aime25", "limit=2", "samples=2", f"run_dir={tmp_path}/c",
                   "model.max_model_len=200", "+task.clamp_budget=true"])
    pipeline.run_task(cfg)
    clamps = store.read_records(tmp_path / "c" / "aime25" / "clamps.jsonl")
    assert len(clamps) == 4 and all(c["prompt_tokens"] + c["max_tokens"] == 200 for c in clamps)


def test_engine_is_shared_by_backends_with_the_same_settings(tmp_path):
    cfg = compose([*STAND_IN, "task=aime25", f"run_dir={tmp_path}"])
    a, b = vb.VLLMBackend(cfg), vb.VLLMBackend(cfg)
    assert a.engine is b.engine and len(FakeLLMStandIn.instances) == 1
    other = vb.VLLMBackend(compose([*STAND_IN, "task=aime25", "model.max_model_len=4096"]))
    assert other.engine is not a.engine and len(FakeLLMStandIn.instances) == 2


def test_missing_vllm_is_one_clear_line():
    cfg = compose([*STAND_IN[:1], "model=smollm2-135m-vllm", "backend.vllm_module=vllm_not_installed_here"])
    with pytest.raises(UserError, match=r"backend=vllm needs the 'vllm_not_installed_here' package.*backend=hf"):
        vb.VLLMBackend(cfg)


def test_injected_engine_and_sampling_params(tmp_path):
    cfg = compose(["backend=vllm", "model=smollm2-135m-vllm", "data=sample", "task=aime25", "limit=2", "samples=2"])
    llm = FakeLLMStandIn()
    backend = vb.VLLMBackend(cfg, llm=llm, sampling_params_factory=SamplingParamsStandIn)
    samples = pipeline.load_samples(cfg, task.resolve(cfg))
    reqs = planning.build_requests(cfg, samples, backend.tokenizer, planning.wanted_keys(cfg, samples))
    got = []
    backend.generate(reqs, OmegaConf.create({"temperature": 1.0, "max_tokens": 8}), got.extend)
    assert [(g.sample_id, g.k) for g in got] == [(r.sample_id, r.k) for r in reqs] and llm.calls == [4]


# ---------------------------------------------------------------- data parallel: real processes, stand-in engines

@pytest.mark.slow
def test_data_parallel_two_engines_on_one_gpu_merge_by_key(tmp_path, monkeypatch):
    log = tmp_path / "engines.jsonl"
    monkeypatch.setenv("VLLM_STAND_IN_LOG", str(log))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([os.path.dirname(vllm_stand_in.__file__), os.environ.get("PYTHONPATH", "")]))
    cfg = compose([*STAND_IN, "task=aime25", "limit=4", "samples=4", f"run_dir={tmp_path}",
                   "backend.data_parallel=2", "backend.gpu_ids=[0]", "backend.chunk_size=3"])
    summary = pipeline.run_task(cfg)
    gens = _gens(tmp_path)
    keys = [(g["sample_id"], g["k"]) for g in gens]
    assert sorted(keys) == sorted((s, k) for s in ("1", "2", "3", "4") for k in range(4)) and len(set(keys)) == 16
    assert summary.missing_scores == 0
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert len({c["pid"] for c in calls}) == 2  # two engine processes ...
    assert {c["cuda_visible_devices"] for c in calls} == {"0"}  # ... pinned to the one GPU ...
    assert {c["gpu_memory_utilization"] for c in calls} == {0.45}  # ... at half its memory each
    key_of_seed = {planning.request_seed(0, s, k): (s, k) for s, k in keys}
    for pid in {c["pid"] for c in calls}:  # each engine made exactly one shard
        made = [key_of_seed[seed] for c in calls if c["pid"] == pid for seed in c["seeds"]]
        assert len({vb.shard_index(s, k, 2) for s, k in made}) == 1
    # the same texts as one engine would make: seeds are per (sample_id, k)
    single = compose([*STAND_IN, "task=aime25", "limit=4", "samples=4", f"run_dir={tmp_path}/one"])
    pipeline.run_task(single)
    assert {(g["sample_id"], g["k"]): g["text"] for g in _gens(tmp_path / "one")} == \
           {(g["sample_id"], g["k"]): g["text"] for g in gens}


@pytest.mark.slow
def test_data_parallel_engine_failure_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([os.path.dirname(vllm_stand_in.__file__), os.environ.get("PYTHONPATH", "")]))
    cfg = compose([*STAND_IN, "task=aime25", "limit=2", "samples=2", f"run_dir={tmp_path}", "backend.data_parallel=2",
                   "backend.gpu_ids=[0,1]", "+backend.engine_args.stand_in_fail=CUDA out of memory"])
    with pytest.raises(UserError, match=r"vllm engine \d failed: RuntimeError: CUDA out of memory; .*rerun"):
        pipeline.run_task(cfg)


# ---------------------------------------------------------------- the engine's end: task, suite, failure, exit

def test_engine_is_shut_down_at_the_end_of_a_task(tmp_path):
    from evalsuite.cli import run_config

    run_config(compose([*STAND_IN, "task=aime25", "limit=1", "samples=1", f"run_dir={tmp_path}"]), [])
    assert [e.shutdowns for e in FakeLLMStandIn.instances] == [1] and vb._ENGINE == {}


def test_suite_reuses_one_engine_and_shuts_it_down_at_the_end(tmp_path):
    from evalsuite.cli import run_config

    overrides = [*STAND_IN, "suite.tasks=[aime25,hmmt_feb25]", "limit=1", "samples=1", f"run_dir={tmp_path}"]
    summaries, failures = run_config(compose(["suite=smoke", *overrides]), ["suite=smoke", *overrides])
    assert [s.task for s in summaries] == ["aime25", "hmmt_feb25"] and failures == {}
    engine, = FakeLLMStandIn.instances  # the same settings: one engine for both tasks ...
    assert engine.calls == [1, 1] and engine.shutdowns == 1  # ... stopped once, when the suite ended


# a dead engine's restart, a task's failure beside a live engine: tests/test_suite_engines.py


def _stand_in_cli(run_dir, *extra, events=None):
    import subprocess
    import sys

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "PYTHONPATH": os.pathsep.join([os.path.dirname(vllm_stand_in.__file__), os.environ.get("PYTHONPATH", "")]),
           "VLLM_STAND_IN_EVENTS": str(events)}
    # timeout: a hang guard only (without the fix this run never exits)
    return subprocess.run([sys.executable, "-m", "evalsuite", *STAND_IN, "task=aime25", "limit=2", "samples=1",
                           f"run_dir={run_dir}", "+backend.engine_args.stand_in_engine_core=true", *extra],
                          cwd=os.path.dirname(os.path.dirname(__file__)), capture_output=True, text=True,
                          timeout=300, env=env)


@pytest.mark.slow
def test_cli_exits_though_the_engine_core_process_outlives_its_shutdown(tmp_path):
    """The reported hang, on a CPU: an engine core child that its engine's shutdown leaves waiting
    for input. Python's exit handler would join it forever; the CLI stops it and exits."""
    events = tmp_path / "events.jsonl"
    proc = _stand_in_cli(tmp_path / "run", "+backend.engine_args.stand_in_ignore_shutdown=true", events=events)
    assert proc.returncode == 0, proc.stderr[-2000:]
    core_pid = next(e["engine_core_pid"] for e in map(json.loads, events.read_text().splitlines()) if "engine_core_pid" in e)
    assert f"stopped 1 process(es) still running at exit: EngineCore_stand_in (pid {core_pid})" in proc.stderr
    assert (tmp_path / "run" / "report.md").exists()
    with pytest.raises(ProcessLookupError):
        os.kill(core_pid, 0)
    # an engine whose own shutdown works: stopped by it, nothing left over for the last resort
    proc = _stand_in_cli(tmp_path / "run2", events=tmp_path / "events2.jsonl")
    assert proc.returncode == 0 and "[vllm] engine stopped (FakeLLMStandIn.shutdown)" in proc.stderr
    assert "still running at exit" not in proc.stderr


def test_exit_watchdog_ends_a_process_a_non_daemon_thread_holds(tmp_path):
    import subprocess
    import sys

    code = ("import threading, time; from evalsuite.cli import exit_watchdog; "
            "threading.Thread(target=time.sleep, args=(600,), name='stuck').start(); exit_watchdog(5, 1)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 5 and "non-daemon threads: stuck" in proc.stderr and "forcing exit status 5" in proc.stderr
