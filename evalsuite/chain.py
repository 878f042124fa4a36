"""Chained items: an item whose prompt holds the model's own answers to earlier items (SciCode's
sub-steps: step i's prompt carries the code the model wrote for steps 1..i-1 of its problem).

A task declares `TaskSpec.chain` and lists, per item, the ids it follows in `Sample.after`.
The generate stage then runs in rounds: each round makes every wanted (id, k) whose earlier items'
k-th generations are stored, its prompt built by `chain` from their answers (after the thinking).
Every generation is stored as it completes, so a rerun resumes at the first step not made. The
score stage sees the same view of each item (its earlier answers included), so a step is tested
with the code that was in its prompt. The prompts as sent are kept in chained_prompts.jsonl.
"""
from __future__ import annotations

import hashlib
import sys
from dataclasses import replace
from typing import Callable

from omegaconf import DictConfig

from evalsuite import store
from evalsuite.errors import UserError
from evalsuite.planning import reasoning_expected, sample_for_k
from evalsuite.render import split_generation
from evalsuite.rundir import GENERATIONS, TaskRun
from evalsuite.task import TaskSpec
from evalsuite.types import Generation, Sample, Score

CHAINED_PROMPTS = "chained_prompts.jsonl"  # per (sample_id, k): the earlier answers' ids and the prompt sent


def after(sample: Sample) -> list[str]:
    return [str(a) for a in sample.after]


def answers(cfg: DictConfig, gens: dict[tuple[str, int], Generation]) -> Callable[[str, int], str | None]:
    """The answer (after the thinking; None: never closed or never made) of a stored generation."""
    expect, think_end = reasoning_expected(cfg), cfg.model.get("think_end", "</think>")

    def answer(sample_id: str, k: int) -> str | None:
        g = gens.get((sample_id, k))
        if g is None or g.finish_reason == "error":
            return None
        return split_generation(g.text, g.reasoning, expect, think_end)[1]

    return answer


def earlier_digest(sample: Sample, k: int, gens: dict[tuple[str, int], Generation]) -> str:
    """What a chained item's k-th score depends on besides its own generation: the k-th generations
    of the items it follows (a missing one counts as missing). Stored as Score.graded_after."""
    h = hashlib.sha256()
    for a in after(sample):
        g = gens.get((a, k))
        h.update((a + "\0" + (store.generation_digest(g) if g is not None else "missing") + "\0").encode())
    return h.hexdigest()[:16]


def stale_after(samples: list[Sample], scores: dict[tuple[str, int], Score],
                gens: dict[tuple[str, int], Generation]) -> set[tuple[str, int]]:
    """The keys whose score was graded with other earlier generations than those stored now."""
    by_id = {s.id: s for s in samples}
    return {key for key, score in scores.items()
            if key[0] in by_id and after(by_id[key[0]]) and score.graded_after != earlier_digest(by_id[key[0]], key[1], gens)}


def viewer(cfg: DictConfig, spec: TaskSpec, gens: dict[tuple[str, int], Generation]) -> Callable[[Sample, int], Sample]:
    """The item as generation k sees it: with its earlier items' k-th answers for a chained task."""
    if spec.chain is None:
        return lambda sample, k: sample_for_k(spec, sample, k, cfg)
    answer = answers(cfg, gens)
    return lambda sample, k: spec.chain(sample, {a: answer(a, k) for a in after(sample)}, cfg)


def check(run: TaskRun) -> None:
    if run.shard is not None:
        raise UserError(f"task {run.name} is generated in chained rounds (each step after the earlier ones): "
                        f"run it without shard=")
    ids = {s.id for s in run.samples}
    for s in run.samples:
        missing = [a for a in after(s) if a not in ids]
        if missing:
            raise UserError(f"task {run.name}: item {s.id} follows {missing}, which are not among the items "
                            f"(limit= cut a problem's steps apart? use a limit that keeps whole problems)")


def generate_in_rounds(run: TaskRun, wanted: set[tuple[str, int]],
                       make: Callable[[TaskRun, set[tuple[str, int]]], int]) -> int:
    """Round after round, `make` (the generate stage's one round) the keys whose earlier items are
    stored, given the run narrowed to the round's items, each seen with its earlier answers; stops
    when a round has nothing ready (done, or an earlier generation failed)."""
    cfg, spec = run.cfg, run.spec
    by_id = {s.id: s for s in run.samples}
    path = run.path(GENERATIONS)
    made = 0
    while True:
        gens = {key: g for key, g in store.read_generations(path).items() if g.finish_reason != "error"}
        todo = {key for key in wanted - set(gens) if all((a, key[1]) in gens for a in after(by_id[key[0]]))}
        if not todo:
            blocked = wanted - set(gens)
            if blocked:
                print(f"[{run.name}] generate: {len(blocked)} chained items wait for an earlier item that "
                      f"failed; rerun to make them", file=sys.stderr)
            return made
        view = viewer(cfg, spec, gens)
        views = {key: view(by_id[key[0]], key[1]) for key in todo}
        store.append_records(run.path(CHAINED_PROMPTS), [
            {"sample_id": sid, "k": k, "after": after(by_id[sid]), "messages": views[(sid, k)].messages}
            for sid, k in sorted(todo)])
        round_spec = replace(spec, sample_for_k=lambda s, k, _cfg: views[(s.id, k)])
        items = [by_id[sid] for sid in sorted({sid for sid, _ in todo})]
        made += make(replace(run, samples=items, spec=round_spec), todo)
