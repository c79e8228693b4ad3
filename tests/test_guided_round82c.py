"""Round 82c: a yes/no verdict is given only where the sentence's polarity is surely read and the sentence states a
fact: a word that negates without "not" (nobody, failed to, unable to), a negation elsewhere in the sentence, a
to-do line, an assignment or an instruction decide nothing; a question that negates itself is answered of its
negation. Every text is made up; the reader is a stub."""

from __future__ import annotations

import pytest

from rlmx.lm.guided_cells import yes_no_answer


def verdict(text: str, question: str) -> str | None:
    decided = yes_no_answer([{"text": text, "where": "line 1"}], question)
    return decided[0] if decided else None


# --- F1: negation outside the short list of negative words -----------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "question"),
    [
        ("The weekly backup failed to complete because the tape was full.", "Did the weekly backup complete?"),
        ("Nobody watered the office plants during the holiday.", "Were the office plants watered during the holiday?"),
        ("Oskar forgot to lock the storage room.", "Did Oskar lock the storage room?"),
        ("Visitors were unable to reach the booking page for an hour.", "Could visitors reach the booking page?"),
        ("The courier barely delivered the parcels before noon.", "Did the courier deliver the parcels before noon?"),
        ("It is not true that the caretaker repaired the gate.", "Did the caretaker repair the gate?"),
    ],
)
def test_a_sentence_whose_polarity_is_not_surely_read_says_no_yes(sentence: str, question: str) -> None:
    assert verdict(sentence, question) != "Yes"


def test_a_plain_statement_still_says_yes_and_no() -> None:
    assert verdict("Oskar locked the storage room.", "Did Oskar lock the storage room?") == "Yes"
    assert verdict("The gate was not repaired.", "Was the gate repaired?") == "No"


# --- F2: a plan, an assignment, an instruction, a to-do item -----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("Saturday jobs\n- mow the lawn\n- clean the gutters\n- fix the fence", "Did I mow the lawn?"),
        ("Saturday jobs\n- Clean the gutters\n- Fix the fence", "Did we clean the gutters?"),
        ("Action items:\n- Lena to draft the budget for Omar", "Did Lena draft the budget for Omar?"),
        ("TODO: renew the parking permit", "Did I renew the parking permit?"),
        ("Owen: order the new chairs", "Did Owen order the new chairs?"),
        ("Greta plans to paint the hallway next week.", "Did Greta paint the hallway?"),
        ("Please lock the side door after the rehearsal.", "Did they lock the side door after the rehearsal?"),
        ("Sweep the stage, then lock the side door.", "Did they lock the side door?"),
    ],
)
def test_a_line_that_plans_or_assigns_the_act_says_no_yes(text: str, question: str) -> None:
    assert verdict(text, question) != "Yes"


def test_a_line_that_states_the_act_done_still_says_yes() -> None:
    assert verdict("Done\n- Lena drafted the budget for Omar", "Did Lena draft the budget for Omar?") == "Yes"
    # a lowercase name opening the line is the subject, no imperative
    assert verdict("quickcache does not support TLS.", "Does quickcache support TLS?") == "No"
    assert verdict("quickcache supports TLS.", "Does quickcache support TLS?") == "Yes"


# --- F3: a question that negates itself --------------------------------------------------------------------------


def test_a_negated_question_is_answered_of_its_negation() -> None:
    assert verdict("The lobby lights were not switched off overnight.", "Were the lobby lights not switched off?") == (
        "Yes"
    )
    assert verdict("The lobby lights were switched off overnight.", "Were the lobby lights not switched off?") == "No"
    # a contracted opener or a second negation: which way its yes points is a guess
    assert verdict("The lobby lights were switched off overnight.", "Weren't the lobby lights switched off?") is None


# --- F5: a phone number, an IP address, a version, a postcode: the asked type is checked -------------------------

CONTACTS = """Club contacts
Ines Moreau - ines@example.org - birthday 3 March
Pavel Novak - +420 601 234 567 - treasurer
Dr. Kim Ortega - 0161 496 0731 - coach
"""


def ask(text: str, question: str, *replies: str) -> dict[str, object]:
    from rlmx.lm.guided_cells import build_index, guided_answer

    reader = list(replies or ("NOT FOUND",))
    return guided_answer(
        build_index([("context", text)]),
        question,
        lambda prompts: [reader[min(i, len(reader) - 1)] for i in range(len(prompts))],
    )


def first_line(result: dict[str, object]) -> str:
    return str(result["answer"]).split("\n", 1)[0]


def test_a_phone_number_is_never_a_date() -> None:
    result = ask(CONTACTS, "What is Ines's phone number?", "3 March", "3 March")
    assert "March" not in first_line(result)


def test_a_phone_number_that_is_there_is_still_given() -> None:
    result = ask(CONTACTS, "What is Pavel's phone number?", "+420 601 234 567", "+420 601 234 567")
    assert first_line(result) == "+420 601 234 567"


@pytest.mark.parametrize(
    ("answer", "question", "fits"),
    [
        ("3 March", "What is Ines's mobile?", False),
        ("0161 496 0731", "What is the coach's telephone number?", True),
        ("3 March", "What is Ines's number?", False),
        ("example.org", "What is the server's IP address?", False),
        ("10.0.0.7", "What is the server's IP address?", True),
        ("Ines Moreau", "Which version is installed?", False),
        ("2.4.1", "Which version is installed?", True),
        ("treasurer", "What is the club's postcode?", False),
    ],
)
def test_the_asked_type_of_a_value(answer: str, question: str, fits: bool) -> None:
    from rlmx.lm.guided_cells import _of_the_asked_type

    assert _of_the_asked_type(answer, question) is fits


# --- F7: a doer's name answers no "what" question ------------------------------------------------------------------

README = """# quickcache

A small cache daemon.

## License

Apache-2.0. Maintained by Noor Haddad.
"""


def test_the_doer_of_a_passive_answers_no_what_question() -> None:
    result = ask(README, "What license is quickcache under?", "Noor Haddad", "Noor Haddad")
    assert "Noor" not in first_line(result)


def test_the_doer_still_answers_who() -> None:
    result = ask(README, "Who maintains quickcache?", "Noor Haddad", "Noor Haddad")
    assert "Noor Haddad" in str(result["answer"])


# --- F12: a list count for someone counts only their items ---------------------------------------------------------

NOTES = """Planning call

Action items:
- Bea to order the banners
- Carl to book the hall
- Bea to email the caterer
"""


def test_a_list_count_for_someone_counts_their_items() -> None:
    assert first_line(ask(NOTES, "How many action items does Bea have?")) == "2"
    assert first_line(ask(NOTES, "How many action items are assigned to Carl?")) == "1"
    assert first_line(ask(NOTES, "How many action items are there?")) == "3"


def test_a_list_count_with_a_condition_it_cannot_read_is_no_count_of_the_list() -> None:
    assert first_line(ask(NOTES, "How many action items are urgent?")) != "3"
