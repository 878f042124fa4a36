"""IFBench: precise instruction following, 58 out-of-distribution constraints (allenai/IFBench).

Rows: key, prompt, instruction_id_list, kwargs (one dict per instruction; nulls dropped). The prompt
is the user turn as is. Each instruction is checked by `tasks.ifbench_checkers` (the official
checkers' semantics) on the answer after </think>, exactly as the official scorer does: strict on
the answer as it is (not stripped), loose if any of 8 variants passes (the answer; without `*`;
without its first line, last line, or both, each of those stripped; each of those without `*`); an
answer that is empty or blank follows nothing. The headline is prompt-level loose (all of a
prompt's instructions pass); the variants carry the other three official numbers and, as an OPEN
choice, prompt-level loose with the corrected rules (`ifbench_checkers.CORRECTED`).

Versions (`data.version`): 294 (default, the card's: the file before its 2026-04-11 fix) or 300
(the fixed file, 58 ids). The hub serves only the current file, so the version is checked against
the number of rows and a mismatch is an error naming the fix, never a silent swap.
"""
from __future__ import annotations

import sys
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from evalsuite import nltk_data
from evalsuite.data import column_problem, load_rows
from evalsuite.errors import UserError
from evalsuite.metrics import item_mean
from evalsuite.store import iter_jsonl
from evalsuite.task import TaskSpec
from evalsuite.types import Breakdown, Figures, Grade, Sample, Score
from tasks.ifbench_checkers import CORRECTED, PINNED_LIBRARIES, build_checker, installed_libraries, library_mismatch

VERSIONS = (294, 300)
DEFAULT_VERSION = 294


@dataclass
class Instruction:
    id: str
    kwargs: dict


def instructions_of(sample: Sample) -> list[Instruction]:
    return [Instruction(i, kw) for i, kw in zip(sample.reference["instruction_id_list"], sample.reference["kwargs"])]


def _version(cfg) -> int:
    raw = cfg.data.get("version")
    if raw is None:
        return DEFAULT_VERSION
    try:
        version = int(raw)
    except (TypeError, ValueError):
        version = None
    if version not in VERSIONS:
        raise UserError(f"ifbench: data.version={raw!r} is not a known release; use data.version=294 (the card's) or 300")
    return version


def _where(cfg) -> str:
    if cfg.data.get("path"):
        return str(cfg.data.path)
    dataset = cfg.task.dataset
    return f"{dataset.hub_id} (revision {dataset.get('revision')})"


def _kwargs_list(value, n: int, key: str) -> list[dict]:
    if isinstance(value, str):  # some exports keep kwargs as a JSON string
        import json

        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise UserError(f"ifbench row {key}: kwargs is not a list of dicts nor JSON for one") from None
    if not isinstance(value, list) or len(value) != n or not all(isinstance(kw, dict) for kw in value):
        raise UserError(f"ifbench row {key}: needs one kwargs dict per instruction id ({n}); got {value!r:.80}")
    return [{k: v for k, v in kw.items() if v is not None} for kw in value]


@lru_cache(maxsize=1)
def warn_unpinned_libraries() -> None:
    """One warning line per process when a checker library is not at the official lock's version:
    the run goes on (its verdicts are recorded with the versions in run.json), the line says the fix."""
    mismatch = library_mismatch(installed_libraries())
    if mismatch:
        print(f"warning: {mismatch}", file=sys.stderr)


def scoring_environment(cfg) -> dict:
    """What the checkers ran with, for run.json: each library's installed and pinned version, and the
    Unicode version of Python's unicodedata (the ASCII folding of custom:* checkers reads it)."""
    return {"checker_libraries": installed_libraries(), "pinned_libraries": dict(PINNED_LIBRARIES),
            "unicodedata": unicodedata.unidata_version}


def load(cfg) -> list[Sample]:
    nltk_data.require()  # before any generation: the checkers cannot run without it
    warn_unpinned_libraries()
    rows = load_rows(cfg)
    version = _version(cfg)
    # The hub file must be the asked release; a local file may also be a subset of one (any other
    # row count), but a full file of the other release is the same mistake as on the hub.
    if cfg.data.get("path"):
        mismatch = len(rows) in VERSIONS and len(rows) != version
    else:
        mismatch = cfg.data.get("source", "hub") == "hub" and len(rows) != version
    if mismatch:
        hint = ("the hub now serves the fixed 300-row file: pass data.path=IFBench_test.294.jsonl (the card's version, "
                "from the allenai/IFBench repository's history) or data.version=300"
                if version == 294 else "pass data.path=FILE with the 300-row file or data.version=294")
        raise UserError(f"ifbench: data.version={version} expects {version} rows but {_where(cfg)} has {len(rows)}; {hint}")
    samples = []
    for n, row in enumerate(rows, 1):
        key = str(row.get("key", n))
        prompt, ids = row.get("prompt"), row.get("instruction_id_list")
        why = column_problem(row, ("prompt",), ("instruction_id_list",))
        if why or not isinstance(ids, (list, tuple)) or not ids:
            raise UserError(f"ifbench row {key}: {why or 'instruction_id_list is not a non-empty list'}; each row "
                            f"needs 'prompt' (text) and a non-empty 'instruction_id_list'")
        ids = [str(i) for i in ids]
        kwargs = _kwargs_list(row.get("kwargs"), len(ids), key)
        for instruction_id, kw in zip(ids, kwargs):
            build_checker(instruction_id, kw)  # a wrong id or kwarg fails here, not after generation
        samples.append(Sample(id=key, messages=[{"role": "user", "content": prompt}],
                              reference={"instruction_id_list": ids, "kwargs": kwargs},
                              meta={"n_instructions": len(ids)}))
    return samples


def loose_variants(response: str) -> list[str]:
    """The 8 readings of a response the loose score accepts: it, without `*`, without its first line,
    last line, or both, and each of those three without `*`."""
    lines = response.split("\n")
    no_first = "\n".join(lines[1:]).strip()
    no_last = "\n".join(lines[:-1]).strip()
    no_both = "\n".join(lines[1:-1]).strip()
    cut = [no_first, no_last, no_both]
    return [response, response.replace("*", "")] + cut + [text.replace("*", "") for text in cut]


def _passes(check, text: str) -> bool:
    if not text.strip():
        return False  # an empty response (or variant) follows no instruction
    try:
        return bool(check(text))
    except Exception:  # where the official checker would crash, the instruction is not followed
        return False


@dataclass
class Verdicts:
    strict: list[bool]
    loose: list[bool]
    loose_corrected: list[bool]


def check_response(instructions: list[Instruction], response: str) -> Verdicts:
    """Per instruction: strict, loose, and loose under the corrected rules (the OPEN variant)."""
    # Variants often coincide (no `*`, a one-line answer): check each distinct text once.
    variants = list(dict.fromkeys(loose_variants(response)))
    strict, loose, fixed = [], [], []
    for instruction in instructions:
        check = build_checker(instruction.id, instruction.kwargs)
        ok = _passes(check, response)
        strict.append(ok)
        loose.append(ok or any(_passes(check, v) for v in variants[1:]))
        if instruction.id in CORRECTED:
            check = build_checker(instruction.id, instruction.kwargs, fixed=True)
            fixed.append(any(_passes(check, v) for v in variants))
        else:
            fixed.append(loose[-1])
    return Verdicts(strict, loose, fixed)


def score(sample: Sample, answer: str, cfg) -> Grade:
    instructions = instructions_of(sample)
    response = answer or ""
    verdicts = check_response(instructions, response)
    detail = {"instruction_id_list": [i.id for i in instructions], "strict": verdicts.strict,
              "loose": verdicts.loose, "loose_corrected": verdicts.loose_corrected}
    extracted = None if not response.strip() else f"{sum(verdicts.loose)}/{len(verdicts.loose)} loose"
    return Grade(float(all(verdicts.loose)), extracted, detail,
                 variants={"prompt_strict": float(all(verdicts.strict)),
                           "prompt_loose_corrected_rules": float(all(verdicts.loose_corrected))})


def figures(samples: dict[str, Sample], scores: list[Score], cfg) -> Figures:
    """The instruction-level numbers (strict and loose) and instruction-level loose per category
    (count, custom, format, ratio, repeat, sentence, words); the prompt-level ones are per answer
    (the headline, and `Grade.variants`). A generation never graded (unfinished thinking, scorer
    failure) fails all its instructions. The item of an instruction-level figure is the (prompt,
    instruction) pair, averaged by metrics.item_mean: with one sample per prompt these are the
    official scorer's numbers exactly."""
    level: dict[str, list] = {"strict": [], "loose": []}
    per_category: dict[str, list] = {}
    for s in scores:
        sample = samples.get(s.sample_id)
        if sample is None:
            continue
        ids = sample.reference["instruction_id_list"]
        for kind, pairs in level.items():
            verdicts = s.detail.get(kind) or [False] * len(ids)
            pairs += [((s.sample_id, j), ok) for j, ok in enumerate(verdicts)]
            if kind == "loose":
                for j, (instruction_id, ok) in enumerate(zip(ids, verdicts)):
                    per_category.setdefault(instruction_id.split(":")[0], []).append(((s.sample_id, j), ok))
    if not level["loose"]:
        return Figures()
    cells = [Breakdown({"category": category}, item_mean(pairs), len({p[0] for p in pairs}))
             for category, pairs in sorted(per_category.items())]
    return Figures(variants={"instruction_loose": item_mean(level["loose"]),
                             "instruction_strict": item_mean(level["strict"])}, cells=cells)


@dataclass
class Agreement:
    """Our verdicts against the official checkers' published ones, instruction by instruction."""
    level: str  # strict | loose
    prompts: int
    instructions: int
    instructions_agreeing: int
    prompts_agreeing: int
    disagreements: list[tuple[str, str, bool, bool]]  # (instruction id, response head, ours, official)


def official_agreement(data_file: Path, official_dir: Path, level: str) -> Agreement:
    """Grade the official sample outputs (`sample_output.jsonl`: prompt, response) and compare with
    `eval_results_<level>.jsonl` (per prompt: follow_instruction_list), matching prompts as the
    official scorer does (exactly, else stripped)."""
    rows = {}
    for _, row in iter_jsonl(data_file):
        rows[row["prompt"]] = row
        rows.setdefault(row["prompt"].strip(), row)
    responses = {}
    for _, row in iter_jsonl(Path(official_dir) / "sample_output.jsonl"):
        responses[row["prompt"]] = row["response"]
        responses.setdefault(row["prompt"].strip(), row["response"])
    result = Agreement(level, 0, 0, 0, 0, [])
    for _, official in iter_jsonl(Path(official_dir) / f"eval_results_{level}.jsonl"):
        prompt = official["prompt"]
        row = rows.get(prompt) or rows[prompt.strip()]
        instructions = [Instruction(i, {k: v for k, v in kw.items() if v is not None})
                        for i, kw in zip(row["instruction_id_list"], row["kwargs"])]
        response = responses.get(prompt, responses.get(prompt.strip()))
        verdicts = check_response(instructions, response or "")
        ours = verdicts.strict if level == "strict" else verdicts.loose
        theirs = official["follow_instruction_list"]
        result.prompts += 1
        result.prompts_agreeing += all(ours) == all(theirs)
        for instruction, a, b in zip(instructions, ours, theirs):
            result.instructions += 1
            result.instructions_agreeing += a == b
            if a != b:
                result.disagreements.append((instruction.id, (response or "")[:80], a, b))
    return result


TASK = TaskSpec(load=load, score=score, figures=figures, scoring_environment=scoring_environment)
