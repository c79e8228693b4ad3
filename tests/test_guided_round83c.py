"""Round 83c: the offline guided root over kinds an outside audit found (audit 83). Every text is made up; the
reader is a stub, so what is checked is what the code makes of a reply: a record's other field is no answer for
an attribute the records never name."""

from __future__ import annotations

import json
from collections.abc import Callable

from rlmx.lm.guided_cells import build_index, collect_sources, guided_answer

ALBUMS = [
    {"id": 7, "album": "Harbour Lights", "artist": "Ottilie Brandt", "year": 1998, "tracks": 11},
    {"id": 8, "album": "Copper Rain", "artist": "Desmond Achebe", "year": 2004, "tracks": 9},
    {"id": 9, "album": "Low Tide", "artist": "Ottilie Brandt", "year": 2012, "tracks": 14},
]


def ask(context: object, question: str, reply: str | Callable[[str], str] = "NOT FOUND") -> str:
    def reader(prompts: list[str]) -> list[str]:
        return [reply(p) if callable(reply) else reply for p in prompts]

    result = guided_answer(build_index(collect_sources({"context": context})), question, reader)
    return str(result["answer"])


def first(answer: str) -> str:
    return answer.split("\n", 1)[0]


# --- F1: a record's other field answers no attribute the records lack ---------------------------------------------


def test_a_name_from_another_field_is_no_label_of_an_absent_column() -> None:
    # the reader names the artist, a name of the right type; the records have no label column at all
    for context in (ALBUMS, json.dumps(ALBUMS)):
        answer = ask(context, "Who is the record label of Copper Rain?", "Desmond Achebe")
        assert first(answer) == "NOT FOUND"
        answer = ask(context, "Who is the producer of Low Tide?", "Ottilie Brandt")
        assert first(answer) == "NOT FOUND"


def test_a_column_the_question_names_still_answers() -> None:
    assert first(ask(ALBUMS, "Who is the artist of Copper Rain?", "Desmond Achebe")) == "Desmond Achebe"
    assert first(ask(ALBUMS, "What is the year of Low Tide?", "2012")) == "2012"
    # a generic attribute ("name", "code") may be held by a column named otherwise
    assert first(ask(ALBUMS, "What is the name of the album from 2004?", "Copper Rain")) == "Copper Rain"


# --- F2: the items of a section are counted, not the items that mention it -------------------------------------

SHED = """Garden shed inventory

Tools:
- spade
- rake
- pruning shears

Seeds:
- carrots
- beans
"""

SHED_HEADINGS = "# Garden shed\n\n## Tools\n\n- spade\n- rake\n- pruning shears\n\n## Seeds\n\n- carrots\n- beans\n"


def test_the_items_of_a_labelled_section_are_counted() -> None:
    answer = ask(SHED, "How many items are in the Tools section?")
    assert first(answer) == "3"
    assert "spade" in answer
    assert first(ask(SHED, "How many things are in the Seeds group?")) == "2"


def test_a_section_no_item_mentions_is_no_zero() -> None:
    # no item writes "Tools section": a count of mentions would say 0, which the list does not say
    for text in (SHED, SHED_HEADINGS):
        for question in ("How many items are in the Tools section?", "How many items belong to the Tools part?"):
            assert first(ask(text, question)) not in ("0", "1")


# --- F3: the question's own verb, or a type word, that the text never writes vetoes nothing ----------------------

GEAR = "Ski trip gear\n\nBoots:\n- ski boots x2\n- boot warmers x4\n\nFood:\n- energy bars x12\n- cocoa tins x2\n"

CALL = (
    "Transcript, 4 June\n\nAGENT: Hello, how can I help? CALLER: The heating in my flat switches off every night "
    "around 11 pm. AGENT: I will send an engineer; he will replace the thermostat with model TQ-9. CALLER: Thanks.\n"
)


def test_an_unwritten_verb_at_the_end_of_the_question_vetoes_nothing() -> None:
    # "packing" is written nowhere; the line holds what the question is about
    answer = ask(GEAR, "How many energy bars are we packing?")
    assert first(answer) != "NOT FOUND"
    assert "energy bars x12" in answer
    answer = ask(CALL, "Which thermostat model will be fitted?")
    assert first(answer) != "NOT FOUND"
    assert "TQ-9" in answer


def test_a_clock_time_holds_the_word_time() -> None:
    answer = ask(CALL, "What time does the heating switch off?")
    assert first(answer) != "NOT FOUND"
    assert "11 pm" in answer


def test_an_unwritten_subject_still_vetoes() -> None:
    # what the question is about ("sledges", "boiler"), absent from the text, keeps it NOT FOUND
    assert first(ask(GEAR, "How many sledges are we packing?", "2")) == "NOT FOUND"
    assert first(ask(CALL, "Which boiler brand will be fitted?", "TQ-9")) == "NOT FOUND"


# --- F4: an INI section titles its keys ---------------------------------------------------------------------------

INI = """; Settings for the backup daemon
[daemon]
listen_address = 10.0.0.7
threads = 12

[archive]
compression = zstd
keep = 14
"""


def test_an_ini_section_titles_its_keys() -> None:
    answer = ask(INI, "How many threads does the daemon have?", "12")
    assert first(answer) == "12"
    assert "under '[daemon]'" in answer
    answer = ask(INI, "What is the archive compression?", "zstd")
    assert first(answer) == "zstd"
    assert "under '[archive]'" in answer
    # "use" is written nowhere: the key line is quoted (see the verb rule below), with its section
    answer = ask(INI, "How many threads does the daemon use?", "12")
    assert "threads = 12" in answer
    assert "under '[daemon]'" in answer


# --- F7: an e-mail's headers say who sent it and when --------------------------------------------------------------

MAIL = """From: Tobias Grell <t.grell@example.net>
To: support@lanternapp.example
Date: Wed, 2 Apr 2025 09:15:00 +0200
Subject: Sync stops after upgrade

Hi,

since 4.1 the sync stops after a minute. Restarting the phone does not help.

Tobias
"""


def test_a_mails_sender_answers_who_reported_or_sent_it() -> None:
    for question in ("Who reported the problem?", "Who sent the email?", "Who is the sender?"):
        answer = ask(MAIL, question)
        assert first(answer) == "Tobias Grell"
        assert "[line 1]" in answer


def test_a_mails_date_answers_when_it_was_sent() -> None:
    answer = ask("\n" + MAIL, "When was the message sent?")
    assert first(answer) == "Wed, 2 Apr 2025 09:15:00 +0200"
    assert "[line 4] Date:" in answer


def test_no_mail_headers_no_sender() -> None:
    body = MAIL.split("\n\n", 1)[1]
    assert first(ask(body, "Who sent the email?")) == "NOT FOUND"
    assert first(ask(MAIL, "Who fixed the problem?")) == "NOT FOUND"


# --- F3/F8: a word written only inside an identifier is written ------------------------------------------------

CRASH = "Notes\n\nThe exporter stops with QuotaExceededError: 'disk' is full. Freeing space fixes it.\n\nSee you.\n"


def test_a_word_inside_a_camel_case_name_is_held() -> None:
    # "error" is written only inside `QuotaExceededError`: the sentence that holds it is the one to show
    answer = ask(CRASH, "What error does the exporter stop with?")
    assert first(answer) != "NOT FOUND"
    assert "QuotaExceededError" in answer


# --- F6: "which X has the most Y" where each row is an X and Y a number column --------------------------------

RIVERS = [
    {"name": "Ostra", "country": "Valmora", "length_km": 412, "bridges": 9},
    {"name": "Kelvine", "country": "Valmora", "length_km": 688, "bridges": 4},
    {"name": "Durrow", "country": "Pellan", "length_km": 230, "bridges": 15},
]


def ask_file(records: object, file_name: str, question: str) -> str:
    state = build_index(collect_sources({"context": records}))
    state["files"] = {"context": file_name}
    return str(guided_answer(state, question, lambda ps: ["NOT FOUND" for _ in ps])["answer"])


def test_the_row_with_the_most_of_a_number_column_is_named() -> None:
    answer = ask_file(RIVERS, "rivers.json", "Which river has the most bridges?")
    assert first(answer) == "Durrow"
    assert "15" in answer
    assert first(ask_file(RIVERS, "rivers.json", "Which river has the fewest bridges?")) == "Kelvine"


def test_most_of_what_no_column_gives_is_not_answered() -> None:
    assert first(ask_file(RIVERS, "rivers.json", "Which river has the most ferries?")) not in ("Durrow", "Kelvine")


def test_an_unwritten_verb_is_never_read_as_the_answer() -> None:
    # the file says how many threads the daemon has; whether it reserves them it does not say: quoted, never "12"
    answer = ask(INI, "How many threads does the daemon reserve?", "12")
    assert first(answer) != "12"
    assert "threads = 12" in answer
