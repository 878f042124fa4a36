"""Multiple-choice letter readings, shared by the tasks that grade a chosen option (GPQA, MMLU-Pro ...).

A task names its headline reading in `task.letter_reading` (one of READINGS); the family also
reports the lenient reading beside it (tasks/multiple_choice.py), so the gap between the two is in
the summary. The text given is only the answer after </think>: a letter inside the thinking is never
consulted. Nothing here raises on any text.

- `nemo_skills` and `nemo_skills_mmlu_prox`: the rule of the tooling that produced the card's
  numbers, NeMo-Skills' multiple-choice evaluator (eval_type=multichoice), read at
  NVIDIA-NeMo/Skills commit 511d678edba48899d631a4769d1ce663c7ce52cf
  (nemo_skills/evaluation/evaluator/mcq.py) with its extractor at commit
  a42e28627d640caeb051d723ca0215ecb19ba40a (nemo_skills/evaluation/math_grader.py). Its defaults
  (relaxed extraction): the content of the last `\\boxed{` (no fallback to an earlier box), else the
  last match of the row's answer pattern ("The final answer is (.+)$"; MMLU-ProX: its language's
  "the answer is (X)" phrase), then a one-character result upper-cased as it is, a longer one read as
  its last standalone capital letter; else the last `Answer: X` anywhere (case-insensitive). It never
  reports an answer as ambiguous: several letters give the last.
- `lenient`: ours, reading what a model commits to in any common form (docs/multiple_choice.md): a
  box (unless the text rejects it), else a last line that is only a choice, else the latest answer
  statement in English or one of MMLU-ProX's 29 languages. An answer that names two or more
  letters ("Answer: A or B", "\\boxed{A, C}") is `ambiguous`: no letter, graded wrong.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Callable

from evalsuite.scoring.math import extract_last_boxed

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # option i's letter is ALPHABET[i], however many options a question has


@dataclass(frozen=True)
class ChoiceReading:
    letter: str | None  # the chosen letter; None when there is none or it is ambiguous
    source: str  # "boxed" | "pattern" | "answer_line" | "statement" | "last_line" | "none"
    ambiguous: bool = False  # the answer named several letters


@dataclass(frozen=True)
class Question:
    """What a reading may know about the question besides the answer text."""

    letters: str = "ABCD"  # the option letters the task offers
    language: str = "en"  # MMLU-ProX's language code of the row


NONE = ChoiceReading(None, "none")


# ---------------------------------------------------------------- NeMo-Skills' rule

# MMLU-ProX's answer phrase per language: the sixth entry of lm-evaluation-harness's
# lm_eval/tasks/mmlu_prox/lang_libs.py (commit 9d325d9933aaba510ef82fd9eda12cdcf29b4475), which
# NeMo-Skills' nemo_skills/dataset/mmlu-prox/prepare.py turns into each row's extract_regex: "{}"
# becomes an optional-bracketed letter A-J. For English it first strips the leading "the" (so the
# phrase is matched case-sensitively from "answer is") and allows markdown stars around the letter.
MMLU_PROX_ANSWER_PHRASES = {
    "en": "the answer is ({})", "ja": "答えは ({}) です", "zh": "答案是 ({})", "ko": "답은 ({})입니다",
    "fr": "La réponse est ({})", "de": "Die Antwort ist ({})", "es": "La respuesta es ({})",
    "pt": "A resposta é ({})", "zu": "Impendulo ithi ({})", "sw": "Jibu ni ({})", "wo": "Tontu bi mooy ({})",
    "yo": "Ìdáhùn náà ni ({})", "th": "คำตอบคือ ({})", "ar": "الإجابة هي ({})", "hi": "उत्तर है ({})",
    "bn": "উত্তর হল ({})", "mr": "उत्तर आहे ({})", "ne": "उत्तर ({}) हो।", "af": "Die antwoord is ({})",
    "te": "సమాధానం ({})", "ur": "جواب ({}) ہے", "ru": "Ответ - ({})", "id": "Jawabannya adalah ({})",
    "vi": "Câu trả lời là ({})", "cs": "Odpověď je ({})", "hu": "A válasz ({})", "it": "La risposta è ({})",
    "sr": "Odgovor je ({})", "uk": "Відповідь: ({})",
}
NEMO_SKILLS_DEFAULT_PATTERN = r"The final answer is (.+)$"
_LETTER_SLOT = r"\(?([ABCDEFGHIJ])\)?"


def mmlu_prox_pattern(language: str) -> str:
    """The answer pattern NeMo-Skills' MMLU-ProX preparation writes for a row in `language`
    (English's for a row whose language is not one of the 29)."""
    phrase = MMLU_PROX_ANSWER_PHRASES.get(language, MMLU_PROX_ANSWER_PHRASES["en"])
    head, tail = phrase.split("({})")
    if language == "en":  # "the answer is" -> "answer is", stars allowed around the bracketed letter
        return re.escape(head[len("the "):]) + r"\**" + _LETTER_SLOT + r"\**" + re.escape(tail)
    return re.escape(head) + _LETTER_SLOT + re.escape(tail)


def _nemo_skills_box(text: str) -> str | None:
    """NeMo-Skills' box reading: only the LAST `\\boxed` counts, and only when `\\boxed{` follows
    it directly and its braces close (`\\boxed {B}` and an unclosed last box read as no box)."""
    start = text.rfind("\\boxed")
    if start < 0 or not text.startswith("\\boxed{", start):
        return None
    depth = 0
    for i in range(start, len(text)):
        char = text[i]
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[start + len("\\boxed{"):i]
    return None


# NeMo-Skills maps a few non-Latin option letters (Arabic, Bengali, fullwidth A-D only) to Latin
# ones before reading, each to a space and the letter.
_NEMO_SKILLS_LETTER_MAP = {"أ": " A", "ب": " B", "ج": " C", "د": " D", "অ": " A", "ব": " B", "ড": " C", "ঢ": " D",
                           "Ａ": " A", "Ｂ": " B", "Ｃ": " C", "Ｄ": " D"}
_NEMO_SKILLS_LETTER_MAP_RE = re.compile("|".join(_NEMO_SKILLS_LETTER_MAP))
_STANDALONE_CAPITAL = re.compile(r"\b[A-Z]\b")
# The last resort, "adapted from Artificial Analysis": `Answer: X` anywhere, any case, X a letter
# not followed by a letter or digit.
_NEMO_SKILLS_ANSWER_LINE = re.compile(r"(?i)[*_]{0,2}Answer[*_]{0,2}\s*:[\s*_]{0,2}\s*([A-Z])(?![a-zA-Z0-9])")


def _nemo_skills_mcq(text: str, pattern: str) -> ChoiceReading:
    extracted, source = _nemo_skills_box(text), "boxed"
    if not extracted:  # an empty box counts as none, as `box or regex` does there
        matches = re.findall(pattern, text)
        extracted, source = (matches[-1] if matches else None), "pattern"
    if extracted is not None:
        extracted = _NEMO_SKILLS_LETTER_MAP_RE.sub(lambda m: _NEMO_SKILLS_LETTER_MAP[m.group()], extracted).strip()
        if len(extracted) == 1:
            return ChoiceReading(extracted.upper(), source)  # any one character, a digit included
        capitals = _STANDALONE_CAPITAL.findall(extracted)
        if capitals:
            return ChoiceReading(capitals[-1], source)
    lines = _NEMO_SKILLS_ANSWER_LINE.findall(text)
    if lines:
        return ChoiceReading(lines[-1].upper(), "answer_line")
    return NONE


def read_nemo_skills(text: str, question: Question = Question()) -> ChoiceReading:
    """NeMo-Skills' multiple-choice reading with its default answer pattern (GPQA, MMLU-Pro,
    MMLU-Redux, LongBench v2). The letter may be any character; one outside the task's letters is
    an answer, and wrong."""
    return _nemo_skills_mcq(text, NEMO_SKILLS_DEFAULT_PATTERN)


def read_nemo_skills_mmlu_prox(text: str, question: Question = Question()) -> ChoiceReading:
    """NeMo-Skills' multiple-choice reading with the row's language's answer pattern (MMLU-ProX)."""
    return _nemo_skills_mcq(text, mmlu_prox_pattern(question.language))


# ---------------------------------------------------------------- the lenient reading

# The answer word of an answer line ("Answer: B") in each of MMLU-ProX's 29 languages (its prompts'
# "Answer:" line, lang_libs.py as above), plus the everyday variants a model writes instead.
ANSWER_WORDS = (
    "answer", "final answer", "回答", "答え", "解答", "正解", "答案", "最终答案", "답변", "정답", "답", "réponse",
    "réponse finale", "antwort", "respuesta", "resposta", "impendulo", "jibu", "tontu", "ìdáhùn", "คำตอบ",
    "الإجابة", "الجواب", "उत्तर", "উত্তর", "antwoord", "సమాధానం", "جواب", "ответ", "jawaban", "trả lời",
    "đáp án", "odpověď", "válasz", "risposta", "odgovor", "відповідь",
)
# "The answer is (X)" in each language (lang_libs.py's phrases without the letter) where it is not
# an answer word and an "is" (below), and the English ways of committing to an option.
ANSWER_IS = (
    "答えは", "答案是", "答案为", "답은", "正解は", "정답은", "impendulo ithi", "tontu bi mooy", "ìdáhùn náà ni",
    "คำตอบคือ", "الإجابة هي", "उत्तर है", "উত্তর হল", "उत्तर आहे", "jawabannya adalah", "câu trả lời là",
    # the letter straight after the answer word: "उत्तर (X) हो।", "సమాధానం (X)", "جواب (X) ہے", "A válasz (X)"
    "उत्तर", "సమాధానం", "جواب", "a válasz",
)
COMMITMENTS = (
    r"(?:correct|right|best|final|only)\s+(?:option|choice)\s+(?:is|should be|would be|must be)",
    r"(?:I'll|I will|I'd|I would|I am going to|I'm going to|let's|we'll|we will|I)\s+"
    r"(?:go with|choose|pick|select|opt for|settle on)",
)
# "The correct answer is (X)": an answer word, one optional word ("die richtige Antwort ist", "la
# respuesta correcta es"), and "is" in the answer's language.
COPULAS = ("is", "ist", "est", "es", "é", "è", "je", "ni", "adalah", "là", "er", "är", "on", "jest", "este",
           "should be", "would be", "must be", "will be", "has to be", "seems to be", "appears to be")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")


def _words(words) -> str:
    """Lead words as one pattern: spaces flexible, and not the tail of a longer word, except in
    scripts written without spaces (答案 inside 正确答案)."""
    def one(word: str) -> str:
        return r"\s+".join(re.escape(unicodedata.normalize("NFKC", part)) for part in word.split())
    spaced = [one(w) for w in sorted(words, key=len, reverse=True) if not _CJK.match(w)]
    unspaced = [one(w) for w in sorted(words, key=len, reverse=True) if _CJK.match(w)]
    return "(?:(?<!\\w)(?:" + "|".join(spaced) + ")" + ("|" + "|".join(unspaced) if unspaced else "") + ")"


_LEAD = re.compile(
    _words(ANSWER_WORDS) + r"(?:[*_\s]*[:\-–—=]|[*_]*(?:\s+\w+)?\s+(?:" + "|".join(COPULAS) + r")(?!\w)"
    r"(?:\s+(?:probably|likely|clearly|definitely|therefore|thus|then))?)"
    + "|(?:" + _words(ANSWER_IS) + "|(?<!\\w)(?:" + "|".join(COMMITMENTS) + r")(?!\w))(?:[*_\s]*:)?",
    re.IGNORECASE)
_FRAGMENT_CHARS = 80

_WRAPPERS = re.compile(r"\\(?:text|textbf|mathrm|mathbf|textit|mbox|operatorname)\s*\{([^{}]*)\}")
_QUOTES = "'\"‘’“”«»「」『』‹›"
_QUOTED_LETTER = re.compile(rf"[{_QUOTES}]\s*([A-Za-z])\s*[{_QUOTES}]")
# Cyrillic and Greek capitals that look like A-J, standing alone ("Ответ: С" typed on a Cyrillic
# keyboard): read as the Latin letter the options show. Г, Б, Д ... are not option letters.
_LOOKALIKES = {"А": "A", "В": "B", "С": "C", "Е": "E", "Н": "H", "І": "I", "Ј": "J",
               "Α": "A", "Β": "B", "Ε": "E", "Η": "H", "Ι": "I"}
_LOOKALIKE = re.compile(rf"(?<!\w)([{''.join(_LOOKALIKES)}])(?!\w)")
_OPTION_WORD = r"(?i:(?:the\s+)?(?:option|choice|letter|opción|opção|opzione|選択肢|选项)\s*)?"
# "A" and "I" are also English words: "Answer: I think it's G", "Answer: A detailed analysis ...".
_WORD_LETTER = re.compile(r"[AI](?:\s+(?!(?:or|and|is|was)\b)[a-z]|['’][A-Za-z])")
_STANDALONE = r"(?![A-Za-z0-9]|['’][A-Za-z])"  # not the start of a word ("Because", "I'll")


def _clean(fragment: str) -> str:
    text = _WRAPPERS.sub(r"\1", fragment)
    for _ in range(2):  # nested wrappers: \text{\textbf{B}}
        text = _WRAPPERS.sub(r"\1", text)
    text = _QUOTED_LETTER.sub(r" \1 ", text)
    text = _LOOKALIKE.sub(lambda m: _LOOKALIKES[m.group(1)], text)
    return re.sub(r"[*_$`\\{}]", " ", text).strip(" \t:：-–—=,")


def letters_named(fragment: str, letters: str) -> list[str]:
    """The option letters a short answer fragment names, in order: "(B)" -> [B]; "A or C" -> [A, C];
    "Option E" -> [E]; "not B" -> []. Letters count only as standalone capitals, so words ("A
    detailed ...", "I think ...") are not read as choices unless the fragment is nothing but the
    letter; after such a word, the fragment's other letters are read ("I think it's G" -> [G])."""
    text = _clean(fragment)
    if not text or re.match(r"not\b|n't\b", text, re.IGNORECASE):
        return []
    choice = f"[{re.escape(letters)}]"
    whole = re.fullmatch(rf"[\s(\[]*{_OPTION_WORD}[\s(\[]*({choice}|{choice.lower()})[\s)\].:;!。．]*", text)
    if whole:
        return [whole.group(1).upper()]
    first = re.match(r"[\s(\[]*", text).end()
    if _WORD_LETTER.match(text, first):  # "I think it's G": the fragment's other capitals
        others = re.compile(rf"(?<![A-Za-z0-9'’])({choice}){_STANDALONE}")
        return list(dict.fromkeys(m.group(1) for m in others.finditer(text, first + 1)
                                  if not _WORD_LETTER.match(text, m.start(1))))
    head = re.match(rf"[\s(\[]*{_OPTION_WORD}[\s(\[]*({choice}){_STANDALONE}[)\]]?", text)
    if not head:
        return []
    found = [head.group(1)]
    rest = text[head.end():]
    joined = re.compile(rf"\s*(?:,|/|&|\bor\b|\band\b|\+)\s*[(\[]?{_OPTION_WORD}({choice})(?![A-Za-z0-9])[)\]]?")
    while True:
        m = joined.match(rest)
        if not m:
            break
        found.append(m.group(1))
        rest = rest[m.end():]
    return found


def _reading(fragment: str, letters: str, source: str) -> ChoiceReading | None:
    named = letters_named(fragment, letters)
    if not named:
        return None
    if len(set(named)) > 1:
        return ChoiceReading(None, source, ambiguous=True)
    return ChoiceReading(named[0], source)


# A box the text turns down right after ("\boxed{B} is wrong") or right before ("not \boxed{B}").
_REJECTED_AFTER = re.compile(r"[\s}$)]*(?:is|was|would be|seems|looks)?\s*(?:wrong|incorrect|not (?:right|correct|"
                             r"the answer)|a mistake|an error|mistaken|ruled out)\b", re.IGNORECASE)
_REJECTED_BEFORE = re.compile(r"(?:\bnot|n't|\brather than|\binstead of)[\s$(]*$", re.IGNORECASE)


def _box_rejected(text: str, content: str) -> bool:
    at = text.rfind("{" + content + "}")
    if at < 0:
        return False
    before = text[max(0, at - 40):at]
    before = before[:before.rfind("\\")] if "\\" in before else before
    return bool(_REJECTED_AFTER.match(text, at + len(content) + 2) or _REJECTED_BEFORE.search(before))


_BARE_LINE = re.compile(r"[\s*_>#(\[]*(?:(?:the\s+)?(?:option|choice|answer)\s*)?[(\[]?[A-Z](?:\s*(?:,|/|&|or|and|\+)\s*"
                        r"[(\[]?[A-Z][)\]]?)*[)\].!]?[\s*_.]*", re.IGNORECASE)


def read_lenient(text: str, question: Question = Question()) -> ChoiceReading:
    """The letter the answer commits to, in any common form (see the module doc)."""
    if not isinstance(text, str) or not text.strip():
        return NONE
    text = unicodedata.normalize("NFKC", text)  # fullwidth letters and colons: Ｂ -> B, ： -> :
    letters = question.letters
    boxed = extract_last_boxed(text)
    if boxed is not None:
        reading = _reading(boxed, letters, "boxed")
        if reading and not _box_rejected(text, boxed):
            return reading
    lines = [line for line in text.split("\n") if line.strip()]
    last = lines[-1].strip() if lines else ""
    if _BARE_LINE.fullmatch(last) and (len(lines) == 1 or not last.islower()):
        reading = _reading(last, letters, "last_line")
        if reading:
            return reading
    for m in reversed(list(_LEAD.finditer(text))):  # the latest statement that names a letter wins
        end = text.find("\n", m.end())
        fragment = text[m.end():(end if end >= 0 else len(text))][:_FRAGMENT_CHARS]
        reading = _reading(fragment, letters, "statement")
        if reading:
            return reading
    return NONE


# ---------------------------------------------------------------- by name

Reading = Callable[[str, Question], ChoiceReading]
READINGS: dict[str, Reading] = {
    "nemo_skills": read_nemo_skills,
    "nemo_skills_mmlu_prox": read_nemo_skills_mmlu_prox,
    "lenient": read_lenient,
}
LENIENT = "lenient"


def read_choice_letter(text: str, letters: str = "ABCD", reading: str = LENIENT, language: str = "en") -> ChoiceReading:
    """The letter `text` commits to under the named reading; never raises (a reading that fails on
    some text reads no letter)."""
    read = READINGS[reading]  # a name outside READINGS is the caller's error (the task settings check it)
    try:
        return read(text if isinstance(text, str) else "", Question(letters, language))
    except Exception:  # defensive: a scorer must never fail on model output
        return NONE


def extract_choice_letter(text: str, letters: str = "ABCD") -> str | None:
    """The lenient reading's letter, or None when no single letter is given (absent or ambiguous)."""
    return read_choice_letter(text, letters).letter
