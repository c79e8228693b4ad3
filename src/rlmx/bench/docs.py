"""BrowseComp-like multi-hop QA over fictional documents, with hard negatives.

The world: towns in provinces, dishes (main ingredient + condiment), food festivals (town, dish, first year,
month) and their yearly editions with three cooking-contest winners. The question names neither the dish nor
the town: find the dish by its ingredients, the festival in a town of the named province that began within a
year range, then the news report of its k-th anniversary edition. Exactly one festival fits (checked by brute
force); hard negatives are the same dish's festivals elsewhere or started outside the range, and the reports of
the neighbouring editions.
"""

from __future__ import annotations

import random
from typing import Any

from rlmx.bench import lexicon as lx
from rlmx.bench.task import Task, finish, make_rng
from rlmx.bench.text import sentences
from rlmx.errors import InputError

CONDIMENTS = (
    "mustard vinegar anchovy-paste horseradish fennel-salt juniper-honey chili-oil walnut-oil sorrel-sauce caper-brine"
).split()
DISH_FORMS = "Hotpot Pie Stew Pudding Broth Tart Fritters Dumplings Casserole Porridge".split()
ORDINALS = {10: "tenth", 12: "twelfth", 15: "fifteenth", 20: "twentieth", 25: "twenty-fifth", 5: "fifth", 8: "eighth"}
QUERY_TAIL = (
    "\n\nYour response should be in the following format:\nExplanation: {your explanation for your final answer}\n"
    "Exact Answer: {your succinct, final answer}\nConfidence: {your confidence score between 0% and 100%}"
)


def _world(rng: random.Random, n_festivals: int) -> dict[str, Any]:
    provinces = rng.sample(lx.REGIONS, 8)
    towns = {t: rng.choice(provinces) for t in rng.sample(lx.TOWNS, 40)}
    dishes: dict[str, tuple[str, str]] = {}
    while len(dishes) < 16:
        name = f"{rng.choice(lx.TOWNS[:40])} {rng.choice(DISH_FORMS)}"
        dishes.setdefault(name, (rng.choice(lx.FOODS[:20]), rng.choice(CONDIMENTS[:5])))
    festivals: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    while len(festivals) < n_festivals:
        town, dish = rng.choice(sorted(towns)), rng.choice(sorted(dishes))
        if (town, dish) in seen:
            continue
        seen.add((town, dish))
        festivals.append({"town": town, "dish": dish, "start": rng.randint(1975, 2000), "month": rng.randint(1, 12)})
    return {"provinces": provinces, "towns": towns, "dishes": dishes, "festivals": festivals}


def _fits(world: dict[str, Any], f: dict[str, Any], dish: tuple[str, str], province: str, lo: int, hi: int) -> bool:
    """Whether festival f matches every constraint of the question (the brute-force uniqueness check)."""
    return bool(world["dishes"][f["dish"]] == dish and world["towns"][f["town"]] == province and lo <= f["start"] <= hi)


def _winners(rng: random.Random) -> list[tuple[str, str]]:
    return [(lx.person(rng), rng.choice(lx.TOWNS)) for _ in range(3)]


def generate(*, seed: int, target_tokens: int, index: int, n_docs: int | None = None) -> Task:
    """A list of documents (`docid: N\\ntitle: T\\n\\nbody`) totalling target_tokens chars4 tokens (within 1% when
    the fact sentences fit), n_docs of them (default target/800 tokens each, 10..1000). Answer: a full name."""
    n_docs = n_docs if n_docs is not None else max(10, min(1000, target_tokens // 800))
    if n_docs < 10:
        raise InputError(f"docs needs n_docs >= 10, not {n_docs}")
    for attempt in range(100):
        rng = make_rng("docs", seed, target_tokens, index, f"world{attempt}")
        world = _world(rng, 24)
        target = rng.choice(world["festivals"])
        main, condiment = world["dishes"][target["dish"]]
        province = world["towns"][target["town"]]
        lo, hi = target["start"] - rng.randint(0, 4), target["start"] + rng.randint(0, 4)
        k = rng.choice(sorted(ORDINALS))

        fitting = [f for f in world["festivals"] if _fits(world, f, (main, condiment), province, lo, hi)]
        if len(fitting) == 1:
            break
    else:
        raise InputError("docs: no unique question found for this seed; try another seed")
    year = target["start"] + k
    editions = {
        y: _winners(make_rng("docs", seed, target_tokens, index, f"edition{y}")) for y in (year - 1, year, year + 1)
    }
    answer = editions[year][0][0]
    fest_name = f"{target['town']} {target['dish']} Festival"
    ids = iter(rng.sample(range(10000, 100000), n_docs + 200))
    docs: list[tuple[str, str, list[str]]] = []  # (title, kind, fact sentences)
    for dish, (m, c) in sorted(world["dishes"].items()):
        docs.append(
            (
                dish,
                "dish" + ("_gold" if dish == target["dish"] else ""),
                [
                    f"{dish} is a dish made mainly with {m}.",
                    f"Cooks season {dish} with {c}, which gives it a sharp taste.",
                ],
            )
        )
    for town, prov in sorted(world["towns"].items()):
        docs.append(
            (
                town,
                "town",
                [f"{town} is a town in {prov}.", f"{town} was founded in the year {rng.randint(1200, 1900)}."],
            )
        )
    for f in world["festivals"]:
        name = f"{f['town']} {f['dish']} Festival"
        docs.append(
            (
                name,
                "festival",
                [
                    f"The {name} celebrates {f['dish']} in {f['town']}.",
                    f"The first {name} was held in {lx.MONTH_WORDS[f['month'] - 1]} {f['start']}; "
                    "it has been held every year since.",
                ],
            )
        )
    for y, winners in editions.items():
        (p1, h1), (p2, h2), (p3, h3) = winners
        kind = "gold" if y == year else "negative_edition"
        docs.append(
            (
                f"News: the {y} {fest_name}",
                kind,
                [
                    f"At the {y} edition of the {fest_name}, first place in the cooking contest went to {p1} of {h1}.",
                    f"{p2} of {h2} came second and {p3} of {h3} came third.",
                ],
            )
        )
    names = {w[0] for ws in editions.values() for w in ws}
    for f in world["festivals"]:  # reports of other festivals' editions: same shape, other winners
        if f is target or len(docs) >= n_docs:
            continue
        y = f["start"] + rng.choice(sorted(ORDINALS))
        (p1, h1), (p2, h2), _ = _winners(rng)
        names.update((p1, p2))
        docs.append(
            (
                f"News: the {y} {f['town']} {f['dish']} Festival",
                "negative",
                [
                    f"At the {y} edition of the {f['town']} {f['dish']} Festival, "
                    f"first place in the cooking contest went to {p1} of {h1}.",
                    f"{p2} of {h2} came second.",
                ],
            )
        )
    while len(docs) < n_docs:  # person bios (namesakes of the winners among them) and travel notes
        p = rng.choice(sorted(names)) if rng.random() < 0.2 else lx.person(rng)
        names.add(p)
        docs.append((p, "bio", [f"{p} is a {rng.choice(lx.OCCUPATIONS)} from {rng.choice(lx.TOWNS)}."]))
    order = list(range(len(docs)))
    rng.shuffle(order)
    docs = [docs[i] for i in order]
    heads = [f"docid: {next(ids)}\ntitle: {title}\n\n" for title, _, _ in docs]
    facts = [" ".join(f) + " " for _, _, f in docs]
    fixed = sum(map(len, heads)) + sum(map(len, facts))
    pad = max(0, target_tokens * 4 - fixed)
    weights = [min(5.0, max(0.2, rng.lognormvariate(0, 0.6))) for _ in docs]
    scale = pad / sum(weights)
    filler = iter(sentences("essay", pad + 200 * len(docs), rng))
    context: list[str] = []
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
        cut = rng.randint(0, len(body))  # the facts sit somewhere inside the padding
        context.append(head + "".join(body[:cut]) + fact + "".join(body[cut:]))
    query = (
        f"A yearly food festival in a town of {province} celebrates a dish made mainly with {main} and seasoned "
        f"with {condiment}. The first edition of this festival took place between {lo} and {hi} inclusive. Who "
        f"won first place in the cooking contest at the festival's {ORDINALS[k]} anniversary edition?" + QUERY_TAIL
    )
    kinds = [kind for _, kind, _ in docs]
    extra = {
        "n_docs": len(docs),
        "gold_docs": [i for i, kd in enumerate(kinds) if kd in ("gold", "dish_gold")],
        "festival": fest_name,
        "edition_year": year,
        "names": sorted(names),
    }
    params: dict[str, Any] = {"n_docs": n_docs}
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
        answer_text=f"Explanation: from the edition report.\nExact Answer: {answer}\nConfidence: 100%",
        extra=extra,
    )
