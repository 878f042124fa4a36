"""Tool-integrated reasoning (`mode=tir`): the card's bracketed numbers, where the model calls a
stateful Python tool while it reasons. docs/tir.md has the protocol and every OPEN choice.

One conversation per (sample_id, k), each advancing on its own (no round barrier): a turn ends when
the model closes a tool call (stop at </tool_call>) or ends its answer; the call runs in that
conversation's own sandbox session (evalsuite/sandbox/sessions.py) and its output goes back as a
user turn wrapped in <tool_response>; the next turn is queued the moment the tool returns. Every
finished turn is appended to turns.jsonl; the finished conversation becomes the generation, its
text the whole transcript, so the plain task's split (after the last </think>) and scorer grade it.
A rerun continues each unfinished conversation from its last stored turn, rebuilding the session by
replaying the stored code cells (a replay whose output differs is recorded).

Which tasks run it, each task declares (`task.tir_prompt`, its tool prompt); the conversations are
the generate stage's turn loop over its one plan (pipeline.generate_round), and their turns come
from the backend's turn maker (backends/turns.py): nothing here names a task or a backend.
"""
from __future__ import annotations

import asyncio
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from omegaconf import DictConfig, OmegaConf

from evalsuite import store
# Completion: a turn as the backend made it (bench/tir_bench.py's stand-in completes with it)
from evalsuite.backends.turns import Complete, Completion, all_or_first_error  # noqa: F401
from evalsuite.errors import UserError
from evalsuite.render import render_prompt, split_reasoning
from evalsuite.planning import max_new_tokens, system_prompt, tool_prompt, tool_prompt_name
from evalsuite.rundir import TURNS, TaskRun, update_manifest
from evalsuite.summary import TirFacts
from evalsuite.task import run_mode
from evalsuite.types import Generation, Request

# The card's tool prompt, word for word (the card's SYSTEM_PROMPT of its tool-use example; the file
# holds it exactly, its last line without a newline): what a task declares with `tir_prompt: card`
# (the math family, LiveCodeBench, LiveCodeBench Pro), the system prompt of their TIR runs.
TOOL_PROMPT = tool_prompt("card")
TOOL_NAME = "stateful_python_code_exec"
CALL_OPEN, CALL_CLOSE = "<tool_call>", "</tool_call>"
CALL_FORMAT = f"{CALL_OPEN}\n<function={TOOL_NAME}>\n<parameter=code>\nYOUR CODE\n</parameter>\n</function>\n{CALL_CLOSE}"
# OPEN: what a malformed call gets back (recorded in run.json and the summary)
MALFORMED_REPLY = "Error: the tool call could not be parsed ({why}). Call the tool in exactly this format:\n" + CALL_FORMAT


def active(cfg: DictConfig) -> bool:
    return run_mode(cfg) == "tir"


@dataclass(frozen=True)
class Settings:
    """The OPEN choices of the protocol, as this run made them."""

    tool_timeout_s: float  # the prompt says 120 s; NVIDIA's NeMo-Skills tool defaults to 10 s
    max_calls: int | None  # None: no cap (NeMo-Skills' default)
    max_output_bytes: int  # per call, each of stdout and stderr (and the value, the traceback)
    memory_mb: int
    budget: int  # tokens per conversation, all turns, tool output counted

    def record(self) -> dict[str, Any]:
        return {"tool_timeout_s": self.tool_timeout_s, "max_calls": self.max_calls,
                "max_output_bytes": self.max_output_bytes, "memory_mb": self.memory_mb,
                "budget_tokens": self.budget, "tool_output_counted": True,
                "malformed_call_reply": MALFORMED_REPLY, "tool_response_role": "user",
                "system_prompt": "the card's tool prompt (evalsuite/card/tir_system_prompt.txt)"}


def settings(cfg: DictConfig, budget: int) -> Settings:
    """cfg.mode as checked settings: a bad value, or a task that declares no tool prompt, is one
    line before any generation."""
    tool_prompt_name(cfg)
    mode = cfg.mode

    def number(key: str, kind: type, lowest: float) -> Any:
        try:
            value = kind(mode.get(key))
        except (TypeError, ValueError):
            raise UserError(f"mode.{key}={mode.get(key)!r} is not a number") from None
        if value < lowest:
            raise UserError(f"mode.{key}={value} must be at least {lowest}")
        return value

    cap = mode.get("max_calls")
    return Settings(number("tool_timeout_s", float, 0.1), None if cap is None else number("max_calls", int, 1),
                    number("max_output_bytes", int, 64), number("memory_mb", int, 256), budget)


def fingerprint(cfg: DictConfig) -> dict[str, Any]:
    """What changes a TIR generation, beside pipeline.protocol_fingerprint's keys."""
    if not active(cfg):
        return {}
    mode = OmegaConf.to_container(cfg.mode, resolve=True)
    return {"mode": "tir", "system_prompt": system_prompt(cfg),
            "tir": {k: mode.get(k) for k in ("tool_timeout_s", "max_calls", "max_output_bytes", "memory_mb")}}


# ---------------------------------------------------------------- the qwen3_coder call format

@dataclass
class ToolCall:
    code: str | None  # the code to run; None when the call is malformed
    error: str | None = None  # why it is malformed (goes back to the model)


def ends_in_call(text: str) -> bool:
    """The turn stopped inside a tool call (at its </tool_call>, which the server strips)."""
    return text.rfind(CALL_OPEN) > text.rfind(CALL_CLOSE)


def parse_call(text: str) -> ToolCall | None:
    """The turn's tool call in the qwen3_coder format, or None when the turn made none:
    <tool_call>\\n<function=NAME>\\n<parameter=code>\\nCODE\\n</parameter>\\n</function>\\n</tool_call>.
    One newline after the opening and before the closing parameter tag belongs to the format."""
    start = text.rfind(CALL_OPEN)
    if start < 0:
        return None
    body = text[start + len(CALL_OPEN):]
    end = body.find(CALL_CLOSE)
    if end < 0:
        return ToolCall(None, f"no closing {CALL_CLOSE}")
    m = re.fullmatch(r"\s*<function=([^>\n]*)>(.*)</function>\s*", body[:end], re.S)
    if not m:
        return ToolCall(None, f"expected <function={TOOL_NAME}> ... </function> inside {CALL_OPEN}")
    name = m.group(1).strip()
    if name != TOOL_NAME:
        return ToolCall(None, f"unknown function {name[:60]!r}; the only function is {TOOL_NAME}")
    params = re.findall(r"<parameter=([^>\n]*)>(.*?)</parameter>", m.group(2), re.S)
    rest = re.sub(r"<parameter=([^>\n]*)>(.*?)</parameter>", "", m.group(2), flags=re.S)
    if rest.strip():
        return ToolCall(None, "text outside <parameter=code> ... </parameter> (is a closing tag missing?)")
    names = [p.strip() for p, _ in params]
    if names != ["code"]:
        extra = sorted(set(names) - {"code"})
        return ToolCall(None, f"unknown parameter {extra[0][:40]!r}" if extra else
                        "the required parameter code is missing" if "code" not in names else "code given twice")
    code = params[0][1]
    code = code[1:] if code.startswith("\n") else code
    return ToolCall(code[:-1] if code.endswith("\n") else code)


def tool_text(result: Any, timeout_s: float, cap: int) -> str:
    """What the model reads of one call: stdout, stderr, the traceback, the last value, and what
    went wrong with the call itself (timed out, the session died, output cut)."""
    parts = [p.rstrip("\n") for p in (result.stdout, result.stderr, result.error, result.value) if p]
    if result.timed_out:
        parts.append(f"Execution timed out after {timeout_s:g} seconds.")
    if result.died:
        parts.append(f"The Python session died ({result.died}); its state is lost: the next call starts a fresh session.")
    if result.truncated:
        parts.append(f"[output truncated to {cap} bytes per stream]")
    return "\n".join(parts) if parts else "(no output)"


def wrap_response(text: str) -> str:
    return f"<tool_response>\n{text}\n</tool_response>"


# ---------------------------------------------------------------- one conversation

@dataclass
class Conversation:
    sample_id: str
    k: int
    seed: int
    messages: list[dict[str, str]]  # system (the tool prompt) and the task's user turn
    turns: list[dict[str, Any]] = field(default_factory=list)  # stored turn records, in order
    replays: list[dict[str, Any]] = field(default_factory=list)  # stored replay mismatches
    budget: int | None = None  # its tokens where the plan's fit clamped them; None: Settings.budget

    def history(self) -> list[dict[str, str]]:
        msgs = list(self.messages)
        for t in self.turns:
            msgs.append({"role": "assistant", "content": t["text"]})
            if t.get("response") is not None:
                msgs.append({"role": "user", "content": wrap_response(t["response"])})
        return msgs

    def used(self) -> int:
        return sum(int(t["tokens"]) + int(t.get("response_tokens") or 0) for t in self.turns)

    def calls(self) -> int:
        return sum(1 for t in self.turns if t.get("call") is not None)


def turn_seed(seed: int, turn: int) -> int:
    return (seed + 7919 * turn) % (1 << 32)


def transcript(turns: list[dict[str, Any]]) -> str:
    """The generation's text: every turn, each tool response after its call, in order."""
    parts = []
    for t in turns:
        parts.append(t["text"])
        if t.get("response") is not None:
            parts.append("\n" + wrap_response(t["response"]) + "\n")
    return "".join(parts)


def conversation_metrics(turns: list[dict[str, Any]], replays: list[dict[str, Any]], end: str) -> dict[str, Any]:
    calls = [t for t in turns if t.get("call") is not None]
    return {"turns": len(turns), "calls": len(calls),
            "malformed_calls": sum(1 for t in calls if t["call"].get("error")),
            "tool_errors": sum(1 for t in calls if t["call"].get("error") or (t.get("tool") or {}).get("failed")),
            "tool_timeouts": sum(1 for t in calls if (t.get("tool") or {}).get("timed_out")),
            "session_deaths": sum(1 for t in calls if (t.get("tool") or {}).get("died")),
            "tool_s": round(sum(float((t.get("tool") or {}).get("wall_s") or 0) for t in calls), 3),
            "tool_tokens": sum(int(t.get("response_tokens") or 0) for t in turns),
            "end": end, "replay_mismatches": len(replays),
            "kept_earlier_thinking": [t.get("kept_thinking") for t in turns[1:]]}


class Runner:
    """Runs conversations: `complete` makes one turn, `count_tokens` sizes prompts and tool
    output, `render` makes the prompt from the history with the model's own chat template."""

    def __init__(self, cfg: DictConfig, tir: Settings, complete: Complete, count_tokens: Callable[[str], int],
                 render: Callable[[list[dict[str, str]]], str], turns_path: Path,
                 on_done: Callable[[dict[str, Any]], None], concurrency: int):
        self.cfg, self.tir, self.complete, self.count_tokens, self.render = cfg, tir, complete, count_tokens, render
        self.turns_path, self.on_done = turns_path, on_done
        self.max_model_len = cfg.model.get("max_model_len")
        self.reasoning = bool(cfg.model.get("reasoning", False)) and bool(cfg.task.get("thinking", True))
        self.think_end = str(cfg.model.get("think_end") or "</think>")
        self.pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="tir-tool")
        self.concurrency = max(1, concurrency)

    async def run_all(self, conversations: list[Conversation]) -> None:
        gate = asyncio.Semaphore(self.concurrency)

        async def one(conv: Conversation) -> None:
            async with gate:
                await self.converse(conv)

        try:
            await all_or_first_error([one(c) for c in conversations])
        finally:
            self.pool.shutdown(wait=False, cancel_futures=True)

    async def _tool(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    def _store(self, record: dict[str, Any]) -> None:
        store.append_records(self.turns_path, [record])

    async def _replay(self, conv: Conversation, session: Any) -> None:
        """A resumed conversation's session rebuilt: its stored cells run again, in order."""
        for t in conv.turns:
            code = (t.get("call") or {}).get("code")
            if code is None:
                continue
            result = await self._tool(session.execute, code, self.tir.tool_timeout_s, self.tir.max_output_bytes)
            got = tool_text(result, self.tir.tool_timeout_s, self.tir.max_output_bytes)
            if got != t.get("response"):
                rec = {"sample_id": conv.sample_id, "k": conv.k, "kind": "replay", "turn": t["turn"],
                       "stored": t.get("response"), "replayed": got}
                conv.replays.append(rec)
                self._store(rec)
            if (t.get("tool") or {}).get("died") or not session.alive:
                await self._tool(session.open)

    async def converse(self, conv: Conversation) -> None:
        from evalsuite.sandbox.sessions import Session, SessionLimits

        session = None
        end = "answer"
        try:
            if any(t.get("call", {}) and (t.get("call") or {}).get("code") is not None for t in conv.turns):
                session = await self._tool(Session, SessionLimits(memory_mb=self.tir.memory_mb))
                await self._replay(conv, session)
            finish = "stop"
            while True:
                if conv.turns and conv.turns[-1].get("call") is None:
                    break  # resumed after its last turn was stored: the answer is in
                if self.tir.max_calls is not None and conv.calls() >= self.tir.max_calls and conv.turns \
                        and conv.turns[-1].get("call") is not None:
                    end = "call_cap"
                    break
                messages = conv.history()
                prompt = self.render(messages)
                left = (conv.budget or self.tir.budget) - conv.used()
                prompt_tokens = self.count_tokens(prompt)
                if self.max_model_len:
                    left = min(left, int(self.max_model_len) - prompt_tokens)
                if left <= 0:
                    end, finish = "budget", "length"
                    break
                index = len(conv.turns)
                t0 = time.perf_counter()
                out = await self.complete(prompt, left, turn_seed(conv.seed, index))
                record: dict[str, Any] = {
                    "sample_id": conv.sample_id, "k": conv.k, "kind": "turn", "turn": index,
                    "prompt_tokens": prompt_tokens, "tokens": int(out.tokens), "finish_reason": out.finish_reason,
                    "gen_s": round(time.perf_counter() - t0, 3), "call": None, "response": None,
                    "kept_thinking": self._kept_thinking(conv, prompt)}
                text = out.text
                if out.finish_reason == "stop" and ends_in_call(text):
                    text += CALL_CLOSE  # the stop string, which the engine leaves out
                record["text"] = text
                call = parse_call(text) if out.finish_reason == "stop" else None
                if call is not None:
                    record["call"] = {"code": call.code, "error": call.error}
                    if call.code is None:
                        response = MALFORMED_REPLY.format(why=call.error)
                    else:
                        if session is None:
                            session = await self._tool(Session, SessionLimits(memory_mb=self.tir.memory_mb))
                        elif not session.alive:
                            await self._tool(session.open)
                        result = await self._tool(session.execute, call.code, self.tir.tool_timeout_s,
                                                  self.tir.max_output_bytes)
                        response = tool_text(result, self.tir.tool_timeout_s, self.tir.max_output_bytes)
                        record["tool"] = {"wall_s": round(result.wall_s, 4), "timed_out": result.timed_out,
                                          "died": result.died, "truncated": result.truncated,
                                          "failed": not result.ok}
                    record["response"] = response
                    record["response_tokens"] = self.count_tokens(wrap_response(response))
                self._store(record)
                conv.turns.append(record)
                if call is None:
                    if out.finish_reason == "length":
                        end, finish = "budget", "length"
                    break
            self._finish(conv, finish, end)
        finally:
            if session is not None:
                await self._tool(session.close)

    def _kept_thinking(self, conv: Conversation, prompt: str) -> bool | None:
        """Did the rendered prompt keep the last turn's thinking? (The template decides: recorded.)"""
        if not conv.turns or not self.reasoning:
            return None
        thinking, _ = split_reasoning(conv.turns[-1]["text"], True, self.think_end)
        tail = thinking.strip()[-200:]
        return bool(tail) and tail in prompt

    def _finish(self, conv: Conversation, finish: str, end: str) -> None:
        gen = Generation(conv.sample_id, conv.k, transcript(conv.turns), sum(int(t["tokens"]) for t in conv.turns),
                         finish, int(conv.turns[0]["prompt_tokens"]) if conv.turns else 0, conv.seed)
        record = dict(gen.__dict__)
        record["tir"] = conversation_metrics(conv.turns, conv.replays, end)
        self.on_done(record)


def stored_conversations(path: Path) -> tuple[dict[tuple[str, int], list[dict]], dict[tuple[str, int], list[dict]]]:
    """turns.jsonl by (sample_id, k): its turns in order (a turn stored twice: the later wins) and
    its replay mismatches."""
    turns: dict[tuple[str, int], dict[int, dict]] = {}
    replays: dict[tuple[str, int], list[dict]] = {}
    for r in store.read_records(path):
        key = (str(r["sample_id"]), int(r["k"]))
        if r.get("kind") == "replay":
            replays.setdefault(key, []).append(r)
        else:
            turns.setdefault(key, {})[int(r["turn"])] = r
    ordered = {}
    for key, by_index in turns.items():
        run, i = [], 0
        while i in by_index:  # a gap (never written) ends what can be trusted
            run.append(by_index[i])
            i += 1
        ordered[key] = run
    return ordered, replays


# ---------------------------------------------------------------- the generate stage's conversation loop

def converse(run: TaskRun, requests: list[Request], backend: Any, keep: Callable[[list[dict]], None]) -> None:
    """The generate stage's turn loop under mode=tir (pipeline.generate_round): each planned request
    (its messages open with the task's tool prompt, its seed and budget are the plan's) is one
    conversation, continued from its stored turns; each finished one is handed to `keep` (the
    store, then the scoring pool). Turns come from the backend's turn maker (backends/turns.py)."""
    cfg = run.cfg
    tir = settings(cfg, max_new_tokens(cfg))
    turns_path = run.path(TURNS)
    stored, replays = stored_conversations(turns_path)
    convs = [Conversation(r.sample_id, r.k, r.seed, r.messages, list(stored.get((r.sample_id, r.k), [])),
                          list(replays.get((r.sample_id, r.k), [])), r.max_tokens) for r in requests]
    resumed = sum(1 for c in convs if c.turns)
    print(f"[{cfg.task.name}] tir: {len(convs)} conversations ({resumed} resumed from stored turns), "
          f"tool limit {tir.tool_timeout_s:g} s, call cap {tir.max_calls}", file=sys.stderr)
    thinking = bool(cfg.task.get("thinking", True))
    maker = backend.turn_maker(OmegaConf.merge(cfg.sampling, {"max_tokens": tir.budget}), [CALL_CLOSE])

    def render(messages: list[dict[str, str]]) -> str:
        return render_prompt(backend.tokenizer, messages, thinking, cfg.model)

    async def main() -> None:
        async with maker as complete:
            runner = Runner(cfg, tir, complete, backend.count_tokens, render, turns_path,
                            lambda record: keep([record]), maker.concurrency)
            await runner.run_all(convs)

    maker.run(main())
    record_settings(run, tir)


def record_settings(run: TaskRun, tir: Settings) -> None:
    """The OPEN settings into run.json (the summary repeats them)."""
    update_manifest(run.dir, tir=tir.record())


# ---------------------------------------------------------------- the summary

def summary_facts(cfg: DictConfig, generations: dict[tuple[str, int], dict], ids: set[str]) -> TirFacts:
    """The summary's field `tir`: the run's OPEN settings and the metrics beside the score, over the
    conversations of this run's items."""
    per = [g.get("tir") or {} for key, g in generations.items() if key[0] in ids]
    n = len(per) or 1

    def total(key: str) -> float:
        return sum(float(p.get(key) or 0) for p in per)

    calls = total("calls")
    return TirFacts(
        settings=settings(cfg, _budget(cfg)).record(),
        conversations=len(per), calls_per_conversation=round(calls / n, 3),
        turns_per_conversation=round(total("turns") / n, 3),
        tool_s_total=round(total("tool_s"), 3), tool_s_per_call=round(total("tool_s") / calls, 4) if calls else 0.0,
        tool_errors=int(total("tool_errors")), malformed_calls=int(total("malformed_calls")),
        tool_timeouts=int(total("tool_timeouts")), session_deaths=int(total("session_deaths")),
        tool_output_tokens=int(total("tool_tokens")),
        hit_budget=sum(1 for p in per if p.get("end") == "budget"),
        hit_call_cap=sum(1 for p in per if p.get("end") == "call_cap"),
        replay_mismatches=int(total("replay_mismatches")))


def _budget(cfg: DictConfig) -> int:
    return max_new_tokens(cfg)
