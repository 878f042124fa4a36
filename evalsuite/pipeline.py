"""One task's run, stage by stage: load -> render -> generate -> split -> score -> summarize.
Each stage takes the run's context (rundir.TaskRun: config, contract, items, directories, shard,
mode), built once by run_task.

Files under <run_dir>/<task>/: run.json (resolved config, versions, data and model revisions),
generations.jsonl and scores.jsonl (append-only, keyed by (sample_id, k)), summary.json.
A rerun of the same command skips every finished (sample_id, k); stage=score re-grades the stored
generations without touching the model.
"""
from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import json
import os
import platform
import queue
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

from omegaconf import DictConfig, OmegaConf

from evalsuite import chain, judge, judge_rules, metrics, store, tir
from evalsuite import summary as summaries
from evalsuite.data import RESOLVED_REVISIONS, data_dir_facts
from evalsuite.errors import UserError
from evalsuite.foreign.agreement import attach_agreement
from evalsuite.foreign.importing import generation_facts
from evalsuite.foreign.lettering import harness_views
from evalsuite.planning import max_new_tokens, plan_generations, reasoning_expected, wanted_keys
from evalsuite.render import split_generation
from evalsuite.rundir import (CLAMPS, FAILURE, GENERATIONS, ITEMS, MANIFEST, SCORES, SUMMARY, TaskRun, current_scores,
                              merged, record_calibration, shard_dirs, sole_writer, task_root, task_run, update_manifest)
from evalsuite.store import generation_digest
from evalsuite.summary import TaskSummary
from evalsuite.task import TaskSpec
from evalsuite.task import resolve as resolve_task
from evalsuite.types import FINISH_UNKNOWN, Generation, Sample, Score, generation_from_record, score_from_grade, to_dict
from evalsuite.workers import Outcome, map_with_deadline
VERSIONED = ("evalsuite", "torch", "transformers", "vllm", "datasets", "math-verify", "sympy", "hydra-core", "openai")


def load_samples(cfg: DictConfig, spec: TaskSpec) -> list[Sample]:
    samples = spec.load(cfg)
    ids = [s.id for s in samples]
    if len(set(ids)) != len(ids):
        raise UserError(f"task {cfg.task.name}: duplicate sample ids in the data; each item needs a unique id")
    if cfg.get("limit"):
        samples = samples[: int(cfg.limit)]
    if not samples:
        raise UserError(f"task {cfg.task.name}: no items to evaluate (empty data or limit=0)")
    return samples


# ---------------------------------------------------------------- run.json: what produced these numbers

def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def protocol_fingerprint(cfg: DictConfig) -> dict[str, Any]:
    """Settings that change what a generation is: a run_dir never mixes generations made under
    different ones (the silent cache mix-up other harnesses have)."""
    return {
        "model": str(cfg.model.path), "model_revision": cfg.model.get("revision"),
        "thinking": bool(cfg.task.get("thinking", True)), "system_prompt": cfg.get("system_prompt"),
        "temperature": float(cfg.sampling.temperature), "top_p": float(cfg.sampling.get("top_p", 1.0)),
        "max_tokens": max_new_tokens(cfg), "seed": int(cfg.seed),
        **tir.fingerprint(cfg),
    }


def settings_conflict(cfg: DictConfig, task_dir: Path) -> str | None:
    """Why `task_dir` (where this run writes) cannot take this run's generations (made under other
    settings), if so."""
    path = task_dir / MANIFEST
    if not path.exists():
        return None
    old = store.read_json(path, expect=dict).get("fingerprint", {})
    if not isinstance(old, dict):
        return (f"{path}: its fingerprint is not a JSON object; it was not written by evalsuite: "
                f"delete it (or use a new run_dir=...)")
    changed = {k: (old.get(k), v) for k, v in protocol_fingerprint(cfg).items() if k in old and old.get(k) != v}
    if not changed:
        return None
    what = ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in changed.items())
    return f"{task_dir} holds generations made with other settings ({what}); use a new run_dir=... or delete that directory"


def write_manifest(run: TaskRun, source: str) -> None:
    """This run's settings, data and versions into run.json; what an earlier run of the same
    generations recorded under other keys (how the backend ran) stays until this run records it."""
    cfg = run.cfg
    fingerprint = protocol_fingerprint(cfg)
    conflict = settings_conflict(cfg, run.dir)
    if conflict:
        raise UserError(conflict)
    data = cfg.data
    dataset = cfg.task.get("dataset") or {}  # generated tasks (NIAH) have none
    manifest = {
        "task": cfg.task.name, "benchmark": cfg.task.get("benchmark"), "source": source,
        "fingerprint": fingerprint,
        "dataset": {"hub_id": dataset.get("hub_id"), "revision": dataset.get("revision"),
                    "resolved_sha": RESOLVED_REVISIONS.get(dataset.get("hub_id")),
                    "source": "local" if data.get("path") else
                              "data_dir" if cfg.get("data_dir") and data.get("source") == "hub" and dataset else
                              data.get("source"),
                    "path": data.get("path"), "n_items": len(run.samples)},
        "model": {"path": str(cfg.model.path), "revision": cfg.model.get("revision")},
        "responses": {"file": str(cfg.responses), "split": responses_split(cfg),
                      "format": cfg.get("responses_format") or "evalsuite"} if cfg.get("responses") else None,
        "offline": data_dir_facts(cfg),
        "versions": _versions(), "argv": sys.argv, "host": platform.node(), "pid": os.getpid(), "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "config": OmegaConf.to_container(cfg, resolve=True),
    }
    update_manifest(run.dir, create=True, **manifest)


def write_items(run: TaskRun, max_chars: int = 20_000) -> None:
    """The items as this run saw them (samples.jsonl), so the viewer and notebooks never reload the
    data. Long contents (NIAH's 4 MB haystacks) keep their head and tail only."""
    def clip(text: Any) -> Any:
        if isinstance(text, str) and len(text) > max_chars:
            half = max_chars // 2
            return f"{text[:half]}\n[... {len(text) - max_chars} characters clipped ...]\n{text[-half:]}"
        return text

    path = run.root / ITEMS
    tmp = path.with_name(ITEMS + ".tmp")
    tmp.unlink(missing_ok=True)
    def clip_reference(ref: Any) -> Any:  # LiveCodeBench's hidden tests can be megabytes per item
        if isinstance(ref, str):
            return clip(ref)
        return ref if len(json.dumps(ref, default=str)) <= max_chars else clip(json.dumps(ref, default=str))

    store.append_records(tmp, [{"id": s.id, "reference": clip_reference(s.reference),
                                "meta": s.meta, "messages": [{**m, "content": clip(m.get("content"))} for m in s.messages],
                                **({"prompt_tokens": s.prompt_tokens} if s.prompt_tokens is not None else {}),
                                **({"after": s.after} if s.after else {})}
                               for s in run.samples])
    os.chmod(tmp, 0o600)  # the references are hidden tests: no other uid (a sandboxed program) reads them
    tmp.replace(path)


# ---------------------------------------------------------------- generate

def generate_stage(run: TaskRun, on_stored: Callable[[list[dict]], None] | None = None) -> int:
    """Make every missing (sample_id, k); each finished batch is stored, then handed to `on_stored`
    (the scoring pool). One stage for every mode: the plan (planning.plan_generations) is the same,
    the turn loop one shot per request or, under mode=tir, a conversation (tir.converse)."""
    cfg = run.cfg
    path = run.path(GENERATIONS)
    done = {key for key, g in store.read_generations(path).items() if g.finish_reason != "error"}
    wanted = wanted_keys(cfg, run.samples)
    if wanted <= done:
        print(f"[{run.name}] generate: all {len(wanted)} generations already stored", file=sys.stderr)
        return 0
    if run.spec.chain is not None:
        chain.check(run)  # before the model loads
    from evalsuite.backends import load_backend

    backend = load_backend(cfg)
    record_backend_runtime(run, backend)
    if run.spec.chain is not None:  # each item after the items whose answers its prompt holds (SciCode's steps)
        return chain.generate_in_rounds(run, wanted - done,
                                        lambda round_run, keys: generate_round(round_run, keys, backend, on_stored))
    return generate_round(run, wanted - done, backend, on_stored)


def generate_round(run: TaskRun, todo: set[tuple[str, int]], backend: Any,
                   on_stored: Callable[[list[dict]], None] | None = None) -> int:
    """The keys of `todo` planned, then made by the run's turn loop; each stored batch is handed to
    `on_stored`."""
    cfg = run.cfg
    path = run.path(GENERATIONS)
    plan = plan_generations(cfg, run.samples, run.spec, todo, backend)
    if plan.clamps:
        store.append_records(run.path(CLAMPS), plan.clamps)
        print(f"[{run.name}] warning: {len(plan.clamps)} requests had max_tokens clamped to fit "
              f"max_model_len (see {CLAMPS})", file=sys.stderr)
    where = f" shard {run.shard[0]}/{run.shard[1]}" if run.shard else ""
    stored = sum(g.finish_reason != "error" for g in store.read_generations(path).values())
    print(f"[{run.name}{where}] generate: {len(plan.requests)} to make ({stored} already stored), "
          f"backend {cfg.backend.name}, model {cfg.model.name}", file=sys.stderr)

    def keep(records: list[dict]) -> None:
        store.append_records(path, records)
        if on_stored is not None:
            on_stored(records)

    if tir.active(cfg):  # a conversation per request, the model calling its tool between turns
        tir.converse(run, plan.requests, backend, keep)
    else:
        sampling = OmegaConf.merge(cfg.sampling, {"max_tokens": max_new_tokens(cfg)})
        backend.generate(plan.requests, sampling, lambda gens: keep([to_dict(g) for g in gens]))
    return len(plan.requests)


# ---------------------------------------------------------------- responses made elsewhere

RESPONSE_SPLITS = ("raw", "answer_only", "reasoning_field")


def responses_split(cfg: DictConfig) -> str:
    split = str(cfg.get("responses_split") or "raw")
    if split not in RESPONSE_SPLITS:
        raise UserError(f"unknown responses_split {split!r}; choose one of: {', '.join(RESPONSE_SPLITS)}")
    return split


def response_reasoning(row: dict, split: str, where: str) -> str | None:
    """Generation.reasoning for one line of a responses file: None keeps the response raw (split at
    think_end), a string (maybe "") makes the response the answer, whole."""
    has_field = row.get("reasoning") is not None
    if split == "reasoning_field":
        if "reasoning" not in row or not (row["reasoning"] is None or isinstance(row["reasoning"], str)):
            raise UserError(f'{where}: responses_split=reasoning_field needs a "reasoning" string (or null) on '
                            f'every line; use responses_split=raw or answer_only for a file without one')
        return row["reasoning"] or ""
    if has_field:  # a field the chosen split would silently ignore
        raise UserError(f'{where}: the line has a "reasoning" field but responses_split={split}; '
                        f'pass responses_split=reasoning_field to grade "response" as the answer beside it')
    return "" if split == "answer_only" else None


def import_responses(run: TaskRun) -> int:
    """Turn a jsonl of {"id"|"prompt", "response", "k"?, "reasoning"?} into this run's
    generations.jsonl, the text split as `responses_split` says (see RESPONSE_SPLITS). The new
    file is written aside and renamed over the old one only when complete; scores of texts that
    changed are stale (their digest no longer matches) and get re-graded."""
    from evalsuite.foreign import importing
    from evalsuite.foreign.rows import responses_format

    cfg, samples = run.cfg, run.samples
    if responses_format(cfg):  # another harness's own output file
        return importing.import_foreign(run, responses_split(cfg))
    importing.forget(run.dir)
    path = Path(str(cfg.responses)).expanduser()
    if path.is_dir():
        raise UserError(f"responses={path} is a directory; give the .jsonl file of responses")
    if not path.is_file():
        raise UserError(f"responses file not found: {path}")
    split = responses_split(cfg)
    by_id = {s.id: s for s in samples}
    by_prompt = {s.messages[-1]["content"].strip(): s.id for s in samples if s.messages}
    n_samples = int(cfg.samples)
    next_k: dict[str, int] = {}
    seen: dict[tuple[str, int], int] = {}
    gens = []
    for n, row in store.iter_jsonl(path, fix='each line is one JSON object with "response" and "id" or "prompt"'):
        if not isinstance(row, dict) or not isinstance(row.get("response"), str):
            raise UserError(f'{path}:{n}: each line needs a "response" string and an "id" or "prompt"')
        if row.get("id") is not None:
            sid = str(row["id"])
            if sid not in by_id:
                raise UserError(f"{path}:{n}: id {sid!r} is not an item of {cfg.task.name} "
                                f"(ids look like {samples[0].id!r}; check limit= and data=)")
        elif isinstance(row.get("prompt"), str):
            sid = by_prompt.get(row["prompt"].strip())
            if sid is None:
                raise UserError(f"{path}:{n}: prompt matches no item of {cfg.task.name}")
        else:
            raise UserError(f'{path}:{n}: give "id" (the task\'s sample id) or "prompt" (the item\'s prompt text)')
        k = row.get("k")
        if k is None:
            k = next_k.get(sid, 0)
        elif not isinstance(k, int) or isinstance(k, bool):
            raise UserError(f'{path}:{n}: "k" must be an integer sample index, not {k!r}')
        if not 0 <= k < n_samples:
            raise UserError(f"{path}:{n}: k={k} is outside 0..{n_samples - 1} (samples={n_samples}); "
                            f"fix k or set samples= to the number of responses per item")
        if (sid, k) in seen:
            raise UserError(f"{path}:{n}: ({sid}, k={k}) was already given on line {seen[(sid, k)]}; "
                            f"each (id, k) once")
        seen[(sid, k)] = n
        next_k[sid] = max(next_k.get(sid, 0), k + 1)
        for field, value in (("response", row["response"]), ("reasoning", row.get("reasoning"))):
            if isinstance(value, str):
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError as e:
                    raise UserError(f"{path}:{n}: the {field} holds a lone surrogate ({value[e.start]!r} at "
                                    f"character {e.start}), which is not text; fix what wrote the file") from None
        tokens = row.get("tokens")  # absent: unknown, left out of the token figures (never counted as 0)
        if tokens is not None and (not isinstance(tokens, int) or isinstance(tokens, bool)):
            raise UserError(f'{path}:{n}: "tokens" must be an integer, not {tokens!r}')
        finish = row.get("finish_reason")
        if finish is not None and finish not in ("stop", "length", FINISH_UNKNOWN):
            raise UserError(f'{path}:{n}: "finish_reason" must be "stop" or "length", not {finish!r}; '
                            f"leave it out when it is not known")
        gens.append(Generation(sid, k, row["response"], tokens, finish or FINISH_UNKNOWN,
                               reasoning=response_reasoning(row, split, f"{path}:{n}")))
    if not gens:
        raise UserError(f"responses file {path} is empty (no line holds a response); give the .jsonl file with "
                        f"one JSON object per line (\"response\" and \"id\" or \"prompt\")")
    out = run.path(GENERATIONS)
    aside = out.with_name(GENERATIONS + ".import")
    aside.unlink(missing_ok=True)
    store.append_records(aside, [to_dict(g) for g in gens])
    aside.replace(out)
    return len(gens)


# ---------------------------------------------------------------- score

def was_truncated(generation: Generation) -> bool | None:
    """Whether a generation hit its token limit; None where its file did not say why it stopped."""
    finish = generation.finish_reason
    return None if finish == FINISH_UNKNOWN else finish == "length"


def score_stage(run: TaskRun, rescore: bool) -> int:
    """Grade every stored generation that has no current score. `rescore` grades all of them again
    into a file beside scores.jsonl that replaces it only once complete."""
    gen_path, score_path = run.path(GENERATIONS), run.path(SCORES)
    gens = store.read_generations(gen_path)
    if not gens:
        raise UserError(f"{gen_path}: no generations to score; run stage=generate first or pass responses=FILE")
    by_id = {s.id: s for s in run.samples}
    out_path = score_path.with_name(SCORES + ".rescore") if rescore else score_path
    if rescore:
        out_path.unlink(missing_ok=True)  # a partial re-grade a crash left behind
    scored = {} if rescore else judge.still_current(run.cfg, run.spec, current_scores(run.dir))
    if run.spec.chain is not None:  # an earlier step's generation changed: its later steps are graded again
        stale = chain.stale_after(run.samples, scored, gens)
        scored = {key: s for key, s in scored.items() if key not in stale}
    failed = [key for key, g in gens.items() if g.finish_reason == "error" and key[0] in by_id]
    if failed:  # never an answer: the next generate or all run makes them again
        print(f"[{run.name}] {len(failed)} generations failed (finish_reason=error) and are not scored; "
              f"rerun with stage=generate or stage=all to make them again", file=sys.stderr)
    todo = [g for key, g in sorted(gens.items())
            if key not in scored and key[0] in by_id and g.finish_reason != "error"]
    if not todo:
        return 0
    grade_generations(run, by_id, todo, out_path)
    if rescore:
        out_path.replace(score_path)
    record_scoring_environment(run)
    return len(todo)


def grade_generations(run: TaskRun, by_id: dict[str, Sample], todo: list[Generation], out_path: Path) -> None:
    """Grade these generations (each one stored, none failed; `by_id`: the run's items by id) and
    append their scores, each carrying the digest of the text it graded."""
    cfg, spec = run.cfg, run.spec
    expect_reasoning = reasoning_expected(cfg)
    think_end = cfg.model.get("think_end", "</think>")
    ready: list[dict] = []
    to_grade: list[tuple[Generation, str]] = []
    # a chained item is graded with the earlier answers its prompt held (the stored generations)
    gens = store.read_generations(run.path(GENERATIONS)) if spec.chain is not None else {}

    def digests(s: Score, g: Generation) -> dict:
        s.graded = generation_digest(g)
        if spec.chain is not None:
            s.graded_after = chain.earlier_digest(by_id[g.sample_id], g.k, gens)
        return to_dict(s)

    for g in todo:
        _, answer = split_generation(g.text, g.reasoning, expect_reasoning, think_end)
        truncated = was_truncated(g)
        if answer is None:
            ready.append(digests(Score(g.sample_id, g.k, 0.0, None, True, truncated,
                                       {"reason": "thinking never closed"}), g))
        else:
            to_grade.append((g, answer))
    store.append_records(out_path, ready)

    buffer: list[dict] = []

    def keep(i: int, outcome) -> None:
        g, _ = to_grade[i]
        truncated = was_truncated(g)
        if outcome.ok:
            s = score_from_grade(g.sample_id, g.k, outcome.value, False, truncated)
        else:  # a scorer that hung, crashed or ran out of memory: a scoring error, not the model's answer
            s = Score(g.sample_id, g.k, 0.0, None, False, truncated, scoring_error=outcome.error)
        buffer.append(digests(s, g))
        if len(buffer) >= 256:
            store.append_records(out_path, buffer)
            buffer.clear()

    def grade_alone(item: tuple[Sample, str]):
        return spec.score(item[0], item[1], cfg)

    view = chain.viewer(cfg, spec, gens)
    items = [(view(by_id[g.sample_id], g.k), answer) for g, answer in to_grade]
    judged = judge_rules.is_judged(spec, cfg)
    # judged: the stored replies read by the task's parse rule (evalsuite/judge.py), never a new ask
    # (a task without `score` requires its judge: is_judged stops a run that has none, so grade_alone never meets it)
    grade_one = judge.grader(run) if judged else grade_alone
    if spec.score_batch is not None and not judged:  # code run in the sandbox, under its own per-program limits
        for i, grade in enumerate(spec.score_batch(items, cfg)):
            keep(i, Outcome(True, grade))
    else:
        map_with_deadline(grade_one, items, float(cfg.task.get("score_timeout_s", 10)),
                          desc=f"score {run.name}", on_result=keep,
                          memory_mb=int(cfg.task.get("score_memory_mb", 2048)))
    store.append_records(out_path, buffer)


class ScoringPool:
    """Scoring while generating (stage=all): each batch of generations, once stored, is graded on a
    thread of its own by the score stage's own rule (grade_generations), so when the last generation
    lands only its own grading is left. The score stage that follows grades whatever this did not
    (score digests: a score is current only for the text it graded), so a kill -9 at any moment
    loses no more than a rerun redoes. A grading error stops the pool; the score stage raises it."""

    def __init__(self, run: TaskRun):
        self.run, self.by_id = run, {s.id: s for s in run.samples}
        self.batches: queue.Queue[list[Generation] | None] = queue.Queue()
        self.error: BaseException | None = None
        self.graded = 0
        self.thread = threading.Thread(target=self._run, name=f"score-{run.name}", daemon=True)
        self.thread.start()

    def feed(self, records: list[dict]) -> None:
        """Generation records just stored (never before: a score must follow its generation)."""
        todo = [g for g in map(generation_from_record, records) if g.finish_reason != "error" and g.sample_id in self.by_id]
        if todo:
            self.batches.put(todo)

    def _run(self) -> None:
        path = self.run.path(SCORES)
        while (batch := self.batches.get()) is not None:
            if self.error is not None:
                continue
            try:
                grade_generations(self.run, self.by_id, batch, path)
                self.graded += len(batch)
            except BaseException as e:  # noqa: BLE001 - the score stage meets it again, in the main thread
                self.error = e

    def finish(self, grade_rest: bool = True) -> None:
        """Wait for the batches fed so far (grade_rest) or only for the one being graded."""
        if not grade_rest:
            while True:
                try:
                    self.batches.get_nowait()
                except queue.Empty:
                    break
        self.batches.put(None)
        self.thread.join()


def scores_while_generating(cfg: DictConfig, spec: TaskSpec, stage: str) -> bool:
    """stage=all grades as it generates, except where grading needs a step between (a judge) or the
    generations are not made here (responses=FILE, an official harness)."""
    return (stage == "all" and not cfg.get("responses") and spec.harness is None
            and not judge_rules.is_judged(spec, cfg))


def record_backend_runtime(run: TaskRun, backend: Any) -> None:
    """Add to run.json how the backend runs on this machine (the hf backend's CPU threads and why)."""
    runtime = getattr(backend, "runtime", None)
    if not runtime or not update_manifest(run.dir, backend_runtime=runtime):
        return
    if "cpu_threads" in runtime:
        print(f"[{run.name}] hf on CPU: {runtime['cpu_threads']['threads']} threads "
              f"({runtime['cpu_threads']['rule']})", file=sys.stderr)


def record_scoring_environment(run: TaskRun) -> None:
    """Add to run.json what a task's scoring ran under (the sandbox's isolation and limits)."""
    # asked only where there is a run.json to hold it (a task's answer may probe compilers)
    if run.spec.scoring_environment is not None and run.path(MANIFEST).exists():
        update_manifest(run.dir, scoring_environment=run.spec.scoring_environment(run.cfg))


# ---------------------------------------------------------------- shards

def merge_shards(run: TaskRun) -> dict[str, int]:
    """Combine every shard's generations and scores into the task root, by (sample_id, k), under
    the one merge rule (rundir.merged: mixed runs are an error)."""
    root, counts = run.root, {}
    for name in (GENERATIONS, SCORES):
        by_key = merged(root, name, repair=True)
        tmp = root / (name + ".merge")
        tmp.unlink(missing_ok=True)
        store.append_records(tmp, [by_key[k] for k in sorted(by_key)])
        tmp.replace(root / name)
        counts[name] = len(by_key)
    return counts


def missing_keys(run: TaskRun) -> list[tuple[str, int]]:
    have = set(current_scores(run.root))
    return sorted({(s.id, k) for s in run.samples for k in range(int(run.cfg.samples))} - have)


# ---------------------------------------------------------------- summary

def load_scores(run: TaskRun) -> list[Score]:
    """The current scores only: one per generation stored now, never a stale one."""
    return list(current_scores(run.dir).values())


def summarize_task(run: TaskRun) -> TaskSummary:
    cfg, samples, spec = run.cfg, run.samples, run.spec
    ids = {s.id for s in samples}
    scores = [s for s in load_scores(run) if s.sample_id in ids]
    votes, unresolved = None, 0
    if spec.same_answer is not None:  # maj@k by equivalence, not by string (math)
        votes, unresolved = metrics.vote_classes(scores, spec.same_answer, float(cfg.task.get("score_timeout_s", 10)),
                                                 memory_mb=int(cfg.task.get("score_memory_mb", 2048)))
    records = store.latest_by_key(store.read_records(run.path(GENERATIONS)))  # a TIR run's `tir` is read below
    gens = {key: generation_from_record(g) for key, g in records.items() if key[0] in ids}
    summary = summaries.build(cfg, scores, gens.values(),
                              expected=len(samples) * int(cfg.samples), missing=missing_keys(run),
                              samples=samples, spec=spec, votes=votes, unresolved=unresolved,
                              made_by=generation_facts(run.dir))
    attach_agreement(run.dir, summary)  # responses_format=...: beside the other harness's verdicts
    summary.judge = judge.summary_facts(run, scores)
    if tir.active(cfg):  # calls, tool time, errors ... beside the score
        summary.tir = tir.summary_facts(cfg, records, ids)
    if spec.harness is not None:  # the official harness, its settings and the parts not run
        from evalsuite import agentic_stage

        summary.harness = agentic_stage.summary_facts(run, scores)
    summaries.write(run.path(SUMMARY), summary)
    if run.shard is None and not cfg.get("responses"):  # `evalsuite plan calibration=RUN_DIR` reads it
        record_calibration(Path(str(cfg.run_dir)), str(cfg.task.name), str(cfg.model.name), max_new_tokens(cfg),
                           [int(g.tokens or 0) for g in gens.values() if g.finish_reason in ("stop", "length")])
    (run.root / FAILURE).unlink(missing_ok=True)  # an earlier failed attempt no longer stands
    return summary


def record_failure(cfg: DictConfig, reason: str) -> None:
    """A suite's task that failed: its reason goes where `evalsuite report` finds it (the row reads
    "not run: <reason>"); the next successful run of the task removes it."""
    dataset = cfg.task.get("dataset") or {}
    store.write_json(task_root(cfg) / FAILURE, {
        "task": cfg.task.name, "benchmark": cfg.task.get("benchmark"), "group": cfg.task.get("group"),
        "reason": reason, "dataset": dataset.get("hub_id"), "stage": str(cfg.stage),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")})


def validate_settings(cfg: DictConfig) -> None:
    """Numbers given as overrides are checked here, so `samples=abc` is one line, not a traceback."""
    checks = [("samples", int, 1, None), ("limit", int, 1, None), ("seed", int, None, None), ("shards", int, 1, None),
              ("sampling.temperature", float, 0.0, None), ("sampling.top_p", float, 0.0, 1.0),
              ("sampling.max_tokens", int, 1, None)]  # task.* settings: the task contract checks them
    for key, kind, lowest, highest in checks:
        value = OmegaConf.select(cfg, key)
        if value is None:
            continue
        try:
            number = kind(value)
            if kind is int and (isinstance(value, bool) or number != float(value)):
                raise ValueError
        except (TypeError, ValueError):
            hint = "; limit=null runs every item" if key == "limit" else ""
            raise UserError(f"{key}={value!r} is not {'an integer' if kind is int else 'a number'}{hint}") from None
        if lowest is not None and number < lowest:
            hint = "; limit=null runs every item" if key == "limit" else ""
            raise UserError(f"{key}={value!r} must be at least {lowest}{hint}")
        if highest is not None and number > highest:
            raise UserError(f"{key}={value!r} must be at most {highest}")
    if key_is_blank(cfg.get("run_dir")):
        raise UserError("run_dir is empty; give the directory for this run's files, e.g. run_dir=results/mine")
    if cfg.get("responses") is not None and key_is_blank(cfg.get("responses")):
        raise UserError("responses= is empty; give the .jsonl file of responses, or drop it to generate")
    if cfg.get("responses_format") and not cfg.get("responses"):
        raise UserError(f"responses_format={cfg.responses_format} names the layout of a responses file; "
                        f"give the file with responses=FILE")
    if cfg.get("responses") and str(cfg.get("stage")) in ("generate", "report"):
        raise UserError(f"responses=FILE is read by stage=score or stage=all, not stage={cfg.stage}; "
                        f"use stage=score (or drop responses= to generate)")


def key_is_blank(value: Any) -> bool:
    return value is None or not str(value).strip()


def use_context_window(cfg: DictConfig) -> None:
    """The card serves at 262,144 but runs NIAH at 1M: a long-context task asks for the model's long
    window (a model without one keeps its own limit, and the budget check guards it)."""
    if cfg.task.get("long_context") and cfg.model.get("max_model_len_long"):
        OmegaConf.update(cfg, "model.max_model_len", int(cfg.model.max_model_len_long))


def engine_configuration(cfg: DictConfig) -> str | None:
    """The engine this task's run would start (tasks with the same one share it), or None where it
    starts none: another backend, a dry run, stage=score or judge, responses=FILE."""
    if (cfg.backend.name != "vllm" or cfg.get("dry_run") or cfg.get("responses")
            or str(cfg.get("stage")) not in ("generate", "all")):
        return None
    from evalsuite.backends.vllm import engine_key, engine_kwargs

    use_context_window(cfg)
    try:
        kwargs = engine_kwargs(cfg)
    except UserError:  # the task's own run reports it
        return None
    if int(cfg.backend.get("data_parallel", 1)) > 1:  # engines in their own processes, one task at a time
        return None
    return engine_key(kwargs, "async" if tir.active(cfg) else "offline")


def by_engine(cfgs: list[DictConfig]) -> list[int]:
    """The order a suite runs its tasks in (indices into cfgs): tasks needing the same engine
    together, groups in the order of their first task, so each engine configuration starts once."""
    keys = [engine_configuration(c) for c in cfgs]
    first = {}
    for i, key in enumerate(keys):
        first.setdefault(key, i)
    return sorted(range(len(cfgs)), key=lambda i: (first[keys[i]], i))


def settle(cfg: DictConfig) -> str:
    """The settings checked and the task's context window in place; returns the stage to run."""
    validate_settings(cfg)
    responses_split(cfg)
    from evalsuite.foreign.rows import responses_format

    responses_format(cfg)
    use_context_window(cfg)
    if tir.active(cfg):
        tir.settings(cfg, max_new_tokens(cfg))  # a bad TIR setting fails here, before any generation
    stage = str(cfg.stage)
    if stage not in ("generate", "judge", "score", "report", "all"):
        raise UserError(f"unknown stage {stage!r}; use stage=generate, judge, score, report or all")
    return stage


def run_task(cfg: DictConfig) -> TaskSummary | dict | None:
    """All stages (or the one `stage=` names) for cfg.task; returns the summary when one was made."""
    stage = settle(cfg)
    spec = resolve_task(cfg)
    run = task_run(cfg, spec, load_samples(cfg, spec))
    if cfg.get("dry_run"):
        from evalsuite.dryrun import dry_run_task

        return dry_run_task(run)
    with sole_writer(run.dir):
        return run_stages(run, stage)


def run_stages(run: TaskRun, stage: str) -> TaskSummary | None:
    """The stages `stage` names, in order, for a run whose directory this process holds."""
    cfg, spec = run.cfg, run.spec
    if run.shard is None and shard_dirs(run.root):
        counts = merge_shards(run)
        print(f"[{run.name}] merged {len(shard_dirs(run.root))} shards: {counts[GENERATIONS]} generations, "
              f"{counts[SCORES]} scores", file=sys.stderr)
    source = f"responses:{cfg.responses}" if cfg.get("responses") else "generated"
    if stage in ("generate", "all") or cfg.get("responses"):
        write_manifest(run, source)
        if run.shard is None:
            write_items(run)
    if cfg.get("responses") and stage in ("score", "all"):
        n = import_responses(run)
        print(f"[{run.name}] imported {n} responses from {cfg.responses}", file=sys.stderr)
    elif stage in ("generate", "all") and spec.harness is not None:  # an official harness runs the items
        from evalsuite import agentic_stage

        agentic_stage.generate_stage(run)
    elif stage in ("generate", "all"):
        pool = ScoringPool(run) if scores_while_generating(cfg, spec, stage) else None
        finished = False
        try:
            generate_stage(run, on_stored=pool.feed if pool else None)
            finished = True
        finally:
            if pool is not None:
                pool.finish(grade_rest=finished)
                print(f"[{run.name}] scored {pool.graded} generations while generating", file=sys.stderr)
    # another harness's multiple-choice generations are graded in its own lettering of the options
    run = dataclasses.replace(run, samples=harness_views(run.dir, run.samples))
    if stage in ("judge", "all") and judge_rules.is_judged(spec, cfg):  # between generate and score
        judge.judge_stage(run)
    elif stage == "judge":
        print(f"[{run.name}] stage=judge: this task is not graded by a judge", file=sys.stderr)
    if stage in ("score", "all"):
        score_stage(run, rescore=(stage == "score" and not cfg.get("responses")))
    if run.shard is not None:  # one job of many: the report (unsharded) merges and summarizes
        done = len(store.read_records(run.path(SCORES)))
        print(f"[{run.name}] shard {run.shard[0]}/{run.shard[1]}: {done} of {len(wanted_keys(cfg, run.samples))} "
              f"scored; `stage=report` without shard= merges the shards", file=sys.stderr)
        return None
    if stage in ("score", "report", "all"):
        return summarize_task(run)
    return None


def run_status(run_dir: Path) -> str:
    """Per task: (sample_id, k) generated and scored so far, over all shards, against the expected
    count recorded in run.json. `evalsuite status RUN_DIR`."""
    if not run_dir.is_dir():
        raise UserError(f"no run directory {run_dir}")
    lines = ["| task | expected | generated | scored | shards |", "|---|---|---|---|---|"]
    for root in sorted(p for p in run_dir.iterdir() if p.is_dir()):
        dirs = [root, *shard_dirs(root)]
        manifests = [d / MANIFEST for d in dirs if (d / MANIFEST).exists()]
        if not manifests:
            continue
        manifest = store.read_json(manifests[0], expect=dict)
        try:
            expected = int(manifest["dataset"]["n_items"]) * int(manifest["config"]["samples"])
        except (KeyError, TypeError, ValueError):
            raise UserError(f"{manifests[0]}: no dataset.n_items or config.samples; it was not written by "
                            f"evalsuite: delete it and rerun the task") from None
        gens, scores = set(), set()
        for d in dirs:
            gens |= set(store.read_generations(d / GENERATIONS, repair=False))
            scores |= set(current_scores(d))
        lines.append(f"| {root.name} | {expected} | {len(gens)} | {len(scores)} | {len(dirs) - 1} |")
    return "\n".join(lines)
