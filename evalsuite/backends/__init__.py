"""Backends turn Requests into Generations. Each has `tokenizer`, `count_tokens(text)` and
`generate(requests, sampling, on_batch)`, calling on_batch with each finished batch so the pipeline
stores it at once (a crash loses at most the batch in flight), and `turn_maker(sampling, stop)`, which
makes a conversation's turns one at a time (the `TurnMaker` protocol of backends/turns.py: mode=tir).
`close_all()` stops the engines a backend keeps alive between tasks (vLLM's)."""
from __future__ import annotations

import importlib
import sys
from typing import Any

from evalsuite.errors import UserError

BACKENDS = {
    "hf": "evalsuite.backends.hf:HFBackend",
    "vllm": "evalsuite.backends.vllm:VLLMBackend",
    "openai": "evalsuite.backends.openai:OpenAIBackend",
    "comet": "evalsuite.backends.comet:CometBackend",  # a scoring model, for judge= configs only (a metric)
}


def load_backend(cfg: Any):
    name = cfg.backend.name
    if name not in BACKENDS:
        raise UserError(f"unknown backend {name!r}; choose one of {', '.join(sorted(BACKENDS))} (backend=NAME)")
    module, attr = BACKENDS[name].split(":")
    return getattr(importlib.import_module(module), attr)(cfg)


def close_all() -> None:
    """Stop every engine kept in this process: at the end of a task or suite, and after a failure
    (a failed engine is never handed to the next task). Imports nothing that was not used."""
    vllm_backend = sys.modules.get("evalsuite.backends.vllm")
    if vllm_backend is not None:
        vllm_backend.shutdown_engine()
