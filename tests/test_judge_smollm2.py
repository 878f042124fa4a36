"""The embedded SmolLM2-135M as the judge through the hf backend: a real model on the whole judge
path (its chat template, seeded greedy generation, token counts, storage, parsing). Its verdicts
are poor and not asserted: what is asserted is that every ask was made once, stored with its real
reply and tokens, parsed or counted as unparseable, and named in the summary and report."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evalsuite import store

ROOT = Path(__file__).resolve().parent.parent


def run(run_dir: Path, responses: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "evalsuite", "task=hle", "data=sample", "limit=2", f"run_dir={run_dir}",
           f"responses={responses}", "responses_split=answer_only", "judge=smollm2-hf", *extra]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONPATH": str(ROOT)}
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)


@pytest.mark.slow
def test_smollm2_judges_hle_through_the_hf_backend(embedded_model_dir, tmp_path):
    responses = tmp_path / "r.jsonl"
    store.append_records(responses, [
        {"id": "evalsuite-hle-0001", "response": "Explanation: it is prime.\nExact Answer: 101\nConfidence: 90%"},
        {"id": "evalsuite-hle-0002", "response": "Explanation: 7 choose 2.\nExact Answer: 21\nConfidence: 70%"}])
    proc = run(tmp_path / "run", responses)
    assert proc.returncode == 0, proc.stderr[-3000:]
    task_dir = tmp_path / "run" / "hle"
    judgements = store.read_records(task_dir / "judgements.jsonl")
    assert sorted(j["sample_id"] for j in judgements) == ["evalsuite-hle-0001", "evalsuite-hle-0002"]
    assert all(j["judge_name"] == "smollm2-hf" and j["reply"].strip() and 0 < j["tokens"] <= 48
               and j["prompt_tokens"] > 100 for j in judgements)  # the judge prompt, templated, counted
    summary = json.loads((task_dir / "summary.json").read_text())
    judge = summary["judge"]
    assert judge["name"] == "smollm2-hf" and judge["backend"] == "hf"
    parsed = sum("confidence" in s["detail"] for s in store.read_records(task_dir / "scores.jsonl"))
    assert parsed + judge["unparseable"] == 2
    assert judge["ledger"]["smollm2-hf"]["tokens_out"] == sum(j["tokens"] for j in judgements)
    assert "(judge smollm2-hf)" in (tmp_path / "run" / "report.md").read_text()
    again = run(tmp_path / "run", responses)  # everything stored: the model is not even loaded
    assert again.returncode == 0 and "all 2 judgements already stored" in again.stderr, again.stderr[-2000:]
