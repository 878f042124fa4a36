"""MMLU-Redux 2.0 (edinburgh-dawg/mmlu-redux-2.0): 57 MMLU subjects x 100 questions, re-annotated.

A member of the multiple-choice family (tasks/multiple_choice.py). The hub holds one config per
subject (split test); rows: question, choices (four), answer (index), error_type, source,
correct_answer, potential_reason. The hub loader adds each row's `subject` (its config name); a local
file (data.path) carries a `subject` column itself.

Which rows count is NVIDIA's rule: `ok` rows with their label, and `wrong_groundtruth` rows whose
`correct_answer` is a letter A-D, with that corrected label; every other error type is dropped (the
report's item count is the kept count). NVIDIA's preparation writes the literal string
"correct_answer" as the expected answer of those relabelled rows, so no response can match them:
The variant `nvidia_bug` is our number with every relabelled row counted wrong, the number that
preparation gives.
"""
from __future__ import annotations

from typing import Any

from omegaconf import OmegaConf

from evalsuite.data import load_from_hub, load_rows
from evalsuite.errors import UserError
from evalsuite.task import TaskSpec
from evalsuite.types import Grade, Sample
from tasks import multiple_choice as mc

# MMLU's 57 subjects: the dataset's config names.
SUBJECTS = (
    "abstract_algebra", "anatomy", "astronomy", "business_ethics", "clinical_knowledge", "college_biology",
    "college_chemistry", "college_computer_science", "college_mathematics", "college_medicine", "college_physics",
    "computer_security", "conceptual_physics", "econometrics", "electrical_engineering", "elementary_mathematics",
    "formal_logic", "global_facts", "high_school_biology", "high_school_chemistry", "high_school_computer_science",
    "high_school_european_history", "high_school_geography", "high_school_government_and_politics",
    "high_school_macroeconomics", "high_school_mathematics", "high_school_microeconomics", "high_school_physics",
    "high_school_psychology", "high_school_statistics", "high_school_us_history", "high_school_world_history",
    "human_aging", "human_sexuality", "international_law", "jurisprudence", "logical_fallacies", "machine_learning",
    "management", "marketing", "medical_genetics", "miscellaneous", "moral_disputes", "moral_scenarios", "nutrition",
    "philosophy", "prehistory", "professional_accounting", "professional_law", "professional_medicine",
    "professional_psychology", "public_relations", "security_studies", "sociology", "us_foreign_policy", "virology",
    "world_religions",
)
STYLES = ("solve_boxed", "answer_line")


def hub_rows(dataset: Any) -> list[dict[str, Any]]:
    """Every subject's config of the hub dataset, each row tagged with its subject."""
    rows = []
    for subject in SUBJECTS:
        for row in load_from_hub(OmegaConf.merge(dataset, {"config": subject})):
            rows.append({**row, "subject": subject})
    return rows


def kept_label(row: dict[str, Any], where: str) -> tuple[int, bool] | None:
    """(the answer index, relabelled?) of a row that counts, None for a dropped one."""
    error_type = str(row.get("error_type") or "").strip()
    if error_type == "ok":
        try:
            return int(row["answer"]), False
        except (KeyError, TypeError, ValueError):
            raise UserError(f"{where}: an `ok` row needs its answer index (answer: 0-3)") from None
    corrected = str(row.get("correct_answer") or "").strip().upper()
    if error_type == "wrong_groundtruth" and len(corrected) == 1 and corrected in "ABCD":
        return "ABCD".index(corrected), True
    return None


def load(cfg) -> list[Sample]:
    opts = mc.settings(cfg)
    samples, seen = [], {}
    for n, row in enumerate(load_rows(cfg, hub_loader=hub_rows), 1):
        where = f"mmlu_redux row {n}"
        if "error_type" not in row or "choices" not in row or not str(row.get("question") or "").strip():
            raise UserError(f"{where}: needs MMLU-Redux's columns (question, choices, answer, error_type, "
                            f"correct_answer) and a subject; got {sorted(row)}")
        subject = str(row.get("subject") or "unknown")
        index = seen[subject] = seen.get(subject, -1) + 1  # the row's place in its subject: a stable id
        label = kept_label(row, where)
        if label is None:
            continue
        item = mc.Choice(id=f"{subject}/{index}", question=str(row["question"]).strip(),
                         options=mc.option_list(row["choices"], where), answer=label[0],
                         meta={"subject": subject, "relabelled": label[1], "source": str(row.get("source") or "")})
        samples.append(mc.make_sample(item, opts))
    return samples


def score(sample: Sample, answer: str, cfg) -> Grade:
    """The corrected label's verdict; the variant `nvidia_bug` counts a relabelled row wrong, as
    NVIDIA's preparation scores it (its expected answer there is the literal "correct_answer")."""
    grade = mc.score(sample, answer, cfg)
    grade.variants["nvidia_bug"] = 0.0 if sample.meta.get("relabelled") else grade.value
    return grade


TASK = TaskSpec(load=load, score=score, breakdown_by=("subject",), settings=mc.family_settings(STYLES))
