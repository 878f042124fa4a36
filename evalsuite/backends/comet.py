"""A scoring model as a judge backend: a COMET-family metric (xCOMET-XXL, the metric of WMT24++'s
card number, NVIDIA's NeMo-Skills `comet` evaluator) through its official package, unbabel-comet
(`pip install 'evalsuite[comet]'`; a GPU: xCOMET-XXL has 10.7B parameters).

The judge stage hands it Requests whose one message is a JSON object {"src", "mt", "ref"} (a
task's metric ask, e.g. tasks/wmt24pp.py); it scores them in batches of `backend.batch_size` on the
GPU and returns each score as the reply's text, so the judge stage stores, caches (per source,
hypothesis and reference: the ask's digest), resumes and ledgers them as any judge's replies.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from evalsuite.errors import UserError
from evalsuite.types import Generation, Request


def package_version() -> str | None:
    import importlib.metadata

    try:
        return importlib.metadata.version("unbabel-comet")
    except importlib.metadata.PackageNotFoundError:
        return None


def metric_triple(request: Request) -> dict[str, str]:
    try:
        data = json.loads(request.messages[-1]["content"])
        return {"src": str(data["src"]), "mt": str(data["mt"]), "ref": str(data["ref"])}
    except (ValueError, KeyError, TypeError, IndexError):
        raise UserError(f"judge request {request.sample_id}: not a metric ask (a JSON object with src, mt, ref); "
                        f"a comet backend scores translations only") from None


class CometBackend:
    tokenizer = None  # no chat template: the asks go to the model as (src, mt, ref) triples

    def __init__(self, cfg: Any):
        self.version = package_version()
        if self.version is None:
            raise UserError("the comet backend needs unbabel-comet: pip install 'evalsuite[comet]' (on the GPU node), "
                            "or grade without the metric model (~judge: chrF on CPU)")
        from comet import download_model, load_from_checkpoint

        path = str(cfg.model.path)
        local = Path(path).expanduser()
        try:
            checkpoint = (local / "checkpoints" / "model.ckpt") if local.is_dir() else Path(download_model(path))
            self.model = load_from_checkpoint(str(checkpoint))
        except Exception as e:  # noqa: BLE001 - gated, offline, a wrong id: one line
            first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
            raise UserError(f"cannot load the metric model {path!r}: {first}; accept its licence on the hub and set "
                            f"HF_TOKEN, or give a local directory (judge.model.path)") from None
        self.batch_size = int(cfg.backend.get("batch_size", 16))
        self.chunk = int(cfg.backend.get("flush_every", 1024))  # answers per predict call, stored as each returns
        import torch

        self.gpus = 1 if torch.cuda.is_available() else 0

    def count_tokens(self, text: str) -> int:
        return 0

    def turn_maker(self, sampling: Any, stop: Any) -> Any:
        raise UserError("backend=comet scores translations; it makes no conversation turns (mode=tir): "
                        "use backend=hf, vllm or openai")

    def generate(self, requests: list[Request], sampling: Any, on_batch: Callable[[list[Generation]], None]) -> None:
        for start in range(0, len(requests), self.chunk):
            part = requests[start:start + self.chunk]
            out = self.model.predict([metric_triple(r) for r in part], batch_size=self.batch_size, gpus=self.gpus,
                                     progress_bar=False)
            on_batch([Generation(r.sample_id, r.k, f"{float(score):.6f}", 0, "stop", 0, r.seed)
                      for r, score in zip(part, out.scores)])
