"""The multiple-choice rows (MMLU-Pro, MMLU-Redux, MMLU-ProX, LongBench v2), IMO AnswerBench, the
config families they extend and the baseline models: loaders on local files in each dataset's real
schema (nothing downloads), grading, breakdowns and OPEN variants, and one end-to-end run of all
five on the embedded model."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from evalsuite.card import card_rows
from evalsuite.config import compose, options, task_configs
from evalsuite.errors import UserError
from evalsuite.types import Score
from tasks import imo_answerbench, longbench_v2, mmlu_pro, mmlu_prox, mmlu_redux
from tasks import multiple_choice as mc

from tests.conftest import ROOT, assert_one_line_error
from tests.fixtures_run import figures_by_name


def cfg_for(task: str, *overrides: str):
    return compose([f"task={task}", "data=sample", *overrides])


def local(cfg, path: Path):
    return OmegaConf.merge(cfg, {"data": {"path": str(path)}})


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def scores_for(samples, values: dict[str, float], detail=None):
    return [Score(sid, 0, v, None, False, False, dict((detail or {}).get(sid, {}))) for sid, v in values.items()]


# ---------------------------------------------------------------- config families

def test_families_are_bases_not_choices():
    assert "_math" not in options("task") and "_multiple_choice" not in options("task")
    for name in ("aime25", "aime26", "hmmt_feb25"):  # thin extensions of the math family
        cfg = compose([f"task={name}"])
        assert cfg.task.module == "tasks.matharena" and cfg.samples == 64 and cfg.sampling.top_p == 1.0
        assert cfg.sampling.max_tokens == 131072 and cfg.task.prompt == "card"
    for name in ("gpqa_diamond", "mmlu_pro", "mmlu_redux", "mmlu_prox", "longbench_v2"):
        cfg = compose([f"task={name}"])
        assert cfg.sampling.temperature == 1.0 and cfg.sampling.top_p == 0.95 and cfg.task.thinking is True
    assert compose(["task=mmlu_pro"]).task.letters == "ABCDEFGHIJ"
    assert compose(["task=gpqa_diamond"]).samples == 8 and compose(["task=mmlu_pro"]).samples == 1


def test_a_family_base_cannot_be_run(cli):
    assert_one_line_error(cli("task=_math", "dry_run=true"), "unknown task '_math'")


def test_card_suite_has_the_new_rows():
    tasks = set(compose(["suite=card"]).suite.tasks)
    assert {"mmlu_pro", "mmlu_redux", "mmlu_prox", "longbench_v2", "imo_answerbench"} <= tasks


# ---------------------------------------------------------------- the generic family

def test_any_number_of_options_and_the_letters_offered():
    cfg = OmegaConf.create({"task": {"letters": "ABCDEFGHIJ", "prompt_style": "answer_line"}})
    opts = mc.settings(cfg)
    item = mc.Choice("q1", "Pick the third.", ["one", "two", "three"], 2)
    sample = mc.make_sample(item, opts)
    text = sample.messages[0]["content"]
    assert "'Answer: A/B/C/D/E/F/G/H/I/J'" in text and text.endswith("A) one\nB) two\nC) three")
    assert mc.score(sample, "Answer: C", cfg).value == 1.0
    past = mc.score(sample, "Answer: H", cfg)  # a letter past the last option is an answer, and wrong
    assert past.value == 0.0 and past.extracted == "H"
    with pytest.raises(UserError, match="task.letters=ABCDEFGHIJKL"):
        mc.make_sample(mc.Choice("q2", "?", [str(i) for i in range(12)], 0), opts)
    with pytest.raises(UserError, match="task.letters"):
        mc.settings(OmegaConf.create({"task": {"letters": "XYZ"}}))


def test_boxed_styles_name_the_letters():
    cfg = OmegaConf.create({"task": {"letters": "ABCDEFGHIJ", "prompt_style": "answer_line_boxed"}})
    sample = mc.make_sample(mc.Choice("q", "?", ["a", "b"], 1), mc.settings(cfg))
    assert "'Answer: \\boxed{A/B/C/D/E/F/G/H/I/J}' (e.g. 'Answer: \\boxed{A}')" in sample.messages[0]["content"]
    assert mc.score(sample, "Answer: \\boxed{B}", cfg).value == 1.0


# ---------------------------------------------------------------- MMLU-Pro

def test_mmlu_pro_reads_the_hub_schema(tmp_path):
    path = write_jsonl(tmp_path / "mmlu_pro.jsonl", [
        {"question_id": 7, "question": "Q?", "options": ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"],
         "answer": "J", "answer_index": 9, "cot_content": "", "category": "law", "src": "x"},
        {"question_id": 8, "question": "Q2?", "options": ["a", "b", "c"], "answer": "B", "answer_index": 1,
         "cot_content": "", "category": "math", "src": "x"}])
    samples = mmlu_pro.load(local(cfg_for("mmlu_pro"), path))
    assert [s.id for s in samples] == ["7", "8"] and samples[0].reference["letter"] == "J"
    assert samples[0].messages[0]["content"].endswith("J) j") and samples[1].meta["subject"] == "math"
    cfg = cfg_for("mmlu_pro")
    grade = mmlu_pro.score(samples[0], "so...\nAnswer: J", cfg)
    assert grade.value == 1.0 and grade.answer_key == "J"
    by_id = {s.id: s for s in samples}
    assert figures_by_name(mmlu_pro.TASK, by_id, scores_for(samples, {"7": 1.0, "8": 0.0}), cfg) == {
        "subject=law": 100.0, "subject=math": 0.0}


def test_mmlu_pro_sample_set_is_in_the_schema():
    samples = mmlu_pro.load(cfg_for("mmlu_pro"))
    assert len(samples) >= 6 and len({s.meta["subject"] for s in samples}) >= 5
    assert any(len(s.reference["order"]) < 10 for s in samples)  # a row with fewer than ten options


def test_mmlu_pro_bad_rows_are_one_line(tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", [{"question": "Q?", "options": ["a", "b"], "answer": ""}])
    with pytest.raises(UserError, match="no answer letter"):
        mmlu_pro.load(local(cfg_for("mmlu_pro"), path))


# ---------------------------------------------------------------- MMLU-Redux

def test_mmlu_redux_keeps_ok_and_relabelled_rows():
    samples = mmlu_redux.load(cfg_for("mmlu_redux"))
    rows = [json.loads(line) for line in (ROOT / "tasks/samples/mmlu_redux.jsonl").read_text().splitlines()]
    kept = [r for r in rows if r["error_type"] == "ok" or
            (r["error_type"] == "wrong_groundtruth" and r["correct_answer"] in ("A", "B", "C", "D"))]
    assert len(samples) == len(kept) < len(rows)
    relabelled = [s for s in samples if s.meta["relabelled"]]
    assert relabelled and all(s.reference["letter"] == "B" for s in relabelled)  # the corrected label, not `answer`
    assert samples[0].messages[0]["content"].startswith(
        "Solve the following problem. Make sure to put the answer (and only answer) inside \\boxed{}.\n\n")


def test_mmlu_redux_bug_compatible_variant():
    cfg = cfg_for("mmlu_redux")
    samples = mmlu_redux.load(cfg)
    by_id = {s.id: s for s in samples}
    answers = {s.id: f"\\boxed{{{s.reference['letter']}}}" for s in samples}  # every answer right
    grades = {sid: mmlu_redux.score(by_id[sid], text, cfg) for sid, text in answers.items()}
    scores = [Score(sid, 0, g.value, None, False, False, variants=g.variants) for sid, g in grades.items()]
    out = figures_by_name(mmlu_redux.TASK, by_id, scores, cfg)
    n_relabelled = sum(s.meta["relabelled"] for s in samples)
    assert out["nvidia_bug"] == pytest.approx(100.0 * (len(samples) - n_relabelled) / len(samples))
    assert all(v == 100.0 for k, v in out.items() if k.startswith("subject="))


def test_mmlu_redux_hub_loader_reads_every_subject(monkeypatch):
    seen = []

    def fake_hub(dataset):  # stand-in for the hub: one row per subject config asked for
        seen.append(dataset.config)
        return [{"question": "Q?", "choices": ["a", "b", "c", "d"], "answer": 0, "error_type": "ok"}]

    monkeypatch.setattr(mmlu_redux, "load_from_hub", fake_hub)
    rows = mmlu_redux.hub_rows(OmegaConf.create({"hub_id": "x", "config": None, "split": "test"}))
    assert seen == list(mmlu_redux.SUBJECTS) and len(seen) == 57
    assert rows[0]["subject"] == "abstract_algebra"


# ---------------------------------------------------------------- MMLU-ProX

def test_mmlu_prox_languages_default_to_nvidias_six():
    cfg = cfg_for("mmlu_prox")
    samples = mmlu_prox.load(cfg)
    assert {s.meta["language"] for s in samples} <= set(mmlu_prox.NVIDIA_LANGUAGES)
    assert "6 languages" in mmlu_prox.deviations(samples, cfg)[0]
    everything = cfg_for("mmlu_prox", "task.languages=all")
    wide = mmlu_prox.load(everything)
    assert len(wide) > len(samples) and mmlu_prox.deviations(wide, everything) == []
    by_id = {s.id: s for s in wide}
    out = figures_by_name(mmlu_prox.TASK, by_id, scores_for(wide, {s.id: float(s.meta["language"] == "en") for s in wide}),
                          everything)
    assert out["language=en"] == 100.0 and out["language=sw"] == 0.0
    six = [s for s in wide if s.meta["language"] in mmlu_prox.NVIDIA_LANGUAGES]
    assert out["nvidia_6_languages"] == pytest.approx(100.0 * sum(s.meta["language"] == "en" for s in six) / len(six))
    with pytest.raises(UserError, match="task.languages"):
        mmlu_prox.load(cfg_for("mmlu_prox", "task.languages=[xx]"))


def test_mmlu_prox_reads_option_columns(tmp_path):
    row = {"language": "de", "question_id": 3, "question": "Frage?", **{f"option_{i}": f"o{i}" for i in range(10)},
           "answer": "D", "answer_index": 3, "category": "math", "src": "x"}
    row["option_9"] = "N/A"  # a padded option is no option
    samples = mmlu_prox.load(local(cfg_for("mmlu_prox"), write_jsonl(tmp_path / "x.jsonl", [row])))
    assert samples[0].id == "de/3" and samples[0].reference["letter"] == "D" and len(samples[0].reference["order"]) == 9


# ---------------------------------------------------------------- LongBench v2

def longbench_row(context: str, **extra):
    return {"_id": "lb1", "domain": "Single-Document QA", "sub_domain": "x", "difficulty": "hard", "length": "long",
            "question": "Which colour is the door?", "choice_A": "Red", "choice_B": "Blue", "choice_C": "Green",
            "choice_D": "White", "answer": "B", "context": context, **extra}


def test_longbench_cuts_the_middle_to_fit_the_window(tmp_path):
    from evalsuite.dryrun import count_prompt_tokens
    from evalsuite.render import load_tokenizer
    from evalsuite.render import build_messages, render_prompt

    head, tail = "The door is blue. " * 5, " The end of the file."
    context = head + " ".join(f"filler sentence number {i}." for i in range(2000)) + tail
    cfg = local(cfg_for("longbench_v2", "model.max_model_len=1024"), write_jsonl(tmp_path / "lb.jsonl", [longbench_row(context)]))
    [sample] = longbench_v2.load(cfg)
    text = sample.messages[0]["content"]
    assert text.startswith("Please read the following text and answer the question below.\n\n<text>\nThe door is blue.")
    assert "The end of the file.\n</text>" in text and "filler sentence number 1000." not in text  # the middle is gone
    assert text.endswith('Format your response as follows: "The correct answer is (insert answer here)".')
    tok = load_tokenizer(cfg.model)
    prompt = render_prompt(tok, build_messages(sample.messages, cfg.system_prompt), True, cfg.model)
    exact = count_prompt_tokens(tok, [prompt])[0]
    room = 1024 - 384  # max_model_len less the embedded model's answer budget (max_new_tokens 384)
    assert sample.prompt_tokens == exact and room - 16 <= exact <= room
    assert sample.meta["cut_tokens"] > 10_000
    short = longbench_v2.load(cfg_for("longbench_v2"))
    assert all(s.meta["cut_tokens"] == 0 for s in short)  # the sample set fits 8K whole


def test_longbench_official_extraction_variant():
    cfg = cfg_for("longbench_v2")
    samples = longbench_v2.load(cfg)
    s = samples[0]
    right = s.reference["letter"]
    assert longbench_v2.score(s, f"**The correct answer is ({right})**", cfg).value == 1.0
    boxed = longbench_v2.score(s, f"\\boxed{{{right}}}", cfg)  # ours reads it; the benchmark's rule does not
    assert boxed.value == 1.0 and boxed.detail["official_letter"] is None
    by_id = {x.id: x for x in samples}
    scores = [Score(s.id, 0, 1.0, right, False, False, boxed.detail, variants=boxed.variants)]
    out = figures_by_name(longbench_v2.TASK, by_id, scores, cfg)
    assert out["official_extraction"] == 0.0 and out[f"length={s.meta['length']}"] == 100.0
    assert f"difficulty={s.meta['difficulty']}" in out


def test_longbench_missing_columns_are_one_line(tmp_path):
    row = longbench_row("doc")
    del row["choice_D"]
    with pytest.raises(UserError, match="choice_D"):
        longbench_v2.load(local(cfg_for("longbench_v2"), write_jsonl(tmp_path / "bad.jsonl", [row])))


# ---------------------------------------------------------------- IMO AnswerBench

def test_imo_reads_the_csv_columns(tmp_path):
    path = tmp_path / "answerbench.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, ["Problem ID", "Problem", "Short Answer", "Category", "Level", "Subcategory", "Source"])
        writer.writeheader()
        writer.writerow({"Problem ID": "imo-x-1", "Problem": "Find $1+1$.\n", "Short Answer": "2", "Category": "Algebra",
                         "Level": "IMO-Easy", "Subcategory": "Equation", "Source": "ours"})
    [sample] = imo_answerbench.load(local(cfg_for("imo_answerbench"), path))
    assert sample.id == "imo-x-1" and sample.reference == "2" and sample.meta["level"] == "IMO-Easy"
    assert sample.messages[0]["content"] == "Find $1+1$.\n\nPlease place your final answer inside \\boxed{}."


def test_imo_answers_the_checker_cannot_decide_need_a_judge():
    cfg = cfg_for("imo_answerbench")
    samples = {s.id: s for s in imo_answerbench.load(cfg)}
    function_problem = next(s for s in samples.values() if "for some constant" in s.reference)
    numeric = next(s for s in samples.values() if s.reference == "29")
    undecided = imo_answerbench.score(function_problem, "\\boxed{f(x) = x + 5}", cfg)
    assert undecided.value == 0.0 and "prose" in undecided.needs_judge
    wrong = imo_answerbench.score(numeric, "\\boxed{30}", cfg)
    assert wrong.value == 0.0 and wrong.needs_judge is None  # a number the checker settles
    assert imo_answerbench.score(numeric, "\\boxed{29}", cfg).value == 1.0
    scores = [Score(function_problem.id, 0, 0.0, "f(x)=x+5", False, False, undecided.detail, variants=undecided.variants),
              Score(numeric.id, 0, 1.0, "29", False, False, {})]
    out = figures_by_name(imo_answerbench.TASK, samples, scores, cfg)
    assert out["if_judged_right"] == 100.0 and out["level=IMO-Easy"] == 100.0


def test_imo_hub_is_not_where_it_lives(cli):
    assert_one_line_error(cli("task=imo_answerbench", "dry_run=true"), "data.path=answerbench.csv")


# ---------------------------------------------------------------- the baseline models

@pytest.mark.parametrize("name, column", [("qwen3.5-35b-a3b", "Qwen3.5-35B-A3B"),
                                          ("nemotron-3-nano-30b-a3b", "Nemotron-3-Nano-30B-A3B"),
                                          ("nemotron-3-super-120b-a12b", "Nemotron-3-Super-120B-A12B")])
def test_baseline_models_compose_with_the_card_suite(name, column):
    cfg = compose([f"model={name}", "suite=card"])
    assert cfg.model.card_model == column and any(r.model == column for r in card_rows())
    assert cfg.model.thinking_kwarg == "enable_thinking" and cfg.model.reasoning is True
    tasks = task_configs(cfg, [f"model={name}", "suite=card"])
    assert all(t.model.name == name for t in tasks)
    by_task = {t.task.name: t for t in tasks}
    assert by_task["aime25"].sampling.top_p == 1.0  # the card's protocol, not the model's recommendation


def test_the_120b_model_is_tensor_parallel():
    assert compose(["model=nemotron-3-super-120b-a12b"]).model.vllm.tensor_parallel_size >= 2


# ---------------------------------------------------------------- end to end on the embedded model

def test_new_rows_end_to_end_on_the_embedded_model(cli, tmp_path, embedded_model_dir):
    """All five tasks over their sample sets in one suite run (one model load), each row then in the
    report beside the card's number with its breakdown and OPEN variants."""
    run_dir = tmp_path / "run"
    # IMO AnswerBench's default judge is a hosted API, not reachable here: the checker alone
    proc = cli("suite=smoke", "suite.tasks=[mmlu_pro,mmlu_redux,mmlu_prox,longbench_v2,imo_answerbench]",
               "+suite.per_task.imo_answerbench=['~judge']", "limit=2", "samples=1", "sampling.max_tokens=8", "model.max_model_len=1024", f"run_dir={run_dir}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    report_md = (run_dir / "report.md").read_text()
    card = {"MMLU-Pro": "79.8", "MMLU-Redux": "86.3", "MMLU-ProX": "72.5", "LongBench v2": "40.3", "IMO AnswerBench": "79.3"}
    for task, bench in [("mmlu_pro", "MMLU-Pro"), ("mmlu_redux", "MMLU-Redux"), ("mmlu_prox", "MMLU-ProX"),
                        ("longbench_v2", "LongBench v2"), ("imo_answerbench", "IMO AnswerBench")]:
        summary = json.loads((run_dir / task / "summary.json").read_text())
        assert summary["n_items"] == 2 and summary["card_model"] == "Nemotron-Cascade-2-30B-A3B"
        row = next(ln for ln in report_md.splitlines() if f"| {bench} | {task} |" in ln)
        assert f"| {card[bench]} |" in row and "2 x 1" in row
        assert f"## Breakdown: {task}" in report_md
    variants = {t: json.loads((run_dir / t / "summary.json").read_text())["variants"] for t in
                ("mmlu_redux", "longbench_v2", "imo_answerbench")}
    assert "nvidia_bug" in variants["mmlu_redux"] and "official_extraction" in variants["longbench_v2"]
    assert "lenient_letters" in variants["mmlu_redux"] and "nemo_skills_letters" in variants["longbench_v2"]
    assert "if_judged_right" in variants["imo_answerbench"]
    assert "NVIDIA's 6 languages" in report_md  # MMLU-ProX's default subset is flagged


def test_the_report_lists_answers_that_need_a_judge(tmp_path):
    from evalsuite import report
    from evalsuite.results import TaskResult

    scores = {("p1", 0): Score("p1", 0, 0.0, "f(x)=x+5", False, False,
                               needs_judge="the reference is prose (for some constant)"),
              ("p2", 0): Score("p2", 0, 1.0, "29", False, False)}
    task = TaskResult("imo_answerbench", tmp_path, {"task": "imo_answerbench"}, None, scores=scores)
    table = report.needs_judge_table([task])
    assert table.rows == [["imo_answerbench", "p1#0", "f(x)=x+5", "the reference is prose (for some constant)"]]
    assert report.needs_judge_table([TaskResult("aime25", tmp_path, {}, None)]) is None
