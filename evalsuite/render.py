"""Prompt rendering through the model's own chat template, and the split of reasoning from answer."""
from __future__ import annotations

from functools import lru_cache
from typing import Any


def build_messages(user_messages: list[dict[str, str]], system_prompt: str | None) -> list[dict[str, str]]:
    msgs = [dict(m) for m in user_messages]
    if system_prompt and not any(m.get("role") == "system" for m in msgs):
        msgs.insert(0, {"role": "system", "content": system_prompt})
    return msgs


TOOL_RESPONSE = "<tool_response>"  # a user turn that carries a tool's output, not a new query


def history_messages(messages: list[dict[str, str]], model_cfg: Any) -> list[dict[str, str]]:
    """The card's rule for a conversation's history: for a model that thinks, every assistant turn
    before the last query (a user turn that is not a tool response) goes back as its final answer
    only, after an empty thinking block: `<think></think>` + the text after its last `</think>`,
    that text kept as it is (an unclosed thinking has no answer: the block alone). The turns after
    the last query (a tool-integrated turn still reasoning between tool calls) are kept whole. A
    model without thinking gets its turns unchanged. The same rule for every backend: a template
    that drops old thinking itself renders the result identically, and a chat server receives the
    messages already ruled."""
    if not model_cfg.get("reasoning"):
        return [dict(m) for m in messages]
    think_end = str(model_cfg.get("think_end") or "</think>")
    think_start = think_end.replace("</", "<", 1)  # the tag pair of the model's thinking
    last_query = max((i for i, m in enumerate(messages) if m.get("role") == "user"
                      and not str(m.get("content") or "").lstrip().startswith(TOOL_RESPONSE)), default=-1)
    out = []
    for i, m in enumerate(messages):
        m = dict(m)
        if m.get("role") == "assistant" and i < last_query:
            text = str(m.get("content") or "")
            idx = text.rfind(think_end)
            if idx >= 0:
                answer = text[idx + len(think_end):]
            else:  # never opened: all answer; opened and never closed: no answer
                answer = "" if text.lstrip().startswith(think_start) else text
            m["content"] = think_start + think_end + answer
        out.append(m)
    return out


def render_prompt(tokenizer: Any, messages: list[dict[str, str]], thinking: bool, model_cfg: Any) -> str:
    """The exact text the model sees: the history under `history_messages`' rule, through the
    model's own chat template. A model config's `thinking_kwarg` names the template switch
    (Nemotron/Qwen: enable_thinking); a model without one has no thinking mode to switch."""
    messages = history_messages(messages, model_cfg)
    kwargs = {}
    if model_cfg.get("thinking_kwarg"):
        kwargs[model_cfg.thinking_kwarg] = bool(thinking)
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, **kwargs)


def split_reasoning(text: str, reasoning: bool, think_end: str = "</think>") -> tuple[str, str | None]:
    """(thinking, answer) of a model's raw output. For a model that thinks the answer is what follows
    the last `think_end`; if the thinking never closed there is NO answer (None): the whole text is
    never graded as the answer. A model without a thinking mode (or with it switched off) answers
    with its whole output, as it is: a literal `think_end` in it is text, not a boundary, and its
    spacing is the model's (IFBench's strict checks read it). After `think_end` the whitespace
    around the answer is the template's separator and is dropped, as NVIDIA's tooling does."""
    if not reasoning:
        return "", text
    idx = text.rfind(think_end)
    if idx < 0:
        return text, None
    return text[:idx], text[idx + len(think_end):].strip()


def split_generation(text: str, separate_reasoning: str | None, reasoning: bool,
                     think_end: str = "</think>") -> tuple[str, str | None]:
    """The one split of a stored generation, used by the scorer and the viewer alike. When the
    thinking came separately (a server's reasoning parser; a responses file read with
    `responses_split=reasoning_field` or `answer_only`, stored as "") the text is the answer, whole;
    otherwise the text is raw output and `split_reasoning` applies. An answer that came apart from
    its thinking is graded exactly as given, as the benchmarks' own scorers grade a responses file."""
    if separate_reasoning is not None:
        return separate_reasoning, text
    return split_reasoning(text, reasoning, think_end)


def load_tokenizer(model_cfg: Any):
    """The model's own tokenizer (chat template included): backends, dry run, preflight and NIAH's
    prompt sizing all take it from here."""
    return tokenizer_at(str(model_cfg.path), model_cfg.get("revision"), bool(model_cfg.get("trust_remote_code", False)))


@lru_cache(maxsize=4)
def tokenizer_at(name: str, revision: str | None = None, trust_remote_code: bool = False):
    """The tokenizer at an HF id or local directory (`embedded:...` resolves to its cache), loaded
    once per process: a suite's tasks share it."""
    from transformers import AutoTokenizer

    from evalsuite.embedded import resolve_model_path
    from evalsuite.errors import UserError

    path = resolve_model_path(name)
    try:
        return AutoTokenizer.from_pretrained(path, revision=revision, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as e:
        raise UserError(f"cannot load the tokenizer {name!r}: {str(e).splitlines()[0][:200] if str(e) else type(e).__name__}; "
                        f"give an HF id reachable from here or a local directory (model.path; NIAH: task.tokenizer)") from None
