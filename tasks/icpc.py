"""ICPC World Finals 2025: C++ submissions judged on each problem's official data by
evalsuite.sandbox.contest_judge, in the contest's own package format (Kattis problem packages: the WF
archive's layout); the headline is the number of problems solved (docs/protocol.md, "ICPC World
Finals 2025").

A package: `problem.yaml` (name, `validation: default | custom | custom interactive`,
`validator_flags`, `limits.time_limit` / `limits.memory`), or a `.timelimit` file beside it;
`problem_statement/problem.en.tex` (or .md); `data/sample/*.in|.ans` and `data/secret/**/*.in|.ans`;
`output_validators/<name>/*.cpp` (+ headers) for custom validation, run by the Kattis protocol
(`validator input answer feedback_dir`, exit 42 accepted, 43 wrong).

A problem is solved when one of its submissions passes every test within the limits (NeMo-Skills'
icpc metric: any of k); the first submission alone is a variant.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from evalsuite.contest_tasks import (JUDGE_SETTINGS, judge_deviations, judge_detail, judge_environment, judge_missing,
                                     parse_memory, parse_time, score_answers)
from evalsuite.data import SAMPLES_DIR
from evalsuite.errors import UserError
from evalsuite.sandbox.contest_judge import ContestJudge, JudgeResult, JudgeTest, Problem
from evalsuite.task import Setting, TaskSpec, preflight_problems
from evalsuite.types import Breakdown, Grade, Headline, Sample, Score

FORMAT_PROMPT = ("\n\nWrite a C++ program that solves the problem: it reads standard input and writes standard output "
                 "(in an interactive problem it talks to the judge through them, flushing after every line). Put the "
                 "program in one code block:\n```cpp\n// your code here\n```")
DEFAULT_MEMORY_MB = 2048  # a package that does not say: the contest system's default (OPEN)
ICPC_FLAGS = ("-O2", "-std=gnu++20")  # OPEN: the WF 2025 judges' exact line was not found


def _archive_dir(cfg) -> Path:
    if cfg.data.get("source") == "sample" and not cfg.task.get("archive_dir"):
        return SAMPLES_DIR / str(cfg.task.dataset.sample_files)
    if not cfg.task.get("archive_dir"):
        raise UserError(f"{cfg.task.name}: the problem packages are not on the hub; unpack the contest's published "
                        "archive and pass task.archive_dir=DIR (one folder per problem), or use data=sample")
    root = Path(str(cfg.task.archive_dir)).expanduser()
    if not root.is_dir():
        raise UserError(f"task.archive_dir={root} is not a directory; unpack the problem packages there")
    return root


def _statement(folder: Path, where: str) -> str:
    for name in ("problem.en.md", "problem.en.tex", "problem.md", "problem.tex"):
        path = folder / "problem_statement" / name
        if path.is_file():
            return path.read_text(encoding="utf-8", errors="replace").strip()
    raise UserError(f"{where}: no problem_statement/problem.en.tex (or .md)")


def _limits(folder: Path, config: dict[str, Any], where: str) -> tuple[float, int]:
    limits = config.get("limits") or {}
    if not isinstance(limits, dict):
        raise UserError(f"{where}: problem.yaml's limits must be a mapping")
    if (folder / ".timelimit").is_file():
        time_s = parse_time((folder / ".timelimit").read_text().strip(), where)
    elif "time_limit" in limits:
        time_s = parse_time(limits["time_limit"], where)
    else:
        raise UserError(f"{where}: no time limit (.timelimit or problem.yaml limits.time_limit)")
    memory = parse_memory(f"{limits['memory']}m", where) if "memory" in limits else DEFAULT_MEMORY_MB
    return time_s, memory


def _tests(folder: Path, where: str) -> list[JudgeTest]:
    tests = []
    for group in ("sample", "secret"):
        for inp in sorted((folder / "data" / group).rglob("*.in")):
            ans = inp.with_suffix(".ans")
            if not ans.is_file():
                raise UserError(f"{where}: {inp.relative_to(folder)} has no .ans beside it")
            tests.append(JudgeTest(inp.read_text(encoding="utf-8", errors="replace"),
                                   ans.read_text(encoding="utf-8", errors="replace")))
    if not tests:
        raise UserError(f"{where}: no tests under data/sample or data/secret")
    return tests


def _validator(folder: Path, where: str) -> tuple[str, dict[str, str]]:
    root = folder / "output_validators"
    sources = sorted(p for p in root.rglob("*") if p.suffix in (".cpp", ".cc")) if root.is_dir() else []
    if len(sources) != 1:
        raise UserError(f"{where}: custom validation needs one C++ output validator under output_validators/ "
                        f"(found {len(sources)})")
    headers = {p.name: p.read_text(encoding="utf-8", errors="replace") for p in sources[0].parent.iterdir()
               if p.suffix in (".h", ".hpp")}
    return sources[0].read_text(encoding="utf-8", errors="replace"), headers


def load_package(folder: Path) -> tuple[Problem, dict[str, Any]]:
    """A Kattis problem package as the judge's problem, and what the prompt needs."""
    import yaml

    where = f"problem package {folder.name}"
    try:
        config = yaml.safe_load((folder / "problem.yaml").read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise UserError(f"{where}: no problem.yaml") from None
    except yaml.YAMLError as e:
        raise UserError(f"{where}: problem.yaml is not YAML ({str(e).splitlines()[0][:100]})") from None
    if not isinstance(config, dict):
        raise UserError(f"{where}: problem.yaml must be a mapping")
    time_s, memory = _limits(folder, config, where)
    validation = str(config.get("validation", "default")).split()
    flags = str(config.get("validator_flags") or "").split()
    problem = Problem(folder.name, _tests(folder, where), time_s, memory)
    if validation[0] == "custom":
        source, headers = _validator(folder, where)
        problem.checker_protocol, problem.helper_headers = "kattis", headers
        if "interactive" in validation:
            problem.interactor_source = source
        else:
            problem.checker, problem.checker_source = "testlib", source
    elif validation[0] == "default":
        tol = next((flags[i + 1] for i, f in enumerate(flags[:-1]) if f.startswith("float_")), None)
        if tol is not None:
            problem.checker, problem.float_tolerance = "float", float(tol)
    else:
        raise UserError(f"{where}: validation {config.get('validation')!r} is not judged here (default, custom, "
                        "custom interactive)")
    return problem, {"name": str(config.get("name") or folder.name), "statement": _statement(folder, where),
                     "interactive": "interactive" in validation}


def load(cfg) -> list[Sample]:
    root = _archive_dir(cfg)
    folders = sorted(p for p in root.iterdir() if p.is_dir() and (p / "problem.yaml").is_file())
    if not folders:
        raise UserError(f"{root}: no problem packages (folders with a problem.yaml)")
    samples = []
    for folder in folders:
        _, info = load_package(folder)
        samples.append(Sample(folder.name, [{"role": "user", "content": info["statement"] + FORMAT_PROMPT}],
                              {"package": str(folder)}, {"problem": folder.name, "name": info["name"],
                                                         "interactive": info["interactive"]}))
    return samples


def _problem(sample: Sample, cfg) -> Problem:
    return load_package(Path(sample.reference["package"]))[0]


def _grade(sample: Sample, result: JudgeResult, code: str) -> Grade:
    detail = judge_detail(result, max_cpu_s=max((t.cpu_s for t in result.tests), default=0.0))
    return Grade(1.0 if result.passed else 0.0, code, detail)


def score_batch(pairs: list[tuple[Sample, str]], cfg, judge: ContestJudge | None = None) -> Iterator[Grade]:
    """1.0 when the submission passes every test (evalsuite.contest_tasks.score_answers); never
    raises on a model's output."""
    return score_answers(pairs, cfg, _problem, _grade, judge=judge)


def score(sample: Sample, answer: str, cfg) -> Grade:
    return next(iter(score_batch([(sample, answer)], cfg)))


def headline(samples: dict[str, Sample], scores: list[Score], cfg) -> Headline | None:
    """Problems solved: any of a problem's submissions passes every test. Variant: the first
    submission (k = 0) alone. Cells: each problem's share of passing submissions (%)."""
    by_problem: dict[str, list[Score]] = {sid: [] for sid in samples}  # a problem never answered: unsolved
    for s in scores:
        if s.sample_id in samples:
            by_problem[s.sample_id].append(s)
    if not by_problem:
        return None
    solved = sum(any(s.value >= 1.0 for s in subs) for subs in by_problem.values())
    first = sum(any(s.value >= 1.0 and s.k == 0 for s in subs) for subs in by_problem.values())
    cells = [Breakdown({"problem": pid}, 100.0 * sum(s.value >= 1.0 for s in subs) / max(1, len(subs)), len(subs))
             for pid, subs in sorted(by_problem.items())]
    nan = float("nan")
    return Headline(value=float(solved), ci95=[nan, nan], cells=cells,
                    variants={"first_submission": float(first)}, metric=f"problems solved of {len(by_problem)}")


def scoring_environment(cfg) -> dict[str, Any]:
    return judge_environment(cfg, time_limits="each package's own (.timelimit or limits.time_limit) x time_scale",
                             validators="Kattis protocol (exit 42 / 43)", solved="any submission passes every test")


def deviations(samples: list[Sample], cfg) -> list[str]:
    return judge_deviations(cfg, ICPC_FLAGS)


def preflight(cfg) -> list[str]:
    """Before any GPU time: every package loads (limits, tests, validators) and g++ runs."""
    return preflight_problems(cfg, [lambda: [load_package(Path(s.reference["package"])) for s in load(cfg)]]) \
        + judge_missing(cfg)


TASK = TaskSpec(
    load=load, score=score, score_batch=score_batch, scoring_environment=scoring_environment,
    deviations=deviations, headline=headline, preflight=preflight,
    settings={
        "archive_dir": Setting(str, nullable=True, doc="the unpacked contest archive: one Kattis problem package per folder"),
        **JUDGE_SETTINGS,  # testlib_h among them: Kattis validators do not use it
    })
