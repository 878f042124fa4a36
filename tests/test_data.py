"""Data loading: the hub path through `datasets` (on a local directory in the hub's layout), local
files in every format, and the MathArena loader on both schemas."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from omegaconf import OmegaConf

from evalsuite.config import compose
from evalsuite.data import load_rows, read_table
from evalsuite.errors import UserError
from evalsuite.task import check_settings
from tests.conftest import SHARED
from tasks import matharena

ROWS = [{"problem_idx": 1, "problem": "What is $1+1$?", "answer": 2},
        {"problem_idx": 2, "problem": "What is $2+2$?", "answer": 4}]


def _cfg(**data):
    cfg = compose(["task=aime25"])
    OmegaConf.update(cfg, "data", {**OmegaConf.to_container(cfg.data), **data}, merge=False)
    return cfg


def test_hub_loader_reads_a_dataset_repo_layout(tmp_path):
    """`datasets.load_dataset(hub_id, split=..., revision=...)` on a directory laid out like the hub repo."""
    repo = tmp_path / "aime_2025"
    repo.mkdir()
    (repo / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    cfg = _cfg(source="hub")
    OmegaConf.update(cfg, "task.dataset.hub_id", str(repo))
    OmegaConf.update(cfg, "task.dataset.revision", None)
    samples = matharena.load(cfg)
    assert [s.id for s in samples] == ["1", "2"] and samples[1].reference == "4"
    assert samples[0].messages[0]["content"].endswith("Please place your final answer inside \\boxed{}.")


@pytest.mark.parametrize("suffix", ["jsonl", "json", "csv", "parquet"])
def test_local_files_every_format(tmp_path, suffix):
    path = tmp_path / f"rows.{suffix}"
    if suffix == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    elif suffix == "json":
        path.write_text(json.dumps(ROWS))
    else:
        frame = pd.DataFrame(ROWS)
        frame.to_csv(path, index=False) if suffix == "csv" else frame.to_parquet(path)
    samples = matharena.load(_cfg(path=str(path)))
    assert [s.reference for s in samples] == ["2", "4"]


def test_bad_local_files(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"a": 1}\n{oops\n')
    with pytest.raises(UserError, match="bad.jsonl:2"):
        read_table(bad)
    with pytest.raises(UserError, match="unsupported file type"):
        (tmp_path / "x.txt").write_text("x")
        read_table(tmp_path / "x.txt")
    with pytest.raises(UserError, match="row 1: column 'problem' is missing \\(columns: question\\); each row needs 'problem'"):
        (tmp_path / "w.jsonl").write_text('{"question": "q"}\n')
        matharena.load(_cfg(path=str(tmp_path / "w.jsonl")))


def test_bundled_samples_and_prompt_styles():
    cfg = _cfg(source="sample")
    assert len(load_rows(cfg)) >= 8
    OmegaConf.update(cfg, "task.prompt", "simple")
    assert matharena.load(cfg)[0].messages[0]["content"].startswith("Solve the following math problem.")
    OmegaConf.update(cfg, "task.prompt", "other")
    with pytest.raises(UserError, match="task.prompt='other' is not one of its values; choose one of: card, simple"):
        check_settings(cfg, matharena.TASK)  # the contract checks it before any load


@pytest.mark.parametrize("name,key", [("aime25/train.jsonl", "answer"), ("aime25/test.jsonl", "expected_answer"),
                                      ("hmmt_feb25/train.jsonl", "answer")])
def test_real_files_both_schemas(name, key):
    path = SHARED / "data" / name
    if not path.exists():
        pytest.skip("../shared/data not present")
    samples = matharena.load(_cfg(path=str(path)))
    rows = [json.loads(l) for l in path.read_text().splitlines()]
    assert len(samples) == 30 and [s.reference for s in samples] == [str(r[key]).strip() for r in rows]
    assert len({s.id for s in samples}) == 30
