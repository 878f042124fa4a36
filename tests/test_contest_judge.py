"""The contest judge: real g++ compiling inside the real sandbox, real programs under the problems'
limits, checkers, interactors and graders, and the C++ counterparts of tests/test_sandbox.py's
hostile programs. Each hostile case must end as a recorded verdict, leave no process behind, and
the judge must keep working afterwards."""
from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest

from evalsuite.sandbox.contest_judge import (BinaryCache, CompileLimits, ContestJudge, JudgeSettings, JudgeTest, Problem,
                                     checker_verdict, compare_floats, compare_lines, compare_tokens, find_toolchain,
                                     source_digest, toolchain_missing)
from tasks import livecodebench_pro as lcbp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))
import contest_solutions as cs  # noqa: E402
from test_sandbox import SANDBOX_UID_MIN  # noqa: E402

pytestmark = pytest.mark.skipif(toolchain_missing() is not None, reason=toolchain_missing() or "")

SAMPLE_TESTS = ROOT / "tasks" / "samples" / "livecodebench_pro_tests"


def sample_problem(pid: str) -> Problem:
    return lcbp.problem_from_archive(pid, lcbp._read_archive(SAMPLE_TESTS / pid), pid)


@pytest.fixture(scope="module")
def judge(tmp_path_factory):
    settings = JudgeSettings(find_toolchain(), compile_limits=CompileLimits(cpu_s=8, wall_s=20, memory_mb=1024))
    j = ContestJudge(settings, workers=2, cache=BinaryCache(tmp_path_factory.mktemp("binaries")))
    yield j
    j.close()


def leftover_programs(judge) -> list[int]:
    """Host PIDs of processes of a sandbox uid under this judge's servers (other sessions on the
    machine may run sandboxes of their own: only ours are counted). An orphan in a server's PID
    namespace is reparented to the server's init, so an escaped process is still found here."""
    parent, uid = {}, {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = dict(line.split(":", 1) for line in (entry / "status").read_text().splitlines() if ":" in line)
                parent[int(entry.name)], uid[int(entry.name)] = int(fields["PPid"]), int(fields["Uid"].split()[0])
            except (OSError, KeyError, ValueError):
                continue
    ours, frontier = set(), set(judge.server_pids())
    while frontier:
        ours |= frontier
        frontier = {p for p, pp in parent.items() if pp in frontier} - ours
    return sorted(p for p in ours if uid.get(p, 0) >= SANDBOX_UID_MIN)


def healthy(judge) -> None:
    r = judge.judge(sample_problem("lcbp-s1"), cs.PAIRS_RIGHT)
    assert r.passed, r


def assert_contained(judge, result, *verdicts) -> None:
    assert not result.passed, result
    if verdicts:
        assert result.verdict in verdicts, result
    assert leftover_programs(judge) == []
    healthy(judge)


# ---------------------------------------------------------------------------------- comparisons

def test_comparisons():
    assert compare_tokens("1  2\n3\n\n", "1 2 3") is None  # testlib wcmp: tokens only
    assert compare_tokens("1 2", "1 2 3") == "expected 3 tokens, got 2"
    assert compare_tokens("01", "1") is not None  # tokens, not numbers
    assert compare_lines("1 2 \n3\n", "1 2\n3") is None and compare_lines("1\n2", "1 2") is not None
    assert compare_floats("0.3333334 abc", "0.3333333 abc", 1e-6) is None
    assert compare_floats("1000000.5", "1000000.0", 1e-6) is None  # relative error 5e-7
    assert compare_floats("0.34", "0.3333333", 1e-6) is not None
    assert compare_floats("nan", "1.0", 1e-6) is not None and compare_floats("x", "1.0", 1e-6) is not None


def test_checker_verdicts():
    assert checker_verdict(0, None, "", "ok") == ("pass", 1.0, "ok")
    assert checker_verdict(1, None, "", "wrong answer: no")[:2] == ("wrong", 0.0)
    assert checker_verdict(2, None, "", "presentation")[:2] == ("wrong", 0.0)
    assert checker_verdict(3, None, "", "bad input")[0] == "sandbox_error"  # the checker failed, not the program
    assert checker_verdict(7, None, "", "points 0.5 partly")[:2] == ("wrong", 0.5)  # testlib's partial points
    assert checker_verdict(0, None, "0.25\n", "partial")[:2] == ("wrong", 0.25)  # a CMS-style score
    assert checker_verdict(None, "SIGSEGV", "", "")[0] == "sandbox_error"


def test_the_cache_key_is_source_flags_and_compiler_version():
    tc = find_toolchain()
    base = source_digest({"a.cpp": "int main(){}"}, tc, "program")
    assert base == source_digest({"a.cpp": "int main(){}"}, tc, "program")
    assert base != source_digest({"a.cpp": "int main(){ }"}, tc, "program")
    assert base != source_digest({"a.cpp": "int main(){}"}, type(tc)(tc.compiler, tc.version, ("-O0",)), "program")
    assert base != source_digest({"a.cpp": "int main(){}"}, type(tc)(tc.compiler, tc.version + "x", tc.flags), "program")
    assert base != source_digest({"a.cpp": "int main(){}"}, tc, "helper")


# ---------------------------------------------------------------------------------- verdicts

def test_sample_programs_get_their_verdicts(judge):
    problems = {pid: sample_problem(pid) for pid in ("lcbp-s1", "lcbp-s2", "lcbp-s3")}
    keys = list(cs.EXPECTED)
    results = judge.judge_many([(problems[pid], cs.PROGRAMS[name]) for pid, name in keys])
    got = {key: r.verdict for key, r in zip(keys, results)}
    assert got == cs.EXPECTED
    by_key = dict(zip(keys, results))
    assert "expected initializer" in by_key[("lcbp-s1", "PAIRS_NOT_COMPILING")].message  # the compiler's first lines
    assert by_key[("lcbp-s1", "PAIRS_RIGHT")].score == 1.0 and by_key[("lcbp-s1", "PAIRS_WRONG")].score == 0.0
    assert "256 MiB" in by_key[("lcbp-s1", "PAIRS_HUNGRY")].message
    assert "more than 31 queries" in by_key[("lcbp-s3", "GUESS_WRONG")].message  # the interactor's own words
    assert leftover_programs(judge) == []


def test_a_rescore_compiles_nothing(judge):
    problem = sample_problem("lcbp-s2")
    first = judge.judge(problem, cs.SPLIT_RIGHT + "\n// variant for the cache test\n")
    hits = judge.cache.hits
    again = judge.judge(problem, cs.SPLIT_RIGHT + "\n// variant for the cache test\n")
    assert first.passed and again.passed and not first.compile_cached and again.compile_cached
    assert judge.cache.hits >= hits + 2  # the program and the checker
    broken = judge.judge(problem, cs.PAIRS_NOT_COMPILING)
    assert broken.verdict == "compile_error" and judge.judge(problem, cs.PAIRS_NOT_COMPILING).compile_cached


def test_float_tolerance_checker(judge):
    problem = Problem("sqrt", [JudgeTest("2\n", "1.414213562\n"), JudgeTest("1e12\n", "1000000.0\n")], 1.0, 64,
                      checker="float", float_tolerance=1e-6)
    right = "#include <cstdio>\n#include <cmath>\nint main(){double x;std::scanf(\"%lf\",&x);std::printf(\"%.9f\\n\",std::sqrt(x));}"
    coarse = right.replace("%.9f", "%.2f")
    assert judge.judge(problem, right).passed
    r = judge.judge(problem, coarse)
    assert r.verdict == "wrong" and "tolerance" in r.message


GRADER = r"""
#include "total.h"
#include <cstdio>
int main() {
    int n; std::scanf("%d", &n);
    std::vector<long long> a(n); for (auto& x : a) std::scanf("%lld", &x);
    std::printf("%lld\n", total(a));
}
"""
HEADER = "#pragma once\n#include <vector>\nlong long total(const std::vector<long long>& a);\n"
PARTIAL_CHECKER = r"""
#include <cstdio>
#include <cstdlib>
int main(int argc, char** argv) {  // exact: 1; within 10%: testlib points 0.5; within 50%: a CMS score 0.25
    FILE* out = std::fopen(argv[2], "r"); FILE* ans = std::fopen(argv[3], "r");
    long long got, want;
    if (std::fscanf(out, "%lld", &got) != 1) { std::fprintf(stderr, "no number\n"); return 1; }
    std::fscanf(ans, "%lld", &want);
    double off = std::llabs(got - want) / (double)want;
    if (off == 0) { std::printf("1\n"); return 0; }
    if (off <= 0.1) { std::fprintf(stderr, "points 0.5 close\n"); return 7; }
    if (off <= 0.5) { std::printf("0.25\n"); std::fprintf(stderr, "far\n"); return 0; }
    std::fprintf(stderr, "wrong\n"); return 1;
}
"""
CONTESTANT = r"""
#include "total.h"
long long total(const std::vector<long long>& a) {
    long long s = 0; for (auto x : a) s += x;
    if (a.size() == 4) return s + s / 20;       // 5% off
    if (a.size() == 5) return s + s * 3 / 10;   // 30% off
    return s;
}
"""


def test_ioi_grader_with_partial_scores(judge):
    problem = Problem("grader", [JudgeTest("3\n10 20 30\n", "60\n"), JudgeTest("4\n100 100 100 100\n", "400\n"),
                                 JudgeTest("5\n100 100 100 100 100\n", "500\n")], 1.0, 64, checker="testlib",
                      checker_source=PARTIAL_CHECKER, grader_files={"grader.cpp": GRADER, "total.h": HEADER},
                      contestant_file="total.cpp", partial=True)
    r = judge.judge(problem, CONTESTANT)
    assert [t.score for t in r.tests] == [1.0, 0.5, 0.25] and r.score == pytest.approx(1.75 / 3)
    assert r.verdict == "wrong" and not r.passed
    # the contestant's file may not bring its own main: the grader's is the program's
    clash = judge.judge(problem, CONTESTANT + "\nint main() { return 0; }\n")
    assert clash.verdict == "compile_error" and "main" in clash.message


def test_time_limit_and_its_scale(tmp_path):
    spin = ("#include <ctime>\n#include <cstdio>\nint main(){volatile long x=0; while (std::clock() < 1.2 * CLOCKS_PER_SEC) x++;"
            " std::printf(\"1\\n\");}")
    problem = Problem("spin", [JudgeTest("", "1\n")], 0.5, 64)
    cache = BinaryCache(tmp_path)
    with ContestJudge(JudgeSettings(find_toolchain()), workers=1, cache=cache) as strict:
        assert strict.judge(problem, spin).verdict == "timeout"
    with ContestJudge(JudgeSettings(find_toolchain(), time_scale=6.0), workers=1, cache=cache) as lenient:
        r = lenient.judge(problem, spin)
        assert r.passed and r.compile_cached and 1.0 < r.tests[0].cpu_s < 3.0


def test_memory_counts_every_process_of_a_program(judge):
    forks = r"""
#include <unistd.h>
#include <cstring>
#include <cstdlib>
#include <sys/wait.h>
int main() {  // four processes of 100 MiB each: each under the 256 MiB limit, together over it
    for (int i = 0; i < 3; i++) if (fork() == 0) break;
    char* p = (char*)std::malloc(100 << 20); std::memset(p, 1, 100 << 20);
    sleep(2);
    while (wait(nullptr) > 0) {}
    return p[12345] - 1;
}
"""
    r = judge.judge(Problem("forks", [JudgeTest("", "")], 4.0, 256), forks)
    assert_contained(judge, r, "memory")


# ---------------------------------------------------------------------------------- hostile programs

def test_fork_bomb(judge):
    assert_contained(judge, judge.judge(sample_problem("lcbp-s1"), cs.HOSTILE["fork_bomb"]),
                     "runtime_error", "timeout", "memory")


def test_raw_syscalls_are_refused(judge):
    problem = Problem("syscalls", [JudgeTest("", "refused\nrefused\n")], 1.0, 64)
    r = judge.judge(problem, cs.HOSTILE["refused_syscalls"])
    assert r.passed, r  # the program printed "refused" for memfd_create and io_uring_setup


def test_answers_checker_and_input_paths_are_out_of_reach(judge):
    secret = "SECRET-" + uuid.uuid4().hex
    compare = r"""
#include <cstdio>
#include <cstring>
int main(int argc, char** argv) {
    char a[128] = {0}, b[128] = {0};
    FILE* out = std::fopen(argv[2], "r"); FILE* ans = std::fopen(argv[3], "r");
    if (std::fscanf(out, "%127s", a) != 1 || std::fscanf(ans, "%127s", b) != 1 || std::strcmp(a, b)) return 1;
    return 0;
}
"""
    problem = Problem("secret", [JudgeTest(secret + "-in\n", secret + "\n"), JudgeTest("x\n", secret + "\n")], 1.0, 64,
                      checker="testlib", checker_source=compare)
    r = judge.judge(problem, cs.HOSTILE["reads_answers"])
    assert r.verdict == "wrong", r
    # the checker works: a program that knows the answer passes
    assert judge.judge(problem, f'#include <cstdio>\nint main(){{std::puts("{secret}");}}').passed


def test_printing_the_checkers_verdict_is_not_a_verdict(judge):
    r = judge.judge(sample_problem("lcbp-s2"), cs.SPLIT_FORGES_CHECKER)
    assert r.verdict == "wrong" and r.tests[0].verdict == "wrong"


def test_a_program_that_outlives_its_test(judge):
    r = judge.judge(sample_problem("lcbp-s2"), cs.HOSTILE["outlives_its_test"])
    assert r.passed and len(r.tests) == 3  # it answered right; its detached grandchild is gone
    assert leftover_programs(judge) == []


@pytest.mark.parametrize("name", sorted(cs.COMPILER_BOMBS))
def test_compiler_bombs_are_contained(judge, name):
    r = judge.judge(sample_problem("lcbp-s1"), cs.COMPILER_BOMBS[name])
    assert r.verdict == "compile_error" and r.message, r
    assert leftover_programs(judge) == []
    healthy(judge)


def test_a_checker_that_needs_testlib_names_the_setting(judge):
    problem = Problem("needs-testlib", [JudgeTest("1\n", "1\n")], 1.0, 64, checker="testlib",
                      checker_source='#include "testlib.h"\nint main(int argc, char* argv[]) { registerTestlibCmd(argc, argv); }\n')
    r = judge.judge(problem, "int main(){}")
    assert r.verdict == "sandbox_error" and "task.testlib_h=PATH" in r.message


@pytest.fixture()
def listener():
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    yield s.getsockname()[1]
    s.close()


@pytest.mark.parametrize("name", sorted(cs.HOLDS))
def test_isolation_holds_for_cpp(judge, listener, name, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_FAKE_" + uuid.uuid4().hex)  # never reaches a program
    problem = Problem(name, [JudgeTest(f"{listener} {ROOT}\n", "ok\n")], 2.0, 256)
    r = judge.judge(problem, cs.HOLDS[name])
    assert r.passed, r  # the program printed "ok": what it tried failed
    if name == "leaves_files":  # the next program finds nothing of it
        assert judge.judge(problem, cs.HOLDS["finds_no_files"]).passed
    assert leftover_programs(judge) == []


@pytest.mark.parametrize("name", sorted(cs.FAILS))
def test_hostile_cpp_programs_are_contained(judge, name):
    code, verdicts = cs.FAILS[name]
    r = judge.judge(Problem(name, [JudgeTest("", "ok\n")], 1.0, 256), code)
    assert_contained(judge, r, *verdicts)


def test_an_interactive_programs_answer_stays_out_of_reach(judge):
    """During an interactive run the answer file is in the box (the interactor reads it): owned by
    the interactor's uid, it is still unreadable to the program, which cannot list the box, see
    the interactor in /proc, nor signal it."""
    secret = "SECRET-" + uuid.uuid4().hex
    interactor = r"""
#include <cstdio>
#include <cstring>
int main(int argc, char** argv) {  // accepts the one line that equals the answer file
    char want[128] = {0}, got[128] = {0};
    FILE* ans = std::fopen(argv[3], "r"); std::fscanf(ans, "%127s", want);
    std::printf("go\n"); std::fflush(stdout);
    if (std::scanf("%127s", got) != 1 || std::strcmp(got, want)) { std::fprintf(stderr, "wrong answer\n"); return 1; }
    std::fprintf(stderr, "ok\n"); return 0;
}
"""
    problem = Problem("secret-interactive", [JudgeTest("\n", secret + "\n")], 1.0, 64, interactor_source=interactor)
    r = judge.judge(problem, cs.HOSTILE["reads_answers"])
    assert r.verdict == "wrong" and "wrong answer" in r.message, r
    assert judge.judge(problem, f'#include <cstdio>\nint main(){{char b[8]; std::scanf("%7s", b); std::puts("{secret}"); std::fflush(stdout);}}').passed
    killer = ("#include <csignal>\n#include <cstdio>\n#include <unistd.h>\nint main(){ for (int p = 1; p < 4096; p++) "
              "if (p != getpid()) kill(p, SIGKILL); kill(-1, SIGKILL); std::puts(\"x\"); std::fflush(stdout); }")
    assert judge.judge(problem, killer).verdict == "wrong"  # the interactor lived to give its verdict
