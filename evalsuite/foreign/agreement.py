"""Our verdicts beside the harness's, item by item, once our scorer has graded: agreement.json, the
summary's figures and report.md's lines."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from evalsuite import store
from evalsuite.rundir import AGREEMENT, FOREIGN, FOREIGN_SOURCE, GENERATIONS, current_scores
from evalsuite.store import generation_digest
from evalsuite.summary import TaskSummary
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


def agreement(task_dir: Path) -> dict | None:
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
                disagreements.append({"item": key[0], "k": key[1] if per == "sample" else None,
                                      "ours_extracted": extracted, "theirs_extracted": theirs_extracted,
                                      "ours": mine, "theirs": value, "where": r.get("where")})
        verdicts.append({"verdict": name, "per": per, "ours_figure": figure, "compared": compared, "agree": agree,
                         "agreement": 100.0 * agree / compared if compared else None,
                         "theirs_mean": 100.0 * sum_theirs / compared if compared else None,
                         "ours_mean": 100.0 * sum_ours / compared if compared else None,
                         "not_scored_by_us": missing, "disagreements": disagreements})
    return {**source, "verdicts": verdicts}


def attach_agreement(task_dir: Path, summary: TaskSummary) -> None:
    """agreement.json in the task directory, and its figures (the first disagreements of each
    verdict) in the summary's section "agreement"."""
    found = agreement(task_dir)
    if found is None:
        return
    store.write_json(task_dir / AGREEMENT, found)
    summary.sections["agreement"] = {**found, "verdicts": [
        {**v, "disagreements": v["disagreements"][:SHOWN_DISAGREEMENTS]} for v in found["verdicts"]]}


def agreement_lines(task: str, found: dict) -> list[str]:
    """report.md's section for one task's agreement with another harness."""
    from evalsuite.tables import markdown_table

    def pct(x: Any) -> str:
        return "-" if x is None else f"{x:.1f}"

    lines = [f"### {task}: {found.get('format')} ({found.get('file')})", "",
             f"{found.get('imported')} generations graded by our scorer"
             + (f"; {found['unmatched']} rows of the file are not items of this run" if found.get("unmatched") else "")
             + (f"; {found['empty']} empty rows (unfinished in the harness)" if found.get("empty") else "")
             + (f"; the harness's reference differs from ours on {len(found['gold_differs'])} items "
                f"({', '.join(g['item'] for g in found['gold_differs'][:5])})" if found.get("gold_differs") else ""), ""]
    if not found.get("verdicts"):
        return lines + ["The file holds no verdicts of the harness to compare with.", ""]
    lines.append(markdown_table(
        ["their verdict", "per", "compared with our", "items compared", "agree", "agreement %", "theirs %", "ours %"],
        [[v["verdict"], v["per"], v["ours_figure"], str(v["compared"]), str(v["agree"]), pct(v["agreement"]),
          pct(v["theirs_mean"]), pct(v["ours_mean"])] for v in found["verdicts"]]))
    for v in found["verdicts"]:
        if v["disagreements"]:
            lines += ["", f"Disagreements on {v['verdict']} ({len(v['disagreements'])} shown):", "",
                      markdown_table(["item", "sample", "our extraction", "their extraction", "ours", "theirs"],
                                     [[d["item"], "-" if d["k"] is None else str(d["k"]), str(d["ours_extracted"]),
                                       str(d["theirs_extracted"]), f"{d['ours']:g}", f"{d['theirs']:g}"]
                                      for d in v["disagreements"]])]
    return lines + [""]
