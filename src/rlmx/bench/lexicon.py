"""Embedded word lists and name makers for the generated worlds (our own text; no outside data)."""

from __future__ import annotations

import random

_STARTS = "Ash Bram Cald Dun Elm Fen Gal Hol Ives Kel Lor Mar Nor Oak Pel Quen Ros Sal Tam Ul Val Wex Yar Zel".split()
_ENDS = "bury ford wick mere stead holm dale gate haven moor ton field crest brook".split()
TOWNS = tuple(s + e for s in _STARTS for e in _ENDS)  # 336 fictional towns
REGIONS = tuple(f"{s}{e} Province" for s in _STARTS for e in ("ia", "land", "mark", "shire"))  # 96
LANDMARKS = tuple(f"the {t} {k}" for t in TOWNS[::3] for k in ("Tower", "Bridge", "Observatory"))  # 336
DEVICES = tuple(
    f"{a} {b}"
    for a in "steam clockwork magnetic solar hydraulic folding pocket rotary electric acoustic".split()
    for b in "loom compass kettle press lantern pump telescope bellows scale engine organ crane".split()
)  # 120
FOODS = tuple(
    f"{a} {b}"
    for a in "smoked pickled roasted honeyed salted spiced candied braised".split()
    for b in "turnip quince eel barley chestnut mackerel plum leek cabbage lentil fig trout walnut rye".split()
)  # 112
ANIMALS = "badger heron otter marten ferret vole lynx stoat plover curlew ibex tapir okapi gecko newt".split()
CATEGORIES = "bird flower tree mineral fish beetle mushroom grape cheese fern".split()
ABSTRACTS = tuple(
    "serendipity equanimity hubris nostalgia solidarity irony stewardship reciprocity frugality "
    "resilience candor diligence melancholy austerity wanderlust prudence gratitude humility".split()
)
OCCUPATIONS = "cartographer glassblower astronomer surgeon botanist clockmaker printer judge".split()
_ORG_A = "Northern Royal United Coastal Federal Grand Amateur Civic".split()
_ORG_B = "Lighthouse Beekeeping Railway Chess Weaving Rowing Astronomy Masonry Orchard Ferry".split()
_ORG_C = "Society Association Guild League Council Union".split()
ORGS = tuple((f"{a} {b} {c}", a[0] + b[0] + c[0]) for a in _ORG_A for b in _ORG_B for c in _ORG_C)  # 480
ARTWORKS = tuple(f"The {a} of {t}" for a in "Lament Harvest Siege Wedding Ferryman Orchard".split() for t in TOWNS[::4])
FIRST_NAMES = (
    "Ada Bela Cato Dora Emil Faye Gus Hana Ivo Jana Kai Lena Milo Nora Otto Pia Quin Rosa Sven Tess Ugo Vera "
    "Wim Xena Yuri Zoe Anton Brita Cyril Delia Edvin Flora Gideon Hilde Ilse Jonas Klara Ludo Mira Niko"
).split()
LAST_NAMES = (
    "Abernell Bastow Carrow Dellamy Esterby Farrant Galloway Hestor Inchley Jessop Kettering Lowrie Marwood "
    "Nettleton Orrell Pargeter Quarles Rookwood Sallow Thursby Underhill Varley Wetherell Yelland Zouche "
    "Ashdown Birtles Cradock Dunmore Elphick Fairclough Gorringe Hobday Ibbotson Jellicoe Kilburn"
).split()


def person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def typo(text: str, rng: random.Random) -> str:
    """Seeded noise: lowercase the text, or swap two adjacent letters of one longer word."""
    if rng.random() < 0.5:
        return text.lower()
    words = text.split(" ")
    long_words = [i for i, w in enumerate(words) if len(w) > 4 and w.isalpha()]
    if not long_words:
        return text.lower()
    i = rng.choice(long_words)
    w = words[i]
    j = rng.randrange(1, len(w) - 2)
    words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


MONTH_WORDS = "January February March April May June July August September October November December".split()
