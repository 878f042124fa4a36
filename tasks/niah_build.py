"""Builds NIAH prompts that fill an exact token budget, fast enough for one million tokens.

The haystack (a stream of sentences, or of distractor-needle lines) is tokenized ONCE: each distinct
piece is counted as it appears in the text, leading separator included. A prompt then picks its
number of pieces by binary search on the prefix sums of those counts, inserts the needles at piece
boundaries, and counts its exact tokens without re-tokenizing a million of them: the haystack's
text was checked ONCE to hold exactly the sum of its pieces' tokens (true of byte-level BPE, whose
pre-tokenizer splits before " Word" and "\n" anyway), so only the junctions that differ per prompt
(chat template + question head, each needle, question tail) are tokenized, each in a small window
that reaches into the haystack on both sides. A tokenizer that fails the one-time check gets the
whole prompt tokenized instead (`token_check="full"`: ~2-5 s per 1M-token prompt on two cores).
"""
from __future__ import annotations

import random
import re
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from evalsuite.errors import UserError

WORDS_FILE = Path(__file__).resolve().parent / "samples" / "niah_words.txt"
NOISE_BLOCK = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again."
PROSE_SEP = " "  # between sentences of the noise and essay haystacks
LINE_SEP = "\n"  # between the lines of the needle haystack
ENCODE_BATCH = 4096  # texts per tokenizer call when counting pieces


# ---------------------------------------------------------------- words, keys, values


@lru_cache(maxsize=1)
def word_lists() -> dict[str, tuple[str, ...]]:
    """The sections of tasks/samples/niah_words.txt: adjectives, nouns, verbs, adverbs."""
    sections: dict[str, list[str]] = {}
    current = None
    for line in WORDS_FILE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            current = line.strip("[]")
            sections[current] = []
        elif current is not None:
            sections[current].extend(line.split())
    return {name: tuple(words) for name, words in sections.items()}


def word_key_space() -> int:
    words = word_lists()
    return len(words["adjectives"]) * len(words["nouns"])


def word_key(index: int) -> str:
    """The index-th adjective-noun key of the key space ("quiet-harbor")."""
    words = word_lists()
    adjective, noun = divmod(index, len(words["nouns"]))
    return f"{words['adjectives'][adjective]}-{words['nouns'][noun]}"


def random_number(rng: random.Random) -> str:
    return str(rng.randint(1_000_000, 9_999_999))  # 7 digits


def random_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def distinct_keys(rng: random.Random, kind: str, count: int) -> list[str]:
    if kind == "words":
        return [word_key(i) for i in rng.sample(range(word_key_space()), count)]
    return [random_uuid(rng) for _ in range(count)]


def random_value(rng: random.Random, kind: str) -> str:
    return random_number(rng) if kind == "numbers" else random_uuid(rng)


def needle_text(value_kind: str, key: str, value: str) -> str:
    return f"One of the special magic {value_kind} for {key} is: {value}."


# ---------------------------------------------------------------- generated prose


_PROSE_TEMPLATES = (
    "The {adj} {noun} {verb} the {adj2} {noun2} near the {noun3}.",
    "Every {noun} in the {adj} {noun2} was {verb} {adverb} by the {noun3}.",
    "When the {noun} {verb} the {noun2}, the {adj} {noun3} waited {adverb}.",
    "A {adj} {noun} {adverb} {verb} an old {noun2} beside the {adj2} {noun3}.",
    "Nobody knew why the {noun} had {verb} the {adj} {noun2} before the {noun3} arrived.",
    "In the {adj} season, people {verb} the {noun} and spoke of the {adj2} {noun2}.",
    "Perhaps the {adj} {noun} is more {adj2} than the {noun2} ever was.",
    "She {verb} the {noun} {adverb}, and then the {adj} {noun2} {verb2} the {noun3}.",
    "Long after the {noun} was {verb}, the {adj} {noun2} still stood by the {noun3}.",
    "They {verb} a {adj} {noun} while the {noun2} {verb2} the {adj2} {noun3}.",
    "It is said that a {noun} {verb} {adverb} is worth a {adj} {noun2}.",
    "Beyond the {adj} {noun}, a {adj2} {noun2} {verb} the quiet {noun3}.",
    "How the {noun} {verb} the {adj} {noun2} remains a question for the {noun3}.",
    "Our {noun} {verb} the {adj} {noun2}, but the {noun3} {verb2} it {adverb}.",
)


def prose_sentences(seed: int, count: int) -> list[str]:
    """`count` varied English-like sentences from the project's own vocabulary (seeded): a haystack
    for the essay tasks that ships no one's copyrighted essays."""
    rng = random.Random(f"niah-prose/{seed}")
    words = word_lists()
    adjectives, nouns, verbs, adverbs = words["adjectives"], words["nouns"], words["verbs"], words["adverbs"]
    sentences = []
    for _ in range(count):
        sentence = rng.choice(_PROSE_TEMPLATES).format(
            adj=rng.choice(adjectives), adj2=rng.choice(adjectives), noun=rng.choice(nouns),
            noun2=rng.choice(nouns), noun3=rng.choice(nouns), verb=rng.choice(verbs),
            verb2=rng.choice(verbs), adverb=rng.choice(adverbs))
        sentences.append(sentence[0].upper() + sentence[1:])
    return sentences


_SENTENCE_END = re.compile(r"[.!?][\"')\]]*(?= [\"'(\[]?[A-Z0-9])")  # end mark, closing quotes, then a new start


def split_sentences(text: str) -> list[str]:
    """Sentences of free prose, whitespace collapsed (a needle goes between two of them)."""
    text = re.sub(r"\s+", " ", text).strip()
    sentences, start = [], 0
    for end in _SENTENCE_END.finditer(text):
        sentences.append(text[start:end.end()].strip())
        start = end.end()
    sentences.append(text[start:].strip())
    return [s for s in sentences if s]


def read_essays(sources: Sequence[str]) -> list[str]:
    """Sentences of the user's essay files (paths, directories of .txt files, or http(s) URLs)."""
    texts = []
    for source in sources:
        source = str(source)
        if source.startswith(("http://", "https://")):
            import urllib.request

            try:
                with urllib.request.urlopen(source, timeout=60) as response:
                    texts.append(response.read().decode("utf-8", errors="replace"))
            except Exception as e:
                raise UserError(f"cannot download essay {source}: {type(e).__name__}: {e}; "
                                f"download it yourself and list the local path in task.essay_files") from None
            continue
        path = Path(source).expanduser()
        files = sorted(path.rglob("*.txt")) if path.is_dir() else [path]
        if not path.exists() or not files:
            raise UserError(f"essay file not found: {path}; fix task.essay_files (files, directories of .txt "
                            f"files or URLs) or set task.essay_files=[] to use generated prose")
        texts.extend(f.read_text(encoding="utf-8", errors="replace") for f in files)
    sentences = [s for text in texts for s in split_sentences(text)]
    if not sentences:
        raise UserError(f"the essays in task.essay_files hold no text: {list(sources)}")
    return sentences


# ---------------------------------------------------------------- token counting


class TokenCounter:
    """Token counts of texts under a HF tokenizer, no special tokens added (a chat-templated prompt
    already holds the ones the model wants)."""

    def __init__(self, tokenizer: Any):
        self.tokenizer = tokenizer
        self.backend = getattr(tokenizer, "backend_tokenizer", None)  # the Rust tokenizer, if fast

    def counts(self, texts: Sequence[str]) -> list[int]:
        out: list[int] = []
        for start in range(0, len(texts), ENCODE_BATCH):
            batch = list(texts[start:start + ENCODE_BATCH])
            if self.backend is not None:
                encode = getattr(self.backend, "encode_batch_fast", self.backend.encode_batch)
                out.extend(len(e.ids) for e in encode(batch, add_special_tokens=False))
            else:
                out.extend(len(ids) for ids in self.tokenizer(batch, add_special_tokens=False)["input_ids"])
        return out

    def count(self, text: str) -> int:
        return self.counts([text])[0]


@dataclass(frozen=True)
class ChatFrame:
    """The chat-templated prompt around the user turn: prompt = prefix + user text + suffix."""

    prefix: str
    suffix: str
    prefix_tokens: int
    suffix_tokens: int

    @property
    def tokens(self) -> int:  # the template's own tokens (system prompt included)
        return self.prefix_tokens + self.suffix_tokens


def chat_frame(tokenizer: Any, system_prompt: str | None, model_cfg: Any, thinking: bool = False) -> ChatFrame:
    """Renders the chat once around a marker, the way the pipeline renders every prompt, so the fit
    counts the template and the system prompt too."""
    from evalsuite.render import build_messages, render_prompt

    marker = "NIAH-USER-TURN-7f3a"
    text = render_prompt(tokenizer, build_messages([{"role": "user", "content": marker}], system_prompt),
                         thinking, model_cfg)
    if text.count(marker) != 1:
        raise UserError(f"the chat template of {getattr(tokenizer, 'name_or_path', 'the tokenizer')} does not "
                        f"copy the user turn verbatim; set task.tokenizer to a tokenizer whose template does")
    prefix, suffix = text.split(marker)
    prefix_tokens, suffix_tokens = TokenCounter(tokenizer).counts([prefix, suffix])
    return ChatFrame(prefix, suffix, prefix_tokens, suffix_tokens)


# ---------------------------------------------------------------- haystacks


@dataclass
class Haystack:
    """Distinct pieces with their token counts, and the stream of piece indices a prompt reads from."""

    kind: str  # noise | essay | needle
    separator: str  # every piece starts with it
    pieces: list[str]
    piece_tokens: np.ndarray  # tokens of each piece, separator included
    stream: np.ndarray  # indices into pieces, in reading order, long enough for the largest length
    line_keys: dict[str, int] | None = None  # needle haystack: key -> its line, to drop gold keys
    cumulative: np.ndarray | None = None  # prefix sums of the stream's tokens

    def __post_init__(self):
        self.cumulative = np.cumsum(self.piece_tokens[self.stream])


def _repeated_stream(piece_tokens: np.ndarray, tokens_needed: int) -> np.ndarray:
    """Piece indices 0..n-1 repeated until they hold `tokens_needed` tokens."""
    per_round = int(piece_tokens.sum())
    rounds = 1 + -(-tokens_needed // max(per_round, 1))  # one spare round: the fit never runs off the end
    return np.tile(np.arange(len(piece_tokens)), rounds)


def prose_haystack(kind: str, sentences: list[str], counter: TokenCounter, tokens_needed: int) -> Haystack:
    pieces = [PROSE_SEP + s for s in sentences]
    piece_tokens = np.asarray(counter.counts(pieces), dtype=np.int64)
    return Haystack(kind, PROSE_SEP, pieces, piece_tokens, _repeated_stream(piece_tokens, tokens_needed))


def noise_haystack(counter: TokenCounter, tokens_needed: int) -> Haystack:
    return prose_haystack("noise", split_sentences(NOISE_BLOCK), counter, tokens_needed)


def essay_haystack(counter: TokenCounter, tokens_needed: int, essay_files: Sequence[str], seed: int) -> Haystack:
    """The user's essays, or generated prose (about 300K tokens of distinct sentences), repeated as
    needed for the largest length, as RULER repeats its essays."""
    if essay_files:
        return prose_haystack("essay", read_essays(essay_files), counter, tokens_needed)
    sentences = prose_sentences(seed, max(64, min(tokens_needed, 262_144) // 14))  # ~17 tokens a sentence
    return prose_haystack("essay", sentences, counter, tokens_needed)


def needle_haystack(counter: TokenCounter, tokens_needed: int, key_kind: str, value_kind: str, seed: int) -> Haystack:
    """Distractor needles, one per line, each with its own key (never a gold key: a prompt drops the
    line of any key it asks about) and random value. Grown until it holds `tokens_needed` tokens."""
    rng = random.Random(f"niah-distractors/{key_kind}/{value_kind}/{seed}")
    if key_kind == "words":
        key_order = iter(rng.sample(range(word_key_space()), word_key_space()))
    lines: list[str] = []
    keys: list[str] = []
    counts: list[int] = []
    total = 0
    while total < tokens_needed + 4096:  # spare lines: the fit never runs off the end
        batch_keys = []
        for _ in range(2048):
            if key_kind == "words":
                index = next(key_order, None)
                if index is None:
                    raise UserError(f"the needle haystack ran out of adjective-noun keys ({word_key_space()}) "
                                    f"before {tokens_needed} tokens; use a smaller task.length")
                batch_keys.append(word_key(index))
            else:
                batch_keys.append(random_uuid(rng))
        batch_lines = [LINE_SEP + needle_text(value_kind, k, random_value(rng, value_kind)) for k in batch_keys]
        batch_counts = counter.counts(batch_lines)
        keys += batch_keys
        lines += batch_lines
        counts += batch_counts
        total += sum(batch_counts)
    return Haystack("needle", LINE_SEP, lines, np.asarray(counts, dtype=np.int64), np.arange(len(lines)),
                    line_keys={k: i for i, k in enumerate(keys)})


# ---------------------------------------------------------------- fitting one prompt


@dataclass(frozen=True)
class Needle:
    text: str  # "One of the special magic numbers for quiet-harbor is: 1234567."
    depth: int  # percent of the haystack before it, 0..100


@dataclass
class FittedPrompt:
    user_text: str
    prompt_tokens: int  # exact tokens of the chat-templated prompt
    haystack_pieces: int  # sentences (or lines) of haystack used


def haystack_is_additive(counter: TokenCounter, haystack: Haystack, tokens_needed: int) -> bool:
    """One tokenization of the haystack text a prompt of `tokens_needed` tokens uses: does it hold
    exactly the sum of its pieces' tokens? Then every haystack-haystack boundary is neutral and a
    prompt only needs its other junctions (template, needles) tokenized."""
    n = min(len(haystack.stream), int(np.searchsorted(haystack.cumulative, tokens_needed, side="left")) + 1)
    text = "".join(haystack.pieces[i] for i in haystack.stream[:n].tolist())
    return counter.count(text) == int(haystack.cumulative[n - 1])


def _assemble(haystack: Haystack, stream: np.ndarray, n: int, needles: Sequence[Needle],
              needle_tokens: Sequence[int]) -> tuple[list[str], list[int], list[int]]:
    """The context as pieces (each starting with the separator) with their token counts: n haystack
    pieces, each needle inserted before haystack piece round(n * depth / 100). Also the needles'
    positions in that list."""
    picked = stream[:n]
    texts = [haystack.pieces[i] for i in picked.tolist()]
    counts = haystack.piece_tokens[picked].tolist()
    # insert from the back so earlier positions stay valid; needles at one position keep their order
    order = sorted(range(len(needles)), key=lambda k: (round(n * needles[k].depth / 100), k), reverse=True)
    for k in order:
        position = round(n * needles[k].depth / 100)
        texts.insert(position, haystack.separator + needles[k].text)
        counts.insert(position, needle_tokens[k])
    positions, seen = [], 0
    for k in sorted(order, key=lambda k: (round(n * needles[k].depth / 100), k)):
        positions.append(round(n * needles[k].depth / 100) + seen)
        seen += 1
    return texts, counts, positions


def _junction_correction(counter: TokenCounter, frame: ChatFrame, texts: list[str], counts: list[int],
                         special: list[int], head: str, tail: str, separator: str) -> int:
    """Tokens the junctions add or save against the sum of the parts: each needle, the opening (chat
    prefix, head, first piece) and the close (last piece, tail, chat suffix) is tokenized inside a
    window that reaches one haystack piece to each side; the windows' own edges are then plain
    haystack boundaries, which the one-time check found neutral."""
    last = len(texts) - 1
    spans: list[list[int]] = []
    for i in sorted({0, last, *special}):
        a, b = max(0, i - 1), min(last, i + 1)
        if spans and a <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], b)
        else:
            spans.append([a, b])
    windows, known = [], []
    for a, b in spans:
        body = "".join(texts[a:b + 1])
        expected = sum(counts[a:b + 1])
        if a == 0:
            body = frame.prefix + head + body[len(separator):]
            expected += frame.prefix_tokens + counter.count(head)
        if b == last:
            body = body + tail + frame.suffix
            expected += counter.count(tail) + frame.suffix_tokens
        windows.append(body)
        known.append(expected)
    return sum(counter.counts(windows)) - sum(known)


def fit_prompt(counter: TokenCounter, frame: ChatFrame, haystack: Haystack, needles: Sequence[Needle],
               head: str, tail: str, prompt_budget: int, *, stream: np.ndarray | None = None,
               cumulative: np.ndarray | None = None, token_check: str = "windows", what: str = "",
               new_tokens: int = 0) -> FittedPrompt:
    """The longest prompt `frame.prefix + head + context + tail + frame.suffix` whose tokens stay within
    `prompt_budget`; the context is haystack pieces with the needles at their depths.

    token_check: `windows` counts the exact tokens from the parts plus tokenized junction windows
    (valid once `haystack_is_additive`); `full` tokenizes the whole prompt (seconds at 1M)."""
    stream = haystack.stream if stream is None else stream
    cumulative = haystack.cumulative if cumulative is None else cumulative
    needle_tokens = counter.counts([haystack.separator + n.text for n in needles])
    fixed = frame.tokens + sum(counter.counts([head, tail])) + sum(needle_tokens)
    budget = prompt_budget - fixed
    if budget < int(haystack.piece_tokens.max()):
        raise UserError(f"task.length is too small for {what}: the template, question and needles alone take "
                        f"{fixed} tokens, {new_tokens} more are kept for the answer, and at least one piece of "
                        f"haystack must fit; use task.length >= {fixed + new_tokens + 256}")
    for _ in range(8):
        n = int(np.searchsorted(cumulative, budget, side="right"))
        if n >= len(stream):
            raise UserError(f"internal: the {haystack.kind} haystack is shorter than the prompt needs ({what})")
        texts, counts, positions = _assemble(haystack, stream, n, needles, needle_tokens)
        user_text = head + "".join(texts)[len(haystack.separator):] + tail  # the context opens after head's newline
        if token_check == "full":
            tokens = counter.count(frame.prefix + user_text + frame.suffix)
        else:
            tokens = (frame.tokens + sum(counter.counts([head, tail])) + sum(counts)
                      + _junction_correction(counter, frame, texts, counts, positions, head, tail, haystack.separator))
        if tokens <= prompt_budget:
            return FittedPrompt(user_text, tokens, n)
        budget -= tokens - prompt_budget  # a junction cost more than the sums said: shrink and refit
    raise UserError(f"internal: could not fit {what} into {prompt_budget} tokens")
