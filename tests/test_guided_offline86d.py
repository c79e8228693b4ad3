"""Round 86d (audit 86b, newcomer audit 86): the offline default's guided root on small files a newcomer writes.

Each block of tests holds one kind of fault: rows lined up by blanks with no header (F1), `git log` output (F2),
a question for a reference number (F3), a forecast's day lines (F4), a statement's balance rows (F5), a column's
measure said in one word (newcomer v02) and a Markdown task list (newcomer v03)."""

from __future__ import annotations

from guided_stub import ask, first_line
from rlmx.lm.guided_cells import build_index, guided_answer, split_units

# F1: rows lined up by blanks, 2 or 3 cells each, under a title line: each row is a unit of its own.
VOTES = """Riverside Rowing Club - captain ballot

Men's captain (1 place)
  Tomasz Nowak        57   SELECTED
  Graham Pell         22

Women's crew places (2 places)
  Aisha Bello         61   SELECTED
  Freya Lund          48   SELECTED
  Priya Shah          30
  Olga Kim            12

Votes counted by the secretary on 4 May.
"""


def test_rows_lined_up_by_blanks_under_a_title_are_a_unit_each() -> None:
    units, _ = split_units([("ballot.txt", VOTES)])
    texts = [u["text"] for u in units]
    assert "Priya Shah 30" in texts
    assert "Freya Lund 48 SELECTED" in texts
    shah = next(u for u in units if u["text"] == "Priya Shah 30")
    assert shah["name"] == "Women's crew places (2 places)"


def test_a_status_of_another_row_answers_no_yes_no_question() -> None:
    for name in ("Priya Shah", "Olga Kim", "Graham Pell"):
        assert first_line(ask(VOTES, f"Was {name} selected?", reply="Yes")) != "Yes"
    assert first_line(ask(VOTES, "Was Aisha Bello selected?", reply="Yes")) == "Yes"


def test_a_row_without_the_mark_its_sibling_rows_write_answers_no() -> None:
    answer = ask(VOTES, "Was Priya Shah selected?")
    assert first_line(answer) == "No"
    assert "Priya Shah 30" in answer and "Aisha Bello" in answer  # the row, and the rows that are marked
    assert first_line(ask(VOTES, "Was Graham Pell selected?")) == "No"
    assert first_line(ask(VOTES, "Was Freya Lund selected?")) == "Yes"
    # a row of another title's rows decides nothing for a name the rows do not hold
    assert first_line(ask(VOTES, "Was the secretary selected?")) not in ("Yes", "No")


def test_lines_of_prose_with_two_blanks_stay_one_paragraph() -> None:
    prose = "Notes\n\nWe met at noon.  Ana chaired it.\nBo took minutes.  It ran late.\n"
    units, _ = split_units([("notes.txt", prose)])
    assert any("Ana chaired it" in u["text"] and "Bo took minutes" in u["text"] for u in units)


# F2: `git log` output: a commit's message belongs to its own commit, never titles the next one.
GIT_LOG = """commit a1b2c3d4e5f6
Author: Lena Ortiz <lena@example.org>
Date:   Wed May 1 10:00:00 2024 +0200

    Speed up the search index

commit 0f9e8d7c6b5a
Author: Ravi Menon <ravi@example.org>
Date:   Tue Apr 30 09:00:00 2024 +0200

    Add dark mode

    The theme follows the system setting. Fixes #77.

commit 112233445566
Author: Lena Ortiz <lena@example.org>
Date:   Mon Apr 29 08:00:00 2024 +0200

    Drop Python 3.8 support
"""


def test_a_commit_and_its_message_are_one_unit() -> None:
    units, _ = split_units([("log.txt", GIT_LOG)])
    dark = next(u for u in units if "Add dark mode" in u["text"])
    assert "0f9e8d7c6b5a" in dark["text"] and "Ravi Menon" in dark["text"]
    assert "112233445566" not in dark["text"] and "Lena" not in dark["text"]
    assert dark["line"] == 7
    assert not any(u["text"].strip() == "Add dark mode" for u in units)  # the subject titles nothing


def test_a_commits_hash_and_author_are_read_from_its_own_header() -> None:
    assert first_line(ask(GIT_LOG, "Which commit adds dark mode?", reply="0f9e8d7c6b5a")) == "0f9e8d7c6b5a"
    assert first_line(ask(GIT_LOG, "Which commit adds dark mode?", reply="112233445566")) != "112233445566"
    assert first_line(ask(GIT_LOG, "Who wrote the dark mode commit?", reply="Ravi Menon")) == "Ravi Menon"
    assert first_line(ask(GIT_LOG, "Who wrote the dark mode commit?", reply="Lena Ortiz")) != "Lena Ortiz"


# F3: a question for a numbered thing (an issue, a ticket, a PR) wants a reference with a digit, not a word.
def test_a_word_is_no_answer_to_which_issue() -> None:
    answer = ask(GIT_LOG, "Which issue does the dark mode commit fix?", reply="setting")
    assert first_line(answer) != "setting"
    ticket = "Support log\n\nThe printer jam was logged as ticket HD-4471 by the front desk.\n"
    assert first_line(ask(ticket, "Which ticket was the printer jam logged as?", reply="desk")) != "desk"
    assert first_line(ask(ticket, "Which ticket was the printer jam logged as?", reply="HD-4471")) == "HD-4471"


# F4: a forecast's day lines: a value is read from the asked day's own line.
FORECAST = """Week-ahead outlook for Ambleside (issued Sunday evening)

Mon: Bright and breezy all day. High 15°C, low 9°C. Wind NE 5 mph. Chance of rain 10%.
Tue: Persistent rain, heavy at times. High 11°C, low 8°C. Wind S 20 mph. Chance of rain 95%.
Wed: Fog at first, then sunny spells. High 13°C, low 2°C. Wind W 8 mph. Chance of rain 20%.
Thu: Gales on the fells, squally showers. High 10°C, low 6°C. Wind NW 45 mph. Chance of rain 60%.
Fri: Clear and cold after a frosty start. High 16°C, low 1°C. Wind N 3 mph. Chance of rain 5%.
Sat: Cloud thickening later in the day. High 12°C, low 7°C. Wind SE 12 mph. Chance of rain 30%.

A flood alert covers the lake shore on Tuesday. Sunrise 06:58, sunset 18:02 on Monday.
"""


def test_day_lines_are_a_unit_each() -> None:
    units, _ = split_units([("outlook.txt", FORECAST)])
    wednesday = next(u for u in units if u["text"].startswith("Wed:"))
    assert "Tue:" not in wednesday["text"] and "Thu:" not in wednesday["text"]


def test_the_value_of_the_day_before_is_no_answer() -> None:
    assert first_line(ask(FORECAST, "What is the low on Wednesday?", reply="8°C")) != "8°C"
    assert first_line(ask(FORECAST, "What is the low on Wednesday?", reply="2°C")) == "2°C"


# F5: a statement's opening and closing balance rows are no transactions.
STATEMENT = """Date,Details,Paid out,Paid in,Balance
01/06/2024,Balance brought forward,,,500.00
03/06/2024,CORNER SHOP,12.40,,487.60
05/06/2024,WAGES,,900.00,1387.60
09/06/2024,WATER BILL,31.00,,1356.60
30/06/2024,Closing balance,,,1356.60
"""


def test_balance_rows_are_not_counted_as_items() -> None:
    answer = ask(STATEMENT, "How many transactions are there?", name="june.csv")
    assert first_line(answer) == "3"
    assert "balance" in answer.split("\n")[1]


# newcomer v02: a superlative or an aggregate said in one word maps to the column it measures.
PETS = "name,age,weight\nRex,7,30.5\nMilo,2,4.2\nLuna,11,12.0\nPip,5,0.3\n"


def test_a_row_asked_by_a_measure_adjective() -> None:
    assert first_line(ask(PETS, "Who is the oldest pet?", name="pets.csv")) == "Luna"
    assert first_line(ask(PETS, "Which pet is the youngest?", name="pets.csv")) == "Milo"
    assert first_line(ask(PETS, "Which pet is the heaviest?", name="pets.csv")) == "Rex"


def test_a_columns_maximum_minimum_and_mean() -> None:
    assert first_line(ask(PETS, "What is the maximum age?", name="pets.csv")) == "11"
    assert first_line(ask(PETS, "What is the minimum weight?", name="pets.csv")) == "0.3"
    assert first_line(ask(PETS, "What is the average age?", name="pets.csv")) == "6.25"


def test_a_measure_of_another_column_is_no_answer() -> None:
    # the ages are the pets', not the names'; "oldest name" is no question this table answers by code
    state = build_index([("pets.csv", PETS)])
    answer = guided_answer(state, "What is the oldest weight?", lambda prompts: ["NOT FOUND"] * len(prompts))
    assert first_line(str(answer["answer"])) not in ("Luna", "12.0")


# newcomer v03: a Markdown task list's checked and unchecked items.
TODO = "# Weekend\n\n- [x] wash the car\n- [ ] book dentist\n- [X] water plants\n- [x] return library books\n"


def test_checked_items_are_counted_and_listed() -> None:
    assert first_line(ask(TODO, "How many tasks are done?")) == "3"
    assert first_line(ask(TODO, "How many tasks are completed?")) == "3"
    assert first_line(ask(TODO, "Which tasks are done?")) == "wash the car, water plants, return library books"
    assert first_line(ask(TODO, "How many tasks are still to do?")) == "1"
    assert first_line(ask(TODO, "Which items are not done yet?")) == "book dentist"
    assert first_line(ask(TODO, "How many tasks are there?")) == "4"


# F7: a yes/no question settled by a short bullet item of an advert: "No pets, sorry", "Unfurnished".
ADVERT = """Studio to let above the bakery, Mill Lane

£720 a month, bills extra. Available from March. Viewings by appointment with the owner, weekday evenings.

- Unfurnished
- No smokers
- Garden shared with the ground floor
- Part of a listed building
"""


def test_a_bullet_item_settles_a_yes_no_question() -> None:
    assert first_line(ask(ADVERT, "Is the studio furnished?")) == "No"
    assert first_line(ask(ADVERT, "Is the studio unfurnished?")) == "Yes"
    answer = ask(ADVERT, "Are smokers allowed?")
    assert first_line(answer) == "No" and "No smokers" in answer


def test_a_heading_or_another_noun_settles_nothing() -> None:
    assert first_line(ask(ADVERT, "Are dogs allowed?")) not in ("Yes", "No")
    titled = "Flat notes\n\nFurnished\n\nThe landlord took the furniture away in May; the rooms are now empty.\n"
    assert first_line(ask(titled, "Is the flat furnished?")) != "Yes"


# F8: the warmest, coldest, windiest day of a forecast's day lines, and its value.
def test_the_warmest_and_coldest_day_of_the_day_lines() -> None:
    warmest = ask(FORECAST, "Which day will be the warmest?")
    assert first_line(warmest) == "Fri" and "line 7" in warmest
    assert first_line(ask(FORECAST, "What is the highest temperature of the week?")) == "16°C"
    assert first_line(ask(FORECAST, "What is the lowest temperature?")) == "1°C"
    assert first_line(ask(FORECAST, "Which day is the windiest?")) == "Thu"
    assert first_line(ask(FORECAST, "Which day will be the wettest?")) == "Tue"


def test_a_tie_names_no_day() -> None:
    tied = FORECAST.replace("High 16°C", "High 15°C")  # Mon and Fri both 15°C
    assert first_line(ask(tied, "Which day will be the warmest?")) not in ("Mon", "Fri")
