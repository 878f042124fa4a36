"""A tiny NemotronH checkpoint directory: the card model's architecture (hybrid Mamba-2, attention
and mixture-of-experts layers) at a few million parameters, with no weight files. vLLM builds the
real architecture from config.json and fills it with random weights (`load_format=dummy`), so the
card's model config can be rehearsed on a GPU (engine start, 1M-token prefill, a clean exit)
without the 30B checkpoint. Its text is noise: it tests the plumbing, never a score.

    python -m bench.tiny_nemotronh OUT_DIR [TOKENIZER_DIR]
    evalsuite model=nemotron-cascade-2 model.path=OUT_DIR +backend.engine_args.load_format=dummy \\
        backend=vllm task=aime25 ...

The tokenizer is SmolLM2's (TOKENIZER_DIR, else $EVALSUITE_SMOLLM2_DIR, else the embedded copy)
with <think> and </think> added as special tokens and a ChatML template that switches thinking as
the card's examples do: `enable_thinking` on (the default) ends the prompt with
"<|im_start|>assistant\\n<think>\\n", off with "<|im_start|>assistant\\n<think></think>"; earlier
assistant turns keep only their answer (the text after </think>).
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

# M: Mamba-2 mixer, E: mixture-of-experts MLP, *: attention, as NemotronH's config spells its layers
LAYER_PATTERN = "MEM*EM"
SPECIAL_TOKENS = ["<think>", "</think>", "<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>"]

CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'assistant' -%}"
    "{%- set answer = message['content'].split('</think>')[-1].lstrip() -%}"
    "{{- '<|im_start|>assistant\\n<think></think>' + answer + '<|im_end|>\\n' -}}"
    "{%- else -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}"
    "{%- if enable_thinking is defined and not enable_thinking -%}"
    "{{- '<|im_start|>assistant\\n<think></think>' -}}"
    "{%- else -%}"
    "{{- '<|im_start|>assistant\\n<think>\\n' -}}"
    "{%- endif -%}"
    "{%- endif -%}"
)


def model_config(vocab_size: int, bos: int, eos: int, pad: int, max_positions: int = 1 << 20) -> dict:
    """config.json: NemotronH's fields at toy sizes (hidden 256, 6 layers, 8 experts of which 2 per
    token plus a shared one), long enough a window for NIAH at 1M tokens."""
    return {
        "architectures": ["NemotronHForCausalLM"], "model_type": "nemotron_h", "torch_dtype": "bfloat16",
        "vocab_size": vocab_size, "tie_word_embeddings": False,
        "hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": len(LAYER_PATTERN),
        "hybrid_override_pattern": LAYER_PATTERN, "max_position_embeddings": max_positions,
        "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 64, "attention_bias": False,
        "mlp_hidden_act": "relu2", "mlp_bias": False, "use_bias": False,
        "layer_norm_epsilon": 1e-5, "residual_in_fp32": False, "rescale_prenorm_residual": True,
        "ssm_state_size": 64, "mamba_num_heads": 8, "mamba_head_dim": 64, "mamba_n_groups": 2,
        "mamba_d_conv": 4, "mamba_expand": 2, "mamba_hidden_act": "silu", "mamba_chunk_size": 256,
        "n_routed_experts": 8, "num_experts_per_tok": 2, "n_shared_experts": 1,
        "moe_intermediate_size": 256, "moe_shared_expert_intermediate_size": 256,
        "routed_scaling_factor": 1.0, "n_group": 1, "topk_group": 1, "norm_topk_prob": True,
        "bos_token_id": bos, "eos_token_id": eos, "pad_token_id": pad,
    }


def default_tokenizer_dir() -> str:
    from evalsuite.embedded import resolve_model_path

    return resolve_model_path(os.environ.get("EVALSUITE_SMOLLM2_DIR") or "embedded:smollm2-135m")


def build(out: str | Path, tokenizer_dir: str | Path | None = None) -> Path:
    """Writes config.json, generation_config.json and the tokenizer (with its chat template) to `out`."""
    from transformers import AutoTokenizer

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir or default_tokenizer_dir()))
    tokenizer.add_special_tokens({"additional_special_tokens": SPECIAL_TOKENS})
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(out)
    ids = {name: tokenizer.convert_tokens_to_ids(name) for name in ("<|endoftext|>", "<|im_start|>", "<|im_end|>")}
    vocab = -(-len(tokenizer) // 128) * 128  # the embedding rows, padded as real checkpoints pad them
    config = model_config(vocab, bos=ids["<|im_start|>"], eos=ids["<|im_end|>"], pad=ids["<|endoftext|>"])
    (out / "config.json").write_text(json.dumps(config, indent=1) + "\n")
    (out / "generation_config.json").write_text(json.dumps({"bos_token_id": config["bos_token_id"],
                                                            "eos_token_id": config["eos_token_id"]}) + "\n")
    return out


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: python -m bench.tiny_nemotronh OUT_DIR [TOKENIZER_DIR]")
    print(build(*sys.argv[1:]))
