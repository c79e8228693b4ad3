"""Review 87b of the guided root: tables, columns, days and dates (audit 87 v11, v12, v13, v14, v16).

Numbers below zero, round 87 (an adversarial review's forecasts).

A forecast's day extremes read 'High -4°C' with a gap of up to three non-word characters between the label and the
number, and the gap took the minus sign: -1, 3 and -4 °C were read as 1, 3 and 4, so the coldest day was named the
warmest and a low of -2°C was given as 2°C. Now every temperature is read with its sign (a hyphen, the Unicode
minus, 'minus'), and a list of costs that holds a credit ('-£20') no longer reads it as a cost of £20.

Rows that sum up the others, round 87 (an adversarial review's tables).

The greatest value of a named column ('What is the maximum age?') and the grouped superlatives ('Which player
scored the most goals?') ranked every row, so a 'Total' row, a 'Team total' row or a text list's 'Total: £650'
line was the greatest item. The sums and counts set such rows aside already; now every ranking does too, and an
average, mean or median row, or a balance row, is set aside with them (the first cell of the row says so: a
rating column's 'average' is a value, not a summary).

A reply's date against the unit's, round 87 (an adversarial review's diary).

The reader's reply is cut to the words the unit holds, and a month alone is grown to the unit's whole date around
it. So the reply "Mon 3 June", read against a diary line "Wed 5 June: Dentist follow-up", kept "June" and grew it to
"5 June": a date the reader never said, given with confidence. Now a month, day or year that the reply writes inside
a date of its own grows only into a date that holds all of that date's numbers.

'Most often' over rows that give how many times, round 87 (an adversarial review's bookings log).

"Which room was booked most often?" counted the rows per room, each row one booking, though a `bookings` column
gave each day's number: room B's three rows (0, 0 and 1 bookings) beat room A's two (3 and 2). Now a number column
the question's verb names is summed per value, and a `count` or `times` column no verb names makes the rows no
count at all (no answer from code).

Table questions asked by a verb, round 87 (an adversarial review's league tables and sales sheet).

"Which team won the most?" and "Who sold the least?" name no noun after the verb, and a verb of an amount ('won',
'sold') counts no rows, so no rule took them and the answer was NOT FOUND even with the reader's right reply. Now
the verb's number column ranks the rows when each row is one thing. And a whitespace-aligned table whose header
puts one blank between two names ('Pos Team') was no table at all; now it is read word by word when every line
below has as many words.
"""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line

# --- Numbers below zero, round 87 (an adversarial review's forecasts).
FROST = "Mon: Cloudy. High -1°C, low -6°C\nTue: Sunny. High 3°C, low -2°C\nWed: Snow. High −4 °C, low −9°C\n"
MILD = "Fri: High 21°C, low -2°C\nSat: High 18°C, low 4°C\nSun: High 25°C, low 3°C\n"


@pytest.mark.parametrize(
    ("text", "question", "answer"),
    [
        (FROST, "Which day will be the warmest?", "Tue"),
        (FROST, "Which day will be the coldest?", "Wed"),
        (FROST, "What is the highest temperature of the week?", "3°C"),
        (FROST, "What is the lowest temperature of the week?", "−9°C"),
        (MILD, "What is the lowest temperature of the week?", "-2°C"),
        (MILD, "What is the highest temperature of the week?", "25°C"),
    ],
)
def test_a_temperature_below_zero_keeps_its_sign(text: str, question: str, answer: str) -> None:
    assert first_line(ask(text, question, "NOT FOUND")) == answer


def test_a_credit_in_a_list_of_costs_is_no_cheapest_cost() -> None:
    costs = "Car costs\n2024-01-10: Service £390\n2024-03-02: Refund -£20\n2024-05-05: Tyres £240\n"
    assert "£20" not in first_line(ask(costs, "What was the cheapest visit?", "NOT FOUND"))


# --- Rows that sum up the others, round 87 (an adversarial review's tables).
AGES = "name,age\nAna,34\nBo,41\nCy,29\nTotal,104\n"
PRICES = "item,price\nTea,2.50\nCake,3.20\nSoup,4.10\nTotal,9.80\n"
GOALS = "player,goals\nAna,3\nBo,5\nCy,2\nTeam total,10\n"
SCORES = "| Name | Score |\n|---|---|\n| Ana | 34 |\n| Bo | 41 |\n| Average | 37.5 |\n| Total | 75 |\n"
COSTS = "Car costs\n2024-01-10: Service £390\n2024-03-02: Wipers £20\n2024-05-05: Tyres £240\nTotal: £650\n"
GRADING = "Grading\nCoursework: 30%\nExam: 60%\nQuiz: 10%\nTotal: 100%\n"


@pytest.mark.parametrize(
    ("text", "question", "answer"),
    [
        (AGES, "What is the maximum age?", "41"),
        (PRICES, "What is the highest price?", "4.10"),
        (GOALS, "What is the maximum goals?", "5"),
        (GOALS, "Which player scored the most goals?", "Bo"),
        (SCORES, "What is the highest score?", "41"),
        (COSTS, "What was the most expensive visit?", "2024-01-10 (£390)"),
        (GRADING, "Which part of the grade is the largest?", "Exam (60%)"),
    ],
)
def test_a_total_or_average_row_is_no_item_of_a_ranking(text: str, question: str, answer: str) -> None:
    assert first_line(ask(text, question, "NOT FOUND")) == answer


def test_a_rating_of_average_is_a_value_not_a_summary_row() -> None:
    ratings = "name,age,rating\nAna,34,good\nBo,41,average\nCy,29,poor\n"
    assert first_line(ask(ratings, "What is the maximum age?", "NOT FOUND")) == "41"


# --- A reply's date against the unit's, round 87 (an adversarial review's diary).
DIARY = (
    "Mon 3 June: Dentist at 9:30. Gym at 18:00.\n"
    "Tue 4 June: Team lunch at 12:30.\n"
    "Wed 5 June: Dentist follow-up at 14:00.\n"
    "Thu 6 June: Day off.\n"
)
TRIPS = "We fly out on 2 August 2024 and stay with Ana.\nThe flat is booked from 9 August 2024 for a week.\n"


@pytest.mark.parametrize(
    ("text", "question", "reply"),
    [
        (DIARY, "When is the dentist?", "Mon 3 June"),
        (DIARY, "When is the dentist?", "June 3"),
        (TRIPS, "When is the flat booked from?", "2 August 2024"),
        (TRIPS, "When is the flat booked from?", "9 August 2023"),
    ],
)
def test_a_month_of_another_date_is_no_leave_to_give_the_units_date(text: str, question: str, reply: str) -> None:
    answer = first_line(ask(text, question, reply))
    assert answer not in ("5 June", "Wed 5 June", "9 August 2024")


@pytest.mark.parametrize(
    ("text", "question", "reply", "answer"),
    [
        (DIARY, "When is the team lunch?", "Tue 4 June", "Tue 4 June"),
        (TRIPS, "When is the flat booked from?", "9 August", "9 August 2024"),
    ],
)
def test_the_same_date_is_still_given_whole(text: str, question: str, reply: str, answer: str) -> None:
    assert first_line(ask(text, question, reply)) == answer


# --- 'Most often' over rows that give how many times, round 87 (an adversarial review's bookings log).
BOOKINGS = "date,room,bookings\nMon,A,3\nTue,B,0\nWed,B,0\nThu,A,2\nFri,B,1\n"
COUNTED = "date,room,count\nMon,A,3\nTue,B,0\nWed,B,0\nThu,A,2\nFri,B,1\n"
CARS = "date,car,km\nMon,Golf,30\nTue,Polo,200\nWed,Golf,10\n"


@pytest.mark.parametrize(
    ("text", "question", "answer"),
    [
        (BOOKINGS, "Which room was booked most often?", "A"),
        (BOOKINGS, "Which room was booked least often?", "B"),
        (CARS, "Which car was used most often?", "Golf"),  # no column of uses: each row is one use
    ],
)
def test_a_column_of_the_verb_counts_the_times(text: str, question: str, answer: str) -> None:
    assert first_line(ask(text, question, "NOT FOUND")) == answer


def test_a_count_column_no_verb_names_leaves_no_row_count() -> None:
    assert first_line(ask(COUNTED, "Which room was booked most often?", "NOT FOUND")) != "B"


# --- Table questions asked by a verb, round 87 (an adversarial review's league tables and sales sheet).
LEAGUE = "Team,P,W,D,L,GF,GA,Pts\nRovers,10,7,2,1,20,8,23\nCity,10,6,1,3,18,12,19\nUnited,10,2,3,5,9,15,9\n"
ALIGNED = (
    "Pos Team      P  W  D  L  Pts\n"
    "1   Rovers   10  7  2  1  23\n"
    "2   City     10  6  1  3  19\n"
    "3   United   10  2  3  5   9\n"
    "4   Athletic 10  1  2  7   5\n"
)
SALES = "Employee,Sold,Returned\nAna,40,5\nBo,35,9\nCy,50,2\n"


@pytest.mark.parametrize(
    ("text", "question", "answer"),
    [
        (LEAGUE, "Which team won the most?", "Rovers"),
        (LEAGUE, "Which team lost the most?", "United"),
        (SALES, "Who sold the least?", "Bo"),
        (SALES, "Who sold the most?", "Cy"),
        (ALIGNED, "Which team lost the most games?", "Athletic"),
        (ALIGNED, "Which team is in 3rd place?", "United"),
    ],
)
def test_a_verb_of_an_amount_ranks_its_column(text: str, question: str, answer: str) -> None:
    assert first_line(ask(text, question, answer)) == answer


def test_names_over_several_rows_leave_the_sum_to_the_reader() -> None:
    goals = "player,match,goals\nAna,1,2\nBo,1,3\nAna,2,2\n"
    assert first_line(ask(goals, "Who scored the most?", "NOT FOUND")) != "Bo"


def test_cells_parted_by_a_mark_are_no_word_by_word_table() -> None:
    # 'Name | Age | City' over 'Zed | 77 | Oslo': read word by word, '|' became a column of its own and every row
    # of a Word or plain-text pipe table turned into 'Name: Zed; |: |; Age: 77' (CI of round 87)
    from rlmx.lm.guided_cells import aligned_table

    assert aligned_table(["Name | Age | City", "Zed | 77 | Oslo", "Amy | 31 | Lima"]) is None
    read = aligned_table(["Pos Team    P  W  L", "1   Rovers  3  3  0", "2   Albion  3  1  2"])
    assert read is not None and read[0] == ["Pos", "Team", "P", "W", "L"]
