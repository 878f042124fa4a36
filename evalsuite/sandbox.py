"""Run untrusted Python programs against test cases: isolated, resource-limited and fast.

Shape (docs/sandbox.md has the long version):

    harness --pipe--> fork server (one per worker, a fresh `python -I` with a scrubbed env)
                        - own network namespace (no interfaces up: no network at all)
                        - own mount namespace: every mount read-only, a private tmpfs for work
                          dirs, the home directories hidden, /proc remounted with hidepid=2
                        - own PID namespace, the server is its init: kill(-1) ends every
                          process a program left behind, setsid or not
                        --fork--> one child per program: setpgid, rlimits (CPU, address space,
                                  processes, file size, open files), fresh 0700 work dir,
                                  a random unprivileged uid, then all its tests in-process

A fork costs well under a millisecond where a fresh interpreter costs 20-40 ms, and the standard
modules are imported once in the server. This file imports only the standard library: the server
runs it as a script (`python -I sandbox.py --serve`), so it never imports the harness.

Grading follows the LiveCodeBench reference runner: stdin/stdout programs are compared line by
line after strip (or as lists of Decimals), call-based programs by `==` on the JSON expected value
after turning a returned tuple into a list. Execution stops at the first failing test.
"""
from __future__ import annotations

import ctypes
import json
import os
import queue
import select
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Literal, Sequence

Mode = Literal["stdin", "call"]
VERDICTS = ("pass", "wrong", "timeout", "runtime_error", "compile_error", "memory", "output_limit",
            "sandbox_error")
MESSAGE_CHARS = 300  # failure messages are for humans; a program can print megabytes


@dataclass
class TestCase:
    __test__ = False  # not a pytest class

    input: str
    output: str


@dataclass
class Limits:
    timeout_s: float = 6.0  # wall clock per test (the reference runner's 6 s)
    memory_mb: int = 4096  # address space of the program process
    max_processes: int = 64  # processes + threads of the program's uid
    max_output_mb: int = 64  # stdout per test, and any file the program writes
    max_open_files: int = 64


@dataclass
class Job:
    """One program and the tests it must pass. `tests_key` names the test set (a problem id) so a
    worker that already holds it is not sent megabytes of tests again."""

    code: str
    tests: list[TestCase]
    mode: Mode = "stdin"
    func_name: str | None = None
    limits: Limits = field(default_factory=Limits)
    tests_key: str | None = None


@dataclass
class TestResult:
    index: int
    verdict: str
    wall_s: float = 0.0
    message: str | None = None


@dataclass
class ProgramResult:
    passed: bool
    verdict: str  # "pass", or the verdict of the first failing test (or of compiling/loading)
    tests: list[TestResult]  # the tests that ran; execution stops at the first failure
    n_tests: int
    wall_s: float  # as seen by the harness: send to reply
    cpu_s: float  # user + system CPU of the program's processes
    message: str | None = None  # the first failure, truncated

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ----------------------------------------------------------------------------------------------
# Grading: shared by the sandboxed driver and the plain reference-style driver (bench).


def _line_as_decimals(line: str) -> list[Decimal] | None:
    try:
        return [Decimal(token) for token in line.split()]
    except (InvalidOperation, ValueError):
        return None


def compare_stdout(got: str, expected: str) -> str | None:
    """None when `got` matches `expected` as the reference runner judges it, else why not."""
    got_lines = got.strip().split("\n")
    exp_lines = expected.strip().split("\n")
    if len(got_lines) != len(exp_lines):
        return f"expected {len(exp_lines)} lines, got {len(got_lines)}"
    for n, (g, e) in enumerate(zip(got_lines, exp_lines), 1):
        g, e = g.strip(), e.strip()
        if g == e:
            continue
        gd = _line_as_decimals(g)
        if gd is not None and gd == _line_as_decimals(e):
            continue
        return f"line {n}: expected {e[:100]!r}, got {g[:100]!r}"
    return None


def compare_return(got: Any, expected: Any) -> str | None:
    """Call-based: `==` after a returned tuple becomes a list (the reference runner's rule)."""
    if isinstance(got, tuple):
        got = list(got)
    try:
        if got == expected:
            return None
    except Exception as e:  # a hostile __eq__
        return f"comparison raised {type(e).__name__}"
    return f"expected {_short(expected)}, got {_short(got)}"


def _short(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:
        text = f"<unprintable {type(value).__name__}>"
    return text if len(text) <= 100 else text[:100] + "..."


def _exc_message(e: BaseException) -> str:
    try:
        return f"{type(e).__name__}: {e}"[:MESSAGE_CHARS]
    except Exception:
        return type(e).__name__


def _exc_verdict(e: BaseException) -> str:
    if isinstance(e, MemoryError):
        return "memory"
    if isinstance(e, OSError) and e.errno == 27:  # EFBIG: RLIMIT_FSIZE hit by stdout or a file
        return "output_limit"
    return "runtime_error"


# What the reference runner puts in front of every program (typing names, collections ...), minus
# any name that would shadow a builtin (`from math import *` replaces pow() with math.pow).
PRELUDE_MODULES = ("sys", "math", "collections", "itertools", "heapq", "bisect", "functools", "re",
                   "string", "random", "json", "copy", "operator", "decimal", "fractions", "typing",
                   "statistics", "datetime", "array", "threading", "io", "time")
PRELUDE_STAR = ("typing", "collections", "itertools", "functools", "heapq", "bisect", "math")


def build_prelude() -> dict[str, Any]:
    import builtins
    import importlib

    names: dict[str, Any] = {}
    for mod in PRELUDE_STAR:
        m = importlib.import_module(mod)
        public = getattr(m, "__all__", [n for n in dir(m) if not n.startswith("_")])
        for n in public:
            if not hasattr(builtins, n) and hasattr(m, n):
                names[n] = getattr(m, n)
    for mod in PRELUDE_MODULES:
        names[mod] = importlib.import_module(mod)
    names["__builtins__"] = builtins
    names["__name__"] = "__main__"
    return names


class _Stdio:
    """Per-test stdin/stdout on in-memory files at fds 0/1, so input(), sys.stdin.buffer,
    open(0) and os.write(1) all behave as in a real process."""

    def __init__(self, max_output_bytes: int):
        self.max_output_bytes = max_output_bytes
        self.out_fd = -1

    def start(self, data: str) -> None:
        import io

        in_fd = _above_stdio(os.memfd_create("stdin"))
        os.write(in_fd, data.encode()) if len(data) < 1 << 20 else _write_all(in_fd, data.encode())
        os.lseek(in_fd, 0, 0)
        os.dup2(in_fd, 0)
        os.close(in_fd)
        if self.out_fd >= 0:
            os.close(self.out_fd)
        self.out_fd = _above_stdio(os.memfd_create("stdout"))
        os.dup2(self.out_fd, 1)
        sys.stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)))
        sys.stdout = io.TextIOWrapper(io.BufferedWriter(io.FileIO(1, "w", closefd=False), 1 << 16))

    def finish(self) -> tuple[str | None, str | None]:
        """(output, None) or (None, verdict) when it overflowed."""
        try:
            sys.stdout.flush()
        except (ValueError, OSError):  # closed by the program, or EFBIG: size checked below
            pass
        size = os.fstat(self.out_fd).st_size
        if size > self.max_output_bytes:
            return None, "output_limit"
        raw = os.pread(self.out_fd, size, 0) if size else b""
        return raw.decode("utf-8", "replace"), None


def _above_stdio(fd: int) -> int:
    """A program that closed fd 0 or 1 makes the next new fd land there; move it above."""
    if fd > 2:
        return fd
    import fcntl

    high = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return high


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _join_threads() -> None:
    main = threading.main_thread()
    for th in threading.enumerate():
        if th is not main and not th.daemon and th is not threading.current_thread():
            th.join()


def drive(job: dict[str, Any], tests: Sequence[Sequence[str]], prelude: dict[str, Any], report) -> None:
    """Run one program's tests in this process; `report(record)` sends progress to the parent.
    ("begin", i) marks the start of test i (-1: compiling and loading); ("test", ...) is a result."""
    max_out = int(job["limits"]["max_output_mb"]) << 20
    stdio = _Stdio(max_out)
    report({"begin": -1})
    try:
        code = compile(job["code"], "<solution>", "exec")
    except BaseException as e:  # SyntaxError, ValueError (NUL bytes), MemoryError, RecursionError
        report({"test": -1, "verdict": "compile_error", "wall": 0.0, "msg": _exc_message(e)})
        return
    if job["mode"] == "call":
        _drive_call(job, code, tests, prelude, stdio, report)
    else:
        _drive_stdin(code, tests, prelude, stdio, report)


def _each_test(tests, run_one, report) -> None:
    """run_one(test_in, test_out) -> (verdict, msg) for each test in turn, timed and reported;
    anything the program raises is its verdict; the first test that does not pass ends the run."""
    for i, (test_in, test_out) in enumerate(tests):
        report({"begin": i})
        t0 = time.perf_counter()
        try:
            verdict, msg = run_one(test_in, test_out)
        except BaseException as e:
            verdict, msg = _exc_verdict(e), _exc_message(e)
        report({"test": i, "verdict": verdict, "wall": time.perf_counter() - t0, "msg": msg})
        if verdict != "pass":
            return


def _drive_stdin(code, tests, prelude, stdio: _Stdio, report) -> None:
    def run_one(test_in, test_out):
        stdio.start(test_in)
        namespace = dict(prelude)
        try:
            exec(code, namespace)
        except SystemExit:  # exit()/sys.exit(): the program ended, its output stands
            pass
        _join_threads()
        # drop the program's objects now: a file it opened on fd 0 (open(0)) must close
        # before the next test puts its input there, not whenever the GC gets to it
        namespace.clear()
        del namespace
        output, overflow = stdio.finish()
        if overflow:
            return overflow, f"more than {stdio.max_output_bytes >> 20} MiB of output"
        msg = compare_stdout(output, test_out)
        return ("wrong" if msg else "pass"), msg

    _each_test(tests, run_one, report)


def _drive_call(job, code, tests, prelude, stdio: _Stdio, report) -> None:
    func_name = job["func_name"]
    t0 = time.perf_counter()
    try:
        stdio.start("")
        namespace = dict(prelude)
        exec(code, namespace)
        if isinstance(namespace.get("Solution"), type):
            func = getattr(namespace["Solution"](), func_name)
        else:
            func = namespace[func_name]
    except BaseException as e:
        msg = _exc_message(e)
        if isinstance(e, (AttributeError, KeyError)):
            msg = f"no function {func_name!r} (in class Solution or at top level): {msg}"
        report({"test": -1, "verdict": _exc_verdict(e), "wall": time.perf_counter() - t0, "msg": msg})
        return
    def run_one(test_in, test_out):
        args = [json.loads(line) for line in test_in.split("\n")]
        msg = compare_return(func(*args), json.loads(test_out))
        return ("wrong" if msg else "pass"), msg

    _each_test(tests, run_one, report)


# ----------------------------------------------------------------------------------------------
# The fork server (runs as `python -I sandbox.py --serve CONFIG_JSON`).

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x20000, 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND = 1, 2, 4, 8, 32, 4096
MS_MOVE, MS_REC, MS_PRIVATE = 8192, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
SYS_MOUNT_SETATTR, AT_RECURSIVE, MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID = 442, 0x8000, 1, 2


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = lambda s: s.encode() if s is not None else None  # noqa: E731
    _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
           f"mount {target}")


def _set_readonly(path: str, readonly: bool) -> None:
    attr = _MountAttr(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID if readonly else 0,
                      0 if readonly else MOUNT_ATTR_RDONLY, 0, 0)
    _check(_libc.syscall(SYS_MOUNT_SETATTR, -100, path.encode(), AT_RECURSIVE, ctypes.byref(attr),
                         ctypes.sizeof(attr)), f"mount_setattr {path}")


def _enter_namespaces(is_root: bool) -> dict[str, bool]:
    """New network + mount + PID namespaces (a user namespace first when not root)."""
    flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID
    if not is_root:
        uid, gid = os.getuid(), os.getgid()
        if _libc.unshare(CLONE_NEWUSER | flags) != 0:
            return {"network": False, "mount": False, "pid": False}
        with open("/proc/self/setgroups", "w") as f:
            f.write("deny")
        with open("/proc/self/uid_map", "w") as f:
            f.write(f"0 {uid} 1")
        with open("/proc/self/gid_map", "w") as f:
            f.write(f"0 {gid} 1")
        return {"network": True, "mount": True, "pid": True}
    if _libc.unshare(flags) == 0:
        return {"network": True, "mount": True, "pid": True}
    if _libc.unshare(CLONE_NEWNET) == 0:
        return {"network": True, "mount": False, "pid": False}
    return {"network": False, "mount": False, "pid": False}


def _hide_dir(path: str, keep: list[str], stage_root: str) -> None:
    """Cover `path` with an empty tmpfs, but bind back the `keep` paths inside it (the Python
    installation, when it lives in a home directory), staged through `stage_root` first."""
    keep = sorted({k for k in keep if k.startswith(path.rstrip("/") + "/") and os.path.isdir(k)})
    keep = [k for k in keep if not any(k != o and k.startswith(o + "/") for o in keep)]
    staged = []
    for n, k in enumerate(keep):
        stage = os.path.join(stage_root, f".stage{n}")
        os.makedirs(stage)
        _mount(k, stage, None, MS_BIND | MS_REC)
        staged.append((stage, k))
    _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
    for stage, k in staged:
        os.makedirs(k, exist_ok=True)
        _mount(stage, k, None, MS_MOVE)


def _setup_filesystem(work_root: str, hide: list[str]) -> dict[str, bool]:
    done = {"readonly_fs": False, "home_hidden": False, "proc_hidepid": False}
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing we mount leaks back to the host
    _mount("tmpfs", work_root, "tmpfs", MS_NOSUID | MS_NODEV, "size=256m,mode=0711")
    python_paths = [sys.prefix, sys.base_prefix, sys.exec_prefix] + [p for p in sys.path if p]
    try:
        for path in hide:
            if os.path.isdir(path) and not work_root.startswith(path.rstrip("/") + "/"):
                _hide_dir(path, python_paths, work_root)
        done["home_hidden"] = True
    except OSError:
        pass
    try:  # a /proc of our PID namespace only, and only the program's own processes in it
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2")
        done["proc_hidepid"] = True
    except OSError:
        pass
    try:
        _set_readonly("/", True)
        _set_readonly(work_root, False)
        done["readonly_fs"] = True
    except OSError:
        pass
    return done


def _read_exact(fd: int, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _recv(fd: int) -> Any:
    (n,) = struct.unpack("<Q", _read_exact(fd, 8))
    return json.loads(_read_exact(fd, n))


def _send(fd: int, obj: Any) -> None:
    data = json.dumps(obj).encode()
    _write_all(fd, struct.pack("<Q", len(data)) + data)


class _Server:
    TESTS_CACHE = 16

    def __init__(self, config: dict[str, Any], isolation: dict[str, Any], in_fd: int, out_fd: int):
        import collections

        self.config = config
        self.isolation = isolation
        self.in_fd, self.out_fd = in_fd, out_fd
        self.tests: collections.OrderedDict[str, list] = collections.OrderedDict()
        self.prelude = build_prelude()
        self.counter = 0
        # one random unprivileged uid per server: its RLIMIT_NPROC is ours alone, its files are
        # unreadable to other servers' programs, and hidepid hides every other process
        self.uid = 1_000_000 + int.from_bytes(os.urandom(4), "little") % 1_000_000_000 if isolation["uid"] else None

    def loop(self) -> None:
        while True:
            try:
                msg = _recv(self.in_fd)
            except EOFError:
                return
            if msg["op"] == "tests":
                self.tests[msg["key"]] = msg["tests"]
                self.tests.move_to_end(msg["key"])
                while len(self.tests) > self.TESTS_CACHE:
                    self.tests.popitem(last=False)
            elif msg["op"] == "run":
                tests = self.tests.get(msg["key"])
                if tests is None:
                    _send(self.out_fd, {"missing_tests": True})
                    continue
                self.tests.move_to_end(msg["key"])
                _send(self.out_fd, self.run(msg, tests))

    def run(self, job: dict[str, Any], tests: list) -> dict[str, Any]:
        self.counter += 1
        work_dir = os.path.join(self.config["work_root"], f"p{self.counter}")
        os.mkdir(work_dir, 0o700)
        if self.uid is not None:
            os.chown(work_dir, self.uid, self.uid)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            self._child(job, tests, work_dir, w)  # never returns
        os.close(w)
        try:
            os.setpgid(pid, pid)  # also done by the child: whichever runs first wins the race
        except OSError:
            pass
        results, done, killed, current = self._watch(pid, r, float(job["limits"]["timeout_s"]))
        os.close(r)
        status, cpu = self._end_program(pid)
        _rmtree(work_dir)
        if killed is None and not done:  # it ended without saying so: os._exit, a signal ...
            if os.WIFSIGNALED(status):
                sig = os.WTERMSIG(status)
                name = signal.Signals(sig).name if sig in signal.valid_signals() else str(sig)
                killed = ("timeout" if sig == signal.SIGXCPU else "runtime_error",
                          f"killed by signal {name} during test {current}")
            else:
                killed = ("runtime_error", f"the program exited (status {os.waitstatus_to_exitcode(status)}) "
                                           f"during test {current}")
        return {"results": results, "killed": killed, "cpu": cpu, "n": len(tests), "current": current}

    def _watch(self, pid: int, r: int, timeout: float):
        """Follow the child's reports; stop it when the current test overruns its timeout.
        Returns (test records, finished normally, (verdict, message) if stopped, current test)."""
        os.set_blocking(r, False)  # an escaped grandchild may hold the write end open forever
        pidfd = os.pidfd_open(pid)
        poller = select.poll()
        poller.register(r, select.POLLIN)
        poller.register(pidfd, select.POLLIN)
        buffer = b""
        results: list[dict[str, Any]] = []
        current, next_begin = -2, -1
        deadline = time.monotonic() + timeout + 2.0  # the fork and setup before the first report
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    what = f"test {current}" if current >= 0 else "loading the program"
                    return results, False, ("timeout", f"{what} ran past {timeout:g} s"), current
                exited = False
                for fd, _ in poller.poll(left * 1000):
                    if fd == pidfd:
                        exited = True
                try:
                    while True:
                        chunk = os.read(r, 1 << 16)
                        if not chunk:
                            break
                        buffer += chunk
                        if len(buffer) > 1 << 20:  # garbage written into our pipe
                            return results, False, ("runtime_error", "the program wrote into the harness's pipe"), current
                except BlockingIOError:
                    pass
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    try:
                        rec = json.loads(line)
                    except ValueError:
                        continue
                    if not isinstance(rec, dict):
                        continue
                    if rec.get("begin") == next_begin:
                        current, next_begin = next_begin, next_begin + 1
                        deadline = time.monotonic() + timeout
                    elif rec.get("test") == current and (not results or results[-1].get("test") != current):
                        results.append(rec)
                        if rec.get("verdict") != "pass":
                            return results, True, None, current
                    elif rec.get("done"):
                        return results, True, None, current
                if exited:
                    return results, False, None, current
        finally:
            os.close(pidfd)

    def _end_program(self, pid: int) -> tuple[int, float]:
        """Kill the program and everything it started (setsid or not); reap every zombie.
        Returns the program's wait status and CPU seconds."""
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
        if not self.isolation.get("pid") and self.uid is not None:
            helper = os.fork()  # no PID namespace: kill whatever runs as the program's uid
            if helper == 0:
                try:
                    os.setresuid(self.uid, self.uid, self.uid)
                    os.kill(-1, signal.SIGKILL)
                finally:
                    os._exit(0)
            os.waitpid(helper, 0)
        _, status, usage = os.wait4(pid, 0)
        if self.isolation.get("pid"):
            # we are init of our PID namespace: every other process in it belongs to this program,
            # and its orphans were reparented to us
            while True:
                try:
                    os.kill(-1, signal.SIGKILL)
                except OSError:
                    pass
                try:
                    os.waitpid(-1, 0)
                except ChildProcessError:
                    break
        return status, usage.ru_utime + usage.ru_stime

    def _child(self, job: dict[str, Any], tests: list, work_dir: str, report_fd: int) -> None:
        try:
            import resource

            os.setpgid(0, 0)  # its own group: the parent kills the group
            os.dup2(report_fd, 3)
            os.closerange(4, 1 << 16)
            report_fd = 3
            devnull = os.open(os.devnull, os.O_RDWR)
            os.dup2(devnull, 2)
            os.close(devnull)
            limits = job["limits"]
            cpu_s = int(float(limits["timeout_s"]) * (max(1, len(tests)) + 1)) + 1
            for res, value in ((resource.RLIMIT_CPU, cpu_s),
                               (resource.RLIMIT_AS, int(limits["memory_mb"]) << 20),
                               (resource.RLIMIT_FSIZE, int(limits["max_output_mb"]) << 20),
                               (resource.RLIMIT_CORE, 0),
                               (resource.RLIMIT_NOFILE, int(limits["max_open_files"]))):
                try:
                    resource.setrlimit(res, (value, value))
                except (ValueError, OSError):
                    pass
            os.chdir(work_dir)
            if self.uid is not None:
                # counted per uid, and root is exempt: it only bites after setuid
                resource.setrlimit(resource.RLIMIT_NPROC, (int(limits["max_processes"]),) * 2)
                os.setgroups([])
                os.setresgid(self.uid, self.uid, self.uid)
                os.setresuid(self.uid, self.uid, self.uid)
            _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
            os.environ.clear()
            os.environ.update({"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": work_dir,
                               "TMPDIR": work_dir, "LANG": "C.UTF-8"})
            tempfile.tempdir = work_dir

            def report(record: dict[str, Any]) -> None:
                _write_all(report_fd, json.dumps(record).encode() + b"\n")

            drive(job, tests, self.prelude, report)
            report({"done": True})
        except BaseException:
            pass
        os._exit(0)


def _rmtree(path: str) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def serve(config: dict[str, Any]) -> None:
    # No PR_SET_PDEATHSIG towards the harness: it fires when the *thread* that started us ends,
    # and the harness starts servers from worker threads. A harness that dies closes our stdin:
    # the loop ends at EOF, and with it (init of the PID namespace) every program.
    is_root = os.geteuid() == 0
    in_fd, out_fd = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(devnull, fd)
    isolation: dict[str, Any] = dict(_enter_namespaces(is_root), uid=is_root)
    if isolation["pid"]:
        # the next child is init (PID 1) of the new namespace: it becomes the server
        init = os.fork()
        if init:
            os.close(in_fd)
            os.close(out_fd)
            _, status = os.waitpid(init, 0)
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # the outer process is single-threaded
    if isolation["mount"]:
        isolation.update(_setup_filesystem(config["work_root"], config.get("hide", [])))
    else:
        isolation.update(readonly_fs=False, home_hidden=False, proc_hidepid=False)
    server = _Server(config, isolation, in_fd, out_fd)
    _send(out_fd, {"ready": True, "isolation": isolation})
    server.loop()


# ----------------------------------------------------------------------------------------------
# The harness side: a pool of fork servers.


def _tests_key(job: Job) -> str:
    if job.tests_key is not None:
        return job.tests_key
    import hashlib

    h = hashlib.blake2b(digest_size=16)
    for t in job.tests:
        h.update(t.input.encode())
        h.update(b"\0")
        h.update(t.output.encode())
        h.update(b"\1")
    return h.hexdigest()


class SandboxError(RuntimeError):
    """The sandbox itself failed (not the program): the server could not start or died."""


class _ServerHandle:
    """One fork server process and the test sets it holds."""

    def __init__(self, hide: list[str]):
        self.work_root = tempfile.mkdtemp(prefix="evalsuite-sandbox-")
        os.chmod(self.work_root, 0o711)
        config = {"work_root": self.work_root, "hide": hide}
        # -I: ignore PYTHON* variables and the user's site dir; env: nothing of ours reaches it
        self.proc = subprocess.Popen(
            [sys.executable, "-I", os.path.abspath(__file__), "--serve", json.dumps(config)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env={"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"},
            close_fds=True, start_new_session=True)
        self.sent_keys: list[str] = []
        try:
            hello = self._recv(timeout=60)
        except SandboxError:
            self.close()
            raise
        self.isolation: dict[str, Any] = hello["isolation"]

    def _recv(self, timeout: float) -> Any:
        fd = self.proc.stdout.fileno()
        end = time.monotonic() + timeout

        def read_exact(n: int) -> bytes:
            parts, got = [], 0
            while got < n:
                left = end - time.monotonic()
                if left <= 0 or not select.select([fd], [], [], left)[0]:
                    raise SandboxError(f"sandbox server did not answer within {timeout:.0f} s")
                chunk = os.read(fd, min(n - got, 1 << 20))
                if not chunk:
                    raise SandboxError(f"sandbox server exited (status {self.proc.poll()})")
                parts.append(chunk)
                got += len(chunk)
            return b"".join(parts)

        (n,) = struct.unpack("<Q", read_exact(8))
        return json.loads(read_exact(n))

    def _send(self, obj: Any) -> None:
        try:
            _send(self.proc.stdin.fileno(), obj)
        except OSError as e:
            raise SandboxError(f"sandbox server gone: {e}") from None

    def run(self, job: Job) -> dict[str, Any]:
        key = _tests_key(job)
        message = {"op": "run", "key": key, "code": job.code, "mode": job.mode,
                   "func_name": job.func_name, "limits": asdict(job.limits)}
        # the server's own checks bound every phase; this is the guard against a wedged server
        guard = (len(job.tests) + 2) * (job.limits.timeout_s + 1) + 30
        for _attempt in range(2):
            if key not in self.sent_keys:
                self._send({"op": "tests", "key": key, "tests": [[t.input, t.output] for t in job.tests]})
                self.sent_keys.append(key)
                del self.sent_keys[:-_Server.TESTS_CACHE]
            else:  # mirror the server's LRU order
                self.sent_keys.remove(key)
                self.sent_keys.append(key)
            self._send(message)
            reply = self._recv(timeout=guard)
            if not reply.get("missing_tests"):
                return reply
            self.sent_keys.remove(key)
        raise SandboxError("sandbox server lost its test cache")

    def close(self) -> None:
        # closing its stdin ends the server's loop: its init exits, the outer process reaps it and
        # exits (killing the outer first would leave the init a zombie for the host's init)
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
        try:
            os.rmdir(self.work_root)  # empty on the host: the tmpfs lived in the server's namespace
        except OSError:
            pass


def _result_from_reply(reply: dict[str, Any], wall_s: float) -> ProgramResult:
    tests = [TestResult(int(r.get("test", -1)), str(r.get("verdict", "runtime_error")),
                        float(r.get("wall", 0.0)), (r.get("msg") or None) and str(r["msg"])[:MESSAGE_CHARS])
             for r in reply["results"]]
    n = int(reply["n"])
    killed = reply.get("killed")
    if killed:
        verdict, message = killed[0], str(killed[1])[:MESSAGE_CHARS]
        index = int(reply.get("current", -1))
        if not tests or tests[-1].verdict == "pass":
            tests.append(TestResult(index, verdict, 0.0, message))
    else:
        failed = next((t for t in tests if t.verdict != "pass"), None)
        verdict = failed.verdict if failed else "pass"
        message = f"test {failed.index}: {failed.message}" if failed and failed.index >= 0 else (failed.message if failed else None)
    if verdict not in VERDICTS:
        verdict = "runtime_error"
    passed = verdict == "pass" and sum(t.verdict == "pass" for t in tests) == n
    if verdict == "pass" and not passed:
        verdict, message = "runtime_error", "not every test reported a result"
    return ProgramResult(passed, verdict, tests, n, wall_s, float(reply.get("cpu", 0.0)), message)


def _sandbox_failure(job: Job, error: Exception, wall_s: float) -> ProgramResult:
    return ProgramResult(False, "sandbox_error", [], len(job.tests), wall_s, 0.0, str(error)[:MESSAGE_CHARS])


def default_hidden_dirs() -> list[str]:
    """Home directories a program must not read (tokens, caches, ssh keys)."""
    dirs = {os.path.expanduser("~"), "/root", "/home"}
    return sorted(d for d in dirs if d and d != "/" and os.path.isdir(d))


class SandboxPool:
    """`workers` fork servers; `run` is thread-safe and `run_many` keeps every server busy."""

    def __init__(self, workers: int | None = None, hide: list[str] | None = None):
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.hide = default_hidden_dirs() if hide is None else hide
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
        handle = _ServerHandle(self.hide)
        with self._lock:
            self._all.append(handle)
        self._idle.put(handle)

    @property
    def isolation(self) -> dict[str, Any]:
        """What this machine allowed: network/mount/pid namespaces, uid drop, read-only fs ..."""
        return dict(self._all[0].isolation) if self._all else {}

    def run(self, job: Job) -> ProgramResult:
        if self._closed:
            raise SandboxError("sandbox pool is closed")
        handle = self._idle.get()
        t0 = time.perf_counter()
        try:
            reply = handle.run(job)
        except (SandboxError, OSError, ValueError, KeyError) as e:
            # the server is in an unknown state: replace it, record the program as a failure
            handle.close()
            with self._lock:
                self._all.remove(handle)
            self._add()
            return _sandbox_failure(job, e, time.perf_counter() - t0)
        self._idle.put(handle)
        try:
            return _result_from_reply(reply, time.perf_counter() - t0)
        except (KeyError, TypeError, ValueError) as e:
            return _sandbox_failure(job, e, time.perf_counter() - t0)

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
                results[i] = self.run(jobs[i])
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
             **limits: Any) -> Job:
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
    return Job(code, cases, mode, func_name, Limits(timeout_s=timeout_s, **limits), tests_key)


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


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "--serve":
    serve(json.loads(sys.argv[2]))
