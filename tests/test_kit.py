"""The task kit (evalsuite.task.KIT, docs/tasks.md "The kit"): a task module imports only kit
modules, a kit module imports only kit modules (so tasks/ stands below the stages), and the docs
name exactly the modules the code lists. Imports are read from the source with `ast`, at a module's
top and inside its functions alike."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from evalsuite.task import KIT
from tests.conftest import ROOT

DOCS = ROOT / "docs" / "tasks.md"


def module_path(name: str) -> Path | None:
    """The file of an evalsuite.* or tasks.* module (a package's __init__.py), None if there is none."""
    base = ROOT.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every evalsuite.* and tasks.* module the file imports: `from evalsuite import
    metrics` and `from evalsuite.sandbox import server` name the submodule, `from evalsuite.data
    import load_rows` the module."""
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's own package up
                parts = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                base = ".".join(parts + ([node.module] if node.module else []))
            for a in node.names:
                sub = f"{base}.{a.name}"
                out.append((node.lineno, sub if module_path(sub) is not None else base))
    return [(line, m) for line, m in out if m.split(".")[0] in ("evalsuite", "tasks")]


def stray_imports(paths: list[Path], allowed: set[str]) -> list[tuple[Path, str, str]]:
    """(the importing file, "FILE:LINE", the module) of every import of these files outside `allowed`
    (tasks.* counts as allowed only where `allowed` holds it)."""
    return [(path, f"{path.relative_to(ROOT)}:{line}", name) for path in paths for line, name in imports(path)
            if name not in allowed]


def packages_of(name: str) -> list[str]:
    """The packages Python runs on the way to a module: evalsuite, evalsuite.sandbox ..."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def test_the_kit_names_modules_that_exist():
    missing = [name for name in KIT if module_path(name) is None or not name.startswith("evalsuite.")]
    assert not missing, f"evalsuite.task.KIT lists {missing}: no such evalsuite module; fix the name or drop it"
    assert len(set(KIT)) == len(KIT), "evalsuite.task.KIT lists a module twice"


def test_tasks_import_only_the_kit():
    paths = sorted((ROOT / "tasks").glob("*.py"))
    strays = stray_imports(paths, set(KIT) | {"tasks"} | {module_name(p) for p in paths})
    if strays:
        pytest.fail("\n".join(
            f"{at} imports {name}, which is not in the task kit (evalsuite.task.KIT; docs/tasks.md, \"The kit\"). "
            f"Import the name from the kit module that holds it; if none does, move it out of {name} into a kit "
            f"module (one that imports only kit modules) or add a kit module for it, and list that module in KIT "
            f"and in docs/tasks.md" for _, at, name in strays), pytrace=False)


def test_the_kit_stands_below_the_stages():
    """A kit module, and the packages that hold one, import kit modules alone (never a stage, never
    tasks/): whatever a task imports, it never reaches the pipeline, the judge stage or a run
    directory."""
    checked = set(KIT) | {p for name in KIT for p in packages_of(name)}
    strays = stray_imports([module_path(name) for name in sorted(checked)], checked)
    if strays:
        pytest.fail("\n".join(
            f"{at} imports {name}, which is not in the task kit: a kit module (evalsuite.task.KIT) imports only kit "
            f"modules, so that tasks/ stands below the stages. Move what {module_name(path)} needs out of {name} "
            f"into a kit module (and list it in KIT and docs/tasks.md), or, if tasks need nothing of "
            f"{module_name(path)}, take it out of KIT and out of docs/tasks.md's \"The kit\""
            for path, at, name in strays), pytrace=False)


def kit_in_docs() -> list[str]:
    """The modules docs/tasks.md's section "The kit" lists: the first column of its table."""
    text = DOCS.read_text(encoding="utf-8")
    assert "\n## The kit" in text, "docs/tasks.md has no section '## The kit' naming the kit's modules"
    section = text.split("\n## The kit", 1)[1].split("\n## ", 1)[0]
    return [m.group(1) for m in re.finditer(r"^\| `(evalsuite[\w.]*)`", section, re.MULTILINE)]


def test_the_docs_name_the_kit_the_code_lists():
    documented = kit_in_docs()
    assert len(set(documented)) == len(documented), "docs/tasks.md's \"The kit\" lists a module twice"
    undocumented = [m for m in KIT if m not in documented]
    unlisted = [m for m in documented if m not in KIT]
    assert not undocumented, (f"evalsuite.task.KIT lists {undocumented} and docs/tasks.md's \"The kit\" does not: "
                              f"add a row `| `MODULE` | what it is for |` for each")
    assert not unlisted, (f"docs/tasks.md's \"The kit\" lists {unlisted} and evalsuite.task.KIT does not: list them "
                          f"in KIT or drop the rows")
