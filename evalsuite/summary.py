"""One task's summary: the typed record in summary.json, its one builder, its reader and writer.

Every module that reads a run's numbers (report, plots, results, viewer, notebooks) reads this
record, by attribute; nothing decodes key prefixes. The pipeline builds it from the task's items
and spec (`build`); `evalsuite.results` rebuilds a partial one from scores alone for a run that
stopped before writing it (the same `build`, without items: `complete` is then False).
"""
from __future__ import annotations

import dataclasses
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from omegaconf import DictConfig, OmegaConf

from evalsuite import metrics, store
from evalsuite.card import card_column
from evalsuite.errors import UserError
from evalsuite.task import ENGINE_SETTINGS, run_mode
from evalsuite.types import Breakdown, CardRowCell, Figures, Generation, Sample, Score

SCHEMA = 3  # summary.json written by this version; older files are rebuilt from their scores


class StaleSummary(UserError):
    """A summary.json of another version or shape: the run's scores still stand, the report
    rebuilds the figures from them."""


# ---------------------------------------------------------------- what a stage or mode adds beside the score

@dataclass
class JudgeIdentity:
    """A judge as configured (evalsuite/judge.py's Judge), with the prompt and parse rule in force."""

    name: str
    fingerprint: str  # what makes its verdicts its own: the model and revision, the sampling
    backend: str
    model: str
    prompt: str | None
    parse: str | None
    sampling: dict[str, Any]
    price: dict[str, Any]


@dataclass
class JudgeLedger:
    """Requests, tokens and cost of every stored judgement by one judge (all runs sharing the file)."""

    requests: int
    tokens_in: int
    tokens_out: int
    cost: float | None  # None: no price set (judge.price)
    usage_missing: int  # replies whose server reported no token counts


@dataclass
class VariantJudge(JudgeIdentity):
    """The second judge (`+judge@judge_variant=NAME`): its number by the headline's own rule, and
    how often it graded an answer as the first judge did."""

    value: float  # 0-100; NaN when it graded none of the answers
    agreement: float | None  # 0-100, per item then over items; None when no answer has both verdicts
    unparseable: int


@dataclass
class JudgeFacts(JudgeIdentity):
    """Who graded a judged task's number: the judge, its replies and ledger, and the variant judge."""

    answers: int  # answers the judge graded
    unparseable: int
    unparseable_rate: float  # 0-100 of `answers`
    missing: int  # answers still waiting for a judgement (stage=judge)
    ledger: dict[str, JudgeLedger]  # by judge name: the judge's and the variant's
    backend_versions: list[str]  # a scoring model's package version (unbabel-comet), as its replies record it
    variant: VariantJudge | None = None


@dataclass
class TirFacts:
    """A TIR run's OPEN settings and what its conversations did, beside the score (docs/tir.md)."""

    settings: dict[str, Any]  # evalsuite.tir.Settings.record(): also in run.json
    conversations: int
    calls_per_conversation: float
    turns_per_conversation: float
    tool_s_total: float
    tool_s_per_call: float
    tool_errors: int
    malformed_calls: int
    tool_timeouts: int
    session_deaths: int
    tool_output_tokens: int
    hit_budget: int
    hit_call_cap: int
    replay_mismatches: int


@dataclass
class HarnessFacts:
    """The official harness that ran an agentic task (evalsuite/agentic.py): what run.json says of
    it, with the tokens and cost of its runs."""

    name: str
    version: str
    install: list[str]
    source: str | None  # where the harness comes from (its repository), when it is not on a registry
    venv: str
    settings: dict[str, Any]
    not_run: dict[str, str]  # part of the benchmark -> why it could not run here
    cost_usd: float | None  # None: the harness reported no cost
    tokens_in: int
    tokens_out: int


@dataclass
class Disagreement:
    item: str
    k: int | None  # None: the harness's verdict is per item
    ours_extracted: Any
    theirs_extracted: Any
    ours: float
    theirs: float
    where: str | None  # the row of the harness's file


@dataclass
class VerdictAgreement:
    """One verdict of the other harness beside ours (evalsuite/foreign/agreement.py)."""

    verdict: str
    per: str  # sample | item | item (majority answer)
    ours_figure: str  # "headline", or the OPEN variant of ours it is compared with
    compared: int
    agree: int
    agreement: float | None  # 0-100; None when nothing was compared
    theirs_mean: float | None
    ours_mean: float | None
    not_scored_by_us: int
    disagreements: list[Disagreement]


@dataclass
class Agreement:
    """Another harness's file read with responses_format=: where it came from, and its verdicts
    beside ours (in the summary, the first disagreements of each; agreement.json has them all)."""

    format: str
    file: str
    rows: int
    imported: int
    unmatched: int  # rows of the file that are not items of this run (limit=)
    empty: int  # empty rows (unfinished in the harness)
    gold_differs: list[dict[str, str]]  # items whose reference differs: item, theirs, ours
    made_by: dict[str, Any] | None  # the harness and its settings, as its file states them
    verdicts: list[VerdictAgreement]


@dataclass
class TaskSummary:
    task: str
    benchmark: str | None  # the card's row (evalsuite/card/baselines.csv)
    card_model: str  # the card's column this run stands beside (its model's own, else Cascade-2's)
    group: str | None
    model: str | None
    backend: str | None
    mode: str  # "standard" or "tir": which of the card's numbers (plain or bracketed) this run stands beside
    metric: str  # "avg@64"
    value: float  # 0-100; NaN with no scores
    stderr: float
    ci95: list[float]  # bootstrap over items
    n_items: int
    samples: int  # the fewest samples any item has
    samples_max: int
    n_scores: int
    no_answer_rate: float
    scoring_error_rate: float
    unfinished_rate: float
    truncated_rate: float
    pass_at_k: dict[str, float]
    maj_at_k: dict[str, float]
    maj_votes: dict[str, Any]  # {"by": "equivalence" | "answer string", "unresolved": n}
    expected_scores: int | None
    missing_scores: int | None
    missing: list[str]  # "sample_id#k", the first 50
    protocol: dict[str, Any]  # samples, max_tokens, temperature, top_p, thinking
    deviations: list[str]  # where the run departs from the card's protocol
    tokens: dict[str, float]  # generated tokens: mean, median, max
    variants: dict[str, float] = field(default_factory=dict)  # OPEN protocol choices, by name, 0-100
    breakdown: list[Breakdown] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)  # the task's own figures beside the score (Figures.metrics)
    card_rows: dict[str, CardRowCell] = field(default_factory=dict)  # further card rows (Headline.card_rows)
    judge: JudgeFacts | None = None  # a judged task
    tir: TirFacts | None = None  # mode=tir
    harness: HarnessFacts | None = None  # an agentic task run by its official harness
    agreement: Agreement | None = None  # responses_format=...: beside the other harness's verdicts
    complete: bool = True  # False: rebuilt from scores alone (no breakdown; maj@k votes by string)
    schema: int = SCHEMA

    def breakdown_groups(self) -> dict[tuple[str, ...], list[Breakdown]]:
        """The cells by their coordinate names: ("domain",) -> cells, ("depth", "length") -> cells."""
        groups: dict[tuple[str, ...], list[Breakdown]] = defaultdict(list)
        for cell in self.breakdown:
            groups[tuple(cell.by)].append(cell)
        return dict(groups)

    def open_variants(self) -> dict[str, float]:
        """Every candidate number of an OPEN choice, by name: the task's variants, and the variant
        judge's number (the judge is an OPEN choice of judged rows) as `judge <name>`."""
        out = dict(self.variants)
        if self.judge is not None and self.judge.variant is not None:
            out[f"judge {self.judge.variant.name}"] = self.judge.variant.value
        return out


FACTS = ("judge", "tir", "harness", "agreement")  # TaskSummary's optional records, None where they do not apply


def to_json(summary: TaskSummary) -> dict[str, Any]:
    return dataclasses.asdict(summary)


def _agreement_from_json(data: dict[str, Any]) -> Agreement:
    verdicts = [VerdictAgreement(**{**v, "disagreements": [Disagreement(**d) for d in v["disagreements"]]})
                for v in data["verdicts"]]
    return Agreement(**{**data, "verdicts": verdicts})


def _judge_from_json(data: dict[str, Any]) -> JudgeFacts:
    variant = data.get("variant")
    return JudgeFacts(**{**data, "ledger": {name: JudgeLedger(**x) for name, x in data["ledger"].items()},
                         "variant": VariantJudge(**variant) if variant is not None else None})


def from_json(data: dict[str, Any], where: str) -> TaskSummary:
    names = {f.name for f in dataclasses.fields(TaskSummary)}
    if data.get("schema") != SCHEMA:
        raise StaleSummary(f"{where}: written by another version of evalsuite (schema {data.get('schema')!r}, "
                        f"this one reads {SCHEMA}); rerun with stage=report to rewrite it from the scores")
    required = {f.name for f in dataclasses.fields(TaskSummary)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    absent = sorted(required - set(data))
    if absent:
        raise StaleSummary(f"{where}: lacks {', '.join(absent[:4])}; rerun with stage=report to rewrite it")
    fields = {k: v for k, v in data.items() if k in names}
    readers = {"judge": _judge_from_json, "tir": lambda d: TirFacts(**d), "harness": lambda d: HarnessFacts(**d),
               "agreement": _agreement_from_json}
    try:
        fields["breakdown"] = [Breakdown(**c) for c in data.get("breakdown") or []]
        fields["card_rows"] = {name: CardRowCell(**c) for name, c in (data.get("card_rows") or {}).items()}
        for name, read in readers.items():
            fields[name] = None if data.get(name) is None else read(data[name])
    except (TypeError, KeyError, AttributeError) as e:
        raise StaleSummary(f"{where}: a part of it is not in this version's shape ({type(e).__name__}: {e}); "
                           f"rerun with stage=report") from None
    return TaskSummary(**fields)


def write(path: Path, summary: TaskSummary) -> None:
    store.write_json(path, to_json(summary))


def read(path: Path) -> TaskSummary:
    return from_json(store.read_json(path, expect=dict), str(path))


# ---------------------------------------------------------------- building

def variant_values(scores: Iterable[Score]) -> dict[str, float]:
    """Each OPEN variant a scorer recorded per answer, averaged by the headline's rule. An answer
    without the variant (no answer at all, a scoring error) counts with its own value."""
    scores = list(scores)
    names = sorted({name for s in scores for name in s.variants})
    return {name: metrics.item_mean((s.sample_id, float(s.variants.get(name, s.value))) for s in scores)
            for name in names}


def breakdown_cells(scores: Iterable[Score], samples: dict[str, Sample],
                    by: Iterable[str | tuple[str, ...]]) -> list[Breakdown]:
    """The one group-by: per declared Sample.meta key (or tuple of keys), the score of each group,
    averaged by the headline's rule. An item without the key is grouped under "?"."""
    scores = [s for s in scores if s.sample_id in samples]
    cells: list[Breakdown] = []
    for keys in by:
        keys = (keys,) if isinstance(keys, str) else tuple(keys)
        groups: dict[tuple, list[tuple[str, float]]] = defaultdict(list)
        for s in scores:
            meta = samples[s.sample_id].meta
            groups[tuple(meta.get(k, "?") for k in keys)].append((s.sample_id, s.value))
        for coords in sorted(groups, key=lambda c: tuple(map(str, c))):
            pairs = groups[coords]
            cells.append(Breakdown(dict(zip(keys, coords)), metrics.item_mean(pairs), len({p[0] for p in pairs})))
    return cells


def task_figures(spec: Any, samples: dict[str, Sample], scores: list[Score], cfg: DictConfig) -> Figures:
    """A task's OPEN variants and breakdown cells: the per-answer variants and the declared
    group-by (the engine's), then whatever the task's own `figures` adds."""
    variants = variant_values(scores)
    cells = breakdown_cells(scores, samples, spec.breakdown_by) if scores else []
    metrics: dict[str, float] = {}
    if spec.figures is not None and scores:
        extra = spec.figures(samples, scores, cfg)
        variants.update(extra.variants)
        cells += extra.cells
        metrics.update(extra.metrics)
    return Figures(variants, cells, metrics)


def generation_protocol(cfg: DictConfig, made_by: dict | None = None) -> dict[str, Any]:
    """The settings the generations were made with: this run's, or (another harness's file,
    `made_by` from foreign.importing.made_by) what that file says, "unknown" where it does not say."""
    from evalsuite.planning import max_new_tokens

    protocol = {"samples": int(cfg.samples), "max_tokens": max_new_tokens(cfg),
                "temperature": float(cfg.sampling.temperature), "top_p": float(cfg.sampling.get("top_p", 1.0)),
                "thinking": bool(cfg.task.get("thinking", True))}
    if made_by:
        settings = made_by.get("settings") or {}
        protocol.update({key: settings.get(key, "unknown") for key in ("temperature", "top_p", "max_tokens")},
                        thinking="unknown", made_by=made_by.get("harness"))
    return protocol


def protocol_deviations(cfg: DictConfig, made_by: dict | None = None, spec: Any = None) -> list[str]:
    """Where this run's settings (or, for another harness's generations, that harness's as its file
    states them) differ from the task's defaults (the card's protocol)."""
    from evalsuite.config import task_defaults
    from evalsuite.planning import max_new_tokens

    base = task_defaults(cfg.task.name, run_mode(cfg))
    out: list[str] = []
    if base is None:
        return out
    if int(cfg.samples) != int(base.get("samples", cfg.samples)):
        out.append(f"samples {cfg.samples} (card: {base.samples})")
    if made_by:  # another harness made the generations: its settings, not this run's
        settings = made_by.get("settings") or {}
        harness = made_by.get("harness")
        for key, card in (("temperature", base.sampling.get("temperature", 1.0)),
                          ("top_p", base.sampling.get("top_p", 1.0)), ("max_tokens", base.sampling.max_tokens)):
            theirs = settings.get(key, "unknown")
            if theirs == "unknown":
                out.append(f"{key} unknown: the {harness} file does not say (card: {card})")
            elif float(theirs) != float(card):
                out.append(f"{key} {theirs} in the {harness} file (card: {card})")
        asks = made_by.get("our_prompt_asks_for_theirs_does_not") or []
        out.append(f"generated by {harness} with its own prompt, not this task's"
                   + (f"; that prompt does not ask for {' or '.join(asks)}" if asks else ""))
    else:
        for key in ("temperature", "top_p"):
            if float(cfg.sampling.get(key, 1.0)) != float(base.sampling.get(key, 1.0)):
                out.append(f"{key} {cfg.sampling.get(key)} (card: {base.sampling.get(key)})")
        if max_new_tokens(cfg) != int(base.sampling.max_tokens):
            out.append(f"max_tokens {max_new_tokens(cfg)} (card: {base.sampling.max_tokens})")
        if bool(cfg.task.get("thinking")) != bool(base.task.get("thinking")):
            out.append(f"thinking {cfg.task.thinking} (card: {base.task.thinking})")
        if bool(cfg.task.get("thinking")) and not cfg.model.get("reasoning"):
            out.append("model has no thinking mode")
    if cfg.get("limit"):
        out.append(f"limit {cfg.limit}")
    if cfg.data.get("version") is not None:
        out.append(f"data.version {cfg.data.version}")
    if cfg.data.get("source") == "sample" and not cfg.data.get("path") and cfg.task.get("dataset"):
        out.append("bundled sample set, not the benchmark")
    settings = {**ENGINE_SETTINGS, **(spec.settings if spec is not None else {})}
    not_protocol = {key for key, setting in settings.items() if not setting.protocol}
    for key, card in base.task.items():  # task settings: niah length, code block, prompt style ...
        if made_by and key in ("prompt_style", "system_prompt"):  # the harness's prompt made the generations
            continue
        if key in ("thinking", "dataset") or key in not_protocol or cfg.task.get(key) == card:
            continue
        ours = OmegaConf.to_container(cfg.task[key]) if OmegaConf.is_config(cfg.task.get(key)) else cfg.task.get(key)
        card = OmegaConf.to_container(card) if OmegaConf.is_config(card) else card
        out.append(f"task.{key} {str(ours)[:60]} (card: {str(card)[:60]})")
    return out


def token_stats(generations: Iterable[Generation]) -> dict[str, float]:
    """Generated tokens over the generations whose length is known (another harness's file may not
    say: those are left out, never counted as 0); NaN when none is known."""
    generations = list(generations)
    lengths = sorted(int(g.tokens) for g in generations if g.tokens is not None)
    if not lengths:
        nan = float("nan")
        return {"mean": nan, "median": nan, "max": nan} if generations else {"mean": 0, "median": 0, "max": 0}
    out = {"mean": sum(lengths) / len(lengths), "median": lengths[len(lengths) // 2], "max": lengths[-1]}
    if len(lengths) < len(generations):
        out["unknown"] = len(generations) - len(lengths)
    return out


def build(cfg: DictConfig, scores: list[Score], generations: Iterable[Generation], *, expected: int | None,
          missing: list[tuple[str, int]] | None, samples: list[Sample] | None = None, spec: Any = None,
          votes: dict | None = None, unresolved: int = 0, made_by: dict | None = None) -> TaskSummary:
    """The summary of one task's current scores. With the task's items and spec (the pipeline) it
    is complete: deviations the task reports, its breakdown and its own figures; without them (a run
    rebuilt from its files) it is the headline figures only."""

    numbers = metrics.summarize(scores, seed=int(cfg.get("seed") or 0), votes=votes)
    complete = samples is not None and spec is not None
    figures = task_figures(spec, {s.id: s for s in samples}, scores, cfg) if complete else \
        Figures(variant_values(scores), [])
    deviations = protocol_deviations(cfg, made_by, spec) if complete else []
    if complete and spec.deviations is not None:
        deviations += spec.deviations(samples, cfg)
    nan = float("nan")
    own = spec.headline({s.id: s for s in samples}, scores, cfg) if complete and spec.headline and scores else None
    if own is not None:  # the task's number is not a mean of per-answer values (ArenaHard)
        numbers.update(value=own.value, ci95=list(own.ci95), stderr=nan if own.stderr is None else own.stderr)
        figures.variants.update(own.variants)
        figures.cells.extend(own.cells)
    summary = TaskSummary(
        task=str(cfg.task.name), benchmark=cfg.task.get("benchmark"), card_model=card_column(cfg.model.get("card_model")),
        group=cfg.task.get("group"),
        model=cfg.model.get("name"), backend=cfg.backend.get("name"), mode=run_mode(cfg),
        metric=own.metric if own is not None and own.metric else f"avg@{numbers.get('samples', 0)}",
        value=numbers.get("value", nan), stderr=numbers.get("stderr", nan), ci95=list(numbers.get("ci95", [nan, nan])),
        n_items=numbers.get("n_items", 0), samples=numbers.get("samples", 0),
        samples_max=numbers.get("samples_max", 0), n_scores=numbers.get("n_scores", 0),
        no_answer_rate=numbers.get("no_answer_rate", nan), scoring_error_rate=numbers.get("scoring_error_rate", nan),
        unfinished_rate=numbers.get("unfinished_rate", nan), truncated_rate=numbers.get("truncated_rate", nan),
        pass_at_k=numbers.get("pass_at_k", {}), maj_at_k=numbers.get("maj_at_k", {}),
        maj_votes={"by": "equivalence" if votes is not None else "answer string", "unresolved": unresolved},
        expected_scores=expected, missing_scores=None if missing is None else len(missing),
        missing=[f"{sid}#{k}" for sid, k in (missing or [])[:50]],
        protocol=generation_protocol(cfg, made_by),
        deviations=deviations, tokens=token_stats(generations), variants=figures.variants, breakdown=figures.cells,
        metrics=dict(figures.metrics), card_rows=dict(own.card_rows) if own is not None else {}, complete=complete)
    return summary
