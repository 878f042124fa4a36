"""transformers `generate` backend: CPUs and the embedded default model.

Sampling is done by our own logits processor with one torch.Generator per row, seeded by the
request's (sample_id, k) seed: a sample's text then does not depend on which other requests shared
its batch, so a resumed run reproduces the uninterrupted one.

On a CPU the thread count is chosen, not left to torch (`cpu_threads`): torch starts one OpenMP
thread per core it sees, and its threads wait for each other at every operation; on a shared
machine where other work holds those cores, each wait is a descheduled thread, and generation
stalls (minutes for what takes seconds alone). docs/backends.md has the rule and the measurements.
"""
from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from tqdm import tqdm

from evalsuite.backends.turns import SequentialTurns, TurnMaker
from evalsuite.embedded import resolve_model_path
from evalsuite.errors import UserError
from evalsuite.render import load_tokenizer
from evalsuite.types import Generation, Request


def _seeded_sampler(temperature: float, top_p: float, seeds: list[int]):
    import torch

    generators = [torch.Generator().manual_seed(int(s) & 0x7FFFFFFFFFFFFFFF) for s in seeds]

    def process(input_ids, scores):
        probs = torch.softmax(scores.float() / temperature, dim=-1)
        if top_p < 1.0:
            sorted_p, order = probs.sort(dim=-1, descending=True)
            # drop tokens once the mass *before* them reaches top_p (the top token always stays)
            drop = (sorted_p.cumsum(-1) - sorted_p) >= top_p
            sorted_p[drop] = 0.0
            probs = torch.zeros_like(probs).scatter(-1, order, sorted_p)
        picks = [int(torch.multinomial(probs[i].cpu(), 1, generator=generators[i])) for i in range(len(generators))]
        out = torch.full_like(scores, float("-inf"))
        out[torch.arange(len(picks)), torch.tensor(picks)] = 0.0
        return out  # greedy decoding over this picks exactly the sampled token

    return process


def _cgroup_quota(root: Path = Path("/sys/fs/cgroup"), proc_cgroup: Path = Path("/proc/self/cgroup")) -> float | None:
    """The CPU quota (in CPUs) of this process's cgroup or any above it: cgroup v2 `cpu.max`
    ("200000 100000" = 2 CPUs; "max": none), v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us` (-1: none).
    None where there is none (or no cgroup to read)."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return None
    quotas = []
    for line in lines:
        _, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if controllers == "":  # v2: one unified hierarchy
            places = [root / path.lstrip("/")]
        elif "cpu" in controllers.split(","):  # v1: the cpu controller's own mount
            places = [root / controllers / path.lstrip("/"), root / "cpu" / path.lstrip("/")]
        else:
            continue
        for place in places:
            for directory in [place, *place.parents]:  # a parent's limit binds its children too
                if not str(directory).startswith(str(root)):
                    break
                try:
                    if (directory / "cpu.max").is_file():
                        quota, period = (directory / "cpu.max").read_text().split()[:2]
                        if quota != "max":
                            quotas.append(int(quota) / int(period))
                    elif (directory / "cpu.cfs_quota_us").is_file():
                        quota = int((directory / "cpu.cfs_quota_us").read_text())
                        if quota > 0:
                            quotas.append(quota / int((directory / "cpu.cfs_period_us").read_text()))
                except (OSError, ValueError, ZeroDivisionError):
                    continue
    return min(quotas) if quotas else None


def _others_running(samples: int = 5, pause_s: float = 0.05) -> int:
    """Threads of other processes ready to run right now, system-wide: the median of a few
    readings of /proc/stat's procs_running, less this process's own running thread."""
    readings = []
    for i in range(samples):
        try:
            stat = Path("/proc/stat").read_text()
            readings.append(int(next(line.split()[1] for line in stat.splitlines() if line.startswith("procs_running"))))
        except (OSError, StopIteration, ValueError, IndexError):
            return 0
        if i + 1 < samples:
            time.sleep(pause_s)
    return max(0, sorted(readings)[len(readings) // 2] - 1)


def cpu_threads(setting: Any) -> dict[str, Any]:
    """The CPU thread count for generation and why. `backend.threads`: a number is used as given;
    `auto` (default) takes the CPUs this process may use (its affinity mask, capped by its cgroup's
    CPU quota), less those that other processes' running threads hold now (their count, as a share
    of this machine's CPUs), at least 1."""
    if setting not in (None, "auto"):
        try:
            threads = int(setting)
            if threads < 1 or isinstance(setting, bool) or float(setting) != threads:
                raise ValueError
        except (TypeError, ValueError):
            raise UserError(f"backend.threads={setting!r}: give a whole number of CPU threads (1 or more), "
                            f"or auto") from None
        return {"threads": threads, "rule": "backend.threads as given"}
    allowed = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    quota = _cgroup_quota()
    usable = max(1, min(allowed, math.floor(quota)) if quota is not None else allowed)
    machine = os.cpu_count() or allowed
    others = _others_running()
    held = others * usable / machine  # other work spread over the machine: its share on our CPUs
    threads = max(1, min(usable, math.floor(usable - held + 0.5)))
    return {"threads": threads, "rule": "auto: usable CPUs less those other running threads hold",
            "affinity_cpus": allowed, "cgroup_quota_cpus": quota, "usable_cpus": usable, "machine_cpus": machine,
            "others_running": others}


class HFBackend:
    name = "hf"

    def __init__(self, cfg: Any):
        import torch
        from transformers import AutoModelForCausalLM

        path = resolve_model_path(str(cfg.model.path))
        device = cfg.backend.get("device", "auto")
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = device
        self.batch_size = int(cfg.backend.get("batch_size", 16))
        # what run.json records about how this backend ran (pipeline.record_backend_runtime)
        self.runtime: dict[str, Any] = {"device": device}
        if device == "cpu":
            self.runtime["cpu_threads"] = cpu_threads(cfg.backend.get("threads", "auto"))
            torch.set_num_threads(self.runtime["cpu_threads"]["threads"])
        kwargs = dict(revision=cfg.model.get("revision"), trust_remote_code=bool(cfg.model.get("trust_remote_code", False)))
        self.tokenizer = load_tokenizer(cfg.model)
        try:
            dtype = getattr(torch, str(cfg.model.get("dtype", "float32")))
            self.model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, **kwargs).to(device).eval()
        except OSError as e:
            raise UserError(f"cannot load model {cfg.model.path!r}: {str(e).splitlines()[0][:200]}; "
                            f"check model.path (an HF id reachable from here, or a local directory)") from None
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        eos = self.model.generation_config.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, list) else [eos]) | {self.tokenizer.eos_token_id}
        self.generate_seconds = 0.0  # time inside model.generate: the harness overhead is the rest

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False).input_ids)

    def turn_maker(self, sampling: Any, stop: Sequence[str]) -> TurnMaker:
        """No stop strings and no request-level async API: one whole turn at a time, cut at its stop."""
        return SequentialTurns(self, sampling, stop)

    def generate(self, requests: list[Request], sampling: Any, on_batch: Callable[[list[Generation]], None]) -> None:
        import torch
        from transformers import LogitsProcessorList

        temperature = float(sampling.temperature)
        top_p = float(sampling.get("top_p", 1.0))
        # similar lengths together: less padding; sorted order is deterministic, so resume is too
        order = sorted(requests, key=lambda r: (len(r.prompt), r.sample_id, r.k))
        bar = tqdm(total=len(order), desc="generate", unit="gen", dynamic_ncols=True)
        made_tokens, t_start = 0, time.perf_counter()
        for b in range(0, len(order), self.batch_size):
            batch = order[b:b + self.batch_size]
            enc = self.tokenizer([r.prompt for r in batch], return_tensors="pt", padding=True,
                                 add_special_tokens=False).to(self.device)
            max_new = max(r.max_tokens or int(sampling.max_tokens) for r in batch)
            kw: dict[str, Any] = dict(max_new_tokens=max_new, do_sample=False, pad_token_id=self.tokenizer.pad_token_id)
            if temperature > 0:
                kw["logits_processor"] = LogitsProcessorList([_seeded_sampler(temperature, top_p, [r.seed for r in batch])])
                kw["temperature"], kw["top_p"], kw["top_k"] = None, None, None
            t0 = time.perf_counter()
            with torch.inference_mode():
                out = self.model.generate(**enc, **kw)
            self.generate_seconds += time.perf_counter() - t0
            prompt_len = enc.input_ids.shape[1]
            gens = []
            for i, r in enumerate(batch):
                ids = out[i, prompt_len:].tolist()
                budget = r.max_tokens or int(sampling.max_tokens)
                stop_at = next((j for j, t in enumerate(ids) if t in self.eos_ids), None)
                if stop_at is not None and stop_at < budget:
                    ids, finish = ids[:stop_at], "stop"
                else:
                    ids, finish = ids[:budget], "length"
                gens.append(Generation(sample_id=r.sample_id, k=r.k, text=self.tokenizer.decode(ids, skip_special_tokens=True),
                                       tokens=len(ids) + (finish == "stop"), finish_reason=finish,
                                       prompt_tokens=int(enc.attention_mask[i].sum()), seed=r.seed))
                made_tokens += gens[-1].tokens
            on_batch(gens)
            bar.update(len(batch))
            bar.set_postfix(tok_s=f"{made_tokens / max(1e-9, time.perf_counter() - t_start):.0f}")
        bar.close()
