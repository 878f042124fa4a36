"""Scores follow the generations they graded, and every bad input is one line (issue 12, classes
7 and 9): real runs through the CLI and the pipeline on real files, no model loaded."""
from __future__ import annotations

import json

from evalsuite import pipeline, store, task
from evalsuite.config import compose
from tests.conftest import assert_one_line_error

BASE = ("task=aime25", "data=sample", "limit=2", "samples=2")


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def _responses(tmp_path, rows=None):
    path = tmp_path / "resp.jsonl"
    _write(path, rows or [{"id": "1", "k": 0, "response": "\\boxed{55}"}, {"id": "1", "k": 1, "response": "\\boxed{54}"},
                          {"id": "2", "k": 0, "response": "\\boxed{23}"}, {"id": "2", "k": 1, "response": "\\boxed{1}"}])
    return path


def test_scores_follow_generations(cli, tmp_path):
    run_dir = tmp_path / "run"
    assert cli(*BASE, "stage=score", f"responses={_responses(tmp_path)}", f"run_dir={run_dir}").returncode == 0
    d = run_dir / "aime25"
    first = json.loads((d / "summary.json").read_text())
    assert first["value"] == 50.0
    # a regenerated (1, 1) now right, and (2, 0) stored again as a failed generation: appended, as a
    # rerun's generate stage does, so each key is stored twice
    store.append_records(d / "generations.jsonl", [
        {"sample_id": "1", "k": 1, "text": "\\boxed{55}", "tokens": 3, "finish_reason": "stop"},
        {"sample_id": "2", "k": 0, "text": "", "tokens": 0, "finish_reason": "error"},
    ])
    cfg = compose([*BASE, f"run_dir={run_dir}"])
    spec = task.resolve(cfg)
    samples = pipeline.load_samples(cfg, spec)
    assert pipeline.score_stage(cfg, samples, spec, rescore=False) == 1  # only the changed one; never the error
    summary = pipeline.summarize_task(cfg, samples, spec)
    # (1, 0) and (1, 1) right, (2, 1) wrong, (2, 0) has no current score: missing, not its old verdict
    assert summary.n_scores == 3 and summary.missing_scores == 1 and summary.missing == ["2#0"]
    assert summary.value == 50.0  # item 1: 2/2, item 2: 0/1
    scores = store.latest_by_key(store.read_records(d / "scores.jsonl"))
    gens = store.latest_by_key(store.read_records(d / "generations.jsonl"))
    assert scores[("1", 1)]["graded"] == pipeline.generation_digest(gens[("1", 1)])
    assert scores[("2", 0)]["graded"] != pipeline.generation_digest(gens[("2", 0)])  # the stale one, kept but unused
    assert pipeline.score_stage(cfg, samples, spec, rescore=False) == 0  # nothing left that a score could grade


def test_a_failed_import_leaves_stored_generations_alone(cli, tmp_path):
    run_dir = tmp_path / "run"
    assert cli(*BASE, "stage=score", f"responses={_responses(tmp_path)}", f"run_dir={run_dir}").returncode == 0
    gens = run_dir / "aime25" / "generations.jsonl"
    before = gens.read_bytes()
    bad = tmp_path / "surrogate.jsonl"
    bad.write_text('{"id": "1", "response": "\\ud800 \\\\boxed{1}"}\n')  # a lone surrogate, as JSON allows
    assert_one_line_error(cli(*BASE, "stage=score", f"responses={bad}", f"run_dir={run_dir}"),
                          "surrogate.jsonl:1", "lone surrogate")
    assert gens.read_bytes() == before  # it used to be emptied: deleted before the new write failed
    bad.write_bytes(b'{"id": "1", "response": "caf\xe9"}\n')
    assert_one_line_error(cli(*BASE, "stage=score", f"responses={bad}", f"run_dir={run_dir}"), "not UTF-8")
    assert gens.read_bytes() == before


def test_bad_responses_files(cli, tmp_path):
    run = f"run_dir={tmp_path / 'run'}"
    cases = [
        ([{"id": "1", "k": "zero", "response": "x"}], '"k" must be an integer'),
        ([{"id": "1", "k": -1, "response": "x"}], "k=-1 is outside 0..1"),
        ([{"id": "1", "k": 2, "response": "x"}], "k=2 is outside 0..1"),
        ([{"id": "1", "k": 0, "response": "x"}, {"id": "1", "k": 0, "response": "y"}], "already given on line 1"),
        ([{"id": "1", "response": "x", "tokens": "many"}], '"tokens" must be an integer'),
    ]
    for rows, needle in cases:
        assert_one_line_error(cli(*BASE, "stage=score", f"responses={_responses(tmp_path, rows)}", run), needle)
    assert_one_line_error(cli(*BASE, "stage=score", f"responses={tmp_path}", run), "is a directory")
    # with stage=generate the file was ignored while run.json named it as the source
    assert_one_line_error(cli(*BASE, "stage=generate", f"responses={_responses(tmp_path)}", run),
                          "read by stage=score or stage=all")
    assert not (tmp_path / "run" / "aime25" / "generations.jsonl").exists()  # none of them was imported


def test_bad_settings(cli, tmp_path):
    run = f"run_dir={tmp_path}"
    for args, needle in [
        (("limit=0",), "limit=0 must be at least 1"),  # it used to run the whole benchmark
        (("limit=2.7",), "limit=2.7 is not an integer"),
        (("samples=1.5",), "samples=1.5 is not an integer"),
        (("sampling.top_p=5",), "sampling.top_p=5 must be at most 1.0"),
        (("+sampling.temprature=0.5",), "did you mean sampling.temperature"),
        (("+sampling.beam_width=4",), "no backend reads sampling.beam_width"),
    ]:
        assert_one_line_error(cli("task=aime25", "data=sample", *args, run), needle)
    assert_one_line_error(cli("task=aime25", "data=sample", "run_dir="), "run_dir is empty")
    assert_one_line_error(cli("task=livecodebench", "data=sample", "task.timeout_s=abc", run, "stage=generate"),
                          "task.timeout_s='abc' is not a number")


def test_bad_data_files(cli, tmp_path):
    run = f"run_dir={tmp_path / 'run'}"
    assert_one_line_error(cli("task=aime25", f"data.path={tmp_path}", run), "is a directory")
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"problem": "1+1", "answer": "2"}\n[1, 2]\n')
    assert_one_line_error(cli("task=aime25", f"data.path={rows}", run), "rows.jsonl:2", "must be a JSON object")
    listed = tmp_path / "rows.json"
    listed.write_text('[{"problem": "1+1", "answer": "2"}, "oops"]')
    assert_one_line_error(cli("task=aime25", f"data.path={listed}", run), "row 2", "must be a JSON object")


def test_run_files_of_the_wrong_shape(cli, tmp_path):
    d = tmp_path / "aime25"
    d.mkdir()
    base = ("task=aime25", "data=sample", "limit=2", "samples=1", "stage=score", f"run_dir={tmp_path}")
    gen = {"sample_id": "1", "k": 0, "text": "\\boxed{55}", "tokens": 3, "finish_reason": "stop"}
    for bad, needle in [('["sample_id", "1"]', "must be a JSON object"), (json.dumps({**gen, "k": "0"}), "field 'k'"),
                        (json.dumps({**gen, "text": 5}), "field 'text'"), (json.dumps({**gen, "k": -3}), "k >= 0")]:
        (d / "generations.jsonl").write_text(json.dumps(gen) + "\n" + bad + "\n")
        assert_one_line_error(cli(*base), "generations.jsonl:2", needle)
    _write(d / "generations.jsonl", [gen])
    (d / "run.json").write_text("[1, 2]")
    assert_one_line_error(cli("task=aime25", "data=sample", "limit=2", "samples=1",
                              f"responses={_responses(tmp_path, [{'id': '1', 'response': 'x'}])}",
                              "stage=score", f"run_dir={tmp_path}"), "run.json", "expected a JSON object")
    (d / "run.json").write_text('{"dataset": 3}')
    assert_one_line_error(cli("status", str(tmp_path)), "run.json", "n_items")
