"""OOLONG-Pairs generator against BENCHMARKS.md 3.c: the paper's 20 queries word for word, gold recomputed from
the labelled lines, the gold-size bound with window resampling, selective mode and the all-pairs floor."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict

import pytest

from rlmx.bench import generate, score, score_details
from rlmx.errors import InputError

PAPER_HEAD = "In the above data, list all pairs of user IDs (no duplicate pairs, list lower ID first) "
PAPER_LABELS = (
    "Each of the questions can be labelled as one of the labels (the data does not provide the labels, you need to "
    "figure out the label from the semantics of the question): description and abstract concept, entity, human "
    "being, numeric value, location, abbreviation. In your answer, list all pairs in the format (user_id_1, "
    "user_id_2), separated by newlines."
)
PAPER_TASKS = {  # App. D.1 of the RLM paper (CC BY 4.0), the part after PAPER_HEAD
    4: "where both users have at least one instance with a human being or location, and all instances that are a "
    "human being for both users must be after January 6, 2023.",
    11: "such that one user has at least one instance with entity and one with abbreviation, and the other user has "
    "exactly one instance with entity.",
    20: "such that one user has at least one instance with numeric value and at least one instance with human being, "
    "and the other user has at least one instance with location, at least one instance with entity, and exactly "
    "one instance with abbreviation.",
}


def test_queries_are_the_papers_words() -> None:
    for task_no, body in PAPER_TASKS.items():
        task = generate("pairs", seed=0, target_tokens=8192, index=task_no - 1)
        assert task.query.startswith(f"{PAPER_HEAD}{body} {PAPER_LABELS}"), task.query
        assert task.query.endswith("answer [].")
    queries = {generate("pairs", seed=0, target_tokens=8192, index=i).query for i in range(20)}
    assert len(queries) == 20


def _labelled_users(seed: int, size: int, number: int) -> tuple[dict[int, Counter[str]], dict[int, list]]:
    """Per user: label counts and (date, label) rows, parsed from the text of the labelled oolong window."""
    text = str(generate("oolong", seed=seed, target_tokens=size, index=25 * number, with_labels=True).context)
    counts: dict[int, Counter[str]] = defaultdict(Counter)
    rows: dict[int, list] = defaultdict(list)
    for m in re.finditer(r"Date: (\w{3} \d{2}, \d{4}) \|\| User: (\d+) \|\| .* \|\| Label: (.+)", text):
        user = int(m[2])
        counts[user][m[3]] += 1
        rows[user].append((dt.datetime.strptime(m[1], "%b %d, %Y").date(), m[3]))
    return counts, rows


def test_gold_is_what_the_labelled_lines_say() -> None:
    for index in (3, 11, 13):  # task 4 (date rule), 12 (asymmetric), 14 ("exactly two")
        task = generate("pairs", seed=2, target_tokens=16384, index=index)
        counts, rows = _labelled_users(2, 16384, task.metadata["window"])
        users = sorted(counts)
        assert users == task.metadata["user_ids"]
        if index == 3:
            cutoff = dt.date(2023, 1, 6)
            ok = [
                u
                for u in users
                if (counts[u]["human being"] or counts[u]["location"])
                and all(d > cutoff for d, lab in rows[u] if lab == "human being")
            ]
            want = {(a, b) for i, a in enumerate(ok) for b in ok[i + 1 :]}
        elif index == 11:
            one = [u for u in users if counts[u]["numeric value"] >= 2]
            two = [u for u in users if counts[u]["location"] >= 1 and counts[u]["human being"] >= 1]
            want = {(min(u, v), max(u, v)) for u in one for v in two if u != v}
        else:
            one = [u for u in users if counts[u]["human being"] >= 1 and counts[u]["numeric value"] >= 1]
            two = [u for u in users if counts[u]["location"] == 2]
            want = {(min(u, v), max(u, v)) for u in one for v in two if u != v}
        assert {tuple(p) for p in task.answer} == want and want
        assert score("pairs", str(task.metadata["answer_text"]), task) == 1.0


def test_extra_families_disjoint_and_same_top_label() -> None:
    task = generate("pairs", seed=2, target_tokens=8192, index=0, task_no=22, max_gold_pairs=None)
    counts, _ = _labelled_users(2, 8192, task.metadata["window"])
    users = sorted(counts)
    want = {(a, b) for i, a in enumerate(users) for b in users[i + 1 :] if not set(counts[a]) & set(counts[b])}
    assert {tuple(p) for p in task.answer} == want
    same = generate("pairs", seed=2, target_tokens=8192, index=0, task_no=21, max_gold_pairs=None)
    assert same.metadata["task_no"] == 21 and "same single most frequent label" in same.query
    with pytest.raises(InputError, match="task_no"):
        generate("pairs", seed=2, target_tokens=8192, index=0, task_no=23)


def test_gold_size_bound_resamples_the_window_or_says_what_to_do() -> None:
    free = generate("pairs", seed=0, target_tokens=32768, index=1, max_gold_pairs=None)  # task 2, dense
    assert free.metadata["window"] == 0 and free.metadata["n_gold_pairs"] > 5000
    bounded = generate("pairs", seed=0, target_tokens=32768, index=11)  # task 12, sparse: within the default
    assert bounded.metadata["n_gold_pairs"] <= 20_000 and bounded.metadata["max_gold_pairs"] == 20_000
    with pytest.raises(InputError, match="selective"):
        generate("pairs", seed=0, target_tokens=32768, index=1, max_gold_pairs=100)
    resampled = generate("pairs", seed=0, target_tokens=8192, index=13)  # task 14: window 0 has no pair
    assert resampled.metadata["window"] > 0 and resampled.answer
    empty = generate("pairs", seed=0, target_tokens=8192, index=13, min_gold_pairs=0)
    assert empty.metadata["window"] == 0 and empty.answer == []  # an empty gold: only "[]" (or nothing) scores
    assert score("pairs", "[]", empty) == 1.0 == empty.metadata["floor_empty_f1"]
    assert score("pairs", str(resampled.metadata["answer_text"]), empty) == 0.0


def test_selective_mode_asks_the_sparse_tasks_only() -> None:
    numbers = [generate("pairs", seed=0, target_tokens=8192, index=i, users_mode="selective") for i in range(10)]
    assert [t.metadata["task_no"] for t in numbers] == list(range(11, 21))
    assert all(t.params["users_mode"] == "selective" for t in numbers)


def test_all_pairs_floor_is_two_p_over_one_plus_p() -> None:
    """The degenerate answer (every pair of users) scores exactly 2p / (1 + p), p = |gold| / C(U, 2)."""
    for index in (0, 6, 16):
        task = generate("pairs", seed=4, target_tokens=8192, index=index)
        ids = task.metadata["user_ids"]
        everything = "\n".join(f"({a}, {b})" for i, a in enumerate(ids) for b in ids[i + 1 :])
        p = len(task.answer) / (len(ids) * (len(ids) - 1) / 2)
        details = score_details("pairs", everything, task)
        assert details["score"] == pytest.approx(2 * p / (1 + p)) == pytest.approx(task.metadata["floor_all_pairs_f1"])
        assert details["recall"] == 1.0 and not details["exact_set"]
        assert score("pairs", "[]", task) == 0.0 == task.metadata["floor_empty_f1"]
