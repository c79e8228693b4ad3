"""The guided root's coverage gate on a question word the text never writes but says otherwise (audit 85b F5,
85 v05, 84b v07), in our own made-up files: the unit that says it by a label, a unit or a role's title is read or
quoted, never NOT FOUND; a text that lacks the distinctive word and all its equivalents stays NOT FOUND."""

from __future__ import annotations

import pytest

from rlmx.lm.guided_cells import build_index, guided_answer

HEDGE = "No short answer could be verified."


def _answer(text: str, question: str) -> str:
    result = guided_answer(build_index([("context", text)]), question, lambda prompts: ["NOT FOUND"] * len(prompts))
    return str(result["answer"])


KETTLE = (
    "Brightwave K2 Electric Kettle - Data sheet\n\n"
    "Capacity: 1.7 L\n"
    "Mass: 1.1 kg\n"
    "Sound level: 52 dB\n"
    "Cord length: 0.9 m\n"
    "Colour: brushed steel\n"
    "Warranty: 3 years\n"
)
CLUB = (
    "Harbourside Rowing Club - Committee 2025\n\n"
    "Chair: Olu Bankole\n"
    "Chief executive: Mirela Dragan\n"
    "Treasurer: Sven Aalto\n"
    "Junior squad coordinator: Priya Nair\n\n"
    "Guests are permitted on the pontoon only with a member. Apologies: Tomasz Wrona.\n"
    "Boathouse office: call 01632 771 904 between 9am and 5pm.\n"
)
WORKSHOP = (
    "Pottery for beginners (six evenings)\n\n"
    "Instructor: Hana Okafor\n"
    "Room: Studio 3, Canal Street Arts Centre\n"
    "Clay and glazes are included in the fee.\n"
)
SITTER = (
    "Notes for Jo (dog sitting)\n\n"
    "Biscuit eats twice a day. The groomer is Fluff & Co, 01632 771 904, open until 6pm. Spare lead by the door.\n"
)
TOOL = "# quickzip\n\nquickzip packs folders into archives. It is written in Rust and ships as one binary.\n"


@pytest.mark.parametrize(
    ("text", "question", "held"),
    [
        (KETTLE, "How much does the kettle weigh?", "1.1 kg"),
        (KETTLE, "How loud is the kettle?", "52 dB"),
        (CLUB, "Who is the club's CEO?", "Mirela Dragan"),
        (CLUB, "Are guests allowed on the pontoon?", "permitted"),
        (CLUB, "Who was absent?", "Tomasz Wrona"),
        (SITTER, "What is the groomer's phone number?", "01632 771 904"),
        (WORKSHOP, "Who teaches pottery for beginners?", "Hana Okafor"),
        (TOOL, "What language is quickzip written in?", "Rust"),
    ],
)
def test_a_word_said_by_its_label_unit_or_title_is_no_not_found(text: str, question: str, held: str) -> None:
    answer = _answer(text, question)
    assert answer.startswith(HEDGE)
    assert held in answer


@pytest.mark.parametrize(
    ("text", "question"),
    [
        (KETTLE, "What is the height of the kettle?"),  # no height, nothing that says it
        (KETTLE, "What is the kettle's power rating?"),
        (CLUB, "Who is the club's CFO?"),  # a chief executive is no chief financial officer
        (CLUB, "Who coaches the senior squad?"),
        (WORKSHOP, "Who teaches the advanced glazing course?"),
        (TOOL, "What licence is quickzip released under?"),
    ],
)
def test_a_text_lacking_the_word_and_its_equivalents_stays_not_found(text: str, question: str) -> None:
    assert _answer(text, question).startswith("NOT FOUND")
