"""LiveCodeBench v6: loading (date window, difficulty, encoded tests, the restricted unpickler),
the prompt, code extraction and grading through the real sandbox with our own problems."""
from __future__ import annotations

import base64
import json
import os
import pickle
import sys
import uuid
import zlib
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from evalsuite.config import CONFIG_DIR
from evalsuite.errors import UserError
from evalsuite.sandbox.programs import SandboxPool
from evalsuite.scoring.code import extract_code_block
from evalsuite.types import Sample, Score
from tasks import livecodebench as lcb
from tests.fixtures_run import figures_by_name

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))
from lcb_cheats import cheats  # noqa: E402
from lcb_solutions import BY_ID, PROBLEMS  # noqa: E402

IN_WINDOW = {"lcbs1001", "lcbs1002", "lcbs1003", "lcbs1004", "lcbs1005",
             "lcbs2001", "lcbs2002", "lcbs2003", "lcbs2004", "lcbs2005"}


def make_cfg(**task_overrides):
    task = OmegaConf.load(CONFIG_DIR / "task" / "livecodebench.yaml").task
    cfg = OmegaConf.create({"task": OmegaConf.to_container(task), "data": {"source": "sample"}})
    for key, value in task_overrides.items():
        cfg.task[key] = value
    return cfg


@pytest.fixture(scope="module")
def pool():
    p = SandboxPool(workers=2)
    yield p
    p.close()


@pytest.fixture(scope="module")
def samples():
    return {s.id: s for s in lcb.load(make_cfg())}


def answer_with(code: str, *more_blocks: str) -> str:
    text = "Let me think about the approach.\n\n```python\n" + code + "\n```\n"
    for extra in more_blocks:
        text += "\nAlternatively:\n\n```python\n" + extra + "\n```\n"
    return text


# ------------------------------------------------------------------------------------ loading

def test_sample_set_date_window_is_half_open(samples):
    assert set(samples) == IN_WINDOW  # 2024-08-01T00:00:00 in, 2025-06-01T00:00:00 out
    assert len(PROBLEMS) >= 12
    wider = {s.id for s in lcb.load(make_cfg(date_from="2024-01-01", date_to="2026-01-01"))}
    assert wider == {p.question_id for p in PROBLEMS}


def test_difficulty_filter_and_bad_settings():
    hard = lcb.load(make_cfg(difficulty="hard"))
    assert {s.id for s in hard} == {"lcbs1005", "lcbs2005"}
    assert {s.meta["difficulty"] for s in lcb.load(make_cfg(difficulty=["easy", "medium"]))} == {"easy", "medium"}
    with pytest.raises(UserError, match="task.difficulty"):
        lcb.load(make_cfg(difficulty="impossible"))
    with pytest.raises(UserError, match="no problems dated"):
        lcb.load(make_cfg(date_from="2030-01-01", date_to="2031-01-01"))
    with pytest.raises(UserError, match="must be after"):
        lcb.load(make_cfg(date_from="2025-01-01", date_to="2024-01-01"))


def test_prompt_is_the_card_authors(samples):
    call = samples["lcbs2001"].messages
    assert len(call) == 1 and call[0]["role"] == "user"
    p = BY_ID["lcbs2001"]
    assert call[0]["content"] == (
        p.content.strip()
        + "\n\nSolve the problem starting with the provided function header.\n\nFunction header:\n```\n"
        + p.starter_code + "\n```"
        + "\n\nWrite Python code to solve the problem. Please place the solution code in the following format:\n"
          "```python\n# Your solution code here\n```")
    stdin = samples["lcbs1001"].messages[0]["content"]
    assert stdin == BY_ID["lcbs1001"].content.strip() + (
        "\n\nWrite Python code to solve the problem. Please place the solution code in the following format:\n"
        "```python\n# Your solution code here\n```")


def test_public_and_private_tests_both_encodings(samples):
    encoded = samples["lcbs1001"].reference  # private tests stored as base64/zlib/pickle
    assert encoded["mode"] == "stdin" and encoded["func_name"] is None
    assert len(encoded["tests"]) == len(BY_ID["lcbs1001"].public_inputs) + len(BY_ID["lcbs1001"].private_inputs)
    plain = samples["lcbs2003"].reference  # private tests stored as JSON
    assert plain["mode"] == "call" and plain["func_name"] == "mergeRanges"
    assert len(plain["tests"]) == 3
    assert samples["lcbs2002"].meta == {"difficulty": "easy", "platform": "leetcode",
                                        "contest_date": "2024-11-09T14:30:00", "title": "Longest Run"}


class _RunsCommand:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def test_restricted_unpickler_refuses_code(tmp_path):
    marker = tmp_path / f"pwned-{uuid.uuid4().hex}"
    hostile = base64.b64encode(zlib.compress(pickle.dumps(_RunsCommand(f"touch {marker}")))).decode()
    with pytest.raises(UserError, match=r"refusing to load (posix|os)\.system"):
        lcb.decode_tests(hostile, "row x")
    assert not marker.exists()
    for not_plain in ({1, 2}, (1, 2), [b"x", 1j]):
        blob = base64.b64encode(zlib.compress(pickle.dumps(not_plain))).decode()
        with pytest.raises(UserError, match="unsafe or malformed pickle"):
            lcb.decode_tests(blob, "row y")
    with pytest.raises(UserError, match="neither JSON nor base64"):
        lcb.decode_tests("!!! not a test set", "row z")
    good = [{"input": "1", "output": "2", "testtype": "stdin"}]
    blob = base64.b64encode(zlib.compress(pickle.dumps(json.dumps(good)))).decode()
    assert lcb.decode_tests(blob, "row ok") == [{"input": "1", "output": "2"}]


def test_bad_rows_are_user_errors(tmp_path):
    row = json.loads((ROOT / "tasks" / "samples" / "livecodebench.jsonl").read_text().splitlines()[0])
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps({**row, "private_test_cases": "eJzLSM3JyVcozy/KSQEAGgQEXQ=="}) + "\n")
    cfg = make_cfg()
    cfg.data = {"path": str(path)}
    with pytest.raises(UserError, match="lcbs1001"):
        lcb.load(cfg)
    path.write_text(json.dumps({"question_id": "x"}) + "\n")
    with pytest.raises(UserError, match="missing columns"):
        lcb.load(cfg)


def test_hub_failure_is_one_line(monkeypatch):
    import datasets
    import huggingface_hub.constants

    # the clients read these at import: set the module constants too, or they retry the network
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True, raising=False)
    cfg = make_cfg()
    cfg.data = {"source": "hub"}
    cfg.task.dataset.hub_id = "evalsuite-test/does-not-exist"
    with pytest.raises(UserError) as info:
        lcb.load(cfg)
    assert "\n" not in str(info.value) and "data.path" in str(info.value)


# --------------------------------------------------------------------------------- extraction

def test_extract_code_block():
    text = "intro\n```python\na = 1\n```\nmid\n```py\nb = 2\n```\n```text\nnot code\n```"
    assert extract_code_block(text) == "b = 2"
    assert extract_code_block(text, which="first") == "a = 1"
    assert extract_code_block("```\nx = 1\n```") == "x = 1"  # no python block: unlabelled blocks
    assert extract_code_block("```cpp\nint x;\n```") is None
    assert extract_code_block("no code at all") is None
    assert extract_code_block("") is None and extract_code_block(None) is None
    assert extract_code_block("```python\nok = 1\n```\n```python\ncut off") == "ok = 1"  # unclosed last block
    assert extract_code_block("````python\nprint('```')\n````") == "print('```')"
    assert extract_code_block("```cpp\nint x;\n```\n```\ny = 2\n```", language=None) == "y = 2"


# ------------------------------------------------------------------------------------ grading

def test_fixture_solutions_grade_as_intended(samples, pool):
    cfg = make_cfg(timeout_s=1, rerun_timeouts_s=None)
    pairs, expect = [], []
    for qid in sorted(IN_WINDOW):
        for kind, verdicts in (("correct", {"pass"}), ("wrong", {"wrong"}), ("slow", {"timeout"}),
                               ("crash", {"runtime_error"})):
            pairs.append((samples[qid], answer_with(BY_ID[qid].solutions[kind])))
            expect.append((qid, kind, verdicts))
    grades = list(lcb.score_batch(pairs, cfg, pool=pool))
    for (qid, kind, verdicts), grade in zip(expect, grades):
        assert grade.detail["verdict"] in verdicts, (qid, kind, grade.detail)
        assert grade.value == (1.0 if kind == "correct" else 0.0), (qid, kind, grade.detail)
        assert grade.detail["block"] == "last" and grade.extracted == BY_ID[qid].solutions[kind]


def test_decimal_output_and_alternative_reading(samples, pool):
    cfg = make_cfg(timeout_s=2, rerun_timeouts_s=None)
    float_mean = "n = int(input())\na = list(map(int, input().split()))\nprint(f'{sum(a) / n:.6f}')"
    grade = next(lcb.score_batch([(samples["lcbs1004"], answer_with(float_mean))], cfg, pool=pool))
    assert grade.value == 1.0, grade.detail  # "2.500000" equals "2.5" as decimals


def test_first_and_last_blocks_both_recorded(samples, pool):
    sol = BY_ID["lcbs2004"].solutions
    cfg = make_cfg(timeout_s=1, rerun_timeouts_s=None)
    text = answer_with(sol["wrong"], sol["correct"])  # first block wrong, last block right
    last = next(lcb.score_batch([(samples["lcbs2004"], text)], cfg, pool=pool))
    assert last.value == 1.0 and last.variants == {"first_block": 0.0}
    assert last.detail["first_block_verdict"] == "wrong"
    first = next(lcb.score_batch([(samples["lcbs2004"], text)], make_cfg(timeout_s=1, rerun_timeouts_s=None,
                                                                         code_block="first"), pool=pool))
    assert first.value == 0.0 and first.detail["block"] == "first"
    none = next(lcb.score_batch([(samples["lcbs2004"], "I could not solve it.")], cfg, pool=pool))
    assert none.value == 0.0 and none.extracted is None and none.detail["verdict"] == "no_code"


def test_timeout_variant_reruns_only_timeouts(samples, pool):
    sleepy = "import time\ntime.sleep(0.8)\nclass Solution:\n    def longestRun(self, s):\n" \
             "        return max(len(list(g)) for _, g in groupby(s))\n"
    cfg = make_cfg(timeout_s=0.5, rerun_timeouts_s=2.5)
    grade = next(lcb.score_batch([(samples["lcbs2002"], answer_with(sleepy))], cfg, pool=pool))
    assert grade.value == 0.0 and grade.detail["verdict"] == "timeout"
    assert grade.variants["timeout_2.5s"] == 1.0


def test_breakdown(samples):
    cfg = make_cfg()
    scores = [
        Score("lcbs1001", 0, 1.0, "x", False, False, variants={"first_block": 0.0, "timeout_12s": 1.0}),
        Score("lcbs1001", 1, 0.0, "x", False, False, variants={"first_block": 0.0, "timeout_12s": 1.0}),
        Score("lcbs2005", 0, 0.0, None, True, False, {}),
    ]
    out = figures_by_name(lcb.TASK, samples, scores, cfg)
    assert out["difficulty=easy"] == 50.0 and out["difficulty=hard"] == 0.0
    assert out["platform=atcoder"] == 50.0 and out["platform=leetcode"] == 0.0
    assert out["first_block"] == 0.0
    # per item, as the headline: lcbs1001 passes both samples at 12 s, lcbs2005 fails -> (1 + 0) / 2
    # (a flat mean over the 3 samples would say 66.7)
    assert out["timeout_12s"] == pytest.approx(50.0)


def test_score_never_raises_on_junk(samples, pool):
    cfg = make_cfg(timeout_s=1, rerun_timeouts_s=None)
    junk = ["", "```python\n\x00\n```", "```python\n" + "(" * 10000 + "\n```", "```python\nraise SystemExit(3)\n```"]
    grades = list(lcb.score_batch([(samples["lcbs1001"], j) for j in junk], cfg, pool=pool))
    assert [g.value for g in grades] == [0.0] * len(junk)
    assert [g.detail["verdict"] for g in grades] == ["no_code", "compile_error", "compile_error", "wrong"]


def test_score_one_answer_through_the_default_pool(samples):
    grade = lcb.score(samples["lcbs2003"], answer_with(BY_ID["lcbs2003"].solutions["correct"]), make_cfg())
    assert grade.value == 1.0 and isinstance(samples["lcbs2003"], Sample)


def _run_responses(cli, tmp_path, name: str, programs_for, samples: int) -> dict:
    responses = tmp_path / f"{name}.jsonl"
    with responses.open("w") as f:
        for qid in sorted(IN_WINDOW):
            programs = programs_for(BY_ID[qid])
            for k in range(samples):
                f.write(json.dumps({"id": qid, "k": k, "response": answer_with(programs[k % len(programs)])}) + "\n")
    run_dir = tmp_path / name
    proc = cli("task=livecodebench", "data=sample", f"samples={samples}", "stage=score", f"responses={responses}",
               "task.timeout_s=4", "task.rerun_timeouts_s=null", f"run_dir={run_dir}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    return run_dir / "livecodebench"


def test_a_run_of_cheating_programs_scores_zero(cli, tmp_path):
    # issue 12: a LiveCodeBench run of such programs reported 87.5 where honest ones were worth 19.4
    n = max(len(cheats("f")), len(cheats(None)))
    d = _run_responses(cli, tmp_path, "cheats", lambda p: list(cheats(p.func_name).values()), n)
    summary = json.loads((d / "summary.json").read_text())
    assert summary["n_scores"] == len(IN_WINDOW) * n and summary["missing_scores"] == 0
    assert summary["value"] == 0.0, summary
    assert summary["variants"] and all(v == 0.0 for v in summary["variants"].values())
    environment = json.loads((d / "run.json").read_text())["scoring_environment"]
    assert environment["sandbox"]["limits"]["memory"] and environment["limits"]["timeout_s"] == 4.0
    # the same run with the correct programs: the harness is not simply failing everything
    honest = _run_responses(cli, tmp_path, "honest", lambda p: [p.solutions["correct"]], 1)
    assert json.loads((honest / "summary.json").read_text())["value"] == 100.0


def test_a_run_of_programs_printing_signalling_nans_scores_zero_and_ends(cli, tmp_path):
    # issue 22: one program printing sNaN where a number was expected ended the score stage in a
    # traceback, with no scores, on every rerun
    printed = ["sNaN", "snan", "-sNaN7", "nan", "-nan(ind)", "1e99999", "1e999999999999999999999"]
    programs = [f"print({text!r})" for text in printed]
    for attempt in ("first", "rerun"):
        d = _run_responses(cli, tmp_path, f"nans_{attempt}", lambda p: programs, len(programs))
        summary = json.loads((d / "summary.json").read_text())
        assert summary["n_scores"] == len(IN_WINDOW) * len(programs) and summary["missing_scores"] == 0
        assert summary["value"] == 0.0 and summary["scoring_error_rate"] == 0.0, summary
        verdicts = {json.loads(line)["detail"]["verdict"] for line in (d / "scores.jsonl").read_text().splitlines()}
        assert verdicts <= {"wrong", "runtime_error"}, verdicts  # call-based problems: the code defines no function
