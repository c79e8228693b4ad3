"""Haystack text of our own: RULER's noise block and a generated essay corpus (no outside data).

The essay corpus is prose from a small seeded grammar over embedded word lists; it never contains the words
"special", "magic", digits or UUIDs, so an S-NIAH needle is the only one of its kind in a haystack.
"""

from __future__ import annotations

import random
from functools import lru_cache

from rlmx.bench.niah import _OBJECTS, _SUBJECTS, _TAILS, _VERBS

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
    """Sentences (each with its trailing space or newline) from `source` ("noise" or "essay"), read in order
    from a seeded start and wrapping around, until they add up to at least `chars` characters."""
    if source == "noise":
        pool: tuple[str, ...] = tuple(s + " " for s in NOISE_SENTENCES)
        start = 0
    else:
        pool = essay_corpus()
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
    return out
