"""Backends turn Requests into Generations. Each has `tokenizer`, `count_tokens(text)` and
`generate(requests, sampling, on_batch)`, calling on_batch with each finished batch so the pipeline
stores it at once (a crash loses at most the batch in flight)."""
from __future__ import annotations

import importlib
from typing import Any

from evalsuite.errors import UserError

BACKENDS = {
    "hf": "evalsuite.backends.hf:HFBackend",
    "vllm": "evalsuite.backends.vllm:VLLMBackend",
    "openai": "evalsuite.backends.openai:OpenAIBackend",
}


def load_backend(cfg: Any):
    name = cfg.backend.name
    if name not in BACKENDS:
        raise UserError(f"unknown backend {name!r}; choose one of {', '.join(sorted(BACKENDS))} (backend=NAME)")
    module, attr = BACKENDS[name].split(":")
    return getattr(importlib.import_module(module), attr)(cfg)
