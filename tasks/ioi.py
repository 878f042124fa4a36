"""IOI 2025: C++ submissions linked with each problem's grader, judged on every test by
evalsuite.sandbox.contest_judge, scored by IOI's rules (docs/protocol.md, "IOI 2025").

Data in the open IOI datasets' schema (the open-r1 IOI collection): one row per (problem,
subtask) with the subtask's points, its `test_names`, the problem's limits, `grader_files`
([path, text] pairs: graders/grader.cpp, graders/<id>.h, checker/checker.cpp) and the prompt
(`problem`); the tests as rows (problem_id, test_name, test_input, test_output) in a file beside
the split (`task.dataset.files`, fetched and checksummed by `evalsuite prepare`).

Scoring: a submission is run on every test of its problem once; a subtask earns its points times
the lowest score among its tests (CMS's GroupMin: all or nothing, or the checker's fraction); a
problem's points are, per subtask, the best over its submissions (NeMo-Skills' ioi metric); the
headline is the sum over the problems, in points.
"""
from __future__ import annotations

import posixpath
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from evalsuite.contest_tasks import (JUDGE_SETTINGS, judge_deviations, judge_detail, judge_environment, judge_missing,
                                     score_answers)
from evalsuite.data import dataset_file, load_rows, read_table
from evalsuite.errors import UserError
from evalsuite.sandbox.contest_judge import ContestJudge, JudgeResult, JudgeTest, Problem
from evalsuite.task import Setting, TaskSpec, preflight_problems
from evalsuite.types import Breakdown, Grade, Headline, Sample, Score

IOI_FLAGS = ("-DEVAL", "-std=gnu++20", "-O2", "-pipe")  # IOI 2025's compile line, less -static -s (linking only)
FORMAT_PROMPT = ("\n\nPut your final solution in a single code block:\n```cpp\n<your code here>\n```\n"
                 "It is compiled with the grader and must not read from stdin, write to stdout or define `main`.")
PROBLEM_COLUMNS = ("id", "name", "subtask", "score", "test_names", "time_limit", "memory_limit", "grader_files", "problem")


@dataclass
class Subtask:
    name: str
    points: float
    tests: list[str]


def _memory_mb(value: Any, where: str) -> int:
    """The datasets give bytes (open-r1: 1073741824); a small number is MiB already."""
    try:
        n = float(value)
    except (TypeError, ValueError):
        raise UserError(f"{where}: memory_limit {value!r} is not a number of bytes") from None
    return max(1, int(n / (1 << 20))) if n > 1 << 16 else max(1, int(n))


def _grader_files(raw: Any, where: str) -> tuple[dict[str, str], str | None, dict[str, str]]:
    """(grader sources by flat name, the checker's source, the headers the checker includes)."""
    pairs = list(raw.items()) if isinstance(raw, dict) else [tuple(p) for p in (raw or [])]
    graders, checker, checker_headers = {}, None, {}
    for pair in pairs:
        if len(pair) != 2:
            raise UserError(f"{where}: grader_files holds {pair!r}; expected [path, text] pairs")
        path, text = str(pair[0]), str(pair[1])
        folder, name = posixpath.split(path)
        if folder.endswith("checker"):
            if name.endswith((".cpp", ".cc")):
                checker = text
            elif name.endswith((".h", ".hpp")):
                checker_headers[name] = text
        elif folder.endswith("graders") and name.endswith((".cpp", ".cc", ".h", ".hpp")):
            graders[name] = text
    if not any(n.endswith((".cpp", ".cc")) for n in graders):
        raise UserError(f"{where}: no grader source (graders/grader.cpp) in grader_files; only batch problems "
                        "with a grader are judged here")
    return graders, checker, checker_headers


# ------------------------------------------------------------------------------------- loading

def load(cfg) -> list[Sample]:
    year = cfg.task.get("year")
    by_problem: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for n, row in enumerate(load_rows(cfg), 1):
        missing = [c for c in PROBLEM_COLUMNS if c not in row]
        if missing:
            raise UserError(f"{cfg.task.name} row {n}: missing columns {missing}; expected the open IOI schema "
                            f"({', '.join(PROBLEM_COLUMNS)})")
        if year is not None and "year" in row and int(row["year"]) != int(year):
            continue
        by_problem[str(row["id"])].append(row)
    if not by_problem:
        raise UserError(f"{cfg.task.name}: no problems of year {year} in the data; pass data.path=FILE with the "
                        "problems in the open IOI schema")
    per = str(cfg.task.get("prompt_per") or "problem")
    samples = []
    for pid, rows in by_problem.items():
        where = f"problem {pid}"
        first = rows[0]
        task_type = str(first.get("task_type") or "Batch")
        if task_type.lower() != "batch":
            raise UserError(f"{where}: task type {task_type!r} is not judged here (Batch with a grader)")
        graders, checker, checker_headers = _grader_files(first["grader_files"], where)
        subtasks = [Subtask(str(r["subtask"]), float(r["score"]), [str(t) for t in r["test_names"]]) for r in rows]
        reference = {"problem": pid, "time_limit_s": float(first["time_limit"]),
                     "memory_mb": _memory_mb(first["memory_limit"], where),
                     "precision": int(first.get("score_precision") or 2),
                     "subtasks": [vars(s) for s in subtasks], "graders": graders, "checker": checker,
                     "checker_headers": checker_headers}
        meta = {"problem": pid, "name": str(first["name"]), "day": str(first.get("day") or "")}
        # NeMo-Skills' ioi24 preparation asks once per scored subtask row; prompt_per=problem asks once per problem
        prompt_rows = [first] if per == "problem" else [r for r in rows if float(r["score"]) > 0]
        for r in prompt_rows:
            sid = pid if per == "problem" else f"{pid}/{r['subtask']}"
            samples.append(Sample(sid, [{"role": "user", "content": str(r["problem"]).rstrip() + FORMAT_PROMPT}],
                                  reference, dict(meta, target_subtask=None if per == "problem" else str(r["subtask"]))))
    return samples


_tests_cache: dict[str, dict[str, dict[str, JudgeTest]]] = {}


def _tests_file(cfg) -> Path:
    if cfg.task.get("tests_path"):
        path = Path(str(cfg.task.tests_path)).expanduser()
        if not path.is_file():
            raise UserError(f"task.tests_path={path} is not a file; point it at the test cases (problem_id, test_name, "
                            "test_input, test_output)")
        return path
    return dataset_file(cfg, str(cfg.task.dataset.tests_file))


def test_cases(cfg) -> dict[str, dict[str, JudgeTest]]:
    """{problem_id: {test_name: test}}, read once per process."""
    path = _tests_file(cfg)
    key = str(path.resolve())
    if key not in _tests_cache:
        tests: dict[str, dict[str, JudgeTest]] = defaultdict(dict)
        for n, row in enumerate(read_table(path), 1):
            missing = [c for c in ("problem_id", "test_name", "test_input", "test_output") if c not in row]
            if missing:
                raise UserError(f"{path} row {n}: missing columns {missing}; expected the open IOI test-case schema")
            tests[str(row["problem_id"])][str(row["test_name"])] = JudgeTest(str(row["test_input"]), str(row["test_output"]))
        _tests_cache[key] = dict(tests)
    return _tests_cache[key]


def test_order(reference: dict[str, Any]) -> list[str]:
    """Every test of every subtask, each once, in the order the judge runs them."""
    names: list[str] = []
    for sub in reference["subtasks"]:
        names += [t for t in sub["tests"] if t not in names]
    return names


def judge_problem(reference: dict[str, Any], tests: dict[str, JudgeTest]) -> tuple[Problem, list[str]]:
    """The judge's problem (every test of every subtask, each once) and the test names in its order."""
    names = test_order(reference)
    absent = [t for t in names if t not in tests]
    if absent:
        raise UserError(f"problem {reference['problem']}: tests {absent[:5]} are not in the test cases; re-fetch them "
                        "(`evalsuite prepare`) or check task.tests_path")
    checker = reference.get("checker")
    return Problem(reference["problem"], [tests[t] for t in names], reference["time_limit_s"], reference["memory_mb"],
                   checker="testlib" if checker else "tokens", checker_source=checker, checker_protocol="cms",
                   helper_headers=dict(reference.get("checker_headers") or {}), grader_files=dict(reference["graders"]),
                   contestant_file=f"{reference['problem']}.cpp", partial=True), names


def subtask_points(reference: dict[str, Any], names: list[str], result: JudgeResult) -> dict[str, float]:
    """IOI's rule: a subtask's points times the lowest score among its tests (a test not run: 0)."""
    by_name = {names[t.index]: t.score for t in result.tests} if result.verdict != "compile_error" else {}
    out = {}
    for sub in reference["subtasks"]:
        fraction = min((by_name.get(t, 0.0) for t in sub["tests"]), default=0.0)
        out[sub["name"]] = round(sub["points"] * fraction, int(reference.get("precision", 2)))
    return out


def max_points(reference: dict[str, Any]) -> float:
    return sum(s["points"] for s in reference["subtasks"])


def _problem(sample: Sample, cfg) -> Problem:
    return judge_problem(sample.reference, test_cases(cfg).get(sample.reference["problem"], {}))[0]


def _grade(sample: Sample, result: JudgeResult, code: str) -> Grade:
    ref = sample.reference
    points = subtask_points(ref, test_order(ref), result)
    detail = judge_detail(result, subtask_points=points, points=round(sum(points.values()), 2), max_points=max_points(ref))
    return Grade(sum(points.values()) / max(1e-9, max_points(ref)), code, detail)


def score_batch(pairs: list[tuple[Sample, str]], cfg, judge: ContestJudge | None = None) -> Iterator[Grade]:
    """Grades in order, each problem's tests read once per chunk (evalsuite.contest_tasks.score_answers,
    the samples of one problem sharing them); never raises on a model's output."""
    return score_answers(pairs, cfg, _problem, _grade, problem_id=lambda s: s.reference["problem"],
                         no_code={"verdict": "no_code", "subtask_points": {}, "points": 0.0}, judge=judge)


def score(sample: Sample, answer: str, cfg) -> Grade:
    return next(iter(score_batch([(sample, answer)], cfg)))


# ------------------------------------------------------------------------------------- the headline

def best_per_subtask(subtasks: list[dict[str, Any]], submissions: list[dict[str, float]]) -> dict[str, float]:
    return {s["name"]: max((sub.get(s["name"], 0.0) for sub in submissions), default=0.0) for s in subtasks}


def round_robin(subtasks: list[dict[str, Any]], submissions: list[dict[str, float]], limit: int) -> dict[str, float]:
    """NeMo-Skills' round-robin figure: the `limit` submissions with the most points (in their
    order on ties), then the best per subtask among them."""
    ranked = sorted(submissions, key=lambda s: -sum(s.values()))[:limit]
    return best_per_subtask(subtasks, ranked)


def headline(samples: dict[str, Sample], scores: list[Score], cfg) -> Headline | None:
    """Total points over the problems: per problem, per subtask, the best over its submissions.
    Cells: each problem's and each subtask's points; variants: the round-robin selection."""
    refs = {sample.reference["problem"]: sample.reference for sample in samples.values()}  # a problem never answered: 0
    subs: dict[str, list[dict[str, float]]] = defaultdict(list)
    for s in sorted(scores, key=lambda s: (s.sample_id, s.k)):
        if s.sample_id in samples:
            subs[samples[s.sample_id].reference["problem"]].append(dict(s.detail.get("subtask_points") or {}))
    if not refs:
        return None
    limit = int(cfg.task.get("round_robin_limit") or 50)
    total = rr_total = 0.0
    cells = []
    for pid in sorted(refs):
        best = best_per_subtask(refs[pid]["subtasks"], subs[pid])
        total += sum(best.values())
        rr_total += sum(round_robin(refs[pid]["subtasks"], subs[pid], limit).values())
        cells.append(Breakdown({"problem": pid}, round(sum(best.values()), 2), len(subs[pid])))
        # one coordinate ("problem/subtask"): the report's breakdown tables list one-coordinate cells
        cells += [Breakdown({"subtask": f"{pid}/{name}"}, points, len(subs[pid])) for name, points in best.items()]
    nan = float("nan")
    return Headline(value=round(total, 2), ci95=[nan, nan], cells=cells,
                    variants={f"round_robin_{limit}": round(rr_total, 2)},
                    metric=f"points of {sum(max_points(r) for r in refs.values()):g}")


def scoring_environment(cfg) -> dict[str, Any]:
    return judge_environment(cfg, time_limits="each problem's own (time_limit) x time_scale",
                             subtask_rule="points x the lowest test score in the subtask (GroupMin)",
                             problem_rule="per subtask, the best over the problem's submissions")


def deviations(samples: list[Sample], cfg) -> list[str]:
    return judge_deviations(cfg, IOI_FLAGS)


def preflight(cfg) -> list[str]:
    """Before any GPU time: the problems load, the test cases are here (the file named when
    missing), and g++ runs. (The prompts are a few thousand tokens: not measured here.)"""
    return preflight_problems(cfg, [lambda: load(cfg), lambda: _tests_file(cfg)]) + judge_missing(cfg)


TASK = TaskSpec(
    load=load, score=score, score_batch=score_batch, scoring_environment=scoring_environment,
    deviations=deviations, headline=headline, preflight=preflight,
    settings={
        "year": Setting(int, nullable=True, doc="keep the rows of this year (the datasets hold several); null: all"),
        "prompt_per": Setting(str, choices=("problem", "subtask"),
                              doc="one prompt per problem, or one per scored subtask row (NeMo-Skills' ioi24 layout)"),
        "round_robin_limit": Setting(int, minimum=1, doc="submissions the round-robin variant keeps per problem"),
        "tests_path": Setting(str, nullable=True, doc="a local file of the test cases; null: the dataset's tests_file"),
        **JUDGE_SETTINGS,
    })
