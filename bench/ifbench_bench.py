"""IFBench scoring throughput: 294 prompts x 8 responses of realistic length (150-1,200 words of
markdown prose: headings, bullets, quotes, numbers, the odd emoji), every instruction checked strict
and loose (8 variants), in one process and through the run's killable worker pool.

The prompts are the real 294-row file when ../shared/data/ifbench (or $EVALSUITE_SHARED) has it,
else 294 synthetic items cycling through all 58 instruction ids. Floor: < 20 s in one process.
Where the official sample outputs are there too, the agreement of our verdicts with the official
checkers' published ones is measured as well (instruction and prompt level, strict and loose).
`python -m bench.ifbench_bench [--quick]` prints the numbers as JSON.
"""
from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path

from omegaconf import OmegaConf

FLOOR_S = 20.0
ITEMS, SAMPLES = 294, 8

# Plausible kwargs for every id, for the synthetic prompt set (the data file's kwargs are used when present).
SYNTHETIC_KWARGS = {
    "count:conjunctions": {"small_n": 4}, "count:numbers": {"N": 5}, "count:person_names": {"N": 10},
    "count:keywords_multiple": {"keyword1": "river", "keyword2": "lamp", "keyword3": "blue", "keyword4": "door",
                                "keyword5": "bread"},
    "count:pronouns": {"N": 20}, "count:unique_word_count": {"N": 100}, "count:words_japanese": {"N": 7},
    "count:word_count_range": {"min_words": 200, "max_words": 260}, "format:list": {"sep": "!?!?"},
    "format:options": {"options": "yes/no/maybe"}, "ratio:stop_words": {"percentage": 30},
    "ratio:overlap": {"percentage": 40, "reference_text": "The quick review of the data shows that the river model "
                                                          "holds when the flow is steady and the banks are stable."},
    "repeat:repeat_change": {"prompt_to_repeat": "Write a python program to sort a list of numbers."},
    "repeat:repeat_span": {"prompt_to_repeat": "Describe the history of the printing press in Europe.",
                           "n_start": 2, "n_end": 6},
    "sentence:increment": {"small_n": 3}, "sentence:keyword": {"N": 7, "word": "giraffe"},
    "words:keywords_specific_position": {"keyword": "beneath", "n": 5, "m": 8}, "words:repeats": {"small_n": 4},
    "words:words_position": {"keyword": "despite"},
}

VOCAB = ("the a of and to in that is for it as with on by this be are from at or an which but not they we you "
         "model river data system energy history people light water city market design theory signal network "
         "process result change value structure culture language memory pattern balance method question answer "
         "quickly carefully often never always together between through across within despite beneath around "
         "build explain consider measure compare describe improve create reflect observe maintain develop").split()
EMOJI = ["🙂", "🚀", "🌊", "✨", "📚"]


def synthetic_response(rng: random.Random) -> str:
    """A final answer as thinking models write them: a title, sections, paragraphs and lists."""
    target = rng.randint(150, 1200)
    parts, n_words = [f"# {' '.join(rng.choice(VOCAB).title() for _ in range(4))}"], 0
    while n_words < target:
        kind = rng.random()
        if kind < 0.15:
            parts.append(f"## {' '.join(rng.choice(VOCAB).title() for _ in range(3))}")
        elif kind < 0.45:
            items = []
            for _ in range(rng.randint(2, 6)):
                item = " ".join(rng.choice(VOCAB) for _ in range(rng.randint(4, 14)))
                items.append(f"{rng.choice(['*', '-', '1.'])} **{item.split()[0].title()}**: {item}.")
                n_words += len(item.split())
            parts.append("\n".join(items))
        else:
            sentences = []
            for _ in range(rng.randint(2, 7)):
                words = [rng.choice(VOCAB) for _ in range(rng.randint(6, 28))]
                if rng.random() < 0.2:
                    words.insert(rng.randrange(len(words)), f"\"{rng.choice(VOCAB)} {rng.choice(VOCAB)}\"")
                if rng.random() < 0.2:
                    words.insert(rng.randrange(len(words)), f"({rng.randint(2, 2024)})")
                end = rng.choice([".", ".", ".", "?", "!"]) + (f" {rng.choice(EMOJI)}" if rng.random() < 0.1 else "")
                sentences.append(" ".join(words).capitalize() + end)
                n_words += len(words)
            parts.append(" ".join(sentences))
    return "\n\n".join(parts)


def _shared() -> Path:
    return Path(os.environ.get("EVALSUITE_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def agreement() -> dict:
    from tasks import ifbench

    base = _shared() / "data" / "ifbench"
    if not (base / "official-sample" / "sample_output.jsonl").exists():
        return {"skipped": f"{base / 'official-sample'} not present"}
    out = {}
    start = time.perf_counter()
    for level in ("strict", "loose"):
        r = ifbench.official_agreement(base / "IFBench_test.294.jsonl", base / "official-sample", level)
        out[level] = {"instruction_pct": round(100 * r.instructions_agreeing / r.instructions, 2),
                      "prompt_pct": round(100 * r.prompts_agreeing / r.prompts, 2),
                      "instructions": r.instructions, "prompts": r.prompts, "disagreements": len(r.disagreements)}
    out["seconds"] = round(time.perf_counter() - start, 2)
    return out


def _samples(quick: bool):
    from tasks import ifbench
    from tasks.ifbench_checkers import CHECKERS

    real = _shared() / "data" / "ifbench" / "IFBench_test.294.jsonl"
    if real.exists():
        from evalsuite.config import CONFIG_DIR

        task = OmegaConf.load(CONFIG_DIR / "task" / "ifbench.yaml")
        cfg = OmegaConf.merge(task, {"data": {"source": "hub", "path": str(real), "version": 294}})
        samples, source = ifbench.load(cfg), str(real)
    else:
        ids = sorted(CHECKERS)
        samples, source = [], "synthetic (all 58 ids)"
        for n in range(ITEMS):
            chosen = [ids[n % len(ids)]] + ([ids[(n * 7 + 3) % len(ids)]] if n % 3 == 0 else [])
            chosen = list(dict.fromkeys(chosen))
            samples.append(ifbench.Sample(str(n), [{"role": "user", "content": "x"}],
                                          {"instruction_id_list": chosen,
                                           "kwargs": [SYNTHETIC_KWARGS.get(i, {}) for i in chosen]}))
    return (samples[:30] if quick else samples), source


def _score_item(item):
    from tasks import ifbench

    return ifbench.score(item[0], item[1], None)


def run(quick: bool = False) -> dict:
    from evalsuite.workers import map_with_deadline
    from tasks import ifbench

    samples, source = _samples(quick)
    rng = random.Random(0)
    items = [(s, synthetic_response(rng)) for s in samples for _ in range(SAMPLES)]
    chars = sum(len(text) for _, text in items)

    start = time.perf_counter()
    grades = [ifbench.score(s, text, None) for s, text in items]
    in_process_s = time.perf_counter() - start

    start = time.perf_counter()
    outcomes = []
    map_with_deadline(_score_item, items, 10.0, desc="ifbench bench", on_result=lambda i, o: outcomes.append(o))
    workers_s = time.perf_counter() - start

    checks = sum(len(g.detail["strict"]) for g in grades)
    result = {
        "source": source, "responses": len(items), "instructions_checked": checks,
        "mean_response_chars": round(chars / len(items)), "checker_calls_max": checks * 9,
        "in_process_s": round(in_process_s, 2),
        "responses_per_s": round(len(items) / in_process_s, 1),
        "worker_pool_s": round(workers_s, 2),
        "worker_failures": sum(not o.ok for o in outcomes),
        "prompt_loose_pct": round(100 * sum(g.value for g in grades) / len(grades), 1),
        "floor_s": FLOOR_S,
        "official_agreement": agreement(),
    }
    result["ok"] = in_process_s < FLOOR_S and result["worker_failures"] == 0
    return result


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
