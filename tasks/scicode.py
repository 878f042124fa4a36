"""SciCode: scientific-computing problems split into sub-steps, each a Python function tested on
numeric targets (docs/protocol.md, "SciCode").

Data in the benchmark's schema (SciCode1/SciCode): one row per main problem with `problem_id`,
`required_dependencies` (import lines) and `sub_steps` (each: step_number, step_description_prompt,
step_background, function_header, return_line, test_cases, ground_truth_code). The expected values
live in an HDF5 file (test_data.h5: group `<step>/test<i>`), fetched by `evalsuite prepare`.

Items are the sub-steps. They are chained (TaskSpec.chain): step i's prompt holds the model's own
code for steps 1..i-1 of its problem, as the official harness asks, and step i is tested with that
code in front of its own. Three steps the authors answer themselves (13.6, 62.1, 76.3) are not
asked; their code comes from the row's `ground_truth_code`.

Tests never run beside their targets: each test snippet is split here. Its statements run in the
Python sandbox, where every `assert` is replaced by a capture of the values it compares that do
not involve `target` (the model's results); the values come back encoded (arrays, complex, tuples,
dicts, sparse matrices), and the assert's expression is evaluated here with the targets read from
the HDF5 file, under the official comparison helpers' semantics.
"""
from __future__ import annotations

import ast
import builtins
import math
import os
import re
from collections import defaultdict
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from evalsuite.data import dataset_file, load_rows
from evalsuite.errors import UserError
from evalsuite.metrics import item_mean
from evalsuite.sandbox.programs import SandboxPool, default_pool, make_job
from evalsuite.task import Setting, TaskSpec, preflight_problems
from evalsuite.types import Figures, Grade, Sample, Score

# Steps the official harness never asks: the authors' code stands in for them (eval/data/<step>.txt)
GIVEN_STEPS = frozenset({"13.6", "62.1", "76.3"})

# The official prompt templates (eval/data/multistep_template.txt with background,
# eval/data/background_comment_template.txt without), as gencode.py picks them.
WITH_BACKGROUND_TEMPLATE = """PROBLEM DESCRIPTION:
You will be provided with problem steps along with background knowledge necessary for solving the problem. Your task will be to develop a Python solution focused on the next step of the problem-solving process.

PROBLEM STEPS AND FUNCTION CODE:
Here, you'll find the Python code for the initial steps of the problem-solving process. This code is integral to building the solution.

{problem_steps_str}

NEXT STEP - PROBLEM STEP AND FUNCTION HEADER:
This part will describe the next step in the problem-solving process. A function header will be provided, and your task is to develop the Python code for this next step based on the provided description and function header.

{next_step_str}

DEPENDENCIES:
Use only the following dependencies in your solution. Do not include these dependencies at the beginning of your code.

{dependencies}

RESPONSE GUIDELINES:
Now, based on the instructions and information provided above, write the complete and executable Python program for the next step in a single block.
Your response should focus exclusively on implementing the solution for the next step, adhering closely to the specified function header and the context provided by the initial steps.
Your response should NOT include the dependencies and functions of all previous steps. If your next step function calls functions from previous steps, please make sure it uses the headers provided without modification.
DO NOT generate EXAMPLE USAGE OR TEST CODE in your response. Please make sure your response python code in format of ```python```."""

WITHOUT_BACKGROUND_TEMPLATE = """PROBLEM DESCRIPTION:
You will be provided with the main description of the problem, previous steps, and the next step. Your task will be to generate the disciplinary knowledge necessary for solving the next step and then develop a Python solution focused on this step.

PREVIOUS STEPS DESCRIPTION:
{problem_steps_str}

NEXT STEP - PROBLEM DESCRIPTION AND FUNCTION HEADER:
This part will describe the next step in the problem-solving process. First, provide the necessary scientific background knowledge as a comment at the beginning of your response, starting with 'Background: '. Then, a function header will be provided, and your task is to develop the Python code for this next step based on the provided description and function header.

{next_step_str}

DEPENDENCIES:
Use only the following dependencies in your solution. Do not include these dependencies at the beginning of your code.
{dependencies}

RESPONSE GUIDELINES:
1. Start with the scientific background required for the next step, formatted as a comment.
2. Then write the complete and executable Python program for the next step in a single block.
3. Your response should focus exclusively on implementing the solution for the next step, adhering closely to the specified function header and the context provided by the initial steps.
4. DO NOT include previous function code, example usage or test code in your response.
5. Ensure your response is in the format of ```python``` and includes the necessary background as a comment at the top.

Example:
```python
# Background: [Here, insert the necessary scientific knowledge required for the next step.]

[Insert the Python code here based on the provided function header and dependencies.]
```
"""


# ------------------------------------------------------------------------------ the model's code

def extract_code(answer: str | None) -> str:
    """SciCode's own rule (models.extract_python_script): the text after the first "```python"
    (else the first "```") up to the next fence, or the whole answer without a fence; then every
    import line is dropped, since the step's file starts with the problem's dependencies."""
    text = answer or ""
    if "```" in text:
        text = text.split("```python")[1] if "```python" in text else text.split("```")[1]
        text = text.split("```")[0]
    return re.sub(r"^\s*(import .*|from .*\s+import\s+.*)", "", text, flags=re.MULTILINE)


def function_name(header: str) -> str:
    match = re.search(r"\bdef\s+(\w+)\s*\(", header) or re.search(r"\bclass\s+(\w+)\s*\(", header)
    if not match:
        raise UserError(f"function header {header[:80]!r} names no function or class")
    return match.group(1)


def function_code(code: str, name: str) -> str:
    """The named def/class of a step's code, as the next steps' prompts and files carry it (the
    whole code when it does not parse, as SciCode's get_function_from_code; "" when absent, where
    the official harness would stop with a TypeError)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return code
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
            return ast.unparse(node)
    return ""


# ------------------------------------------------------------------------------------- loading

STEP_KEYS = ("step_number", "step_description_prompt", "function_header", "test_cases")


def load(cfg) -> list[Sample]:
    background = bool(cfg.task.get("with_background", True))
    samples = []
    for n, row in enumerate(load_rows(cfg), 1):
        if not isinstance(row.get("sub_steps"), list) or "problem_id" not in row:
            raise UserError(f"{cfg.task.name} row {n}: expected SciCode's schema (problem_id, required_dependencies, "
                            f"sub_steps)")
        pid = str(row["problem_id"])
        steps = []
        for step in row["sub_steps"]:
            missing = [k for k in STEP_KEYS if k not in step]
            if missing:
                raise UserError(f"{cfg.task.name} problem {pid}: a sub-step lacks {missing}")
            number = str(step["step_number"])
            description = str(step["step_description_prompt"])
            if background:
                description += "\n" + str(step.get("step_background") or "")
            steps.append({"number": number, "description": description,
                          "header": str(step["function_header"]), "return_line": str(step.get("return_line") or ""),
                          "function": function_name(str(step["function_header"])),
                          "given": function_code(str(step.get("ground_truth_code") or ""),
                                                 function_name(str(step["function_header"])))
                          if number in GIVEN_STEPS else None,
                          "tests": [str(t) for t in step["test_cases"]]})
        asked = [s["number"] for s in steps if s["number"] not in GIVEN_STEPS]
        for i, step in enumerate(steps):
            if step["number"] in GIVEN_STEPS:
                continue
            reference = {"problem": pid, "index": i, "steps": steps, "dependencies": str(row.get("required_dependencies") or ""),
                         "with_background": background}
            after = [s["number"] for s in steps[:i] if s["number"] in asked]
            # the prompt as listed before generation; each generation's own is built by `chain`
            view = _view(reference, {a: f"[the model's code for step {a}]" for a in after})
            samples.append(Sample(step["number"], view.messages, view.reference,
                                  {"problem": pid, "step": i + 1, "steps_asked": len(asked)}, after=after))
    if not samples:
        raise UserError(f"{cfg.task.name}: no problems in the data; pass data.path=FILE in SciCode's schema")
    return samples


def _view(reference: dict[str, Any], codes: dict[str, str]) -> Sample:
    """The step's prompt and the code in front of its own in the test program: each earlier step's
    function from `codes` (by step number), or for a given step the authors' code."""
    steps, i = reference["steps"], reference["index"]
    earlier = [step["given"] if step["given"] is not None else codes.get(step["number"], "") for step in steps[:i]]
    blocks = []
    for step, code in zip(steps[:i], earlier):
        blocks += [step["description"], code, "------"]
    step = steps[i]
    next_step = "\n\n".join([step["description"], f"{step['header']}\n\n{step['return_line']}"])
    template = WITH_BACKGROUND_TEMPLATE if reference["with_background"] else WITHOUT_BACKGROUND_TEMPLATE
    prompt = template.format(problem_steps_str="\n\n".join(blocks[:-1]), next_step_str=next_step,
                             dependencies=reference["dependencies"])
    ref = dict(reference, previous_code=f"{reference['dependencies']}\n" + "\n".join(earlier) + "\n")
    return Sample(step["number"], [{"role": "user", "content": prompt}], ref)


def chain(sample: Sample, answers: dict[str, str | None], cfg) -> Sample:
    """Step i as generation k sees it: the functions the model wrote for the earlier steps (the
    named def/class of each answer's code, as the official harness carries them forward)."""
    steps = {step["number"]: step for step in sample.reference["steps"]}
    codes = {a: function_code(extract_code(answer), steps[a]["function"]) for a, answer in answers.items()}
    view = _view(sample.reference, codes)
    return Sample(sample.id, view.messages, view.reference, sample.meta)


# ------------------------------------------------------------------------------ splitting tests

# Names a test's assert evaluates here, never in the sandbox: the target and the official helpers
HELPERS = ("cmp_tuple_or_list", "are_dicts_close", "are_csc_matrix_close", "process_symbol_in_dict")
OUTSIDE = frozenset({"target", *HELPERS})
# callables a test may apply here to the model's values (all else would run the model's code here)
SAFE_BUILTINS = frozenset({"abs", "all", "any", "bool", "complex", "dict", "float", "int", "isinstance", "len",
                           "list", "max", "min", "round", "set", "sorted", "str", "sum", "tuple", "zip", "type",
                           "frozenset", "enumerate", "range", "repr", "hasattr"})
HOLE = "_evalsuite_hole_"


class Unsplittable(ValueError):
    """A test whose target is used in a way the split cannot keep out of the sandbox."""


def _mentions(node: ast.AST, outside: frozenset[str] = OUTSIDE) -> bool:
    return any(isinstance(n, ast.Name) and n.id in outside for n in ast.walk(node))


def _constant(node: ast.AST) -> bool:
    return all(isinstance(n, (ast.Constant, ast.Tuple, ast.List, ast.UnaryOp, ast.USub, ast.UAdd, ast.Load))
               for n in ast.walk(node))


def _trusted(func: ast.AST, modules: set[str], outside: frozenset[str]) -> bool:
    if isinstance(func, ast.Name):
        return func.id in SAFE_BUILTINS or func.id in outside
    while isinstance(func, ast.Attribute):
        func = func.value
    return isinstance(func, ast.Name) and func.id in modules


def _bound(node: ast.AST) -> set[str]:
    """The names a comprehension's targets or a lambda's parameters bind."""
    if isinstance(node, ast.Lambda):
        a = node.args
        return {p.arg for p in [*a.posonlyargs, *a.args, *a.kwonlyargs, *filter(None, [a.vararg, a.kwarg])]}
    return {n.id for g in node.generators for n in ast.walk(g.target) if isinstance(n, ast.Name)}


def _split_expr(node: ast.expr, holes: list[ast.expr], modules: set[str],
                outside: frozenset[str] = OUTSIDE) -> ast.expr:
    """The expression with every maximal part that involves neither the target nor a name bound
    here (a comprehension's variable over it) replaced by a hole: a value computed in the sandbox.
    Constants stay."""
    if not _mentions(node, outside):
        if _constant(node):
            return node
        holes.append(node)
        return ast.Name(f"{HOLE}{len(holes) - 1}", ast.Load())
    if isinstance(node, ast.NamedExpr):
        raise Unsplittable("the target inside an assignment expression")
    if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
        inner = outside | _bound(node)  # the bound names hold the target's parts: they stay here
        for field, value in ast.iter_fields(node):
            if field == "generators":
                for g in value:
                    g.iter = _split_expr(g.iter, holes, modules, outside)
                    g.ifs = [_split_expr(c, holes, modules, inner) for c in g.ifs]
            elif isinstance(value, ast.expr) and field != "args":
                setattr(node, field, _split_expr(value, holes, modules, inner))
        return node
    if isinstance(node, ast.Call) and not _mentions(node.func, outside) and not _trusted(node.func, modules, outside):
        raise Unsplittable(f"the target passed to {ast.unparse(node.func)[:60]}")
    for name, value in ast.iter_fields(node):
        if isinstance(node, ast.Call) and name == "func" and not _mentions(value, outside):
            continue
        if isinstance(value, ast.expr):
            setattr(node, name, _split_expr(value, holes, modules, outside))
        elif isinstance(value, list):
            out = []
            for item in value:
                if isinstance(item, ast.expr):
                    item = _split_expr(item, holes, modules, outside)
                elif isinstance(item, ast.keyword):
                    item.value = _split_expr(item.value, holes, modules, outside)
                out.append(item)
            setattr(node, name, out)
    return node


def split_test(snippet: str, modules: set[str]) -> tuple[str, list[str]]:
    """(the snippet for the sandbox, each assert's expression for here). In the sandbox every
    `assert E` becomes `_evalsuite_capture(n, (hole0, hole1, ...))`; here, expression n is E with
    its holes as names. `from scicode...` imports are dropped (the helpers are here)."""
    tree = ast.parse(snippet)
    checks: list[str] = []

    class Rewrite(ast.NodeTransformer):
        def visit_ImportFrom(self, node):
            return None if (node.module or "").split(".")[0] == "scicode" else node

        def visit_Assert(self, node):
            holes: list[ast.expr] = []
            expr = _split_expr(node.test, holes, modules)
            checks.append(ast.unparse(expr))
            call = ast.Call(ast.Name("_evalsuite_capture", ast.Load()),
                            [ast.Constant(len(checks) - 1), ast.Tuple(holes, ast.Load())], [])
            return ast.copy_location(ast.Expr(call), node)

    tree = Rewrite().visit(tree)
    for node in ast.walk(tree):  # what is left runs in the sandbox: it must not need the target
        if isinstance(node, ast.Name) and node.id in OUTSIDE:
            raise Unsplittable(f"`{node.id}` used outside an assert")
    ast.fix_missing_locations(tree)
    return ast.unparse(tree), checks


# ------------------------------------------------------------------ values across the boundary

# Before the dependencies: numpy's BLAS starts one thread per core of the host, which on a large
# node would pass the sandbox's cap on a program's threads (the program has one core's CPU anyway)
THREADS = ("import os as _evalsuite_os\n"
           "for _evalsuite_var in ('OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS'):\n"
           "    _evalsuite_os.environ.setdefault(_evalsuite_var, '1')\n")

# Runs in the sandbox after the model's code: each captured value as plain JSON, tagged by kind.
ENCODER = r'''
def _evalsuite_encode(v, depth=0):
    import numpy as _np
    if depth > 200:
        raise ValueError("a value nested deeper than 200")
    t = type(v)
    if v is None or t is bool or t is int or t is float or t is str:
        return v
    if t is complex:
        return {"$": "complex", "re": v.real, "im": v.imag}
    if isinstance(v, _np.ndarray):
        kind, shape = v.dtype.kind, list(v.shape)
        if kind in "biuf":
            return {"$": "ndarray", "dtype": v.dtype.str, "shape": shape, "data": v.ravel().tolist()}
        if kind == "c":
            return {"$": "ndarray", "dtype": v.dtype.str, "shape": shape,
                    "data": [[z.real, z.imag] for z in v.ravel().tolist()]}
        if kind == "U":
            return {"$": "ndarray", "dtype": v.dtype.str, "shape": shape, "data": v.ravel().tolist()}
        return {"$": "ndarray", "dtype": "object", "shape": shape,
                "data": [_evalsuite_encode(x, depth + 1) for x in v.ravel().tolist()]}
    if isinstance(v, _np.generic):
        return _evalsuite_encode(v.item(), depth)
    if isinstance(v, bool):
        return bool(v)
    if isinstance(v, int):
        return int.__int__(v)
    if isinstance(v, float):
        return float.__float__(v)
    if isinstance(v, complex):
        return _evalsuite_encode(complex(v), depth)
    if isinstance(v, str):
        return str.__str__(v)
    if isinstance(v, bytes):
        return {"$": "bytes", "latin1": bytes(v).decode("latin-1")}
    if isinstance(v, tuple):
        return {"$": "tuple", "items": [_evalsuite_encode(x, depth + 1) for x in tuple.__iter__(v)]}
    if isinstance(v, list):
        return [_evalsuite_encode(x, depth + 1) for x in list.__iter__(v)]
    if isinstance(v, dict):
        return {"$": "dict", "items": [[_evalsuite_encode(k, depth + 1), _evalsuite_encode(x, depth + 1)]
                                       for k, x in dict.items(v)]}
    module = getattr(t, "__module__", "") or ""
    if module.startswith("scipy.sparse"):
        return {"$": "sparse", "format": str(v.format), "dense": _evalsuite_encode(v.toarray(), depth + 1)}
    if module.startswith("sympy") and t.__name__ == "Symbol":
        return {"$": "symbol", "name": str(v.name)}
    return {"$": "other", "type": module + "." + t.__qualname__, "text": str(v)[:200]}


_evalsuite_captured = []


def _evalsuite_capture(n, values):
    _evalsuite_captured.append([n, [_evalsuite_encode(v) for v in values]])


def _evalsuite_run(i):
    del _evalsuite_captured[:]
    exec(_evalsuite_tests[i], globals())
    return list(_evalsuite_captured)
'''


class Opaque:
    """A value with no faithful form outside the sandbox (a function, an object): equal to nothing."""

    def __init__(self, what: str, text: str = ""):
        self.what, self.text = str(what)[:100], str(text)[:200]

    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"<{self.what}: {self.text}>"


NUMERIC_KINDS = "biufcU"


def decode(value: Any) -> Any:
    """A value the sandbox encoded, rebuilt as the test would have seen it. Strict: what does not
    fit its tag (a shape that disagrees with its data, an unknown dtype) is a ValueError."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        raise ValueError(f"not an encoded value: {type(value).__name__}")
    tag = value.get("$")
    if tag == "complex":
        return complex(float(value["re"]), float(value["im"]))
    if tag == "tuple":
        return tuple(decode(v) for v in value["items"])
    if tag == "dict":
        out = {}
        for k, v in value["items"]:
            key = decode(k)
            out[key if _hashable(key) else Opaque("unhashable key", repr(key))] = decode(v)
        return out
    if tag == "ndarray":
        shape = tuple(int(n) for n in value["shape"])
        if any(n < 0 for n in shape):
            raise ValueError("a negative array dimension")
        data = value["data"]
        if value["dtype"] == "object":
            items = [decode(v) for v in data]
            array = np.empty(len(items), dtype=object)
            array[:] = items if items else []
        else:
            dtype = np.dtype(str(value["dtype"]))
            if dtype.kind not in NUMERIC_KINDS:
                raise ValueError(f"dtype {dtype} is not carried")
            if dtype.kind == "c":
                data = [complex(float(re_), float(im)) for re_, im in data]
            array = np.array(data, dtype=dtype)
        if array.size != math.prod(shape):
            raise ValueError(f"{array.size} values for shape {shape}")
        return array.reshape(shape)
    if tag == "sparse":
        import scipy.sparse

        dense = decode(value["dense"])
        make = {"csr": scipy.sparse.csr_matrix, "csc": scipy.sparse.csc_matrix, "coo": scipy.sparse.coo_matrix,
                "bsr": scipy.sparse.bsr_matrix, "lil": scipy.sparse.lil_matrix, "dok": scipy.sparse.dok_matrix,
                "dia": scipy.sparse.dia_matrix}.get(str(value["format"]))
        if make is None or not isinstance(dense, np.ndarray) or dense.ndim != 2:
            raise ValueError(f"sparse format {value.get('format')!r} is not carried")
        return make(dense)
    if tag == "symbol":
        import sympy

        return sympy.Symbol(str(value["name"]))
    if tag == "bytes":
        return str(value["latin1"]).encode("latin-1")
    if tag == "other":
        return Opaque(str(value.get("type")), str(value.get("text") or ""))
    raise ValueError(f"unknown tag {tag!r}")


def _hashable(value: Any) -> bool:
    try:
        hash(value)
        return True
    except TypeError:
        return False


# ------------------------------------------------------------ the official comparison semantics

def _sparse_kinds():
    import scipy.sparse

    return (scipy.sparse.csr_matrix, scipy.sparse.csc_matrix, scipy.sparse.bsr_matrix, scipy.sparse.coo_matrix)


def process_symbol_in_dict(d: dict) -> dict:
    """Symbols (as values or keys) become their names, as SciCode's compare module does."""
    import sympy

    out = {}
    for key, value in d.items():
        out[str(key) if isinstance(key, sympy.Symbol) else key] = str(value) if isinstance(value, sympy.Symbol) else value
    return out


def are_dicts_close(a: dict, b: dict, atol: float = 1e-8, rtol: float = 1e-5) -> bool:
    """Same keys; strings and symbols equal; sparse matrices close when dense; else np.allclose,
    falling back to `==` where allclose cannot compare (a ValueError)."""
    import sympy

    a, b = process_symbol_in_dict(a), process_symbol_in_dict(b)
    if a.keys() != b.keys():
        return False
    for key, x in a.items():
        y = b[key]
        if isinstance(x, (sympy.Symbol, str)):
            if not x == y:
                return False
        elif isinstance(x, _sparse_kinds()):
            if not np.allclose(x.toarray(), y.toarray(), atol=atol, rtol=rtol):
                return False
        else:
            try:
                if not np.allclose(x, y, atol=atol, rtol=rtol):
                    return False
            except ValueError:
                if not x == y:
                    return False
    return True


def are_csc_matrix_close(a: Any, b: Any) -> bool:
    return bool(np.allclose(a.toarray(), b.toarray()))


def cmp_tuple_or_list(a: Any, b: Any) -> bool:
    """Element by element: dicts by are_dicts_close, csr/csc by are_csc_matrix_close, bools by `==`,
    the rest by np.allclose at numpy's defaults (`==` where it raises a ValueError)."""
    import scipy.sparse

    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if isinstance(x, dict):
            if not are_dicts_close(x, y):
                return False
        elif isinstance(x, (scipy.sparse.csr_matrix, scipy.sparse.csc_matrix)):
            if not are_csc_matrix_close(x, y):
                return False
        elif isinstance(x, bool):
            if not x == y:
                return False
        else:
            try:
                if not np.allclose(x, y):
                    return False
            except ValueError:
                if not x == y:
                    return False
    return True


def comparison_namespace(dependencies: str) -> dict[str, Any]:
    """What a test's assert sees here: the problem's imports (import statements only), numpy as
    np, and the official helpers."""
    names: dict[str, Any] = {"np": np, "numpy": np, "__builtins__": builtins}
    try:
        tree = ast.parse(dependencies)
    except SyntaxError as e:
        raise UserError(f"required_dependencies do not parse ({e.msg}); they must be import lines") from None
    for node in tree.body:
        if not isinstance(node, (ast.Import, ast.ImportFrom)):
            raise UserError(f"required_dependencies hold {ast.unparse(node)[:60]!r}; only import lines are run here")
    try:
        exec(compile(tree, "<dependencies>", "exec"), names)  # noqa: S102 - the benchmark's import lines, checked above
    except ImportError as e:
        raise UserError(f"required_dependencies: {e}; install the package into evalsuite's environment") from None
    names.update({"cmp_tuple_or_list": cmp_tuple_or_list, "are_dicts_close": are_dicts_close,
                  "are_csc_matrix_close": are_csc_matrix_close, "process_symbol_in_dict": process_symbol_in_dict})
    return names


def module_names(namespace: dict[str, Any]) -> set[str]:
    import types

    return {name for name, value in namespace.items() if isinstance(value, types.ModuleType)}


# ------------------------------------------------------------------------------ the test data

def _test_data_path(cfg) -> Path:
    if cfg.task.get("test_data_path"):
        path = Path(str(cfg.task.test_data_path)).expanduser()
        if not path.is_file():
            raise UserError(f"task.test_data_path={path} is not a file; point it at SciCode's test_data.h5")
        return path
    return dataset_file(cfg, str(cfg.task.dataset.test_data_file))


def _read_h5_value(node: Any) -> Any:
    import h5py

    if isinstance(node, h5py.Dataset):
        value = node[()]
        return value.decode("utf-8", errors="strict") if isinstance(value, bytes) else value
    return _read_h5_group(node)


def _read_h5_sparse(group: Any) -> Any:
    import scipy.sparse

    data, shape = group["data"][()], tuple(group["shape"][()])
    if "row" in group and "col" in group:
        return scipy.sparse.coo_matrix((data, (group["row"][()], group["col"][()])), shape=shape)
    if "blocksize" in group:
        return scipy.sparse.bsr_matrix((data, group["indices"][()], group["indptr"][()]), shape=shape,
                                       blocksize=tuple(group["blocksize"][()]))
    return scipy.sparse.csr_matrix((data, group["indices"][()], group["indptr"][()]), shape=shape)


def _read_h5_group(group: Any) -> Any:
    """A group as SciCode's reader rebuilds it: `list` (its members in key order), `sparse_matrix`,
    else a dict (sub-groups as sparse matrices, bytes as text, keys that read as floats as floats)."""
    import h5py

    keys = list(group.keys())
    if keys and keys[0] == "list":
        return [member[()] for member in group["list"].values()]
    if keys and keys[0] == "sparse_matrix":
        return _read_h5_sparse(group["sparse_matrix"])
    out: dict[Any, Any] = {}
    for key, node in group.items():
        if isinstance(node, h5py.Group):
            out[key] = _read_h5_sparse(node["sparse_matrix"])
            continue
        value = node[()]
        if isinstance(value, bytes):
            out[key] = value.decode("utf-8", errors="strict")
            continue
        try:
            out[float(key)] = value
        except ValueError:
            out[key] = value
    return out


def read_targets(path: Path, step: str, n: int) -> list[Any]:
    """The targets of a step's n tests, as SciCode's process_hdf5_to_tuple gives them: one variable
    as itself, several (var1, var2 ...) as a tuple."""
    import h5py

    out = []
    with h5py.File(path, "r") as f:
        for i in range(1, n + 1):
            where = f"{step}/test{i}"
            if where not in f or not isinstance(f[where], h5py.Group):
                raise KeyError(f"{where} is not in {path.name}")
            group = f[where]
            values = [_read_h5_value(group[key]) for key in group.keys()]
            out.append(values[0] if len(values) == 1 else tuple(values))
    return out


# ---------------------------------------------------------------------------------- scoring

def step_program(reference: dict[str, Any], answer: str) -> tuple[str, list[list[str]]]:
    """The program the sandbox runs for one step (the official step file: dependencies, the
    earlier steps' code, this step's code, then the tests with their asserts replaced by
    captures) and each test's assert expressions, evaluated here."""
    step = reference["steps"][reference["index"]]
    modules = module_names(comparison_namespace(reference["dependencies"]))
    tests, checks = [], []
    for snippet in step["tests"]:
        inside, here = split_test(snippet, modules)
        tests.append(inside)
        checks.append(here)
    code = f"{THREADS}{reference['previous_code']}\n{extract_code(answer)}\n"
    return code + ENCODER + f"\n_evalsuite_tests = {tests!r}\n", checks


def judge_step(reference: dict[str, Any], checks: list[list[str]], captured: list[Any],
               targets: list[Any]) -> str | None:
    """Why the step fails (None: it passes): each test's asserts, in the order they ran, on the
    values the sandbox sent back and the targets read here."""
    namespace = comparison_namespace(reference["dependencies"])
    for i, (test_checks, records, target) in enumerate(zip(checks, captured, targets)):
        if not isinstance(records, list):
            return f"test {i + 1}: no values came back"
        for record in records:
            try:
                n, holes = int(record[0]), [decode(h) for h in record[1]]
                expression = test_checks[n]
            except (ValueError, TypeError, IndexError, KeyError) as e:
                return f"test {i + 1}: a value could not be read back ({type(e).__name__}: {str(e)[:100]})"
            scope = dict(namespace, target=target, **{f"{HOLE}{j}": h for j, h in enumerate(holes)})
            try:
                ok = bool(eval(compile(expression, "<assert>", "eval"), scope))  # noqa: S307 - the benchmark's assert, on data only
            except Exception as e:  # noqa: BLE001 - as in the official script, a raising assert fails the step
                return f"test {i + 1}: the assert raised {type(e).__name__}: {str(e)[:100]}"
            if not ok:
                return f"test {i + 1}: assert {expression[:120]} failed"
    return None


def score_batch(pairs: list[tuple[Sample, str]], cfg, pool: SandboxPool | None = None) -> Iterator[Grade]:
    path = _test_data_path(cfg)
    timeout = float(cfg.task.get("timeout_s") or 1800)
    memory = int(cfg.task.get("memory_mb") or 4096)
    jobs, plans = [], []
    for sample, answer in pairs:
        ref = sample.reference
        step = ref["steps"][ref["index"]]
        try:
            code, checks = step_program(ref, answer)
            targets = read_targets(path, step["number"], len(step["tests"]))
        except Unsplittable as e:
            plans.append(("scoring_error", f"a test of step {step['number']} cannot be split: {e}"))
            continue
        except (KeyError, OSError) as e:
            plans.append(("scoring_error", f"test data of step {step['number']}: {str(e)[:200]}"))
            continue
        plans.append((len(jobs), checks, targets))
        jobs.append(make_job(code, [(str(i), "") for i in range(len(step["tests"]))], mode="call",
                             func_name="_evalsuite_run", timeout_s=timeout, collect=True, prelude=False,
                             memory_mb=memory))
    the_pool = pool or default_pool(int(cfg.task.get("workers") or os.cpu_count() or 1))
    results = the_pool.run_many(jobs) if jobs else []
    for (sample, answer), plan in zip(pairs, plans):
        code = extract_code(answer)
        if plan[0] == "scoring_error":
            yield Grade(0.0, code, scoring_error=plan[1])
            continue
        index, checks, targets = plan
        result = results[index]
        if not result.passed:  # the program raised, timed out or ran out of memory: the script would exit non-zero
            yield Grade(0.0, code, {"verdict": result.verdict, "message": result.message})
            continue
        why = judge_step(sample.reference, checks, [t.value for t in result.tests], targets)
        yield Grade(0.0 if why else 1.0, code, {"verdict": "wrong" if why else "pass", "message": why})


def score(sample: Sample, answer: str, cfg) -> Grade:
    return next(iter(score_batch([(sample, answer)], cfg)))


# ---------------------------------------------------------------------------------- figures

def figures(samples: dict[str, Sample], scores: list[Score], cfg) -> Figures:
    """Main-problem accuracy (the variant `main_problem`): per problem and generation k, solved
    when every asked step passed (a step not scored counts failed); the mean over problems of
    their mean over k. (Each problem's sub-step accuracy is the breakdown by problem.)"""
    steps_of: dict[str, list[str]] = defaultdict(list)
    for sid, sample in samples.items():
        steps_of[sample.meta["problem"]].append(sid)
    passed = {(s.sample_id, s.k): s.value >= 1.0 for s in scores}
    ks = sorted({s.k for s in scores}) or [0]
    solved = [(pid, all(passed.get((sid, k), False) for sid in sids)) for pid, sids in steps_of.items() for k in ks]
    return Figures(variants={"main_problem": item_mean(solved)} if scores else {})


def scoring_environment(cfg) -> dict[str, Any]:
    pool = default_pool(int(cfg.task.get("workers") or os.cpu_count() or 1))
    import scipy

    return {"sandbox": pool.isolation, "inside": {"numpy": np.__version__, "scipy": scipy.__version__},
            "timeout_s_per_test": float(cfg.task.get("timeout_s") or 1800),
            "memory_mb": int(cfg.task.get("memory_mb") or 4096),
            "comparison": "asserts evaluated outside the sandbox on the values it returned (docs/protocol.md, SciCode)"}


def deviations(samples: list[Sample], cfg) -> list[str]:
    out = []
    missing = sorted({s["number"] for sample in samples for s in sample.reference["steps"]
                      if s["given"] == "" and s["number"] in GIVEN_STEPS})
    if missing:
        out.append(f"no authors' code for the given steps {', '.join(missing)} (ground_truth_code empty): the "
                   f"later steps' prompts and programs lack it")
    return out


def preflight(cfg) -> list[str]:
    """The problems load, the test-data file is here (named when missing), h5py and scipy import."""
    problems = preflight_problems(cfg, [lambda: load(cfg), lambda: _test_data_path(cfg)])
    for package in ("h5py", "scipy"):
        try:
            __import__(package)
        except ImportError:
            problems.append(f"{cfg.task.name}: the {package} package is missing; `pip install -e .` installs it")
    return problems


TASK = TaskSpec(
    load=load, score=score, score_batch=score_batch, chain=chain, figures=figures,
    scoring_environment=scoring_environment, deviations=deviations, preflight=preflight,
    breakdown_by=("problem",),
    settings={
        "with_background": Setting(bool, doc="the steps' scientific background in the prompt (card: true)"),
        "timeout_s": Setting((int, float), minimum=1, doc="wall clock per test in the sandbox (official: 1800 s per step)"),
        "memory_mb": Setting(int, minimum=256),
        "workers": Setting(int, minimum=1, nullable=True, protocol=False, doc="parallel programs; null: one per core"),
        "test_data_path": Setting(str, nullable=True, doc="a local test_data.h5; null: dataset.test_data_file"),
    },
)
