"""Run untrusted Python programs against test cases: isolated, resource-limited, fast, and graded
where the program cannot reach.

The harness side (this file) keeps the expected outputs and grades; the fork servers
(evalsuite/sandbox/server.py, one per worker, a fresh `python -I` in its own namespaces) run each
program in a forked child and hand back only what the program printed or returned. The server
never receives an expected output, so no program can find one in memory it inherited, and the
verdict is decided here, in a process no program shares. docs/sandbox.md has the threat model.

Grading follows the LiveCodeBench reference runner: stdin/stdout programs are compared line by
line after strip (or as lists of Decimals), call-based programs by `==` between the returned value
(as plain JSON types, a top-level tuple as a list) and the JSON expected value. The verdict is the
first failing test's; a wrong answer does not stop the program (only a failure it knows of itself
does), so the order of its tests tells it nothing about its answers.
"""
from __future__ import annotations

import decimal
import json
import os
import queue
import re
import select
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable, Literal, Sequence

from evalsuite.sandbox import server as sandbox_server
from evalsuite.sandbox.server import MESSAGE_CHARS, UNPLAIN, to_plain

Mode = Literal["stdin", "call"]
VERDICTS = ("pass", "wrong", "timeout", "runtime_error", "compile_error", "memory", "output_limit",
            "sandbox_error")
# what a program may say about its own failure; anything else it claims is a runtime error
SELF_REPORTED = ("runtime_error", "memory", "output_limit", "compile_error")
SERVER_SCRIPT = Path(sandbox_server.__file__).resolve()
CGROUP_ENV = "EVALSUITE_SANDBOX_CGROUP"


@dataclass
class TestCase:
    __test__ = False  # not a pytest class

    input: str
    output: str


@dataclass
class Limits:
    timeout_s: float = 6.0  # wall clock per test (the reference runner's 6 s)
    memory_mb: int = 4096  # the whole program: every process, shared memory and file it makes
    max_processes: int = 64  # processes + threads of the program
    max_output_mb: int = 64  # stdout per test, a returned value, and any file the program writes
    max_open_files: int = 64


@dataclass
class Job:
    """One program and the tests it must pass. `tests_key` names the test set (a problem id) so a
    worker that already holds its inputs is not sent megabytes of them again."""

    code: str
    tests: list[TestCase]
    mode: Mode = "stdin"
    func_name: str | None = None
    limits: Limits = field(default_factory=Limits)
    tests_key: str | None = None
    # call mode: hand each returned value back (TestResult.value) instead of comparing it here; the
    # caller compares outside the sandbox (SciCode: values the program encodes, targets it never sees)
    collect: bool = False
    prelude: bool = True  # the reference runner's names (math, typing ...) in front of the program


@dataclass
class TestResult:
    index: int
    verdict: str
    wall_s: float = 0.0
    message: str | None = None
    value: Any = None  # the returned value as plain JSON (Job.collect only)


@dataclass
class ProgramResult:
    passed: bool
    verdict: str  # "pass", or the verdict of the first failing test (or of compiling/loading)
    tests: list[TestResult]  # the tests that ran: all, unless the program raised or was stopped
    n_tests: int
    wall_s: float  # as seen by the harness: send to reply
    cpu_s: float  # user + system CPU of all the program's processes
    message: str | None = None  # the first failure, truncated

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ----------------------------------------------------------------------------------------------
# Grading: here, on the harness side, never in a program's process.


_SPACE = re.compile(r"\s*")  # `\s` is exactly str.isspace(): what strip() and split() remove
_TOKEN = re.compile(r"\S+")
_QUIET = decimal.Context(traps=[])  # `==` with a signalling NaN is False here, not an exception
_STRICT = decimal.Context()
_TAIL = 4096


def _stripped(text: str, start: int, end: int) -> tuple[int, int]:
    """The bounds of text[start:end].strip(), found without copying the text."""
    start = _SPACE.match(text, start, end).end()
    while end > start:
        chunk = text[max(start, end - _TAIL):end]
        kept = len(chunk.rstrip())
        if kept:
            return start, end - len(chunk) + kept
        end -= len(chunk)
    return start, start


def _same_numbers(got: str, start: int, end: int, want: str) -> bool:
    """The reference's `[Decimal(t) for t in g.split()] == [Decimal(t) for t in e.split()]`, token
    by token: stops at the first difference, and never reads more of `got` than `want` has tokens
    (plus one), so a line of millions of tokens costs what the expected line costs."""
    tokens = _TOKEN.finditer(got, start, end)
    with decimal.localcontext(_QUIET):
        for w in want.split():
            g = next(tokens, None)
            if g is None:
                return False
            g = g.group()
            if g == w and w.isdigit() and w.isascii():
                continue
            try:  # _STRICT: a token that is no number raises (the quiet context would make it NaN)
                if Decimal(g, _STRICT) != Decimal(w, _STRICT):
                    return False
            except (ArithmeticError, ValueError):  # not a number, or an exponent out of any range
                return False
        return next(tokens, None) is None


def compare_stdout(got: str, expected: str) -> str | None:
    """None when `got` matches `expected` as the reference runner judges it, else why not: the
    whole output stripped and split into lines, as many lines, each equal after strip or equal as
    a list of Decimals. Lazy: the program's output is never split into lines or tokens up front,
    the line count is compared first and the first differing line ends it (docs/sandbox.md,
    "Comparing an output")."""
    exp_lines = expected.strip().split("\n")
    start, end = _stripped(got, 0, len(got))
    n_got = got.count("\n", start, end) + 1
    if n_got != len(exp_lines):
        return f"expected {len(exp_lines)} lines, got {n_got}"
    at = start
    for n, e in enumerate(exp_lines, 1):
        nl = got.find("\n", at, end)
        nl = end if nl < 0 else nl
        a, b = _stripped(got, at, nl)
        at = nl + 1
        e = e.strip()
        if (b - a == len(e) and got.startswith(e, a, b)) or _same_numbers(got, a, b, e):
            continue
        return f"line {n}: expected {e[:100]!r}, got {got[a:min(b, a + 100)]!r}"
    return None


class _Unplain:
    """A returned value with no plain JSON form: equal to nothing, as in the reference."""

    def __init__(self, what: str):
        self.what = str(what)[:60]

    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<{self.what}>"


def _unplain_hook(obj: dict) -> Any:
    return _Unplain(obj[UNPLAIN]) if UNPLAIN in obj else obj


def loads_untrusted(text: str | bytes, hook=None) -> Any:
    """JSON from a program or a data file: ValueError for anything unparsable, too deep or too big."""
    try:
        return json.loads(text, object_hook=hook)
    except (ValueError, RecursionError, MemoryError, TypeError) as e:
        raise ValueError(f"{type(e).__name__}: {str(e)[:100]}") from None


def compare_plain(got: Any, expected: Any) -> str | None:
    """Both plain JSON values (the program's decoded here): `==` as the reference, on data only."""
    try:
        if got == expected:
            return None
    except (RecursionError, MemoryError):
        return "the returned value is nested too deeply to compare"
    return f"expected {_short(expected)}, got {_short(got)}"


def compare_return(got: Any, expected: Any) -> str | None:
    """Call-based: a Python value as the child sends it (plain JSON types, a top-level tuple as a
    list, anything without a JSON form equal to nothing) against the expected value."""
    return compare_plain(loads_untrusted(json.dumps(to_plain(got)), _unplain_hook), expected)


def _short(value: Any) -> str:
    try:
        text = repr(value)
    except RecursionError:
        text = "<deeply nested value>"
    return text if len(text) <= 100 else text[:100] + "..."


def _grade(job: Job, index: int, kind: str, stdout, payload) -> tuple[str, str | None]:
    """One test's verdict from what the program handed back (its stdout and its frame's payload,
    as bytes or buffers). Never raises: whatever comparing a program's answer throws (a bug of
    ours, a value no rule foresaw) makes that answer wrong, never the grading's end."""
    try:
        return _grade_answer(job, index, kind, stdout, payload)
    except Exception as e:  # noqa: BLE001 - a program's answer must not end the stage
        return "wrong", f"the answer could not be compared ({type(e).__name__}: {str(e)[:100]})"


def _grade_answer(job: Job, index: int, kind: str, stdout, payload) -> tuple[str, str | None]:
    if kind == "raised":
        try:
            claim = loads_untrusted(bytes(payload))
            verdict, msg = str(claim["verdict"]), str(claim.get("msg") or "")[:MESSAGE_CHARS]
        except (ValueError, KeyError, TypeError):
            return "runtime_error", "unreadable failure report"
        return (verdict if verdict in SELF_REPORTED else "runtime_error"), msg
    if kind != {"stdin": "end", "call": "returned"}[job.mode]:
        return "runtime_error", f"a {kind!r} report from a {job.mode} program"
    expected = job.tests[index].output
    if kind == "end":
        msg = compare_stdout(str(stdout, "utf-8", "replace"), expected)
        return ("wrong" if msg else "pass"), msg
    if kind == "returned":
        try:
            want = loads_untrusted(expected)
        except ValueError as e:
            return "sandbox_error", f"the expected output of test {index} is not JSON ({e})"
        try:
            got = loads_untrusted(bytes(payload), _unplain_hook)
        except ValueError as e:
            return "wrong", f"the returned value could not be read back ({e})"
        msg = compare_plain(got, want)
        return ("wrong" if msg else "pass"), msg
    return "runtime_error", f"unknown report {kind!r}"


# ----------------------------------------------------------------------------------------------
# The harness side of one fork server.


def _tests_key(job: Job) -> str:
    if job.tests_key is not None:
        return job.tests_key
    import hashlib

    h = hashlib.blake2b(digest_size=16)
    for t in job.tests:
        h.update(t.input.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()


class SandboxError(RuntimeError):
    """The sandbox itself failed (not the program): the server could not start or died."""


def _set_pipe_size(fd: int) -> None:
    try:
        import fcntl

        fcntl.fcntl(fd, 1031, sandbox_server.PIPE_BYTES)  # F_SETPIPE_SZ
    except OSError:
        pass


class _ServerHandle:
    """One fork server process, its four pipes and the test inputs it holds."""

    def __init__(self, cgroup: str | None, scratch_mb: int, session: bool = False, script: Path = SERVER_SCRIPT):
        self.work_root = tempfile.mkdtemp(prefix="evalsuite-sandbox-")
        os.chmod(self.work_root, 0o711)
        code_r, self.code_w = os.pipe()
        self.data_r, data_w = os.pipe()
        for fd in (code_r, data_w):
            _set_pipe_size(fd)
        config = {"work_root": self.work_root, "code_fd": code_r, "data_fd": data_w, "cgroup": cgroup,
                  "scratch_mb": scratch_mb, "session": session}  # session: evalsuite/sandbox/sessions.py
        # -I: ignore PYTHON* variables and the user's site dir; env: nothing of ours reaches it
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", str(script), "--serve", json.dumps(config)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                env={"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"},
                close_fds=True, pass_fds=(code_r, data_w), start_new_session=True)
        finally:
            os.close(code_r)
            os.close(data_w)
        self.sent_keys: list[str] = []
        try:
            hello = self._recv(timeout=60)
        except SandboxError:
            self.close()
            raise
        self.isolation: dict[str, Any] = hello["isolation"]

    def _read_exact(self, fd: int, n: int, end: float, what: str) -> bytearray:
        """Exactly n bytes, read straight into one buffer of that size: the caller checks n against
        its cap before asking, so a program's output is held once, never more than the cap."""
        buf = bytearray(n)
        view, got = memoryview(buf), 0
        while got < n:
            left = end - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise SandboxError(f"sandbox server did not send {what} in time")
            moved = os.readv(fd, [view[got:]])
            if not moved:
                raise SandboxError(f"sandbox server exited (status {self.proc.poll()})")
            got += moved
        view.release()
        return buf

    def _recv(self, timeout: float) -> Any:
        end = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        (n,) = struct.unpack("<Q", self._read_exact(fd, 8, end, "a reply"))
        return json.loads(self._read_exact(fd, n, end, "a reply"))

    def _send(self, obj: Any, data: bytes = b"") -> None:
        try:
            sandbox_server.send_msg(self.proc.stdin.fileno(), obj)
            if data:
                sandbox_server.write_all(self.code_w, data)
        except OSError as e:
            raise SandboxError(f"sandbox server gone: {e}") from None

    def run(self, job: Job) -> tuple[list[TestResult], dict[str, Any]]:
        key = _tests_key(job)
        code = job.code.encode("utf-8", "surrogatepass")
        message = {"op": "run", "key": key, "mode": job.mode, "func_name": job.func_name,
                   "limits": asdict(job.limits), "code_bytes": len(code), "prelude": job.prelude}
        # the server bounds every phase on its own clock; this only guards against a wedged server
        guard = 2 * job.limits.timeout_s + 60
        for _attempt in range(2):
            if key not in self.sent_keys:
                self._send({"op": "inputs", "key": key, "inputs": [t.input for t in job.tests]})
                self.sent_keys.append(key)
                del self.sent_keys[:-sandbox_server.Server.INPUTS_CACHE]
            else:  # mirror the server's LRU order
                self.sent_keys.remove(key)
                self.sent_keys.append(key)
            self._send(message, code)
            results: list[TestResult] = []
            while True:
                event = self._recv(timeout=guard)
                if event.get("ev") == "missing_inputs":
                    self.sent_keys.remove(key)
                    break
                if event.get("ev") == "end":
                    return results, event
                results.append(self._grade_event(job, event, guard))
        raise SandboxError("sandbox server lost its test inputs")

    def _grade_event(self, job: Job, event: dict[str, Any], guard: float) -> TestResult:
        index, n_out, n_pay = int(event["test"]), int(event["stdout"]), int(event["payload"])
        limit = (job.limits.max_output_mb << 20) + 1
        if not (-1 <= index < len(job.tests)) or n_out > limit or n_pay > limit:
            raise SandboxError(f"sandbox server sent an impossible result ({index}, {n_out}, {n_pay})")
        data = self._read_exact(self.data_r, n_out + n_pay, time.monotonic() + guard, "a program's output")
        kind = str(event["kind"])
        if index >= 0:
            # "next" says nothing about the answer: it is sent before grading, for every answer, right
            # or wrong; only a failure the program knows of itself (it raised; the server killed it)
            # ends it early. So neither the order nor the timing of its tests tells a program which
            # answers passed (docs/sandbox.md, "What a program can learn or leave behind").
            go_on = kind != "raised" and index + 1 < len(job.tests)
            self._send({"op": "next" if go_on else "stop"})
        view = memoryview(data)
        if job.collect and kind == "returned":
            try:
                return TestResult(index, "pass", float(event.get("wall", 0.0)), None, loads_untrusted(bytes(view[n_out:])))
            except ValueError as e:
                return TestResult(index, "wrong", float(event.get("wall", 0.0)), f"the returned value could not be read back ({e})")
        verdict, msg = _grade(job, index, kind, view[:n_out], view[n_out:])
        return TestResult(index, verdict, float(event.get("wall", 0.0)), msg)

    def close(self) -> None:
        # closing its control pipe ends the server's loop: its init exits, the outer process reaps
        # it and exits (killing the outer first would leave the init a zombie for the host's init)
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=2)
        except Exception:
            pass
        try:
            self.proc.kill()
            self.proc.wait(timeout=10)
        except Exception:
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except Exception:
                pass
        for fd in (self.code_w, self.data_r):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            os.rmdir(self.work_root)  # empty on the host: the tmpfs lived in the server's namespace
        except OSError:
            pass


def _program_result(job: Job, tests: list[TestResult], end: dict[str, Any], wall_s: float) -> ProgramResult:
    n = len(job.tests)
    killed = end.get("killed")
    if killed:
        verdict, message = str(killed[0]), str(killed[1])[:MESSAGE_CHARS]
        if not tests or tests[-1].verdict == "pass":
            tests.append(TestResult(int(end.get("test", -1)), verdict, 0.0, message))
    failed = next((t for t in tests if t.verdict != "pass"), None)
    verdict = failed.verdict if failed else "pass"
    message = None
    if failed:
        message = f"test {failed.index}: {failed.message}" if failed.index >= 0 and failed.message \
            and not failed.message.startswith("test ") else failed.message
    if verdict not in VERDICTS:
        verdict = "runtime_error"
    passed = verdict == "pass" and sum(t.verdict == "pass" for t in tests) == n
    if verdict == "pass" and not passed:
        verdict, message = "runtime_error", "not every test reported a result"
    return ProgramResult(passed, verdict, tests, n, wall_s, float(end.get("cpu", 0.0)), message)


def _sandbox_failure(job: Job, error: Exception, wall_s: float) -> ProgramResult:
    return ProgramResult(False, "sandbox_error", [], len(job.tests), wall_s, 0.0, str(error)[:MESSAGE_CHARS])


def delegated_cgroup() -> str | None:
    """A cgroup v2 directory the sandbox may create children in, with memory, pids and cpu
    enabled for them: $EVALSUITE_SANDBOX_CGROUP, or this process's own cgroup when it already
    delegates them. None: the fallback limits (docs/sandbox.md)."""
    candidates = [os.environ[CGROUP_ENV]] if os.environ.get(CGROUP_ENV) else []
    try:
        own = next(line[3:].strip() for line in Path("/proc/self/cgroup").read_text().splitlines()
                   if line.startswith("0::"))
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            left, _, right = line.partition(" - ")
            if right.split()[:1] == ["cgroup2"]:
                candidates.append(left.split()[4] + own)
    except (OSError, StopIteration, IndexError):
        pass
    for d in candidates:
        try:
            enabled = set(Path(d, "cgroup.subtree_control").read_text().split())
        except OSError:
            continue
        if {"memory", "pids", "cpu"} <= enabled and os.access(d, os.W_OK):
            return d
    return None


class SandboxPool:
    """`workers` fork servers; `run` is thread-safe and `run_many` keeps every server busy."""

    def __init__(self, workers: int | None = None, scratch_mb: int = 256):
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.cgroup = delegated_cgroup()
        self.scratch_mb = scratch_mb
        self._idle: queue.Queue[_ServerHandle] = queue.Queue()
        self._all: list[_ServerHandle] = []
        self._lock = threading.Lock()
        self._closed = False
        for _ in range(self.workers):
            self._add()

    def ensure_workers(self, workers: int) -> None:
        """Start more servers until there are `workers` (never fewer: running jobs keep theirs)."""
        while self.workers < workers:
            self._add()
            self.workers += 1

    def _add(self) -> None:
        handle = _ServerHandle(self.cgroup, self.scratch_mb)
        with self._lock:
            self._all.append(handle)
        self._idle.put(handle)

    @property
    def isolation(self) -> dict[str, Any]:
        """What this machine allowed: namespaces, uid drop, pivoted root, seccomp, cgroup, and
        under "limits" how each per-program limit is enforced."""
        return dict(self._all[0].isolation) if self._all else {}

    def server_pids(self) -> list[int]:
        with self._lock:
            return [h.proc.pid for h in self._all]

    def run(self, job: Job) -> ProgramResult:
        if self._closed:
            raise SandboxError("sandbox pool is closed")
        t0 = time.perf_counter()
        try:
            handle = self._take()
        except Exception as e:  # noqa: BLE001 - no server could be started
            return _sandbox_failure(job, e, time.perf_counter() - t0)
        try:
            tests, end = handle.run(job)
        except Exception as e:  # noqa: BLE001 - whatever broke, this program is a recorded failure
            # the server is in an unknown state: replace it, record the program as a failure
            handle.close()
            with self._lock:
                if handle in self._all:
                    self._all.remove(handle)
            try:
                self._add()
            except Exception:  # noqa: BLE001 - one server fewer; _take starts one when none is left
                pass
            return _sandbox_failure(job, e, time.perf_counter() - t0)
        self._idle.put(handle)
        try:
            return _program_result(job, tests, end, time.perf_counter() - t0)
        except Exception as e:  # noqa: BLE001
            return _sandbox_failure(job, e, time.perf_counter() - t0)

    def _take(self) -> _ServerHandle:
        """An idle server; when a server that died could not be replaced and none is left, a new one."""
        while True:
            try:
                return self._idle.get(timeout=1.0)
            except queue.Empty:
                with self._lock:
                    none_left = not self._all
                if none_left:
                    self._add()

    def run_many(self, jobs: Sequence[Job], progress: bool | str = False) -> list[ProgramResult]:
        results: list[ProgramResult | None] = [None] * len(jobs)
        order: queue.Queue[int] = queue.Queue()
        for i in range(len(jobs)):
            order.put(i)
        bar = None
        if progress:
            try:
                from tqdm import tqdm

                bar = tqdm(total=len(jobs), desc=progress if isinstance(progress, str) else "sandbox", unit="prog")
            except ImportError:
                bar = None
        bar_lock = threading.Lock()

        def feed() -> None:
            while True:
                try:
                    i = order.get_nowait()
                except queue.Empty:
                    return
                try:
                    results[i] = self.run(jobs[i])
                except Exception as e:  # noqa: BLE001 - a closed pool: every job still gets a result
                    results[i] = _sandbox_failure(jobs[i], e, 0.0)
                if bar is not None:
                    with bar_lock:
                        bar.update(1)

        threads = [threading.Thread(target=feed, daemon=True) for _ in range(min(self.workers, len(jobs)))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if bar is not None:
            bar.close()
        return results  # type: ignore[return-value]

    def close(self) -> None:
        self._closed = True
        with self._lock:
            handles, self._all = self._all, []
        for h in handles:
            h.close()

    def __enter__(self) -> "SandboxPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


_default_pool: SandboxPool | None = None
_default_pool_pid = 0
_default_lock = threading.Lock()


def default_pool(workers: int | None = None) -> SandboxPool:
    """A process-wide pool, started on first use (with at least `workers` servers) and closed at exit."""
    global _default_pool, _default_pool_pid
    want = max(1, workers or os.cpu_count() or 1)
    with _default_lock:
        # a forked process (a scoring worker) must not share its parent's servers: start its own
        if _default_pool is None or _default_pool._closed or _default_pool_pid != os.getpid():
            _default_pool = SandboxPool(want)
            _default_pool_pid = os.getpid()
            import atexit

            atexit.register(_default_pool.close)
        else:
            _default_pool.ensure_workers(want)
        return _default_pool


def make_job(code: str, tests: Iterable[TestCase | dict | Sequence[str]], mode: Mode = "stdin",
             func_name: str | None = None, timeout_s: float = 6.0, tests_key: str | None = None,
             collect: bool = False, prelude: bool = True, **limits: Any) -> Job:
    cases = []
    for t in tests:
        if isinstance(t, TestCase):
            cases.append(t)
        elif isinstance(t, dict):
            cases.append(TestCase(str(t["input"]), str(t["output"])))
        else:
            cases.append(TestCase(str(t[0]), str(t[1])))
    if mode not in ("stdin", "call"):
        raise ValueError(f"mode must be 'stdin' or 'call', not {mode!r}")
    if mode == "call" and not func_name:
        raise ValueError("mode='call' needs func_name (the method LeetCode calls)")
    if collect and mode != "call":
        raise ValueError("collect=True hands back returned values: it needs mode='call'")
    return Job(code, cases, mode, func_name, Limits(timeout_s=timeout_s, **limits), tests_key, collect, prelude)


def run_tests(code: str, tests: Iterable[TestCase | dict | Sequence[str]], mode: Mode = "stdin",
              func_name: str | None = None, timeout_s: float = 6.0, pool: SandboxPool | None = None,
              **limits: Any) -> ProgramResult:
    """Run one program against its tests in the sandbox (a shared pool of fork servers)."""
    job = make_job(code, tests, mode, func_name, timeout_s, **limits)
    return (pool or default_pool(1)).run(job)


def run_many(jobs: Sequence[Job], workers: int | None = None, progress: bool | str = False,
             pool: SandboxPool | None = None) -> list[ProgramResult]:
    """Every job, in parallel on `workers` fork servers (default: one per core); results in order."""
    return (pool or default_pool(workers)).run_many(jobs, progress=progress)
