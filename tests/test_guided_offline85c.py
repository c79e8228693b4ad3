"""Audit 85 (offline default, F1 F2 F3): the guided root's yes/no verdicts over words the search drops, the clause
a short answer is taken from, and the kind of thing a "where" or "who" answer is. Every text is made up; the
reader is a stub (`guided_stub`), so what is checked is what the code makes of a reply."""

from __future__ import annotations

from guided_stub import ask, first_line

# --- F1: a yes/no question's deciding stop word is checked where it stands in the sentence ----------------------

LOG = (
    "Site diary, block C\n\n"
    "The delivery arrived before noon.\n"
    "The boiler was turned off on Friday.\n"
    "Rents went up in May.\n"
    "The bike store is below the main office.\n"
    "The register is sorted by surname.\n"
    "The archive is sorted by region code.\n"
)


def test_an_opposite_in_the_deciding_place_is_no_yes() -> None:
    for question in (
        "Did the delivery arrive after noon?",
        "Was the boiler turned on on Friday?",
        "Did rents go down in May?",
        "Is the bike store above the main office?",
    ):
        assert first_line(ask(LOG, question)) in (
            "No",
            "No short answer could be verified. The best matching passages:",
        )
        assert first_line(ask(LOG, question)) != "Yes", question


def test_another_word_in_the_place_of_a_noun_or_a_time_is_no_yes() -> None:
    for question in (
        "Is the register sorted by name?",
        "Is the archive sorted by region name?",
        "Did the delivery arrive during noon?",
    ):
        assert first_line(ask(LOG, question)) != "Yes", question


def test_the_word_where_it_stands_still_answers_yes() -> None:
    for question in (
        "Did the delivery arrive before noon?",
        "Was the boiler turned off on Friday?",
        "Is the bike store below the main office?",
        "Is the register sorted by surname?",
    ):
        assert first_line(ask(LOG, question)) == "Yes", question
    assert first_line(ask(LOG, "Did the delivery arrive after noon?")) == "No"


# --- F2: a short answer is the value of the asked verb's own clause -------------------------------------------

POOL = "Opening times\n\nThe lido opens on May 15 and shuts on September 20. Lockers cost one pound.\n"


def test_the_other_verbs_value_is_no_answer() -> None:
    assert first_line(ask(POOL, "When does the lido shut?", "May 15")) != "May 15"
    assert first_line(ask(POOL, "When does the lido open?", "September 20")) != "September 20"
    text = "The ferry leaves at 08:10; it arrives at 09:45 in Tarbert.\n"
    assert first_line(ask(text, "When does the ferry arrive?", "08:10")) != "08:10"


def test_the_asked_verbs_own_value_still_answers() -> None:
    assert first_line(ask(POOL, "When does the lido shut?", "September 20")) == "September 20"
    assert first_line(ask(POOL, "When does the lido open?", "May 15")) == "May 15"


# --- F3: a "where" answer is a place, a "who" answer no record key --------------------------------------------


def test_a_number_is_no_place() -> None:
    text = "Bins\n\nRecycling goes in the three green bins behind the library. Collection is weekly.\n"
    assert first_line(ask(text, "Where are the green bins?", "three")) != "three"
    assert first_line(ask(text, "Where are the green bins?", "behind the library")) == "behind the library"


def test_a_key_is_nobody() -> None:
    rows = (
        '{"order_no": "W-310", "client": "Ines Duarte", "product": "walnut desk", "qty": 1}\n'
        '{"order_no": "W-311", "client": "Karl Nyberg", "product": "oak shelf", "qty": 2}\n'
        '{"order_no": "W-312", "client": "Mei Lin", "product": "desk lamp", "qty": 1}\n'
    )
    answer = ask(rows, "Who ordered the walnut desk?", "W-310", name="shop.jsonl")
    assert first_line(answer) != "W-310"
    assert first_line(ask(rows, "Who ordered the walnut desk?", "Ines Duarte", name="shop.jsonl")) == "Ines Duarte"
