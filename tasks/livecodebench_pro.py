"""LiveCodeBench Pro 25Q2 (Codeforces-style problems, April-June 2025): C++ programs judged as a
contest judges them, by evalsuite.sandbox.contest_judge (docs/sandbox.md, "The contest judge").

Problems: QAQAQAQAQ/LiveCodeBench-Pro, split quater_2025_4_6 (167 problems; NeMo-Skills'
livecodebench-pro module, EVAL_SPLIT test_25q2). Tests: QAQAQAQAQ/LiveCodeBench-Pro-Testcase, one
archive per problem (`<problem_id>.zip`: config.yaml with the limits, the type and the checker or
interactor; testdata/N.in and N.ans). Both are gated; docs/protocol.md records what is and is not
verified. The card reports Easy and Medium as separate rows: the headline is Easy, Medium (and
Hard, not on the card) are further card rows of the same run.
"""
from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any, Iterator

from evalsuite import metrics
from evalsuite.contest_tasks import (JUDGE_SETTINGS, judge_deviations, judge_detail, judge_environment, judge_settings,
                                     parse_memory, parse_time, score_answers)
from evalsuite.data import SAMPLES_DIR, load_rows
from evalsuite.errors import UserError
from evalsuite.sandbox.contest_judge import DEFAULT_FLAGS, ContestJudge, JudgeResult, JudgeTest, Problem
from evalsuite.task import Setting, TaskSpec
from evalsuite.types import Breakdown, CardRowCell, Grade, Headline, Sample, Score

DIFFICULTIES = ("easy", "medium", "hard")
CARD_ROWS = {"easy": "LiveCodeBenchPro 25Q2 (Easy)", "medium": "LiveCodeBenchPro 25Q2 (Med)",
             "hard": "LiveCodeBenchPro 25Q2 (Hard)"}  # Hard is not on the card: a row of its own
FORMAT_PROMPT = ("\n\nWrite a C++17 program that solves the problem: it reads standard input and writes standard "
                 "output (in an interactive problem it talks to the judge through them, flushing after every "
                 "line). Please place the solution code in the following format:\n```cpp\n// Your solution code here\n```")
MAX_ARCHIVE_BYTES = 2 << 30  # one problem's tests, unpacked


# ------------------------------------------------------------------------------------- archives

def _read_archive(path: Path) -> dict[str, bytes]:
    """A problem's test archive (a .zip, or the same files in a directory) as {name: bytes}."""
    files: dict[str, bytes] = {}
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            if p.is_file():
                files[p.relative_to(path).as_posix()] = p.read_bytes()
        return files
    try:
        with zipfile.ZipFile(path) as z:
            if sum(i.file_size for i in z.infolist()) > MAX_ARCHIVE_BYTES:
                raise UserError(f"{path}: unpacks to more than {MAX_ARCHIVE_BYTES >> 30} GiB; not a test archive")
            for info in z.infolist():
                if not info.is_dir():
                    files[info.filename] = z.read(info)
    except (zipfile.BadZipFile, OSError) as e:
        raise UserError(f"{path}: not a readable zip ({e}); re-download the test archive") from None
    return files


def _lookup(files: dict[str, bytes], name: str) -> bytes | None:
    for candidate in (name, f"testdata/{name}"):
        if candidate in files:
            return files[candidate]
    return None


def problem_from_archive(problem_id: str, files: dict[str, bytes], where: str) -> Problem:
    import yaml

    raw = _lookup(files, "config.yaml")
    try:
        config = yaml.safe_load(raw.decode("utf-8")) if raw else {}
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise UserError(f"{where}: config.yaml is not YAML ({str(e).splitlines()[0][:100]})") from None
    config = config or {}
    if not isinstance(config, dict):
        raise UserError(f"{where}: config.yaml must be a mapping")
    text = lambda name: _lookup(files, name).decode("utf-8", "replace")  # noqa: E731
    in_suffix, out_suffix = str(config.get("input_suffix", ".in")), str(config.get("output_suffix", ".ans"))
    if isinstance(config.get("cases"), list):
        pairs = [(str(c["input"]), str(c["output"])) for c in config["cases"]]
    else:
        declared = None
        if isinstance(config.get("subtasks"), list):
            counts = [s.get("n_cases") for s in config["subtasks"] if isinstance(s, dict)]
            declared = sum(int(c) for c in counts) if counts and all(c is not None for c in counts) else None
        numbers = sorted({int(m.group(1)) for name in files
                          for m in [re.fullmatch(r"(?:testdata/)?(\d+)" + re.escape(in_suffix), name)] if m})
        if declared is not None:
            numbers = list(range(1, declared + 1))
        pairs = [(f"{n}{in_suffix}", f"{n}{out_suffix}") for n in numbers]
    tests = []
    for inp, out in pairs:
        a, b = _lookup(files, inp), _lookup(files, out)
        if b is None and out.endswith(".ans"):
            b = _lookup(files, out[:-4] + ".out")
        if a is None or b is None:
            raise UserError(f"{where}: test {inp} / {out} is missing from the archive; re-download it")
        tests.append(JudgeTest(a.decode("utf-8", "replace"), b.decode("utf-8", "replace")))
    if not tests:
        raise UserError(f"{where}: the archive holds no tests (testdata/N{in_suffix} and N{out_suffix})")
    kind = str(config.get("type", "default"))
    if kind not in ("default", "interactive"):
        raise UserError(f"{where}: problem type {kind!r} is not judged here (default, interactive)")
    checker_name = config.get("checker")
    checker_source = text(str(checker_name)) if checker_name and _lookup(files, str(checker_name)) else None
    if checker_name and checker_source is None:
        raise UserError(f"{where}: its checker {checker_name} is missing from the archive")
    interactor_source = None
    if kind == "interactive":
        name = str(config.get("interactor", "interactor.cc"))
        if _lookup(files, name) is None:
            raise UserError(f"{where}: an interactive problem without its interactor {name}")
        interactor_source = text(name)
        checker_source = None  # the interactor's verdict is final
    return Problem(problem_id, tests, parse_time(config.get("time", "2s"), where),
                   parse_memory(config.get("memory", "256m"), where),
                   checker="testlib" if checker_source else "tokens", checker_source=checker_source,
                   interactor_source=interactor_source)


def _local_archive(cfg, problem_id: str) -> Path | None:
    """A problem's tests on this machine (the bundled sample set, task.tests_dir), or None: the
    pinned hub archive, fetched when its answers are scored (generation never needs the tests)."""
    dataset = cfg.task.dataset
    if cfg.data.get("source") == "sample" and not cfg.data.get("path"):
        path = SAMPLES_DIR / str(dataset.sample_tests) / problem_id
        if not path.exists():
            raise UserError(f"{cfg.task.name} problem {problem_id}: no test archive at {path}")
        return path
    if cfg.task.get("tests_dir"):
        root = Path(str(cfg.task.tests_dir)).expanduser()
        for candidate in (root / f"{problem_id}.zip", root / problem_id):
            if candidate.exists():
                return candidate
        raise UserError(f"task.tests_dir={root} has no {problem_id}.zip (nor a directory {problem_id}); "
                        f"download {dataset.tests_hub_id} at revision {dataset.tests_revision} there")
    return None


def _hub_archive(cfg, problem_id: str) -> Path:
    dataset = cfg.task.dataset
    try:
        from huggingface_hub import hf_hub_download

        return Path(hf_hub_download(str(dataset.tests_hub_id), f"{problem_id}.zip", repo_type="dataset",
                                    revision=str(dataset.tests_revision)))
    except Exception as e:  # gated, offline, missing: one line with the fixes
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:160]
        raise UserError(f"cannot fetch the tests of {problem_id} from {dataset.tests_hub_id} (gated: accept its terms "
                        f"and set HF_TOKEN): {first}; or download it and pass task.tests_dir=DIR") from None


# ------------------------------------------------------------------------------------- loading

def load(cfg) -> list[Sample]:
    judge_settings(cfg)  # a bad judge setting fails now, not after generation
    keep = cfg.task.get("difficulty")
    keep = None if keep in (None, "", "all") else ({keep} if isinstance(keep, str) else set(keep))
    if keep and keep - set(DIFFICULTIES):
        raise UserError(f"unknown task.difficulty {sorted(keep - set(DIFFICULTIES))}; use easy, medium, hard, a list, or null")
    samples = []
    for n, row in enumerate(load_rows(cfg), 1):
        missing = [c for c in ("problem_id", "problem_statement", "difficulty") if c not in row]
        if missing:
            raise UserError(f"{cfg.task.name} row {n}: missing columns {missing}; expected LiveCodeBench Pro's schema "
                            f"(problem_id, problem_title, difficulty, platform, link, problem_statement)")
        pid = str(row["problem_id"])
        difficulty = str(row["difficulty"]).lower()
        if keep and difficulty not in keep:
            continue
        path = _local_archive(cfg, pid)
        samples.append(Sample(
            id=pid,
            messages=[{"role": "user", "content": str(row["problem_statement"]).strip() + FORMAT_PROMPT}],
            reference={"archive": str(path) if path else None},
            meta={"difficulty": difficulty, "platform": str(row.get("platform") or "").lower(),
                  "title": str(row.get("problem_title") or "")}))
    if not samples:
        raise UserError(f"{cfg.task.name}: no problems" + (f" with difficulty {sorted(keep)}" if keep else "")
                        + "; check the data source")
    return samples


# ------------------------------------------------------------------------------------- scoring

def _problem(sample: Sample, cfg) -> Problem:
    """The problem with all its tests in memory (read again per chunk of answers: a benchmark's
    tests are gigabytes, a chunk's few problems are not)."""
    path = Path(sample.reference["archive"]) if sample.reference.get("archive") else _hub_archive(cfg, sample.id)
    return problem_from_archive(sample.id, _read_archive(path), f"problem {sample.id}")


def _grade(sample: Sample, result: JudgeResult, code: str) -> Grade:
    return Grade(result.score, code, judge_detail(result, max_cpu_s=max((t.cpu_s for t in result.tests), default=0.0),
                                                  max_memory_mb=max((t.memory_mb for t in result.tests), default=0.0)))


def score_batch(pairs: list[tuple[Sample, str]], cfg, judge: ContestJudge | None = None) -> Iterator[Grade]:
    """Grades in order (evalsuite.contest_tasks.score_answers); never raises on a model's output;
    a machine without g++ records every answer as a scoring error naming the fix."""
    return score_answers(pairs, cfg, _problem, _grade, judge=judge)


def score(sample: Sample, answer: str, cfg) -> Grade:
    return next(iter(score_batch([(sample, answer)], cfg)))


def scoring_environment(cfg) -> dict[str, Any]:
    """What programs were judged under, for run.json: compiler and flags, the time scale, the
    sandbox's isolation and how its limits are enforced here."""
    return judge_environment(cfg, time_limits="each problem's own (config.yaml) x time_scale",
                             default_comparison="tokens (testlib wcmp)")


def deviations(samples: list[Sample], cfg) -> list[str]:
    return judge_deviations(cfg, DEFAULT_FLAGS)


def headline(samples: dict[str, Sample], scores: list[Score], cfg) -> Headline | None:
    """Easy is the run's headline (the card's first row); Medium and Hard are further card rows
    from the same judgements, each the mean over its problems."""
    cells, rows = [], {}
    for difficulty in DIFFICULTIES:
        subset = [s for s in scores if samples.get(s.sample_id) and samples[s.sample_id].meta["difficulty"] == difficulty]
        if not subset:
            continue
        numbers = metrics.summarize(subset, seed=int(cfg.get("seed") or 0))
        cells.append(Breakdown({"difficulty": difficulty}, numbers["value"], numbers["n_items"]))
        rows[difficulty] = CardRowCell(numbers["value"], list(numbers["ci95"]), numbers["n_items"])
    if not rows:
        return None
    nan = float("nan")
    easy = rows.pop("easy", CardRowCell(nan, [nan, nan], 0))  # a run without Easy problems has no headline
    return Headline(value=easy.value, ci95=easy.ci95, cells=cells,
                    card_rows={CARD_ROWS[d]: cell for d, cell in rows.items()})


TASK = TaskSpec(
    load=load, score=score, score_batch=score_batch, scoring_environment=scoring_environment,
    deviations=deviations, headline=headline, breakdown_by=("platform",),
    settings={
        "difficulty": Setting((str, list), nullable=True, doc="easy, medium, hard, a list of them, or null: all"),
        "tests_dir": Setting(str, nullable=True, doc="a local copy of the test archives (<problem_id>.zip)"),
        **JUDGE_SETTINGS,
    })
