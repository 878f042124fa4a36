"""SciCode: the project's own sample problem (two chained steps, a tiny test_data.h5 in the real
layout), tests split so that the sandbox computes the model's values and the asserts run outside
it, the official comparison semantics, and runs through the real CLI: right, wrong, partly right,
hostile answers, and a real generation (the embedded SmolLM2) whose step 2 prompt holds step 1's
answer."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import scipy.sparse
import sympy
from omegaconf import OmegaConf

from evalsuite.config import compose
from evalsuite.sandbox.programs import make_job, run_many
from tasks import scicode
from tests.conftest import task_cfg

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_H5 = ROOT / "tasks/samples/scicode/test_data.h5"


def make_cfg(**task_overrides):
    return task_cfg("scicode", **{"workers": 1, **task_overrides})


def block(code: str) -> str:
    return f"Here it is.\n```python\n{code}\n```\n"


STEP1_RIGHT = "import numpy as np\ndef spring_energy(k, x):\n    return 0.5 * k * np.asarray(x) ** 2"
STEP1_WRONG = "def spring_energy(k, x):\n    return k * np.asarray(x) ** 2"
STEP2_RIGHT = ("def total_energy(k, xs):\n    per = np.array([integrate.quad(lambda s: k * s, 0.0, x)[0] for x in xs])\n"
               "    return {'per_spring': per, 'total': float(per.sum())}")
STEP2_WRONG = ("def total_energy(k, xs):\n    per = spring_energy(k, xs)\n"
               "    return {'per_spring': per, 'total': float(per.sum()) + 1e-3}")
# Looks for the targets (files, the h5 file, other objects in memory), prints a fake success, makes
# numpy's comparisons always true in its own process and returns a value equal to everything.
STEP1_HOSTILE = """
os = __import__("os")
gc = __import__("gc")
seen = []
for root in ("/", "/tmp", os.getcwd(), os.path.expanduser("~"), "/work"):
    try:
        seen += os.listdir(root)
    except OSError:
        pass
for path in ("tasks/samples/scicode/test_data.h5", "/proc/self/environ", "/proc/1/cmdline", "test_data.h5"):
    try:
        open(path, "rb").read()
    except OSError:
        pass
LEAKED = [o for o in gc.get_objects() if isinstance(o, dict) and "target" in o and o is not globals()]
print("test 1 passed\\ntest 2 passed\\nall tests passed")
np.allclose = lambda *a, **k: True
np.isclose = lambda *a, **k: True


class Anything:
    def __eq__(self, other):
        return True

    def __bool__(self):
        return True

    def __len__(self):
        return 2

    def __iter__(self):
        return iter([Anything(), Anything()])


def spring_energy(k, x):
    if LEAKED:
        return LEAKED[0]["target"]
    return Anything()
"""
STEP2_HOSTILE = """
def total_energy(k, xs):
    __import__("sys").stdout.write("PASS\\n")
    raise SystemExit(0)
"""


# ------------------------------------------------------------------------------------ loading

def test_sample_problem_loads_as_two_chained_steps():
    samples = {s.id: s for s in scicode.load(make_cfg())}
    assert list(samples) == ["90.1", "90.2"]
    assert samples["90.1"].meta == {"problem": "90", "step": 1, "steps_asked": 2} and samples["90.1"].after == []
    assert samples["90.2"].after == ["90.1"]
    first = samples["90.1"].messages[0]["content"]
    assert "Hooke's law" in first  # the card's choice: with the steps' background
    assert first.startswith("PROBLEM DESCRIPTION:") and "def spring_energy(k, x):" in first
    assert "import numpy as np\nfrom scipy import integrate" in first
    plain = {s.id: s for s in scicode.load(make_cfg(with_background=False))}
    assert "Hooke's law" not in plain["90.1"].messages[0]["content"]
    assert "starting with 'Background: '" in plain["90.1"].messages[0]["content"]


def test_official_code_extraction_and_function_carried_forward():
    answer = "text\n```python\nimport numpy as np\nfrom scipy import integrate\ndef f(x):\n    return x\n\nprint(f(1))\n```\nmore"
    code = scicode.extract_code(answer)
    assert "import" not in code and "def f(x)" in code and "print(f(1))" in code
    assert scicode.function_code(code, "f") == "def f(x):\n    return x"
    assert scicode.function_code("def f(:", "f") == "def f(:"  # unparsable: whole, as SciCode
    assert scicode.extract_code("no fence at all") == "no fence at all"
    # an unclosed fence (a truncated answer): everything after it, as SciCode's split does
    assert scicode.extract_code("```python\ndef g():\n    return 1") == "\ndef g():\n    return 1"


# ------------------------------------------------------------------------------ test splitting

def test_a_test_is_split_so_the_target_never_enters_the_sandbox():
    modules = {"np", "integrate"}
    inside, checks = scicode.split_test(
        "from scicode.compare.cmp import cmp_tuple_or_list\nx = np.arange(3)\n"
        "assert cmp_tuple_or_list((f(x), g(x)), target)\n"
        "for i in range(2):\n    assert np.allclose(f(x)[i], target[i], rtol=1e-7)", modules)
    assert "target" not in inside and "scicode" not in inside and "cmp_tuple_or_list" not in inside
    assert inside.count("_evalsuite_capture(") == 2 and "x = np.arange(3)" in inside
    assert checks == ["cmp_tuple_or_list(_evalsuite_hole_0, target)",
                      "np.allclose(_evalsuite_hole_0, target[_evalsuite_hole_1], rtol=1e-07)"]
    # a comprehension over the target stays here; what it applies to the model's values is a hole
    inside, checks = scicode.split_test("assert all(abs(a - b) < tol for a, b in zip(f(x), target))", modules)
    assert inside == "_evalsuite_capture(0, (tol, f(x)))"
    assert checks == ["all((abs(a - b) < _evalsuite_hole_0 for a, b in zip(_evalsuite_hole_1, target)))"]
    with pytest.raises(scicode.Unsplittable):
        scicode.split_test("assert all(g(t) for t in target)", modules)  # the model's function on the target's parts
    with pytest.raises(scicode.Unsplittable):
        scicode.split_test("y = target + 1\nassert f(1) == y", modules)  # the target outside an assert
    with pytest.raises(scicode.Unsplittable):
        scicode.split_test("assert f(target)", modules)  # the model's function applied to the target


def test_values_cross_the_sandbox_faithfully():
    values = ("np.array([[1.5, -2.0], [np.nan, np.inf]])", "np.array([1+2j, 3j])", "(1, (2.5, 'a'), [True])",
              "{0.5: np.float64(2.0), 'k': 'text', (1, 2): None}", "scipy.sparse.csr_matrix(np.eye(2))",
              "sympy.Symbol('x')", "np.int64(7)", "2-1j", "np.array(['ab', 'c'])", "lambda: 1",
              "np.array([{'a': 1}, None], dtype=object)")
    code = ("import numpy as np\nimport scipy.sparse\nimport sympy\n" + scicode.ENCODER
            + f"\n_evalsuite_tests = {[f'_evalsuite_capture(0, ({v},))' for v in values]!r}\n")
    job = make_job(code, [(str(i), "") for i in range(len(values))], mode="call", func_name="_evalsuite_run",
                   collect=True, prelude=False, timeout_s=60)
    result = run_many([job], workers=1)[0]
    assert result.passed, result.message
    got = [scicode.decode(t.value[0][1][0]) for t in result.tests]
    np.testing.assert_array_equal(got[0], np.array([[1.5, -2.0], [np.nan, np.inf]]))
    assert got[1].dtype == np.complex128 and got[1].tolist() == [1 + 2j, 3j]
    assert got[2] == (1, (2.5, "a"), [True])
    assert got[3] == {0.5: 2.0, "k": "text", (1, 2): None}
    assert isinstance(got[4], scipy.sparse.csr_matrix) and (got[4].toarray() == np.eye(2)).all()
    assert got[5] == sympy.Symbol("x") and got[6] == 7 and got[7] == 2 - 1j
    assert got[8].tolist() == ["ab", "c"]
    assert isinstance(got[9], scicode.Opaque) and got[9] != got[9]  # a function has no form here: equal to nothing
    assert got[10].dtype == object and got[10][0] == {"a": 1}
    with pytest.raises(ValueError):
        scicode.decode({"$": "ndarray", "dtype": "<f8", "shape": [3], "data": [1.0]})
    with pytest.raises(ValueError):
        scicode.decode({"$": "ndarray", "dtype": "V8", "shape": [1], "data": [1]})


# ------------------------------------------------------------------- targets and comparisons

def test_targets_read_in_the_official_layout(tmp_path):
    targets = scicode.read_targets(SAMPLE_H5, "90.1", 2)
    assert targets[0].tolist() == [0.0, 1.0, 4.0] and isinstance(targets[1], tuple) and len(targets[1]) == 2
    per = scicode.read_targets(SAMPLE_H5, "90.2", 1)[0]
    assert set(per) == {"per_spring", "total"} and float(per["total"]) == 5.0
    path = tmp_path / "t.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("1.1/test1/var1/list/var1", data=1.0)
        f.create_dataset("1.1/test1/var1/list/var2", data=np.arange(2))
        sparse = f.create_group("1.1/test2/var1/sparse_matrix")
        m = scipy.sparse.coo_matrix(np.eye(2))
        for name, data in (("data", m.data), ("shape", m.shape), ("row", m.row), ("col", m.col)):
            sparse.create_dataset(name, data=data)
        f.create_dataset("1.1/test3/var1/0.5", data=2.0)
        f.create_dataset("1.1/test3/var1/name", data=b"x")
    first, second, third = scicode.read_targets(path, "1.1", 3)
    assert first[0] == 1.0 and first[1].tolist() == [0, 1]
    assert isinstance(second, scipy.sparse.coo_matrix) and (second.toarray() == np.eye(2)).all()
    assert third == {0.5: 2.0, "name": "x"}
    with pytest.raises(KeyError):
        scicode.read_targets(path, "1.1", 4)


def test_comparison_helpers_keep_the_official_tolerances():
    assert scicode.cmp_tuple_or_list((np.array([1.0]), 2.0), (np.array([1.0 + 1e-6]), 2.0))
    assert not scicode.cmp_tuple_or_list((np.array([1.0]), 2.0), (np.array([1.001]), 2.0))
    assert not scicode.cmp_tuple_or_list([1.0], [1.0, 2.0])
    assert scicode.cmp_tuple_or_list([[1, [2]], True], [[1, [2]], True])  # ragged: allclose raises ValueError, `==` decides
    with pytest.raises(TypeError):  # a string: numpy raises a TypeError, which the official helper does not catch
        scicode.cmp_tuple_or_list(["abc"], ["abc"])
    assert scicode.are_dicts_close({"a": 1.0, "b": "s"}, {"a": 1.0 + 1e-9, "b": "s"})
    assert not scicode.are_dicts_close({"a": 1.0}, {"b": 1.0})
    assert scicode.are_dicts_close({sympy.Symbol("x"): sympy.Symbol("y")}, {"x": "y"})
    assert scicode.are_dicts_close({"m": scipy.sparse.csr_matrix(np.eye(2))}, {"m": scipy.sparse.coo_matrix(np.eye(2))})
    assert scicode.are_csc_matrix_close(scipy.sparse.csc_matrix(np.eye(2)), scipy.sparse.csr_matrix(np.eye(2)))


# ------------------------------------------------------------------------------------ the CLI

def _run(cli, tmp_path, name: str, step1: str, step2: str, *extra: str) -> dict:
    responses = tmp_path / f"{name}.jsonl"
    responses.write_text("".join(json.dumps({"id": sid, "response": block(code)}) + "\n"
                                 for sid, code in (("90.1", step1), ("90.2", step2))))
    proc = cli("task=scicode", "data=sample", "samples=1", "stage=score", f"responses={responses}",
               f"run_dir={tmp_path / name}", "task.workers=1", *extra)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((tmp_path / name / "scicode" / "summary.json").read_text())
    scores = [json.loads(line) for line in (tmp_path / name / "scicode" / "scores.jsonl").read_text().splitlines()]
    return {"summary": summary, "scores": {s["sample_id"]: s for s in scores}, "dir": tmp_path / name}


def test_right_answers_pass_both_steps_beside_the_card(cli, tmp_path):
    run = _run(cli, tmp_path, "right", STEP1_RIGHT, STEP2_RIGHT)
    assert run["summary"]["value"] == 100.0 and run["summary"]["variants"]["main_problem"] == 100.0
    assert all(s["detail"]["verdict"] == "pass" for s in run["scores"].values())
    row = next(line for line in (run["dir"] / "report.md").read_text().splitlines() if "| SciCode |" in line)
    assert "100.0" in row and "36.4" in row and "38.0" in row  # the card, and Qwen3.5-35B-A3B's column
    env = json.loads((run["dir"] / "scicode" / "run.json").read_text())["scoring_environment"]
    assert env["inside"]["scipy"] == scipy.__version__


def test_wrong_answers_fail_both_steps(cli, tmp_path):
    run = _run(cli, tmp_path, "wrong", STEP1_WRONG, STEP2_WRONG)
    assert run["summary"]["value"] == 0.0 and run["summary"]["variants"]["main_problem"] == 0.0
    assert "test 1: assert np.allclose(_evalsuite_hole_0, target) failed" in run["scores"]["90.1"]["detail"]["message"]


def test_step_one_right_and_step_two_wrong_is_half_the_steps_and_no_problem(cli, tmp_path):
    run = _run(cli, tmp_path, "partly", STEP1_RIGHT, STEP2_WRONG)
    assert run["scores"]["90.1"]["value"] == 1.0 and run["scores"]["90.2"]["value"] == 0.0
    assert run["summary"]["value"] == 50.0 and run["summary"]["variants"]["main_problem"] == 0.0
    # step 2 is tested with step 1's code in front of it (STEP2_WRONG calls spring_energy): it ran, and was wrong
    assert run["scores"]["90.2"]["detail"]["verdict"] == "wrong"
    cells = {c["by"]["problem"]: c["value"] for c in run["summary"]["breakdown"] if "problem" in c["by"]}
    assert cells == {"90": 50.0}


def test_step_two_fails_when_the_step_one_it_calls_is_wrong(cli, tmp_path):
    run = _run(cli, tmp_path, "chained_wrong", STEP1_WRONG, STEP2_RIGHT)
    # STEP2_RIGHT integrates by itself, but test 2 also compares with spring_energy of step 1
    assert run["scores"]["90.2"]["value"] == 0.0


def test_a_later_step_is_graded_again_when_the_earlier_step_it_ran_with_changes(cli, tmp_path):
    """Step 2's own text is unchanged, but it is tested with step 1's code in front of it: a score
    graded beside the old step 1 is stale (Score.graded_after), not current."""
    first = _run(cli, tmp_path, "changed", STEP1_WRONG, STEP2_RIGHT)
    assert first["scores"]["90.2"]["value"] == 0.0
    again = _run(cli, tmp_path, "changed", STEP1_RIGHT, STEP2_RIGHT)
    assert again["scores"]["90.1"]["value"] == 1.0 and again["scores"]["90.2"]["value"] == 1.0
    assert again["scores"]["90.2"]["graded_after"] != first["scores"]["90.2"]["graded_after"]
    assert again["summary"]["value"] == 100.0


def test_hostile_answers_earn_nothing(cli, tmp_path):
    run = _run(cli, tmp_path, "hostile", STEP1_HOSTILE, STEP2_HOSTILE)
    assert run["summary"]["value"] == 0.0, run["scores"]
    assert run["scores"]["90.1"]["detail"]["verdict"] == "wrong"
    # exiting before the tests run is no pass: no values came back
    assert run["scores"]["90.2"]["value"] == 0.0


# ------------------------------------------------------------------------- chained generation

def test_generation_is_chained_and_resumes_per_step(cli, tmp_path):
    """A real generation by the embedded SmolLM2: step 2's prompt holds the code step 1's answer
    carries forward; with step 2's generation removed, a rerun makes only step 2, from the same."""
    args = ("task=scicode", "data=sample", "samples=1", "sampling.max_tokens=48", f"run_dir={tmp_path}",
            "stage=generate")
    proc = cli(*args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    task_dir = tmp_path / "scicode"
    gens = {g["sample_id"]: g for g in map(json.loads, (task_dir / "generations.jsonl").read_text().splitlines())}
    assert set(gens) == {"90.1", "90.2"}
    prompts = {p["sample_id"]: p for p in map(json.loads, (task_dir / "chained_prompts.jsonl").read_text().splitlines())}
    carried = scicode.function_code(scicode.extract_code(gens["90.1"]["text"]), "spring_energy")
    step2 = prompts["90.2"]["messages"][0]["content"]
    assert prompts["90.2"]["after"] == ["90.1"] and "[the model's code for step" not in step2
    assert carried.strip() and carried in step2 and carried not in prompts["90.1"]["messages"][0]["content"]

    lines = [line for line in (task_dir / "generations.jsonl").read_text().splitlines()
             if json.loads(line)["sample_id"] == "90.1"]
    (task_dir / "generations.jsonl").write_text("\n".join(lines) + "\n")
    again = cli(*args)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "generate: 1 to make" in again.stderr
    latest = [json.loads(line) for line in (task_dir / "chained_prompts.jsonl").read_text().splitlines()][-1]
    assert latest["sample_id"] == "90.2" and latest["messages"][0]["content"] == step2


# ----------------------------------------------------------------- data, preflight and suite

def test_preflight_names_the_missing_test_data(tmp_path):
    cfg = OmegaConf.merge(make_cfg(test_data_path=str(tmp_path / "absent.h5")), {})
    problems = scicode.preflight(cfg)
    assert problems and "test_data.h5" in problems[0] and "absent.h5" in problems[0]
    assert scicode.preflight(make_cfg()) == []


def test_prepare_fetches_and_checksums_the_test_data(tmp_path):
    hub, files = tmp_path / "hub", tmp_path / "h5repo"  # the two repositories' layouts, as local directories
    hub.mkdir(), files.mkdir()
    shutil.copy(ROOT / "tasks/samples/scicode.jsonl", hub / "test.jsonl")
    shutil.copy(SAMPLE_H5, files / "test_data.h5")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    where = [f"task.dataset.hub_id={hub}", f"task.dataset.files_repo={files}"]
    prep = subprocess.run([sys.executable, "-m", "evalsuite", "prepare", "task=scicode", f"data_dir={tmp_path / 'data'}",
                           *where], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert prep.returncode == 0, prep.stderr[-2000:]
    entry = json.loads((tmp_path / "data" / "manifest.json").read_text())["datasets"]["scicode"]
    h5 = entry["dataset_files"]["test_data.h5"]
    assert entry["files"][h5]["sha256"] in (tmp_path / "data" / "SHA256SUMS").read_text()
    responses = tmp_path / "r.jsonl"
    responses.write_text("".join(json.dumps({"id": sid, "response": block(code)}) + "\n"
                                 for sid, code in (("90.1", STEP1_RIGHT), ("90.2", STEP2_WRONG))))
    run = subprocess.run([sys.executable, "-m", "evalsuite", "task=scicode", "data=hub", f"data_dir={tmp_path / 'data'}",
                          *where, "samples=1", "stage=score", f"responses={responses}", f"run_dir={tmp_path / 'run'}",
                          "task.workers=1"], cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads((tmp_path / "run" / "scicode" / "summary.json").read_text())["value"] == 50.0


def test_the_card_row_the_variant_and_the_suite():
    assert "scicode" in compose(["suite=card_code"]).suite.tasks
    cfg = compose(["task=scicode"])
    assert cfg.task.benchmark == "SciCode" and cfg.task.with_background is True
    variant = compose(["task=scicode_no_background"])
    assert variant.task.with_background is False and variant.task.module == "tasks.scicode"


def test_a_chained_task_refuses_shards_before_loading_the_model(cli, tmp_path):
    proc = cli("task=scicode", "data=sample", "samples=1", "shard=0", "shards=2", f"run_dir={tmp_path}")
    assert proc.returncode != 0
    assert "generated in chained rounds" in proc.stderr and "Traceback" not in proc.stderr
