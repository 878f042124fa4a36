"""The sandbox's fork server and the driver inside each program's process. Standard library only:
it runs as a script (`python -I server.py --serve CONFIG_JSON`) and never imports the
harness. evalsuite/sandbox/programs.py starts it, sends it programs and grades what comes back.

    harness --control pipe + code pipe--> server (new user?/mount/PID/network/IPC namespaces, PID 1,
                                          pivoted into a root holding only what Python needs)
            <--control pipe + data pipe--   |--fork--> one child per program (random uid, rlimits,
                                                       seccomp, its own cgroup where delegated)

What the server and the child never hold: expected outputs (the harness never sends them), the
comparison (the harness does it), the verdict. What the server never copies into its own memory,
which every later program inherits by fork: program code (spliced from the code pipe into the
child's pipe) and program output (spliced from the child's pipes into memfds, then into the data
pipe). Only test inputs, which every program may read anyway, and frame headers pass through it.

Child -> server frames on fd 3: a header (kind, payload length) and the payload. The payload is the
program's answer in its own words (stdout, or its returned value as plain JSON), so a forged frame
is only another way of answering; the harness decides what passes.
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import platform
import resource
import select
import signal
import struct
import sys
import tempfile
import time
from typing import Any

HEADER = struct.Struct("<BI")  # child frame: kind, payload length
LOADED, END, RETURNED, RAISED, FAILED, STARTED, CELL = 1, 2, 3, 4, 5, 6, 7
FRAME_NAMES = {END: "end", RETURNED: "returned", RAISED: "raised", FAILED: "raised"}
FRAME_KINDS = (LOADED, END, RETURNED, RAISED, FAILED, STARTED, CELL)
GO = struct.Struct("<I")  # server -> child: run test i (STOP: exit)
STOP = 0xFFFFFFFF
MESSAGE_CHARS = 300  # failure messages are for humans; a program can print megabytes
UNPLAIN = "\u0000unplain"  # marks a returned value with no plain JSON form (a set, an object ...)
PLAIN_DEPTH = 1000
PIPE_BYTES = 1 << 20
SETUP_S = 5.0  # fork to the driver's first frame, before any program code runs
TICK_S = 0.05  # how often a long test's CPU and memory are looked at (fallback limits)
CPU_BURST_S = 0.25  # CPU a program may use above one core before it is paused


# ----------------------------------------------------------------------------------- messages

def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            select.select([], [fd], [], 1.0)


def read_exact(fd: int, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, min(n - got, PIPE_BYTES))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def splice_out(data_out: int, parts) -> None:
    """The first `count` bytes of each (memfd, count), in order, onto the harness's data pipe
    without copying them through this process."""
    for mf, count in parts:
        sent = 0
        while sent < count:
            moved = os.splice(mf, data_out, count - sent, offset_src=sent)
            if moved == 0:
                raise HarnessGone
            sent += moved


def _running(pid: int) -> bool:
    """Is the process there and not yet a zombie?"""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except (OSError, IndexError):
        return False


def reap_exited(on_reaped) -> None:
    """Collect every child that has exited, without blocking: on_reaped(pid, status, usage) each
    (as pid 1 of a program's namespace, orphans are ours to reap)."""
    while True:
        try:
            p, status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if not p:
            return
        on_reaped(p, status, usage)


def send_msg(fd: int, obj: Any) -> None:
    data = json.dumps(obj).encode()
    write_all(fd, struct.pack("<Q", len(data)) + data)


def recv_msg(fd: int) -> Any:
    (n,) = struct.unpack("<Q", read_exact(fd, 8))
    return json.loads(read_exact(fd, n))


# ------------------------------------------------------------------- plain values (call-based)

def to_plain(value: Any, depth: int = 0) -> Any:
    """A returned value as plain JSON types, by value: an int subclass with a lying __eq__ becomes
    its int, a list subclass its items. A top-level tuple becomes a list (the reference runner's
    rule); anything else without a JSON form (a nested tuple, a set, an object) becomes a marker
    that equals nothing, as it would never equal the JSON expected value in the reference."""
    t = type(value)
    if value is None or t is bool or t is int or t is float or t is str:
        return value
    if depth > PLAIN_DEPTH:
        return {UNPLAIN: f"a value nested deeper than {PLAIN_DEPTH}"}
    if isinstance(value, int):
        return int.__int__(value)
    if isinstance(value, float):
        return float.__float__(value)
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, list) or (depth == 0 and isinstance(value, tuple)):
        items = list.__iter__(value) if isinstance(value, list) else tuple.__iter__(value)
        return [to_plain(v, depth + 1) for v in items]
    if isinstance(value, dict):
        items = list(dict.items(value))
        if all(type(k) is str for k, _ in items):
            return {k: to_plain(v, depth + 1) for k, v in items}
        return {UNPLAIN: "dict with non-string keys"}
    if t.__module__ == "numpy" and getattr(value, "ndim", None) == 0:  # np.int64(3) == 3 in the reference
        return to_plain(value.item(), depth)
    return {UNPLAIN: t.__name__}


# --------------------------------------------------------------------------- the program's side

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


def exc_message(e: BaseException) -> str:
    try:
        return f"{type(e).__name__}: {e}"[:MESSAGE_CHARS]
    except Exception:
        return type(e).__name__


def exc_verdict(e: BaseException) -> str:
    if isinstance(e, MemoryError):
        return "memory"
    if isinstance(e, OSError) and e.errno == errno.EFBIG:  # RLIMIT_FSIZE hit by a file
        return "output_limit"
    return "runtime_error"


def join_threads() -> None:
    import threading

    main = threading.main_thread()
    for th in threading.enumerate():
        if th is not main and not th.daemon and th is not threading.current_thread():
            th.join()


# The child's fds: 0 stdin (a copy of 5), 1 stdout (a copy of 6), 2 /dev/null, 3 frames to the
# server, 4 the code and then the test indices from the server.
STDIN_SAVED, STDOUT_SAVED, FRAMES, ORDERS = 5, 6, 3, 4
_dumps = json.dumps


def _frame(kind: int, payload: bytes = b"") -> None:
    write_all(FRAMES, HEADER.pack(kind, len(payload)) + payload)


def _failure(kind: int, verdict: str, msg: str) -> None:
    _frame(kind, _dumps({"verdict": verdict, "msg": msg}).encode())


def _next_test() -> int:
    try:
        (i,) = GO.unpack(read_exact(ORDERS, GO.size))
    except (EOFError, OSError, struct.error):
        os._exit(0)
    if i == STOP:
        os._exit(0)
    return i


def _stdio(data: str):
    """Fresh stdin holding `data` at fd 0 and a fresh text stdout on fd 1 (the pipe to the server),
    so input(), sys.stdin.buffer, open(0) and os.write(1) all behave as in a real process."""
    import io

    raw = data.encode()
    os.ftruncate(STDIN_SAVED, 0)
    view, at = memoryview(raw), 0
    while at < len(raw):
        at += os.pwrite(STDIN_SAVED, view[at:], at)
    os.lseek(STDIN_SAVED, 0, 0)
    os.dup2(STDIN_SAVED, 0)
    os.dup2(STDOUT_SAVED, 1)
    sys.stdin = io.TextIOWrapper(io.BufferedReader(io.FileIO(0, "r", closefd=False)))
    sys.stdout = out = io.TextIOWrapper(io.BufferedWriter(io.FileIO(1, "w", closefd=False), 1 << 16))
    return out


def drive(job: dict[str, Any], code_text: str, inputs: list[str], prelude: dict[str, Any]) -> None:
    """Load the program, then run test i each time the server says so. Never returns."""
    _frame(STARTED)  # the load clock starts here: no program code has run yet
    try:
        code = compile(code_text, "<solution>", "exec")
    except BaseException as e:  # SyntaxError, ValueError (NUL bytes), MemoryError, RecursionError
        _failure(FAILED, "compile_error", exc_message(e))
        os._exit(0)
    if job["mode"] == "call":
        func_name = job["func_name"]
        try:
            _stdio("")
            # prelude=False: the program alone, as `python file.py` runs it (SciCode's scripts)
            namespace = dict(prelude) if job.get("prelude", True) else {
                "__builtins__": prelude["__builtins__"], "__name__": "__main__"}
            exec(code, namespace)
            if isinstance(namespace.get("Solution"), type):
                func = getattr(namespace["Solution"](), func_name)
            else:
                func = namespace[func_name]
        except BaseException as e:
            msg = exc_message(e)
            if isinstance(e, (AttributeError, KeyError)):
                msg = f"no function {func_name!r} (in class Solution or at top level): {msg}"
            _failure(FAILED, exc_verdict(e), msg)
            os._exit(0)
        _frame(LOADED)
        while True:
            i = _next_test()
            try:
                args = [json.loads(line) for line in inputs[i].split("\n")]
                result = func(*args)
                sys.setrecursionlimit(max(sys.getrecursionlimit(), 3 * PLAIN_DEPTH))
                payload = _dumps(to_plain(result)).encode()
            except BaseException as e:
                _failure(RAISED, exc_verdict(e), exc_message(e))
                continue
            _frame(RETURNED, payload)
    _frame(LOADED)
    while True:
        i = _next_test()
        out = _stdio(inputs[i])
        namespace = dict(prelude)
        error: BaseException | None = None
        try:
            exec(code, namespace)
        except SystemExit:  # exit()/sys.exit(): the program ended, its output stands
            pass
        except BaseException as e:
            error = e
        try:
            join_threads()
        except BaseException as e:
            error = error or e
        # drop the program's objects now: a file it opened on fd 0 (open(0)) must close before the
        # next test puts its input there, not whenever the GC gets to it
        namespace.clear()
        del namespace
        try:
            out.flush()
        except BaseException:  # closed by the program: what it wrote before is in the pipe
            pass
        if error is not None:
            _failure(RAISED, exc_verdict(error), exc_message(error))
        else:
            _frame(END)


# ------------------------------------------------------------------ a session's side (Jupyter-like)

# A session's child: 0 /dev/null, 1 stdout and 2 stderr (pipes to the server, saved at 5 and 6 so
# a cell that closes or redirects them gets them back at the next cell), 3 frames, 4 orders.
SESSION_OUT, SESSION_ERR = 5, 6
CELL_ORDER = struct.Struct("<QQ")  # server -> session: the value's character cap, the code's length


def cell_payload_limit(cap: int) -> int:
    """The most a cell's report may take: its value and its traceback, each cut at cap + 1
    characters, as JSON (12 bytes for a character at most: an escaped surrogate pair)."""
    return 24 * (cap + 1) + 64


def _session_stdio() -> tuple[Any, Any]:
    import io

    streams = []
    for fd, saved in ((1, SESSION_OUT), (2, SESSION_ERR)):
        os.dup2(saved, fd)
        streams.append(io.TextIOWrapper(io.BufferedWriter(io.FileIO(fd, "w", closefd=False), 1 << 16),
                                        errors="backslashreplace"))
    sys.stdout, sys.stderr = streams
    return streams[0], streams[1]


def _cell_traceback(e: BaseException, name: str) -> str:
    """The traceback as Jupyter shows it: from the cell's own frame down, the driver's left out."""
    import traceback

    tb = e.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != name:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(e), e, tb))


def run_cell(code_text: str, namespace: dict[str, Any], name: str, max_chars: int) -> dict[str, Any]:
    """One cell with Jupyter's semantics: the statements run, then a final expression is evaluated
    and its repr is the cell's value (None shows nothing). An interrupt (the server's SIGINT at the
    time limit) is a KeyboardInterrupt in the cell, reported as its error; the state stays."""
    import ast
    import linecache

    value = error = None
    out, err = _session_stdio()
    signal.signal(signal.SIGINT, signal.default_int_handler)  # a cell may have ignored it
    try:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        try:
            linecache.cache[name] = (len(code_text), None, code_text.splitlines(True), name)
            tree = ast.parse(code_text, name)
            last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
            exec(compile(tree, name, "exec"), namespace)
            if last is not None:
                result = eval(compile(ast.Expression(last.value), name, "eval"), namespace)
                if result is not None:
                    namespace["_"] = result
                    value = repr(result)[: max_chars + 1]
        except BaseException as e:  # SystemExit and KeyboardInterrupt included: the session goes on
            error = _cell_traceback(e, name)[: max_chars + 1]
    except BaseException as e:  # a second interrupt while the first was being formatted
        error = error or type(e).__name__
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    _stop_cell_threads()
    for stream in (out, err):
        try:
            stream.flush()  # what its threads wrote before they stopped is the cell's too
            stream.close()  # a stale reference to it writes nowhere
        except BaseException:  # closed or broken by the cell: what it wrote before is in the pipe
            pass
    return {"value": value, "error": error}


class _Parked(BaseException):
    """Raised into a thread a finished cell left running. Making it blocks for ever, so the thread
    runs no further line of the cell's code: no `except` or `finally` of its own gets control."""

    def __init__(self, *args: Any):
        import _thread

        _PARKED.add(_thread.get_ident())
        lock = _thread.allocate_lock()
        lock.acquire()
        while True:
            lock.acquire()  # never released; waits without the GIL and without CPU


_PARKED: set[int] = set()
_TOLD: set[int] = set()
PARK_GRACE_S = 0.5


def _stop_cell_threads() -> None:
    """Every Python thread the cell started (and any earlier one not yet stopped) gets _Parked at
    its next Python instruction; wait briefly until each has parked or ended. A thread in a long C
    call (a sleep) parks when the call returns, before it runs anything else, so it never prints
    into a later cell. The cell's processes are the server's to kill."""
    import _thread

    main = _thread.get_ident()
    running = [t for t in sys._current_frames() if t != main and t not in _PARKED]
    set_async = ctypes.pythonapi.PyThreadState_SetAsyncExc
    set_async.argtypes = (ctypes.c_ulong, ctypes.py_object)
    for t in running:
        set_async(t, _Parked)
    targets = [t for t in running if t not in _TOLD]  # waited for once: a sleeper is not waited for again
    _TOLD.update(running)
    deadline = time.monotonic() + PARK_GRACE_S
    while time.monotonic() < deadline:
        live = sys._current_frames()
        if all(t in _PARKED or t not in live for t in targets):
            return
        time.sleep(0.002)


def _reap_children() -> None:
    """The server killed every process the last cell started; the dead ones that were the
    session's own children are zombies until reaped here (they would count against its uid's
    process limit). A Popen of an earlier cell then reads as ended."""
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                return
        except ChildProcessError:
            return


def session_drive() -> None:
    """The session's loop: wait for a cell, run it in the one namespace, report. Never returns.
    SIGINT is blocked between cells, and one that arrived late (after the cell's report) is
    dropped before the next cell, so an interrupt only ever lands in the cell it was meant for."""
    import builtins

    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    _frame(STARTED)
    _frame(LOADED)
    n = 0
    while True:
        try:
            max_chars, length = CELL_ORDER.unpack(read_exact(ORDERS, CELL_ORDER.size))
            code_text = read_exact(ORDERS, length).decode("utf-8", "surrogatepass")
        except (EOFError, OSError, struct.error):
            os._exit(0)
        if signal.SIGINT in signal.sigpending():
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a pending ignored signal is discarded
        _reap_children()
        n += 1
        result = run_cell(code_text, namespace, f"<cell {n}>", int(max_chars))
        _frame(CELL, _dumps(result).encode())

# ------------------------------------------------------------------------- kernel interfaces

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWIPC = 0x20000, 0x10000000, 0x20000000, 0x40000000, 0x08000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 8, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 1, 38, 22, 2
SYS_MOUNT_SETATTR, AT_RECURSIVE, MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID = 442, 0x8000, 1, 2
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}.get(platform.machine())
IPC_RMID = 0


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


def _set_readonly(path: str, readonly: bool, recursive: bool = True) -> None:
    attr = _MountAttr(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID if readonly else 0,
                      0 if readonly else MOUNT_ATTR_RDONLY, 0, 0)
    _check(_libc.syscall(SYS_MOUNT_SETATTR, -100, path.encode(), AT_RECURSIVE if recursive else 0,
                         ctypes.byref(attr), ctypes.sizeof(attr)), f"mount_setattr {path}")


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


# memfd_create and memfd_secret make memory no file-system size or rlimit counts; io_uring's
# buffers neither (and it is a large attack surface). The kernel keyring (add_key, request_key,
# keyctl) is state no namespace of ours holds: keys outlive the program, the server and the
# harness, and reach other servers. x86_64: the x32 ABI is refused whole.
DENIED_SYSCALLS = {0xC000003E: (319, 447, 425, 248, 249, 250),  # x86_64
                   0x40000003: (356, 447, 425, 286, 287, 288),  # i386
                   0xC00000B7: (279, 447, 425, 217, 218, 219)}  # aarch64
# A new user namespace hands its creator every capability inside it (mount, chroot, the kernel's
# namespaced surface), capabilities dropped or not: clone and unshare are refused with
# CLONE_NEWUSER in their flags (the first argument on every arch). clone3 passes its flags in
# memory a filter cannot read, so it answers ENOSYS and libc falls back to clone.
CLONE_NEWUSER_FLAG = 0x10000000
FLAG_CHECKED_SYSCALLS = {0xC000003E: (56, 272), 0x40000003: (120, 310), 0xC00000B7: (220, 97)}  # clone, unshare
SYS_CLONE3 = 435  # the same number on all three


def _seccomp_program() -> _SockFprog:
    ld_arch, ld_nr = (0x20, 0, 0, 4), (0x20, 0, 0, 0)
    ld_arg0 = (0x20, 0, 0, 16)  # the low 32 bits of the first argument (little-endian archs)
    allow, deny = (0x06, 0, 0, 0x7FFF0000), (0x06, 0, 0, 0x00050000 | errno.EPERM)
    enosys = (0x06, 0, 0, 0x00050000 | errno.ENOSYS)
    insns = [ld_arch]
    for arch, numbers in DENIED_SYSCALLS.items():
        body = [ld_nr]
        if arch == 0xC000003E:
            body += [(0x35, 0, 1, 0x40000000), deny]  # jge x32 bit
        for nr in numbers:
            body += [(0x15, 0, 1, nr), deny]
        body += [(0x15, 0, 1, SYS_CLONE3), enosys]
        for nr in FLAG_CHECKED_SYSCALLS[arch]:
            # the accumulator then holds the flags, not the number: the syscall is decided here
            body += [(0x15, 0, 4, nr), ld_arg0, (0x45, 0, 1, CLONE_NEWUSER_FLAG), deny, allow]
        body.append(allow)
        insns += [(0x15, 0, len(body), arch)] + body
    insns.append(allow)
    prog = (_SockFilter * len(insns))(*[_SockFilter(*i) for i in insns])
    fprog = _SockFprog(len(insns), ctypes.cast(prog, ctypes.POINTER(_SockFilter)))
    fprog.keep = prog  # the array must outlive the struct that points at it
    return fprog


_SECCOMP = _seccomp_program()


PR_CAPBSET_DROP, PR_SET_SECUREBITS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 24, 28, 47, 4
SECBIT_NOROOT_LOCKED = 0x3  # SECBIT_NOROOT and its lock: an exec as uid 0 grants no capability
LINUX_CAPABILITY_VERSION_3 = 0x20080522


def _drop_capabilities() -> None:
    """Without a uid switch (not root: a user namespace) the program would run as that namespace's
    root with every capability in it: it could mount over the private dirs, remount the root
    writable (and write to bound host paths its user owns, such as a venv), or ptrace the server.
    Every capability goes: bounding set, ambient, effective, permitted, inheritable. After a uid
    switch they are already gone (and the prctls fail harmlessly)."""
    _libc.prctl(PR_SET_SECUREBITS, SECBIT_NOROOT_LOCKED, 0, 0, 0)
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    for cap in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 and ctypes.get_errno() == errno.EINVAL:
            break  # past the kernel's last capability
    header = (ctypes.c_uint32 * 2)(LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable: two words each, all zero
    _libc.capset(header, data)


def _install_seccomp() -> bool:
    return _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(_SECCOMP), 0, 0) == 0


def _enter_namespaces(is_root: bool) -> dict[str, bool]:
    """New network, mount, PID and IPC namespaces (inside a new user namespace when not root)."""
    flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC
    every = {"network": True, "mount": True, "pid": True, "ipc": True}
    if not is_root:
        uid, gid = os.getuid(), os.getgid()
        if _libc.unshare(CLONE_NEWUSER | flags) != 0:
            return dict.fromkeys(every, False)
        with open("/proc/self/setgroups", "w") as f:
            f.write("deny")
        with open("/proc/self/uid_map", "w") as f:
            f.write(f"0 {uid} 1")
        with open("/proc/self/gid_map", "w") as f:
            f.write(f"0 {gid} 1")
        return every
    if _libc.unshare(flags) == 0:
        return every
    if _libc.unshare(CLONE_NEWNET | CLONE_NEWIPC) == 0:
        return {"network": True, "mount": False, "pid": False, "ipc": True}
    return dict.fromkeys(every, False)


# ------------------------------------------------------------------------- the visible root

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime")
DEVICES = ("null", "zero", "full", "random", "urandom")
PRIVATE_DIRS = {"tmp": 0o1777, "var/tmp": 0o1777, "dev/shm": 0o1777, "run": 0o755}
MQUEUE_DIR = "/dev/mqueue"


def interpreter_paths() -> list[str]:
    """What a Python program needs to see: the system's binaries and libraries and this
    interpreter's installation (a venv and its base). Not the project, not the run dir, not home."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             os.path.dirname(os.path.realpath(sys.executable))}
    paths = [p for p in SYSTEM_DIRS + SYSTEM_FILES if os.path.lexists(p)]
    for r in sorted(roots):
        if r and os.path.isdir(r):
            paths += [r, os.path.realpath(r)]
    return sorted(set(paths))


def _bind_into(root: str, path: str) -> None:
    target = root + path
    if os.path.islink(path) and os.path.dirname(path) == "/":  # /bin -> usr/bin on merged-usr systems
        os.symlink(os.readlink(path), target)
        return
    if os.path.islink(path):  # /etc/localtime -> /usr/share/zoneinfo/...: visible when its target is
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.lexists(target):
            os.symlink(os.path.realpath(path), target)
        return
    if os.path.isdir(path):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()
    _mount(path, target, None, MS_BIND | MS_REC)


def _setup_root(new_root: str, scratch_mb: int) -> dict[str, bool]:
    """Pivot into a fresh root: the interpreter's paths read-only, a minimal /dev, /proc of our PID
    namespace with hidepid=2, and private /tmp, /var/tmp, /dev/shm and /run on one size-capped
    tmpfs (what a program writes there is memory: one cap for all four)."""
    done = {"root_pivoted": False, "readonly_fs": False, "proc_hidepid": False, "private_tmp": False,
            "home_hidden": False, "mqueue_cleared": False}
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing we mount leaks back to the host
    _mount("tmpfs", new_root, "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=0755")
    paths = interpreter_paths()
    for path in paths:
        if not any(path != p and path.startswith(p.rstrip("/") + "/") for p in paths if not os.path.islink(p)):
            _bind_into(new_root, path)
    dev = new_root + "/dev"
    os.makedirs(dev, exist_ok=True)
    for name in DEVICES:
        if os.path.exists(f"/dev/{name}"):
            open(f"{dev}/{name}", "a").close()
            _mount(f"/dev/{name}", f"{dev}/{name}", None, MS_BIND)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"{dev}/{name}")
    os.makedirs(new_root + "/proc")
    try:
        _mount("proc", new_root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2")
        done["proc_hidepid"] = True
    except OSError:
        pass
    stage = new_root + "/.stage"
    os.makedirs(stage)
    _mount("tmpfs", stage, "tmpfs", MS_NOSUID | MS_NODEV, f"size={int(scratch_mb)}m,mode=0755")
    for rel, mode in PRIVATE_DIRS.items():
        src, dst = f"{stage}/{rel.replace('/', '_')}", f"{new_root}/{rel}"
        os.makedirs(src)
        os.chmod(src, mode)
        os.makedirs(dst, exist_ok=True)
        _mount(src, dst, None, MS_BIND)
    _check(_libc.umount2(stage.encode(), 0), "umount stage")  # the four binds keep the tmpfs alive
    os.rmdir(stage)
    done["private_tmp"] = True
    # POSIX message queues of our IPC namespace, listed as files: the server removes them after
    # every program, as it removes SysV objects
    os.makedirs(new_root + MQUEUE_DIR)
    try:
        _mount("mqueue", new_root + MQUEUE_DIR, "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        done["mqueue_cleared"] = True
    except OSError:
        pass
    _set_ipc_limits(new_root + "/proc")
    if SYS_PIVOT_ROOT is not None:
        os.makedirs(new_root + "/.old")
        os.chdir(new_root)
        _check(_libc.syscall(SYS_PIVOT_ROOT, b".", b".old"), "pivot_root")
        _check(_libc.umount2(b"/.old", 2), "umount old root")  # MNT_DETACH
        os.rmdir("/.old")
        os.chdir("/")
        done["root_pivoted"] = done["home_hidden"] = True
    try:
        _set_readonly("/", True)
        for rel in PRIVATE_DIRS:
            _set_readonly("/" + rel, False, recursive=False)
        if done.get("mqueue_cleared"):
            _set_readonly(MQUEUE_DIR, False, recursive=False)  # for the server's unlinks
        done["readonly_fs"] = True
    except OSError:
        pass
    return done


# Caps on System V IPC in the server's own namespace: a program cannot park more than this outside
# its processes; the server removes whatever is left after each program.
IPC_SYSCTLS = {"shmmni": 64, "shmmax": 1 << 30, "shmall": (1 << 30) // 4096, "msgmni": 16, "shm_rmid_forced": 1}


def _set_ipc_limits(proc: str) -> None:
    for name, value in IPC_SYSCTLS.items():
        try:
            with open(f"{proc}/sys/kernel/{name}", "w") as f:
                f.write(str(value))
        except OSError:
            pass


def _sysv_objects(kind: str) -> list[dict[str, str]]:
    try:
        with open(f"/proc/sysvipc/{kind}") as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    if not lines:
        return []
    names = lines[0].split()
    return [dict(zip(names, line.split())) for line in lines[1:] if line.strip()]


def _remove_ipc(mqueues: bool) -> None:
    """Every IPC object of the server's namespace: SysV segments, queues and semaphore sets, and
    POSIX message queues (POSIX shared memory and semaphores are files in /dev/shm, wiped apart)."""
    if mqueues:
        _wipe(MQUEUE_DIR)
    for obj in _sysv_objects("shm"):
        _libc.shmctl(int(obj["shmid"]), IPC_RMID, None)
    for obj in _sysv_objects("msg"):
        _libc.msgctl(int(obj["msqid"]), IPC_RMID, None)
    for obj in _sysv_objects("sem"):
        _libc.semctl(int(obj["semid"]), 0, IPC_RMID)


def wipe_scratch(isolation: dict[str, Any], keep: tuple[str, ...] = ()) -> None:
    """What a run left behind: the private directories' contents (all but `keep`) and its IPC
    objects, so the next program in the same box learns nothing from them."""
    if isolation.get("private_tmp"):
        for rel in PRIVATE_DIRS:
            if rel not in keep:
                _wipe("/" + rel)
    if isolation.get("ipc"):
        _remove_ipc(bool(isolation.get("mqueue_cleared")))


def _wipe(path: str) -> None:
    import shutil

    try:
        entries = list(os.scandir(path))
    except OSError:
        return
    for e in entries:
        try:
            if e.is_dir(follow_symlinks=False):
                shutil.rmtree(e.path, ignore_errors=True)
            else:
                os.unlink(e.path)
        except OSError:
            pass


# ------------------------------------------------------------------------------ cgroup v2

class _Cgroup:
    """One leaf cgroup for this server's programs under a delegated parent (memory, pids and cpu
    enabled in its subtree_control): the kernel then counts every process, page of shared memory,
    memfd and tmpfs file of a program against one budget."""

    def __init__(self, parent: str):
        self.name = f"evalsuite-{os.getpid()}-{int.from_bytes(os.urandom(4), 'little'):08x}"
        os.mkdir(os.path.join(parent, self.name))
        self.parent_fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY)
        self.fd = os.open(os.path.join(parent, self.name), os.O_RDONLY | os.O_DIRECTORY)
        self._write("memory.oom.group", "1")  # an OOM kills the whole program, not a random child
        self._write("memory.swap.max", "0")
        self.procs = os.open("cgroup.procs", os.O_WRONLY, dir_fd=self.fd)

    def _write(self, name: str, value: str) -> None:
        try:
            fd = os.open(name, os.O_WRONLY, dir_fd=self.fd)
        except FileNotFoundError:  # memory.swap.max without swap accounting
            return
        try:
            os.write(fd, value.encode())
        finally:
            os.close(fd)

    def _read(self, name: str) -> dict[str, int]:
        fd = os.open(name, os.O_RDONLY, dir_fd=self.fd)
        try:
            text = os.read(fd, 1 << 16).decode()
        finally:
            os.close(fd)
        return {k: int(v) for k, v in (line.split() for line in text.splitlines() if line.strip())}

    def prepare(self, limits: dict[str, Any]) -> None:
        self._write("memory.max", str(int(limits["memory_mb"]) << 20))
        self._write("pids.max", str(int(limits["max_processes"])))
        self._write("cpu.max", "100000 100000")  # one core: a program cannot starve its neighbours
        self.oom_before = self._read("memory.events").get("oom_kill", 0)
        self.cpu_before = self._read("cpu.stat").get("usage_usec", 0)

    def add(self, pid: int) -> None:
        os.write(self.procs, str(pid).encode())

    def cpu_s(self) -> float:
        return (self._read("cpu.stat").get("usage_usec", 0) - self.cpu_before) / 1e6

    def oom_killed(self) -> bool:
        return self._read("memory.events").get("oom_kill", 0) > self.oom_before

    def kill(self) -> None:
        self._write("cgroup.kill", "1")
        for _ in range(200):
            if self._read("cgroup.events").get("populated", 0) == 0:
                return
            time.sleep(0.005)

    def remove(self) -> None:
        try:
            os.rmdir(self.name, dir_fd=self.parent_fd)
        except OSError:
            pass


# ------------------------------------------------------------------------------ the server

class ProgramKilled(Exception):
    """The server stopped the program: (verdict, message)."""


class HarnessGone(Exception):
    pass


def _splice_some(src: int, dst: int, limit: int) -> int:
    """Move what is ready in pipe `src` into `dst` without passing through our memory; bytes moved."""
    moved = 0
    while moved < limit:
        try:
            n = os.splice(src, dst, min(PIPE_BYTES, limit - moved), flags=os.SPLICE_F_NONBLOCK)
        except BlockingIOError:
            break
        if n == 0:
            break
        moved += n
    return moved


class Server:
    INPUTS_CACHE = 16

    def __init__(self, config: dict[str, Any], isolation: dict[str, Any], ctrl_in: int, ctrl_out: int,
                 cgroup: _Cgroup | None):
        import collections

        self.config = config
        self.isolation = isolation
        self.ctrl_in, self.ctrl_out = ctrl_in, ctrl_out
        self.code_in, self.data_out = int(config["code_fd"]), int(config["data_fd"])
        self.inputs: collections.OrderedDict[str, list[str]] = collections.OrderedDict()
        self.prelude = build_prelude()
        self.cgroup = cgroup
        self.counter = 0
        self.clock_ticks = os.sysconf("SC_CLK_TCK")
        # the program's stdout and frame payloads land here, kernel pages only
        self.out_mf = os.memfd_create("program-stdout")
        self.pay_mf = os.memfd_create("program-frames")
        self.devnull = os.open(os.devnull, os.O_WRONLY)
        # one random unprivileged uid per server: its RLIMIT_NPROC is one program's alone (a server
        # runs one program at a time), and hidepid hides every other process from it
        self.uid = 1_000_000 + int.from_bytes(os.urandom(4), "little") % 1_000_000_000 if isolation["uid"] else None

    # -- the harness's messages
    def loop(self) -> None:
        while True:
            try:
                msg = recv_msg(self.ctrl_in)
            except EOFError:
                return
            if msg["op"] == "inputs":
                self.inputs[msg["key"]] = [str(i) for i in msg["inputs"]]
                self.inputs.move_to_end(msg["key"])
                while len(self.inputs) > self.INPUTS_CACHE:
                    self.inputs.popitem(last=False)
            elif msg["op"] == "run":
                inputs = self.inputs.get(msg["key"])
                if inputs is None:
                    self._discard_code(int(msg["code_bytes"]))
                    send_msg(self.ctrl_out, {"ev": "missing_inputs"})
                    continue
                self.inputs.move_to_end(msg["key"])
                try:
                    self.run(msg, inputs)
                except HarnessGone:
                    return

    def _discard_code(self, n: int) -> None:
        while n > 0:
            moved = os.splice(self.code_in, self.devnull, n)
            if moved == 0:
                raise EOFError
            n -= moved

    # -- one program
    def run(self, job: dict[str, Any], inputs: list[str]) -> None:
        self.counter += 1
        limits = job["limits"]
        timeout = float(limits["timeout_s"])
        n = len(inputs)
        work_dir = self._work_dir()
        frames_r, frames_w = os.pipe()
        out_r, out_w = os.pipe()
        orders_r, orders_w = os.pipe()
        for fd in (frames_r, out_r, orders_w):
            try:
                fcntl.fcntl(fd, 1031, PIPE_BYTES)  # F_SETPIPE_SZ
            except OSError:
                pass
        if self.cgroup is not None:
            self.cgroup.prepare(limits)
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:
            for fd in (frames_r, out_r, orders_w):
                os.close(fd)
            self._child(job, inputs, work_dir, frames_w, out_w, orders_r)  # never returns
        for fd in (frames_w, out_w, orders_r):
            os.close(fd)
        try:
            os.setpgid(pid, pid)  # also done by the child: whichever runs first wins the race
        except OSError:
            pass
        if self.cgroup is not None:
            self.cgroup.add(pid)
        watch = _Watch(self, pid, frames_r, out_r, limits, n, start)
        watch.mode = job["mode"]
        killed, current = None, -1
        try:
            self._send_code(orders_w, int(job["code_bytes"]), start + SETUP_S)
            for fd in (frames_r, out_r, orders_w):
                os.set_blocking(fd, False)
            current = -1
            watch.next_frame(start + SETUP_S, "starting the program", (STARTED,))
            kind = watch.next_frame(time.monotonic() + timeout, "loading the program", (LOADED, FAILED))
            if kind != LOADED:
                self._report(-1, kind, watch)
            else:
                answers = (END, RAISED) if job["mode"] == "stdin" else (RETURNED, RAISED)
                for i in range(n):
                    current = i
                    try:
                        os.write(orders_w, GO.pack(i))
                    except OSError:
                        raise ProgramKilled("runtime_error", f"the program stopped reading its orders during test {i}")
                    begun = time.monotonic()
                    kind = watch.next_frame(begun + timeout, f"test {i}", answers)
                    self._report(i, kind, watch, time.monotonic() - begun)
                    if not self._harness_says_next(watch):
                        break
        except ProgramKilled as e:
            killed = list(e.args)
        except HarnessGone:
            self._end_program(pid, watch)
            raise
        self._end_program(pid, watch)
        for fd in (frames_r, out_r, orders_w, watch.pidfd):
            os.close(fd)
        self._clean(work_dir)
        send_msg(self.ctrl_out, {"ev": "end", "killed": killed, "test": current, "cpu": watch.cpu_total(final=True)})

    def _work_dir(self) -> str:
        if self.isolation.get("private_tmp"):
            return "/tmp"
        work_dir = os.path.join(self.config["work_root"], f"p{self.counter}")
        os.mkdir(work_dir, 0o700)
        if self.uid is not None:
            os.chown(work_dir, self.uid, self.uid)
        return work_dir

    def _clean(self, work_dir: str) -> None:
        if not self.isolation.get("private_tmp"):
            import shutil

            shutil.rmtree(work_dir, ignore_errors=True)
        wipe_scratch(self.isolation)

    def _send_code(self, orders_w: int, n: int, deadline: float) -> None:
        """The code, from the harness's pipe straight into the child's (never into our memory)."""
        write_all(orders_w, struct.pack("<Q", n))
        while n > 0:
            if time.monotonic() > deadline:
                raise ProgramKilled("timeout", "the program's code could not be handed over in time")
            try:
                moved = os.splice(self.code_in, orders_w, n)
            except BrokenPipeError:
                raise ProgramKilled("runtime_error", "the program's driver ended before reading its code") from None
            if moved == 0:
                raise HarnessGone
            n -= moved

    def _report(self, test: int, kind: int, watch: "_Watch", wall: float = 0.0) -> None:
        """Tell the harness test `test` ended (its stdout and frame payload follow on the data pipe)."""
        stdout_bytes = watch.out_bytes if watch.mode == "stdin" and kind == END else 0
        payload_bytes = watch.pay_bytes
        send_msg(self.ctrl_out, {"ev": "result", "test": test, "kind": FRAME_NAMES.get(kind, "raised"),
                                 "wall": wall, "stdout": stdout_bytes, "payload": payload_bytes})
        splice_out(self.data_out, ((self.out_mf, stdout_bytes), (self.pay_mf, payload_bytes)))
        watch.reset_buffers()

    def _harness_says_next(self, watch: "_Watch") -> bool:
        """Wait for the harness's grade of the last test: next or stop. The program stays watched."""
        while True:
            ready = select.select([self.ctrl_in], [], [], TICK_S)[0]
            if ready:
                try:
                    msg = recv_msg(self.ctrl_in)
                except EOFError:
                    raise HarnessGone from None
                return msg.get("op") == "next"
            watch.tick()

    def _end_program(self, pid: int, watch: "_Watch") -> int | None:
        """Kill the program and everything it started (setsid or not); reap every process, adding
        its CPU time to the program's. Returns the main process's wait status."""
        if self.cgroup is not None:
            self.cgroup.kill()
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
        if watch.status is None:
            _, status, usage = os.wait4(pid, 0)
            watch.reaped(pid, status, usage)
        if self.isolation.get("pid"):
            # we are init of our PID namespace: every other process in it belongs to this program,
            # and its orphans were reparented to us
            while True:
                try:
                    os.kill(-1, signal.SIGKILL)
                except OSError:
                    pass
                try:
                    p, status, usage = os.wait4(-1, 0)
                    watch.reaped(p, status, usage)
                except ChildProcessError:
                    break
        return watch.status

    def _child(self, job: dict[str, Any], inputs: list[str], work_dir: str, frames_w: int, out_w: int,
               orders_r: int) -> None:
        try:
            os.setpgid(0, 0)  # its own group: the server kills the group
            (code_len,) = struct.unpack("<Q", read_exact(orders_r, 8))
            code_text = read_exact(orders_r, code_len).decode("utf-8", "surrogatepass") if code_len else ""
            stdin_fd = os.memfd_create("stdin")  # before seccomp refuses memfds
            devnull = os.open(os.devnull, os.O_RDWR)
            # every fd to its fixed place: staged above 100 first, so no move overwrites a source
            staged = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 100) for fd in (devnull, frames_w, orders_r, stdin_fd, out_w)]
            for target, fd in zip((2, FRAMES, ORDERS, STDIN_SAVED, STDOUT_SAVED), staged):
                os.dup2(fd, target, inheritable=target == 2)
            os.dup2(STDIN_SAVED, 0)
            os.dup2(STDOUT_SAVED, 1)
            os.closerange(7, 1 << 16)
            limits = job["limits"]
            self._confine(limits, int(float(limits["timeout_s"]) * (max(1, len(inputs)) + 1)) + 1, work_dir)
            drive(job, code_text, inputs, self.prelude)
        except BaseException:
            pass
        os._exit(0)

    def _confine(self, limits: dict[str, Any], cpu_s: int, work_dir: str, uid: int | None = None) -> None:
        """What every program's (and session's) process runs under, applied in the forked child
        before any of its code: rlimits, its own uid, no new privileges, seccomp, a bare environment.
        `uid`: another unprivileged uid than the server's (the contest judge's checkers and
        interactors run apart from the program they judge)."""
        uid = self.uid if uid is None else uid
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
        if uid is not None:
            # counted per uid, and root is exempt: it only bites after setuid
            resource.setrlimit(resource.RLIMIT_NPROC, (int(limits["max_processes"]),) * 2)
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
        _drop_capabilities()
        # after setuid (which clears it): the program dies with the server, namespace or not
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        _install_seccomp()
        os.environ.clear()
        os.environ.update({"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": work_dir,
                           "TMPDIR": work_dir, "LANG": "C.UTF-8"})
        tempfile.tempdir = work_dir

class _Watch:
    """One running program as the server sees it: its frames, its stdout, its processes' CPU and
    memory, and every deadline, all on the server's own clock."""

    def __init__(self, server: Server, pid: int, frames_r: int, out_r: int, limits: dict[str, Any], n: int,
                 start: float, pidfd: int | None = None):
        self.server, self.pid, self.frames_r, self.out_r = server, pid, frames_r, out_r
        self.mode = "stdin"
        self.limits = limits
        self.max_out = int(limits["max_output_mb"]) << 20
        self.max_payload = self.max_out  # the most one frame may carry
        self.memory = int(limits["memory_mb"]) << 20
        timeout = float(limits["timeout_s"])
        self.cpu_budget = timeout * (max(1, n) + 1) + 1
        # nothing the program writes moves this: the whole program, harness waits included
        self.hard_deadline = start + (n + 2) * (timeout + 1) + 10
        self.start = start
        self.pidfd = os.pidfd_open(pid) if pidfd is None else pidfd  # a session's watches share its one
        self.status: int | None = None
        self.dead = False
        self.reaped_cpu = 0.0
        self.paused_until: float | None = None
        self.header = b""
        self.frame_kind: int | None = None
        self.frame_left = 0
        self.out_bytes = self.pay_bytes = 0
        self.next_tick = start + TICK_S
        self.extra_fds: tuple[int, ...] = ()  # more pipes to wake up for (a session's stderr)
        self.reset_buffers()  # a program killed mid-test leaves its output behind

    def reset_buffers(self) -> None:
        for mf in (self.server.out_mf, self.server.pay_mf):
            os.ftruncate(mf, 0)
            os.lseek(mf, 0, 0)
        self.out_bytes = self.pay_bytes = 0

    # -- reading
    def _drain_stdout(self) -> None:
        moved = _splice_some(self.out_r, self.server.out_mf, self.max_out + 1 - self.out_bytes)
        self.out_bytes += moved
        if self.out_bytes > self.max_out:
            raise ProgramKilled("output_limit", f"more than {self.max_out >> 20} MiB of output")

    def _read_frames(self) -> int | None:
        """A complete frame's kind once one has arrived (its payload in pay_mf), else None."""
        while True:
            if self.frame_kind is None:
                try:
                    chunk = os.read(self.frames_r, HEADER.size - len(self.header))
                except BlockingIOError:
                    return None
                if not chunk:
                    return None
                self.header += chunk
                if len(self.header) < HEADER.size:
                    continue
                kind, length = HEADER.unpack(self.header)
                self.header = b""
                if kind not in FRAME_KINDS or length > self.max_payload or (kind in (LOADED, END, STARTED) and length):
                    raise ProgramKilled("runtime_error", "the program wrote into the sandbox's report pipe")
                self.frame_kind, self.frame_left = kind, length
            if self.frame_left:
                moved = _splice_some(self.frames_r, self.server.pay_mf, self.frame_left)
                self.frame_left -= moved
                self.pay_bytes += moved
                if self.frame_left:
                    return None
            kind, self.frame_kind = self.frame_kind, None
            return kind

    def next_frame(self, deadline: float, what: str, expect: tuple[int, ...]) -> int:
        """Wait for the program's next frame, one of `expect`, watching it meanwhile; ProgramKilled
        on any limit or any other frame."""
        poller = select.poll()
        for fd in (self.frames_r, self.out_r, self.pidfd, self.server.ctrl_in, *self.extra_fds):
            poller.register(fd, select.POLLIN)
        timeout = float(self.limits["timeout_s"])
        while True:
            self._drain_stdout()
            kind = self._read_frames()
            if kind is not None:
                self._drain_stdout()  # what it printed before the frame is in the pipe by now
                if kind not in expect:
                    raise ProgramKilled("runtime_error", "the program wrote into the sandbox's report pipe")
                return kind
            if self.dead:
                raise ProgramKilled(*self.death_verdict(self.status, what))
            now = time.monotonic()
            if now >= deadline:
                raise ProgramKilled("timeout", f"{what} ran past {timeout:g} s")
            if now >= self.hard_deadline:
                raise ProgramKilled("timeout", f"the program ran past its wall-clock cap ({self.hard_deadline - self.start:.0f} s)")
            if now >= self.next_tick:
                self.tick()
            wait = min(deadline, self.hard_deadline, self.next_tick) - time.monotonic()
            for fd, events in poller.poll(max(0.0, wait) * 1000):
                if fd == self.server.ctrl_in:
                    raise HarnessGone  # the harness never writes during a test: this is its exit
                if fd == self.pidfd:
                    self._reap_main()

    def _reap_main(self) -> None:
        if self.status is None:
            try:
                p, status, usage = os.wait4(self.pid, os.WNOHANG)
            except ChildProcessError:
                return
            if p:
                self.reaped(p, status, usage)

    def reaped(self, pid: int, status: int, usage) -> None:
        self.reaped_cpu += usage.ru_utime + usage.ru_stime
        if pid == self.pid:
            self.status = status
            self.dead = True

    def death_verdict(self, status: int | None, what: Any) -> tuple[str, str]:
        where = what if isinstance(what, str) else (f"test {what}" if what >= 0 else "loading the program")
        if status is not None and os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            name = signal.Signals(sig).name if sig in signal.valid_signals() else str(sig)
            if self.server.cgroup is not None and sig == signal.SIGKILL and self.server.cgroup.oom_killed():
                return "memory", f"the program's processes used more than {self.limits['memory_mb']} MiB together"
            return ("timeout" if sig == signal.SIGXCPU else "runtime_error"), f"killed by signal {name} during {where}"
        code = os.waitstatus_to_exitcode(status) if status is not None else "?"
        return "runtime_error", f"the program exited (status {code}) during {where}"

    # -- the program's processes (fallback limits: no cgroup)
    def _processes(self) -> list[int]:
        if not self.server.isolation.get("pid"):
            return [self.pid] if not self.dead else []
        return [int(p) for p in os.listdir("/proc") if p.isdigit() and p != "1"]

    def cpu_total(self, final: bool = False) -> float:
        if self.server.cgroup is not None:
            return self.server.cgroup.cpu_s()
        if final:
            return self.reaped_cpu
        live = 0.0
        for p in self._processes():
            try:
                with open(f"/proc/{p}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
                live += sum(int(x) for x in fields[11:15]) / self.server.clock_ticks  # u, s, cu, cs time
            except (OSError, IndexError, ValueError):
                pass
        return self.reaped_cpu + live

    def memory_total(self, procs: list[int]) -> int:
        total = 0
        for p in procs:
            try:
                with open(f"/proc/{p}/smaps_rollup", "rb") as f:
                    for line in f:
                        if line.startswith((b"Pss_Anon:", b"Pss_Shmem:")):
                            total += int(line.split()[1]) << 10
            except (OSError, ValueError):
                pass
        for seg in _sysv_objects("shm"):
            if seg.get("nattch") == "0":  # mapped segments are in the processes' Pss already
                total += int(seg.get("rss", seg.get("size", "0")))
        if self.server.isolation.get("private_tmp"):
            st = os.statvfs("/tmp")
            total += (st.f_blocks - st.f_bfree) * st.f_frsize
        return total

    def tick(self) -> None:
        """Every TICK_S of a long test: reap orphans (their CPU is the program's), enforce the CPU
        budget and, without a cgroup, one core per program (by pausing it) and one memory budget
        for all its processes, shared memory and files together."""
        now = time.monotonic()
        self.next_tick = now + TICK_S
        if now >= self.hard_deadline:
            raise ProgramKilled("timeout", f"the program ran past its wall-clock cap ({self.hard_deadline - self.start:.0f} s)")
        if self.server.isolation.get("pid"):
            reap_exited(self.reaped)
        cpu = self.cpu_total()
        if cpu > self.cpu_budget:
            raise ProgramKilled("timeout", f"the program's processes used more than {self.cpu_budget:g} CPU-seconds")
        if self.server.cgroup is not None or not self.server.isolation.get("pid"):
            return
        if self.paused_until is not None:
            if now < self.paused_until:
                return
            os.kill(-1, signal.SIGCONT)
            self.paused_until = None
        ahead = cpu - (now - self.start) - CPU_BURST_S
        if ahead > 0:  # more than one core on average: pause every process of the program
            os.kill(-1, signal.SIGSTOP)
            self.paused_until = now + min(ahead, 1.0)
            self.next_tick = min(self.next_tick, self.paused_until)
        procs = self._processes()
        if self.memory_total(procs) > self.memory:
            raise ProgramKilled("memory", f"the program's processes used more than {self.memory >> 20} MiB together")


# ------------------------------------------------------------------------------ sessions

INTERRUPT_GRACE_S = 1.0  # after a cell's time limit: how long its KeyboardInterrupt may take
SESSION_CPU_S = 3600  # RLIMIT_CPU of a session's process, over all its cells (each cell has its own budget too)


class _CellWatch(_Watch):
    """A session's cell as the server sees it: _Watch's deadlines, CPU and memory rules on the
    cell's own clock and CPU, and stdout and stderr each kept up to the cell's output cap (the rest
    is counted and dropped, not fatal: a tool's output is truncated, as a notebook would)."""

    def __init__(self, server: "SessionServer", limits: dict[str, Any], cap: int, start: float):
        self.err_r, self.cap = server.err_r, cap
        self.out_seen = self.err_seen = self.err_bytes = 0
        super().__init__(server, server.pid, server.frames_r, server.out_r, limits, 1, start, server.pidfd)
        self.max_payload = cell_payload_limit(cap)  # larger: forged, not a cell's report
        self.extra_fds = (self.err_r,)
        self.status = server.status  # the session's process may have been reaped by an earlier watch
        self.dead = self.status is not None
        self.cpu_base = 0.0
        self.cpu_base = self.cpu_total()

    def cpu_total(self, final: bool = False) -> float:
        return super().cpu_total(final) - self.cpu_base

    def reaped(self, pid: int, status: int, usage) -> None:
        super().reaped(pid, status, usage)
        if pid == self.pid:
            self.server.status = status

    def reset_buffers(self) -> None:
        super().reset_buffers()
        os.ftruncate(self.server.err_mf, 0)
        os.lseek(self.server.err_mf, 0, 0)
        self.err_bytes = 0

    def _drain_stdout(self) -> None:
        for src, mf, kept, seen in ((self.out_r, self.server.out_mf, "out_bytes", "out_seen"),
                                    (self.err_r, self.server.err_mf, "err_bytes", "err_seen")):
            moved = _splice_some(src, mf, self.cap - getattr(self, kept)) if getattr(self, kept) < self.cap else 0
            setattr(self, kept, getattr(self, kept) + moved)
            dropped = _splice_some(src, self.server.devnull, 1 << 62)
            setattr(self, seen, getattr(self, seen) + moved + dropped)


class SessionServer(Server):
    """A server holding one stateful Python session (its process lives from `open` to `close`),
    with the isolation of programs: this server's namespaces, root, tmpfs and uid are the session's
    alone. Between cells the session is still watched (memory, one core, its death)."""

    def __init__(self, *args: Any):
        super().__init__(*args)
        self.err_mf = os.memfd_create("session-stderr")
        self.pid: int | None = None  # the session's process, from open to its end
        self.pidfd = -1
        self.status: int | None = None  # its wait status once reaped
        self.death: str | None = None  # why the last session ended, when it died
        self.idle: _CellWatch | None = None  # watching it between cells
        self.limits: dict[str, Any] = {}

    def loop(self) -> None:
        while True:
            if self.idle is not None and not select.select([self.ctrl_in], [], [], TICK_S)[0]:
                self._idle_tick()
                continue
            try:
                msg = recv_msg(self.ctrl_in)
            except EOFError:
                return
            try:
                if msg["op"] == "open":
                    self._end_session()
                    self.open(msg["limits"])
                elif msg["op"] == "exec":
                    self.execute(msg)
                elif msg["op"] == "close":
                    self._end_session()
                    send_msg(self.ctrl_out, {"ev": "closed"})
            except HarnessGone:
                self._end_session()
                return

    # -- the session's process
    def open(self, limits: dict[str, Any]) -> None:
        self.limits, self.death, self.counter = dict(limits), None, self.counter + 1
        frames_r, frames_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        orders_r, orders_w = os.pipe()
        for fd in (frames_r, out_r, err_r, orders_w):
            try:
                fcntl.fcntl(fd, 1031, PIPE_BYTES)  # F_SETPIPE_SZ
            except OSError:
                pass
        work_dir = self._work_dir()
        if self.cgroup is not None:
            self.cgroup.prepare(limits)
        start = time.monotonic()
        pid = os.fork()
        if pid == 0:
            try:
                os.setpgid(0, 0)
                for fd in (frames_r, out_r, err_r, orders_w):
                    os.close(fd)
                devnull = os.open(os.devnull, os.O_RDWR)
                staged = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 100) for fd in (devnull, frames_w, orders_r, out_w, err_w)]
                for target, fd in zip((0, FRAMES, ORDERS, SESSION_OUT, SESSION_ERR), staged):
                    os.dup2(fd, target, inheritable=target == 0)
                os.closerange(7, 1 << 16)
                self._confine(limits, SESSION_CPU_S, work_dir)
                session_drive()
            except BaseException:
                pass
            os._exit(0)
        for fd in (frames_w, out_w, err_w, orders_r):
            os.close(fd)
        try:
            os.setpgid(pid, pid)
        except OSError:
            pass
        if self.cgroup is not None:
            self.cgroup.add(pid)
        self.pid, self.pidfd, self.status, self.work_dir = pid, os.pidfd_open(pid), None, work_dir
        self.frames_r, self.out_r, self.err_r, self.orders_w = frames_r, out_r, err_r, orders_w
        for fd in (frames_r, out_r, err_r):
            os.set_blocking(fd, False)
        watch = _CellWatch(self, dict(limits, timeout_s=SETUP_S), 0, start)
        try:
            watch.next_frame(start + SETUP_S, "starting the session", (STARTED,))
            watch.next_frame(start + SETUP_S, "starting the session", (LOADED,))
        except ProgramKilled as e:
            self._end_session(str(e.args[1]))
            send_msg(self.ctrl_out, {"ev": "opened", "ok": False, "error": self.death})
            return
        self._watch_idle()
        send_msg(self.ctrl_out, {"ev": "opened", "ok": True})

    def _watch_idle(self) -> None:
        self.idle = _CellWatch(self, dict(self.limits, timeout_s=float("inf")), 0, time.monotonic())

    def _discard_output(self) -> None:
        """What reaches stdout or stderr between two cells belongs to no cell: dropped (only a
        thread still in a C call when its cell ended can write then; see _stop_cell_threads)."""
        for fd in (self.out_r, self.err_r):
            _splice_some(fd, self.devnull, 1 << 62)

    def _idle_tick(self) -> None:
        """Between cells: reap what died, enforce memory and one core; a session that dies or
        breaks a limit here is reported by the next cell."""
        assert self.idle is not None
        self._discard_output()
        try:
            self.idle.tick()
            if self.idle.dead:
                raise ProgramKilled(*self.idle.death_verdict(self.idle.status, "the wait between cells"))
        except ProgramKilled as e:
            self._end_session(str(e.args[1]))

    def _end_session(self, death: str | None = None) -> None:
        """Kill the session's process and everything it started; wipe its files and IPC objects."""
        self.idle = None
        if self.pid is not None:
            self._end_program(self.pid, _CellWatch(self, dict(self.limits, timeout_s=float("inf")), 0, time.monotonic()))
            for fd in (self.pidfd, self.frames_r, self.out_r, self.err_r, self.orders_w):
                os.close(fd)
            self._clean(self.work_dir)
            self.pid = None
        self.death = death or self.death

    def _kill_strays(self, watch: _CellWatch) -> None:
        """Processes a cell started do not outlive it (a fork bomb, a forgotten server): only the
        session's own process is left between cells."""
        if not self.isolation.get("pid"):
            return
        strays = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, self.pid)]
        for pid in strays:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        # a kill lands asynchronously: wait (briefly) until each is dead, so the next cell never sees
        # one of them still running
        deadline = time.monotonic() + 2.0
        while strays and time.monotonic() < deadline:
            reap_exited(watch.reaped)
            strays = [pid for pid in strays if _running(pid)]
            if strays:
                time.sleep(0.005)
        reap_exited(watch.reaped)

    # -- one cell
    def execute(self, msg: dict[str, Any]) -> None:
        n, cap = int(msg["code_bytes"]), int(msg["max_output_bytes"])
        if self.pid is None:
            self._discard_code(n)
            send_msg(self.ctrl_out, {"ev": "cell", "ran": False, "died": self.death or "no session is open",
                                     "stdout": 0, "stderr": 0, "payload": 0})
            return
        self.idle = None
        self._discard_output()
        timeout = float(msg["timeout_s"])
        start = time.monotonic()
        watch = _CellWatch(self, dict(self.limits, timeout_s=timeout), cap, start)
        timed_out, died, kind = False, None, None
        try:
            write_all(self.orders_w, struct.pack("<Q", cap))
            self._send_code(self.orders_w, n, start + SETUP_S)
            kind = watch.next_frame(start + timeout, "the cell", (CELL,))
        except ProgramKilled as e:
            if e.args[0] == "timeout" and not watch.dead:
                timed_out = True
                kind = self._interrupt(watch)
                if kind is None:
                    died = f"{e.args[1]}; it did not stop within {INTERRUPT_GRACE_S:g} s of an interrupt"
            else:
                died = str(e.args[1])
        wall, cpu = time.monotonic() - start, watch.cpu_total()
        if died is None and watch.dead:
            died = watch.death_verdict(watch.status, "the cell")[1]
        if died is None:
            self._kill_strays(watch)
        report = {"ev": "cell", "ran": True, "timed_out": timed_out, "died": died, "wall": wall, "cpu": cpu,
                  "stdout": watch.out_bytes, "stderr": watch.err_bytes,
                  "payload": watch.pay_bytes if kind == CELL and died is None else 0,
                  "stdout_seen": watch.out_seen, "stderr_seen": watch.err_seen}
        send_msg(self.ctrl_out, report)
        splice_out(self.data_out, ((self.out_mf, report["stdout"]), (self.err_mf, report["stderr"]),
                                   (self.pay_mf, report["payload"])))
        if died is not None:
            self._end_session(died)
            return
        self._watch_idle()

    def _interrupt(self, watch: _CellWatch) -> int | None:
        """Jupyter's interrupt: SIGINT to the session (resumed first if it was paused), then a short
        grace for the cell to end with its KeyboardInterrupt. None: it did not."""
        if self.isolation.get("pid"):
            os.kill(-1, signal.SIGCONT)
        watch.paused_until = None
        try:
            os.kill(self.pid, signal.SIGINT)
        except OSError:
            return None
        try:
            return watch.next_frame(time.monotonic() + INTERRUPT_GRACE_S, "the interrupted cell", (CELL,))
        except ProgramKilled:
            return None

def serve(config: dict[str, Any], server_class: type | None = None) -> None:
    """Enter the namespaces and the new root, then serve: `server_class` (a Server subclass; the
    contest judge's evalsuite/sandbox/contest_server.py) or by default a program or session server."""
    # No PR_SET_PDEATHSIG towards the harness: it fires when the *thread* that started us ends,
    # and the harness starts servers from worker threads. A harness that dies closes our control
    # pipe: the server sees it between programs and during every test, and ends (with it, as init
    # of the PID namespace, every program).
    is_root = os.geteuid() == 0
    ctrl_in, ctrl_out = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):
        os.dup2(devnull, fd)
    isolation: dict[str, Any] = dict(_enter_namespaces(is_root), uid=is_root)
    if isolation["pid"]:
        # the next child is init (PID 1) of the new namespace: it becomes the server
        init = os.fork()
        if init:
            for fd in (ctrl_in, ctrl_out, int(config["code_fd"]), int(config["data_fd"])):
                os.close(fd)
            _, status = os.waitpid(init, 0)
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # the outer process is single-threaded
    cgroup = None
    if config.get("cgroup"):
        try:
            cgroup = _Cgroup(config["cgroup"])
        except OSError:
            cgroup = None
    isolation["cgroup"] = cgroup is not None
    if isolation["mount"]:
        isolation.update(_setup_root(config["work_root"], int(config.get("scratch_mb", 256))))
    else:
        isolation.update(root_pivoted=False, readonly_fs=False, home_hidden=False, proc_hidepid=False,
                         private_tmp=False, mqueue_cleared=False)
    isolation["seccomp"] = _probe_seccomp()
    isolation["limits"] = limits_in_force(isolation)
    server_class = server_class or (SessionServer if config.get("session") else Server)
    server = server_class(config, isolation, ctrl_in, ctrl_out, cgroup)
    send_msg(ctrl_out, {"ready": True, "isolation": isolation})
    try:
        server.loop()
    finally:
        if cgroup is not None:
            cgroup.kill()
            cgroup.remove()


def _probe_seccomp() -> bool:
    pid = os.fork()
    if pid == 0:
        _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        ok = _install_seccomp()
        try:
            os.close(os.memfd_create("probe"))
            refused = False
        except OSError:
            refused = True
        os._exit(0 if ok and refused else 1)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def limits_in_force(iso: dict[str, Any]) -> dict[str, str]:
    """How each per-program limit is enforced on this machine, in words (run.json records it)."""
    pidns = iso.get("pid")
    if iso.get("cgroup"):
        memory = "cgroup v2 memory.max: all processes, shared memory, memfds and tmpfs files together"
        processes = "cgroup v2 pids.max"
        cpu = "cgroup v2 cpu.max (one core) and a CPU-seconds budget over all processes"
    else:
        memory = ("RLIMIT_AS per process; all processes (PSS), unattached SysV shm and /tmp files summed "
                  f"every {TICK_S * 1000:.0f} ms against one budget; memfds refused by seccomp"
                  if pidns and iso.get("seccomp") else "RLIMIT_AS per process only")
        processes = "RLIMIT_NPROC on a uid of its own" if iso.get("uid") else "none (no uid switch)"
        cpu = ("RLIMIT_CPU per process; all processes' CPU summed against a budget, paused above one core"
               if pidns else "RLIMIT_CPU per process")
    return {"memory": memory, "processes": processes, "cpu": cpu,
            "wall": "per test and per program, on the server's clock (nothing the program writes moves it)",
            "output": "stdout per test counted by the server; RLIMIT_FSIZE on files",
            "files": "private /tmp, /var/tmp, /dev/shm, /run on one capped tmpfs" if iso.get("private_tmp")
            else "a private work dir only"}


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "--serve":
    serve(json.loads(sys.argv[2]))
