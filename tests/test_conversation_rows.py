"""The card's conversation, long-document and translation rows through the real CLI: Scale AI
MultiChallenge, AA-LCR, CL-Bench and WMT24++, each on the sample set we wrote in its dataset's
schema, graded by a STAND-IN JUDGE (tests/judge_stand_in.py: a real HTTP server on localhost that
answers judge prompts and metric asks by fixed rules, because the official judges and xCOMET-XXL
cannot run here). The model is the embedded SmolLM2 where generation matters (a conversation
rendered and answered), else a responses file (the answers a rule can be checked on)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evalsuite import store
from tests.test_judge import StandIn, judged, write_responses

ROOT = Path(__file__).resolve().parent.parent


def cli(task: str, run_dir: Path, *extra: str, timeout: float = 900) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "evalsuite", f"task={task}", "data=sample", f"run_dir={run_dir}", *extra]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONPATH": str(ROOT)}
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)


def summary(run_dir: Path, task: str) -> dict:
    return json.loads((run_dir / task / "summary.json").read_text())


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory):
    srv = StandIn(tmp_path_factory.mktemp("stand_in")).start()
    yield srv
    srv.stop()


# ---------------------------------------------------------------- Scale AI MultiChallenge

def test_multichallenge_pass_rate_is_the_mean_of_its_axes(stand_in, tmp_path):
    responses = write_responses(tmp_path / "r.jsonl", [
        ("evalsuite-mc-001", 0, "- Stay where you are\n- Call for help\n- Use your map"),  # holds "- ": YES = pass
        ("evalsuite-mc-002", 0, "Try a peanut satay noodle bowl."),                       # YES, criterion NO: fail
        ("evalsuite-mc-003", 0, "Yes, I am sure: 91 is not prime."),                       # YES: pass
        ("evalsuite-mc-006", 0, "Carry some cash in euros.")])                             # NO, criterion YES: fail
    proc = cli("multichallenge", tmp_path / "run", f"responses={responses}", "responses_split=answer_only",
               *judged(stand_in))
    assert proc.returncode == 0, proc.stderr[-3000:]
    s = summary(tmp_path / "run", "multichallenge")
    cells = {c["by"]["axis"]: c["value"] for c in s["breakdown"]}
    assert cells == {"INSTRUCTION_RETENTION": 100.0, "INFERENCE_MEMORY": 0.0, "SELF_COHERENCE": 100.0}
    assert s["value"] == pytest.approx(200 / 3)  # the official score: the mean of the axes
    assert s["variants"]["all items (not by axis)"] == pytest.approx(50.0)
    verdicts = {r["sample_id"]: r["detail"]["verdict"] for r in store.read_records(tmp_path / "run" / "multichallenge" / "scores.jsonl")}
    assert verdicts == {"evalsuite-mc-001": "YES", "evalsuite-mc-002": "YES", "evalsuite-mc-003": "YES", "evalsuite-mc-006": "NO"}
    assert "Scale AI Multi-Challenge" in (tmp_path / "run" / "report.md").read_text()


def test_multichallenge_smollm2_answers_the_rendered_conversation(stand_in, tmp_path, embedded_model_dir):
    proc = cli("multichallenge", tmp_path / "run", "limit=1", "sampling.max_tokens=8", *judged(stand_in))
    assert proc.returncode == 0, proc.stderr[-3000:]
    gen = store.read_records(tmp_path / "run" / "multichallenge" / "generations.jsonl")
    # the whole conversation went in: three turns and the card's system prompt, templated
    assert len(gen) == 1 and gen[0]["prompt_tokens"] > 60 and gen[0]["text"].strip()
    judgement = store.read_records(tmp_path / "run" / "multichallenge" / "judgements.jsonl")
    assert len(judgement) == 1 and judgement[0]["reply"].rstrip().endswith(("YES", "NO"))
    assert summary(tmp_path / "run", "multichallenge")["sections"]["judge"]["name"] == "stand-in"


def test_multichallenge_verdicts_read_json_or_the_last_capital_word():
    from tasks.multichallenge import read_verdict

    assert read_verdict('{"reasoning": "no issue", "verdict": "YES"}') == "YES"
    assert read_verdict("The response says no to nothing... Verdict: NO") == "NO"
    assert read_verdict("I cannot tell.") is None
