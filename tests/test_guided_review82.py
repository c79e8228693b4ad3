"""Review 82 of the guided root's newest rules. A short file of lines was cut into one unit a line even where its
facts span lines: a note's title names what its "Key: value" lines are about, a wrapped sentence breaks before a
number or a capital, a note of sentences leans on its first one; a short list's sentence was checked as a
record's fields; a wrapped to-do item was counted twice. Every text is made up; the reader is a stub."""

from __future__ import annotations

import pytest

from guided_stub import ask, first_line
from rlmx.lm.guided_cells import build_index, collect_sources, guided_answer


def hedged(answer: str) -> bool:
    return first_line(answer).startswith(("NOT FOUND", "No short answer"))


# --- a short note keeps the facts that span its lines ----------------------------------------------------------

HOST = "mail-gw-7\nAddress: 192.168.9.40\nSystem: Alpine 3.19\nDisk: 2 TB\n"
VAULT = "Harbour vault\nAccess phrase: GREEN-OTTER-11\nKeeper: Ilse Brandt\n"


@pytest.mark.parametrize(
    ("text", "question", "reply"),
    [
        (HOST, "What is the address of mail-gw-7?", "192.168.9.40"),
        (VAULT, "What is the access phrase of the harbour vault?", "GREEN-OTTER-11"),
    ],
)
def test_a_notes_title_names_what_its_keyed_lines_are_about(text: str, question: str, reply: str) -> None:
    assert build_index([("note.txt", text)])["shapes"] == ["lines"]
    assert first_line(ask(text, question, reply)) == reply


NARROW = (
    "The spare key for the boat\nshed, kept by the harbour master\nsince March, hangs on hook\n"
    "B-14 behind the door. Ask\nfor it at the office.\n"
)
WIDE = "The spare key for the boat shed, kept by the harbour master since March, hangs on\nHook 14 by the door.\n"
SENTENCES = "The choir practice moved to Friday.\nIt now begins at 7 pm in the crypt.\n"


@pytest.mark.parametrize("text", [NARROW, WIDE, SENTENCES])
def test_wrapped_prose_and_a_note_of_sentences_are_one_paragraph(text: str) -> None:
    assert build_index([("note.txt", text)])["shapes"] == ["paragraphs"]


def test_a_later_sentence_of_a_note_answers_about_the_first() -> None:
    assert first_line(ask(SENTENCES, "When does the choir practice begin?", "7 pm")) == "7 pm"


# --- a short list's sentence is checked as a sentence ---------------------------------------------------------

PUMP = (
    "Pump notes\n- The pump returns 0 if the tank is full, 3 if the tank is empty, and 4 if a valve is stuck.\n"
    "- Boats: 4\n- Moorings: 12\n"
)


def test_a_short_lists_sentence_gets_the_clause_check() -> None:
    assert build_index([("pump.txt", PUMP)])["shapes"] == ["lines"]
    question = "What does the pump return if the tank is empty?"
    answer = ask(PUMP, question, "0")
    assert first_line(answer) != "0", answer
    assert first_line(ask(PUMP, question, "3")) == "3"


# --- a wrapped item is one item -------------------------------------------------------------------------------

ERRANDS = "* return the library books\n* ask the landlord about the\n    broken window in the hall\n* water plants\n"


def test_a_wrapped_items_next_line_is_no_item_of_its_own() -> None:
    assert first_line(ask(ERRANDS, "How many items are in the list?")) == "3"


# --- "how old/long/far ..." asks for an amount of one kind ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "question", "slip"),
    [
        ("The lighthouse was repainted in 2019.\n", "How old is the lighthouse?", "2019"),
        ("The lecture begins at 14:30 in hall 2.\n", "How long is the lecture?", "14:30"),
        ("The ferry terminal has 6 berths and opens at 6 am.\n", "How far is the ferry terminal?", "6 berths"),
        ("The crate holds 40 bottles and costs 85 EUR.\n", "How heavy is the crate?", "85 EUR"),
    ],
)
def test_a_number_of_another_kind_answers_no_how_degree_question(text: str, question: str, slip: str) -> None:
    assert hedged(ask(text, question, slip))


@pytest.mark.parametrize(
    ("text", "question", "reply"),
    [
        ("The lighthouse is 140 years old.\n", "How old is the lighthouse?", "140 years"),
        ("Mira is 34 and works at the docks.\n", "How old is Mira?", "34"),
        ("The lecture lasts 90 minutes.\n", "How long is the lecture?", "90 minutes"),
        ("The ferry terminal is 2 km from the square.\n", "How far is the ferry terminal?", "2 km"),
        ("The filters are changed every 6 weeks.\n", "How often are the filters changed?", "every 6 weeks"),
        ("The crate weighs 18 kg when full.\n", "How heavy is the crate?", "18 kg"),
    ],
)
def test_an_amount_of_the_kind_asked_answers_it(text: str, question: str, reply: str) -> None:
    assert first_line(ask(text, question, reply)) == reply


# --- "what does the X function do" finds the one def meant ----------------------------------------------------

MODULE = '''"""Unit helpers."""

import functools


@functools.cache
def scale(x):
    """Multiply x by the global factor. Cached."""
    return x * 2


class Ruler:
    """A ruler of fixed length."""

    def scale(self, x):
        """Scale x to the ruler's marks; callers round it."""
        return x


def label(text: str, prefix: str = "Unit: ") -> str:
    """Put the unit prefix before text."""
    return prefix + text
'''


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What does the scale function do?", "Multiply x by the global factor."),
        ("What does the scale method do?", "Scale x to the ruler's marks; callers round it."),
        ("What does the label function do?", "Put the unit prefix before text."),
    ],
)
def test_a_decorated_or_annotated_def_is_found_and_a_method_is_no_function(question: str, expected: str) -> None:
    assert first_line(ask(MODULE, question, name="units.py")) == expected


def test_two_functions_of_one_name_answer_by_no_docstring() -> None:
    twice = 'def tidy(a):\n    """Sort a."""\n    return a\n\n\ndef tidy(a, b):\n    return a\n'
    assert first_line(ask(twice, "What does the tidy function do?", name="t.py")) != "Sort a."


# --- who: a person is named, a title alone is nobody, an initial follows a name -------------------------------


@pytest.mark.parametrize(
    ("text", "question", "reply"),
    [
        (
            "The harbour survey was finished in October. Lotte Brink wrote it over the summer.\n",
            "Who wrote the harbour survey?",
            "Lotte Brink",
        ),
        ("The chapel was restored in Utrecht. Its mason was Joris Veld.\n", "Who restored the chapel?", "Joris Veld"),
    ],
)
def test_a_month_or_a_place_in_another_sentence_is_nobody_named(text: str, question: str, reply: str) -> None:
    assert first_line(ask(text, question, reply)) == reply


def test_a_capital_after_a_lowercase_word_ends_its_sentence() -> None:
    text = "Ana Ruiz planned the east wing and hall B. Ben Kim planned the west wing of the museum.\n"
    assert hedged(ask(text, "Who planned the west wing of the museum?", "Ana Ruiz"))


def test_an_options_first_sentence_ends_after_another_options_letter() -> None:
    manual = "OPTIONS\n       -q     Same as -Q.  Kept for old scripts.\n\n       -Q     Print nothing.\n"
    assert first_line(ask(manual, "What does -q do?")) == "-q: Same as -Q."


@pytest.mark.parametrize(
    ("question", "reply", "expected"),
    [
        ("Who keeps the minutes?", "Ms. Okafor", "Ms. Okafor"),
        ("Who keeps the minutes?", "Ms", None),
        ("Who opened the pharmacy?", "Dr", None),
    ],
)
def test_a_title_is_part_of_a_name_and_alone_names_nobody(question: str, reply: str, expected: str | None) -> None:
    text = "Dr. Lind opened the pharmacy in 1987. The minutes are kept by Ms. Okafor.\n"
    answer = ask(text, question, reply)
    assert (first_line(answer) == expected) if expected else hedged(answer), answer


# --- which option: not the clause that says what happens without it -------------------------------------------

PACKER = """NAME
       pack - bundle files

OPTIONS
       -r     Remove the source folder once packed.

       -s     Keep the temporary files; otherwise they are removed when the bundle is written.

       -q     Quiet; print nothing but errors.
"""


def test_which_option_is_not_read_from_the_clause_on_what_happens_without_it() -> None:
    assert first_line(ask(PACKER, "Which option removes the temporary files?")) != "-s"
    assert first_line(ask(PACKER, "Which option keeps the temporary files?")).startswith("-s")


# --- a word of another meaning is no form of the asked word --------------------------------------------------


@pytest.mark.parametrize(
    ("text", "question", "slip"),
    [
        ("Memo for new staff\nTrainees arrive on Monday at 8:30.\n", "When does the train arrive?", "Monday at 8:30"),
        ("Office notes\nThe grantee reports by 1 June.\n", "When is the grant reported?", "1 June"),
    ],
)
def test_a_noun_of_another_meaning_is_no_form_of_the_word_asked(text: str, question: str, slip: str) -> None:
    assert first_line(ask(text, question, slip)) != slip


# --- an opening word that names a column is no request verb -----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "name", "question", "expected"),
    [
        ("item,list_price,stock\ngreen teapot,25,4\nwhite mug,9,30\n", "shop.csv",
         "List price of the green teapot?", "25"),
        ("uid,login,display_name\n7,kpark,Kim Park\n8,lmoss,Lee Moss\n", "who.csv",
         "Display name of lmoss?", "Lee Moss"),
        ("Show,Station,Start\nMorning Desk,Radio 4,06:00\nLate Jazz,Radio 3,23:00\n", "radio.csv",
         "Show on Radio 3 at 23:00?", "Late Jazz"),
    ],
)  # fmt: skip
def test_a_first_word_naming_a_column_is_kept(text: str, name: str, question: str, expected: str) -> None:
    assert first_line(ask(text, question, name=name)) == expected


# --- listed rows are labelled as the source they came from numbers them ------------------------------------------


def test_rows_read_from_a_text_table_after_a_loaded_object_are_numbered_as_lines() -> None:
    table = "host,role\nalpha,db\nbeta,web\ngamma,db\n"
    state = build_index(collect_sources({"info": {"updated": "2025-01-09", "team": "infra"}, "hosts": table}))
    answer = guided_answer(state, "List the hosts with role db.", lambda ps: ["NOT FOUND"] * len(ps))["answer"]
    assert answer.split("\n")[1:] == ["- alpha (line 2)", "- gamma (line 4)"], answer
