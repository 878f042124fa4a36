"""Running untrusted code: model-written programs graded against tests, stateful Python sessions
for tool calls, and C++ contest solutions judged with checkers and interactors (docs/sandbox.md).

    programs        the harness side: SandboxPool, jobs and test cases, grading (it holds the
                    expected outputs; the servers never see them)
    server          the fork server inside the sandbox (namespaces, pivoted root, seccomp, rlimits);
                    standard library only, started as a script (`python -I server.py --serve ...`)
    sessions        a stateful Python session per conversation, on a server of its own (mode=tir)
    contest_judge   the contest judge: compiles C++ once, runs it under checkers and interactors
    contest_server  its server, a script that loads server.py from beside it

Import from the module you need (`from evalsuite.sandbox.programs import SandboxPool`); this file
imports nothing.
"""
