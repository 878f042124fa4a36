"""Stateful sandbox sessions (evalsuite/sandbox/sessions.py): state kept and never shared, hostile
code contained, deaths reported and recovered from. Every case runs real code in a real session
server; after the hostile ones the session (or a reopened one) must still work and nothing of it
may survive on the host."""
from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest

from evalsuite.sandbox.sessions import Session, SessionLimits
from test_sandbox import sandbox_processes_on_host

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def session():
    s = Session(SessionLimits(memory_mb=1024))
    yield s
    s.close()
    assert sandbox_processes_on_host() == []


def assert_usable(s: Session) -> None:
    r = s.execute("40 + 2")
    assert r.ok and r.value == "42", r


# ------------------------------------------------------------------------------------ semantics

def test_state_is_kept_between_calls_with_jupyter_semantics(session):
    assert session.execute("import math\nx = 21\ndef f(n):\n    return n * 2").ok
    r = session.execute("print('printed'); import sys; print('warned', file=sys.stderr)\nf(x)")
    assert (r.stdout, r.stderr, r.value, r.error) == ("printed\n", "warned\n", "42", None)
    assert session.execute("math.sqrt(x * 4 + 16)").value == "10.0"
    assert session.execute("_ + 1").value == "11.0"  # the last value, as in Jupyter
    assert session.execute("y = 3").value is None  # a statement has no value
    assert session.execute("None").value is None
    r = session.execute("def g():\n    return 1 / 0\ng()")
    assert "ZeroDivisionError" in r.error and 'File "<cell 7>", line 2, in g' in r.error
    assert "sandbox/server" not in r.error  # the driver's frames are not the model's business
    assert session.execute("x + y").value == "24"  # an error loses nothing
    r = session.execute("def broken(:\n    pass")
    assert "SyntaxError" in r.error and session.execute("x").value == "21"
    assert "SystemExit" in session.execute("exit(3)").error and session.execute("x").value == "21"


def test_state_is_not_shared_between_sessions():
    marker = uuid.uuid4().hex
    with Session() as a, Session() as b:
        assert a.execute(f"secret = {marker!r}\nopen('/tmp/{marker}', 'w').write('a')\n"
                         f"open('/dev/shm/{marker}', 'w').write('a')").ok
        r = b.execute("secret")
        assert "NameError" in r.error
        r = b.execute(f"import os; [os.path.exists(p) for p in ('/tmp/{marker}', '/dev/shm/{marker}')]")
        assert r.value == "[False, False]", r
        assert b.execute("import os; sorted(os.listdir('/tmp'))").value == "[]"
        # each is its own uid, PID namespace and root: b cannot see a's process
        assert b.execute("import os; [int(p) for p in os.listdir('/proc') if p.isdigit()] == [os.getpid()]").value == "True"
        assert a.execute("secret").value == repr(marker)


# ------------------------------------------------------------------------------------ hostile code

def test_reads_outside_the_root_fail(session, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    for path in (str(secret), str(ROOT / "pyproject.toml"), "/root", "/etc/passwd", "/proc/1/environ"):
        r = session.execute(f"open({path!r}).read()")
        assert r.error and ("FileNotFoundError" in r.error or "PermissionError" in r.error
                            or "IsADirectoryError" in r.error), (path, r)
    r = session.execute("import os; sorted(k for k in os.environ)")
    assert r.value == "['HOME', 'LANG', 'PATH', 'TMPDIR']"
    r = session.execute("import socket; socket.create_connection(('127.0.0.1', 22), timeout=1)")
    assert "OSError" in r.error or "Error" in r.error.splitlines()[-1], r
    assert_usable(session)


def test_writes_outside_tmp_fail_and_tmp_is_wiped_on_reopen(session):
    r = session.execute("open('/usr/evil', 'w')")
    assert "Read-only" in r.error or "PermissionError" in r.error, r
    assert session.execute("open('/tmp/mine', 'w').write('x')").value == "1"
    assert session.execute("import os; os.listdir('/tmp')").value == "['mine']"  # kept between calls
    session.open()
    assert session.execute("import os; os.listdir('/tmp')").value == "[]"


def test_fork_bomb_is_contained_and_its_processes_do_not_outlive_the_cell(session):
    r = session.execute("import os\npids = []\nwhile True:\n    pids.append(os.fork())\n    if pids[-1] == 0:\n"
                        "        import time; time.sleep(60)", timeout_s=10)
    assert r.error and ("BlockingIOError" in r.error or "Resource temporarily" in r.error), r
    assert session.alive
    # only the session's own process remains, in the sandbox and on the host
    assert session.execute("import os; [int(p) for p in os.listdir('/proc') if p.isdigit()] == [os.getpid()]").value == "True"
    assert len(sandbox_processes_on_host()) == 1
    r = session.execute("import subprocess; p = subprocess.Popen(['sleep', '100']); p.pid")
    assert r.ok
    assert session.execute("p.poll() is not None").value == "True"  # killed when its cell ended
    assert_usable(session)


def test_memory_hog_gets_a_memory_error_and_the_session_goes_on(session):
    session.execute("keep = 'kept'")
    r = session.execute("hog = bytearray(8 << 30)")
    assert "MemoryError" in r.error, r
    r = session.execute("chunks = []\nwhile True:\n    chunks.append(bytearray(64 << 20))", timeout_s=20)
    assert "MemoryError" in r.error, r
    assert session.execute("del chunks; keep").value == "'kept'"


def test_killing_its_parent_and_everyone_fails(session):
    r = session.execute("import os, signal\nfor target in (os.getppid(), 1, -1):\n    try:\n"
                        "        os.kill(target, signal.SIGKILL)\n    except OSError as e:\n        print(target, e.errno)")
    assert r.ok, r
    assert_usable(session)


def test_killing_itself_or_crashing_is_reported_and_reopened_clean(session):
    session.execute("x = 1")
    r = session.execute("import os, signal; os.kill(os.getpid(), signal.SIGKILL)")
    assert r.died and "SIGKILL" in r.died and not session.alive, r
    r = session.execute("x")
    assert not r.ran and r.died, r  # a dead session runs nothing until reopened
    session.open()
    assert "NameError" in session.execute("x").error
    r = session.execute("import ctypes; ctypes.string_at(0)")
    assert r.died and "SIGSEGV" in r.died, r
    session.open()
    assert_usable(session)


def test_a_session_killed_mid_call_from_outside(session):
    session.execute("x = 1")
    box = {}
    t = threading.Thread(target=lambda: box.update(r=session.execute("import time; time.sleep(30)", timeout_s=60)))
    t.start()
    deadline = time.monotonic() + 10
    while not sandbox_processes_on_host() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    (pid,) = sandbox_processes_on_host()
    os.kill(pid, signal.SIGKILL)
    t.join(20)
    assert box["r"].died and "SIGKILL" in box["r"].died, box
    session.open()
    assert "NameError" in session.execute("x").error
    # the whole server killed mid-call: reported as a death too, and reopened on a new server
    old = session.server_pid
    t = threading.Thread(target=lambda: box.update(r=session.execute("import time; time.sleep(30)", timeout_s=60)))
    t.start()
    time.sleep(0.5)
    os.kill(old, signal.SIGKILL)
    t.join(20)
    assert box["r"].died and "server" in box["r"].died, box
    session.open()
    assert session.server_pid != old
    assert_usable(session)


def test_a_timeout_interrupts_the_cell_and_keeps_the_state(session):
    session.execute("x = 5")
    r = session.execute("while True:\n    x += 0", timeout_s=1)
    assert r.timed_out and r.died is None and "KeyboardInterrupt" in r.error, r
    assert session.execute("x").value == "5"
    r = session.execute("import time; time.sleep(100)", timeout_s=1)
    assert r.timed_out and r.died is None, r
    # a cell that ignores the interrupt is killed: reported as a death, reopened empty
    r = session.execute("import signal; signal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass", timeout_s=1)
    assert r.timed_out and r.died and "interrupt" in r.died, r
    session.open()
    assert "NameError" in session.execute("x").error


def test_output_cap_truncates_and_keeps_the_session(session):
    r = session.execute("print('a' * 1_000_000); import sys; sys.stderr.write('b' * 50_000)\n'c' * 100_000",
                        max_output_bytes=1000)
    assert r.truncated and len(r.stdout) == 1000 and len(r.stderr) == 1000 and len(r.value) == 1000, r
    r = session.execute("while True:\n    print('x' * 10000)", timeout_s=2, max_output_bytes=4096)
    assert r.truncated and r.timed_out and len(r.stdout) == 4096 and r.died is None
    r = session.execute("print('small')", max_output_bytes=1000)
    assert r.stdout == "small\n" and not r.truncated


# ------------------------------------------------- issue 22: what a cell leaves running or behind

def test_threads_and_processes_a_cell_started_do_not_outlive_it(session):
    # a flooding thread of one cell filled the next cell's output and lost that cell's own
    r = session.execute("import threading, time\nstate = 'kept'\n"
                        "def flood():\n    while True:\n        print('x' * 100)\n"
                        "threading.Thread(target=flood, daemon=True).start()\ntime.sleep(0.2)\n'started'")
    assert r.ok and r.value == "'started'" and r.stdout.startswith("x" * 100), r
    for _ in range(3):
        r = session.execute("print('mine')\nstate")
        assert (r.stdout, r.value) == ("mine\n", "'kept'"), r
    # a thread that swallows every exception, one that writes to fd 1 itself, one that sleeps first
    r = session.execute("import os\n"
                        "def stubborn():\n    while True:\n        try:\n            print('y')\n"
                        "        except BaseException:\n            pass\n"
                        "def raw():\n    while True:\n        os.write(1, b'z')\n"
                        "def late():\n    time.sleep(1.5)\n    print('late')\n    open('/tmp/late', 'w').write('late')\n"
                        "for f in (stubborn, raw, late):\n    threading.Thread(target=f).start()\ntime.sleep(0.1)")
    assert r.ok, r
    time.sleep(2.5)  # the sleeper has woken by now
    r = session.execute("print('second')\nimport os\nos.path.exists('/tmp/late')")
    assert (r.stdout, r.value) == ("second\n", "False"), r
    # a child process that prints later, and one that detaches: killed when the cell ended
    r = session.execute("import subprocess\np = subprocess.Popen(['sh', '-c', 'sleep 1; echo late-child'])\n"
                        "if os.fork() == 0:\n    os.setsid()\n    time.sleep(1)\n    os.write(1, b'late-fork')\n    os._exit(0)")
    assert r.ok, r
    time.sleep(1.5)
    r = session.execute("print('third')\np.poll() is not None")
    assert (r.stdout, r.value) == ("third\n", "True"), r
    assert len(sandbox_processes_on_host()) == 1  # the session's own process only
    assert_usable(session)


def test_nothing_a_session_leaves_is_found_after_a_reopen_or_by_another():
    # POSIX message queues and keyring keys outlived a session (keys even its server)
    import json
    import sys

    sys.path.insert(0, str(ROOT / "tests" / "fixtures"))
    from persistent_state import FINDER, WRITER

    with Session() as a, Session() as b:
        wrote = a.execute(WRITER, timeout_s=20)
        done = json.loads(wrote.stdout)
        assert done["posix mqueue"] is True and done["keyring user"] == "errno 1", done
        assert json.loads(b.execute(FINDER, timeout_s=30).stdout) == []  # another session
        a.open()  # the same server, a fresh session
        assert json.loads(a.execute(FINDER, timeout_s=30).stdout) == []


def test_a_forged_report_larger_than_the_cap_is_never_read(session):
    # the harness read a whole report before cutting it at the cap
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    r = session.execute("import os, struct\npayload = b'{\"value\": \"' + b'v' * (60 << 20) + b'\"}'\n"
                        "os.write(3, struct.pack('<BI', 7, len(payload)) + payload)", max_output_bytes=1000)
    assert r.died and "report pipe" in r.died, r
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 30 << 10  # KiB
    session.open()
    assert_usable(session)
