"""Run a function over items in worker processes, each call under a hard wall-clock limit.

Why processes: sympy (and any scorer) can hang inside a C call where no signal or thread timeout
reaches it; a process can always be killed. A worker that overruns or dies is replaced and the item
is recorded as a failure, so one bad answer never stalls or sinks a run. Each worker may also grow
by at most `memory_mb` beyond what it inherited (RLIMIT_AS, set as the worker starts): one answer
once drove sympy to 4.3 GB, another 1.1 GB in maj@k's comparisons, and a worker per core on a
16-core node would make that 64 GB. Every worker has a cap: `DEFAULT_MEMORY_MB` unless the caller
gives one (the pipeline gives `task.score_memory_mb`, the same default). Over the cap, the call
fails with a MemoryError (or the worker dies) and the item is recorded as a failure like any other.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from tqdm import tqdm


DEFAULT_MEMORY_MB = 2048  # = evalsuite/configs/config.yaml's task.score_memory_mb: growth one worker may add


@dataclass
class Outcome:
    ok: bool
    value: Any = None
    error: str | None = None  # "timeout after 10s" | "ExcType: message" | "worker died (signal 9)"
    seconds: float = 0.0


def _cap_memory(memory_mb: int) -> None:
    """Let this (forked) process grow by memory_mb of address space beyond what it has now: the
    parent's size differs per run (a loaded model maps gigabytes), so the cap is relative."""
    import resource

    with open("/proc/self/statm") as f:
        size = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    limit = size + (int(memory_mb) << 20)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
    except (ValueError, OSError):
        pass


def _die_with_parent(parent: int) -> None:
    """A worker must not outlive a run killed with SIGKILL: its siblings, forked from threads, hold
    copies of its pipe's other end, so no EOF would ever come. Linux: the kernel kills it when the
    thread that forked it ends (map_with_deadline's caller, which also stops it)."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the prctl
        os._exit(1)


def _serve(fn: Callable[[Any], Any], conn, memory_mb: int, parent: int) -> None:
    _die_with_parent(parent)
    _cap_memory(memory_mb)
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        if msg is None:
            return
        idx, item = msg
        t0 = time.perf_counter()
        try:
            result = (idx, True, fn(item), None, time.perf_counter() - t0)
        except MemoryError:
            result = (idx, False, None, f"MemoryError: the scorer needed more than {memory_mb} MiB "
                                        f"(task.score_memory_mb)", time.perf_counter() - t0)
        except BaseException as e:  # the scorer's bug or a hostile input: a recorded failure, not a crash
            result = (idx, False, None, f"{type(e).__name__}: {str(e)[:300]}", time.perf_counter() - t0)
        try:
            conn.send(result)
        except Exception as e:  # an unpicklable return value
            conn.send((idx, False, None, f"unsendable result: {e}", result[4]))


class _Worker:
    def __init__(self, fn: Callable[[Any], Any], memory_mb: int):
        ctx = mp.get_context("fork")  # fork: the task module and its config are inherited, not pickled
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_serve, args=(fn, child, memory_mb, os.getpid()), daemon=True)
        self.proc.start()
        child.close()

    def stop(self, kill: bool = False) -> None:
        if kill:
            self.proc.kill()
        else:
            try:
                self.conn.send(None)
            except Exception:
                self.proc.kill()
        self.proc.join(timeout=5)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join()
        self.conn.close()


def map_with_deadline(fn: Callable[[Any], Any], items: Sequence[Any], timeout_s: float,
                      workers: int | None = None, desc: str | None = None,
                      on_result: Callable[[int, Outcome], None] | None = None,
                      memory_mb: int = DEFAULT_MEMORY_MB) -> list[Outcome]:
    """fn(item) for every item in `workers` processes; each call killed after timeout_s, each
    worker capped at `memory_mb` MiB of growth.
    Results come back in item order; `on_result(i, outcome)` is called as each finishes (from the
    driving threads, serialised by a lock) so callers can persist results as they arrive."""
    n = len(items)
    results: list[Outcome | None] = [None] * n
    if n == 0:
        return []
    workers = max(1, min(workers or os.cpu_count() or 1, n))
    todo: queue.Queue[int] = queue.Queue()
    for i in range(n):
        todo.put(i)
    lock = threading.Lock()
    bar = tqdm(total=n, desc=desc, unit="item", disable=desc is None, dynamic_ncols=True)

    def finish(i: int, outcome: Outcome) -> None:
        with lock:
            results[i] = outcome
            bar.update(1)
            if on_result:
                on_result(i, outcome)

    def drive(worker: _Worker | None) -> None:
        try:
            while True:
                try:
                    i = todo.get_nowait()
                except queue.Empty:
                    return
                t0 = time.perf_counter()
                if worker is None:  # the previous one was killed: fork a fresh one
                    try:
                        worker = _Worker(fn, memory_mb)
                    except Exception as e:  # fork refused (resources, an at-fork hook): record, go on
                        finish(i, Outcome(False, None, f"cannot start a worker: {type(e).__name__}: {e}"))
                        continue
                try:
                    worker.conn.send((i, items[i]))
                    ready = worker.conn.poll(timeout_s)
                except (BrokenPipeError, OSError):
                    ready = False
                if ready:
                    try:
                        _, ok, value, err, secs = worker.conn.recv()
                        finish(i, Outcome(ok, value, err, secs))
                        continue
                    except (EOFError, OSError):
                        code = worker.proc.exitcode
                        finish(i, Outcome(False, None, f"worker died (exit {code})", time.perf_counter() - t0))
                else:
                    finish(i, Outcome(False, None, f"timeout after {timeout_s:g}s", time.perf_counter() - t0))
                worker.stop(kill=True)  # hung or dead: replace it
                worker = None
        finally:
            if worker is not None:
                worker.stop()

    # The first workers are forked here, before any driving thread starts. A replacement for a killed
    # worker is forked by its driving thread while the others run: the child inherits only that
    # thread, so a lock another thread held at that moment stays held in the child. The child runs
    # only _serve (its pipe and the scorer), never the driving threads' locks (results, tqdm); a
    # scorer that blocks on such a lock anyway hits the per-item timeout and is killed like any other.
    pool = [_Worker(fn, memory_mb) for _ in range(workers)]
    threads = [threading.Thread(target=drive, args=(w,), daemon=True) for w in pool]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    bar.close()
    for i, r in enumerate(results):
        if r is None:  # a driving thread died: never leave a hole the caller could mistake for done
            results[i] = Outcome(False, None, "not run: its worker thread failed")
    return results  # type: ignore[return-value]
