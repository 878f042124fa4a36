"""JSONL files: the run's append-only memory keyed by (sample_id, k), and every other JSONL read.

One line rule for every JSONL file, read or written: a line ends at "\n" and nowhere else
(`LINE_END`). JSON allows U+2028, U+2029 and other characters that str.splitlines() treats as line
breaks raw inside a string, so splitting any other way cuts a valid record in two. Run files are
read by `read_records`, any other JSONL file (a data file, a responses file) by `iter_jsonl`; the
stages read generations and scores typed, one record per key (`read_generations`, `read_scores`).

A crash can leave at most a half-written last line in a run file. `repair_tail` is the one rule for
it, applied by the file's writer before it reads (`read_records(repair=True)`) and before every
append (`append_records`): a last line that lacks only its newline gets it; one that is not a whole
record is dropped with a warning, so the rerun redoes just that record and no append ever fuses with
torn bytes. A corrupt line anywhere else is not ours to guess about: it is an error naming the file
and line.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Iterable, Iterator

from evalsuite.errors import UserError
from evalsuite.types import Generation, Score, generation_from_record, score_from_record

LINE_END = b"\n"


def iter_jsonl(path: str | Path, fix: str = "fix or remove that line") -> Iterator[tuple[int, Any]]:
    """(line number, value) of each non-blank line of a JSONL file that is not a run file, read as
    it streams; a line that is not UTF-8 or not JSON is one UserError naming the file, the line and
    `fix`. Binary lines end at LINE_END only."""
    path = Path(path)
    with path.open("rb") as f:
        for n, raw in enumerate(f, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise UserError(f"{path}:{n}: not UTF-8 (byte {e.start} of the line); re-save the file as UTF-8") from None
            if not line.strip():
                continue
            try:
                yield n, json.loads(line)
            except (json.JSONDecodeError, RecursionError) as e:
                raise UserError(f"{path}:{n}: not valid JSON ({getattr(e, 'msg', type(e).__name__)}); {fix}") from None


def jsonl_lines(text: str) -> list[str]:
    """A JSONL text's lines, split at LINE_END only (for a reader that parses each line itself)."""
    return text.split(LINE_END.decode())


def _whole(line: bytes) -> bool:
    try:
        json.loads(line)
        return True
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        return False


def repair_tail(path: str | Path) -> None:
    """A run file's torn last line, left by a kill during a write (see the module doc): a last line
    that is a whole record lacking its newline gets it; anything else after the last LINE_END is
    dropped, with a warning when it held more than blanks."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return
    if size == 0:
        return
    with path.open("r+b") as f:
        f.seek(size - 1)
        if f.read(1) == LINE_END:
            return
        start, tail = 0, b""
        while len(tail) < size:  # back from the end to the last LINE_END, a block at a time
            step = min(1 << 16, size - len(tail))
            f.seek(size - len(tail) - step)
            tail = f.read(step) + tail
            cut = tail.rfind(LINE_END, 0, step)
            if cut >= 0:
                start, tail = size - len(tail) + cut + 1, tail[cut + 1:]
                break
        if tail.strip() and _whole(tail):
            f.seek(size)
            f.write(LINE_END)
            return
        if tail.strip():
            print(f"warning: {path}: dropping a half-written last line ({len(tail)} bytes) left by a crash; "
                  f"that record will be redone", file=sys.stderr)
        f.truncate(start)


def read_records(path: str | Path, repair: bool = True) -> list[dict[str, Any]]:
    """All complete records of a run file. repair=True (the file's own writer) first repairs a torn
    last line (repair_tail); repair=False (a reader of another process's file) just skips it."""
    path = Path(path)
    if not path.exists():
        return []
    if repair:
        repair_tail(path)
    data = path.read_bytes()
    records: list[dict[str, Any]] = []
    lines = data.split(LINE_END)
    # a file that ends with LINE_END splits into [..., b""]; anything else after the last one is a torn write
    complete, tail = lines[:-1], lines[-1]
    for n, line in enumerate(complete, 1):
        if not line.strip():
            continue
        try:
            records.append(check_record(json.loads(line), path, n))
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
            raise UserError(f"{path}:{n}: corrupt record (not JSON); fix or delete that line, then rerun") from None
    if tail.strip() and _whole(tail):  # a live writer's record that only lacks its newline yet
        records.append(check_record(json.loads(tail), path, len(complete) + 1))
    return records


# the fields of run files whose type the pipeline relies on (generations, scores, clamps)
FIELD_TYPES: dict[str, tuple[type, ...]] = {"sample_id": (str, int), "k": (int,), "text": (str,),
                                             "finish_reason": (str,), "value": (int, float), "graded": (str, type(None)),
                                             "reasoning": (str, type(None)), "tokens": (int, type(None)), "detail": (dict,),
                                             "scoring_error": (str, type(None)), "answer_key": (str, type(None)),
                                             "needs_judge": (str, type(None)), "graded_after": (str, type(None))}


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
    """Append and fsync: once this returns the records survive a kill -9. A torn last line left by
    an earlier kill is repaired first (repair_tail), so the new records never fuse with it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    if not payload:
        return 0
    repair_tail(path)
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


def read_generations(path: str | Path, repair: bool = True) -> dict[tuple[str, int], Generation]:
    """A generations.jsonl file, one Generation per (sample_id, k) (a later line wins). Fields other
    stages add to a record (a TIR run's `tir`) are not a Generation's: read those with read_records."""
    return {key: generation_from_record(r) for key, r in latest_by_key(read_records(path, repair)).items()}


def read_scores(path: str | Path, repair: bool = True) -> dict[tuple[str, int], Score]:
    """A scores.jsonl file, one Score per (sample_id, k) (a later line wins), older records' fields
    lifted as `score_from_record` says."""
    return {key: score_from_record(r) for key, r in latest_by_key(read_records(path, repair)).items()}


def generation_digest(g: Generation | dict[str, Any]) -> str:
    """Which generation a score graded (a score's `graded`): its text, reasoning and finish reason."""
    import hashlib

    parts = ((g.get("text"), g.get("reasoning"), g.get("finish_reason")) if isinstance(g, dict)
             else (g.text, g.reasoning, g.finish_reason))
    h = hashlib.sha256()
    for part in parts:
        h.update(str(part or "").encode("utf-8", "surrogatepass") + b"\0")
    return h.hexdigest()[:16]


def current(generations: dict[tuple[str, int], Generation],
            scores: dict[tuple[str, int], Score]) -> dict[tuple[str, int], Score]:
    """The scores that graded the generation stored now for their key. A score of a generation
    since regenerated, changed or failed (finish_reason=error), or one without a digest (written
    before scores recorded it), is stale: never counted, and re-graded by the next score stage."""
    return {key: s for key, s in scores.items()
            if key in generations and generations[key].finish_reason != "error"
            and s.graded == generation_digest(generations[key])}


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
