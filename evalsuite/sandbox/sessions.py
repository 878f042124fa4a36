"""Stateful Python sessions in the sandbox: a notebook-like interpreter that keeps its variables
between calls, for a model's tool (evalsuite/tir.py), with the isolation of LiveCodeBench programs.

    with Session() as s:
        s.execute("x = 21")
        r = s.execute("print('hi'); x * 2", timeout_s=10)
        r.stdout, r.value, r.error, r.timed_out, r.died     # "hi\\n", "42", None, False, None

Each session is one fork server of its own (evalsuite/sandbox/server.py, `SessionServer`): its
namespaces, pivoted root, private tmpfs and uid belong to that session alone, so nothing one
session writes, starts or leaves in memory is seen by another. docs/sandbox.md, "Sessions", has the
rules (what a timeout does, what a death means, the limits).
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any

from evalsuite.sandbox import server as sandbox_server
from evalsuite.sandbox.programs import SandboxError, _ServerHandle, delegated_cgroup

DEFAULT_OUTPUT_BYTES = 64 << 10
GUARD_S = 30.0  # beyond the server's own deadlines: only a wedged server takes this long


@dataclass
class SessionLimits:
    memory_mb: int = 4096  # the session's processes, shared memory and files together
    max_processes: int = 64  # processes + threads
    max_output_mb: int = 64  # RLIMIT_FSIZE on files, and the most a cell's report may be
    max_open_files: int = 256


@dataclass
class CellResult:
    """One `execute`: what the cell printed, its last expression's repr, its traceback."""

    stdout: str
    stderr: str
    value: str | None  # repr of the final expression; None when it had none (or it was None)
    error: str | None  # the traceback, from the cell's own frame down (KeyboardInterrupt on a timeout)
    timed_out: bool  # it ran past its time limit and was interrupted (died says if that failed)
    truncated: bool  # stdout, stderr, the value or the traceback went past the output cap
    died: str | None  # the session's process ended during (or before) this call: why; its state is gone
    ran: bool = True  # False: the session was already dead, the code did not run
    wall_s: float = 0.0
    cpu_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None and not self.timed_out and self.died is None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Session:
    """One stateful Python session. `execute` never raises for what the code does: a crash, a
    kill or the server's own death come back as `died`, after which `open()` starts a fresh,
    empty session (new process, wiped files). Not thread-safe: one call at a time."""

    def __init__(self, limits: SessionLimits | None = None, scratch_mb: int = 256):
        self.limits = limits or SessionLimits()
        self.scratch_mb = scratch_mb
        self._handle: _ServerHandle | None = None
        self.alive = False
        self.opened = 0  # how many times a session process was started (1 + reopens)
        self.open()

    @property
    def isolation(self) -> dict[str, Any]:
        return dict(self._handle.isolation) if self._handle else {}

    @property
    def server_pid(self) -> int | None:
        return self._handle.proc.pid if self._handle else None

    def open(self) -> None:
        """Start the session (again): a fresh interpreter with an empty namespace and empty /tmp."""
        if self._handle is None or self._handle.proc.poll() is not None:
            self._drop_server()
            self._handle = _ServerHandle(delegated_cgroup(), self.scratch_mb, session=True)
        limits = {**asdict(self.limits), "timeout_s": sandbox_server.SETUP_S}
        try:
            self._handle._send({"op": "open", "limits": limits})
            reply = self._handle._recv(timeout=sandbox_server.SETUP_S + GUARD_S)
        except SandboxError:
            self._drop_server()
            raise
        if not reply.get("ok"):
            raise SandboxError(f"the session could not start: {reply.get('error')}")
        self.alive = True
        self.opened += 1

    def execute(self, code: str, timeout_s: float = 10.0, max_output_bytes: int = DEFAULT_OUTPUT_BYTES) -> CellResult:
        if self._handle is None:
            return CellResult("", "", None, None, False, False, "the session is closed", ran=False)
        data = code.encode("utf-8", "surrogatepass")
        cap = max(1, int(max_output_bytes))
        t0 = time.perf_counter()
        try:
            self._handle._send({"op": "exec", "code_bytes": len(data), "timeout_s": float(timeout_s),
                                "max_output_bytes": cap}, data)
            guard = float(timeout_s) + sandbox_server.INTERRUPT_GRACE_S + GUARD_S
            event = self._handle._recv(timeout=guard)
            sizes = [int(event.get(k, 0)) for k in ("stdout", "stderr", "payload")]
            # checked before reading: a cell's output is held once, and never more than its caps
            caps = (cap, cap, sandbox_server.cell_payload_limit(cap))
            if any(n < 0 or n > most for n, most in zip(sizes, caps)):
                raise SandboxError(f"the session server sent impossible sizes {sizes}")
            raw = self._handle._read_exact(self._handle.data_r, sum(sizes), time.monotonic() + guard, "a cell's output")
        except (SandboxError, OSError, ValueError, KeyError, TypeError) as e:
            # the server itself is gone (killed from outside, or it broke): so is the session
            self._drop_server()
            return CellResult("", "", None, None, False, False, f"the sandbox server stopped ({e})",
                              wall_s=time.perf_counter() - t0)
        view = memoryview(raw)
        out, err, payload = view[:sizes[0]], view[sizes[0]:sizes[0] + sizes[1]], view[sizes[0] + sizes[1]:]
        value = error = None
        if payload:
            try:
                reported = json.loads(bytes(payload))
                value, error = reported.get("value"), reported.get("error")
                value = None if value is None else str(value)
                error = None if error is None else str(error)
            except (ValueError, AttributeError):
                error = "the session's report could not be read"
        truncated = (int(event.get("stdout_seen", 0)) > sizes[0] or int(event.get("stderr_seen", 0)) > sizes[1]
                     or any(x is not None and len(x) > cap for x in (value, error)))
        value = value[:cap] if value is not None else None
        error = error[:cap] if error is not None else None
        died = event.get("died")
        if died is not None:
            self.alive = False
        return CellResult(str(out, "utf-8", "replace"), str(err, "utf-8", "replace"), value, error,
                          bool(event.get("timed_out")), truncated, None if died is None else str(died),
                          ran=bool(event.get("ran", True)), wall_s=time.perf_counter() - t0,
                          cpu_s=float(event.get("cpu", 0.0)))

    def close(self) -> None:
        """End the session and its server (files, processes and memory with them)."""
        if self._handle is not None:
            try:
                self._handle._send({"op": "close"})
                self._handle._recv(timeout=GUARD_S)
            except SandboxError:
                pass
        self._drop_server()

    def _drop_server(self) -> None:
        if self._handle is not None:
            self._handle.close()
        self._handle = None
        self.alive = False

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
