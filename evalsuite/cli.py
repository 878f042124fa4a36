"""`evalsuite [overrides...]`: Hydra front end. Errors a user can cause print one line, exit 2.

    evalsuite task=aime25 model=smollm2-135m limit=2 samples=2 run_dir=/tmp/r
    evalsuite suite=smoke                      # several tasks, one table
    evalsuite task=aime25 stage=score responses=answers.jsonl
    evalsuite --cfg job task=hmmt_feb25        # print the resolved config
    evalsuite prepare suite=card data_dir=DIR  # fetch every input for nodes without network
    evalsuite explain run_dir=DIR              # where each task's gap to the card can come from
    evalsuite plan suite=card model=M backend=vllm  # requests, tokens, engines, GPU-hours before a run

Exit status: 0 done; 2 a mistake the user can fix (one line naming cause and fix); 3 a suite ran
but some of its tasks could not (their rows read "not run: <reason>", the other tasks' numbers
stand); 130 interrupted. Whatever the status, the process ends within seconds of its last line:
the engines and every process the run started are stopped first (`release_processes`).
"""
from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from evalsuite.config import CONFIG_DIR, check_repeated_keys, compose, task_configs
from evalsuite.errors import EngineDied, UserError

EXIT_USER_ERROR, EXIT_TASKS_FAILED = 2, 3


def os_error_text(e: OSError) -> str:
    where = f": {e.filename}" if e.filename else ""
    return f"{e.strerror or e}{where} (check run_dir=... and free space)"


def failure_text(e: BaseException) -> str:
    """One line: why a task of a suite could not run, and what to do."""
    if isinstance(e, UserError):
        text = str(e)
    elif isinstance(e, OSError):
        text = os_error_text(e)
    else:  # a backend's error (CUDA out of memory, a dead engine) or ours: its traceback is printed above
        if isinstance(e, EngineDied) and e.__cause__ is not None:
            e = e.__cause__
        first = (str(e).strip().splitlines() or [""])[0][:300]
        text = (f"{type(e).__name__}: {first} (the traceback is above the table; fix the cause and rerun "
                f"the same command: finished tasks are kept)")
    return " ".join(text.split())


def run_config(cfg: DictConfig, user_overrides: list[str]) -> tuple[list[dict], dict[str, str]]:
    """Runs the task or suite; returns (summaries, {task: reason} for the suite's tasks that failed).
    A suite goes on past a task that fails: the task is recorded with its reason and its row in the
    table reads "not run: <reason>"."""
    from evalsuite import backends, data, pipeline, preflight, report

    cfgs = task_configs(cfg, user_overrides)
    in_suite = bool(cfg.get("suite"))
    if in_suite:
        print(f"suite {cfg.suite.name}: {', '.join(cfg.suite.tasks)} | model {cfg.model.name} | backend {cfg.backend.name}",
              file=sys.stderr)
    if cfg.get("data_dir"):
        for task_cfg in cfgs:
            data.use_data_dir(task_cfg)
    else:
        offline = data.ensure_fast_hub_failures()
        if offline:
            print(f"note: {offline}", file=sys.stderr)
    checked = [c for c in cfgs if preflight.wanted(c)]
    if checked:
        preflight.check(checked)
    if cfg.get("data_dir"):
        print(f"data_dir {cfg.data_dir}: every dataset (and the model, if prepared) from there; no network used",
              file=sys.stderr)
    summaries: list[dict] = []
    failures: dict[str, str] = {}
    order = pipeline.by_engine(cfgs) if in_suite else list(range(len(cfgs)))
    if order != sorted(order):
        print(f"suite {cfg.suite.name}: tasks grouped by engine configuration (each starts once): "
              f"{', '.join(str(cfgs[i].task.name) for i in order)}", file=sys.stderr)
    vllm_backend = sys.modules.get("evalsuite.backends.vllm")
    starts_before = len(vllm_backend.ENGINE_STARTS) if vllm_backend else 0
    engine_died: str | None = None  # the first death's reason: the engine is restarted once
    try:
        position = 0
        while position < len(order):
            task_cfg = cfgs[order[position]]
            name = str(task_cfg.task.name)
            try:
                summary = pipeline.run_task(task_cfg)
            except EngineDied as e:
                backends.close_all()  # the next task never inherits an engine that just failed
                if not in_suite:
                    raise
                traceback.print_exc()
                if engine_died is None:
                    engine_died = failure_text(e)
                    print(f"[{name}] the engine failed ({engine_died}); starting a fresh one and running "
                          f"{name} again (once per suite)", file=sys.stderr)
                    continue
                reason = (f"the engine failed twice, once restarted ({failure_text(e)}); "
                          f"fix the cause and rerun the same command: finished tasks are kept")
                for rest in order[position:]:
                    record_not_run(cfgs[rest], reason, failures)
                break
            except Exception as e:
                if not in_suite:
                    raise
                if not isinstance(e, (UserError, OSError)):
                    traceback.print_exc()
                record_not_run(task_cfg, failure_text(e), failures)
            else:
                if summary is not None:
                    summaries.append(summary)
            position += 1
    finally:
        backends.close_all()
    if in_suite:
        vllm_backend = sys.modules.get("evalsuite.backends.vllm")
        starts = vllm_backend.ENGINE_STARTS[starts_before:] if vllm_backend else []
        configurations = len({k for k in map(pipeline.engine_configuration, cfgs) if k is not None})
        if starts or configurations:  # bench/gpu_session.py reads this line
            print(f"suite {cfg.suite.name}: {len(starts)} engine start(s) for {configurations} engine "
                  f"configuration(s), {sum(s['seconds'] for s in starts):.1f} s starting", file=sys.stderr)
        rank = {str(c.task.name): i for i, c in enumerate(cfgs)}  # the table in the suite's own order
        summaries.sort(key=lambda s: rank.get(str(s.get("task") if isinstance(s, dict) else s.task), len(rank)))
    if cfg.get("dry_run"):
        if summaries:
            from evalsuite.dryrun import dry_run_table

            print(dry_run_table(summaries))
    elif summaries or failures:
        print(report.write_run_report(Path(cfgs[0].run_dir), summaries))
    if failures:
        print(f"suite {cfg.suite.name}: {len(failures)} of {len(cfgs)} tasks not run "
              f"({', '.join(failures)}); exit status {EXIT_TASKS_FAILED}", file=sys.stderr)
    return summaries, failures


def record_not_run(task_cfg: DictConfig, reason: str, failures: dict[str, str]) -> None:
    """A suite's task that could not run: its reason on stderr, in failures and in its failure.json."""
    from evalsuite import pipeline

    name = str(task_cfg.task.name)
    failures[name] = reason
    print(f"[{name}] not run: {reason}", file=sys.stderr)
    try:
        pipeline.record_failure(task_cfg, reason)
    except OSError:
        pass  # an unwritable run_dir: the line above and the exit status still say it


@hydra.main(config_path=str(CONFIG_DIR), config_name="config", version_base="1.3")
def _hydra_entry(cfg: DictConfig) -> None:
    overrides = list(HydraConfig.get().overrides.task)
    try:
        _, failures = run_config(cfg, overrides)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)
    except OSError as e:  # the environment, not the input: an unwritable run_dir, a full disk
        print(f"error: {os_error_text(e)}", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)
    if failures:
        sys.exit(EXIT_TASKS_FAILED)


def main(argv: list[str] | None = None) -> None:
    code = 1  # an exception nobody caught
    try:
        _main(argv)
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        raise
    finally:
        release_processes(code)


def _main(argv: list[str] | None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] == "status":
            from evalsuite.pipeline import run_status

            if len(argv) != 2:
                raise UserError("usage: evalsuite status RUN_DIR")
            print(run_status(Path(argv[1].removeprefix("run_dir="))))
            sys.exit(0)
        if argv and argv[0] in ("report", "compare"):
            sys.exit(report_command(argv))
        if argv and argv[0] == "explain":
            sys.exit(explain_command(argv[1:]))
        if argv and argv[0] == "plan":
            sys.exit(plan_command(argv[1:]))
        if argv and argv[0] == "prepare":
            sys.exit(prepare_command(argv[1:]))
        multirun_or_help = any(a in ("-m", "--multirun", "--help", "-h", "--hydra-help") for a in argv)
        check_repeated_keys(argv)  # the user's own line; make eval's chosen overrides below may be overridden
        if os.environ.get("EVALSUITE_PROFILE") == "auto" and not multirun_or_help:
            # `make eval`: the card's suite on a GPU node with vLLM, else the smoke suite; the
            # user's own overrides come last and win
            from evalsuite.machine import choice_banner, choose_run

            choice = choose_run([a for a in argv if "=" in a and not a.startswith("-")])
            argv = [*choice.overrides, *argv]
            print(choice_banner(choice), file=sys.stderr)
        # validate plain overrides up front: Hydra's own failure is a paragraph and exit 1
        if not multirun_or_help:
            # `~group` is Hydra's removal of a config group (`~judge`: grade without a judge)
            compose([a for a in argv if not a.startswith("-") and ("=" in a or a.startswith("~"))])
            bad = [a for a in argv if not a.startswith(("-", "~")) and "=" not in a
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


# ---------------------------------------------------------------- the subcommands' arguments

REPORT_USAGE = "usage: evalsuite report run_dir=DIR [plots=false]  |  evalsuite compare RUN_DIR RUN_DIR [...] [out=DIR]"
EXPLAIN_USAGE = "usage: evalsuite explain run_dir=DIR [plots=false]"
PREPARE_USAGE = "usage: evalsuite prepare suite=NAME|task=NAME data_dir=DIR [prepare.model=true] [overrides ...]"
PLAN_USAGE = ("usage: evalsuite plan suite=NAME|task=NAME [model=M backend=B ...] [calibration=RUN_DIR] [gpu=H200] "
              "[shards=N]")


def parse_args(argv: list[str], usage: str, allowed: set[str], command: str) -> tuple[dict[str, str], list[str]]:
    """A subcommand's `key=value` options (each one it takes) and its positional arguments; -h prints
    its usage."""
    options, positional = {}, []
    for a in argv:
        if a in ("-h", "--help"):
            raise UserError(usage)
        if "=" in a:
            key, _, value = a.partition("=")
            options[key.lstrip("+")] = value
        else:
            positional.append(a)
    unknown = set(options) - allowed
    if unknown:
        raise UserError(f"evalsuite {command}: unknown option {sorted(unknown)[0]!r}; {usage}")
    return options, positional


def one_run_dir(command: str, options: dict[str, str], positional: list[str], usage: str) -> Path:
    """The one run directory a subcommand reads (`run_dir=DIR` or a bare DIR), checked to hold tasks."""
    from evalsuite.rundir import is_task_dir

    dirs = ([options["run_dir"]] if "run_dir" in options else []) + positional
    if len(dirs) != 1:
        raise UserError(f"evalsuite {command} takes one run directory; {usage}")
    run_dir = Path(dirs[0])
    if not run_dir.is_dir():
        raise UserError(f"run directory {run_dir} not found (give the run_dir=... of an earlier run)")
    if not any(is_task_dir(p) for p in run_dir.iterdir()):
        raise UserError(f"{run_dir}: no task directories here (is it the run_dir=... of a run?)")
    return run_dir


def wants_plots(options: dict[str, str]) -> bool:
    return options.get("plots", "true").lower() not in ("false", "0", "no")


def report_command(argv: list[str]) -> int:
    """`evalsuite report run_dir=DIR` rebuilds a run's report; `evalsuite compare DIR DIR...` sets runs side by side."""
    from evalsuite import report

    if not argv or argv[0] not in ("report", "compare"):
        raise UserError(REPORT_USAGE)
    command = argv[0]
    options, positional = parse_args(argv[1:], REPORT_USAGE, {"run_dir", "plots"} if command == "report" else {"out"},
                                     command)
    if command == "report":
        run_dir = one_run_dir("report", options, positional, REPORT_USAGE)
        print(report.write_run_report(run_dir, [], extras=wants_plots(options)))
        return 0
    if len(positional) < 2:
        raise UserError(f"evalsuite compare needs two or more run directories; {REPORT_USAGE}")
    dirs = [Path(p) for p in positional]
    for d in dirs:
        if not d.is_dir():
            raise UserError(f"run directory {d} not found")
    out = Path(options["out"]) if options.get("out") else report.default_compare_dir(dirs)
    print(report.compare_runs(dirs, out))
    return 0


def explain_command(argv: list[str]) -> int:
    from evalsuite import explain

    options, positional = parse_args(argv, EXPLAIN_USAGE, {"run_dir", "plots"}, "explain")
    run_dir = one_run_dir("explain", options, positional, EXPLAIN_USAGE)
    text, _ = explain.write_explain(run_dir, plot=wants_plots(options))
    print(text + f"explain: {run_dir / 'explain.md'} (also explain.json, plot_gap.png)")
    return 0


def prepare_command(argv: list[str]) -> int:
    """`evalsuite prepare OVERRIDES`: 0 when everything was fetched, 3 when some of it could not be."""
    from evalsuite.prepare import prepare_run

    if not argv or any(a in ("-h", "--help") for a in argv):
        raise UserError(PREPARE_USAGE)
    bad = [a for a in argv if "=" not in a]
    if bad:
        raise UserError(f"unrecognised argument {bad[0]!r}; {PREPARE_USAGE}")
    cfg = compose(argv)
    if not cfg.get("data_dir"):
        raise UserError(f"evalsuite prepare needs data_dir=DIR (where to put everything); {PREPARE_USAGE}")
    if not cfg.get("suite") and not any(a.startswith("task=") for a in argv):
        raise UserError(f"evalsuite prepare needs suite=NAME or task=NAME; {PREPARE_USAGE}")
    return prepare_run(cfg, argv)


def plan_command(argv: list[str]) -> int:
    """`evalsuite plan OVERRIDES [calibration=RUN_DIR] [gpu=NAME]`: the run's cost, printed."""
    from evalsuite.plan import DEFAULT_GPU, plan_run

    if any(a in ("-h", "--help") for a in argv):
        raise UserError(PLAN_USAGE)
    bad = [a for a in argv if "=" not in a]
    if bad:
        raise UserError(f"unrecognised argument {bad[0]!r}; {PLAN_USAGE}")
    own = ("calibration=", "gpu=")  # the plan's own options; everything else configures the run it prices
    options = {a.split("=", 1)[0]: a.split("=", 1)[1] for a in argv if a.startswith(own)}
    overrides = [a for a in argv if not a.startswith(own)]
    cfg = compose(overrides)
    print(plan_run(cfg, task_configs(cfg, overrides), options.get("calibration"), options.get("gpu") or DEFAULT_GPU))
    return 0


# ---------------------------------------------------------------- the end of the process

def release_processes(code: int, grace_s: float = 3.0, exit_after_s: float = 15.0) -> None:
    """The run is over: stop what it started so the process exits within seconds of its last line
    (on a cluster a lingering job holds its GPUs until its time limit). The engines first, through
    their own teardown; then any multiprocessing child still alive (vLLM's engine core, a worker),
    terminated and if need be killed with its own children; and should the interpreter's exit still
    block after that (a non-daemon thread, an exit handler waiting on something else), a watchdog
    ends the process with the same status."""
    from evalsuite.backends import close_all

    try:
        close_all()
    except Exception as e:  # noqa: BLE001 - a failing teardown must not keep the process alive
        print(f"[evalsuite] warning: engine shutdown failed ({type(e).__name__}: {e})", file=sys.stderr)
    stopped = end_children(grace_s)
    if stopped:
        print(f"[evalsuite] stopped {len(stopped)} process(es) still running at exit: {', '.join(stopped)}",
              file=sys.stderr)
    exit_watchdog(code, exit_after_s)


def end_children(grace_s: float) -> list[str]:
    """Multiprocessing children of this process still alive `grace_s` seconds from now: SIGTERM (vLLM's
    engine core shuts down on it), SIGKILL 5 s later if need be, and their own children killed with
    them. Returns "name (pid N)" for each one stopped."""
    import multiprocessing as mp

    deadline = time.monotonic() + grace_s
    for p in mp.active_children():
        p.join(max(0.0, deadline - time.monotonic()))
    left = mp.active_children()
    if not left:
        return []
    grandchildren = [pid for p in left for pid in descendants(p.pid)]
    for p in left:
        p.terminate()
    for p in left:
        p.join(5)
        if p.is_alive():
            p.kill()
            p.join(2)
    for pid in grandchildren:
        try:
            os.kill(pid, 9)
        except (ProcessLookupError, PermissionError):
            pass
    return [f"{p.name} (pid {p.pid})" for p in left]


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, from /proc (empty where there is no /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = entry.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.parent.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def exit_watchdog(code: int, after_s: float) -> None:
    """A daemon thread that ends the process `after_s` seconds from now if it is still alive,
    naming what held it up."""
    def fire() -> None:
        time.sleep(after_s)
        waiting = [t.name for t in threading.enumerate()
                   if not t.daemon and t is not threading.main_thread() and t is not threading.current_thread()]
        print(f"[evalsuite] the process had not exited {after_s:.0f} s after the run ended "
              f"(non-daemon threads: {', '.join(waiting) or 'none'}); forcing exit status {code}", file=sys.stderr)
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 - a closed stream must not stop the exit
                pass
        os._exit(code)

    threading.Thread(target=fire, name="evalsuite-exit-watchdog", daemon=True).start()
