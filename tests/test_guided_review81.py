"""Review 81: a rule that answers by code answers only a question it read whole. A negation, a comparison, a second
condition, a scope or a relation it does not model makes it step aside (the reader, quoted passages or NOT FOUND),
and a table guess checks what its row and column mean; an answer grows no further than its value. Every text is
made up; the reader is a stub."""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line
from rlmx.lm.guided_cells import build_index, count_answer, unmodelled


def hedged(answer: str) -> bool:
    return first_line(answer).startswith(("NOT FOUND", "No short answer"))


# --- a record file: counts, lists and cells -------------------------------------------------------------------------

BIRDS = """bird,habitat,wings,weight_g,eggs
robin,garden,2,80,4
wren,garden,2,10,6
heron,river,2,1500,4
kingfisher,river,2,40,7
sparrow,garden,2,30,5
dipper,river,2,60,5
"""


@pytest.mark.parametrize(
    "question",
    [
        "How many birds are not in habitat garden?",  # a negation
        "How many birds have habitat other than river?",  # an exclusion
        "How many birds lay more than 5 eggs?",  # a comparison
        "How many birds have at least 5 eggs?",
        "How many birds in habitat river weigh 60 grams?",  # a second condition
        "How many eggs does the wren lay?",  # a cell of one row, not rows counted
        "List the birds whose habitat is not garden.",
        "How many birds have 5 or more eggs?",
    ],
)
def test_a_row_count_steps_aside_for_what_it_does_not_read(question: str) -> None:
    state = build_index([("birds.csv", BIRDS)])
    answer = count_answer(state, question)
    assert answer is None, answer
    assert first_line(ask(BIRDS, question, name="birds.csv")) not in ("3", "0", "6")


def test_a_plain_row_count_still_counts() -> None:
    state = build_index([("birds.csv", BIRDS)])
    assert first_line(count_answer(state, "How many birds have habitat river?") or "") == "3"


def test_a_negated_cell_lookup_is_no_lookup() -> None:
    answer = ask(BIRDS, "Which bird does not lay 7 eggs?", name="birds.csv")
    assert first_line(answer) != "kingfisher"


@pytest.mark.parametrize(
    ("question", "negated"),
    [
        ("Which option does not disable the bell?", True),
        ("How many files aren't owned by root?", True),
        ("How many times does the word 'not' occur?", False),  # a quoted word is a value
        ("How many birds have habitat river?", False),
        ("What is the default of no-cache?", False),  # a name with "no-" in it is no negation
    ],
)
def test_what_the_rules_do_not_model(question: str, negated: bool) -> None:
    assert unmodelled(question) is negated


# --- a table guess checks what its row and its column are ------------------------------------------------------------

PARCELS = """parcel,route,weight_kg,volume_l
p1,north,3,40
p2,south,12,9
p3,east,7,20
"""


def test_an_amount_phrase_names_the_column_that_holds_all_its_words() -> None:
    rows = "item,volume_net,gross_volume_l\nlamp,50,30\nsofa,10,900\nvase,60,4\n"  # "volume" comes first in volume_net
    answer = ask(rows, "Which item has the largest gross volume?", name="items.csv")
    assert first_line(answer) == "sofa"


def test_a_row_is_named_by_a_column_of_words_not_an_id() -> None:
    rows = "no,title,pages\n1,Atlas,300\n2,Primer,120\n3,Lexicon,950\n"
    answer = ask(rows, "Which book has the largest pages?", name="books.csv")
    assert first_line(answer) == "Lexicon"


def test_an_amount_that_is_no_plain_number_stops_the_largest_row() -> None:
    rows = "name,size\nalpha,300\nbeta,1.5G\ngamma,900\ndelta,100\nepsilon,50\n"
    answer = ask(rows, "Which tool has the largest size?", name="tools.csv")
    assert first_line(answer) != "gamma"


def test_an_amount_of_several_rows_a_group_is_no_sum_unless_the_question_says_total() -> None:
    rows = "station,day,rainfall_mm\nBergen,1,9\nBergen,2,8\nBergen,3,7\nPerth,1,20\n"
    assert first_line(ask(rows, "Which station has the highest rainfall?", name="rain.csv")) != "Bergen"
    assert first_line(ask(rows, "Which station has the highest total rainfall?", name="rain.csv")) == "Bergen"


def test_a_file_name_that_says_per_names_what_a_row_is() -> None:
    rows = "author,team,count\nann,red,1\nbo,red,2\ncy,blue,40\n"
    answer = ask(rows, "Which team has the most books?", name="books_per_author.csv")
    assert first_line(answer) != "red"


# --- a changelog's edge and its uploads -----------------------------------------------------------------------------

OLDEST_FIRST = """kettle (0.9-1) unstable; urgency=low

  * Initial release.

 -- Ilse Marr <ilse@example.org>  Sat, 02 Jan 2021 09:00:00 +0000

kettle (1.0-1) unstable; urgency=low

  * New upstream release; whistle support (Closes: #3003).
  * Upload sponsored by Otto Brand.
  * Fix boil-dry alarm, patch signed off by Pia Lund.

 -- Ilse Marr <ilse@example.org>  Sun, 05 Sep 2021 09:00:00 +0000

kettle (1.1-1) unstable; urgency=low

  * Build-depend on libsteam-dev (>= 2.0).

 -- Ilse Marr <ilse@example.org>  Mon, 07 Mar 2022 09:00:00 +0000
"""


def test_the_newest_entry_is_read_from_the_dates() -> None:
    assert first_line(ask(OLDEST_FIRST, "What is the latest version in this changelog?", name="changelog")) == "1.1-1"
    assert first_line(ask(OLDEST_FIRST, "What is the oldest version of kettle?", name="changelog")) == "0.9-1"


@pytest.mark.parametrize(
    "question",
    ["What was the first version to support the whistle?", "What is the latest version of libsteam required?"],
)
def test_a_qualified_edge_question_is_no_edge_of_the_file(question: str) -> None:
    state = build_index([("changelog", OLDEST_FIRST)])
    assert count_answer(state, question) is None


@pytest.mark.parametrize(
    ("question", "name"),
    [
        ("Who sponsored the upload of 1.0-1?", "Otto Brand"),
        ("Who signed off the patch for the boil-dry alarm?", "Pia Lund"),
    ],
)
def test_another_relation_than_the_upload_is_read_by_the_reader(question: str, name: str) -> None:
    answer = ask(OLDEST_FIRST, question, name, name="changelog")
    assert first_line(answer) == name


# --- Python counts, option entries ----------------------------------------------------------------------------------

SOURCE = """import math


class Pot:
    def fill(self):
        pass

    def pour(self):
        pass


class Teapot(Pot):
    def brew(self):
        pass


def boil():
    pass
"""


@pytest.mark.parametrize(
    "question",
    [
        "How many functions are defined in the class Pot?",
        "How many classes are defined in this module that inherit from Pot?",
        "How many functions are there, counting methods?",
    ],
)
def test_a_qualified_python_count_steps_aside(question: str) -> None:
    assert count_answer(build_index([("pot.py", SOURCE)]), question) is None


def test_a_plain_python_count_still_counts() -> None:
    assert first_line(count_answer(build_index([("pot.py", SOURCE)]), "How many classes are defined?") or "") == "2"


MANUAL = """OPTIONS
     -b      Enable the bell.

     -B      Disable the bell.

     -q      Quiet mode.
"""


def test_which_option_does_not_do_something_is_no_entry() -> None:
    assert first_line(ask(MANUAL, "Which option does not disable the bell?")) != "-B"


# --- an answer no longer than its value -----------------------------------------------------------------------------


def test_an_email_question_is_not_answered_by_a_url() -> None:
    text = (
        "KETTLE\n\nKettle boils the water in the named pots.\n\nREPORTING BUGS\n\nReport bugs to: "
        "bug-kettle@example.org\nkettle home page: https://www.example.org/kettle/\nGeneral help using the "
        "software: https://www.example.org/help/\n\nSECURITY\n\nSecurity issues are handled privately by the "
        "maintainers and are never discussed on the public lists.\n"
    )
    question = "What email address should security issues be reported to?"
    answer = ask(text, question, "https://www.example.org/kettle/")
    assert "https://" not in first_line(answer)


def test_titles_after_a_name_are_no_joined_names() -> None:
    text = "The audit was written by Ola Berg, Lead Auditor and Head of Finance at Fjord Ltd.\n"
    assert first_line(ask(text, "Who wrote the audit?", "Ola Berg")) == "Ola Berg"


def test_one_labelled_member_of_a_pair_is_not_grown_to_the_pair() -> None:
    text = "The paddings (left, right) default to (4, 16) pixels.\n"
    assert "(4, 16)" not in first_line(ask(text, "What is the default right padding in pixels?", "16"))


# --- more of the same kinds -----------------------------------------------------------------------------------------

DEPENDS = """package,section,depends
curl,web,"libc6,libssl3,zlib1g"
wget,web,"libc6,libssl3"
apt,admin,"libc6,curl"
git,vcs,"libc6,curl,zlib1g"
"""


@pytest.mark.parametrize(
    "question",
    [
        "How many packages is curl depending on?",  # curl's own cell: the relation runs the other way
        "How many packages are depended on by curl?",
        "How many depends has curl?",  # a column's cell of one row, not rows counted
        "How many packages have 2 or more depends?",  # a comparison
    ],
)
def test_a_row_count_steps_aside_for_a_row_s_own_cell_or_a_comparison(question: str) -> None:
    assert count_answer(build_index([("deps.csv", DEPENDS)]), question) is None


def test_the_rows_that_name_a_value_are_still_counted() -> None:
    state = build_index([("deps.csv", DEPENDS)])
    assert first_line(count_answer(state, "How many packages depend on curl?") or "") == "2"


def test_a_title_between_joined_names_is_no_name() -> None:
    text = "The audit was written by Ola Berg, Lead Auditor, and Per Holm.\n"
    assert "Lead" not in first_line(ask(text, "Who wrote the audit?", "Ola Berg"))


def test_a_member_named_by_its_label_is_the_member() -> None:
    text = "The window size (width, height) defaults to (640, 480) pixels.\n"
    assert first_line(ask(text, "What is the default window height in pixels?", "480")) == "480"


def test_the_other_member_of_a_labelled_pair_is_no_answer() -> None:
    # a reader that says the width for the height must not be verified: the label says which number it is
    text = "The window size (width, height) defaults to (640, 480) pixels.\n"
    assert first_line(ask(text, "What is the default window height in pixels?", "640")) != "640"
    assert first_line(ask(text, "What is the default window width in pixels?", "640")) == "640"
