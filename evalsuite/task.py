"""The task contract: what a benchmark module declares, once, as `TASK = TaskSpec(...)`.

The engine reads a task only through its spec: no optional hook is discovered by probing the
module. `resolve(cfg)` imports the module, takes its spec and checks every `task.<key>` of the
composed config against the engine's own keys and the task's declared settings, so a bad setting
(`task.code_block=middle`) stops the run before anything is loaded or generated.
docs/tasks.md describes each field.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from omegaconf import DictConfig, ListConfig, OmegaConf

from evalsuite.errors import UserError
from evalsuite.types import Figures, Grade, Headline, Sample, Score


@dataclass(frozen=True)
class Setting:
    """One `task.<key>` a task reads: the values it takes (choices), or its kind and lowest value."""

    kind: type | tuple[type, ...] = str  # int, float, str, bool, list (a YAML list), or a tuple of them
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    nullable: bool = False  # null is a value of its own (date_from: null = no lower bound)
    doc: str = ""  # what the setting means, shown with an error about its value
    # False: how the run is carried out (parallel workers, a scorer's time and memory caps), not what
    # it measures: a value other than the card config's is not reported as a deviation
    protocol: bool = True


@dataclass(frozen=True)
class JudgeHooks:
    """How a task is graded by another model (evalsuite/judge.py, docs/judges.md)."""

    # what to ask the judge about one answer: a list of evalsuite.judge_rules.JudgeAsk ([]: the task
    # decides alone, e.g. the math checker settled it); run in the killable workers
    requests: Callable[[Sample, str, DictConfig], list]
    # the grade from the judge's replies by slot (a pure parse, in the killable workers)
    score: Callable[[Sample, str, dict[str, str], DictConfig], Grade]
    # the task has no number without a judge: it declares no TaskSpec.score (without `required`,
    # TaskSpec.score grades a run that has no judge)
    required: bool = False
    calls_per_answer: int = 1  # for the dry run's sizing


@dataclass(frozen=True)
class TaskSpec:
    load: Callable[[DictConfig], list[Sample]]
    # one answer (after the thinking) -> Grade; must not raise on any model output. Runs in a killable
    # worker under task.score_timeout_s and task.score_memory_mb. None only for a task whose judge is
    # required (`judge=JudgeHooks(..., required=True)`): the judge's replies are its only grading
    score: Callable[[Sample, str, DictConfig], Grade] | None = None
    settings: Mapping[str, Setting] = field(default_factory=dict)
    # Sample.meta keys the engine breaks the score down by; a tuple of keys is one joint breakdown
    breakdown_by: tuple[str | tuple[str, ...], ...] = ()
    # figures the engine cannot derive from per-answer values (see Figures)
    figures: Callable[[dict[str, Sample], list[Score], DictConfig], Figures] | None = None
    # grades many answers at once in this process (code run in the sandbox, which enforces its own
    # per-program deadlines and memory caps); replaces `score` in the scoring stage when given
    score_batch: Callable[[list[tuple[Sample, str]], DictConfig], Iterable[Grade]] | None = None
    # the item as generation k sees it, when the prompt varies per k (GPQA's per-sample shuffle)
    sample_for_k: Callable[[Sample, int, DictConfig], Sample] | None = None
    # items whose prompt holds the model's answers to earlier items (SciCode's sub-steps): the ids an
    # item follows are its Sample.after; this builds the item as generation k sees it from
    # those items' k-th answers ({id: answer after the thinking, None when there is none}). The
    # generate stage then runs in rounds and scoring sees the same view (evalsuite/chain.py)
    chain: Callable[[Sample, dict[str, str | None], DictConfig], Sample] | None = None
    # are two extracted answers one maj@k vote (math: the grader's equivalence)? run in workers
    same_answer: Callable[[str, str], bool] | None = None
    # ways a run departs from the card's protocol that settings alone do not show
    deviations: Callable[[list[Sample], DictConfig], list[str]] | None = None
    # what grading ran under (the sandbox's isolation and limits), recorded in run.json
    scoring_environment: Callable[[DictConfig], dict] | None = None
    # the preflight's check for a task whose items are costly to build (NIAH): its problems
    preflight: Callable[[DictConfig], list[str]] | None = None
    # graded by a judge model (HLE, ArenaHard, the IMO autograder)
    judge: JudgeHooks | None = None
    # a headline that is not the mean of per-answer values (ArenaHard's pooled pairwise verdicts)
    headline: Callable[[dict[str, Sample], list[Score], DictConfig], Headline | None] | None = None
    # run by its official harness as a subprocess (evalsuite.agentic.Harness: BFCL, tau2 ...): the
    # harness makes the generations and its verdicts are imported; `score` reads them back
    harness: Any = None
    # (sample_id, prompt tokens) per item from the settings alone, for `evalsuite plan`, where
    # building the items costs hours (NIAH's 1M-token prompts)
    plan_prompts: Callable[[DictConfig], list[tuple[str, int]]] | None = None


def run_mode(cfg: DictConfig) -> str:
    """"standard", or "tir" (tool-integrated reasoning: the card's bracketed numbers); a task whose
    items differ in TIR (its prompt) reads it here."""
    return str(OmegaConf.select(cfg, "mode.name", default="standard") or "standard")


# The tool prompts a task may declare for mode=tir (`task.tir_prompt`), by name: each a file of
# evalsuite/card/, the system prompt of every turn of the run's conversations (docs/tir.md)
TOOL_PROMPTS = {"card": "tir_system_prompt.txt"}  # the card's tool prompt, word for word

# Keys every task may carry, read by the engine (evalsuite/configs/task/*.yaml and docs/tasks.md)
ENGINE_SETTINGS: dict[str, Setting] = {
    "name": Setting(str), "module": Setting(str), "benchmark": Setting(str, nullable=True),
    "group": Setting(str, nullable=True), "thinking": Setting(bool),
    "score_timeout_s": Setting((int, float), minimum=0, protocol=False),
    "score_memory_mb": Setting(int, minimum=64, protocol=False),
    "dataset": Setting(dict, nullable=True), "clamp_budget": Setting(bool), "long_context": Setting(bool),
    # judged tasks: the judge's prompt and reply-parse rule when the judge= config names none
    "judge_prompt": Setting(str, nullable=True), "judge_parse": Setting(str, nullable=True),
    # the task runs under mode=tir with this tool prompt (a family declares it: _math.yaml); null: it does not
    "tir_prompt": Setting(str, choices=tuple(TOOL_PROMPTS), nullable=True,
                          doc="the tool prompt of mode=tir runs, docs/tir.md; null: no mode=tir"),
}


# The task kit: the only evalsuite modules a task module (tasks/*.py) may import, each of which
# imports only kit modules itself, so tasks/ stands below the stages (pipeline, judge, tir, rundir,
# report ...). docs/tasks.md, "The kit", says what each is for; tests/test_kit.py holds both to it.
KIT = (
    # what a task uses
    "evalsuite.task", "evalsuite.types", "evalsuite.errors", "evalsuite.data", "evalsuite.store",
    "evalsuite.metrics", "evalsuite.scoring.math", "evalsuite.scoring.letters", "evalsuite.scoring.code",
    "evalsuite.scoring.strings", "evalsuite.render", "evalsuite.planning", "evalsuite.judge_rules",
    "evalsuite.agentic", "evalsuite.sandbox.programs", "evalsuite.sandbox.sessions",
    "evalsuite.sandbox.contest_judge", "evalsuite.contest_tasks", "evalsuite.nltk_data",
    # what those stand on
    "evalsuite.workers", "evalsuite.embedded", "evalsuite.sharding", "evalsuite.config",
    "evalsuite.sandbox.server", "evalsuite.sandbox.contest_server",
)


def preflight_problems(cfg: DictConfig, checks: Iterable[Callable[[], Any]]) -> list[str]:
    """A task's preflight lines from checks that raise UserError (a package loads, a file is here):
    every check runs, so one run of the preflight names every problem, not the first."""
    problems = []
    for check in checks:
        try:
            check()
        except UserError as e:
            problems.append(f"{cfg.task.name}: {e}")
    return problems


def import_spec(module_name: str, task_name: str) -> TaskSpec:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        raise UserError(f"task {task_name}: its module {module_name!r} cannot be imported ({e})") from None
    spec = getattr(module, "TASK", None)
    if not isinstance(spec, TaskSpec):
        raise UserError(f"task {task_name}: module {module_name} declares no `TASK = TaskSpec(...)` "
                        f"(docs/tasks.md shows the contract)")
    check_grading(spec, task_name, module_name)
    return spec


def check_grading(spec: TaskSpec, task_name: str, module_name: str) -> None:
    """Every answer has one grader: the task's `score`, or a judge the task cannot do without. The
    engine never calls `score` for the latter (without a judge= the run stops before grading), so
    a `score` there would be code that never runs."""
    required_judge = spec.judge is not None and spec.judge.required
    if spec.score is None and not required_judge:
        raise UserError(f"task {task_name}: module {module_name}'s TaskSpec declares no `score`; give it "
                        f"score=FUNCTION (one answer -> Grade), or judge=JudgeHooks(..., required=True) for a task "
                        f"only a judge can grade (docs/tasks.md)")
    if spec.score is not None and required_judge:
        raise UserError(f"task {task_name}: module {module_name}'s TaskSpec declares a `score` and a required judge; "
                        f"the engine grades it by the judge alone and never calls `score`: drop score= (or "
                        f"required=True, if `score` grades a run without a judge)")


def resolve(cfg: DictConfig) -> TaskSpec:
    """The task's spec, its settings checked (see module doc)."""
    spec = import_spec(str(cfg.task.module), str(cfg.task.name))
    check_settings(cfg, spec)
    return spec


def _plain(value: Any) -> Any:
    return OmegaConf.to_container(value, resolve=True) if isinstance(value, (DictConfig, ListConfig)) else value


def check_settings(cfg: DictConfig, spec: TaskSpec) -> None:
    name = cfg.task.name
    allowed = {**ENGINE_SETTINGS, **spec.settings}
    for key in cfg.task:
        value = _plain(cfg.task.get(key))
        setting = allowed.get(str(key))
        if setting is None:
            known = ", ".join(sorted(spec.settings)) or "none beyond the engine's"
            raise UserError(f"task.{key} is not a setting of task {name} (its own: {known}); fix the spelling "
                            f"or drop it")
        check_value(f"task.{key}", value, setting)


def check_value(where: str, value: Any, setting: Setting) -> None:
    if value is None:
        if setting.nullable or setting.kind is dict:
            return
        raise UserError(f"{where}=null is not allowed; give a value{_choices(setting)}{_doc(setting)}")
    kinds = setting.kind if isinstance(setting.kind, tuple) else (setting.kind,)
    if int in kinds and float in kinds:  # "an integer or a number" says less than "a number"
        kinds = tuple(k for k in kinds if k is not int)
    ok = any(_is_kind(value, kind) for kind in kinds)
    if not ok:
        names = " or ".join(dict.fromkeys(KIND_NAMES.get(k, k.__name__) for k in kinds))
        raise UserError(f"{where}={value!r} is not {names}{_choices(setting)}{_doc(setting)}")
    if setting.choices and value not in setting.choices:
        raise UserError(f"{where}={value!r} is not one of its values{_choices(setting)}{_doc(setting)}")
    if setting.minimum is not None and isinstance(value, (int, float)) and value < setting.minimum:
        raise UserError(f"{where}={value!r} must be at least {setting.minimum:g}")


KIND_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false", list: "a list",
              dict: "a mapping"}


def _is_kind(value: Any, kind: type) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    if kind in (int, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool) and (kind is float or value == int(value))
    return isinstance(value, kind)


def _doc(setting: Setting) -> str:
    return f" ({setting.doc})" if setting.doc else ""


def _choices(setting: Setting) -> str:
    return f"; choose one of: {', '.join(map(str, setting.choices))}" if setting.choices else ""
