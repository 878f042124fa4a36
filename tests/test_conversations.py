"""Multi-turn conversations: the one history rule (evalsuite.render.history_messages) on the card's
own examples, through real chat templates: a card-like ChatML template on the embedded SmolLM2
tokenizer (thinking on and off), SmolLM2's own template (a model without thinking), and the rule's
edge cases (tool responses, unclosed thinking, idempotence)."""
from __future__ import annotations

import pytest
from omegaconf import OmegaConf
from transformers import AutoTokenizer

from evalsuite.render import history_messages, render_prompt
from tests.fixtures.card_prompts import CARD_LIKE_TEMPLATE, EXPECTED, MULTI_TURN, SINGLE_TURN

CARD_MODEL = OmegaConf.create({"thinking_kwarg": "enable_thinking", "reasoning": True, "think_end": "</think>"})
PLAIN_MODEL = OmegaConf.create({"thinking_kwarg": None, "reasoning": False, "think_end": "</think>"})


@pytest.fixture(scope="module")
def card_like_tokenizer(embedded_model_dir):
    tokenizer = AutoTokenizer.from_pretrained(str(embedded_model_dir))  # its own copy: the template is replaced
    tokenizer.chat_template = CARD_LIKE_TEMPLATE
    return tokenizer


@pytest.mark.parametrize("thinking", [True, False])
@pytest.mark.parametrize("turns", ["single", "multi"])
def test_the_card_examples_render_as_the_card_states(card_like_tokenizer, turns, thinking):
    messages = SINGLE_TURN if turns == "single" else MULTI_TURN
    assert render_prompt(card_like_tokenizer, messages, thinking, CARD_MODEL) == EXPECTED[(turns, thinking)]


def test_without_the_rule_the_template_would_show_the_old_thinking(card_like_tokenizer):
    raw = card_like_tokenizer.apply_chat_template(MULTI_TURN, tokenize=False, add_generation_prompt=True,
                                                  enable_thinking=True)
    assert "THINKING_CONTENT" in raw and raw != EXPECTED[("multi", True)]  # the rule is what makes it right


def test_a_model_without_thinking_gets_its_history_unchanged(embedded_model_dir):
    tokenizer = AutoTokenizer.from_pretrained(str(embedded_model_dir))  # SmolLM2's own ChatML template
    history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "a </think> b"},
               {"role": "user", "content": "again"}]
    assert history_messages(history, PLAIN_MODEL) == history
    prompt = render_prompt(tokenizer, history, False, PLAIN_MODEL)
    assert "<|im_start|>assistant\na </think> b<|im_end|>" in prompt and prompt.endswith("<|im_start|>assistant\n")


def test_only_turns_before_the_last_query_are_cut_tool_turns_stay_whole():
    tir = [{"role": "system", "content": "tools"}, {"role": "user", "content": "solve"},
           {"role": "assistant", "content": "<think>let me run code <tool_call>x</tool_call>"},
           {"role": "user", "content": "<tool_response>\n4\n</tool_response>"}]
    assert history_messages(tir, CARD_MODEL) == tir  # the current answer, still reasoning between calls
    follow_up = tir + [{"role": "assistant", "content": "<think>so 4</think>The answer is 4."},
                       {"role": "user", "content": "and 3+3?"}]
    ruled = history_messages(follow_up, CARD_MODEL)
    assert [m["content"] for m in ruled if m["role"] == "assistant"] == [
        "<think></think>", "<think></think>The answer is 4."]  # unclosed thinking: no answer; closed: the answer
    assert history_messages(ruled, CARD_MODEL) == ruled  # ruling twice changes nothing
    untouched = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "plain answer"},
                 {"role": "user", "content": "q2"}]
    assert history_messages(untouched, CARD_MODEL)[1]["content"] == "<think></think>plain answer"
