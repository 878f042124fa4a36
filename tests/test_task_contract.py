"""The task contract (evalsuite/task.py): every task declares it, a bad setting stops the run before
anything is loaded or generated, the engine's one group-by, and the engine's import graph has no
circles."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from evalsuite import summary as summaries
from evalsuite import task as contract
from evalsuite.config import CONFIG_DIR, compose
from evalsuite.errors import UserError
from evalsuite.types import Sample, Score
from tests.conftest import ROOT, assert_one_line_error


def task_names() -> list[str]:
    return sorted(p.stem for p in (CONFIG_DIR / "task").glob("*.yaml") if not p.stem.startswith("_"))


@pytest.mark.parametrize("name", task_names())
def test_every_task_declares_its_contract_and_its_defaults_satisfy_it(name):
    cfg = compose([f"task={name}"])
    spec = contract.resolve(cfg)
    assert isinstance(spec, contract.TaskSpec) and callable(spec.load)
    # a grader for every answer: the task's own, or a judge it cannot do without (then no `score` at all)
    required_judge = spec.judge is not None and spec.judge.required
    assert (spec.score is None) == required_judge and (required_judge or callable(spec.score))
    assert set(cfg.task) <= set(contract.ENGINE_SETTINGS) | set(spec.settings)


@pytest.mark.parametrize("override, needle", [
    ("task.code_block=middle", "task.code_block='middle' is not one of its values; choose one of: last, first"),
    ("task.timeout_s=abc", "task.timeout_s='abc' is not a number"),
    ("task.workers=0", "task.workers=0 must be at least 1"),
    ("+task.code_blok=first", "did you mean task.code_block= ?"),  # a near miss: the config layer says
    ("+task.speed=3", "task.speed is not a setting of task livecodebench"),
])
def test_a_bad_setting_fails_before_anything_is_generated(cli, tmp_path, override, needle):
    run = tmp_path / "run"
    assert_one_line_error(cli("task=livecodebench", "data=sample", override, f"run_dir={run}"), needle)
    assert not (run / "livecodebench" / "generations.jsonl").exists()


def test_each_tasks_own_settings_and_the_engines_are_checked():
    cfg = compose(["task=aime25", "task.prompt=fancy"])
    with pytest.raises(UserError, match="task.prompt='fancy' is not one of its values; choose one of: card, simple"):
        contract.resolve(cfg)
    cfg = compose(["task=gpqa_diamond", "task.thinking=maybe"])
    with pytest.raises(UserError, match="task.thinking='maybe' is not true or false"):
        contract.resolve(cfg)


def test_a_module_without_a_spec_is_named():
    cfg = OmegaConf.create({"task": {"name": "mine", "module": "evalsuite.metrics"}})
    with pytest.raises(UserError, match=r"module evalsuite.metrics declares no `TASK = TaskSpec\(...\)`"):
        contract.resolve(cfg)
    cfg = OmegaConf.create({"task": {"name": "mine", "module": "tasks.nope"}})
    with pytest.raises(UserError, match="its module 'tasks.nope' cannot be imported"):
        contract.resolve(cfg)


def test_a_task_without_a_grader_is_named(tmp_path, monkeypatch):
    """`score` is left out by a task whose judge is required, and only by it; any other is stopped when resolved."""
    (tmp_path / "ungraded_task.py").write_text(
        "from evalsuite.task import JudgeHooks, TaskSpec\n"
        "TASK = TaskSpec(load=lambda cfg: [])\n"
        "JUDGED = TaskSpec(load=lambda cfg: [], judge=JudgeHooks(requests=lambda s, a, c: [], score=None))\n"
        "BOTH = TaskSpec(load=lambda cfg: [], score=lambda s, a, c: None,\n"
        "                judge=JudgeHooks(requests=lambda s, a, c: [], score=None, required=True))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = OmegaConf.create({"task": {"name": "mine", "module": "ungraded_task"}})
    with pytest.raises(UserError, match=r"TaskSpec declares no `score`; give it score=FUNCTION .* or "
                                        r"judge=JudgeHooks\(\.\.\., required=True\)"):
        contract.resolve(cfg)
    import ungraded_task

    with pytest.raises(UserError, match="declares no `score`"):  # a judge it can do without needs a `score`
        contract.check_grading(ungraded_task.JUDGED, "mine", "ungraded_task")
    with pytest.raises(UserError, match="never calls `score`: drop score="):  # no stub beside a required judge
        contract.check_grading(ungraded_task.BOTH, "mine", "ungraded_task")


def test_the_engine_groups_by_declared_meta_keys_alone_and_jointly():
    samples = {"a": Sample("a", [], None, {"domain": "x", "level": 1}),
               "b": Sample("b", [], None, {"domain": "x", "level": 2}),
               "c": Sample("c", [], None, {"domain": "y"})}
    scores = [Score("a", 0, 1.0, "1", False, False), Score("a", 1, 0.0, "0", False, False),
              Score("a", 2, 0.0, "0", False, False), Score("b", 0, 1.0, "1", False, False),
              Score("c", 0, 0.0, None, True, False)]
    cells = summaries.breakdown_cells(scores, samples, ("domain", ("domain", "level")))
    by = {tuple(c.by.items()): (c.value, c.items) for c in cells}
    # per item, then over items: a = 1/3, b = 1 -> x = 66.7 (a flat mean of the 4 answers would say 50)
    assert by[(("domain", "x"),)] == (pytest.approx(200 / 3), 2)
    assert by[(("domain", "y"),)] == (0.0, 1)
    assert by[(("domain", "x"), ("level", 1))] == (pytest.approx(100 / 3), 1)
    assert by[(("domain", "y"), ("level", "?"))] == (0.0, 1)  # no such key: its own group, named "?"


def test_per_answer_variants_average_like_the_headline():
    scores = [Score("a", 0, 1.0, "x", False, False, variants={"strict": 0.0}),
              Score("a", 1, 1.0, "x", False, False, variants={"strict": 1.0}),
              Score("b", 0, 0.0, None, True, False)]  # no answer: its own value under every variant
    assert summaries.variant_values(scores) == {"strict": 25.0}


def _imports(path: Path) -> set[str]:
    """evalsuite modules a module imports, at its top or inside a function alike."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "evalsuite":
                out |= {f"evalsuite.{a.name}" for a in node.names}
            elif node.module.startswith("evalsuite."):
                out.add(node.module)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("evalsuite.")}
    return out


def test_the_engine_has_no_import_circles():
    root = ROOT / "evalsuite"
    modules = {}
    for path in root.rglob("*.py"):
        name = ".".join(("evalsuite", *path.relative_to(root).with_suffix("").parts)).removesuffix(".__init__")
        modules[name] = path
    graph = {name: {m for m in _imports(path) if m in modules and m != name} for name, path in modules.items()}
    cycles = []

    def visit(node: str, trail: list[str]) -> None:
        for nxt in graph[node]:
            if nxt in trail:
                cycles.append(trail[trail.index(nxt):] + [nxt])
            elif nxt not in done:
                visit(nxt, trail + [nxt])
        done.add(node)

    done: set[str] = set()
    for start in sorted(graph):
        if start not in done:
            visit(start, [start])
    assert not cycles, "import circles: " + "; ".join(" -> ".join(c) for c in cycles[:5])


def test_docs_list_every_engine_setting():
    line = next(l for l in (ROOT / "docs" / "tasks.md").read_text().splitlines() if "ENGINE_SETTINGS" in l)
    listed = line.split("ENGINE_SETTINGS`:", 1)[1].split(")", 1)[0].split(",")
    assert sorted(k.strip() for k in listed) == sorted(contract.ENGINE_SETTINGS), "docs/tasks.md's settings row"
