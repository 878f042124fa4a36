"""NIAH@1M: RULER's eight needle-in-a-haystack tasks at any context length (docs/protocol.md).

Each prompt is sized with the model's own tokenizer so that the chat-templated prompt plus the new
tokens fit `task.length`; the fitting itself lives in tasks/niah_build.py. At large lengths the
prompts are built once into a jsonl cache (`build_to_file`) and read back by `load`.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from evalsuite.errors import UserError
from evalsuite.metrics import item_mean
from evalsuite.render import tokenizer_at
from evalsuite.store import iter_jsonl
from evalsuite.scoring.strings import matched_golds
from evalsuite.task import Setting, TaskSpec
from evalsuite.types import Breakdown, Figures, Grade, Sample, Score, from_dict, to_dict
from tasks import niah_build as build


@dataclass(frozen=True)
class NiahTask:
    """One row of docs/protocol.md's table."""

    name: str
    family: str  # single | multikey | multivalue | multiquery
    haystack: str  # noise | essay | needle
    key_kind: str  # words | uuids
    value_kind: str  # numbers | uuids
    keys: int  # needles with distinct keys in the haystack (the first `queries` are asked for)
    values: int  # needles (values) per key
    queries: int  # keys asked for


TASKS: dict[str, NiahTask] = {t.name: t for t in (
    NiahTask("niah_single_1", "single", "noise", "words", "numbers", 1, 1, 1),
    NiahTask("niah_single_2", "single", "essay", "words", "numbers", 1, 1, 1),
    NiahTask("niah_single_3", "single", "essay", "words", "uuids", 1, 1, 1),
    NiahTask("niah_multikey_1", "multikey", "essay", "words", "numbers", 4, 1, 1),
    NiahTask("niah_multikey_2", "multikey", "needle", "words", "numbers", 1, 1, 1),
    NiahTask("niah_multikey_3", "multikey", "needle", "uuids", "uuids", 1, 1, 1),
    NiahTask("niah_multivalue", "multivalue", "essay", "words", "numbers", 1, 4, 1),
    NiahTask("niah_multiquery", "multiquery", "essay", "words", "numbers", 4, 1, 4),
)}
FAMILIES = ("single", "multikey", "multivalue", "multiquery")
IN_MEMORY_TOKENS = 50_000_000  # above this many prompt tokens in all, prompts go through the jsonl cache


# ---------------------------------------------------------------- settings


@dataclass(frozen=True)
class NiahSettings:
    tasks: tuple[str, ...]
    lengths: tuple[int, ...]
    instances: int
    seed: int
    depth_points: int  # the depth grid: this many evenly spaced percentages from 0 to 100
    essay_files: tuple[str, ...]
    tokenizer: str  # a local directory or HF id
    tokenizer_revision: str | None
    new_tokens: int  # kept free for the answer
    token_check: str  # windows | full (see tasks/niah_build.py)
    cache_dir: Path


def parse_length(value: Any) -> int:
    """4096, "4096", "4K" (= 4096) or "1M" (= 1048576)."""
    text = str(value).strip().upper()
    scale = {"K": 1024, "M": 1024 ** 2}.get(text[-1:], 1)
    try:
        return int(float(text[:-1] if scale > 1 else text) * scale)
    except ValueError:
        raise UserError(f"task.length={value!r} is not a length; use a token count like 4096, 128K or 1M "
                        f"(or a list: task.length=[4096,8192])") from None


def settings(cfg: Any) -> NiahSettings:
    task = cfg.task
    names = task.get("tasks") or list(TASKS)
    names = [names] if isinstance(names, str) else list(names)
    unknown = [n for n in names if n not in TASKS]
    if unknown:
        raise UserError(f"unknown NIAH task(s) {unknown} in task.tasks; choose from {', '.join(TASKS)}")
    lengths = task.get("length", 1_048_576)
    lengths = [lengths] if isinstance(lengths, (int, str)) else list(lengths)
    model = cfg.get("model") or {}
    tokenizer = task.get("tokenizer") or model.get("path")
    if not tokenizer:
        raise UserError("NIAH needs a tokenizer to size its prompts: set model.path or task.tokenizer=DIR_OR_HF_ID")
    sampling = cfg.get("sampling") or {}
    depth_points = int(task.get("depths", 11))
    most_needles = max(TASKS[n].keys * TASKS[n].values for n in names)
    if depth_points < max(2, most_needles):
        raise UserError(f"task.depths={depth_points} is too few depth points for {most_needles} needles; "
                        f"use task.depths >= {max(2, most_needles)} (default 11: every 10%)")
    token_check = task.get("token_check", "windows")
    if token_check not in ("windows", "full"):
        raise UserError(f"task.token_check={token_check!r}; use windows (fast, exact for BPE tokenizers) or full")
    cache_root = Path(os.environ.get("EVALSUITE_CACHE", Path.home() / ".cache" / "evalsuite"))
    cache_dir = task.get("cache_dir") or cache_root / "niah"
    return NiahSettings(
        tasks=tuple(names), lengths=tuple(parse_length(x) for x in lengths),
        instances=int(task.get("instances", 100)), seed=int(task.get("seed", 42)), depth_points=depth_points,
        essay_files=tuple(str(f) for f in (task.get("essay_files") or [])), tokenizer=str(tokenizer),
        tokenizer_revision=None if task.get("tokenizer") else model.get("revision"),
        new_tokens=int(sampling.get("max_tokens") or 128), token_check=token_check,
        cache_dir=Path(str(cache_dir)).expanduser())


def tokenizer_for(cfg: Any, opts: NiahSettings):
    model = cfg.get("model") or {}
    return tokenizer_at(opts.tokenizer, opts.tokenizer_revision, bool(model.get("trust_remote_code", False)))


def frame_for(cfg: Any, tokenizer: Any) -> build.ChatFrame:
    """The chat around the user turn as the pipeline will render it (system prompt, thinking switch)."""
    return build.chat_frame(tokenizer, cfg.get("system_prompt"), cfg.get("model") or {},
                            bool(cfg.task.get("thinking", False)))


# ---------------------------------------------------------------- instances


@dataclass
class Instance:
    """What one prompt hides and asks: needles (key, value, depth) and the gold values."""

    needles: list[tuple[str, str, int]]  # (key, value, depth %) in haystack order of creation
    query_keys: list[str]
    golds: list[str]  # values asked for, in query order
    gold_depths: list[int]  # depth of each gold's needle


def depth_grid(points: int) -> list[int]:
    return [int(x) for x in np.round(np.linspace(0, 100, points))]


def make_instance(task: NiahTask, index: int, seed: int, grid: list[int]) -> Instance:
    """Seeded by (seed, task, index) alone, so every length hides the same needles at the same depths
    (a depth x length table compares like with like). One needle: depths cycle through the grid
    over the instances; several: distinct grid depths drawn at random, as RULER draws them."""
    rng = random.Random(f"{seed}/{task.name}/{index}")
    keys = build.distinct_keys(rng, task.key_kind, task.keys)
    pairs = [(key, build.random_value(rng, task.value_kind)) for key in keys for _ in range(task.values)]
    if len(pairs) == 1:
        depths = [grid[index % len(grid)]]
    else:
        rng.shuffle(pairs)  # which needle sits where (in multikey: whether the asked one comes first)
        depths = sorted(rng.sample(grid, len(pairs)))
    needles = [(k, v, d) for (k, v), d in zip(pairs, depths)]
    query_keys = keys[:task.queries]
    asked = [(v, d) for q in query_keys for k, v, d in needles if k == q]
    return Instance(needles, query_keys, [v for v, _ in asked], [d for _, d in asked])


def question_parts(task: NiahTask, query_keys: list[str], golds: list[str]) -> tuple[str, str]:
    """RULER's query template split around the context: (head ending in a newline, newline + question).
    Singular wording when one value is asked for."""
    kind = task.value_kind
    query = query_keys[0] if len(query_keys) == 1 else ", ".join(query_keys[:-1]) + ", and " + query_keys[-1]
    if len(golds) == 1:
        one = kind[:-1]  # numbers -> number
        head = (f"A special magic {one} is hidden within the following text. Make sure to memorize it. "
                f"I will quiz you about the {one} afterwards.\n")
        return head, f"\nWhat is the special magic {one} for {query} mentioned in the provided text?"
    head = (f"Some special magic {kind} are hidden within the following text. Make sure to memorize it. "
            f"I will quiz you about the {kind} afterwards.\n")
    return head, f"\nWhat are all the special magic {kind} for {query} mentioned in the provided text?"


# ---------------------------------------------------------------- building


class PromptBuilder:
    """Everything tokenized once per run (tokenizer, chat frame, haystacks), then one prompt at a time."""

    def __init__(self, cfg: Any, opts: NiahSettings | None = None):
        self.opts = opts or settings(cfg)
        self.tokenizer = tokenizer_for(cfg, self.opts)
        self.counter = build.TokenCounter(self.tokenizer)
        self.frame = frame_for(cfg, self.tokenizer)
        self.grid = depth_grid(self.opts.depth_points)
        self._haystacks: dict[tuple, build.Haystack] = {}
        self._token_check: dict[tuple, str] = {}  # per haystack: windows, or full where it is not additive

    @staticmethod
    def _haystack_key(task: NiahTask) -> tuple:
        return (task.haystack, task.key_kind, task.value_kind) if task.haystack == "needle" else (task.haystack,)

    def haystack(self, task: NiahTask) -> build.Haystack:
        """Built and tokenized on first use, sized for the largest length of the run."""
        key = self._haystack_key(task)
        if key not in self._haystacks:
            need = max(self.opts.lengths)
            if task.haystack == "noise":
                self._haystacks[key] = build.noise_haystack(self.counter, need)
            elif task.haystack == "essay":
                self._haystacks[key] = build.essay_haystack(self.counter, need, self.opts.essay_files, self.opts.seed)
            else:
                self._haystacks[key] = build.needle_haystack(self.counter, need, task.key_kind, task.value_kind,
                                                             self.opts.seed)
            check = self.opts.token_check
            if check == "windows" and not build.haystack_is_additive(self.counter, self._haystacks[key], need):
                print(f"niah: the tokenizer merges across {task.haystack} haystack pieces; tokenizing whole "
                      f"prompts instead (slower)", file=sys.stderr)
                check = "full"
            self._token_check[key] = check
        return self._haystacks[key]

    def sample(self, task: NiahTask, length: int, index: int) -> Sample:
        inst = make_instance(task, index, self.opts.seed, self.grid)
        haystack = self.haystack(task)
        stream = cumulative = None
        if haystack.line_keys is not None:  # needle haystack: shuffle the lines, drop those of our keys
            taken = {haystack.line_keys[k] for k, _, _ in inst.needles if k in haystack.line_keys}
            rng = np.random.default_rng(random.Random(f"{self.opts.seed}/{task.name}/{index}/lines").getrandbits(64))
            order = rng.permutation(len(haystack.pieces))
            stream = order[~np.isin(order, list(taken))] if taken else order
            cumulative = np.cumsum(haystack.piece_tokens[stream])
        head, tail = question_parts(task, inst.query_keys, inst.golds)
        needles = [build.Needle(build.needle_text(task.value_kind, k, v), d) for k, v, d in inst.needles]
        fitted = build.fit_prompt(
            self.counter, self.frame, haystack, needles, head, tail, length - self.opts.new_tokens,
            stream=stream, cumulative=cumulative, token_check=self._token_check[self._haystack_key(task)],
            what=f"{task.name} at length {length}", new_tokens=self.opts.new_tokens)
        essay = None if task.haystack != "essay" else "files" if self.opts.essay_files else "generated"
        return Sample(
            id=f"{task.name}/len{length}/{index:04d}",
            messages=[{"role": "user", "content": fitted.user_text}],
            reference=inst.golds,
            meta={"niah_task": task.name, "family": task.family, "length": length,
                  "depths": inst.gold_depths, "depth": inst.gold_depths[0],
                  "needle_depths": [d for *_, d in inst.needles], "haystack": task.haystack,
                  "haystack_pieces": fitted.haystack_pieces, "essay": essay},
            prompt_tokens=fitted.prompt_tokens)


def iter_samples(cfg: Any) -> Iterator[Sample]:
    """The samples one at a time (task by task, length by length), never all in memory."""
    builder = PromptBuilder(cfg)
    opts = builder.opts
    for name in opts.tasks:
        for length in opts.lengths:
            for index in range(opts.instances):
                yield builder.sample(TASKS[name], length, index)


def build_to_file(cfg: Any, path: str | Path) -> Path:
    """Streams every sample to a jsonl file (one Sample per line); written atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8") as f:
        for sample in iter_samples(cfg):
            f.write(json.dumps(to_dict(sample), ensure_ascii=False) + "\n")
    partial.replace(path)
    return path


def cache_path(cfg: Any) -> Path:
    """Where load keeps built prompts: keyed by everything that changes them (settings, tokenizer,
    chat template and system prompt, the code's version of the words)."""
    opts = settings(cfg)
    builder_frame = frame_for(cfg, tokenizer_for(cfg, opts))
    essays = [(f, os.stat(f).st_size, os.stat(f).st_mtime_ns) if os.path.isfile(f) else f for f in opts.essay_files]
    words = build.WORDS_FILE.read_bytes()
    key = json.dumps([opts.tasks, opts.lengths, opts.instances, opts.seed, opts.depth_points, essays,
                      opts.tokenizer, opts.tokenizer_revision, opts.new_tokens, builder_frame.prefix,
                      builder_frame.suffix, hashlib.sha256(words).hexdigest(), 2])
    return opts.cache_dir / f"niah-{hashlib.sha256(key.encode()).hexdigest()[:16]}.jsonl"


def load(cfg: Any) -> list[Sample]:
    opts = settings(cfg)
    total_tokens = len(opts.tasks) * opts.instances * sum(opts.lengths)
    if total_tokens <= IN_MEMORY_TOKENS:
        return list(iter_samples(cfg))
    path = cache_path(cfg)
    if not path.is_file():  # hours of tokenizing at 1M: build once, reuse on every rerun
        build_to_file(cfg, path)
    return [from_dict(Sample, row) for _, row in iter_jsonl(path, fix=f"delete {path} to rebuild the prompts")]


def preflight(cfg: Any) -> list[str]:
    """What can be known before building the prompts (800 of them at 1M tokens take minutes): the
    settings, the tokenizer, every length within max_model_len, the prompt cache writable."""
    from evalsuite.store import unwritable

    opts = settings(cfg)
    tokenizer_for(cfg, opts)
    problems = []
    limit = (cfg.get("model") or {}).get("max_model_len")
    too_long = [n for n in opts.lengths if limit and n > int(limit)]
    if too_long:
        problems.append(f"task.length {too_long[0]:,} > the model's max_model_len {int(limit):,}; lower task.length "
                        f"or raise model.max_model_len_long (the window long-context tasks run at)")
    if len(opts.tasks) * opts.instances * sum(opts.lengths) > IN_MEMORY_TOKENS and not cache_path(cfg).is_file():
        why = unwritable(opts.cache_dir)
        if why:
            problems.append(f"the prompt cache cannot be written ({why}); set task.cache_dir=DIR or EVALSUITE_CACHE")
    return problems


# ---------------------------------------------------------------- scoring


def deviations(samples: list[Sample], cfg) -> list[str]:
    """What the report must flag beyond settings: essay haystacks made of our generated prose
    (RULER's are Paul Graham's essays, which cannot ship; task.essay_files brings them)."""
    generated = sum(1 for s in samples if s.meta.get("essay") == "generated")
    return [f"essay haystack: generated prose in {generated} prompts (card: Paul Graham's essays; "
            f"set task.essay_files)"] if generated else []


def score(sample: Sample, answer: str, cfg: Any) -> Grade:
    """string_match_all: the fraction of gold values found (case-insensitive substrings)."""
    golds = [str(g) for g in sample.reference]
    found = matched_golds(answer or "", golds)
    value = sum(found) / len(found) if found else 0.0
    return Grade(value=value, extracted=(answer or "").strip()[:500] or None, detail={"found": found})


def figures(samples: dict[str, Sample], scores: list[Score], cfg: Any) -> Figures:
    """The OPEN averages over NIAH's tasks and families (the engine gives each task, family and
    length its own cell), and needle recall per depth and length, one cell per depth of the grid
    and length run (the heat map). Averaged as the headline is (metrics.item_mean)."""
    by_task: dict[str, list[tuple[str, float]]] = defaultdict(list)
    by_family: dict[str, list[tuple[str, float]]] = defaultdict(list)
    by_depth_length: dict[tuple[int, int], list[tuple[str, float]]] = defaultdict(list)
    for s in scores:
        sample = samples.get(s.sample_id)
        if sample is None:
            continue
        meta, value = sample.meta, (s.sample_id, s.value)
        by_task[meta["niah_task"]].append(value)
        by_family[meta["family"]].append(value)
        found = (s.detail or {}).get("found") or [False] * len(meta["depths"])  # unfinished: nothing found
        for depth, hit in zip(meta["depths"], found):
            by_depth_length[(depth, meta["length"])].append((s.sample_id, float(hit)))
    task_means = [item_mean(by_task[n]) for n in TASKS if by_task[n]]
    family_means = [item_mean(by_family[f]) for f in FAMILIES if by_family[f]]
    variants: dict[str, float] = {}
    if task_means:
        variants["mean_of_8" if len(task_means) == len(TASKS) else "mean_of_tasks"] = sum(task_means) / len(task_means)
    if family_means:
        variants["mean_of_families"] = sum(family_means) / len(family_means)
    cells = [Breakdown({"depth": depth, "length": length}, item_mean(hits), len({h[0] for h in hits}))
             for (depth, length), hits in sorted(by_depth_length.items())]
    return Figures(variants=variants, cells=cells)

def plan_prompts(cfg: Any) -> list[tuple[str, int]]:
    """`evalsuite plan`'s sizes without building a haystack: each prompt fills its length less the
    new tokens (the built prompts come within a few dozen tokens of that)."""
    opts = settings(cfg)
    return [(f"{task}/{length}/{i}", length - opts.new_tokens)
            for task in opts.tasks for length in opts.lengths for i in range(opts.instances)]


TASK = TaskSpec(
    load=load, score=score, figures=figures, deviations=deviations, preflight=preflight, plan_prompts=plan_prompts,
    breakdown_by=("niah_task", "family", "length"),
    settings={
        "tasks": Setting((str, list), nullable=True, doc="RULER's NIAH task names; null: all 8"),
        "length": Setting((int, str, list), doc="prompt length in tokens (4096, 128K, 1M) or a list"),
        "instances": Setting(int, minimum=1), "seed": Setting(int),
        "depths": Setting(int, minimum=2, doc="depth points of the grid (11: every 10%)"),
        "essay_files": Setting(list, nullable=True, doc="text files for the haystack (RULER: Paul Graham's essays)"),
        "tokenizer": Setting(str, nullable=True, doc="sizes the prompts; null: the model's"),
        "token_check": Setting(str, choices=("windows", "full")),
        "cache_dir": Setting(str, nullable=True),
    })
