"""Our verdicts beside the harness's, item by item, once our scorer has graded: agreement.json, the
summary's figures and the report's section."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from evalsuite import store
from evalsuite.rundir import AGREEMENT, FOREIGN, FOREIGN_SOURCE, GENERATIONS, current_scores
from evalsuite.store import generation_digest
from evalsuite.summary import Agreement, Disagreement, TaskSummary, VerdictAgreement
from evalsuite.tables import Paragraph, Subheading, Table
from evalsuite.types import Score


SHOWN_DISAGREEMENTS = 20  # per verdict in summary.json and report.md; agreement.json has them all


def _verdict_pass(value: float) -> bool:
    return value >= 0.5


def _majority(scores: list[Score]) -> Score:
    """The score of the answer most of an item's samples gave (by our extraction; the first sample
    to give it on a tie; no answer counts only when no sample has one)."""
    answered = [s for s in scores if s.extracted is not None] or scores
    counts: dict[Any, int] = {}
    for s in answered:
        counts[s.extracted] = counts.get(s.extracted, 0) + 1
    best = max(counts.values())
    return next(s for s in answered if counts[s.extracted] == best)


def agreement(task_dir: Path) -> Agreement | None:
    """Our verdicts beside the harness's, per verdict it gave: how many agree, and every
    disagreement (item, sample, both extractions, both verdicts). None when nothing was imported."""

    source_path = task_dir / FOREIGN_SOURCE
    if not (task_dir / FOREIGN).exists() or not source_path.exists():
        return None
    source = store.read_json(source_path, expect=dict)
    ours = current_scores(task_dir)
    gens = store.read_generations(task_dir / GENERATIONS, repair=False)
    # only the harness's rows whose text is still the stored generation (a later run may have replaced it)
    theirs = [r for r in store.read_records(task_dir / FOREIGN, repair=False)
              if (g := gens.get((str(r["sample_id"]), int(r["k"])))) is not None
              and generation_digest(g) == r.get("generation")]

    def our_value(score: Score, name: str) -> tuple[float, str]:
        return (score.variants[name], name) if name in score.variants else (float(score.value), "headline")

    names = sorted({n for r in theirs for n in r.get("verdicts") or {}} | {n for r in theirs for n in r.get("item_verdicts") or {}})
    verdicts = []
    for name in names:
        compared = agree = missing = 0
        sum_theirs = sum_ours = 0.0
        figure, per = "headline", "sample"
        disagreements = []
        for r in theirs:
            key = (str(r["sample_id"]), int(r["k"]))
            if name in (r.get("verdicts") or {}):
                value = float(r["verdicts"][name])
                score = ours.get(key)
                if score is None:
                    missing += 1
                    continue
                mine, figure = our_value(score, name)
                same = _verdict_pass(mine) == _verdict_pass(value)
                extracted = score.extracted
            elif name in (r.get("item_verdicts") or {}):  # the harness scored the item over all its samples
                value = float(r["item_verdicts"][name])
                scores = [s for (sid, _), s in sorted(ours.items()) if sid == key[0]]
                if not scores:
                    missing += 1
                    continue
                if name in (r.get("voted") or []):  # its verdict on the answer most samples gave: ours the same way
                    per = "item (majority answer)"
                    score = _majority(scores)
                    (mine, figure), extracted = our_value(score, name), score.extracted
                    same = _verdict_pass(mine) == _verdict_pass(value)
                else:
                    per = "item"
                    values = [our_value(s, name) for s in scores]
                    mine, figure = sum(v for v, _ in values) / len(values), values[0][1]
                    same = abs(mine - value) < 1e-6
                    extracted = None
            else:
                continue
            compared += 1
            agree += same
            sum_theirs += value
            sum_ours += mine
            if not same:
                theirs_extracted = (r.get("extracted_by") or {}).get(name, r.get("extracted"))
                disagreements.append(Disagreement(key[0], key[1] if per == "sample" else None, extracted,
                                                  theirs_extracted, mine, value, r.get("where")))
        verdicts.append(VerdictAgreement(
            verdict=name, per=per, ours_figure=figure, compared=compared, agree=agree,
            agreement=100.0 * agree / compared if compared else None,
            theirs_mean=100.0 * sum_theirs / compared if compared else None,
            ours_mean=100.0 * sum_ours / compared if compared else None,
            not_scored_by_us=missing, disagreements=disagreements))
    return Agreement(format=str(source.get("format")), file=str(source.get("file")), rows=int(source.get("rows") or 0),
                     imported=int(source.get("imported") or 0), unmatched=int(source.get("unmatched") or 0),
                     empty=int(source.get("empty") or 0), gold_differs=list(source.get("gold_differs") or []),
                     made_by=source.get("made_by"), verdicts=verdicts)


def attach_agreement(task_dir: Path, summary: TaskSummary) -> None:
    """agreement.json in the task directory, and its figures (the first disagreements of each
    verdict) in the summary's field `agreement`."""
    found = agreement(task_dir)
    if found is None:
        return
    store.write_json(task_dir / AGREEMENT, dataclasses.asdict(found))
    summary.agreement = dataclasses.replace(found, verdicts=[
        dataclasses.replace(v, disagreements=v.disagreements[:SHOWN_DISAGREEMENTS]) for v in found.verdicts])


def agreement_blocks(task: str, found: Agreement) -> list[Subheading | Paragraph | Table]:
    """The report's part of the agreement section for one task's agreement with another harness."""
    def pct(x: Any) -> str:
        return "-" if x is None else f"{x:.1f}"

    blocks: list[Subheading | Paragraph | Table] = [
        Subheading(f"{task}: {found.format} ({found.file})"),
        Paragraph([f"{found.imported} generations graded by our scorer"
                   + (f"; {found.unmatched} rows of the file are not items of this run" if found.unmatched else "")
                   + (f"; {found.empty} empty rows (unfinished in the harness)" if found.empty else "")
                   + (f"; the harness's reference differs from ours on {len(found.gold_differs)} items "
                      f"({', '.join(g['item'] for g in found.gold_differs[:5])})" if found.gold_differs else "")])]
    if not found.verdicts:
        return blocks + [Paragraph(["The file holds no verdicts of the harness to compare with."])]
    blocks.append(Table(
        ["their verdict", "per", "compared with our", "items compared", "agree", "agreement %", "theirs %", "ours %"],
        [[v.verdict, v.per, v.ours_figure, str(v.compared), str(v.agree), pct(v.agreement),
          pct(v.theirs_mean), pct(v.ours_mean)] for v in found.verdicts]))
    for v in found.verdicts:
        if v.disagreements:
            blocks += [Paragraph([f"Disagreements on {v.verdict} ({len(v.disagreements)} shown):"]),
                       Table(["item", "sample", "our extraction", "their extraction", "ours", "theirs"],
                             [[d.item, "-" if d.k is None else str(d.k), str(d.ours_extracted),
                               str(d.theirs_extracted), f"{d.ours:g}", f"{d.theirs:g}"]
                              for d in v.disagreements])]
    return blocks
