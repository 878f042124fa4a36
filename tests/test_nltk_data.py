"""NLTK's data for IFBench's checkers: installed by `make setup` from PyPI wheels, checked before use."""
from __future__ import annotations

import io
import os
import pickle
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from evalsuite import nltk_data
from evalsuite.config import CONFIG_DIR
from evalsuite.errors import UserError
from tasks import ifbench


def test_setup_installed_every_file_the_checkers_load():
    assert nltk_data.missing() == []
    import nltk

    assert nltk.pos_tag(["Write", "it", "down"])[0][1] == "VB"
    assert "the" in nltk.corpus.stopwords.words("english")
    assert nltk.word_tokenize("It's 3.14, isn't it?") == ["It", "'s", "3.14", ",", "is", "n't", "it", "?"]


def test_missing_data_is_one_line_naming_the_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(nltk_data, "search_dirs", lambda: [tmp_path])
    assert len(nltk_data.missing()) == len(nltk_data.REQUIRED)
    with pytest.raises(UserError, match="make setup") as e:
        nltk_data.require()
    assert "\n" not in str(e.value)
    cfg = OmegaConf.merge(OmegaConf.load(CONFIG_DIR / "task" / "ifbench.yaml"), {"data": {"source": "sample"}})
    with pytest.raises(UserError, match="NLTK data"):  # before any generation
        ifbench.load(cfg)


def test_the_tagger_pickle_is_read_as_plain_data_only():
    weights = {"bias": {"NN": 1.5, "VB": -0.5}}
    plain = pickle.dumps((weights, {"the": "DT"}, {"VB", "NN", "DT"}), protocol=2)
    assert nltk_data.tagger_json(plain) == (weights, {"the": "DT"}, ["DT", "NN", "VB"])

    class Hostile:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with pytest.raises(UserError, match="not plain data"):
        nltk_data.tagger_json(pickle.dumps((Hostile(), {}, set())))
    with pytest.raises(UserError, match="does not hold"):
        nltk_data.tagger_json(pickle.dumps(("weights", {}, set())))


def test_a_wheel_that_is_not_the_pinned_one_is_refused(tmp_path):
    (tmp_path / nltk_data.LLAMA_INDEX_CORE.filename).write_bytes(b"not the wheel")
    with pytest.raises(UserError, match="pinned sha256"):
        nltk_data.install(target=tmp_path / "out", wheels_dir=tmp_path)
    assert not (tmp_path / "out" / "corpora").exists()


def test_install_is_a_no_op_when_everything_is_there(tmp_path):
    for rel in nltk_data.REQUIRED:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    assert nltk_data.install(target=tmp_path, wheels_dir=tmp_path / "none") == tmp_path
