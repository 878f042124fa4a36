"""What a judged task writes, below the judge stage (evalsuite/judge.py asks and stores; this
module is the task's side, part of the kit: docs/tasks.md, "The kit"):

    JudgeAsk                       one question to the judge about one answer
    load_prompt, fill, prompt_name the prompt files of evalsuite/judge_prompts/ and the one in force
    parse_rule, last_field         the parse rule in force, and the one reading of `field: value` replies
    unparseable                    the grade of a reply the rule cannot read (a scoring error, never a guess)
    is_judged                      whether this run grades the task through a judge
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from omegaconf import DictConfig

from evalsuite.errors import UserError
from evalsuite.task import TaskSpec
from evalsuite.types import Grade

PROMPTS_DIR = Path(__file__).resolve().parent / "judge_prompts"


@dataclass
class JudgeAsk:
    """One question to the judge about one answer: `slot` names it among the answer's asks
    (ArenaHard's two orders: game1, game2)."""

    slot: str
    messages: list[dict[str, str]]


# ---------------------------------------------------------------- prompts (data files)

def load_prompt(name: str) -> str:
    """A prompt of evalsuite/judge_prompts/: the text after its header (source and use, up to `---`),
    less the file's own final newline; a prompt that ends in a newline (CL-bench's) has one more."""
    path = PROMPTS_DIR / f"{name}.txt"
    if not path.is_file():
        choices = ", ".join(sorted(p.stem for p in PROMPTS_DIR.glob("*.txt")))
        raise UserError(f"no judge prompt {name!r} (evalsuite/judge_prompts/); the prompts are: {choices}")
    text = path.read_text(encoding="utf-8")
    head, sep, body = text.partition("\n---\n")
    if not sep:
        raise UserError(f"{path}: a prompt file starts with its source lines, then a line '---'")
    return body.removesuffix("\n")


def fill(template: str, **values: str) -> str:
    """Put values into a prompt's {placeholders} in one pass: the prompts hold other braces
    ("{your explanation ...}", \\boxed{Correct}) and an answer may hold "{solution}" itself."""
    missing = [k for k in values if "{" + k + "}" not in template]
    if missing:
        raise UserError(f"the judge prompt has no placeholder {{{missing[0]}}}; check task.judge_prompt")
    pattern = re.compile("|".join(re.escape("{" + k + "}") for k in values))
    return pattern.sub(lambda m: str(values[m.group(0)[1:-1]]), template)


# ---------------------------------------------------------------- a task's prompt and parse rule

def prompt_name(cfg: DictConfig) -> str:
    """The judge prompt in force: the judge config's `prompt`, else the task's `judge_prompt`."""
    judge_cfg = cfg.get("judge")
    name = (judge_cfg.get("prompt") if judge_cfg is not None else None) or cfg.task.get("judge_prompt")
    if not name:
        raise UserError(f"task {cfg.task.name} names no judge prompt; set task.judge_prompt")
    return str(name)


# A field at the start of a line: indentation, a list marker or a heading mark before it, markdown
# emphasis around the name and after the colon (`**correct:** yes`, `- *correct*: yes`). A
# blockquote (`> correct: yes`) is a quotation, not the judge's field.
_FIELD_AT_LINE_START = r"^[ \t]*(?:[-+*][ \t]+|\d+[.)][ \t]+|#{{1,6}}[ \t]+)?[*_]*{name}[*_]*[ \t]*:[*_]*[ \t]*(.*)$"


def last_field(reply: str, name: str) -> str | None:
    """The value of the last `name:` field of a judge's reply, read by the format's structure: a
    field begins its line, so "incorrect: yes", or "correct: yes" inside a quoted answer or a
    sentence, is not the field `correct`; a judge that restates a field is read at its last
    statement. The value is the rest of that line, its markdown emphasis stripped; None when no
    line holds the field. Names match case-insensitively."""
    pattern = re.compile(_FIELD_AT_LINE_START.format(name=re.escape(name)), re.IGNORECASE | re.MULTILINE)
    found = pattern.findall(reply)
    return found[-1].strip().strip("*_").strip() if found else None


def parse_rule(cfg: DictConfig, rules: dict[str, Callable[[str], Any]]) -> tuple[str, Callable[[str], Any]]:
    """(name, function) of the parse rule in force: the judge config's `parse`, else the task's
    `judge_parse`, among the rules the task knows."""
    judge_cfg = cfg.get("judge")
    name = str((judge_cfg.get("parse") if judge_cfg is not None else None) or cfg.task.get("judge_parse") or "")
    if name not in rules:
        raise UserError(f"task {cfg.task.name}: unknown judge parse rule {name!r}; choose one of: "
                        f"{', '.join(rules)} (task.judge_parse=NAME)")
    return name, rules[name]


def unparseable(reply: str, rule: str, why: str) -> Grade:
    """A reply the parse rule cannot read: a scoring error of its own kind, the reply's end kept."""
    return Grade(0.0, None, {"judge_unparseable": True, "judge_reply_tail": (reply or "")[-300:]},
                 scoring_error=f"judge reply unparseable ({rule}): {why}")


# ---------------------------------------------------------------- is this run judged

def is_judged(task: TaskSpec, cfg: DictConfig) -> bool:
    """Does this run grade this task through a judge? A task that needs one and has none is an error."""
    if task.judge is None:
        return False
    if cfg.get("judge") is None:
        if task.judge.required and str(cfg.get("stage", "all")) != "generate":  # generating needs no judge
            raise UserError(f"task {cfg.task.name} is graded by a judge and none is set; pick one with judge=NAME "
                            f"(evalsuite/configs/judge/: {', '.join(judge_choices())})")
        return False
    return True


def judge_choices() -> list[str]:
    from evalsuite.config import options

    return options("judge")
