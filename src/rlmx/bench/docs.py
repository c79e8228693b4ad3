"""BrowseComp-like multi-hop QA over fictional documents, with hard negatives and BM25 bait (BENCHMARKS.md 3.d).

The world (seeded, fictional): provinces with capitals, towns (province, river, founding year), dishes (form,
main ingredient, condiment), yearly food festivals (town, dish, first year, month, organiser), their editions
with three cooking-contest winners, and persons. The question is "inverted": it names neither the dish, nor
(from 3 hops on) the town, nor (from 4 hops) the province, and asks who won the k-th anniversary edition. The
evidence chain, one document per hop: dish article (form, ingredient, condiment), festival article (first year
and month), town article (province), province overview (capital), winner's biography (occupation); the answer
is in the edition report. A brute-force check over the whole world keeps exactly one festival fitting.

Hard negatives: the same dish's festivals elsewhere or started outside the range, a town with a name one or
two letters away hosting the same dish's festival, the neighbouring editions' reports, a namesake of the
winner. BM25 bait: recipes, travel notes and local news reusing the question's rare words about other things.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from rlmx.bench import lexicon as lx
from rlmx.bench.task import Task, finish, make_rng
from rlmx.bench.text import sentences
from rlmx.errors import InputError

CONDIMENTS = (
    "mustard vinegar anchovy-paste horseradish fennel-salt juniper-honey chili-oil walnut-oil sorrel-sauce caper-brine"
).split()
INGREDIENTS = (
    "turnip quince eel barley chestnut mackerel plum leek cabbage lentil fig trout walnut rye herring parsnip "
    "apricot mussel beetroot pike"
).split()
DISH_FORMS = {
    "Hotpot": "stew",
    "Stew": "stew",
    "Broth": "soup",
    "Chowder": "soup",
    "Pie": "pastry",
    "Tart": "pastry",
    "Pudding": "dessert",
    "Fritters": "fried snack",
    "Dumplings": "dumpling dish",
    "Porridge": "porridge",
}
RIVERS = "Ouse Tamber Lune Wenn Corrin Astle Brede Dove Frome Isk Kennet Leven Medder Nidd Orwin Rother".split()
FEATURES = (
    "salt marshes",
    "granite quarries",
    "apple orchards",
    "lighthouses",
    "hill forts",
    "flax fields",
    "peat bogs",
    "sheep fairs",
    "river mills",
    "cliff paths",
)
EXTRA_LAST = (
    "Abbott Blakemore Chisholm Dallow Everard Fenwick Goodall Hartigan Ingleby Jarrold Kemble Lathom Merriman "
    "Norcott Oddie Penhale Quilter Rendell Shawcross Tunstall Upcott Vosper Whitlock Yeoman Ackland Bellamy "
    "Coverdale Dimmock Ellery Fothergill Gaskell Hebden Jeffery Kinsella Lambourne Mottram Nunn Openshaw"
).split()
EXTRA_FIRST = (
    "Agnes Bruno Carla Dario Elsa Felix Greta Hugo Irma Jakob Karin Leon Maren Nils Olga Paul Ruth Simon Thea Ulla"
).split()
_SURNAME_ENDS = "well by worth ley more cote ridge combe lock shaw".split()
SURNAMES = tuple(  # 312 distinct surnames, none of them a town's name
    n
    for n in dict.fromkeys((*lx.LAST_NAMES, *EXTRA_LAST, *(s + e for s in lx._STARTS for e in _SURNAME_ENDS)))
    if n not in lx.TOWNS
)
PERSONS = tuple(f"{f} {s}" for s in SURNAMES for f in (*lx.FIRST_NAMES, *EXTRA_FIRST))  # 18,720 names
ORDINALS = {
    5: "fifth",
    8: "eighth",
    10: "tenth",
    12: "twelfth",
    13: "thirteenth",
    15: "fifteenth",
    20: "twentieth",
    25: "twenty-fifth",
}
MONTHS = lx.MONTH_WORDS
QUERY_TAIL = (
    "\n\nYour response should be in the following format:\nExplanation: {your explanation for your final answer}\n"
    "Exact Answer: {your succinct, final answer}\nConfidence: {your confidence score between 0% and 100%}"
)
MIN_HOPS, MAX_HOPS = 2, 5


@dataclass(slots=True)
class Festival:
    town: str
    dish: str
    start: int
    month: int
    organiser: str

    @property
    def name(self) -> str:
        return f"{self.town} {self.dish} Festival"


@dataclass(slots=True)
class World:
    provinces: dict[str, str]  # province -> capital town
    features: dict[str, str]  # province -> what it is known for
    towns: dict[str, tuple[str, str, int]]  # town -> (province, river, founding year)
    dishes: dict[str, tuple[str, str, str]]  # dish -> (form, main ingredient, condiment)
    festivals: list[Festival]


def _similar(name: str, rng: random.Random, taken: set[str]) -> str | None:
    """A town name one or two letters away from `name` (a swap, a doubled or a changed letter), not taken."""
    for _ in range(20):
        i = rng.randrange(1, len(name) - 1)
        how = rng.randrange(3)
        if how == 0:
            out = name[:i] + name[i + 1] + name[i] + name[i + 2 :]
        elif how == 1:
            out = name[:i] + name[i] + name[i:]
        else:
            out = name[:i] + rng.choice("aeiourn") + name[i + 1 :]
        if out != name and out not in taken and out.isalpha():
            return out
    return None


def _world(rng: random.Random, n_festivals: int) -> World:
    names = rng.sample(lx.PROVINCES, 30)
    towns_list = rng.sample(lx.TOWNS, 300)
    towns = {t: (names[i % 30], rng.choice(RIVERS), rng.randint(1150, 1900)) for i, t in enumerate(towns_list)}
    provinces = {p: towns_list[i] for i, p in enumerate(names)}  # the first town of each province is its capital
    features = {p: rng.choice(FEATURES) for p in names}
    dishes: dict[str, tuple[str, str, str]] = {}
    while len(dishes) < 120:
        form = rng.choice(sorted(DISH_FORMS))
        name = f"{rng.choice(towns_list)} {form}"
        dishes.setdefault(name, (DISH_FORMS[form], rng.choice(INGREDIENTS[:12]), rng.choice(CONDIMENTS[:6])))
    festivals: list[Festival] = []
    seen: set[tuple[str, str]] = set()
    dish_names = sorted(dishes)
    while len(festivals) < n_festivals:
        town, dish = rng.choice(towns_list), rng.choice(dish_names)
        if (town, dish) not in seen:
            seen.add((town, dish))
            org = rng.choice(lx.ORGS)[0]
            festivals.append(Festival(town, dish, rng.randint(1975, 2015), rng.randint(1, 12), org))
    return World(provinces, features, towns, dishes, festivals)


@dataclass(frozen=True, slots=True)
class Question:
    target: Festival
    hops: int
    lo: int
    hi: int
    month_lo: int  # the first month is strictly after month_lo and strictly before month_hi
    month_hi: int
    k: int

    def fits(self, world: World, f: Festival) -> bool:
        """Every constraint of the question, as the brute-force uniqueness check reads them."""
        t = self.target
        if world.dishes[f.dish] != world.dishes[t.dish]:
            return False
        if not (self.lo <= f.start <= self.hi and self.month_lo < f.month < self.month_hi):
            return False
        if self.hops == 2:
            return f.town == t.town
        return world.towns[f.town][0] == world.towns[t.town][0]


def _winners(rng: random.Random, pool: list[str], world: World) -> list[tuple[str, str]]:
    return [(pool.pop(), rng.choice(sorted(world.towns))) for _ in range(3)]


def generate(
    *,
    seed: int,
    target_tokens: int,
    index: int,
    n_docs: int | None = None,
    hops: int | None = None,
    doc_tokens_mean: int | None = None,
    as_text: bool = False,
) -> Task:
    """A list of documents (`docid: N\\ntitle: T\\n\\nbody`; one string with `as_text`) totalling target_tokens
    chars4 tokens (within 1% when the fact sentences fit), `n_docs` of them (default target / doc_tokens_mean,
    doc_tokens_mean default 800, clipped to 10..1000; at most 10,000). `hops` (2..5, default 2 + index % 4) is
    the number of evidence documents. Answer: the winner's full name. Raises InputError for values outside
    these ranges."""
    mean = doc_tokens_mean if doc_tokens_mean is not None else 800
    if isinstance(mean, bool) or not isinstance(mean, int) or mean < 50:
        raise InputError(f"docs doc_tokens_mean must be an integer >= 50, not {doc_tokens_mean!r}")
    n_docs = n_docs if n_docs is not None else max(10, min(1000, target_tokens // mean))
    if isinstance(n_docs, bool) or not isinstance(n_docs, int) or not 10 <= n_docs <= 10_000:
        raise InputError(f"docs n_docs must be an integer 10..10000, not {n_docs!r}")
    hops = hops if hops is not None else MIN_HOPS + index % (MAX_HOPS - MIN_HOPS + 1)
    if isinstance(hops, bool) or not isinstance(hops, int) or not MIN_HOPS <= hops <= MAX_HOPS:
        raise InputError(f"docs hops must be an integer {MIN_HOPS}..{MAX_HOPS}, not {hops!r}")
    for attempt in range(100):
        rng = make_rng("docs", seed, target_tokens, index, f"world{attempt}")
        world = _world(rng, 60)
        target = rng.choice(world.festivals)
        _add_negative_festivals(world, target, rng)
        lo, hi = target.start - rng.randint(0, 5), target.start + rng.randint(0, 5)
        month_lo, month_hi = rng.randint(0, target.month - 1), rng.randint(target.month + 1, 13)
        q = Question(target, hops, lo, hi, month_lo, month_hi, rng.choice(sorted(ORDINALS)))
        if [f for f in world.festivals if q.fits(world, f)] == [target]:
            break
    else:
        raise InputError("docs: no unique question found for this seed; try another seed")
    pool = rng.sample(PERSONS, len(PERSONS))
    year = target.start + q.k
    editions = {y: _winners(rng, pool, world) for y in (year - 1, year, year + 1)}
    answer = editions[year][0][0]
    occupation = rng.choice(lx.OCCUPATIONS)
    docs = _evidence(world, q, rng, editions, year, occupation)
    required = len(docs)
    negatives = _hard_negatives(world, q, rng, editions, year, answer, occupation, pool)
    docs += negatives[: max(0, min(len(negatives), n_docs - required))]
    docs += _random_docs(world, q, rng, pool, n_docs - len(docs))
    names = sorted({p for _, _, _, people in docs for p in people})
    order = list(range(len(docs)))
    rng.shuffle(order)
    docs = [docs[i] for i in order]
    context = _render(docs, rng, target_tokens, bool(as_text))
    kinds = [kind for _, kind, _, _ in docs]
    query = _question_text(world, q, rng, occupation) + QUERY_TAIL
    extra = {
        "n_docs": len(docs),
        "hops": hops,
        "gold_docs": [i for i, kd in enumerate(kinds) if kd == "gold"],
        "evidence_docs": [i for i, kd in enumerate(kinds) if kd.startswith("evidence")],
        "hard_negative_docs": [i for i, kd in enumerate(kinds) if kd.startswith("negative")],
        "bm25_bait_docs": [i for i, kd in enumerate(kinds) if kd == "bait"],
        "answer_docs": [i for i, (_, _, _, people) in enumerate(docs) if answer in people],
        "festival": target.name,
        "edition_year": year,
        "names": names,
        "aliases": [answer, f"{answer.split(' ', 1)[1]}, {answer.split(' ', 1)[0]}"],
    }
    params: dict[str, Any] = {"n_docs": n_docs, "hops": hops}
    if doc_tokens_mean is not None:
        params["doc_tokens_mean"] = doc_tokens_mean
    if as_text:
        params["as_text"] = True
    return finish(
        "docs",
        seed=seed,
        target_tokens=target_tokens,
        index=index,
        params=params,
        context=context,
        query=query,
        answer=answer,
        answer_format="name",
        answer_text=f"Explanation: from the {year} edition report.\nExact Answer: {answer}\nConfidence: 100%",
        extra=extra,
    )


def _add_negative_festivals(world: World, target: Festival, rng: random.Random) -> None:
    """The same dish's festival in other towns (one in the same province) and in a town whose name is one or two
    letters from the target's, each started outside any year range the question can use (+-5 years) or in a
    month outside the range; these are in the world, so the uniqueness check sees them."""
    province = world.towns[target.town][0]
    same = [t for t in sorted(world.towns) if world.towns[t][0] == province and t != target.town]
    towns = rng.sample(sorted(world.towns), 3) + same[:1]
    twin = _similar(target.town, rng, set(world.towns))
    if twin is not None:
        world.towns[twin] = world.towns[target.town]
        towns.append(twin)
    for town in towns:
        if any(f.town == town and f.dish == target.dish for f in world.festivals):
            continue
        start = target.start + rng.choice((-1, 1)) * rng.randint(6, 12)
        world.festivals.append(Festival(town, target.dish, start, target.month, rng.choice(lx.ORGS)[0]))


_Doc = tuple[str, str, list[str], set[str]]  # (title, kind, fact sentences, persons named)


def _pick(rng: random.Random, *variants: str) -> str:
    return rng.choice(variants)


def _dish_doc(world: World, dish: str, rng: random.Random, kind: str) -> _Doc:
    form, main, condiment = world.dishes[dish]
    facts = [
        _pick(
            rng, f"{dish} is a {form} made mainly with {main}.", f"The main ingredient of {dish}, a {form}, is {main}."
        ),
        _pick(rng, f"Cooks season {dish} with {condiment}.", f"{dish} owes its sharp taste to {condiment}."),
    ]
    return dish, kind, facts, set()


def _festival_doc(world: World, f: Festival, rng: random.Random, kind: str) -> _Doc:
    month = MONTHS[f.month - 1]
    facts = [
        _pick(rng, f"The {f.name} celebrates {f.dish} in {f.town}.", f"Every year {f.town} honours {f.dish}."),
        _pick(
            rng,
            f"The first {f.name} was held in {month} {f.start}; it has been held every year since.",
            f"Organised by the {f.organiser}, the festival first took place in {month} {f.start}.",
        ),
        "Its programme includes a cooking contest, a market and a parade.",
    ]
    return f.name, kind, facts, set()


def _town_doc(world: World, town: str, rng: random.Random, kind: str) -> _Doc:
    province, river, founded = world.towns[town]
    facts = [
        _pick(rng, f"{town} is a town in {province}.", f"{town} lies in the province of {province}."),
        f"The river {river} runs through {town}, which was founded in {founded}.",
    ]
    return town, kind, facts, set()


def _province_doc(world: World, province: str, rng: random.Random, kind: str) -> _Doc:
    capital = world.provinces[province]
    facts = [
        _pick(rng, f"The capital of {province} is {capital}.", f"{capital} is the seat of {province}."),
        f"{province} is known for its {world.features[province]}.",
    ]
    return f"{province} (province)", kind, facts, set()


def _edition_doc(f: Festival, y: int, winners: list[tuple[str, str]], kind: str) -> _Doc:
    (p1, h1), (p2, h2), (p3, h3) = winners
    facts = [
        f"At the {y} edition of the {f.name}, first place in the cooking contest went to {p1} of {h1}.",
        f"{p2} of {h2} came second and {p3} of {h3} came third.",
    ]
    return f"News: the {y} {f.name}", kind, facts, {p1, p2, p3}


def _bio_doc(person: str, occupation: str, town: str, kind: str) -> _Doc:
    return person, kind, [f"{person} is a {occupation} from {town}."], {person}


def _evidence(
    world: World, q: Question, rng: random.Random, editions: dict[int, list[tuple[str, str]]], year: int, job: str
) -> list[_Doc]:
    t = q.target
    province = world.towns[t.town][0]
    docs = [_dish_doc(world, t.dish, rng, "evidence_dish"), _festival_doc(world, t, rng, "evidence_festival")]
    if q.hops >= 3:
        docs.append(_town_doc(world, t.town, rng, "evidence_town"))
    if q.hops >= 4:
        docs.append(_province_doc(world, province, rng, "evidence_province"))
    winner, home = editions[year][0]
    if q.hops >= 5:
        docs.append(_bio_doc(winner, job, home, "evidence_bio"))
    docs.append(_edition_doc(t, year, editions[year], "gold"))
    return docs


def _hard_negatives(
    world: World,
    q: Question,
    rng: random.Random,
    editions: dict[int, list[tuple[str, str]]],
    year: int,
    answer: str,
    job: str,
    pool: list[str],
) -> list[_Doc]:
    t = q.target
    must = [_edition_doc(t, y, editions[y], "negative_edition") for y in (year - 1, year + 1)]
    other_job = rng.choice([o for o in lx.OCCUPATIONS if o != job])
    must.append(_bio_doc(answer, other_job, rng.choice(sorted(world.towns)), "negative_namesake"))
    out: list[_Doc] = []
    for f in world.festivals:  # the same dish elsewhere / at other times, with a report of its k-th edition
        if f.dish == t.dish and f is not t:
            out.append(_festival_doc(world, f, rng, "negative_festival"))
            out.append(_town_doc(world, f.town, rng, "negative_town"))
            out.append(_edition_doc(f, f.start + q.k, _winners(rng, pool, world), "negative_edition"))
    _, main, condiment = world.dishes[t.dish]
    for dish in sorted(world.dishes):  # dishes sharing the ingredient or the condiment
        if dish != t.dish and (world.dishes[dish][1] == main or world.dishes[dish][2] == condiment):
            out.append(_dish_doc(world, dish, rng, "negative_dish"))
    out += _bait(world, q, rng, pool)
    rng.shuffle(out)
    return must + out[: rng.randint(10, 40) - len(must)]  # the neighbouring editions and the namesake first


def _bait(world: World, q: Question, rng: random.Random, pool: list[str]) -> list[_Doc]:
    """Documents that reuse the question's rare words (ingredient, condiment, province, ordinal) about other
    entities, so a keyword search ranks them high."""
    t = q.target
    _, main, condiment = world.dishes[t.dish]
    province = world.towns[t.town][0]
    ordinal = ORDINALS[q.k]
    out: list[_Doc] = []
    for _ in range(3):
        cook = pool.pop()
        out.append(
            (
                f"Recipe: {main} with {condiment}",
                "bait",
                [
                    f"This home recipe cooks {main} slowly and seasons it with {condiment}.",
                    f"{cook} shared it at a village fair, not at any festival contest.",
                ],
                {cook},
            )
        )
    other = rng.choice([p for p in world.provinces if p != province])
    out.append(
        (
            f"Travel notes: {province}",
            "bait",
            [f"A walk through {province} passes many towns; the trail guide celebrated its {ordinal} anniversary."],
            set(),
        )
    )
    out.append(
        (
            f"Local news: {other}",
            "bait",
            [
                f"The {other} choir held its {ordinal} anniversary concert; first place in the singing contest "
                "went to a choir from the coast."
            ],
            set(),
        )
    )
    return out


def _random_docs(world: World, q: Question, rng: random.Random, pool: list[str], count: int) -> list[_Doc]:
    out: list[_Doc] = []
    towns = sorted(world.towns)
    while len(out) < count:
        r = rng.random()
        if r < 0.2:
            out.append(_town_doc(world, rng.choice(towns), rng, "random"))
        elif r < 0.35:
            out.append(_dish_doc(world, rng.choice(sorted(world.dishes)), rng, "random"))
        elif r < 0.5:
            f = rng.choice(world.festivals)
            out.append(_festival_doc(world, f, rng, "random"))
        elif r < 0.65:
            f = rng.choice(world.festivals)
            if f.dish == q.target.dish or len(pool) < 3:
                continue
            out.append(_edition_doc(f, f.start + rng.randint(1, 30), _winners(rng, pool, world), "random"))
        elif r < 0.75:
            out.append(_province_doc(world, rng.choice(sorted(world.provinces)), rng, "random"))
        elif r < 0.9 and pool:
            out.append(_bio_doc(pool.pop(), rng.choice(lx.OCCUPATIONS), rng.choice(towns), "random"))
        else:
            town = rng.choice(towns)
            out.append(
                (
                    f"Local news: {town}",
                    "random",
                    [f"The council of {town} repaired the bridge over the {world.towns[town][1]} this spring."],
                    set(),
                )
            )
    return out


def _question_text(world: World, q: Question, rng: random.Random, job: str) -> str:
    t = q.target
    form, main, condiment = world.dishes[t.dish]
    province = world.towns[t.town][0]
    if q.hops == 2:
        place = f"the town of {t.town}"
    elif q.hops == 3:
        place = _pick(rng, f"a town of {province}", f"a township in the province of {province}")
    else:
        place = _pick(
            rng,
            f"a town of the province whose capital is {world.provinces[province]}",
            f"a township in the province governed from {world.provinces[province]}",
        )
    dish = _pick(
        rng,
        f"a {form} made mainly with {main} and seasoned with {condiment}",
        f"a {form} whose main ingredient is {main}, with a sharp taste from {condiment}",
    )
    months = []
    if q.month_lo > 0:
        months.append(f"after {MONTHS[q.month_lo - 1]}")
    if q.month_hi < 13:
        months.append(f"before {MONTHS[q.month_hi - 1]}")
    when = f"between {q.lo} and {q.hi} inclusive" + (f", in a month {' but '.join(months)}" if months else "")
    who = f"Which {job} won" if q.hops >= 5 else "Who won"
    return (
        f"A yearly food festival in {place} celebrates {dish}. Its first edition took place {when}. {who} first "
        f"place in the cooking contest at the festival's {ORDINALS[q.k]} anniversary edition?"
    )


def _render(docs: list[_Doc], rng: random.Random, target_tokens: int, as_text: bool) -> str | list[str]:
    """Each document as `docid: N\\ntitle: T\\n\\nbody`, its facts placed inside essay padding sized by a
    lognormal weight (clipped to 0.2x..5x of the mean), so the total is target_tokens * 4 characters; `as_text`
    joins them into one string, each after a `\\n\\n[Document i | docid]\\n` line (counted in the size)."""
    ids = rng.sample(range(10000, 100000), len(docs))
    heads = [f"docid: {ids[i]}\ntitle: {title}\n\n" for i, (title, _, _, _) in enumerate(docs)]
    marks = [f"\n\n[Document {i} | {ids[i]}]\n" if as_text else "" for i in range(len(docs))]
    facts = [" ".join(f) + " " for _, _, f, _ in docs]
    pad = max(0, target_tokens * 4 - sum(map(len, heads)) - sum(map(len, facts)) - sum(map(len, marks)))
    weights = [min(5.0, max(0.2, rng.lognormvariate(0, 0.6))) for _ in docs]
    scale = pad / sum(weights)
    filler = iter(sentences("essay", pad + 200 * len(docs), rng))
    out: list[str] = []
    left = pad
    for i, (head, fact) in enumerate(zip(heads, facts, strict=True)):
        want = left if i == len(docs) - 1 else min(left, round(weights[i] * scale))
        body: list[str] = []
        size = 0
        while size < want:
            s = next(filler)
            body.append(s)
            size += len(s)
        left -= size
        cut = rng.randint(0, len(body))
        out.append(head + "".join(body[:cut]) + fact + "".join(body[cut:]))
    return "".join(m + d for m, d in zip(marks, out, strict=True)) if as_text else out
