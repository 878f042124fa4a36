"""NeMo-Skills: output-rs<seed>.jsonl (one file per seed = per sample), or the directory holding them."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from evalsuite.errors import UserError
from evalsuite.foreign.rows import (
    QUESTION_FIELDS, ForeignFile, ForeignRow, as_count, as_number, finish_of, first_text, read_jsonl,
    row_ids, wrong_layout)


NEMO_SEED = re.compile(r"output-rs(\d+)\.jsonl$")


def nemo_skills_files(path: Path) -> list[tuple[int, Path]]:
    """(k, file): a directory's output-rs<seed>.jsonl files in seed order (k = rank), else the one
    file given (k = 0)."""
    if path.is_dir():
        found = sorted((int(m.group(1)), p) for p in path.iterdir() if (m := NEMO_SEED.search(p.name)))
        if not found and (path / "output.jsonl").is_file():
            return [(0, path / "output.jsonl")]
        if not found:
            raise UserError(f"{path}: no output-rs<seed>.jsonl (or output.jsonl) here; give NeMo-Skills' "
                            f"eval-results/<benchmark> directory or one of its files")
        return [(k, p) for k, (_, p) in enumerate(found)]
    return [(0, path)]


def _judge_correct(judgement: Any) -> float | None:
    """NeMo-Skills' judge verdict: its judgement text ends with "Judgement: Yes" or "Judgement: No"."""
    if not isinstance(judgement, str):
        return None
    m = re.findall(r"judgement\s*:\s*\**\s*(yes|no)", judgement, re.IGNORECASE)
    return None if not m else float(m[-1].lower() == "yes")


def read_nemo_skills(path: Path) -> ForeignFile:
    rows, empty = [], 0
    for k, file in nemo_skills_files(path):
        for n, row in read_jsonl(file, "nemo_skills"):
            where = f"{file}:{n}"
            if not row:  # NeMo-Skills writes {} for a generation that never finished
                empty += 1
                continue
            if not isinstance(row.get("generation"), str):
                raise wrong_layout(where, "nemo_skills", 'string "generation" field', row)
            verdicts: dict[str, float] = {}
            for name in ("symbolic_correct", "is_correct"):
                if as_number(row.get(name)) is not None:
                    verdicts[name] = as_number(row[name])
            if _judge_correct(row.get("judgement")) is not None:
                verdicts["judge_correct"] = _judge_correct(row["judgement"])
            for name, key in (("prompt_loose", "loose_eval"), ("prompt_strict", "strict_eval")):  # IFBench
                if isinstance(row.get(key), dict) and as_number(row[key].get("follow_all_instructions")) is not None:
                    verdicts[name] = as_number(row[key]["follow_all_instructions"])
            if isinstance(row.get("graded_list"), list) and row["graded_list"]:  # LiveCodeBench
                verdicts["graded_list"] = float(all(bool(x) for x in row["graded_list"]))
            # parse_reasoning keeps the raw output in _full_generation: grade that, split our way
            raw = row.get("_full_generation")
            text, reasoning = (raw, None) if isinstance(raw, str) else (row["generation"], None)
            if not isinstance(raw, str) and isinstance(row.get("reasoning_content"), str):
                reasoning = row["reasoning_content"]
            extracted = row.get("predicted_answer", row.get("completion"))
            rows.append(ForeignRow(where, row_ids(row), first_text(row, QUESTION_FIELDS), k, text, reasoning,
                                   as_count(row.get("num_generated_tokens")), finish_of(row.get("finish_reason")),
                                   None if extracted is None else str(extracted), verdicts,
                                   gold=row.get("expected_answer")))
    # NeMo-Skills keeps its decoding settings in the command that ran, not in these files
    return ForeignFile(rows, empty)
