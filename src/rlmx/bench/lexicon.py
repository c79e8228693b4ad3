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

# Larger slot lexicons for the OOLONG item bank (>= 200 entries per slot type, BENCHMARKS.md 3.b). Separate names
# so the lists above (which other generators sample from) keep their contents and order.
PROVINCES = tuple(
    f"{s}{e}" for s in _STARTS for e in ("ia", "land", "mark", "shire", "vale", "reach", "march", "wold", "fell")
)  # 216
MACHINES = tuple(
    f"{a} {b}"
    for a in (
        "steam clockwork magnetic solar hydraulic folding pocket rotary electric acoustic pneumatic brass "
        "wind-up copper treadle"
    ).split()
    for b in "loom compass kettle press lantern pump telescope bellows scale engine organ crane sextant churn".split()
)  # 210
DISHES = tuple(
    f"{a} {b}"
    for a in "smoked pickled roasted honeyed salted spiced candied braised dried stewed fermented toasted".split()
    for b in (
        "turnip quince eel barley chestnut mackerel plum leek cabbage lentil fig trout walnut rye herring "
        "parsnip apricot"
    ).split()
)  # 204
_SPECIES_A = "marsh spotted crested dusky alpine ringed lesser greater painted striped".split()
_SPECIES_B = (
    "heron otter marten ferret vole plover curlew tapir okapi gecko newt stoat beetle moth finch wren lark "
    "toad salamander weasel badger kestrel lemur gibbon"
).split()
SPECIES = tuple(f"{a} {b}" for a in _SPECIES_A for b in _SPECIES_B)  # 240, regular plurals (+s)
KINDS = tuple(
    "bird flower tree mineral fish beetle mushroom grape cheese fern orchid moss apple pear rose lily herb "
    "spice butterfly shell gemstone wine bread pastry".split()
)
_ABSTRACT_WORDS = (
    "serendipity equanimity hubris nostalgia solidarity irony stewardship reciprocity frugality resilience candor "
    "diligence melancholy austerity wanderlust prudence gratitude humility benevolence clemency fortitude "
    "temperance integrity loyalty patience courage justice mercy charity honesty modesty piety wisdom ambition "
    "envy greed pride vanity sloth malice spite jealousy rivalry kinship friendship courtesy hospitality "
    "tradition heritage progress liberty authority sovereignty legitimacy tolerance neutrality autonomy "
    "dignity honor shame guilt remorse regret longing solitude serenity harmony balance symmetry entropy "
    "causality necessity contingency possibility probability certainty ambiguity paradox metaphor allegory "
    "satire tragedy comedy pathos empathy sympathy apathy curiosity skepticism optimism pessimism stoicism "
    "altruism idealism realism pragmatism nihilism utilitarianism fatalism romanticism"
).split()
ABSTRACT_IDEAS = (
    tuple(_ABSTRACT_WORDS)
    + tuple(
        f"the {s}{e} {k}" for s in _STARTS[:12] for e in ("ford", "holm") for k in ("paradox", "principle", "doctrine")
    )
    + tuple(f"{n}'s {k}" for n in LAST_NAMES[:20] for k in ("dilemma", "maxim"))
)  # 101 + 72 + 40 = 213
_TRADE_A = "master court village travelling apprentice royal harbor guild chief assistant".split()
_TRADE_B = (
    "cartographer glassblower astronomer surgeon botanist clockmaker printer judge weaver potter mason "
    "shipwright brewer tanner cooper chandler saddler bookbinder engraver falconer miller smith tailor baker"
).split()
TRADES = tuple(f"{a} {b}" for a in _TRADE_A for b in _TRADE_B)  # 240
