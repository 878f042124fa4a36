"""A harness's row to our item: by its question text first, by its id where the text is missing or
ambiguous; and whether its reference answer contradicts ours."""
from __future__ import annotations

import os
import re
from typing import Any

from evalsuite.errors import UserError
from evalsuite.foreign.rows import ForeignRow
from evalsuite.types import Sample


def squashed(text: str) -> str:
    return " ".join(str(text).split())


def _common_affixes(texts: list[str]) -> tuple[int, int]:
    """Lengths of the prefix and suffix every prompt shares (the task's template around the question)."""
    if len(texts) < 2:
        return 0, 0
    prefix = len(os.path.commonprefix(texts))
    suffix = len(os.path.commonprefix([t[::-1] for t in texts]))
    shortest = min(len(t) for t in texts)
    return min(prefix, shortest), min(suffix, shortest - min(prefix, shortest))


def text_head(core: str, chars: int = 80) -> str:
    """The opening of an item's question, cut at a word boundary."""
    return core if len(core) <= chars else core[:chars].rsplit(" ", 1)[0]


class ItemIndex:
    """Finds our item for a harness's row: the question text first (harnesses number items their own
    way: an "id" of 1 may be our item 2), the id where the row has no text or the text is ambiguous."""

    def __init__(self, samples: list[Sample]):
        self.by_id = {s.id: s for s in samples}
        prompts = [squashed(s.messages[-1]["content"]) if s.messages else "" for s in samples]
        head, tail = _common_affixes(prompts)
        self.cores = []
        for s, p in zip(samples, prompts):
            core = p[head:len(p) - tail].strip() if len(p) - tail > head else p
            self.cores.append((s.id, core or p, p))

    def find(self, row: ForeignRow) -> str | None:
        if row.question and len(squashed(row.question)) >= 8:
            text = squashed(row.question)
            hits = [sid for sid, core, prompt in self.cores if core in text or text in prompt]
            if not hits:  # their own template around the question (options rendered their way): its opening
                hits = [sid for sid, core, _ in self.cores if len(core) >= 24 and text_head(core) in text]
            if len(hits) == 1:
                return hits[0]
            by_id = [i for i in row.ids if i in hits]
            if len(hits) > 1:
                if len(by_id) >= 1:
                    return by_id[0]
                raise UserError(f"{row.where}: its question matches {len(hits)} items ({', '.join(hits[:4])}); "
                                f"the file's items cannot be told apart by text or id")
            return None
        return next((i for i in row.ids if i in self.by_id), None)


def reference_differs(gold: Any, reference: Any) -> bool | None:
    """Whether the harness's reference answer contradicts ours (None: not comparable)."""
    if gold is None:
        return None
    if isinstance(reference, dict) and "letter" in reference:  # multiple choice: in the harness's own lettering
        letter = _gold_letter(gold)
        return None if letter is None else letter != reference["letter"]
    if isinstance(reference, str):
        from evalsuite.scoring.math import strip_answer_decorations

        norm = lambda x: strip_answer_decorations(str(x)).replace(" ", "").lstrip("0") or "0"  # noqa: E731
        return norm(gold) != norm(reference)
    return None


def _gold_letter(gold: Any) -> str | None:
    letter = re.fullmatch(r"\(?([A-Z])\)?", str(gold).strip())
    return None if letter is None else letter.group(1)
