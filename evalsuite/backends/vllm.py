"""Offline vLLM batch inference: the card's main path.

Requests go to `vllm.LLM.generate` in large chunks (`backend.chunk_size`): the engine schedules the
whole chunk itself, and each chunk's results reach the store as soon as it returns, so a crash loses
one chunk at most. Every request carries its own seed (SamplingParams(seed=...)), so a (sample_id, k)
gives the same text whatever chunk or shard it lands in.

The engine is built lazily, on the first `generate`: the pipeline's budget check (prompt +
max_tokens <= max_model_len) runs on the tokenizer alone before any GPU time is spent. Engines are
kept per process and reused by later tasks of a suite with the same settings (a 30B engine takes
minutes to start and holds most of the GPU). `shutdown_engine` stops it explicitly, through vLLM's
own teardown, when its settings change, after a failed task and when the run ends: an engine core
process left waiting for input kept a finished run from exiting (Python's exit handler joins it).

`backend.data_parallel=N` starts N engine processes, each pinned to its GPUs with
CUDA_VISIBLE_DEVICES and given the requests of one shard (evalsuite.sharding); their results come
back to this process, which alone writes the store.

Everything except the `LLM(...)` and `LLM.generate` calls is plain functions, tested on a CPU.
"""
from __future__ import annotations

import asyncio
import gc
import importlib
import importlib.util
import itertools
import json
import math
import multiprocessing as mp
import os
import queue
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Coroutine, Iterable, Iterator, Sequence

from omegaconf import DictConfig, OmegaConf

from evalsuite.backends.turns import Complete, Completion, TurnMaker, with_stop
from evalsuite.embedded import resolve_model_path
from evalsuite.errors import EngineDied, UserError
from evalsuite.render import load_tokenizer
from evalsuite.sharding import shard_index
from evalsuite.types import Generation, Request, to_dict

# model.vllm keys that configure `vllm serve`, not the offline engine
SERVER_ONLY_KEYS = frozenset({"reasoning_parser", "tool_call_parser"})
# sampling config keys passed through to SamplingParams when present
EXTRA_SAMPLING_KEYS = ("top_k", "min_p", "repetition_penalty", "presence_penalty", "frequency_penalty", "stop")
# vLLM's "abort" (and anything unknown) becomes "error": the pipeline redoes such records on a rerun
FINISH_REASONS = {"stop": "stop", "length": "length"}
# engines sharing one GPU split this much of its memory between them
SHARED_GPU_MEMORY = 0.9


# ---------------------------------------------------------------- settings (plain functions)

def engine_kwargs(cfg: DictConfig) -> dict[str, Any]:
    """`vllm.LLM(**kwargs)` for this model: the model config's fields and `model.vllm.*`, then
    `backend.engine_args.*` (ad hoc overrides such as enforce_eager), then `backend.gpus_per_engine`."""
    model = cfg.model
    path = resolve_model_path(str(model.path))
    kwargs: dict[str, Any] = {
        "model": path,
        "tokenizer": path,
        "trust_remote_code": bool(model.get("trust_remote_code", False)),
        "dtype": str(model.get("dtype") or "auto"),
        "seed": int(cfg.get("seed", 0)),
        "enable_prefix_caching": True,  # n samples of one prompt share its prefill
    }
    if model.get("revision") and not os.path.isdir(path):
        kwargs["revision"] = str(model.revision)
    if model.get("max_model_len"):
        kwargs["max_model_len"] = int(model.max_model_len)
    for key, value in _plain(model.get("vllm")).items():
        if key not in SERVER_ONLY_KEYS and value is not None:
            kwargs[key] = value
    kwargs.update(_plain(cfg.backend.get("engine_args")))
    if cfg.backend.get("gpus_per_engine"):
        kwargs["tensor_parallel_size"] = int(cfg.backend.gpus_per_engine)
    return kwargs


def _plain(node: Any) -> dict[str, Any]:
    if node is None:
        return {}
    if isinstance(node, DictConfig):
        return OmegaConf.to_container(node, resolve=True)  # type: ignore[return-value]
    return dict(node)


def keeps_special_tokens(tokenizer: Any, think_end: str | None) -> bool:
    """Detokenize with special tokens kept when the end-of-thinking tag is itself a special token:
    skipping it would make every answer look unfinished."""
    return bool(think_end) and think_end in set(getattr(tokenizer, "all_special_tokens", []) or [])


def sampling_base(sampling: Any, skip_special_tokens: bool = True) -> dict[str, Any]:
    """The SamplingParams fields every request shares, read from the config once (an OmegaConf
    lookup costs microseconds; 100,000 requests x 10 of them is most of a minute)."""
    plain = _plain(sampling)
    base: dict[str, Any] = {
        "n": 1,
        "temperature": float(plain["temperature"]),
        "top_p": float(plain.get("top_p", 1.0)),
        "max_tokens": int(plain["max_tokens"]),
        "skip_special_tokens": skip_special_tokens,
    }
    for key in EXTRA_SAMPLING_KEYS:
        if plain.get(key) is not None:
            base[key] = plain[key]
    return base


def sampling_kwargs(base: dict[str, Any], request: Request) -> dict[str, Any]:
    """SamplingParams for one (sample_id, k): its own seed, its own (possibly clamped) budget."""
    return {**base, "max_tokens": int(request.max_tokens or base["max_tokens"]), "seed": int(request.seed)}


def to_generation(request: Request, output: Any) -> Generation:
    """One vllm RequestOutput (n=1) -> the Generation stored for this request."""
    completion = output.outputs[0]
    return Generation(
        sample_id=request.sample_id, k=request.k, text=completion.text,
        tokens=len(completion.token_ids), finish_reason=FINISH_REASONS.get(str(completion.finish_reason), "error"),
        prompt_tokens=len(output.prompt_token_ids or ()), seed=request.seed,
    )


def to_generations(requests: Sequence[Request], outputs: Sequence[Any]) -> list[Generation]:
    """LLM.generate returns outputs in the order of its inputs; a count mismatch is vLLM's bug, and
    pairing them anyway would store texts under the wrong keys."""
    if len(outputs) != len(requests):
        raise RuntimeError(f"vllm returned {len(outputs)} outputs for {len(requests)} prompts")
    return [to_generation(r, o) for r, o in zip(requests, outputs)]


def chunked(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), max(1, size)):
        yield items[start:start + size]


def shard_requests(requests: Iterable[Request], count: int) -> list[list[Request]]:
    """Requests split by evalsuite.sharding: the same (sample_id, k) always lands in the same shard."""
    shards: list[list[Request]] = [[] for _ in range(count)]
    for r in requests:
        shards[shard_index(r.sample_id, r.k, count)].append(r)
    return shards


# ---------------------------------------------------------------- GPU placement for data parallel

@dataclass
class EnginePlacement:
    index: int
    gpus: list[str]  # CUDA_VISIBLE_DEVICES entries (indices or UUIDs)
    gpu_memory_utilization: float


def visible_gpus(cfg: DictConfig) -> list[str]:
    """backend.gpu_ids, else CUDA_VISIBLE_DEVICES, else every GPU torch can count."""
    if cfg.backend.get("gpu_ids"):
        return [str(g) for g in cfg.backend.gpu_ids]
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [g.strip() for g in env.split(",") if g.strip()]
    import torch

    return [str(i) for i in range(torch.cuda.device_count())]


def plan_engines(n_engines: int, gpus_per_engine: int, gpus: list[str], memory_fraction: float) -> list[EnginePlacement]:
    """Disjoint GPUs per engine when there are enough; with fewer GPUs than engines (and one GPU per
    engine), engines share GPUs round robin and split the GPU's memory between them."""
    if not gpus:
        raise UserError("backend.data_parallel needs GPUs but none is visible; check CUDA_VISIBLE_DEVICES "
                        "or set backend.gpu_ids=[0,1,...]")
    if n_engines * gpus_per_engine <= len(gpus):
        return [EnginePlacement(i, gpus[i * gpus_per_engine:(i + 1) * gpus_per_engine], memory_fraction)
                for i in range(n_engines)]
    if gpus_per_engine > 1:
        raise UserError(f"backend.data_parallel={n_engines} x gpus_per_engine={gpus_per_engine} needs "
                        f"{n_engines * gpus_per_engine} GPUs but {len(gpus)} are visible; lower one of them")
    per_gpu = math.ceil(n_engines / len(gpus))
    share = min(memory_fraction, SHARED_GPU_MEMORY / per_gpu)
    return [EnginePlacement(i, [gpus[i % len(gpus)]], round(share, 4)) for i in range(n_engines)]


# ---------------------------------------------------------------- engines, kept per process

_ENGINE: dict[str, Any] = {}  # {"key": json of the kind and kwargs, "llm": the engine, "loop": AsyncLLM's loop}
# every engine this process started, in order: {"kind", "max_model_len", "seconds"} (a suite's count)
ENGINE_STARTS: list[dict[str, Any]] = []


def engine_key(kwargs: dict[str, Any], kind: str = "offline") -> str:
    """Tasks whose engines have the same key share one: the kind (offline LLM, or AsyncLLM for
    mode=tir) and every constructor argument."""
    return json.dumps({"kind": kind, **kwargs}, sort_keys=True, default=str)


def vllm_module_name(cfg: DictConfig) -> str:
    """The module providing LLM and SamplingParams (vllm, or a stand-in in tests), found but not
    imported (importing vllm takes seconds)."""
    name = str(cfg.backend.get("vllm_module") or "vllm")
    if importlib.util.find_spec(name) is None:
        raise UserError(f"backend=vllm needs the {name!r} package, not importable here; on a CUDA machine "
                        f"`pip install 'evalsuite[vllm]'`, or use backend=hf (CPU) or backend=openai (a server)")
    return name


def vllm_module(cfg: DictConfig):
    return importlib.import_module(vllm_module_name(cfg))


def shared_engine(module: Any, kwargs: dict[str, Any]) -> Any:
    """One engine per process, rebuilt only when its settings change (the old one is dropped first:
    two engines rarely fit on the GPU)."""
    key = engine_key(kwargs)
    if _ENGINE.get("key") == key:
        return _ENGINE["llm"]
    shutdown_engine()
    llm = _start("offline", kwargs, lambda: module.LLM(**kwargs))
    _ENGINE.update(key=key, llm=llm)
    return llm


def shared_async_engine(module: Any, kwargs: dict[str, Any]) -> tuple[Any, asyncio.AbstractEventLoop]:
    """mode=tir's AsyncLLM, kept like the offline engine, with the event loop it runs on: an AsyncLLM
    serves one loop for its life, so every TIR task of a suite runs its conversations on this loop
    (a thread of its own) and the engine outlives the task."""
    key = engine_key(kwargs, "async")
    if _ENGINE.get("key") == key:
        return _ENGINE["llm"], _ENGINE["loop"]
    shutdown_engine()
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="evalsuite-async-engine", daemon=True).start()
    try:
        engine = _start("async", kwargs, lambda: make_async_engine(module, kwargs))
    except BaseException:
        loop.call_soon_threadsafe(loop.stop)
        raise
    _ENGINE.update(key=key, llm=engine, loop=loop)
    return engine, loop


def make_async_engine(module: Any, kwargs: dict[str, Any]) -> Any:
    if module.__name__ != "vllm":  # a stand-in module: its AsyncLLM takes the kwargs as they are
        return module.AsyncLLM(**kwargs)
    from vllm.engine.arg_utils import AsyncEngineArgs
    from vllm.v1.engine.async_llm import AsyncLLM

    return AsyncLLM.from_engine_args(AsyncEngineArgs(**kwargs))


def _start(kind: str, kwargs: dict[str, Any], make: Callable[[], Any]) -> Any:
    """Start one engine, logged, timed and counted; any failure to start is the engine's death."""
    print(f"[vllm] starting the engine ({kind}): {_describe(kwargs)}", file=sys.stderr)
    t0 = time.perf_counter()
    try:
        engine = make()
    except UserError:
        raise
    except Exception as e:
        raise EngineDied(f"{type(e).__name__}: {e}") from e
    seconds = time.perf_counter() - t0
    ENGINE_STARTS.append({"kind": kind, "max_model_len": kwargs.get("max_model_len"), "seconds": round(seconds, 1)})
    print(f"[vllm] engine ready in {seconds:.1f} s", file=sys.stderr)  # bench/gpu_session.py reads it
    return engine


def stop_engine(llm: Any) -> str | None:
    """vLLM's own teardown of one engine: `LLM.shutdown` in versions that have it, else the engine's,
    else its engine core client's (which stops the engine core process). Returns which one ran."""
    engine = getattr(llm, "llm_engine", None)
    for owner in (llm, engine, getattr(engine, "engine_core", None)):
        stop = getattr(owner, "shutdown", None) if owner is not None else None
        if callable(stop):
            name = f"{type(owner).__name__}.shutdown"
            try:
                stop()
            except Exception as e:  # noqa: BLE001 - a dead engine may fail its own teardown; the CLI's exit stops its processes
                print(f"[vllm] warning: {name} failed ({type(e).__name__}: {e})", file=sys.stderr)
            return name
    return None


def shutdown_engine() -> None:
    """Stop this process's engine, if any, and free its GPU memory: vLLM's teardown, then every
    reference dropped and collected. Safe to call when none is running."""
    llm = _ENGINE.pop("llm", None)
    loop = _ENGINE.pop("loop", None)
    _ENGINE.clear()
    if llm is None:
        return
    if loop is not None and loop.is_running():  # AsyncLLM: torn down on its own loop, then the loop stopped
        async def stop() -> str | None:
            return stop_engine(llm)

        try:
            how = asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=120)
        except Exception:  # noqa: BLE001 - a loop that no longer answers: teardown from here
            how = stop_engine(llm)
        loop.call_soon_threadsafe(loop.stop)
    else:
        how = stop_engine(llm)
    del llm
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.empty_cache()
    print(f"[vllm] engine stopped ({how or 'no shutdown method in this vLLM: released'})", file=sys.stderr)


# ---------------------------------------------------------------- the backend

class VLLMBackend:
    name = "vllm"

    def __init__(self, cfg: DictConfig, llm: Any = None, sampling_params_factory: Callable[..., Any] | None = None):
        """`llm` and `sampling_params_factory` replace vllm's LLM instance and SamplingParams class
        (an engine already running in this process, or a stand-in in tests)."""
        self.cfg = cfg
        self.module = None if (llm is not None and sampling_params_factory is not None) else vllm_module(cfg)
        self.tokenizer = load_tokenizer(cfg.model)
        self.chunk_size = int(cfg.backend.get("chunk_size", 4096))
        self.data_parallel = int(cfg.backend.get("data_parallel", 1))
        self.prompt_format = str(cfg.backend.get("prompt_format", "tokens"))
        if self.prompt_format not in ("tokens", "text"):
            raise UserError(f"unknown backend.prompt_format {self.prompt_format!r}; use tokens or text")
        self.progress = bool(cfg.backend.get("progress", True))
        self.skip_special_tokens = not keeps_special_tokens(self.tokenizer, cfg.model.get("think_end"))
        self._llm = llm
        self._sampling_params = sampling_params_factory
        self._prompt_ids: dict[str, list[int]] = {}
        self.generate_seconds = 0.0  # inside LLM.generate: the harness overhead is the rest
        self.engine_start_seconds = 0.0
        self.tokens_made = 0

    # ---- tokens: one batched call over the unique prompts, cached for the engine's token prompts
    def tokenize_prompts(self, texts: Iterable[str]) -> None:
        missing = list(dict.fromkeys(t for t in texts if t not in self._prompt_ids))
        for part in chunked(missing, 1024):
            ids = self.tokenizer(list(part), add_special_tokens=False).input_ids
            self._prompt_ids.update(zip(part, ids))

    def prompt_ids(self, text: str) -> list[int]:
        if text not in self._prompt_ids:
            self.tokenize_prompts([text])
        return self._prompt_ids[text]

    def count_tokens(self, text: str) -> int:
        return len(self.prompt_ids(text))

    def count_tokens_batch(self, texts: Sequence[str]) -> list[int]:
        self.tokenize_prompts(texts)
        return [len(self._prompt_ids[t]) for t in texts]

    # ---- the engine
    @property
    def engine(self) -> Any:
        if self._llm is None:
            t0 = time.perf_counter()
            self._llm = shared_engine(self.module, engine_kwargs(self.cfg))
            self.engine_start_seconds = time.perf_counter() - t0
        return self._llm

    def sampling_params(self, **kwargs: Any) -> Any:
        if self._sampling_params is None:
            self._sampling_params = self.module.SamplingParams
        return self._sampling_params(**kwargs)

    def engine_prompt(self, request: Request) -> Any:
        """Token ids of our rendered prompt (exact: no second BOS, no re-tokenization), or the text."""
        if self.prompt_format == "text":
            return request.prompt
        return {"prompt_token_ids": self.prompt_ids(request.prompt)}

    def generate(self, requests: list[Request], sampling: Any, on_batch: Callable[[list[Generation]], None]) -> None:
        if not requests:
            return
        if self.data_parallel > 1:
            generate_data_parallel(self.cfg, requests, sampling, on_batch)
            return
        engine = self.engine
        base = sampling_base(sampling, self.skip_special_tokens)
        n_chunks = math.ceil(len(requests) / self.chunk_size)
        for i, chunk in enumerate(chunked(requests, self.chunk_size), 1):
            if self.prompt_format == "tokens":
                self.tokenize_prompts(r.prompt for r in chunk)  # one batched call per chunk
            prompts = [self.engine_prompt(r) for r in chunk]
            params = [self.sampling_params(**sampling_kwargs(base, r)) for r in chunk]
            t0 = time.perf_counter()
            try:
                outputs = engine.generate(prompts, params, use_tqdm=self.progress)
            except Exception as e:  # the engine's own failure (CUDA, a dead engine core): not this task's
                raise EngineDied(f"{type(e).__name__}: {e}") from e
            seconds = time.perf_counter() - t0
            self.generate_seconds += seconds
            gens = to_generations(chunk, outputs)
            on_batch(gens)
            if self.prompt_format == "tokens":  # bounded memory: 800 x 1M token ids never sit in RAM at once
                for r in chunk:
                    self._prompt_ids.pop(r.prompt, None)
            made = sum(g.tokens for g in gens)
            self.tokens_made += made
            print(f"[vllm] chunk {i}/{n_chunks}: {len(chunk)} generations, {made} tokens in {seconds:.1f} s "
                  f"({made / max(seconds, 1e-9):.0f} tok/s)", file=sys.stderr)

    def turn_maker(self, sampling: Any, stop: Sequence[str]) -> TurnMaker:
        return VLLMTurns(self, sampling, stop)


_REQUEST_IDS = itertools.count(1)  # unique over the process: the engine outlives a task


class VLLMTurns:
    """Turns through vLLM's asynchronous engine (AsyncLLM) in-process: each turn is its own request,
    queued the moment its conversation is ready, so the engine batches whatever is ready and no
    conversation waits for another; up to `backend.tir_concurrency` (256) conversations at once.
    Prefix caching is on (engine_kwargs): re-sent history is a cache hit. The engine is the
    process's shared one (shared_async_engine): the conversations run on its event loop (`run`),
    and the next conversation task of a suite with the same settings finds it started."""

    def __init__(self, backend: VLLMBackend, sampling: Any, stop: Sequence[str]):
        self.backend = backend
        self.base = sampling_base(sampling, skip_special_tokens=backend.skip_special_tokens)
        self.base["stop"] = with_stop(self.base.get("stop"), stop)
        self.concurrency = int(backend.cfg.backend.get("tir_concurrency", 256))

    def run(self, coro: Coroutine) -> Any:
        self.module = vllm_module(self.backend.cfg)
        self.engine, loop = shared_async_engine(self.module, engine_kwargs(self.backend.cfg))
        return asyncio.run_coroutine_threadsafe(coro, loop).result()

    async def __aenter__(self) -> Complete:
        async def complete(prompt: str, max_tokens: int, seed: int) -> Completion:
            params = self.module.SamplingParams(**{**self.base, "max_tokens": max_tokens, "seed": seed})
            final = None
            try:
                async for out in self.engine.generate(prompt, params, request_id=f"turn-{next(_REQUEST_IDS)}"):
                    final = out
            except Exception as e:  # the engine's own failure, not this conversation's
                raise EngineDied(f"{type(e).__name__}: {e}") from e
            c = final.outputs[0]
            return Completion(c.text, len(c.token_ids), "length" if c.finish_reason == "length" else "stop")

        return complete

    async def __aexit__(self, *exc: Any) -> None:
        return None  # the engine stays for the suite's next task; backends.close_all stops it


def _describe(kwargs: dict[str, Any]) -> str:
    shown = ("model", "dtype", "max_model_len", "tensor_parallel_size", "gpu_memory_utilization", "enable_prefix_caching")
    return ", ".join(f"{k}={kwargs[k]}" for k in shown if k in kwargs)


# ---------------------------------------------------------------- data parallel: N engine processes

def _engine_worker(placement: EnginePlacement, cfg_data: dict, sampling_data: dict, requests: list[Request],
                   results: Any, start_after: Any, ready: Any, all_ready: list) -> None:
    """One engine process: pinned to its GPUs, generates its shard, sends results back in groups."""
    os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(placement.gpus)
    # the engine core in this process: killing the worker then frees the GPU, no orphan grandchild
    os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
    try:
        if start_after is not None:
            start_after.wait()  # engines sharing a GPU start one after another: vLLM profiles free memory
        cfg = OmegaConf.create(cfg_data)
        OmegaConf.update(cfg, "backend.data_parallel", 1)
        OmegaConf.update(cfg, "backend.engine_args.gpu_memory_utilization", placement.gpu_memory_utilization, force_add=True)
        backend = VLLMBackend(cfg)
        try:
            backend.engine
        finally:
            ready.set()
        for event in all_ready:  # nobody generates while another engine still profiles the GPU's free memory
            event.wait()

        def send(gens: list[Generation]) -> None:
            for part in chunked(gens, 512):  # bounded pickles through the queue
                results.put(("gens", placement.index, [to_dict(g) for g in part]))

        backend.generate(requests, OmegaConf.create(sampling_data), send)
        results.put(("done", placement.index, {"generate_seconds": backend.generate_seconds,
                                               "engine_start_seconds": backend.engine_start_seconds,
                                               "tokens": backend.tokens_made, "requests": len(requests)}))
    except BaseException as e:  # reported to the parent, which stops the run with this message
        ready.set()
        if isinstance(e, EngineDied) and e.__cause__ is not None:
            e = e.__cause__
        results.put(("error", placement.index, f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"))
    finally:
        shutdown_engine()


def generate_data_parallel(cfg: DictConfig, requests: list[Request], sampling: Any,
                           on_batch: Callable[[list[Generation]], None]) -> dict[int, dict]:
    """Start one engine process per shard, store their results here as they arrive (merged by
    (sample_id, k): the store is keyed by it), stop all of them if one fails."""
    n = int(cfg.backend.data_parallel)
    gpus_per_engine = int(cfg.backend.get("gpus_per_engine") or _plain(cfg.model.get("vllm")).get("tensor_parallel_size") or 1)
    memory = float(_plain(cfg.backend.get("engine_args")).get("gpu_memory_utilization")
                   or _plain(cfg.model.get("vllm")).get("gpu_memory_utilization") or 0.9)
    placements = plan_engines(n, gpus_per_engine, visible_gpus(cfg), memory)
    shards = shard_requests(requests, n)
    cfg_data = OmegaConf.to_container(cfg, resolve=True)
    sampling_data = OmegaConf.to_container(sampling, resolve=True) if isinstance(sampling, DictConfig) else dict(sampling)
    ctx = mp.get_context("spawn")  # CUDA cannot be forked
    results = ctx.Queue()
    ready = [ctx.Event() for _ in placements]
    last_on_gpu: dict[str, int] = {}
    procs = []
    for p in placements:
        prev = last_on_gpu.get(",".join(p.gpus))
        last_on_gpu[",".join(p.gpus)] = p.index
        start_after = ready[prev] if prev is not None else None
        print(f"[vllm] engine {p.index}: GPUs {','.join(p.gpus)}, gpu_memory_utilization {p.gpu_memory_utilization}, "
              f"{len(shards[p.index])} requests", file=sys.stderr)
        proc = ctx.Process(target=_engine_worker, name=f"evalsuite-vllm-{p.index}",
                           args=(p, cfg_data, sampling_data, shards[p.index], results, start_after, ready[p.index], ready))
        procs.append(proc)
    stats: dict[int, dict] = {}
    try:
        for proc in procs:
            proc.start()
        while len(stats) < len(procs):
            try:
                kind, index, payload = results.get(timeout=5)
            except queue.Empty:
                dead = [i for i, proc in enumerate(procs) if not proc.is_alive() and i not in stats]
                if dead:
                    raise RuntimeError(f"vllm engine {dead[0]} died (exit code {procs[dead[0]].exitcode}) "
                                       f"without reporting; its finished chunks are stored, rerun to resume")
                continue
            if kind == "gens":
                on_batch([Generation(**g) for g in payload])
            elif kind == "done":
                stats[index] = payload
            else:
                raise UserError(f"vllm engine {index} failed: {payload}; its finished chunks are stored, "
                                f"fix the cause and rerun the same command to resume")
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.join(timeout=30 if len(stats) == len(procs) else 0.1)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=10)
    for index, s in sorted(stats.items()):
        print(f"[vllm] engine {index}: {s['requests']} generations, {s['tokens']} tokens in "
              f"{s['generate_seconds']:.1f} s (engine start {s['engine_start_seconds']:.1f} s)", file=sys.stderr)
    return stats
