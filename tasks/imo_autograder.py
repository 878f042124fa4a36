"""IMO AnswerBench's autograder: the judge for the answers the math checker cannot decide.

A piece any math-checked task can use for its undecidable answers (and the one `tasks.imo_answerbench`
uses): the checker decides first (an answer it shows equal to the reference is correct; one whose
"not equal" stands, by `evalsuite.scoring.math.undecidable_reason`, is wrong); anything else (prose,
a function, what math-verify cannot read, no \\boxed{} at all) goes to a judge with the benchmark authors' answer-autograder prompt, whose last
\\boxed{Correct|Incorrect} after its </thinking> is the verdict. Judge OPEN: Gemini 2.5 Pro (the
authors' autograder model) vs gpt-oss-20b (`+judge@judge_variant=gpt-oss-20b`).

To wire it into a task: set `task.judge_prompt: imo_answer_autograder` and
`task.judge_parse: boxed_verdict` in its YAML and `judge=JUDGE` in its TaskSpec (the task's own
`score` stays the checker alone, used when no judge is configured).
"""
from __future__ import annotations

import re

from evalsuite.judge_rules import JudgeAsk, fill, load_prompt, parse_rule, prompt_name, unparseable
from evalsuite.scoring.math import extract_last_boxed, math_equal, undecidable_reason
from evalsuite.task import JudgeHooks
from evalsuite.types import Grade, Sample


def checker_verdict(reference: str, answer: str) -> tuple[float | None, str | None]:
    """(1.0 | 0.0 | None: undecided, the boxed answer). The checker's own rule: equal is right, a
    "not equal" is wrong only where it stands (`undecidable_reason` finds no reason to doubt it)."""
    boxed = extract_last_boxed(answer)
    if boxed is None:
        return None, None
    if math_equal(reference, boxed):
        return 1.0, boxed
    return (None if undecidable_reason(reference, boxed) else 0.0), boxed


def problem_text(sample: Sample) -> str:
    return str(sample.meta.get("problem") or sample.messages[-1]["content"])


def judge_requests(sample: Sample, answer: str, cfg) -> list[JudgeAsk]:
    decided, _ = checker_verdict(sample.reference, answer)
    if decided is not None:
        return []
    text = fill(load_prompt(prompt_name(cfg)), Problem_Statement=problem_text(sample), Model_Solution=answer,
                Golden_Answer=sample.reference)
    return [JudgeAsk("autograde", [{"role": "user", "content": text}])]


_VERDICT = re.compile(r"\\boxed\{\s*(Correct|Incorrect)\s*\}", re.IGNORECASE)


def read_boxed_verdict(reply: str) -> str | None:
    """The last \\boxed{Correct} / \\boxed{Incorrect} after the judge's </thinking> (the whole reply
    when it has none): "correct" | "incorrect" | None."""
    tail = reply.rsplit("</thinking>", 1)[-1]
    found = _VERDICT.findall(tail)
    return found[-1].lower() if found else None


PARSE_RULES = {"boxed_verdict": read_boxed_verdict}


def score_judged(sample: Sample, answer: str, replies: dict[str, str], cfg) -> Grade:
    decided, boxed = checker_verdict(sample.reference, answer)
    if decided is not None:
        return Grade(decided, boxed, {"decided_by": "checker"})
    name, rule = parse_rule(cfg, PARSE_RULES)
    verdict = rule(replies["autograde"])
    if verdict is None:
        return unparseable(replies["autograde"], name, "no \\boxed{Correct} or \\boxed{Incorrect}")
    return Grade(float(verdict == "correct"), boxed or "(judged)", {"decided_by": "judge", "judge_verdict": verdict})


JUDGE = JudgeHooks(requests=judge_requests, score=score_judged)
