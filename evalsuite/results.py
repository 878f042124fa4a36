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

import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from evalsuite import store
from evalsuite.errors import UserError

GENERATIONS, SCORES, SUMMARY, MANIFEST, ITEMS, FAILURE = (
    "generations.jsonl", "scores.jsonl", "summary.json", "run.json", "samples.jsonl", "failure.json")
RUN_FILES = (GENERATIONS, SCORES, SUMMARY, MANIFEST, FAILURE)

SAMPLE_COLUMNS = ["task", "sample_id", "k", "extracted", "score", "unfinished", "truncated",
                  "tokens", "finish_reason", "detail"]


# ---------------------------------------------------------------- files

def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Records of an append-only file; a torn last line (a writer mid-append) is skipped, not repaired."""
    records = store.read_records(path, repair=False)
    if any(not isinstance(r, dict) or "sample_id" not in r or "k" not in r for r in records):
        raise UserError(f"{path}: records without sample_id/k; this is not an evalsuite run file")
    return records


def read_json_file(path: Path) -> dict[str, Any]:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path} not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        where = f" ({e.msg} at line {e.lineno})" if isinstance(e, json.JSONDecodeError) else ""
        raise UserError(f"{path}: corrupt JSON{where}; delete it and rerun `evalsuite ... stage=report`") from None
    if not isinstance(obj, dict):
        raise UserError(f"{path}: expected a JSON object, found {type(obj).__name__}")
    return obj


def latest(records: list[dict[str, Any]]) -> dict[tuple[str, int], dict[str, Any]]:
    """One record per (sample_id, k), the later line winning (re-scoring appends)."""
    return {(str(r["sample_id"]), int(r["k"])): r for r in records}


# ---------------------------------------------------------------- one task of a run

@dataclass
class TaskResult:
    """What one task directory holds, and what it lacks."""

    name: str
    dir: Path
    summary: dict[str, Any] | None  # summary.json, or recomputed from scores.jsonl
    manifest: dict[str, Any] | None  # run.json
    notes: list[str] = field(default_factory=list)  # what is missing or was rebuilt, for the report
    failure: dict[str, Any] | None = None  # failure.json: the suite's last attempt at this task failed (reason)
    # the records by (sample_id, k), read once: a card run's generations.jsonl is hundreds of MB
    generations: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict, repr=False)
    scores: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict, repr=False)

    @property
    def benchmark(self) -> str | None:
        if self.summary and self.summary.get("benchmark"):
            return self.summary["benchmark"]
        return (((self.manifest or {}).get("config") or {}).get("task", {}).get("benchmark")
                or (self.failure or {}).get("benchmark"))

    @property
    def expected_scores(self) -> int | None:
        if self.summary and self.summary.get("expected_scores"):
            return int(self.summary["expected_scores"])
        m = self.manifest or {}
        n_items = (m.get("dataset") or {}).get("n_items")
        samples = (m.get("config") or {}).get("samples")
        return int(n_items) * int(samples) if n_items and samples else None


def shard_dirs(task_dir: Path) -> list[Path]:
    return sorted(p for p in task_dir.glob("shard-*-of-*") if p.is_dir())


def is_task_dir(path: Path) -> bool:
    return path.is_dir() and any((d / name).exists() for d in (path, *shard_dirs(path)) for name in RUN_FILES)


def merged_records(task_dir: Path, name: str) -> dict[tuple[str, int], dict[str, Any]]:
    """One record per (sample_id, k) over the task's files and its shards' (a shard's record wins,
    as in the pipeline's own merge)."""
    out = latest(read_jsonl(task_dir / name))
    for shard in shard_dirs(task_dir):
        out.update(latest(read_jsonl(shard / name)))
    return out


def task_dirs(run_dir: Path) -> list[Path]:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"run directory {run_dir} not found (give the run_dir=... of an earlier run)")
    return sorted(p for p in run_dir.iterdir() if is_task_dir(p))


def recompute_summary(name: str, scores: list[dict], manifest: dict | None) -> dict[str, Any]:
    """A summary from scores.jsonl alone, for runs that stopped before summary.json was written.
    Lacks what needs the task's items (breakdown) and says so in its notes; maj@k votes by answer
    string here (the equivalence vote runs the task's checker in workers: `stage=report` does it)."""
    from evalsuite import metrics
    from evalsuite.card import card_column, card_value
    from evalsuite.types import Score, from_dict

    cfg = (manifest or {}).get("config") or {}
    task_cfg = cfg.get("task") or {}
    fingerprint = (manifest or {}).get("fingerprint") or {}
    summary = metrics.summarize([from_dict(Score, r) for r in scores], seed=int(cfg.get("seed") or 0))
    benchmark = task_cfg.get("benchmark")
    summary.update({
        "task": name, "benchmark": benchmark, "group": task_cfg.get("group"),
        "metric": f"avg@{summary.get('samples', 0)}",
        "card_model": card_column((cfg.get("model") or {}).get("card_model")),
        "card_value": card_value(str(benchmark), card_column((cfg.get("model") or {}).get("card_model"))) if benchmark else None,
        "model": (cfg.get("model") or {}).get("name"), "backend": (cfg.get("backend") or {}).get("name"),
        "deviations": [], "maj_votes": {"by": "answer string", "unresolved": 0},
    })
    if fingerprint:
        summary["protocol"] = {"samples": cfg.get("samples"), "max_tokens": fingerprint.get("max_tokens"),
                               "temperature": fingerprint.get("temperature"), "top_p": fingerprint.get("top_p"),
                               "thinking": fingerprint.get("thinking")}
    return summary


def _newest(paths) -> float:
    return max((p.stat().st_mtime for p in paths if p.exists()), default=0.0)


def load_task(path: Path) -> TaskResult:
    shards = shard_dirs(path)
    manifests = [d / MANIFEST for d in (path, *shards) if (d / MANIFEST).exists()]
    manifest = read_json_file(manifests[0]) if manifests else None
    gens, scores = merged_records(path, GENERATIONS), merged_records(path, SCORES)
    scores = store.current(gens, scores)  # a stale score never sits beside the text it did not grade
    failure = read_json_file(path / FAILURE) if (path / FAILURE).exists() else None
    result = TaskResult(path.name, path, None, manifest, generations=gens, scores=scores, failure=failure)
    summary_path = path / SUMMARY
    # shards written after the summary: the summary predates their records
    unmerged = bool(shards) and _newest(d / f for d in shards for f in (GENERATIONS, SCORES)) > _newest([summary_path])
    if unmerged:
        result.notes.append(f"{len(shards)} shards not merged yet; numbers recomputed from their scores "
                            f"(`evalsuite task={path.name} stage=report run_dir=...` without shard= merges them)")
    if summary_path.exists() and not unmerged:
        result.summary = read_json_file(summary_path)
    elif scores:
        result.summary = recompute_summary(path.name, list(scores.values()), manifest)
        if not unmerged:
            result.notes.append(f"no summary.json: recomputed from scores.jsonl ({len(scores)} scores; "
                                f"no per-group breakdown; `evalsuite task={path.name} stage=report run_dir=...` "
                                f"writes the full summary)")
    elif gens:
        result.notes.append(f"{len(gens)} generations but nothing scored yet "
                            f"(`evalsuite task={path.name} stage=score run_dir=...`)")
    elif not failure:
        result.notes.append("started but nothing generated yet")
    if failure:
        result.notes.append(("not run: " if result.summary is None else "its last attempt failed: ")
                            + str(failure.get("reason")))
    expected = result.expected_scores
    if result.summary is not None and expected and "expected_scores" not in result.summary:  # recomputed
        result.summary.update(expected_scores=expected, missing_scores=max(0, expected - len(scores)))
    if result.summary is not None and expected and len(scores) < expected:
        keys = result.summary.get("missing") or []  # "sample_id#k", as the pipeline lists them
        which = f": {', '.join(keys[:5])}{' ...' if len(keys) > 5 else ''}" if keys else ""
        result.notes.append(f"{expected - len(scores)} of {expected} scores missing{which} "
                            f"(rerun the same command to finish: it resumes)")
    return result


def scan(run_dir: str | Path) -> list[TaskResult]:
    return [load_task(p) for p in task_dirs(Path(run_dir))]


# ---------------------------------------------------------------- DataFrames

@dataclass
class RunResults:
    run_dir: Path
    samples: pd.DataFrame  # one row per (task, sample_id, k): SAMPLE_COLUMNS (+ text when asked)
    summaries: pd.DataFrame  # one row per task: the summary's scalar fields, ci_low/ci_high, variant:*
    tasks: list[TaskResult]

    def summary(self, task: str) -> dict[str, Any] | None:
        return next((t.summary for t in self.tasks if t.name == task), None)


def sample_rows(task: TaskResult, texts: bool = False) -> list[dict[str, Any]]:
    """Scores joined with their generations; a generation not scored yet has score NaN."""
    gens, scores = task.generations, task.scores
    rows = []
    for key in sorted(set(gens) | set(scores), key=lambda kk: (_natural(kk[0]), kk[1])):
        g, s = gens.get(key, {}), scores.get(key)
        row = {
            "task": task.name, "sample_id": key[0], "k": key[1],
            "extracted": s.get("extracted") if s else None,
            "score": float(s["value"]) if s else float("nan"),
            "unfinished": bool(s.get("unfinished")) if s else None,
            "truncated": bool(s.get("truncated")) if s else g.get("finish_reason") == "length",
            "tokens": g.get("tokens"), "finish_reason": g.get("finish_reason"),
            "detail": (s or {}).get("detail") or {},
        }
        if texts:
            row["text"] = g.get("text")
            row["reasoning"] = g.get("reasoning")
        rows.append(row)
    return rows


def _natural(sample_id: str) -> tuple:
    """Item ids sort as numbers when they are numbers ("2" before "10")."""
    return (0, int(sample_id), "") if sample_id.isdigit() else (1, 0, sample_id)


def summary_row(summary: dict[str, Any]) -> dict[str, Any]:
    row = {k: v for k, v in summary.items() if not isinstance(v, (dict, list))}
    ci = summary.get("ci95") or [None, None]
    row["ci_low"], row["ci_high"] = ci[0], ci[1]
    row["deviations"] = "; ".join(summary.get("deviations") or [])
    for key, value in (summary.get("protocol") or {}).items():
        row[f"protocol.{key}"] = value
    for key, value in (summary.get("breakdown") or {}).items():
        row[key] = value
    return row


def load(run_dir: str | Path, texts: bool = False) -> RunResults:
    """The run's samples and summaries as DataFrames. texts=True adds each generation's text."""
    tasks = scan(run_dir)
    rows = [r for t in tasks for r in sample_rows(t, texts)]
    columns = SAMPLE_COLUMNS + (["text", "reasoning"] if texts else [])
    samples = pd.DataFrame(rows, columns=columns)
    summaries = pd.DataFrame([summary_row(t.summary) for t in tasks if t.summary is not None])
    return RunResults(Path(run_dir), samples, summaries, tasks)


def sample_variants(detail: dict[str, Any]) -> dict[str, float]:
    """The OPEN candidates one sample's scorer recorded, by name. The shared form is
    {"variants": {name: value}} or {"variant:<name>": value}; the card's tasks also record theirs as
    LiveCodeBench's {"value_by_block": {"first": v, "last": v}, "value_timeout_12s": v} and IFBench's
    per-instruction {"strict": [bool], "loose": [bool]} (prompt level: all must pass)."""
    found: dict[str, Any] = dict(detail.get("variants") or {})
    for key, value in detail.items():
        if key.startswith("variant:"):
            found[key.split(":", 1)[1]] = value
        elif key.startswith("value_timeout_"):
            found[key.removeprefix("value_")] = value
    for block, value in (detail.get("value_by_block") or {}).items():
        found[f"{block}_block"] = value
    if isinstance(detail.get("strict"), list) and isinstance(detail.get("loose"), list):
        found["prompt_strict"] = all(detail["strict"])
        found["prompt_loose"] = all(detail["loose"])
    return {k: float(v) for k, v in found.items() if isinstance(v, (bool, int, float))}


def variant_scores(samples: pd.DataFrame) -> pd.DataFrame:
    """Per-sample results of the OPEN variants, long: task, sample_id, k, variant, value."""
    rows = [{"task": r.task, "sample_id": r.sample_id, "k": r.k, "variant": name, "value": value}
            for r in samples.itertuples(index=False) if isinstance(r.detail, dict)
            for name, value in sample_variants(r.detail).items()]
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
        module = importlib.import_module(cfg.task.module)
        samples = module.load(cfg)
    except Exception as e:  # noqa: BLE001 - the data may be gone or gated; the rest of the report stands
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        return {}, f"prompts unavailable: the task's data could not be reloaded ({first[:200]})"

    def as_item(sample) -> Item:
        item = Item(sample.id, sample.messages, sample.reference, dict(sample.meta))
        if hasattr(module, "sample_for_k"):
            item.views = lambda k: Item(sample.id, *_view(module.sample_for_k(sample, k, cfg)))
        return item

    return {s.id: as_item(s) for s in samples}, None


def _view(sample) -> tuple[list[dict[str, str]], Any, dict[str, Any]]:
    return sample.messages, sample.reference, dict(sample.meta)


def _read_items_file(path: Path) -> list[dict[str, Any]]:
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                raise UserError(f"{path}:{n}: corrupt record (not JSON)") from None
    return out
