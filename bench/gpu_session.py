"""The vllm backend's checks on a GPU node, one step after another, each logged, timed and kept:

  dryrun   evalsuite ... dry_run=true (tokenizer only)
  run      a real run through the CLI: task=aime25 backend=vllm on the staged SmolLM2
  resume   the same kind of run killed (SIGKILL, whole process group) after its first stored chunk,
           then the same command again: every (sample_id, k) present exactly once
  dp       backend.data_parallel=2 on one GPU (two engines at half memory each), merged by key
  ratio    bench.vllm_ratio: evalsuite's generate stage against a bare LLM.generate
  tir      mode=tir on the vllm backend (AsyncLLM in-process): a run killed (SIGKILL) once turns are
           stored, then resumed from them (every conversation once, graded, reported as TIR); then
           bench/tir_vllm_bench.py: the per-conversation loop against a round barrier on the GPU
  rehearse the card's model config (model=nemotron-cascade-2) on a random-weight NemotronH of the
           card's architecture (bench/tiny_nemotronh.py, load_format=dummy) through every card task
           that runs offline, one CLI process per task: each must exit 0 within 30 s of writing its
           report; records engine start, prefill tokens/s at 1M (NIAH) and peak host memory.
           `rehearse=aime25,niah` runs some of them (to split the step over calls).
  suite    the same tasks as ONE suite in one CLI process (one engine per engine configuration):
           engine starts and wall time, beside the `rehearse` rows of the same OUT_DIR (the before)

    python bench/gpu_session.py OUT_DIR [step ...]     # default: every step but rehearse

Writes OUT_DIR/session.log (every command's output), OUT_DIR/results.json, OUT_DIR/runs.tar.gz
(run.json, summary.json and generations of each run). Needs vllm, the staged model in
$EVALSUITE_SMOLLM2_DIR (its tokenizer also serves the tiny NemotronH), and evalsuite's own
dependencies on PYTHONPATH. The rehearsal reads the real files from $GPU_SESSION_DATA (default
.stage/data: aime25.jsonl and hmmt_feb25.jsonl in MathArena's schema, IFBench_test.294.jsonl);
a task whose file is missing runs on its bundled sample set, and says so in results.json.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

MODEL = ["model=smollm2-135m-vllm", "data=sample", "task=aime25"]
RUNS = Path("/tmp/evalsuite-gpu-runs")


# a dress rehearsal on a CPU: GPU_SESSION_OVERRIDES="backend.vllm_module=vllm_stand_in" PYTHONPATH=tests
EXTRA = os.environ.get("GPU_SESSION_OVERRIDES", "").split()


def evalsuite(*overrides: str) -> list[str]:
    return [sys.executable, "-m", "evalsuite", *MODEL, *overrides, *EXTRA]


class Session:
    def __init__(self, out: Path):
        self.out = out
        self.log = open(out / "session.log", "a", buffering=1)
        self.results: dict = {"date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}

    def save(self) -> None:
        (self.out / "results.json").write_text(json.dumps(self.results, indent=2) + "\n")

    def sh(self, cmd: list[str], timeout: float) -> tuple[int, float]:
        self.log.write(f"\n$ {' '.join(cmd)}\n")
        t0 = time.perf_counter()
        try:
            rc = subprocess.run(cmd, stdout=self.log, stderr=subprocess.STDOUT, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            rc = 124
        seconds = time.perf_counter() - t0
        self.log.write(f"# rc={rc} in {seconds:.1f} s\n")
        print(f"  rc={rc} {seconds:.1f}s: {' '.join(cmd[2:])}", flush=True)
        return rc, seconds


def generations(run_dir: Path) -> list[dict]:
    path = run_dir / "aime25" / "generations.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def keys_once(gens: list[dict], expected: int) -> dict:
    keys = [(g["sample_id"], g["k"]) for g in gens]
    return {"lines": len(keys), "unique": len(set(keys)), "expected": expected,
            "ok": len(keys) == len(set(keys)) == expected}


def step_dryrun(s: Session) -> None:
    rc, sec = s.sh(evalsuite("samples=64", "dry_run=true"), 120)
    s.results["dryrun"] = {"rc": rc, "seconds": round(sec, 1)}


def step_run(s: Session) -> None:
    run_dir = RUNS / "run"
    rc, sec = s.sh(evalsuite("backend=vllm", "samples=16", f"run_dir={run_dir}"), 300)
    gens = generations(run_dir)
    summary = json.loads((run_dir / "aime25" / "summary.json").read_text()) if (run_dir / "aime25" / "summary.json").exists() else {}
    s.results["run"] = {"rc": rc, "seconds": round(sec, 1), **keys_once(gens, 8 * 16),
                        "tokens": sum(g["tokens"] for g in gens), "avg_at_k": summary.get("value"),
                        "finish": {r: sum(g["finish_reason"] == r for g in gens) for r in ("stop", "length", "error")}}


def step_resume(s: Session) -> None:
    run_dir = RUNS / "resume"
    cmd = evalsuite("backend=vllm", "samples=64", "backend.chunk_size=64", f"run_dir={run_dir}")
    s.log.write(f"\n$ {' '.join(cmd)}   # to be killed after its first stored chunk\n")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=s.log, stderr=subprocess.STDOUT, start_new_session=True)
    stored = 0
    while time.perf_counter() - t0 < 240 and proc.poll() is None:
        stored = len(generations(run_dir))
        if stored >= 64:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its vLLM engine core, mid-run
    proc.wait()
    at_kill = generations(run_dir)
    s.log.write(f"# killed after {time.perf_counter() - t0:.1f} s with {len(at_kill)} generations stored\n")
    before = {(g["sample_id"], g["k"]): g["text"] for g in at_kill}
    rc, sec = s.sh(cmd, 300)
    gens = generations(run_dir)
    after = {(g["sample_id"], g["k"]): g["text"] for g in gens}
    s.results["resume"] = {"stored_at_kill": len(at_kill), "rc": rc, "seconds": round(sec, 1), **keys_once(gens, 8 * 64),
                           "kept_unchanged": all(after.get(k) == v for k, v in before.items())}


def step_dp(s: Session) -> None:
    run_dir = RUNS / "dp"
    rc, sec = s.sh(evalsuite("backend=vllm", "samples=64", "backend.data_parallel=2", f"run_dir={run_dir}"), 400)
    gens = generations(run_dir)
    single = {(g["sample_id"], g["k"]): g["text"] for g in generations(RUNS / "resume")}
    same = sum(single.get((g["sample_id"], g["k"])) == g["text"] for g in gens)
    s.results["dp"] = {"rc": rc, "seconds": round(sec, 1), **keys_once(gens, 8 * 64),
                       "same_text_as_single_engine": f"{same}/{len(gens)}"}


def step_ratio(s: Session) -> None:
    rc, sec = s.sh([sys.executable, "-c", "import json,sys; from bench.vllm_ratio import run; "
                    "r = run(); print('RATIO_JSON', json.dumps(r))"], 420)
    text = (s.out / "session.log").read_text()
    found = [line for line in text.splitlines() if line.startswith("RATIO_JSON ")]
    s.results["ratio"] = json.loads(found[-1][len("RATIO_JSON "):]) if found and rc == 0 else {"rc": rc}
    s.results["ratio"]["seconds"] = round(sec, 1)


def step_tir(s: Session) -> None:
    run_dir = RUNS / "tir"
    task_dir = run_dir / "aime25-tir"
    cmd = evalsuite("backend=vllm", "mode=tir", "samples=4", "limit=5", "sampling.max_tokens=1024",
                    "mode.tool_timeout_s=10", f"run_dir={run_dir}")
    s.log.write(f"\n$ {' '.join(cmd)}   # to be killed once turns are stored\n")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=s.log, stderr=subprocess.STDOUT, start_new_session=True)
    turns = task_dir / "turns.jsonl"
    while time.perf_counter() - t0 < 300 and proc.poll() is None:
        if turns.exists() and len(turns.read_text().splitlines()) >= 5:
            break
        time.sleep(0.05)
    killed_running = proc.poll() is None
    os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its engine, mid-conversation
    proc.wait()
    at_kill = len(turns.read_text().splitlines()) if turns.exists() else 0
    rc, sec = s.sh(cmd, 420)
    path = task_dir / "generations.jsonl"
    gens = [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []
    summary = json.loads((task_dir / "summary.json").read_text()) if (task_dir / "summary.json").exists() else {}
    report = (run_dir / "report.md").read_text() if (run_dir / "report.md").exists() else ""
    row = next((ln for ln in report.splitlines() if "| aime25 |" in ln), "")
    s.results["tir"] = {"killed_while_running": killed_running, "turns_at_kill": at_kill, "rc": rc,
                        "seconds": round(sec, 1), **keys_once(gens, 5 * 4),
                        "resumed": "resumed from stored turns" in log_since(s, 0)[-20000:],
                        "mode": summary.get("mode"), "value": summary.get("value"),
                        "tir": summary.get("tir"), "report_row": row}
    s.save()
    out = s.out / "tir_vllm_bench.json"
    rc, sec = s.sh([sys.executable, "bench/tir_vllm_bench.py", str(out)], 420)
    s.results["tir_bench"] = json.loads(out.read_text()) if out.exists() else {"rc": rc}
    s.results["tir_bench"]["seconds"] = round(sec, 1)


# ---------------------------------------------------------------- rehearse: the card's architecture

EXIT_LIMIT_S = 30  # a finished run must be gone this long after its report (the NIAH hang: forever)
TASK_LIMIT_S = 540  # one task's whole run, inside a device call's 10 minutes
# task -> (local file under $GPU_SESSION_DATA, overrides); everything else runs on the card's protocol
REHEARSAL = {
    "aime25": ("aime25.jsonl", ["samples=2"]),
    "hmmt_feb25": ("hmmt_feb25.jsonl", ["samples=2"]),
    "livecodebench": (None, ["data=sample", "samples=2"]),  # through the sandbox on this node
    "ifbench": ("IFBench_test.294.jsonl", ["samples=2"]),  # the card's 294-row file
    "niah": (None, ["task.instances=1"]),  # 8 prompts at 1,048,576 tokens
}
# random weights rarely stop: cap the reasoning tasks' budget (NIAH keeps its protocol's 128)
CAPPED = ["sampling.max_tokens=1024"]


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and everything below it, from /proc."""
    from evalsuite.cli import descendants

    total = 0
    for p in [pid, *descendants(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except (OSError, ValueError):
            pass
    return total


def watch(s: Session, cmd: list[str], report: Path, limit_s: float) -> dict:
    """Runs cmd in its own process group; the exit must follow the report within EXIT_LIMIT_S.
    Samples the process tree's memory meanwhile."""
    s.log.write(f"\n$ {' '.join(cmd)}\n")
    before = report.stat().st_mtime if report.exists() else None
    t0 = time.time()
    proc = subprocess.Popen(cmd, stdout=s.log, stderr=subprocess.STDOUT, start_new_session=True)
    peak, reported, verdict = 0, None, None
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        if reported is None and report.exists() and report.stat().st_mtime != before:
            reported = report.stat().st_mtime
        now = time.time()
        if reported is not None and now - reported > EXIT_LIMIT_S:
            verdict = f"still running {now - reported:.0f} s after its report: killed"
        elif now - t0 > limit_s:
            verdict = f"no exit within {limit_s:.0f} s: killed"
        if verdict:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            break
        time.sleep(0.25)
    ended = time.time()
    if reported is None and report.exists() and report.stat().st_mtime != before:
        reported = report.stat().st_mtime
    after = None if reported is None else round(ended - reported, 1)
    ok = verdict is None and proc.returncode == 0 and after is not None and after <= EXIT_LIMIT_S
    s.log.write(f"# rc={proc.returncode} in {ended - t0:.1f} s; exit {after} s after the report; {verdict or ''}\n")
    print(f"  rc={proc.returncode} {ended - t0:.1f}s exit+{after}s {verdict or ''}: {' '.join(cmd[3:6])}", flush=True)
    return {"rc": proc.returncode, "seconds": round(ended - t0, 1), "exit_after_report_s": after,
            "exits": ok, "failure": verdict, "peak_host_rss_gb": round(peak / 2**30, 2)}


def log_since(s: Session, mark: int) -> str:
    s.log.flush()
    with open(s.out / "session.log", encoding="utf-8", errors="replace") as f:
        f.seek(mark)
        return f.read()


def rehearsal_task(task: str, data: Path) -> tuple[str, list[str]]:
    """(where its data comes from, its overrides) for one task of the rehearsal."""
    name, overrides = REHEARSAL[task]
    local = data / name if name else None
    source = ([f"data.path={local}"] if local and local.is_file() else ["data=sample"]) if name else []
    used = source or [o for o in overrides if o.startswith("data=")] or ["generated"]
    return used[0], [*source, *overrides, *([] if task == "niah" else CAPPED)]


def card_model(model: Path) -> list[str]:
    return ["model=nemotron-cascade-2", f"model.path={model}", "model.revision=null", "backend=vllm",
            "+backend.engine_args.load_format=dummy"]


def task_outputs(run_dir: Path, task: str) -> dict:
    gens = [json.loads(line) for line in (run_dir / task / "generations.jsonl").read_text().splitlines()
            if line.strip()] if (run_dir / task / "generations.jsonl").exists() else []
    summary = run_dir / task / "summary.json"
    return {"generations": len(gens), "tokens": sum(g.get("tokens", 0) for g in gens),
            "scored": json.loads(summary.read_text()).get("n_scores") if summary.exists() else None, "gens": gens}


def step_rehearse(s: Session, only: list[str] | None = None) -> None:
    """Before issue 28's suite runner: one CLI process (so one engine start) per task."""
    from bench.tiny_nemotronh import build

    model = build(RUNS / "tiny-nemotronh")
    data = Path(os.environ.get("GPU_SESSION_DATA", ".stage/data")).resolve()
    run_dir = RUNS / "rehearse"
    results = s.results.setdefault("rehearse", {})
    for task in only or list(REHEARSAL):
        used, overrides = rehearsal_task(task, data)
        cmd = [sys.executable, "-m", "evalsuite", f"task={task}", *card_model(model), *overrides,
               f"run_dir={run_dir}", *EXTRA]
        mark = (s.out / "session.log").stat().st_size
        row = watch(s, cmd, run_dir / "report.md", TASK_LIMIT_S)
        text = log_since(s, mark)
        starts = re.findall(r"\[vllm\] engine ready in ([0-9.]+) s", text)
        row.update(data=used, engine_start_s=float(starts[0]) if starts else None)
        out = task_outputs(run_dir, task)
        gens = out.pop("gens")
        row.update(out)
        if task == "niah":  # prefill-bound: 8 prompts of 1M tokens, 128 new tokens each
            chunks = [float(x) for x in re.findall(r"\[vllm\] chunk \d+/\d+: .* in ([0-9.]+) s", text)]
            prompt = sum(g.get("prompt_tokens", 0) for g in gens)
            row.update(prompt_tokens=prompt, generate_s=round(sum(chunks), 1),
                       prefill_tok_s=round(prompt / sum(chunks)) if chunks and sum(chunks) else None)
        results[task] = row
        s.save()
    results["all_exit"] = all(r.get("exits") for t, r in results.items() if t in REHEARSAL)


SUITE_LIMIT_S = 580  # the whole suite in one process, inside a device call's 10 minutes


def step_suite(s: Session, only: list[str] | None = None) -> None:
    """After issue 28: the same tasks as `rehearse` as ONE suite (suite=card, its task list cut to
    them) in one CLI process: one engine per engine configuration (the card's window, NIAH's 1M).
    Records the engine starts and the wall time beside the per-task `rehearse` rows (the before),
    which the same OUT_DIR's results.json holds when that step ran first."""
    from bench.tiny_nemotronh import build

    model = build(RUNS / "tiny-nemotronh")
    data = Path(os.environ.get("GPU_SESSION_DATA", ".stage/data")).resolve()
    run_dir = RUNS / "suite"
    if run_dir.exists():  # a fresh run: a resumed one would skip the generations
        import shutil

        shutil.rmtree(run_dir)
    tasks = only or list(REHEARSAL)
    per_task = []
    for task in tasks:
        _, overrides = rehearsal_task(task, data)
        per_task.append(f"++suite.per_task.{task}=[{','.join(repr(o) for o in overrides)}]")
    cmd = [sys.executable, "-m", "evalsuite", "suite=card", f"suite.tasks=[{','.join(tasks)}]", *card_model(model),
           *per_task, f"run_dir={run_dir}", *EXTRA]
    mark = (s.out / "session.log").stat().st_size
    row = watch(s, cmd, run_dir / "report.md", SUITE_LIMIT_S)
    text = log_since(s, mark)
    starts = [float(x) for x in re.findall(r"\[vllm\] engine ready in ([0-9.]+) s", text)]
    line = re.search(r"suite card: (\d+) engine start\(s\) for (\d+) engine configuration\(s\)", text)
    row.update(tasks=tasks, engine_starts=len(starts), engine_start_s=round(sum(starts), 1),
               configurations=int(line.group(2)) if line else None,
               per_task={t: {k: v for k, v in task_outputs(run_dir, t).items() if k != "gens"} for t in tasks})
    before = [s.results.get("rehearse", {}).get(t) for t in tasks]
    if all(before):
        row["before"] = {"processes": len(before), "engine_starts": sum(b.get("engine_start_s") is not None for b in before),
                         "engine_start_s": round(sum(b.get("engine_start_s") or 0 for b in before), 1),
                         "wall_s": round(sum(b["seconds"] for b in before), 1)}
        row["saved_s"] = round(row["before"]["wall_s"] - row["seconds"], 1)
        row["saved_start_s"] = round(row["before"]["engine_start_s"] - row["engine_start_s"], 1)
    s.results["suite"] = row
    s.save()


STEPS = {"dryrun": step_dryrun, "run": step_run, "resume": step_resume, "dp": step_dp, "ratio": step_ratio,
         "tir": step_tir, "rehearse": step_rehearse, "suite": step_suite}
DEFAULT_STEPS = ["dryrun", "run", "resume", "dp", "ratio"]


def main(argv: list[str]) -> None:
    out = Path(argv[0]).resolve()
    repo = Path(__file__).resolve().parent.parent
    os.chdir(repo)  # finish.sh runs us from the stage folder; `python -m evalsuite` needs the repo
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(repo), os.environ.get("PYTHONPATH")) if p)
    sys.path.insert(0, str(repo))  # bench.* and evalsuite.* for the steps run in this process
    out.mkdir(parents=True, exist_ok=True)
    s = Session(out)
    if (out / "results.json").exists():
        s.results.update(json.loads((out / "results.json").read_text()))
    for arg in argv[1:] or DEFAULT_STEPS:
        name, _, tasks = arg.partition("=")  # rehearse=aime25,niah: some of the rehearsal's tasks
        print(f"== {arg}", flush=True)
        try:
            STEPS[name](s, tasks.split(",")) if tasks else STEPS[name](s)
        except Exception as e:  # one step's failure must not cost the others
            s.results[name] = {**(s.results.get(name) or {}), "failed": f"{type(e).__name__}: {e}"}
        s.save()
    with tarfile.open(out / "runs.tar.gz", "w:gz") as tar:
        for path in sorted([*RUNS.glob("*/aime25/*"), *RUNS.glob("*/aime25-tir/*"), *RUNS.glob("rehearse/*/*"),
                            *RUNS.glob("rehearse/report.md"), *RUNS.glob("tir/report.md"), *RUNS.glob("suite/*/*"),
                            *RUNS.glob("suite/report.md")]):
            if path.name in ("run.json", "summary.json", "generations.jsonl", "turns.jsonl", "report.md") and path.is_file():
                tar.add(path, arcname=str(path.relative_to(RUNS)))
    print(json.dumps(s.results, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
