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
        "What is the price of a jar of {food} at the {town} market?",
        "What was the year {town} was founded?",
        "What was the number of members of the {org} ({acronym}) at its peak?",
        "What was the age of the oldest {species} ever seen in {region}?",
        "Tell me the distance from {town} to {town2} in kilometers.",
        "Tell me how many bridges cross the river at {town}.",
        "Do you know how many {species}s still live in {region}?",
        "Do you know the year {artwork} was first shown?",
        "Name the year the {org} adopted the abbreviation {acronym}.",
        "Name the number of towers built along the walls of {town}.",
        "Who can tell me how many people work at {landmark}?",
        "Who can tell me the weight of a {device}?",
        "Where can I find the number of visitors {landmark} had last year?",
        "Where can I find the population figure for {region}?",
        "I would like to know how much a {device} cost when it was new.",
        "I would like to know the temperature at which {food} is cooked.",
        "How many {species}s did the {occupation} who mapped {region} count?",
        "How long is the coastline of {region}?",
    ),
    LOC: (
        "What is the capital of {region}?",
        "What is the largest town in {region}?",
        "What is the town where {artwork} is kept today?",
        "What was the birthplace of the painter of {artwork}?",
        "What was the site chosen for the headquarters of the {org}?",
        "What was the port from which the first {device} was shipped?",
        "Tell me the province where {food} comes from.",
        "Tell me the river that flows through {town}.",
        "Do you know the town that hosts {landmark}?",
        "Do you know the place where {species}s nest in the wild?",
        "Name the mountain range that borders {region}.",
        "Name the valley where the {occupation}s of {region} gather each year.",
        "Who can tell me the country where the {acronym} holds its meetings?",
        "Who can tell me the town with the largest population in {region}?",
        "Where can I find the office of the {org}, known by the acronym {acronym}?",
        "Where can I find the island where {species}s were first seen?",
        "I would like to know the town where the {occupation} who mapped {region} was born.",
        "I would like to know the lake where the {occupation} who built {landmark} was born.",
        "How is the province where {food} comes from called?",
        "How is the harbor town closest to {landmark} called?",
    ),
    ENT: (
        "What is the largest breed of {species}?",
        "What is the national {category} of {region}?",
        "What is the name of the ship that sailed from {town} in the great storm?",
        "What was the first {device} ever sold in {town}?",
        "What was the dish served to the {occupation} who opened {landmark}?",
        "What was the instrument played at the {town} festival?",
        "Tell me the {category} that grows near {landmark}.",
        "Tell me a dish made with {food}.",
        "Do you know the rarest {category} found in {region}?",
        "Do you know the breed of dog kept by the {org} ({acronym})?",
        "Name the {category} that the {org} chose as its emblem.",
        "Name a {category} found in {region}.",
        "Who can tell me the name of the horse that won the race at {town}?",
        "Who can tell me the language spoken by the {occupation}s of {region}?",
        "Where can I find the name of the tree planted in front of {landmark}?",
        "Where can I find the name of the song whose title the letters {acronym} stand for?",
        "I would like to know the color of the flag of {region}.",
        "I would like to know the currency used in {region}.",
        "How is the boat that carries {food} down the river from {town} called?",
        "How is the disease that struck the {species}s of {region} called?",
    ),
    DESC: (
        "What is the meaning of {abstract}?",
        "What is the purpose of a {device}?",
        "What is the difference between {abstract} and {abstract2}?",
        "What was the reason the {org} moved to {town}?",
        "What was the idea behind {abstract}?",
        "What was the reason the {occupation} who designed {landmark} left {town}?",
        "Tell me the way a {device} works.",
        "Tell me why {food} turns brown when it is stored.",
        "Do you know the origin of the word {abstract}?",
        "Do you know the way {food} is prepared in {region}?",
        "Name the main idea of {abstract}.",
        "Name the reason the {occupation}s of {town} went on strike.",
        "Who can tell me the definition of {abstract}?",
        "Who can tell me the story behind {artwork}?",
        "Where can I find an explanation of how the {device} works?",
        "What was the reason the {org} chose the abbreviation {acronym}?",
        "I would like to know what {abstract} means to a {occupation}.",
        "I would like to know the history of {landmark}.",
        "How does a {device} work?",
        "How do {species}s survive the winter in {region}?",
    ),
    ABBR: (
        "What is the abbreviation for the {org}?",
        "What is the short form of the {org}?",
        "What is the full name behind the letters {acronym}?",
        "What was the original meaning of the letters {acronym}?",
        "What was the acronym used for the {org}?",
        "Tell me the words hidden in the initials {acronym}.",
        "Tell me what the letters {acronym} mean.",
        "Do you know the expansion of {acronym}?",
        "Do you know the abbreviation of the {org}?",
        "Name the words behind the initials {acronym}.",
        "Name the letters used to abbreviate the {org}.",
        "Who can tell me what the letters {acronym} mean?",
        "Who can tell me the short name of the {org}?",
        "Where can I find what the letters {acronym} mean?",
        "Where can I find the initials used by the {org}?",
        "I would like to know the abbreviation used by the {org} in {town}.",
        "I would like to know what {acronym} stands for on the sign at {landmark}.",
        "How is the {org} abbreviated?",
        "How do people shorten the name of the {org}?",
        "What does the acronym {acronym} stand for?",
    ),
    HUM: (
        "What is the name of the mayor of {town}?",
        "What is the name of the inventor of the {device}?",
        "What is the name of the founder of the {org} ({acronym})?",
        "What was the name of the architect who designed {landmark}?",
        "What was the name of the first {occupation} in {region}?",
        "Tell me the painter who created {artwork}.",
        "Tell me the author of {artwork}.",
        "Do you know the founder of the {org}?",
        "Do you know the {occupation} who mapped {region}?",
        "Name the {occupation} who discovered {landmark}.",
        "Name the person who invented the {device}.",
        "Who can tell me the name of the {occupation} who first cooked {food}?",
        "Who can tell me the leader of the {org} in {town}?",
        "Where can I find the name of the keeper of {landmark}?",
        "Who can tell me who chose the abbreviation {acronym} for the {org}?",
        "I would like to know the name of the {occupation} who counted the population of {town}.",
        "I would like to know who first described the {species}s of {region}.",
        "How is the {occupation} who built the first {device} called?",
        "How is the explorer who first reached {landmark} called?",
        "What was the name of the chairwoman who ran the {org} in {town}?",
    ),
}
"""20 templates per label; every label has templates for each opening ("What is the", "What was the", "Tell
me", "Do you know", "Name", "Who can tell me", "Where can I find", "I would like to know", "How"), so neither
the first words nor a wh-word rule give the label away."""
EPOCH = dt.date(2022, 1, 1)
N_DAYS = (dt.date(2024, 12, 31) - EPOCH).days + 1
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTH_NAMES = "January February March April May June July August September October November December".split()
QUESTIONS_PER_WINDOW = 25
SEED_VERSION = "2"
"""The version in the seeds of windows and questions: version 3 only redraws a question that repeats an earlier
one of its window (version 2 asked a few twice), so it keeps version 2's draws, and every window and every
question that was already distinct stays as it was."""
UNITS_MODES = ("tokens", "oolong_llama2_equiv")
HEADER = (
    "The following lines contain {n} general-knowledge questions, one per line. Each line has a date, a user ID "
    "and the question (the instance). Each question can be classified into exactly one of these labels: "
    + ", ".join(LABELS)
    + ".\n"
)


def question(rng: random.Random, label: str) -> str:
    """One question of `label` from its templates, slots filled from the embedded lexicons (>= 200 entries per
    slot type except `category`)."""
    org, acronym = rng.choice(lx.ORGS)
    slots = {
        "town": rng.choice(lx.TOWNS),
        "town2": rng.choice(lx.TOWNS),
        "region": rng.choice(lx.PROVINCES),
        "landmark": rng.choice(lx.LANDMARKS),
        "device": rng.choice(lx.MACHINES),
        "food": rng.choice(lx.DISHES),
        "species": rng.choice(lx.SPECIES),
        "category": rng.choice(lx.KINDS),
        "abstract": rng.choice(lx.ABSTRACT_IDEAS),
        "abstract2": rng.choice(lx.ABSTRACT_IDEAS),
        "occupation": rng.choice(lx.TRADES),
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
        raise InputError(f"users_mode must be oolong, capped, auto (or selective for pairs), not {users_mode!r}")
    return users


@lru_cache(maxsize=4)
def window(
    seed: int,
    target_tokens: int,
    number: int,
    users_mode: str = "auto",
    with_labels: bool = False,
    units_mode: str = "tokens",
) -> Window:
    """Window `number` of (seed, target_tokens): lines until the text reaches target_tokens chars4 tokens, or
    with units_mode "oolong_llama2_equiv" the paper's line count, round(787 * target_tokens / 32768) (OOLONG
    measures Llama-2 tokens: 787 lines at 32K), whatever their size."""
    if units_mode not in UNITS_MODES:
        raise InputError(f"oolong units_mode must be one of {', '.join(UNITS_MODES)}, not {units_mode!r}")
    n_lines = round(787 * target_tokens / 32768) if units_mode == "oolong_llama2_equiv" else None
    rng = make_rng("oolong", seed, target_tokens, f"window{number}", "lines", SEED_VERSION)
    while True:  # Dirichlet(1) label proportions, redrawn until most/least common labels are clearly apart
        weights = [rng.gammavariate(1.0, 1.0) for _ in LABELS]
        ranked = sorted(w / sum(weights) for w in weights)
        if ranked[-1] - ranked[-2] > 0.05 and ranked[1] - ranked[0] > 0.05:
            break
    goal = target_tokens * 4 - len(HEADER) - 12
    line_chars = 96  # about a line's length: sets the user count before the lines exist
    n_est = n_lines if n_lines is not None else max(1, goal // line_chars)
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
    while (size < goal) if n_lines is None else (len(lines) < n_lines):
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
_FORM_DATE = " Give your final answer in the form 'Date: MM/DD/YYYY'."
_FORM_MONTH = " Give your final answer in the form 'Answer: Month YYYY' (for example 'Answer: March 2023')."
_FORM_COMPARE = " where [X] is 'more common than', 'less common than', or 'same frequency as'."
INSTRUCTIONS = (
    "You are given general-knowledge questions, one per line, each with a date and a user ID. Each question "
    "belongs to exactly one of the labels: " + ", ".join(LABELS) + ". The labels are not given: decide each "
    "line's label from its question. Answer the question below about the whole data set.\n"
)
COUNTING = ("most_label", "least_label", "relative", "count_label")
USER = ("top_user", "second_user", "user_label", "two_users_label", "subset_count")
TIMELINE = (
    "top_date",
    "second_date",
    "dates_exactly_n",
    "before_after",
    "month_count",
    "range_count",
    "months_a_over_b",
    "first_month_a_over_b",
    "months_label_top",
)
QUESTION_TYPES = COUNTING + USER + TIMELINE
"""Every OOLONG question family of BENCHMARKS.md 2.2 (counting, user, timeline)."""
_COUNTING_SLOTS = ("most_label", "least_label") + ("relative", "count_label") * 4
"""Counting 10: the most and the least common label once each (a window has one of each), 4 comparisons of two
labels and 4 label counts."""
_USER_SLOTS = ("top_user", "second_user", "user_label", "two_users_label", "subset_count", "user_label", "subset_count")
_FALLBACK = {**dict.fromkeys(COUNTING, "count_label"), **dict.fromkeys(USER, "subset_count")}
_FALLBACK.update(dict.fromkeys(TIMELINE, "range_count"))
_UNASKABLE = {
    "most_label": "has no most common label ahead of the next by more than 2% of the lines",
    "least_label": "has no least common label behind the next by more than 2% of the lines",
    "relative": "has no two labels whose counts differ by more than 2% of the lines",
    "top_user": "has no single most represented user (two or more tie)",
    "second_user": "has no single second most represented user (two or more tie)",
    "user_label": "has, for the labels drawn, no single user with the most instances of the label (ties)",
    "two_users_label": "has, for the users and labels drawn, no two users with different counts of the label",
    "top_date": "has no single most frequent date (two or more dates tie)",
    "second_date": "has no single second most frequent date (two or more dates tie)",
    "dates_exactly_n": "has no date represented exactly 1, 2 or 3 times",
    "before_after": "has, for the labels and dates drawn, no label clearly more common on one side of the date",
    "month_count": "has no month with instances among those drawn",
    "months_a_over_b": "has, for the labels drawn, no pair ahead in some months but not all",
    "first_month_a_over_b": "has, for the labels drawn, no pair that first leads after the first month",
}
"""Why a window cannot hold a question family (what a refused `question_type` says); the counts always can."""
_DRAWS = 50
ONE_PER_WINDOW = ("most_label", "least_label", "top_user", "second_user", "top_date", "second_date")
"""The families with one question per window (nothing is drawn): asked as `question_type`, a window's first index
asks it and its other indexes are refused (they would repeat it)."""
_LAST_RESORT = ("subset_count", "range_count")


def _planned(number: int, q: int) -> str:
    """The planned family of question q (0..24) of window `number`: counting 10, user 7, timeline 8 (the
    timeline slots rotate over its 9 families from window to window), as the spec stratifies OOLONG."""
    if q < 10:
        return _COUNTING_SLOTS[q]
    if q < 17:
        return _USER_SLOTS[q - 10]
    return TIMELINE[(q - 17 + number) % len(TIMELINE)]


@dataclass(frozen=True, slots=True)
class Stats:
    """Counters over a window's lines, computed once per window."""

    n: int
    labels: list[int]
    users: Counter[int]
    user_label: dict[int, Counter[int]]
    dates: Counter[int]
    month_label: Counter[tuple[int, int, int]]
    months: list[tuple[int, int]]


def _stats(w: Window) -> Stats:
    labels = [0] * len(LABELS)
    user_label: dict[int, Counter[int]] = {}
    month_label: Counter[tuple[int, int, int]] = Counter()
    for i, (u, lab) in enumerate(zip(w.users, w.labels, strict=True)):
        labels[lab] += 1
        user_label.setdefault(lab, Counter())[u] += 1
        d = w.date(i)
        month_label[(d.year, d.month, lab)] += 1
    months = [(y, m) for y in (2022, 2023, 2024) for m in range(1, 13)]
    return Stats(len(w.labels), labels, Counter(w.users), user_label, Counter(w.days), month_label, months)


_Q = tuple[str, Any, str, str]  # (question text, gold, answer_format, answer_text)


def _unique_rank(counter: Counter[int], rank: int) -> int | None:
    """The key at `rank` (0 = most common) when its count differs from its neighbours' (no tie)."""
    top = counter.most_common(rank + 2)
    if len(top) <= rank:
        return None
    count = top[rank][1]
    if (rank and top[rank - 1][1] == count) or (len(top) > rank + 1 and top[rank + 1][1] == count):
        return None
    return top[rank][0]


def _date_text(day: int) -> str:
    d = EPOCH + dt.timedelta(days=day)
    return f"{MONTH_NAMES[d.month - 1]} {d.day}, {d.year}"


def _ask(kind: str, w: Window, s: Stats, rng: random.Random) -> _Q | None:
    """One draw of a question of family `kind`, or None when this draw is not valid (tie, no gap, empty)."""
    n = s.n
    a, b = rng.sample(range(len(LABELS)), 2)
    la, lb = LABELS[a], LABELS[b]
    if kind in ("most_label", "least_label"):
        order = sorted(range(len(LABELS)), key=lambda i: s.labels[i], reverse=kind == "most_label")
        if abs(s.labels[order[0]] - s.labels[order[1]]) <= 0.02 * n:
            return None
        word = "most" if kind == "most_label" else "least"
        text = f"In the above data, which of the labels is the {word} common?" + _FORM_LABEL
        return text, LABELS[order[0]], "label", f"Label: {LABELS[order[0]]}"
    if kind == "relative":
        if abs(s.labels[a] - s.labels[b]) <= 0.02 * n:
            return None
        rel = "more common than" if s.labels[a] > s.labels[b] else "less common than"
        text = (
            f"In the above data, is label '{la}' more common, less common, or the same frequency as label "
            f"'{lb}'? Give your final answer in the form 'Answer: {la} is [X] {lb}'," + _FORM_COMPARE
        )
        return text, rel, "comparison", f"Answer: {la} is {rel} {lb}"
    if kind == "count_label":
        text = f"In the above data, how many data points should be classified as label '{la}'?" + _FORM_NUMBER
        return text, s.labels[a], "numeric", f"Answer: {s.labels[a]}"
    if kind in ("top_user", "second_user"):
        user = _unique_rank(s.users, 0 if kind == "top_user" else 1)
        if user is None:
            return None
        which = "the most" if kind == "top_user" else "the second most"
        text = f"In the above data, which user ID has {which} instances?" + _FORM_USER
        return text, str(user), "user", f"User: {user}"
    if kind == "user_label":
        user = _unique_rank(s.user_label.get(a, Counter()), 0)
        if user is None:
            return None
        text = f"In the above data, which user ID has the most instances with the label '{la}'?" + _FORM_USER
        return text, str(user), "user", f"User: {user}"
    if kind == "two_users_label":
        top50 = [u for u, _ in s.users.most_common(50)]
        if len(top50) < 2:
            return None
        u1, u2 = rng.sample(top50, 2)
        c1, c2 = s.user_label.get(a, Counter())[u1], s.user_label.get(a, Counter())[u2]
        if c1 == c2:
            return None
        winner = u1 if c1 > c2 else u2
        text = (
            f"In the above data, which of the users {u1} and {u2} has more instances with the label '{la}'?"
            + _FORM_USER
        )
        return text, str(winner), "user", f"User: {winner}"
    if kind == "subset_count":
        top50 = [u for u, _ in s.users.most_common(50)]
        subset = sorted(rng.sample(top50, min(len(top50), rng.randint(10, 20))))
        per = s.user_label.get(a, Counter())
        gold = sum(per[u] for u in subset)
        text = (
            f"In the above data, among the instances of the users with IDs {', '.join(map(str, subset))}, "
            f"how many should be classified as label '{la}'?" + _FORM_NUMBER
        )
        return text, gold, "numeric", f"Answer: {gold}"
    if kind in ("top_date", "second_date"):
        day = _unique_rank(s.dates, 0 if kind == "top_date" else 1)
        if day is None:
            return None
        d = EPOCH + dt.timedelta(days=day)
        which = "the most" if kind == "top_date" else "the second most"
        text = f"In the above data, which date has {which} instances?" + _FORM_DATE
        return text, d.isoformat(), "date", f"Date: {d:%m/%d/%Y}"
    if kind == "dates_exactly_n":
        times = rng.randint(1, 3)
        gold = sum(1 for c in s.dates.values() if c == times)
        if not gold:
            return None
        text = (
            f"In the above data, how many dates are represented exactly {times} time{'s' if times > 1 else ''} "
            "(counting the instances of every label)?" + _FORM_NUMBER
        )
        return text, gold, "numeric", f"Answer: {gold}"
    if kind == "before_after":
        cut = rng.randrange(N_DAYS // 4, 3 * N_DAYS // 4)
        before = sum(1 for d, lab in zip(w.days, w.labels, strict=True) if lab == a and d < cut)
        after = s.labels[a] - before
        if abs(before - after) <= max(1, 0.02 * s.labels[a]):
            return None
        rel = "more common than" if before > after else "less common than"
        when = _date_text(cut)
        text = (
            f"In the above data, counting instances, is label '{la}' more common, less common, or the same frequency "
            f"before {when} as on or after {when}? Give your final answer in the form 'Answer: {la} before "
            f"{when} is [X] {la} on or after it'," + _FORM_COMPARE
        )
        return text, rel, "comparison", f"Answer: {la} before {when} is {rel} {la} on or after it"
    if kind == "month_count":
        year, month = rng.choice((2022, 2023, 2024)), rng.randint(1, 12)
        if not any(s.month_label[(year, month, lab)] for lab in range(len(LABELS))):
            return None
        gold = s.month_label[(year, month, a)]
        text = (
            f"In the above data, how many instances dated in {MONTH_NAMES[month - 1]} {year} "
            f"should be classified as label '{la}'?" + _FORM_NUMBER
        )
        return text, gold, "numeric", f"Answer: {gold}"
    if kind == "range_count":
        start = rng.randrange(N_DAYS - 30)
        end = min(N_DAYS - 1, start + rng.randint(30, 200))
        gold = sum(1 for d, lab in zip(w.days, w.labels, strict=True) if lab == a and start <= d <= end)
        text = (
            f"In the above data, how many instances dated from {_date_text(start)} to {_date_text(end)} "
            f"(both included) should be classified as label '{la}'?" + _FORM_NUMBER
        )
        return text, gold, "numeric", f"Answer: {gold}"
    if kind == "months_a_over_b":
        over = sum(1 for y, m in s.months if s.month_label[(y, m, a)] > s.month_label[(y, m, b)])
        if not 0 < over < len(s.months):  # all or none of the months would follow from the overall counts
            return None
        text = (
            f"In the above data, in how many months (of the 36 from January 2022 to December 2024) "
            f"does label '{la}' occur more often than label '{lb}'?" + _FORM_NUMBER
        )
        return text, over, "numeric", f"Answer: {over}"
    if kind == "first_month_a_over_b":
        first = next(((y, m) for y, m in s.months if s.month_label[(y, m, a)] > s.month_label[(y, m, b)]), None)
        if first is None or first == s.months[0]:  # the very first month would not need the timeline
            return None
        label_month = f"{MONTH_NAMES[first[1] - 1]} {first[0]}"
        text = (
            f"In the above data, in which month (from January 2022 on) did label '{la}' first occur more often "
            f"than label '{lb}'?" + _FORM_MONTH
        )
        return text, label_month, "month_year", f"Answer: {label_month}"
    # months_label_top
    top = 0
    for y, m in s.months:
        counts = [s.month_label[(y, m, lab)] for lab in range(len(LABELS))]
        top += counts[a] > max(c for i, c in enumerate(counts) if i != a)
    text = (
        f"In the above data, in how many months (of the 36 from January 2022 to December 2024) is label '{la}' "
        "the single most frequent label (more instances than every other label that month)?" + _FORM_NUMBER
    )
    return text, top, "numeric", f"Answer: {top}"


_Asked = tuple[str, Any, str, str, str]  # (question, gold, answer_format, answer_text, question_type)


def _draw(kind: str, w: Window, s: Stats, rng: random.Random, asked: set[str]) -> tuple[_Q | None, bool]:
    """(up to _DRAWS draws of `kind` for the first valid question not in `asked`, or None; whether any draw
    was valid, so that None tells a window that cannot hold the family from one whose questions are all asked)."""
    valid = False
    for _ in range(_DRAWS):
        got = _ask(kind, w, s, rng)
        if got is not None:
            valid = True
            if got[0] not in asked:
                return got, True
    return None, valid


@lru_cache(maxsize=8)
def _window_questions(
    seed: int,
    target_tokens: int,
    number: int,
    users_mode: str,
    with_labels: bool,
    units_mode: str,
    question_type: str | None,
) -> tuple[_Asked | str, ...]:
    """The 25 questions of window `number`, each distinct from the window's earlier ones (a question asked twice
    would count one task twice in the mean). Planned (question_type None): each slot's family, else its group's
    always-valid count. With `question_type`: that family in every slot, or, for a slot that cannot have one
    (none valid, or all valid ones asked at lower indexes), why (a str); never another family under its name."""
    w = window(seed, target_tokens, number, users_mode, with_labels, units_mode)
    s = _window_stats(seed, target_tokens, number, users_mode, with_labels, units_mode)
    asked: set[str] = set()
    out: list[_Asked | str] = []
    for q in range(QUESTIONS_PER_WINDOW):
        index = number * QUESTIONS_PER_WINDOW + q
        rng = make_rng("oolong", seed, target_tokens, index, "question", SEED_VERSION)
        planned = question_type or _planned(number, q)
        # planned: the slot's family, else a count (its group's, then the ones with the most distinct questions)
        kinds = [planned] if question_type else list(dict.fromkeys((planned, _FALLBACK[planned], *_LAST_RESORT)))
        got: _Q | None = None
        for kind in kinds:
            got, valid = _draw(kind, w, s, rng, asked)
            if got is not None:
                break
        if got is None:
            same = sum(1 for each in out if not isinstance(each, str) and each[4] == planned)
            out.append(
                f"has only {same} distinct {planned} questions, all asked at lower indexes"
                if valid
                else _UNASKABLE.get(planned, "has no valid question of this family")
            )
            continue
        asked.add(got[0])
        out.append((*got, kind))
    return tuple(out)


@lru_cache(maxsize=4)
def _window_stats(
    seed: int, target_tokens: int, number: int, users_mode: str, with_labels: bool, units_mode: str
) -> Stats:
    return _stats(window(seed, target_tokens, number, users_mode, with_labels, units_mode))


def generate_oolong(
    *,
    seed: int,
    target_tokens: int,
    index: int,
    users_mode: str = "auto",
    with_labels: bool = False,
    question_type: str | None = None,
    units_mode: str = "tokens",
) -> Task:
    """Question index % 25 of window index // 25 (counting 10, user 7, timeline 8; a family the window cannot
    hold is replaced by a count, which metadata["question_type"] says), or, when `question_type` (one of
    QUESTION_TYPES) is given, a question of that family; no two indexes of a window ask the same question (an
    ONE_PER_WINDOW family has one question a window: at its first index).
    `units_mode` as `window` takes it. Gold shapes: label / user (str), numeric (int), comparison ("more common
    than" / "less common than"), date (ISO "YYYY-MM-DD"), month_year ("March 2023"). Raises InputError when
    the window has no (further) question of the asked family, saying why."""
    number = index // QUESTIONS_PER_WINDOW
    if question_type is not None and question_type not in QUESTION_TYPES:
        raise InputError(f"oolong question_type must be one of {', '.join(QUESTION_TYPES)}, not {question_type!r}")
    w = window(seed, target_tokens, number, users_mode, with_labels, units_mode)
    drawn = _window_questions(seed, target_tokens, number, users_mode, with_labels, units_mode, question_type)
    asked = drawn[index % QUESTIONS_PER_WINDOW]
    if isinstance(asked, str):
        first = number * QUESTIONS_PER_WINDOW
        last = first + QUESTIONS_PER_WINDOW - 1
        where = f"window {number} (indexes {first}..{last}) of seed {seed} at {target_tokens}"
        if question_type is None:  # every count asked already: not met in practice, but never a repeat
            raise InputError(f"oolong index {index}: {where} tokens has no question left that its others do not ask")
        raise InputError(
            f"oolong question_type={question_type} cannot be asked at index {index}: {where} tokens {asked}; try "
            "another seed, length or index, or leave question_type out (the planned mix asks a count there instead)"
        )
    text, gold, fmt, answer_text, kind = asked
    params: dict[str, Any] = {"users_mode": users_mode, "with_labels": with_labels}
    if question_type is not None:
        params["question_type"] = question_type
    if units_mode != "tokens":
        params["units_mode"] = units_mode
    group = "counting" if kind in COUNTING else "user" if kind in USER else "timeline"
    extra = {
        "window": number,
        "question_type": kind,
        "question_group": group,
        "n_lines": len(w.labels),
        "n_users": len(set(w.users)),
    }
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


# OOLONG-Pairs: the paper's 20 tasks (Zhang et al., "Recursive Language Models", App. D.1, CC BY 4.0) as data.
# Symmetric: (labels S, date rule or None); asymmetric: P1, P2 as (label, op, k) with op ">=" or "==".
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
EXTRA_PAIRS = {
    21: "where both users have the same single most frequent label (one label with more instances than any other)",
    22: "where the two users have no label in common (no label has an instance from both users)",
}
"""Optional extra pair families (BENCHMARKS.md 3.c), asked only with `task_no=21/22`; still quadratic in output."""
PAPER_LABEL_ORDER = "description and abstract concept, entity, human being, numeric value, location, abbreviation"
PAIRS_TAIL = (
    " Each of the questions can be labelled as one of the labels (the data does not provide the labels, you need "
    f"to figure out the label from the semantics of the question): {PAPER_LABEL_ORDER}. In your answer, list all "
    "pairs in the format (user_id_1, user_id_2), separated by newlines. Sort the pairs by the first user ID; if "
    "there are no such pairs, answer []."
)
MAX_GOLD_PAIRS = 20_000
PAIRS_WINDOWS = 8
"""Windows tried, in order from the oolong window 0, for one whose gold set fits min..max_gold_pairs."""


def _article(label: str) -> str:
    return "an" if label[0] in "aeiou" else "a"


def _count_phrase(label: str, op: str, k: int) -> str:
    amount = {1: "one", 2: "two"}[k]
    return f"{'at least' if op == '>=' else 'exactly'} {amount} instance{'s' if k > 1 else ''} with {label}"


def _join(parts: list[str]) -> str:
    return (
        parts[0]
        if len(parts) == 1
        else " and ".join(parts)
        if len(parts) == 2
        else ", ".join(parts[:-1]) + (f", and {parts[-1]}")
    )


def pairs_question(task_no: int) -> str:
    """The paper's query for task `task_no` (1..20; 21/22 are the optional extra families), then the label list
    and answer-format sentences and the sorting / empty-list sentence (E.2)."""
    head = "In the above data, list all pairs of user IDs (no duplicate pairs, list lower ID first) "
    if task_no in SYMMETRIC:
        (a, b), rule = SYMMETRIC[task_no]
        text = f"where both users have at least one instance with {_article(a)} {a} or {b}"
        if rule is not None:
            side = "after" if rule[1] == ">" else "before"
            when = f"{MONTH_NAMES[rule[2].month - 1]} {rule[2].day}, {rule[2].year}"
            text += f", and all instances that are {_article(rule[0])} {rule[0]} for both users must be {side} {when}"
    elif task_no in ASYMMETRIC:
        p1, p2 = ASYMMETRIC[task_no]
        if task_no == 11:  # the paper's own wording for this one
            first = "at least one instance with entity and one with abbreviation"
        else:
            first = _join([_count_phrase(*c) for c in p1])
        text = f"such that one user has {first}, and the other user has {_join([_count_phrase(*c) for c in p2])}"
    elif task_no in EXTRA_PAIRS:
        text = EXTRA_PAIRS[task_no]
    else:
        raise InputError(f"pairs task_no must be 1..{20 + len(EXTRA_PAIRS)}, not {task_no!r}")
    return head + text + "." + PAIRS_TAIL


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
    if task_no in EXTRA_PAIRS:
        return _extra_gold(cnt, users, task_no)
    p1, p2 = ASYMMETRIC[task_no]

    def holds(u: int, pred: _Pred) -> bool:
        return all(cnt[u][lab] >= k if op == ">=" else cnt[u][lab] == k for lab, op, k in pred)

    one = [u for u in users if holds(u, p1)]
    two = [u for u in users if holds(u, p2)]
    out: set[tuple[int, int]] = set()
    for u in one:
        for v in two:
            if u != v:
                out.add((min(u, v), max(u, v)))
    return [list(p) for p in sorted(out)]


def _extra_gold(cnt: dict[int, Counter[str]], users: list[int], task_no: int) -> list[list[int]]:
    if task_no == 21:
        top: dict[int, str] = {}
        for u in users:
            ranked = cnt[u].most_common(2)
            if len(ranked) == 1 or ranked[0][1] > ranked[1][1]:
                top[u] = ranked[0][0]
        keyed = sorted(top)
        return [[a, b] for i, a in enumerate(keyed) for b in keyed[i + 1 :] if top[a] == top[b]]
    masks = {u: sum(1 << LABELS.index(lab) for lab in cnt[u]) for u in users}
    return [[a, b] for i, a in enumerate(users) for b in users[i + 1 :] if not masks[a] & masks[b]]


@lru_cache(maxsize=64)
def _gold_for(seed: int, target_tokens: int, number: int, users_mode: str, task_no: int) -> tuple[list[int], ...]:
    return tuple(pairs_gold(window(seed, target_tokens, number, users_mode, False), task_no))


def pairs_task_no(index: int, users_mode: str) -> int:
    """Task (index % 20) + 1; in "selective" mode 11 + index % 10 (the sparse "exactly k" tasks only). Indexes
    past the last task would repeat the earlier ones (same task, same window): `generate_pairs` refuses them."""
    return 11 + index % 10 if users_mode == "selective" else index % 20 + 1


def distinct_tasks(family: str, params: dict[str, Any]) -> tuple[int, str] | None:
    """(how many distinct tasks indexes 0, 1, ... of `family` ("oolong" or "pairs") give at one length with
    `params`, why) when that is a fixed number, else None. pairs: 20 (the paper's tasks 1-20), 10 in users_mode
    "selective" (tasks 11-20), 1 with `task_no`; oolong with a `question_type` of ONE_PER_WINDOW: 1 in indexes
    0..24 (a window has one such question)."""
    if family == "pairs":
        if params.get("task_no") is not None:
            return 1, f"task_no={params['task_no']} is one task"
        if params.get("users_mode") == "selective":
            return 10, "users_mode=selective has the paper's tasks 11-20 only"
        return 20, "the paper's tasks 1-20"
    if family == "oolong" and params.get("question_type") in ONE_PER_WINDOW:
        return 1, f"question_type={params['question_type']} has one question a window (indexes 0-24)"
    return None


def generate_pairs(
    *,
    seed: int,
    target_tokens: int,
    index: int,
    users_mode: str = "auto",
    max_gold_pairs: int | None = MAX_GOLD_PAIRS,
    min_gold_pairs: int = 1,
    task_no: int | None = None,
) -> Task:
    """Task `pairs_task_no(index, users_mode)` (or `task_no`, 1..22) over the first OOLONG window of (seed,
    target_tokens), from window 0 (the oolong context of indexes 0..24) on, whose gold has min_gold_pairs..
    max_gold_pairs pairs (None: no upper bound). users_mode: "oolong" (U = lines / 4), "capped" (U <= 1,000),
    "auto" (capped above 2^16 tokens) or "selective" (capped, tasks 11-20). Raises InputError when none of the
    PAIRS_WINDOWS windows fits, saying what to change, and for an index past the distinct tasks (20; 10 in
    "selective" mode; 1 with `task_no`), which would repeat one."""
    if users_mode == "selective":
        mode = "capped"
    else:
        mode = users_mode
        n_users(10, target_tokens, mode)  # validates the name
    distinct, why = distinct_tasks("pairs", {"users_mode": users_mode, "task_no": task_no}) or (0, "")
    if index >= distinct:  # the same task over the same window: a run would count it twice
        raise InputError(
            f"pairs index {index} would repeat index {index % distinct}: {distinct} distinct tasks a length ({why}); "
            f"give an index 0..{distinct - 1}"
        )
    number_task = task_no if task_no is not None else pairs_task_no(index, users_mode)
    if task_no is not None:
        pairs_question(task_no)  # validates the number
    if max_gold_pairs is not None and (isinstance(max_gold_pairs, bool) or max_gold_pairs < min_gold_pairs):
        raise InputError(f"max_gold_pairs must be an integer >= min_gold_pairs ({min_gold_pairs}) or None")
    sizes: list[int] = []
    for number in range(PAIRS_WINDOWS):
        gold = [list(p) for p in _gold_for(seed, target_tokens, number, mode, number_task)]
        sizes.append(len(gold))
        if min_gold_pairs <= len(gold) and (max_gold_pairs is None or len(gold) <= max_gold_pairs):
            break
    else:
        raise InputError(
            f"pairs task {number_task} at {target_tokens} tokens: the gold sets of the first {PAIRS_WINDOWS} "
            f"windows have {sizes} pairs, none within {min_gold_pairs}..{max_gold_pairs}; use "
            "users_mode='selective' (tasks 11-20), a shorter length, or a larger max_gold_pairs (None: no bound)"
        )
    w = window(seed, target_tokens, number, mode, False)
    users = sorted(set(w.users))
    all_pairs = len(users) * (len(users) - 1) // 2
    density = len(gold) / all_pairs if all_pairs else 0.0
    text = "\n".join(f"({u}, {v})" for u, v in gold) or "[]"
    extra = {
        "task_no": number_task,
        "window": number,
        "n_users": len(users),
        "n_gold_pairs": len(gold),
        "floor_all_pairs_f1": 2 * density / (1 + density) if gold else 0.0,
        "floor_empty_f1": 0.0 if gold else 1.0,
        "density": density,
        "user_ids": users,
        "users_mode": users_mode,
        "max_gold_pairs": max_gold_pairs,
    }
    params: dict[str, Any] = {"users_mode": users_mode}
    if max_gold_pairs != MAX_GOLD_PAIRS:
        params["max_gold_pairs"] = max_gold_pairs
    if min_gold_pairs != 1:
        params["min_gold_pairs"] = min_gold_pairs
    if task_no is not None:
        params["task_no"] = task_no
    return finish(
        "pairs",
        seed=seed,
        target_tokens=target_tokens,
        index=index,
        params=params,
        context=w.text,
        query=pairs_question(number_task),
        answer=gold,
        answer_format="pairs",
        answer_text=text,
        extra=extra,
    )
