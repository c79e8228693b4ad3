"""Review 87d of the offline default's guided root (audit 87c: a newcomer's small files).

- A record's key that names more of the question ("armor class" -> `armor_class`) is the asked one, not a shorter
  key it ends with (`class`): "What is her armor class?" was answered with the class, "Ranger".
- A Markdown section of one bullet ("## Final" over "- Marco Silva beat Dev Patel 3-1") keeps the bullet as its
  body: the bullet was read as a heading, so it had no section and the lines after it were filed under it.
- "When is the trip?" is not answered by a deadline ("tell the teacher by 21 March") of a sentence that does not
  name the trip.
- "Where is the conference?" is not answered by a part ("Centre") of a name that the question's word goes through
  ("Lakeside Conference Centre").
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
