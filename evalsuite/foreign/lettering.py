"""Multiple choice: the harness's own lettering of an item's options, so its letters are read as it
meant them."""
from __future__ import annotations

import re
from pathlib import Path

from evalsuite import store
from evalsuite.errors import UserError
from evalsuite.foreign.matching import squashed, text_head
from evalsuite.foreign.rows import ForeignRow
from evalsuite.rundir import FOREIGN, FOREIGN_SOURCE
from evalsuite.scoring.letters import ALPHABET
from evalsuite.types import Sample


def option_lines(text: str, letters: str) -> list[str] | None:
    """The options of a rendered multiple-choice prompt, one per letter: lines that start "A) ",
    "(A) ", "A. " or "A: ", in letter order, each option running to the next letter's line (the last
    to the end of the text). The last such run is taken (a question may itself hold a line "A. ...").
    None unless every letter has its line."""
    found, end = [], len(text)
    for letter in reversed(letters):
        matches = list(re.compile(rf"^[ \t]*\(?{letter}[).:][ \t]*", re.MULTILINE).finditer(text, 0, end))
        if not matches:
            return None
        found.append(matches[-1])
        end = matches[-1].start()
    found.reverse()
    return [text[m.end():(found[i + 1].start() if i + 1 < len(found) else len(text))].strip()
            for i, m in enumerate(found)]


def _same_option(ours: str, theirs: str, last: bool) -> bool:
    a, b = squashed(ours).casefold(), squashed(theirs).casefold()
    # the last option of a prompt read by option_lines runs on into whatever follows it
    return a == b or (last and bool(a) and bool(b) and (a.startswith(b) or b.startswith(a)))


def harness_order(sample: Sample, row: ForeignRow) -> list[int] | None:
    """The order the harness showed a multiple-choice item's options in, as our `order` is written
    (order[j]: the source option it lettered j), found by each option's text; None where the file
    names no options. A mismatch is a one-line error: its letters could not be read as options."""
    ref = sample.reference
    ours = option_lines(sample.messages[-1]["content"], ALPHABET[:len(ref["order"])]) if sample.messages else None
    theirs = row.options or option_lines(row.prompt or row.question or "", ALPHABET[:len(ref["order"])])
    if not theirs or not ours or len(ours) != len(ref["order"]):
        return None
    if len(theirs) != len(ours):
        raise UserError(f"{row.where}: the harness shows {len(theirs)} options for item {sample.id}, this run "
                        f"{len(ours)}; its letters cannot be read as our options (check task= and data=)")
    mapping: list[int] = []
    for j, text in enumerate(theirs):
        hits = [i for i, mine in enumerate(ours) if _same_option(mine, text, last=max(i, j) == len(ours) - 1)]
        hits = [i for i in hits if i not in mapping]
        if len(hits) != 1:
            raise UserError(f"{row.where}: the harness's option {ALPHABET[j]} ({text_head(squashed(text), 40)!r}) is "
                            f"{'none' if not hits else 'more than one'} of item {sample.id}'s options; its letters "
                            f"cannot be read as options (check task= and data=)")
        mapping.append(hits[0])
    return [int(ref["order"][i]) for i in mapping]


def harness_view(sample: Sample, order: list[int]) -> Sample:
    """A multiple-choice sample as the harness lettered it: its `reference` in the harness's order,
    so a letter in the harness's generation names the option the harness showed under it."""
    import dataclasses

    ref = sample.reference
    correct = int(ref["order"][ALPHABET.index(ref["letter"])])
    return dataclasses.replace(sample, reference={**ref, "letter": ALPHABET[order.index(correct)], "order": order,
                                                  "lettered_by": "the responses file's harness"})


def harness_views(task_dir: Path, samples: list[Sample]) -> list[Sample]:
    """The items as the imported harness's file lettered them (multiple choice), else as they are."""
    path = task_dir / FOREIGN_SOURCE
    if not path.exists() or not (task_dir / FOREIGN).exists():
        return samples
    orders = store.read_json(path, expect=dict).get("option_orders") or {}
    return [harness_view(s, [int(i) for i in orders[s.id]]) if s.id in orders else s for s in samples]
