"""The judge stage: another model grades the answers of the judged rows (HLE, ArenaHard v2, IMO
AnswerBench's autograder, IMO ProofBench), on any backend (hf, vllm, openai), between generate and
score (`stage=judge`; `stage=all` runs it).

A judged task declares `judge=JudgeHooks(requests, score, required, calls_per_answer)` in its
TaskSpec (evalsuite/task.py): what to ask about one answer ([]: nothing), the grade from the
replies (pure), whether it has no number without a judge, the asks per answer at most (the dry
run). A task whose number is not a mean of per-answer values adds `headline=` (ArenaHard).
What a task writes (its asks, the prompt files, the parse rules) is in evalsuite/judge_rules.py,
the kit's side of judging.

Files under the task directory:
  judgements.jsonl  one record per judge request, append-only, fsynced as each batch returns:
                    sample_id, k, slot, judge (the judge's fingerprint), ask (digest of that
                    fingerprint and the exact messages: the answer, the prompt, the references),
                    graded (the generation's digest), reply, reasoning, tokens, prompt_tokens.
                    An ask already stored is never sent again, by any run that shares the file.
  judge_ledger.jsonl one line per judge stage: requests sent, reused, tokens in/out, cost.

`stage=score` reads the stored replies and runs the task's parse rule in the killable workers;
it never calls the judge. A reply the rule cannot read is a scoring error (`judge_unparseable`),
counted in the summary, never a guessed verdict.
"""
from __future__ import annotations

import dataclasses
import hashlib
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable

from omegaconf import DictConfig, OmegaConf

from evalsuite import store
from evalsuite.errors import UserError
from evalsuite.judge_rules import JudgeAsk, is_judged
from evalsuite.planning import max_new_tokens, reasoning_expected, request_seed, sample_for_k, wanted_keys
from evalsuite.rundir import GENERATIONS, JUDGEMENTS, LEDGER, TaskRun, shard_dirs
from evalsuite.summary import JudgeFacts, JudgeIdentity, JudgeLedger, VariantJudge
from evalsuite.task import TaskSpec
from evalsuite.types import ENGINE_FIELDS, Generation, Grade, Request, Sample, Score, score_from_record, to_dict


@dataclass
class Judge:
    """A judge as configured (evalsuite/configs/judge/*.yaml), with its fingerprint: what makes its verdicts
    its own (the model and revision, the sampling), not where it is served from."""

    name: str
    cfg: DictConfig
    role: str = "judge"  # judge | judge_variant

    @property
    def fingerprint(self) -> str:
        return judge_fingerprint(self.cfg)

    def identity(self, task_cfg: DictConfig) -> JudgeIdentity:
        """The judge as the summary names it; the prompt and parse rule are the judge config's,
        else the task's (`judge_prompt`, `judge_parse`)."""
        return JudgeIdentity(
            name=self.name, fingerprint=self.fingerprint, backend=str(self.cfg.backend.name),
            model=model_identity(self.cfg), prompt=self.cfg.get("prompt") or task_cfg.get("judge_prompt"),
            parse=self.cfg.get("parse") or task_cfg.get("judge_parse"),
            sampling=OmegaConf.to_container(self.cfg.sampling, resolve=True),
            price=OmegaConf.to_container(self.cfg.get("price") or {}, resolve=True))


# ---------------------------------------------------------------- which judges, and their identity

def configured_judges(cfg: DictConfig) -> list[Judge]:
    """The run's judge and its variant (`+judge@judge_variant=NAME`), if any."""
    out = []
    for role in ("judge", "judge_variant"):
        node = cfg.get(role)
        if node is None:
            continue
        if not OmegaConf.is_dict(node) or not node.get("name") or not node.get("backend"):
            raise UserError(f"{role}= is not a judge config (evalsuite/configs/judge/*.yaml with name, model, backend, sampling); "
                            f"pick one with {role if role == 'judge' else '+judge@judge_variant'}=NAME")
        out.append(Judge(str(node.name), node, role))
    if len(out) == 2 and out[0].name == out[1].name:
        raise UserError(f"judge and judge_variant are both named {out[0].name!r}; name the variant apart "
                        f"(judge_variant.name=...): the report tells them apart by name")
    if len(out) == 2 and out[0].fingerprint == out[1].fingerprint:
        raise UserError(f"judge and judge_variant are the same judge ({out[0].name}); a variant needs another "
                        f"model or other sampling")
    return out


def judge_problems(cfg: DictConfig, task: TaskSpec) -> list[str]:
    """What the preflight can tell about the run's judges before any generation: a hosted judge
    whose API key is not set fails only after hours of generation otherwise."""
    import os

    if not is_judged(task, cfg):
        return []
    problems = []
    for judge in configured_judges(cfg):
        backend = judge.cfg.backend
        env = backend.get("api_key_env")
        flag = "judge" if judge.role == "judge" else "+judge@judge_variant"
        if str(backend.name) == "openai" and env and not backend.get("api_key") and not os.environ.get(str(env)):
            problems.append(f"{judge.role} {judge.name} needs ${env} (its API key) set; export it, or pick another "
                            f"with {flag}=NAME (evalsuite/configs/judge/), or ~{judge.role} to grade without it")
        if str(backend.name) == "openai" and not backend.get("base_url"):
            problems.append(f"{judge.role} {judge.name} needs a server: serve {backend.get('model_id')} (e.g. vllm serve) "
                            f"and set {judge.role}.backend.base_url=http://HOST:PORT/v1, or pick another with {flag}=NAME")
        if str(backend.name) == "comet":
            from evalsuite.backends.comet import package_version

            if package_version() is None:
                problems.append(f"{judge.role} {judge.name} (a metric model) needs unbabel-comet: pip install "
                                f"'evalsuite[comet]' on the GPU node, or ~{judge.role} to grade by chrF on CPU")
    return problems


def model_identity(judge_cfg: DictConfig) -> str:
    """The judge model as a name that stays the same wherever it is served."""
    backend = judge_cfg.backend
    if str(backend.name) == "openai" and backend.get("model_id"):
        return str(backend.model_id)
    path = judge_cfg.model.get("path") if judge_cfg.get("model") else None
    if not path:
        raise UserError(f"judge {judge_cfg.name}: name its model (judge.model.path, or judge.backend.model_id "
                        f"for a server)")
    revision = judge_cfg.model.get("revision")
    return f"{path}@{revision}" if revision else str(path)


def judge_fingerprint(judge_cfg: DictConfig) -> str:
    sampling = OmegaConf.to_container(judge_cfg.sampling, resolve=True)
    text = repr((model_identity(judge_cfg), sorted(sampling.items()), bool(judge_cfg.get("thinking", False))))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def ask_digest(fingerprint: str, messages: list[dict[str, str]]) -> str:
    """Which request this is: the same answer, prompt and references to the same judge is the same ask."""
    h = hashlib.sha256(fingerprint.encode())
    for m in messages:
        h.update(b"\0" + str(m.get("role")).encode() + b"\0" + str(m.get("content")).encode("utf-8", "surrogatepass"))
    return h.hexdigest()[:24]


# ---------------------------------------------------------------- the stored judgements

def read_judgements(run: TaskRun) -> dict[str, dict]:
    """Every stored judgement of the task (the task root and every shard's directory), by ask
    digest; a later line wins. Only this process's own file is repaired."""
    out: dict[str, dict] = {}
    for d in (run.root, *shard_dirs(run.root)):
        for r in store.read_records(d / JUDGEMENTS, repair=(d == run.dir)):
            if "ask" not in r or "judge" not in r:
                raise UserError(f"{d / JUDGEMENTS}: a record without ask/judge; it was not written by evalsuite: "
                                f"delete that line and rerun stage=judge")
            out[str(r["ask"])] = r
    return out


# ---------------------------------------------------------------- asking: the judge stage

def _answers(run: TaskRun) -> list[tuple[tuple[str, int], Generation, Sample, str]]:
    """(key, generation, the item as k saw it, answer) of every stored generation that has an answer."""
    from evalsuite.render import split_generation

    cfg = run.cfg
    gens = store.read_generations(run.path(GENERATIONS))
    by_id, wanted = {s.id: s for s in run.samples}, wanted_keys(cfg, run.samples)
    expect, think_end = reasoning_expected(cfg), cfg.model.get("think_end", "</think>")
    out = []
    for key, g in sorted(gens.items()):
        if key not in wanted or g.finish_reason == "error":
            continue
        _, answer = split_generation(g.text, g.reasoning, expect, think_end)
        if answer is not None:  # an unfinished thinking has no answer to judge
            out.append((key, g, sample_for_k(run.spec, by_id[key[0]], key[1], cfg), answer))
    return out


def build_asks(cfg: DictConfig, task: TaskSpec, items: list[tuple[Sample, str]]) -> list[list[JudgeAsk] | str]:
    """The task's judge requests for every (item, answer), in the killable workers (IMO AnswerBench runs its
    math checker here first, and sympy can hang): a list of asks, or the worker's error text."""
    from evalsuite.workers import map_with_deadline

    outcomes = map_with_deadline(lambda item: task.judge.requests(item[0], item[1], cfg), items,
                                 float(cfg.task.get("score_timeout_s", 10)), desc=None,
                                 memory_mb=int(cfg.task.get("score_memory_mb", 2048)))
    return [o.value if o.ok else str(o.error) for o in outcomes]


def judge_stage(run: TaskRun) -> int:
    """Ask every configured judge what is not stored yet; returns the number of requests sent."""
    judges = configured_judges(run.cfg)
    answers = _answers(run)
    if not answers:
        if not store.read_records(run.path(GENERATIONS)):
            raise UserError(f"{run.path(GENERATIONS)}: no generations to judge; run stage=generate first")
        return 0
    asks = build_asks(run.cfg, run.spec, [(view, answer) for _, _, view, answer in answers])
    failed = sum(isinstance(a, str) for a in asks)
    if failed:
        print(f"[{run.name}] {failed} answers could not be turned into judge requests (their checker "
              f"failed); they are graded as scoring errors", file=sys.stderr)
    sent = 0
    for judge in judges:
        sent += ask_judge(run, judge, answers, asks)
    return sent


def ask_judge(run: TaskRun, judge: Judge, answers: list, asks: list) -> int:
    from evalsuite.store import generation_digest

    cfg = run.cfg
    fp = judge.fingerprint
    stored = read_judgements(run)
    todo: dict[str, tuple[tuple[str, int], Generation, JudgeAsk]] = {}
    reused = 0
    for (key, g, _, _), item_asks in zip(answers, asks):
        if isinstance(item_asks, str):
            continue
        for a in item_asks:
            digest = ask_digest(fp, a.messages)
            if digest in stored:
                reused += 1
            elif digest not in todo:  # two samples with the same answer are one request
                todo[digest] = (key, g, a)
    where = f"[{run.name}] {judge.role} {judge.name}"
    if not todo:
        print(f"{where}: all {reused} judgements already stored", file=sys.stderr)
        return 0
    print(f"{where}: {len(todo)} requests to send ({reused} already stored), backend {judge.cfg.backend.name}",
          file=sys.stderr)
    try:
        backend = load_judge_backend(judge)
    except UserError as e:  # one line naming the judge's own settings to fix
        raise UserError(f"judge {judge.name}: " + str(e).replace("backend.", f"{judge.role}.backend.")) from None
    render = prompt_renderer(judge, backend)
    requests, by_request = [], {}
    for digest, (key, g, a) in todo.items():
        rid = f"{key[0]}#{key[1]}/{a.slot}"
        requests.append(Request(rid, 0, render(a.messages), request_seed(int(cfg.seed), digest, 0), a.messages))
        by_request[(rid, 0)] = (digest, key, g, a)
    path = run.path(JUDGEMENTS)
    totals = {"requests": 0, "tokens_in": 0, "tokens_out": 0}
    reasoning_judge = bool(judge.cfg.model.get("reasoning", False)) if judge.cfg.get("model") else False
    think_end = judge.cfg.model.get("think_end", "</think>") if judge.cfg.get("model") else "</think>"

    def keep(gens) -> None:
        from evalsuite.render import split_generation

        records = []
        for out in gens:
            digest, key, g, a = by_request[(out.sample_id, out.k)]
            thinking, reply = split_generation(out.text, out.reasoning, reasoning_judge, think_end)
            records.append({"sample_id": key[0], "k": key[1], "slot": a.slot, "judge": judge.fingerprint,
                            "judge_name": judge.name, "ask": digest, "graded": generation_digest(g),
                            "reply": reply if reply is not None else "", "reply_unfinished": reply is None,
                            "reasoning": thinking or None, "finish_reason": out.finish_reason,
                            "backend_version": getattr(backend, "version", None),
                            "prompt_tokens": int(out.prompt_tokens), "tokens": int(out.tokens),
                            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")})
            totals["requests"] += 1
            totals["tokens_in"] += int(out.prompt_tokens)
            totals["tokens_out"] += int(out.tokens)
        store.append_records(path, records)

    sampling = OmegaConf.merge({"temperature": 0.0, "top_p": 1.0}, judge.cfg.sampling)
    try:
        backend.generate(requests, sampling, keep)
    except UserError as e:  # a judge that is down: its own line, naming the judge's settings to fix
        raise UserError(f"judge {judge.name}: " + str(e).replace("backend.", f"{judge.role}.backend.")) from None
    finally:
        store.append_records(run.path(LEDGER), [{
            "judge": judge.fingerprint, "judge_name": judge.name, "role": judge.role, "reused": reused,
            **totals, "cost": cost(judge.cfg, totals["tokens_in"], totals["tokens_out"]),
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}])
    return len(requests)


def load_judge_backend(judge: Judge):
    """One of our backends, built from the judge's own model and backend settings (the backend's
    defaults from evalsuite/configs/backend/, then the judge's)."""
    from evalsuite.backends import BACKENDS, close_all, load_backend
    from evalsuite.config import CONFIG_DIR

    name = str(judge.cfg.backend.name)
    if name not in BACKENDS:
        raise UserError(f"judge {judge.name}: unknown backend {name!r}; choose one of {', '.join(sorted(BACKENDS))}")
    if name == "vllm":
        close_all()  # the policy's engine leaves the GPU before the judge's starts
    defaults_file = CONFIG_DIR / "backend" / f"{name}.yaml"  # a scoring model (comet) has no policy defaults
    defaults = OmegaConf.load(defaults_file) if defaults_file.is_file() else OmegaConf.create({})
    model = judge.cfg.get("model") or {}
    cfg = OmegaConf.create({"backend": OmegaConf.merge(defaults, judge.cfg.backend),
                            "model": OmegaConf.merge({"name": judge.name, "path": None, "revision": None}, model),
                            "task": {"thinking": bool(judge.cfg.get("thinking", False))}, "seed": 0})
    return load_backend(cfg)


def prompt_renderer(judge: Judge, backend: Any) -> Callable[[list[dict[str, str]]], str]:
    """Messages -> the prompt text for backends that take text (hf, vllm, openai completions),
    through the judge model's own chat template; chat servers template the messages themselves."""
    from evalsuite.render import render_prompt

    if getattr(backend, "tokenizer", None) is None:
        if str(judge.cfg.backend.get("api", "chat")) != "chat":
            raise UserError(f"judge {judge.name}: backend.api=completions needs the judge's tokenizer "
                            f"(judge.model.path); use {judge.role}.backend.api=chat")
        return lambda messages: ""
    thinking = bool(judge.cfg.get("thinking", False))
    return lambda messages: render_prompt(backend.tokenizer, messages, thinking, judge.cfg.model)


def cost(judge_cfg: DictConfig, tokens_in: int, tokens_out: int) -> float | None:
    """Dollars for these tokens at the judge's configured price per million tokens (None: no price set)."""
    price = judge_cfg.get("price") or {}
    p_in, p_out = price.get("input_per_mtok"), price.get("output_per_mtok")
    if p_in is None or p_out is None:
        return None
    return (tokens_in * float(p_in) + tokens_out * float(p_out)) / 1e6


# ---------------------------------------------------------------- grading: the score stage's side

_REPLIES: dict[str, dict] = {}  # the stored judgements, set before the scoring workers fork


def grader(run: TaskRun) -> Callable[[tuple[Sample, str]], Grade]:
    """The scoring function of a judged task, for the killable workers: the asks rebuilt from the
    answer, the stored replies found by digest, the task's parse rule applied. Never calls a judge."""
    cfg, task = run.cfg, run.spec
    judges = configured_judges(cfg)
    _REPLIES.clear()
    _REPLIES.update(read_judgements(run))

    def replies_of(judge: Judge, asks: list[JudgeAsk]) -> dict[str, str] | None:
        out = {}
        for a in asks:
            rec = _REPLIES.get(ask_digest(judge.fingerprint, a.messages))
            if rec is None:
                return None
            out[a.slot] = rec.get("reply") or ""
        return out

    def grade(item: tuple[Sample, str]) -> Grade:
        sample, answer = item
        asks = task.judge.requests(sample, answer, cfg)
        primary = judges[0]
        replies = replies_of(primary, asks)
        if replies is None:
            return Grade(0.0, None, {"judge_missing": True, "judge": primary.fingerprint},
                         scoring_error=f"not judged by {primary.name} yet: run stage=judge")
        g = task.judge.score(sample, answer, replies, cfg)
        detail = dict(g.detail)
        detail["judge"] = primary.fingerprint
        detail["judged"] = bool(asks)
        if len(judges) > 1:
            other = judges[1]
            other_replies = replies_of(other, asks)
            if other_replies is not None:  # the variant judge's verdict: the summary's judge.variant
                v = task.judge.score(sample, answer, other_replies, cfg)
                detail["judge_variant"] = {"name": other.name, "value": float(v.value),
                                           "unparseable": bool(v.detail.get("judge_unparseable")),
                                           "detail": {k: x for k, x in v.detail.items() if k != "variants"},
                                           **{name: getattr(v, name) for name in ENGINE_FIELDS
                                              if getattr(v, name) is not None}}
        return dataclasses.replace(g, detail=detail)

    return grade


def still_current(cfg: DictConfig, task: TaskSpec, scored: dict[tuple[str, int], Score]) -> dict[tuple[str, int], Score]:
    """Scores of a judged task stay current only if the run's judge made them and they were not
    waiting for a judgement: another judge=, or a stage=judge since, re-grades them."""
    if not is_judged(task, cfg):
        return scored
    fp = configured_judges(cfg)[0].fingerprint
    return {key: s for key, s in scored.items() if s.detail.get("judge") == fp and not s.detail.get("judge_missing")}


# ---------------------------------------------------------------- the summary's judge fields

def summary_facts(run: TaskRun, scores: list) -> JudgeFacts | None:
    """A judged task's summary field `judge`: which judge (and variant) made the numbers, their
    agreement, unparseable replies and the ledger; the variant judge's number by the headline's
    own rule. None for an unjudged run."""
    from evalsuite.metrics import item_mean

    cfg, task, samples = run.cfg, run.spec, run.samples
    if not is_judged(task, cfg):
        return None
    judges = configured_judges(cfg)
    stored = read_judgements(run)
    judged = [s for s in scores if s.detail.get("judged")]
    unparseable = sum(bool(s.detail.get("judge_unparseable")) for s in scores)
    variant = None
    if len(judges) > 1:
        other = judges[1]
        both = [s for s in judged if "judge_variant" in s.detail]
        agree = [(s.sample_id, float(round(s.value, 6) == round(s.detail["judge_variant"]["value"], 6))) for s in both]
        variant = VariantJudge(**vars(other.identity(cfg.task)), value=variant_headline(cfg, task, samples, both),
                               agreement=item_mean(agree) if agree else None,
                               unparseable=sum(bool(s.detail["judge_variant"].get("unparseable")) for s in both))
    return JudgeFacts(
        **vars(judges[0].identity(cfg.task)), answers=len(judged), unparseable=unparseable,
        unparseable_rate=100.0 * unparseable / len(judged) if judged else 0.0,
        missing=sum(bool(s.detail.get("judge_missing")) for s in scores),
        ledger={j.name: ledger(j, stored) for j in judges},
        backend_versions=sorted({str(r["backend_version"]) for r in stored.values()
                                 if r.get("judge") == judges[0].fingerprint and r.get("backend_version")}),
        variant=variant)


def variant_headline(cfg: DictConfig, task: TaskSpec, samples: list[Sample], scores: list) -> float:
    """The variant judge's number, by the same rule as the headline (the task's own, else item_mean)."""
    from evalsuite.metrics import item_mean

    if not scores:
        return float("nan")
    def variant_score(s: Score) -> Score:  # the variant judge's grade in the score's place (read as any score is)
        variant = s.detail["judge_variant"]
        return score_from_record({**to_dict(s), "value": variant["value"], "detail": variant.get("detail") or {},
                                  **{name: variant.get(name) for name in ENGINE_FIELDS}})

    as_variant = [variant_score(s) for s in scores]
    if task.headline is not None:
        own = task.headline({s.id: s for s in samples}, as_variant, cfg)
        if own is not None:
            return float(own.value)
    return item_mean((s.sample_id, s.value) for s in as_variant)


def ledger(judge: Judge, stored: dict[str, dict]) -> JudgeLedger:
    """Requests, tokens and cost of every stored judgement by this judge (all runs that shared the file)."""
    mine = [r for r in stored.values() if r.get("judge") == judge.fingerprint]
    tokens_in = sum(int(r.get("prompt_tokens") or 0) for r in mine)
    tokens_out = sum(int(r.get("tokens") or 0) for r in mine)
    return JudgeLedger(requests=len(mine), tokens_in=tokens_in, tokens_out=tokens_out,
                       cost=cost(judge.cfg, tokens_in, tokens_out),
                       usage_missing=sum(not r.get("prompt_tokens") for r in mine))


# ---------------------------------------------------------------- the dry run

def size_judging(run: TaskRun, tokenizer: Any) -> dict[str, Any]:
    """The judge's work at most: every answer judged (`calls_per_answer` asks each), each ask's prompt
    the task's judge template and references plus a policy answer as long as its budget, counted
    with the policy's tokenizer (the judge's may differ), and the judge's whole max_tokens out."""
    cfg, task, samples = run.cfg, run.spec, run.samples
    if not is_judged(task, cfg):
        return {}
    calls = task.judge.calls_per_answer
    answers = len(samples) * int(cfg.samples)
    sizes = []
    for s in samples:
        asks = task.judge.requests(s, "", cfg) or [JudgeAsk("x", [{"role": "user", "content": ""}])]
        text = "\n".join(m["content"] for m in asks[0].messages)
        sizes.append(len(tokenizer(text, add_special_tokens=False).input_ids) + max_new_tokens(cfg))
    out = {}
    for judge in configured_judges(cfg):
        requests = answers * calls
        tokens_in = int(cfg.samples) * calls * sum(sizes)
        tokens_out = requests * int(judge.cfg.sampling.max_tokens)
        out[judge.name] = {"role": judge.role, "requests": requests, "tokens_in_max": tokens_in,
                           "tokens_out_max": tokens_out, "cost_max": cost(judge.cfg, tokens_in, tokens_out)}
    return out


def describe_judging(task_name: str, sizes: dict[str, Any]) -> list[str]:
    lines = []
    for name, s in sizes.items():
        price = f" | cost at most ${s['cost_max']:,.2f}" if s["cost_max"] is not None else " | no price set (judge.price)"
        lines.append(f"[{task_name}] dry run, {s['role']} {name}: {s['requests']:,} requests at most | tokens in "
                     f"<= {s['tokens_in_max']:,} | tokens out <= {s['tokens_out_max']:,}{price}")
    return lines
