"""The judge stage: its pure parts (prompts, parse rules, scoring rules), then real runs of the CLI
against a STAND-IN JUDGE (tests/judge_stand_in.py: a real HTTP server on localhost answering judge
prompts by fixed rules, because a paid judge cannot run here). Answers come from responses files
(no policy model needed); the judge path is the real one: requests, storage, resume, parsing in the
killable workers, the summary, the ledger and the report."""
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

from evalsuite import store
from evalsuite.errors import UserError
from evalsuite.judge import ask_digest
from evalsuite.judge_rules import PROMPTS_DIR, fill, load_prompt
from tasks import arena_hard, hle, imo_autograder, imo_proofbench

ROOT = Path(__file__).resolve().parent.parent
HLE_IDS = [f"evalsuite-hle-000{i}" for i in range(1, 7)]  # the sample set's text-only questions


# ---------------------------------------------------------------- pure parts

def test_prompt_files_name_their_source_and_fill_in_one_pass():
    for path in PROMPTS_DIR.glob("*.txt"):
        assert path.read_text().startswith("# source: "), path.name
        assert "---" not in load_prompt(path.stem).splitlines()[:1]
    text = fill(load_prompt("imo_proof_autograder"), problem_statement="P", solution="S", guidelines="G",
                student_answer="my proof quotes {solution} literally")
    assert "my proof quotes {solution} literally" in text and "\n{problem_statement}" not in text
    assert "\\boxed" not in text and "<points>7 out of 7</points>" in text  # the prompt's own markup survives
    with pytest.raises(UserError, match="no placeholder"):
        fill("no braces here", question="q")
    # the file's own final newline is not the prompt's; CL-bench's prompt does end in one
    assert load_prompt("cl_bench_rubrics").endswith('"Overall Score": 0 or 1\n}\n')
    assert load_prompt("hle_judge").endswith(".") and not load_prompt("hle_judge").endswith("\n")


def test_ask_digest_is_the_answer_the_prompt_and_the_judge():
    m = [{"role": "user", "content": "judge this: 42"}]
    assert ask_digest("fp1", m) == ask_digest("fp1", [dict(m[0])])
    assert ask_digest("fp1", m) != ask_digest("fp2", m)
    assert ask_digest("fp1", m) != ask_digest("fp1", [{"role": "user", "content": "judge this: 43"}])


def test_hle_fields_and_calibration_error():
    reply = "extracted_final_answer: **101**\n\nreasoning: same.\n\n**correct:** Yes\n\nconfidence: 85%"
    assert hle.read_fields(reply) == {"correct": "yes", "confidence": 85.0, "extracted": "101"}
    assert hle.read_fields("correct: no")["confidence"] == 100.0  # the prompt's default
    assert hle.read_fields("I think it is right")["correct"] is None
    # one bin (fewer than 100): |mean confidence - accuracy| = |0.75 - 0.5|
    assert hle.calibration_error([1.0, 0.5, 0.5, 1.0], [1, 0, 0, 1]) == pytest.approx(25.0)
    # 150 predictions are one bin (the last bin takes the remainder): gap |65/150 - 50/150|
    assert hle.calibration_error([0.2] * 100 + [0.9] * 50, [0] * 100 + [1] * 50) == pytest.approx(10.0)
    # 250: bins [0, 100) and [100, 250) by confidence, weighted 0.4 and 0.6
    conf, correct = [0.2] * 100 + [0.9] * 150, [0] * 100 + [1] * 150
    assert hle.calibration_error(conf, correct) == pytest.approx(100 * (0.4 * 0.04 + 0.6 * 0.01) ** 0.5)


@pytest.mark.parametrize("reply, verdict", [
    # the judge quotes the model's answer, which itself says "correct: yes", then decides "no"
    ('extracted_final_answer: "x = 3. correct: yes"\nreasoning: the answer says correct: yes but 3 != 4.\n'
     'correct: no\nconfidence: 90', "no"),
    ("extracted_final_answer: correct: yes\ncorrect: no", "no"),  # a quoted field inside another field
    ("reasoning: the response is wrong.\nincorrect: yes", None),  # "incorrect" is not the field "correct"
    ("reasoning: wrong.\nincorrect: yes\ncorrect: no", "no"),
    ("The model wrote 'correct: yes' in its last line, which I ignore.", None),  # inside a sentence
    ("> correct: yes\n\ncorrect: no", "no"),  # a blockquote is a quotation
    ("> correct: yes", None),
    # markdown as judges emit it
    ("**extracted_final_answer:** 101\n**reasoning:** same.\n**correct:** yes\n**confidence:** 100", "yes"),
    ("**correct**: No", "no"),
    ("- correct: yes", "yes"),
    ("### correct: yes", "yes"),
    ("  __correct:__ 'yes'", "yes"),
    ("Correct: YES.", "yes"),
    # a judge that restates its verdict is read at its last statement
    ("correct: yes\nOn reflection the units differ.\ncorrect: no", "no"),
    ("correct: no\ncorrect: maybe", None),  # the last statement is no verdict: unparseable, never a guess
    ("correct:\nyes", None),
    ("extracted_final_answer: 4\r\ncorrect: yes\r\n", "yes"),
])
def test_hle_verdict_is_the_last_correct_field_at_a_line_start(reply, verdict):
    assert hle.read_fields(reply)["correct"] == verdict


def test_last_field_reads_a_format_by_its_lines():
    from evalsuite.judge_rules import last_field

    reply = 'extracted_final_answer: "confidence: 5"\nconfidence: 70%\nnot a confidence: 3'
    assert last_field(reply, "confidence") == "70%"
    assert last_field(reply, "extracted_final_answer") == '"confidence: 5"'
    assert hle.read_fields(reply)["confidence"] == 70.0
    assert last_field("**extracted_final_answer:** **101**", "extracted_final_answer") == "101"
    assert last_field("x.y: 1", "x.y") == "1" and last_field("xzy: 1", "x.y") is None  # the name is literal
    assert last_field("", "correct") is None


def test_arena_labels_weights_and_both_orders():
    assert arena_hard.read_label("... so [[A>B]]. Final: [[b>>a]]") == "B>>A"  # the last label, any case
    assert arena_hard.read_label("My verdict: [A=B]") == "A=B"
    assert arena_hard.read_label("[[C]] or [[A>>>B]]") is None
    # game 1: the model is B; game 2: the model is A. A strong verdict counts three times.
    assert arena_hard.game_entries("B>>A", model_is_b=True) == [1.0, 1.0, 1.0]
    assert arena_hard.game_entries("B>A", model_is_b=False) == [0.0]
    assert arena_hard.game_entries("A=B", model_is_b=False) == [0.5]


def test_imo_checker_decides_only_what_it_can():
    assert imo_autograder.checker_verdict("24", "so \\boxed{24}") == (1.0, "24")
    assert imo_autograder.checker_verdict("24", "\\boxed{25}") == (0.0, "25")  # two integers: decided
    assert imo_autograder.checker_verdict("\\frac{n(n+1)}{2}", "\\boxed{\\binom{n+1}{2}}")[0] in (1.0, None)
    assert imo_autograder.checker_verdict("24", "twenty-four") == (None, None)  # no box: the judge reads it
    assert imo_autograder.read_boxed_verdict("<thinking>\\boxed{Correct}?</thinking>\n\\boxed{Incorrect}") == "incorrect"
    assert imo_proofbench.read_points("<points>6 out of 7</points> then <points>7 out of 7</points>") == 6
    assert imo_proofbench.read_points("<points>9 out of 7</points>") is None


# ---------------------------------------------------------------- the stand-in judge server

class StandIn:
    def __init__(self, tmp: Path, delay: float = 0.0, port: int | None = None):
        self.port, self.log, self.delay = port or free_port(), tmp / f"judge-log-{time.monotonic_ns()}.jsonl", delay
        self.base_url = f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> "StandIn":
        cmd = [sys.executable, str(ROOT / "tests" / "judge_stand_in.py"), "--port", str(self.port), "--log", str(self.log),
               "--delay", str(self.delay)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until_serving(self.base_url, self.proc, 10, "the stand-in judge")
        return self

    def requests(self) -> int:
        return len(self.log.read_text().splitlines()) if self.log.exists() else 0

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory):
    srv = StandIn(tmp_path_factory.mktemp("stand_in")).start()
    yield srv
    srv.stop()


def write_responses(path: Path, rows: list[tuple[str, int, str]]) -> Path:
    store.append_records(path, [{"id": sid, "k": k, "response": text} for sid, k, text in rows])
    return path


RESPONSES = {
    "hle": [("evalsuite-hle-0001", 0, "Explanation: it is prime.\nExact Answer: 101\nConfidence: 90%"),
            ("evalsuite-hle-0002", 0, "Explanation: n(n-1)/2.\nExact Answer: 20\nConfidence: 60%"),
            ("evalsuite-hle-0004", 0, "Exact Answer: 1969\nConfidence: 99%")],
    "arena_hard_v2": [("evalsuite-ah-0001", 0, "Use a loop."),
                      ("evalsuite-ah-0004", 0, "A lighthouse in winter, a poem that goes on and on. " * 6)],
    "imo_answerbench": [("evalsuite-ab-001", 0, "The divisors number \\boxed{24}."),   # the checker decides
                        ("evalsuite-ab-004", 0, "The sum is $\\frac{n(n+1)}{2}$, as Gauss found."),  # no box: the judge
                        ("evalsuite-ab-003", 0, "\\boxed{44}")],                           # two integers: wrong
    "imo_proofbench": [("evalsuite-pb-001", 0, "Let the numbers be 2a+1 and 2b+1; the sum is 2(a+b+1). QED"),
                       ("evalsuite-pb-002", 0, "It is true because I say so.")],
}
SCORES = {"hle": [1.0, 0.0, 1.0], "arena_hard_v2": None, "imo_answerbench": [1.0, 1.0, 0.0], "imo_proofbench": [1.0, 1 / 7]}


def run(task: str, run_dir: Path, *extra: str, timeout: float = 300) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "evalsuite", f"task={task}", "data=sample", f"run_dir={run_dir}",
           "responses_split=answer_only", *extra]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONPATH": str(ROOT)}
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)


def judged(srv: StandIn, model: str = "stand-in-judge") -> list[str]:
    return ["judge=stand-in", f"judge.backend.base_url={srv.base_url}", f"judge.backend.model_id={model}"]


@pytest.mark.parametrize("task", list(RESPONSES))
def test_each_judged_task_end_to_end_against_the_stand_in(task, stand_in, tmp_path):
    responses = write_responses(tmp_path / "responses.jsonl", RESPONSES[task])
    before = stand_in.requests()
    proc = run(task, tmp_path / "run", f"responses={responses}", *judged(stand_in))
    assert proc.returncode == 0, proc.stderr[-3000:]
    task_dir = tmp_path / "run" / task
    judgements = store.read_records(task_dir / "judgements.jsonl")
    asked = stand_in.requests() - before
    assert asked == len(judgements) > 0
    assert all(j["judge_name"] == "stand-in" and j["reply"] and j["tokens"] > 0 for j in judgements)
    summary = json.loads((task_dir / "summary.json").read_text())
    judge = summary["judge"]
    assert judge["name"] == "stand-in" and judge["unparseable"] == 0
    ledger = judge["ledger"]["stand-in"]
    assert ledger["requests"] == len(judgements)
    assert ledger["cost"] == pytest.approx((ledger["tokens_in"] * 1.0 + ledger["tokens_out"] * 4.0) / 1e6)
    scores = sorted((s["sample_id"], s["value"]) for s in store.read_records(task_dir / "scores.jsonl"))
    if SCORES[task] is not None:
        by_id = dict(scores)
        assert [by_id[sid] for sid, _, _ in RESPONSES[task]] == pytest.approx(SCORES[task])
    report = (tmp_path / "run" / "report.md").read_text()
    assert "(judge stand-in)" in report and "## Judges" in report
    # the same command again asks nothing; stage=score re-parses the stored replies without the judge
    again = run(task, tmp_path / "run", f"responses={responses}", *judged(stand_in))
    assert again.returncode == 0 and stand_in.requests() - before == asked, again.stderr[-2000:]
    rescored = run(task, tmp_path / "run", "stage=score", *judged(stand_in))
    assert rescored.returncode == 0 and stand_in.requests() - before == asked, rescored.stderr[-2000:]
    assert sorted((s["sample_id"], s["value"]) for s in store.read_records(task_dir / "scores.jsonl")) == scores


def test_imo_answerbench_asks_the_judge_only_what_the_checker_cannot_decide(stand_in, tmp_path):
    responses = write_responses(tmp_path / "r.jsonl", RESPONSES["imo_answerbench"])
    proc = run("imo_answerbench", tmp_path / "run", f"responses={responses}", *judged(stand_in))
    assert proc.returncode == 0, proc.stderr[-2000:]
    judgements = store.read_records(tmp_path / "run" / "imo_answerbench" / "judgements.jsonl")
    assert [j["sample_id"] for j in judgements] == ["evalsuite-ab-004"]
    decided = {s["sample_id"]: s["detail"]["decided_by"] for s in
               store.read_records(tmp_path / "run" / "imo_answerbench" / "scores.jsonl")}
    assert decided == {"evalsuite-ab-001": "checker", "evalsuite-ab-003": "checker", "evalsuite-ab-004": "judge"}
    summary = json.loads((tmp_path / "run" / "imo_answerbench" / "summary.json").read_text())
    assert summary["metrics"]["decided by the judge %"] == pytest.approx(100 / 3)


def test_arena_three_card_rows_and_a_variant_judge_side_by_side(stand_in, tmp_path):
    responses = write_responses(tmp_path / "r.jsonl", RESPONSES["arena_hard_v2"])
    proc = run("arena_hard_v2", tmp_path / "run", f"responses={responses}", *judged(stand_in),
               "+judge@judge_variant=stand-in", "judge_variant.name=lenient",
               "judge_variant.backend.model_id=stand-in-lenient", f"judge_variant.backend.base_url={stand_in.base_url}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((tmp_path / "run" / "arena_hard_v2" / "summary.json").read_text())
    rows = summary["card_rows"]
    assert set(rows) == {"ArenaHard v2 Hard Prompt", "ArenaHard v2 Creative Writing"}
    # the stand-in's rule, the longer answer wins: the short code answer loses both games to the
    # baseline, the long poem (over twice the baseline's length) wins both
    assert rows["ArenaHard v2 Creative Writing"]["value"] == pytest.approx(100.0)
    assert summary["value"] == pytest.approx((rows["ArenaHard v2 Hard Prompt"]["value"] + 100.0) / 2)
    variant = summary["judge"]["variant"]
    assert variant["name"] == "lenient" and variant["agreement"] is not None
    # the variant judge's number is its own typed field, by the headline's rule; the report shows it
    # among the OPEN candidates as "judge lenient"
    assert 0.0 <= variant["value"] <= 100.0 and "judge lenient" not in summary["variants"]
    judges = {j["judge_name"] for j in store.read_records(tmp_path / "run" / "arena_hard_v2" / "judgements.jsonl")}
    assert judges == {"stand-in", "lenient"}
    report = (tmp_path / "run" / "report.md").read_text()
    for row in ("ArenaHard v2 (Avg.)", "ArenaHard v2 Hard Prompt", "ArenaHard v2 Creative Writing"):
        line = next(x for x in report.splitlines() if f"| {row} | arena_hard_v2 |" in x)
        assert "judge stand-in; variant lenient, agreement" in line
    assert "judge lenient " in next(x for x in report.splitlines() if "| ArenaHard v2 (Avg.) | arena_hard_v2 |" in x)


def test_a_judge_returning_garbage_is_counted_never_a_verdict(stand_in, tmp_path):
    responses = write_responses(tmp_path / "r.jsonl", RESPONSES["hle"])
    proc = run("hle", tmp_path / "run", f"responses={responses}", *judged(stand_in, "stand-in-garbage"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads((tmp_path / "run" / "hle" / "summary.json").read_text())
    judge = summary["judge"]
    assert judge["unparseable"] == 3 and judge["unparseable_rate"] == 100.0
    assert summary["scoring_error_rate"] == 100.0 and summary["value"] == 0.0
    scores = store.read_records(tmp_path / "run" / "hle" / "scores.jsonl")
    assert all(s["detail"]["judge_unparseable"] and "would rather not say" in s["detail"]["judge_reply_tail"]
               for s in scores)


def test_a_judge_that_is_down_is_one_line_and_the_rerun_resumes(tmp_path):
    port = free_port()
    responses = write_responses(tmp_path / "r.jsonl", RESPONSES["hle"])
    srv = StandIn(tmp_path, port=port)
    down = run("hle", tmp_path / "run", f"responses={responses}", *judged(srv))
    assert down.returncode == 2, down.stderr[-2000:]
    errors = [line for line in down.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in down.stderr
    assert errors[0].startswith("error: judge stand-in:") and "judge.backend.base_url" in errors[0]
    srv.start()
    try:
        up = run("hle", tmp_path / "run", f"responses={responses}", *judged(srv))
    finally:
        srv.stop()
    assert up.returncode == 0, up.stderr[-2000:]
    assert len(store.read_records(tmp_path / "run" / "hle" / "judgements.jsonl")) == 3


def test_judgements_survive_a_kill_mid_judging(tmp_path):
    srv = StandIn(tmp_path, delay=0.3).start()
    rows = [(sid, k, f"Exact Answer: {100 + i}\nConfidence: {10 * k + 5}%") for i, sid in enumerate(HLE_IDS) for k in range(2)]
    responses = write_responses(tmp_path / "r.jsonl", rows)
    extra = [f"responses={responses}", "samples=2", *judged(srv), "judge.backend.concurrency=1"]
    path = tmp_path / "run" / "hle" / "judgements.jsonl"
    cmd = [sys.executable, "-m", "evalsuite", "task=hle", "data=sample", f"run_dir={tmp_path / 'run'}",
           "responses_split=answer_only", *extra]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    try:
        log = (tmp_path / "killed.log").open("w")
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(store.read_records(path, repair=False)) < 3:
            assert proc.poll() is None, (tmp_path / "killed.log").read_text()[-2000:]
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        before = path.read_bytes()
        kept = store.read_records(path, repair=False)
        assert 3 <= len(kept) < len(rows)
        again = run("hle", tmp_path / "run", *extra)
        assert again.returncode == 0, again.stderr[-2000:]
    finally:
        srv.stop()
    after = store.read_records(path)
    assert path.read_bytes().startswith(before[: before.rfind(b"\n") + 1])  # what was stored stays as it was
    assert len({j["ask"] for j in after}) == len(after) == len(rows)  # every ask once
    rerun = store.read_records(tmp_path / "run" / "hle" / "judge_ledger.jsonl")[-1]
    assert rerun["requests"] == len(rows) - len(kept) and rerun["reused"] == len(kept)  # only what was missing
    assert srv.requests() <= len(rows) + 1  # at most the one request in flight at the kill asked twice
    assert len(store.read_records(tmp_path / "run" / "hle" / "scores.jsonl")) == len(rows)


def test_no_judge_for_a_task_that_needs_one_is_one_line(tmp_path):
    proc = run("hle", tmp_path / "run", "~judge", "stage=report")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "graded by a judge and none is set; pick one with judge=NAME" in proc.stderr


def test_dry_run_sizes_the_judges_work(tmp_path):
    proc = run("arena_hard_v2", tmp_path / "run", "dry_run=true", "judge=stand-in", "judge.backend.base_url=http://x/v1")
    assert proc.returncode == 0, proc.stderr[-2000:]
    line = next(x for x in proc.stderr.splitlines() if "dry run, judge stand-in" in x)
    assert "10 requests at most" in line and "cost at most $" in line  # 5 prompts x 2 orders


def test_imo_answerbench_without_a_judge_is_the_checker_alone(tmp_path):
    responses = write_responses(tmp_path / "r.jsonl", RESPONSES["imo_answerbench"])
    proc = run("imo_answerbench", tmp_path / "run", f"responses={responses}", "~judge")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert not (tmp_path / "run" / "imo_answerbench" / "judgements.jsonl").exists()
    summary = json.loads((tmp_path / "run" / "imo_answerbench" / "summary.json").read_text())
    assert summary["judge"] is None and any("no judge" in d for d in summary["deviations"])
    by_id = {s["sample_id"]: s["value"] for s in store.read_records(tmp_path / "run" / "imo_answerbench" / "scores.jsonl")}
    assert by_id == {"evalsuite-ab-001": 1.0, "evalsuite-ab-003": 0.0, "evalsuite-ab-004": 0.0}  # unboxed: wrong
