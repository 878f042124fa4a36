"""IFBench's 58 instruction checkers, written from the instruction wording in the data file.

One registry, `CHECKERS`: instruction id -> `(response: str, **kwargs) -> bool`, where kwargs are the
data row's non-null kwargs for that instruction. `build_checker(id, kwargs)` binds them once and
turns a wrong id or kwarg into a one-line UserError at load time, before any GPU time is spent.

Everything is our own small code: no NLTK, nothing downloaded at import or run time. The text
primitives (words, sentences, syllables, stop words, pronouns, verbs) are approximations chosen to
be predictable; where an instruction leaves room for reading, the comment on its checker says which
reading we took. Checkers must never raise on any model output (the scorer also guards them).
"""
from __future__ import annotations

import csv
import datetime
import inspect
import re
import unicodedata
from functools import lru_cache, partial
from typing import Callable

from evalsuite.errors import UserError

Checker = Callable[..., bool]
CHECKERS: dict[str, Checker] = {}


def checker(instruction_id: str) -> Callable[[Checker], Checker]:
    def register(fn: Checker) -> Checker:
        CHECKERS[instruction_id] = fn
        return fn
    return register


def build_checker(instruction_id: str, kwargs: dict) -> Callable[[str], bool]:
    """The checker for one instruction with its kwargs bound; a UserError names a bad id or kwarg."""
    fn = CHECKERS.get(instruction_id)
    if fn is None:
        raise UserError(f"IFBench instruction id {instruction_id!r} has no checker; the data file is from another "
                        f"IFBench release (known ids: {len(CHECKERS)}); use data.version=294|300 files")
    try:
        inspect.signature(fn).bind("", **kwargs)
    except TypeError as e:
        raise UserError(f"IFBench instruction {instruction_id}: kwargs {sorted(kwargs)} do not fit its checker ({e}); "
                        f"the data file's schema differs from IFBench's") from None
    return partial(fn, **kwargs)


# ---------------------------------------------------------------- text primitives

# A word: letters/digits with inner apostrophes or hyphens ("don't", "well-known"), or a number
# with inner separators ("1,000", "3.14").
WORD_RE = re.compile(r"\d+(?:[.,]\d+)+|[^\W_]+(?:['’\-][^\W_]+)*")
LETTERS_RE = re.compile(r"[^\W\d_]+")
NUMBER_RE = re.compile(r"(?<![^\W\d_])\d+(?:[.,]\d+)*")
LIST_MARKER_RE = re.compile(r"^\s*(?:[-*+•>]+|\d+[.)]|[A-Za-z][.)]|#{1,6})\s+")
# Pictographic emoji and their modifiers (variation selector, joiner, keycap, skin tones in 1F3FB-1F3FF).
EMOJI_CHARS = "\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF\u2300-\u23FF\uFE0F\u200D\u20E3"
EMOJI_RE = re.compile(f"[{EMOJI_CHARS}]")
CLOSERS = "\"'”’)]*_"
# A sentence ends at ., !, ?, … or ‽ (plus closing quotes/brackets/markdown and any emoji after it)
# followed by whitespace or the end of the line.
SENTENCE_END_RE = re.compile(f"[.!?…‽]+[{re.escape(CLOSERS)}]*(?:\\s*[{EMOJI_CHARS}]+)*(?=\\s|$)")
ABBREVIATIONS = {"mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "fig", "no",
                 "approx", "inc", "ltd", "co", "u.s", "a.m", "p.m", "cf", "al", "vol", "pp", "ed", "dept"}


def words(text: str) -> list[str]:
    return WORD_RE.findall(text)


# A whitespace-separated token from its first to its last letter/digit ("(hello)," -> "hello").
TOKEN_CORE_RE = re.compile(r"[^\W_](?:\S*[^\W_])?")


def letter_words(text: str) -> list[str]:
    """Whitespace-separated tokens that contain a letter, with surrounding punctuation stripped."""
    return [t for t in TOKEN_CORE_RE.findall(text) if t.isalpha() or (not t.isdigit() and LETTERS_RE.search(t))]


def initial(word: str) -> str:
    """The first letter, lowercased and without accent (é -> e)."""
    c = word[:1]
    return c.lower() if c.isascii() else plain(c)[:1]


def norm_word(word: str) -> str:
    return re.sub(r"^[\W_]+|[\W_]+$", "", word).casefold().replace("’", "'")


LAST_TOKEN_RE = re.compile(r"([\w.]+)$")


def _is_abbreviation(before: str, mark: str) -> bool:
    if mark != ".":
        return False
    token = LAST_TOKEN_RE.search(before)
    if not token:
        return False
    word = token.group(1).rstrip(".")
    return word.lower() in ABBREVIATIONS or (len(word) == 1 and word.isupper())


@lru_cache(maxsize=256)
def sentences(text: str) -> tuple[str, ...]:
    """Sentences: split after terminal punctuation and at every line break (markdown lines are units
    of their own), list markers removed; fragments without letters (a lone emoji, a number, a rule,
    a code fence) belong to the sentence before them."""
    out: list[str] = []
    for line in text.split("\n"):
        line = LIST_MARKER_RE.sub("", line).strip()
        if not line:
            continue
        start = 0
        pieces = []
        for m in SENTENCE_END_RE.finditer(line):
            if _is_abbreviation(line[max(0, m.start() - 24):m.start()], m.group(0)):  # the tail only: linear time
                continue
            pieces.append(line[start:m.end()])
            start = m.end()
        pieces.append(line[start:])
        for piece in pieces:
            piece = piece.strip()
            if not piece:
                continue
            if not LETTERS_RE.search(piece):
                if out:
                    out[-1] = out[-1] + " " + piece
                continue
            out.append(piece)
    return tuple(out)


def sentence_kind(sentence: str) -> str:
    """declarative | interrogative | exclamatory, from the sentence's final punctuation."""
    tail = EMOJI_RE.sub("", sentence).rstrip().rstrip(CLOSERS + " ")
    mark = re.search(r"[.!?‽]+$", tail)
    if mark and ("?" in mark.group(0) or "‽" in mark.group(0)):
        return "interrogative"
    if mark and "!" in mark.group(0):
        return "exclamatory"
    return "declarative"


def lines(text: str) -> list[str]:
    return [line for line in text.split("\n") if line.strip()]


VOWEL_GROUP_RE = re.compile(r"[aeiouy]+")


@lru_cache(maxsize=8192)
def syllables(word: str) -> int:
    """English syllables by vowel groups with the usual corrections (silent final e, -ed, -es, vowel
    pairs that are two syllables). Wrong on some words, right on the common ones; never below 1."""
    w = re.sub(r"[^a-z]", "", word.lower())
    if not w:
        return 0
    count = len(VOWEL_GROUP_RE.findall(w))
    if w.endswith("e") and count > 1 and not w.endswith("ee") and not (w.endswith("le") and w[-3] not in "aeiouy"):
        count -= 1  # silent e: make, whole (but table, able keep it)
    elif w.endswith("ed") and count > 1 and len(w) > 3 and w[-3] not in "td":
        count -= 1  # walked, played: one syllable; wanted keeps it
    elif w.endswith("es") and count > 1 and len(w) > 3 and not re.search(r"(?:[sxz]|ch|sh|[gc])es$", w):
        count -= 1  # makes: one syllable; boxes keeps it
    # vowel pairs read as two syllables (piano, actual, duo), except in -tion, -cial, -cious ...
    count += len(re.findall(r"(?=(ia|io|ua|uo))", re.sub(r"[tscg]i(?:on|al|ous|a)", "", w)))
    count += len(w) > 3 and bool(re.search(r"(?:[aeiouy]ing|[^aeiou]ea|eum|ium)$", w))  # going, idea, museum, stadium
    return max(1, count)


STOP_WORDS = frozenset("""
a about above after again against all am an and any are aren't as at be because been before being below between
both but by can cannot could couldn't did didn't do does doesn't doing don't down during each few for from further
had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself him himself his how how's
i i'd i'll i'm i've if in into is isn't it it's its itself let's me more most mustn't my myself no nor not of off on
once only or other ought our ours ourselves out over own same shan't she she'd she'll she's should shouldn't so some
such than that that's the their theirs them themselves then there there's these they they'd they'll they're they've
this those through to too under until up very was wasn't we we'd we'll we're we've were weren't what what's when
when's where where's which while who who's whom why why's will with won't would wouldn't you you'd you'll you're
you've your yours yourself yourselves also just can't may might must shall s t
""".split())

PRONOUNS = frozenset("""
i me my mine myself you your yours yourself yourselves he him his himself she her hers herself it its itself we us
our ours ourselves they them their theirs themselves one oneself who whom whose whoever whomever anyone anybody
anything everyone everybody everything someone somebody something noone nobody nothing none each either neither
another others i'm i've i'd i'll you're you've you'd you'll he's he'd he'll she's she'd she'll it's we're we've we'd
we'll they're they've they'd they'll
""".split())

COORDINATING_CONJUNCTIONS = ("for", "and", "nor", "but", "or", "yet", "so")

PERSON_NAMES = frozenset(
    "Emma Liam Sophia Jackson Olivia Noah Ava Lucas Isabella Mason Mia Ethan Charlotte Alexander Amelia Benjamin "
    "Harper Leo Zoe Daniel Chloe Samuel Lily Matthew Grace Owen Abigail Gabriel Ella Jacob Scarlett Nathan Victoria "
    "Elijah Layla Nicholas Audrey David Hannah Christopher Penelope Thomas Nora Andrew Aria Joseph Claire Ryan Stella "
    "Jonathan".split())

# Base forms of common English verbs; a first word that is one of them (or a regular inflection) is a verb.
VERBS = frozenset("""
accept achieve act add address adjust admire admit adopt advance advise affect agree aim allow alter analyze analyse
answer anticipate apply appreciate approach arrange ask assess assign assume attach attempt avoid balance be become
begin believe break breathe bring build buy calculate call can capture care carry catch celebrate change check
choose clarify classify clean close collect combine come compare compile complete compose compute conclude confirm
connect consider construct continue contrast convert cook coordinate copy correct could count craft create cut deal
decide declare define delete deliver demonstrate derive describe design detail determine develop devise dig
discover discuss dive do draft draw dream drink drive eat elaborate embrace emphasize employ enable encourage end
engage enhance enjoy ensure enter establish estimate evaluate examine expand expect experience explain explore express
extend face fall feel fill find finish fix focus follow forget form formulate gather generate get give go grab grow
guide handle hang have hear help highlight hold hope identify illustrate imagine implement improve include increase
integrate interpret introduce investigate is are was were am join judge jump keep kick know label launch lay lead learn leave let
lie lift like limit list listen live look love maintain make manage map mark master may measure meet might mind
minimize mix model modify move must name navigate need note notice observe obtain offer open order organize outline
paint pass pay perform pick picture place plan play plot point pour practice prepare present preserve press prevent
print proceed produce program promote prove provide pull push put question raise reach read realize recall receive
recognize recommend record reduce reflect reframe refuse regard relax release remember remove repeat rephrase replace
reply report represent request research resolve respond rest restate retain return reveal review revise rewrite ride
rise run save say see seek select sell send separate serve set settle shall shape share shift should show sing sit
sketch skip sleep solve sort speak specify spend split stand start state stay step stop store structure study submit
suggest summarize summarise supply support suppose take talk teach tell test thank think throw tie track train
transform translate travel treat try turn understand unlock unpack update use validate verify view visit visualize
wait wake walk want watch wear weigh welcome will win wish wonder work would write yield
""".split())

JAPANESE_RE = re.compile(r"[\u3040-\u30FF\u3400-\u4DBF\u4E00-\u9FFF\uFF66-\uFF9F々〆ー]")
LATIN_RE = re.compile(r"[A-Za-z]")

EUROPEAN_CAPITAL_LATITUDES = {  # sovereign European states' capitals (degrees north)
    "reykjavik": 64.15, "helsinki": 60.17, "oslo": 59.91, "tallinn": 59.44, "stockholm": 59.33, "riga": 56.95,
    "moscow": 55.76, "copenhagen": 55.68, "vilnius": 54.69, "minsk": 53.90, "dublin": 53.35, "berlin": 52.52,
    "amsterdam": 52.37, "warsaw": 52.23, "london": 51.51, "brussels": 50.85, "kyiv": 50.45, "prague": 50.08,
    "luxembourg": 49.61, "paris": 48.86, "vienna": 48.21, "bratislava": 48.15, "budapest": 47.50, "vaduz": 47.14,
    "chisinau": 47.01, "bern": 46.95, "ljubljana": 46.06, "zagreb": 45.81,
    "belgrade": 44.79, "bucharest": 44.43, "san marino": 43.94, "sarajevo": 43.86, "monaco": 43.73,
    "sofia": 42.70, "pristina": 42.66, "andorra la vella": 42.51, "podgorica": 42.44, "skopje": 42.00,
    "rome": 41.90, "vatican city": 41.90, "tirana": 41.33, "madrid": 40.42, "lisbon": 38.72, "athens": 37.98,
    "valletta": 35.90, "nicosia": 35.17,
}
# North of 45 degrees but not required: capitals of the UK's nations and of a transcontinental state.
TOLERATED_CAPITALS = {"edinburgh": 55.95, "belfast": 54.60, "cardiff": 51.48, "astana": 51.17, "torshavn": 62.01}
CAPITAL_ALIASES = {"kiev": "kyiv", "luxembourg city": "luxembourg", "berne": "bern",
                   "kishinev": "chisinau", "wien": "vienna", "praha": "prague", "warszawa": "warsaw",
                   "bruxelles": "brussels", "moskva": "moscow", "kobenhavn": "copenhagen",
                   "valetta": "valletta", "the vatican": "vatican city", "vatican": "vatican city"}

AFRICAN_COUNTRIES = [
    "Algeria", "Angola", "Benin", "Botswana", "Burkina Faso", "Burundi", "Cabo Verde", "Cameroon",
    "Central African Republic", "Chad", "Comoros", "Democratic Republic of the Congo", "Republic of the Congo",
    "Cote d'Ivoire", "Djibouti", "Egypt", "Equatorial Guinea", "Eritrea", "Eswatini", "Ethiopia", "Gabon", "Gambia",
    "Ghana", "Guinea", "Guinea-Bissau", "Kenya", "Lesotho", "Liberia", "Libya", "Madagascar", "Malawi", "Mali",
    "Mauritania", "Mauritius", "Morocco", "Mozambique", "Namibia", "Niger", "Nigeria", "Rwanda",
    "Sao Tome and Principe", "Senegal", "Seychelles", "Sierra Leone", "Somalia", "South Africa", "South Sudan",
    "Sudan", "Tanzania", "Togo", "Tunisia", "Uganda", "Zambia", "Zimbabwe",
]
AFRICAN_ALIASES = {
    "cape verde": "cabo verde", "ivory coast": "cote d'ivoire", "swaziland": "eswatini", "the gambia": "gambia",
    "dr congo": "democratic republic of the congo", "drc": "democratic republic of the congo",
    "democratic republic of congo": "democratic republic of the congo",
    "congo (kinshasa)": "democratic republic of the congo", "congo-kinshasa": "democratic republic of the congo",
    "congo, democratic republic of the": "democratic republic of the congo",
    "congo": "republic of the congo", "republic of congo": "republic of the congo",
    "congo (brazzaville)": "republic of the congo", "congo-brazzaville": "republic of the congo",
    "congo, republic of the": "republic of the congo", "united republic of tanzania": "tanzania",
    "sao tome & principe": "sao tome and principe", "guinea bissau": "guinea-bissau",
    "kingdom of eswatini": "eswatini", "eswatini (swaziland)": "eswatini",
}
TOLERATED_AFRICAN = {"western sahara", "sahrawi arab democratic republic", "somaliland"}


COMBINING_MARKS_RE = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def plain(text: str) -> str:
    """casefolded, accents removed, curly apostrophes straightened: for matching names."""
    if text.isascii():
        return text.casefold().strip()
    text = unicodedata.normalize("NFKD", text.replace("’", "'"))
    return COMBINING_MARKS_RE.sub("", text).casefold().strip()


def code_block_or_text(text: str) -> str:
    """The content of the first ``` fenced block when there is one (models fence CSV), else the text."""
    m = re.search(r"```[^\n]*\n(.*?)(?:```|$)", text, re.S)
    return m.group(1) if m else text


def _int(value) -> int:
    return int(round(float(value)))


# ---------------------------------------------------------------- count:

@checker("count:conjunctions")
def count_conjunctions(response: str, *, small_n) -> bool:
    """At least small_n DIFFERENT coordinating conjunctions (for, and, nor, but, or, yet, so)."""
    used = {w.casefold() for w in words(response)} & set(COORDINATING_CONJUNCTIONS)
    return len(used) >= _int(small_n)


@checker("count:keywords_multiple")
def count_keywords_multiple(response: str, *, keyword1, keyword2, keyword3, keyword4, keyword5) -> bool:
    """keyword1 once, keyword2 twice, keyword3 three times, keyword4 five times, keyword5 seven times:
    exact counts of whole-word, case-insensitive occurrences (the prompt says "once", not "at least once")."""
    for keyword, times in zip((keyword1, keyword2, keyword3, keyword4, keyword5), (1, 2, 3, 5, 7)):
        found = re.findall(rf"(?<![^\W_]){re.escape(str(keyword))}(?![^\W_])", response, re.IGNORECASE)
        if len(found) != times:
            return False
    return True


@checker("count:numbers")
def count_numbers(response: str, *, N) -> bool:
    """Exactly N numbers written in digits ("1,000" and "3.14" are one number each)."""
    return len(NUMBER_RE.findall(response)) == _int(N)


@checker("count:person_names")
def count_person_names(response: str, *, N) -> bool:
    """At least N different names from the prompt's fixed list of 50, capitalised as names
    (so "grace" or "lily" as common words do not count)."""
    found = set(re.findall(r"(?<![^\W_])[A-Z][a-z]+(?![^\W_])", response)) & PERSON_NAMES
    return len(found) >= _int(N)


@checker("count:pronouns")
def count_pronouns(response: str, *, N) -> bool:
    """At least N pronoun occurrences (personal, possessive, reflexive, relative who/whom/whose,
    indefinite such as someone)."""
    return sum(1 for w in words(response) if w.casefold().replace("’", "'") in PRONOUNS) >= _int(N)


PUNCTUATION_REQUIRED = {
    "period": ".", "comma": ",", "question mark": "?", "exclamation mark": "!", "semicolon": ";", "colon": ":",
    "hyphen or dash": "-–—", "opening parenthesis": "(", "closing parenthesis": ")", "quotation mark": "\"“”",
    "apostrophe": "'’",
}


@checker("count:punctuation")
def count_punctuation(response: str) -> bool:
    """Every standard mark at least once: . , ? ! ; : - ( ) " ' and the interrobang (?! or !? or ‽)."""
    if not all(any(c in response for c in marks) for marks in PUNCTUATION_REQUIRED.values()):
        return False
    return "?!" in response or "!?" in response or "‽" in response


@checker("count:unique_word_count")
def count_unique_word_count(response: str, *, N) -> bool:
    """At least N distinct words, case-insensitively."""
    return len({w.casefold() for w in words(response)}) >= _int(N)


@checker("count:word_count_range")
def count_word_count_range(response: str, *, min_words, max_words) -> bool:
    return _int(min_words) <= len(words(response)) <= _int(max_words)


@checker("count:words_japanese")
def count_words_japanese(response: str, *, N) -> bool:
    """Words are split by whitespace; the N-th, 2N-th, ... word must be Japanese (Japanese script,
    no Latin letters). A response shorter than N words shows nothing and fails."""
    n = _int(N)
    tokens = [t for t in (re.sub(r"^[\W_]+|[\W_]+$", "", tok) for tok in response.split()) if t]
    if n < 1 or len(tokens) < n:
        return False
    return all(JAPANESE_RE.search(t) and not LATIN_RE.search(t) for t in tokens[n - 1::n])


# ---------------------------------------------------------------- custom: (one prompt each)

@checker("custom:character_reverse")
def custom_character_reverse(response: str) -> bool:
    """"National animal of the US, reversed per letter": the answer reads "eagle" only backwards."""
    return "eagle" in response[::-1].casefold() and "eagle" not in response.casefold()


@checker("custom:word_reverse")
def custom_word_reverse(response: str) -> bool:
    """"National animal of the US, words in reverse order": "eagle" appears as a word, and never with
    its forward-order modifier right before it ("the eagle", "bald eagle"): reversed, those follow it."""
    ws = [w.casefold() for w in letter_words(response)]
    if "eagle" not in ws:
        return False
    return all(i == 0 or ws[i - 1] not in ("the", "a", "an", "bald", "american")
               for i, w in enumerate(ws) if w == "eagle")


def _csv_rows(response: str, delimiter: str) -> list[list[str]]:
    body = [line for line in code_block_or_text(response).strip().split("\n") if line.strip()]
    try:
        return list(csv.reader(body, delimiter=delimiter))
    except csv.Error:  # a stray carriage return or NUL: not well-formed CSV
        return []


def _header_is(row: list[str], names: list[str]) -> bool:
    return [c.strip().strip('"').casefold() for c in row] == [n.casefold() for n in names]


@checker("custom:csv_city")
def custom_csv_city(response: str) -> bool:
    """Comma-delimited CSV: header ID,Country,City,Year,Count and exactly 7 data rows of 5 fields."""
    rows = _csv_rows(response, ",")
    return (len(rows) == 8 and _header_is(rows[0], ["ID", "Country", "City", "Year", "Count"])
            and all(len(r) == 5 for r in rows))


@checker("custom:csv_quotes")
def custom_csv_quotes(response: str) -> bool:
    """Tab-delimited: header StudentID..Score and 3 rows, every single field in double quotes."""
    body = [line.strip() for line in code_block_or_text(response).strip().split("\n") if line.strip()]
    if len(body) != 4:
        return False
    rows = [line.split("\t") for line in body]
    if not all(len(r) == 5 and all(re.fullmatch(r'"[^"]*"', f.strip()) for f in r) for r in rows):
        return False
    return _header_is(rows[0], ["StudentID", "Subject", "Grade", "Semester", "Score"])


@checker("custom:csv_special_character")
def custom_csv_special_character(response: str) -> bool:
    """Comma-delimited: header ProductID..Stock, 14 rows of 5 fields, and at least one field that
    holds a special character and is enclosed in double quotes."""
    rows = _csv_rows(response, ",")
    if len(rows) != 15 or not _header_is(rows[0], ["ProductID", "Category", "Brand", "Price", "Stock"]):
        return False
    if not all(len(r) == 5 for r in rows):
        return False
    quoted = re.findall(r'(?:^|,)\s*"((?:[^"]|"")*)"\s*(?=,|$)', code_block_or_text(response), re.M)
    return any(re.search(r"[^\w\s]", field) for field in quoted)


@checker("custom:date_format_list")
def custom_date_format_list(response: str) -> bool:
    """Napoleon's battles' start dates: only YYYY-MM-DD dates (real dates, 1785-1815), comma-separated."""
    items = [item.strip() for item in response.strip().rstrip(".").split(",")]
    if len(items) < 2:
        return False
    for item in items:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", item):
            return False
        try:
            day = datetime.date.fromisoformat(item)
        except ValueError:
            return False
        if not 1785 <= day.year <= 1815:
            return False
    return True


@checker("custom:european_capitals_sort")
def custom_european_capitals_sort(response: str) -> bool:
    """All capitals of European states north of 45 degrees, comma-separated, no country names,
    from the highest latitude to the lowest. Capitals of the UK's nations and Astana may be added."""
    items = [plain(item).strip(" .") for item in response.strip().split(",")]
    items = [CAPITAL_ALIASES.get(item, item) for item in items]
    required = {c for c, lat in EUROPEAN_CAPITAL_LATITUDES.items() if lat > 45}
    latitudes = []
    for item in items:
        if item in required:
            latitudes.append(EUROPEAN_CAPITAL_LATITUDES[item])
        elif item in TOLERATED_CAPITALS:
            latitudes.append(TOLERATED_CAPITALS[item])
        else:
            return False  # a country name, a southern capital, or not a capital
    if len(set(items)) != len(items) or not required <= set(items):
        return False
    return all(a >= b for a, b in zip(latitudes, latitudes[1:]))


@checker("custom:mcq_count_length")
def custom_mcq_count_length(response: str) -> bool:
    """4 questions, each starting with the label "Question", 5 options each, each question (its stem)
    longer than the one before."""
    label = re.compile(r"^[\s#*_>]*Question\b[^\n]*$", re.M)
    starts = [m.start() for m in label.finditer(response)]
    if len(starts) != 4 or response[:starts[0]].strip():
        return False
    option = re.compile(r"^\s*(?:[-*]\s*)?[(\[]?[A-Ea-e][.):\]]\s*\S")
    stems = []
    for begin, end in zip(starts, starts[1:] + [len(response)]):
        block = response[begin:end].split("\n")
        option_lines = [i for i, line in enumerate(block) if option.match(line)]
        if len(option_lines) != 5:
            return False
        stem = " ".join(block[:option_lines[0]])
        stem = re.sub(r"^[\s#*_>]*Question\s*\d*\s*[:.)\-]?\s*", "", stem).strip(" *_")
        stems.append(len(stem))
    return all(a < b for a, b in zip(stems, stems[1:]))


@checker("custom:multiples")
def custom_multiples(response: str) -> bool:
    """From 10 to 50, only multiples of 7: the numbers are exactly 14 21 28 35 42 49, in order."""
    return [int(n) for n in re.findall(r"\d+", response)] == [14, 21, 28, 35, 42, 49]


@checker("custom:reverse_newline")
def custom_reverse_newline(response: str) -> bool:
    """African countries one per line, reverse alphabetical (by the names as written). Only country
    lines; at least 50 of the 54 (naming and recognition vary), no repeats."""
    canonical = {plain(c) for c in AFRICAN_COUNTRIES}
    seen, written = set(), []
    for line in lines(response):
        name = plain(LIST_MARKER_RE.sub("", line)).strip(" .*_")
        name = AFRICAN_ALIASES.get(name, name)
        if name in TOLERATED_AFRICAN:
            written.append(plain(LIST_MARKER_RE.sub("", line)).strip(" .*_"))
            continue
        if name not in canonical or name in seen:
            return False
        seen.add(name)
        written.append(re.sub(r"^the ", "", plain(LIST_MARKER_RE.sub("", line)).strip(" .*_")))
    return len(seen) >= 50 and all(a >= b for a, b in zip(written, written[1:]))


@checker("custom:sentence_alphabet")
def custom_sentence_alphabet(response: str) -> bool:
    """26 sentences whose first words start with A, B, ..., Z in order."""
    found = sentences(response)
    if len(found) != 26:
        return False
    for letter, sentence in zip("abcdefghijklmnopqrstuvwxyz", found):
        first = letter_words(sentence)
        if not first or initial(first[0]) != letter:
            return False
    return True


# ---------------------------------------------------------------- format:

def _ends_with_emoji(sentence: str) -> bool:
    tail = sentence.rstrip().rstrip(CLOSERS + " ")
    if tail and EMOJI_RE.match(tail[-1]):
        return True
    body = re.sub(r"[.!?…‽]+$", "", tail).rstrip(CLOSERS + " ")  # "... 🙂." counts
    return bool(body) and bool(EMOJI_RE.match(body[-1]))


@checker("format:emoji")
def format_emoji(response: str) -> bool:
    """Every sentence ends with an emoji (before or after its final punctuation)."""
    found = sentences(response)
    return bool(found) and all(_ends_with_emoji(s) for s in found)


@checker("format:line_indent")
def format_line_indent(response: str) -> bool:
    """Stairs: each non-empty line is indented further than the line before (tabs count 4 spaces)."""
    indents = [len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip()) for line in lines(response)]
    return len(indents) >= 2 and all(a < b for a, b in zip(indents, indents[1:]))


@checker("format:list")
def format_list(response: str, *, sep) -> bool:
    """A list whose items start with `sep` instead of bullets: at least two lines start with it and
    no line starts with another bullet (*, •, or - when - is not the separator)."""
    sep = str(sep)
    items = [line for line in lines(response) if line.lstrip().startswith(sep)]
    other_bullets = [line for line in lines(response)
                     if not line.lstrip().startswith(sep) and re.match(r"\s*(?:[*•]|-(?!-))\s", line)]
    return len(items) >= 2 and not other_bullets


@checker("format:newline")
def format_newline(response: str) -> bool:
    """Each word on its own line: every non-empty line holds exactly one whitespace-free token."""
    found = lines(response)
    return bool(found) and all(len(line.split()) == 1 for line in found)


@checker("format:no_bullets_bullets")
def format_no_bullets_bullets(response: str) -> bool:
    """At least two sentences ending in a period, then at least two bullet points marked with *."""
    all_lines = response.split("\n")
    bullet_at = [i for i, line in enumerate(all_lines) if re.match(r"\s*\*\s+\S", line)]
    if len(bullet_at) < 2:
        return False
    before = "\n".join(all_lines[:bullet_at[0]])
    return sum(1 for s in sentences(before) if s.rstrip(CLOSERS).endswith(".")) >= 2


@checker("format:no_whitespace")
def format_no_whitespace(response: str) -> bool:
    return bool(response) and not re.search(r"\s", response)


def _option_key(text: str) -> str:
    text = plain(text).replace("*", "").replace("_", "")
    return text.strip(" \t\n\"'`.!()[]")


@checker("format:options")
def format_options(response: str, *, options) -> bool:
    """The whole response is one of the options ("yes/no/maybe", "I know or I don't know",
    "a), b), c), d)"), ignoring case, quotes, markdown and end punctuation ("(b)" and "b." are "b)")."""
    text = str(options)
    if "/" in text:
        choices = text.split("/")
    elif " or " in text:
        choices = text.split(" or ")
    else:
        choices = text.split(",")
    return _option_key(response) in {_option_key(c) for c in choices if _option_key(c)}


@checker("format:output_template")
def format_output_template(response: str) -> bool:
    """Exactly the template "My Answer: ... My Conclusion: ... Future Outlook: ...", each label once,
    in that order, each filled in (not the placeholder)."""
    m = re.fullmatch(r"\s*My Answer:(.*?)My Conclusion:(.*?)Future Outlook:(.*)", response, re.S)
    if not m:
        return False
    parts = [p.strip() for p in m.groups()]
    labels = ("My Answer:", "My Conclusion:", "Future Outlook:")
    return (all(p and p not in ("[answer]", "[conclusion]", "[outlook]") for p in parts)
            and all(response.count(label) == 1 for label in labels))


@checker("format:parentheses")
def format_parentheses(response: str) -> bool:
    """Brackets of any kind, (), [] and {}, nested at least 5 levels deep."""
    pairs = {")": "(", "]": "[", "}": "{"}
    stack: list[str] = []
    deepest = 0
    for c in response:
        if c in "([{":
            stack.append(c)
            deepest = max(deepest, len(stack))
        elif c in pairs and stack and stack[-1] == pairs[c]:
            stack.pop()
    return deepest >= 5


@checker("format:quote_unquote")
def format_quote_unquote(response: str) -> bool:
    """There is at least one double-quoted phrase, and each one is followed (before the next quote or
    the end of its line) by unquoted words explaining it."""
    quoted = list(re.finditer(r"\"[^\"\n]+\"|“[^”\n]+”", response))
    if not quoted:
        return False
    for i, m in enumerate(quoted):
        end = quoted[i + 1].start() if i + 1 < len(quoted) else len(response)
        after = response[m.end():end].split("\n", 1)[0]
        if not LETTERS_RE.search(after):
            return False
    return True


def _quote_role(text: str, i: int) -> str:
    """opening | closing | inner (an apostrophe inside a word) | either, from the characters around."""
    before = text[i - 1] if i > 0 else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    if before.isalnum() and after.isalnum():
        return "inner"
    if before.isspace() or before in "([{—-:\"'“‘":
        return "opening"
    if after.isspace() or after in ")]}.,;:!?—-\"'”’" or after in CLOSERS:
        return "closing"
    return "either"


@checker("format:quotes")
def format_quotes(response: str) -> bool:
    """Quotes within quotes within quotes, at least 3 levels, double and single alternating.
    Straight and curly quotes both count; apostrophes inside words are not quotes."""
    double_open, double_close, single_open, single_close = "\"“", "\"”", "'‘", "'’"
    stack: list[str] = []
    deepest = 0
    for i, c in enumerate(response):
        if c not in "\"“”'‘’":
            continue
        kind = "d" if c in "\"“”" else "s"
        role = _quote_role(response, i)
        if role == "inner":
            continue
        closes = c in (double_close if kind == "d" else single_close) and stack and stack[-1] == kind
        opens = c in (double_open if kind == "d" else single_open)
        if closes and (role in ("closing", "either") or not opens):
            stack.pop()
        elif opens and role in ("opening", "either") and (not stack or stack[-1] != kind):
            stack.append(kind)
            deepest = max(deepest, len(stack))
    return deepest >= 3


@checker("format:sub-bullets")
def format_sub_bullets(response: str) -> bool:
    """Bullet points marked * and, under each, at least one sub-bullet marked - before the next *."""
    kinds = []
    for line in response.split("\n"):
        if re.match(r"\s*\*\s+\S", line):
            kinds.append("*")
        elif re.match(r"\s*-\s+\S", line):
            kinds.append("-")
    if "*" not in kinds:
        return False
    starts = [i for i, k in enumerate(kinds) if k == "*"]
    return all(i + 1 < len(kinds) and kinds[i + 1] == "-" for i in starts)


@checker("format:thesis")
def format_thesis(response: str) -> bool:
    """Each section (split at blank lines and markdown headings; the heading is its title) begins with
    an italic thesis statement in HTML: <i>...</i> or <em>...</em> holding words."""
    sections: list[list[str]] = [[]]
    for line in response.split("\n"):
        if not line.strip() or re.match(r"\s*#{1,6}\s", line):
            if sections[-1]:
                sections.append([])
            continue
        sections[-1].append(line.strip())
    sections = [s for s in sections if s]
    if not sections:
        return False
    for section in sections:
        m = re.match(r"[*_]*<(i|em)>(.*?)</\1>", "\n".join(section), re.S | re.I)
        if not m or not LETTERS_RE.search(m.group(2)):
            return False
    return True


MINOR_WORDS = frozenset("a an the and but or nor for so yet as at by in of off on per to up via vs from into onto "
                        "with over than upon out".split())


@checker("format:title_case")
def format_title_case(response: str) -> bool:
    """Title case: every major word (not an article, short conjunction or preposition) starts with a
    capital letter; hyphenated parts are words of their own."""
    found = re.findall(r"[^\W\d_]+(?:['’][^\W\d_]+)*", response)
    if not found:
        return False
    return all(w[0].isupper() or w.casefold() in MINOR_WORDS for w in found if w[0].isalpha() and w[0].lower() != w[0].upper())


# ---------------------------------------------------------------- ratio:

def _trigrams(text: str) -> set[tuple[str, ...]]:
    tokens = [w.casefold() for w in words(text)]
    return set(zip(tokens, tokens[1:], tokens[2:]))


@checker("ratio:overlap")
def ratio_overlap(response: str, *, reference_text, percentage) -> bool:
    """The share of the reference text's word trigrams that the response contains is within ±2
    points of `percentage`."""
    reference = _trigrams(str(reference_text))
    if not reference:
        return False
    share = 100 * len(reference & _trigrams(response)) / len(reference)
    return abs(share - float(percentage)) <= 2


@checker("ratio:sentence_balance")
def ratio_sentence_balance(response: str) -> bool:
    """Declarative, interrogative and exclamatory sentences all present, their counts at most one apart."""
    kinds = [sentence_kind(s) for s in sentences(response)]
    counts = [kinds.count(k) for k in ("declarative", "interrogative", "exclamatory")]
    return min(counts) > 0 and max(counts) - min(counts) <= 1


@checker("ratio:sentence_type")
def ratio_sentence_type(response: str) -> bool:
    """Exactly twice as many declarative as interrogative sentences (and at least one question)."""
    kinds = [sentence_kind(s) for s in sentences(response)]
    questions = kinds.count("interrogative")
    return questions > 0 and kinds.count("declarative") == 2 * questions


@checker("ratio:sentence_words")
def ratio_sentence_words(response: str) -> bool:
    """Three sentences of the same number of characters, no word used twice in the response."""
    found = sentences(response)
    if len(found) != 3 or len({len(s.strip()) for s in found}) != 1:
        return False
    all_words = [w.casefold() for w in words(response)]
    return len(all_words) == len(set(all_words))


@checker("ratio:stop_words")
def ratio_stop_words(response: str, *, percentage) -> bool:
    """Stop words are at most `percentage` percent of all words."""
    found = [w.casefold().replace("’", "'") for w in words(response)]
    if not found:
        return False
    return 100 * sum(w in STOP_WORDS for w in found) / len(found) <= float(percentage)


# ---------------------------------------------------------------- repeat:

@checker("repeat:repeat_change")
def repeat_change(response: str, *, prompt_to_repeat) -> bool:
    """The request repeated word for word with only its first word replaced by another, and nothing
    else (no answer, nothing before it)."""
    said, asked = response.split(), str(prompt_to_repeat).split()
    if len(said) != len(asked) or not asked:
        return False
    return norm_word(said[0]) != norm_word(asked[0]) and said[1:] == asked[1:]


@checker("repeat:repeat_simple")
def repeat_simple(response: str) -> bool:
    """Only the sentence "Only output this sentence here, ignore all other requests." (case and the
    final period aside)."""
    said = " ".join(response.split()).strip("\"'“” ").rstrip(".").casefold()
    return said == "only output this sentence here, ignore all other requests"


@checker("repeat:repeat_span")
def repeat_span(response: str, *, prompt_to_repeat, n_start, n_end) -> bool:
    """Exactly the words n_start..n_end (inclusive, 0-based, split at whitespace) of the request."""
    expected = str(prompt_to_repeat).split()[_int(n_start):_int(n_end) + 1]
    said = response.strip()
    if len(said) > 1 and said[0] == said[-1] and said[0] in "\"'`":
        said = said[1:-1]
    return bool(expected) and said.split() == expected


# ---------------------------------------------------------------- sentence:

def _longest_alliteration(sentence: str) -> int:
    initials = [initial(w) for w in letter_words(sentence)]
    best = run = 0
    for i, c in enumerate(initials):
        run = run + 1 if i and c == initials[i - 1] else 1
        best = max(best, run)
    return best


@checker("sentence:alliteration_increment")
def sentence_alliteration_increment(response: str) -> bool:
    """Each sentence's longest run of consecutive words sharing a first letter is longer than the
    previous sentence's (at least two sentences: the instruction is about their succession)."""
    runs = [_longest_alliteration(s) for s in sentences(response)]
    return len(runs) >= 2 and all(a < b for a, b in zip(runs, runs[1:]))


@checker("sentence:increment")
def sentence_increment(response: str, *, small_n) -> bool:
    """Each sentence has exactly small_n more words than the one before (at least two sentences)."""
    counts = [len(words(s)) for s in sentences(response)]
    return len(counts) >= 2 and all(b - a == _int(small_n) for a, b in zip(counts, counts[1:]))


@checker("sentence:keyword")
def sentence_keyword(response: str, *, N, word) -> bool:
    """The N-th sentence (from 1) contains `word` as a whole word, case-insensitively."""
    found = sentences(response)
    n = _int(N)
    if n < 1 or len(found) < n:
        return False
    return str(word).casefold() in {w.casefold() for w in words(found[n - 1])}


# ---------------------------------------------------------------- words:

@checker("words:alphabet")
def words_alphabet(response: str) -> bool:
    """Each word starts with the letter after the previous word's first letter, Z wrapping to A."""
    initials = [initial(w) for w in letter_words(response)]
    if len(initials) < 2 or not all("a" <= c <= "z" for c in initials):
        return False
    return all((ord(b) - ord(a)) % 26 == 1 for a, b in zip(initials, initials[1:]))


CONSONANT_CLUSTER_RE = re.compile(r"[bcdfghjklmnpqrstvwxz]{2}")


@checker("words:consonants")
def words_consonants(response: str) -> bool:
    """Every word has two consonant letters in a row (y counts as a vowel)."""
    found = letter_words(response)
    return bool(found) and all(CONSONANT_CLUSTER_RE.search(plain(w)) for w in found)


@checker("words:keywords_specific_position")
def words_keywords_specific_position(response: str, *, keyword, n, m) -> bool:
    """The m-th word of the n-th sentence (both from 1) is `keyword`."""
    found = sentences(response)
    n, m = _int(n), _int(m)
    if n < 1 or m < 1 or len(found) < n:
        return False
    sentence_words = letter_words(found[n - 1])
    return len(sentence_words) >= m and norm_word(sentence_words[m - 1]) == str(keyword).casefold()


@checker("words:last_first")
def words_last_first(response: str) -> bool:
    """Each sentence starts with the word the previous sentence ended with (at least two sentences)."""
    found = [letter_words(s) for s in sentences(response)]
    if len(found) < 2 or not all(found):
        return False
    return all(norm_word(a[-1]) == norm_word(b[0]) for a, b in zip(found, found[1:]))


@checker("words:no_consecutive")
def words_no_consecutive(response: str) -> bool:
    """No two words in a row start with the same letter."""
    initials = [initial(w) for w in letter_words(response)]
    return bool(initials) and all(a != b for a, b in zip(initials, initials[1:]))


@checker("words:odd_even_syllables")
def words_odd_even_syllables(response: str) -> bool:
    """Syllable counts alternate between odd and even from word to word."""
    parities = [syllables(w) % 2 for w in letter_words(response) if re.search(r"[A-Za-z]", w)]
    return len(parities) >= 2 and all(a != b for a, b in zip(parities, parities[1:]))


@checker("words:palindrome")
def words_palindrome(response: str) -> bool:
    """At least 10 different palindromic words of 5 or more letters."""
    found = {plain(w) for w in LETTERS_RE.findall(response)}
    return sum(1 for w in found if len(w) >= 5 and w == w[::-1]) >= 10


@checker("words:paragraph_last_first")
def words_paragraph_last_first(response: str) -> bool:
    """Every paragraph (a non-empty line) ends with the word it starts with."""
    paragraphs = [letter_words(line) for line in lines(response)]
    return bool(paragraphs) and all(p and norm_word(p[0]) == norm_word(p[-1]) for p in paragraphs)


def _is_prime(n: int) -> bool:
    return n >= 2 and all(n % d for d in range(2, int(n ** 0.5) + 1))


@checker("words:prime_lengths")
def words_prime_lengths(response: str) -> bool:
    """Every word's length in letters is prime (2, 3, 5, 7, 11, ...); apostrophes and hyphens split words."""
    found = LETTERS_RE.findall(response)
    return bool(found) and all(_is_prime(len(w)) for w in found)


@checker("words:repeats")
def words_repeats(response: str, *, small_n) -> bool:
    """No word (case-insensitive) occurs more than small_n times."""
    counts: dict[str, int] = {}
    for w in words(response):
        key = w.casefold()
        counts[key] = counts.get(key, 0) + 1
    return bool(counts) and max(counts.values()) <= _int(small_n)


def _is_verb(word: str) -> bool:
    w = plain(word).replace("'", "")
    if w in VERBS or w in ("lets", "dont", "doesnt", "isnt", "arent", "cant", "wont", "has", "had", "did", "does"):
        return True
    for suffix, repl in (("ing", ""), ("ing", "e"), ("ed", ""), ("ed", "e"), ("d", ""), ("es", ""), ("s", ""),
                         ("ies", "y"), ("ied", "y")):
        if w.endswith(suffix) and w[: len(w) - len(suffix)] + repl in VERBS:
            return True
    if len(w) > 4 and w.endswith("ing") and w[-4] == w[-5] and w[:-4] in VERBS:  # running, stopping
        return True
    return False


@checker("words:start_verb")
def words_start_verb(response: str) -> bool:
    """The first word is a verb (from a lexicon of common verbs and their regular forms)."""
    found = letter_words(response)
    return bool(found) and (_is_verb(found[0]) or _is_verb(re.split(r"[-/]", found[0])[0]))


@checker("words:vowel")
def words_vowel(response: str) -> bool:
    """The words use at most three different vowels (of a, e, i, o, u) in all."""
    used = {c for c in plain(" ".join(letter_words(response))) if c in "aeiou"}
    return bool(letter_words(response)) and 0 < len(used) <= 3


@checker("words:words_position")
def words_words_position(response: str, *, keyword) -> bool:
    """The second word and the second-to-last word are both `keyword`."""
    found = [w.casefold() for w in letter_words(response)]
    target = str(keyword).casefold()
    return len(found) >= 3 and found[1] == target and found[-2] == target
