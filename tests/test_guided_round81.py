"""Round 81: the guided root on texts of audit 81 (a man page, a services list, a license, Python source): every
text here is made up in the same shapes; the reader is a stub."""

from __future__ import annotations

from collections.abc import Callable

from rlmx.lm.guided_cells import _is_python, _number_of_its_clause, build_index, guided_answer, verified_span


def first_line(result: dict[str, object]) -> str:
    return str(result["answer"]).split("\n")[0]


def replying(text: str) -> Callable[[list[str]], list[str]]:
    return lambda prompts: [text] * len(prompts)


# --- a number picked from a sentence that lists several: the one of the question's clause ----------------------------

STATUS = {
    "text": "The return code is 0 when the kettle boiled, 3 when no water was found, and 7 when the stove failed.",
    "kind": "paragraph",
    "name": "RETURN CODES",
}


def test_the_number_of_another_clause_is_no_answer() -> None:
    # was: "7" (every number of the sentence sits in the sentence that holds the question's words)
    query = "What is the return code when no water was found?"
    assert verified_span("The return code is 7.", STATUS, query, set()) is None


def test_the_number_of_the_question_s_clause_is_the_answer() -> None:
    query = "What is the return code when no water was found?"
    assert verified_span("The return code is 3.", STATUS, query, set()) == "3"
    assert verified_span("7", STATUS, "What is the return code when the stove failed?", set()) == "7"


def test_numbers_that_end_their_clauses_are_read_backwards() -> None:
    text = "Cups per pot: small pots 2, large pots 9, jugs 4."
    assert _number_of_its_clause("9", text, "What is the size of large pots?")
    assert not _number_of_its_clause("2", text, "What is the size of large pots?")


def test_a_sentence_of_no_clear_shape_needs_both_readings_to_agree() -> None:
    text = "The basic plan costs 5 dollars, the pro plan 10 dollars per month."
    assert not _number_of_its_clause("5", text, "What does the pro plan cost?")
    assert not _number_of_its_clause("10", text, "What does the pro plan cost?")


# --- Python source: imports only inside try blocks, signatures wrapped over lines -----------------------------------

ONLY_TRY_IMPORTS = '''"""Kettle helpers."""

def boil(pot):
    return pot


def pour(pot, cup):
    return cup


def cool(pot):
    return pot

try:
    from _kettle import *
except ImportError:
    pass
'''

WRAPPED = """import os


def boil(
    pot,
    heat=3,
):
    return pot


def pour(pot, cup,
         spill=False) -> int:
    return cup


def cool(
    pot: int, *, slow: bool = True
) -> None:
    pass
"""


def test_a_module_importing_only_in_a_try_block_is_python() -> None:
    assert _is_python(ONLY_TRY_IMPORTS)


def test_a_module_whose_signatures_wrap_is_python() -> None:
    assert _is_python(WRAPPED)


def test_prose_with_the_word_def_is_not_python() -> None:
    prose = "import duties are high.\n" + "def boil the water (a kettle) and wait:\n" * 3
    assert not _is_python(prose.replace("(a kettle) and wait:", "the kettle"))


# --- symbols: a question about `\d` is answered by a symbol, never by a word beside it ------------------------------

ESCAPES = {
    "text": "The escape \\d stands for [[:digit:]] and \\D stands for [^[:digit:]].  The escape \\s matches blanks.",
    "kind": "paragraph",
    "name": "Escapes",
}


def test_a_symbol_is_answered_by_the_symbol_written_after_it() -> None:
    # was: "escape", the word before "\d" (the reply's symbols were no words, so no candidates)
    reply = "The escape \\d stands for [[:digit:]]."
    assert verified_span(reply, ESCAPES, "What does \\d stand for?", set()) == "[[:digit:]]"
    assert verified_span("[^[:digit:]]", ESCAPES, "What does \\D stand for?", set()) == "[^[:digit:]]"


def test_the_symbol_of_another_escape_is_no_answer() -> None:
    assert verified_span("[[:digit:]]", ESCAPES, "What does \\D stand for?", set()) is None


def test_a_word_beside_or_inside_a_symbol_is_no_answer() -> None:
    assert verified_span("escape", ESCAPES, "What does \\d stand for?", set()) is None
    assert verified_span("digit", ESCAPES, "What does \\D stand for?", set()) is None


# --- a near miss (one word of the question a synonym away) is quoted, never NOT FOUND -------------------------------

POTS = """POTS(1)

NAME
       pots - heat water in a pot

DESCRIPTION
       pots heats water.  The programs bigpot and smallpot are the same as
       pots -b and pots -s.

       Closing the lid is an equivalent of pots -q, and a quieter one.

       Water boils at the stove's own pace; no timer is kept.

       The lid should stay on while the water heats, so that steam stays inside.
"""


def test_a_unit_that_misses_one_word_of_the_question_is_quoted_not_absent() -> None:
    # was: NOT FOUND ("equivalent" is not in the unit that names bigpot, which says "the same as")
    state = build_index([("pots.1", POTS)])
    result = guided_answer(state, "What is bigpot equivalent to?", replying("NOT FOUND"))
    assert result["answer"] != "NOT FOUND"
    assert "bigpot" in str(result["answer"])


def test_a_question_about_a_word_the_text_never_writes_is_still_not_found() -> None:
    state = build_index([("pots.1", POTS)])
    result = guided_answer(state, "What is the kettle equivalent to?", replying("NOT FOUND"))
    assert result["answer"] == "NOT FOUND"


# --- a section drawn in a box of `*` is a section under its own heading ---------------------------------------------

BOXED = """1. Pouring
----------

Pour slowly.

****************************************************
*                                                  *
*  2. Burns and Scalds                             *
*  -------------------                             *
*                                                  *
*  The maker of the kettle is not responsible for  *
*  burns or scalds of any kind.                    *
*                                                  *
****************************************************

3. Cleaning
-----------

Rinse with vinegar.
"""


def test_a_boxed_section_keeps_its_heading_and_its_sentences() -> None:
    # was: NOT FOUND (each framed line its own unit, under "1. Pouring", its `*` kept)
    state = build_index([("kettle.txt", BOXED)])
    assert first_line(guided_answer(state, "What is the title of section 2?", replying("NOT FOUND"))) == (
        "Burns and Scalds"
    )
    units = [u for u in state["units"] if "scalds of any kind" in u["text"]]
    assert len(units) == 1 and "*" not in units[0]["text"] and units[0]["line"] == 11


# --- "Original code by" names the author of the text ----------------------------------------------------------------

KETTLE_PY = '''"""Kettle control."""

# Original code by Ada Brennan, extended by Otto Lind

# [notes by Mira Castell]

def boil(pot):
    return pot


def pour(pot, cup):
    return cup
'''


def test_original_code_by_answers_who_wrote_the_original_code() -> None:
    # was: NOT FOUND (only Author:, Written by and Created by lines were read; "original" had to be in the header)
    state = build_index([("kettle.py", KETTLE_PY)])
    result = guided_answer(state, "Who wrote the original code of this module?", replying("NOT FOUND"))
    assert first_line(result) == "Ada Brennan"


# --- "which option": a stop word of the question may be what tells two entries apart -------------------------------

TEAPOT = """TEAPOT(1)                    General Commands Manual                    TEAPOT(1)

NAME
     teapot - pour tea

OPTIONS
     -a      Pour the leaves as if they were text.  Nothing is brewed.

     -L      Pour the leaves as if they held no tea.  Nothing is brewed.

     -q      Pour quietly.
"""


def test_which_option_uses_the_question_s_stop_words_to_choose_between_entries() -> None:
    # was: no short answer ("text" is a stop word: {pour, leaves} fits both -a and -L)
    state = build_index([("teapot.1", TEAPOT)])
    result = guided_answer(state, "Which option pours the leaves as if they were text?", replying("NOT FOUND"))
    assert first_line(result) == "-a"


def test_a_work_by_line_answers_for_that_work_only() -> None:
    state = build_index([("kettle.py", KETTLE_PY)])
    result = guided_answer(state, "Who wrote the notes on kettle control?", replying("NOT FOUND"))
    assert first_line(result) == "Mira Castell"
    # Ada Brennan wrote its original code; Otto Lind extended it: neither alone wrote the module
    result = guided_answer(state, "Who wrote this module?", replying("NOT FOUND"))
    assert first_line(result) not in ("Ada Brennan", "Mira Castell")
