"""`evalsuite [overrides...]`: Hydra front end. Errors a user can cause print one line, exit 2.

    evalsuite task=aime25 model=smollm2-135m limit=2 samples=2 run_dir=/tmp/r
    evalsuite suite=smoke                      # several tasks, one table
    evalsuite task=aime25 stage=score responses=answers.jsonl
    evalsuite --cfg job task=hmmt_feb25        # print the resolved config
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from evalsuite.config import CONFIG_DIR, compose
from evalsuite.errors import UserError


def run_config(cfg: DictConfig, user_overrides: list[str]) -> list[dict]:
    """One task, or every task of the suite (each composed with its own protocol, then the suite's
    settings, then the user's overrides, which win)."""
    from evalsuite import pipeline, report

    if cfg.get("suite"):
        overrides = [o for o in user_overrides if not o.startswith(("task=", "suite="))]
        per_task = cfg.suite.get("per_task") or {}
        cfgs = [compose([f"task={t}", *cfg.suite.get("overrides", []), *per_task.get(t, []), *overrides])
                for t in cfg.suite.tasks]
        print(f"suite {cfg.suite.name}: {', '.join(cfg.suite.tasks)} | model {cfg.model.name} | backend {cfg.backend.name}",
              file=sys.stderr)
    else:
        cfgs = [cfg]
    summaries = []
    for task_cfg in cfgs:
        summary = pipeline.run_task(task_cfg)
        if summary is not None:
            summaries.append(summary)
    if cfg.get("dry_run") and summaries:
        from evalsuite.dryrun import dry_run_table

        print(dry_run_table(summaries))
    if summaries and not cfg.get("dry_run"):
        run_dir = Path(cfgs[0].run_dir)
        print(report.write_run_report(run_dir, summaries))
    return summaries


@hydra.main(config_path=str(CONFIG_DIR), config_name="config", version_base="1.3")
def _hydra_entry(cfg: DictConfig) -> None:
    overrides = list(HydraConfig.get().overrides.task)
    try:
        run_config(cfg, overrides)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except OSError as e:  # the environment, not the input: an unwritable run_dir, a full disk
        where = f": {e.filename}" if e.filename else ""
        print(f"error: {e.strerror or e}{where} (check run_dir=... and free space)", file=sys.stderr)
        sys.exit(2)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] == "status":
            from evalsuite.pipeline import run_status

            if len(argv) != 2:
                raise UserError("usage: evalsuite status RUN_DIR")
            print(run_status(Path(argv[1].removeprefix("run_dir="))))
            sys.exit(0)
        if argv and argv[0] in ("report", "compare"):
            from evalsuite import report

            sys.exit(report.main(argv))
        multirun_or_help = any(a in ("-m", "--multirun", "--help", "-h", "--hydra-help") for a in argv)
        if os.environ.get("EVALSUITE_PROFILE") == "auto" and not multirun_or_help:
            # `make eval`: the card's suite on a GPU node with vLLM, else the smoke suite; the
            # user's own overrides come last and win
            from evalsuite.dryrun import choice_banner, choose_run

            choice = choose_run([a for a in argv if "=" in a and not a.startswith("-")])
            argv = [*choice.overrides, *argv]
            print(choice_banner(choice), file=sys.stderr)
        # validate plain overrides up front: Hydra's own failure is a paragraph and exit 1
        if not multirun_or_help:
            compose([a for a in argv if not a.startswith("-") and "=" in a])
            bad = [a for a in argv if not a.startswith("-") and "=" not in a
                   and not (argv.index(a) > 0 and argv[argv.index(a) - 1] in ("--cfg", "-c", "--package", "-p"))]
            if bad:
                raise UserError(f"unrecognised argument {bad[0]!r}; overrides look like key=value (e.g. task=aime25)")
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    sys.argv = [sys.argv[0], *argv]
    try:
        _hydra_entry()
    except KeyboardInterrupt:
        print("interrupted: rerun the same command to resume where it stopped", file=sys.stderr)
        sys.exit(130)
