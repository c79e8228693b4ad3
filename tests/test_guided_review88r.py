"""Review 88r of this session's own guided rules: each rule stays right on its own input and steps aside where it
cannot be sure. A count of numbered parts with a condition of its own, or of sections over a list under numbered
headings; a dash that opens a list item read as a minus; a labelled amount of another group of the line; a title
read as a table's header; a table's row and column counted as rows; an INI value continued on indented lines;
and a "non-X" key excluded by its own qualifier. Each answer is exact, quoted or absent: never another's value."""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line
from rlmx.lm.guided_cells import aligned_table

# a count of numbered parts: a condition of its own is no count of the whole run

_STEPS = (
    "Making tea\n\n1. Boil the kettle.\n2. Warm the pot with hot water.\n3. Add two spoons of leaves.\n"
    "4. Pour the water from the kettle.\n5. Wait four minutes.\n6. Serve.\n"
)


@pytest.mark.parametrize(
    "question",
    [
        "How many numbered steps mention the kettle?",
        "How many numbered steps contain the word water?",
        "How many numbered steps take longer than a minute?",
        "How many numbered items are about the pot?",
    ],
)
def test_a_count_of_numbered_parts_with_a_condition_is_no_count_of_them_all(question: str) -> None:
    assert first_line(ask(_STEPS, question, reply="6")) != "6"


@pytest.mark.parametrize(
    "question",
    [
        "How many numbered steps are there?",
        "How many numbered steps does the recipe have?",
        "How many steps are numbered?",
    ],
)
def test_the_whole_numbered_run_is_still_counted(question: str) -> None:
    assert first_line(ask(_STEPS, question)) == "6"


# headings numbered with a word are the parts that word names; a list under one is none of them

_HANDBOOK = (
    "Staff handbook\n\nChapter 1: Welcome\nWe are glad you are here.\n\nChapter 2: Your first day\n"
    "1. Collect your badge.\n2. Meet your team.\n\nChapter 3: Leave\nBook leave a month ahead.\n\n"
    "Chapter 4: Pay\nPay day is the last Friday.\n\nChapter 5: Leaving\nGive four weeks' notice.\n"
)


@pytest.mark.parametrize(
    "question", ["How many numbered chapters are there?", "How many numbered chapters does the handbook have?"]
)
def test_headings_numbered_with_their_word_are_counted_not_the_list_under_one(question: str) -> None:
    assert first_line(ask(_HANDBOOK, question, reply="2")) == "5"


def test_a_list_under_headings_of_another_word_is_no_count_of_sections() -> None:
    answer = first_line(ask(_HANDBOOK, "How many numbered sections are there?", reply="2"))
    assert answer != "2" and not answer[:1].isdigit()


def test_a_list_under_word_headings_still_counts_as_steps() -> None:
    assert first_line(ask(_HANDBOOK, "How many numbered steps are there?")) == "2"


# a dash that opens a line is a list's mark, not a minus sign


@pytest.mark.parametrize(
    ("question", "reply", "want"),
    [
        ("How many eggs are needed?", "3", "3"),
        ("How many eggs are needed?", "-3", "3"),
        ("How much milk is needed?", "50 ml", "50 ml"),
    ],
)
def test_a_dash_bullet_before_a_quantity_is_no_minus(question: str, reply: str, want: str) -> None:
    omelette = "Omelette\nIngredients:\n-3 eggs\n-50 ml milk\n-10 g butter\n"
    assert first_line(ask(omelette, question, reply=reply)) == want


@pytest.mark.parametrize("reply", ["14:15", "-14:15"])
def test_a_dash_before_a_clock_time_is_no_minus(reply: str) -> None:
    day = "Open day\n-10:00 Welcome talk\n-11:30 Campus tour\n-14:15 Lab visit\n"
    assert first_line(ask(day, "What time is the lab visit?", reply=reply)) == "14:15"


def test_a_temperature_or_a_minus_inside_a_line_keeps_its_sign() -> None:
    nights = "Night lows\n-4°C on Friday\n-7°C on Saturday\n"
    assert first_line(ask(nights, "What was the low on Saturday?", reply="7°C")) == "-7°C"
    assert first_line(ask("Readings\nTank A: -12 kPa\nTank B: 8 kPa\n", "What is tank A's reading?", "12 kPa")) == (
        "-12 kPa"
    )


# a label's amount belongs to the group named last before it

_FARES = "Ticket prices\nFerry: Adult £2, Child £1, Train: Adult £3\n"


@pytest.mark.parametrize("reply", ["£3", "£1", "£2"])
def test_a_label_of_another_group_is_no_amount_of_the_group_asked(reply: str) -> None:
    answer = first_line(ask(_FARES, "What does the train cost for a child?", reply=reply))
    assert answer not in ("£1", "£2", "£3")


@pytest.mark.parametrize(
    ("question", "reply", "want"),
    [
        ("What does the ferry cost for a child?", "£2", "£1"),
        ("What does the ferry cost for a child?", "£3", "£1"),
        ("What does the train cost for an adult?", "£2", "£3"),
        ("What does the ferry cost for an adult?", "£2", "£2"),
    ],
)
def test_the_group_asked_gives_its_own_label_s_amount(question: str, reply: str, want: str) -> None:
    assert first_line(ask(_FARES, question, reply=reply)) == want


# a title over lines of scores is no header; each side's score is read on its line

_SCORES = "Autumn Hockey Cup Results\nRavens 4 Falcons 2\nOtters 1 Herons 3\nBadgers 2 Stags 2\n"


def test_a_title_over_score_lines_is_no_table_header() -> None:
    assert aligned_table(_SCORES.strip().split("\n")) is None
    assert aligned_table(["Name Age City Score", "Ann 34 York 12", "Bob 41 Leeds 9"]) is not None


@pytest.mark.parametrize(
    ("question", "want"), [("How many goals did Herons score?", "3"), ("How many goals did Otters score?", "1")]
)
def test_a_side_s_score_is_the_number_beside_it(question: str, want: str) -> None:
    assert first_line(ask(_SCORES, question, reply="1")) == want


def test_a_side_that_plays_twice_gets_no_one_score() -> None:
    twice = _SCORES + "Herons 0 Ravens 5\n"
    assert first_line(ask(twice, "How many goals did Herons score?", reply="3")) not in ("3", "0")


# a table's row and column named: its cell, never a count of its rows

_STANDINGS = (
    "Club            Games won   Games lost   Points\n"
    "North Rangers   9           2            27\n"
    "Bay City        6           5            18\n"
    "Hilltop         3           8            9\n"
    "Lakeside        1           10           3\n"
)


@pytest.mark.parametrize(
    ("question", "want"),
    [
        ("How many games lost did Bay City have?", "5"),
        ("How many points does Hilltop have?", "9"),
        ("How many points did North Rangers get?", "27"),
    ],
)
def test_a_gutter_table_s_cell_answers_a_row_and_column(question: str, want: str) -> None:
    assert first_line(ask(_STANDINGS, question, reply="4")) == want


def test_a_pipe_table_s_cell_answers_the_same() -> None:
    piped = "| Club | Games won | Points |\n|---|---|---|\n| Bay City | 6 | 18 |\n| Hilltop | 3 | 9 |\n"
    assert first_line(ask(piped, "How many points does Hilltop have?", reply="2")) == "9"


def test_a_row_s_cell_read_by_code_only_under_the_one_column_its_noun_names() -> None:
    # "games" names both 'Games won' and 'Games lost': no cell is read by code, nor are the rows counted
    assert first_line(ask(_STANDINGS, "How many games did Lakeside have?", reply="NOT FOUND")) != "4"


# an INI key whose value goes on on the indented lines below it

_CFG = (
    "[metadata]\nname = mapkit\nversion = 0.3.1\n\n[options]\npython_requires = >=3.10\n"
    "install_requires =\n    numpy>=1.24\n    shapely\nzip_safe = false\ninclude_package_data = true\n"
)


def test_a_key_continued_on_indented_lines_has_them_as_its_value() -> None:
    answer = first_line(ask(_CFG, "What is install_requires set to?"))
    assert "numpy>=1.24" in answer and "shapely" in answer and "empty" not in answer


def test_a_key_with_nothing_below_it_is_still_said_empty() -> None:
    empty = _CFG.replace("install_requires =\n    numpy>=1.24\n    shapely\n", "install_requires =\n")
    assert first_line(ask(empty, "What is install_requires set to?")) == "empty (no value after the key)"


# a key that writes the whole "non-X" is the one a "non-X" question asks

_TIMEOUTS = (
    "# Worker settings\nBLOCKING_WAIT=120\nNON_BLOCKING_WAIT=5\nMAX_WORKERS=8\nLOG_LEVEL=warn\nLOG_DIR=/var/log/w\n"
)


@pytest.mark.parametrize(
    ("question", "want"),
    [
        ("How many seconds is the non-blocking wait?", "5"),
        ("What is the non-blocking wait?", "5"),
        ("How many seconds is the blocking wait?", "120"),
    ],
)
def test_a_key_that_writes_the_whole_non_qualifier_is_the_one_asked(question: str, want: str) -> None:
    assert first_line(ask(_TIMEOUTS, question)) == want


def test_a_non_qualifier_no_key_writes_names_none() -> None:
    other = _TIMEOUTS.replace("NON_BLOCKING_WAIT", "QUEUE_WAIT")
    assert first_line(ask(other, "How many seconds is the non-blocking wait?")) != "120"


@pytest.mark.parametrize(("marks", "want"), [(("One", "Two", "Three"), "3"), (("I", "II", "III"), "3")])
def test_headings_numbered_in_words_or_roman_numerals_are_counted(marks: tuple[str, str, str], want: str) -> None:
    rules = (
        "Club rules\n\nPart {}: General\n1. Members must sign in.\n2. Guests pay a fee.\n\n"
        "Part {}: Pool\nNo diving.\n\nPart {}: Gym\nWear trainers.\n"
    ).format(*marks)
    assert first_line(ask(rules, "How many numbered parts does the document have?", reply="2")) == want


def test_a_value_continued_with_commas_is_listed_once_each() -> None:
    flake8 = (
        "[flake8]\nmax-line-length = 100\nexclude =\n    .git,\n    build,\n    dist\nselect = E,W\ncount = true\n"
        "show-source = true\n"
    )
    assert first_line(ask(flake8, "What is exclude set to?")) == ".git, build, dist"
