"""Tool-integrated reasoning: the per-conversation loop (evalsuite/tir.py, no round barrier)
against a round-synchronous loop (every conversation's turn i, then every tool call of round i,
then round i + 1) over the same scripted requests, on the CPU.

The model is the STAND-IN of tests/tir_stand_in_server.py (a real local HTTP server replaying
scripted turns, each taking a fixed time as a generation would); the tool is real: each call runs
in the conversation's own sandbox session and sleeps for a heavy-tailed time (Pareto, most calls
short, a few long), as real tool calls do. Same seeds, same scripts, same sessions for both loops.

    python -m bench tir
"""
from __future__ import annotations

import asyncio
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from evalsuite import tir
from evalsuite.sandbox.sessions import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from tir_stand_in_server import serve  # noqa: E402

CALL = "<tool_call>\n<function=stateful_python_code_exec>\n<parameter=code>\n{code}\n</parameter>\n</function>\n</tool_call>"
TURN_S = 0.2  # a turn's generation time on the stand-in


def script(n_conv: int, calls: int, seed: int) -> tuple[dict, dict[str, list[float]]]:
    rng = random.Random(seed)
    convs, sleeps = [], {}
    for c in range(n_conv):
        ts = [min(4.0, 0.05 * rng.paretovariate(1.1)) for _ in range(calls)]  # heavy tail, capped at 4 s
        sleeps[f"conv{c:03d}"] = ts
        turns = [CALL.format(code=f"import time; time.sleep({t:.3f}); {i}") for i, t in enumerate(ts)] + ["\\boxed{1}"]
        convs.append({"match": f"conv{c:03d} ", "turns": turns})
    return {"model_id": "stand-in", "delay_s": TURN_S, "conversations": convs}, sleeps


async def _complete_http(client: Any, base_url: str, prompt: str, max_tokens: int, seed: int) -> tir.Completion:
    r = await client.post(f"{base_url}/completions", json={"prompt": prompt, "max_tokens": max_tokens, "seed": seed,
                                                           "stop": [tir.CALL_CLOSE], "model": "stand-in"})
    choice = r.json()["choices"][0]
    return tir.Completion(choice["text"], int(r.json()["usage"]["completion_tokens"]), choice["finish_reason"])


def _render(messages: list[dict[str, str]]) -> str:
    return "\n".join(f"<|{m['role']}|>{m['content']}" for m in messages) + "\n<|assistant|>"


def _conversations(n: int) -> list[tir.Conversation]:
    return [tir.Conversation(f"conv{c:03d}", 0, c, [{"role": "system", "content": tir.TOOL_PROMPT},
                                                   {"role": "user", "content": f"conv{c:03d} solve"}]) for c in range(n)]


async def per_conversation(base_url: str, n: int, workdir: Path) -> float:
    import httpx2

    cfg = OmegaConf.create({"model": {"max_model_len": None, "reasoning": False}, "task": {"thinking": False}})
    settings = tir.Settings(60.0, None, 65536, 1024, 100_000)
    async with httpx2.AsyncClient(timeout=120, limits=httpx2.Limits(max_connections=n)) as client:
        async def complete(prompt: str, max_tokens: int, seed: int) -> tir.Completion:
            return await _complete_http(client, base_url, prompt, max_tokens, seed)

        runner = tir.Runner(cfg, settings, complete, lambda t: len(t.split()), _render,
                            workdir / "turns.jsonl", lambda rec: None, concurrency=n)
        t0 = time.perf_counter()
        await runner.run_all(_conversations(n))
        return time.perf_counter() - t0


async def round_barrier(base_url: str, n: int) -> float:
    """The same conversations, advanced in lockstep: all generations of a round, then all tools."""
    import httpx2

    sessions = [Session() for _ in range(n)]
    convs = _conversations(n)
    loop = asyncio.get_running_loop()
    try:
        async with httpx2.AsyncClient(timeout=120, limits=httpx2.Limits(max_connections=n)) as client:
            t0 = time.perf_counter()
            active = list(range(n))
            while active:
                outs = await asyncio.gather(*(_complete_http(client, base_url, _render(convs[i].history()), 100_000, i)
                                              for i in active))
                calls = []
                for i, out in zip(active, outs):
                    text = out.text + (tir.CALL_CLOSE if tir.ends_in_call(out.text) else "")
                    call = tir.parse_call(text)
                    convs[i].turns.append({"text": text, "tokens": out.tokens, "call": None, "response": None})
                    if call is not None and call.code is not None:
                        calls.append((i, call.code))
                results = await asyncio.gather(*(loop.run_in_executor(None, sessions[i].execute, code, 60.0)
                                                 for i, code in calls))
                for (i, _), r in zip(calls, results):
                    convs[i].turns[-1].update(call={"code": "x"}, response=tir.tool_text(r, 60.0, 65536))
                active = [i for i, _ in calls]
            return time.perf_counter() - t0
    finally:
        for s in sessions:
            s.close()


def run(quick: bool = False) -> dict[str, Any]:
    import concurrent.futures
    import socket
    import tempfile

    n, calls = (8, 6) if quick else (24, 8)
    spec, sleeps = script(n, calls, seed=15)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = serve(spec, port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        loop = asyncio.new_event_loop()
        loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(max_workers=n))
        barrier = loop.run_until_complete(round_barrier(base_url, n))
        with tempfile.TemporaryDirectory() as d:
            free = loop.run_until_complete(per_conversation(base_url, n, Path(d)))
        loop.close()
    finally:
        server.shutdown()
    all_sleeps = sorted(t for ts in sleeps.values() for t in ts)
    ideal = max(sum(ts) + (len(ts) + 1) * TURN_S for ts in sleeps.values())
    result = {"bench": "tir", "conversations": n, "calls_per_conversation": calls, "turn_s": TURN_S,
              "tool_sleep_s": {"median": round(all_sleeps[len(all_sleeps) // 2], 3), "max": round(all_sleeps[-1], 3),
                               "distribution": "0.05 x Pareto(1.1), capped at 4 s"},
              "round_barrier_s": round(barrier, 2), "per_conversation_s": round(free, 2),
              "speedup": round(barrier / free, 2),
              "longest_single_conversation_s": round(ideal, 2)}
    result["floors"] = {"speedup_ge_1.5x": result["speedup"] >= 1.5}
    return result


if __name__ == "__main__":
    import json

    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
