"""Round 80b: a short answer keeps the whole value the text writes. "Which bug number ..." wants a number, not the
bug's title the reader repeats (mostly the question's own words); a number the text writes only inside a pair
("(80, 24)", "80x24") is the pair; a number written with a sign after it ("0.015%", "60-70%", "21°C") keeps the
sign. Every text is made up; the reader is a stub."""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line, replying
from rlmx.lm.guided_cells import build_index, expected_type, guided_answer

# --- a number that names something --------------------------------------------------------------------------------

CHANGES = """widgetd (2.1-3) unstable; urgency=medium

  * Fix crash: "Segfault when the spool directory holds over 4096 entries", thanks to Ana Ruiz (Closes: #771204).
  * New upstream release.

 -- Ben Okafor <ben@example.org>  Mon, 02 Mar 2020 10:00:00 +0100
"""


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Which bug number was closed for the crash?", "numeral"),
        ("What port number does the daemon listen on?", "numeral"),
        ("What phone number does the office have?", "numeral"),
        ("What number is printed?", "number"),
        ("What is the number of spools?", "any"),
    ],
)
def test_a_number_that_names_is_its_own_type(question: str, kind: str) -> None:
    assert expected_type(question) == kind


def test_the_title_a_reader_repeats_is_no_bug_number() -> None:
    question = "Which bug number was closed for the segfault when the spool directory has over 4096 entries?"
    answer = ask(CHANGES, question, 'The bug "Segfault when the spool directory holds over 4096 entries" was closed')
    assert not first_line(answer).startswith("Segfault")
    assert "#771204" in answer  # the line is quoted


def test_the_bug_number_a_reader_gives_is_kept() -> None:
    question = "Which bug number was closed for the segfault when the spool directory holds over 4096 entries?"
    assert first_line(ask(CHANGES, question, "The bug number #771204 was closed")) == "#771204"


# --- a pair is one value ------------------------------------------------------------------------------------------

GEOMETRY = """The viewer opens a window. Its geometry defaults to (640, 480) unless the user saved another one.

The console falls back to a grid of 132 x 43 cells when the terminal cannot be asked.

The margin is 12 pixels on each side, and the toolbar holds 12 buttons.
"""


@pytest.mark.parametrize(
    ("question", "reply", "expected"),
    [
        ("What is the default window geometry?", "The geometry defaults to 640.", "(640, 480)"),
        ("What grid does the console fall back to?", "A grid of 132 cells.", "132 x 43"),
    ],
)
def test_a_number_written_only_in_a_pair_is_the_pair(question: str, reply: str, expected: str) -> None:
    assert first_line(ask(GEOMETRY, question, reply)) == expected


def test_a_number_written_alone_stays_alone() -> None:
    assert first_line(
        ask(GEOMETRY, "How many pixels is the margin on each side?", "The margin is 12 pixels.")
    ).startswith("12")


# --- a sign after a number is part of it --------------------------------------------------------------------------

RATES = """Compression typically shrinks log files by 80-90%, and adds at worst an overhead of 0.03% to random data.

The sensor reads 21°C at rest. The fan has 3 speeds.
"""


@pytest.mark.parametrize(
    ("question", "reply", "expected"),
    [
        ("By how much are log files typically shrunk?", "By 80-90%.", "80-90%"),
        ("What is the worst overhead on random data?", "The overhead is at worst 0.03%.", "0.03%"),
        ("What does the sensor read at rest?", "It reads 21 at rest.", "21°C"),
        ("How many speeds does the fan have?", "3", "3"),
    ],
)
def test_a_sign_after_a_number_stays(question: str, reply: str, expected: str) -> None:
    assert first_line(ask(RATES, question, reply)) == expected


# --- a table's rows listed, and grouped, by what a row is -------------------------------------------------------

TOOLS = """name,size_bytes,owner,group
awk,160000,root,root
passwd,68000,root,root
lockctl,32000,root,locks
unlockctl,31000,root,locks
sed,120000,root,root
"""


@pytest.mark.parametrize(
    "question",
    [
        "List the tools with group locks.",
        "List the rows whose group is locks.",
        "Show all the tools in group locks.",
    ],
)
def test_rows_listed_by_a_value_of_a_column(question: str) -> None:
    answer = ask(TOOLS, question, name="tools.csv")
    assert first_line(answer).startswith("2 rows whose column 4 (group) is 'locks'")
    assert "lockctl" in answer and "unlockctl" in answer and "awk" not in answer


def test_a_value_no_column_holds_lists_nothing_by_code() -> None:
    assert not first_line(ask(TOOLS, "List the tools with group wheel.", name="tools.csv")).startswith("0 rows")


@pytest.mark.parametrize("noun", ["tools", "rows"])
def test_the_most_of_what_a_row_is_counts_rows(noun: str) -> None:
    answer = ask(TOOLS, f"Which group has the most {noun}?", name="tools.csv")
    assert first_line(answer) == "root"
    assert "root (3)" in answer and "locks (2)" in answer


def test_the_most_of_what_the_table_does_not_call_its_rows_counts_nothing() -> None:
    answer = ask(TOOLS, "Which group has the most plugins?", name="tools.csv")
    assert not answer.startswith("root\n")


def test_the_file_a_table_was_loaded_from_names_its_rows() -> None:
    from rlmx.lm.guided import _file_names

    first = (
        "Context variables:\n- `context`: list, 412 items\n  structure: shipped_tools.csv: 5 CSV rows (','-separated) "
        "with columns name, size_bytes, owner, group\n"
    )
    files = _file_names([{"role": "user", "content": first}])
    assert files == {"context": "shipped_tools.csv"}
    state = build_index([("context", TOOLS)])
    state["files"] = files
    answer = str(guided_answer(state, "Which group has the most tools?", replying("NOT FOUND"))["answer"])
    assert first_line(answer) == "root"


# --- a lead-in is quoted with the command it leads into -----------------------------------------------------------

MANUAL = """NAME
       squash - shrink files

DESCRIPTION
       Squash shrinks each file in place. The original size of a squashed archive is not stored in its header.
       To learn the original size of such an archive, you can run:

              unsquash -c archive.sq | wc -c

       Squash keeps the modification time of each file.

OPTIONS
       -k     Keep the input files.
"""


def test_a_lead_in_is_quoted_with_the_command_after_it() -> None:
    answer = ask(MANUAL, "How do I learn the original size of a squashed archive?", name="squash.1")
    assert "you can run:" in answer
    assert "unsquash -c archive.sq | wc -c" in answer


# --- examples and the prose between them are no titles ------------------------------------------------------------

USAGE = """NAME
       squash - shrink files

JOINING
       Squashed files can be joined. For example:

             squash -c one  > all.sq
             squash -c two >> all.sq

       Then

             unsquash -c all.sq

       is the same as

             cat one two

       Joined files squash worse than one file squashed at once, since squash cannot share a dictionary across them.

       Keeping Order

       Members keep the order in which they were joined.
"""


def test_examples_and_prose_fragments_label_nothing() -> None:
    state = build_index([("squash.1", USAGE)])
    where = {unit["text"][:20]: unit["where"] for unit in state["units"]}
    assert where["Joined files squash "].endswith("under 'JOINING'")
    assert where["Members keep the ord"].endswith("under 'Keeping Order'")  # a title at the body's indentation
    titles = {w.split("under ")[-1] for w in where.values() if "under " in w}
    assert titles == {"'JOINING'", "'Keeping Order'", "'NAME'"}


# --- a word for the answer's type is held by a value of that type --------------------------------------------------

CONTACT = """BUGS
       Squash cannot join more than 65535 files.

REPORTING BUGS
       Report bugs to: bugs@squash.example.org
       Squash home page: <https://squash.example.org/>

SEE ALSO
       gzip(1), tar(1)
"""


@pytest.mark.parametrize(
    ("question", "value"),
    [
        ("What email address should bugs be reported to?", "bugs@squash.example.org"),
        ("What is the homepage URL of squash?", "https://squash.example.org/"),
    ],
)
def test_a_value_of_the_asked_type_is_found(question: str, value: str) -> None:
    answer = ask(CONTACT, question, name="squash.1")
    assert not answer.startswith("NOT FOUND")
    assert value in answer


def test_a_type_word_finds_nothing_the_text_lacks() -> None:
    assert ask(CONTACT, "What email address does the mailing list of the Rust port use?").startswith("NOT FOUND")


# --- Python definitions counted by code ----------------------------------------------------------------------------

MODULE = '''"""Widgets.

Example::

    class Mine(Widget):
        pass
"""
import os


class WidgetError(Exception):
    pass


class Widget:
    def draw(self):
        return os.name

    class Part:
        pass


def make():
    return Widget()


if os.name == "nt":
    def _native():
        return 1
'''


@pytest.mark.parametrize(
    ("question", "count"),
    [("How many classes are defined in this module?", "3"), ("How many functions are defined in this module?", "1")],
)
def test_python_definitions_are_counted(question: str, count: str) -> None:
    answer = ask(MODULE, question, name="widgets.py")
    assert first_line(answer) == count
    assert "Counted:" in answer


# --- a changelog's oldest and newest entry --------------------------------------------------------------------------

HISTORY = (
    CHANGES
    + """
widgetd (2.1-2) unstable; urgency=low

  * Rebuild against the new libspool.

 -- Ben Okafor <ben@example.org>  Mon, 03 Feb 2020 10:00:00 +0100

widgetd (1.9-1) unstable; urgency=low

  * Initial release.

 -- Ben Okafor <ben@example.org>  Sun, 05 Jan 2020 10:00:00 +0100
"""
)


@pytest.mark.parametrize(
    ("question", "version"),
    [
        ("What is the oldest version in this changelog?", "1.9-1"),
        ("Which was the earliest upload?", "1.9-1"),
        ("What is the latest version?", "2.1-3"),
    ],
)
def test_the_edge_entries_of_a_changelog(question: str, version: str) -> None:
    assert first_line(ask(HISTORY, question, name="changelog")) == version


PERMISSIONS = """name,links,permissions
su,1,-rwsr-xr-x
ls,1,-rwxr-xr-x
passwd,1,-rwsr-xr-x
cat,1,-rwxr-xr-x
"""


def test_a_cell_value_with_a_leading_dash_is_counted() -> None:
    answer = ask(PERMISSIONS, "How many files have permissions -rwsr-xr-x?", name="files.csv")
    assert first_line(answer) == "2"
    assert "'-rwsr-xr-x'" in answer


def test_the_row_with_the_largest_amount_is_named() -> None:
    answer = ask(TOOLS, "Which tool has the largest size?", name="tools.csv")
    assert first_line(answer) == "awk"
    assert "160,000" in answer and "passwd" not in first_line(answer)


def test_the_largest_amount_of_what_no_row_is_named_by_nothing() -> None:
    assert not ask(TOOLS, "Which gadget has the largest size?", name="tools.csv").startswith("awk\n")


def test_a_how_question_over_a_lead_in_is_answered_by_the_command_not_a_sentence() -> None:
    question = "How do I learn the original size of a squashed archive?"
    answer = ask(MANUAL, question, "The original size of a squashed archive is not stored in its header.", "squash.1")
    assert first_line(answer).startswith("No short answer could be verified")
    assert "unsquash -c archive.sq | wc -c" in answer
