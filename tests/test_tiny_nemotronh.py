"""bench/tiny_nemotronh.py: the card's architecture at toy size, for the GPU rehearsal. Checked
here as far as a CPU can: transformers reads its config and tokenizer, the template switches
thinking as the card's examples show, and evalsuite renders the card's prompts through it."""
from __future__ import annotations

import json

import pytest
from transformers import AutoConfig, AutoTokenizer

from bench.tiny_nemotronh import build
from evalsuite import pipeline, task
from evalsuite.backends.vllm import engine_kwargs, keeps_special_tokens
from evalsuite.config import compose
from evalsuite.render import build_messages, load_tokenizer, render_prompt

SYSTEM = "You are a helpful and harmless assistant.\n\nYou are not allowed to use any tools"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, embedded_model_dir):
    return build(tmp_path_factory.mktemp("tiny") / "nemotronh", embedded_model_dir)


def test_config_is_a_hybrid_mamba_attention_moe_nemotronh(tiny):
    config = AutoConfig.from_pretrained(tiny)
    assert config.model_type == "nemotron_h" and config.architectures == ["NemotronHForCausalLM"]
    assert len(set(config.layers_block_type)) == 3 and "moe" in config.layers_block_type  # Mamba, attention, MoE
    assert json.loads((tiny / "config.json").read_text())["hybrid_override_pattern"] == "MEM*EM"
    assert config.max_position_embeddings >= 1_048_576  # NIAH at 1M
    tokenizer = AutoTokenizer.from_pretrained(tiny)
    assert config.vocab_size >= len(tokenizer) and config.vocab_size % 128 == 0
    assert tokenizer.convert_ids_to_tokens(config.eos_token_id) == "<|im_end|>"
    assert not list(tiny.glob("*.safetensors"))  # weights come from vLLM's load_format=dummy


def test_think_tags_are_single_special_tokens_and_the_template_switches_thinking(tiny):
    tokenizer = AutoTokenizer.from_pretrained(tiny)
    think, end = tokenizer.convert_tokens_to_ids(["<think>", "</think>"])
    assert tokenizer("<think>x</think>", add_special_tokens=False).input_ids[0] == think
    assert tokenizer("<think>x</think>", add_special_tokens=False).input_ids[-1] == end
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "calculate 1+1?"}]
    head = f"<|im_start|>system\n{SYSTEM}<|im_end|>\n<|im_start|>user\ncalculate 1+1?<|im_end|>\n"
    on = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, enable_thinking=True)
    off = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, enable_thinking=False)
    assert on == head + "<|im_start|>assistant\n<think>\n"
    assert off == head + "<|im_start|>assistant\n<think></think>"
    history = messages + [{"role": "assistant", "content": "<think>1 and 1</think>\nThe answer is 2"},
                          {"role": "user", "content": "and 2+2?"}]
    again = tokenizer.apply_chat_template(history, tokenize=False, add_generation_prompt=True, enable_thinking=True)
    assert again == (head + "<|im_start|>assistant\n<think></think>The answer is 2<|im_end|>\n"
                     "<|im_start|>user\nand 2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n")  # its thinking dropped


def test_the_card_model_config_renders_the_card_prompts_through_it(tiny):
    cfg = compose(["task=aime25", "data=sample", "model=nemotron-cascade-2", f"model.path={tiny}", "backend=vllm",
                   "+backend.engine_args.load_format=dummy"])
    tokenizer = load_tokenizer(cfg.model)
    samples = pipeline.load_samples(cfg, task.resolve(cfg))
    thinking = render_prompt(tokenizer, build_messages(samples[0].messages, cfg.system_prompt), True, cfg.model)
    instruct = render_prompt(tokenizer, build_messages(samples[0].messages, cfg.system_prompt), False, cfg.model)
    assert thinking.startswith(f"<|im_start|>system\n{SYSTEM}<|im_end|>\n") and thinking.endswith("<think>\n")
    assert instruct.endswith("<|im_start|>assistant\n<think></think>")
    assert keeps_special_tokens(tokenizer, cfg.model.think_end)  # vLLM must not strip </think> from outputs
    kwargs = engine_kwargs(cfg)
    assert kwargs["model"] == str(tiny) and kwargs["load_format"] == "dummy" and "revision" not in kwargs
    assert kwargs["mamba_ssm_cache_dtype"] == "float32" and kwargs["trust_remote_code"] is True
