"""Tool-integrated reasoning on a GPU: the per-conversation loop against a round barrier, both
driving one in-process vLLM AsyncLLM engine (the vllm backend's TIR path) on the staged SmolLM2.

SmolLM2 makes no tool calls, so a chosen stop string stands in for one: every turn is generated
until the first newline (at most TURN_TOKENS tokens) and then "calls the tool", a stand-in that
sleeps for a heavy-tailed time (0.05 x Pareto(1.1) s, capped at 4 s, seeded) and answers with one
line; after CALLS calls the conversation ends. The per-conversation loop queues a conversation's
next turn the moment its tool returns (evalsuite/tir.py's rule); the round barrier generates every
conversation's turn i, waits for every tool call of round i, then starts round i + 1. Same prompts,
same seeds, same sleeps for both.

    python bench/tir_vllm_bench.py OUT.json       # on the GPU node (bench/gpu_session.py step tir)
"""
from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
from pathlib import Path

N_CONV, CALLS, TURN_TOKENS = 64, 6, 48


def sleeps(seed: int = 15) -> list[list[float]]:
    rng = random.Random(seed)
    return [[min(4.0, 0.05 * rng.paretovariate(1.1)) for _ in range(CALLS)] for _ in range(N_CONV)]


async def main(out: Path) -> dict:
    from transformers import AutoTokenizer
    from vllm import SamplingParams
    from vllm.engine.arg_utils import AsyncEngineArgs
    from vllm.v1.engine.async_llm import AsyncLLM

    model = os.environ["EVALSUITE_SMOLLM2_DIR"]
    tok = AutoTokenizer.from_pretrained(model)
    engine = AsyncLLM.from_engine_args(AsyncEngineArgs(model=model, dtype="bfloat16", max_model_len=8192,
                                                       gpu_memory_utilization=0.5, enable_prefix_caching=True))
    plan = sleeps()
    counter = 0
    prompt_tokens = {"total": 0, "cached": 0}  # what prefix caching saved: re-sent history not prefilled again

    def prompt(c: int, history: list[str]) -> str:
        messages = [{"role": "user", "content": f"Problem {c}: count to ten, one number per line."}]
        return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True) + "".join(history)

    async def turn(c: int, history: list[str]) -> tuple[str, int]:
        nonlocal counter
        counter += 1
        params = SamplingParams(max_tokens=TURN_TOKENS, temperature=1.0, seed=c * 100 + len(history), stop=["\n"])
        final = None
        async for o in engine.generate(prompt(c, history), params, request_id=f"b{counter}"):
            final = o
        prompt_tokens["total"] += len(final.prompt_token_ids or [])
        prompt_tokens["cached"] += int(getattr(final, "num_cached_tokens", 0) or 0)
        return final.outputs[0].text, len(final.outputs[0].token_ids)

    async def tool(c: int, i: int) -> str:
        await asyncio.sleep(plan[c][i])  # the stand-in tool: a heavy-tailed wait, no GPU
        return f"\n<tool_response>call {i} done</tool_response>\n"

    async def per_conversation() -> tuple[float, int]:
        tokens = 0

        async def one(c: int) -> None:
            nonlocal tokens
            history: list[str] = []
            for i in range(CALLS):
                text, n = await turn(c, history)
                tokens += n
                history.append(text + await tool(c, i))
            text, n = await turn(c, history)
            tokens += n

        t0 = time.perf_counter()
        await asyncio.gather(*(one(c) for c in range(N_CONV)))
        return time.perf_counter() - t0, tokens

    async def round_barrier() -> tuple[float, int]:
        histories: list[list[str]] = [[] for _ in range(N_CONV)]
        tokens = 0
        t0 = time.perf_counter()
        for i in range(CALLS + 1):
            outs = await asyncio.gather(*(turn(c, histories[c]) for c in range(N_CONV)))
            tokens += sum(n for _, n in outs)
            if i == CALLS:
                break
            replies = await asyncio.gather(*(tool(c, i) for c in range(N_CONV)))
            for c in range(N_CONV):
                histories[c].append(outs[c][0] + replies[c])
        return time.perf_counter() - t0, tokens

    try:
        await round_barrier()  # warm-up: compile and capture before timing anything
        barrier_s, barrier_tok = await round_barrier()
        prompt_tokens.update(total=0, cached=0)
        free_s, free_tok = await per_conversation()
    finally:
        engine.shutdown()
    flat = sorted(t for ts in plan for t in ts)
    result = {"bench": "tir_vllm", "engine": "vllm AsyncLLM, SmolLM2-135M bf16, prefix caching on",
              "conversations": N_CONV, "calls_per_conversation": CALLS, "turn_max_tokens": TURN_TOKENS,
              "tool_sleep_s": {"median": round(flat[len(flat) // 2], 3), "max": round(flat[-1], 3),
                               "distribution": "0.05 x Pareto(1.1), capped at 4 s"},
              "round_barrier_s": round(barrier_s, 2), "per_conversation_s": round(free_s, 2),
              "speedup": round(barrier_s / free_s, 2), "tokens": {"barrier": barrier_tok, "per_conversation": free_tok},
              "longest_tool_chain_s": round(max(sum(ts) for ts in plan), 2),
              "prefix_cache": {"prompt_tokens": prompt_tokens["total"], "served_from_cache": prompt_tokens["cached"],
                               "saved_share": round(prompt_tokens["cached"] / prompt_tokens["total"], 3)
                               if prompt_tokens["total"] else None}}
    result["floors"] = {"speedup_ge_1.5x": result["speedup"] >= 1.5}
    out.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(Path(sys.argv[1]))), indent=2))
