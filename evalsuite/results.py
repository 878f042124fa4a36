"""A run's files as data: what report, plots, viewer and notebooks all read.

    from evalsuite import results
    run = results.load("results/smoke/smollm2-135m")
    run.samples      # one row per (task, sample_id, k)
    run.summaries    # one row per task

Everything here only reads. A run may still be writing (another process appending to
generations.jsonl), so a torn last line is skipped, never repaired: repairing is the pipeline's job.
Shards (`<task>/shard-*-of-*/`, one per job of a sharded run) are read together with the task's own
files, so a report shows a sharded run before `stage=report` has merged it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

import pandas as pd

from evalsuite import store
from evalsuite import summary as summaries
from evalsuite.errors import UserError
from evalsuite.rundir import FAILURE, GENERATIONS, ITEMS, MANIFEST, SCORES, SUMMARY, is_task_dir, merged, shard_dirs
from evalsuite.summary import TaskSummary
from evalsuite.task import import_spec
from evalsuite.types import ENGINE_FIELDS, Generation, Score, generation_from_record, score_from_record

SAMPLE_COLUMNS = ["task", "sample_id", "k", "extracted", "score", "unfinished", "truncated",
                  "tokens", "finish_reason", "scoring_error", "answer_key", "needs_judge", "detail", "variants"]


# ---------------------------------------------------------------- files

# ---------------------------------------------------------------- one task of a run

@dataclass(frozen=True)
class Note:
    """What a task directory lacks, or how its numbers were made, for the report's "What is missing"."""

    # unmerged: shards not merged yet; rebuilt: the figures recomputed from scores.jsonl (no summary.json,
    # or another version's); unscored: generated, not scored; unstarted: nothing generated;
    # failed: failure.json; unfinished: scores still missing
    kind: Literal["unmerged", "rebuilt", "unscored", "unstarted", "failed", "unfinished"]
    text: str


@dataclass
class TaskResult:
    """What one task directory holds, and what it lacks."""

    name: str
    dir: Path
    summary: TaskSummary | None  # summary.json, or rebuilt from scores.jsonl (summary.complete False)
    manifest: dict[str, Any] | None  # run.json
    notes: list[Note] = field(default_factory=list)  # what is missing or was rebuilt, for the report
    failure: dict[str, Any] | None = None  # failure.json: the suite's last attempt at this task failed (reason)
    # the records by (sample_id, k), read once: a card run's generations.jsonl is hundreds of MB
    generations: dict[tuple[str, int], Generation] = field(default_factory=dict, repr=False)
    scores: dict[tuple[str, int], Score] = field(default_factory=dict, repr=False)  # the current ones only

    @property
    def benchmark(self) -> str | None:
        if self.summary and self.summary.benchmark:
            return self.summary.benchmark
        return (((self.manifest or {}).get("config") or {}).get("task", {}).get("benchmark")
                or (self.failure or {}).get("benchmark"))

    @property
    def expected_scores(self) -> int | None:
        if self.summary and self.summary.expected_scores:
            return int(self.summary.expected_scores)
        m = self.manifest or {}
        n_items = (m.get("dataset") or {}).get("n_items")
        samples = (m.get("config") or {}).get("samples")
        return int(n_items) * int(samples) if n_items and samples else None


def task_dirs(run_dir: Path) -> list[Path]:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"run directory {run_dir} not found (give the run_dir=... of an earlier run)")
    return sorted(p for p in run_dir.iterdir() if is_task_dir(p))


def recompute_summary(name: str, scores: list[Score], generations: list[Generation], manifest: dict | None) -> TaskSummary:
    """The headline figures from scores.jsonl alone, for runs that stopped before summary.json was
    written (the pipeline's own summary.build, without the items: no breakdown, no task-reported
    deviations, maj@k by answer string; `complete` says so)."""
    from omegaconf import OmegaConf

    cfg = OmegaConf.create((manifest or {}).get("config") or {})
    defaults = {"task": {"name": name}, "model": {}, "backend": {}, "samples": 0, "seed": 0,
                "sampling": {"temperature": float("nan"), "top_p": float("nan"), "max_tokens": 0}}
    cfg = OmegaConf.merge(defaults, cfg)
    return summaries.build(cfg, scores, generations, expected=None, missing=None)


def _newest(paths) -> float:
    return max((p.stat().st_mtime for p in paths if p.exists()), default=0.0)


def next_stage_hint(task: str, manifest: dict | None) -> str:
    """The command that grades a task's stored generations: a judged task asks its judge first."""
    judged = False
    config = (manifest or {}).get("config") or {}
    module = (config.get("task") or {}).get("module")
    if module:
        try:
            spec = import_spec(str(module), task)
            judged = spec.judge is not None and (spec.judge.required or config.get("judge") is not None)
        except UserError:  # the task is gone from this version: the plain hint
            pass
    if judged:
        return (f"`evalsuite task={task} stage=judge judge=NAME run_dir=...`, then the same with stage=score; "
                f"or stage=all, which does both")
    return f"`evalsuite task={task} stage=score run_dir=...`"


def load_task(path: Path) -> TaskResult:
    shards = shard_dirs(path)
    manifests = [d / MANIFEST for d in (path, *shards) if (d / MANIFEST).exists()]
    manifest = store.read_json(manifests[0], expect=dict) if manifests else None
    gens = {key: generation_from_record(g) for key, g in merged(path, GENERATIONS).items()}
    scores = {key: score_from_record(s) for key, s in merged(path, SCORES).items()}
    scores = store.current(gens, scores)  # a stale score never sits beside the text it did not grade
    failure = store.read_json(path / FAILURE, expect=dict) if (path / FAILURE).exists() else None
    result = TaskResult(path.name, path, None, manifest, generations=gens, scores=scores, failure=failure)
    summary_path = path / SUMMARY
    # shards written after the summary: the summary predates their records
    unmerged = bool(shards) and _newest(d / f for d in shards for f in (GENERATIONS, SCORES)) > _newest([summary_path])
    if unmerged:
        result.notes.append(Note("unmerged", f"{len(shards)} shards not merged yet; numbers recomputed from their "
                                 f"scores (`evalsuite task={path.name} stage=report run_dir=...` without shard= merges them)"))
    stale = None
    if summary_path.exists() and not unmerged:
        try:
            result.summary = summaries.read(summary_path)
        except summaries.StaleSummary as e:  # another version's summary: the scores still stand
            stale = str(e)
    if result.summary is not None:
        pass
    elif scores:
        result.summary = recompute_summary(path.name, list(scores.values()), list(gens.values()), manifest)
        if stale:
            result.notes.append(Note("rebuilt", f"{stale}; numbers recomputed from its scores"))
        elif not unmerged:
            result.notes.append(Note("rebuilt", f"no summary.json: recomputed from scores.jsonl ({len(scores)} scores; "
                                     f"no per-group breakdown; `evalsuite task={path.name} stage=report run_dir=...` "
                                     f"writes the full summary)"))
    elif gens:
        result.notes.append(Note("unscored", f"{len(gens)} generations but nothing scored yet ({next_stage_hint(path.name, manifest)})"))
    elif not failure:
        result.notes.append(Note("unstarted", "started but nothing generated yet"))
    if failure:
        result.notes.append(Note("failed", ("not run: " if result.summary is None else "its last attempt failed: ")
                                 + str(failure.get("reason"))))
    expected = result.expected_scores
    if result.summary is not None and expected and result.summary.expected_scores is None:  # recomputed
        result.summary.expected_scores, result.summary.missing_scores = expected, max(0, expected - len(scores))
    if result.summary is not None and expected and len(scores) < expected:
        keys = result.summary.missing  # "sample_id#k", as the pipeline lists them
        which = f": {', '.join(keys[:5])}{' ...' if len(keys) > 5 else ''}" if keys else ""
        result.notes.append(Note("unfinished", f"{expected - len(scores)} of {expected} scores missing{which} "
                                 f"(rerun the same command to finish: it resumes)"))
    return result


def scan(run_dir: str | Path) -> list[TaskResult]:
    return [load_task(p) for p in task_dirs(Path(run_dir))]


# ---------------------------------------------------------------- DataFrames

@dataclass
class RunResults:
    run_dir: Path
    samples: pd.DataFrame  # one row per (task, sample_id, k): SAMPLE_COLUMNS (+ text when asked)
    summaries: pd.DataFrame  # one row per task: the summary's scalar fields, ci_low/ci_high, protocol.*
    variants: pd.DataFrame  # one row per (task, OPEN variant): task, variant, value
    breakdown: pd.DataFrame  # one row per breakdown cell: task, its coordinates (one column each), value, items
    tasks: list[TaskResult]

    def summary(self, task: str) -> TaskSummary | None:
        return next((t.summary for t in self.tasks if t.name == task), None)


def sample_rows(task: TaskResult, texts: bool = False) -> list[dict[str, Any]]:
    """Scores joined with their generations; a generation not scored yet has score NaN."""
    gens, scores = task.generations, task.scores
    rows = []
    for key in sorted(set(gens) | set(scores), key=lambda kk: (_natural(kk[0]), kk[1])):
        g, s = gens.get(key), scores.get(key)
        row = {
            "task": task.name, "sample_id": key[0], "k": key[1],
            "extracted": s.extracted if s else None,
            "score": float(s.value) if s else float("nan"),
            "unfinished": bool(s.unfinished) if s else None,
            "truncated": bool(s.truncated) if s else g is not None and g.finish_reason == "length",
            "tokens": g.tokens if g else None, "finish_reason": g.finish_reason if g else None,
            **{name: getattr(s, name) if s else None for name in ENGINE_FIELDS},
            "detail": s.detail if s else {},
            "variants": s.variants if s else {},
        }
        if texts:
            row["text"] = g.text if g else None
            row["reasoning"] = g.reasoning if g else None
        rows.append(row)
    return rows


def _natural(sample_id: str) -> tuple:
    """Item ids sort as numbers when they are numbers ("2" before "10")."""
    return (0, int(sample_id), "") if sample_id.isdigit() else (1, 0, sample_id)


def summary_row(summary: TaskSummary) -> dict[str, Any]:
    row = {k: v for k, v in summaries.to_json(summary).items()
           if k not in summaries.FACTS and not isinstance(v, (dict, list))}
    row["ci_low"], row["ci_high"] = summary.ci95[0], summary.ci95[1]
    row["deviations"] = "; ".join(summary.deviations)
    for key, value in summary.protocol.items():
        row[f"protocol.{key}"] = value
    return row


def load(run_dir: str | Path, texts: bool = False) -> RunResults:
    """The run's samples, summaries, OPEN variants and breakdowns as DataFrames. texts=True adds
    each generation's text."""
    tasks = scan(run_dir)
    rows = [r for t in tasks for r in sample_rows(t, texts)]
    columns = SAMPLE_COLUMNS + (["text", "reasoning"] if texts else [])
    samples = pd.DataFrame(rows, columns=columns)
    done = [t for t in tasks if t.summary is not None]
    variants = pd.DataFrame([{"task": t.name, "variant": name, "value": value}
                             for t in done for name, value in t.summary.open_variants().items()],
                            columns=["task", "variant", "value"])
    breakdown = pd.DataFrame([{"task": t.name, **cell.by, "value": cell.value, "items": cell.items}
                              for t in done for cell in t.summary.breakdown])
    return RunResults(Path(run_dir), samples, pd.DataFrame([summary_row(t.summary) for t in done]),
                      variants, breakdown, tasks)


def variant_scores(samples: pd.DataFrame) -> pd.DataFrame:
    """Per-sample results of the OPEN variants scored per answer, long: task, sample_id, k, variant, value."""
    rows = [{"task": r.task, "sample_id": r.sample_id, "k": r.k, "variant": name, "value": float(value)}
            for r in samples.itertuples(index=False) if isinstance(r.variants, dict)
            for name, value in r.variants.items()]
    return pd.DataFrame(rows, columns=["task", "sample_id", "k", "variant", "value"])


# ---------------------------------------------------------------- the items themselves (prompt, reference)

@dataclass
class Item:
    sample_id: str
    messages: list[dict[str, str]]
    reference: Any
    meta: dict[str, Any]
    # the item as generation k saw it, for tasks whose prompt depends on k (GPQA's per-sample shuffle)
    views: Callable[[int], Item] | None = field(default=None, repr=False, compare=False)

    def for_k(self, k: int) -> Item:
        return self.views(k) if self.views else self


def load_items(task: TaskResult) -> tuple[dict[str, Item], str | None]:
    """(items by id, why they are unavailable). Read from <task>/samples.jsonl when the run wrote
    one; otherwise rebuilt by the task's own loader from the config in run.json (the same data the
    run read: a local file, the bundled samples or the hub cache)."""
    path = task.dir / ITEMS
    if path.exists():
        return {str(r["id"]): Item(str(r["id"]), r.get("messages") or [], r.get("reference"), r.get("meta") or {})
                for r in _read_items_file(path)}, None
    config = (task.manifest or {}).get("config")
    if not config:
        return {}, "no run.json: prompts and references unknown"
    try:
        from omegaconf import OmegaConf

        cfg = OmegaConf.create(config)
        spec = import_spec(str(cfg.task.module), str(cfg.task.name))
        samples = spec.load(cfg)
    except Exception as e:  # noqa: BLE001 - the data may be gone or gated; the rest of the report stands
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        return {}, f"prompts unavailable: the task's data could not be reloaded ({first[:200]})"

    def as_item(sample) -> Item:
        item = Item(sample.id, sample.messages, sample.reference, dict(sample.meta))
        if spec.sample_for_k is not None:
            item.views = lambda k: Item(sample.id, *_view(spec.sample_for_k(sample, k, cfg)))
        return item

    return {s.id: as_item(s) for s in samples}, None


def _view(sample) -> tuple[list[dict[str, str]], Any, dict[str, Any]]:
    return sample.messages, sample.reference, dict(sample.meta)


def _read_items_file(path: Path) -> list[dict[str, Any]]:
    return [row for _, row in store.iter_jsonl(path, fix="delete the file; the run's command rewrites it")]
