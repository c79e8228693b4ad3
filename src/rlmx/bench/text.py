"""Haystack text: RULER's noise block, a generated essay corpus, and the other essay-like sources below.

The essay corpus is prose from a small seeded grammar over embedded word lists; it never contains the words
"special", "magic", digits or UUIDs, so an S-NIAH needle is the only one of its kind in a haystack.
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
import textwrap
from functools import lru_cache

from rlmx.bench.niah import _OBJECTS, _SUBJECTS, _TAILS, _VERBS
from rlmx.errors import InputError

NOISE_SENTENCES = (
    "The grass is green.",
    "The sky is blue.",
    "The sun is yellow.",
    "Here we go.",
    "There and back again.",
)

_OPENERS = (
    "In the long run,",
    "As it happens,",
    "Most of the time,",
    "Oddly enough,",
    "By the end of the season,",
    "Looking back,",
    "For a while,",
    "Without any doubt,",
    "In those years,",
    "Every so often,",
)
_CLAUSES = (
    "people remember what they built more than what they said",
    "the best plans were the ones nobody wrote down",
    "a small town learns to trust its slowest workers",
    "nobody could explain why the road turned north",
    "the hardest part of any trade is knowing when to stop",
    "good tools outlast the reasons they were made",
    "the quiet neighbors knew more than the loud ones",
    "it is easier to start a garden than to keep one",
    "most arguments were about the weather in the end",
    "the old songs changed a little every winter",
    "a careful reader notices what a hurried one skips",
    "the river decided more things than the council did",
)

ADJECTIVES = (
    "amber azure bitter brave brisk calm clever crimson curly dusty eager fancy fierce fluffy fragile gentle "
    "gloomy golden grumpy hollow humble icy jolly keen lively lucky mellow misty modest nimble noisy odd "
    "pale plucky proud quaint quiet rapid rusty salty shiny silent sleepy smoky snowy sour spicy steady "
    "stormy sturdy sunny swift tame tender tidy tiny vivid wary witty woolly zesty"
).split()
NOUNS = (
    "anchor apricot badger banjo barrel beacon beetle blanket bottle bramble candle canyon carpet castle "
    "cedar chimney clover comet compass cottage cricket dolphin donkey falcon feather ferret fiddle garden "
    "glacier goblet harbor hammer helmet heron island jackal kettle lantern lemon lizard locket magnet "
    "meadow mitten monkey needle orchard otter paddle parrot pebble pepper pillow pigeon quarry rabbit "
    "ribbon saddle scarf shovel spider spoon squirrel teapot thimble tiger tulip turnip violin walrus "
    "wagon whistle willow"
).split()

ESSAY_SENTENCES = 20_000


@lru_cache(maxsize=1)
def essay_corpus() -> tuple[str, ...]:
    """20,000 sentences of generated prose in paragraphs (a paragraph break is a sentence ending in a newline)."""
    rng = random.Random("rlmx-bench-essay-corpus-v1")
    out: list[str] = []
    while len(out) < ESSAY_SENTENCES:
        for _ in range(rng.randint(3, 7)):
            if rng.random() < 0.5:
                s = f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)} {rng.choice(_TAILS)}."
            else:
                s = f"{rng.choice(_OPENERS)} {rng.choice(_CLAUSES)}."
            out.append(s + " ")
        out[-1] = out[-1][:-1] + "\n"
    return tuple(out[:ESSAY_SENTENCES])


def sentences(source: str, chars: int, rng: random.Random) -> list[str]:
    """Sentences (each with its trailing space or newline) from `source` ("noise" or one of HAYSTACK_SOURCES),
    read in order from a seeded start and wrapping around, until they add up to at least `chars` characters."""
    if source == "noise":
        pool: tuple[str, ...] = tuple(s + " " for s in NOISE_SENTENCES)
        start = 0
    else:
        pool = corpus(source)
        start = rng.randrange(len(pool))
    size = sum(map(len, pool))
    rounds, _ = divmod(chars, size)
    rotated = pool[start:] + pool[:start]
    out = list(rotated) * rounds
    total = size * rounds
    for sentence in rotated:
        if total >= chars:
            break
        out.append(sentence)
        total += len(sentence)
    slack = max(40, chars // 200)  # a long last sentence (pydoc, markov) is cut so the size stays within 0.5%
    if out and total - chars > slack:
        keep = len(out[-1]) - (total - chars)
        out[-1] = out[-1][: max(1, keep - 2)].rstrip() + ".\n"
    return out


HAYSTACK_SOURCES = ("essay", "markov", "pydoc", "mixed", "kjv")
"""Essay-like haystacks: `essay` (our grammar), `pydoc` (the running Python's own documentation topics,
`pydoc_data.topics`, PSF licence, installed with every CPython), `markov` (an order-2 word chain trained on
essay + pydoc, our own generated text), `mixed` (paragraphs of the three interleaved) and `kjv` (the King James
Bible from Debian's bible-kjv, public domain, only where `bible` is installed)."""

_UNSAFE = re.compile(r"\d{5}|[0-9a-fA-F]{8}|magic", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")


def _clean_paragraphs(text: str) -> list[list[str]]:
    """Prose paragraphs of `text` as lists of sentences: indented (code / grammar) lines, headings, list and
    table lines dropped; sentences that could look like a needle (5+ digits, hex runs, "magic")
    dropped, so a needle stays the only one of its kind."""
    out: list[list[str]] = []
    for block in re.split(r"\n\s*\n", text):
        lines = textwrap.dedent(block).strip("\n").split("\n")  # indented prose (method descriptions) is kept
        if any(line.startswith((" ", "\t", "*", "-", "=", "+", "|", ">")) or "::=" in line for line in lines):
            continue
        prose = " ".join(line.strip() for line in lines)
        if len(prose) < 60 or not prose.endswith((".", "!", "?")):
            continue
        kept = [s for s in _SENTENCE_END.split(prose) if 20 <= len(s) <= 400 and not _UNSAFE.search(s)]
        if kept:
            out.append(kept)
    return out


def _paragraphs_to_pool(paragraphs: list[list[str]]) -> tuple[str, ...]:
    pool: list[str] = []
    for para in paragraphs:
        pool.extend(s + " " for s in para[:-1])
        pool.append(para[-1] + "\n")
    return tuple(pool)


@lru_cache(maxsize=1)
def pydoc_corpus() -> tuple[str, ...]:
    """Prose sentences of the running Python's documentation topics (sorted by topic name, so the order is fixed
    for a given Python version)."""
    from pydoc_data.topics import topics

    paragraphs: list[list[str]] = []
    for name in sorted(topics):
        paragraphs.extend(_clean_paragraphs(topics[name]))
    return _paragraphs_to_pool(paragraphs)


MARKOV_SENTENCES = 20_000


@lru_cache(maxsize=1)
def markov_corpus() -> tuple[str, ...]:
    """20,000 sentences from an order-2 word Markov chain over the essay and pydoc sentences, seeded; the chain's
    table is built in a fixed order (lists, never set iteration), so the text is the same on every run."""
    training = [s.strip() for s in essay_corpus()[:1000]] + [s.strip() for s in pydoc_corpus()]
    chain: dict[tuple[str, str], list[str]] = {}
    starts: list[tuple[str, str]] = []
    for sentence in training:
        words = sentence.split()
        if len(words) < 4:
            continue
        starts.append((words[0], words[1]))
        for a, b, c in zip(words, words[1:], words[2:], strict=False):
            chain.setdefault((a, b), []).append(c)
    rng = random.Random("rlmx-bench-markov-corpus-v1")
    out: list[str] = []
    while len(out) < MARKOV_SENTENCES:
        for _ in range(rng.randint(3, 7)):
            while True:
                a, b = rng.choice(starts)
                words = [a, b]
                while not words[-1].endswith((".", "!", "?")) and len(words) < 40:
                    follow = chain.get((words[-2], words[-1]))
                    if not follow:
                        break
                    words.append(rng.choice(follow))
                sentence = " ".join(words).rstrip(",;:")
                if not sentence.endswith((".", "!", "?")):
                    sentence += "."
                if len(words) >= 6 and not _UNSAFE.search(sentence):
                    break
            out.append(sentence + " ")
        out[-1] = out[-1][:-1] + "\n"
    return tuple(out[:MARKOV_SENTENCES])


@lru_cache(maxsize=1)
def kjv_corpus() -> tuple[str, ...]:
    """The King James Bible through Debian bible-kjv's `bible` command, verse references stripped, one chapter a
    paragraph. Raises InputError when the command is not installed."""
    exe = shutil.which("bible")
    if exe is None:
        raise InputError("haystack_source 'kjv' needs the Debian package bible-kjv (apt-get install bible-kjv)")
    try:
        done = subprocess.run([exe, "-f", "Gen1:1-Rev22:21"], capture_output=True, text=True, timeout=120, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        raise InputError(f"haystack_source 'kjv': running {exe} failed ({exc})") from None
    verses = [re.sub(r"^\s*[\w ]*\d+:\d+\s*", "", line).strip() for line in done.stdout.splitlines()]
    sentences_ = [v for v in verses if v and not _UNSAFE.search(v)]
    pool = [s + " " for s in sentences_]
    for i in range(29, len(pool), 30):
        pool[i] = pool[i][:-1] + "\n"
    return tuple(pool)


@lru_cache(maxsize=1)
def mixed_corpus() -> tuple[str, ...]:
    """Paragraphs of essay, markov and pydoc interleaved in turn (round robin), until all three are used up."""
    sources = [_split_paragraphs(essay_corpus()), _split_paragraphs(markov_corpus()), _split_paragraphs(pydoc_corpus())]
    out: list[str] = []
    for i in range(max(map(len, sources))):
        for paras in sources:
            if i < len(paras):
                out.extend(paras[i])
    return tuple(out)


def _split_paragraphs(pool: tuple[str, ...]) -> list[tuple[str, ...]]:
    paras: list[tuple[str, ...]] = []
    start = 0
    for i, sentence in enumerate(pool):
        if sentence.endswith("\n"):
            paras.append(pool[start : i + 1])
            start = i + 1
    return paras


def corpus(source: str) -> tuple[str, ...]:
    """The sentence pool of an essay-like haystack source (HAYSTACK_SOURCES). Raises InputError for others."""
    makers = {
        "essay": essay_corpus,
        "markov": markov_corpus,
        "pydoc": pydoc_corpus,
        "mixed": mixed_corpus,
        "kjv": kjv_corpus,
    }
    if source not in makers:
        raise InputError(f"haystack_source must be one of {', '.join(HAYSTACK_SOURCES)}, not {source!r}")
    return makers[source]()
