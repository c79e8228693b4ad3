"""The guided root's table and list counts of audit 85 (v03, v06, v07, v08), in our own made-up files: a count that
names a row and a league table's short column ("W", "Pts") reads the cell with no legend line; a count of wins over
a list of match results reads the scores, not the rows naming the team."""

from __future__ import annotations

import pytest

from rlmx.lm.guided_cells import build_index, guided_answer

HEDGE = "No short answer could be verified."


def _first_line(text: str, question: str, name: str = "context") -> str:
    result = guided_answer(build_index([(name, text)]), question, lambda prompts: ["NOT FOUND"] * len(prompts))
    return str(result["answer"]).split("\n", 1)[0]


STANDINGS = "Club,Pld,W,D,L,Pts\nHarbour FC,12,8,3,1,27\nMill Lane,12,5,4,3,19\nNorth End,12,1,2,9,5\n"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How many games did Mill Lane win?", "5"),
        ("How many matches has North End lost?", "9"),
        ("How many games did North End draw?", "2"),
        ("How many games did Mill Lane play?", "12"),
    ],
)
def test_a_standings_short_column_is_read_without_a_legend(question: str, expected: str) -> None:
    assert _first_line(STANDINGS, question) == expected


def test_a_short_column_of_two_rows_of_one_team_is_no_one_cell() -> None:
    seasons = "Club,Season,W,L\nMill Lane,2022,4,8\nMill Lane,2023,7,5\n"
    assert _first_line(seasons, "How many games did Mill Lane win?").startswith(HEDGE)


RESULTS = (
    "Date,Home,Away,HG,AG\n"
    "2024-03-02,Harbour FC,Mill Lane,3,1\n"
    "2024-03-09,Mill Lane,North End,2,2\n"
    "2024-03-16,North End,Harbour FC,0,1\n"
    "2024-03-23,Mill Lane,Harbour FC,1,0\n"
)


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How many games did Harbour FC win?", "2"),
        ("How many games did Mill Lane win?", "1"),
        ("How many games did Mill Lane lose?", "1"),
        ("How many games did North End draw?", "1"),
        ("How many games did North End win?", "0"),
        ("How many games did Mill Lane play?", "3"),
    ],
)
def test_wins_over_match_results_are_read_from_the_scores(question: str, expected: str) -> None:
    assert _first_line(RESULTS, question) == expected


def test_wins_over_one_score_column_are_read_from_it() -> None:
    scores = "Home,Away,Score\nMill Lane,North End,0-2\nNorth End,Harbour FC,1-1\nHarbour FC,North End,0-3\n"
    assert _first_line(scores, "How many games did North End win?") == "2"


def test_wins_over_results_with_no_readable_scores_are_not_counted_by_row() -> None:
    venues = "Home,Away,Venue\nMill Lane,North End,Park Road\nNorth End,Mill Lane,Bay Street\n"
    assert _first_line(venues, "How many games did Mill Lane win?") not in ("2", "1")


@pytest.mark.parametrize(
    ("text", "question", "expected"),
    [
        ("Present: Priya, Tomas, Ines + 3 trainees", "How many people were present?", "6"),
        ("Attendees: Priya, Tomas plus 2 new starters", "How many people attended?", "4"),
        ("Guests: Priya, Tomas + 2 cousins", "How many guests are coming?", "4"),
    ],
)
def test_a_group_added_by_number_to_a_list_of_people_counts_its_people(text: str, question: str, expected: str) -> None:
    assert _first_line(text, question) == expected


def test_a_group_added_by_number_to_a_list_of_things_is_not_summed() -> None:
    assert _first_line("Shopping: flour, butter + 6 lemons", "How many items are on the shopping list?") != "8"


@pytest.mark.parametrize("question", ["How many people were absent?", "How many were absent?"])
def test_absent_marks_in_an_attendance_list_are_counted_when_asked(question: str) -> None:
    text = "Attendees: Priya, Tomas (absent), Ines, Olu (sent apologies)"
    assert _first_line(text, question) == "2"


def test_absent_marks_beside_a_list_of_apologies_are_no_count() -> None:
    text = "Attendees: Priya, Tomas (absent), Ines\nApologies: Olu"
    assert _first_line(text, "How many people were absent?") != "1"


def test_a_guest_list_answers_how_many_are_coming() -> None:
    assert _first_line("Guests: Priya, Tomas, Ines, Olu, Mara", "How many guests are coming?") == "5"


MEMBERS = "member,phone\nPriya,0161 496 0000\nTomas,n/a\nInes,-\nOlu,—\nMara,0161 496 0001\nJon,none\n"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How many members have a phone?", "2"),
        ("How many rows have a phone?", "2"),
        ("How many rows have no phone?", "4"),
        ("How many members are missing a phone?", "4"),
    ],
)
def test_a_cell_that_writes_no_value_is_not_filled(question: str, expected: str) -> None:
    assert _first_line(MEMBERS, question) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("member,phone\nPriya,0161 496 0000\nTomas,0161 496 0002\nInes,0161 496 0003\n", "3"),
        ("member,phone\nPriya,n/a\nTomas,-\n", "0"),
    ],
)
def test_rows_with_a_cell_are_counted_without_the_header(text: str, expected: str) -> None:
    assert _first_line(text, "How many rows have a phone?") == expected


PAYMENTS = "paid_on,amount\n2023-07-14,40\n2023-05-02,15\n2023-09-30,22\n"
STAFF = "name,joined\nPriya,2022-06-01\nTomas,2021-01-15\nInes,2023-02-20\n"


@pytest.mark.parametrize(
    ("text", "question", "expected"),
    [
        (PAYMENTS, "What is the earliest date?", "2023-05-02"),
        (PAYMENTS, "What was the latest date in the table?", "2023-09-30"),
        (STAFF, "Who joined first?", "Tomas"),
        (STAFF, "Who joined most recently?", "Ines"),
    ],
)
def test_a_date_column_answers_its_earliest_and_latest(text: str, question: str, expected: str) -> None:
    assert _first_line(text, question) == expected


def test_the_most_points_of_a_league_table_read_its_pts_column() -> None:
    assert _first_line(STANDINGS, "Which club has the most points?") == "Harbour FC"
    assert _first_line(STANDINGS, "Which club has the fewest points?") == "North End"
