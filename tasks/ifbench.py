"""IFBench: precise instruction following, 58 out-of-distribution constraints (allenai/IFBench).

Rows: key, prompt, instruction_id_list, kwargs (one dict per instruction; nulls dropped). The prompt
is the user turn as is. Each instruction is checked by `tasks.ifbench_checkers` on the answer after
</think>: strict on the answer itself, loose if any of 8 variants passes (the answer; without `*`;
without its first line, last line, or both; each of those without `*`). The headline is
prompt-level loose (all of a prompt's instructions pass); `breakdown` reports all four variants.

Versions (`data.version`): 294 (default, the card's: the file before its 2026-04-11 fix) or 300
(the fixed file, 58 ids). The hub serves only the current file, so the version is checked against
the number of rows and a mismatch is an error naming the fix, never a silent swap.
"""
from __future__ import annotations

from dataclasses import dataclass

from evalsuite.data import load_rows
from evalsuite.errors import UserError
from evalsuite.types import Grade, Sample, Score
from tasks.ifbench_checkers import build_checker

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


def load(cfg) -> list[Sample]:
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
        if not isinstance(prompt, str) or not isinstance(ids, (list, tuple)) or not ids:
            raise UserError(f"ifbench row {key}: needs 'prompt' and a non-empty 'instruction_id_list'; "
                            f"got columns {sorted(row)}")
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
    except Exception:  # a checker bug must cost one instruction, not the run
        return False


def check_response(instructions: list[Instruction], response: str) -> tuple[list[bool], list[bool]]:
    """Per instruction: (strict, loose)."""
    # Variants often coincide (no `*`, a one-line answer): check each distinct text once.
    variants = list(dict.fromkeys(loose_variants(response)))
    strict, loose = [], []
    for instruction in instructions:
        check = build_checker(instruction.id, instruction.kwargs)
        ok = _passes(check, response)
        strict.append(ok)
        loose.append(ok or any(_passes(check, v) for v in variants[1:]))
    return strict, loose


def score(sample: Sample, answer: str, cfg) -> Grade:
    instructions = instructions_of(sample)
    response = answer or ""
    strict, loose = check_response(instructions, response)
    detail = {"instruction_id_list": [i.id for i in instructions], "strict": strict, "loose": loose,
              "prompt_strict": all(strict), "prompt_loose": all(loose)}
    extracted = None if not response.strip() else f"{sum(loose)}/{len(loose)} loose"
    return Grade(float(all(loose)), extracted, detail)


def breakdown(samples: dict[str, Sample], scores: list[Score], cfg) -> dict[str, float]:
    """The four IFBench numbers (0-100) over every scored generation, plus instruction-level loose
    per category (count, custom, format, ratio, repeat, sentence, words). A generation that was never
    graded (unfinished thinking, scorer failure) fails all its instructions."""
    prompt_strict = prompt_loose = 0
    inst_total = inst_strict = inst_loose = 0
    per_category: dict[str, list[int]] = {}
    for s in scores:
        sample = samples.get(s.sample_id)
        if sample is None:
            continue
        ids = sample.reference["instruction_id_list"]
        strict = s.detail.get("strict") or [False] * len(ids)
        loose = s.detail.get("loose") or [False] * len(ids)
        prompt_strict += all(strict)
        prompt_loose += all(loose)
        inst_total += len(ids)
        inst_strict += sum(strict)
        inst_loose += sum(loose)
        for instruction_id, ok in zip(ids, loose):
            tally = per_category.setdefault(instruction_id.split(":")[0], [0, 0])
            tally[0] += ok
            tally[1] += 1
    n = sum(1 for s in scores if s.sample_id in samples)
    if not n or not inst_total:
        return {}
    out = {
        "variant:prompt_loose": 100 * prompt_loose / n,
        "variant:prompt_strict": 100 * prompt_strict / n,
        "variant:instruction_loose": 100 * inst_loose / inst_total,
        "variant:instruction_strict": 100 * inst_strict / inst_total,
    }
    for category, (ok, total) in sorted(per_category.items()):
        out[f"category:{category}"] = 100 * ok / total
    return out
