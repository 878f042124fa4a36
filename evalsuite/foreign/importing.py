"""`responses_format=...`: the harness's file read, its rows matched to our items, the generations
written to generations.jsonl and the harness's side to foreign.jsonl, with what the file says about
its run (`made_by`)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from omegaconf import DictConfig, OmegaConf

from evalsuite import store
from evalsuite.errors import UserError
from evalsuite.foreign.inspect_ai import read_inspect
from evalsuite.foreign.lettering import harness_order, harness_view
from evalsuite.foreign.lighteval import read_lighteval
from evalsuite.foreign.lm_eval import read_lm_eval
from evalsuite.foreign.matching import ItemIndex, reference_differs
from evalsuite.foreign.nemo_skills import read_nemo_skills
from evalsuite.foreign.rows import ForeignFile, ForeignRow, responses_format
from evalsuite.rundir import AGREEMENT, FOREIGN, FOREIGN_SOURCE, GENERATIONS, MANIFEST, TaskRun, update_manifest
from evalsuite.store import generation_digest
from evalsuite.types import FINISH_UNKNOWN, Generation, to_dict


READERS: dict[str, Callable[[Path], ForeignFile]] = {
    "nemo_skills": read_nemo_skills, "lm_eval": read_lm_eval, "lighteval": read_lighteval, "inspect": read_inspect}


# our prompt asks for the answer in one of these forms; a harness prompt that does not ask for it
# explains answers our scorer cannot find
ANSWER_FORMS = {"\\boxed": "\\boxed{}", "answer:": "an 'Answer: X' line"}
SETTING_NAMES = ("temperature", "top_p", "max_tokens")


def made_by(fmt: str, read: ForeignFile, rows: list[ForeignRow], our_prompt: str, cfg: DictConfig) -> dict[str, Any]:
    """What the harness's file says about how its generations were made: its decoding settings
    ("unknown" where the file does not say), its prompt, and how many rows carry a length and a
    finish reason. This run's own sampling, system prompt and task prompt made none of them."""
    settings = {name: read.settings.get(name, "unknown") for name in SETTING_NAMES}
    settings.update({k: v for k, v in read.settings.items() if k not in SETTING_NAMES})
    example = next((r.prompt for r in rows if r.prompt), None)
    theirs = (example or "").casefold() + (str(read.settings.get("prompt_template") or "")).casefold()
    asks = [form for cue, form in ANSWER_FORMS.items() if cue in our_prompt.casefold() and example is not None
            and cue not in theirs]
    return {
        "harness": fmt, "settings": settings,
        "prompt": example if example is not None else "unknown",
        "system_prompt": read.settings.get("system_prompt", "unknown"),  # where not apart, it is in the prompt
        "our_prompt_asks_for_theirs_does_not": asks,
        "lengths": {"given": sum(r.tokens is not None for r in rows), "unknown": sum(r.tokens is None for r in rows)},
        "finish_reasons": {"stop": sum(r.finish_reason == "stop" for r in rows),
                           "length": sum(r.finish_reason == "length" for r in rows),
                           "unknown": sum(r.finish_reason is None for r in rows)},
        "not_applied": {"sampling": OmegaConf.to_container(cfg.sampling, resolve=True),
                        "system_prompt": cfg.get("system_prompt"), "task_prompt": "this task's prompt"},
    }


def generation_facts(task_dir: Path) -> dict[str, Any] | None:
    """made_by() of the imported file, or None when this run made its own generations."""
    path = task_dir / FOREIGN_SOURCE
    if not path.exists() or not (task_dir / FOREIGN).exists():
        return None
    found = store.read_json(path, expect=dict).get("made_by")
    return found if isinstance(found, dict) else None


def import_foreign(run: TaskRun, split: str) -> int:
    """Read the harness's file into the run's generations.jsonl and foreign.jsonl (each written
    aside, then renamed over the old one). `split`: how raw text without the harness's own
    separation is read (responses_split: raw or answer_only)."""
    cfg, samples, task_dir = run.cfg, run.samples, run.dir

    fmt = responses_format(cfg)
    path = Path(str(cfg.responses)).expanduser()
    if not path.exists():
        raise UserError(f"responses file not found: {path}")
    if split == "reasoning_field":
        raise UserError(f"responses_split=reasoning_field is for evalsuite's own jsonl; with responses_format={fmt} "
                        f"the harness's file says where the reasoning is (use raw or answer_only)")
    read = READERS[fmt](path)
    rows = read.rows
    if not rows:
        raise UserError(f"{path}: no generations in this {fmt} file")
    index, n_samples, limited = ItemIndex(samples), int(cfg.samples), bool(cfg.get("limit"))
    by_id = {s.id: s for s in samples}
    seen: dict[tuple[str, int], str] = {}
    orders: dict[str, list[int]] = {}
    gens, foreign, unmatched, gold_differs, matched = [], [], 0, [], []
    for row in rows:
        sid = index.find(row)
        if sid is None:
            if limited:  # a whole benchmark's file read with limit=N: the rows past N are not this run's
                unmatched += 1
                continue
            raise UserError(f"{row.where}: matches no item of {cfg.task.name} by question text or id "
                            f"(ids look like {samples[0].id!r}); check task=, data= and limit=")
        if not 0 <= row.k < n_samples:
            raise UserError(f"{row.where}: sample {row.k} is outside 0..{n_samples - 1} (samples={n_samples}); "
                            f"set samples= to the number of generations per item in the file")
        if (sid, row.k) in seen:
            raise UserError(f"{row.where}: item {sid} sample {row.k} was already given by {seen[(sid, row.k)]}; "
                            f"each item's sample once")
        seen[(sid, row.k)] = row.where
        sample = by_id[sid]
        if isinstance(sample.reference, dict) and "order" in sample.reference:  # multiple choice
            order = harness_order(sample, row)
            if order is not None:
                if str(cfg.task.get("shuffle")) == "per_sample":
                    raise UserError(f"{row.where}: the harness's file fixes each item's option order; "
                                    f"task.shuffle=per_sample cannot apply to its generations: drop it")
                if orders.setdefault(sid, order) != order:
                    raise UserError(f"{row.where}: the harness showed item {sid}'s options in another order than "
                                    f"in its other samples; give one sample set at a time")
                sample = harness_view(sample, order)
        differs = reference_differs(row.gold, sample.reference)
        if differs and isinstance(sample.reference, dict) and sid not in orders:
            raise UserError(f"{row.where}: the harness's correct option is {row.gold!r}, ours is "
                            f"{sample.reference['letter']!r}, and the file names no option texts to read its "
                            f"letters by: its letters cannot be graded")
        if differs:
            gold_differs.append({"item": sid, "theirs": str(row.gold), "ours": str(
                sample.reference.get("letter") if isinstance(sample.reference, dict) else sample.reference)})
        reasoning = row.reasoning if row.reasoning is not None else ("" if split == "answer_only" else None)
        gen = Generation(sid, row.k, row.text, row.tokens, row.finish_reason or FINISH_UNKNOWN, reasoning=reasoning)
        gens.append(gen)
        matched.append(row)
        foreign.append({"sample_id": sid, "k": row.k, "where": row.where, "extracted": row.extracted,
                        "extracted_by": row.extracted_by, "voted": sorted(row.voted),
                        "verdicts": row.verdicts, "item_verdicts": row.item_verdicts,
                        "generation": generation_digest(gen)})
    if not gens:
        raise UserError(f"{path}: none of its {len(rows)} rows matches an item of {cfg.task.name}; check task= and data=")
    for name, records in ((GENERATIONS, [to_dict(g) for g in gens]), (FOREIGN, foreign)):
        out = task_dir / name
        aside = out.with_name(name + ".import")
        aside.unlink(missing_ok=True)
        store.append_records(aside, records)
        aside.replace(out)
    first = by_id[str(foreign[0]["sample_id"])]
    facts = made_by(fmt, read, matched, first.messages[-1]["content"] if first.messages else "", cfg)
    store.write_json(task_dir / FOREIGN_SOURCE, {
        "format": fmt, "file": str(path), "rows": len(rows), "imported": len(gens), "unmatched": unmatched,
        "empty": read.empty, "gold_differs": gold_differs, "option_orders": orders, "made_by": facts})
    manifest_path = task_dir / MANIFEST
    if manifest_path.exists():  # run.json says who made the generations, not only this run's settings
        responses = store.read_json(manifest_path, expect=dict).get("responses")
        if isinstance(responses, dict):
            update_manifest(task_dir, responses={**responses, "made_by": facts})
    return len(gens)


def forget(task_dir: Path) -> None:
    """A responses file of our own replaces an earlier harness's import: its side goes with it."""
    for name in (FOREIGN, FOREIGN_SOURCE, AGREEMENT):
        (task_dir / name).unlink(missing_ok=True)
