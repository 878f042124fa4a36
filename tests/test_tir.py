"""Tool-integrated reasoning (evalsuite/tir.py), end to end without a GPU: `python -m evalsuite
task=aime25 mode=tir backend=openai` against a real local HTTP server that is a STAND-IN MODEL
(tests/tir_stand_in_server.py replays scripted multi-turn completions: no model that makes tool
calls can run here), with real sandbox sessions for the tool."""
from __future__ import annotations

import ast
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import free_port, wait_until_serving
from omegaconf import OmegaConf

from evalsuite import store, tir
from evalsuite.backends.turns import Completion, SequentialTurns, TurnMaker
from evalsuite.config import compose, options, task_configs, tir_tasks
from evalsuite.errors import UserError
from evalsuite.planning import system_prompt
from evalsuite.task import resolve as resolve_task
from evalsuite.types import Generation

ROOT = Path(__file__).resolve().parent.parent
CALL = "<tool_call>\n<function=stateful_python_code_exec>\n<parameter=code>\n{code}\n</parameter>\n</function>\n</tool_call>"

# problem text of tasks/samples/aime25.jsonl -> the stand-in's turns for that conversation
SCRIPT = {"model_id": "stand-in", "conversations": [
    {"match": "sum of the first $10$", "turns": [  # two calls, state kept between them, then the answer
        "I will compute it. " + CALL.format(code="x = sum(range(1, 11))\nprint('x is', x)"),
        "Now double check. " + CALL.format(code="x * 1"),
        "The sum is \\boxed{55}."]},
    {"match": "Compute $3 + 4", "turns": [  # a malformed call (no </parameter>), then a good one
        "Let me try. <tool_call>\n<function=stateful_python_code_exec>\n<parameter=code>\nprint(3 + 4 * 5)\n</function>\n</tool_call>",
        "Fix the format. " + CALL.format(code="print(3 + 4 * 5)"),
        "So \\boxed{23}."]},
    {"match": "positive divisors of $360$", "turns": [  # a tool that times out, then the session still works
        CALL.format(code="n = 360\nimport time\ntime.sleep(60)"),
        CALL.format(code="sum(1 for d in range(1, n + 1) if n % d == 0)"),
        "\\boxed{24}"]},
    {"match": "ordered pairs of positive integers", "turns": [  # hostile code inside the session
        CALL.format(code="import os\nprint(sorted(os.listdir('/')))\nprint(os.path.exists('ROOTMARK'))\n"
                         "try:\n    os.kill(os.getppid(), 9)\nexcept OSError as e:\n    print('kill refused', e.errno)"),
        CALL.format(code="import os, signal; os.kill(os.getpid(), signal.SIGKILL)"),
        CALL.format(code="print(19)"),
        "\\boxed{19}"]},
    {"match": "remainder when $2^{100}$", "turns": [  # slow turns: the run is killed in the middle
        {"text": CALL.format(code="r = pow(2, 100, 7)\nimport time; print(time.time())\nr"), "delay_s": 0.0},
        {"text": CALL.format(code="r + 0"), "delay_s": 0.0},
        {"text": CALL.format(code="print(r * 3)"), "delay_s": 0.0},
        {"text": "\\boxed{2}", "delay_s": 0.0}]},
]}


class StandIn:
    """tests/tir_stand_in_server.py in its own process group."""

    def __init__(self, script: dict, tmp: Path):
        self.port, self.tmp = free_port(), tmp
        tmp.mkdir(parents=True, exist_ok=True)
        self.script_path, self.log = tmp / "script.json", tmp / "requests.jsonl"
        self.script_path.write_text(json.dumps(script).replace("ROOTMARK", str(ROOT / "pyproject.toml")))
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "tir_stand_in_server.py"), "--port",
                                      str(self.port), "--script", str(self.script_path), "--log", str(self.log)],
                                     start_new_session=True)
        wait_until_serving(self.base_url, self.proc, 10, "the stand-in model server")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


@pytest.fixture
def stand_in(tmp_path):
    s = StandIn(SCRIPT, tmp_path)
    yield s
    s.stop()


def cli_args(run_dir: Path, base_url: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "evalsuite", "task=aime25", "mode=tir", "data=sample", "backend=openai",
            f"backend.base_url={base_url}", f"run_dir={run_dir}", "samples=1", "mode.tool_timeout_s=2",
            "backend.max_retries=1", "backend.backoff_s=0.05",
            *([] if any(e.startswith("limit=") for e in extra) else ["limit=5"]), *extra]  # each key once


def run_cli(args: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)


def turns_of(task_dir: Path) -> dict[tuple[str, int], list[dict]]:
    return tir.stored_conversations(task_dir / tir.TURNS)[0]


# ---------------------------------------------------------------- the parser

def test_parse_call_qwen3_coder_format():
    assert tir.parse_call("no call here") is None
    call = tir.parse_call("think " + CALL.format(code="a = 1\n\nprint(a)"))
    assert call.code == "a = 1\n\nprint(a)" and call.error is None
    bad = {
        "<tool_call>\n<function=stateful_python_code_exec>\n<parameter=code>\nx\n</function>\n</tool_call>": "outside",
        "<tool_call>\n<function=python>\n<parameter=code>\nx\n</parameter>\n</function>\n</tool_call>": "unknown function",
        "<tool_call>\n<function=stateful_python_code_exec>\n<parameter=cmd>\nx\n</parameter>\n</function>\n</tool_call>": "unknown parameter",
        "<tool_call>\n<function=stateful_python_code_exec>\n</function>\n</tool_call>": "missing",
        "<tool_call>\nprint(1)\n</tool_call>": "expected <function=",
        "<tool_call>\n<function=stateful_python_code_exec>\n<parameter=code>\nx\n</parameter>\n</function>": "no closing",
    }
    for text, why in bad.items():
        call = tir.parse_call(text)
        assert call.code is None and why in call.error, (text, call)
    assert tir.ends_in_call("a <tool_call>\n<function=f>") and not tir.ends_in_call("a " + CALL.format(code="x"))


def test_the_system_prompt_is_the_cards_tool_prompt_verbatim():
    assert tir.TOOL_PROMPT.startswith("# Tools\nYou have access to the following functions:\n<tools>")
    assert "time out after 120.0 seconds" in tir.TOOL_PROMPT and tir.TOOL_PROMPT.endswith("</IMPORTANT>")
    # the sha256 of the card's published tool prompt (1,306 characters), taken from the card's text:
    # one changed character in evalsuite/card/tir_system_prompt.txt fails here
    assert len(tir.TOOL_PROMPT) == 1306
    assert hashlib.sha256(tir.TOOL_PROMPT.encode()).hexdigest() == \
        "0558a66f2646cd1ad0353f78f49c66b1d0bffd2fc3b79f3c83de35e07d78a746"


def test_bad_tir_settings_fail_before_generation():
    with pytest.raises(UserError, match="mode=tir is for"):
        tir.settings(compose(["task=gpqa_diamond", "mode=tir"]), 100)
    with pytest.raises(UserError, match="mode.tool_timeout_s"):
        tir.settings(compose(["task=aime25", "mode=tir", "mode.tool_timeout_s=abc"]), 100)
    cfg = compose(["task=aime25", "mode=tir"])
    assert tir.settings(cfg, 131072).tool_timeout_s == 120
    from tasks import matharena

    prompt = matharena.load(OmegaConf.merge(cfg, {"data": {"source": "sample"}}))[0].messages[0]["content"]
    assert prompt.startswith("Solve the following math problem. Put your answer inside \\boxed{}.")


# ---------------------------------------------------------------- TIR support declared by the tasks

def test_tir_support_is_declared_by_the_tasks_and_suites_are_checked_against_it():
    # the math family declares it (_math.yaml), LiveCodeBench and Pro their own; IMO AnswerBench,
    # of the math family, opts out; every other task declares nothing
    assert tir_tasks() == ("aime25", "aime26", "hmmt_feb25", "livecodebench", "livecodebench_pro")
    assert compose(["task=imo_answerbench"]).task.tir_prompt is None
    assert compose(["task=hmmt_feb25"]).task.tir_prompt == "card"
    # every suite run under mode=tir lists only tasks that declare a tool prompt
    for name in options("suite"):
        suite = compose([f"suite={name}"]).suite
        if "mode=tir" in (suite.get("overrides") or []):
            assert set(suite.tasks) <= set(tir_tasks()), name
    assert [c.task.name for c in task_configs(compose(["suite=card_tir"]), ["suite=card_tir"])] == list(tir_tasks())
    # a suite that lists a task without the declaration is refused before anything runs, in one line
    with pytest.raises(UserError, match=r"^suite card_tir runs mode=tir, but gpqa_diamond declare\(s\) no tool "
                                        r"prompt \(task.tir_prompt; the tasks that do: aime25, [^\n]*drop mode=tir$"):
        task_configs(compose(["suite=card_tir", "suite.tasks=[aime25,gpqa_diamond]"]), [])
    # one task without it: the error names the tasks that declare it
    with pytest.raises(UserError, match="task.tir_prompt\\): aime25, aime26, hmmt_feb25, livecodebench, "
                                        "livecodebench_pro; task=gpqa_diamond declares none"):
        tir.settings(compose(["task=gpqa_diamond", "mode=tir"]), 100)
    with pytest.raises(UserError, match="task.tir_prompt='nemo' is not one of its values; choose one of: card"):
        resolve_task(compose(["task=aime25", "mode=tir", "task.tir_prompt=nemo"]))
    # the declared tool prompt is the system prompt of the plan's requests (and of the dry run's)
    assert system_prompt(compose(["task=livecodebench", "mode=tir"])) == tir.TOOL_PROMPT
    assert system_prompt(compose(["task=livecodebench"])) == compose(["task=livecodebench"]).system_prompt


NEW_MATH_BENCHMARK = """# @package _global_
# A math benchmark added as one file: the math family (_math.yaml) brings its module, its protocol and
# its declared tool prompt.
defaults:
  - _math
  - _self_
task:
  name: mathnew
  benchmark: null
  dataset:
    hub_id: example/mathnew
    sample: aime25.jsonl
"""


def test_a_new_math_benchmark_is_one_yaml_file_and_runs_under_tir(stand_in, tmp_path):
    """A copy of the package with one file added, evalsuite/configs/task/mathnew.yaml, and nothing
    else changed: `task=mathnew mode=tir` runs its conversations through the stand-in model."""
    repo = tmp_path / "repo"
    for part in ("evalsuite", "tasks"):
        shutil.copytree(ROOT / part, repo / part, ignore=shutil.ignore_patterns("__pycache__"))
    (repo / "evalsuite" / "configs" / "task" / "mathnew.yaml").write_text(NEW_MATH_BENCHMARK)
    run_dir = tmp_path / "run"
    args = [a for a in cli_args(run_dir, stand_in.base_url, "limit=1") if a != "task=aime25"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "PYTHONPATH": str(repo)}
    done = subprocess.run([*args, "task=mathnew"], cwd=repo, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    task_dir = run_dir / "mathnew-tir"
    g = store.read_records(task_dir / "generations.jsonl")[0]
    assert g["tir"]["calls"] == 2 and g["text"].endswith("The sum is \\boxed{55}.")
    assert [t["response"] for t in turns_of(task_dir)[("1", 0)][:2]] == ["x is 55", "55"]
    assert json.loads((task_dir / "summary.json").read_text())["value"] == 100.0
    assert json.loads((task_dir / "run.json").read_text())["fingerprint"]["system_prompt"] == tir.TOOL_PROMPT


# ---------------------------------------------------------------- turns: a backend method behind a protocol

def test_tir_names_no_backend():
    """tir.py reaches a backend only through `backend.turn_maker` (backends/turns.py's protocol):
    it imports no backend module and names no backend."""
    from evalsuite.backends import BACKENDS

    tree = ast.parse((ROOT / "evalsuite" / "tir.py").read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert {m for m in imported if m.startswith("evalsuite.backends")} <= {"evalsuite.backends.turns"}
    named = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    assert not named & set(BACKENDS)


def test_every_backend_hands_out_a_turn_maker():
    from evalsuite.backends import BACKENDS

    for name, where in BACKENDS.items():
        module, attr = where.split(":")
        assert callable(getattr(getattr(__import__(module, fromlist=[attr]), attr), "turn_maker", None)), name

    class WholeTurns:  # a backend with only `generate`, and no stop strings: the turn is cut at its stop
        tokenizer = None

        def __init__(self, text: str, finish: str = "stop"):
            self.text, self.finish, self.asked = text, finish, []

        def count_tokens(self, text: str) -> int:
            return len(text.split())

        def generate(self, requests, sampling, on_batch):
            self.asked.append((requests[0].prompt, requests[0].seed, int(sampling.max_tokens)))
            on_batch([Generation(requests[0].sample_id, 0, self.text, 99, self.finish, 0, requests[0].seed)])

    async def one_turn(maker: TurnMaker) -> Completion:
        async with maker as complete:
            return await complete("PROMPT", 7, 123)

    sampling = OmegaConf.create({"temperature": 1.0, "top_p": 1.0, "max_tokens": 100})
    backend = WholeTurns("a b <tool_call> c </tool_call> d </tool_call> e")
    maker = SequentialTurns(backend, sampling, [tir.CALL_CLOSE])
    assert isinstance(maker, TurnMaker) and maker.concurrency == 1
    out = maker.run(one_turn(maker))
    assert out == Completion("a b <tool_call> c ", 5, "stop") and backend.asked == [("PROMPT", 123, 7)]
    maker = SequentialTurns(WholeTurns("no call", "length"), sampling, [tir.CALL_CLOSE])
    assert maker.run(one_turn(maker)) == Completion("no call", 99, "length")


# ---------------------------------------------------------------- end to end through the CLI

@pytest.mark.slow
def test_tir_run_end_to_end_with_resume_after_kill(tmp_path):
    run_dir = tmp_path / "run"
    task_dir = run_dir / "aime25-tir"
    # first run: killed with -9 once a few turns are stored (problem 5's turns are slow)
    slow = json.loads(json.dumps(SCRIPT))
    for t in slow["conversations"][4]["turns"][1:]:
        t["delay_s"] = 1.5
    slow_server = StandIn(slow, tmp_path / "slow")
    proc = subprocess.Popen(cli_args(run_dir, slow_server.base_url), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True,
                            env={**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"})
    deadline = time.time() + 200
    while time.time() < deadline:
        t5 = turns_of(task_dir).get(("5", 0), []) if (task_dir / tir.TURNS).exists() else []
        if len(t5) >= 2:
            break
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    slow_server.stop()
    stored5 = turns_of(task_dir)[("5", 0)]
    assert 2 <= len(stored5) < 4 and ("5", 0) not in store.latest_by_key(store.read_records(task_dir / "generations.jsonl"))
    for _ in range(100):  # the sessions' servers see their harness gone and end, and with them the sessions
        if not [p for p in Path("/proc").iterdir() if p.name.isdigit() and _is_sandbox(p)]:
            break
        time.sleep(0.1)
    assert not [p for p in Path("/proc").iterdir() if p.name.isdigit() and _is_sandbox(p)]

    # second run: the same command continues problem 5 from its stored turns
    server = StandIn(SCRIPT, tmp_path / "again")
    try:
        done = run_cli(cli_args(run_dir, server.base_url))
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr[-3000:]
    assert "resumed from stored turns" in done.stderr
    gens = store.latest_by_key(store.read_records(task_dir / "generations.jsonl"))
    assert sorted(gens) == [(str(i), 0) for i in range(1, 6)]
    turns = turns_of(task_dir)

    # 1: two calls in one session, state kept; the transcript is the generation's text
    t1 = turns[("1", 0)]
    assert [t["response"] for t in t1[:2]] == ["x is 55", "55"] and t1[2]["call"] is None
    assert gens[("1", 0)]["text"].endswith("The sum is \\boxed{55}.") and "<tool_response>\nx is 55\n</tool_response>" in gens[("1", 0)]["text"]
    # 2: the malformed call got an error message in a tool response, the conversation went on
    t2 = turns[("2", 0)]
    assert t2[0]["call"]["error"] and t2[0]["response"].startswith("Error: the tool call could not be parsed")
    assert t2[1]["response"] == "23" and gens[("2", 0)]["tir"]["malformed_calls"] == 1
    # 3: a call that timed out (mode.tool_timeout_s=2); the session kept n
    t3 = turns[("3", 0)]
    assert t3[0]["tool"]["timed_out"] and "timed out after 2 seconds" in t3[0]["response"]
    assert t3[1]["response"] == "24"
    # 4: hostile code: sees only the sandbox's root, cannot kill its parent; killing itself is a
    # reported death and the next call runs in a fresh session
    t4 = turns[("4", 0)]
    assert "'usr'" in t4[0]["response"] and "False" in t4[0]["response"] and "kill refused" in t4[0]["response"]
    assert t4[1]["tool"]["died"] and "session died" in t4[1]["response"] and t4[2]["response"] == "19"
    # 5: resumed: stored turns were kept, the session rebuilt by replaying its cells; the cell
    # printing time.time() differs on replay and that is recorded, not hidden
    t5 = turns[("5", 0)]
    assert [t["turn"] for t in t5] == [0, 1, 2, 3] and t5[:len(stored5)] == stored5
    assert t5[1]["response"] == "2"
    g5 = gens[("5", 0)]
    assert g5["tir"]["calls"] == 3 and g5["text"].endswith("\\boxed{2}")
    assert g5["tir"]["replay_mismatches"] == 1  # the printed time.time() of turn 0 differed on replay
    replays = tir.stored_conversations(task_dir / tir.TURNS)[1][("5", 0)]
    assert replays[0]["turn"] == 0 and replays[0]["stored"] != replays[0]["replayed"]

    summary = json.loads((task_dir / "summary.json").read_text())
    assert summary["mode"] == "tir" and summary["n_scores"] == 5
    assert summary["value"] == 100.0  # every final answer right, graded by the plain task's scorer
    m = summary["tir"]
    assert m["conversations"] == 5 and m["malformed_calls"] == 1 and m["tool_timeouts"] == 1 and m["session_deaths"] == 1
    assert m["calls_per_conversation"] == pytest.approx((2 + 2 + 2 + 3 + 3) / 5) and m["tool_output_tokens"] > 0
    assert m["settings"]["tool_timeout_s"] == 2 and m["settings"]["max_calls"] is None
    row = next(ln for ln in (run_dir / "report.md").read_text().splitlines() if "| aime25 |" in ln)
    assert "100.0 [100.0, 100.0] TIR" in row and "| +1.4 |" in row  # the gap to the card's bracketed 98.6
    manifest = json.loads((task_dir / "run.json").read_text())
    assert manifest["tir"]["malformed_call_reply"].startswith("Error:") and manifest["fingerprint"]["mode"] == "tir"
    assert manifest["fingerprint"]["system_prompt"] == tir.TOOL_PROMPT
    # every request's system prompt was the card's tool prompt, and each stopped at </tool_call>
    reqs = [json.loads(line) for line in (tmp_path / "again" / "requests.jsonl").read_text().splitlines()]
    assert all(r["stop"] == ["</tool_call>"] for r in reqs)
    # the report marks the run TIR beside the card's bracketed number
    report = (run_dir / "report.md").read_text() if (run_dir / "report.md").exists() else done.stdout
    assert "TIR" in done.stdout and "[98.6]" in done.stdout, done.stdout[-2000:]
    del report


def test_call_cap_and_budget_end_conversations(stand_in, tmp_path):
    run_dir = tmp_path / "cap"
    done = run_cli(cli_args(run_dir, stand_in.base_url, "mode.max_calls=1", "limit=1"))
    assert done.returncode == 0, done.stderr[-3000:]
    g = store.read_records(run_dir / "aime25-tir" / "generations.jsonl")[0]
    assert g["tir"]["end"] == "call_cap" and g["tir"]["calls"] == 1
    run_dir = tmp_path / "budget"
    done = run_cli(cli_args(run_dir, stand_in.base_url, "sampling.max_tokens=12", "limit=1"))
    assert done.returncode == 0, done.stderr[-3000:]
    g = store.read_records(run_dir / "aime25-tir" / "generations.jsonl")[0]
    assert g["tir"]["end"] == "budget" and g["finish_reason"] == "length"
    summary = json.loads((run_dir / "aime25-tir" / "summary.json").read_text())
    assert summary["tir"]["hit_budget"] == 1


def _is_sandbox(p: Path) -> bool:
    try:
        uid_line = next(line for line in (p / "status").read_text().splitlines() if line.startswith("Uid:"))
    except (OSError, StopIteration):
        return False
    return int(uid_line.split()[1]) >= 1_000_000
