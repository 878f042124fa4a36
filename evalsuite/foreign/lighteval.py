"""lighteval: details_<task>_<date>.parquet (or .jsonl) from `--save-details`."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evalsuite.errors import UserError
from evalsuite.foreign.rows import (
    QUESTION_FIELDS, VOTING_FILTER, ForeignFile, ForeignRow, as_count, as_number, first_text, read_jsonl,
    row_ids, wrong_layout)


def _plain(value: Any) -> Any:
    """Parquet gives numpy arrays and nested structs: make them lists and dicts."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def lighteval_records(path: Path) -> list[tuple[str, dict]]:
    if path.is_dir():
        files = sorted(path.glob("details_*.parquet")) or sorted(path.glob("details_*.jsonl"))
        if len(files) != 1:
            raise UserError(f"{path}: {len(files)} details_*.parquet files here; give the one of this task")
        path = files[0]
    if path.suffix == ".parquet":
        import pandas as pd

        try:
            frame = pd.read_parquet(path)
        except Exception as e:  # noqa: BLE001 - pyarrow's errors name the byte, not the fix
            raise UserError(f"{path}: not a readable parquet file ({str(e).splitlines()[0][:120]}); give lighteval's "
                            f"details_<task>_<date>.parquet") from None
        return [(f"{path}:row {i}", _plain(r)) for i, r in enumerate(frame.to_dict(orient="records"))]
    return [(f"{path}:{n}", row) for n, row in read_jsonl(path, "lighteval")]


def read_lighteval(path: Path) -> ForeignFile:
    """Two layouts: lighteval <= 0.9 writes flat columns (example/full_prompt, predictions, gold,
    metrics, specifics); later versions write doc / model_response / metric structs. The details
    keep neither the sampling settings nor why a generation stopped (its results file has the former)."""
    out: list[ForeignRow] = []
    settings: dict[str, Any] = {}
    for where, row in lighteval_records(path):
        prompt = None
        if isinstance(row.get("model_response"), dict):
            doc = row.get("doc") if isinstance(row.get("doc"), dict) else {}
            response = row["model_response"]
            texts = response.get("text") or []
            reasonings = response.get("reasonings") or []
            metrics = row.get("metric") or {}
            question = first_text(doc, ("query",)) or first_text(doc, QUESTION_FIELDS)
            gold_index = doc.get("gold_index")
            choices = doc.get("choices") or []
            gold = (choices[gold_index] if isinstance(gold_index, int) and gold_index < len(choices)
                    else choices[gold_index[0]] if isinstance(gold_index, list) and gold_index
                    and isinstance(gold_index[0], int) and gold_index[0] < len(choices) else None)
            specifics = doc.get("specific") or {}
            ids = row_ids(doc) + ([str(doc["id"])] if doc.get("id") is not None else [])
            tokens = response.get("output_tokens")
            tokens = tokens if isinstance(tokens, list) else None
            prompt = response.get("input") if isinstance(response.get("input"), str) else doc.get("query")
            if not settings:
                if as_count(doc.get("generation_size")) is not None:
                    settings["max_tokens"] = doc["generation_size"]
                if isinstance(doc.get("instruction"), str) and doc["instruction"].strip():
                    settings["instruction"] = doc["instruction"]
        elif "predictions" in row:
            texts = row.get("predictions") or []
            reasonings = []
            metrics = row.get("metrics") or {}
            question = first_text(row, ("example", "full_prompt"))
            gold = row.get("gold")
            gold = gold[0] if isinstance(gold, list) and gold else gold
            specifics = row.get("specifics") or {}
            ids = []
            tokens = None
            prompt = row.get("full_prompt") if isinstance(row.get("full_prompt"), str) else None
        else:
            raise wrong_layout(where, "lighteval", '"predictions" column or "model_response" struct', row)
        if isinstance(texts, str):
            texts = [texts]
        if not texts or not all(isinstance(t, str) for t in texts):
            raise UserError(f"{where}: no generated text in its predictions (a loglikelihood task?); only "
                            f"generative tasks have responses to grade")
        if isinstance(metrics, str):  # the jsonl form stores the dict as a JSON string
            try:
                metrics = json.loads(metrics)
            except json.JSONDecodeError:
                metrics = {}
        verdicts = {str(name): as_number(v) for name, v in (metrics or {}).items() if as_number(v) is not None}
        extracted = (specifics or {}).get("extracted_predictions") if isinstance(specifics, dict) else None
        extracted = extracted[0] if isinstance(extracted, list) and extracted else extracted
        for k, text in enumerate(texts):
            reasoning = reasonings[k] if k < len(reasonings) and isinstance(reasonings[k], str) and reasonings[k] else None
            n_tokens = len(tokens[k]) if tokens is not None and k < len(tokens) and isinstance(tokens[k], list) else None
            fr = ForeignRow(f"{where} (prediction {k})", ids, question, k, text, reasoning, n_tokens,
                            extracted=None if extracted is None or len(texts) > 1 else str(extracted), gold=gold,
                            prompt=prompt if isinstance(prompt, str) else None)
            if len(texts) == 1:
                fr.verdicts = dict(verdicts)
            elif k == 0:  # several samples in one row: lighteval's metric (pass@k, maj@n ...) is the item's
                fr.item_verdicts = dict(verdicts)
                fr.voted = {name for name in verdicts if VOTING_FILTER.search(name)}  # maj@n: the voted answer's
            out.append(fr)
    return ForeignFile(out, 0, settings)
