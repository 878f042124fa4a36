"""Math scoring throughput: 5,760 responses (30 items x 64 samples x 3 tasks) of realistic length,
through the same path a run takes (split at </think>, last box, equivalence in killable workers),
then maj@k's vote by equivalence over the same scores (metrics.vote_classes, in workers too)."""
from __future__ import annotations

import random
import resource
import time

from evalsuite import metrics
from evalsuite.render import split_reasoning
from evalsuite.types import Sample, Score, score_from_grade
from evalsuite.workers import map_with_deadline
from tasks.matharena import same_answer, score

# (gold, equivalent forms a model writes, wrong forms): AIME-style integers and HMMT-style LaTeX
ANSWERS = [
    ("70", ["70", "070", "\\text{70}", "70."], ["71", "7", "700"]),
    ("588", ["588", "0588", "588.0"], ["585", "58"]),
    ("\\frac{1}{576}", ["\\frac{1}{576}", "\\dfrac{1}{576}", "1/576"], ["\\frac{1}{575}", "576"]),
    ("2^{25} \\cdot 26!", ["2^{25}\\cdot 26!", "26! \\cdot 2^{25}"], ["2^{24} \\cdot 26!"]),
    ("\\frac{9 \\sqrt{23}}{23}", ["\\frac{9\\sqrt{23}}{23}", "\\frac{9}{\\sqrt{23}}"], ["9\\sqrt{23}"]),
    ("1-\\frac{2}{\\pi}", ["1-\\frac{2}{\\pi}", "\\frac{\\pi-2}{\\pi}"], ["1-\\frac{1}{\\pi}"]),
    ("\\frac{-1+\\sqrt{17}}{2}, \\frac{-1-\\sqrt{17}}{2}", ["\\frac{-1-\\sqrt{17}}{2}, \\frac{-1+\\sqrt{17}}{2}"],
     ["\\frac{-1+\\sqrt{17}}{2}"]),
    ("8\\sqrt{10}", ["8\\sqrt{10}", "\\sqrt{640}"], ["8\\sqrt{11}"]),
    ("\\sqrt{\\frac{95}{24}}", ["\\sqrt{\\frac{95}{24}}", "\\frac{\\sqrt{570}}{12}"], ["\\frac{\\sqrt{570}}{24}"]),
    ("14+4\\sqrt{37}", ["4\\sqrt{37}+14"], ["14+4\\sqrt{38}"]),
]
WORDS = ("so we get the sum of the terms and then factor it carefully, checking each case; "
         "consider the substitution x = y + 1 which gives a quadratic in y with discriminant ").split()


def make_responses(n_items: int = 30, samples: int = 64, tasks: int = 3, seed: int = 0):
    rng = random.Random(seed)
    items = []
    for t in range(tasks):
        for i in range(n_items):
            gold, good, bad = ANSWERS[(t * n_items + i) % len(ANSWERS)]
            sample = Sample(id=f"{t}-{i}", messages=[], reference=gold)
            for _ in range(samples):
                thinking = " ".join(rng.choice(WORDS) for _ in range(rng.randint(500, 4000)))
                roll = rng.random()
                if roll < 0.55:
                    final = f"Therefore the answer is $\\boxed{{{rng.choice(good)}}}$."
                elif roll < 0.85:
                    final = f"Thus \\boxed{{{rng.choice(bad)}}}."
                elif roll < 0.95:
                    final = "I could not finish the computation."
                else:
                    final = "\\boxed{" * rng.randint(10, 2000)  # hostile: unclosed boxes
                text = f"{thinking}\n</think>\n\nStep 1: ... {' '.join(rng.choice(WORDS) for _ in range(200))}\n{final}"
                items.append((sample, text))
    return items


def run(quick: bool = False) -> dict:
    items = make_responses(n_items=10 if quick else 30)
    t0 = time.perf_counter()
    answers = [(s, split_reasoning(text, reasoning=True)[1]) for s, text in items]
    outcomes = map_with_deadline(lambda pair: score(pair[0], pair[1], None), answers, timeout_s=10.0)
    elapsed = time.perf_counter() - t0
    scores = [score_from_grade(s.id, k, o.value, False, False) if o.ok
              else Score(s.id, k, 0.0, None, False, False) for k, ((s, _), o) in enumerate(zip(answers, outcomes))]
    t1 = time.perf_counter()
    votes, unresolved = metrics.vote_classes(scores, same_answer, timeout_s=10.0)
    vote_seconds = time.perf_counter() - t1
    per_answer = [o.seconds for o in outcomes]
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "responses": len(items),
        "seconds": round(elapsed, 2),
        "responses_per_s": round(len(items) / elapsed, 1),
        "max_answer_seconds": round(max(per_answer), 3),
        "timeouts": sum(1 for o in outcomes if not o.ok),
        "correct": sum(1 for o in outcomes if o.ok and o.value.value == 1.0),
        "maj_vote_seconds": round(vote_seconds, 2),
        "maj_vote_unresolved": unresolved,
        "maj_vote_classes": len(set((sid, key) for (sid, _), key in votes.items())),
        "peak_rss_mb_parent": round(own, 1),
        "peak_rss_mb_worker": round(children, 1),
        "floor": "all 5,760 scored in < 60 s, none over its 10 s limit; maj@k's vote in < 60 s",
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
