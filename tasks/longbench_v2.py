"""LongBench v2 (THUDM/LongBench-v2, split train): 503 four-option questions over long documents.

A member of the multiple-choice family (tasks/multiple_choice.py) with the benchmark's own prompt:
its zero-shot template, word for word, asking for "The correct answer is (X)". Rows: _id, domain,
sub_domain, difficulty (easy|hard), length (short|medium|long), question, choice_A ... choice_D,
answer (the letter), context.

Contexts run to millions of words, so each is cut in the middle to fit: the rendered prompt (chat
template and system prompt included) must fit the model's window less the answer budget
(`planning.prompt_token_room`, the rule the budget check and the dry run apply), counted with the
model's own tokenizer. As the benchmark's own code does, the head and the tail of the document are
kept; we cut the document alone, never the question after it. `meta.prompt_tokens` is the exact
count (the pipeline trusts it instead of tokenizing again), `meta.cut_tokens` what was removed.

Graded by the family's lenient letter reading (`task.letter_reading: lenient`): NeMo-Skills' rule,
the card's tooling's, belongs with NeMo-Skills' own LongBench v2 prompt (which asks for "Answer:
\\boxed{X}") and reads no letter in this template's "The correct answer is (X)"; it is reported as
the variant `nemo_skills_letters`. The variant `official_extraction` grades with the benchmark's own
rule: the first "The correct answer is (X)" or "The correct answer is X", asterisks removed.
Breakdown: per length bucket, difficulty and domain.
"""
from __future__ import annotations

import re
from typing import Any

from evalsuite.data import load_rows
from evalsuite.errors import UserError
from evalsuite.scoring.letters import read_choice_letter
from evalsuite.task import TaskSpec
from evalsuite.types import Grade, Sample
from tasks import multiple_choice as mc

TEMPLATE = ("Please read the following text and answer the question below.\n\n<text>\n{context}\n</text>\n\n"
            "What is the correct answer to this question: {question}\nChoices:\n(A) {A}\n(B) {B}\n(C) {C}\n(D) {D}\n\n"
            "Format your response as follows: \"The correct answer is (insert answer here)\".")
STYLES = ("official",)
COLUMNS = ("_id", "question", "choice_A", "choice_B", "choice_C", "choice_D", "answer", "context")
_OFFICIAL = (re.compile(r"The correct answer is \(([A-D])\)"), re.compile(r"The correct answer is ([A-D])"))


def user_text(row: dict[str, Any], context: str) -> str:
    return TEMPLATE.format(context=context, question=str(row["question"]).strip(),
                           **{x: str(row[f"choice_{x}"]).strip() for x in "ABCD"})


class ContextFitter:
    """Cuts a document in the middle until its rendered prompt fits the window (tokens counted with
    the model's tokenizer, through the same rendering the pipeline uses)."""

    def __init__(self, cfg: Any):
        from evalsuite.planning import prompt_token_room
        from evalsuite.render import load_tokenizer

        self.cfg, self.room = cfg, prompt_token_room(cfg)
        self.tokenizer = load_tokenizer(cfg.model) if self.room is not None else None

    def count(self, text: str) -> int:
        from evalsuite.dryrun import count_prompt_tokens
        from evalsuite.render import build_messages, render_prompt

        messages = build_messages([{"role": "user", "content": text}], self.cfg.get("system_prompt"))
        prompt = render_prompt(self.tokenizer, messages, bool(self.cfg.task.get("thinking", True)), self.cfg.model)
        return count_prompt_tokens(self.tokenizer, [prompt])[0]

    def fit(self, row: dict[str, Any], item_id: str) -> tuple[str, int | None, int]:
        """(the user turn, its prompt's exact token count, tokens cut from the document)."""
        context = str(row["context"]).strip()
        if self.room is None:  # no window to fit: the whole document
            return user_text(row, context), None, 0
        text = user_text(row, context)
        n = self.count(text)
        if n <= self.room:
            return text, n, 0
        ids = self.tokenizer(context, add_special_tokens=False).input_ids
        keep = len(ids) - (n - self.room)
        for _ in range(8):  # decoding and re-encoding at the cut can shift a few tokens: shrink and retry
            if keep <= 0:
                raise UserError(f"longbench_v2 item {item_id}: even without its document the prompt does not fit "
                                f"max_model_len less max_tokens ({self.room} tokens); lower sampling.max_tokens")
            text = user_text(row, self._cut(ids, keep))
            n = self.count(text)
            if n <= self.room:
                return text, n, len(ids) - keep
            keep -= (n - self.room) + 8
        raise UserError(f"longbench_v2 item {item_id}: could not cut its document to fit {self.room} prompt tokens")

    def _cut(self, ids: list[int], keep: int) -> str:
        head, tail = ids[:keep // 2], ids[len(ids) - (keep - keep // 2):]
        return self.tokenizer.decode(head + tail, skip_special_tokens=True)


def load(cfg) -> list[Sample]:
    opts = mc.settings(cfg)
    if opts.letters != "ABCD":
        raise UserError(f"task.letters={opts.letters}: LongBench v2 has four options (task.letters=ABCD)")
    rows = load_rows(cfg)
    fitter = ContextFitter(cfg)
    samples = []
    for n, row in enumerate(rows, 1):
        missing = [c for c in COLUMNS if row.get(c) is None]
        if missing:
            raise UserError(f"longbench_v2 row {n}: missing column(s) {missing}; the file needs LongBench v2's "
                            f"columns ({', '.join(COLUMNS)}, domain, sub_domain, difficulty, length)")
        letter = str(row["answer"]).strip().upper()
        if letter not in "ABCD" or len(letter) != 1:
            raise UserError(f"longbench_v2 row {n}: answer {row['answer']!r} is not one of A, B, C, D")
        item_id = str(row["_id"])
        text, prompt_tokens, cut = fitter.fit(row, item_id)
        meta = {key: str(row.get(key) or "unknown") for key in ("domain", "sub_domain", "difficulty", "length")}
        meta["cut_tokens"] = cut
        if prompt_tokens is not None:
            meta["prompt_tokens"] = prompt_tokens
        item = mc.Choice(item_id, str(row["question"]).strip(), [str(row[f"choice_{x}"]).strip() for x in "ABCD"],
                         "ABCD".index(letter), meta)
        samples.append(mc.make_sample(item, opts, content=text))
    return samples


def official_letter(answer: str) -> str | None:
    """The benchmark's own extraction: the first "The correct answer is (X)", else "... is X"."""
    text = (answer or "").replace("*", "")
    for pattern in _OFFICIAL:
        m = pattern.search(text)
        if m:
            return m.group(1)
    return None


def score(sample: Sample, answer: str, cfg) -> Grade:
    """The family's grade (task.letter_reading); the variants `official_extraction` (the benchmark's
    own rule) and `nemo_skills_letters` (the card's tooling's rule on this template)."""
    grade = mc.score(sample, answer, cfg)
    official = official_letter(answer)
    grade.detail["official_letter"] = official
    grade.variants["official_extraction"] = float(official == sample.reference["letter"])
    nemo = read_choice_letter(answer or "", mc.letter_set(cfg), "nemo_skills").letter
    grade.detail["nemo_skills_letter"] = nemo
    grade.variants["nemo_skills_letters"] = float(nemo == sample.reference["letter"])
    return grade


TASK = TaskSpec(load=load, score=score, breakdown_by=("length", "difficulty", "domain"),
                settings=mc.family_settings(STYLES))
