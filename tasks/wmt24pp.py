"""WMT24++ English -> 55 languages and dialects (google/wmt24pp): one segment at a time, scored per
language and averaged over languages, as the card and NVIDIA's NeMo-Skills do.

Files: one per target language, `en-<lang>.jsonl` of the dataset repository (`task.dataset.files`,
fetched and checksummed by `evalsuite prepare`), columns lp, domain, document_id, segment_id,
is_bad_source, source, target (the post-edited reference), original_target. Segments flagged
is_bad_source are left out (as NeMo-Skills does). The prompt is OPEN (NVIDIA's segment prompt is not
public): ours follows NeMo-Skills' document-translation prompt. The answer (the text after </think>)
is the translation.

The card's metric is xCOMET-XXL (NeMo-Skills' comet evaluator): a scoring model on the GPU, run as
the judge stage's metric (judge=xcomet-xxl, evalsuite/backends/comet.py), cached per (source,
translation, reference). Without it (~judge, the CPU default) each segment gets chrF (sacrebleu),
which is another metric: the run says so and it is never compared with the card's number as if it
were COMET. chrF is reported beside COMET in the summary's metrics either way.
"""
from __future__ import annotations

import json

from evalsuite.data import SAMPLES_DIR, dataset_file, read_table
from evalsuite.errors import UserError
from evalsuite.judge_rules import JudgeAsk, is_judged, unparseable
from evalsuite.metrics import group_mean, item_mean
from evalsuite.task import JudgeHooks, Setting, TaskSpec
from evalsuite.types import Figures, Grade, Headline, Sample

# The 55 target languages and dialects of WMT24++, as its files name them (en-<code>.jsonl), with the
# language names the prompt uses (NeMo-Skills names the language, not the region)
LANGUAGES = {
    "ar_EG": "Arabic", "ar_SA": "Arabic", "bg_BG": "Bulgarian", "bn_IN": "Bangla", "ca_ES": "Catalan",
    "cs_CZ": "Czech", "da_DK": "Danish", "de_DE": "German", "el_GR": "Greek", "es_MX": "Spanish",
    "et_EE": "Estonian", "fa_IR": "Persian", "fi_FI": "Finnish", "fil_PH": "Filipino", "fr_CA": "French",
    "fr_FR": "French", "gu_IN": "Gujarati", "he_IL": "Hebrew", "hi_IN": "Hindi", "hr_HR": "Croatian",
    "hu_HU": "Hungarian", "id_ID": "Indonesian", "is_IS": "Icelandic", "it_IT": "Italian", "ja_JP": "Japanese",
    "kn_IN": "Kannada", "ko_KR": "Korean", "lt_LT": "Lithuanian", "lv_LV": "Latvian", "ml_IN": "Malayalam",
    "mr_IN": "Marathi", "nl_NL": "Dutch", "no_NO": "Norwegian", "pa_IN": "Punjabi", "pl_PL": "Polish",
    "pt_BR": "Portuguese", "pt_PT": "Portuguese", "ro_RO": "Romanian", "ru_RU": "Russian", "sk_SK": "Slovak",
    "sl_SI": "Slovenian", "sr_RS": "Serbian", "sv_SE": "Swedish", "sw_KE": "Swahili", "sw_TZ": "Swahili",
    "ta_IN": "Tamil", "te_IN": "Telugu", "th_TH": "Thai", "tr_TR": "Turkish", "uk_UA": "Ukrainian",
    "ur_PK": "Urdu", "vi_VN": "Vietnamese", "zh_CN": "Chinese", "zh_TW": "Chinese", "zu_ZA": "Zulu",
}
PROMPT = ("Translate the following text into {target}. Output only the translation with no commentary or "
          "explanation.\n\nSource (English):\n{source}\n\nTranslation ({target}):\n")
CHRF = "chrF (sacrebleu; each language's segments, then languages)"


def languages(cfg) -> list[str]:
    wanted = cfg.task.get("languages")
    if wanted in (None, "all"):
        if cfg.data.get("source") == "sample" and not cfg.data.get("path"):  # the languages the sample set has
            folder = SAMPLES_DIR / str(cfg.task.dataset.sample_files)
            return sorted(p.name[3:-6] for p in folder.glob("en-*.jsonl"))
        return list(LANGUAGES)
    unknown = [x for x in wanted if x not in LANGUAGES]
    if unknown:
        raise UserError(f"task.languages: {unknown[0]!r} is not a WMT24++ target ({', '.join(LANGUAGES)})")
    return list(wanted)


def rows_by_language(cfg) -> dict[str, list[dict]]:
    if cfg.data.get("path"):  # one local file of any languages: each row's lp says which
        out: dict[str, list[dict]] = {}
        for row in read_table(cfg.data.path):
            out.setdefault(str(row.get("lp", "")).removeprefix("en-"), []).append(row)
        return out
    return {lang: read_table(dataset_file(cfg, f"en-{lang}.jsonl")) for lang in languages(cfg)}


def load(cfg) -> list[Sample]:
    samples = []
    for lang, rows in rows_by_language(cfg).items():
        if lang not in LANGUAGES:
            raise UserError(f"wmt24pp: language pair en-{lang} is not one of WMT24++'s 55 (the row's lp column)")
        for n, row in enumerate(rows, 1):
            if row.get("source") is None or row.get("target") is None:
                raise UserError(f"wmt24pp en-{lang} row {n}: needs WMT24++'s columns source and target (and lp, "
                                f"document_id, segment_id, is_bad_source)")
            if row.get("is_bad_source") in (True, "true", "True", 1):
                continue
            source = str(row["source"])
            samples.append(Sample(id=f"{lang}:{n}",
                                  messages=[{"role": "user", "content": PROMPT.format(target=LANGUAGES[lang], source=source)}],
                                  reference={"source": source, "target": str(row["target"])},
                                  meta={"target_language": lang, "domain": str(row.get("domain") or "unknown")}))
    return samples


def chrf(answer: str, reference: str) -> float:
    import sacrebleu

    return sacrebleu.sentence_chrf(answer.strip(), [reference]).score / 100.0


def score(sample: Sample, answer: str, cfg) -> Grade:
    """Without the metric model: chrF of the segment, 0-1 (not the card's metric)."""
    value = chrf(answer, sample.reference["target"])
    return Grade(value, answer.strip()[:200], {"chrf": value, "metric": "chrF"})


def metric_ask(sample: Sample, answer: str, cfg) -> list[JudgeAsk]:
    triple = {"src": sample.reference["source"], "mt": answer.strip(), "ref": sample.reference["target"]}
    return [JudgeAsk("metric", [{"role": "user", "content": json.dumps(triple, ensure_ascii=False, sort_keys=True)}])]


def score_metric(sample: Sample, answer: str, replies: dict[str, str], cfg) -> Grade:
    reply = replies["metric"]
    try:
        value = float(reply.strip())
    except ValueError:
        return unparseable(reply, "metric score", "not a number")
    return Grade(value, answer.strip()[:200], {"chrf": chrf(answer, sample.reference["target"]), "metric": "model"})


def headline(samples: dict[str, Sample], scores, cfg) -> Headline | None:
    """The card's averaging: each language's mean over its segments, then the mean over languages."""
    if not scores:
        return None
    value, ci95, _ = group_mean(samples, scores, "target_language", seed=int(cfg.seed))
    return Headline(value=value, ci95=ci95,
                    variants={"all segments (not by language)": item_mean((s.sample_id, s.value) for s in scores)})


def figures(samples: dict[str, Sample], scores, cfg) -> Figures:
    with_chrf = [s for s in scores if "chrf" in s.detail]
    if not with_chrf:
        return Figures()
    value, _, _ = group_mean(samples, [_as_chrf(s) for s in with_chrf], "target_language", seed=int(cfg.seed))
    return Figures(metrics={CHRF: value})


def _as_chrf(score):
    from dataclasses import replace

    return replace(score, value=score.detail["chrf"])


def deviations(samples: list[Sample], cfg) -> list[str]:
    out = []
    if not is_judged(TASK, cfg):
        out.append("metric chrF (sacrebleu), not the card's xCOMET-XXL: the number is not comparable with the card's "
                   "(judge=xcomet-xxl on a GPU gives the card's metric)")
    present = {s.meta["target_language"] for s in samples}
    if len(present) < len(LANGUAGES):
        out.append(f"{len(present)} of WMT24++'s {len(LANGUAGES)} target languages")
    return out


TASK = TaskSpec(load=load, score=score, headline=headline, figures=figures, deviations=deviations,
                breakdown_by=("target_language",),
                settings={"languages": Setting((str, list), nullable=True,
                                               doc="target languages (WMT24++ codes such as de_DE), or all")},
                judge=JudgeHooks(requests=metric_ask, score=score_metric))
