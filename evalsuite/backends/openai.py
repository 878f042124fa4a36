"""Any OpenAI-compatible server (`vllm serve` as the card shows, SGLang, llama.cpp ...).

    evalsuite task=aime25 backend=openai backend.base_url=http://localhost:8000/v1 backend.model_id=MODEL

By default our rendered prompt goes to /completions (exact control of the chat template and the
thinking switch); `backend.api=chat` sends Request.messages to /chat/completions instead and lets the
server template them. Each (sample_id, k) is its own request with its own seed (servers differ on
`n`). Requests run concurrently (`backend.concurrency`), each retried with exponential backoff on
429/5xx, timeouts and refused connections; finished ones reach the store in small groups, so a
killed run or a server that dies loses only what was in flight. A server that stays down, or that
does not serve the model asked for, stops the run with one line naming the fix.

A reasoning parser on the server (vLLM's `--reasoning-parser`) moves the thinking into
`reasoning_content` (newer vLLM: `reasoning`): it is stored in Generation.reasoning and the text is
the answer alone. If the server put everything into the reasoning (the thinking never closed), the
text is that reasoning and Generation.reasoning stays empty, so the pipeline marks it unfinished.
"""
from __future__ import annotations

import asyncio
import os
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Coroutine, Sequence

from omegaconf import DictConfig, OmegaConf

from evalsuite.backends.turns import Complete, Completion, TurnMaker, all_or_first_error, run_coroutine, with_stop
from evalsuite.errors import UserError
from evalsuite.render import load_tokenizer
from evalsuite.types import Generation, Request

RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
EXTRA_SAMPLING_KEYS = ("top_k", "min_p", "repetition_penalty", "presence_penalty", "frequency_penalty", "stop")


@dataclass
class ServerSettings:
    base_url: str
    model_id: str | None = None  # None: the server's only model
    api: str = "completions"  # completions | chat
    api_key: str | None = None
    concurrency: int = 64
    timeout_s: float = 600.0  # one request; long generations need long timeouts
    max_retries: int = 6
    backoff_s: float = 1.0  # first wait; doubles per retry, with jitter
    backoff_max_s: float = 60.0
    flush_every: int = 16  # generations per store append
    flush_s: float = 2.0  # ... or this often, whichever comes first
    extra_body: dict = field(default_factory=dict)  # sent with every request (e.g. add_special_tokens: false)

    @classmethod
    def from_cfg(cls, backend: DictConfig) -> "ServerSettings":
        if not backend.get("base_url"):
            raise UserError("backend=openai needs the server's address: backend.base_url=http://HOST:PORT/v1")
        api = str(backend.get("api", "completions"))
        if api not in ("completions", "chat"):
            raise UserError(f"unknown backend.api {api!r}; use completions (our rendered prompt) or chat")
        key = backend.get("api_key") or os.environ.get(str(backend.get("api_key_env") or "OPENAI_API_KEY"))
        extra = OmegaConf.to_container(backend.extra_body, resolve=True) if backend.get("extra_body") else {}
        return cls(base_url=str(backend.base_url).rstrip("/"), model_id=backend.get("model_id"), api=api,
                   api_key=key or None, concurrency=int(backend.get("concurrency", 64)),
                   timeout_s=float(backend.get("timeout_s", 600)), max_retries=int(backend.get("max_retries", 6)),
                   backoff_s=float(backend.get("backoff_s", 1.0)), backoff_max_s=float(backend.get("backoff_max_s", 60)),
                   flush_every=int(backend.get("flush_every", 16)), flush_s=float(backend.get("flush_s", 2.0)),
                   extra_body=dict(extra))  # type: ignore[arg-type]


# ---------------------------------------------------------------- requests and responses (plain functions)

def sampling_fields(sampling: Any) -> dict[str, Any]:
    """The sampling fields every request shares, read from the config once."""
    plain = OmegaConf.to_container(sampling, resolve=True) if isinstance(sampling, DictConfig) else dict(sampling)
    fields = {"max_tokens": int(plain["max_tokens"]), "temperature": float(plain["temperature"]),
              "top_p": float(plain.get("top_p", 1.0))}
    fields.update({key: plain[key] for key in EXTRA_SAMPLING_KEYS if plain.get(key) is not None})
    return fields


def request_body(settings: ServerSettings, model: str, request: Request, sampling: dict[str, Any],
                 thinking_switch: dict[str, bool] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "n": 1, "seed": int(request.seed), **sampling,
                            "max_tokens": int(request.max_tokens or sampling["max_tokens"])}
    if settings.api == "chat":
        body["messages"] = request.messages
        if thinking_switch:
            body["chat_template_kwargs"] = thinking_switch
    else:
        body["prompt"] = request.prompt
    body.update(settings.extra_body)
    # extra_body's nulls leave a field out (OpenAI's reasoning models refuse temperature and max_tokens)
    return {key: value for key, value in body.items() if value is not None}


def finish_reason(raw: Any) -> str:
    return "length" if raw == "length" else "stop"


def parse_response(request: Request, data: dict[str, Any], api: str, count_tokens: Callable[[str], int]) -> Generation:
    """One response body -> the Generation stored for this request."""
    choice = (data.get("choices") or [{}])[0]
    reasoning = None
    if api == "chat":
        message = choice.get("message") or {}
        text = message.get("content") or ""
        reasoning = message.get("reasoning_content") or message.get("reasoning") or None
        if reasoning and not text.strip():
            text, reasoning = reasoning, None  # thinking never closed: keep it where the split finds no answer
    else:
        text = choice.get("text") or ""
    usage = data.get("usage") or {}
    tokens = usage.get("completion_tokens")
    if tokens is None:
        tokens = count_tokens(text) + (count_tokens(reasoning) if reasoning else 0)
    return Generation(sample_id=request.sample_id, k=request.k, text=text, tokens=int(tokens),
                      finish_reason=finish_reason(choice.get("finish_reason")),
                      prompt_tokens=int(usage.get("prompt_tokens") or 0), seed=request.seed, reasoning=reasoning)


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """Exponential with full jitter: many clients retrying at once do not hit the server in step."""
    return random.uniform(0.5, 1.0) * min(cap, base * (2 ** attempt))


def error_message(response: Any) -> str:
    try:
        data = response.json()
        err = data.get("error", data) if isinstance(data, dict) else data
        msg = err.get("message") or err.get("detail") if isinstance(err, dict) else err
        return " ".join(str(msg).split())[:300]
    except Exception:
        return " ".join(response.text.split())[:300]


def looks_like_unknown_model(status: int, message: str) -> bool:
    return status == 404 or ("model" in message.lower() and ("not exist" in message.lower() or "not found" in message.lower()))


def pick_model(served: Sequence[str], wanted: str | None, base_url: str) -> str:
    if wanted is None:
        if len(served) == 1:
            return served[0]
        raise UserError(f"{base_url} serves {len(served)} models ({', '.join(served[:5])}); "
                        f"choose one with backend.model_id=NAME")
    if served and wanted not in served:
        raise UserError(f"{base_url} does not serve model {wanted!r} (it serves: {', '.join(served[:5])}); "
                        f"set backend.model_id to one of those")
    return wanted


# ---------------------------------------------------------------- the backend

class OpenAIBackend:
    name = "openai"

    def __init__(self, cfg: DictConfig):
        self.cfg = cfg
        self.settings = ServerSettings.from_cfg(cfg.backend)
        # renders our prompt and sizes it for the budget check; a hosted judge (api=chat) may have none
        self.tokenizer = load_tokenizer(cfg.model) if cfg.model.get("path") else None
        kwarg = cfg.model.get("thinking_kwarg")
        self.thinking_switch = {str(kwarg): bool(cfg.task.get("thinking", True))} if kwarg else None
        self.generate_seconds = 0.0
        self.model: str | None = None

    def count_tokens(self, text: str) -> int:
        if self.tokenizer is None:  # no tokenizer and no usage from the server: unknown, counted as 0
            return 0
        return len(self.tokenizer(text, add_special_tokens=False).input_ids)

    def generate(self, requests: list[Request], sampling: Any, on_batch: Callable[[list[Generation]], None]) -> None:
        if not requests:
            return
        t0 = time.perf_counter()
        try:
            run_coroutine(self._generate_all(requests, sampling, on_batch))
        finally:
            self.generate_seconds += time.perf_counter() - t0

    def turn_maker(self, sampling: Any, stop: Sequence[str]) -> TurnMaker:
        return OpenAITurns(self, sampling, stop)

    # ---- HTTP
    def _client(self):
        import httpx2

        s = self.settings
        headers = {"Authorization": f"Bearer {s.api_key}"} if s.api_key else {}
        return httpx2.AsyncClient(base_url=s.base_url + "/", headers=headers,
                                  timeout=httpx2.Timeout(s.timeout_s, connect=min(10.0, s.timeout_s)),
                                  limits=httpx2.Limits(max_connections=s.concurrency, max_keepalive_connections=s.concurrency))

    async def _call(self, client: Any, method: str, path: str, what: str, body: dict | None = None) -> Any:
        """One HTTP call with retries; returns the response (2xx or a non-retryable status)."""
        import httpx2

        s, last = self.settings, ""
        for attempt in range(s.max_retries + 1):
            if attempt:
                await asyncio.sleep(backoff_delay(attempt - 1, s.backoff_s, s.backoff_max_s))
            try:
                response = await client.request(method, path, json=body)
            except httpx2.TimeoutException as e:
                last = f"timed out ({type(e).__name__})"
                continue
            except httpx2.TransportError as e:
                last = f"{type(e).__name__}: {str(e).strip()[:120] or 'no answer'}"
                continue
            if response.status_code in RETRY_STATUS:
                last = f"HTTP {response.status_code}: {error_message(response)}"
                retry_after = response.headers.get("retry-after")
                if retry_after and retry_after.replace(".", "", 1).isdigit():
                    await asyncio.sleep(min(float(retry_after), s.backoff_max_s))
                continue
            return response
        raise UserError(f"{s.base_url} did not answer {what} after {s.max_retries + 1} tries ({last}); start the "
                        f"server or fix backend.base_url, then rerun the same command to resume")

    async def _served_models(self, client: Any) -> list[str]:
        response = await self._call(client, "GET", "models", "GET /models")
        if response.status_code == 404:
            return []  # a server without /models: a wrong id then shows up as a 404 on the first request
        if response.status_code in (401, 403):
            raise UserError(f"{self.settings.base_url} refused us (HTTP {response.status_code}: "
                            f"{error_message(response)}); set backend.api_key or the OPENAI_API_KEY variable")
        if response.status_code != 200:
            raise UserError(f"{self.settings.base_url}/models answered HTTP {response.status_code} "
                            f"({error_message(response)}); is backend.base_url an OpenAI-compatible API (ending in /v1)?")
        return [str(m.get("id")) for m in (response.json().get("data") or [])]

    async def _generate_one(self, client: Any, request: Request, sampling: dict[str, Any]) -> Generation:
        path = "chat/completions" if self.settings.api == "chat" else "completions"
        body = request_body(self.settings, str(self.model), request, sampling, self.thinking_switch)
        response = await self._call(client, "POST", path, f"item {request.sample_id}", body)
        if response.status_code == 200:
            return parse_response(request, response.json(), self.settings.api, self.count_tokens)
        message = error_message(response)
        if looks_like_unknown_model(response.status_code, message):
            raise UserError(f"{self.settings.base_url} does not serve model {self.model!r} ({message}); "
                            f"set backend.model_id to a model the server lists at /models")
        raise UserError(f"{self.settings.base_url} rejected item {request.sample_id} (HTTP {response.status_code}: "
                        f"{message}); fix the sampling settings or backend.extra_body and rerun")

    async def _generate_all(self, requests: list[Request], sampling: Any, on_batch: Callable[[list[Generation]], None]) -> None:
        from tqdm import tqdm

        s = self.settings
        buffer: list[Generation] = []
        last_flush = time.monotonic()

        def flush() -> None:
            nonlocal last_flush
            if buffer:
                on_batch(list(buffer))
                buffer.clear()
            last_flush = time.monotonic()

        async with self._client() as client:
            self.model = pick_model(await self._served_models(client), s.model_id, s.base_url)
            todo = iter(requests)
            fields = sampling_fields(sampling)
            bar = tqdm(total=len(requests), desc="generate", unit="gen", dynamic_ncols=True)

            async def worker() -> None:
                for request in todo:  # one shared iterator: at most `concurrency` requests in flight
                    buffer.append(await self._generate_one(client, request, fields))
                    bar.update(1)
                    if len(buffer) >= s.flush_every or time.monotonic() - last_flush >= s.flush_s:
                        flush()

            try:
                await all_or_first_error([worker() for _ in range(min(s.concurrency, len(requests)))])
            finally:
                flush()  # what finished is kept, also when the run stops here
                bar.close()
        print(f"[openai] {len(requests)} generations from {s.base_url} ({self.model}) in "
              f"{bar.format_dict.get('elapsed', 0):.1f} s", file=sys.stderr)


class OpenAITurns:
    """One turn = one /completions request of our rendered prompt with the turn's stop strings,
    through the backend's own client and retries; up to `backend.concurrency` conversations at once."""

    def __init__(self, backend: OpenAIBackend, sampling: Any, stop: Sequence[str]):
        if backend.settings.api != "completions":
            raise UserError("a conversation (mode=tir) renders every turn with the model's chat template: "
                            "use backend.api=completions")
        self.backend, self.fields = backend, sampling_fields(sampling)
        self.fields["stop"] = with_stop(self.fields.get("stop"), stop)
        self.concurrency = backend.settings.concurrency

    def run(self, coro: Coroutine) -> Any:
        return run_coroutine(coro)

    async def __aenter__(self) -> Complete:
        b = self.backend
        self.client = b._client()
        await self.client.__aenter__()
        b.model = pick_model(await b._served_models(self.client), b.settings.model_id, b.settings.base_url)

        async def complete(prompt: str, max_tokens: int, seed: int) -> Completion:
            g = await b._generate_one(self.client, Request("turn", 0, prompt, seed, max_tokens=max_tokens), self.fields)
            return Completion(g.text, g.tokens, g.finish_reason)

        return complete

    async def __aexit__(self, *exc: Any) -> None:
        await self.client.__aexit__(*exc)
