"""A run directory's layout: every file name, where shards live, the one rule that merges them, and
the one writer of run.json (`update_manifest`: every stage adds its keys through it).

    <run_dir>/<task>/            run.json  generations.jsonl  scores.jsonl  summary.json
                                 samples.jsonl  clamps.jsonl  failure.json
    <run_dir>/<task>/shard-0003-of-0008/   the same files, written by one job of a sharded run

The pipeline writes these files and `evalsuite.results` reads them; both take the names and the
merge from here, so a reader never sees a shard's record where the writer would refuse it.

A task's run is one `TaskRun` (built once by `task_run`, in pipeline.run_task): its config, contract,
items, directories, shard and mode. The stages take it, so none re-derives where its files go.
"""
from __future__ import annotations

import fcntl
import os
import socket
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from omegaconf import DictConfig

from evalsuite import store
from evalsuite.errors import UserError
from evalsuite.sharding import current_shard
from evalsuite.task import TaskSpec, run_mode
from evalsuite.types import Sample, Score

MANIFEST = "run.json"  # resolved config, versions, data and model revisions, protocol fingerprint
GENERATIONS = "generations.jsonl"  # append-only, keyed by (sample_id, k)
SCORES = "scores.jsonl"  # append-only, keyed by (sample_id, k), each naming the generation it graded
SUMMARY = "summary.json"  # evalsuite.summary.TaskSummary
ITEMS = "samples.jsonl"  # the items as the run saw them (prompts, references, meta)
CLAMPS = "clamps.jsonl"  # requests whose max_tokens shrank to fit the context (task.clamp_budget)
FAILURE = "failure.json"  # a suite's task that could not run: its one-line reason, for the report
FOREIGN = "foreign.jsonl"  # another harness's rows and verdicts (responses_format=...), beside ours
FOREIGN_SOURCE = "foreign_source.json"  # which harness file they came from
AGREEMENT = "agreement.json"  # our verdicts against that harness's, item by item
JUDGEMENTS = "judgements.jsonl"  # every judge request's reply, append-only, keyed by the ask's digest
LEDGER = "judge_ledger.jsonl"  # one line per judge stage: requests, tokens, cost
TURNS = "turns.jsonl"  # a tool-integrated run's turns, each stored as it completes (evalsuite/tir.py)
CALIBRATION = "calibration.json"  # in the run_dir: mean generated tokens per task (`evalsuite plan calibration=`)
WRITER = ".writer.lock"  # held (flock) by the one process writing the directory; names it for the next
RUN_FILES = (GENERATIONS, SCORES, SUMMARY, MANIFEST, FAILURE)  # any one marks a task directory
SHARD_GLOB = "shard-*-of-*"

Key = tuple[str, int]


def shard_name(index: int, count: int) -> str:
    return f"shard-{index:04d}-of-{count:04d}"


def task_root(cfg: DictConfig) -> Path:
    """Where the task's merged files and summary live; a TIR run's directory sits beside the plain
    one (aime25-tir next to aime25), so the two never share generations."""
    name = str(cfg.task.name)
    return Path(cfg.run_dir) / (f"{name}-tir" if run_mode(cfg) == "tir" else name)


def task_dir(cfg: DictConfig) -> Path:
    """Where this process writes: the task root, or its own shard directory (a stage reads it as
    TaskRun.dir; this is for the checks made before a run exists, the preflight)."""
    shard = current_shard(cfg)
    return task_root(cfg) if shard is None else task_root(cfg) / shard_name(*shard)


@dataclass(frozen=True)
class TaskRun:
    """One task's run as every stage sees it. `samples` are the items as the stage grades them: the
    pipeline swaps in another harness's lettering of the options (dataclasses.replace) after
    generating, and a chained round its own items and views."""

    cfg: DictConfig
    spec: TaskSpec
    samples: list[Sample]
    root: Path  # the task's merged files, summary and items (task_root)
    dir: Path  # where this process writes: the root, or its shard's directory (task_dir)
    shard: tuple[int, int] | None  # (index, count) for one job of a sharded run
    mode: str  # "standard" or "tir" (task.run_mode)

    @property
    def name(self) -> str:
        return str(self.cfg.task.name)

    def path(self, filename: str) -> Path:
        """A run file (GENERATIONS, SCORES, ...) of this process's directory."""
        return self.dir / filename


def task_run(cfg: DictConfig, spec: TaskSpec, samples: list[Sample]) -> TaskRun:
    """The one constructor of a task's run context."""
    return TaskRun(cfg, spec, samples, task_root(cfg), task_dir(cfg), current_shard(cfg), run_mode(cfg))


def shard_dirs(task_dir: Path) -> list[Path]:
    return sorted(p for p in Path(task_dir).glob(SHARD_GLOB) if p.is_dir())


def is_task_dir(path: Path) -> bool:
    return path.is_dir() and any((d / name).exists() for d in (path, *shard_dirs(path)) for name in RUN_FILES)


def read_keyed(path: Path, repair: bool = False) -> dict[Key, dict[str, Any]]:
    """A keyed run file, one record per key. Readers never repair (a writer may be mid-append: its
    torn last line is skipped); the pipeline repairs its own files before appending."""
    records = store.read_records(path, repair=repair)
    if any(not isinstance(r, dict) or "sample_id" not in r or "k" not in r for r in records):
        raise UserError(f"{path}: records without sample_id/k; this is not an evalsuite run file")
    return store.latest_by_key(records)


def merged(task_dir: Path, name: str, repair: bool = False) -> dict[Key, dict[str, Any]]:
    """The task's `name` records over its own file and its shards'. The one merge rule: a key a
    shard holds replaces the root's copy (the root holds an earlier merge of the same shards), and a
    generation two shards stored with different text means shards of different runs were mixed:
    an error, never a silent winner."""
    out = read_keyed(Path(task_dir) / name, repair=repair)
    owner: dict[Key, Path] = {}
    for shard in shard_dirs(task_dir):
        for key, record in read_keyed(shard / name).items():
            if name == GENERATIONS and key in owner and out[key].get("text") != record.get("text"):
                raise UserError(f"{Path(task_dir).name}: ({key[0]}, {key[1]}) was generated by {owner[key].name} "
                                f"and {shard.name} with different text; shards of different runs are mixed in "
                                f"{task_dir}: delete the shard directories of the other run")
            out[key], owner[key] = record, shard
    return out


def current_scores(d: Path) -> dict[Key, Score]:
    """The scores in `d` that graded the generation stored now for their key (store.current)."""
    return store.current(store.read_generations(d / GENERATIONS, repair=False),
                         store.read_scores(d / SCORES, repair=False))


def update_manifest(task_dir: Path, *, create: bool = False, **fields: Any) -> bool:
    """The one writer of a task's run.json: each of `fields` replaces its top-level key, every other
    key stays (what another stage recorded: the backend's runtime, the scoring environment, TIR's
    settings), and the file is replaced atomically. Only the run's start (`create`) makes the file: a
    run.json holding one late field would lack the config and counts its readers need. Returns
    whether it wrote."""
    path = Path(task_dir) / MANIFEST
    if not path.exists() and not create:
        return False
    manifest = store.read_json(path, expect=dict) if path.exists() else {}
    store.write_json(path, {**manifest, **fields})
    return True


def record_calibration(run_dir: Path, task: str, model: str, max_tokens: int, tokens: list[int]) -> None:
    """A finished task's mean generated tokens per generation, for the next plan (calibration=RUN_DIR)."""
    if not tokens:
        return
    path = run_dir / CALIBRATION
    data = store.read_json(path, expect=dict) if path.exists() else {}
    data[task] = {"mean_tokens": round(sum(tokens) / len(tokens), 1), "generations": len(tokens),
                  "model": model, "max_tokens": max_tokens}
    store.write_json(path, data)


@contextmanager
def sole_writer(directory: Path) -> Iterator[None]:
    """Hold the directory for this process while it runs a task's stages: a second process aimed at
    the same directory (two jobs given one run_dir) stops with one line instead of interleaving
    appends and rewriting run.json under the first. The lock is the kernel's (flock), so a killed
    process releases it with no stale file to clean up; shards write their own directories and do
    not contend."""
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / WRITER, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            raise UserError(f"{directory} is being written by {holder}; wait for that run to end, or give this "
                            f"one its own run_dir=...") from None
        except OSError as e:  # a file system without flock (some network mounts): run, but say so
            print(f"warning: cannot lock {directory} ({e.strerror}); nothing stops a second run writing it at "
                  f"once", file=sys.stderr)
        else:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"evalsuite pid {os.getpid()} on {socket.gethostname()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)
