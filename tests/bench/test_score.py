"""Scorers: hand-computed scores, the oracle (the generator's own answer text) at 1.0, a random policy near
the floor, per family."""

from __future__ import annotations

import random

import pytest

from rlmx.bench import FAMILIES, Task, generate, score, score_details
from rlmx.bench.oolong import LABELS
from rlmx.bench.score import normalize_name, parse_oolong, parse_pairs


def _task(family: str, answer: object, fmt: str, **metadata: object) -> Task:
    return Task("t", family, {}, "", "q", answer, fmt, dict(metadata))


def test_sniah_match_and_strict_variant() -> None:
    task = _task("sniah", "4821937", "string")
    assert score("sniah", "The special magic number is 4821937.", task) == 1.0
    assert score("sniah", "It is 4821936.", task) == 0.0
    gamed = score_details("sniah", "Numbers: 1234567, 4821937, 7654321", task)
    assert gamed["score"] == 1.0 and gamed["strict"] == 0.0  # listing every number passes RULER, not strict
    assert score_details("sniah", "4821937 (that is 4821937)", task)["strict"] == 1.0
    uuid_task = _task("sniah", "0b9d2b8e-6c1f-4d3a-9e55-1f2a3b4c5d6e", "string")
    assert score("sniah", "UUID: 0B9D2B8E-6C1F-4D3A-9E55-1F2A3B4C5D6E", uuid_task) == 1.0


def test_oolong_parse_and_numeric_credit() -> None:
    assert parse_oolong("I think... **Label: [location]**") == "location"
    assert parse_oolong("entity") == "entity"
    assert parse_oolong("after counting everything the answer is clearly entity") == "entity"
    numeric = _task("oolong", 12, "numeric")
    assert score("oolong", "Answer: 12", numeric) == 1.0
    assert score("oolong", "Answer: 14", numeric) == pytest.approx(0.5625)  # 0.75 ** 2
    assert score("oolong", "Answer: 9", numeric) == pytest.approx(0.421875)  # 0.75 ** 3
    assert score("oolong", "twelve", numeric) == 0.0
    assert score("oolong", "There are 12 of them in total, I believe", numeric) == 1.0  # last word "believe"
    label = _task("oolong", "human being", "label")
    assert score("oolong", "Label: Human Being", label) == 1.0
    assert score("oolong", "Label: entity", label) == 0.0
    comparison = _task("oolong", "less common than", "comparison")
    assert score("oolong", "Answer: entity is less common than location", comparison) == 1.0
    assert score("oolong", "Answer: entity is more common than location", comparison) == 0.0
    assert score_details("oolong", "Answer: 14", numeric)["exact"] is False
    assert score_details("oolong", "Answer: 12", numeric)["exact"] is True
    user = _task("oolong", "44106", "user")
    assert score("oolong", "User: 44106", user) == 1.0 and score("oolong", "User: 441060", user) == 0.0


def test_pairs_f1_and_all_pairs_floor() -> None:
    gold = [[1, 2], [1, 3], [2, 4]]
    task = _task("pairs", gold, "pairs")
    assert score("pairs", "(1, 2)\n(3, 1)\n(2,4)\n(1, 2)", task) == 1.0  # order, duplicates, spacing ignored
    details = score_details("pairs", "(1, 2)\n(1, 3)\n(3, 4)\n(5, 6)", task)
    assert details["precision"] == 0.5 and details["recall"] == pytest.approx(2 / 3)
    assert details["score"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))  # 4/7
    everyone = [1, 2, 3, 4]
    all_pairs = "\n".join(f"({a}, {b})" for i, a in enumerate(everyone) for b in everyone[i + 1 :])
    assert score("pairs", all_pairs, task) == pytest.approx(2 * 0.5 / 1.5)  # P = 3/6, R = 1 -> 2/3
    assert parse_pairs("1, 2 and 4,3") == {(1, 2), (3, 4)}  # the loose form when no parentheses
    assert parse_pairs("(1, 2) and 3, 4") == {(1, 2)}  # the strict form wins
    big = "\n".join(f"({a}, {a + 1})" for a in range(10_000, 110_000))  # a 1.4 MB answer
    assert len(parse_pairs(big)) == 100_000
    empty = _task("pairs", [], "pairs")
    assert score("pairs", "[]", empty) == 1.0 and score("pairs", "(1, 2)", empty) == 0.0
    assert score("pairs", "[]", task) == 0.0


def test_pairs_self_pairs_are_false_positives() -> None:
    # No gold set holds (u, u): padding an answer with them lowers precision (BENCHMARKS.md 2.3's formula).
    task = _task("pairs", [[1, 2], [1, 3]], "pairs")
    assert parse_pairs("(7, 7) only") == {(7, 7)}
    details = score_details("pairs", "(1, 2)\n(1, 3)\n(1, 1)\n(2, 2)", task)
    assert details["precision"] == 0.5 and details["recall"] == 1.0
    assert details["score"] == pytest.approx(2 / 3) and not details["exact_set"]


def test_docs_exact_answer_blocks_lists_of_candidates() -> None:
    task = _task("docs", "Ilse Yelland", "name", names=["Ilse Yelland", "Vera Hobday", "Ilse Hobday"])
    assert score("docs", "Explanation: ...\nExact Answer: Ilse Yelland\nConfidence: 90%", task) == 1.0
    assert score("docs", "Exact Answer: yelland, ilse", task) == 1.0
    assert score("docs", "Exact Answer: Ilse Yelland or Vera Hobday", task) == 0.0
    assert score("docs", "Exact Answer: Vera Hobday", task) == 0.0
    assert normalize_name("Ílse  Yélland!") == "ilse yelland"


def test_codeqa_choice_parsing() -> None:
    task = _task("codeqa", "C", "choice")
    assert score("codeqa", "The correct answer is (C)", task) == 1.0
    assert score("codeqa", "the correct answer is C.", task) == 1.0
    assert score("codeqa", "(C) looks right", task) == 1.0
    assert score("codeqa", "The correct answer is (B)", task) == 0.0
    assert score("codeqa", "no idea", task) == 0.0


def test_codeqa_digit_variant_reads_a_digit_ending_a_sentence() -> None:
    task = _task("codeqa", "2", "choice")  # the RLM paper's variant: options indexed 0-3
    for reply in ("2.", "The answer is 2.", "Answer: 2", "(2)", "The correct answer is (2)."):
        assert score("codeqa", reply, task) == 1.0, reply
    for reply in ("2.5 looks close", "version 3.2 of it", "1.0", "The answer is 1."):
        assert score("codeqa", reply, task) == 0.0, reply


@pytest.mark.parametrize("family", FAMILIES)
def test_oracle_scores_one(family: str) -> None:
    for index in range(4):
        task = generate(family, seed=11, target_tokens=8192, index=index)
        assert score(family, task.metadata["answer_text"], task) == 1.0, (family, index)


def _random_policy(task: Task, rng: random.Random) -> str:
    if task.family == "sniah":
        return str(rng.randint(1_000_000, 9_999_999))
    if task.family == "oolong":
        if task.answer_format == "label":
            return f"Label: {rng.choice(LABELS)}"
        if task.answer_format == "comparison":
            return f"Answer: x is {rng.choice(['more common than', 'less common than'])} y"
        if task.answer_format == "user":
            return f"User: {rng.randint(10000, 99999)}"
        return f"Answer: {rng.randint(0, 500)}"
    if task.family == "pairs":  # the degenerate policy: every pair of users
        ids = task.metadata["user_ids"]
        return "\n".join(f"({a}, {b})" for i, a in enumerate(ids) for b in ids[i + 1 :])
    if task.family == "docs":
        return f"Exact Answer: {rng.choice(task.metadata['names'])}"
    return f"The correct answer is ({rng.choice('ABCD')})"


def test_random_policy_scores_near_the_floor() -> None:
    rng = random.Random(0)
    for family, n, ceiling in (("sniah", 10, 0.0), ("oolong", 25, 0.45), ("docs", 10, 0.3), ("codeqa", 12, 0.6)):
        scores = [
            score(family, _random_policy(t, rng), t)
            for t in (generate(family, seed=3, target_tokens=8192, index=i) for i in range(n))
        ]
        assert sum(scores) / n <= ceiling, (family, scores)
    for index in range(20):  # pairs: all pairs scores exactly the task's floor
        task = generate("pairs", seed=3, target_tokens=8192, index=index)
        assert score("pairs", _random_policy(task, rng), task) == pytest.approx(task.metadata["floor_all_pairs_f1"])
    codeqa = generate("codeqa", seed=3, target_tokens=8192, index=0)  # a uniform guess expects exactly 1/4
    assert sum(score("codeqa", f"The correct answer is ({x})", codeqa) for x in "ABCD") / 4 == 0.25


def test_oolong_comparison_reads_the_phrase_as_oolongs_scorer_does() -> None:
    # eval_helpers.py strips '*', '[' and ']' and knows "more common" / "less common" / "same frequency" on their
    # own; a gold written either way ("fewer" never) is matched by the phrase it holds.
    fewer = _task("oolong", "less common than", "comparison")
    for reply in ("Answer: **less common**", "Answer: spam is less common", "Answer: [less common] vs ham"):
        assert score("oolong", reply, fewer) == 1.0, reply
    assert score("oolong", "Answer: spam is **more common** than ham", fewer) == 0.0
    short_gold = _task("oolong", "same frequency", "comparison")
    assert score("oolong", "Answer: spam has the same frequency as ham", short_gold) == 1.0
    assert score("oolong", "Answer: spam is less common than ham", short_gold) == 0.0


def test_codeqa_needs_an_answer_statement_not_a_stray_token() -> None:
    # LongBench-v2's extract_answer: no "The correct answer is ..." (or a like statement) means no answer.
    letter = _task("codeqa", "A", "choice")
    assert (
        score_details("codeqa", "A quick look at net/client.py settles it: the answer is (D).", letter)["parsed"] == "D"
    )
    assert score("codeqa", "A quick look at net/client.py settles it: the answer is (D).", letter) == 0.0
    assert score("codeqa", "After reading, A seems plausible but B fits better.", letter) == 0.0
    digit = _task("codeqa", "0", "choice")
    assert score("codeqa", "Among 0 or 2 readers, the answer is 2.", digit) == 0.0
    assert score("codeqa", "Two modules import it, so: The correct answer is (0)", digit) == 1.0


def test_docs_gold_counts_only_as_a_whole_name() -> None:
    task = _task("docs", "Ada Lune", "name", names=["Ada Lune", "Bo Karr"])
    for longer in ("Exact Answer: Ada Lunes", "Exact Answer: Ada Luneberg", "Exact Answer: Mada Lune"):
        assert score("docs", longer, task) == 0.0, longer
    assert score("docs", "Exact Answer: it was Ada Lune, of Vell", task) == 1.0
    assert score("docs", "Exact Answer: Ada Lune (not Bo Karrson)", task) == 1.0  # a longer other name is no other


def test_codeqa_reads_the_first_statement_and_no_article_after_answer() -> None:
    """LongBench-v2's extract_answer takes the first "The correct answer is (X)" (re.search), the bracketed form
    before the bare one; after "Answer:" a letter that begins a sentence ("A closer look") is no choice."""
    gold_b = _task("codeqa", "B", "choice")
    assert (
        score_details("codeqa", "The correct answer is (B). On second thought the correct answer is (D).", gold_b)[
            "parsed"
        ]
        == "B"
    )
    assert score_details("codeqa", "The correct answer is C; no: the correct answer is (B).", gold_b)["parsed"] == "B"
    gold_a = _task("codeqa", "A", "choice")
    for reply in ("Answer: A closer look shows option (C).", "My answer: A second pass settles it as (D)."):
        assert score_details("codeqa", reply, gold_a) == {"score": 0.0, "parsed": None}, reply
    for reply in (
        "Answer: A.",
        "Answer: (A) since it caches",
        "answer is A, as the trace shows",
        "Answer: A\nWhy: ...",
    ):
        assert score_details("codeqa", reply, gold_a)["score"] == 1.0, reply


def test_docs_gold_joined_by_a_hyphen_to_more_name_is_another_name() -> None:
    task = _task("docs", "Tomas Brandt", "name", names=["Tomas Brandt", "Ola Finch"])
    for reply in (
        "Exact Answer: Tomas Brandt-Kile",
        "Exact Answer: Tomas Brandt\u2011Brandtsen",
        "Exact Answer: Ex-Tomas Brandt",
    ):
        assert score_details("docs", reply, task)["score"] == 0.0, reply
    for reply in (
        "Exact Answer: Tomas Brandt.",
        "Exact Answer: Brandt, Tomas",
        "Exact Answer: Tomas Brandt - the archivist",
    ):
        assert score_details("docs", reply, task)["score"] == 1.0, reply


@pytest.mark.parametrize("written", ["Answer: 2023/02/15", "Answer: 15/02/2023", "Answer: 02/15/2023"])
def test_an_oolong_date_in_the_slashed_forms_dateutil_reads_scores(written: str) -> None:
    # 2023/02/15 and 15/02/2023 scored 0: OOLONG's scorer (dateutil's parser) reads both as 2023-02-15
    task = _task("oolong", "2023-02-15", "date")
    assert score("oolong", written, task) == 1.0


@pytest.mark.parametrize("written", ['[["1", "2"], ["3", "4"]]', "[('1', '2'), ('3', '4')]", "(1, 2)\n(3, 4)"])
def test_pairs_whose_ids_a_model_quoted_are_read(written: str) -> None:
    assert parse_pairs(written) == {(1, 2), (3, 4)}


def test_a_choice_followed_by_a_dash_and_a_reason_is_the_answer() -> None:
    task = _task("codeqa", "C", "choice")
    assert score("codeqa", "**Answer: C** — the loop never ends.", task) == 1.0
    assert score("codeqa", "Answer: C – see line 4", task) == 1.0
