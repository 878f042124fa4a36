"""LiveCodeBench v6 (contest dates 2024-08-01 to 2025-05-31): code generation graded by execution.

Rows: livecodebench/code_generation_lite, config release_v6, split test, from the parquet conversion
at revision refs/pr/7 (the loading script is gone from main). Private tests are JSON or
base64 -> zlib -> pickle -> JSON; a pickle from a download would run code when loaded, so ours
admits nothing but plain strings, numbers, lists and dicts.

Grading (docs/protocol.md): the last ```python block after </think> (`task.code_block=first` for
NVIDIA's rule), run in evalsuite.sandbox.programs on public + private tests, 6 s per test
(`task.timeout_s=12` for NVIDIA's). Where the first and last blocks differ both are run, and
programs that timed out are rerun at `task.rerun_timeouts_s` (12 s), so the report shows every
OPEN choice (the variants `first_block` and `timeout_12s`) from one run.
"""
from __future__ import annotations

import base64
import binascii
import io
import json
import os
import pickle
import zlib
from collections import defaultdict
from datetime import date, datetime
from typing import Any, Iterable, Iterator

from evalsuite.data import load_from_hub, load_rows
from evalsuite.errors import UserError
from evalsuite.sandbox.programs import Job, Limits, ProgramResult, SandboxPool, TestCase, default_pool
from evalsuite.scoring.code import extract_code_block
from evalsuite.task import Setting, TaskSpec
from evalsuite.types import Grade, Sample, Score

STARTER_PROMPT = ("\n\nSolve the problem starting with the provided function header.\n\n"
                  "Function header:\n```\n{starter_code}\n```")
FORMAT_PROMPT = ("\n\nWrite Python code to solve the problem. Please place the solution code in the "
                 "following format:\n```python\n# Your solution code here\n```")
MAX_DECOMPRESSED_BYTES = 4 << 30  # one problem's tests; a zlib bomb stops here
DIFFICULTIES = ("easy", "medium", "hard")


# ------------------------------------------------------------------------------------- loading

class _PlainDataUnpickler(pickle.Unpickler):
    """Admits only what needs no import: str, bytes, int, float, bool, None, list, dict (and the
    tuples/sets pickle builds without imports, rejected after loading). Any global (os.system,
    builtins.eval, a class) is refused before it is looked up."""

    def find_class(self, module: str, name: str):
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only plain data is allowed")

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("refusing a persistent id: only plain data is allowed")


def _check_plain(value: Any, depth: int = 0) -> None:
    if depth > 100:
        raise pickle.UnpicklingError("nested too deeply")
    if value is None or isinstance(value, (str, bool, int, float)):
        return
    if isinstance(value, list):
        for v in value:
            _check_plain(v, depth + 1)
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise pickle.UnpicklingError(f"dict key of type {type(k).__name__}")
            _check_plain(v, depth + 1)
        return
    raise pickle.UnpicklingError(f"value of type {type(value).__name__} is not plain data")


def restricted_loads(data: bytes) -> Any:
    value = _PlainDataUnpickler(io.BytesIO(data)).load()
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    _check_plain(value)
    return value


def _inflate(data: bytes) -> bytes:
    inflater = zlib.decompressobj()
    out = inflater.decompress(data, MAX_DECOMPRESSED_BYTES)
    if inflater.unconsumed_tail:
        raise ValueError(f"decompresses to more than {MAX_DECOMPRESSED_BYTES >> 30} GiB")
    return out


def decode_tests(text: Any, where: str) -> list[dict[str, str]]:
    """A test-case column: a JSON list, or the base64/zlib/pickle encoding of one."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return []
    if isinstance(text, list):
        value: Any = text
    else:
        try:
            value = json.loads(text)
        except (ValueError, TypeError):
            try:
                value = restricted_loads(_inflate(base64.b64decode(text, validate=False)))
            except pickle.UnpicklingError as e:
                raise UserError(f"{where}: unsafe or malformed pickle in the test cases ({e}); "
                                f"this is not LiveCodeBench's data: use the official dataset or data.path=FILE") from None
            except (binascii.Error, zlib.error, ValueError, EOFError, UnicodeDecodeError, MemoryError) as e:
                raise UserError(f"{where}: test cases are neither JSON nor base64/zlib/pickle "
                                f"({type(e).__name__}: {str(e)[:100]}); the file is corrupt, re-download it") from None
            if isinstance(value, str):
                try:
                    value = json.loads(value)
                except ValueError:
                    raise UserError(f"{where}: decoded test cases are not JSON; the file is corrupt") from None
    if not isinstance(value, list) or not all(isinstance(t, dict) and "input" in t and "output" in t for t in value):
        raise UserError(f"{where}: test cases must be a list of {{input, output, testtype}} objects")
    return [{"input": str(t["input"]), "output": str(t["output"])} for t in value]


def _as_datetime(value: Any, where: str) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if hasattr(value, "to_pydatetime"):  # pandas.Timestamp from a parquet file
        return value.to_pydatetime().replace(tzinfo=None)
    try:
        return datetime.fromisoformat(str(value).strip().replace("Z", "")).replace(tzinfo=None)
    except ValueError:
        raise UserError(f"{where}: contest_date {value!r} is not a date like 2024-08-01T00:00:00") from None


def _window(cfg) -> tuple[datetime, datetime]:
    task = cfg.task
    start = _as_datetime(task.get("date_from", "2024-08-01"), "task.date_from")
    end = _as_datetime(task.get("date_to", "2025-06-01"), "task.date_to")
    if end <= start:
        raise UserError(f"task.date_to ({end.date()}) must be after task.date_from ({start.date()})")
    return start, end


def _difficulties(cfg) -> set[str] | None:
    chosen = cfg.task.get("difficulty")
    if chosen in (None, "", "all"):
        return None
    names = {chosen} if isinstance(chosen, str) else set(chosen)
    unknown = names - set(DIFFICULTIES)
    if unknown:
        raise UserError(f"unknown task.difficulty {sorted(unknown)}; use easy, medium, hard (or a list), or null for all")
    return names


def _hub_rows(dataset, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The release's rows, filtered to the date window before the heavy test columns are turned
    into Python objects (release_v6 is several GB of tests; the window keeps under half)."""
    try:
        import datasets

        ds = datasets.load_dataset(dataset.hub_id, dataset.get("config"), split=dataset.split,
                                   revision=dataset.get("revision"))
        ds = ds.filter(lambda d: start <= _as_datetime(d, "hub row") < end, input_columns="contest_date")
    except UserError:
        raise
    except Exception:
        # the generic loader words the failure (network, gating, a missing config) as one line
        return load_from_hub(dataset)
    return [dict(r) for r in ds]


def load(cfg) -> list[Sample]:
    _settings(cfg)  # a bad grading setting fails now, not after hours of generation
    start, end = _window(cfg)
    keep_difficulty = _difficulties(cfg)
    samples = []
    for n, row in enumerate(load_rows(cfg, hub_loader=lambda ds: _hub_rows(ds, start, end)), 1):
        missing = [c for c in ("question_id", "question_content", "contest_date", "public_test_cases") if c not in row]
        if missing:
            raise UserError(f"{cfg.task.name} row {n}: missing columns {missing}; expected LiveCodeBench's schema "
                            f"(question_id, question_content, contest_date, public/private_test_cases, metadata ...)")
        qid = str(row["question_id"])
        where = f"{cfg.task.name} problem {qid}"
        if not start <= _as_datetime(row["contest_date"], where) < end:
            continue
        difficulty = str(row.get("difficulty") or "").lower()
        if keep_difficulty is not None and difficulty not in keep_difficulty:
            continue
        try:
            metadata = json.loads(row.get("metadata") or "{}") if isinstance(row.get("metadata"), (str, type(None))) \
                else dict(row["metadata"])
        except ValueError:
            raise UserError(f"{where}: metadata is not JSON: {str(row.get('metadata'))[:80]!r}") from None
        tests = decode_tests(row["public_test_cases"], where + " public_test_cases") + \
            decode_tests(row.get("private_test_cases"), where + " private_test_cases")
        if not tests:
            raise UserError(f"{where}: no test cases; the row is incomplete, re-download the dataset")
        func_name = metadata.get("func_name") or None
        content = str(row["question_content"]).strip()
        starter = str(row.get("starter_code") or "")
        if starter.strip():
            content += STARTER_PROMPT.format(starter_code=starter)
        content += FORMAT_PROMPT
        samples.append(Sample(
            id=qid,
            messages=[{"role": "user", "content": content}],
            reference={"tests": [[t["input"], t["output"]] for t in tests],
                       "mode": "call" if func_name else "stdin", "func_name": func_name},
            meta={"difficulty": difficulty, "platform": str(row.get("platform") or "").lower(),
                  "contest_date": str(row["contest_date"]), "title": str(row.get("question_title") or "")},
        ))
    if not samples:
        raise UserError(f"{cfg.task.name}: no problems dated {start.date()} <= contest_date < {end.date()}"
                        + (f" with difficulty {sorted(keep_difficulty)}" if keep_difficulty else "")
                        + "; widen task.date_from/task.date_to or check the data source")
    return samples


# ------------------------------------------------------------------------------------- scoring

def _settings(cfg) -> tuple[str, float, float | None, int]:
    """(code block, timeout, the longer rerun timeout or None, memory cap); TASK.settings checked them."""
    task = cfg.task
    block = str(task.get("code_block", "last"))
    timeout = float(task.get("timeout_s", 6))
    rerun = task.get("rerun_timeouts_s", 12)
    rerun = float(rerun) if rerun and float(rerun) > timeout else None
    return block, timeout, rerun, int(task.get("memory_mb", 4096))


def _job(sample: Sample, code: str, timeout_s: float, memory_mb: int) -> Job:
    ref = sample.reference
    tests = [TestCase(i, o) for i, o in ref["tests"]]
    return Job(code, tests, ref["mode"], ref.get("func_name"), Limits(timeout_s=timeout_s, memory_mb=memory_mb),
               tests_key=f"lcb:{sample.id}:{len(tests)}")


def _verdict(result: ProgramResult) -> dict[str, Any]:
    return {"verdict": result.verdict, "tests_passed": sum(t.verdict == "pass" for t in result.tests),
            "tests": result.n_tests, "message": result.message, "seconds": round(result.wall_s, 3)}


def score_batch(pairs: list[tuple[Sample, str]], cfg, pool: SandboxPool | None = None,
                chunk: int = 512) -> Iterator[Grade]:
    """Grades for (sample, answer) pairs, in order, every program of a chunk in parallel on all
    cores. Yields chunk by chunk so the caller can store results as they come. Never raises on a
    model's output; a sandbox failure is a recorded 0."""
    block, timeout, rerun, memory_mb = _settings(cfg)
    other = "first" if block == "last" else "last"
    workers = cfg.task.get("workers") or os.cpu_count()
    for at in range(0, len(pairs), chunk):
        part = pairs[at:at + chunk]
        the_pool = pool or default_pool(int(workers))
        yield from _grade_chunk(part, block, other, timeout, rerun, memory_mb, the_pool)


def _grade_chunk(part, block, other, timeout, rerun, memory_mb, pool: SandboxPool) -> list[Grade]:
    chosen = [extract_code_block(answer, which=block) for _, answer in part]
    alternative = [extract_code_block(answer, which=other) for _, answer in part]
    # one list of programs: the chosen blocks, then the other blocks where they differ
    jobs, owners = [], []
    for i, (sample, _) in enumerate(part):
        if chosen[i] is not None:
            jobs.append(_job(sample, chosen[i], timeout, memory_mb))
            owners.append((i, block))
        if alternative[i] is not None and alternative[i] != chosen[i]:
            jobs.append(_job(sample, alternative[i], timeout, memory_mb))
            owners.append((i, other))
    results: dict[tuple[int, str], ProgramResult] = dict(zip(owners, pool.run_many(jobs)))
    # the longer timeout changes only programs that timed out: rerun just those
    longer: dict[tuple[int, str], ProgramResult] = {}
    if rerun is not None:
        again = [key for key, r in results.items() if r.verdict == "timeout"]
        reruns = [_job(part[i][0], chosen[i] if b == block else alternative[i], rerun, memory_mb) for i, b in again]
        longer = dict(zip(again, pool.run_many(reruns)))
    grades = []
    for i in range(len(part)):
        scoring_error = None
        if chosen[i] is None:
            detail: dict[str, Any] = {"verdict": "no_code", "block": block}
            value = 0.0
        else:
            r = results[(i, block)]
            value = float(r.passed)
            detail = {"block": block, **_verdict(r)}
            if r.verdict == "sandbox_error":  # the sandbox failed, not the program: not the model's answer
                scoring_error = f"sandbox: {r.message}"
        by_block = {block: value}
        if alternative[i] is None:
            by_block[other] = 0.0
        elif alternative[i] == chosen[i]:
            by_block[other] = value
        else:
            r_other = results[(i, other)]
            by_block[other] = float(r_other.passed)
            detail[f"{other}_block_verdict"] = r_other.verdict
        variants = {f"{other}_block": by_block[other]}
        if rerun is not None:
            key = (i, block)
            variants[f"timeout_{rerun:g}s"] = float(longer[key].passed) if key in longer else value
        grades.append(Grade(value, chosen[i], detail, variants, scoring_error=scoring_error))
    return grades


def scoring_environment(cfg) -> dict[str, Any]:
    """What the programs ran under, for run.json: the sandbox's isolation, how each limit is
    enforced on this machine, and the limits' values."""
    _, timeout, rerun, memory_mb = _settings(cfg)
    pool = default_pool(int(cfg.task.get("workers") or os.cpu_count() or 1))
    limits = Limits(timeout_s=timeout, memory_mb=memory_mb)
    return {"sandbox": pool.isolation, "limits": {**vars(limits), "rerun_timeout_s": rerun}}


def score(sample: Sample, answer: str, cfg) -> Grade:
    """One answer (the pipeline's per-answer path; score_batch is the fast one)."""
    return next(iter(score_batch([(sample, answer)], cfg)))


def iter_verdicts(scores: Iterable[Score]) -> dict[str, int]:
    """How many answers ended in each verdict (for a report's footnote)."""
    counts: dict[str, int] = defaultdict(int)
    for s in scores:
        counts[(s.detail or {}).get("verdict", "unfinished" if s.unfinished else "?")] += 1
    return dict(counts)


TASK = TaskSpec(
    load=load, score=score, score_batch=score_batch, scoring_environment=scoring_environment,
    breakdown_by=("difficulty", "platform"),
    settings={
        "date_from": Setting(str, nullable=True, doc="first contest date kept (ISO date)"),
        "date_to": Setting(str, nullable=True, doc="contest dates before this one are kept"),
        "difficulty": Setting((str, list), nullable=True, doc="easy, medium, hard, a list of them, or null: all"),
        "code_block": Setting(str, choices=("last", "first"), doc="which ```python block is the program"),
        "timeout_s": Setting((int, float), minimum=0.01, doc="per test"),
        "rerun_timeouts_s": Setting((int, float), nullable=True, minimum=0,
                                    doc="programs that timed out are rerun at this limit (an OPEN variant)"),
        "memory_mb": Setting(int, minimum=64),
        "workers": Setting(int, nullable=True, minimum=1, protocol=False, doc="parallel programs; null: one per core"),
    })
