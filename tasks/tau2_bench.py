"""tau2-Bench (airline, retail, telecom) through its official harness, tau2, run in its own venv
(evalsuite/agentic.py, docs/agentic.md).

tau2 is not on a package registry (PyPI's `tau2` is an unrelated package): `evalsuite prepare
task=tau2_bench` installs it from its public repository at the pinned commit (`COMMIT`), editable,
so its domain data ships beside its code. The agent is tau2's own LLM agent with the card's
customer-service system prompt (evalsuite/card/agent_system_prompt.txt; `task.agent_prompt=tau2`
keeps tau2's), talking to the model's endpoint; the user simulator is a model too: tau2's default
(`OFFICIAL_USER`, through OpenAI's API) or, flagged as a deviation, the judge= config's model.

Per domain: pass^1 = the mean reward over tasks and trials; the headline is the card's average,
the unweighted mean of the domains' pass^1 (OPEN: the pooled mean over all tasks is the variant
`pooled`); pass^k for k up to the trials are variants too. Trials per task: `samples` (the card
states none: OPEN, default tau2's own default, 1).
"""
from __future__ import annotations

import json
import os
from math import comb
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from evalsuite import agentic, metrics
from evalsuite.agentic import Endpoint, Harness, ItemResult
from evalsuite.errors import UserError
from evalsuite.task import Setting, TaskSpec
from evalsuite.types import Breakdown, Headline, Sample, Score

REPOSITORY = "https://github.com/sierra-research/tau2-bench"
COMMIT = "0879eb0b695b6508abbbe5ab32be132d5f10ca66"
OFFICIAL_USER = "gpt-4.1-2025-04-14"  # tau2's DEFAULT_LLM_USER (src/tau2/config.py), temperature 0
DOMAINS = ("airline", "retail", "telecom")
# tau2 excludes these from its metrics: the simulation never produced a rollout. We redo them.
NOT_A_ROLLOUT = ("infrastructure_error",)
CARD_PROMPT = Path(agentic.__file__).resolve().parent / "card" / "agent_system_prompt.txt"


def domains(cfg: DictConfig) -> list[str]:
    names = list(OmegaConf.to_container(cfg.task.domains) if OmegaConf.is_config(cfg.task.domains) else cfg.task.domains)
    unknown = [d for d in names if d not in DOMAINS]
    if unknown:
        raise UserError(f"task.domains: {', '.join(unknown)} is not a tau2-Bench domain of the card; choose from: {', '.join(DOMAINS)}")
    return names


def requirements(cfg: DictConfig) -> list[str]:
    if cfg.task.user_simulator == "official" and not os.environ.get("OPENAI_API_KEY"):
        return [f"tau2's user simulator is {OFFICIAL_USER} through OpenAI's API: set OPENAI_API_KEY, or "
                f"task.user_simulator=judge judge=<config> to simulate the user with a judge model (flagged)"]
    if cfg.task.user_simulator == "judge" and not (cfg.get("judge") and cfg.judge.backend.get("base_url")):
        return ["task.user_simulator=judge needs a judge= config with an endpoint (judge.backend.base_url), e.g. "
                "judge=gpt-oss-20b"]
    return []


def user_model(cfg: DictConfig) -> tuple[str, dict[str, Any]]:
    """tau2's user LLM (a LiteLLM model name) and its arguments."""
    if cfg.task.user_simulator == "official":
        return OFFICIAL_USER, {"temperature": 0.0}
    backend = cfg.judge.backend
    key = backend.get("api_key") or os.environ.get(str(backend.get("api_key_env") or "OPENAI_API_KEY")) or "EMPTY"
    return f"openai/{backend.model_id}", {"api_base": str(backend.base_url), "api_key": key,
                                          "temperature": float(cfg.judge.sampling.temperature)}


def driver_config(cfg: DictConfig, work: Path, ids: dict[str, list[str]] | None, endpoint: Endpoint | None) -> Path:
    user_llm, user_args = user_model(cfg) if not requirements(cfg) else ("", {})
    config = {"domains": domains(cfg), "task_split": str(cfg.task.task_split), "ids": ids,
              "agent": str(cfg.task.agent_prompt), "system_prompt": CARD_PROMPT.read_text(encoding="utf-8"),
              "agent_llm": f"openai/{endpoint.model_id}" if endpoint else "",
              "agent_llm_args": {"api_base": endpoint.base_url, "api_key": endpoint.api_key,
                                 "temperature": float(cfg.sampling.temperature), "top_p": float(cfg.sampling.top_p)}
                                if endpoint else {},
              "user_llm": user_llm, "user_llm_args": user_args, "num_trials": int(cfg.samples),
              "max_concurrency": int(cfg.task.concurrency), "seed": int(cfg.seed), "results_dir": str(work / "tau2")}
    work.mkdir(parents=True, exist_ok=True)
    path = work / "tau2_config.json"
    path.write_text(json.dumps(config, indent=1), encoding="utf-8")
    return path


def load(cfg: DictConfig) -> list[Sample]:
    """tau2's own tasks of each domain (its data at the pinned commit), listed by its own loader."""
    rows = agentic.listed_items(cfg, HARNESS, "tau2_run.py", f"{','.join(domains(cfg))}|{cfg.task.task_split}",
                                lambda work: driver_config(cfg, work, None, None), "tasks")
    return [Sample(f"{r['domain']}/{r['id']}", [], None, {"category": r["domain"], "domain": r["domain"]}) for r in rows]


def run(cfg: DictConfig, samples: list[Sample], endpoint: Endpoint, work: Path) -> None:
    # every runnable task of the run, not only the missing ones: tau2 refuses to resume a results
    # file whose task set changed, and skips the (trial, task) pairs it already holds
    everything = agentic.runnable(cfg, HARNESS, load(cfg)[: int(cfg.limit)] if cfg.get("limit") else load(cfg))
    ids: dict[str, list[str]] = {}
    for s in everything:
        ids.setdefault(s.meta["domain"], []).append(s.id.split("/", 1)[1])
    config = driver_config(cfg, work, ids, endpoint)
    agentic.run_in_venv(cfg, HARNESS, [str(agentic.script("tau2_run.py")), "run", str(config)], {}, work / agentic.LOG,
                        "simulate and evaluate")


def results_files(work: Path, domain: str) -> list[tuple[Path, list[dict]]]:
    """tau2's Results for a domain, in either of its formats: one JSON file (info, tasks,
    simulations), or a directory with results.json and one file per simulation."""
    single, folder = work / "tau2" / f"{domain}.json", work / "tau2" / domain
    if single.is_file() and not (single.parent / "simulations").is_dir():
        data = read_json(single)
        return [(single, data.get("simulations") or [])] if isinstance(data, dict) else []
    if (folder / "simulations").is_dir():
        return [(p, [d]) for p in sorted((folder / "simulations").glob("*.json")) if isinstance(d := read_json(p), dict)]
    return []


def read_json(path: Path) -> Any:
    """A tau2 file, or None while it is being rewritten (tau2 rewrites its results file per
    simulation: a kill can cut it; what it held is imported on the next run)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def message_tokens(messages: list[dict] | None) -> tuple[int, int]:
    prompt = completion = 0
    for m in messages or []:
        usage = m.get("usage") if isinstance(m, dict) and m.get("role") == "assistant" else None
        if isinstance(usage, dict):
            prompt += int(usage.get("prompt_tokens") or 0)
            completion += int(usage.get("completion_tokens") or 0)
    return prompt, completion


def collect(cfg: DictConfig, samples: list[Sample], work: Path) -> list[ItemResult]:
    out = []
    for domain in domains(cfg):
        for path, simulations in results_files(work, domain):
            for sim in simulations:
                reward = (sim.get("reward_info") or {}).get("reward")
                reason = str(sim.get("termination_reason") or "")
                tokens_in, tokens_out = message_tokens(sim.get("messages"))
                costs = [c for c in (sim.get("agent_cost"), sim.get("user_cost")) if isinstance(c, (int, float))]
                error = f"tau2: {reason}" if reason in NOT_A_ROLLOUT or reward is None else None
                out.append(ItemResult(f"{domain}/{sim['task_id']}", float(reward or 0.0), k=int(sim.get("trial") or 0),
                                      trajectory=f"{path.relative_to(work.parent)}#{sim.get('id')}",
                                      input_tokens=tokens_in, output_tokens=tokens_out,
                                      cost_usd=sum(costs) if costs else None, error=error,
                                      detail={"termination_reason": reason, "agent_cost": sim.get("agent_cost"),
                                              "user_cost": sim.get("user_cost"), "duration_s": sim.get("duration")}))
    return out


def pass_hat_k(successes: dict[str, list[float]], k: int) -> float | None:
    """tau-bench's pass^k: per task, the chance that k trials drawn from its n all succeed."""
    values = [comb(sum(1 for v in vs if v >= 1.0), k) / comb(len(vs), k) for vs in successes.values() if len(vs) >= k]
    return 100.0 * sum(values) / len(values) if values else None


def headline(samples: dict[str, Sample], scores: list[Score], cfg: DictConfig) -> Headline | None:
    # the card's average over domains, its interval resampling items within each domain
    value, ci95, per = metrics.group_mean(samples, scores, "domain", seed=int(cfg.get("seed") or 0), resamples=500)
    if not per:
        return None
    items: dict[str, dict[str, list[float]]] = {}
    for s in scores:
        if s.sample_id in samples:
            items.setdefault(samples[s.sample_id].meta["domain"], {}).setdefault(s.sample_id, []).append(s.value)
    variants: dict[str, float] = {"pooled": metrics.item_mean((s.sample_id, s.value) for s in scores if s.sample_id in samples)}
    trials = max((len(v) for per_item in items.values() for v in per_item.values()), default=1)
    for k in range(2, trials + 1):
        ks = [pass_hat_k(items[d], k) for d in items]
        if all(x is not None for x in ks):
            variants[f"pass^{k}"] = sum(ks) / len(ks)
    cells = [Breakdown({"domain": d}, v, n) for d, (v, n) in sorted(per.items())]
    return Headline(value, ci95, variants=variants, cells=cells)


def settings(cfg: DictConfig) -> dict[str, Any]:
    user, args = user_model(cfg) if not requirements(cfg) else (f"({cfg.task.user_simulator}: not configured)", {})
    return {"repository": REPOSITORY, "commit": COMMIT, "domains": domains(cfg), "task_split": str(cfg.task.task_split),
            "trials": int(cfg.samples), "agent": "tau2 llm_agent",
            "agent_prompt": "the card's customer-service template" if cfg.task.agent_prompt == "card" else "tau2's own",
            "user_simulator": {"kind": str(cfg.task.user_simulator), "model": user,
                               "temperature": args.get("temperature")},
            "temperature": float(cfg.sampling.temperature), "top_p": float(cfg.sampling.top_p)}


def deviations(samples: list[Sample], cfg: DictConfig) -> list[str]:
    out = []
    if cfg.task.user_simulator != "official":
        out.append(f"user simulator: the judge model {cfg.judge.get('name')}, not tau2's {OFFICIAL_USER}")
    return out


HARNESS = Harness(name="tau2-bench", version=COMMIT[:12],
                  install=("-e", f"git+{REPOSITORY}.git@{COMMIT}#egg=tau2"),
                  run=run, collect=collect, settings=settings, requirements=requirements,
                  source=f"not on a package registry (PyPI's tau2 is another project): {REPOSITORY} at commit {COMMIT}, "
                         f"installed by `evalsuite prepare task=tau2_bench` where GitHub is reachable")

TASK = TaskSpec(
    load=load, score=agentic.score, harness=HARNESS, headline=headline, deviations=deviations,
    breakdown_by=("domain",),
    settings={"domains": Setting(list, doc="tau2 domains: airline, retail, telecom"),
              "task_split": Setting(str, doc="tau2's task split (base: the published tasks)"),
              "agent_prompt": Setting(str, choices=("card", "tau2"), doc="the agent's system prompt"),
              "user_simulator": Setting(str, choices=("official", "judge"),
                                        doc=f"official: {OFFICIAL_USER}; judge: the judge= config's model (flagged)"),
              "concurrency": Setting(int, minimum=1, doc="simulations tau2 runs at once")},
)
