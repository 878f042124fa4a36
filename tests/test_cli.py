"""The command line as a user meets it: overrides, one-line errors, scoring responses made elsewhere."""
from __future__ import annotations

import json
import math

from tests.conftest import ROOT, assert_one_line_error




def test_unknown_task(cli):
    assert_one_line_error(cli("task=nope"), "unknown task 'nope'", "aime25")


def test_unknown_model_and_backend(cli):
    assert_one_line_error(cli("model=gpt-17"), "unknown model", "smollm2-135m")
    assert_one_line_error(cli("backend=tpu"), "unknown backend")


def test_bad_override(cli):
    assert_one_line_error(cli("sampling.temprature=0.5"), "bad override")
    assert_one_line_error(cli("samples"), "unrecognised argument")


def test_missing_data_file(cli, tmp_path):
    assert_one_line_error(cli("task=aime25", f"data.path={tmp_path}/nope.jsonl", f"run_dir={tmp_path}"), "data file not found")


def test_hub_unreachable_names_dataset_and_override(cli, tmp_path):
    proc = cli("task=hmmt_feb25", f"run_dir={tmp_path}", env={"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"})
    assert_one_line_error(proc, "MathArena/hmmt_feb_2025", "data.path=FILE")


def test_cfg_job_prints_resolved_config(cli):
    proc = cli("--cfg", "job", "task=hmmt_feb25", "sampling.temperature=0.6")
    assert proc.returncode == 0, proc.stderr
    assert "name: hmmt_feb25" in proc.stdout and "temperature: 0.6" in proc.stdout
    assert "samples: 64" in proc.stdout and "max_tokens: 131072" in proc.stdout  # the paper's protocol


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_score_responses_made_elsewhere(cli, tmp_path):
    """A jsonl from another harness: matched by id or by prompt text; no model is loaded."""
    prompt_of_2 = json.loads((ROOT / "tasks/samples/aime25.jsonl").read_text().splitlines()[1])["problem"]
    prompt_of_2 += "\n\nPlease place your final answer inside \\boxed{}."
    responses = tmp_path / "resp.jsonl"
    _write(responses, [
        {"id": "1", "response": "The sum is \\boxed{55}."},                 # right
        {"id": "1", "response": "\\boxed{54}"},                              # wrong
        {"prompt": prompt_of_2, "response": "so \\boxed{23}", "k": 0},       # right, matched by prompt
        {"prompt": prompt_of_2, "response": "no box", "k": 1},               # no answer
    ])
    run_dir = tmp_path / "run"
    proc = cli("task=aime25", "data=sample", "limit=2", "samples=2", "stage=score", f"responses={responses}",
               f"run_dir={run_dir}")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((run_dir / "aime25" / "summary.json").read_text())
    assert summary["value"] == 50.0 and summary["n_items"] == 2 and summary["samples"] == 2
    assert summary["no_answer_rate"] == 25.0
    assert {"task", "metric", "value", "ci95", "n_items", "samples"} <= set(summary)
    manifest = json.loads((run_dir / "aime25" / "run.json").read_text())
    assert manifest["source"].startswith("responses:") and "versions" in manifest and "dataset" in manifest
    # the file gives no lengths or finish reasons: unknown, not 0 tokens and not a finished answer
    gens = [json.loads(line) for line in (run_dir / "aime25" / "generations.jsonl").read_text().splitlines()]
    assert {(g["tokens"], g["finish_reason"]) for g in gens} == {(None, "unknown")}
    assert math.isnan(summary["truncated_rate"]) and math.isnan(summary["tokens"]["mean"])


def test_responses_with_unknown_id(cli, tmp_path):
    responses = tmp_path / "resp.jsonl"
    _write(responses, [{"id": "999", "response": "\\boxed{1}"}])
    proc = cli("task=aime25", "data=sample", "stage=score", f"responses={responses}", f"run_dir={tmp_path}")
    assert_one_line_error(proc, "resp.jsonl:1", "999")


def test_corrupt_generations_file(cli, tmp_path):
    d = tmp_path / "aime25"
    d.mkdir()
    (d / "generations.jsonl").write_text('{"sample_id": "1", "k": 0, "text": "x", "tokens": 1, "finish_reason": "stop"}\n'
                                         "NOT JSON\n"
                                         '{"sample_id": "2", "k": 0, "text": "x", "tokens": 1, "finish_reason": "stop"}\n')
    proc = cli("task=aime25", "data=sample", "limit=2", "samples=1", "stage=score", f"run_dir={tmp_path}")
    assert_one_line_error(proc, "generations.jsonl:2", "corrupt")


def test_rescoring_never_regenerates(cli, tmp_path):
    d = tmp_path / "aime25"
    d.mkdir()
    gens = [{"sample_id": "1", "k": 0, "text": "\\boxed{55}", "tokens": 3, "finish_reason": "stop"},
            {"sample_id": "2", "k": 0, "text": "\\boxed{7}", "tokens": 3, "finish_reason": "length"}]
    _write(d / "generations.jsonl", gens)
    before = (d / "generations.jsonl").read_bytes()
    proc = cli("task=aime25", "data=sample", "limit=2", "samples=1", "stage=score", f"run_dir={tmp_path}")
    assert proc.returncode == 0, proc.stderr
    assert (d / "generations.jsonl").read_bytes() == before
    summary = json.loads((d / "summary.json").read_text())
    assert summary["value"] == 50.0 and summary["truncated_rate"] == 50.0
    # a second stage=score re-grades from scratch: same numbers, one score per key
    assert cli("task=aime25", "data=sample", "limit=2", "samples=1", "stage=score", f"run_dir={tmp_path}").returncode == 0
    assert len((d / "scores.jsonl").read_text().splitlines()) == 2


def test_run_dir_refuses_mixed_settings(cli, tmp_path):
    responses = tmp_path / "resp.jsonl"
    _write(responses, [{"id": "1", "response": "\\boxed{55}"}])
    base = ("task=aime25", "data=sample", "limit=1", "samples=1", f"run_dir={tmp_path}/run")
    assert cli(*base, "stage=score", f"responses={responses}").returncode == 0
    proc = cli(*base, "sampling.temperature=0.3", "stage=generate")
    assert_one_line_error(proc, "other settings", "temperature")


def test_bad_numbers_and_unwritable_run_dir(cli, tmp_path):
    base = ("task=aime25", "data=sample", "limit=1", f"run_dir={tmp_path}")
    assert_one_line_error(cli(*base, "samples=abc"), "samples='abc' is not an integer")
    assert_one_line_error(cli(*base, "samples=0"), "samples=0 must be at least 1")
    assert_one_line_error(cli(*base, "sampling.temperature=hot"), "sampling.temperature='hot' is not a number")
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert_one_line_error(cli("task=aime25", "data=sample", "limit=1", "samples=1", f"run_dir={blocker}/run"), "run_dir")


def _score_file(cli, tmp_path, name, rows, *overrides):
    responses = tmp_path / f"{name}.jsonl"
    _write(responses, rows)
    run_dir = tmp_path / name
    proc = cli("task=aime25", "data=sample", "limit=1", f"samples={len(rows)}", "stage=score",
               f"responses={responses}", f"run_dir={run_dir}", *overrides)
    return proc, run_dir / "aime25"


def test_responses_split_is_one_setting_recorded_in_run_json(cli, tmp_path):
    """The same two responses of a thinking model, read three ways. Item 1's answer is 55."""
    literal = "\\boxed{55}, and the tag </think> is text here"
    rows = [{"id": "1", "response": "\\boxed{55}"}, {"id": "1", "response": literal}]
    think = "model=nemotron-cascade-2"

    # raw (the default): the model's output as it came; no closing tag = thinking never closed
    proc, task_dir = _score_file(cli, tmp_path, "raw", rows, think)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((task_dir / "summary.json").read_text())
    assert summary["value"] == 0.0 and summary["unfinished_rate"] == 50.0  # k=1's answer is "is text here"
    assert json.loads((task_dir / "run.json").read_text())["responses"]["split"] == "raw"

    # answer_only: the thinking was removed elsewhere; each response is graded whole, tag and all
    proc, task_dir = _score_file(cli, tmp_path, "answer_only", rows, think, "responses_split=answer_only")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((task_dir / "summary.json").read_text())
    assert summary["value"] == 100.0 and summary["unfinished_rate"] == 0.0
    manifest = json.loads((task_dir / "run.json").read_text())
    assert manifest["responses"]["split"] == "answer_only" and manifest["config"]["responses_split"] == "answer_only"

    # reasoning_field: the thinking beside the answer; a box in the thinking is never graded
    fields = [{"id": "1", "reasoning": "maybe \\boxed{55}", "response": "\\boxed{54}"},
              {"id": "1", "reasoning": None, "response": literal}]
    proc, task_dir = _score_file(cli, tmp_path, "fields", fields, think, "responses_split=reasoning_field")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((task_dir / "summary.json").read_text())["value"] == 50.0
    gens = [json.loads(line) for line in (task_dir / "generations.jsonl").read_text().splitlines()]
    assert [g["reasoning"] for g in gens] == ["maybe \\boxed{55}", ""]


def test_a_literal_think_tag_never_cuts_a_model_without_thinking(cli, tmp_path):
    proc, task_dir = _score_file(cli, tmp_path, "plain", [{"id": "1", "response": "\\boxed{55} </think> done"}])
    assert proc.returncode == 0, proc.stderr  # the default model (smollm2) has no thinking mode
    assert json.loads((task_dir / "summary.json").read_text())["value"] == 100.0


def test_responses_split_errors_name_the_setting(cli, tmp_path):
    fields = [{"id": "1", "reasoning": "t", "response": "\\boxed{55}"}]
    assert_one_line_error(_score_file(cli, tmp_path, "a", fields)[0], "a.jsonl:1", "responses_split=reasoning_field")
    plain = [{"id": "1", "response": "\\boxed{55}"}]
    assert_one_line_error(_score_file(cli, tmp_path, "b", plain, "responses_split=reasoning_field")[0],
                          "b.jsonl:1", '"reasoning"')
    assert_one_line_error(_score_file(cli, tmp_path, "c", plain, "responses_split=thinking")[0],
                          "unknown responses_split 'thinking'", "raw, answer_only, reasoning_field")
    assert_one_line_error(_score_file(cli, tmp_path, "d", [{"id": "1", "response": "x", "k": "first"}])[0],
                          "d.jsonl:1", '"k"')


def test_answer_forms_and_a_hostile_answer_in_a_run(cli, tmp_path):
    """Item 1's answer is 55. A cut-off last box is no answer (not the abandoned 55 before it); words
    that bound the value are not a unit; a power tower costs its time limit and is a scoring error."""
    answers = ["\\boxed{55}. No, recount: \\boxed{5", "\\boxed{55 \\text{ or more}}", "$\\boxed{55}$",
               "\\boxed{10^{10^{10^{10}}}}", "\\boxed{54}", "\\boxed{54.0}"]
    # the default time limit: a worker's first math-verify import alone can take seconds on a busy machine
    proc, task_dir = _score_file(cli, tmp_path, "forms", [{"id": "1", "response": a} for a in answers])
    assert proc.returncode == 0, proc.stderr
    scores = {r["k"]: r for r in map(json.loads, (task_dir / "scores.jsonl").read_text().splitlines())}
    assert scores[0]["extracted"] is None and "cut off" in scores[0]["detail"]["reason"]
    assert "timeout" in scores[3]["scoring_error"]
    assert [scores[k]["value"] for k in range(6)] == [0.0, 0.0, 1.0, 0.0, 0.0, 0.0]
    summary = json.loads((task_dir / "summary.json").read_text())
    assert round(summary["no_answer_rate"], 1) == 16.7 and round(summary["scoring_error_rate"], 1) == 16.7
    # 54 and 54.0 are one class of two votes, beating the one right answer: maj@6 = 0
    assert summary["maj_at_k"]["6"] == 0.0 and summary["maj_votes"] == {"by": "equivalence", "unresolved": 0}


def test_maj_at_k_votes_by_equivalence_in_a_run(cli, tmp_path):
    """3 right answers in three forms against a wrong one written twice: maj@5 = 100, not 0."""
    answers = ["54", "55", "\\frac{110}{2}", "54", "5 \\cdot 11"]
    proc, task_dir = _score_file(cli, tmp_path, "maj", [{"id": "1", "response": f"\\boxed{{{a}}}"} for a in answers])
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((task_dir / "summary.json").read_text())
    assert summary["value"] == 60.0 and summary["maj_at_k"]["5"] == 100.0
    assert summary["maj_votes"] == {"by": "equivalence", "unresolved": 0}
