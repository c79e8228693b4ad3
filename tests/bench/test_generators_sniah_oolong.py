"""S-NIAH and OOLONG generators against BENCHMARKS.md 3.a / 3.b: distractor needles, haystack sources, every
OOLONG question family with its gold recomputed from the labelled lines, and the keyword-regex quality gate."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections import Counter, defaultdict

import pytest

from rlmx.bench import generate, score, score_details
from rlmx.bench import lexicon as lx
from rlmx.bench.oolong import LABELS, QUESTION_TYPES, TEMPLATES, question
from rlmx.bench.task import make_rng
from rlmx.errors import InputError

NUM, ENT, LOC, DESC, ABBR, HUM = LABELS


def test_distractor_variant_hides_the_needle_among_confusable_ones() -> None:
    task = generate("sniah", seed=4, target_tokens=16384, index=7, variant="distractor")
    text = str(task.context)
    others = task.metadata["distractors"]
    assert 3 <= len(others) <= 20 and task.params["n_distractors"] == len(others)
    assert text.count("special magic") == len(others) + 1 and text.count(str(task.answer)) == 1
    adj, noun = task.metadata["key"].split("-")
    keys = [re.search(r"for (\S+) is", n).group(1) for n in others]  # type: ignore[union-attr]
    assert len(set(keys)) == len(keys) and task.metadata["key"] not in keys
    assert any(k.startswith(adj + "-") or k.endswith("-" + noun) for k in keys)  # confusable keys exist
    assert abs(task.metadata["n_tokens"] - 16384) <= 164
    assert text.index(task.metadata["needle"]) == task.metadata["needle_offset"]
    wrong = others[0].rsplit(" ", 1)[1].rstrip(".")
    assert score("sniah", str(task.answer), task) == 1.0
    assert score("sniah", wrong, task) == 0.0
    listed = score_details("sniah", f"{wrong} or {task.answer}", task)
    assert listed["score"] == 1.0 and listed["strict"] == 0.0  # RULER's match passes a list; strict does not


def test_distractors_on_an_essay_uuid_task_are_uuids() -> None:
    task = generate("sniah", seed=4, target_tokens=8192, index=2, n_distractors=5)
    assert task.metadata["variant"] == "essay_uuid" and len(task.metadata["distractors"]) == 5
    assert all(re.search(r"[0-9a-f-]{36}\.$", n) for n in task.metadata["distractors"])


@pytest.mark.parametrize("source", ["essay", "markov", "pydoc", "mixed"])
def test_haystack_sources_keep_one_needle_on_size_and_depth(source: str) -> None:
    for index in (1, 20):
        task = generate("sniah", seed=9, target_tokens=32768, index=index, haystack_source=source)
        text = str(task.context)
        assert task.metadata["haystack_source"] == source
        assert text.count("special magic") == 1 and text.count(str(task.answer)) == 1
        assert abs(task.metadata["n_tokens"] - 32768) <= 327
        where = text.index(task.metadata["needle"]) / len(text) * 100
        assert abs(where - task.metadata["depth"]) < 1.5
    default = generate("sniah", seed=9, target_tokens=32768, index=1)
    assert ("haystack_source" in task.params) == (source != "essay")
    assert default.context == generate("sniah", seed=9, target_tokens=32768, index=1, haystack_source="essay").context


def test_haystack_source_errors_are_clear() -> None:
    with pytest.raises(InputError, match="noise block"):
        generate("sniah", seed=0, target_tokens=8192, index=0, haystack_source="pydoc")
    with pytest.raises(InputError, match="haystack_source must be one of"):
        generate("sniah", seed=0, target_tokens=8192, index=1, haystack_source="wiki")
    with pytest.raises(InputError, match="n_distractors"):
        generate("sniah", seed=0, target_tokens=8192, index=1, n_distractors=99)
    if shutil.which("bible") is None:
        with pytest.raises(InputError, match="bible-kjv"):
            generate("sniah", seed=0, target_tokens=8192, index=1, haystack_source="kjv")


def _parse_labelled(context: str) -> list[tuple[dt.date, int, str]]:
    """(date, user, label) of every line of a with_labels window, read from the text alone."""
    rows = []
    for line in context.splitlines():
        m = re.fullmatch(r"Date: (\w{3}) (\d{2}), (\d{4}) \|\| User: (\d+) \|\| Instance: .* \|\| Label: (.+)", line)
        if m:
            month = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split().index(m[1]) + 1
            rows.append((dt.date(int(m[3]), month, int(m[2])), int(m[4]), m[5]))
    return rows


def _recount(kind: str, query: str, rows: list[tuple[dt.date, int, str]]) -> object:
    labels = re.findall(r"label '([^']+)'", query)
    dates = [dt.datetime.strptime(d, "%B %d, %Y").date() for d in re.findall(r"(\w+ \d{1,2}, \d{4})", query)]
    if kind == "count_label":
        return sum(1 for _, _, lab in rows if lab == labels[0])
    if kind == "most_label":
        return Counter(lab for _, _, lab in rows).most_common(1)[0][0]
    if kind == "top_user":
        return str(Counter(u for _, u, _ in rows).most_common(1)[0][0])
    if kind == "user_label":
        return str(Counter(u for _, u, lab in rows if lab == labels[0]).most_common(1)[0][0])
    if kind == "range_count":
        return sum(1 for d, _, lab in rows if lab == labels[0] and dates[0] <= d <= dates[1])
    if kind == "before_after":
        before = sum(1 for d, _, lab in rows if lab == labels[0] and d < dates[0])
        after = sum(1 for d, _, lab in rows if lab == labels[0] and d >= dates[0])
        return "more common than" if before > after else "less common than"
    if kind == "dates_exactly_n":
        times = int(re.search(r"exactly (\d+) time", query)[1])  # type: ignore[index]
        return sum(1 for c in Counter(d for d, _, _ in rows).values() if c == times)
    if kind == "first_month_a_over_b":
        per = Counter((d.year, d.month, lab) for d, _, lab in rows)
        for year in (2022, 2023, 2024):
            for month in range(1, 13):
                if per[(year, month, labels[0])] > per[(year, month, labels[1])]:
                    return f"{dt.date(year, month, 1):%B} {year}"
    if kind == "months_label_top":
        per = Counter((d.year, d.month, lab) for d, _, lab in rows)
        return sum(
            1
            for y in (2022, 2023, 2024)
            for m in range(1, 13)
            if per[(y, m, labels[0])] > max(per[(y, m, other)] for other in LABELS if other != labels[0])
        )
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "count_label",
        "most_label",
        "top_user",
        "user_label",
        "range_count",
        "before_after",
        "dates_exactly_n",
        "first_month_a_over_b",
        "months_label_top",
    ],
)
def test_oolong_gold_is_what_the_labelled_lines_say(kind: str) -> None:
    seed = next(s for s in range(5, 40) if _askable(s, kind))  # a window where the family is valid (no tie at the top)
    task = generate("oolong", seed=seed, target_tokens=16384, index=25, question_type=kind)
    labelled = generate("oolong", seed=seed, target_tokens=16384, index=25, question_type=kind, with_labels=True)
    assert task.metadata["question_type"] == kind
    rows = _parse_labelled(str(labelled.context))
    assert len(rows) == task.metadata["n_lines"]
    assert _recount(kind, task.query, rows) == task.answer
    assert score("oolong", str(task.metadata["answer_text"]), task) == 1.0


def _askable(seed: int, kind: str) -> bool:
    """Whether window 1 of `seed` at 16K holds a `kind` question (an asked family is that family or refused)."""
    try:
        return (
            generate("oolong", seed=seed, target_tokens=16384, index=25, question_type=kind).metadata["question_type"]
            == kind
        )
    except InputError:
        return False


def test_oolong_covers_every_family_with_the_planned_mix() -> None:
    groups: Counter[str] = Counter()
    seen: set[str] = set()
    for index in range(50):  # two windows at 32K
        task = generate("oolong", seed=0, target_tokens=32768, index=index)
        groups[task.metadata["question_group"]] += 1
        seen.add(task.metadata["question_type"])
        assert score("oolong", str(task.metadata["answer_text"]), task) == 1.0
    assert groups == {"counting": 20, "user": 14, "timeline": 16}
    for kind in QUESTION_TYPES:  # each family can be asked on its own (a window that cannot hold it is refused)
        seed = next(s for s in range(1, 40) if _askable(s, kind))
        task = generate("oolong", seed=seed, target_tokens=16384, index=25, question_type=kind)
        assert task.metadata["question_type"] == kind
        assert score("oolong", str(task.metadata["answer_text"]), task) == 1.0
    assert len(seen) >= 12
    with pytest.raises(InputError, match="question_type"):
        generate("oolong", seed=1, target_tokens=8192, index=0, question_type="vibes")


_KEYWORD_RULES = (  # the classic TREC wh-word / keyword heuristic, first match wins, entity otherwise
    (ABBR, r"stand(s)? for|abbreviat|acronym|short for|full form"),
    (NUM, r"\bhow (many|much|old|tall|far|long)\b|\bwhen\b|\bwhat year\b|\bpopulation\b|\bnumber of\b"),
    (HUM, r"\bwho\b"),
    (LOC, r"\bwhere\b|\bcapital\b|\blocation\b"),
    (DESC, r"\bwhy\b|\bmeaning\b|\bdefinition\b|\bhow does\b|\bwhat is an? \b|\bdescri"),
)


def test_oolong_labels_defeat_a_keyword_regex() -> None:
    """Quality gate: a wh-word/keyword regex classifier labels at most half of 2,000 questions (chance is 1/6),
    every label has >= 20 templates and every slot lexicon but `category` has >= 200 entries."""
    rng = make_rng("test", 1, 0, 0, "keywords")
    items = [(question(rng, label), label) for label in (rng.choice(LABELS) for _ in range(2000))]

    def classify(text: str) -> str:
        return next((label for label, pattern in _KEYWORD_RULES if re.search(pattern, text, re.IGNORECASE)), ENT)

    accuracy = sum(classify(q) == label for q, label in items) / len(items)
    print(f"keyword-regex accuracy: {accuracy:.3f}")
    assert accuracy <= 0.50
    by_opening: dict[str, Counter[str]] = defaultdict(Counter)
    for q, label in items:
        by_opening[q.split()[0].lower()][label] += 1
    assert all(len(c) == len(LABELS) for c in by_opening.values())  # every opening word serves every label
    assert all(len(t) >= 20 for t in TEMPLATES.values())
    for lexicon in (lx.TOWNS, lx.PROVINCES, lx.LANDMARKS, lx.MACHINES, lx.DISHES, lx.SPECIES, lx.ABSTRACT_IDEAS):
        assert len(set(lexicon)) >= 200
    assert len(set(lx.TRADES)) >= 200 and len(set(lx.ORGS)) >= 200 and len(set(lx.ARTWORKS)) >= 200


def test_oolong_date_and_month_scoring() -> None:
    task = generate("oolong", seed=1, target_tokens=8192, index=0, question_type="first_month_a_over_b")
    gold = str(task.answer)
    month, year = gold.split()
    assert score("oolong", f"Answer: {month[:3]} {year}", task) == 1.0
    assert score("oolong", f"Answer: {month} {int(year) + 1}", task) == 0.0
    from rlmx.bench.score import parse_date, parse_month_year

    assert parse_date("Date: 03/05/2023") == dt.date(2023, 3, 5) == parse_date("it was Mar 5th, 2023")
    assert parse_date("5 March 2023") == dt.date(2023, 3, 5) == parse_date("2023-03-05")
    assert parse_date("13/45/2023") is None
    assert parse_month_year("March 2023") == (2023, 3) == parse_month_year("03/2023")
    from rlmx.bench import Task

    dated = Task("t", "oolong", {}, "", "q", "2023-03-05", "date", {})
    assert score("oolong", "Date: 03/05/2023", dated) == 1.0
    assert score("oolong", "The busiest day was March 5, 2023.", dated) == 1.0
    assert score("oolong", "Date: 03/06/2023", dated) == 0.0


@pytest.mark.skipif(shutil.which("bible") is None, reason="Debian bible-kjv is not installed")
def test_kjv_haystack_from_the_installed_bible() -> None:
    task = generate("sniah", seed=9, target_tokens=32768, index=1, haystack_source="kjv")
    text = str(task.context)
    assert text.count("special magic") == 1 and abs(task.metadata["n_tokens"] - 32768) <= 327
    assert "Ge1:" not in text and re.search(r"\b(Lord|God|unto)\b", text)  # verse text, references stripped


def test_oolong_line_count_mode_matches_the_papers_787_lines_at_32k() -> None:
    task = generate("oolong", seed=0, target_tokens=32768, index=0, units_mode="oolong_llama2_equiv")
    assert task.metadata["n_lines"] == 787 and task.params["units_mode"] == "oolong_llama2_equiv"
    assert str(task.context).count("\nDate: ") == 787  # the header line comes first
    assert (
        generate("oolong", seed=0, target_tokens=65536, index=0, units_mode="oolong_llama2_equiv").metadata["n_lines"]
        == 787 * 2
    )
    with pytest.raises(InputError, match="units_mode"):
        generate("oolong", seed=0, target_tokens=8192, index=0, units_mode="llama3")
