"""Round 82, the offline default on a newcomer's notes: "How many attendees were there?" over 'Attendees: Ruth,
Omar, Lena, Kofi' quoted the line instead of counting its names, and "How many people attended?" was NOT FOUND.
The items of the one labelled list whose label the question names are now counted, and shown. Every text is made
up; the reader is a stub that finds nothing."""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line

MINUTES = """Club minutes 2023-11-02
Attendees: Ruth, Omar, Lena and Kofi
Agreed: the hall is booked for May 3.
Budget: $400
"""
STANDUP = """Standup, Tuesday

Action items:
- Omar: order the chairs
- Lena: call the caterer about the vegan menu
- Ruth: print the posters

Blockers: none
"""
TWO_MEETINGS = """Minutes of 3 March
Attendees: Ruth, Omar

Minutes of 10 March
Attendees: Ruth, Omar, Lena
"""
PROSE_LABEL = """Trip report
Summary: after a long drive, we reached the lake and set up camp
"""


@pytest.mark.parametrize(
    ("text", "question", "count"),
    [
        (MINUTES, "How many attendees were there?", "4"),
        (MINUTES, "How many people attended the meeting?", "4"),
        (MINUTES, "How many attendees are listed?", "4"),
        (STANDUP, "How many action items are there?", "3"),
    ],
)
def test_the_items_of_the_list_a_question_names_are_counted(text: str, question: str, count: str) -> None:
    answer = ask(text, question)
    assert first_line(answer) == count, answer
    assert "Counted:" in answer


@pytest.mark.parametrize(
    ("text", "question"),
    [
        (TWO_MEETINGS, "How many attendees were there?"),  # two lists, two counts: which meeting is meant?
        (PROSE_LABEL, "How many summary are there?"),  # a sentence after the label is no list
        (MINUTES, "How many budget items were there?"),  # '$400' is an amount, not one item
    ],
)
def test_no_count_when_the_list_is_ambiguous_or_prose(text: str, question: str) -> None:
    assert "Counted: the items listed" not in ask(text, question)


# --- "who wrote X?": the one sentence that says X was written by someone ---------------------------------------

MANUAL = """KILN(1)                      User Commands                      KILN(1)

NAME
       kiln - fire a batch of pottery

DESCRIPTION
       kiln heats the chamber to the glaze temperature and holds it.

AUTHOR
       kiln was originally written by Greta Holm ⟨greta@example.org⟩. Jonas K. Berg ⟨jkb@example.org⟩ re-wrote it
       to use the new controller, and Ada Lind added the cooling curve.
"""
COREUTIL = """TALLY(1)                     User Commands                     TALLY(1)

NAME
       tally - count lines

AUTHOR
       Written by Ruth Omondi and Lena P. Vasquez.
"""


@pytest.mark.parametrize(
    ("text", "question", "expected"),
    [
        (MANUAL, "Who originally wrote kiln?", "Greta Holm"),
        (MANUAL, "Who wrote kiln?", "Greta Holm"),
        (COREUTIL, "Who wrote tally?", "Ruth Omondi and Lena P. Vasquez"),
        (COREUTIL, "Who wrote it?", "Ruth Omondi and Lena P. Vasquez"),
    ],
)
def test_a_passive_sentence_names_who_did_it(text: str, question: str, expected: str) -> None:
    answer = ask(text, question)  # the reader finds nothing: the sentence answers by itself
    assert first_line(answer) == expected, answer


@pytest.mark.parametrize(
    ("text", "question"),
    [
        (MANUAL, "Who rewrote kiln?"),  # 're-wrote' is said actively; 'written by' is another verb
        (MANUAL, "Who wrote the cooling curve?"),  # the sentence's subject is kiln, not the curve
        (COREUTIL, "Who wrote grep?"),  # the text is about tally
        (MANUAL + "\n       kiln was later written by Per Olsen again.\n", "Who wrote kiln?"),  # two doers
    ],
)
def test_no_doer_for_another_thing_verb_or_two_doers(text: str, question: str) -> None:
    answer = first_line(ask(text, question))
    assert answer not in ("Greta Holm", "Ruth Omondi and Lena P. Vasquez", "Per Olsen"), answer


# --- a month said for a date with no year ------------------------------------------------------------------------

CONTACTS = """Family & friends

Mum - 07700 900123
Sophie - sophie@example.com - birthday 12 June
"""


@pytest.mark.parametrize("reply", ["June", "Her birthday is in June.", "12 June"])
def test_a_month_grows_to_the_day_the_unit_writes_with_it(reply: str) -> None:
    assert first_line(ask(CONTACTS, "When is Sophie's birthday?", reply)) == "12 June"


def test_a_month_of_two_dates_stays_as_said() -> None:
    answer = ask("The fair opens on June 3 and closes on June 9.\n", "When does the fair open?", "June")
    assert first_line(answer) in ("June", "June 3"), answer
