"""`evalsuite prepare`: every input of a run fetched into one directory, for compute nodes that
cannot reach the hub (a login node usually can).

    evalsuite prepare suite=card data_dir=/shared/evalsuite-data                     # the datasets
    evalsuite prepare suite=card data_dir=/shared/evalsuite-data prepare.model=true  # + the model
    evalsuite suite=card model=nemotron-cascade-2 backend=vllm data_dir=/shared/evalsuite-data   # offline

Each hub dataset is stored as its split at the revision the task pins (`data/<task>/<split>.parquet`,
the dataset's own columns), with the repository's other files the task reads (`task.dataset.files`:
AA-LCR's document archive, WMT24++'s per-language files) under `data/<task>/files/`, beside its
card (`DATASET_CARD.md`); the model, when asked, as its
snapshot (`models/<org>--<name>/`). `manifest.json` records per task the dataset asked for, the
commit its revision resolved to, every file's sha256 and size, the row count, the licence its card
states and its gating; `SHA256SUMS` the same checksums for `sha256sum -c`. Preparing into an
existing directory adds to it. A run with `data_dir=` reads only from there (each file checked
against its sha256) with hub clients offline, and its run.json says so.
"""
from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from evalsuite import data, store
from evalsuite.config import task_configs
from evalsuite.errors import UserError

def file_facts(root: Path, paths: list[Path]) -> dict[str, dict[str, Any]]:
    return {str(p.relative_to(root)): {"sha256": data.sha256_file(p), "bytes": p.stat().st_size} for p in sorted(paths)}


def dataset_card(dataset: Any) -> Path | None:
    """The dataset's README.md (its card: licence, terms) at the pinned revision, if it has one."""
    local = Path(str(dataset.hub_id)) / "README.md"
    if local.is_file():
        return local
    try:
        from huggingface_hub import hf_hub_download

        return Path(hf_hub_download(str(dataset.hub_id), "README.md", repo_type="dataset",
                                    revision=dataset.get("revision")))
    except Exception:  # noqa: BLE001 - a dataset without a card still prepares; the manifest says so
        return None


def card_license(card: Path | None) -> str:
    if card is None:
        return "not stated (the dataset has no card)"
    try:
        from huggingface_hub import DatasetCard

        found = DatasetCard.load(card).data.get("license")
    except Exception:  # noqa: BLE001 - a card whose metadata does not parse
        found = None
    if isinstance(found, list):
        found = ", ".join(map(str, found))
    return str(found) if found else "not stated on its card"


def gating_note(dataset: Any) -> str:
    if dataset.get("gated"):
        return (f"gated on the hub: whoever uses this copy must have accepted its terms on "
                f"https://huggingface.co/datasets/{dataset.hub_id}; do not publish the copy")
    return "not gated"


def prepare_dataset(cfg: DictConfig, root: Path) -> dict[str, Any]:
    """One task's entry of the manifest; the hub dataset's split written to data/<task>/."""
    dataset = cfg.task.get("dataset")
    if not dataset:
        return {"kind": "generated", "note": "built from the model's tokenizer at run time: nothing to fetch "
                                             "(the tokenizer comes with the model: prepare.model=true)"}
    if cfg.data.get("path"):
        return {"kind": "local file", "path": str(cfg.data.path),
                "note": "data.path is read as given: make the file reachable on the compute node"}
    if cfg.data.get("source") == "sample":
        return {"kind": "bundled sample", "note": "ships with evalsuite: nothing to fetch"}
    ds = data.hub_dataset(dataset) if dataset.get("split") else None
    out = root / "data" / str(cfg.task.name)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    files = []
    if ds is not None:
        split_file = out / f"{dataset.split}.parquet"
        ds.to_parquet(str(split_file))
        files.append(split_file)
    extra = {}  # the repository's other files the task reads (data.dataset_file): fetched and checksummed too
    for name in dataset.get("files") or []:
        target = out / "files" / str(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        files.append(Path(shutil.copyfile(data.hub_file(dataset, str(name)), target)))
        extra[str(name)] = str(target.relative_to(root))
    card = dataset_card(dataset)
    if card is not None:  # not README.md: a card's `configs:` would redirect the local loader
        files.append(Path(shutil.copyfile(card, out / "DATASET_CARD.md")))
    return {"kind": "hub", **data.dataset_key(dataset), "resolved_sha": data.RESOLVED_REVISIONS.get(dataset.hub_id),
            "dir": str(out.relative_to(root)), "files": file_facts(root, files), "rows": len(ds) if ds is not None else 0,
            "dataset_files": extra, "license": card_license(card), "gated": bool(dataset.get("gated")),
            "note": gating_note(dataset)}


def prepare_harness(cfg: DictConfig) -> dict[str, Any] | None:
    """An agentic task's official harness, installed into its own venv under data_dir/harnesses
    (evalsuite/agentic.py); None for a task without one."""
    from evalsuite.task import resolve

    spec = resolve(cfg)
    if spec.harness is None:
        return None
    from evalsuite import agentic

    facts = agentic.install_venv(cfg, spec.harness)
    return {"kind": "harness", "name": spec.harness.name, "version": spec.harness.version, **facts,
            "note": f"{spec.harness.name} {spec.harness.version} in its own venv {facts['dir']}"}


def prepare_model(model_cfg: Any, root: Path) -> dict[str, Any]:
    """The model's snapshot (weights, config, tokenizer, remote code) under models/."""
    from evalsuite.embedded import resolve_model_path

    source = resolve_model_path(str(model_cfg.path))
    out = root / "models" / str(model_cfg.path).strip("/").replace("/", "--").replace(":", "-")
    if Path(source).is_dir():  # a local directory: copied, so the compute node need not see it
        if out.exists():
            shutil.rmtree(out)
        shutil.copytree(source, out)
    else:
        try:
            from huggingface_hub import snapshot_download

            snapshot_download(source, revision=model_cfg.get("revision"), local_dir=str(out))
        except Exception as e:  # noqa: BLE001 - network, gating, an unknown id: one line
            first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
            raise UserError(f"cannot download the model {source!r}: {first}; check model.path and HF_TOKEN") from None
    files = [p for p in out.rglob("*") if p.is_file() and ".cache" not in p.relative_to(out).parts]
    return {"hub_id": str(model_cfg.path), "revision": model_cfg.get("revision"), "dir": str(out.relative_to(root)),
            "files": file_facts(root, files)}


def write_checksums(root: Path, manifest: dict[str, Any]) -> None:
    entries = [*(manifest.get("datasets") or {}).values(), *(manifest.get("models") or {}).values()]
    lines = sorted(f"{facts['sha256']}  {rel}" for e in entries for rel, facts in (e.get("files") or {}).items())
    (root / "SHA256SUMS").write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def prepare(cfgs: list[DictConfig], root: Path, with_model: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """Fetches every task's data (and the model); returns the manifest and {task: why it failed}."""
    root.mkdir(parents=True, exist_ok=True)
    manifest = data.read_prepared(root) if (root / data.PREPARED).exists() else {}
    manifest.setdefault("datasets", {})
    manifest.setdefault("models", {})
    failures: dict[str, str] = {}
    for cfg in cfgs:
        name = str(cfg.task.name)
        t0 = time.perf_counter()
        try:
            entry = prepare_harness(cfg) or prepare_dataset(cfg, root)
        except UserError as e:
            failures[name] = str(e)
            print(f"[{name}] not prepared: {e}", file=sys.stderr)
            continue
        manifest["datasets"][name] = entry
        what = f"{entry['rows']} rows, licence {entry['license']}, {entry['note']}" if entry["kind"] == "hub" else entry["note"]
        print(f"[{name}] {entry['kind']}: {what} ({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    if with_model:
        model = cfgs[0].model
        try:
            manifest["models"][data.model_key(model)] = prepare_model(model, root)
            print(f"[model] {model.path}: snapshot in {manifest['models'][data.model_key(model)]['dir']}", file=sys.stderr)
        except UserError as e:
            failures["model"] = str(e)
            print(f"[model] not prepared: {e}", file=sys.stderr)
    manifest.update(prepared=time.strftime("%Y-%m-%dT%H:%M:%S%z"), format=1, evalsuite=_version())
    store.write_json(root / data.PREPARED, manifest)
    write_checksums(root, manifest)
    return manifest, failures


def _version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("evalsuite")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def prepare_run(cfg: DictConfig, overrides: list[str]) -> int:
    """`evalsuite prepare OVERRIDES` (its arguments checked by the CLI): 0 when everything was
    fetched, 3 when some of it could not be."""
    cfgs = task_configs(cfg, overrides)
    offline = data.ensure_fast_hub_failures()
    if offline:
        print(f"note: {offline}", file=sys.stderr)
    root = Path(str(cfg.data_dir)).expanduser()
    manifest, failures = prepare(cfgs, root, bool(cfg.prepare.model))
    print(f"prepared: {root} ({len(manifest['datasets'])} tasks, {len(manifest['models'])} models; "
          f"manifest.json, SHA256SUMS)")
    if failures:
        print(f"not prepared: {', '.join(failures)}; fix the causes above and run the same command again",
              file=sys.stderr)
        return 3
    return 0
