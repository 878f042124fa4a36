"""ArenaHard v2: 500 hard prompts and 250 creative-writing prompts, each answer judged pairwise
against the baseline answer that ships with the data, in both orders (the baseline as assistant A,
then as B), by a judge (default gpt-4.1 at temperature 0, arena-hard-auto's).

Data: arena-hard-auto's `data/arena-hard-v2.0/` layout: `question.jsonl` (uid, category
hard_prompt|creative_writing, subcategory, prompt) and `model_answer/<model>.jsonl` (uid, model,
messages: the user turn, then {"role": "assistant", "content": {"answer": ...}}). The baselines:
o3-mini-2025-01-31 for hard prompts, gemini-2.0-flash-001 for creative writing.

Scoring as arena-hard-auto's show_result: a verdict label per game ([[A>>B]] ... [[B>>A]], the last
label in the reply), a strong verdict counting 3 times (weight 3), the baseline's order mirrored;
a category's score is the mean over all its games' weighted verdicts (pooled), a game the judge's
reply does not settle leaves the answer out (a scoring error here, counted). The card's three
numbers: hard prompt, creative writing, and their average (the card's 83.5 is the mean of 88.2 and
78.7), each with a bootstrap interval over prompts. Style control (arena-hard-auto's optional
length/markdown regression) is OPEN and not implemented (docs/judges.md).
"""
from __future__ import annotations

import random
import re
from pathlib import Path

from evalsuite.data import SAMPLES_DIR, column_problem, read_table
from evalsuite.errors import UserError
from evalsuite.judge_rules import JudgeAsk, fill, load_prompt, parse_rule, unparseable
from evalsuite.metrics import item_mean
from evalsuite.task import JudgeHooks, TaskSpec
from evalsuite.types import Breakdown, CardRowCell, Grade, Headline, Sample

BASELINES = {"hard_prompt": "o3-mini-2025-01-31", "creative_writing": "gemini-2.0-flash-001"}
CARD_ROWS = {"hard_prompt": "ArenaHard v2 Hard Prompt", "creative_writing": "ArenaHard v2 Creative Writing"}
STRONG_WEIGHT = 3
LABELS = ("A>>B", "A>B", "A=B", "B>A", "B>>A")
# the model's score of a label when the model is assistant B (game 1); game 2 mirrors it
SCORE_AS_B = {"A>>B": 0.0, "A>B": 0.0, "A=B": 0.5, "B>A": 1.0, "B>>A": 1.0}


# ---------------------------------------------------------------- data

def baseline_answers(question_file: Path) -> dict[str, str]:
    """uid -> the baseline's answer, from model_answer/ beside the questions file."""
    out: dict[str, str] = {}
    for model in BASELINES.values():
        path = question_file.parent / "model_answer" / f"{model}.jsonl"
        if not path.is_file():
            raise UserError(f"{path} not found: ArenaHard v2 judges against the baseline answers that ship with the "
                            f"data (model_answer/{model}.jsonl beside question.jsonl)")
        for n, row in enumerate(read_table(path), 1):
            content = (row.get("messages") or [{}])[-1].get("content")
            answer = content.get("answer") if isinstance(content, dict) else content
            if not isinstance(answer, str) or "uid" not in row:
                raise UserError(f"{path} row {n}: needs uid and messages[-1].content.answer")
            out[str(row["uid"])] = answer
    return out


def hub_files(dataset) -> Path:
    """The questions file of the hub copy (its baselines beside it), downloaded at the pinned revision."""
    from huggingface_hub import hf_hub_download

    try:
        question = hf_hub_download(dataset.hub_id, f"{dataset.data_dir}/question.jsonl", repo_type="dataset",
                                   revision=dataset.get("revision"))
        for model in BASELINES.values():
            hf_hub_download(dataset.hub_id, f"{dataset.data_dir}/model_answer/{model}.jsonl", repo_type="dataset",
                            revision=dataset.get("revision"))
    except Exception as e:  # offline, moved files: one line with the local way
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
        raise UserError(f"cannot fetch {dataset.hub_id}/{dataset.data_dir} from the hub ({first}); pass "
                        f"data.path=.../arena-hard-v2.0/question.jsonl (model_answer/ beside it) or data=sample") from None
    return Path(question)


def question_file(cfg) -> Path:
    if cfg.data.get("path"):
        return Path(str(cfg.data.path)).expanduser()
    if cfg.data.get("source") == "sample":
        return SAMPLES_DIR / str(cfg.task.dataset.sample)
    return hub_files(cfg.task.dataset)


def load(cfg) -> list[Sample]:
    path = question_file(cfg)
    rows = read_table(path)
    baselines = baseline_answers(path)
    samples = []
    for n, row in enumerate(rows, 1):
        uid, category, prompt = row.get("uid"), row.get("category"), row.get("prompt")
        why = column_problem(row, ("prompt",), ("uid",))
        if why or category not in BASELINES:
            raise UserError(f"{path} row {n}: {why or f'category is {category!r}'}; each row needs uid, prompt (text) "
                            f"and category ({' or '.join(BASELINES)})")
        if str(uid) not in baselines:
            raise UserError(f"{path} row {n}: no baseline answer for uid {uid} in model_answer/{BASELINES[category]}.jsonl")
        samples.append(Sample(id=str(uid), messages=[{"role": "user", "content": prompt}],
                              reference={"baseline": baselines[str(uid)], "baseline_model": BASELINES[category]},
                              meta={"category": category, "subcategory": row.get("subcategory")}))
    return samples


# ---------------------------------------------------------------- the judge

def judge_requests(sample: Sample, answer: str, cfg) -> list[JudgeAsk]:
    """Game 1: the baseline is A, the model B; game 2: the other way round. The system prompt is the
    category's (creative writing: no "answer it yourself first")."""
    category = sample.meta["category"]
    system = load_prompt(f"{cfg.task.judge_prompt}_system_{category}")
    user = load_prompt(f"{cfg.task.judge_prompt}_user")
    question = sample.messages[-1]["content"]
    baseline = sample.reference["baseline"]
    games = (("game1", baseline, answer), ("game2", answer, baseline))
    return [JudgeAsk(slot, [{"role": "system", "content": system},
                            {"role": "user", "content": fill(user, QUESTION=question, ANSWER_A=a, ANSWER_B=b)}])
            for slot, a, b in games]



_LABEL_PATTERNS = (re.compile(r"\[\[([AB<>=]+)\]\]"), re.compile(r"\[([AB<>=]+)\]"))


def read_label(reply: str) -> str | None:
    """The verdict label: the last [[...]] label of the reply (else the last [...]), one of the five."""
    upper = reply.upper()
    for pattern in _LABEL_PATTERNS:
        found = [m for m in pattern.findall(upper) if m in LABELS]
        if found:
            return found[-1]
    return None


PARSE_RULES = {"arena_label": read_label}


def game_entries(label: str, model_is_b: bool) -> list[float]:
    """The weighted verdicts of one game for the model: a strong label counts STRONG_WEIGHT times."""
    value = SCORE_AS_B[label] if model_is_b else 1.0 - SCORE_AS_B[label]
    return [value] * (STRONG_WEIGHT if ">>" in label else 1)


def score_judged(sample: Sample, answer: str, replies: dict[str, str], cfg) -> Grade:
    name, rule = parse_rule(cfg, PARSE_RULES)
    labels = {slot: rule(replies[slot]) for slot in ("game1", "game2")}
    for slot, label in labels.items():
        if label is None:
            return unparseable(replies[slot], name, f"no verdict label in {slot}")
    entries = game_entries(labels["game1"], True) + game_entries(labels["game2"], False)
    return Grade(sum(entries) / len(entries), f"{labels['game1']} | {labels['game2']}",
                 {"labels": labels, "entries_sum": sum(entries), "entries_n": len(entries),
                  "category": sample.meta["category"]})


# ---------------------------------------------------------------- the card's three numbers

def pooled(scores) -> float:
    n = sum(s.detail.get("entries_n", 0) for s in scores)
    return sum(s.detail.get("entries_sum", 0.0) for s in scores) / n if n else float("nan")


def headline(samples: dict[str, Sample], scores, cfg, resamples: int = 1000) -> Headline | None:
    """Hard prompt, creative writing (pooled weighted verdicts, 0-100) and their mean (the card's
    Avg.), each with a 95% bootstrap interval that resamples prompts within each category."""
    by_cat: dict[str, dict[str, list]] = {c: {} for c in BASELINES}
    for s in scores:
        if s.detail.get("entries_n"):
            by_cat[s.detail["category"]].setdefault(s.sample_id, []).append(s)
    present = [c for c in BASELINES if by_cat[c]]
    if not present:
        return None
    rng = random.Random(int(cfg.seed))
    point = {c: 100 * pooled([s for v in by_cat[c].values() for s in v]) for c in present}
    draws: dict[str, list[float]] = {c: [] for c in present}
    for _ in range(resamples):
        for c in present:
            ids = list(by_cat[c])
            picked = [s for i in rng.choices(ids, k=len(ids)) for s in by_cat[c][i]]
            draws[c].append(100 * pooled(picked))
    mean_draws = sorted(sum(draws[c][r] for c in present) / len(present) for r in range(resamples))

    def ci(values: list[float]) -> list[float]:
        values = sorted(values)
        return [values[int(0.025 * resamples)], values[min(resamples - 1, int(0.975 * resamples))]]

    value = sum(point.values()) / len(point)
    # Avg. over the categories that have judged answers (both, in a whole run)
    return Headline(value=value, ci95=ci(mean_draws),
                    variants={"per-answer mean": item_mean((s.sample_id, s.value) for s in scores)},
                    cells=[Breakdown({"category": c}, point[c], len(by_cat[c])) for c in present],
                    card_rows={CARD_ROWS[c]: CardRowCell(point[c], ci(draws[c]), len(by_cat[c])) for c in present})


TASK = TaskSpec(load=load, headline=headline,
                judge=JudgeHooks(requests=judge_requests, score=score_judged, required=True, calls_per_answer=2))
