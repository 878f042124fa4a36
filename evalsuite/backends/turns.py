"""Turn-making: how a backend makes one turn of a conversation at a time (docs/backends.md, "Turns").

A conversation (mode=tir: evalsuite/tir.py) needs its next turn the moment its last one is handled,
so it cannot go through `generate(requests, ...)`, which takes a whole batch. Each backend instead
hands out a turn maker, `backend.turn_maker(sampling, stop)`, behind the `TurnMaker` protocol
below; the conversation loop uses only that protocol, so a new backend needs no edit outside
backends/. `SequentialTurns` is the maker of a backend that has only `generate` (hf).
"""
from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Coroutine, Protocol, Sequence, TypeVar, runtime_checkable

from omegaconf import OmegaConf

from evalsuite.types import Generation, Request

T = TypeVar("T")


@dataclass
class Completion:
    """One turn as the backend made it."""

    text: str  # without the stop string it stopped at (a server leaves it out)
    tokens: int  # generated tokens, the stop string's included
    finish_reason: str  # stop (a stop string or the end of the answer) | length (max_tokens ran out)


# (prompt, max_tokens, seed) -> the turn: the prompt is the whole conversation rendered by the
# model's chat template, max_tokens what is left of its budget, the seed that turn's own
Complete = Callable[[str, int, int], Awaitable[Completion]]


@runtime_checkable
class TurnMaker(Protocol):
    """What `backend.turn_maker(sampling, stop)` returns: sampling is the run's (`sampling.*`),
    stop the strings that end a turn beside the end of the answer (mode=tir: `</tool_call>`).

    The conversation loop calls `run(main())` once; inside `main`, `async with maker as complete`
    gives the function that makes one turn, and up to `concurrency` conversations await it at once
    (each turn is its own request: no conversation waits for another's turn)."""

    # how many conversations this maker serves at once (a server's request slots, an engine's
    # batch; 1: one after another)
    concurrency: int

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run the conversations' coroutine to its end on the event loop this maker needs (vLLM:
        its engine's own loop; otherwise a fresh one)."""
        ...

    async def __aenter__(self) -> Complete: ...

    async def __aexit__(self, *exc: Any) -> None: ...


def with_stop(base: Sequence[str] | None, stop: Sequence[str]) -> list[str]:
    """The run's own stop strings (`sampling.stop`) and the turn's."""
    return [*(base or []), *stop]


# ---------------------------------------------------------------- event-loop helpers

async def all_or_first_error(coros: list[Coroutine]) -> None:
    """Run the coroutines together until all finish; the first to raise cancels the rest (they
    end before this returns) and its error is raised."""
    tasks = [asyncio.create_task(c) for c in coros]
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        if task.exception() is not None:
            raise task.exception()  # type: ignore[misc]


def run_coroutine(coro: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, also from code that already runs an event loop (a notebook)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as e:
            box["error"] = e

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box.get("value")  # type: ignore[return-value]


# ---------------------------------------------------------------- a backend with only `generate`

class SequentialTurns:
    """Turns of a backend without a request-level async API (hf): one turn at a time, generated
    whole by `backend.generate` and cut before its first stop string (what a stop string would
    have done: the backend has none), so conversations run one after another."""

    concurrency = 1

    def __init__(self, backend: Any, sampling: Any, stop: Sequence[str]):
        self.backend, self.sampling, self.stop = backend, sampling, tuple(stop)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return run_coroutine(coro)

    async def __aenter__(self) -> Complete:
        async def complete(prompt: str, max_tokens: int, seed: int) -> Completion:
            box: list[Generation] = []
            sampling = OmegaConf.merge(self.sampling, {"max_tokens": max_tokens})
            self.backend.generate([Request("turn", 0, prompt, seed, max_tokens=max_tokens)], sampling, box.extend)
            g = box[0]
            cuts = [(at, s) for s in self.stop if (at := g.text.find(s)) >= 0]
            if cuts:
                at, s = min(cuts)
                text = g.text[:at]
                return Completion(text, self.backend.count_tokens(text + s), "stop")
            return Completion(g.text, g.tokens, g.finish_reason)

        return complete

    async def __aexit__(self, *exc: Any) -> None:
        return None
