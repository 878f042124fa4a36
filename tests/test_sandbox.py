"""The code sandbox: grading semantics, and hostile programs that must be contained.

Every hostile case runs a real program in a real fork server; it must end as a recorded failure,
leave nothing behind on the host, and the harness must keep working afterwards.
"""
from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest

from evalsuite.sandbox import (SandboxPool, TestCase, compare_return, compare_stdout, make_job,
                               run_many)

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


def sandbox_processes_on_host() -> list[int]:
    """Host PIDs of processes running as a sandbox uid (should be none between programs)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            uid_line = next(l for l in (entry / "status").read_text().splitlines() if l.startswith("Uid:"))
        except (OSError, StopIteration):
            continue
        if int(uid_line.split()[1]) >= SANDBOX_UID_MIN:
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


def test_verdicts_and_stop_at_first_failure(pool):
    tests = [("1", "1"), ("2", "3"), ("3", "3")]
    result = run(pool, "print(input())", tests)
    assert result.verdict == "wrong" and [t.verdict for t in result.tests] == ["pass", "wrong"]
    assert "line 1" in result.message
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
    from evalsuite.sandbox import run_tests

    result = run_tests("print(int(input()) + 1)", [{"input": "1", "output": "2"}], timeout_s=1)
    assert result.passed and result.cpu_s >= 0 and result.wall_s > 0
    threads = [threading.Thread(target=lambda: run_tests("print(1)", [("", "1")], timeout_s=1)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
