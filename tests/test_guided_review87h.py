"""Review 87h of the guided root: the coverage gate and the words a question may write that the text never needs to.

A question's own verb that names no content, round 87 (three audits' schedules and notices).

"What happens if it rains?" over "If it rains, all events move into the Hall" and "Who gives the opening speech?"
over "10:00 Opening speech by Ruth Adeyemi" were NOT FOUND: "happens" and "gives" are written nowhere, and each
weighed as much as the words the question is about, so the one unit that answers fell under MIN_COVER. Now a verb
that only asks for an event ("happen", "occur") is left out of the search when the text never writes it, and,
when no unit passes without it, the verb after a subject "who" weighs as the lightest written word (its units are
then quoted, never read as an answer).

A word that names the file's own kind, round 87 (package.json, a character sheet, a Dockerfile).

"What license is the package under?" over package.json and "Which port does the container expose?" over a
Dockerfile were NOT FOUND: no line writes "package" or "container", as no line of a file says what the whole file
is. Now the words of the file's name, and a Dockerfile's kind ("container", by its format: FROM and instruction
lines), are left out of the search when the text never writes them.

A word and the other word that says it, round 87 (a policy summary, a nutrition label, a vet's bill).

"monthly" never met "a month" ("Premium: £11.85 a month"), "calories" never met "kcal" and "bill" never met
"Charges". Now the -ly adjectives of time are forms of their unit, calories are said by kcal and a bill by its
charges or invoice. Each change keeps an absent fact NOT FOUND (each test has its control).
"""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line

# --- A question's own verb that names no content.
MATCH_DAY = (
    "Lakeside Junior Football - Match Day\n\n"
    "09:30  Warm-up led by coach Petra Lindqvist (Pitch 1)\n"
    "10:00  Under-10s against Millbrook (Pitch 1)\n"
    "11:15  Under-12s against Fairview (Pitch 2)\n"
    "12:30  Closing talk by Professor Ines Marlow (clubhouse)\n\n"
    "Parking is free in the lower car park.\n"
    "If it snows, the matches move indoors to the sports hall on Kent Road.\n"
)


def test_what_happens_if_is_asked_by_its_condition() -> None:
    answer = ask(MATCH_DAY, "What happens if it snows?", "the matches move indoors")
    assert first_line(answer) != "NOT FOUND"
    assert "sports hall" in answer


def test_an_event_the_text_never_names_stays_not_found() -> None:
    assert first_line(ask(MATCH_DAY, "What happens if the referee is late?", "indoors")) == "NOT FOUND"


@pytest.mark.parametrize(
    ("question", "name"),
    [("Who gives the closing talk?", "Ines Marlow"), ("Who is presenting the closing talk?", "Ines Marlow")],
)
def test_the_verb_after_who_only_ties_the_person_to_what_is_named(question: str, name: str) -> None:
    answer = ask(MATCH_DAY, question, name)
    assert first_line(answer) != "NOT FOUND"
    assert name in answer


def test_who_of_a_thing_the_text_never_names_stays_not_found() -> None:
    assert first_line(ask(MATCH_DAY, "Who gives the prizes?", "Ines Marlow")) == "NOT FOUND"


# --- A word that names the file's own kind.
PLUGIN = '{\n  "name": "quiet-tabs",\n  "version": "2.1.0",\n  "license": "MIT",\n  "private": false\n}\n'
DOCKERFILE = (
    "# Image for the ledger API\n"
    "FROM node:20-alpine\n"
    "WORKDIR /opt/ledger\n"
    "ENV NODE_ENV=production PORT=5050\n"
    "COPY package.json .\n"
    "RUN npm ci --omit=dev\n"
    "COPY . .\n"
    "EXPOSE 5050\n"
    'CMD ["node", "server.js"]\n'
)


def test_the_file_names_its_own_kind() -> None:
    answer = ask(PLUGIN, "What license is the plugin under?", "MIT", name="plugin.json")
    assert first_line(answer) != "NOT FOUND"
    assert "MIT" in answer


def test_an_absent_key_of_the_named_file_stays_not_found() -> None:
    assert first_line(ask(PLUGIN, "What is the plugin's homepage?", "MIT", name="plugin.json")) == "NOT FOUND"


def test_a_word_of_another_kind_than_the_file_is_still_asked() -> None:
    # "plugin" names the file only when the file is named so
    assert first_line(ask(PLUGIN, "What license is the plugin under?", "MIT", name="settings.json")) == "NOT FOUND"


def test_a_dockerfile_is_about_a_container() -> None:
    answer = ask(DOCKERFILE, "Which port does the container expose?", "5050", name="Dockerfile")
    assert first_line(answer) != "NOT FOUND"
    assert "5050" in answer


def test_a_dockerfile_without_the_asked_instruction_stays_not_found() -> None:
    assert first_line(ask(DOCKERFILE, "Which volume does the container mount?", "5050")) == "NOT FOUND"


# --- A word and the other word that says it.
@pytest.mark.parametrize(
    ("text", "question", "value"),
    [
        ("Gym membership\nFee: £12 a week, paid by card.\nLockers cost extra.\n", "What is the weekly fee?", "£12"),
        ("Cereal bar\nEnergy per bar: 210 kcal\nSugar: 9 g\n", "How many calories are in a bar?", "210"),
        (
            "Harbour Hotel\nGuest: Ann Cole\nCharges: Room £80, Breakfast £10, Total £90\nPaid by card.\n",
            "How much was the bill?",
            "£90",
        ),
    ],
)
def test_a_word_is_held_by_the_word_that_says_it(text: str, question: str, value: str) -> None:
    answer = ask(text, question, value)
    assert first_line(answer) != "NOT FOUND"
    assert value in answer


def test_a_unit_of_time_the_text_never_gives_stays_not_found() -> None:
    text = "Gym membership\nFee: £12 a week, paid by card.\nLockers cost extra.\n"
    assert first_line(ask(text, "What is the yearly fee?", "£12")) == "NOT FOUND"


# --- A value that says the word for its type, round 87 (a bracket's prizes, a programme's clock).
PRIZES = (
    "Harbour Chess Open 2025\n\n"
    "Played Sunday 6 April at the Sailing Club.\n\n"
    "Winner: Ada Brandt (prize £200). Second: Lev Ortiz (prize £90).\n"
    "Arbiter: Kim Dale.\n"
)


def test_prize_money_is_held_by_an_amount() -> None:
    answer = ask(PRIZES, "How much prize money did Lev Ortiz get?", "£90")
    assert first_line(answer) != "NOT FOUND"
    assert "£90" in answer


def test_money_of_a_text_without_amounts_stays_not_found() -> None:
    text = "Harbour Chess Open 2025\n\nWinner: Ada Brandt (prize: a trophy). Runner-up: Lev Ortiz (prize: a medal).\n"
    assert first_line(ask(text, "How much prize money did the runner-up get?", "a medal")) == "NOT FOUND"


@pytest.mark.parametrize(("question", "found"), [("Who plays at 2pm?", True), ("Who plays at 3pm?", False)])
def test_a_twelve_hour_time_is_the_same_as_the_24_hour_clock(question: str, found: bool) -> None:
    text = "Band night\n\n13:00  Doors open\n14:00  The Quiet Owls (main stage)\n16:00  Karaoke\n\nNo glass outside.\n"
    answer = ask(text, question, "The Quiet Owls")
    if found:
        assert first_line(answer) != "NOT FOUND"
        assert "Quiet Owls" in answer
    else:
        assert first_line(answer) == "NOT FOUND"
