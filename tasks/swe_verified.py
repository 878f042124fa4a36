"""SWE-bench Verified with OpenHands: OpenHands' SWE-bench runner (the OpenHands/benchmarks
repository at a pinned commit: the `openhands-ai` wheel does not ship it) makes a patch per
instance in a container, and the official SWE-bench harness (PyPI `swebench`, pinned) grades it in
another. Both run in their own venv (evalsuite/agentic.py, docs/agentic.md); the preflight names the
container runtime or says exactly what is missing.

Imported per instance: OpenHands' output.jsonl row (the patch, tokens, cost, its error) and
swebench's verdict (a per-instance report.json `{id: {"resolved": ...}}`, else the run report's
resolved_ids / unresolved_ids / empty_patch_ids). An instance swebench could not evaluate
(error_ids) is not a verdict: it is redone. Both tools resume on their own (OpenHands skips
instances in its output; swebench skips instances that have a report).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from evalsuite import agentic
from evalsuite.agentic import Endpoint, Harness, ItemResult
from evalsuite.data import load_rows
from evalsuite.task import Setting, TaskSpec
from evalsuite.types import Sample

REPOSITORY = "https://github.com/OpenHands/benchmarks"
COMMIT = "46319827c61c58b7a9ad84f6e80ca87d949d9263"
SWEBENCH = "swebench==5.0.2"
WORKSPACE = {"docker": "docker", "podman": "docker", "apptainer": "apptainer"}  # OpenHands' workspaces


def requirements(cfg: DictConfig) -> list[str]:
    runtime, facts = agentic.container_runtime()
    if runtime is None:
        return [f"SWE-bench Verified runs each instance's agent and its tests in containers and this machine has "
                f"none that works: {facts}; run it where docker or apptainer runs (docs/agentic.md)"]
    return []


def load(cfg: DictConfig) -> list[Sample]:
    rows = load_rows(cfg)
    return [Sample(str(r["instance_id"]), [], None, {"category": "swe-bench", "repo": r.get("repo") or
                                                      str(r["instance_id"]).split("__")[0]}) for r in rows]


def run(cfg: DictConfig, samples: list[Sample], endpoint: Endpoint, work: Path) -> None:
    runtime, _ = agentic.container_runtime()
    out = work / "openhands"
    out.mkdir(parents=True, exist_ok=True)
    llm = {"model": f"openai/{endpoint.model_id}", "base_url": endpoint.base_url, "api_key": endpoint.api_key,
           "temperature": float(cfg.sampling.temperature), "top_p": float(cfg.sampling.top_p)}
    (work / "llm_config.json").write_text(json.dumps(llm, indent=1), encoding="utf-8")
    (work / "instances.txt").write_text("".join(s.id + "\n" for s in samples), encoding="utf-8")
    dataset = cfg.task.dataset
    agentic.run_in_venv(cfg, HARNESS, ["-m", "benchmarks.swebench.run_infer", str(work / "llm_config.json"),
                                       "--dataset", str(dataset.hub_id), "--split", str(dataset.split),
                                       "--max-iterations", str(int(cfg.task.max_iterations)),
                                       "--workspace", WORKSPACE[runtime or "docker"], "--select", str(work / "instances.txt"),
                                       "--num-workers", str(int(cfg.task.concurrency)), "--output-dir", str(out)],
                        {}, work / agentic.LOG, "agent (OpenHands)")
    for output in sorted(out.rglob("output.jsonl")):
        agentic.run_in_venv(cfg, HARNESS, ["-m", "benchmarks.swebench.eval_infer", str(output), "--dataset",
                                           str(dataset.hub_id)], {}, work / agentic.LOG, "grading (swebench)")


def verdicts(root: Path) -> dict[str, bool | None]:
    """swebench's verdicts under root: True resolved, False not, None could not be evaluated."""
    out: dict[str, bool | None] = {}
    for path in sorted(root.rglob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict):
            continue
        if "resolved_ids" in data:  # the run report (swebench.harness.reporting.make_run_report)
            for key, value in (("resolved_ids", True), ("unresolved_ids", False), ("empty_patch_ids", False),
                               ("error_ids", None)):
                for iid in data.get(key) or []:
                    out.setdefault(str(iid), value)
        elif path.name == "report.json":  # one instance's report: {instance_id: {"resolved": bool, ...}}
            for iid, report in data.items():
                if isinstance(report, dict) and "resolved" in report:
                    out[str(iid)] = bool(report["resolved"])
    return out


def collect(cfg: DictConfig, samples: list[Sample], work: Path) -> list[ItemResult]:
    root = work / "openhands"
    if not root.is_dir():
        return []
    rows: dict[str, tuple[Path, dict]] = {}
    for output in sorted(root.rglob("output.jsonl")):
        for line in output.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except ValueError:
                continue  # a line cut by a kill: OpenHands redoes that instance
            if isinstance(row, dict) and row.get("instance_id"):
                rows[str(row["instance_id"])] = (output, row)
    graded = verdicts(root)
    out = []
    for iid, (output, row) in rows.items():
        if iid not in graded:
            continue  # not graded yet
        metrics = row.get("metrics") or {}
        usage = metrics.get("accumulated_token_usage") or {}
        patch = (row.get("test_result") or {}).get("git_patch") or ""
        verdict = graded[iid]
        out.append(ItemResult(iid, 1.0 if verdict else 0.0, trajectory=str(output.relative_to(work.parent)),
                              input_tokens=int(usage.get("prompt_tokens") or 0),
                              output_tokens=int(usage.get("completion_tokens") or 0),
                              cost_usd=metrics.get("accumulated_cost"),
                              error="swebench could not evaluate the patch" if verdict is None else None,
                              detail={"patch_lines": patch.count("\n"), "agent_error": row.get("error")}))
    return out


def settings(cfg: DictConfig) -> dict[str, Any]:
    runtime, facts = agentic.container_runtime()
    return {"agent": f"OpenHands ({REPOSITORY} at {COMMIT})", "grader": SWEBENCH,
            "max_iterations": int(cfg.task.max_iterations), "attempts": int(cfg.samples),
            "concurrency": int(cfg.task.concurrency), "container_runtime": runtime or f"none ({facts})"}


def size(cfg: DictConfig, samples: list[Sample]) -> dict[str, Any]:
    repos = sorted({s.meta.get("repo") for s in samples})
    return {"containers": 2 * len(samples), "images": f"one per instance ({len(samples)}), over {len(repos)} repositories",
            "disk": "swebench's instance images (the SWE-bench documentation: about 120 GB of free disk for its "
                    "docker images)"}


HARNESS = Harness(name="openhands-benchmarks", version=COMMIT[:12],
                  install=("-e", f"git+{REPOSITORY}.git@{COMMIT}#egg=openhands-benchmarks", SWEBENCH),
                  run=run, collect=collect, settings=settings, requirements=requirements, size=size, python="3.12",
                  source=f"OpenHands' SWE-bench runner is not on a package registry: {REPOSITORY} at commit {COMMIT}")

TASK = TaskSpec(
    load=load, score=agentic.score, harness=HARNESS, breakdown_by=("repo",),
    settings={"max_iterations": Setting(int, minimum=1, doc="agent steps per instance"),
              "concurrency": Setting(int, minimum=1, doc="instances at once")},
)
