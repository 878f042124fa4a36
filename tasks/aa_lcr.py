"""AA-LCR (Artificial Analysis Long Context Reasoning): 100 questions, each over a set of documents of
about 100K tokens, answered in free text and graded by an equality judge.

Two inputs, both fetched and checksummed by `evalsuite prepare` (`task.dataset.files`): the question
file (ArtificialAnalysis/AA-LCR, split test: document_category, document_set_id, question_id,
question, answer, data_source_filenames (";"-separated), data_source_urls, input_tokens) and the
document archive `extracted_text/AA-LCR_extracted-text.zip` (`lcr/<category>/<set id>/<file>`).
The prompt is the official one (the documents numbered between BEGIN/END markers, then the question);
a judge (evalsuite/configs/judge/; the official Qwen3-235B-A22B-Instruct-2507) compares the final answer with
the official one by the official equality prompt. Breakdown per document category.

The documents of a question are one document to the fit rule (planning.DocumentFitter): when the
prompt does not fit the model's window less the answer budget they are cut in the middle and the
item counted (`meta.cut_tokens`, a deviation); at the card's 262,144 tokens none should be.
"""
from __future__ import annotations

import re
import unicodedata
import zipfile
from pathlib import Path

from evalsuite.data import dataset_file, load_rows
from evalsuite.errors import UserError
from evalsuite.judge_rules import JudgeAsk, fill, load_prompt, parse_rule, prompt_name, unparseable
from evalsuite.planning import DocumentFitter
from evalsuite.task import JudgeHooks, TaskSpec
from evalsuite.types import Grade, Sample

ARCHIVE = "extracted_text/AA-LCR_extracted-text.zip"
ROOT = "lcr"  # the archive's top folder
COLUMNS = ("document_category", "document_set_id", "question_id", "question", "answer", "data_source_filenames")
TEMPLATE = ("BEGIN INPUT DOCUMENTS\n\n{documents}\n\nEND INPUT DOCUMENTS\n\nAnswer the following question using the "
            "input documents provided above.\n\nSTART QUESTION\n\n{question}\n\nEND QUESTION\n")


def documents_text(documents: list[str]) -> str:
    return "\n\n".join(f"BEGIN DOCUMENT {i}:\n{doc}\nEND DOCUMENT {i}" for i, doc in enumerate(documents, 1))


def _key(name: str) -> str:
    """A file name as ASCII letters and digits only. Some of the archive's names are UTF-8 read as
    code page 437 ("ΓÇÖ" for a right quote, "s╠º" for "ş"), which the question file's are not: such
    a name is decoded back first, then accents, quotes and dashes drop out of both alike."""
    try:
        name = name.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass  # not mangled that way
    return re.sub(r"[^0-9a-z]", "", unicodedata.normalize("NFKD", name).lower())


class Archive:
    """The document archive, its files indexed by (category, set id) folder."""

    def __init__(self, path: Path):
        try:
            self.zip = zipfile.ZipFile(path)
        except (OSError, zipfile.BadZipFile) as e:
            raise UserError(f"{path}: not a readable zip archive ({e}); fetch it again (evalsuite prepare)") from None
        self.folders: dict[tuple[str, str], dict[str, str]] = {}
        for name in self.zip.namelist():
            parts = name.split("/")
            if len(parts) == 4 and parts[0] == ROOT and parts[3]:
                self.folders.setdefault((parts[1], parts[2]), {})[parts[3]] = name

    def read(self, category: str, set_id: str, filename: str, item: str) -> str:
        folder = self.folders.get((category, set_id)) or {}
        member = folder.get(filename) or next((m for f, m in folder.items() if _key(f) == _key(filename)), None)
        if member is None:
            raise UserError(f"aa_lcr question {item}: document {filename!r} is not in the archive's "
                            f"{ROOT}/{category}/{set_id}/; is the archive the one of the question file's revision?")
        return self.zip.read(member).decode("utf-8")


def load(cfg) -> list[Sample]:
    rows = load_rows(cfg)
    archive = Archive(dataset_file(cfg, ARCHIVE))
    fitter = DocumentFitter(cfg)
    samples = []
    for n, row in enumerate(rows, 1):
        missing = [c for c in COLUMNS if row.get(c) in (None, "")]
        if missing:
            raise UserError(f"aa_lcr row {n}: missing column(s) {missing}; the question file needs AA-LCR's columns "
                            f"({', '.join(COLUMNS)})")
        item = str(row["question_id"])
        category, set_id = str(row["document_category"]), str(row["document_set_id"])
        documents = [archive.read(category, set_id, f.strip(), item)
                     for f in str(row["data_source_filenames"]).split(";") if f.strip()]
        question = str(row["question"])
        text, prompt_tokens, cut = fitter.fit(lambda docs: TEMPLATE.format(documents=docs, question=question),
                                              documents_text(documents), item)
        meta = {"document_category": category, "documents": len(documents), "cut_tokens": cut,
                "input_tokens": row.get("input_tokens")}
        samples.append(Sample(id=item, messages=[{"role": "user", "content": text}],
                              reference={"question": question, "answer": str(row["answer"])}, meta=meta,
                              prompt_tokens=prompt_tokens))
    return samples


def judge_requests(sample: Sample, answer: str, cfg) -> list[JudgeAsk]:
    text = fill(load_prompt(prompt_name(cfg)), question=sample.reference["question"],
                official_answer=sample.reference["answer"], candidate_answer=answer)
    return [JudgeAsk("equality", [{"role": "user", "content": text}])]


def read_equality(reply: str) -> str | None:
    """CORRECT or INCORRECT: how the reply starts (NeMo-Skills' reading of the official judge)."""
    head = (reply or "").strip().upper()
    for verdict in ("INCORRECT", "CORRECT"):
        if head.startswith(verdict):
            return verdict
    return None


PARSE_RULES = {"aalcr_equality": read_equality}


def score_judged(sample: Sample, answer: str, replies: dict[str, str], cfg) -> Grade:
    name, rule = parse_rule(cfg, PARSE_RULES)
    verdict = rule(replies["equality"])
    if verdict is None:
        return unparseable(replies["equality"], name, "the reply starts with neither CORRECT nor INCORRECT")
    return Grade(float(verdict == "CORRECT"), answer[-200:], {"verdict": verdict})


def deviations(samples: list[Sample], cfg) -> list[str]:
    cut = [s for s in samples if s.meta.get("cut_tokens")]
    if not cut:
        return []
    return [f"documents cut to fit the window: {len(cut)} of {len(samples)} questions "
            f"({sum(s.meta['cut_tokens'] for s in cut):,} tokens removed; max_model_len {cfg.model.get('max_model_len')})"]


TASK = TaskSpec(load=load, breakdown_by=("document_category",), deviations=deviations,
                judge=JudgeHooks(requests=judge_requests, score=score_judged, required=True))
