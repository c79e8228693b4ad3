"""Round 82e: lists under a label of attendance. Meeting notes write who was there as 'Present:', 'Participants:'
or 'In attendance:'; a question asks for the 'attendees', who 'attended' or the 'participants'. Any of these words
names any of those labels, for a count and for the names; who was absent is another list. Every text is made up;
the reader is a stub that finds nothing, so each answer here comes from code."""

from __future__ import annotations

import pytest

from rlmx.lm.guided_cells import build_index, guided_answer

NOTES = {
    "present": "Design review, 3 March\n\nPresent: Olga, Bruno, Wen\nAbsent: Kofi, Lars\n\nWe chose the blue logo.\n",
    "participants": "Retro notes (sprint 9)\n\nParticipants: Ines, Marek, Tuan\n\nThe build was slow all week.\n",
    "in attendance": "Board call, Friday\nIn attendance: Ruth, Sam, Yara\nThe budget was approved.\n",
}


def ask(text: str, question: str) -> str:
    result = guided_answer(build_index([("context", text)]), question, lambda ps: ["NOT FOUND" for _ in ps])
    return str(result["answer"])


@pytest.mark.parametrize("label", sorted(NOTES))
@pytest.mark.parametrize("question", ["How many attendees were there?", "How many people attended the meeting?"])
def test_an_attendance_label_is_counted_for_attendees(label: str, question: str) -> None:
    assert ask(NOTES[label], question).split("\n", 1)[0] == "3"


@pytest.mark.parametrize("label", sorted(NOTES))
@pytest.mark.parametrize("question", ["List the attendees", "Who were the participants?", "Who attended?"])
def test_an_attendance_label_names_the_attendees(label: str, question: str) -> None:
    answer = ask(NOTES[label], question)
    names = NOTES[label].split(":", 1)[1].split("\n", 1)[0].strip()
    assert answer.split("\n", 1)[0] == names
    assert "From [line" in answer


def test_who_was_absent_is_not_the_attendance_list() -> None:
    assert ask(NOTES["present"], "How many participants were absent?").split("\n", 1)[0] == "2"
    assert not ask(NOTES["present"], "How many attendees were absent?").startswith("3")


def test_a_meeting_the_notes_do_not_name_gets_no_attendees() -> None:
    # the notes are the design review's: who attended the launch party they do not say
    assert not ask(NOTES["present"], "Who attended the launch party?").startswith("Olga")


# --- the steps of a recipe or procedure ---------------------------------------------------------------------------

SOUP = """Tomato soup

Ingredients:
- 6 tomatoes
- 1 onion
- 500 ml stock

Directions:
1. Chop the onion and the tomatoes.
2. Fry the onion until soft.
3. Add the tomatoes and the stock.
4. Simmer for 20 minutes.
5. Blend until smooth.
"""


@pytest.mark.parametrize("question", ["How many steps are there?", "How many steps are in the directions?"])
def test_a_directions_list_is_counted_as_steps(question: str) -> None:
    assert ask(SOUP, question).split("\n", 1)[0] == "5"


def test_steps_never_count_the_ingredients() -> None:
    assert ask(SOUP, "How many ingredients are there?").split("\n", 1)[0] == "3"
