"""The store (append, repair, corruption), the metrics, and the killable worker pool."""
from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import pytest

from evalsuite import metrics, store
from evalsuite.errors import UserError
from evalsuite.types import Score
from evalsuite.workers import map_with_deadline
from tests.fixtures_run import figures_by_name


def test_append_and_read(tmp_path):
    p = tmp_path / "g.jsonl"
    store.append_records(p, [{"sample_id": "a", "k": 0, "v": 1}, {"sample_id": "a", "k": 1, "v": 2}])
    store.append_records(p, [{"sample_id": "a", "k": 0, "v": 3}])
    latest = store.latest_by_key(store.read_records(p))
    assert latest[("a", 0)]["v"] == 3 and latest[("a", 1)]["v"] == 2


def test_half_written_last_line_is_repaired(tmp_path, capsys):
    p = tmp_path / "g.jsonl"
    store.append_records(p, [{"sample_id": "a", "k": 0}])
    with p.open("a") as f:
        f.write('{"sample_id": "a", "k": 1, "te')  # a kill -9 mid-write
    recs = store.read_records(p)
    assert [r["k"] for r in recs] == [0]
    assert "half-written" in capsys.readouterr().err
    assert p.read_text().endswith("}\n")  # truncated: the next append starts on a clean line
    store.append_records(p, [{"sample_id": "a", "k": 1}])
    assert [r["k"] for r in store.read_records(p)] == [0, 1]


def test_complete_last_line_without_newline_is_kept(tmp_path):
    p = tmp_path / "g.jsonl"
    p.write_text('{"sample_id": "a", "k": 0}\n{"sample_id": "a", "k": 1}')
    assert len(store.read_records(p)) == 2
    store.append_records(p, [{"sample_id": "a", "k": 2}])
    assert len(store.read_records(p)) == 3


def test_an_append_repairs_a_torn_last_line_first(tmp_path, capsys):
    """The writer appends without reading first (the score stage): the torn bytes are dropped, with
    a warning, and the new record starts on its own line instead of fusing with them."""
    p = tmp_path / "scores.jsonl"
    store.append_records(p, [{"sample_id": "a", "k": 0}])
    with p.open("a") as f:
        f.write('{"sample_id": "a", "k": 1, "va')
    store.append_records(p, [{"sample_id": "a", "k": 1}])
    assert "half-written last line (30 bytes)" in capsys.readouterr().err
    assert [r["k"] for r in store.read_records(p, repair=False)] == [0, 1]
    # a torn line longer than the block read back from the end, and a file that is one torn line
    big = tmp_path / "big.jsonl"
    big.write_text('{"sample_id": "a", "k": 0}\n{"text": "' + "x" * 200_000)
    store.append_records(big, [{"sample_id": "a", "k": 1}])
    assert [r["k"] for r in store.read_records(big)] == [0, 1]
    only = tmp_path / "only.jsonl"
    only.write_text('{"sample_id": "a"')
    store.append_records(only, [{"sample_id": "a", "k": 0}])
    assert only.read_text() == '{"sample_id": "a", "k": 0}\n'
    assert capsys.readouterr().err.count("warning: ") == 2
    # a whole record that only lacks its newline is kept: no warning
    whole = tmp_path / "whole.jsonl"
    whole.write_text('{"sample_id": "a", "k": 0}')
    store.append_records(whole, [{"sample_id": "a", "k": 1}])
    assert [r["k"] for r in store.read_records(whole)] == [0, 1] and "warning" not in capsys.readouterr().err


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\r"])
def test_jsonl_lines_end_at_newline_only(tmp_path, separator):
    """JSON allows these raw inside a string; str.splitlines() would cut the record there."""
    text = f"one{separator}two"
    p = tmp_path / "g.jsonl"
    p.write_bytes((json.dumps({"sample_id": "a", "k": 0, "text": text}, ensure_ascii=False) + "\n").encode())
    store.append_records(p, [{"sample_id": "a", "k": 1, "text": text}])
    assert [r["text"] for r in store.read_records(p)] == [text, text]
    assert [row["text"] for _, row in store.iter_jsonl(p)] == [text, text]
    assert store.jsonl_lines(p.read_text(encoding="utf-8"))[:1] == [json.dumps({"sample_id": "a", "k": 0, "text": text},
                                                                                ensure_ascii=False)]


def test_iter_jsonl_names_the_line(tmp_path):
    p = tmp_path / "rows.jsonl"
    p.write_bytes(b'{"a": 1}\n\n{"a": \n')
    with pytest.raises(UserError, match=r"rows.jsonl:3: not valid JSON \(Expecting value\); fix or remove that line"):
        list(store.iter_jsonl(p))
    p.write_bytes(b'{"a": 1}\n{"a": "caf\xe9"}\n')
    with pytest.raises(UserError, match=r"rows.jsonl:2: not UTF-8"):
        list(store.iter_jsonl(p))


def test_corrupt_middle_line_names_file_and_line(tmp_path):
    p = tmp_path / "g.jsonl"
    p.write_text('{"sample_id": "a", "k": 0}\nGARBAGE\n{"sample_id": "a", "k": 1}\n')
    with pytest.raises(UserError, match=r"g.jsonl:2: corrupt"):
        store.read_records(p)


def _scores(values_by_item):
    return [Score(sid, k, v, str(v), False, False) for sid, vals in values_by_item.items() for k, v in enumerate(vals)]


def test_pass_at_k_unbiased():
    assert metrics.pass_at_k(4, 0, 1) == 0.0
    assert metrics.pass_at_k(4, 4, 1) == 1.0
    assert metrics.pass_at_k(4, 1, 1) == pytest.approx(0.25)
    assert metrics.pass_at_k(4, 1, 2) == pytest.approx(0.5)  # 1 - C(3,2)/C(4,2)
    assert metrics.pass_at_k(4, 2, 4) == 1.0


def test_summarize_numbers():
    s = metrics.summarize(_scores({"a": [1, 1, 0, 0], "b": [0, 0, 0, 0], "c": [1, 1, 1, 1]}))
    assert s["value"] == pytest.approx(50.0)
    assert s["n_items"] == 3 and s["samples"] == 4
    item_means = [0.5, 0.0, 1.0]
    sd = math.sqrt(sum((m - 0.5) ** 2 for m in item_means) / 2)
    assert s["stderr"] == pytest.approx(100 * sd / math.sqrt(3))
    lo, hi = s["ci95"]
    assert 0 <= lo <= 50 <= hi <= 100
    assert s["pass_at_k"]["1"] == pytest.approx(50.0)
    assert s["pass_at_k"]["4"] == pytest.approx(200 / 3)
    assert s["maj_at_k"]["4"] == pytest.approx(200 / 3)  # a: tie 1 vs 0 -> the earliest answer (1)


def test_majority_uses_answer_key():
    scores = [Score("a", 0, 1.0, "016", False, False, answer_key="16"),
              Score("a", 1, 0.0, "5", False, False, answer_key="5"),
              Score("a", 2, 1.0, "16", False, False, answer_key="16")]
    assert metrics.majority_value(scores) == 1.0


def _math_scores(gold: str, answers: list[str]) -> list[Score]:
    """Scores as the math task writes them: its real grade and answer key for each boxed answer."""
    from tasks.matharena import score
    from evalsuite.types import Sample

    sample = Sample("a", [{"role": "user", "content": "q"}], gold)
    out = []
    for k, answer in enumerate(answers):
        grade = score(sample, rf"\boxed{{{answer}}}", None)
        out.append(Score("a", k, grade.value, grade.extracted, False, False, grade.detail))
    return out


def test_majority_votes_by_equivalence():
    """3 right answers of 5 in three forms win maj@5; by string the twice-written wrong one would."""
    from tasks.matharena import same_answer

    scores = _math_scores(r"\frac{1}{2}", ["3", r"\frac{1}{2}", "3", "0.5", "1/2"])
    assert metrics.summarize(scores)["maj_at_k"]["5"] == 0.0  # by string: "3" has 2 votes, each right form 1
    votes, unresolved = metrics.vote_classes(scores, same_answer, timeout_s=10)
    assert unresolved == 0
    assert [votes[("a", k)] for k in range(5)] == ["3", r"\frac{1}{2}", "3", r"\frac{1}{2}", r"\frac{1}{2}"]
    assert metrics.summarize(scores, votes=votes)["maj_at_k"]["5"] == 100.0


def test_equivalent_wrong_answers_are_one_class_keyed_by_the_first():
    """Wrong answers are compared too: three forms of 1/4 outvote a right answer written twice."""
    from tasks.matharena import same_answer

    scores = _math_scores(r"\frac{1}{2}", [r"\frac{1}{2}", "0.25", r"\frac{1}{2}", r"\frac{1}{4}", "1/4", "7"])
    votes, unresolved = metrics.vote_classes(scores, same_answer, timeout_s=10)
    assert unresolved == 0
    assert [votes[("a", k)] for k in range(6)] == [r"\frac{1}{2}", "0.25", r"\frac{1}{2}", "0.25", "0.25", "7"]
    assert metrics.summarize(scores)["maj_at_k"]["4"] == 100.0  # by string: 1/2 twice, 1/4's forms once each
    summary = metrics.summarize(scores, votes=votes)
    assert summary["maj_at_k"]["4"] == 100.0  # k=0..3: 2 right vs 2 of 1/4, the earliest (right) wins the tie
    assert summary["maj_at_k"]["6"] == 0.0  # 3 of 1/4 beat 2 right


def _equal_unless_hung(a: str, b: str) -> bool:
    """A stand-in for a symbolic comparison that hangs inside C code (sympy can; no input is known
    that always does), so the time limit is tested deterministically."""
    if b == "hang":
        time.sleep(60)
    return a == b


def test_vote_comparison_that_hangs_is_bounded():
    scores = [Score("a", k, 0.0, answer, False, False) for k, answer in enumerate(["1", "hang", "2", "1"])]
    t0 = time.perf_counter()
    votes, unresolved = metrics.vote_classes(scores, _equal_unless_hung, timeout_s=1.0)
    assert time.perf_counter() - t0 < 30  # a guard against a hang, not a speed target
    assert unresolved == 1 and votes[("a", 1)] == "hang"  # its own class, nothing merged into it
    assert votes[("a", 3)] == "1" and votes[("a", 2)] == "2"


def _equal_unless_huge(a: str, b: str) -> bool:
    """A stand-in for a symbolic comparison that grows without bound: a real hostile answer grows
    at a rate that depends on the machine (2^{2^{33}}: 100-200 MB in a few seconds here), this one
    asks for 1 GiB at once, so the cap is tested deterministically."""
    if "huge" in (a, b):
        return len(bytearray(1 << 30)) == 0
    return float(a) == float(b)


def test_vote_workers_have_a_memory_cap():
    """A comparison over the cap is that pair's "not the same", counted; the others go on."""
    scores = [Score("a", k, 0.0, answer, False, False) for k, answer in enumerate(["1", "huge", "1.0", "2"])]
    votes, unresolved = metrics.vote_classes(scores, _equal_unless_huge, timeout_s=30, memory_mb=256)
    assert [votes[("a", k)] for k in range(4)] == ["1", "huge", "1", "2"]
    assert unresolved == 2  # (1, huge) and (huge, 2): without the cap both would allocate and compare


# maj@k's vote on real hostile answers, in a process of its own so that its workers' peak memory is theirs
# alone; math-verify is imported first, as a worker of a run inherits it. Each comparison first notes its
# worker's address-space limit: the kernel never lets the worker's memory pass it.
_HOSTILE_VOTE = r"""
import json, os, resource, sys
import math_verify
from evalsuite import metrics
from evalsuite.types import Score
from tasks.matharena import same_answer

def noting_limit(a, b):
    with open(sys.argv[2], "a") as f:
        f.write(f"{resource.getrlimit(resource.RLIMIT_AS)[0]}\n")
    return same_answer(a, b)

answers = ["0.5", "2^{2^{33}}", "1/2", "(a+b+c+d+e)^{60}", r"\frac{1}{2}", "3", "10^{10^{10^{10}}}"]
scores = [Score("a", k, 0.0, answer, False, False) for k, answer in enumerate(answers)]
votes, unresolved = metrics.vote_classes(scores, noting_limit, timeout_s=5.0, memory_mb=int(sys.argv[1]))
address_space = int(open("/proc/self/statm").read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
print(json.dumps({"votes": [votes[("a", k)] for k in range(len(answers))], "unresolved": unresolved,
                  "parent_address_space": address_space,
                  "worker_peak": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024}))
"""


def test_vote_on_hostile_answers_finishes_within_the_memory_cap(tmp_path):
    """A power tower (hangs), a 2^{2^{33}} and a huge polynomial (grow) among three forms of 1/2."""
    import resource
    import subprocess
    import sys

    cap_mb, limits = 64, tmp_path / "limits"
    run = subprocess.run([sys.executable, "-c", _HOSTILE_VOTE, str(cap_mb), str(limits)], capture_output=True,
                         text=True, timeout=240, cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    # the stage finished; the three forms of 1/2 are one class; each hostile answer stays a class of its own
    assert out["votes"] == ["0.5", "2^{2^{33}}", "0.5", "(a+b+c+d+e)^{60}", "0.5", "3", "10^{10^{10^{10}}}"]
    assert out["unresolved"] >= 1  # at least the power tower's comparisons ran out of time
    # every worker ran under a cap of its forked size plus cap_mb (the parent's size grows by its
    # threads' reserved stacks and arenas, so a later worker's base is larger), and none passed it
    caps = [int(line) for line in limits.read_text().split()]
    assert caps and all(c != resource.RLIM_INFINITY for c in caps)
    assert max(caps) <= out["parent_address_space"] + ((cap_mb + 16) << 20), (caps, out)  # 16: pipes, buffers
    assert out["worker_peak"] <= max(caps), (caps, out)


def test_one_averaging_rule_on_unequal_samples():
    """Headline and every breakdown average the same way: per-item means, then their mean."""
    from omegaconf import OmegaConf
    from evalsuite.types import Sample
    from tasks import gpqa

    # item a: 4 samples, 1 right; item b: 1 sample, right. Flat mean 2/5 = 40; per item (0.25 + 1) / 2 = 62.5
    scores = [Score("a", k, float(k == 0), "A", False, False) for k in range(4)] + [Score("b", 0, 1.0, "B", False, False)]
    assert metrics.item_mean((s.sample_id, s.value) for s in scores) == pytest.approx(62.5)
    assert metrics.summarize(scores)["value"] == pytest.approx(62.5)
    samples = {sid: Sample(sid, [], {"letter": "A", "order": [0, 1, 2, 3]}, {"domain": "Physics"}) for sid in "ab"}
    cfg = OmegaConf.create({"task": {}})
    assert figures_by_name(gpqa.TASK, samples, scores, cfg) == {"domain=Physics": pytest.approx(62.5)}


def test_rates():
    scores = [Score("a", 0, 0.0, None, True, True), Score("a", 1, 1.0, "1", False, False)]
    s = metrics.summarize(scores)
    assert s["no_answer_rate"] == 50.0 and s["unfinished_rate"] == 50.0 and s["truncated_rate"] == 50.0


def _slow_or_fast(x):
    if x == "hang":
        time.sleep(60)
    if x == "die":
        os._exit(3)
    if x == "raise":
        raise ValueError("boom")
    return x * 2


def test_workers_kill_hangs_and_survive_crashes():
    t0 = time.perf_counter()
    out = map_with_deadline(_slow_or_fast, [1, "hang", 2, "die", "raise", 3], timeout_s=1.0, workers=2)
    assert time.perf_counter() - t0 < 30  # a guard against a hang, not a speed target
    assert [o.value for o in out if o.ok] == [2, 4, 6]
    assert "timeout" in out[1].error and "died" in out[3].error and "ValueError: boom" in out[4].error


def test_sympy_hang_is_bounded():
    """A symbolic check that takes far too long is killed and counted wrong, not waited for."""
    from evalsuite.scoring.math import math_equal

    pathological = "x^{" * 40 + "2" + "}" * 40
    out = map_with_deadline(lambda p: math_equal(r"\frac{1}{2}", p), [pathological, "1/2"], timeout_s=2.0, workers=2)
    assert out[1].ok and out[1].value is True
    assert (not out[0].ok) or out[0].value is False


def _allocate(mib):
    block = bytearray(mib << 20)
    return len(block) >> 20


def test_scoring_workers_have_a_memory_cap():
    # one answer drove a scoring worker to 4.3 GB in its 10 s; now it may add only memory_mb
    out = map_with_deadline(_allocate, [4096, 16], timeout_s=30, workers=2, memory_mb=256)
    assert not out[0].ok and "MemoryError" in out[0].error and "score_memory_mb" in out[0].error
    assert out[1].ok and out[1].value == 16  # the cap is on growth: a small answer is unaffected
    # without a cap asked, the default one (workers.DEFAULT_MEMORY_MB) holds: 512 MiB fits, 4 GiB does not
    out = map_with_deadline(_allocate, [512, 4096], timeout_s=30, workers=1)
    assert out[0].ok and not out[1].ok and "MemoryError" in out[1].error


def test_scoring_errors_are_their_own_rate():
    scores = [Score("a", 0, 1.0, "1", False, False), Score("a", 1, 0.0, None, False, False),
              Score("b", 0, 0.0, None, False, False, scoring_error="timeout after 10s"),
              Score("b", 1, 0.0, None, False, False, scoring_error="MemoryError: the scorer needed more")]
    out = metrics.summarize(scores)
    assert out["no_answer_rate"] == 25.0 and out["scoring_error_rate"] == 50.0


def test_workers_die_with_a_run_killed_by_sigkill(tmp_path):
    # forked from threads, each worker's siblings hold its pipe's other end: without a death signal
    # from the kernel they would wait on it forever after the run is killed
    import signal
    import subprocess
    import sys
    import time

    pids = tmp_path / "pids"
    script = f"""
import os, time
from evalsuite.workers import map_with_deadline
def slow(i):
    with open({str(pids)!r}, "a") as f:
        f.write(f"{{os.getpid()}}\\n")
    time.sleep(60)
map_with_deadline(slow, [1, 2], timeout_s=120, workers=2)
"""
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=Path(__file__).resolve().parent.parent)
    deadline = time.time() + 60
    while time.time() < deadline and (not pids.exists() or len(pids.read_text().split()) < 2):
        assert proc.poll() is None
        time.sleep(0.1)
    workers = [int(p) for p in pids.read_text().split()]
    assert len(workers) == 2
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 10
    alive = workers
    while alive and time.time() < deadline:
        alive = [p for p in workers if Path(f"/proc/{p}").exists() and "Z" not in Path(f"/proc/{p}/stat").read_text().split()[2]]
        time.sleep(0.1)
    assert alive == [], f"workers outlived the killed run: {alive}"


def _task_files(task_dir: Path, scores: list[dict]) -> None:
    """A task directory holding these score records beside the generations they graded."""
    from evalsuite.types import Generation, to_dict

    gens = [to_dict(Generation(s["sample_id"], s["k"], f"<think>.</think> answer {i}", 10, "stop"))
            for i, s in enumerate(scores)]
    store.append_records(task_dir / "generations.jsonl", gens)
    store.append_records(task_dir / "scores.jsonl",
                         [{**s, "graded": store.generation_digest(g)} for s, g in zip(scores, gens)])
    store.write_json(task_dir / "run.json", {"task": task_dir.name, "dataset": {"n_items": 2}, "config": {
        "task": {"name": task_dir.name}, "samples": 3, "seed": 0, "model": {"name": "m"}, "backend": {"name": "none"},
        "sampling": {"temperature": 1.0, "top_p": 1.0, "max_tokens": 64}}})


def test_scores_of_the_earlier_format_report_as_they_did(tmp_path):
    """scores.jsonl written before scoring_error, answer_key and needs_judge were Score fields kept
    them in `detail`: the one reader (types.score_from_record) lifts them, so the headline, the
    scoring-error rate, maj@k's votes and the report's "Needs a judge" list are as before."""
    from evalsuite import report, results
    from evalsuite.types import Score, score_from_record, to_dict
    from evalsuite.viewer import verdict

    def record(sid, k, value, extracted, **fields):
        return {"sample_id": sid, "k": k, "value": value, "extracted": extracted, "unfinished": False,
                "truncated": False, "variants": {}, **fields}

    # item a: maj@3 votes "16" (two answers) only by answer_key; item b: a scoring error, no answer, one for a judge
    now = [record("a", 0, 0.0, "5", detail={}, answer_key="5"),
           record("a", 1, 1.0, "016", detail={}, answer_key="16"),
           record("a", 2, 1.0, "16", detail={}, answer_key="16"),
           record("b", 0, 0.0, None, detail={"verdict": "sandbox_error"}, scoring_error="sandbox: down"),
           record("b", 1, 0.0, None, detail={}),
           record("b", 2, 0.0, "f(x)", detail={}, needs_judge="the reference is prose")]
    old = [record("a", 0, 0.0, "5", detail={"answer_key": "5"}),
           record("a", 1, 1.0, "016", detail={"answer_key": "16"}),
           record("a", 2, 1.0, "16", detail={"answer_key": "16"}),
           record("b", 0, 0.0, None, detail={"verdict": "sandbox_error", "scoring_error": "sandbox: down"}),
           record("b", 1, 0.0, None, detail={}),
           record("b", 2, 0.0, "f(x)", detail={"needs_judge": "the reference is prose"})]
    assert [to_dict(score_from_record(r)) for r in old] == [to_dict(score_from_record(r)) for r in now]
    assert score_from_record(old[3]).detail == {"verdict": "sandbox_error"}  # lifted out, not kept twice

    _task_files(tmp_path / "old" / "t", old)
    _task_files(tmp_path / "now" / "t", now)
    figures = {}
    for name in ("old", "now"):
        task = results.load_task(tmp_path / name / "t")  # no summary.json: recomputed from the scores
        s = task.summary
        figures[name] = (s.value, s.scoring_error_rate, s.no_answer_rate, s.maj_at_k, s.pass_at_k)
        assert all(isinstance(x, Score) for x in task.scores.values()) and len(task.scores) == 6
        assert verdict(task.scores[("b", 0)]) == "scoring error"
        assert report.needs_judge_table([task]).rows == [["t", "b#2", "f(x)", "the reference is prose"]]
    assert figures["old"] == figures["now"]
    value, scoring_errors, no_answer, maj, _ = figures["old"]
    assert math.isclose(value, 100 / 3) and math.isclose(scoring_errors, 100 / 6) and math.isclose(no_answer, 100 / 6)
    assert maj["3"] == 50.0  # item a: "016" and "16" are one vote and win (by string alone "5" would: 0)
