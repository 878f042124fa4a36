"""A programming-contest judge: C++ compiled once inside the sandbox, run against a problem's tests
under the problem's own time and memory limits, graded by exact tokens, a float tolerance, the
problem's testlib-style checker, its interactor, or its grader (IOI style, with partial scores).

The harness side (this file) holds the expected answers, the checker's verdict and the comparison;
the servers (evalsuite/sandbox/contest_server.py, the Python sandbox's namespaces and root reused as they
are) compile and run. docs/sandbox.md ("The contest judge") has the guarantees.

    judge = ContestJudge(workers=4)
    r = judge.judge(problem, cpp_source)        # JudgeResult: verdict, score, tests, compile message
    rs = judge.judge_many([(problem, src), ...])  # in order, every server busy
"""
from __future__ import annotations

import hashlib
import math
import os
import re
import shutil
import subprocess
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

from evalsuite.sandbox import contest_server
from evalsuite.sandbox.programs import MESSAGE_CHARS, SandboxError, SandboxPool, _ServerHandle

CONTEST_SCRIPT = Path(contest_server.__file__).resolve()
DEFAULT_FLAGS = ("-O2", "-std=gnu++17")
VERDICTS = ("pass", "wrong", "timeout", "memory", "runtime_error", "output_limit", "compile_error",
            "sandbox_error")
COMPILE_MESSAGE_LINES = 12  # the first lines of a compiler's complaint, for the viewer
CHECKER_MESSAGE_BYTES = 4096
CACHE_ENV = "EVALSUITE_CONTEST_CACHE"  # where compiled binaries are kept (default: EVALSUITE_CACHE/contest-binaries)
# checker exit codes (testlib): 0 OK, 1 wrong answer, 2 presentation error, 3 the checker failed,
# 7 partial points ("points X" in its message); anything else is the checker failing
CHECKER_OK, CHECKER_WA, CHECKER_PE, CHECKER_FAIL, CHECKER_POINTS = 0, 1, 2, 3, 7
KATTIS_EXIT = {42: CHECKER_OK, 43: CHECKER_WA}  # a Kattis validator's exit codes as testlib's; others: it failed


def kattis_feedback_dir(box: "JudgeBox") -> str:
    """The validator's feedback directory: the sandbox's private /tmp where there is one; else the
    box, which the validator cannot write (its messages are lost, its exit code still decides)."""
    return "/tmp/" if box.handle.isolation.get("private_tmp") else box.box + "/"


@dataclass
class CompileLimits:
    """What one compilation may use: a compiler bomb, a huge #include or an endless template
    instantiation stops here."""

    cpu_s: float = 30.0
    wall_s: float = 60.0
    memory_mb: int = 2048  # the compiler's processes together
    binary_mb: int = 64  # any file it writes (RLIMIT_FSIZE), the binary included
    max_processes: int = 16


@dataclass
class Toolchain:
    compiler: str  # absolute path
    version: str  # `g++ --version`'s first line: part of every cache key
    flags: tuple[str, ...] = DEFAULT_FLAGS

    def describe(self) -> dict[str, Any]:
        return {"compiler": self.compiler, "version": self.version, "flags": list(self.flags)}


def find_toolchain(compiler: str = "g++", flags: Sequence[str] = DEFAULT_FLAGS) -> Toolchain | None:
    path = shutil.which(compiler)
    if path is None:
        return None
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return Toolchain(os.path.realpath(path), (out.splitlines() or ["?"])[0].strip(), tuple(flags))


def toolchain_missing(compiler: str = "g++") -> str | None:
    """Why C++ cannot be judged here, in one line, or None."""
    if find_toolchain(compiler) is None:
        return (f"{compiler} not found: `make setup` installs it from Debian (apt-get install -y g++); "
                "without root, install g++ and put it on PATH")
    return None


# ------------------------------------------------------------------------------- binary cache

@dataclass
class Compiled:
    ok: bool
    digest: str
    binary: bytes | None = None
    message: str | None = None  # the compiler's first lines when it failed
    cached: bool = False


def source_digest(files: dict[str, str], toolchain: Toolchain, role: str) -> str:
    h = hashlib.blake2b(digest_size=20)
    for part in (role, toolchain.compiler, toolchain.version, "\0".join(toolchain.flags)):
        h.update(part.encode() + b"\0\1")
    for name in sorted(files):
        h.update(name.encode() + b"\0" + files[name].encode("utf-8", "surrogatepass") + b"\0\2")
    return h.hexdigest()


class BinaryCache:
    """Compiled binaries (and compile errors) by digest of (sources, flags, compiler version):
    re-scoring a run compiles nothing. Files are written whole and renamed into place."""

    def __init__(self, root: Path | str | None = None):
        if root is None and os.environ.get(CACHE_ENV):
            root = os.environ[CACHE_ENV]
        if root is None:
            from evalsuite.embedded import cache_root

            root = cache_root() / "contest-binaries"
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.hits = self.misses = 0
        self._lock = threading.Lock()

    def get(self, digest: str) -> Compiled | None:
        for suffix, ok in ((".bin", True), (".err", False)):
            path = self.root / (digest + suffix)
            try:
                data = path.read_bytes()
            except OSError:
                continue
            with self._lock:
                self.hits += 1
            return Compiled(ok, digest, data if ok else None, None if ok else data.decode("utf-8", "replace"), True)
        with self._lock:
            self.misses += 1
        return None

    def put(self, compiled: Compiled) -> None:
        path = self.root / (compiled.digest + (".bin" if compiled.ok else ".err"))
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
        tmp.write_bytes(compiled.binary if compiled.ok else (compiled.message or "").encode())
        os.replace(tmp, path)

    def hit_rate(self) -> float:
        return self.hits / max(1, self.hits + self.misses)


# ------------------------------------------------------------------------------- problems

@dataclass
class JudgeTest:
    __test__ = False  # not a pytest class

    input: str
    answer: str


@dataclass
class Problem:
    """One problem as the judge needs it. `checker`: tokens (testlib's wcmp: whitespace-separated
    tokens equal), lines (line by line after strip), float (tokens; numbers within
    `float_tolerance`, absolute or relative), or testlib (`checker_source`, run as
    `checker input output answer`). `interactor_source`: an interactive problem. `grader_files`:
    the contestant's file is compiled as `contestant_file` together with these (the grader's main),
    and `partial`: every test is run and the score is the mean of the per-test scores."""

    id: str
    tests: list[JudgeTest]
    time_limit_s: float
    memory_mb: int
    checker: str = "tokens"
    float_tolerance: float = 1e-6
    checker_source: str | None = None
    interactor_source: str | None = None
    grader_files: dict[str, str] = field(default_factory=dict)
    contestant_file: str = "solution.cpp"
    partial: bool = False
    # testlib: `checker input output answer`; cms: `checker input answer output`; kattis (ICPC's
    # output validators and interactors): `validator input answer feedback_dir`, the output on
    # stdin, exit 42 accepted and 43 wrong
    checker_protocol: str = "testlib"
    helper_headers: dict[str, str] = field(default_factory=dict)  # headers the checker includes (IOI's testlib.h)


@dataclass
class TestVerdict:
    __test__ = False

    index: int
    verdict: str
    score: float
    cpu_s: float
    memory_mb: float
    message: str | None = None


@dataclass
class JudgeResult:
    verdict: str  # pass, or the first failing test's verdict (compile_error before any)
    passed: bool
    score: float  # 1.0 / 0.0, or the mean per-test score of a partial problem
    tests: list[TestVerdict]
    n_tests: int
    message: str | None = None
    compile_cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class JudgeSettings:
    """Everything that makes two judgings comparable (run.json records it)."""

    toolchain: Toolchain
    time_scale: float = 1.0  # multiplies every problem's time limit (a slower machine): a deviation when != 1
    wall_factor: float = 2.0  # wall clock per test = time limit x this + 1 s
    max_output_mb: int = 64
    max_processes: int = 16
    compile_limits: CompileLimits = field(default_factory=CompileLimits)
    testlib_h: str | None = None  # testlib.h's text, for checkers and interactors that include it

    def describe(self) -> dict[str, Any]:
        return {**self.toolchain.describe(), "time_scale": self.time_scale, "wall_factor": self.wall_factor,
                "max_output_mb": self.max_output_mb, "max_processes": self.max_processes,
                "compile_limits": asdict(self.compile_limits), "testlib_h": self.testlib_h is not None}


# ------------------------------------------------------------------------------- comparisons

def compare_tokens(got: str, expected: str) -> str | None:
    """testlib's wcmp: the whitespace-separated tokens are equal. None, or why not."""
    g, e = got.split(), expected.split()
    for n, (a, b) in enumerate(zip(g, e), 1):
        if a != b:
            return f"token {n}: expected {b[:60]!r}, got {a[:60]!r}"
    if len(g) != len(e):
        return f"expected {len(e)} tokens, got {len(g)}"
    return None


def compare_lines(got: str, expected: str) -> str | None:
    g, e = got.rstrip().split("\n"), expected.rstrip().split("\n")
    if len(g) != len(e):
        return f"expected {len(e)} lines, got {len(g)}"
    for n, (a, b) in enumerate(zip(g, e), 1):
        if a.strip() != b.strip():
            return f"line {n}: expected {b.strip()[:60]!r}, got {a.strip()[:60]!r}"
    return None


def compare_floats(got: str, expected: str, tolerance: float) -> str | None:
    """Tokens; where the expected token is a number, |got - expected| <= tolerance x max(1, |expected|)
    (testlib's doubleCompare: absolute or relative error within the tolerance)."""
    g, e = got.split(), expected.split()
    if len(g) != len(e):
        return f"expected {len(e)} tokens, got {len(g)}"
    for n, (a, b) in enumerate(zip(g, e), 1):
        try:
            want = float(b)
        except ValueError:
            if a != b:
                return f"token {n}: expected {b[:60]!r}, got {a[:60]!r}"
            continue
        try:
            have = float(a)
        except ValueError:
            return f"token {n}: expected a number, got {a[:60]!r}"
        if math.isnan(want) or math.isnan(have) or abs(have - want) > tolerance * max(1.0, abs(want)) + 1e-15:
            return f"token {n}: expected {b[:30]}, got {a[:30]} (tolerance {tolerance:g})"
    return None


def compare_output(problem: Problem, got: str, expected: str) -> str | None:
    if problem.checker == "lines":
        return compare_lines(got, expected)
    if problem.checker == "float":
        return compare_floats(got, expected, problem.float_tolerance)
    return compare_tokens(got, expected)


_POINTS = re.compile(r"points\s+([-+]?\d*\.?\d+(?:[eE][-+]?\d+)?)")


def checker_verdict(code: int | None, signal_name: str | None, stdout: str, stderr: str) -> tuple[str, float, str | None]:
    """A testlib-style checker's (or interactor's) verdict: exit code, and a score from its output
    (testlib's `points X`, or a CMS-style score in [0, 1] as the first token of its stdout)."""
    msg = (stderr.strip() or stdout.strip())[:MESSAGE_CHARS] or None
    if signal_name is not None or code is None:
        return "sandbox_error", 0.0, f"the checker was killed ({signal_name})"
    if code == CHECKER_OK:
        first = stdout.split()[:1]
        try:
            score = float(first[0]) if first else 1.0
        except ValueError:
            score = 1.0
        if not 0.0 <= score <= 1.0:
            score = 1.0
        return ("pass" if score >= 1.0 else "wrong"), score, msg
    if code in (CHECKER_WA, CHECKER_PE):
        return "wrong", 0.0, msg
    if code == CHECKER_POINTS:
        m = _POINTS.search(stderr) or _POINTS.search(stdout)
        score = min(1.0, max(0.0, float(m.group(1)))) if m else 0.0
        return ("pass" if score >= 1.0 else "wrong"), score, msg
    return "sandbox_error", 0.0, f"the checker failed (exit {code}): {msg}"


def run_verdict(report: dict[str, Any], time_limit_s: float, memory_mb: int) -> tuple[str, str | None]:
    """The program's own verdict from the server's facts (before its output is looked at)."""
    killed = report.get("killed")
    if killed:
        return str(killed[0]), str(killed[1])[:MESSAGE_CHARS]
    sig = report.get("signal")
    if sig == "SIGXCPU" or float(report.get("cpu", 0.0)) > time_limit_s:
        return "timeout", f"used {float(report.get('cpu', 0.0)):.2f} s of CPU (limit {time_limit_s:g} s)"
    if int(report.get("peak_bytes", 0)) > memory_mb << 20:
        return "memory", f"used {int(report['peak_bytes']) >> 20} MiB (limit {memory_mb} MiB)"
    if sig == "SIGXFSZ":
        return "output_limit", "wrote more than the output limit"
    if sig is not None:
        return "runtime_error", f"killed by {sig}"
    if report.get("exit") not in (0, None):
        return "runtime_error", f"exit code {report['exit']}"
    return "pass", None


# ------------------------------------------------------------------------------- one server

class JudgeBox:
    """One contest server and the files it holds. Not thread-safe: a pool hands each to one thread."""

    def __init__(self, handle: _ServerHandle):
        self.handle = handle
        self.box = str(handle.isolation.get("box", contest_server.BOX))
        self.files: set[str] = set()

    def path(self, name: str) -> str:
        return f"{self.box}/{name}"

    def put(self, name: str, data: bytes | str, owner: str = "root", mode: int = 0o600) -> None:
        raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
        self.handle._send({"op": "put", "name": name, "size": len(raw), "owner": owner, "mode": mode}, raw)
        reply = self.handle._recv(timeout=120)
        if reply.get("ev") != "put":
            raise SandboxError(f"the judge server refused a file: {reply.get('error')}")
        self.files.add(name)

    def drop(self, names: Sequence[str]) -> None:
        names = [n for n in names if n in self.files]
        if not names:
            return
        self.handle._send({"op": "drop", "names": names})
        if self.handle._recv(timeout=60).get("ev") != "dropped":
            raise SandboxError("the judge server did not drop its files")
        self.files.difference_update(names)

    def clear(self) -> None:
        self.drop(sorted(self.files))

    def exec(self, program: dict[str, Any], interactor: dict[str, Any] | None = None, stdout_cap: int = 0,
             stderr_cap: int = CHECKER_MESSAGE_BYTES, keep_stdout: str | None = None,
             collect: str | None = None, put: Sequence[tuple[str, bytes | str, str, int]] = (),
             drop_after: Sequence[str] = ()) -> tuple[dict[str, Any], dict[str, bytes]]:
        """Run a program; `put` (name, data, owner, mode) files go into the box first and the
        `drop_after` names leave it after, in the same round trip."""
        blobs = [(name, data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data, owner, mode)
                 for name, data, owner, mode in put]
        msg = {"op": "exec", "program": program, "interactor": interactor, "stdout_cap": stdout_cap,
               "stderr_cap": stderr_cap, "keep_stdout": keep_stdout, "collect": collect,
               "put": [{"name": n, "size": len(b), "owner": o, "mode": m} for n, b, o, m in blobs],
               "drop_after": list(drop_after)}
        self.handle._send(msg, b"".join(b for _, b, _, _ in blobs))
        self.files.update(n for n, _, _, _ in blobs)
        walls = [float(program["limits"]["wall_s"])] + ([float(interactor["limits"]["wall_s"])] if interactor else [])
        report = self.handle._recv(timeout=max(walls) + 60)
        if report.get("ev") != "exec":
            raise SandboxError(f"the judge server failed: {report.get('error')}")
        data: dict[str, bytes] = {}
        end = time.monotonic() + 120
        for key in ("stdout", "stderr", "interactor_stderr"):
            n = int(report.get(key, 0))
            data[key] = self.handle._read_exact(self.handle.data_r, n, end, "a program's output") if n else b""
        if collect and int(report.get("collected", -1)) >= 0:
            data["collected"] = self.handle._read_exact(self.handle.data_r, int(report["collected"]), end, "a binary")
        if keep_stdout:
            self.files.add(keep_stdout)
        self.files.difference_update(drop_after)
        return report, data


def _limits(cpu_s: float, wall_s: float, memory_mb: int, settings: JudgeSettings, address_space_mb: int | None = None,
            max_output_mb: int | None = None, max_processes: int | None = None) -> dict[str, Any]:
    # the address space is larger than the limit: the limit is enforced on resident memory (all the
    # program's processes), so a program that reserves more than it touches is not failed for it
    return {"cpu_s": cpu_s, "wall_s": wall_s, "memory_mb": memory_mb,
            "address_space_mb": address_space_mb or 2 * memory_mb + 256,
            "max_output_mb": max_output_mb or settings.max_output_mb,
            "max_processes": max_processes or settings.max_processes, "max_open_files": 64}


def _first_lines(text: str, n: int = COMPILE_MESSAGE_LINES) -> str:
    lines = text.replace("/run/box/", "").splitlines()
    return "\n".join(line[:300] for line in lines[:n]) + ("\n..." if len(lines) > n else "")


def compile_in_box(box: JudgeBox, files: dict[str, str], main_files: Sequence[str], settings: JudgeSettings,
                   role: str, cache: BinaryCache, extra_headers: dict[str, str] | None = None) -> Compiled:
    """Compile `files` (the .cpp among `main_files` are the translation units) once, in the sandbox,
    or take the binary from the cache. role: "program" (the contestant's, run as the program's uid)
    or "helper" (a checker or interactor)."""
    tc = settings.toolchain
    all_files = dict(files, **(extra_headers or {}))
    digest = source_digest(all_files, tc, role)
    hit = cache.get(digest)
    if hit is not None:
        return hit
    box.clear()
    try:
        for name, text in all_files.items():
            box.put(name, text, owner=role, mode=0o400)
        cl = settings.compile_limits
        argv = [tc.compiler, *tc.flags, f"-I{box.box}", *[box.path(n) for n in main_files], "-o", "/tmp/a.out"]
        if not box.handle.isolation.get("private_tmp"):
            argv[-1] = box.path("a.out")
        limits = _limits(cl.cpu_s, cl.wall_s, cl.memory_mb, settings, address_space_mb=cl.memory_mb,
                         max_output_mb=cl.binary_mb, max_processes=cl.max_processes)
        report, data = box.exec({"argv": argv, "stdin": None, "as": role, "limits": limits},
                                stderr_cap=64 << 10, collect=argv[-1])
    finally:
        box.clear()
    verdict, why = run_verdict(report, cl.cpu_s, cl.memory_mb)
    stderr = data["stderr"].decode("utf-8", "replace")
    if verdict == "pass" and "collected" in data and data["collected"]:
        compiled = Compiled(True, digest, data["collected"])
    elif verdict == "pass":
        compiled = Compiled(False, digest, message=_first_lines(stderr) or "the compiler made no binary")
    elif verdict in ("timeout", "memory", "output_limit"):
        compiled = Compiled(False, digest, message=f"compilation stopped: {why}\n{_first_lines(stderr, 4)}".strip())
    else:
        compiled = Compiled(False, digest, message=_first_lines(stderr) or f"the compiler failed: {why}")
    cache.put(compiled)
    return compiled


# ------------------------------------------------------------------------------- judging

@dataclass
class ContestJob:
    problem: Problem
    source: str


class ContestJudge(SandboxPool):
    """`workers` contest servers (the Python sandbox's pool, other script); `run` judges one
    (problem, source) and `run_many` keeps every server busy."""

    def __init__(self, settings: JudgeSettings, workers: int | None = None, cache: BinaryCache | None = None,
                 scratch_mb: int = 1024):
        self.settings = settings
        self.cache = cache or BinaryCache()
        super().__init__(workers, scratch_mb)

    def _add(self) -> None:
        handle = _ServerHandle(self.cgroup, self.scratch_mb, script=CONTEST_SCRIPT)
        handle.judge_box = JudgeBox(handle)
        with self._lock:
            self._all.append(handle)
        self._idle.put(handle)

    def judge(self, problem: Problem, source: str) -> JudgeResult:
        return self.run(ContestJob(problem, source))

    def judge_many(self, pairs: Sequence[tuple[Problem, str]], progress: bool | str = False) -> list[JudgeResult]:
        return self.run_many([ContestJob(p, s) for p, s in pairs], progress=progress)

    def run(self, job: ContestJob) -> JudgeResult:  # type: ignore[override]
        if self._closed:
            raise SandboxError("contest judge is closed")
        handle = self._idle.get()
        try:
            result = _judge(handle.judge_box, job.problem, job.source, self.settings, self.cache)
        except (SandboxError, OSError, ValueError, KeyError, TypeError) as e:
            handle.close()
            with self._lock:
                self._all.remove(handle)
            self._add()
            return JudgeResult("sandbox_error", False, 0.0, [], len(job.problem.tests), str(e)[:MESSAGE_CHARS])
        self._idle.put(handle)
        return result


def _helper_binary(box: JudgeBox, source: str, name: str, settings: JudgeSettings, cache: BinaryCache,
                   own_headers: dict[str, str] | None = None) -> Compiled:
    headers = dict({"testlib.h": settings.testlib_h} if settings.testlib_h else {}, **(own_headers or {}))
    return compile_in_box(box, {name: source}, [name], settings, "helper", cache, headers or None)


def _judge(box: JudgeBox, problem: Problem, source: str, settings: JudgeSettings, cache: BinaryCache) -> JudgeResult:
    n = len(problem.tests)
    helpers: dict[str, bytes] = {}
    for role, src in (("checker", problem.checker_source if problem.checker == "testlib" else None),
                      ("interactor", problem.interactor_source)):
        if src is None:
            continue
        built = _helper_binary(box, src, f"{role}.cpp", settings, cache, problem.helper_headers)
        if not built.ok:
            fix = ("; it includes testlib.h: pass its path (task.testlib_h=PATH)"
                   if "testlib.h" in (built.message or "") and settings.testlib_h is None else "")
            return JudgeResult("sandbox_error", False, 0.0, [], n,
                               f"the problem's {role} does not compile{fix}: {built.message}")
        helpers[role] = built.binary or b""
    files = dict(problem.grader_files, **{problem.contestant_file: source})
    units = [problem.contestant_file] + sorted(f for f in problem.grader_files if f.endswith((".cpp", ".cc")))
    compiled = compile_in_box(box, files, units, settings, "program", cache)
    if not compiled.ok:
        return JudgeResult("compile_error", False, 0.0, [], n, compiled.message, compiled.cached)
    box.clear()
    try:
        box.put("prog", compiled.binary or b"", owner="program", mode=0o500)
        for role, binary in helpers.items():
            box.put(role, binary, owner="helper", mode=0o500)
        tests = _run_tests(box, problem, settings, bool(helpers.get("checker")), bool(helpers.get("interactor")))
    finally:
        box.clear()
    failed = next((t for t in tests if t.verdict != "pass"), None)
    score = sum(t.score for t in tests) / n if n else 0.0
    passed = failed is None and len(tests) == n
    if not problem.partial:
        score = 1.0 if passed else 0.0
    message = f"test {failed.index}: {failed.message}" if failed and failed.message else None
    return JudgeResult(failed.verdict if failed else "pass", passed, score, tests, n, message, compiled.cached)


def _run_tests(box: JudgeBox, problem: Problem, settings: JudgeSettings, checker: bool, interactive: bool) -> list[TestVerdict]:
    tl = problem.time_limit_s * settings.time_scale
    wall = tl * settings.wall_factor + 1.0
    limits = _limits(tl, wall, problem.memory_mb, settings)
    helper_limits = _limits(max(10.0, 2 * wall), max(10.0, 2 * wall) + 1, 1024, settings)
    results = []
    for i, test in enumerate(problem.tests):
        # the input: owned by the helper uid, 0400; the program gets it only as fd 0, opened by the server
        given = ("in", test.input, "helper", 0o400)
        if interactive:
            kattis = problem.checker_protocol == "kattis"
            inter_argv = ([box.path("interactor"), box.path("in"), box.path("ans"), kattis_feedback_dir(box)] if kattis else
                          [box.path("interactor"), box.path("in"), box.path("tout"), box.path("ans")])
            report, data = box.exec(
                {"argv": [box.path("prog")], "as": "program", "limits": limits},
                interactor={"argv": inter_argv, "as": "helper", "limits": helper_limits},
                put=[given, ("ans", test.answer, "helper", 0o400), ("tout", b"", "helper", 0o600)],
                drop_after=["in", "ans", "tout"])
            verdict = _interactive_verdict(report, data, tl, problem.memory_mb, kattis)
        else:
            report, data = box.exec({"argv": [box.path("prog")], "stdin": "in", "as": "program", "limits": limits},
                                    stdout_cap=0 if checker else settings.max_output_mb << 20,
                                    keep_stdout="out" if checker else None, put=[given],
                                    drop_after=[] if checker else ["in"])
            own, why = run_verdict(report, tl, problem.memory_mb)
            verdict = (own, 0.0, why)
            if own == "pass" and checker:
                # the answer enters the box only now, every process of the program gone
                verdict = _run_checker(box, settings, test.answer, problem.checker_protocol)
            elif own == "pass":
                why = compare_output(problem, data["stdout"].decode("utf-8", "replace"), test.answer)
                verdict = ("wrong", 0.0, why) if why else ("pass", 1.0, None)
            elif checker:
                box.drop(["in", "out"])
        results.append(TestVerdict(i, verdict[0], verdict[1], round(float(report.get("cpu", 0.0)), 3),
                                   round(int(report.get("peak_bytes", 0)) / (1 << 20), 1), verdict[2]))
        if verdict[0] != "pass" and not problem.partial:
            break
    return results


def _run_checker(box: JudgeBox, settings: JudgeSettings, answer: str, order: str = "testlib") -> tuple[str, float, str | None]:
    limits = _limits(30.0, 60.0, 1024, settings)
    if order == "kattis":
        argv, stdin = [box.path("checker"), box.path("in"), box.path("ans"), kattis_feedback_dir(box)], "out"
    else:
        files = ["in", "ans", "out"] if order == "cms" else ["in", "out", "ans"]
        argv, stdin = [box.path("checker"), *[box.path(f) for f in files]], None
    report, data = box.exec({"argv": argv, "stdin": stdin, "as": "helper", "limits": limits},
                            stdout_cap=CHECKER_MESSAGE_BYTES,
                            put=[("ans", answer, "helper", 0o400)], drop_after=["in", "out", "ans"])
    if report.get("killed"):
        return "sandbox_error", 0.0, f"the checker was stopped: {report['killed'][1]}"
    code, stdout = report.get("exit"), data["stdout"].decode("utf-8", "replace")
    if order == "kattis" and code is not None:
        code, stdout = KATTIS_EXIT.get(code, CHECKER_FAIL), ""  # its stdout is not a score
    return checker_verdict(code, report.get("signal"), stdout, data["stderr"].decode("utf-8", "replace"))


def _interactive_verdict(report: dict[str, Any], data: dict[str, bytes], tl: float, memory_mb: int,
                         kattis: bool = False) -> tuple[str, float, str | None]:
    """The program's limits first (a stalled or flooding program ends there), then the
    interactor's verdict (final: a program that crashes after a wrong answer is wrong), then the
    program's own exit."""
    own, why = run_verdict(report, tl, memory_mb)
    if own in ("timeout", "memory", "output_limit"):
        return own, 0.0, why
    inter = report.get("interactor") or {}
    if inter.get("killed"):
        return "timeout" if own != "pass" else "sandbox_error", 0.0, str(inter["killed"])
    if inter.get("signal") == "SIGPIPE":  # the program left while the judge still wrote to it: the program's fault
        return (own if own != "pass" else "wrong"), 0.0, "the program stopped reading the judge's replies"
    code = inter.get("exit")
    if kattis and code is not None:
        code = KATTIS_EXIT.get(code, CHECKER_FAIL)
    verdict, score, msg = checker_verdict(code, inter.get("signal"), "",
                                          data["interactor_stderr"].decode("utf-8", "replace"))
    if verdict != "pass":
        return verdict, score, msg
    if own != "pass":
        return own, 0.0, why
    return "pass", score, msg
