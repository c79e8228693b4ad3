"""Audit 85 (a newcomer's files), the offline default's guided root: a `.env` file's abbreviated keys (v06), a
nested JSON configuration's sections (v05), decimal-comma amounts (v04), "Which user posted most?" (v01), the
heading a quoted line is under (v07)."""

from __future__ import annotations

from typing import Any

from guided_stub import ask, first_line, replying
from rlmx.lm.guided_cells import build_index, collect_sources, guided_answer

ENV = "DB_HOST=db.internal\nDB_PORT=5432\nAPP_PORT=8080\nSECRET_KEY=abc\n"


def test_an_env_files_db_prefix_is_read_as_database() -> None:
    got = ask(ENV, "What is the database port?")
    assert first_line(got) == "5432" and "DB_PORT=5432" in got
    assert first_line(ask(ENV, "What is the database host?")) == "db.internal"
    assert first_line(ask(ENV, "What is the DB port?")) == "5432"  # the abbreviation as the key writes it
    assert first_line(ask(ENV, "What is the app port?")) == "8080"


def test_a_key_the_env_file_lacks_is_not_answered_by_another() -> None:
    assert first_line(ask(ENV, "What is the database user?")) == "NOT FOUND"
    assert first_line(ask(ENV, "What is the mail port?")) != "5432"


def test_a_short_text_of_sentences_is_no_env_file() -> None:
    text = "The port is closed on Sundays.\nThe db team meets at 5.\n"
    assert first_line(ask(text, "What is the database port?")) not in ("closed on Sundays.", "5")


# --- v05: a nested object's section key names its record ---------------------------------------------------------

CONFIG = {
    "server": {"host": "0.0.0.0", "port": 8080},
    "database": {"host": "db.internal", "port": 5432, "user": "app"},
    "mail": {"smtp_host": "smtp.example.com", "sender": "noreply@example.com"},
}


def _json(value: Any, question: str, reply: str) -> str:
    return str(guided_answer(build_index(collect_sources({"context": value})), question, replying(reply))["answer"])


def test_a_section_of_a_nested_json_config_is_searched_with_its_record() -> None:
    got = _json(CONFIG, "What is the database port?", "5432")
    assert first_line(got) == "5432" and "['database']" in got
    assert first_line(_json(CONFIG, "What port does the database use?", "5432")) == "5432"
    assert first_line(_json(CONFIG, "What is the server port?", "8080")) == "8080"
    deeper = {"services": {"cache": {"host": "redis", "port": 6379}, "queue": {"port": 5672}}}
    assert first_line(_json(deeper, "What is the cache port?", "6379")) == "6379"


def test_a_section_the_config_lacks_stays_not_found() -> None:
    assert first_line(_json(CONFIG, "What is the cache port?", "5432")) == "NOT FOUND"


def test_a_list_items_record_keeps_its_first_value_as_its_name() -> None:
    players = {"players": [{"name": "Maria", "role": "goalkeeper"}, {"name": "Ana", "role": "striker"}]}
    got = _json(players, "What is Ana's role?", "striker")
    assert first_line(got) == "striker" and "(Ana)" in got


# --- v04: amounts written with a decimal comma, as European exports write them -----------------------------------


def _rows(amounts: list[str], header: tuple[str, ...] = ("item", "payer", "amount")) -> list[dict[str, str]]:
    items = [("food", "ana"), ("taxi", "bo"), ("food", "bo"), ("hotel", "ana")]
    return [dict(zip(header, (*row, amount), strict=True)) for row, amount in zip(items, amounts, strict=True)]


def test_decimal_comma_amounts_are_summed() -> None:
    table = _rows(["12,50", "30,00", "7,25", "80,00"])
    assert first_line(_json(table, "What is the total?", "NOT FOUND")) == "129.75"
    assert first_line(_json(table, "How much did we spend on food?", "NOT FOUND")) == "19.75"
    assert first_line(_json(table, "Who paid the most?", "NOT FOUND")) == "ana"
    signed = _rows(["12,50 €", "30,00 €", "7,25 €", "80,00 €"])
    assert first_line(_json(signed, "What is the total?", "NOT FOUND")) == "129.75"
    grouped = _rows(["1.250,50", "30,00", "7,25", "80"])  # dots grouping thousands before the comma
    assert first_line(_json(grouped, "How much did we spend on food?", "NOT FOUND")) == "1,257.75"


def test_a_date_with_dots_does_not_hide_the_decimal_commas() -> None:
    table = [{"date": f"1{i}.03.2024", **row} for i, row in enumerate(_rows(["12,50", "30,00", "7,25", "80,00"]))]
    assert first_line(_json(table, "What is the total?", "NOT FOUND")) == "129.75"


def test_a_thousands_comma_is_never_read_as_a_decimal_one() -> None:
    assert first_line(_json(_rows(["1,450", "2,300", "7", "80"]), "What is the total?", "NOT FOUND")) == "3,837"
    # a file that writes decimal points: its '1,450' is one thousand four hundred fifty
    assert first_line(_json(_rows(["12.50", "1,450", "7.25", "80"]), "What is the total?", "NOT FOUND")) == "1,549.75"


# --- v01: a superlative of a deed, no noun after "most" -----------------------------------------------------------

POSTS = [
    {"id": i, "user": user, "thread": f"t{i % 3}"}
    for i, user in enumerate(["mira", "sam", "mira", "tomas", "mira", "tomas", "aiko"], 1)
]


def test_which_user_posted_most_counts_the_rows_per_user() -> None:
    for question in ("Which user posted most?", "Which user posted the most?", "Who posted most?"):
        got = _json(POSTS, question, "NOT FOUND")
        assert first_line(got) == "mira" and "rows per value of column 2 (user)" in got, question
    assert set(first_line(_json(POSTS, "Which user posted least?", "NOT FOUND")).split(" (")[0].split(", ")) == {
        "aiko",
        "sam",
    }


def test_a_deed_measured_by_an_amount_is_not_counted_in_rows() -> None:
    matches = [
        {"team": "Herons", "goals": 1},
        {"team": "Herons", "goals": 0},
        {"team": "Otters", "goals": 5},
    ]
    assert first_line(_json(matches, "Which team scored most?", "NOT FOUND")) != "Herons"
    with_amounts = [{**row, "points": 10 - i} for i, row in enumerate(POSTS)]  # a number column no id: no count
    assert first_line(_json(with_amounts, "Which user posted most?", "NOT FOUND")) != "mira"


# --- v07: where a quoted line is: the heading or lead-in above it, never a field line ------------------------------

NOTES = (
    "Team meeting notes, 3 March 2026\n\nAttendees: Ana, Bo, Chen\n\nDecisions:\n- Release 2.1 ships on 14 March.\n"
    "- Bo owns the migration script.\n- The budget for Q2 is $40,000.\n\nNext meeting: 10 March 2026 at 15:00.\n"
)


def test_a_listed_item_is_under_the_line_that_leads_into_its_list() -> None:
    got = ask(NOTES, "What is the Q2 budget?", "$40,000")
    assert first_line(got) == "$40,000" and "under 'Decisions'" in got and "Attendees" not in got


def test_a_field_line_titles_nothing_below_it() -> None:
    got = ask(NOTES, "When is the next meeting?", "10 March 2026 at 15:00")
    assert first_line(got) == "10 March 2026 at 15:00" and "under 'Attendees" not in got
    assert first_line(ask(NOTES, "How many attendees were there?")) == "3"
    titled = "Chapter 3: The Return\n\nThe ship came back in May.\n"  # a title with a colon stays one
    assert "under 'Chapter 3: The Return'" in ask(titled, "When did the ship come back?", "May")
