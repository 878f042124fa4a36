"""MMLU-ProX (li-lab/MMLU-ProX): MMLU-Pro's questions translated into 29 languages.

Read as MMLU-Pro is (tasks/mmlu_pro.py: the same options, letters and grading), one hub config per
language (split test); rows carry option_0 ... option_9 instead of a list. The hub loader adds each
row's `language` (its config name); a local file carries a `language` column itself.

`task.languages`: NVIDIA's default covers six languages (en, de, es, fr, it, ja): that subset is
the default, and the report flags it; `all` runs the 29. With more than those six, the variant
`nvidia_6_languages` is the number over NVIDIA's six beside the headline. Breakdown: per language and
per subject (`breakdown_by`: the samples' `language` and `subject` meta, one summary cell per value).

The prompt is MMLU-Pro's English instruction for every language; NVIDIA's preparation writes a
localised instruction per language instead (OPEN, docs/protocol.md).
"""
from __future__ import annotations

from typing import Any

from omegaconf import OmegaConf

from evalsuite.data import load_from_hub, load_rows
from evalsuite.errors import UserError
from evalsuite.metrics import item_mean
from evalsuite.task import Setting, TaskSpec
from evalsuite.types import Figures, Grade, Sample, Score
from tasks import multiple_choice as mc
from tasks.mmlu_pro import STYLES, choice

NVIDIA_LANGUAGES = ("en", "de", "es", "fr", "it", "ja")
# The dataset's 29 language configs, as its card lists them (codes not checked against the hub here).
ALL_LANGUAGES = ("af", "ar", "bn", "cs", "de", "en", "es", "fr", "hi", "hu", "id", "it", "ja", "ko", "mr", "ne",
                 "pt", "ru", "sr", "sw", "te", "th", "uk", "ur", "vi", "wo", "yo", "zh", "zu")


def languages(cfg: Any) -> tuple[str, ...]:
    value = cfg.task.get("languages", list(NVIDIA_LANGUAGES))
    if value == "all":
        return ALL_LANGUAGES
    chosen = tuple(str(v) for v in (OmegaConf.to_container(value) if OmegaConf.is_config(value) else value))
    unknown = [v for v in chosen if v not in ALL_LANGUAGES]
    if unknown or not chosen:
        raise UserError(f"task.languages: unknown {unknown or 'empty list'}; give a list of {', '.join(ALL_LANGUAGES)} "
                        f"or task.languages=all")
    return chosen


def hub_rows_for(cfg: Any):
    def hub_rows(dataset: Any) -> list[dict[str, Any]]:
        return [{**row, "language": lang} for lang in languages(cfg)
                for row in load_from_hub(OmegaConf.merge(dataset, {"config": lang}))]
    return hub_rows


def load(cfg) -> list[Sample]:
    opts = mc.settings(cfg)
    wanted = languages(cfg)
    samples = []
    for n, row in enumerate(load_rows(cfg, hub_loader=hub_rows_for(cfg)), 1):
        language = str(row.get("language") or "unknown")
        if language not in wanted:  # a local file with every language: the subset asked for
            continue
        item = choice(row, n, "mmlu_prox")
        item = mc.Choice(f"{language}/{item.id}", item.question, item.options, item.answer,
                         {**item.meta, "language": language})
        samples.append(mc.make_sample(item, opts))
    return samples


def score(sample: Sample, answer: str, cfg) -> Grade:
    return mc.score(sample, answer, cfg)


def figures(samples: dict[str, Sample], scores: list[Score], cfg) -> Figures:
    """With more than NVIDIA's six languages, the variant `nvidia_6_languages`: the score over those six."""
    if not set(languages(cfg)) - set(NVIDIA_LANGUAGES):
        return Figures()
    six = [(s.sample_id, s.value) for s in scores
           if s.sample_id in samples and samples[s.sample_id].meta.get("language") in NVIDIA_LANGUAGES]
    return Figures(variants={"nvidia_6_languages": item_mean(six)})


def deviations(samples: list[Sample], cfg) -> list[str]:
    """The default language subset is NVIDIA's, not the benchmark's 29: say so beside the number."""
    chosen = languages(cfg)
    if set(chosen) == set(NVIDIA_LANGUAGES):
        return ["NVIDIA's 6 languages (en, de, es, fr, it, ja), not all 29 (task.languages=all)"]
    return [] if set(chosen) == set(ALL_LANGUAGES) else [f"languages {', '.join(chosen)}"]


TASK = TaskSpec(load=load, score=score, figures=figures, deviations=deviations, breakdown_by=("language", "subject"),
                settings={**mc.family_settings(STYLES),
                          "languages": Setting((str, list), doc="language codes, a list of them, or all")})
