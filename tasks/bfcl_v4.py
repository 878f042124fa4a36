"""BFCL v4 (Berkeley Function Calling Leaderboard) through its official harness, bfcl-eval, run in
its own venv (evalsuite/agentic.py, docs/agentic.md).

The model is registered with bfcl as a function-calling model behind bfcl's OpenAI chat-completions
handler, pointed at the model's endpoint: `vllm serve` with the card's tool flags parses the
model's calls in the card's format (qwen3_coder XML) into tool_calls. bfcl generates, resumes
and grades; evalsuite imports its per-entry verdicts (its score files list the failures; every
other evaluated entry passed).

The headline is bfcl's own v4 overall: a weighted mean of five sections, each as bfcl computes it
(`OVERALL_WEIGHTS`, from bfcl_eval/eval_checker/eval_runner_helper.py of the pinned version).
Sections whose categories cannot run here (web search without a SerpAPI key, the vector memory
without its embedding model) are "not run": the headline is then over the sections that ran,
their weights renormalised, and bfcl's own reading (a missing section counts 0) stands beside it
as the variant `overall_missing_as_zero`.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from evalsuite import agentic, metrics
from evalsuite.agentic import Endpoint, Harness, ItemResult
from evalsuite.errors import UserError
from evalsuite.task import Setting, TaskSpec
from evalsuite.types import Breakdown, Headline, Sample, Score

VERSION = "2026.3.23"
NON_LIVE = ("simple_python", "simple_java", "simple_javascript", "multiple", "parallel", "parallel_multiple")
LIVE = ("live_simple", "live_multiple", "live_parallel", "live_parallel_multiple")
IRRELEVANCE = ("irrelevance", "live_irrelevance")
MULTI_TURN = ("multi_turn_base", "multi_turn_miss_func", "multi_turn_miss_param", "multi_turn_long_context")
WEB_SEARCH = ("web_search_base", "web_search_no_snippet")
MEMORY = ("memory_kv", "memory_vector", "memory_rec_sum")
# every category in bfcl's overall score (live_relevance and format_sensitivity are not in it)
SCORING = (*NON_LIVE, *LIVE, *IRRELEVANCE, *MULTI_TURN, *WEB_SEARCH, *MEMORY, "live_relevance")
OVERALL_WEIGHTS = {"non_live": 10, "live": 10, "irrelevance": 10, "multi_turn": 30, "agentic": 40}
EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2"  # bfcl's memory_vector loads it at import


def categories(cfg: DictConfig) -> list[str]:
    value = cfg.task.categories
    names = list(SCORING) if value == "all" else list(OmegaConf.to_container(value) if OmegaConf.is_config(value) else value)
    unknown = [c for c in names if c not in SCORING]
    if unknown:
        raise UserError(f"task.categories: {', '.join(unknown)} is not a BFCL v4 scoring category; "
                        f"choose from: {', '.join(SCORING)} (or all)")
    return names


def not_run(cfg: DictConfig) -> dict[str, str]:
    """Categories that need a key or a service this machine does not have."""
    out = {}
    if not os.environ.get("SERPAPI_API_KEY"):
        out.update({c: "needs SERPAPI_API_KEY (SerpAPI web search) and internet access" for c in WEB_SEARCH})
    if os.environ.get("HF_HUB_OFFLINE") and not embedding_model_cached():
        out["memory_vector"] = f"needs the embedding model {EMBEDDING_MODEL} (hub download; HF_HUB_OFFLINE is set and it is not cached)"
    return {c: why for c, why in out.items() if c in categories(cfg)}


def embedding_model_cached() -> bool:
    hub = Path(os.environ.get("HF_HUB_CACHE") or Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "hub")
    return (hub / f"models--{EMBEDDING_MODEL.replace('/', '--')}").is_dir()


def requirements(cfg: DictConfig) -> list[str]:
    named = cfg.task.categories != "all"
    if named:  # a category asked for by name that cannot run is a problem, not a silent skip
        return [f"task.categories names {c}, which {why}" for c, why in not_run(cfg).items()]
    return []


def model_key(cfg: DictConfig) -> str:
    # bfcl maps "_" in a registry name to "/" when it evaluates: the key has neither
    slug = "".join(ch if ch.isalnum() or ch in ".-" else "-" for ch in str(cfg.model.name))
    return f"evalsuite-{slug}-FC"


def harness_config(cfg: DictConfig, work: Path, ids: list[str] | None, served_model: str = "") -> Path:
    config = {"project_root": str(work.resolve()), "model_key": model_key(cfg), "served_model": served_model,
              "categories": [c for c in categories(cfg) if c not in not_run(cfg)], "ids": ids,
              "temperature": float(cfg.sampling.temperature), "num_threads": int(cfg.task.threads)}
    work.mkdir(parents=True, exist_ok=True)
    path = work / "bfcl_config.json"
    path.write_text(json.dumps(config, indent=1), encoding="utf-8")
    return path


# ---------------------------------------------------------------- the items

def load(cfg: DictConfig) -> list[Sample]:
    """bfcl's own test entries (shipped in the pinned bfcl-eval), listed by its own loader."""
    names = categories(cfg)

    def listing_config(work: Path) -> Path:
        config = {"project_root": str(work), "model_key": "evalsuite-listing-FC", "served_model": "", "categories": names,
                  "ids": None, "temperature": 0.0, "num_threads": 1}
        work.mkdir(parents=True, exist_ok=True)
        (work / "config.json").write_text(json.dumps(config), encoding="utf-8")
        return work / "config.json"

    rows = agentic.listed_items(cfg, HARNESS, "bfcl_run.py", ",".join(names), listing_config, "test entries")
    return [Sample(row["id"], [{"role": "user", "content": row["question"]}], None,
                   {"category": row["category"], "section": section_of(row["category"])}) for row in rows]


def section_of(category: str) -> str:
    for name, members in (("non_live", NON_LIVE), ("live", LIVE), ("irrelevance", IRRELEVANCE),
                          ("multi_turn", MULTI_TURN), ("agentic", (*WEB_SEARCH, *MEMORY))):
        if category in members:
            return name
    return "other"


# ---------------------------------------------------------------- running bfcl and importing its verdicts

def run(cfg: DictConfig, samples: list[Sample], endpoint: Endpoint, work: Path) -> None:
    config = harness_config(cfg, work, [s.id for s in samples], endpoint.model_id)
    env = {"OPENAI_BASE_URL": endpoint.base_url, "OPENAI_API_KEY": endpoint.api_key}
    agentic.run_in_venv(cfg, HARNESS, [str(agentic.script("bfcl_run.py")), "run", str(config)], env,
                        work / agentic.LOG, "generate and evaluate")


def collect(cfg: DictConfig, samples: list[Sample], work: Path) -> list[ItemResult]:
    """bfcl's result files (every generated entry) and score files (the failures), for the entries
    its last evaluation saw."""
    evaluated_path = work / "evaluated.json"
    if not evaluated_path.exists():
        return []
    evaluated = json.loads(evaluated_path.read_text(encoding="utf-8"))
    out = []
    for rel, ids in evaluated.items():
        result_path = work / rel
        score_path = work / "score" / Path(rel).relative_to("result").parent / Path(rel).name.replace("_result.json", "_score.json")
        if not result_path.exists() or not score_path.exists():
            continue
        results = {r["id"]: r for r in read_jsonl(result_path)}
        failures = {r["id"]: r for r in read_jsonl(score_path)[1:] if "id" in r}
        for sid in ids:
            entry = results.get(sid)
            if entry is None:
                continue
            failure = failures.get(sid)
            detail = {"category": rel.split("BFCL_v4_")[-1].removesuffix("_result.json")}
            if failure is not None:
                detail["error"] = {k: failure.get(k) for k in ("error", "error_type") if failure.get(k) is not None}
            out.append(ItemResult(sid, 0.0 if failure is not None else 1.0, trajectory=str(result_path.relative_to(work.parent)),
                                  input_tokens=token_sum(entry.get("input_token_count")),
                                  output_tokens=token_sum(entry.get("output_token_count")), detail=detail))
    return out


def read_jsonl(path: Path) -> list[dict]:
    """A bfcl file's lines; a line cut by a kill is skipped (bfcl generates that entry again)."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def token_sum(value: Any) -> int:
    """bfcl's token counts: a number, or nested lists of them for multi-turn entries."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, list):
        return sum(token_sum(v) for v in value)
    return 0


# ---------------------------------------------------------------- bfcl's overall score

def category_accuracy(samples: dict[str, Sample], scores: list[Score]) -> dict[str, tuple[float, int]]:
    per: dict[str, list[tuple[str, float]]] = {}
    for s in scores:
        if s.sample_id in samples:
            per.setdefault(samples[s.sample_id].meta["category"], []).append((s.sample_id, s.value))
    return {c: (metrics.item_mean(pairs) / 100.0, len({p[0] for p in pairs})) for c, pairs in per.items()}


def sections(acc: dict[str, tuple[float, int]], missing_as_zero: bool) -> dict[str, float | None]:
    """bfcl's five sections from category accuracies (0-1): its unweighted and count-weighted means.
    A section with no category run is None (or, missing_as_zero, as bfcl does: a missing one is 0)."""
    def get(c):
        return acc[c][0] if c in acc else (0.0 if missing_as_zero else None)

    def mean(values):
        values = [v for v in values if v is not None]
        return sum(values) / len(values) if values else None

    simple = mean([get(c) for c in ("simple_python", "simple_java", "simple_javascript")])
    live_counts = [(acc[c][0], acc[c][1]) for c in LIVE if c in acc]
    live = (sum(a * n for a, n in live_counts) / sum(n for _, n in live_counts)) if live_counts else (0.0 if missing_as_zero else None)
    return {"non_live": mean([simple, get("multiple"), get("parallel"), get("parallel_multiple")]),
            "live": live,
            "irrelevance": mean([get("irrelevance"), get("live_irrelevance")]),
            "multi_turn": mean([get(c) for c in MULTI_TURN]),
            "agentic": mean([mean([get(c) for c in WEB_SEARCH]), mean([get(c) for c in MEMORY])])}


def overall(parts: dict[str, float | None]) -> float | None:
    ran = {k: v for k, v in parts.items() if v is not None}
    if not ran:
        return None
    weight = sum(OVERALL_WEIGHTS[k] for k in ran)
    return 100.0 * sum(OVERALL_WEIGHTS[k] * v for k, v in ran.items()) / weight


def headline(samples: dict[str, Sample], scores: list[Score], cfg: DictConfig) -> Headline | None:
    acc = category_accuracy(samples, scores)
    ours = sections(acc, missing_as_zero=False)
    value = overall(ours)
    if value is None:
        return None
    bfcl_own = overall(sections(acc, missing_as_zero=True))
    # the interval: a bootstrap over items within each category, through the same weighting
    import random

    rng = random.Random(int(cfg.get("seed") or 0))
    by_cat: dict[str, list[float]] = {}
    for s in scores:
        if s.sample_id in samples:
            by_cat.setdefault(samples[s.sample_id].meta["category"], []).append(s.value)
    draws = []
    for _ in range(200):
        boot = {c: (sum(rng.choice(v) for _ in v) / len(v), len(v)) for c, v in by_cat.items()}
        draws.append(overall(sections(boot, missing_as_zero=False)))
    draws.sort()
    cells = [Breakdown({"section": k}, 100.0 * v, sum(n for c, (_, n) in acc.items() if section_of(c) == k))
             for k, v in ours.items() if v is not None]
    return Headline(value, [draws[4], draws[194]], variants={"overall_missing_as_zero": bfcl_own}, cells=cells)


def settings(cfg: DictConfig) -> dict[str, Any]:
    return {"categories": categories(cfg), "mode": "FC (OpenAI chat completions, the server's tool-call parser)",
            "temperature": float(cfg.sampling.temperature), "threads": int(cfg.task.threads),
            "overall_weights": OVERALL_WEIGHTS}


def deviations(samples: list[Sample], cfg: DictConfig) -> list[str]:
    skipped = not_run(cfg)
    if not skipped:
        return []
    return [f"not run: {', '.join(skipped)} (the overall is over the sections that ran, weights renormalised; "
            f"bfcl's own reading counts them 0: variant overall_missing_as_zero)"]


HARNESS = Harness(name="bfcl-eval", version=VERSION, install=(f"bfcl-eval=={VERSION}", "soundfile"), run=run, collect=collect,
                  settings=settings, requirements=requirements, not_run=not_run)

TASK = TaskSpec(
    load=load, score=agentic.score, harness=HARNESS, headline=headline, deviations=deviations,
    breakdown_by=("category",),
    settings={"categories": Setting((str, list), doc="BFCL v4 categories to run: all (the overall's) or a list"),
              "threads": Setting(int, minimum=1, doc="requests bfcl keeps in flight")},
)
