"""Review 87d of the offline default's guided root (audit 87c: a newcomer's small files).

- A record's key that names more of the question ("armor class" -> `armor_class`) is the asked one, not a shorter
  key it ends with (`class`): "What is her armor class?" was answered with the class, "Ranger".
- A Markdown section of one bullet ("## Final" over "- Marco Silva beat Dev Patel 3-1") keeps the bullet as its
  body: the bullet was read as a heading, so it had no section and the lines after it were filed under it.
- "When is the trip?" is not answered by a deadline ("tell the teacher by 21 March") of a sentence that does not
  name the trip.
- "Where is the conference?" is not answered by a part ("Centre") of a name that the question's word goes through
  ("Lakeside Conference Centre").
- Order words and counts over records: who won, came first or last, the winning time, how many finished (a
  results table's place column); how many records a named JSON list holds; a column's cell in the latest-dated
  row ("the latest status"); the greatest field of a record of numbers ("her highest ability score"). Each was
  NOT FOUND.
- "How many assignments are due?" over a table with an "Assignment due" column counts its filled cells (a "-" is
  empty); the "-" rows were quoted.
"""

from __future__ import annotations

from typing import Any

import pytest

from guided_stub import ask, first_line, replying
from rlmx.lm.guided_cells import build_index, collect_sources, guided_answer, split_units

SHEET = {
    "name": "Brenna Holt",
    "class": "Cleric",
    "level": 3,
    "hit_points": 27,
    "armor_class": 17,
    "moveSpeed": 25,
    "speed": 30,
}


def _ask_record(value: Any, question: str, reply: str) -> str:
    state = build_index(collect_sources({"context": value}))
    return str(guided_answer(state, question, replying(reply))["answer"]).split("\n")[0]


@pytest.mark.parametrize(
    ("question", "reply", "answer"),
    [
        ("What is his armor class?", "17", "17"),
        ("What is his class?", "Cleric", "Cleric"),
        ("What are his hit points?", "27", "27"),
    ],
)
def test_the_key_naming_most_of_the_question_answers(question: str, reply: str, answer: str) -> None:
    assert _ask_record(SHEET, question, reply) == answer


@pytest.mark.parametrize(
    ("question", "reply"),
    [
        ("What is his armor class?", "Cleric"),  # the `class` key's value
        ("What is his move speed?", "30"),  # the `speed` key's, not `moveSpeed`'s
    ],
)
def test_a_shorter_key_inside_the_asked_one_does_not_answer(question: str, reply: str) -> None:
    assert _ask_record(SHEET, question, reply) != reply


BRACKET = (
    "# Village Chess Cup\n"
    "\n"
    "## Semi-finals\n"
    "\n"
    "- Ada Lin beat Rui Costa\n"
    "- Omar Said beat Kim Berg\n"
    "\n"
    "## Final\n"
    "\n"
    "- Ada Lin beat Omar Said\n"
    "\n"
    "## Plate\n"
    "\n"
    "- Rui Costa beat Kim Berg\n"
    "\n"
    "Prizes were handed out by the mayor.\n"
)


def test_a_sections_one_bullet_is_its_body_not_a_heading() -> None:
    units, _ = split_units([("context", BRACKET)])
    final = next(u for u in units if "Ada Lin beat Omar Said" in u["text"])
    assert final["name"] == "Final"
    plate = next(u for u in units if "Rui Costa beat Kim Berg" in u["text"])
    assert plate["name"] == "Plate"
    prizes = next(u for u in units if "Prizes" in u["text"])
    assert "beat" not in prizes["name"]  # filed under no bullet


LETTER = (
    "Year 6 will visit the Science Museum on Tuesday 6 May 2025. The coach leaves at 8:30 am.\n"
    "\n"
    "Mr. Hall will lead the outing, with two parent helpers. If you can help, please email the office by 22 April.\n"
)


@pytest.mark.parametrize("question", ["When is the outing?", "When will the outing take place?"])
def test_a_deadline_of_another_sentence_is_no_when_answer(question: str) -> None:
    assert "22 April" not in first_line(ask(LETTER, question, "22 April"))


def test_a_deadline_in_the_asked_sentence_still_answers() -> None:
    fees = "The outing costs 12 pounds. Payment should be made online by Friday 25 April. Bring a packed lunch.\n"
    assert first_line(ask(fees, "When should payment be made?", "Friday 25 April")) == "Friday 25 April"


VENUE = "Saturday 8 June 2024, Riverside Exhibition Hall, York.\nDoors open at 9:00.\n"


@pytest.mark.parametrize("reply", ["Hall", "Riverside", "Riverside Exhibition Hall"])
def test_a_part_of_a_named_place_is_no_where_answer(reply: str) -> None:
    assert first_line(ask(VENUE, "Where is the exhibition?", reply)) not in ("Hall", "Riverside")


def test_the_town_after_the_named_place_answers() -> None:
    assert first_line(ask(VENUE, "Where is the exhibition?", "Riverside Exhibition Hall, York")) == "York"


RESULTS = [
    {"Place": "1", "Name": "Nora Quinn", "Club": "Valley RC", "Time": "1:02:10"},
    {"Place": "2", "Name": "Ivo Marek", "Club": "Unattached", "Time": "1:03:44"},
    {"Place": "3", "Name": "Sara Holm", "Club": "Valley RC", "Time": "1:05:02"},
    {"Place": "4", "Name": "Theo Park", "Club": "Hill Harriers", "Time": "1:09:37"},
]


def _ask_results(question: str) -> str:
    return _ask_record(RESULTS, question, "NOT FOUND")


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("Who won the race?", "Nora Quinn"),
        ("Who came first?", "Nora Quinn"),
        ("Who finished last?", "Theo Park"),
        ("What was the winning time?", "1:02:10"),
    ],
)
def test_a_results_tables_placings_answer(question: str, answer: str) -> None:
    assert _ask_results(question) == answer


def test_a_narrower_placing_is_not_the_overall_one() -> None:
    assert _ask_results("Who won the veterans prize?") != "Nora Quinn"


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("How many runners finished?", "4"),
        ("How many runners took part in the race?", "5"),
    ],
)
def test_a_results_tables_rows_are_counted(question: str, answer: str) -> None:
    table = [*RESULTS, {"Place": "DNF", "Name": "Lena Vos", "Club": "Valley RC", "Time": "-"}]
    assert _ask_record(table, question, "NOT FOUND") == answer


INVENTORY = {
    "name": "Corin Ashvale",
    "spells": [{"name": "Light", "level": 0}, {"name": "Shield", "level": 1}],
    "tools": [{"name": "Lockpicks"}, {"name": "Rope"}, {"name": "Lantern"}, {"name": "Chalk"}],
}


@pytest.mark.parametrize(
    ("question", "answer"),
    [("How many tools does he have?", "4"), ("How many spells does he have?", "2"), ("How many spells?", "2")],
)
def test_the_records_of_a_named_list_are_counted(question: str, answer: str) -> None:
    assert _ask_record(INVENTORY, question, "NOT FOUND") == answer


def test_a_count_with_a_condition_is_not_the_lists_length() -> None:
    assert _ask_record(INVENTORY, "How many spells are level 1?", "NOT FOUND") != "2"


TRACKING = [
    {"when": "2025-02-10 09:00", "status": "Collected", "depot": "Leeds"},
    {"when": "2025-02-11 18:30", "status": "Delivered", "depot": "York"},
    {"when": "2025-02-11 07:15", "status": "In transit", "depot": "York"},
]


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("What is the latest status?", "Delivered"),
        ("What is the current depot?", "York"),
        ("What was the first status?", "Collected"),
    ],
)
def test_a_columns_cell_in_the_latest_dated_row(question: str, answer: str) -> None:
    assert _ask_record(TRACKING, question, "NOT FOUND") == answer


STATS = {"name": "Corin", "stats": {"might": 9, "grace": 14, "wits": 11, "nerve": 7}}


@pytest.mark.parametrize(
    ("question", "answer"),
    [("What is his highest stat?", "grace: 14"), ("What is his lowest stat?", "nerve: 7")],
)
def test_the_greatest_field_of_a_record_of_numbers(question: str, answer: str) -> None:
    assert _ask_record(STATS, question, "NOT FOUND") == answer


PLAN = (
    "# Pottery evenings\n"
    "\n"
    "| Week | Topic | Homework due |\n"
    "|------|-------|--------------|\n"
    "| 1 | Wedging clay | - |\n"
    "| 2 | Pinch pots | Two pinch pots |\n"
    "| 3 | Coil building | n/a |\n"
    "| 4 | Slab work | Slab tile |\n"
    "| 5 | Glazing | - |\n"
)


def test_the_filled_cells_of_the_column_the_question_names_are_counted() -> None:
    assert first_line(ask(PLAN, "How many homeworks are due?")) == "2"


def test_a_column_named_by_the_order_word_asks_no_order() -> None:
    people = [
        {"first_name": "Ada", "last_name": "Byrne", "joined": "2024-01-05"},
        {"first_name": "Bo", "last_name": "Chan", "joined": "2024-03-09"},
    ]
    assert _ask_record(people, "What is the last name?", "NOT FOUND") != "Chan"
