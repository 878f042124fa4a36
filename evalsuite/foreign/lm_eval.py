"""lm-evaluation-harness: samples_<task>_<date>.jsonl from `--log_samples`."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from evalsuite.errors import UserError
from evalsuite.foreign.rows import (
    QUESTION_FIELDS, VOTING_FILTER, ForeignFile, ForeignRow, as_count, as_number, first_text, read_jsonl,
    row_ids, wrong_layout)


LM_EVAL_BOOKKEEPING = {"doc_id", "doc", "target", "arguments", "resps", "filtered_resps", "filter", "metrics",
                       "doc_hash", "prompt_hash", "target_hash"}


def _lm_eval_request(row: dict) -> tuple[str | None, dict]:
    """The prompt lm-eval sent and its generation kwargs: arguments {"gen_args_0": {"arg_0": prompt,
    "arg_1": kwargs}} (0.4.3+) or [[prompt, kwargs]]."""
    args = row.get("arguments")
    first: Any = None
    if isinstance(args, dict) and args:
        first = next(iter(args.values()))
        first = [first.get("arg_0"), first.get("arg_1")] if isinstance(first, dict) else None
    elif isinstance(args, list) and args and isinstance(args[0], list):
        first = args[0]
    if not first:
        return None, {}
    prompt = first[0] if isinstance(first[0], str) else None
    kwargs = first[1] if len(first) > 1 and isinstance(first[1], dict) else {}
    return prompt, kwargs


def lm_eval_settings(kwargs: dict) -> dict[str, Any]:
    """lm-eval's generation kwargs in our names: greedy (do_sample false) is temperature 0."""
    out: dict[str, Any] = {}
    if kwargs.get("do_sample") is False:
        out["temperature"] = 0.0
    elif as_number(kwargs.get("temperature")) is not None:
        out["temperature"] = as_number(kwargs["temperature"])
    if as_number(kwargs.get("top_p")) is not None:
        out["top_p"] = as_number(kwargs["top_p"])
    for name in ("max_gen_toks", "max_new_tokens"):
        if as_count(kwargs.get(name)) is not None:
            out["max_tokens"] = kwargs[name]
    if isinstance(kwargs.get("until"), list):
        out["stop"] = [str(u) for u in kwargs["until"]]
    return out


def _lm_eval_options(doc: dict) -> list[str] | None:
    """A multiple-choice document's options in the order lm-eval lettered them: its "choices" (or
    "options") list, else choice1, choice2, ... (lm-eval's GPQA)."""
    for name in ("choices", "options"):
        if isinstance(doc.get(name), list) and doc[name] and all(isinstance(o, str) for o in doc[name]):
            return list(doc[name])
    numbered = []
    while isinstance(doc.get(f"choice{len(numbered) + 1}"), str):
        numbered.append(doc[f"choice{len(numbered) + 1}"])
    return numbered or None


def read_lm_eval(path: Path) -> ForeignFile:
    """One row per (document, filter). With repeats, resps[0] holds every sample; the filter's
    answer is then one string (its pipeline ends in take_first: the first sample's, or, after a
    majority_vote, the item's voted answer) or one per sample."""
    if path.is_dir():
        files = sorted(path.glob("samples_*.jsonl"))
        if len(files) != 1:
            raise UserError(f"{path}: {len(files)} samples_*.jsonl files here; give the one of this task "
                            f"(lm-eval writes one per task with --log_samples)")
        path = files[0]
    by_doc: dict[Any, list[ForeignRow]] = {}
    out: list[ForeignRow] = []
    settings: dict[str, Any] = {}
    for n, row in read_jsonl(path, "lm_eval"):
        where = f"{path}:{n}"
        resps = row.get("resps")
        if "doc_id" not in row or not isinstance(resps, list) or not resps:
            raise wrong_layout(where, "lm_eval", '"doc_id" and "resps" (lm-eval --log_samples)', row)
        texts = resps[0] if isinstance(resps[0], list) else resps
        if not texts or not all(isinstance(t, str) for t in texts):
            raise UserError(f"{where}: resps[0] holds no generated text (a loglikelihood task?); only "
                            f"generate_until tasks have responses to grade")
        filt = str(row.get("filter") or "none")
        names = [m for m in (row.get("metrics") or []) if isinstance(m, str)]
        if not names:
            names = [key for key, v in row.items() if key not in LM_EVAL_BOOKKEEPING and as_number(v) is not None]
        verdicts = {(name if filt == "none" else f"{name},{filt}"): as_number(row[name])
                    for name in names if as_number(row.get(name)) is not None}
        filtered = row.get("filtered_resps")
        filtered = filtered[0] if isinstance(filtered, list) and filtered else None
        doc = row.get("doc") if isinstance(row.get("doc"), dict) else {}
        if row["doc_id"] not in by_doc:
            prompt, kwargs = _lm_eval_request(row)
            if not settings:
                settings = lm_eval_settings(kwargs)
            question = first_text(doc, QUESTION_FIELDS) or prompt
            by_doc[row["doc_id"]] = [ForeignRow(f"{where} (response {k})", row_ids(doc), question, k, text, None,
                                                gold=row.get("target"), prompt=prompt, options=_lm_eval_options(doc))
                                     for k, text in enumerate(texts)]
            out += by_doc[row["doc_id"]]
        rows = by_doc[row["doc_id"]]
        if isinstance(filtered, list) and len(filtered) == len(rows):  # one answer per sample, one verdict per document
            for fr, answer in zip(rows, filtered):
                fr.extracted_by.update({name: None if answer is None else str(answer) for name in verdicts})
            rows[0].item_verdicts.update(verdicts)
        elif len(rows) == 1 or not VOTING_FILTER.search(filt):
            # the verdict is on one answer: the only sample's, or the first's (take_first)
            rows[0].verdicts.update(verdicts)
            rows[0].extracted_by.update({name: filtered if isinstance(filtered, str) else None for name in verdicts})
        else:  # the filter voted among the samples (majority_vote, then take_first): the item's answer
            rows[0].item_verdicts.update(verdicts)
            rows[0].voted.update(verdicts)
            rows[0].extracted_by.update({name: filtered for name in verdicts})
    return ForeignFile(out, 0, settings)
