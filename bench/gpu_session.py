"""The vllm backend's checks on a GPU node, one step after another, each logged, timed and kept:

  dryrun   evalsuite ... dry_run=true (tokenizer only)
  run      a real run through the CLI: task=aime25 backend=vllm on the staged SmolLM2
  resume   the same kind of run killed (SIGKILL, whole process group) after its first stored chunk,
           then the same command again: every (sample_id, k) present exactly once
  dp       backend.data_parallel=2 on one GPU (two engines at half memory each), merged by key
  ratio    bench.vllm_ratio: evalsuite's generate stage against a bare LLM.generate

    python bench/gpu_session.py OUT_DIR [step ...]     # default: every step

Writes OUT_DIR/session.log (every command's output), OUT_DIR/results.json, OUT_DIR/runs.tar.gz
(run.json, summary.json and generations of each run). Needs vllm, the staged model in
$EVALSUITE_SMOLLM2_DIR, and evalsuite's own dependencies on PYTHONPATH.
"""
from __future__ import annotations

import json
import os
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


STEPS = {"dryrun": step_dryrun, "run": step_run, "resume": step_resume, "dp": step_dp, "ratio": step_ratio}


def main(argv: list[str]) -> None:
    out = Path(argv[0]).resolve()
    repo = Path(__file__).resolve().parent.parent
    os.chdir(repo)  # finish.sh runs us from the stage folder; `python -m evalsuite` needs the repo
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(repo), os.environ.get("PYTHONPATH")) if p)
    out.mkdir(parents=True, exist_ok=True)
    s = Session(out)
    if (out / "results.json").exists():
        s.results.update(json.loads((out / "results.json").read_text()))
    for name in argv[1:] or list(STEPS):
        print(f"== {name}", flush=True)
        try:
            STEPS[name](s)
        except Exception as e:  # one step's failure must not cost the others
            s.results[name] = {"failed": f"{type(e).__name__}: {e}"}
        s.save()
    with tarfile.open(out / "runs.tar.gz", "w:gz") as tar:
        for path in sorted(RUNS.glob("*/aime25/*")):
            if path.name in ("run.json", "summary.json", "generations.jsonl", "report.md"):
                tar.add(path, arcname=str(path.relative_to(RUNS)))
    print(json.dumps(s.results, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
