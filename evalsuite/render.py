"""Prompt rendering through the model's own chat template, and the split of reasoning from answer."""
from __future__ import annotations

from functools import lru_cache
from typing import Any


def build_messages(user_messages: list[dict[str, str]], system_prompt: str | None) -> list[dict[str, str]]:
    msgs = [dict(m) for m in user_messages]
    if system_prompt and not any(m.get("role") == "system" for m in msgs):
        msgs.insert(0, {"role": "system", "content": system_prompt})
    return msgs


def render_prompt(tokenizer: Any, messages: list[dict[str, str]], thinking: bool, model_cfg: Any) -> str:
    """The exact text the model sees. A model config's `thinking_kwarg` names the template switch
    (Nemotron/Qwen: enable_thinking); a model without one has no thinking mode to switch."""
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
