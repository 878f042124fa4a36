"""Append-only JSONL files keyed by (sample_id, k): the run's memory.

A crash can leave at most a half-written last line; reading repairs that (truncates it, with a
warning) so the rerun regenerates just that record. A corrupt line anywhere else is not ours to
guess about: it is an error naming the file and line.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Iterable

from evalsuite.errors import UserError


def read_records(path: str | Path, repair: bool = True) -> list[dict[str, Any]]:
    """All complete records. repair=True (the file's own writer) truncates a torn last line;
    repair=False (a reader of another process's file) just skips it."""
    path = Path(path)
    if not path.exists():
        return []
    data = path.read_bytes()
    records: list[dict[str, Any]] = []
    lines = data.split(b"\n")
    # a file that ends with "\n" splits into [..., b""]; anything else after the last newline is a torn write
    complete, tail = lines[:-1], lines[-1]
    for n, line in enumerate(complete, 1):
        if not line.strip():
            continue
        try:
            records.append(check_record(json.loads(line), path, n))
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
            raise UserError(f"{path}:{n}: corrupt record (not JSON); fix or delete that line, then rerun") from None
    if tail.strip():
        try:
            records.append(check_record(json.loads(tail), path, len(complete) + 1))  # only lacks its newline
            if repair:
                with path.open("ab") as f:
                    f.write(b"\n")
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
            if not repair:  # a reader beside a live writer (status, merge): leave the file alone
                return records
            print(f"warning: {path}: dropping a half-written last line ({len(tail)} bytes) left by a crash; "
                  f"that record will be redone", file=sys.stderr)
            with path.open("r+b") as f:
                f.truncate(len(data) - len(tail))
    return records


# the fields of run files whose type the pipeline relies on (generations, scores, clamps)
FIELD_TYPES: dict[str, tuple[type, ...]] = {"sample_id": (str, int), "k": (int,), "text": (str,),
                                             "finish_reason": (str,), "value": (int, float), "graded": (str, type(None)),
                                             "reasoning": (str, type(None)), "tokens": (int, type(None)), "detail": (dict,)}


def check_record(record: Any, path: Path, n: int) -> dict[str, Any]:
    """A record as the pipeline wrote it: a JSON object whose known fields have their types."""
    if not isinstance(record, dict):
        raise UserError(f"{path}:{n}: a record must be a JSON object, not {type(record).__name__}; "
                        f"fix or delete that line, then rerun")
    for key, types in FIELD_TYPES.items():
        value = record.get(key)
        if key in record and (not isinstance(value, types) or (isinstance(value, bool) and bool not in types)):
            raise UserError(f"{path}:{n}: field {key!r} is {type(value).__name__} {str(value)[:40]!r}, "
                            f"expected {' or '.join(t.__name__ for t in types)}; fix or delete that line, then rerun")
    if "sample_id" in record and record.get("k", -1) < 0:
        raise UserError(f"{path}:{n}: a record with sample_id needs k >= 0; fix or delete that line, then rerun")
    return record


def append_records(path: str | Path, records: Iterable[dict[str, Any]]) -> int:
    """Append and fsync: once this returns the records survive a kill -9."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    if not payload:
        return 0
    with path.open("a", encoding="utf-8") as f:
        f.write(payload)
        f.flush()
        os.fsync(f.fileno())
    return payload.count("\n")


def latest_by_key(records: Iterable[dict[str, Any]]) -> dict[tuple[str, int], dict[str, Any]]:
    """One record per (sample_id, k); a later line wins (re-scoring appends, never rewrites)."""
    out: dict[tuple[str, int], dict[str, Any]] = {}
    for r in records:
        if "sample_id" not in r or "k" not in r:
            raise UserError(f"a run record without sample_id and k: {json.dumps(r)[:80]}; "
                            f"fix or delete that line of the run's .jsonl files, then rerun")
        out[(str(r["sample_id"]), int(r["k"]))] = r
    return out


def generation_digest(g: dict[str, Any]) -> str:
    """Which generation a score graded (a score's `graded`): its text, reasoning and finish reason."""
    import hashlib

    h = hashlib.sha256()
    for part in (g.get("text"), g.get("reasoning"), g.get("finish_reason")):
        h.update(str(part or "").encode("utf-8", "surrogatepass") + b"\0")
    return h.hexdigest()[:16]


def current(generations: dict[tuple[str, int], dict[str, Any]],
            scores: dict[tuple[str, int], dict[str, Any]]) -> dict[tuple[str, int], dict[str, Any]]:
    """The scores that graded the generation stored now for their key. A score of a generation
    since regenerated, changed or failed (finish_reason=error), or one without a digest (written
    before scores recorded it), is stale: never counted, and re-graded by the next score stage."""
    return {key: s for key, s in scores.items()
            if key in generations and generations[key].get("finish_reason") != "error"
            and s.get("graded") == generation_digest(generations[key])}


def write_json(path: str | Path, obj: Any) -> None:
    """Whole-file JSON written atomically (summaries, manifests)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_json(path: str | Path, expect: type | None = None) -> Any:
    """A whole-file JSON run file; `expect=dict` also refuses one of the wrong shape."""
    path = Path(path)
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path} not found: run the earlier stage first (stage=generate or stage=score)") from None
    except json.JSONDecodeError as e:
        raise UserError(f"{path}: corrupt JSON ({e.msg} at line {e.lineno}); delete it and rerun stage=score") from None
    except (UnicodeDecodeError, RecursionError) as e:
        raise UserError(f"{path}: unreadable ({type(e).__name__}); delete it and rerun stage=score") from None
    if expect is not None and not isinstance(value, expect):
        raise UserError(f"{path}: expected a JSON {'object' if expect is dict else expect.__name__}, found "
                        f"{type(value).__name__}; it was not written by evalsuite: delete it and rerun")
    return value


def unwritable(directory: str | Path) -> str | None:
    """Why files cannot be written in `directory` (created if missing), or None when they can."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        return f"{e.strerror or e}: {e.filename or directory}"
    return None
