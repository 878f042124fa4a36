"""A small real run made once per test session by the embedded model (report, notebook, viewer tests).

Registered in conftest.py (`pytest_plugins = ["fixtures_run"]`); a test module may also import
`small_run` directly: the run is cached per session either way, so it is made only once.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SMALL_RUN_ARGS = ("task=aime25", "data=sample", "limit=2", "samples=2", "sampling.max_tokens=96")
_made: dict[str, Path] = {}


@pytest.fixture(scope="session")
def small_run(tmp_path_factory) -> Path:
    """run_dir of `evalsuite task=aime25 data=sample limit=2 samples=2` (2 items x 2 samples)."""
    if "run" not in _made:
        run_dir = tmp_path_factory.mktemp("small_run")
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
        proc = subprocess.run([sys.executable, "-m", "evalsuite", *SMALL_RUN_ARGS, f"run_dir={run_dir}"],
                              cwd=ROOT, capture_output=True, text=True, timeout=900, env=env)
        assert proc.returncode == 0, f"the small run failed:\n{proc.stderr[-3000:]}"
        _made["run"] = run_dir
    return _made["run"]


# ---------------------------------------------------------------- hand-made runs with known contents

def write_fake_task(run_dir: Path, name: str, benchmark: str | None, verdicts: dict[str, list[str]], *,
                    group: str = "Math", texts: dict[tuple[str, int], str] | None = None,
                    variants: dict[str, float] | None = None, cells: list | None = None, summary: bool = True,
                    expected_samples: int | None = None, config: dict | None = None) -> Path:
    """A task directory as the pipeline writes it, with chosen verdicts per item:
    verdicts = {"1": ["correct", "wrong", "unfinished", "none"], ...} (sample k in list order).
    `config` (a resolved config, e.g. from evalsuite.config.compose) lets the items be reloaded;
    `variants` and `cells` (evalsuite.types.Breakdown) are written into the summary as given."""
    from omegaconf import OmegaConf

    from evalsuite import store
    from evalsuite import summary as summaries
    from evalsuite.store import generation_digest
    from evalsuite.types import Generation, Score, generation_from_record, score_from_record, to_dict

    task_dir = Path(run_dir) / name
    gens, scores = [], []
    for sid, kinds in verdicts.items():
        for k, kind in enumerate(kinds):
            text = (texts or {}).get((sid, k)) or {
                "correct": f"<think>easy</think> \\boxed{{{sid}}}", "wrong": "<think>hmm</think> \\boxed{-1}",
                "none": "<think>hmm</think> I do not know", "unfinished": "<think>still thinking ...",
            }[kind]
            gens.append(to_dict(Generation(sid, k, text, 10 + 5 * k, "length" if kind == "unfinished" else "stop")))
            extracted = {"correct": sid, "wrong": "-1"}.get(kind)
            scores.append(to_dict(Score(sid, k, 1.0 if kind == "correct" else 0.0, extracted,
                                        kind == "unfinished", kind == "unfinished", {},
                                        graded=generation_digest(gens[-1]))))
    store.append_records(task_dir / "generations.jsonl", gens)
    store.append_records(task_dir / "scores.jsonl", scores)
    samples = expected_samples or max(len(v) for v in verdicts.values())
    cfg = config or {"task": {"name": name, "benchmark": benchmark, "group": group, "module": "tasks.none"},
                     "samples": samples, "seed": 0, "model": {"name": "fake", "reasoning": True},
                     "backend": {"name": "none"},
                     "sampling": {"temperature": 1.0, "top_p": 0.95, "max_tokens": 1024}}
    store.write_json(task_dir / "run.json", {
        "task": name, "benchmark": benchmark, "config": cfg, "dataset": {"n_items": len(verdicts)},
        "fingerprint": {"max_tokens": 1024, "temperature": 1.0, "top_p": 0.95, "thinking": True},
        "time": "2026-01-01T00:00:00"})
    if summary:
        s = summaries.build(OmegaConf.create(cfg), [score_from_record(r) for r in scores], map(generation_from_record, gens),
                            expected=len(verdicts) * samples, missing=[("?", 0)] * (len(verdicts) * samples - len(scores)))
        s.deviations, s.missing = [f"samples {samples} (card: 64)"], []
        s.variants, s.breakdown = dict(variants or {}), list(cells or [])
        summaries.write(task_dir / "summary.json", s)
    return task_dir


def figures_by_name(spec, samples: dict, scores: list, cfg=None) -> dict[str, float]:
    """A task's summary figures as the engine computes them (evalsuite.summary.task_figures), flat:
    each variant by its name, each breakdown cell as "key=value[,key=value]"."""
    from evalsuite.summary import task_figures

    figures = task_figures(spec, samples, scores, cfg)
    out = dict(figures.variants)
    for cell in figures.cells:
        out[",".join(f"{k}={v}" for k, v in cell.by.items())] = cell.value
    return out
