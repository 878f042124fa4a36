"""The command line as a user meets it: overrides, one-line errors, scoring responses made elsewhere."""
from __future__ import annotations

import json

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
