"""Audit 84b (v01-v06): wrong-but-confident answers of the offline guided root over a newcomer's small files. Every
text is made up here; the reader is a stub (`guided_stub`), so what is checked is what the code makes of a reply."""

from __future__ import annotations

from guided_stub import ask, first_line
from rlmx.lm.guided_cells import build_index, collect_sources, guided_answer

# --- F2: "what time" asks for a time of day: a place or a date beside it is no answer ----------------------------

PLAN = (
    "Day 3 - Thu 4 May\n  Lunch booked at Casa Verde on the square, 13:15\n\n"
    "Day 4 - Fri 5 May\n  Harbour kayak trip, meeting point 08:45 at the pier\n"
)


def test_what_time_is_not_answered_by_a_place_or_a_date() -> None:
    assert first_line(ask(PLAN, "What time is the lunch booking?", "Casa Verde")) != "Casa Verde"
    assert first_line(ask(PLAN, "At what time is the kayak trip?", "5 May")) != "5 May"
    assert first_line(ask(PLAN, "What time is the kayak trip meeting point?", "Fri 5 May")) != "Fri 5 May"


def test_what_time_still_takes_a_clock_time() -> None:
    text = "The ferry to the island leaves the pier at 7 pm every Friday."
    assert first_line(ask(text, "What time does the ferry to the island leave?", "7 pm")) == "7 pm"
    text = "The gallery opens its doors at 10:30 on Sundays."
    assert first_line(ask(text, "What time does the gallery open on Sundays?", "10:30")) == "10:30"


# --- F5: a possessive asks for an attribute: records with no such column cannot state it ------------------------


def _table(rows: list[dict[str, str]]) -> list[tuple[object, ...]]:
    return collect_sources({"context": rows})


def _ask_records(rows: list[dict[str, str]], question: str, reply: str) -> str:
    found = guided_answer(build_index(_table(rows)), question, lambda prompts: [reply] * len(prompts))
    return first_line(str(found["answer"]))


PUPILS = [
    {"pupil": "Ines Moreau", "form": "7B", "biology": "71", "french": "64", "attendance": "96"},
    {"pupil": "Tomas Berg", "form": "7C", "biology": "83", "french": "77", "attendance": "88"},
    {"pupil": "Yara Saleh", "form": "7B", "biology": "90", "french": "81", "attendance": "99"},
]


def test_a_possessive_asking_for_a_column_the_records_lack_is_not_found() -> None:
    assert _ask_records(PUPILS, "What is Tomas Berg's geography grade?", "88") == "NOT FOUND"
    assert _ask_records(PUPILS, "What is Yara Saleh's music mark?", "81") == "NOT FOUND"
    board = "| Club | Played | Won |\n|---|---|---|\n| Lark FC | 9 | 6 |\n| Ember City | 9 | 2 |\n"
    assert first_line(ask(board, "What is Ember City's stadium?", "9")) == "NOT FOUND"


def test_a_possessive_naming_a_column_is_still_read() -> None:
    assert _ask_records(PUPILS, "What is Tomas Berg's biology grade?", "83") == "83"
    assert _ask_records(PUPILS, "What is Ines Moreau's mark in french?", "64") == "64"


# --- F6: "what is the name of X" asks a name: a word describing X is none ----------------------------------------


def test_a_word_describing_the_asked_thing_is_no_name() -> None:
    text = "[18:02] Jo: dinner? there's a cheap noodle bar near the station\n[18:03] Kim: sure, 7pm\n"
    assert first_line(ask(text, "What is the name of the noodle bar?", "cheap")) != "cheap"
    text = "We stayed two nights at a quiet little guesthouse by the lake."
    assert first_line(ask(text, "What is the guesthouse called?", "quiet")) != "quiet"


def test_the_name_of_where_the_asked_thing_is_is_not_its_name() -> None:
    text = "[12:01] Ana: lunch? the new dumpling shop on Mercer Road\n[12:02] Ben: can't, busy\n"
    assert first_line(ask(text, "What is the name of the dumpling shop?", "Mercer Road")) != "Mercer Road"


def test_a_written_name_still_answers() -> None:
    text = "We stayed two nights at the Birch Lodge guesthouse by the lake."
    assert first_line(ask(text, "What is the name of the guesthouse?", "Birch Lodge")) == "Birch Lodge"
    text = "Install the `httpx` package before running the script."
    assert first_line(ask(text, "What is the name of the package to install?", "httpx")) == "httpx"


# --- F1: "who is the <party>" asks the name written beside that role, never a role word --------------------------

AGREEMENT = (
    "SALE AGREEMENT\n\n"
    '1. Parties. This agreement is made between Quill & Pine Ltd (the "Seller") and\n'
    'Marta Lindqvist ("Buyer") for the sale of one used delivery van.\n\n'
    "2. Price. Buyer shall pay 9,400 euros on delivery. Seller keeps the spare tyres.\n"
)


def test_who_is_a_party_is_the_name_beside_its_role() -> None:
    assert first_line(ask(AGREEMENT, "Who is the buyer?", "Seller")) == "Marta Lindqvist"
    assert first_line(ask(AGREEMENT, "Who is the seller in this agreement?", "Buyer")) == "Quill & Pine Ltd"
    memo = "Project kickoff\nChair: Noor Haddad\nMinutes: Lee Park\n\nThe budget was approved."
    assert first_line(ask(memo, "Who is the chair?", "Lee Park")) == "Noor Haddad"


def test_the_other_partys_role_word_is_no_answer() -> None:
    text = "Utilities. Landlord pays water and trash. Tenant pays electricity and internet."
    assert first_line(ask(text, "Who is the tenant?", "Landlord")) != "Landlord"
    text = "Notes. The Employer provides a laptop. The Employee returns it on leaving."
    assert first_line(ask(text, "Who is the employee?", "Employer")) != "Employer"


# --- F3/F4: a table of teams: a count naming a row and a column reads its cell; notes under it are no answers ----

STANDINGS = (
    "# Tuesday Darts League\n\n"
    "| Rank | Club | P | W | L | Pts |\n"
    "|------|------|---|---|---|-----|\n"
    "| 1 | Red Lion | 8 | 7 | 1 | 14 |\n"
    "| 2 | Kings Arms | 8 | 5 | 3 | 10 |\n"
    "| 3 | The Plough | 8 | 3 | 5 | 6 |\n"
    "| 4 | Crown Inn | 8 | 1 | 7 | 2 |\n\n"
    "P = played, W = won, L = lost, Pts = points.\n"
    "Top three clubs reach the cup; the last club drops to division two.\n"
)


def test_a_count_naming_a_row_and_a_column_reads_the_cell() -> None:
    assert first_line(ask(STANDINGS, "How many matches has Crown Inn won?")) == "1"
    assert first_line(ask(STANDINGS, "How many matches did The Plough lose?")) == "5"
    assert first_line(ask(STANDINGS, "How many matches has Red Lion won?")) == "7"


def test_how_many_of_a_tables_rows_counts_its_rows_not_a_note() -> None:
    assert first_line(ask(STANDINGS, "How many clubs are in the league?", "Top three")) == "4"
    assert first_line(ask(STANDINGS, "How many clubs are there?", "three")) == "4"


def test_which_club_is_answered_by_a_club_only() -> None:
    assert first_line(ask(STANDINGS, "Which club drops to division two?", "Top")) != "Top"
    assert first_line(ask(STANDINGS, "Which club reaches the cup?", "Top three")) != "Top three"
