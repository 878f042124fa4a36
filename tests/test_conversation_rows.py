"""The card's conversation, long-document and translation rows through the real CLI: Scale AI
MultiChallenge, AA-LCR, CL-Bench and WMT24++, each on the sample set we wrote in its dataset's
schema, graded by a STAND-IN JUDGE (tests/judge_stand_in.py: a real HTTP server on localhost that
answers judge prompts and metric asks by fixed rules, because the official judges and xCOMET-XXL
cannot run here). The model is the embedded SmolLM2 where generation matters (a conversation
rendered and answered), else a responses file (the answers a rule can be checked on)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from evalsuite import store
from evalsuite.data import SAMPLES_DIR
from tests.test_judge import StandIn, judged, write_responses

ROOT = Path(__file__).resolve().parent.parent


def cli(task: str, run_dir: Path, *extra: str, timeout: float = 900) -> subprocess.CompletedProcess:
    data = [] if any(e.startswith("data=") for e in extra) else ["data=sample"]  # a key once: twice is an error
    cmd = [sys.executable, "-m", "evalsuite", f"task={task}", *data, f"run_dir={run_dir}", *extra]
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
    assert summary(tmp_path / "run", "multichallenge")["judge"]["name"] == "stand-in"


def test_multichallenge_verdicts_read_json_or_the_last_capital_word():
    from tasks.multichallenge import read_verdict

    assert read_verdict('{"reasoning": "no issue", "verdict": "YES"}') == "YES"
    assert read_verdict("The response says no to nothing... Verdict: NO") == "NO"
    assert read_verdict("I cannot tell.") is None


# ---------------------------------------------------------------- AA-LCR

LCR_ANSWERS = [("1", 0, "It grew by 32 million crowns."),  # the stand-in: "32" is in the answer, CORRECT
               ("2", 0, "No, only by letter."),             # "Yes" is not: INCORRECT
               ("3", 0, "The documents do not say.")]


def test_aa_lcr_documents_from_the_archive_judged_per_category(stand_in, tmp_path):
    responses = write_responses(tmp_path / "r.jsonl", LCR_ANSWERS)
    proc = cli("aa_lcr", tmp_path / "run", "samples=1", f"responses={responses}", "responses_split=answer_only",
               *judged(stand_in))
    assert proc.returncode == 0, proc.stderr[-3000:]
    s = summary(tmp_path / "run", "aa_lcr")
    assert {c["by"]["document_category"]: c["value"] for c in s["breakdown"]} == {
        "Company Documents": 100.0, "Legal": 0.0, "Academia": 0.0}
    assert s["value"] == pytest.approx(100 / 3) and not any("cut to fit" in d for d in s["deviations"])
    prompts = {r["id"]: r for r in store.read_records(tmp_path / "run" / "aa_lcr" / "samples.jsonl")}
    legal = prompts["2"]["messages"][0]["content"]
    # the official prompt, both documents numbered; the archive's mangled file name ("ΓÇö") was found
    assert legal.startswith("BEGIN INPUT DOCUMENTS\n\nBEGIN DOCUMENT 1:\nSection 4: a landlord")
    assert "END DOCUMENT 2\n\nEND INPUT DOCUMENTS" in legal and legal.endswith("END QUESTION\n")


def test_aa_lcr_documents_that_do_not_fit_are_cut_and_counted(stand_in, tmp_path, embedded_model_dir):
    proc = cli("aa_lcr", tmp_path / "run", "samples=1", "limit=1", "model.max_model_len=150",
               "sampling.max_tokens=8", *judged(stand_in))
    assert proc.returncode == 0, proc.stderr[-3000:]
    s = summary(tmp_path / "run", "aa_lcr")
    assert any(d.startswith("documents cut to fit the window: 1 of 1 questions") for d in s["deviations"]), s["deviations"]
    [sample] = store.read_records(tmp_path / "run" / "aa_lcr" / "samples.jsonl")
    assert sample["meta"]["cut_tokens"] > 0 and sample["prompt_tokens"] <= 150 - 8
    text = sample["messages"][0]["content"]
    assert text.startswith("BEGIN INPUT DOCUMENTS") and text.endswith("END QUESTION\n")  # only the documents cut
    [gen] = store.read_records(tmp_path / "run" / "aa_lcr" / "generations.jsonl")
    assert gen["prompt_tokens"] == sample["prompt_tokens"]


def test_aa_lcr_prepare_fetches_and_checksums_questions_and_archive(stand_in, tmp_path):
    hub = tmp_path / "hub"  # the dataset repository's layout, as a local directory
    (hub / "extracted_text").mkdir(parents=True)
    shutil.copy(SAMPLES_DIR / "aa_lcr.jsonl", hub / "test.jsonl")
    shutil.copy(SAMPLES_DIR / "aa_lcr" / "extracted_text" / "AA-LCR_extracted-text.zip", hub / "extracted_text")
    prep = subprocess.run([sys.executable, "-m", "evalsuite", "prepare", "task=aa_lcr", f"data_dir={tmp_path / 'data'}",
                           f"task.dataset.hub_id={hub}"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)})
    assert prep.returncode == 0, prep.stderr[-2000:]
    entry = json.loads((tmp_path / "data" / "manifest.json").read_text())["datasets"]["aa_lcr"]
    archive = entry["dataset_files"]["extracted_text/AA-LCR_extracted-text.zip"]
    assert entry["rows"] == 3 and archive in entry["files"] and len(entry["files"]) >= 2
    sums = (tmp_path / "data" / "SHA256SUMS").read_text()
    assert entry["files"][archive]["sha256"] in sums
    responses = write_responses(tmp_path / "r.jsonl", LCR_ANSWERS)
    run = ["samples=1", f"responses={responses}", "responses_split=answer_only", f"data_dir={tmp_path / 'data'}",
           f"task.dataset.hub_id={hub}", "data=hub", *judged(stand_in)]
    proc = cli("aa_lcr", tmp_path / "run", *run)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert summary(tmp_path / "run", "aa_lcr")["value"] == pytest.approx(100 / 3)
    with (tmp_path / "data" / archive).open("ab") as f:  # the archive damaged after prepare
        f.write(b"x")
    damaged = cli("aa_lcr", tmp_path / "run2", *run)
    assert damaged.returncode == 2 and "does not match its sha256" in damaged.stderr, damaged.stderr[-2000:]


def test_aa_lcr_equality_reads_how_the_reply_starts():
    from tasks.aa_lcr import _key, read_equality

    assert read_equality(" correct.") == "CORRECT" and read_equality("INCORRECT") == "INCORRECT"
    assert read_equality("The answer is CORRECT") is None  # not how the official judge answers: counted, not guessed
    assert _key("Tenancy Act ΓÇö summary.txt") == _key("Tenancy Act — summary.txt")
    assert _key("Ba s╠ºkent.txt") == _key("Başkent.txt")


# ---------------------------------------------------------------- CL-Bench

def test_cl_bench_rubrics_all_or_nothing_and_an_empty_answer_is_never_judged(stand_in, tmp_path):
    responses = write_responses(tmp_path / "r.jsonl", [
        ("evalsuite-cl-001", 0, "Captures give 4 points, losing all stones costs 5: the score is -1."),  # both met
        ("evalsuite-cl-002", 0, "30 seconds"),   # one of two met: 0
        ("evalsuite-cl-003", 0, "")])            # empty: 0, no judge asked
    before = stand_in.requests()
    proc = cli("cl_bench", tmp_path / "run", f"responses={responses}", "responses_split=answer_only", *judged(stand_in))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert stand_in.requests() - before == 2
    s = summary(tmp_path / "run", "cl_bench")
    assert s["value"] == pytest.approx(100 / 3)
    cells = {tuple(c["by"].items())[0]: c["value"] for c in s["breakdown"]}
    assert cells[("context_category", "Rule System Application")] == 100.0
    assert cells[("sub_category", "Lab protocols")] == 0.0
    assert s["metrics"]["rubrics met % (judge's list)"] == pytest.approx(75.0)


def test_cl_bench_history_goes_to_the_model_under_the_card_rule(embedded_model_dir):
    from evalsuite import pipeline, task
    from evalsuite.config import compose
    from evalsuite.planning import build_requests
    from evalsuite.render import load_tokenizer

    cfg = compose(["task=cl_bench", "data=sample", "model.reasoning=true"])  # SmolLM2 as a model that thinks
    samples = [s for s in pipeline.load_samples(cfg, task.resolve(cfg)) if s.id == "evalsuite-cl-002"]
    [request] = build_requests(cfg, samples, load_tokenizer(cfg.model), {("evalsuite-cl-002", 0)})
    assert "<|im_start|>assistant\n<think></think>Rinse twice, stain 30 s, dry.<|im_end|>" in request.prompt
    assert "read it" not in request.prompt and "read it" not in str(request.messages)  # chat servers too
    assert request.prompt.startswith("<|im_start|>system\nYou are a lab assistant.")  # the row's system prompt


def test_cl_bench_reads_the_score_from_json_or_its_field():
    from tasks.cl_bench import read_grading

    assert read_grading('```json\n{"Grading Rationale": "x", "List of Requirement Satisfaction Status": ["yes"], '
                        '"Overall Score": 1}\n```') == {"score": 1, "met": ["yes"]}
    assert read_grading('{"Overall Score": 0, "Grading Rationale": "broken "quote"}') == {"score": 0, "met": []}
    assert read_grading("I would give it a pass.") is None


# ---------------------------------------------------------------- WMT24++

WMT_ANSWERS = [("de_DE:1", 0, "Die Fähre legt um sieben ab."), ("de_DE:2", 0, "Bitte Fahrkarte."),
               ("ja_JP:1", 0, "フェリーは七時に出発します。"), ("ja_JP:2", 0, "ticket"),
               ("sw_KE:1", 0, "Feri inaondoka saa moja."), ("sw_KE:2", 0, "Tafadhali weka tiketi yako.")]


def test_wmt24pp_metric_model_per_language_cells_and_the_mean_over_languages(stand_in, tmp_path):
    responses = write_responses(tmp_path / "r.jsonl", WMT_ANSWERS)
    before = stand_in.requests()
    proc = cli("wmt24pp", tmp_path / "run", f"responses={responses}", "responses_split=answer_only", *judged(stand_in))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert stand_in.requests() - before == 6  # the bad-source segment (de_DE:3) is left out
    s = summary(tmp_path / "run", "wmt24pp")
    cells = {c["by"]["target_language"]: c["value"] for c in s["breakdown"]}
    assert set(cells) == {"de_DE", "ja_JP", "sw_KE"} and cells["sw_KE"] == 100.0 and cells["ja_JP"] == 50.0
    assert s["value"] == pytest.approx(sum(cells.values()) / 3)  # languages weigh equally
    chrf = s["metrics"]["chrF (sacrebleu; each language's segments, then languages)"]
    assert 0 < chrf < 100 and chrf != pytest.approx(s["value"])  # reported beside, never as the headline
    assert not any("not the card's xCOMET-XXL" in d for d in s["deviations"])
    asks = store.read_records(tmp_path / "run" / "wmt24pp" / "judgements.jsonl")
    assert json.loads(next(a for a in asks if a["sample_id"] == "de_DE:1")["reply"]) == pytest.approx(1.0)
    # the same translation of the same source against the same reference is one ask, never sent twice
    again = cli("wmt24pp", tmp_path / "run", f"responses={responses}", "responses_split=answer_only", *judged(stand_in))
    assert again.returncode == 0 and stand_in.requests() - before == 6, again.stderr[-2000:]


def test_wmt24pp_without_the_metric_model_is_chrf_and_says_so(tmp_path):
    responses = write_responses(tmp_path / "r.jsonl", WMT_ANSWERS)
    proc = cli("wmt24pp", tmp_path / "run", f"responses={responses}", "responses_split=answer_only", "~judge")
    assert proc.returncode == 0, proc.stderr[-3000:]
    s = summary(tmp_path / "run", "wmt24pp")
    assert any("metric chrF (sacrebleu), not the card's xCOMET-XXL" in d for d in s["deviations"])
    assert s["value"] == pytest.approx(s["metrics"]["chrF (sacrebleu; each language's segments, then languages)"])
    report = (tmp_path / "run" / "report.md").read_text()
    assert "not the card's xCOMET-XXL" in next(line for line in report.splitlines() if "| wmt24pp |" in line)


def test_wmt24pp_metric_model_needs_its_package_and_a_served_judge_needs_its_server(tmp_path):
    wmt = cli("wmt24pp", tmp_path / "a", "limit=1", "sampling.max_tokens=4")  # default judge: xcomet-xxl
    assert wmt.returncode == 2 and "needs unbabel-comet: pip install 'evalsuite[comet]'" in wmt.stderr, wmt.stderr[-2000:]
    lcr = cli("aa_lcr", tmp_path / "b", "limit=1", "sampling.max_tokens=4")  # default judge: Qwen3-235B, no server set
    assert lcr.returncode == 2 and "judge.backend.base_url=http://HOST:PORT/v1" in lcr.stderr, lcr.stderr[-2000:]
    assert "Traceback" not in wmt.stderr + lcr.stderr


# ---------------------------------------------------------------- suite=card

def test_the_card_suite_generates_judged_rows_and_grades_them_later(stand_in, tmp_path, embedded_model_dir):
    run = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "evalsuite", "suite=card", "suite.tasks=[multichallenge,wmt24pp]",
                           "data=sample", "limit=1", "sampling.max_tokens=8", f"run_dir={run}"], cwd=ROOT,
                          capture_output=True, text=True, timeout=900,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (run / "multichallenge" / "generations.jsonl").exists() and not (run / "multichallenge" / "summary.json").exists()
    assert "metric chrF" in (run / "report.md").read_text()  # WMT24++ scored on CPU, flagged
    later = ["limit=1", "sampling.max_tokens=8", *judged(stand_in)]
    for stage in ("judge", "score"):
        done = cli("multichallenge", run, f"stage={stage}", *later)
        assert done.returncode == 0, done.stderr[-2000:]
    assert summary(run, "multichallenge")["judge"]["answers"] == 1


# A STAND-IN for the unbabel-comet package: xCOMET-XXL (10.7B parameters, gated, GPU) cannot run
# here. It has the package's two entry points our backend calls and scores a translation by
# whether it equals the reference; every predict call is logged so the test sees the batching.
STAND_IN_COMET = '''
import json, os
class _Out:
    def __init__(self, scores): self.scores = scores
class _Model:
    def predict(self, samples, batch_size, gpus, progress_bar):
        with open(os.environ["COMET_STAND_IN_LOG"], "a") as f:
            f.write(json.dumps({"n": len(samples), "batch_size": batch_size, "gpus": gpus}) + "\\n")
        return _Out([1.0 if s["mt"].strip() == s["ref"].strip() else 0.25 for s in samples])
def load_from_checkpoint(path):
    if not os.path.exists(path):
        raise FileNotFoundError(path)
    return _Model()
def download_model(name):
    raise RuntimeError(f"offline: cannot download {name}")
'''


def test_wmt24pp_through_the_comet_backend_with_a_stand_in_package(tmp_path):
    pkg = tmp_path / "site"
    (pkg / "comet").mkdir(parents=True)
    (pkg / "comet" / "__init__.py").write_text(STAND_IN_COMET)
    (pkg / "unbabel_comet-0.0.0+standin.dist-info").mkdir()
    (pkg / "unbabel_comet-0.0.0+standin.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: unbabel-comet\nVersion: 0.0.0+standin\n")
    ckpt = tmp_path / "xcomet" / "checkpoints"
    ckpt.mkdir(parents=True)
    (ckpt / "model.ckpt").write_text("stand-in")
    log = tmp_path / "predict.jsonl"
    responses = write_responses(tmp_path / "r.jsonl", WMT_ANSWERS)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": f"{pkg}{os.pathsep}{ROOT}", "COMET_STAND_IN_LOG": str(log)}
    cmd = [sys.executable, "-m", "evalsuite", "task=wmt24pp", "data=sample", f"run_dir={tmp_path / 'run'}",
           f"responses={responses}", "responses_split=answer_only", "judge=xcomet-xxl",
           f"judge.model.path={tmp_path / 'xcomet'}", "judge.backend.batch_size=4", "judge.backend.flush_every=4"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert [c["n"] for c in calls] == [4, 2] and all(c["batch_size"] == 4 for c in calls)  # 6 asks, 4 per call
    s = summary(tmp_path / "run", "wmt24pp")
    assert not any("not the card's xCOMET-XXL" in d for d in s["deviations"])
    asks = store.read_records(tmp_path / "run" / "wmt24pp" / "judgements.jsonl")
    assert len(asks) == 6 and {float(a["reply"]) for a in asks} <= {1.0, 0.25}
    assert {a["backend_version"] for a in asks} == {"0.0.0+standin"}  # the metric package's version, per reply
    assert s["judge"]["backend_versions"] == ["0.0.0+standin"]
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900, env=env)
    assert again.returncode == 0 and len(log.read_text().splitlines()) == 2, again.stderr[-2000:]  # nothing asked twice
    # a model directory without a checkpoint is one line naming the setting
    bad_cmd = [a.replace(str(tmp_path / "run"), str(tmp_path / "run2")).replace(str(tmp_path / "xcomet"), str(tmp_path / "nowhere"))
               for a in cmd]
    bad = subprocess.run(bad_cmd,
                         cwd=ROOT, capture_output=True, text=True, timeout=900, env=env)
    assert bad.returncode == 2 and "judge.model.path" in bad.stderr and "Traceback" not in bad.stderr, bad.stderr[-2000:]
