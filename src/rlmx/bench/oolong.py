"""OOLONG-like aggregation (trec_coarse analogue) and OOLONG-Pairs over the same generated windows.

A window is lines `Date: Mon DD, YYYY || User: U || Instance: <question>`; each question was made from a
template tagged with its label, so gold labels are exact, and every label has two templates for each opening
("What is the", "What was the", "Tell me the", "Do you know", "Name the"), so the first words do not give the
label away: the label is in the meaning of the rest of the question.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rlmx.bench import lexicon as lx
from rlmx.bench.task import Task, finish, make_rng
from rlmx.errors import InputError

LABELS = (
    "numeric value",
    "entity",
    "location",
    "description and abstract concept",
    "abbreviation",
    "human being",
)
NUM, ENT, LOC, DESC, ABBR, HUM = LABELS

TEMPLATES: dict[str, tuple[str, ...]] = {
    NUM: (
        "What is the population of {town}?",
        "What is the height of {landmark} in meters?",
        "What was the year {town} was founded?",
        "What was the price of {food} in {town} last winter?",
        "Tell me the number of {animal}s living in {region}.",
        "Tell me the distance from {town} to {town2}.",
        "Do you know the number of members of the {org}?",
        "Do you know the year the {org} closed its doors?",
        "Name the number of bridges in {town}.",
        "Name the age of the oldest {animal} in {region}.",
    ),
    LOC: (
        "What is the capital of {region}?",
        "What is the largest town in {region}?",
        "What was the birthplace of the author of {artwork}?",
        "What was the site chosen for the headquarters of the {org}?",
        "Tell me the location of {landmark}.",
        "Tell me the river that flows through {town}.",
        "Do you know the province where {food} comes from?",
        "Do you know the place where {animal}s live in the wild?",
        "Name the mountain range that borders {region}.",
        "Name the town that hosts {landmark}.",
    ),
    ENT: (
        "What is the largest breed of {animal}?",
        "What is the national {category} of {region}?",
        "What was the first {device} ever sold in {town}?",
        "What was the ship that sailed from {town} in the storm?",
        "Tell me the {category} served at {landmark}.",
        "Tell me the name of a dish made with {food}.",
        "Do you know the instrument played at the {town} festival?",
        "Do you know the {category} that grows near {landmark}?",
        "Name the {category} that the {org} chose as its emblem.",
        "Name the rarest {category} found in {region}.",
    ),
    DESC: (
        "What is the meaning of {abstract}?",
        "What is the purpose of a {device}?",
        "What was the reason the {org} moved to {town}?",
        "What was the idea behind {abstract}?",
        "Tell me the way a {device} works.",
        "Tell me the reason {food} turns brown.",
        "Do you know the difference between {abstract} and {abstract2}?",
        "Do you know the way {food} is prepared in {region}?",
        "Name the main idea of {abstract}.",
        "Name the definition of {abstract}.",
    ),
    ABBR: (
        "What is the abbreviation for the {org}?",
        "What is the short form of the {org}?",
        "What was the original meaning of the letters {acronym}?",
        "What was the acronym used for the {org}?",
        "Tell me the words that {acronym} stands for.",
        "Tell me the full form of {acronym}.",
        "Do you know the expansion of {acronym}?",
        "Do you know the abbreviation of the {org}?",
        "Name the full form of {acronym}.",
        "Name the letters used to abbreviate the {org}.",
    ),
    HUM: (
        "What is the name of the mayor of {town}?",
        "What is the name of the inventor of the {device}?",
        "What was the name of the architect who designed {landmark}?",
        "What was the name of the first {occupation} in {region}?",
        "Tell me the painter who created {artwork}.",
        "Tell me the author of {artwork}.",
        "Do you know the founder of the {org}?",
        "Do you know the {occupation} who mapped {region}?",
        "Name the {occupation} who discovered {landmark}.",
        "Name the person who invented the {device}.",
    ),
}
EPOCH = dt.date(2022, 1, 1)
N_DAYS = (dt.date(2024, 12, 31) - EPOCH).days + 1
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTH_NAMES = "January February March April May June July August September October November December".split()
QUESTIONS_PER_WINDOW = 25
HEADER = (
    "The following lines contain {n} general-knowledge questions, one per line. Each line has a date, a user ID "
    "and the question (the instance). Each question can be classified into exactly one of these labels: "
    + ", ".join(LABELS)
    + ".\n"
)


def question(rng: random.Random, label: str) -> str:
    """One question of `label` from its templates, slots filled from the embedded lexicons."""
    org, acronym = rng.choice(lx.ORGS)
    slots = {
        "town": rng.choice(lx.TOWNS),
        "town2": rng.choice(lx.TOWNS),
        "region": rng.choice(lx.REGIONS),
        "landmark": rng.choice(lx.LANDMARKS),
        "device": rng.choice(lx.DEVICES),
        "food": rng.choice(lx.FOODS),
        "animal": rng.choice(lx.ANIMALS),
        "category": rng.choice(lx.CATEGORIES),
        "abstract": rng.choice(lx.ABSTRACTS),
        "abstract2": rng.choice(lx.ABSTRACTS),
        "occupation": rng.choice(lx.OCCUPATIONS),
        "artwork": rng.choice(lx.ARTWORKS),
        "org": org,
        "acronym": acronym,
    }
    return rng.choice(TEMPLATES[label]).format(**slots)


@dataclass(frozen=True, slots=True)
class Window:
    """A generated window: the text and, per line, its (day offset from EPOCH, user, label index)."""

    text: str
    days: tuple[int, ...]
    users: tuple[int, ...]
    labels: tuple[int, ...]
    user_ids: tuple[int, ...]

    def date(self, i: int) -> dt.date:
        return EPOCH + dt.timedelta(days=self.days[i])


def n_users(n_lines: int, target_tokens: int, users_mode: str) -> int:
    """U = max(10, round(n_lines / 4)) ("oolong"); "capped" limits it to 1,000; "auto" caps above 2^16 tokens."""
    users = max(10, round(n_lines / 4))
    if users_mode == "capped" or (users_mode == "auto" and target_tokens > 65536):
        users = min(users, 1000)
    elif users_mode not in ("oolong", "auto", "capped"):
        raise InputError(f"users_mode must be oolong, capped or auto, not {users_mode!r}")
    return users


@lru_cache(maxsize=4)
def window(seed: int, target_tokens: int, number: int, users_mode: str = "auto", with_labels: bool = False) -> Window:
    """Window `number` of (seed, target_tokens): lines until the text reaches target_tokens chars4 tokens."""
    rng = make_rng("oolong", seed, target_tokens, f"window{number}", "lines")
    while True:  # Dirichlet(1) label proportions, redrawn until most/least common labels are clearly apart
        weights = [rng.gammavariate(1.0, 1.0) for _ in LABELS]
        ranked = sorted(w / sum(weights) for w in weights)
        if ranked[-1] - ranked[-2] > 0.05 and ranked[1] - ranked[0] > 0.05:
            break
    goal = target_tokens * 4 - len(HEADER) - 12
    line_chars = 96  # about a line's length: sets the user count before the lines exist
    n_est = max(1, goal // line_chars)
    users = n_users(n_est, target_tokens, users_mode)
    ids = rng.sample(range(10000, 100000), users)
    top = ids[: max(1, users // 5)]
    rest = ids[len(top) :] or top
    lines: list[str] = []
    days: list[int] = []
    who: list[int] = []
    labels: list[int] = []
    size = 0
    cum = [sum(weights[: i + 1]) for i in range(len(weights))]
    while size < goal:
        r = rng.random() * cum[-1]
        label = next(i for i, c in enumerate(cum) if r <= c)
        user = rng.choice(top) if rng.random() < 0.8 else rng.choice(rest)
        day = rng.randrange(N_DAYS)
        text = question(rng, LABELS[label])
        if rng.random() < 0.05:
            text = lx.typo(text, rng)
        date = EPOCH + dt.timedelta(days=day)
        line = f"Date: {MONTHS[date.month - 1]} {date.day:02d}, {date.year} || User: {user} || Instance: {text}"
        lines.append(line)
        days.append(day)
        who.append(user)
        labels.append(label)
        size += len(line) + 1
    if with_labels:  # the ablation: the same lines, each with its label (so it is longer than the target)
        lines = [f"{line} || Label: {LABELS[lab]}" for line, lab in zip(lines, labels, strict=True)]
    header = HEADER.format(n=len(lines))
    return Window(header + "\n".join(lines) + "\n", tuple(days), tuple(who), tuple(labels), tuple(sorted(ids)))


_FORM_LABEL = " Give your final answer in the form 'Label: answer'."
_FORM_NUMBER = " Give your final answer in the form 'Answer: number'."
_FORM_USER = " Give your final answer in the form 'User: answer'."
INSTRUCTIONS = (
    "You are given general-knowledge questions, one per line, each with a date and a user ID. Each question "
    "belongs to exactly one of the labels: " + ", ".join(LABELS) + ". The labels are not given: decide each "
    "line's label from its question. Answer the question below about the whole data set.\n"
)


def _gap_ok(counts: list[int], total: int, *, largest: bool) -> int | None:
    order = sorted(range(len(counts)), key=lambda i: counts[i], reverse=largest)
    if len(order) > 1 and abs(counts[order[0]] - counts[order[1]]) > 0.02 * total:
        return order[0]
    return None


def _oolong_question(w: Window, rng: random.Random, q: int) -> tuple[str, Any, str, str, str]:
    """(question, gold, answer_format, answer_text, question_type) for question q of the window."""
    n = len(w.labels)
    label_counts = [0] * len(LABELS)
    for lab in w.labels:
        label_counts[lab] += 1
    kinds = ["most_label", "least_label", "relative", "count_label"] * 3
    kinds = kinds[:10] + ["top_user", "user_label", "subset_count"] * 3
    kinds = kinds[:17] + ["month_count", "months_a_over_b"] * 4
    kind = kinds[q % QUESTIONS_PER_WINDOW]
    for _ in range(200):
        if kind in ("most_label", "least_label"):
            pick = _gap_ok(label_counts, n, largest=kind == "most_label")
            if pick is None:
                kind = "count_label"
                continue
            word = "most" if kind == "most_label" else "least"
            text = f"In the above data, which of the labels is the {word} common?" + _FORM_LABEL
            return text, LABELS[pick], "label", f"Label: {LABELS[pick]}", kind
        if kind == "relative":
            a, b = rng.sample(range(len(LABELS)), 2)
            if abs(label_counts[a] - label_counts[b]) <= 0.02 * n:
                continue
            rel = "more common than" if label_counts[a] > label_counts[b] else "less common than"
            text = (
                f"In the above data, is label '{LABELS[a]}' more common, less common, or the same frequency as "
                f"label '{LABELS[b]}'? Give your final answer in the form 'Answer: {LABELS[a]} is [X] {LABELS[b]}', "
                "where [X] is 'more common than', 'less common than', or 'same frequency as'."
            )
            return text, rel, "comparison", f"Answer: {LABELS[a]} is {rel} {LABELS[b]}", kind
        if kind == "count_label":
            a = rng.randrange(len(LABELS))
            text = (
                f"In the above data, how many data points should be classified as label '{LABELS[a]}'?" + _FORM_NUMBER
            )
            return text, label_counts[a], "numeric", f"Answer: {label_counts[a]}", kind
        if kind == "top_user":
            per_user = Counter(w.users)
            ranked = per_user.most_common(2)
            if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
                kind = "subset_count"
                continue
            text = "In the above data, which user ID has the most instances?" + _FORM_USER
            return text, str(ranked[0][0]), "user", f"User: {ranked[0][0]}", kind
        if kind == "user_label":
            a = rng.randrange(len(LABELS))
            per_user = Counter(u for u, lab in zip(w.users, w.labels, strict=True) if lab == a)
            ranked = per_user.most_common(2)
            if not ranked or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
                continue
            text = f"In the above data, which user ID has the most instances with the label '{LABELS[a]}'?" + _FORM_USER
            return text, str(ranked[0][0]), "user", f"User: {ranked[0][0]}", kind
        if kind == "subset_count":
            top50 = [u for u, _ in Counter(w.users).most_common(50)]
            subset = sorted(rng.sample(top50, min(len(top50), rng.randint(10, 20))))
            a = rng.randrange(len(LABELS))
            chosen = set(subset)
            gold = sum(1 for u, lab in zip(w.users, w.labels, strict=True) if lab == a and u in chosen)
            ids = ", ".join(map(str, subset))
            text = (
                f"In the above data, among the instances of the users with IDs {ids}, "
                f"how many should be classified as label '{LABELS[a]}'?" + _FORM_NUMBER
            )
            return text, gold, "numeric", f"Answer: {gold}", kind
        if kind == "month_count":
            a = rng.randrange(len(LABELS))
            year, month = rng.choice((2022, 2023, 2024)), rng.randint(1, 12)
            gold = sum(1 for i in range(n) if w.labels[i] == a and (d := w.date(i)).year == year and d.month == month)
            in_month = sum(1 for i in range(n) if (d := w.date(i)).year == year and d.month == month)
            if not in_month:
                continue
            text = (
                f"In the above data, how many instances dated in {MONTH_NAMES[month - 1]} {year} "
                f"should be classified as label '{LABELS[a]}'?" + _FORM_NUMBER
            )
            return text, gold, "numeric", f"Answer: {gold}", kind
        a, b = rng.sample(range(len(LABELS)), 2)
        per_month: Counter[tuple[int, int, int]] = Counter()
        for i in range(n):
            d = w.date(i)
            per_month[(d.year, d.month, w.labels[i])] += 1
        gold = sum(1 for y in (2022, 2023, 2024) for m in range(1, 13) if per_month[(y, m, a)] > per_month[(y, m, b)])
        text = (
            f"In the above data, in how many months (of the 36 from January 2022 to December 2024) "
            f"does label '{LABELS[a]}' occur more often than label '{LABELS[b]}'?" + _FORM_NUMBER
        )
        return text, gold, "numeric", f"Answer: {gold}", "months_a_over_b"
    raise InputError("oolong: could not draw a valid question for this window; try another seed")


def generate_oolong(
    *, seed: int, target_tokens: int, index: int, users_mode: str = "auto", with_labels: bool = False
) -> Task:
    """Question index % 25 of window index // 25. Gold shapes: label / user (str), numeric (int), comparison
    ("more common than" / "less common than")."""
    number = index // QUESTIONS_PER_WINDOW
    w = window(seed, target_tokens, number, users_mode, with_labels)
    rng = make_rng("oolong", seed, target_tokens, index, "question")
    text, gold, fmt, answer_text, kind = _oolong_question(w, rng, index % QUESTIONS_PER_WINDOW)
    params: dict[str, Any] = {"users_mode": users_mode, "with_labels": with_labels}
    extra = {"window": number, "question_type": kind, "n_lines": len(w.labels), "n_users": len(set(w.users))}
    return finish(
        "oolong",
        seed=seed,
        target_tokens=target_tokens,
        index=index,
        params=params,
        context=w.text,
        query=INSTRUCTIONS + text,
        answer=gold,
        answer_format=fmt,
        answer_text=answer_text,
        extra=extra,
    )


# OOLONG-Pairs: the paper's 20 tasks (App. D.1, CC BY 4.0) as data. Symmetric: (labels S, date rule or None).
_Rule = tuple[str, str, dt.date]
SYMMETRIC: dict[int, tuple[tuple[str, ...], _Rule | None]] = {
    1: ((NUM, LOC), None),
    2: ((ENT, HUM), None),
    3: ((DESC, ABBR), None),
    4: ((HUM, LOC), (HUM, ">", dt.date(2023, 1, 6))),
    5: ((ENT, NUM), (ENT, "<", dt.date(2023, 3, 15))),
    6: ((LOC, ABBR), None),
    7: ((DESC, NUM), (NUM, ">", dt.date(2023, 2, 1))),
    8: ((HUM, DESC), None),
    9: ((ENT, LOC), (LOC, ">", dt.date(2023, 4, 10))),
    10: ((NUM, ABBR), (ABBR, "<", dt.date(2023, 5, 20))),
}
# Asymmetric: P1, P2 as lists of (label, op, k) with op ">=" or "==".
_Pred = tuple[tuple[str, str, int], ...]
ASYMMETRIC: dict[int, tuple[_Pred, _Pred]] = {
    11: (((ENT, ">=", 1), (ABBR, ">=", 1)), ((ENT, "==", 1),)),
    12: (((NUM, ">=", 2),), ((LOC, ">=", 1), (HUM, ">=", 1))),
    13: (((DESC, "==", 1),), ((ABBR, ">=", 1), (ENT, ">=", 1))),
    14: (((HUM, ">=", 1), (NUM, ">=", 1)), ((LOC, "==", 2),)),
    15: (((ENT, ">=", 1), (LOC, ">=", 1), (ABBR, ">=", 1)), ((NUM, "==", 1),)),
    16: (((DESC, ">=", 1), (HUM, ">=", 1)), ((ENT, ">=", 2), (ABBR, "==", 1))),
    17: (((NUM, "==", 1),), ((LOC, ">=", 1), (DESC, ">=", 1))),
    18: (((ABBR, ">=", 1), (HUM, "==", 1)), ((ENT, ">=", 1), (NUM, ">=", 1))),
    19: (((LOC, ">=", 2), (ENT, ">=", 1)), ((DESC, "==", 1), (ABBR, "==", 1))),
    20: (((NUM, ">=", 1), (HUM, ">=", 1)), ((LOC, ">=", 1), (ENT, ">=", 1), (ABBR, "==", 1))),
}
PAIRS_TAIL = (
    " Each of the questions can be labelled as one of the labels (the data does not provide the labels, you need "
    "to figure out the label from the semantics of the question): " + ", ".join(LABELS) + ". In your answer, "
    "list all pairs in the format (user_id_1, user_id_2), separated by newlines. Return the pairs sorted by the "
    "first user ID (lower ID first in each pair); if there are no such pairs, answer []."
)


def _describe(pred: _Pred) -> str:
    words = {">=": "at least", "==": "exactly"}
    return " and ".join(f"{words[op]} {k} instance{'s' if k > 1 else ''} with a {lab}" for lab, op, k in pred)


def pairs_question(task_no: int) -> str:
    if task_no in SYMMETRIC:
        labels, rule = SYMMETRIC[task_no]
        text = (
            "In the above data, list all pairs of user IDs (no duplicate pairs, list lower ID first) where both "
            f"users have at least one instance with a {labels[0]} or a {labels[1]}"
        )
        if rule is not None:
            side = "after" if rule[1] == ">" else "before"
            text += f", and all instances with a {rule[0]} for both users must be {side} {rule[2]:%B %d, %Y}"
        return text + "." + PAIRS_TAIL
    p1, p2 = ASYMMETRIC[task_no]
    return (
        "In the above data, list all pairs of user IDs (no duplicate pairs, list lower ID first) such that one "
        f"user has {_describe(p1)} and the other user has {_describe(p2)}." + PAIRS_TAIL
    )


def pairs_gold(w: Window, task_no: int) -> list[list[int]]:
    """Sorted [u, v] (u < v) pairs that satisfy task `task_no`. Date rules are vacuously true for a user with no
    instance of the rule's label ("all instances ... after D" over an empty set), as the spec reads them."""
    cnt: dict[int, Counter[str]] = {}
    dates: dict[int, dict[str, list[dt.date]]] = {}
    for i, (u, lab) in enumerate(zip(w.users, w.labels, strict=True)):
        cnt.setdefault(u, Counter())[LABELS[lab]] += 1
        dates.setdefault(u, {}).setdefault(LABELS[lab], []).append(w.date(i))
    users = sorted(cnt)
    if task_no in SYMMETRIC:
        labels, rule = SYMMETRIC[task_no]

        def sym(u: int) -> bool:
            if not any(cnt[u][lab] >= 1 for lab in labels):
                return False
            if rule is None:
                return True
            got = dates[u].get(rule[0], [])
            return all(d > rule[2] for d in got) if rule[1] == ">" else all(d < rule[2] for d in got)

        ok = [u for u in users if sym(u)]
        return [[a, b] for i, a in enumerate(ok) for b in ok[i + 1 :]]
    p1, p2 = ASYMMETRIC[task_no]

    def holds(u: int, pred: _Pred) -> bool:
        return all(cnt[u][lab] >= k if op == ">=" else cnt[u][lab] == k for lab, op, k in pred)

    one = {u for u in users if holds(u, p1)}
    two = {u for u in users if holds(u, p2)}
    out: set[tuple[int, int]] = set()
    for u in sorted(one):
        for v in sorted(two):
            if u != v:
                out.add((min(u, v), max(u, v)))
    return [list(p) for p in sorted(out)]


def generate_pairs(*, seed: int, target_tokens: int, index: int, users_mode: str = "auto") -> Task:
    """Task (index % 20) + 1 over window 0 of the OOLONG generator (the same context as oolong index 0..24)."""
    task_no = index % 20 + 1
    w = window(seed, target_tokens, 0, users_mode, False)
    gold = pairs_gold(w, task_no)
    n_users = len(set(w.users))
    all_pairs = n_users * (n_users - 1) // 2
    precision = len(gold) / all_pairs if all_pairs else 0.0
    floor = 2 * precision / (1 + precision) if gold else 0.0
    text = "\n".join(f"({u}, {v})" for u, v in gold) or "[]"
    extra = {
        "task_no": task_no,
        "n_users": n_users,
        "n_gold_pairs": len(gold),
        "floor_all_pairs_f1": floor,
        "density": precision,
        "user_ids": sorted(set(w.users)),
    }
    params: dict[str, Any] = {"users_mode": users_mode}
    return finish(
        "pairs",
        seed=seed,
        target_tokens=target_tokens,
        index=index,
        params=params,
        context=w.text,
        query=pairs_question(task_no),
        answer=gold,
        answer_format="pairs",
        answer_text=text,
        extra=extra,
    )
