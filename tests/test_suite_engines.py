"""One engine per engine configuration for a whole suite, on a CPU against `vllm_stand_in`
(FakeLLMStandIn and AsyncLLMStandIn: stand-ins for vLLM's engines, not vLLM). The tests count the
engines started, and check the suite's order, its per-task isolation and the engine's restart."""
from __future__ import annotations

import json

import pytest
from vllm_stand_in import AsyncLLMStandIn, FakeLLMStandIn

from evalsuite import pipeline
from evalsuite.backends import vllm as vb
from evalsuite.cli import run_config
from evalsuite.config import compose, task_configs

STAND_IN = ["backend=vllm", "backend.vllm_module=vllm_stand_in", "model=smollm2-135m-vllm", "data=sample",
            "limit=1", "samples=1"]


pytestmark = pytest.mark.usefixtures("fresh_stand_in_engine")


def _suite(tmp_path, *extra):
    overrides = ["suite=smoke", *STAND_IN, f"run_dir={tmp_path}", *extra]
    return run_config(compose(overrides), overrides)


def test_a_suite_starts_each_engine_configuration_once_in_an_order_that_groups_them(tmp_path, capsys):
    # hmmt_feb25 needs another engine (a shorter window): the suite runs it after both aime tasks
    summaries, failures = _suite(tmp_path, "suite.tasks=[aime25,hmmt_feb25,aime26]",
                                 "+suite.per_task.hmmt_feb25=['model.max_model_len=4096']")
    assert failures == {} and [s.task for s in summaries] == ["aime25", "hmmt_feb25", "aime26"]  # the suite's order
    first, second = FakeLLMStandIn.instances  # two configurations, two starts
    assert first.kwargs["max_model_len"] == 8192 and first.calls == [1, 1] and first.shutdowns == 1
    assert second.kwargs["max_model_len"] == 4096 and second.calls == [1] and second.shutdowns == 1
    err = capsys.readouterr().err
    assert "tasks grouped by engine configuration (each starts once): aime25, aime26, hmmt_feb25" in err
    assert "suite smoke: 2 engine start(s) for 2 engine configuration(s)" in err
    assert err.index("[aime26]") < err.index("[hmmt_feb25]")


def test_the_order_puts_the_long_window_task_last_and_leaves_scoring_only_tasks_alone():
    cfg = compose(["suite=card", "model=nemotron-cascade-2", "backend=vllm"])
    cfgs = task_configs(cfg, ["suite=card", "model=nemotron-cascade-2", "backend=vllm"])
    names = [str(c.task.name) for c in cfgs]
    order = [names[i] for i in pipeline.by_engine(cfgs)]
    assert order[-1] == "niah" and order[:-1] == [n for n in names if n != "niah"]
    keys = {pipeline.engine_configuration(c) for c in cfgs} - {None}
    assert len(keys) == 2  # the card's window for every task, NIAH's 1M window
    assert pipeline.engine_configuration(compose(["task=aime25", "backend=hf"])) is None
    assert pipeline.engine_configuration(compose(["task=aime25", "backend=vllm", "stage=score"])) is None


def test_a_task_that_fails_leaves_the_engine_running_for_the_next(tmp_path):
    from pathlib import Path

    line = (Path(pipeline.__file__).parent.parent / "tasks" / "samples" / "hmmt_feb25.jsonl").read_text().splitlines()[0]
    twice = tmp_path / "hmmt_twice.jsonl"  # bad data: one id twice
    twice.write_text(f"{line}\n{line}\n")
    summaries, failures = _suite(tmp_path / "run", "suite.tasks=[aime25,hmmt_feb25,aime26]",
                                 f"+suite.per_task.hmmt_feb25=['data.path={twice}','preflight=false']")
    assert "duplicate sample ids" in failures["hmmt_feb25"]
    assert list(failures) == ["hmmt_feb25"] and [s.task for s in summaries] == ["aime25", "aime26"]
    engine, = FakeLLMStandIn.instances  # a bad data file is the task's failure, not the engine's
    assert engine.calls == [1, 1] and engine.shutdowns == 1


def test_an_engine_that_dies_is_restarted_once_and_its_task_runs_again(tmp_path, capsys):
    summaries, failures = _suite(tmp_path, "suite.tasks=[aime25,hmmt_feb25]",
                                 "+backend.engine_args.stand_in_first_generate_fails=CUDA error: an illegal memory access")
    assert failures == {} and [s.task for s in summaries] == ["aime25", "hmmt_feb25"]
    dead, fresh = FakeLLMStandIn.instances  # the dead engine is stopped, a fresh one does both tasks
    assert dead.calls == [] and dead.shutdowns == 1 and fresh.calls == [1, 1] and fresh.shutdowns == 1
    err = capsys.readouterr().err
    assert "[aime25] the engine failed (RuntimeError: CUDA error: an illegal memory access" in err
    assert "suite smoke: 2 engine start(s) for 1 engine configuration(s)" in err


def test_an_engine_that_dies_twice_ends_the_remaining_tasks_with_the_reason(tmp_path):
    summaries, failures = _suite(tmp_path, "suite.tasks=[aime25,hmmt_feb25]",
                                 "+backend.engine_args.stand_in_generate_fail=CUDA error: device lost")
    assert summaries == [] and list(failures) == ["aime25", "hmmt_feb25"]
    assert failures["hmmt_feb25"].startswith("the engine failed twice, once restarted (RuntimeError: CUDA error: device lost")
    assert [e.shutdowns for e in FakeLLMStandIn.instances] == [1, 1]  # started twice, never a third time
    assert json.loads((tmp_path / "hmmt_feb25" / "failure.json").read_text())["reason"] == failures["hmmt_feb25"]
    assert "| hmmt_feb25 | not run: the engine failed twice" in (tmp_path / "report.md").read_text()


def test_tir_tasks_share_one_async_engine_on_its_own_event_loop(tmp_path):
    summaries, failures = _suite(tmp_path, "suite.tasks=[aime25,hmmt_feb25]", "mode=tir")
    assert failures == {} and len(summaries) == 2
    engine, = FakeLLMStandIn.instances
    assert isinstance(engine, AsyncLLMStandIn) and engine.calls == [1, 1]
    assert engine.shutdowns == 1 and vb._ENGINE == {}
    for task in ("aime25-tir", "hmmt_feb25-tir"):
        assert (tmp_path / task / "generations.jsonl").read_text().count("\n") == 1
