"""transformers `generate` backend: CPUs and the embedded default model.

Sampling is done by our own logits processor with one torch.Generator per row, seeded by the
request's (sample_id, k) seed: a sample's text then does not depend on which other requests shared
its batch, so a resumed run reproduces the uninterrupted one.
"""
from __future__ import annotations

import time
from typing import Any, Callable

from tqdm import tqdm

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
