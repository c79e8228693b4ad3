"""S-NIAH-style haystacks: deterministic filler prose with one needle sentence at a chosen depth.

The filler is built from a fixed vocabulary that never contains the needle's key words, so a lookup question
about the needle has exactly one right answer in the text.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

_SUBJECTS = (
    "The harbor committee",
    "A quiet orchard keeper",
    "The northern ferry",
    "Every market vendor",
    "The old lighthouse crew",
    "A traveling violinist",
    "The river council",
    "Most of the weavers",
    "The mountain school",
    "A retired cartographer",
    "The village bakery",
    "Several fishermen",
    "The museum curator",
    "A young gardener",
    "The railway guild",
    "The winter choir",
)
_VERBS = (
    "discussed",
    "repaired",
    "painted",
    "measured",
    "described",
    "collected",
    "planned",
    "delayed",
    "celebrated",
    "inspected",
    "recorded",
    "borrowed",
    "carried",
    "sorted",
    "admired",
    "questioned",
)
_OBJECTS = (
    "the eastern bridge",
    "a basket of pears",
    "the spring festival",
    "the copper kettles",
    "a map of the coast",
    "the wooden benches",
    "an unusual storm",
    "the grain ledgers",
    "a set of brass bells",
    "the orchard fences",
    "the tide tables",
    "a crate of lanterns",
    "the morning bread",
    "the chapel windows",
    "a flock of geese",
)
_TAILS = (
    "before the rain began",
    "after a long debate",
    "with great patience",
    "during the evening market",
    "as the bells rang",
    "without much enthusiasm",
    "near the old mill",
    "for the third time that year",
    "while the ferry waited",
    "under a grey sky",
    "at the edge of town",
    "in the early morning",
)


@dataclass(frozen=True, slots=True)
class Needle:
    sentence: str
    question: str
    answer: str


DEFAULT_NEEDLE = Needle(
    sentence="The launch code for the Aurora project is 7391-KESTREL.",
    question="What is the launch code for the Aurora project?",
    answer="7391-KESTREL",
)


def filler(chars: int, seed: int = 0) -> str:
    """About `chars` characters of varied, needle-free prose in paragraphs."""
    rng = random.Random(seed)
    parts: list[str] = []
    size = 0
    while size < chars:
        sentences = [
            f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)} {rng.choice(_TAILS)}."
            for _ in range(rng.randint(3, 7))
        ]
        paragraph = " ".join(sentences)
        parts.append(paragraph)
        size += len(paragraph) + 2
    return "\n\n".join(parts)[:chars]


def haystack(chars: int, needle: Needle = DEFAULT_NEEDLE, *, depth: float = 0.5, seed: int = 0) -> str:
    """Filler of about `chars` characters with the needle sentence inserted at a sentence boundary near `depth`."""
    text = filler(chars, seed)
    cut = text.find(". ", int(len(text) * depth))
    cut = len(text) if cut < 0 else cut + 2
    return f"{text[:cut]}{needle.sentence} {text[cut:]}"
