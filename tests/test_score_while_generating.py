"""Scoring while generating (stage=all): the order of events and resume after kill -9, against
`vllm_stand_in` (FakeLLMStandIn: a stand-in for vLLM's engine, paced by stand_in_tokens_per_s; not
vLLM) and the real scorers."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import vllm_stand_in
from vllm_stand_in import FakeLLMStandIn

from evalsuite import pipeline, store
from evalsuite.backends import vllm as vb
from evalsuite.config import compose
from evalsuite.rundir import current_scores
from evalsuite.store import generation_digest

STAND_IN = ["backend=vllm", "backend.vllm_module=vllm_stand_in", "model=smollm2-135m-vllm", "data=sample",
            "task=aime25", "sampling.max_tokens=64"]
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _fresh_engine(monkeypatch):
    monkeypatch.delenv("EVALSUITE_SMOLLM2_DIR", raising=False)
    vb._ENGINE.clear()
    FakeLLMStandIn.instances.clear()
    yield
    vb.shutdown_engine()


def _records(path: Path) -> list[dict]:
    return store.read_records(path) if path.exists() else []


def test_each_batch_is_scored_once_stored_while_the_next_is_generated(tmp_path, monkeypatch, capsys):
    events: list[tuple[str, list]] = []
    append = store.append_records

    def logged(path, records):
        records = list(records)
        events.append((Path(path).name, [(r.get("sample_id"), r.get("k")) for r in records]))
        return append(path, records)

    monkeypatch.setattr(store, "append_records", logged)
    cfg = compose([*STAND_IN, "limit=4", "samples=2", "backend.chunk_size=2", f"run_dir={tmp_path}",
                   "+backend.engine_args.stand_in_tokens_per_s=100"])  # 4 chunks of ~0.3-0.6 s each
    summary = pipeline.run_task(cfg)
    assert summary.missing_scores == 0 and summary.n_scores == 8
    gens = [i for i, (name, _) in enumerate(events) if name == "generations.jsonl"]
    scores = [i for i, (name, _) in enumerate(events) if name == "scores.jsonl" and events[i][1]]
    assert len(gens) == 4 and scores[0] < gens[-1]  # grading began before the last generation landed
    stored_at = {key: i for i in gens for key in events[i][1]}
    for i in scores:  # never a score before its generation is stored
        assert all(stored_at[key] < i for key in events[i][1])
    lines = _records(tmp_path / "aime25" / "scores.jsonl")
    assert len(lines) == 8 == len({(r["sample_id"], r["k"]) for r in lines})  # each graded once, none again after
    by_key = store.latest_by_key(_records(tmp_path / "aime25" / "generations.jsonl"))
    assert all(r["graded"] == generation_digest(by_key[(r["sample_id"], r["k"])]) for r in lines)
    assert "[aime25] scored 8 generations while generating" in capsys.readouterr().err


def test_stage_generate_scores_nothing_and_stage_score_grades_it_all(tmp_path):
    base = [*STAND_IN, "limit=2", "samples=2", "backend.chunk_size=1", f"run_dir={tmp_path}"]
    pipeline.run_task(compose([*base, "stage=generate"]))
    assert not (tmp_path / "aime25" / "scores.jsonl").exists()
    summary = pipeline.run_task(compose([*base, "stage=score"]))
    assert summary.n_scores == 4 and summary.missing_scores == 0


@pytest.mark.slow
def test_a_kill_9_while_scoring_and_generating_resumes_with_every_key_once(tmp_path):
    run_dir = tmp_path / "run"
    task = run_dir / "aime25"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "PYTHONPATH": os.pathsep.join([os.path.dirname(vllm_stand_in.__file__), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "evalsuite", *STAND_IN, "limit=8", "samples=2", "backend.chunk_size=2",
           f"run_dir={run_dir}", "+backend.engine_args.stand_in_tokens_per_s=40"]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 240 and proc.poll() is None:
        if _records(task / "scores.jsonl"):
            break
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # mid-run: scores stored, generations still coming
    proc.wait()
    gens_at_kill = {(g["sample_id"], g["k"]): g["text"] for g in _records(task / "generations.jsonl")}
    scores_at_kill = _records(task / "scores.jsonl")
    assert scores_at_kill and len(gens_at_kill) < 16  # killed while both stages were under way
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    gens = _records(task / "generations.jsonl")
    keys = [(g["sample_id"], g["k"]) for g in gens]
    assert len(keys) == len(set(keys)) == 16  # each made once: the stored ones were not made again
    assert all(g["text"] == gens_at_kill[(g["sample_id"], g["k"])] for g in gens if (g["sample_id"], g["k"]) in gens_at_kill)
    current = current_scores(task)
    assert set(current) == set(keys)  # every generation has a current score (its digest matches)
    lines = _records(task / "scores.jsonl")
    assert len(lines) == 16  # the scores stored before the kill were kept, not graded again
    summary = json.loads((task / "summary.json").read_text())
    assert summary["n_scores"] == 16 and summary["missing_scores"] == 0
