"""What a run will ask the model for, before anything is generated: which (sample_id, k) this
process owns, each request's prompt and seed, its token budget, and the one rule that decides
whether a prompt fits the model's context. The pipeline generates from this plan and the dry run
and preflight size it; neither re-derives any of it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Sequence

from omegaconf import DictConfig

from evalsuite.errors import UserError
from evalsuite.render import build_messages, history_messages, render_prompt
from evalsuite.sharding import current_shard, shard_index
from evalsuite.task import TOOL_PROMPTS, TaskSpec, run_mode
from evalsuite.types import Request, Sample

CARD_DIR = Path(__file__).resolve().parent / "card"


def wanted_keys(cfg: DictConfig, samples: list[Sample]) -> set[tuple[str, int]]:
    """Every (sample_id, k) of the task, or of this process's shard."""
    keys = {(s.id, k) for s in samples for k in range(int(cfg.samples))}
    shard = current_shard(cfg)
    if shard is not None:
        keys = {key for key in keys if shard_index(key[0], key[1], shard[1]) == shard[0]}
    return keys


def request_seed(base: int, sample_id: str, k: int) -> int:
    """A seed per (sample_id, k), independent of order and batching, so reruns reproduce."""
    return int.from_bytes(hashlib.sha256(f"{base}/{sample_id}/{k}".encode()).digest()[:4], "little")


def reasoning_expected(cfg: DictConfig) -> bool:
    """A reasoning model asked to think must close its thinking before it has an answer."""
    return bool(cfg.model.get("reasoning", False)) and bool(cfg.task.get("thinking", True))


def max_new_tokens(cfg: DictConfig) -> int:
    """The protocol's budget, capped by the model config's `max_new_tokens` (the embedded 135M model
    caps it: it never writes 131K useful tokens on a CPU). The cap is recorded as a deviation."""
    budget = int(cfg.sampling.max_tokens)
    cap = cfg.model.get("max_new_tokens")
    return min(budget, int(cap)) if cap else budget


def sample_for_k(spec: TaskSpec | None, sample: Sample, k: int, cfg: DictConfig) -> Sample:
    """The item as generation k sees it: the same for every k unless the task varies it."""
    return spec.sample_for_k(sample, k, cfg) if spec is not None and spec.sample_for_k is not None else sample


# ---------------------------------------------------------------- the system prompt, and mode=tir's tool prompt

@lru_cache(maxsize=None)
def tool_prompt(name: str) -> str:
    """The text of a tool prompt a task may declare (task.TOOL_PROMPTS; its file's last newline is
    not part of it)."""
    if name not in TOOL_PROMPTS:
        raise UserError(f"task.tir_prompt={name!r} is not a tool prompt; choose one of: {', '.join(TOOL_PROMPTS)}")
    return (CARD_DIR / TOOL_PROMPTS[name]).read_text(encoding="utf-8").removesuffix("\n")


def tool_prompt_name(cfg: DictConfig) -> str:
    """The tool prompt the task declares for mode=tir (`task.tir_prompt`); a task that declares
    none does not run under mode=tir, and the error names the tasks that do."""
    name = cfg.task.get("tir_prompt")
    if not name:
        from evalsuite.config import tir_tasks

        raise UserError(f"mode=tir is for the tasks that declare a tool prompt (task.tir_prompt): "
                        f"{', '.join(tir_tasks())}; task={cfg.task.name} declares none: drop mode=tir or pick one of those")
    return str(name)


def system_prompt(cfg: DictConfig) -> str | None:
    """The system prompt of the run's requests: under mode=tir the tool prompt the task declares,
    in place of `system_prompt` (docs/tir.md); otherwise `system_prompt`."""
    if run_mode(cfg) == "tir":
        return tool_prompt(tool_prompt_name(cfg))
    return cfg.get("system_prompt")


# ---------------------------------------------------------------- the plan: requests to make

def build_requests(cfg: DictConfig, samples: list[Sample], tokenizer: Any, todo: set[tuple[str, int]],
                   spec: TaskSpec | None = None) -> list[Request]:
    """One request per key of `todo`: its prompt (rendered once per distinct item view), its
    messages and its seed."""
    requests = []
    thinking, base_seed, n_samples = bool(cfg.task.get("thinking", True)), int(cfg.seed), int(cfg.samples)
    system = system_prompt(cfg)
    for s in samples:
        rendered: dict[str, tuple[list, str]] = {}  # one render per distinct prompt, not per k
        for k in range(n_samples):
            if (s.id, k) not in todo:
                continue
            view = sample_for_k(spec, s, k, cfg)
            key = repr(view.messages)
            if key not in rendered:
                # a chat server gets the history already ruled, as the template would see it
                messages = history_messages(build_messages(view.messages, system), cfg.model)
                rendered[key] = (messages, render_prompt(tokenizer, messages, thinking, cfg.model))
            messages, prompt = rendered[key]
            requests.append(Request(s.id, k, prompt, request_seed(base_seed, s.id, k), messages))
    return requests


@dataclass
class GenerationPlan:
    """What the generate stage makes, whatever its turn loop (one shot per request, or a
    conversation per request under mode=tir): one request per (sample_id, k) still to make, with
    its prompt (a conversation's first), messages, seed, and budget where the fit rule clamped it."""

    requests: list[Request]
    clamps: list[dict]  # the clamped requests, for clamps.jsonl


def plan_generations(cfg: DictConfig, samples: list[Sample], spec: TaskSpec, todo: set[tuple[str, int]],
                     backend: Any) -> GenerationPlan:
    """The generate stage's one plan: the requests of `todo` (keys to make) built with the
    backend's tokenizer, each checked by `fit_to_context` (a misfit stops the run, naming the item)."""
    requests = build_requests(cfg, samples, backend.tokenizer, todo, spec)
    # exact counts the task measured for its own prompts (NIAH): not when the prompt varies per k, nor
    # when a tool prompt replaces the system prompt they were measured with
    known = {} if spec.sample_for_k is not None or run_mode(cfg) == "tir" else {
        s.id: s.prompt_tokens for s in samples if s.prompt_tokens is not None}
    return GenerationPlan(requests, check_budget(cfg, requests, backend.count_tokens, known))


# ---------------------------------------------------------------- fit to the context window

@dataclass(frozen=True)
class Fit:
    verdict: str  # "fits" | "clamped" (max_tokens shrunk to the room left) | "misfit"
    max_tokens: int


def fit_to_context(prompt_tokens: int, budget: int, limit: int | None, clamp: bool) -> Fit:
    """The one fit rule: prompt + max_tokens must fit max_model_len; with task.clamp_budget=true a
    prompt that leaves some room gets max_tokens shrunk to it instead."""
    if limit is None or prompt_tokens + budget <= limit:
        return Fit("fits", budget)
    if clamp and prompt_tokens < limit:
        return Fit("clamped", limit - prompt_tokens)
    return Fit("misfit", budget)


def context_limit(cfg: DictConfig) -> int | None:
    return int(cfg.model.max_model_len) if cfg.model.get("max_model_len") else None


def prompt_token_room(cfg: DictConfig) -> int | None:
    """The most tokens a rendered prompt may have and still fit with the full answer budget (the
    same rule as fit_to_context); for tasks that cut their items to fit (LongBench v2). None
    without a max_model_len."""
    limit = context_limit(cfg)
    return None if limit is None else limit - max_new_tokens(cfg)


def count_prompt_tokens(tokenizer: Any, prompts: Sequence[str], batch: int = 256) -> list[int]:
    """Token counts of the rendered prompts (the template already holds any BOS), batched through
    the fast tokenizer."""
    counts: list[int] = []
    for start in range(0, len(prompts), batch):
        counts += [len(ids) for ids in tokenizer(list(prompts[start:start + batch]), add_special_tokens=False).input_ids]
    return counts


class DocumentFitter:
    """Cuts one document of a prompt in the middle until the rendered prompt (system prompt and
    chat template included, counted with the model's tokenizer) fits `prompt_token_room`: the
    same rule as `fit_to_context` with the full answer budget. The head and the tail are kept, as
    LongBench's own code does; only the document is cut, never the question around it. Used by
    the long-document tasks (LongBench v2, AA-LCR)."""

    def __init__(self, cfg: DictConfig):
        from evalsuite.render import load_tokenizer

        self.cfg, self.room = cfg, prompt_token_room(cfg)
        self.tokenizer = load_tokenizer(cfg.model) if self.room is not None else None

    def count(self, text: str) -> int:
        messages = build_messages([{"role": "user", "content": text}], self.cfg.get("system_prompt"))
        prompt = render_prompt(self.tokenizer, messages, bool(self.cfg.task.get("thinking", True)), self.cfg.model)
        return count_prompt_tokens(self.tokenizer, [prompt])[0]

    def fit(self, build: Callable[[str], str], document: str, item_id: str) -> tuple[str, int | None, int]:
        """(the user turn `build(document)` with the document cut to fit, its prompt's exact token
        count (None without a window), tokens cut from the document)."""
        where = f"{self.cfg.task.name} item {item_id}"
        if self.room is None:  # no window to fit: the whole document
            return build(document), None, 0
        text = build(document)
        n = self.count(text)
        if n <= self.room:
            return text, n, 0
        ids = self.tokenizer(document, add_special_tokens=False).input_ids
        keep = len(ids) - (n - self.room)
        for _ in range(8):  # decoding and re-encoding at the cut can shift a few tokens: shrink and retry
            if keep <= 0:
                raise UserError(f"{where}: even without its document the prompt does not fit max_model_len less "
                                f"max_tokens ({self.room} tokens); lower sampling.max_tokens")
            text = build(self._cut(ids, keep))
            n = self.count(text)
            if n <= self.room:
                return text, n, len(ids) - keep
            keep -= (n - self.room) + 8
        raise UserError(f"{where}: could not cut its document to fit {self.room} prompt tokens")

    def _cut(self, ids: list[int], keep: int) -> str:
        head, tail = ids[:keep // 2], ids[len(ids) - (keep - keep // 2):]
        return self.tokenizer.decode(head + tail, skip_special_tokens=True)


def misfit_message(cfg: DictConfig, sample_id: str, prompt_tokens: int) -> str:
    return (f"task {cfg.task.name}, item {sample_id}: prompt {prompt_tokens} + max_tokens {max_new_tokens(cfg)} tokens "
            f"> max_model_len {context_limit(cfg)}; lower sampling.max_tokens, raise model.max_model_len, "
            f"or set task.clamp_budget=true")


def check_budget(cfg: DictConfig, requests: list[Request], count_tokens: Callable[[str], int],
                 known: dict[str, int] | None = None) -> list[dict]:
    """Every request checked by `fit_to_context` before any generation starts: a misfit is an
    error naming the item; a clamped request gets its smaller budget (returned, for clamps.jsonl).
    `known`: exact counts a task already measured with this tokenizer (NIAH's 1M-token prompts:
    tokenizing 800 of them again would take longer than building them)."""
    limit = context_limit(cfg)
    if limit is None:
        return []
    budget, clamp, clamps = max_new_tokens(cfg), bool(cfg.task.get("clamp_budget", False)), []
    known, counted = known or {}, {}
    for r in requests:
        if r.sample_id in known:
            n = known[r.sample_id]
        else:
            if r.prompt not in counted:  # an item's samples mostly share one prompt
                counted[r.prompt] = count_tokens(r.prompt)
            n = counted[r.prompt]
        fit = fit_to_context(n, budget, limit, clamp)
        if fit.verdict == "misfit":
            raise UserError(misfit_message(cfg, r.sample_id, n))
        if fit.verdict == "clamped":
            r.max_tokens = fit.max_tokens
            clamps.append({"sample_id": r.sample_id, "k": r.k, "prompt_tokens": n, "max_tokens": r.max_tokens})
    return clamps
