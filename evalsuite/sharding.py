"""Deterministic split of a task's (sample_id, k) pairs into N shards: the same pair always lands in
the same shard, whatever the order, the limit or the machine, so shards can run anywhere, die,
resume, and merge back by key. Used by `shard=i/N` (jobs, nodes) and vLLM data parallelism (GPUs)."""
from __future__ import annotations

import hashlib

from omegaconf import DictConfig

from evalsuite.errors import UserError


def shard_index(sample_id: str, k: int, count: int) -> int:
    digest = hashlib.blake2b(f"{sample_id}\x00{k}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") % count


def parse_shard(spec: str | None) -> tuple[int, int] | None:
    """'2/8' -> (2, 8); None/'' -> None (unsharded)."""
    if spec in (None, "", "null"):
        return None
    try:
        i, n = (int(x) for x in str(spec).split("/"))
    except ValueError:
        raise UserError(f"bad shard {spec!r}; use shard=I/N with 0 <= I < N (e.g. shard=0/4)") from None
    if not 0 <= i < n:
        raise UserError(f"bad shard {spec!r}; need 0 <= I < N (e.g. shard=0/4)")
    return i, n


def current_shard(cfg: DictConfig) -> tuple[int, int] | None:
    """(index, count) for `shard=I shards=N` (one job of a sharded run); None when unsharded."""
    if cfg.get("shard") is None:
        return None
    return parse_shard(f"{cfg.shard}/{cfg.get('shards') or 1}")
