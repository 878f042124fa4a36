"""Where a task's rows come from: the hub (pinned revision), a local file, or the bundled sample set.

`cfg.data.source` picks: `hub` (default), `sample` (`data=sample`), and `data.path=FILE` always wins
(jsonl, json, parquet or csv in the dataset's own schema). Every failure is one UserError line that
names the dataset and the local override.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Callable

from evalsuite.errors import UserError

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "tasks" / "samples"


def read_table(path: str | Path) -> list[dict[str, Any]]:
    """Rows of a local jsonl/json/parquet/csv file."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise UserError(f"data.path={path} is a directory; give one file (.jsonl, .json, .parquet or .csv)")
    if not path.is_file():
        raise UserError(f"data file not found: {path} (check data.path=...)")
    suffix = path.suffix.lower()
    try:
        if suffix in (".jsonl", ".ndjson"):
            rows = []
            with path.open(encoding="utf-8") as f:
                for n, line in enumerate(f, 1):
                    if line.strip():
                        try:
                            rows.append(_row(json.loads(line), f"{path}:{n}"))
                        except json.JSONDecodeError as e:
                            raise UserError(f"{path}:{n}: not valid JSON ({e.msg}); fix or remove that line") from None
            return rows
        if suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, dict):  # {"rows": [...]} or {"train": [...]} style dumps
                data = next((v for v in data.values() if isinstance(v, list)), None)
            if not isinstance(data, list):
                raise UserError(f"{path}: expected a JSON list of rows")
            return [_row(row, f"{path} row {n}") for n, row in enumerate(data, 1)]
        if suffix == ".parquet":
            import pandas as pd

            return pd.read_parquet(path).to_dict(orient="records")
        if suffix == ".csv":
            with path.open(encoding="utf-8", newline="") as f:
                return list(csv.DictReader(f))
    except UserError:
        raise
    except Exception as e:  # a corrupt parquet/csv: say which file, not a traceback
        raise UserError(f"cannot read {path}: {type(e).__name__}: {e}") from None
    raise UserError(f"{path}: unsupported file type {suffix!r}; use .jsonl, .json, .parquet or .csv")


def _row(row: Any, where: str) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise UserError(f"{where}: a row must be a JSON object of the dataset's columns, not {type(row).__name__}; "
                        f"fix or remove it")
    return row


def load_from_hub(dataset: Any) -> list[dict[str, Any]]:
    """datasets.load_dataset at the pinned revision; network/gating failures become one line."""
    hub_id = dataset.hub_id
    import logging

    for name in ("datasets", "huggingface_hub", "fsspec"):  # their retry chatter would bury our one line
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        import datasets

        datasets.utils.logging.set_verbosity_error()
        try:
            from huggingface_hub.utils import logging as hub_logging

            hub_logging.set_verbosity_error()
        except ImportError:
            pass
        ds = datasets.load_dataset(hub_id, dataset.get("config"), split=dataset.split,
                                   revision=dataset.get("revision"))
    except Exception as e:
        text = f"{type(e).__name__}: {e}"
        if dataset.get("gated") and any(w in text.lower() for w in ("gated", "401", "403", "authenticat", "token")):
            raise UserError(
                f"{hub_id} is gated: accept its terms on the hub page and set HF_TOKEN (or `huggingface-cli login`), "
                f"or pass data.path=FILE with a local copy"
            ) from None
        first = text.strip().splitlines()[0][:200] if text.strip() else type(e).__name__
        raise UserError(
            f"cannot load {hub_id} (split {dataset.split}, revision {dataset.get('revision')}) from the hub: {first}; "
            f"pass data.path=FILE (jsonl/parquet/csv in the same schema) or data=sample"
        ) from None
    RESOLVED_REVISIONS[hub_id] = _resolved_sha(hub_id, dataset.get("revision"))
    return [dict(r) for r in ds]


# hub id -> the commit sha a branch/tag name resolved to when the data was loaded (run.json records it,
# so a `revision: main` run can still be traced to the exact files it read)
RESOLVED_REVISIONS: dict[str, str | None] = {}


def _resolved_sha(hub_id: str, revision: str | None) -> str | None:
    try:
        from huggingface_hub import HfApi

        return HfApi().dataset_info(hub_id, revision=revision, timeout=10).sha
    except Exception:  # offline with a cached copy, or an old hub client: the configured revision stands
        return None


def load_rows(cfg: Any, hub_loader: Callable[[Any], list[dict[str, Any]]] = load_from_hub) -> list[dict[str, Any]]:
    """The task's raw rows according to cfg.data; `hub_loader` lets a task with unusual hub files
    (LiveCodeBench's release files, ...) replace only the hub step."""
    dataset = cfg.task.dataset
    if cfg.data.get("path"):
        return read_table(cfg.data.path)
    source = cfg.data.get("source", "hub")
    if source == "sample":
        if not dataset.get("sample"):
            raise UserError(f"task {cfg.task.name} ships no sample set; use data=hub or data.path=FILE")
        return read_table(SAMPLES_DIR / dataset.sample)
    if source == "hub":
        return hub_loader(dataset)
    raise UserError(f"unknown data.source {source!r}; use data=hub, data=sample or data.path=FILE")
