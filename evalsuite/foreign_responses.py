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

from omegaconf import DictConfig

from evalsuite import store
from evalsuite.store import generation_digest
from evalsuite.errors import UserError
from evalsuite.rundir import AGREEMENT, FOREIGN, FOREIGN_SOURCE, GENERATIONS, current_scores
from evalsuite.summary import TaskSummary
from evalsuite.types import Generation, Sample, to_dict

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
    tokens: int = 0
    finish_reason: str = "stop"
    extracted: str | None = None  # the harness's own extraction of the answer
    verdicts: dict[str, float] = field(default_factory=dict)  # its verdicts on this sample
    item_verdicts: dict[str, float] = field(default_factory=dict)  # its verdicts on the whole item (all k)
    gold: Any = None  # the harness's reference answer, checked against ours


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


def read_nemo_skills(path: Path) -> tuple[list[ForeignRow], int]:
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
            tokens = row.get("num_generated_tokens")
            rows.append(ForeignRow(where, _ids(row), _text_field(row, QUESTION_FIELDS), k, text, reasoning,
                                   tokens if isinstance(tokens, int) and not isinstance(tokens, bool) else 0,
                                   str(row.get("finish_reason") or "stop"),
                                   None if extracted is None else str(extracted), verdicts,
                                   gold=row.get("expected_answer")))
    return rows, empty


# ---------------------------------------------------------------- lm-evaluation-harness

LM_EVAL_BOOKKEEPING = {"doc_id", "doc", "target", "arguments", "resps", "filtered_resps", "filter", "metrics",
                       "doc_hash", "prompt_hash", "target_hash"}


def _lm_eval_prompt(row: dict) -> str | None:
    """The prompt lm-eval sent: arguments {"gen_args_0": {"arg_0": prompt, ...}} (0.4.3+) or [[prompt, kwargs]]."""
    args = row.get("arguments")
    if isinstance(args, dict) and args:
        first = next(iter(args.values()))
        if isinstance(first, dict) and isinstance(first.get("arg_0"), str):
            return first["arg_0"]
    if isinstance(args, list) and args and isinstance(args[0], list) and args[0] and isinstance(args[0][0], str):
        return args[0][0]
    return None


def read_lm_eval(path: Path) -> tuple[list[ForeignRow], int]:
    if path.is_dir():
        files = sorted(path.glob("samples_*.jsonl"))
        if len(files) != 1:
            raise UserError(f"{path}: {len(files)} samples_*.jsonl files here; give the one of this task "
                            f"(lm-eval writes one per task with --log_samples)")
        path = files[0]
    by_doc: dict[Any, ForeignRow | list[ForeignRow]] = {}
    out: list[ForeignRow] = []
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
        extracted = filtered[0] if isinstance(filtered, list) and filtered and isinstance(filtered[0], str) else None
        doc = row.get("doc") if isinstance(row.get("doc"), dict) else {}
        if row["doc_id"] in by_doc:  # the same document under another filter: its verdicts join the first
            first = by_doc[row["doc_id"]]
            (first.verdicts if len(texts) == 1 else first.item_verdicts).update(verdicts)
            continue
        question = _text_field(doc, QUESTION_FIELDS) or _lm_eval_prompt(row)
        gold = row.get("target")
        for k, text in enumerate(texts):
            fr = ForeignRow(f"{where} (response {k})", _ids(doc), question, k, text, None,
                            extracted=extracted if len(texts) == 1 else None, gold=gold)
            out.append(fr)
            if k == 0:
                by_doc[row["doc_id"]] = fr
        # one response: the verdict is that sample's; several (repeats): lm-eval scores the document
        (out[-len(texts)].verdicts if len(texts) == 1 else out[-len(texts)].item_verdicts).update(verdicts)
    return out, 0


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


def read_lighteval(path: Path) -> tuple[list[ForeignRow], int]:
    """Two layouts: lighteval <= 0.9 writes flat columns (example/full_prompt, predictions, gold,
    metrics, specifics); later versions write doc / model_response / metric structs."""
    out = []
    for where, row in lighteval_records(path):
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
            tokens = response.get("output_tokens") or []
        elif "predictions" in row:
            texts = row.get("predictions") or []
            reasonings = []
            metrics = row.get("metrics") or {}
            question = _text_field(row, ("example", "full_prompt"))
            gold = row.get("gold")
            gold = gold[0] if isinstance(gold, list) and gold else gold
            specifics = row.get("specifics") or {}
            ids = []
            tokens = []
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
            n_tokens = tokens[k] if k < len(tokens) and isinstance(tokens[k], list) else []
            fr = ForeignRow(f"{where} (prediction {k})", ids, question, k, text, reasoning, len(n_tokens),
                            extracted=None if extracted is None or len(texts) > 1 else str(extracted), gold=gold)
            if len(texts) == 1:
                fr.verdicts = dict(verdicts)
            elif k == 0:  # several samples in one row: lighteval's metric (pass@k, maj@n ...) is the item's
                fr.item_verdicts = dict(verdicts)
            out.append(fr)
    return out, 0


# ---------------------------------------------------------------- inspect_ai

INSPECT_VALUES = {"C": 1.0, "I": 0.0, "P": 0.5, "N": 0.0}  # CORRECT, INCORRECT, PARTIAL, NOANSWER


def inspect_samples(path: Path) -> list[tuple[str, dict]]:
    """The samples of an inspect_ai log: a .eval archive (samples/<id>_epoch_<n>.json entries) or a
    .json log (its "samples" list)."""
    if path.suffix == ".eval" or zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as z:
                names = sorted(n for n in z.namelist() if n.startswith("samples/") and n.endswith(".json"))
                if not names:
                    raise UserError(f"{path}: no samples/ in this .eval archive; was the eval run with "
                                    f"--no-log-samples? Samples are needed to grade")
                return [(f"{path}:{n}", json.loads(z.read(n).decode("utf-8"))) for n in names]
        except (zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError) as e:
            raise UserError(f"{path}: not a readable inspect .eval archive ({type(e).__name__})") from None
    try:
        log = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
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
    return [(f"{path}:samples[{i}]", s) for i, s in enumerate(log["samples"])]


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


def read_inspect(path: Path) -> tuple[list[ForeignRow], int]:
    out = []
    for where, sample in inspect_samples(path):
        if not isinstance(sample, dict) or "id" not in sample or not isinstance(sample.get("output"), dict):
            raise _wrong_layout(where, "inspect", 'sample "id" and "output"', sample)
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
        usage = output.get("usage") or {}
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
        tokens = usage.get("output_tokens")
        out.append(ForeignRow(where, [str(sample["id"])], _inspect_input(sample.get("input")), epoch - 1, text,
                              reasoning, tokens if isinstance(tokens, int) and not isinstance(tokens, bool) else 0,
                              "length" if stop in ("max_tokens", "model_length") else "stop", extracted, verdicts,
                              gold=target))
    return out, 0


READERS: dict[str, Callable[[Path], tuple[list[ForeignRow], int]]] = {
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
    if isinstance(reference, dict) and "letter" in reference:  # GPQA: the letter depends on the option order
        letter = re.fullmatch(r"\(?([A-J])\)?", str(gold).strip())
        return None if letter is None else letter.group(1) != reference["letter"]
    if isinstance(reference, str):
        from evalsuite.scoring.math import strip_answer_decorations

        norm = lambda x: strip_answer_decorations(str(x)).replace(" ", "").lstrip("0") or "0"  # noqa: E731
        return norm(gold) != norm(reference)
    return None


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
    rows, empty = READERS[fmt](path)
    if not rows:
        raise UserError(f"{path}: no generations in this {fmt} file")
    index, n_samples, limited = ItemIndex(samples), int(cfg.samples), bool(cfg.get("limit"))
    by_id = {s.id: s for s in samples}
    seen: dict[tuple[str, int], str] = {}
    gens, foreign, unmatched, gold_differs = [], [], 0, []
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
        differs = _gold_differs(row.gold, by_id[sid].reference)
        if differs and isinstance(by_id[sid].reference, dict):
            raise UserError(f"{row.where}: the harness's correct option is {row.gold!r}, ours is "
                            f"{by_id[sid].reference['letter']!r}: its option order differs from this run's "
                            f"(task.shuffle_seed, task.shuffle), so its letters cannot be graded against ours")
        if differs:
            gold_differs.append({"item": sid, "theirs": str(row.gold), "ours": str(by_id[sid].reference)})
        reasoning = row.reasoning if row.reasoning is not None else ("" if split == "answer_only" else None)
        gen = Generation(sid, row.k, row.text, row.tokens, row.finish_reason, reasoning=reasoning)
        gens.append(gen)
        foreign.append({"sample_id": sid, "k": row.k, "where": row.where, "extracted": row.extracted,
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
    store.write_json(task_dir / FOREIGN_SOURCE, {
        "format": fmt, "file": str(path), "rows": len(rows), "imported": len(gens), "unmatched": unmatched,
        "empty": empty, "gold_differs": gold_differs})
    return len(gens)


# ---------------------------------------------------------------- agreement

def _verdict_pass(value: float) -> bool:
    return value >= 0.5


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
                per = "item"
                value = float(r["item_verdicts"][name])
                scores = [s for (sid, _), s in ours.items() if sid == key[0]]
                if not scores:
                    missing += 1
                    continue
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
                disagreements.append({"item": key[0], "k": key[1] if per == "sample" else None,
                                      "ours_extracted": extracted, "theirs_extracted": r.get("extracted"),
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
