"""Other harnesses' own output files as responses, graded by our scorer beside their own verdicts.

    evalsuite task=aime25 stage=score responses=eval-results/aime25 responses_format=nemo_skills

Each reader turns one harness's file into `ForeignRow`s: the item (matched to ours by its question
text, else its id), the sample index, the generation (raw where the harness kept it, so our own
split at think_end applies; its separated reasoning where it only kept that), and the harness's own
extraction and verdicts. The generations go into the run's generations.jsonl (as `responses=FILE`
does for our own jsonl), the harness's side into <task>/foreign.jsonl; once our scorer has graded
them, `attach_agreement` compares the two item by item and writes <task>/agreement.json.

The layouts (docs/foreign_responses.md has the fields each reader takes):
  nemo_skills  output-rs<seed>.jsonl (one file per seed = per sample), or the directory holding them
  lm_eval      samples_<task>_<date>.jsonl from `--log_samples`
  lighteval    details_<task>_<date>.parquet (or .jsonl) from `--save-details`
  inspect      an inspect_ai log, .eval (zip) or .json
"""
from __future__ import annotations

import json
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from omegaconf import DictConfig, OmegaConf

from evalsuite import store
from evalsuite.store import generation_digest
from evalsuite.errors import UserError
from evalsuite.rundir import AGREEMENT, FOREIGN, FOREIGN_SOURCE, GENERATIONS, MANIFEST, current_scores
from evalsuite.summary import TaskSummary
from evalsuite.types import FINISH_UNKNOWN, Generation, Sample, to_dict

FORMATS = ("nemo_skills", "lm_eval", "lighteval", "inspect")
SHOWN_DISAGREEMENTS = 20  # per verdict in summary.json and report.md; agreement.json has them all


@dataclass
class ForeignRow:
    """One generation of another harness, with what that harness said about it."""

    where: str  # file:line (or file:sample) for error messages and the agreement file
    ids: list[str]  # the harness's own ids for the item (tried after the question text)
    question: str | None  # the item's question/prompt text as the harness stored it
    k: int
    text: str
    reasoning: str | None = None  # None: `text` is raw output (our split applies)
    tokens: int | None = None  # None: the file does not say
    finish_reason: str | None = None  # "stop" | "length"; None: the file does not say
    extracted: str | None = None  # the harness's own extraction of the answer
    verdicts: dict[str, float] = field(default_factory=dict)  # its verdicts on this sample
    item_verdicts: dict[str, float] = field(default_factory=dict)  # its verdicts on the whole item (all k)
    # its extraction under each verdict where they differ (lm-eval: one per filter)
    extracted_by: dict[str, str | None] = field(default_factory=dict)
    # item verdicts on one answer the harness chose among the samples (a majority-vote filter)
    voted: set[str] = field(default_factory=set)
    gold: Any = None  # the harness's reference answer, checked against ours
    prompt: str | None = None  # the whole prompt the harness sent, where its file keeps it
    options: list[str] | None = None  # a multiple-choice item's option texts in the order the harness lettered them


@dataclass
class ForeignFile:
    """A harness's file read: its rows, and what it says about how they were made."""

    rows: list[ForeignRow]
    empty: int = 0  # rows of generations that never finished
    # decoding and prompt as the file states them (temperature, top_p, max_tokens, system_prompt,
    # prompt_template, model, ...); a key the file does not state is absent: unknown, never a default
    settings: dict[str, Any] = field(default_factory=dict)


def responses_format(cfg: DictConfig) -> str | None:
    name = cfg.get("responses_format")
    if name is None or str(name).strip() in ("", "evalsuite"):
        return None
    if str(name) not in FORMATS:
        raise UserError(f"unknown responses_format {name!r}; choose one of: {', '.join(FORMATS)} "
                        f"(or drop it for evalsuite's own jsonl)")
    return str(name)


# ---------------------------------------------------------------- shared reading helpers

def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)) and value == value:
        return float(value)
    return None


def _read_jsonl(path: Path, fmt: str) -> list[tuple[int, dict]]:
    rows = []
    try:
        lines = store.jsonl_lines(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise UserError(f"{path}: not UTF-8 text; responses_format={fmt} reads the harness's .jsonl file") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            raise UserError(f"{path}:{n}: not valid JSON; responses_format={fmt} reads one JSON object per line") from None
        if not isinstance(row, dict):
            raise UserError(f"{path}:{n}: a JSON {type(row).__name__}, not an object; this is not a {fmt} file")
        rows.append((n, row))
    return rows


def guess_format(row: Any) -> str | None:
    """Which harness's layout a record looks like, for the error that names the right format."""
    if not isinstance(row, dict):
        return None
    if "resps" in row and "doc_id" in row:
        return "lm_eval"
    if "generation" in row and ({"expected_answer", "symbolic_correct", "predicted_answer"} & set(row)):
        return "nemo_skills"
    if "samples" in row and "eval" in row or {"epoch", "scores"} <= set(row):
        return "inspect"
    if "predictions" in row or "model_response" in row:
        return "lighteval"
    if "response" in row and ("id" in row or "prompt" in row):
        return "evalsuite"
    return None


def _wrong_layout(where: str, fmt: str, missing: str, row: Any) -> UserError:
    guess = guess_format(row)
    hint = ("; it looks like evalsuite's own jsonl: drop responses_format" if guess == "evalsuite" else
            f"; it looks like responses_format={guess}" if guess and guess != fmt else "")
    return UserError(f"{where}: no {missing}; this is not a {fmt} file{hint}")


def _text_field(row: dict, names: Iterable[str]) -> str | None:
    for name in names:
        value = row.get(name)
        if isinstance(value, str) and value.strip():
            return value
    return None


QUESTION_FIELDS = ("problem", "question", "Question", "prompt", "question_content", "query", "input")
ID_FIELDS = ("id", "problem_idx", "key", "question_id", "task_id", "Record ID", "record_id")


def _ids(row: dict) -> list[str]:
    return [str(row[name]) for name in ID_FIELDS if row.get(name) is not None]


# ---------------------------------------------------------------- NeMo-Skills

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


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _finish(value: Any) -> str | None:
    """A harness's stop reason in our two words; None where it says nothing we can read."""
    if not isinstance(value, str):
        return None
    value = value.strip().lower()
    return ("length" if value in ("length", "max_tokens", "model_length", "max_length") else
            "stop" if value in ("stop", "eos", "end_turn", "stop_sequence", "tool_calls") else None)


def read_nemo_skills(path: Path) -> ForeignFile:
    rows, empty = [], 0
    for k, file in nemo_skills_files(path):
        for n, row in _read_jsonl(file, "nemo_skills"):
            where = f"{file}:{n}"
            if not row:  # NeMo-Skills writes {} for a generation that never finished
                empty += 1
                continue
            if not isinstance(row.get("generation"), str):
                raise _wrong_layout(where, "nemo_skills", 'string "generation" field', row)
            verdicts: dict[str, float] = {}
            for name in ("symbolic_correct", "is_correct"):
                if _number(row.get(name)) is not None:
                    verdicts[name] = _number(row[name])
            if _judge_correct(row.get("judgement")) is not None:
                verdicts["judge_correct"] = _judge_correct(row["judgement"])
            for name, key in (("prompt_loose", "loose_eval"), ("prompt_strict", "strict_eval")):  # IFBench
                if isinstance(row.get(key), dict) and _number(row[key].get("follow_all_instructions")) is not None:
                    verdicts[name] = _number(row[key]["follow_all_instructions"])
            if isinstance(row.get("graded_list"), list) and row["graded_list"]:  # LiveCodeBench
                verdicts["graded_list"] = float(all(bool(x) for x in row["graded_list"]))
            # parse_reasoning keeps the raw output in _full_generation: grade that, split our way
            raw = row.get("_full_generation")
            text, reasoning = (raw, None) if isinstance(raw, str) else (row["generation"], None)
            if not isinstance(raw, str) and isinstance(row.get("reasoning_content"), str):
                reasoning = row["reasoning_content"]
            extracted = row.get("predicted_answer", row.get("completion"))
            rows.append(ForeignRow(where, _ids(row), _text_field(row, QUESTION_FIELDS), k, text, reasoning,
                                   _count(row.get("num_generated_tokens")), _finish(row.get("finish_reason")),
                                   None if extracted is None else str(extracted), verdicts,
                                   gold=row.get("expected_answer")))
    # NeMo-Skills keeps its decoding settings in the command that ran, not in these files
    return ForeignFile(rows, empty)


# ---------------------------------------------------------------- lm-evaluation-harness

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
    elif _number(kwargs.get("temperature")) is not None:
        out["temperature"] = _number(kwargs["temperature"])
    if _number(kwargs.get("top_p")) is not None:
        out["top_p"] = _number(kwargs["top_p"])
    for name in ("max_gen_toks", "max_new_tokens"):
        if _count(kwargs.get(name)) is not None:
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


# lm-eval's self-consistency filters (majority_vote) are named for it ("maj@64", "maj@8"), as are
# lighteval's majority metrics ("maj@4")
VOTING_FILTER = re.compile(r"maj|vote", re.IGNORECASE)


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
    for n, row in _read_jsonl(path, "lm_eval"):
        where = f"{path}:{n}"
        resps = row.get("resps")
        if "doc_id" not in row or not isinstance(resps, list) or not resps:
            raise _wrong_layout(where, "lm_eval", '"doc_id" and "resps" (lm-eval --log_samples)', row)
        texts = resps[0] if isinstance(resps[0], list) else resps
        if not texts or not all(isinstance(t, str) for t in texts):
            raise UserError(f"{where}: resps[0] holds no generated text (a loglikelihood task?); only "
                            f"generate_until tasks have responses to grade")
        filt = str(row.get("filter") or "none")
        names = [m for m in (row.get("metrics") or []) if isinstance(m, str)]
        if not names:
            names = [key for key, v in row.items() if key not in LM_EVAL_BOOKKEEPING and _number(v) is not None]
        verdicts = {(name if filt == "none" else f"{name},{filt}"): _number(row[name])
                    for name in names if _number(row.get(name)) is not None}
        filtered = row.get("filtered_resps")
        filtered = filtered[0] if isinstance(filtered, list) and filtered else None
        doc = row.get("doc") if isinstance(row.get("doc"), dict) else {}
        if row["doc_id"] not in by_doc:
            prompt, kwargs = _lm_eval_request(row)
            if not settings:
                settings = lm_eval_settings(kwargs)
            question = _text_field(doc, QUESTION_FIELDS) or prompt
            by_doc[row["doc_id"]] = [ForeignRow(f"{where} (response {k})", _ids(doc), question, k, text, None,
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


# ---------------------------------------------------------------- lighteval

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
    return [(f"{path}:{n}", row) for n, row in _read_jsonl(path, "lighteval")]


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
            question = _text_field(doc, ("query",)) or _text_field(doc, QUESTION_FIELDS)
            gold_index = doc.get("gold_index")
            choices = doc.get("choices") or []
            gold = (choices[gold_index] if isinstance(gold_index, int) and gold_index < len(choices)
                    else choices[gold_index[0]] if isinstance(gold_index, list) and gold_index
                    and isinstance(gold_index[0], int) and gold_index[0] < len(choices) else None)
            specifics = doc.get("specific") or {}
            ids = _ids(doc) + ([str(doc["id"])] if doc.get("id") is not None else [])
            tokens = response.get("output_tokens")
            tokens = tokens if isinstance(tokens, list) else None
            prompt = response.get("input") if isinstance(response.get("input"), str) else doc.get("query")
            if not settings:
                if _count(doc.get("generation_size")) is not None:
                    settings["max_tokens"] = doc["generation_size"]
                if isinstance(doc.get("instruction"), str) and doc["instruction"].strip():
                    settings["instruction"] = doc["instruction"]
        elif "predictions" in row:
            texts = row.get("predictions") or []
            reasonings = []
            metrics = row.get("metrics") or {}
            question = _text_field(row, ("example", "full_prompt"))
            gold = row.get("gold")
            gold = gold[0] if isinstance(gold, list) and gold else gold
            specifics = row.get("specifics") or {}
            ids = []
            tokens = None
            prompt = row.get("full_prompt") if isinstance(row.get("full_prompt"), str) else None
        else:
            raise _wrong_layout(where, "lighteval", '"predictions" column or "model_response" struct', row)
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
        verdicts = {str(name): _number(v) for name, v in (metrics or {}).items() if _number(v) is not None}
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


# ---------------------------------------------------------------- inspect_ai

INSPECT_VALUES = {"C": 1.0, "I": 0.0, "P": 0.5, "N": 0.0}  # CORRECT, INCORRECT, PARTIAL, NOANSWER


ZIP_ZSTD = 93  # the zip compression method inspect_ai writes; zipfile reads it only from Python 3.14


def _zip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, raw: Any) -> bytes:
    """One member's bytes. inspect_ai >= 0.3.1xx compresses members with zstd, which the standard
    library's zipfile cannot read before Python 3.14: those are read from the archive's own bytes
    (`raw`, the open file) and decompressed with the zstandard package, checked by the member's CRC."""
    if info.compress_type != ZIP_ZSTD:
        return archive.read(info)
    import zlib

    import zstandard

    raw.seek(info.header_offset)
    head = raw.read(30)
    if len(head) < 30 or head[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"no local header for {info.filename}")
    name_len, extra_len = int.from_bytes(head[26:28], "little"), int.from_bytes(head[28:30], "little")
    raw.seek(info.header_offset + 30 + name_len + extra_len)
    reader = zstandard.ZstdDecompressor().stream_reader(raw.read(info.compress_size))
    chunks, size = [], 0
    while size <= info.file_size:  # the size the archive declares, and no more: a bomb stops here
        chunk = reader.read(min(1 << 20, info.file_size + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    data = b"".join(chunks)
    if len(data) != info.file_size or zlib.crc32(data) != info.CRC:
        raise zipfile.BadZipFile(f"{info.filename} does not decompress to its declared size and CRC")
    return data


def _resolve_attachments(value: Any, attachments: dict) -> Any:
    """inspect_ai stores long texts once, in the sample's "attachments", and writes
    "attachment://<hash>" where they appear."""
    if isinstance(value, str) and value.startswith("attachment://"):
        found = attachments.get(value[len("attachment://"):])
        return found if isinstance(found, str) else value
    if isinstance(value, list):
        return [_resolve_attachments(v, attachments) for v in value]
    if isinstance(value, dict):
        return {k: _resolve_attachments(v, attachments) for k, v in value.items()}
    return value


def inspect_log(path: Path) -> tuple[dict, list[tuple[str, dict]]]:
    """The header and the samples of an inspect_ai log: a .eval archive (header.json and
    samples/<id>_epoch_<n>.json members, deflate or zstd) or a .json log (its "samples" list)."""
    if path.suffix == ".eval" or zipfile.is_zipfile(path):
        try:
            with path.open("rb") as raw, zipfile.ZipFile(raw) as z:
                infos = {i.filename: i for i in z.infolist()}
                names = sorted(n for n in infos if n.startswith("samples/") and n.endswith(".json"))
                if not names:
                    raise UserError(f"{path}: no samples/ in this .eval archive; was the eval run with "
                                    f"--no-log-samples? Samples are needed to grade")
                header = json.loads(_zip_member(z, infos["header.json"], raw)) if "header.json" in infos else {}
                samples = [(f"{path}:{n}", json.loads(_zip_member(z, infos[n], raw).decode("utf-8"))) for n in names]
        except UserError:
            raise
        except Exception as e:  # noqa: BLE001 - zipfile, zstandard and json each fail their own way
            raise UserError(f"{path}: not a readable inspect .eval archive ({type(e).__name__}: "
                            f"{str(e).splitlines()[0][:100] if str(e) else 'unreadable'}); give the log as inspect "
                            f"wrote it, or convert it with `inspect log convert --to json`") from None
        return (header if isinstance(header, dict) else {}), samples
    try:
        log = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        first = store.jsonl_lines(path.read_text(encoding="utf-8", errors="replace"))[:1]
        guess = None
        try:
            guess = guess_format(json.loads(first[0])) if first else None
        except json.JSONDecodeError:
            pass
        hint = f"; it looks like responses_format={guess}" if guess and guess != "inspect" else ""
        raise UserError(f"{path}: not an inspect_ai log (.eval archive or one JSON document){hint}") from None
    if not isinstance(log, dict) or not isinstance(log.get("samples"), list):
        raise _wrong_layout(str(path), "inspect", '"samples" list (an inspect_ai log with samples)', log)
    return log, [(f"{path}:samples[{i}]", s) for i, s in enumerate(log["samples"])]


def _content_parts(content: Any) -> tuple[str, str | None]:
    """(text, reasoning) of a message's content: a string, or a list of parts where
    {"type": "reasoning", "reasoning": ...} is the thinking and {"type": "text", "text": ...} the answer."""
    if isinstance(content, str):
        return content, None
    texts, thoughts = [], []
    for part in content if isinstance(content, list) else []:
        if isinstance(part, dict) and part.get("type") == "reasoning" and isinstance(part.get("reasoning"), str):
            thoughts.append(part["reasoning"])
        elif isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
    return "".join(texts), ("\n".join(thoughts) if thoughts else None)


def _inspect_input(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # chat messages: the last user turn
        for message in reversed(value):
            if isinstance(message, dict) and message.get("role") == "user":
                return _content_parts(message.get("content"))[0]
    return None


def inspect_settings(header: dict) -> dict[str, Any]:
    """The log header's decoding (eval.model_generate_config, else plan.config) and its prompt
    steps (system_message and prompt_template solvers' templates)."""
    header_eval = header.get("eval") if isinstance(header.get("eval"), dict) else {}
    plan = header.get("plan") if isinstance(header.get("plan"), dict) else {}
    config = header_eval.get("model_generate_config") or plan.get("config") or {}
    out: dict[str, Any] = {}
    if isinstance(header_eval.get("model"), str):
        out["model"] = header_eval["model"]
    for name in ("temperature", "top_p", "max_tokens"):
        if isinstance(config, dict) and _number(config.get(name)) is not None:
            out[name] = _number(config[name])
    for step in plan.get("steps") or []:
        params = step.get("params") if isinstance(step, dict) and isinstance(step.get("params"), dict) else {}
        if isinstance(params.get("template"), str):
            key = {"system_message": "system_prompt", "prompt_template": "prompt_template"}.get(step.get("solver"))
            if key and key not in out:
                out[key] = params["template"]
    return out


def _inspect_messages(sample: dict) -> tuple[str | None, str | None]:
    """(system prompt, user prompt) of the conversation as the harness sent it."""
    system = user = None
    for message in sample.get("messages") or []:
        if not isinstance(message, dict):
            continue
        if message.get("role") == "system" and system is None:
            system = _content_parts(message.get("content"))[0]
        elif message.get("role") == "user":
            user = _content_parts(message.get("content"))[0]
        elif message.get("role") == "assistant":
            break
    return system, user


def read_inspect(path: Path) -> ForeignFile:
    header, samples = inspect_log(path)
    settings = inspect_settings(header)
    out = []
    for where, sample in samples:
        if not isinstance(sample, dict) or "id" not in sample or not isinstance(sample.get("output"), dict):
            raise _wrong_layout(where, "inspect", 'sample "id" and "output"', sample)
        if isinstance(sample.get("attachments"), dict):
            sample = _resolve_attachments(sample, sample["attachments"])
        output = sample["output"]
        choices = output.get("choices") or []
        message = choices[0].get("message") if choices and isinstance(choices[0], dict) else None
        if isinstance(message, dict):
            text, reasoning = _content_parts(message.get("content"))
        elif isinstance(output.get("completion"), str):
            text, reasoning = output["completion"], None
        else:
            raise _wrong_layout(where, "inspect", "output.choices[0].message or output.completion", sample)
        stop = choices[0].get("stop_reason") if choices and isinstance(choices[0], dict) else None
        usage = output.get("usage") if isinstance(output.get("usage"), dict) else {}
        verdicts, extracted = {}, None
        for name, score in (sample.get("scores") or {}).items():
            if not isinstance(score, dict):
                continue
            value = score.get("value")
            number = INSPECT_VALUES.get(value) if isinstance(value, str) else _number(value)
            if number is not None:
                verdicts[str(name)] = number
            if extracted is None and score.get("answer") is not None:
                extracted = str(score["answer"])
        epoch = sample.get("epoch", 1)
        if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 1:
            raise UserError(f"{where}: epoch {epoch!r} is not a positive integer")
        target = sample.get("target")
        target = target[0] if isinstance(target, list) and target else target
        system, prompt = _inspect_messages(sample)
        if system is not None and "system_prompt" not in settings:
            settings["system_prompt"] = system
        options = sample.get("choices")
        out.append(ForeignRow(where, [str(sample["id"])], _inspect_input(sample.get("input")), epoch - 1, text,
                              reasoning, _count(usage.get("output_tokens")), _finish(stop), extracted, verdicts,
                              gold=target, prompt=prompt,
                              options=options if isinstance(options, list) and all(isinstance(o, str) for o in options) else None))
    return ForeignFile(out, 0, settings)


READERS: dict[str, Callable[[Path], ForeignFile]] = {
    "nemo_skills": read_nemo_skills, "lm_eval": read_lm_eval, "lighteval": read_lighteval, "inspect": read_inspect}


# ---------------------------------------------------------------- matching rows to our items

def _squash(text: str) -> str:
    return " ".join(str(text).split())


def _common_affixes(texts: list[str]) -> tuple[int, int]:
    """Lengths of the prefix and suffix every prompt shares (the task's template around the question)."""
    if len(texts) < 2:
        return 0, 0
    prefix = len(os.path.commonprefix(texts))
    suffix = len(os.path.commonprefix([t[::-1] for t in texts]))
    shortest = min(len(t) for t in texts)
    return min(prefix, shortest), min(suffix, shortest - min(prefix, shortest))


def _head(core: str, chars: int = 80) -> str:
    """The opening of an item's question, cut at a word boundary."""
    return core if len(core) <= chars else core[:chars].rsplit(" ", 1)[0]


class ItemIndex:
    """Finds our item for a harness's row: the question text first (harnesses number items their own
    way: an "id" of 1 may be our item 2), the id where the row has no text or the text is ambiguous."""

    def __init__(self, samples: list[Sample]):
        self.by_id = {s.id: s for s in samples}
        prompts = [_squash(s.messages[-1]["content"]) if s.messages else "" for s in samples]
        head, tail = _common_affixes(prompts)
        self.cores = []
        for s, p in zip(samples, prompts):
            core = p[head:len(p) - tail].strip() if len(p) - tail > head else p
            self.cores.append((s.id, core or p, p))

    def find(self, row: ForeignRow) -> str | None:
        if row.question and len(_squash(row.question)) >= 8:
            text = _squash(row.question)
            hits = [sid for sid, core, prompt in self.cores if core in text or text in prompt]
            if not hits:  # their own template around the question (options rendered their way): its opening
                hits = [sid for sid, core, _ in self.cores if len(core) >= 24 and _head(core) in text]
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


def _gold_differs(gold: Any, reference: Any) -> bool | None:
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


# ---------------------------------------------------------------- multiple choice: the harness's lettering

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


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
    a, b = _squash(ours).casefold(), _squash(theirs).casefold()
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
            raise UserError(f"{row.where}: the harness's option {ALPHABET[j]} ({_head(_squash(text), 40)!r}) is "
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


# ---------------------------------------------------------------- what the file says about its run

# our prompt asks for the answer in one of these forms; a harness prompt that does not ask for it
# explains answers our scorer cannot find
ANSWER_FORMS = {"\\boxed": "\\boxed{}", "answer:": "an 'Answer: X' line"}
SETTING_NAMES = ("temperature", "top_p", "max_tokens")


def made_by(fmt: str, read: ForeignFile, rows: list[ForeignRow], our_prompt: str, cfg: DictConfig) -> dict[str, Any]:
    """What the harness's file says about how its generations were made: its decoding settings
    ("unknown" where the file does not say), its prompt, and how many rows carry a length and a
    finish reason. This run's own sampling, system prompt and task prompt made none of them."""
    settings = {name: read.settings.get(name, "unknown") for name in SETTING_NAMES}
    settings.update({k: v for k, v in read.settings.items() if k not in SETTING_NAMES})
    example = next((r.prompt for r in rows if r.prompt), None)
    theirs = (example or "").casefold() + (str(read.settings.get("prompt_template") or "")).casefold()
    asks = [form for cue, form in ANSWER_FORMS.items() if cue in our_prompt.casefold() and example is not None
            and cue not in theirs]
    return {
        "harness": fmt, "settings": settings,
        "prompt": example if example is not None else "unknown",
        "system_prompt": read.settings.get("system_prompt", "unknown"),  # where not apart, it is in the prompt
        "our_prompt_asks_for_theirs_does_not": asks,
        "lengths": {"given": sum(r.tokens is not None for r in rows), "unknown": sum(r.tokens is None for r in rows)},
        "finish_reasons": {"stop": sum(r.finish_reason == "stop" for r in rows),
                           "length": sum(r.finish_reason == "length" for r in rows),
                           "unknown": sum(r.finish_reason is None for r in rows)},
        "not_applied": {"sampling": OmegaConf.to_container(cfg.sampling, resolve=True),
                        "system_prompt": cfg.get("system_prompt"), "task_prompt": "this task's prompt"},
    }


def generation_facts(task_dir: Path) -> dict[str, Any] | None:
    """made_by() of the imported file, or None when this run made its own generations."""
    path = task_dir / FOREIGN_SOURCE
    if not path.exists() or not (task_dir / FOREIGN).exists():
        return None
    found = store.read_json(path, expect=dict).get("made_by")
    return found if isinstance(found, dict) else None


# ---------------------------------------------------------------- import

def import_foreign(cfg: DictConfig, samples: list[Sample], task_dir: Path, split: str) -> int:
    """Read the harness's file into <task_dir>/generations.jsonl and foreign.jsonl (each written
    aside, then renamed over the old one). `split`: how raw text without the harness's own
    separation is read (responses_split: raw or answer_only)."""

    fmt = responses_format(cfg)
    path = Path(str(cfg.responses)).expanduser()
    if not path.exists():
        raise UserError(f"responses file not found: {path}")
    if split == "reasoning_field":
        raise UserError(f"responses_split=reasoning_field is for evalsuite's own jsonl; with responses_format={fmt} "
                        f"the harness's file says where the reasoning is (use raw or answer_only)")
    read = READERS[fmt](path)
    rows = read.rows
    if not rows:
        raise UserError(f"{path}: no generations in this {fmt} file")
    index, n_samples, limited = ItemIndex(samples), int(cfg.samples), bool(cfg.get("limit"))
    by_id = {s.id: s for s in samples}
    seen: dict[tuple[str, int], str] = {}
    orders: dict[str, list[int]] = {}
    gens, foreign, unmatched, gold_differs, matched = [], [], 0, [], []
    for row in rows:
        sid = index.find(row)
        if sid is None:
            if limited:  # a whole benchmark's file read with limit=N: the rows past N are not this run's
                unmatched += 1
                continue
            raise UserError(f"{row.where}: matches no item of {cfg.task.name} by question text or id "
                            f"(ids look like {samples[0].id!r}); check task=, data= and limit=")
        if not 0 <= row.k < n_samples:
            raise UserError(f"{row.where}: sample {row.k} is outside 0..{n_samples - 1} (samples={n_samples}); "
                            f"set samples= to the number of generations per item in the file")
        if (sid, row.k) in seen:
            raise UserError(f"{row.where}: item {sid} sample {row.k} was already given by {seen[(sid, row.k)]}; "
                            f"each item's sample once")
        seen[(sid, row.k)] = row.where
        sample = by_id[sid]
        if isinstance(sample.reference, dict) and "order" in sample.reference:  # multiple choice
            order = harness_order(sample, row)
            if order is not None:
                if str(cfg.task.get("shuffle")) == "per_sample":
                    raise UserError(f"{row.where}: the harness's file fixes each item's option order; "
                                    f"task.shuffle=per_sample cannot apply to its generations: drop it")
                if orders.setdefault(sid, order) != order:
                    raise UserError(f"{row.where}: the harness showed item {sid}'s options in another order than "
                                    f"in its other samples; give one sample set at a time")
                sample = harness_view(sample, order)
        differs = _gold_differs(row.gold, sample.reference)
        if differs and isinstance(sample.reference, dict) and sid not in orders:
            raise UserError(f"{row.where}: the harness's correct option is {row.gold!r}, ours is "
                            f"{sample.reference['letter']!r}, and the file names no option texts to read its "
                            f"letters by: its letters cannot be graded")
        if differs:
            gold_differs.append({"item": sid, "theirs": str(row.gold), "ours": str(
                sample.reference.get("letter") if isinstance(sample.reference, dict) else sample.reference)})
        reasoning = row.reasoning if row.reasoning is not None else ("" if split == "answer_only" else None)
        gen = Generation(sid, row.k, row.text, row.tokens, row.finish_reason or FINISH_UNKNOWN, reasoning=reasoning)
        gens.append(gen)
        matched.append(row)
        foreign.append({"sample_id": sid, "k": row.k, "where": row.where, "extracted": row.extracted,
                        "extracted_by": row.extracted_by, "voted": sorted(row.voted),
                        "verdicts": row.verdicts, "item_verdicts": row.item_verdicts,
                        "generation": generation_digest(to_dict(gen))})
    if not gens:
        raise UserError(f"{path}: none of its {len(rows)} rows matches an item of {cfg.task.name}; check task= and data=")
    for name, records in ((GENERATIONS, [to_dict(g) for g in gens]), (FOREIGN, foreign)):
        out = task_dir / name
        aside = out.with_name(name + ".import")
        aside.unlink(missing_ok=True)
        store.append_records(aside, records)
        aside.replace(out)
    first = by_id[str(foreign[0]["sample_id"])]
    facts = made_by(fmt, read, matched, first.messages[-1]["content"] if first.messages else "", cfg)
    store.write_json(task_dir / FOREIGN_SOURCE, {
        "format": fmt, "file": str(path), "rows": len(rows), "imported": len(gens), "unmatched": unmatched,
        "empty": read.empty, "gold_differs": gold_differs, "option_orders": orders, "made_by": facts})
    manifest_path = task_dir / MANIFEST
    if manifest_path.exists():  # run.json says who made the generations, not only this run's settings
        manifest = store.read_json(manifest_path, expect=dict)
        if isinstance(manifest.get("responses"), dict):
            manifest["responses"]["made_by"] = facts
            store.write_json(manifest_path, manifest)
    return len(gens)


# ---------------------------------------------------------------- agreement

def _verdict_pass(value: float) -> bool:
    return value >= 0.5


def _majority(scores: list[dict]) -> dict:
    """The score of the answer most of an item's samples gave (by our extraction; the first sample
    to give it on a tie; no answer counts only when no sample has one)."""
    answered = [s for s in scores if s.get("extracted") is not None] or scores
    counts: dict[Any, int] = {}
    for s in answered:
        counts[s.get("extracted")] = counts.get(s.get("extracted"), 0) + 1
    best = max(counts.values())
    return next(s for s in answered if counts[s.get("extracted")] == best)


def agreement(task_dir: Path) -> dict | None:
    """Our verdicts beside the harness's, per verdict it gave: how many agree, and every
    disagreement (item, sample, both extractions, both verdicts). None when nothing was imported."""

    source_path = task_dir / FOREIGN_SOURCE
    if not (task_dir / FOREIGN).exists() or not source_path.exists():
        return None
    source = store.read_json(source_path, expect=dict)
    ours = current_scores(task_dir)
    gens = store.latest_by_key(store.read_records(task_dir / GENERATIONS, repair=False))
    # only the harness's rows whose text is still the stored generation (a later run may have replaced it)
    theirs = [r for r in store.read_records(task_dir / FOREIGN, repair=False)
              if (g := gens.get((str(r["sample_id"]), int(r["k"])))) is not None
              and generation_digest(g) == r.get("generation")]

    def our_value(score: dict, name: str) -> tuple[float, str]:
        variants = score.get("variants") or {}
        return (variants[name], name) if name in variants else (float(score["value"]), "headline")

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
                extracted = score.get("extracted")
            elif name in (r.get("item_verdicts") or {}):  # the harness scored the item over all its samples
                value = float(r["item_verdicts"][name])
                scores = [s for (sid, _), s in sorted(ours.items()) if sid == key[0]]
                if not scores:
                    missing += 1
                    continue
                if name in (r.get("voted") or []):  # its verdict on the answer most samples gave: ours the same way
                    per = "item (majority answer)"
                    score = _majority(scores)
                    (mine, figure), extracted = our_value(score, name), score.get("extracted")
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


def forget(task_dir: Path) -> None:
    """A responses file of our own replaces an earlier harness's import: its side goes with it."""
    for name in (FOREIGN, FOREIGN_SOURCE, AGREEMENT):
        (task_dir / name).unlink(missing_ok=True)
