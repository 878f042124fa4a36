"""The contest judge's server: runs compiled programs (the compiler itself, a contestant's binary,
a problem's checker or interactor) in the sandbox of evalsuite/sandbox/server.py, whose namespaces,
pivoted root, seccomp filter, uid switch, rlimits, cgroup and process accounting it reuses as they
are. Standard library only: it runs as a script (`python -I contest_server.py --serve CONFIG`) and
loads server.py (the sandbox's server) from beside it. evalsuite/sandbox/contest_judge.py starts it and decides verdicts.

    harness --control + file pipe--> server (the Python sandbox's namespaces and root, PID 1)
            <--control + data pipe--   |  /run/box: files the harness put there (root-owned dir)
                                       |--fork+exec--> the program (its own uid, rlimits, seccomp)
                                       |--fork+exec--> an interactor or checker (another uid)

The server reports facts (exit status, signal, CPU and wall time, peak memory, what it printed);
the harness holds the expected answers and decides. The box is readable by a program only where
the harness allowed it: a test's input reaches the program as fd 0, opened by the server; answers
and checkers are owned by the helper uid (mode 0400/0500) and put there only while a checker runs.
Every child execs at once, so no program inherits anything of the server's memory.
"""
from __future__ import annotations

import fcntl
import importlib.util
import os
import resource
import select
import signal
import stat
import sys
import time
from typing import Any

if __package__:  # imported by the harness, for its constants only
    from evalsuite.sandbox import server as sb
else:  # the script: the sandbox's server module from beside it (never the project's package dir on sys.path)
    _spec = importlib.util.spec_from_file_location(
        "sandbox_server", os.path.join(os.path.dirname(os.path.abspath(__file__)), "server.py"))
    sb = importlib.util.module_from_spec(_spec)
    sys.modules["sandbox_server"] = sb
    _spec.loader.exec_module(sb)

BOX = "/run/box"  # where the harness's files live inside the sandbox (a work dir when no mount namespace)
COLLECT_MAX = 256 << 20  # a compiled binary handed back to the harness
PATH_ENV = "/usr/local/bin:/usr/bin:/bin"


class _ExecWatch(sb._Watch):
    """One exec'd program as the sandbox's watch sees it (CPU budget, one core, the memory sum over
    all its processes, the wall cap), counting only processes of its own uid: an interactor beside
    it is another uid and is accounted apart (`others`)."""

    def __init__(self, server: "JudgeServer", pid: int, limits: dict[str, Any], start: float, uid: int | None,
                 others: set[int]):
        super().__init__(server, pid, -1, -1, limits, 1, start)
        self.uid, self.others = uid, others
        self.cpu_budget = float(limits["cpu_s"]) + 0.5
        self.hard_deadline = start + float(limits["wall_s"])
        self.peak = 0
        self.others_status: dict[int, int] = {}
        self.others_cpu = 0.0

    def _processes(self) -> list[int]:
        procs = super()._processes()
        if self.uid is None or not self.server.isolation.get("pid"):
            return procs
        mine = []
        for p in procs:
            try:
                if os.stat(f"/proc/{p}").st_uid == self.uid:
                    mine.append(p)
            except OSError:
                pass
        return mine

    def reaped(self, pid: int, status: int, usage) -> None:
        if pid in self.others:
            self.others_status[pid] = status
            self.others_cpu += usage.ru_utime + usage.ru_stime
            return
        self.peak = max(self.peak, usage.ru_maxrss << 10)
        super().reaped(pid, status, usage)

    def memory_total(self, procs: list[int]) -> int:
        # the sum counts the scratch tmpfs, which also holds the box: the harness's files (the
        # binary, the input, the output being written) are not the program's memory
        total = super().memory_total(procs) - self.server.box_bytes()
        self.peak = max(self.peak, total)
        return total


def _status_words(status: int | None) -> dict[str, Any]:
    if status is None:
        return {"exit": None, "signal": None}
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return {"exit": None, "signal": signal.Signals(sig).name if sig in signal.valid_signals() else str(sig)}
    return {"exit": os.waitstatus_to_exitcode(status), "signal": None}


class JudgeServer(sb.Server):
    """The harness's orders: `put` a file into the box, `drop` files, `exec` a program (with an
    interactor beside it, both sandboxed), `collect` is part of `exec` (a file the program made,
    e.g. the compiler's binary, handed back)."""

    def __init__(self, *args: Any):
        super().__init__(*args)
        # checkers and interactors: an unprivileged uid of their own, so the program they judge can
        # neither read their files nor signal or trace them
        self.helper_uid = self.uid + 1 if self.uid is not None else None
        self.box = BOX if self.isolation.get("private_tmp") else os.path.join(self.config["work_root"], "box")
        os.makedirs(self.box, exist_ok=True)
        os.chmod(self.box, 0o711)
        self.isolation["box"] = self.box  # the hello (sent after this) tells the harness

    def loop(self) -> None:
        while True:
            try:
                msg = sb.recv_msg(self.ctrl_in)
            except EOFError:
                return
            try:
                op = msg.get("op")
                if op == "put":
                    self.put(msg)
                elif op == "drop":
                    for name in msg["names"]:
                        self._unlink(self._path(name))
                    sb.send_msg(self.ctrl_out, {"ev": "dropped"})
                elif op == "exec":
                    self.exec(msg)
                else:
                    sb.send_msg(self.ctrl_out, {"ev": "error", "error": f"unknown op {op!r}"})
            except (sb.HarnessGone, EOFError, BrokenPipeError):
                return

    # -- files
    def box_bytes(self) -> int:
        if not self.isolation.get("private_tmp"):
            return 0
        total = 0
        for e in os.scandir(self.box):
            try:
                total += e.stat(follow_symlinks=False).st_blocks * 512
            except OSError:
                pass
        return total

    def _path(self, name: str) -> str:
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"bad box file name {name!r}")
        return os.path.join(self.box, name)

    @staticmethod
    def _unlink(path: str) -> None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass

    def _owner(self, who: str) -> int | None:
        return {"program": self.uid, "helper": self.helper_uid}.get(who)

    def put(self, msg: dict[str, Any]) -> None:
        error = self._receive_files([msg])
        sb.send_msg(self.ctrl_out, {"ev": "error", "error": error} if error else {"ev": "put"})

    def _receive_files(self, files: list[dict[str, Any]]) -> str | None:
        """Files from the harness's file pipe into the box, spliced (never through our memory),
        in order; each {name, size, owner, mode}. A bad name: all are read and dropped, and why."""
        try:
            paths = [self._path(str(f["name"])) for f in files]
        except ValueError as e:
            self._discard_code(sum(int(f["size"]) for f in files))
            return str(e)
        for f, path in zip(files, paths):
            self._unlink(path)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                left = int(f["size"])
                while left > 0:
                    moved = os.splice(self.code_in, fd, left)
                    if moved == 0:
                        raise EOFError
                    left -= moved
                owner = self._owner(str(f.get("owner", "root")))
                if owner is not None:
                    os.fchown(fd, owner, owner)
                os.fchmod(fd, int(f.get("mode", 0o600)))
            finally:
                os.close(fd)
        return None

    # -- one run
    def _spawn(self, spec: dict[str, Any], fds: tuple[int, int, int]) -> int:
        limits = spec["limits"]
        uid = self._owner(str(spec.get("as", "program")))
        confine = {"memory_mb": int(limits["address_space_mb"]), "max_output_mb": int(limits["max_output_mb"]),
                   "max_open_files": int(limits.get("max_open_files", 64)),
                   "max_processes": int(limits["max_processes"])}
        cpu_s = int(float(limits["cpu_s"])) + 1
        work_dir = "/tmp" if self.isolation.get("private_tmp") else self.box
        pid = os.fork()
        if pid == 0:
            try:
                os.setpgid(0, 0)
                staged = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 100) for fd in fds]  # no move overwrites a source
                for target, fd in zip((0, 1, 2), staged):
                    os.dup2(fd, target, inheritable=True)
                os.closerange(3, 1 << 16)
                # Python ignores SIGPIPE and SIGXFSZ, and an ignored signal survives exec: a program
                # writing to an interactor that has gone must die of SIGPIPE, one over its file limit
                # of SIGXFSZ, as anywhere else
                for sig in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT):
                    signal.signal(sig, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_SETMASK, [])
                stack = int(limits.get("stack_mb", limits["address_space_mb"])) << 20
                resource.setrlimit(resource.RLIMIT_STACK, (stack, stack))
                self._confine(confine, cpu_s, work_dir, uid)
                os.environ["PATH"] = PATH_ENV
                argv = [str(a) for a in spec["argv"]]
                os.execve(argv[0], argv, dict(os.environ))
            except BaseException:
                pass
            os._exit(127)
        try:
            os.setpgid(pid, pid)
        except OSError:
            pass
        return pid

    def exec(self, msg: dict[str, Any]) -> None:
        """Run a program (with an interactor beside it): first the files that come with the order
        (`put`), last the files it no longer needs (`drop_after`): one round trip per test."""
        self.counter += 1
        error = self._receive_files(list(msg.get("put") or []))
        if error:
            sb.send_msg(self.ctrl_out, {"ev": "error", "error": error})
            return
        program, interactor = msg["program"], msg.get("interactor")
        out_path, err_path, ierr_path = (os.path.join(self.box, f".{x}") for x in ("out", "err", "ierr"))
        for p in (out_path, err_path, ierr_path):
            self._unlink(p)
        opened: list[int] = []

        def new_file(path: str) -> int:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
            opened.append(fd)
            return fd

        def box_input(name: str | None) -> int:
            fd = os.open(self._path(name) if name else os.devnull, os.O_RDONLY)
            opened.append(fd)
            return fd

        err_fd = new_file(err_path)
        inter_pid, inter_fds = None, ()
        start = time.monotonic()
        if interactor is None:
            out_fd = new_file(out_path)
            if self.cgroup is not None:
                self.cgroup.prepare(_cgroup_limits(program["limits"]))
            pid = self._spawn(program, (box_input(program.get("stdin")), out_fd, err_fd))
        else:
            to_inter_r, to_inter_w = os.pipe()
            to_prog_r, to_prog_w = os.pipe()
            opened += [to_inter_r, to_inter_w, to_prog_r, to_prog_w]
            ierr_fd = new_file(ierr_path)
            inter_pid = self._spawn(interactor, (to_inter_r, to_prog_w, ierr_fd))
            if self.cgroup is not None:
                self.cgroup.prepare(_cgroup_limits(program["limits"]))
            pid = self._spawn(program, (to_prog_r, to_inter_w, err_fd))
            inter_fds = (to_inter_r, to_inter_w, to_prog_r, to_prog_w)
        if self.cgroup is not None:
            self.cgroup.add(pid)
        for fd in inter_fds:  # only the two processes hold the pipes: an exit is an EOF to the other
            os.close(fd)
            opened.remove(fd)
        watch = _ExecWatch(self, pid, _watch_limits(program["limits"]), start, self._owner(str(program.get("as", "program"))),
                           {inter_pid} if inter_pid else set())
        killed = inter_killed = None
        inter_pidfd = os.pidfd_open(inter_pid) if inter_pid else None
        inter_deadline = start + float(interactor["limits"]["wall_s"]) if interactor else 0.0
        poller = select.poll()
        for fd in (watch.pidfd, self.ctrl_in) + ((inter_pidfd,) if inter_pidfd is not None else ()):
            poller.register(fd, select.POLLIN)
        try:
            while not (watch.dead and (inter_pid is None or inter_pid in watch.others_status)):
                now = time.monotonic()
                if inter_pid and inter_pid not in watch.others_status and now >= inter_deadline:
                    inter_killed = "the interactor ran past its time limit"
                    break
                if not watch.dead:
                    if now >= watch.hard_deadline:
                        raise sb.ProgramKilled("timeout", f"ran past the wall-clock limit ({watch.hard_deadline - start:g} s)")
                    if now >= watch.next_tick:
                        watch.tick()
                wait = min(watch.next_tick, watch.hard_deadline, inter_deadline if inter_pid else float("inf")) - time.monotonic()
                for fd, _ in poller.poll(max(0.0, min(wait, sb.TICK_S)) * 1000):
                    if fd == self.ctrl_in:
                        raise sb.HarnessGone
                sb.reap_exited(watch.reaped)
        except sb.ProgramKilled as e:
            killed = list(e.args)
        except sb.HarnessGone:
            self._finish(pid, watch, inter_pid, opened, inter_pidfd)
            raise
        wall = time.monotonic() - start
        status = self._finish(pid, watch, inter_pid, opened, inter_pidfd)
        if killed is None and self.cgroup is not None and self.cgroup.oom_killed():
            killed = ["memory", "the program's processes went over the memory limit together"]
        report: dict[str, Any] = {
            "ev": "exec", **_status_words(status), "killed": killed, "wall": wall,
            "cpu": watch.cpu_total(final=True), "peak_bytes": watch.peak}
        if inter_pid:
            report["interactor"] = {**_status_words(watch.others_status.get(inter_pid)), "killed": inter_killed,
                                    "cpu": watch.others_cpu}
        parts = []
        for key, path, cap in (("stdout", out_path, int(msg.get("stdout_cap", 0))),
                               ("stderr", err_path, int(msg.get("stderr_cap", 0))),
                               ("interactor_stderr", ierr_path, int(msg.get("stderr_cap", 0)) if inter_pid else 0)):
            size = os.path.getsize(path) if os.path.exists(path) else 0
            report[key + "_size"] = size
            report[key] = min(size, cap)
            if report[key]:
                parts.append((path, report[key]))
        keep = msg.get("keep_stdout")
        if keep and interactor is None:
            dest = self._path(keep)
            self._unlink(dest)
            os.rename(out_path, dest)
            if self.helper_uid is not None:
                os.chown(dest, self.helper_uid, self.helper_uid)
            os.chmod(dest, 0o400)
            parts = [(dest if p == out_path else p, n) for p, n in parts]
        collect = msg.get("collect")
        collected = None
        if collect:
            collected = self._open_regular(str(collect))
            report["collected"] = os.fstat(collected).st_size if collected is not None else -1
            if report["collected"] > COLLECT_MAX:
                os.close(collected)
                collected, report["collected"] = None, -1
        sb.send_msg(self.ctrl_out, report)
        fds = []
        try:
            for path, n in parts:
                fd = os.open(path, os.O_RDONLY)
                fds.append(fd)
                sb.splice_out(self.data_out, [(fd, n)])
            if collected is not None:
                sb.splice_out(self.data_out, [(collected, report["collected"])])
        finally:
            for fd in fds + ([collected] if collected is not None else []):
                os.close(fd)
            for p in (out_path, err_path, ierr_path):
                self._unlink(p)
            for name in msg.get("drop_after") or []:
                self._unlink(self._path(str(name)))
            self._wipe_scratch()

    @staticmethod
    def _open_regular(path: str) -> int | None:
        """A file the program made (the compiler's output), never through a link it planted."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            return None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            return None
        return fd

    def _finish(self, pid: int, watch: _ExecWatch, inter_pid: int | None, opened: list[int],
                inter_pidfd: int | None) -> int | None:
        """Kill the program, the interactor and everything they started; reap all."""
        if inter_pid:
            try:
                os.killpg(inter_pid, signal.SIGKILL)
            except OSError:
                pass
        status = self._end_program(pid, watch)
        if inter_pid and inter_pid not in watch.others_status:
            try:
                _, st, usage = os.wait4(inter_pid, 0)
                watch.reaped(inter_pid, st, usage)
            except ChildProcessError:
                pass
        for fd in opened + [watch.pidfd] + ([inter_pidfd] if inter_pidfd is not None else []):
            try:
                os.close(fd)
            except OSError:
                pass
        return status

    def _wipe_scratch(self) -> None:
        """What a run wrote (/tmp, /var/tmp, /dev/shm) and its IPC objects; the box (run/) stays."""
        sb.wipe_scratch(self.isolation, keep=("run",))


def _watch_limits(limits: dict[str, Any]) -> dict[str, Any]:
    """The sandbox watch's keys: the memory sum is the problem's limit (the address space is larger)."""
    return {"memory_mb": int(limits["memory_mb"]), "max_output_mb": int(limits["max_output_mb"]),
            "timeout_s": float(limits["wall_s"]), "cpu_s": float(limits["cpu_s"]), "wall_s": float(limits["wall_s"])}


def _cgroup_limits(limits: dict[str, Any]) -> dict[str, Any]:
    return {"memory_mb": int(limits["memory_mb"]), "max_processes": int(limits["max_processes"])}


if __name__ == "__main__" and len(sys.argv) == 3 and sys.argv[1] == "--serve":
    import json

    sb.serve(json.loads(sys.argv[2]), JudgeServer)
