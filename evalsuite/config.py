"""Composing configs outside the command line: suites (one composition per task), the task's own
protocol defaults (to flag deviations), tests and notebooks. One entry point: compose()."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from evalsuite.errors import UserError
from evalsuite.task import run_mode

CONFIG_DIR = Path(__file__).resolve().parent / "configs"  # inside the package: a wheel carries it
GROUPS = ("task", "model", "backend", "suite", "data", "mode", "judge")


def options(group: str) -> list[str]:
    """The choices of a config group; `_name.yaml` files are family bases (evalsuite/configs/task/_math.yaml)
    that benchmarks extend, not choices of their own."""
    return sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml") if not p.stem.startswith("_"))


def check_group_choice(override: str) -> None:
    """`task=nope` -> one line naming the choices (Hydra's own message is a paragraph)."""
    key, _, value = override.partition("=")
    key = key.lstrip("+~")
    if key in GROUPS and value and value != "null" and "," not in value and value not in options(key):
        raise UserError(f"unknown {key} {value!r}; choose one of: {', '.join(options(key))} ({key}=NAME)")


def check_repeated_keys(overrides: list[str]) -> None:
    """`task=aime25 ... task=gpqa_diamond` on one command line: Hydra silently takes the last, so
    the user's first choice is lost without a word. A key given twice with different values is
    refused, naming both (the same value twice changes nothing and passes)."""
    seen: dict[str, str] = {}
    for o in overrides:
        if o.startswith("-") or "=" not in o:
            continue
        key, _, value = o.partition("=")
        key = key.lstrip("+~")
        if key in seen and seen[key] != value:
            raise UserError(f"{key} is given twice, {key}={seen[key]} and {key}={value}; keep the one you mean")
        seen[key] = value


def compose(overrides: list[str]) -> DictConfig:
    """The resolved config for these overrides, as the CLI would build it."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    for o in overrides:
        check_group_choice(o)
    try:
        if GlobalHydra.instance().is_initialized():
            cfg = hydra_compose(config_name="config", overrides=list(overrides))
        else:
            with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
                cfg = hydra_compose(config_name="config", overrides=list(overrides))
        check_added_keys(list(overrides), cfg)
        return cfg
    except UserError:
        raise
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise UserError(f"bad override: {first} (syntax: key=value; `evalsuite --cfg job` lists the keys)") from None


# what the backends read from sampling.* (evalsuite/backends): any other key would be ignored
SAMPLING_KEYS = ("temperature", "top_p", "max_tokens", "top_k", "min_p", "repetition_penalty",
                 "presence_penalty", "frequency_penalty", "stop")


def check_added_keys(overrides: list[str], cfg: DictConfig) -> None:
    """`+sampling.temprature=0.5` adds a key nothing reads while the real setting keeps its value:
    refuse an added key that is a near-miss of an existing one, and any sampling key no backend reads."""
    import difflib

    for o in overrides:
        if not o.startswith("+") or o.startswith("++"):
            continue
        key = o[1:].partition("=")[0]
        if "@" in key:  # a config group added at another package (+judge@judge_variant=NAME), not a key
            continue
        parent, _, leaf = key.rpartition(".")
        node = OmegaConf.select(cfg, parent) if parent else cfg
        if not OmegaConf.is_dict(node):
            continue
        siblings = [k for k in node.keys() if k != leaf]
        if parent == "sampling":
            siblings = sorted(set(siblings) | set(SAMPLING_KEYS))
        near = difflib.get_close_matches(leaf, siblings, n=1, cutoff=0.75)
        if near:
            raise UserError(f"+{key} adds a new key; did you mean {parent + '.' if parent else ''}{near[0]}= ?")
        if parent == "sampling" and leaf not in SAMPLING_KEYS:
            raise UserError(f"+{key}: no backend reads sampling.{leaf}; the sampling keys are {', '.join(SAMPLING_KEYS)}")


def task_defaults(name: str, mode: str = "standard") -> DictConfig | None:
    """The task's protocol as its YAML (and its mode's) states it, before any override."""
    try:
        return compose([f"task={name}", f"mode={mode}"])
    except UserError:
        return None


@lru_cache(maxsize=None)
def tir_tasks() -> tuple[str, ...]:
    """The tasks that declare a tool prompt for mode=tir (`task.tir_prompt`, most through their
    family: _math.yaml), by name: read from their configs, never listed by hand."""
    return tuple(name for name in options("task")
                 if (cfg := task_defaults(name)) is not None and cfg.task.get("tir_prompt"))


def task_configs(cfg: DictConfig, user_overrides: list[str]) -> list[DictConfig]:
    """One task, or every task of the suite (each composed with its own protocol, then the suite's
    settings, then the user's overrides, which win). A suite run under mode=tir holds only tasks
    that declare a tool prompt."""
    if not cfg.get("suite"):
        return [cfg]
    # suite.* overrides shaped the suite itself (its tasks, per-task settings): not a task's keys
    overrides = [o for o in user_overrides if not o.lstrip("+~").startswith(("task=", "suite=", "suite."))]
    per_task = cfg.suite.get("per_task") or {}
    cfgs = [compose([f"task={t}", *cfg.suite.get("overrides", []), *per_task.get(t, []), *overrides])
            for t in cfg.suite.tasks]
    undeclared = [str(c.task.name) for c in cfgs if run_mode(c) == "tir" and not c.task.get("tir_prompt")]
    if undeclared:
        raise UserError(f"suite {cfg.suite.name} runs mode=tir, but {', '.join(undeclared)} declare(s) no tool prompt "
                        f"(task.tir_prompt; the tasks that do: {', '.join(tir_tasks())}); drop those from "
                        f"suite.tasks or drop mode=tir")
    return cfgs
