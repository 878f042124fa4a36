"""A stand-in for the `vllm` module on machines without a GPU: `LLM` is FakeLLMStandIn, whose
`generate` returns objects shaped like vllm's RequestOutput/CompletionOutput. Its text is a
deterministic function of (prompt, seed), so tests can check that results land under the right
(sample_id, k) and that a rerun reproduces. It is NOT vLLM: the real engine is exercised on the
H200 (docs/backends.md)."""
from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import time
from dataclasses import dataclass, field


@dataclass
class SamplingParamsStandIn:
    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 16
    seed: int | None = None
    skip_special_tokens: bool = True
    extra: dict = field(default_factory=dict)

    def __init__(self, **kwargs):
        for key in ("n", "temperature", "top_p", "max_tokens", "seed", "skip_special_tokens"):
            setattr(self, key, kwargs.pop(key, getattr(type(self), key, None)))
        self.extra = kwargs


@dataclass
class CompletionOutputStandIn:
    index: int
    text: str
    token_ids: list[int]
    finish_reason: str | None


@dataclass
class RequestOutputStandIn:
    request_id: str
    prompt: str | None
    prompt_token_ids: list[int]
    outputs: list[CompletionOutputStandIn]
    finished: bool = True


def _engine_core_stand_in(conn) -> None:
    """Like vLLM's engine core process: waits for input until told to stop (a non-daemon child,
    so Python's exit handler joins it: the hang of a run whose engine was never shut down)."""
    while conn.recv() != "stop":
        pass


class FakeLLMStandIn:
    """Mimics vllm.LLM: constructor kwargs are recorded, generate(prompts, params) answers in order.
    Test-only kwargs: stand_in_fail (the engine cannot start), stand_in_generate_fail (generate
    raises, a backend error mid-run; stand_in_first_generate_fails: only the process's first call
    does), stand_in_engine_core (start an engine-core-like child process
    that `shutdown` stops), stand_in_ignore_shutdown (shutdown leaves that child waiting),
    stand_in_tokens_per_s (each generate call takes its tokens / this rate: an engine's pace),
    stand_in_text (every completion's text, in place of the digest's answer)."""

    instances: list["FakeLLMStandIn"] = []
    failed_once = False

    def __init__(self, **kwargs):
        if kwargs.get("stand_in_fail"):  # an engine that cannot start (tests of the error path)
            raise RuntimeError(kwargs["stand_in_fail"])
        self.kwargs = kwargs
        self.calls: list[int] = []  # size of each generate call
        self.shutdowns = 0
        self.cuda_visible_devices = os.environ.get("CUDA_VISIBLE_DEVICES")
        self.core = self._core_conn = None
        if kwargs.get("stand_in_engine_core"):
            ctx = mp.get_context("spawn")  # as vLLM starts its engine core
            self._core_conn, child = ctx.Pipe()
            self.core = ctx.Process(target=_engine_core_stand_in, args=(child,), name="EngineCore_stand_in")
            self.core.start()
            self._log_event({"engine_core_pid": self.core.pid})
        FakeLLMStandIn.instances.append(self)

    def shutdown(self) -> None:
        self.shutdowns += 1
        self._log_event({"shutdown": self.shutdowns})
        if self.core is not None and not self.kwargs.get("stand_in_ignore_shutdown"):
            self._core_conn.send("stop")
            self.core.join(10)

    def generate(self, prompts, sampling_params, use_tqdm=True):
        assert isinstance(sampling_params, list) and len(sampling_params) == len(prompts)
        if self.kwargs.get("stand_in_generate_fail"):
            raise RuntimeError(self.kwargs["stand_in_generate_fail"])
        if self.kwargs.get("stand_in_first_generate_fails") and not FakeLLMStandIn.failed_once:
            FakeLLMStandIn.failed_once = True
            raise RuntimeError(self.kwargs["stand_in_first_generate_fails"])
        self.calls.append(len(prompts))
        outputs = []
        for i, (prompt, params) in enumerate(zip(prompts, sampling_params)):
            ids = prompt["prompt_token_ids"] if isinstance(prompt, dict) else [ord(c) for c in prompt]
            digest = hashlib.sha256(f"{ids}|{params.seed}".encode()).hexdigest()
            n_tokens = 1 + int(digest[:4], 16) % max(1, params.max_tokens)
            finish = "length" if n_tokens == params.max_tokens else "stop"
            text = self.kwargs.get("stand_in_text") or f"answer {digest[:8]} \\boxed{{{int(digest[8:10], 16) % 10}}}"
            outputs.append(RequestOutputStandIn(str(i), None, list(ids),
                                                [CompletionOutputStandIn(0, text, list(range(n_tokens)), finish)]))
        self._log([p.seed for p in sampling_params])
        if self.kwargs.get("stand_in_tokens_per_s"):
            made = sum(len(o.outputs[0].token_ids) for o in outputs)
            time.sleep(made / float(self.kwargs["stand_in_tokens_per_s"]))
        return outputs

    def _log_event(self, event: dict) -> None:
        """With VLLM_STAND_IN_EVENTS set, one line per engine event (its engine core's pid, a shutdown)."""
        path = os.environ.get("VLLM_STAND_IN_EVENTS")
        if path:
            with open(path, "a") as f:
                f.write(json.dumps({"pid": os.getpid(), **event}) + "\n")

    def _log(self, seeds) -> None:
        """With VLLM_STAND_IN_LOG set, one line per call: which process, GPUs and memory share made it."""
        path = os.environ.get("VLLM_STAND_IN_LOG")
        if path:
            with open(path, "a") as f:
                f.write(json.dumps({"pid": os.getpid(), "cuda_visible_devices": self.cuda_visible_devices,
                                    "gpu_memory_utilization": self.kwargs.get("gpu_memory_utilization"),
                                    "seeds": seeds}) + "\n")


LLM = FakeLLMStandIn
SamplingParams = SamplingParamsStandIn


class AsyncLLMStandIn(FakeLLMStandIn):
    """Mimics vllm's AsyncLLM (mode=tir): `generate(prompt, params, request_id)` is an async
    generator whose last item is the finished output. Stop strings are not applied."""

    async def generate(self, prompt, sampling_params, request_id=None):
        out, = FakeLLMStandIn.generate(self, [prompt], [sampling_params])
        yield out


AsyncLLM = AsyncLLMStandIn
