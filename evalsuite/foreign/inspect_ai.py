"""inspect_ai: a log, .eval (a zip whose members may be zstd-compressed) or .json."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from evalsuite import store
from evalsuite.errors import UserError
from evalsuite.foreign.rows import (
    ForeignFile, ForeignRow, as_count, as_number, finish_of, guess_format, wrong_layout)


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
        raise wrong_layout(str(path), "inspect", '"samples" list (an inspect_ai log with samples)', log)
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
        if isinstance(config, dict) and as_number(config.get(name)) is not None:
            out[name] = as_number(config[name])
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
            raise wrong_layout(where, "inspect", 'sample "id" and "output"', sample)
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
            raise wrong_layout(where, "inspect", "output.choices[0].message or output.completion", sample)
        stop = choices[0].get("stop_reason") if choices and isinstance(choices[0], dict) else None
        usage = output.get("usage") if isinstance(output.get("usage"), dict) else {}
        verdicts, extracted = {}, None
        for name, score in (sample.get("scores") or {}).items():
            if not isinstance(score, dict):
                continue
            value = score.get("value")
            number = INSPECT_VALUES.get(value) if isinstance(value, str) else as_number(value)
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
                              reasoning, as_count(usage.get("output_tokens")), finish_of(stop), extracted, verdicts,
                              gold=target, prompt=prompt,
                              options=options if isinstance(options, list) and all(isinstance(o, str) for o in options) else None))
    return ForeignFile(out, 0, settings)
