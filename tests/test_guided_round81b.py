"""Audit 81b, the offline default on a newcomer's small files and on real texts. A file of a few lines with no blank
line between them was read as one paragraph: its lines' values ran together (one contact's phone given for
another's), "how many items" counted 1, and a quote's line was the first line. Such a file is now a list of lines
unless it is wrapped prose. A date is no answer to "how many". Every text is made up; the reader is a stub."""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line
from rlmx.lm.guided_cells import build_index, collect_sources, detect_shape, guided_answer


def hedged(answer: str) -> bool:
    return first_line(answer).startswith(("NOT FOUND", "No short answer"))


# --- a short file of lines is read as lines ---------------------------------------------------------------------

PEOPLE = """Priya Nair - 555-2301 - priya@example.com
Tomasz Wolny - 555-2302 - tomasz@example.com
Ines Duarte - 555-2377 - ines.duarte@example.org
"""
CHORES = """# chores
sweep the porch
feed the cat
post the parcel to Oslo
mend the fence (Sat)
"""
MINUTES = """Club minutes 2023-11-02
Attendees: Ruth, Omar, Lena, Kofi
Agreed: the hall is booked for May 3.
"""
WRAPPED = """The old mill stood by the river for two hundred years, and the
villagers brought their grain to it every autumn until the wheel
broke in a flood that also carried away the wooden footbridge.
"""


@pytest.mark.parametrize(
    ("text", "shape"),
    [(PEOPLE, "lines"), (CHORES, "lines"), (MINUTES, "lines"), (WRAPPED, "paragraphs"),
     ("a,b\n1,2\n3,4\n", "records")],
)  # fmt: skip
def test_a_short_file_of_lines_is_cut_into_lines_unless_it_is_wrapped_prose(text: str, shape: str) -> None:
    assert build_index([("notes.txt", text)])["shapes"] == [shape]
    assert detect_shape(WRAPPED) == "paragraphs"


def test_a_value_of_one_line_is_no_answer_for_the_person_of_another() -> None:
    question = "What is Tomasz Wolny's phone number?"
    assert hedged(ask(PEOPLE, question, "555-2301"))  # the reader's slip: the line above holds that number
    answer = ask(PEOPLE, question, "555-2302")
    assert answer.startswith("555-2302\nFrom [line 2]"), answer


def test_the_items_of_a_short_list_are_counted_its_title_aside() -> None:
    assert first_line(ask(CHORES, "How many items are in the list?")) == "4"


def test_a_quote_from_a_short_list_gives_its_own_line() -> None:
    answer = ask(CHORES, "Where should the parcel be posted?", "Oslo")
    assert answer.startswith("Oslo\nFrom [line 4] post the parcel to Oslo"), answer


# --- a date counts nothing --------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [MINUTES, " ".join(MINUTES.split("\n")) + "\n"])
def test_a_date_is_no_answer_to_how_many(text: str) -> None:
    answer = ask(text, "How many attendees were there?", "2023-11-02")
    assert "2023" not in first_line(answer), answer


# --- an initial ends no sentence --------------------------------------------------------------------------------

CREDITS = """CREDITS

       The tool was first written by Hanna Berg ⟨hberg@example.org⟩. Peter J.
       Moss ⟨pmoss@example.org⟩ rewrote the tool to read the new format, and
       Dr. Ada Quinn added the plotting code.
"""


def test_a_name_with_a_middle_initial_is_not_cut_into_a_sentence_of_its_own() -> None:
    question = "Who first wrote the tool?"
    assert first_line(ask(CREDITS, question, "Hanna Berg")) == "Hanna Berg"
    # the reader's slip to the next name: "Peter J." is no sentence of its own, nor does it hold "first written"
    for reply in ("Peter J.", "Peter J. Moss"):
        assert "Peter" not in first_line(ask(CREDITS, question, reply))
    answer = ask(CREDITS, "Who rewrote the tool?", "Peter J. Moss")
    assert first_line(answer) in ("Peter J. Moss", "Peter J. Moss ⟨pmoss@example.org⟩"), answer


# --- a path is a cell value; the verb of a request is no row -------------------------------------------------------

ACCOUNTS = """login,home,shell
show,/srv/show,/usr/bin/zsh
ana,/home/ana,/bin/bash
list,/var/list,/usr/sbin/nologin
ben,/home/ben,/bin/bash
cron,/nonexistent,/usr/sbin/nologin
mo,/home/mo,/bin/bash
"""


@pytest.mark.parametrize(
    ("question", "count"),
    [("How many logins have shell /bin/bash?", "3"), ("How many logins have the shell /usr/sbin/nologin?", "2"),
     ("How many logins have home /nonexistent?", "1")],
)  # fmt: skip
def test_rows_are_counted_by_a_value_that_starts_with_a_slash(question: str, count: str) -> None:
    assert first_line(ask(ACCOUNTS, question, name="accounts.csv")) == count


@pytest.mark.parametrize(
    "question", ["List the logins with shell /bin/bash.", "Show the logins with shell /bin/bash."]
)  # fmt: skip
def test_rows_are_listed_by_a_path_and_the_verb_names_no_row(question: str) -> None:
    answer = ask(ACCOUNTS, question, name="accounts.csv")
    assert answer.startswith("3 rows whose column 3 (shell) is '/bin/bash'"), answer
    assert [line.split()[1] for line in answer.split("\n")[1:]] == ["ana", "ben", "mo"]


def test_the_verb_of_a_request_is_no_row_key_nor_search_term() -> None:
    answer = ask(ACCOUNTS, "List the logins with shell bash.", "NOT FOUND", name="accounts.csv")
    assert "nologin" not in first_line(answer) and "zsh" not in first_line(answer), answer
    assert first_line(answer) != "NOT FOUND", answer  # three rows hold /bin/bash


# --- an option's first sentence runs over its semicolons --------------------------------------------------------

TOOL_MANUAL = """NAME
       tally - count things

OPTIONS
       -k     Do not print totals; print a running sum in their place.  Slower
              on long inputs.

       -w     Wide output.  Shows every column.
"""


@pytest.mark.parametrize(
    ("question", "expected"),
    [("What does the -k option do?", "-k: Do not print totals; print a running sum in their place."),
     ("What does -w do?", "-w: Wide output.")],
)  # fmt: skip
def test_an_options_first_sentence_ends_at_its_full_stop_not_its_semicolon(question: str, expected: str) -> None:
    assert first_line(ask(TOOL_MANUAL, question)) == expected


# --- framing words the text writes elsewhere make no NOT FOUND ----------------------------------------------------

FERRY = (
    "\n\n".join(
        [
            "The harbour office opens at eight.",
            "Ferries leave from pier two.",
            "Version 3 of the timetable package added night boats.",
            "Tickets are sold on board.",
            "Version 4 of the timetable package dropped the winter route.",
            "Bicycles travel free.",
            "Version 5 of the timetable package moved to a new format.",
            "Release 6: the island stop is abandoned.",
            "Lost property is kept for a month.",
            "Parking is free on Sundays.",
        ]
    )
    + "\n"
)


def test_a_unit_holding_the_rare_word_asked_about_is_quoted_not_denied() -> None:
    # "version" and "package" frame the question; the text writes them often, and "abandoned" once
    answer = ask(FERRY, "In which version was the package abandoned?")
    assert answer.startswith("No short answer") and "Release 6: the island stop is abandoned." in answer, answer
    # a word the text never writes is what the question is about: still NOT FOUND
    assert first_line(ask(FERRY, "In which version was the package renamed?")) == "NOT FOUND"


# --- "what does the X function do" over Python source: its docstring --------------------------------------------

SOURCE = '''"""Small helpers for words."""

# -- Loosely related functionality ----------------------------------------------


def shout(text):
    """Return `text` in capitals, with an exclamation mark. Used by the banner."""
    return text.upper() + "!"


def whisper(text):
    """Return `text` in lower case."""
    return text.lower()


class Speaker:
    def whisper(self, text):
        return text
'''


@pytest.mark.parametrize(
    ("question", "expected"),
    [("What does the shout function do?", "Return `text` in capitals, with an exclamation mark."),
     ("What does the function shout do?", "Return `text` in capitals, with an exclamation mark.")],
)  # fmt: skip
def test_a_named_defs_docstring_answers_what_it_does(question: str, expected: str) -> None:
    answer = ask(SOURCE, question, name="words.py")
    assert answer.startswith(expected + "\nFrom [line 6"), answer


def test_no_docstring_answer_for_an_undefined_name() -> None:
    assert first_line(ask(SOURCE, "What does the mumble function do?", name="words.py")) == "NOT FOUND"


def test_rows_of_a_file_loaded_as_records_are_listed_by_record_number() -> None:
    # a CSV loaded as records numbers its records (its header is none): "line 1" named the header's line
    rows = [{"login": "root", "shell": "/bin/bash"}, {"login": "cron", "shell": "/usr/sbin/nologin"},
            {"login": "ana", "shell": "/bin/bash"}]  # fmt: skip
    state = build_index(collect_sources({"context": rows}))
    answer = guided_answer(state, "List the logins with shell /bin/bash.", lambda prompts: ["NOT FOUND"] * len(prompts))
    assert answer["answer"].split("\n")[1:] == ["- root (record 1)", "- ana (record 3)"], answer["answer"]


# --- a noun made from a verb is a form of it -------------------------------------------------------------------

BOARD = """Board notes 2023-05-09

Trainees: Yusuf and Mei joined the plant in April.

Decision: the night shift ends in June.
"""


def test_a_noun_made_from_a_verb_finds_the_verb_and_back() -> None:
    answer = ask(BOARD, "What was decided?", "the night shift ends in June")
    assert first_line(answer) in ("the night shift ends in June", "night shift ends in June"), answer
    answer = ask(BOARD, "Who was trained?")  # "Trainees:" holds the verb's noun: quoted, not NOT FOUND
    assert first_line(answer) != "NOT FOUND" and "Yusuf and Mei" in answer, answer
