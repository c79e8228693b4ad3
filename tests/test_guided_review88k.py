"""Guided root, audit 88c (offline probes v01-v13): a question's number matches only a whole number token, never a
piece of a date, clock or version; "which X has the latest Y" names the row, not a date cell of column X."""

from __future__ import annotations

from guided_stub import ask, first_line
from rlmx.lm.guided_cells import build_index, collect_sources, guided_answer

# --- 1: a number in the question is a whole token of the text, never a piece of a date or a version ---------------

ROVERS = (
    "model,name,family,designed,launched,retired\n"
    "1.0,Pebble,pebble,1990-04-12,1994-05-20,1999-07-01\n"
    "2.1,Ridge,ridge,1994-05-20,1997-09-30,2003-03-14\n"
    "7,Gully,gully,2001-02-03,2006-11-19,2014-12-31\n"
    ",Crater,crater,1990-04-12\n"
)


def test_a_number_is_no_day_of_a_date_cell() -> None:
    # "12" is the day of 1990-04-12 and "14" of 2003-03-14: no model 12 or 14 exists
    for number, wrong in (("12", "Crater"), ("14", "Ridge"), ("31", "Gully")):
        got = ask(ROVERS, f"What is the name of rover model {number}?", reply=wrong, name="rovers.csv")
        assert first_line(got) == "NOT FOUND", (number, got)


def test_a_whole_number_cell_still_names_its_row() -> None:
    got = ask(ROVERS, "What is the name of rover model 7?", reply="Gully", name="rovers.csv")
    assert first_line(got) == "Gully"


def test_a_number_is_no_piece_of_a_clock_or_a_version_in_prose() -> None:
    text = "The pump restarted at 10:45 after the update to firmware 3.45.2.\n\nNothing else happened that week."
    assert first_line(ask(text, "What happened to pump 45?", reply="restarted")) == "NOT FOUND"
    text2 = "Pump 45 restarted at noon.\n\nNothing else happened that week."
    assert first_line(ask(text2, "What happened to pump 45?", reply="restarted")) == "restarted"


# --- 2: "which X has the latest Y" names the row, not the date in column X ------------------------------------------


def _records_answer(rows: list[dict[str, str]], question: str) -> str:
    state = build_index(collect_sources({"context": rows}))
    return str(guided_answer(state, question, lambda prompts: ["NOT FOUND"] * len(prompts))["answer"])


ROVER_RECORDS = [
    {"model": "1.0", "name": "Pebble", "launched": "1994-05-20", "retired": "1999-07-01"},
    {"model": "2.1", "name": "Ridge", "launched": "1997-09-30", "retired": "2003-03-14"},
    {"model": "7", "name": "Gully", "launched": "2006-11-19", "retired": "2014-12-31"},
]


def test_which_launch_has_the_latest_retirement_names_the_row() -> None:
    # the noun "launch" names the `launched` column, itself of dates: its cell names no row
    assert first_line(_records_answer(ROVER_RECORDS, "Which launch has the latest retired?")) == "Gully"
    assert first_line(_records_answer(ROVER_RECORDS, "Which launched has the earliest retired?")) == "Pebble"


def test_which_model_has_the_latest_retirement_gives_the_model_cell() -> None:
    assert first_line(_records_answer(ROVER_RECORDS, "Which model has the latest retired?")) == "7"


# --- 3: a module's header "<work> and <work> by NAME" says who wrote it ---------------------------------------------

PARSER_MODULE = (
    '"""A small tokenizer for config-like files."""\n\n'
    "# Module and tests by Ada K. Moreau, 3 May 2004\n"
    "# Unicode input added by Tom Reyes, June 2006.\n\n"
    "import re\n\n\n"
    "def tokens(text):\n"
    '    """Split text into tokens."""\n'
    "    return re.findall(r'\\\\S+', text)\n"
)


def test_a_module_and_other_work_by_line_answers_who_wrote_the_module() -> None:
    for question in ("Who wrote this module?", "Who wrote the tests?"):
        got = ask(PARSER_MODULE, question, name="tokenizer.py")
        assert first_line(got) == "Ada K. Moreau", (question, got)


def test_a_by_line_of_another_work_names_no_author_of_the_module() -> None:
    text = PARSER_MODULE.replace("# Module and tests by", "# Tests and examples by")
    assert first_line(ask(text, "Who wrote this module?", name="tokenizer.py")) != "Ada K. Moreau"


# --- 4: a keyword default of a signature, or what __init__ sets, is a thing's default ------------------------------

READER_MODULE = (
    '"""Readers of delimited files."""\n\n'
    "import csv\n\n\n"
    "class Reader:\n"
    "    def __init__(self, stream, strict=False):\n"
    "        self.stream = stream\n"
    "        self.quotechar = '\"'\n"
    "        self.strict = strict\n\n"
    "    def rows(self):\n"
    "        return list(csv.reader(self.stream))\n\n\n"
    "def parse(text, delimiter=';', header=True):\n"
    '    """Parse text into rows."""\n'
    "    return [line.split(delimiter) for line in text.splitlines()]\n"
)


def test_a_keyword_default_of_the_named_function_answers() -> None:
    got = ask(READER_MODULE, "What is the default value of header in the parse function?", name="readers.py")
    assert first_line(got) == "True", got
    assert first_line(ask(READER_MODULE, "What is the default delimiter of parse?", name="readers.py")) == "';'"


def test_an_attribute_set_in_init_is_a_default() -> None:
    got = ask(READER_MODULE, "What is the default quotechar?", name="readers.py")
    assert first_line(got) == "'\"'", got
