"""The guided root over record files and task lists (newcomer audit 87 v01-v04): a measure's natural wordings and the
median (v02), a task list's paraphrases and one item's state (v03), a loaded record cited by its record number, never
as a file line (v01), and the file named in each citation of a context of several files (v04)."""

from __future__ import annotations

from typing import Any

import pytest

from guided_stub import ask, first_line
from rlmx.lm.guided_cells import build_index, collect_sources, guided_answer

DOGS = [
    {"dog": "Biscuit", "weight": "31.5", "height": "58", "owner": "Ines"},
    {"dog": "Pip", "weight": "4.2", "height": "22", "owner": "Tomas"},
    {"dog": "Moose", "weight": "44.0", "height": "71", "owner": "Ruth"},
    {"dog": "Olive", "weight": "12.8", "height": "40", "owner": "Ines"},
]


def over(variables: dict[str, Any], question: str, files: dict[str, str] | None = None) -> str:
    """The answer over loaded context variables (a CSV's rows are a list of dicts), the host's file names set as
    the guided root's index cell sets them."""
    state = build_index(collect_sources(variables))
    if files:
        state["files"] = files
    return str(guided_answer(state, question, lambda prompts: ["NOT FOUND"] * len(prompts))["answer"])


# v02: the measured row's value, asked by a how-word or by its column, and a column's median


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How heavy is the heaviest dog?", "44.0"),
        ("How tall is the tallest dog?", "71"),
        ("How heavy is the lightest dog?", "4.2"),
        ("What is the weight of the lightest dog?", "4.2"),
        ("What is the owner of the tallest dog?", "Ruth"),
        ("What's the height of the heaviest dog?", "71"),
    ],
)
def test_a_value_of_the_row_a_measure_picks_is_answered(question: str, expected: str) -> None:
    assert first_line(over({"context": DOGS}, question)) == expected


def test_a_column_median_is_its_middle_value_or_the_mean_of_the_two() -> None:
    assert first_line(over({"context": DOGS}, "What is the median weight?")) == "22.15"
    assert first_line(over({"context": DOGS[:3]}, "What is the median height?")) == "58"
    assert first_line(over({"context": DOGS}, "What is the mean of the heights?")) == "47.75"


def test_a_measure_of_a_column_the_row_does_not_name_is_no_answer() -> None:
    # "the heaviest owner": the weights are the dogs'
    assert first_line(over({"context": DOGS}, "What is the height of the heaviest owner?")) not in ("71", "58")


def test_a_how_word_with_no_measure_is_no_answer() -> None:
    assert first_line(over({"context": DOGS}, "How much is the heaviest dog?")) not in ("44.0", "71")


# v03: a task list's paraphrases, and one item's state for a yes/no

CHORES = "Weekend\n\n* [ ] clean gutters\n* [x] mow lawn\n* [ ] wash car\n* [x] water plants\n* [ ] sort recycling\n"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Which chores are still outstanding?", "clean gutters, wash car, sort recycling"),
        ("How many chores remain?", "3"),
        ("How many chores still remain?", "3"),
        ("What is still left to do?", "clean gutters, wash car, sort recycling"),
        ("What still needs to be done?", "clean gutters, wash car, sort recycling"),
        ("What's already done?", "mow lawn, water plants"),
        ("How many chores do we have left?", "3"),
    ],
)
def test_a_task_list_answers_its_paraphrases(question: str, expected: str) -> None:
    assert first_line(ask(CHORES, question)) == expected


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Is mow lawn done?", "Yes"),
        ("Is wash car done?", "No"),
        ("Is 'wash car' still open?", "Yes"),
        ("Has water plants been completed?", "Yes"),
        ("Is the sort recycling task finished?", "No"),
        ("Is the gutters chore done?", "No"),
    ],
)
def test_one_items_mark_settles_a_yes_no(question: str, expected: str) -> None:
    got = ask(CHORES, question)
    assert first_line(got) == expected
    assert "line " in got


def test_an_item_the_list_lacks_or_two_items_share_gets_no_verdict() -> None:
    assert first_line(ask(CHORES, "Is paint fence done?")) not in ("Yes", "No")
    twice = "* [x] call mum\n* [ ] call dad\n* [ ] buy bread\n"
    assert first_line(ask(twice, "Is call done?")) not in ("Yes", "No")


# v01: a loaded record file's row is cited by its record number, a text table's by its line


def test_a_loaded_records_row_is_cited_as_a_record_not_a_line() -> None:
    for question in ("Which dog is the heaviest?", "What is the maximum height?", "How tall is the tallest dog?"):
        got = over({"context": DOGS}, question)
        assert "record 3" in got, got
        assert "line 3" not in got


def test_a_text_tables_row_is_still_cited_by_its_line() -> None:
    text = "dog,weight,owner\nBiscuit,31.5,Ines\nPip,4.2,Tomas\nMoose,44.0,Ruth\n"
    got = ask(text, "Which dog is the heaviest?", name="dogs.csv")
    assert first_line(got) == "Moose"
    assert "line 4" in got


# v04: a context of several files: each citation names its file


def test_task_items_of_two_files_are_cited_with_their_files() -> None:
    home = "- [x] fix tap\n- [ ] paint door\n"
    work = "- [ ] send invoice\n- [x] file taxes\n"
    files = {"context": "home.md", "work": "work.md"}
    got = over({"context": home, "work": work}, "How many tasks are done?", files)
    assert first_line(got) == "2"
    assert "fix tap (home.md, line 1)" in got
    assert "file taxes (work.md, line 2)" in got
    assert "(work.md, line 1)" in over({"context": home, "work": work}, "Is send invoice done?", files)


def test_quoted_passages_of_two_files_name_their_files() -> None:
    home = "The spare key is under the blue flowerpot.\nBins go out on Tuesday.\n"
    work = "Badge office opens at nine.\nParking is on level two.\n"
    files = {"context": "home.txt", "work": "work.txt"}
    got = over({"context": home, "work": work}, "Where is the spare key?", files)
    assert "home.txt, line 1" in got
    assert "context, line" not in got


def test_a_record_file_beside_another_file_is_named_with_its_record() -> None:
    files = {"context": "notes.md", "dogs": "dogs.csv"}
    got = over({"context": "Vet visit on Friday.\nBuy a lead.\n", "dogs": DOGS}, "Which dog is the heaviest?", files)
    assert first_line(got) == "Moose"
    assert "dogs.csv, record 3" in got


def test_a_word_of_a_long_item_names_no_item() -> None:
    text = "Saturday\n\n- [ ] shop for food and drinks\n- [x] book the hall\n"
    assert first_line(ask(text, "Is the shop open?")) not in ("Yes", "No")
    assert first_line(ask(text, "Is book the hall done?")) == "Yes"
