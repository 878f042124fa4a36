"""Where a task's rows come from: the hub (pinned revision), a local file, or the bundled sample set.

`cfg.data.source` picks: `hub` (default), `sample` (`data=sample`), and `data.path=FILE` always wins
(jsonl, json, parquet or csv in the dataset's own schema). `data_dir=DIR` (a directory made by
`evalsuite prepare`, evalsuite/prepare.py) serves the hub's part from local copies, checked
against their sha256, with hub clients offline. Every failure is one UserError line that names the
dataset and the local override.
"""
from __future__ import annotations

import csv
import json
import os
import sys
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
            from evalsuite.store import iter_jsonl

            return [_row(row, f"{path}:{n}") for n, row in iter_jsonl(path)]
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


# ---------------------------------------------------------------- the hub, reachable or not

OFFLINE_HINT = "or `evalsuite prepare ... data_dir=DIR` where the hub is reachable, then data_dir=DIR here"
_REACHABLE: dict[str, bool] = {}


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def hub_reachable(timeout_s: float = 5.0) -> bool:
    """One HEAD request to the hub's endpoint (proxies honoured), remembered for the process."""
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    if endpoint not in _REACHABLE:
        import urllib.error
        import urllib.request

        try:
            urllib.request.urlopen(urllib.request.Request(endpoint, method="HEAD"), timeout=timeout_s).close()
            _REACHABLE[endpoint] = True
        except urllib.error.HTTPError:  # it answered, if with an error status
            _REACHABLE[endpoint] = True
        except (OSError, ValueError):
            _REACHABLE[endpoint] = False
    return _REACHABLE[endpoint]


def go_offline() -> None:
    """Hub clients in this process stop reaching out: a lookup is served from the local cache or
    fails at once (unreachable, they retry for about 25 s per dataset and 50 s per tokenizer)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    for module in ("huggingface_hub.constants", "datasets.config"):  # already imported: they read it once
        if module in sys.modules:
            setattr(sys.modules[module], "HF_HUB_OFFLINE", True)


def ensure_fast_hub_failures() -> str | None:
    """Offline mode when the hub cannot be reached from here; returns the line that says so."""
    if hub_offline() or hub_reachable():
        return None
    go_offline()
    return ("the Hugging Face hub is not reachable from here: hub datasets and models come from the local "
            "cache only (HF_HUB_OFFLINE=1)")


def hub_token() -> str | None:
    """The token hub clients would send (HF_TOKEN or a `huggingface-cli login`), if any."""
    try:
        from huggingface_hub import get_token

        return get_token()
    except ImportError:
        return os.environ.get("HF_TOKEN") or None


def column_problem(row: dict[str, Any], text: tuple[str, ...], present: tuple[str, ...] = ()) -> str | None:
    """Why a row cannot give a task what it reads, for the task's one-line error: the first column
    missing (of `text`, which must hold text, and `present`, any value), or a `text` column holding
    something else (a csv or parquet column of numbers), named with its type and value. None: fine."""
    for name in (*text, *present):
        if row.get(name) is None:
            return f"column {name!r} is missing (columns: {', '.join(map(str, sorted(row))) or 'none'})"
    for name in text:
        if not isinstance(row[name], str):
            return f"column {name!r} holds {type(row[name]).__name__} {str(row[name])[:40]!r}, not text"
    return None


def _row(row: Any, where: str) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise UserError(f"{where}: a row must be a JSON object of the dataset's columns, not {type(row).__name__}; "
                        f"fix or remove it")
    return row


def load_from_hub(dataset: Any) -> list[dict[str, Any]]:
    """datasets.load_dataset at the pinned revision; network/gating failures become one line."""
    return [dict(r) for r in hub_dataset(dataset)]


def hub_dataset(dataset: Any):
    """The `datasets.Dataset` of the split at the pinned revision (a local directory in the hub's
    layout works too); every failure is one UserError line naming the dataset and the fixes."""
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
        gated_words = any(w in text.lower() for w in ("gated", "401", "403", "authenticat", "token"))
        if dataset.get("gated") and not os.path.isdir(hub_id) and (gated_words or hub_token() is None):
            why = "is gated" if hub_token() else "is gated and no Hugging Face token is set"
            raise UserError(
                f"{hub_id} {why}: accept its terms on the hub page and set HF_TOKEN (or `huggingface-cli login`), "
                f"or pass data.path=FILE with a local copy"
            ) from None
        first = text.strip().splitlines()[0][:200] if text.strip() else type(e).__name__
        raise UserError(
            f"cannot load {hub_id} (split {dataset.split}, revision {dataset.get('revision')}) from the hub: {first}; "
            f"pass data.path=FILE (jsonl/parquet/csv in the same schema) or data=sample, {OFFLINE_HINT}"
        ) from None
    if not os.path.isdir(hub_id):
        RESOLVED_REVISIONS[hub_id] = _resolved_sha(hub_id, dataset.get("revision"))
    return ds


# hub id -> the commit sha a branch/tag name resolved to when the data was loaded (run.json records it,
# so a `revision: main` run can still be traced to the exact files it read)
RESOLVED_REVISIONS: dict[str, str | None] = {}


def _resolved_sha(hub_id: str, revision: str | None) -> str | None:
    if hub_offline():
        return None
    try:
        from huggingface_hub import HfApi

        return HfApi().dataset_info(hub_id, revision=revision, timeout=10).sha
    except Exception:  # offline with a cached copy, or an old hub client: the configured revision stands
        return None


# ---------------------------------------------------------------- data_dir: what `evalsuite prepare` fetched

PREPARED = "manifest.json"
_VERIFIED: set[tuple[str, str]] = set()  # (file, sha256) already checked in this process


def read_prepared(data_dir: str | Path) -> dict[str, Any]:
    path = Path(data_dir).expanduser() / PREPARED
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"data_dir {data_dir} has no {PREPARED}; make it with `evalsuite prepare suite=... "
                        f"data_dir={data_dir}` where the hub is reachable") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UserError(f"{path} is corrupt; run `evalsuite prepare ... data_dir={data_dir}` again") from None


def sha256_file(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 24), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_files(root: Path, files: dict[str, dict[str, Any]], full: bool = True) -> None:
    """Every file of a prepared entry present with its recorded size and (full) sha256. A model's
    snapshot is checked by size only: hashing 60 GB would add a minute to every run's start
    (`sha256sum -c SHA256SUMS` checks it all)."""
    for rel, facts in files.items():
        path = root / rel
        if (str(path), facts["sha256"]) in _VERIFIED:
            continue
        if not path.is_file():
            raise UserError(f"{path} is missing from data_dir; copy the whole directory, or run prepare again")
        if path.stat().st_size != facts["bytes"] or (full and sha256_file(path) != facts["sha256"]):
            raise UserError(f"{path} does not match its sha256 in {root / PREPARED} (damaged or changed); "
                            f"run `evalsuite prepare ... data_dir={root}` again")
        _VERIFIED.add((str(path), facts["sha256"]))


def dataset_key(dataset: Any) -> dict[str, Any]:
    """What a prepared copy must match: the dataset at the revision the task pins."""
    return {k: dataset.get(k) for k in ("hub_id", "config", "split", "revision")}


def prepared_dataset(cfg: Any) -> Any:
    """The task's dataset as a local directory of data_dir (its files checked), for the hub loader."""
    from omegaconf import OmegaConf

    root = Path(str(cfg.data_dir)).expanduser()
    dataset = cfg.task.dataset
    entry = (read_prepared(root).get("datasets") or {}).get(str(cfg.task.name)) or {}
    want = dataset_key(dataset)
    if entry.get("kind") != "hub" or {k: entry.get(k) for k in want} != want:
        raise UserError(f"data_dir {root} holds no copy of {dataset.hub_id} ({dataset.get('config') or 'default'}/"
                        f"{dataset.split} at revision {dataset.get('revision')}) for task {cfg.task.name}; run "
                        f"`evalsuite prepare task={cfg.task.name} data_dir={root}` where the hub is reachable")
    verify_files(root, entry["files"])
    RESOLVED_REVISIONS[dataset.hub_id] = entry.get("resolved_sha")
    return OmegaConf.create({"hub_id": str(root / entry["dir"]), "config": None, "split": dataset.split,
                             "revision": None, "gated": False})


def model_key(model_cfg: Any) -> str:
    return f"{model_cfg.path}@{model_cfg.get('revision')}"


def use_data_dir(cfg: Any) -> None:
    """A run with data_dir=DIR: hub clients go offline, and the model comes from DIR when prepare
    fetched its snapshot (`prepare.model=true`)."""
    from omegaconf import OmegaConf

    root = Path(str(cfg.data_dir)).expanduser()
    model = (read_prepared(root).get("models") or {}).get(model_key(cfg.model))
    go_offline()
    if model:
        verify_files(root, model["files"], full=False)
        OmegaConf.update(cfg, "model.path", str(root / model["dir"]))


def data_dir_facts(cfg: Any) -> dict[str, Any] | None:
    """What run.json says about a run made from data_dir: no network, where data and model came from."""
    if not cfg.get("data_dir"):
        return None
    root = Path(str(cfg.data_dir)).expanduser()
    return {"data_dir": str(root), "network": "none: hub clients offline (HF_HUB_OFFLINE=1), data from data_dir",
            "model_from_data_dir": Path(str(cfg.model.path)).expanduser().is_relative_to(root),
            "prepared": read_prepared(root).get("prepared")}


# ---------------------------------------------------------------- a dataset's own files beside its split

def dataset_file(cfg: Any, name: str) -> Path:
    """One file of the task's dataset repository that is not its split (AA-LCR's document archive,
    WMT24++'s per-language files), as a local path: `task.dataset.sample_files/NAME` under
    tasks/samples for data=sample, the copy `evalsuite prepare` checked into data_dir, or the hub's
    file at the pinned revision. Every failure is one line naming the file and the fix."""
    dataset = cfg.task.dataset
    if cfg.data.get("source") == "sample" and not cfg.data.get("path"):
        folder = dataset.get("sample_files")
        if not folder:
            raise UserError(f"task {cfg.task.name} ships no sample files; use data=hub")
        path = SAMPLES_DIR / str(folder) / name
        if not path.is_file():
            raise UserError(f"{path}: the sample set has no file {name!r}")
        return path
    if cfg.get("data_dir"):
        root = Path(str(cfg.data_dir)).expanduser()
        entry = (read_prepared(root).get("datasets") or {}).get(str(cfg.task.name)) or {}
        rel = (entry.get("dataset_files") or {}).get(name)
        if rel is None:
            raise UserError(f"data_dir {root} holds no {name} of {dataset.hub_id} for task {cfg.task.name}; run "
                            f"`evalsuite prepare task={cfg.task.name} data_dir={root}` where the hub is reachable")
        verify_files(root, {rel: entry["files"][rel]})
        return root / rel
    return hub_file(dataset, name)


def hub_file(dataset: Any, name: str) -> Path:
    """hf_hub_download of one file of the dataset repository at the pinned revision (cached); a
    local directory in the hub's layout works too. A dataset whose files live in another repository
    (SciCode's test_data.h5) names it as `files_repo` (and `files_revision`)."""
    if dataset.get("files_repo"):
        from omegaconf import OmegaConf

        dataset = OmegaConf.create({"hub_id": str(dataset.files_repo), "revision": dataset.get("files_revision")})
    local = Path(str(dataset.hub_id)).expanduser()
    if local.is_dir():
        if not (local / name).is_file():
            raise UserError(f"{local / name} not found: the dataset directory has no {name}")
        return local / name
    try:
        from huggingface_hub import hf_hub_download

        return Path(hf_hub_download(str(dataset.hub_id), name, repo_type="dataset", revision=dataset.get("revision")))
    except Exception as e:  # noqa: BLE001 - network, gating, a missing file: one line
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
        raise UserError(f"cannot fetch {name} of {dataset.hub_id} (revision {dataset.get('revision')}) from the hub: "
                        f"{first}; {OFFLINE_HINT}") from None


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
        return hub_loader(prepared_dataset(cfg) if cfg.get("data_dir") else dataset)
    raise UserError(f"unknown data.source {source!r}; use data=hub, data=sample or data.path=FILE")
