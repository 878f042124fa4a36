"""The code sandbox: grading semantics, and hostile programs that must be contained.

Every hostile case runs a real program in a real fork server; it must end as a recorded failure,
leave nothing behind on the host, and the harness must keep working afterwards.
"""
from __future__ import annotations

import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evalsuite.sandbox.programs import (SandboxPool, TestCase, compare_return, compare_stdout, make_job,
                               run_many)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))
from lcb_cheats import cheats  # noqa: E402

FAKE_SECRET = "hf_FAKE_" + uuid.uuid4().hex
SANDBOX_UID_MIN = 1_000_000  # the servers pick their program uid above this


@pytest.fixture(scope="module")
def pool():
    os.environ["EVALSUITE_TEST_SECRET"] = FAKE_SECRET  # must never reach a program
    os.environ["HF_TOKEN"] = FAKE_SECRET
    p = SandboxPool(workers=2)
    yield p
    p.close()


def run(pool, code, tests=(("", "ok"),), timeout_s=1.0, **kw):
    return pool.run(make_job(code, [TestCase(i, o) for i, o in tests], timeout_s=timeout_s, **kw))


def _parent(pid: int) -> int:
    try:
        line = next(l for l in Path(f"/proc/{pid}/status").read_text().splitlines() if l.startswith("PPid:"))
        return int(line.split()[1])
    except (OSError, StopIteration, ValueError):
        return 0


def _ours_or_orphaned(pid: int) -> bool:
    """Started under this test process, or left with no harness above it: a sandbox process of
    another test run on the same machine (under its own harness) is not ours to count."""
    me, under_a_harness = os.getpid(), False
    for _ in range(256):
        pid = _parent(pid)
        if pid == me:
            return True
        if pid <= 1:
            return not under_a_harness
        if _uid(pid) < SANDBOX_UID_MIN and b"sandbox_server" not in _cmd(pid):
            under_a_harness = True
    return True


def _uid(pid: int) -> int:
    try:
        line = next(l for l in Path(f"/proc/{pid}/status").read_text().splitlines() if l.startswith("Uid:"))
        return int(line.split()[1])
    except (OSError, StopIteration, ValueError):
        return 0


def _cmd(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def sandbox_processes_on_host() -> list[int]:
    """Host PIDs of processes running as a sandbox uid (should be none between programs), this
    test run's own or orphaned."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        if _uid(int(entry.name)) >= SANDBOX_UID_MIN and _ours_or_orphaned(int(entry.name)):
            found.append(int(entry.name))
    return found


def assert_contained(pool, result, *verdicts):
    assert not result.passed, result
    if verdicts:
        assert result.verdict in verdicts, result
    assert sandbox_processes_on_host() == []
    healthy = run(pool, "print(int(input()) * 2)", [("21", "42")])
    assert healthy.passed, healthy


# ---------------------------------------------------------------------------------- semantics

def test_compare_stdout_lines_and_decimals():
    assert compare_stdout("1 2\n3\n", "1 2\n3") is None
    assert compare_stdout("  1 2  \r\n3", "1 2\n3\n\n") is None  # whole output stripped, each line too
    assert compare_stdout("1.0 2.50", "1 2.5") is None  # equal as lists of Decimals
    assert compare_stdout("1e2", "100") is None
    assert compare_stdout("1 2", "1  2") is None  # whitespace inside a line: equal as decimals
    assert compare_stdout("a  b", "a b") is not None  # ... but not as text
    assert compare_stdout("1\n2", "1 2") is not None  # line count differs
    assert compare_stdout("0.3333", "0.33333") is not None  # no tolerance: exact decimals
    assert compare_stdout("", "") is None
    assert compare_stdout("YES", "yes") is not None


def test_compare_return_tuples_become_lists():
    assert compare_return((1, 2), [1, 2]) is None
    assert compare_return([1, 2], [1, 2]) is None
    assert compare_return(3, 3) is None
    assert compare_return(True, True) is None
    assert compare_return([(1, 2)], [[1, 2]]) is not None  # only the top level, as the reference
    assert compare_return(None, 0) is not None


def test_stdin_program_all_reading_styles(pool):
    tests = [("3\n1 2 3", "6"), ("2\n10 20", "30")]
    for code in (
        "n = int(input())\nprint(sum(map(int, input().split())))",
        "import sys\ndata = sys.stdin.read().split()\nprint(sum(map(int, data[1:])))",
        "import sys\ndata = sys.stdin.buffer.read().split()\nsys.stdout.write(str(sum(map(int, data[1:]))) + '\\n')",
        "data = open(0).read().split()\nprint(sum(map(int, data[1:])))",
        "import os\ndata = os.read(0, 1 << 20).split()\nos.write(1, str(sum(map(int, data[1:]))).encode())",
        "from sys import stdin\ndef main():\n    stdin.readline()\n    print(sum(map(int, stdin.readline().split())))\n"
        "if __name__ == '__main__':\n    main()",
        "import threading, sys\ndef main():\n    input(); print(sum(map(int, input().split())))\n"
        "threading.stack_size(1 << 26)\nthreading.Thread(target=main).start()",
        "n = int(input())\nprint(sum(map(int, input().split())))\nexit()",
    ):
        result = run(pool, code, tests)
        assert result.passed, (code, result)


def test_stdin_prelude_names_and_fresh_globals(pool):
    # the reference runner puts typing/collections/... names in front of every program
    code = "c = Counter(input().split())\nprint(c.most_common(1)[0][0], pow(2, 10, 1000))"
    assert run(pool, code, [("a b a", "a 24")]).passed
    # each test re-executes the module in fresh globals: no state leaks between tests
    code = "try:\n    seen += 1\nexcept NameError:\n    seen = 0\nprint(seen)"
    assert run(pool, code, [("", "0"), ("", "0")]).passed


def test_call_based_solution_class_and_function(pool):
    tests = [("[1, 2, 3]\n2", "[3, 2]"), ("[]\n0", "[0, 0]")]
    cls = ("class Solution:\n    def f(self, nums: List[int], k: int) -> Tuple[int, int]:\n"
           "        return (len(nums), k)\n")
    result = run(pool, cls, tests, mode="call", func_name="f")
    assert result.passed, result  # the returned tuple (3, 2) equals the expected [3, 2]
    wrong = run(pool, cls, [("[1]\n2", "[2, 1]")], mode="call", func_name="f")
    assert wrong.verdict == "wrong" and "expected [2, 1], got [1, 2]" in wrong.message
    ok = ("class Solution:\n    def f(self, nums, k):\n        return (sum(nums), k)\n")
    assert run(pool, ok, [("[1, 2]\n3", "[3, 3]")], mode="call", func_name="f").passed
    top_level = "def f(nums, k):\n    return [sum(nums), k]\n"
    assert run(pool, top_level, [("[1, 2]\n3", "[3, 3]")], mode="call", func_name="f").passed
    missing = run(pool, "class Solution:\n    pass\n", [("1", "1")], mode="call", func_name="f")
    assert missing.verdict == "runtime_error" and "'f'" in missing.message


def test_verdicts_and_the_first_failure(pool):
    tests = [("1", "1"), ("2", "3"), ("3", "3")]
    result = run(pool, "print(input())", tests)
    # a wrong answer does not stop the program (that would tell it the earlier ones passed): every
    # test runs, and the verdict is the first failure's
    assert result.verdict == "wrong" and [t.verdict for t in result.tests] == ["pass", "wrong", "pass"]
    assert not result.passed and result.message.startswith("test 1: line 1")
    # a failure the program knows of itself (it raised) ends it, as in the reference
    crash = run(pool, "x = int(input())\nassert x != 2\nprint(x)", tests)
    assert crash.verdict == "runtime_error" and [t.verdict for t in crash.tests] == ["pass", "runtime_error"]
    assert run(pool, "def f(:\n  pass", tests).verdict == "compile_error"
    assert run(pool, "print(1 / 0)", tests).verdict == "runtime_error"
    assert run(pool, "import time\ntime.sleep(3)", tests, timeout_s=0.5).verdict == "timeout"
    assert run(pool, "x = bytearray(1 << 33)", tests).verdict == "memory"


def test_run_many_in_order_and_parallel(pool):
    jobs = [make_job(f"print(int(input()) + {i})", [TestCase("1", str(i + 1))], timeout_s=1) for i in range(40)]
    jobs[7] = make_job("print(0)", [TestCase("1", "8")], timeout_s=1)
    results = run_many(jobs, pool=pool)
    assert [r.passed for r in results] == [i != 7 for i in range(40)]
    slow = [make_job("import time\ntime.sleep(0.4)\nprint(1)", [TestCase("", "1")], timeout_s=2) for _ in range(4)]
    assert all(r.passed for r in pool.run_many(slow))  # the speed of parallel runs is `make bench`'s to measure


def test_isolation_is_reported(pool):
    iso = pool.isolation
    if os.geteuid() == 0:  # what this test machine (root, namespaces allowed) must provide
        assert iso["network"] and iso["mount"] and iso["pid"] and iso["uid"] and iso["readonly_fs"]


# --------------------------------------------------------------------------- hostile programs

def test_network_is_unreachable(pool):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    code = f"""
import socket
for addr in [("127.0.0.1", {port}), ("1.1.1.1", 80), ("8.8.8.8", 53)]:
    try:
        socket.create_connection(addr, timeout=0.5); print("open", addr)
    except OSError as e:
        print("blocked")
try:
    socket.getaddrinfo("pypi.org", 443); print("dns")
except OSError:
    print("no dns")
"""
    result = run(pool, code, [("", "blocked\nblocked\nblocked\nno dns")])
    listener.close()
    assert result.passed, result  # every attempt failed inside the sandbox
    attack = run(pool, f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=0.5)\nprint('in')",
                 [("", "in")])
    assert_contained(pool, attack, "runtime_error")


def test_fork_bomb(pool):
    code = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
    assert_contained(pool, run(pool, code, [("", "x")]), "timeout", "runtime_error")


def test_thread_bomb(pool):
    code = ("import threading, time\nwhile True:\n"
            "    threading.Thread(target=time.sleep, args=(100,)).start()")
    assert_contained(pool, run(pool, code, [("", "x")]), "runtime_error", "timeout", "memory")


def test_memory_bomb(pool):
    code = "chunks = []\nwhile True:\n    chunks.append(b'x' * (1 << 26))"
    assert_contained(pool, run(pool, code, [("", "x")], memory_mb=512, timeout_s=5), "memory")


def test_disk_fill(pool, tmp_path):
    code = """
import os
total = 0
try:
    for n in range(100000):
        with open(f"f{n}", "wb") as f:
            f.write(b"x" * (1 << 20))
        total += 1
except OSError as e:
    print("stopped", total)
"""
    result = run(pool, code, [("", "never")], max_output_mb=1, timeout_s=4)
    assert_contained(pool, result, "wrong", "output_limit", "runtime_error")
    if result.verdict == "wrong":  # stopped by the work dir's size cap (256 MiB), not the host disk
        assert int(result.message.rsplit(" ", 1)[1].strip("'")) <= 256


def test_infinite_loop_and_ignored_signals(pool):
    code = ("import signal\nfor s in (signal.SIGTERM, signal.SIGXCPU, signal.SIGALRM, signal.SIGINT):\n"
            "    signal.signal(s, signal.SIG_IGN)\nwhile True:\n    try:\n        pass\n    except BaseException:\n        pass")
    t0 = time.perf_counter()
    result = run(pool, code, [("", "x")])
    assert time.perf_counter() - t0 < 30  # a guard against a hang (the program ignores signals), not a speed target
    assert_contained(pool, result, "timeout")


def test_sleep_past_timeout(pool):
    assert_contained(pool, run(pool, "import time\ntime.sleep(60)", [("", "x")]), "timeout")


def test_huge_stdout(pool):
    code = "import sys\nwhile True:\n    sys.stdout.write('x' * 100000)"
    assert_contained(pool, run(pool, code, [("", "x")], max_output_mb=2), "output_limit", "timeout")


def test_deep_recursion(pool):
    code = "import sys\nsys.setrecursionlimit(10**9)\nfrom functools import lru_cache\n" \
           "@lru_cache(None)\ndef f(n):\n    return f(n + 1) + 1\nprint(f(0))"
    assert_contained(pool, run(pool, code, [("", "x")]), "runtime_error", "memory")


def test_environment_is_scrubbed(pool):
    code = """
import os
print(os.environ.get("EVALSUITE_TEST_SECRET"), os.environ.get("HF_TOKEN"))
leaks = []
for pid in os.listdir("/proc"):
    if pid.isdigit():
        try:
            leaks.append(open(f"/proc/{pid}/environ", "rb").read().decode(errors="replace"))
        except OSError:
            pass
print("|".join(leaks))
"""
    result = run(pool, code, [("", FAKE_SECRET)])
    assert_contained(pool, result, "wrong")
    assert result.message.endswith("got 'None None'")  # the expected text holds the secret, not the output


def test_home_directory_is_hidden(pool):
    marker = Path.home() / f".evalsuite-marker-{uuid.uuid4().hex}"
    marker.write_text(FAKE_SECRET)
    try:
        code = f"""
import os
try:
    print(open({str(marker)!r}).read())
except OSError as e:
    print(type(e).__name__)
print(sorted(os.listdir({str(Path.home())!r})))
"""
        result = run(pool, code, [("", FAKE_SECRET)])
        assert_contained(pool, result, "wrong")
        assert FAKE_SECRET not in result.message and marker.name not in result.message
    finally:
        marker.unlink()


def test_writing_outside_the_work_dir_fails(pool):
    name = f"evalsuite-escape-{uuid.uuid4().hex}"
    private = [f"/tmp/{name}", f"/var/tmp/{name}", f"/dev/shm/{name}", f"/run/{name}"]
    shared = [f"{os.getcwd()}/{name}", f"{Path.home()}/{name}", f"/{name}", f"/usr/{name}"]
    code = f"""
import os
ok = []
for path in {private + shared!r}:
    try:
        open(path, "w").write("x"); ok.append(path)
    except OSError:
        pass
open("inside.txt", "w").write("fine")  # the work dir itself is writable
print(len(ok))
"""
    # /tmp, /var/tmp, /dev/shm are private tmpfs (writable as usual, /run is root's); nothing else is
    result = run(pool, code, [("", "3")])
    assert result.passed, result
    assert not any(os.path.exists(p) for p in private + shared)
    attack = run(pool, f"open('/{name}', 'w').write('x')\nprint('in')", [("", "in")])
    assert_contained(pool, attack, "runtime_error")
    assert not os.path.exists(f"/{name}")


def test_killing_the_parent_and_everyone(pool):
    code = ("import os, signal\nfor target in (os.getppid(), 1, -1):\n"
            "    try:\n        os.kill(target, signal.SIGKILL)\n    except OSError:\n        pass\nprint('alive')")
    assert_contained(pool, run(pool, code, [("", "x")]), "runtime_error", "wrong")


def test_escaping_the_process_group(pool):
    code = """
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(300)
    os._exit(0)
time.sleep(0.2)
print("done")
"""
    result = run(pool, code, [("", "not done")])
    assert_contained(pool, result, "wrong")  # assert_contained checks no sandbox uid process survived


def test_escaping_after_passing(pool):
    # a program that passes but leaves a daemon behind: the daemon still dies
    code = "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(300)\nprint(1)"
    result = run(pool, code, [("", "1")])
    assert result.passed
    assert sandbox_processes_on_host() == []


def test_closing_stdout(pool):
    for code in ("import os\nprint(1)\nos.close(1)\nprint(2)", "import sys\nsys.stdout.close()\nprint(2)",
                 "import os\nos.close(0)\ninput()"):
        assert_contained(pool, run(pool, code, [("5", "1\n2")]), "runtime_error", "wrong")


def test_other_processes_are_invisible(pool):
    code = """
import os
names = []
for pid in os.listdir("/proc"):
    if pid.isdigit() and int(pid) != os.getpid():
        try:
            names.append(open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace"))
        except OSError:
            pass
print(any("pytest" in n for n in names))
"""
    assert_contained(pool, run(pool, code, [("", "True")]), "wrong")


def test_exit_and_signals_mid_test(pool):
    for code in ("import os\nos._exit(0)", "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)",
                 "import ctypes\nctypes.string_at(0)"):
        assert_contained(pool, run(pool, code, [("", "x")]), "runtime_error")


def test_forged_reports_do_not_break_the_harness(pool):
    code = "import os\nos.write(3, b'garbage\\n' * 1000 + b'{\"done\": 1}')\nprint('x')"
    result = run(pool, code, [("", "y"), ("", "y")])
    assert sandbox_processes_on_host() == []
    assert run(pool, "print(2)", [("", "2")]).passed
    flood = "import os\nwhile True:\n    os.write(3, b'x' * 65536)"
    assert_contained(pool, run(pool, flood, [("", "y")]), "runtime_error", "timeout")
    del result


def test_compile_bomb(pool):
    assert_contained(pool, run(pool, "x = " + "(" * 200000, [("", "x")]), "compile_error")
    assert_contained(pool, run(pool, "x = 1\x00", [("", "x")]), "compile_error")


def test_privilege_and_resource_grabs(pool):
    code = """
import os, resource
for attempt in (lambda: os.setuid(0), lambda: os.chmod("/etc/passwd", 0o777),
                lambda: resource.setrlimit(resource.RLIMIT_AS, (-1, -1)),
                lambda: os.mkdir("/proc/x")):
    try:
        attempt(); print("granted")
    except (OSError, ValueError):
        pass
files = []
try:
    while True:
        files.append(open("/dev/null"))
except OSError:
    print(len(files) < 100)
"""
    result = run(pool, code, [("", "True")])
    assert result.passed, result


def test_programs_do_not_leak_into_each_other(pool):
    first = run(pool, "import math\nmath.sqrt = None\nopen('left.txt', 'w').write('x')\nprint(1)", [("", "1")])
    assert first.passed
    for _ in range(3):  # whichever server runs it
        result = run(pool, "import math, os\nprint(math.sqrt(4), os.listdir('.'))", [("", "2.0 []")])
        assert result.passed, result


def test_pool_survives_concurrent_abuse(pool):
    hostile = ["while True: pass", "import os\nwhile True: os.fork()", "x = bytearray(1 << 34)",
               "import time\ntime.sleep(9)", "print('x' * 10**8)"]
    jobs = [make_job(code, [TestCase("", "ok")], timeout_s=1, max_output_mb=4) for code in hostile]
    jobs.append(make_job("print('ok')", [TestCase("", "ok")], timeout_s=1))
    results = pool.run_many(jobs)
    assert [r.passed for r in results] == [False] * len(hostile) + [True]
    assert sandbox_processes_on_host() == []


def test_default_pool_functions():
    from evalsuite.sandbox.programs import run_tests

    result = run_tests("print(int(input()) + 1)", [{"input": "1", "output": "2"}], timeout_s=1)
    assert result.passed and result.cpu_s >= 0 and result.wall_s > 0
    threads = [threading.Thread(target=lambda: run_tests("print(1)", [("", "1")], timeout_s=1)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


# ------------------------------------------------ issue 12: verdicts, secrets, escapes, limits

def server_inits(pool) -> list[int]:
    """Host PIDs of the servers themselves (init of each server's PID namespace)."""
    out = []
    for outer in pool.server_pids():
        out += [int(p) for p in Path(f"/proc/{outer}/task/{outer}/children").read_text().split()]
    return out


def process_memory_contains(pid: int, needle: bytes) -> bool:
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb") as mem:
        for line in maps:
            span, perms = line.split()[:2]
            if not perms.startswith("r"):
                continue
            lo, hi = (int(x, 16) for x in span.split("-"))
            try:
                mem.seek(lo)
                if needle in mem.read(hi - lo):
                    return True
            except (OSError, ValueError, OverflowError):
                continue
    return False


def secret_problem(mode: str):
    """Two tests with outputs no program can guess, and a correct program for them."""
    tag = uuid.uuid4().hex
    if mode == "stdin":
        tests = [TestCase(f"{n}\n{tag}", f"answer-{n}-{tag}") for n in (1, 2)]
        correct = "n, tag = input(), input()\nprint(f'answer-{n}-{tag}')"
        return tests, correct, None
    tests = [TestCase(f'{n}\n"{tag}"', json.dumps(f"answer-{n}-{tag}")) for n in (1, 2)]
    correct = "class Solution:\n    def solve(self, n, tag):\n        return f'answer-{n}-{tag}'\n"
    return tests, correct, "solve"


@pytest.mark.parametrize("mode", ["stdin", "call"])
def test_cheating_programs_never_pass(pool, mode):
    # class 1 (forged verdicts) and 2 (readable expected outputs): every server first runs the
    # correct program, so its printed answers went through the server a cheat was forked from
    tests, correct, func = secret_problem(mode)
    honest = [make_job(correct, tests, mode=mode, func_name=func, timeout_s=4) for _ in range(4)]
    assert all(r.passed for r in pool.run_many(honest))
    jobs = {name: make_job(code, tests, mode=mode, func_name=func, timeout_s=6)
            for name, code in cheats(func).items()}
    results = dict(zip(jobs, pool.run_many(list(jobs.values()))))
    for name, result in results.items():
        assert not result.passed, (name, result)
        assert "answer-" not in (result.message or "").split("got", 1)[-1], (name, result.message)
    assert sandbox_processes_on_host() == []


@pytest.mark.parametrize("mode", ["stdin", "call"])
def test_the_cheats_work_against_an_in_process_grader(mode):
    # the fixture's attacks are real: a grader that shares the program's process (the reference
    # runner's shape, bench/sandbox_bench.py's reference driver) passes them
    from bench.sandbox_bench import _reference_run

    tests, _, func = secret_problem(mode)
    for name in ("frame_walk", "gc_scan", "memory_scan", "patch_compare"):
        # a generous limit: scanning every mapping of three processes is slow on a loaded machine
        job = make_job(cheats(func)[name], tests, mode=mode, func_name=func, timeout_s=30)
        assert _reference_run(job)[0] == "pass", name


def test_expected_outputs_and_program_output_never_enter_server_memory(pool):
    tests, correct, _ = secret_problem("stdin")
    assert all(r.passed for r in pool.run_many([make_job(correct, tests, timeout_s=4) for _ in range(4)]))
    for pid in server_inits(pool):
        for t in tests:  # neither the expected text nor the correct program's identical output
            assert not process_memory_contains(pid, t.output.encode()), pid


def test_run_dir_project_and_home_are_not_visible(pool, tmp_path):
    run_dir = Path.cwd() / f".evalsuite-test-run-{uuid.uuid4().hex}"
    run_dir.mkdir()
    samples = run_dir / "samples.jsonl"
    samples.write_text(json.dumps({"id": "x", "reference": {"tests": [["1", FAKE_SECRET]]}}) + "\n")
    host_tmp = tmp_path / "samples.jsonl"
    host_tmp.write_text(FAKE_SECRET)
    try:
        code = f"""
import os, sys
seen = []
for path in {[str(samples), str(host_tmp), str(ROOT / "evalsuite"), str(ROOT / "README.md"), str(Path.home() / ".cache")]!r}:
    seen.append(os.path.exists(path))
print(seen)
"""
        result = run(pool, code, [("", "x")])
        got = result.message.split("got ", 1)[1]
        # the project's files are not there (its directory may be, as the parent of a venv inside it)
        assert got.startswith("'[False, False, False, False, False]'"), result.message
        interpreter = {p.split("/")[1] for p in (sys.prefix, sys.base_prefix)}
        allowed = {"bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "run", "sbin", "tmp",
                   "usr", "var"} | interpreter
        extra = run(pool, f"import os\nprint(sorted(set(os.listdir('/')) - {allowed!r}))", [("", "[]")])
        assert extra.passed, extra.message  # only what an interpreter needs: no /home, /sys, /opt, /mnt
    finally:
        samples.unlink()
        run_dir.rmdir()


def test_host_unix_sockets_are_unreachable(pool, tmp_path):
    # class 3: a world-writable pathname socket on the host (as dbus, a model server, docker)
    paths = [f"/tmp/evalsuite-{uuid.uuid4().hex[:12]}.sock", str(Path.cwd() / f".evalsuite-{uuid.uuid4().hex[:8]}.sock")]
    listeners = []
    for path in paths:
        srv = socket.socket(socket.AF_UNIX)
        srv.bind(path)
        os.chmod(path, 0o777)
        srv.listen(4)
        srv.setblocking(False)
        listeners.append(srv)
    try:
        code = f"""
import os, socket, stat
reached = 0
candidates = {paths!r}
import sys
skip = ("/proc", "/usr", sys.prefix, sys.base_prefix)  # big interpreter trees hold no sockets
for d, dirs, files in os.walk("/"):
    dirs[:] = [x for x in dirs if not os.path.join(d, x).startswith(skip)]
    for f in files:
        try:
            if stat.S_ISSOCK(os.lstat(os.path.join(d, f)).st_mode):
                candidates.append(os.path.join(d, f))
        except OSError:
            pass
for path in candidates:
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(path); s.sendall(b"hello"); reached += 1
    except OSError:
        pass
print(reached)
"""
        result = run(pool, code, [("", "0")], timeout_s=10)
        assert result.passed, result
        for srv in listeners:
            with pytest.raises(BlockingIOError):
                srv.accept()
    finally:
        for srv, path in zip(listeners, paths):
            srv.close()
            os.unlink(path)


def host_sysv(kind: str) -> set[str]:
    return {line.split()[0] for line in Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:]}


IPC_PROGRAM = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
KEY, IPC_CREAT = 0x5eed1e, 0o1000
"""


def test_sysv_ipc_is_private_bounded_and_cleared(pool):
    # class 4: no IPC namespace let one program leave 512 MB of shared memory behind and two
    # programs trade a secret through a message queue
    before = {k: host_sysv(k) for k in ("shm", "msg")}
    leave = IPC_PROGRAM + """
shm = libc.shmget(KEY, 64 << 20, IPC_CREAT | 0o666)
addr = libc.shmat(shm, None, 0)
ctypes.memset(addr, 1, 64 << 20)
libc.shmdt(ctypes.c_void_p(addr))
q = libc.msgget(KEY, IPC_CREAT | 0o666)
msg = ctypes.create_string_buffer(b"\\1\\0\\0\\0\\0\\0\\0\\0secret", 14)
sent = libc.msgsnd(q, msg, 6, 0)
huge = libc.shmget(KEY + 1, 2 << 30, IPC_CREAT | 0o666)  # over the namespace's shmmax
many = sum(libc.shmget(KEY + 2 + i, 4096, IPC_CREAT | 0o666) >= 0 for i in range(200))
print(shm >= 0, sent == 0, huge < 0, many < 200)
"""
    assert run(pool, leave, [("", "True True True True")]).passed
    find = IPC_PROGRAM + "print(libc.shmget(KEY, 0, 0) < 0, libc.msgget(KEY, 0) < 0)"
    for _ in range(4):  # whichever server runs it, the objects are gone
        assert run(pool, find, [("", "True True")]).passed
    assert {k: host_sysv(k) for k in ("shm", "msg")} == before  # nothing reached the host's namespace


def test_memory_counts_every_process_of_a_program(pool):
    # class 5: five children of 200 MB each under memory_mb=300
    code = """
import os, time
kids = []
for _ in range(5):
    pid = os.fork()
    if pid == 0:
        block = bytearray(200 << 20)
        for i in range(0, len(block), 4096):
            block[i] = 1
        time.sleep(30)
        os._exit(0)
    kids.append(pid)
time.sleep(30)
"""
    assert_contained(pool, run(pool, code, [("", "x")], memory_mb=300, timeout_s=20), "memory")


def test_shared_memory_and_memfds_count_or_are_refused(pool):
    refused = "import os\ntry:\n    os.memfd_create('x')\n    print('made')\nexcept OSError:\n    print('refused')"
    assert run(pool, refused, [("", "refused")]).passed
    code = """
import time
with open("/dev/shm/block", "wb") as f:
    for _ in range(150):
        f.write(b"x" * (1 << 20))
held = bytearray(180 << 20)
for i in range(0, len(held), 4096):
    held[i] = 1
time.sleep(30)
"""
    assert_contained(pool, run(pool, code, [("", "x")], memory_mb=300, max_output_mb=200, timeout_s=20), "memory")


def vm_hwm_kib(pid: int) -> int:
    line = next(l for l in Path(f"/proc/{pid}/status").read_text().splitlines() if l.startswith("VmHWM:"))
    return int(line.split()[1])


def test_forged_frames_and_floods_stay_bounded(pool):
    # class 5: forged report records grew the server by 370 MB and the harness by 241 MB
    harness_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    servers_before = {pid: vm_hwm_kib(pid) for pid in server_inits(pool)}
    floods = [
        "import os, struct\nwhile True:\n    os.write(3, struct.pack('<BI', 3, 60 << 20) + b'[' * (1 << 20))",
        "import os\nwhile True:\n    os.write(3, b'{\"test\": 0, \"verdict\": \"pass\"}\\n' * 4096)",
        "import sys\nwhile True:\n    sys.stdout.write('y' * (1 << 20))",
    ]
    for code in floods:
        assert_contained(pool, run(pool, code, [("", "y")], max_output_mb=64, timeout_s=4),
                         "runtime_error", "output_limit")
    for pid, hwm in servers_before.items():
        assert vm_hwm_kib(pid) - hwm < 100 << 10, pid  # KiB: the server copied no payload
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - harness_before < 200 << 10


def test_cpu_counts_every_process_and_one_program_cannot_starve_another(pool):
    # class 5: 60 setsid children starved a correct program on the other server while the hostile
    # one reported 0.08 s of CPU
    hostile = """
import os, time
for _ in range(12):
    if os.fork() == 0:
        os.setsid()
        while True:
            pass
time.sleep(3)
print("done")
"""
    honest = "s = 0\nfor i in range(3_000_000):\n    s += i\nprint(s)"
    results = pool.run_many([make_job(hostile, [TestCase("", "x")], timeout_s=6),
                             make_job(honest, [TestCase("", str(sum(range(3_000_000))))], timeout_s=15)])
    bad, good = results
    assert good.passed, good
    assert not bad.passed
    assert bad.cpu_s > 1.0, bad  # the children's CPU is the program's
    assert bad.cpu_s < bad.wall_s + 1.5, bad  # about one core at most: the rest of the time it was paused
    assert sandbox_processes_on_host() == []


def test_nothing_a_program_writes_extends_its_deadlines(pool):
    # class 6: each forged "begin" record reset the per-test clock
    forged = "import os\nwhile True:\n    os.write(3, b'{\"begin\": 0}\\n')"
    t0 = time.monotonic()
    result = run(pool, forged, [("", "x")] * 3, timeout_s=1)
    assert_contained(pool, result, "runtime_error", "timeout")
    started = "import os, struct, time\nwhile True:\n    os.write(3, struct.pack('<BI', 6, 0))\n    time.sleep(0.2)"
    assert_contained(pool, run(pool, started, [("", "x")] * 3, timeout_s=1), "runtime_error")
    silent = "import time\nwhile True:\n    time.sleep(0.1)"
    result = run(pool, silent, [("", "x")] * 3, timeout_s=1)
    assert_contained(pool, result, "timeout")
    assert result.tests[-1].index == 0
    assert time.monotonic() - t0 < 30  # a hang guard: three programs of 1 s tests, not minutes


HARNESS_THAT_DIES = """
import sys, threading
from evalsuite.sandbox.programs import SandboxPool, make_job, TestCase
pool = SandboxPool(1)
code = "import os, time\\nif os.fork() == 0:\\n    os.setsid()\\ntime.sleep(300)"
threading.Thread(target=pool.run, args=(make_job(code, [TestCase("", "x")], timeout_s=200),), daemon=True).start()
print(pool.server_pids()[0], flush=True)
threading.Event().wait()
"""


def test_servers_and_programs_die_with_the_harness():
    # class 6: after a kill -9 of evalsuite, server and program lived on until the program chose to stop
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", HARNESS_THAT_DIES], stdout=subprocess.PIPE, env=env, text=True)
    server = int(proc.stdout.readline())
    deadline = time.monotonic() + 60
    while len(sandbox_processes_on_host()) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(sandbox_processes_on_host()) >= 2  # the program and its setsid child are running
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 30  # "within seconds"; generous for a loaded machine
    while (sandbox_processes_on_host() or Path(f"/proc/{server}").exists()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sandbox_processes_on_host() == []
    assert not Path(f"/proc/{server}").exists() or "Z" in Path(f"/proc/{server}/stat").read_text().split()[2]


def test_deep_json_and_odd_values_are_verdicts_not_crashes(pool):
    # a 200k-deep JSON array crashed a server (RecursionError was not caught)
    deep = "class Solution:\n    def f(self, x):\n        v = []\n        for _ in range(200000):\n            v = [v]\n        return v\n"
    assert run(pool, deep, [("1", "[]")], mode="call", func_name="f").verdict == "wrong"
    forged = ("import os, struct, time\nclass Solution:\n    def f(self, x):\n        text = b'[' * 200000 + b']' * 200000\n"
              "        os.write(3, struct.pack('<BI', 3, len(text)) + text)\n        time.sleep(5)\n")
    assert run(pool, forged, [("1", "[]")], mode="call", func_name="f").verdict == "wrong"
    odd = "class Solution:\n    def f(self, x):\n        return {1, 2}\n"
    assert run(pool, odd, [("1", "[1, 2]")], mode="call", func_name="f").verdict == "wrong"
    np_like = "class Solution:\n    def f(self, x):\n        return float('nan')\n"
    assert run(pool, np_like, [("1", "NaN")], mode="call", func_name="f").verdict == "wrong"  # nan != nan, as in Python
    assert run(pool, "print(1)", [("1", "1")]).passed  # the server survived all of it


def test_isolation_reports_the_limits_in_force(pool):
    iso = pool.isolation
    assert set(iso["limits"]) >= {"memory", "processes", "cpu", "wall", "output", "files"}
    if os.geteuid() == 0:
        assert iso["ipc"] and iso["root_pivoted"] and iso["private_tmp"] and iso["seccomp"]
        assert ("cgroup v2" in iso["limits"]["memory"]) == iso["cgroup"]


# ------------------------------------------------- issue 22: the second round of hostile programs

def eager_reference_compare(got: str, expected: str) -> bool:
    """The reference runner's comparison as it is written (every line, every token converted up
    front), with a signalling NaN equal to nothing instead of an exception."""
    from decimal import Context, Decimal, localcontext

    g_lines, e_lines = got.strip().split("\n"), expected.strip().split("\n")
    if len(g_lines) != len(e_lines):
        return False
    for g, e in zip(g_lines, e_lines):
        g, e = g.strip(), e.strip()
        if g == e:
            continue
        try:
            gd, ed = [Decimal(t) for t in g.split()], [Decimal(t) for t in e.split()]
        except (ArithmeticError, ValueError):
            return False
        with localcontext(Context(traps=[])):
            if gd != ed:
                return False
    return True


NUMBERISH = st.lists(st.sampled_from(list("0123456789+-.eE_ \t\n\r\x0b\x0c\x1c\x85\xa0\u2028\u3000") + [
    "nan", "NaN", "snan", "sNaN", "inf", "-Infinity", "(ind)", "1e99999", "e999999999999999999999", "\u0661"]),
    max_size=30).map("".join)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(got=st.one_of(NUMBERISH, st.text(max_size=40)), expected=st.one_of(NUMBERISH, st.text(max_size=40)))
def test_compare_stdout_is_the_reference_rule_and_never_raises(got, expected):
    assert (compare_stdout(got, expected) is None) == eager_reference_compare(got, expected)


def test_compare_stdout_long_whitespace_runs_match_the_reference():
    # the stripped bounds are found without copying the output, 4 KiB at a time from its end
    cases = [("1" + " " * 10000 + "\n" * 5000 + "\u3000" * 5000, "1"),
             ("  \n" * 3000 + "1 2" + " \u3000\n" * 3000, "1 2"),
             ("1" + " \x1c" * 5000 + "\n2", "1\n2"),
             ("1" + " " * 9000 + "2\n" + "\n" * 9000, "1 2.0"),
             ("1" + " " * 9000 + "x\n" + "\n" * 9000, "1 2.0"),
             ("\n" * 9000 + "1\n\n2", "1\n2"),
             (" " * 9000, ""), ("\u2028" * 9000, "\u2028")]
    for got, expected in cases:
        assert (compare_stdout(got, expected) is None) == eager_reference_compare(got, expected), (got[:20], expected)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=64), kind=st.sampled_from(["end", "returned", "raised", "bogus"]),
       mode=st.sampled_from(["stdin", "call"]), expected=st.one_of(NUMBERISH, st.just("[1, 2]"), st.just("{")))
def test_grading_any_bytes_is_a_verdict(data, kind, mode, expected):
    from evalsuite.sandbox.programs import VERDICTS, _grade

    job = make_job("", [TestCase("", expected)], mode=mode, func_name="f" if mode == "call" else None)
    verdict, _ = _grade(job, 0, kind, memoryview(data), memoryview(data))
    assert verdict in VERDICTS


def test_a_signalling_nan_is_a_wrong_answer_not_the_end_of_grading(pool):
    # one program printing sNaN where a number was expected raised out of the comparison: the
    # pool lost the server and the whole score stage ended in a traceback
    printed = ["snan", "sNaN", "-sNaN12", "nan", "-nan(ind)", "1e99999", "1e999999999999999999999", "Infinity"]
    jobs = [make_job(f"print({text!r})", [TestCase("", "1"), TestCase("", "2")], timeout_s=2) for text in printed]
    jobs.append(make_job("print(input())", [TestCase("sNaN 2", "snan 2.0")], timeout_s=2))  # differs as text
    jobs.append(make_job("print(1)", [TestCase("", "1")], timeout_s=2))
    results = pool.run_many(jobs)
    assert [r.verdict for r in results] == ["wrong"] * (len(printed) + 1) + ["pass"], results
    assert all(r.tests[0].verdict == "wrong" for r in results[:-1])
    assert_contained(pool, results[0], "wrong")


def test_a_huge_output_of_small_tokens_keeps_the_harness_flat(pool):
    # 60 MiB of one-character tokens became 30 million Decimals before comparing (+4 GB, 21 s);
    # the harness also held the whole output three times while reading it
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tokens = "import sys\nsys.stdout.write('1 ' * (30 << 20))"
    lines = "import sys\nsys.stdout.write('1\\n' * (30 << 20))"
    for code, expected in ((tokens, "1 1"), (lines, "1\n1"), (tokens, "1.0 " * 1000)):
        result = run(pool, code, [("", expected)], timeout_s=20)
        assert result.verdict == "wrong", result
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 200 << 10, grown_kib  # one 60 MiB buffer and its text, not a token list


def test_nothing_a_program_leaves_is_found_by_the_next(pool):
    # POSIX message queues survived in the server's IPC namespace and the kernel keyring was open:
    # a guessing program kept what it learned for the next one
    from persistent_state import FINDER, WRITER

    for _ in range(2):  # on both servers of the pool
        assert run(pool, WRITER, [("", "-")], timeout_s=10).verdict == "wrong"
        for _ in range(3):  # whichever server runs it, nothing is left
            found = run(pool, FINDER, [("", "[]")], timeout_s=30)
            assert found.passed, found.message
    assert sandbox_processes_on_host() == []


def test_what_the_writer_could_and_could_not_write(pool):
    from persistent_state import WRITER

    probe = WRITER.replace("print(json.dumps(done, sort_keys=True))",
                           "print(json.dumps(done, sort_keys=True), file=open('/tmp/r', 'w'))\n"
                           "print(json.dumps({k: v for k, v in done.items() if k.startswith(('keyring', 'keyctl', 'request_key', 'posix mqueue', 'sysv'))}, sort_keys=True))")
    expected = {f"keyring {n}": "errno 1" for n in ("thread", "process", "session", "user", "user session")}
    expected.update({"keyctl join": "errno 1", "request_key": "errno 1", "posix mqueue": True, "sysv shm/msg/sem": True})
    result = run(pool, probe, [("", json.dumps(expected, sort_keys=True))], timeout_s=10)
    assert result.passed, result.message  # the keyring refused; the IPC writes worked (and were then cleared)
    assert pool.isolation["mqueue_cleared"] or os.geteuid() != 0


NOT_ROOT_HARNESS = r"""
import json, sys
sys.path.insert(0, sys.argv[1] + "/tests/fixtures")
from persistent_state import FINDER, WRITER
from evalsuite.sandbox.programs import SandboxPool, TestCase, make_job
probe = '''
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
caps = next(l for l in open("/proc/self/status") if l.startswith("CapEff")).split()[1]
os.makedirs("/tmp/m", exist_ok=True)
tried = [libc.mount(b"tmpfs", b"/tmp/m", b"tmpfs", 0, None),
         libc.mount(None, b"/", None, 32 | 4096 | 16384, None),  # remount the root writable
         libc.ptrace(16, 1, None, None)]  # PTRACE_ATTACH to the server
print(caps, tried)
'''
with SandboxPool(1) as pool:
    out = {"uid": pool.isolation["uid"], "user_namespace": pool.isolation["pid"]}
    out["probe"] = pool.run(make_job(probe, [TestCase("", "0000000000000000 [-1, -1, -1]")], timeout_s=5)).passed
    out["honest"] = pool.run(make_job("print(int(input()) * 2)", [TestCase("21", "42")])).passed
    pool.run(make_job(WRITER, [TestCase("", "-")], timeout_s=10))
    out["nothing_left"] = pool.run(make_job(FINDER, [TestCase("", "[]")], timeout_s=30)).passed
print(json.dumps(out))
"""


@pytest.mark.skipif(os.geteuid() != 0 or not Path("/usr/bin/setpriv").exists() or not Path("/usr/bin/python3").exists(),
                    reason="needs root to start a harness as another user, setpriv and a system python3")
def test_a_program_cannot_make_a_user_namespace(pool):
    # inside a new user namespace a program holds every capability again (mount, chroot): refused,
    # while forks, threads and subprocesses (clone without the flag; clone3 falls back) still work
    code = """
import ctypes, os, subprocess, threading
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWUSER, CLONE_NEWNS = 0x10000000, 0x00020000
print(libc.unshare(CLONE_NEWUSER), ctypes.get_errno())
print(libc.unshare(CLONE_NEWUSER | CLONE_NEWNS), ctypes.get_errno())
import platform
clone_nr = {"x86_64": 56, "aarch64": 220}[platform.machine()]
print(libc.syscall(clone_nr, CLONE_NEWUSER | 17, 0, 0, 0, 0), ctypes.get_errno())
pid = os.fork()
if pid == 0:
    os._exit(7)
print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
t = threading.Thread(target=lambda: None); t.start(); t.join()
print(subprocess.run(["/bin/echo", "spawned"], capture_output=True, text=True).stdout.strip())
"""
    result = run(pool, code, [("", "-1 1\n-1 1\n-1 1\n7\nspawned")])
    assert result.passed, result


def test_without_root_a_program_holds_no_capabilities():
    # not root, the server runs in a user namespace and cannot switch uids: programs ran as that
    # namespace's root with every capability in it (mount over /tmp, remount the root writable and
    # write to host paths the user owns, ptrace the server), state that outlived them
    proc = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c",
                           NOT_ROOT_HARNESS, str(ROOT)], capture_output=True, text=True, timeout=120,
                          env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT)}, cwd="/")
    if proc.returncode != 0 and "Permission denied" in proc.stderr:
        pytest.skip(f"the unprivileged user cannot read the project: {proc.stderr[-200:]}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    if not out["user_namespace"]:
        pytest.skip("user namespaces are refused here: the fallback has no namespaces to escape")
    assert out == {"uid": False, "user_namespace": True, "probe": True, "honest": True, "nothing_left": True}, out
