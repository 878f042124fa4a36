"""Scores follow the generations they graded, and every bad input is one line (issue 12, classes
7 and 9): real runs through the CLI and the pipeline on real files, no model loaded."""
from __future__ import annotations

import json
from types import SimpleNamespace

from evalsuite import pipeline, rundir, store, task
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
    run = rundir.task_run(cfg, spec, pipeline.load_samples(cfg, spec))
    assert pipeline.score_stage(run, rescore=False) == 1  # only the changed one; never the error
    summary = pipeline.summarize_task(run)
    # (1, 0) and (1, 1) right, (2, 1) wrong, (2, 0) has no current score: missing, not its old verdict
    assert summary.n_scores == 3 and summary.missing_scores == 1 and summary.missing == ["2#0"]
    assert summary.value == 50.0  # item 1: 2/2, item 2: 0/1
    scores = store.latest_by_key(store.read_records(d / "scores.jsonl"))
    gens = store.latest_by_key(store.read_records(d / "generations.jsonl"))
    assert scores[("1", 1)]["graded"] == pipeline.generation_digest(gens[("1", 1)])
    assert scores[("2", 0)]["graded"] != pipeline.generation_digest(gens[("2", 0)])  # the stale one, kept but unused
    assert pipeline.score_stage(run, rescore=False) == 0  # nothing left that a score could grade


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
        ([{"id": "1", "response": "x", "finish_reason": "eos"}], '"finish_reason" must be "stop" or "length"'),
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


def test_every_run_json_writer_keeps_what_the_others_wrote(tmp_path):
    """run.json has one writer (rundir.update_manifest): each stage's field survives the others' and
    the next run's own facts (how the backend ran stays beside the generations it made)."""
    cfg = compose([*BASE, "stage=score", f"responses={_responses(tmp_path)}", f"run_dir={tmp_path / 'run'}"])
    pipeline.run_task(cfg)
    spec = task.resolve(cfg)
    run = rundir.task_run(cfg, spec, pipeline.load_samples(cfg, spec))
    d = run.dir
    pipeline.record_backend_runtime(run, SimpleNamespace(runtime={"device": "cpu"}))
    assert rundir.update_manifest(d, scoring_environment={"sandbox": "none"})
    pipeline.run_task(cfg)  # the same generations again: write_manifest rewrites only its own keys
    manifest = json.loads((d / "run.json").read_text())
    assert manifest["backend_runtime"] == {"device": "cpu"} and manifest["scoring_environment"] == {"sandbox": "none"}
    assert manifest["task"] == "aime25" and manifest["responses"]["format"] == "evalsuite"
    # a late field alone never makes a run.json (its readers need the config and counts)
    assert not rundir.update_manifest(tmp_path / "elsewhere", tir={}) and not (tmp_path / "elsewhere").exists()


def test_a_torn_last_score_line_is_dropped_with_a_warning_and_the_run_completes(cli, tmp_path):
    """A kill during a write leaves half a line in scores.jsonl: the rerun drops it with a warning
    before appending (it used to append onto it, fusing two records into one corrupt line)."""
    run_dir = tmp_path / "run"
    assert cli(*BASE, "stage=score", f"responses={_responses(tmp_path)}", f"run_dir={run_dir}").returncode == 0
    scores = run_dir / "aime25" / "scores.jsonl"
    whole = scores.read_bytes()
    scores.write_bytes(whole[:-40])  # the last record cut 40 bytes short of its end
    done = cli(*BASE, "stage=all", f"run_dir={run_dir}")  # every generation is stored: no model is loaded
    assert done.returncode == 0, done.stderr
    assert f"warning: {scores}: dropping a half-written last line" in done.stderr
    lines = scores.read_text().split("\n")
    assert lines[-1] == "" and len(lines) == 5 and all(json.loads(line) for line in lines[:-1])
    summary = json.loads((run_dir / "aime25" / "summary.json").read_text())
    assert summary["n_scores"] == 4 and summary["value"] == 50.0


def test_line_separators_inside_strings_are_text_in_every_file(cli, tmp_path):
    """U+2028 and U+2029 are valid raw inside a JSON string; str.splitlines() cut such records in
    two. Through the CLI: a data file, a responses file, and the run's own generations, scores and
    items files (read back by the score stage and the report)."""
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"problem": "What is 1+1?\u2028Answer with a number.", "answer": "2"}, ensure_ascii=False)
                    + "\n" + json.dumps({"problem": "What is 2+3?\u2029", "answer": "5"}, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    responses = tmp_path / "resp.jsonl"
    responses.write_text(json.dumps({"id": "1", "response": "One\u2028plus one: \\boxed{2}"}, ensure_ascii=False) + "\n"
                         + json.dumps({"id": "2", "response": "Five\u2029\\boxed{5}"}, ensure_ascii=False) + "\n",
                         encoding="utf-8")
    assert "\u2028" in responses.read_text(encoding="utf-8")  # raw, not escaped
    run_dir = tmp_path / "run"
    done = cli("task=aime25", f"data.path={rows}", "samples=1", "stage=score", f"responses={responses}",
               f"run_dir={run_dir}")
    assert done.returncode == 0, done.stderr
    d = run_dir / "aime25"
    texts = [g["text"] for g in store.read_records(d / "generations.jsonl")]
    assert texts == ["One\u2028plus one: \\boxed{2}", "Five\u2029\\boxed{5}"]
    assert "\u2028" in (d / "generations.jsonl").read_text(encoding="utf-8")
    assert json.loads((d / "summary.json").read_text())["value"] == 100.0
    # rerun: the stored files are read back (scores kept, nothing regraded) and the report reads the items
    again = cli("task=aime25", f"data.path={rows}", "samples=1", "stage=all", f"run_dir={run_dir}")
    assert again.returncode == 0, again.stderr
    assert len(store.read_records(d / "scores.jsonl")) == 2
    report = cli("report", f"run_dir={run_dir}")
    assert report.returncode == 0, report.stderr


def test_repeated_task_wrong_column_type_and_empty_responses_are_one_line_each(cli, tmp_path):
    run = f"run_dir={tmp_path / 'run'}"
    assert_one_line_error(cli("task=aime25", "task=gpqa_diamond", "data=sample", run),
                          "task is given twice, task=aime25 and task=gpqa_diamond")
    assert_one_line_error(cli("task=aime25", "data=sample", "limit=1", "limit=2", run), "limit=1 and limit=2")
    rows = tmp_path / "numbers.jsonl"
    rows.write_text('{"problem": "1+1", "answer": "2"}\n{"problem": 12, "answer": "2"}\n')
    assert_one_line_error(cli("task=aime25", f"data.path={rows}", "stage=score", f"responses={_responses(tmp_path)}", run),
                          "aime25 row 2: column 'problem' holds int '12', not text")
    empty = tmp_path / "empty.jsonl"
    for content in ("", "\n\n  \n"):
        empty.write_text(content)
        proc = cli(*BASE, "stage=score", f"responses={empty}", run)
        assert_one_line_error(proc, f"responses file {empty} is empty")
        assert "free space" not in proc.stderr


def test_a_second_process_on_the_same_task_directory_stops_in_one_line(cli, tmp_path):
    """Two runs given one run_dir: the second stops naming the first (no interleaved appends), and a
    writer killed with SIGKILL leaves nothing behind that stops the next run."""
    import signal
    import subprocess
    import sys

    task_dir = tmp_path / "run" / "aime25"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from evalsuite.rundir import sole_writer\n"
        f"with sole_writer(Path({str(task_dir)!r})):\n"
        "    print('held', flush=True); time.sleep(600)")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        proc = cli(*BASE, "stage=score", f"responses={_responses(tmp_path)}", f"run_dir={tmp_path / 'run'}")
        assert_one_line_error(proc, f"is being written by evalsuite pid {holder.pid}")
        assert not (task_dir / "generations.jsonl").exists()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    proc = cli(*BASE, "stage=score", f"responses={_responses(tmp_path)}", f"run_dir={tmp_path / 'run'}")
    assert proc.returncode == 0, proc.stderr
    assert (task_dir / "summary.json").exists()
