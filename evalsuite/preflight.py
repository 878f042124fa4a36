"""Before any GPU time: what can be checked on a CPU, for every task of the run, all problems at once.

Per task (its own composed config): its settings; its run directory writable; the backend
installed; the model's tokenizer; its data (every item loads, gated data has a token, a missing
hub is a fast failure); every prompt + max_tokens within max_model_len. A task whose items are
costly to build checks itself instead of loading them (`preflight(cfg) -> list[str]` in its
module: NIAH). The run stops before any weights are loaded when something is wrong;
`preflight=false` skips the check (a suite then marks the tasks that fail as "not run").
"""
from __future__ import annotations

import sys
import time
from typing import Callable

from omegaconf import DictConfig

from evalsuite.errors import UserError


def wanted(cfg: DictConfig) -> bool:
    """Only a run that will generate is worth checking: scoring and reports spend no GPU time."""
    return (bool(cfg.get("preflight", True)) and not cfg.get("dry_run") and not cfg.get("responses")
            and str(cfg.stage) in ("generate", "all"))


def _attempt(fn: Callable[[], object], problems: list[str]) -> object | None:
    """fn's result, or None with its one-line reason added to the problems."""
    try:
        return fn()
    except UserError as e:
        problems.append(str(e))
    except OSError as e:
        problems.append(f"{e.strerror or e}: {e.filename or ''}".rstrip(": "))
    return None


def check_task(cfg: DictConfig) -> list[str]:
    """The problems of one task, each one line naming the cause and the fix; [] when it can run."""
    from evalsuite import pipeline
    from evalsuite.dryrun import measure_task, misfit_text
    from evalsuite.render import load_tokenizer
    from evalsuite.rundir import task_dir
    from evalsuite.store import unwritable
    from evalsuite.task import resolve

    problems: list[str] = []
    if _attempt(lambda: pipeline.settle(cfg), problems) is None:
        return problems
    root = task_dir(cfg)
    why = unwritable(root)
    if why:
        problems.append(f"run_dir {cfg.run_dir} is not writable ({why}); pick another run_dir=...")
    conflict = _attempt(lambda: pipeline.settings_conflict(cfg, root), problems)
    if conflict:
        problems.append(str(conflict))
    if cfg.backend.name == "vllm":
        from evalsuite.backends.vllm import vllm_module_name

        _attempt(lambda: vllm_module_name(cfg), problems)
    spec_problems: list[str] = []
    spec = _attempt(lambda: resolve(cfg), spec_problems)
    # an official harness talks to a served model: this machine needs no tokenizer for it
    tokenizer = None if spec is not None and spec.harness is not None else _attempt(lambda: load_tokenizer(cfg.model), problems)
    problems += spec_problems
    if spec is None:
        return problems
    from evalsuite.judge import judge_problems

    problems += _attempt(lambda: judge_problems(cfg, spec), problems) or []
    if spec.harness is not None:  # an official harness: its venv, the machine, the endpoint
        from evalsuite import agentic_stage

        problems += _attempt(lambda: agentic_stage.preflight(cfg, spec), problems) or []
        return problems
    if spec.preflight is not None:
        problems += _attempt(lambda: spec.preflight(cfg), problems) or []
        return problems
    samples = _attempt(lambda: pipeline.load_samples(cfg, spec), problems)
    if samples is None or tokenizer is None:
        return problems
    size = _attempt(lambda: measure_task(cfg, samples, spec), problems)
    if size is not None and size.misfits:
        problems.append(misfit_text(size))
    return problems


def check(cfgs: list[DictConfig]) -> None:
    """Every task checked; raises one UserError listing all problems (the same problem in several
    tasks, e.g. a tokenizer that cannot load, is listed once with their names)."""
    t0 = time.perf_counter()
    by_problem: dict[str, list[str]] = {}
    for cfg in cfgs:
        for problem in check_task(cfg):
            by_problem.setdefault(problem, []).append(str(cfg.task.name))
    seconds = time.perf_counter() - t0
    if not by_problem:
        if len(cfgs) > 1:
            print(f"preflight: {len(cfgs)} tasks ready ({seconds:.1f} s)", file=sys.stderr)
        return
    lines = [f"{', '.join(tasks)}: {problem}" for problem, tasks in by_problem.items()]
    if len(lines) == 1:
        raise UserError(lines[0])
    raise UserError(f"preflight found {len(lines)} problems in {seconds:.1f} s; nothing was started "
                    f"(fix them, or preflight=false to run the tasks that can):\n" + "\n".join(f"  - {line}" for line in lines))
