"""BrowseComp-like docs generator against BENCHMARKS.md 3.d: a solver that reads only the documents follows the
evidence chain to exactly one answer (at every hop count), hard negatives and BM25 bait are there, and the
optional judge mode parses a BrowseComp grader reply."""

from __future__ import annotations

import re

import pytest

from rlmx.bench import Task, generate, score
from rlmx.bench.docs import MONTHS, ORDINALS
from rlmx.bench.score import judge_prompt, parse_judge, score_with_judge
from rlmx.errors import InputError


def _docs(task: Task) -> dict[str, list[str]]:
    """title -> bodies (a title can repeat) of the task's documents."""
    out: dict[str, list[str]] = {}
    for doc in task.context:
        title = re.search(r"^title: (.+)$", doc, re.MULTILINE)
        assert title is not None
        out.setdefault(title[1], []).append(doc)
    return out


def _solve(task: Task) -> set[str]:
    """Every first-place winner that the documents support for the question (the chain, hop by hop)."""
    q = task.query
    docs = _docs(task)
    text = "\n".join(task.context)
    dish = re.search(
        r"celebrates a (.+?) (?:made mainly with|whose main ingredient is) (\S+?)(?:,| and) "
        r".*?(?:seasoned with|sharp taste from) (\S+?)\.",
        q,
    )
    assert dish is not None, q
    form, main, condiment = dish.groups()
    dishes = {m[1] for m in re.finditer(rf"(?:^|\. |\n)([A-Z]\w+ \w+) is a {form} made mainly with {main}\.", text)} | {
        m[1] for m in re.finditer(rf"The main ingredient of ([A-Z]\w+ \w+), a {form}, is {main}\.", text)
    }
    dishes = {
        d
        for d in dishes
        if re.search(rf"Cooks season {d} with {condiment}\.|{d} owes its sharp taste to {condiment}\.", text)
    }
    lo, hi = map(int, re.search(r"between (\d{4}) and (\d{4}) inclusive", q).groups())  # type: ignore[union-attr]
    after = re.search(r"after (\w+)", q)
    before = re.search(r"before (\w+)\.", q)
    month_lo = MONTHS.index(after[1]) + 1 if after else 0
    month_hi = MONTHS.index(before[1]) + 1 if before else 13
    k = next(n for n, word in ORDINALS.items() if f"festival's {word} anniversary" in q)
    town_named = re.search(r"in the town of (\w+) celebrates", q)
    province = re.search(r"in (?:a town of|a township in the province of) (\w+) celebrates", q)
    province_name = ""
    capital = re.search(r"whose capital is (\w+)|governed from (\w+)", q)
    if capital is not None:
        seat = capital[1] or capital[2]
        found = re.search(rf"The capital of (\w+) is {seat}\.|{seat} is the seat of (\w+)\.", text)
        assert found is not None
        province_name = found[1] or found[2]
    elif province is not None:
        province_name = province[1]
    winners: set[str] = set()
    for title, bodies in docs.items():
        festival = re.fullmatch(r"(\w+) (\w+ \w+) Festival", title)
        if festival is None or festival[2] not in dishes:
            continue
        town, dish_name = festival[1], festival[2]
        for body in bodies:
            first = re.search(r"(?:was held in|first took place in) (\w+) (\d{4})", body)
            assert first is not None
            month, start = MONTHS.index(first[1]) + 1, int(first[2])
            if not (lo <= start <= hi and month_lo < month < month_hi):
                continue
            if town_named is not None and town != town_named[1]:
                continue
            if town_named is None:
                in_province = rf"{town} is a town in {province_name}\.|{town} lies in the province of {province_name}\."
                if not re.search(in_province, text):
                    continue
            for report in docs.get(f"News: the {start + k} {town} {dish_name} Festival", []):
                winners.update(re.findall(r"first place in the cooking contest went to (\w+ \w+) of", report))
    return winners


@pytest.mark.parametrize("hops", [2, 3, 4, 5])
def test_the_documents_lead_to_exactly_the_answer(hops: int) -> None:
    for index in range(3):
        task = generate("docs", seed=3, target_tokens=32768, index=index, hops=hops)
        assert task.metadata["hops"] == hops and len(task.metadata["evidence_docs"]) == hops
        assert _solve(task) == {task.answer}, (hops, index)
        assert score("docs", str(task.metadata["answer_text"]), task) == 1.0


def test_hard_negatives_and_bm25_bait() -> None:
    task = generate("docs", seed=8, target_tokens=200_000, index=1)
    meta = task.metadata
    assert 10 <= len(meta["hard_negative_docs"]) <= 40
    docs = list(task.context)
    year, festival = meta["edition_year"], meta["festival"]
    titles = [re.search(r"^title: (.+)$", d, re.MULTILINE)[1] for d in docs]  # type: ignore[index]
    assert f"News: the {year - 1} {festival}" in titles and f"News: the {year + 1} {festival}" in titles
    namesakes = [i for i in meta["answer_docs"] if titles[i] == task.answer]
    assert namesakes  # the winner's namesake (another person, another trade)
    rare = re.search(r"made mainly with (\S+)|main ingredient is (\S+?),", task.query)
    assert rare is not None
    word = rare[1] or rare[2]
    bait = [docs[i] for i in meta["bm25_bait_docs"]]
    assert any(word in d for d in bait) and not any(task.answer in d for d in bait)
    same_dish = [t for t in titles if t.endswith(festival.split(" ", 1)[1]) and t != festival and "News" not in t]
    assert same_dish  # the same dish's festival in other towns


def test_sizes_and_bad_input() -> None:
    task = generate("docs", seed=1, target_tokens=100_000, index=0, doc_tokens_mean=400)
    assert task.metadata["n_docs"] == 250 and abs(task.metadata["n_tokens"] - 100_000) <= 1000
    for bad in ({"hops": 6}, {"n_docs": 5}, {"doc_tokens_mean": 10}):
        with pytest.raises(InputError, match="docs"):
            generate("docs", seed=1, target_tokens=8192, index=0, **bad)


def test_judge_mode_reads_a_browsecomp_grader_reply() -> None:
    task = generate("docs", seed=2, target_tokens=8192, index=0)
    prompt = judge_prompt(task, "Exact Answer: someone")
    assert f"[correct_answer]: {task.answer}" in prompt and "Your response should be" not in prompt
    reply = "extracted_final_answer: someone\nreasoning: differs\ncorrect: no\nconfidence: 40"
    assert parse_judge(reply) == {"score": 0.0, "extracted": "someone", "confidence": 40}
    seen: list[str] = []

    def judge(text: str) -> str:
        seen.append(text)
        return f"extracted_final_answer: {task.answer}\nreasoning: same\ncorrect: **yes**\nconfidence: 90"

    details = score_with_judge(str(task.metadata["answer_text"]), task, judge)
    assert details["score"] == 1.0 and details["exact"] == 1.0 and len(seen) == 1


def test_documents_joined_into_one_string() -> None:
    listed = generate("docs", seed=6, target_tokens=200_000, index=2)
    joined = generate("docs", seed=6, target_tokens=200_000, index=2, as_text=True)
    text = joined.context
    assert isinstance(text, str) and abs(joined.metadata["n_tokens"] - 200_000) <= 2000
    marks = re.findall(r"\n\n\[Document (\d+) \| (\d+)\]\ndocid: (\d+)\n", text)
    assert [int(i) for i, _, _ in marks] == list(range(listed.metadata["n_docs"]))
    assert all(a == b for _, a, b in marks) and joined.answer == listed.answer
