"""The dry run (sizes a job from the tokenizer alone) and make eval's choice of model/backend/suite."""
from __future__ import annotations

from evalsuite import pipeline
from evalsuite.config import compose
from evalsuite.dryrun import dry_run_table
from evalsuite.machine import choice_banner, choose_run


def test_dry_run_sizes_the_task_without_generating(tmp_path, capsys):
    cfg = compose(["task=aime25", "data=sample", "samples=64", "dry_run=true", f"run_dir={tmp_path}"])
    size = pipeline.run_task(cfg)
    assert size["items"] == 8 and size["requests"] == 512 and size["max_tokens"] == 384
    assert size["prompt_tokens_total"] == 64 * size["prompt_tokens_unique"] and 8 * 20 < size["prompt_tokens_unique"]
    assert size["generation_budget"] == 512 * 384
    assert size["token_total"] == size["prompt_tokens_total"] + size["generation_budget"] and size["misfits"] == []
    assert "8 items x 64 samples = 512 requests" in capsys.readouterr().err
    assert not (tmp_path / "aime25").exists()  # nothing written, nothing generated


def test_dry_run_lists_every_misfit_instead_of_stopping(tmp_path, capsys):
    cfg = compose(["task=aime25", "data=sample", "samples=2", "dry_run=true", "model.max_model_len=420", f"run_dir={tmp_path}"])
    size = pipeline.run_task(cfg)
    assert len(size["misfits"]) >= 2 and all(m["prompt_tokens"] + 384 > 420 for m in size["misfits"])
    assert "do NOT fit max_model_len 420" in capsys.readouterr().err
    clamp = compose(["task=aime25", "data=sample", "samples=2", "dry_run=true", "model.max_model_len=420",
                     "+task.clamp_budget=true", f"run_dir={tmp_path}"])
    size = pipeline.run_task(clamp)
    assert size["misfits"] == [] and len(size["clamped"]) >= 2
    table = dry_run_table([size, size])
    assert table.splitlines()[0].split()[:3] == ["task", "items", "samples"] and table.splitlines()[-1].startswith("total")


def test_make_eval_choice_gpu_cpu_and_overrides():
    gpu = choose_run([], gpus=["NVIDIA H200"], vllm="0.22.1")
    assert gpu.overrides == ["suite=card", "model=nemotron-cascade-2", "backend=vllm"]
    banner = choice_banner(gpu)
    assert "suite card | model nemotron-cascade-2 | backend vllm" in banner and "1 GPU (NVIDIA H200) and vllm 0.22.1" in banner
    mine = choose_run(["backend=hf", "samples=2"], gpus=["NVIDIA H200"], vllm="0.22.1")
    assert mine.overrides == ["suite=card", "model=nemotron-cascade-2"] and mine.reasons["backend"] == "your override"
    task = choose_run(["task=aime25"], gpus=["NVIDIA H200"], vllm="0.22.1")
    assert "suite=card" not in task.overrides  # a task= means one task, not the suite
    cpu = choose_run([], gpus=[], vllm=None)
    assert cpu.overrides == ["suite=smoke"] and "no GPU found" in choice_banner(cpu)
    no_vllm = choose_run([], gpus=["NVIDIA H200"], vllm=None)
    assert no_vllm.overrides == ["suite=smoke"] and "vllm is not importable" in choice_banner(no_vllm)
    forced = choose_run(["backend=vllm"], gpus=[], vllm=None)
    assert "warning: backend=vllm but vllm is not importable" in choice_banner(forced)
