"""LongBench v2 (THUDM/LongBench-v2, split train): 503 four-option questions over long documents.

A member of the multiple-choice family (tasks/multiple_choice.py) with the benchmark's own prompt:
its zero-shot template, word for word, asking for "The correct answer is (X)". Rows: _id, domain,
sub_domain, difficulty (easy|hard), length (short|medium|long), question, choice_A ... choice_D,
answer (the letter), context.

Contexts run to millions of words, so each is cut in the middle to fit: the rendered prompt (chat
template and system prompt included) must fit the model's window less the answer budget
(`planning.DocumentFitter`: the rule the budget check and the dry run apply), counted with the
model's own tokenizer. As the benchmark's own code does, the head and the tail of the document are
kept; we cut the document alone, never the question after it. `Sample.prompt_tokens` is the exact
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
from evalsuite.planning import DocumentFitter
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


def load(cfg) -> list[Sample]:
    opts = mc.settings(cfg)
    if opts.letters != "ABCD":
        raise UserError(f"task.letters={opts.letters}: LongBench v2 has four options (task.letters=ABCD)")
    rows = load_rows(cfg)
    fitter = DocumentFitter(cfg)
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
        text, prompt_tokens, cut = fitter.fit(lambda context: user_text(row, context), str(row["context"]).strip(), item_id)
        meta = {key: str(row.get(key) or "unknown") for key in ("domain", "sub_domain", "difficulty", "length")}
        meta["cut_tokens"] = cut
        item = mc.Choice(item_id, str(row["question"]).strip(), [str(row[f"choice_{x}"]).strip() for x in "ABCD"],
                         "ABCD".index(letter), meta)
        sample = mc.make_sample(item, opts, content=text)
        sample.prompt_tokens = prompt_tokens
        samples.append(sample)
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
