"""Round 78: the guided root over text shapes it misread (audit 78: a man page as text, Perl POD, a record file,
a question about an option that is not "what does it do", a count with punctuation, two names in one sentence).
Every text here is made up; the reader is a stub, so no model runs."""

from __future__ import annotations

from collections.abc import Callable

from rlmx.lm.guided_cells import build_index, count_answer, guided_answer

MANUAL = """FETCH(1)                        User Commands                        FETCH(1)

NAME
       fetch - copy files from far away

OPTIONS
       Lists given to an option can be emptied by giving an empty value first.
       This is handy to undo what the settings file says.

\t       fetch -D "" -D /tmp/junk

       -r count
       --retries=count
\t   Try count times before giving up.  Zero means forever.

       -p secs
       --pause=secs
\t   Pause the given number of seconds between fetches.  Using this
\t   option is advised, as it eases the load on the far host.

\t   By default, fetch will assume a value of 7 seconds.

       -q
       --quiet
\t   Print nothing.

EXIT CODES
       fetch ends with one of these codes.

       0   All went well.

       6   The far host could not be reached.

AUTHORS
       First written by Ola Berg <ola@example.org>.  Now kept up by Ann Lee
       <ann@example.org> and Bo Grant <bo@example.net>.
"""


def replying(text: str) -> Callable[[list[str]], list[str]]:
    return lambda prompts: [text] * len(prompts)


def first_line(result: dict[str, object]) -> str:
    return str(result["answer"]).split("\n")[0]


# --- a question about an option that asks something else than what it does ------------------------------------


def test_a_why_question_about_an_option_is_answered_from_inside_its_entry() -> None:
    state = build_index([("fetch.1.txt", MANUAL)])
    result = guided_answer(state, "Why is using the --pause option advised?", replying("it eases the load"))
    assert "eases the load on the far host" in first_line(result)
    assert "Pause the given number" not in first_line(result)


def test_an_option_question_the_reader_cannot_answer_is_quoted_never_its_first_sentence() -> None:
    state = build_index([("fetch.1.txt", MANUAL)])
    result = guided_answer(state, "Why is using the --pause option advised?", replying("NOT FOUND"))
    assert result["kind"] == "evidence"
    assert not first_line(result).startswith("-p secs")
    assert "eases the load" in str(result["answer"])


def test_a_default_question_about_an_option_gets_the_value_its_entry_calls_the_default() -> None:
    state = build_index([("fetch.1.txt", MANUAL)])
    result = guided_answer(state, "By default how many seconds does --pause assume?", replying("7 seconds"))
    assert first_line(result) == "7"


def test_what_an_option_does_is_still_its_first_sentence() -> None:
    state = build_index([("fetch.1.txt", MANUAL)])
    result = guided_answer(state, "What does --quiet do?", replying("NOT FOUND"))
    assert first_line(result) == "-q --quiet: Print nothing." or first_line(result).endswith("Print nothing.")


# --- a man page rendered as text ------------------------------------------------------------------------------


def test_an_indented_example_command_is_no_title_and_capital_headings_keep_their_body() -> None:
    units = build_index([("fetch.1.txt", MANUAL)])["units"]
    assert not any("under 'fetch -D" in u["where"] for u in units)
    failure = next(u for u in units if u["text"].startswith("6 The far host"))
    assert failure["name"] == "EXIT CODES"
    named = next(u for u in units if u["text"].startswith("fetch - copy files"))
    assert named["name"] == "NAME"


def test_an_option_with_an_argument_names_its_entry() -> None:
    units = build_index([("fetch.1.txt", MANUAL)])["units"]
    tries = next(u for u in units if "Try count times" in u["text"])
    assert tries["name"] == "-r count, --retries=count"
    default = next(u for u in units if u["text"].startswith("By default, fetch"))
    assert default["name"] == "-p secs, --pause=secs"


def test_a_question_on_an_exit_code_finds_its_item_under_the_heading() -> None:
    state = build_index([("fetch.1.txt", MANUAL)])
    result = guided_answer(state, "Which exit code means the far host could not be reached?", replying("6"))
    assert result["kind"] != "not_found"
    assert "6 The far host could not be reached" in str(result["answer"])


def test_a_docstrings_closing_quotes_are_no_title() -> None:
    source = '''def tidy(path):
    """Remove the empty folders under path.

    Folders holding only hidden files count as empty.
    """

    return walk(path)
'''
    units = build_index([("tidy.py", source)])["units"]
    assert not any(u["name"] == '"""' for u in units)


# --- two names in one sentence --------------------------------------------------------------------------------


def test_a_who_answer_keeps_every_name_the_sentence_joins() -> None:
    state = build_index([("fetch.1.txt", MANUAL)])
    result = guided_answer(state, "Who keeps fetch up now?", replying("Ann Lee"))
    assert first_line(result) == "Ann Lee and Bo Grant"


# --- counts: the punctuation the question writes ----------------------------------------------------------------

STANZAS = """Format: https://example.org/copyright-format/1.0/
Source-Notes: gathered by hand

Source: https://example.org/one
Owner: Ann Lee

Source: https://example.org/two
Owner: Bo Grant
Owner-Note: none
"""


def test_a_count_of_lines_beginning_with_a_prefix_keeps_its_colon() -> None:
    state = build_index([("copyright", STANZAS)])
    assert (count_answer(state, "How many lines begin with Source:?") or "").split("\n")[0] == "2"
    assert (count_answer(state, "How many lines start with Owner:?") or "").split("\n")[0] == "2"
    assert "'Owner:'" in (count_answer(state, "How many lines start with Owner:?") or "")


# --- Perl POD --------------------------------------------------------------------------------------------------

POD = """=head1 NAME

widgetdiag - what the widget tool may say

=head1 DESCRIPTION

Most of the notes below can be silenced with the C<quiet> setting, see
L<the manual|widget/quiet>.

=over 4

=item Cannot open %s

(F) The file named could not be opened for reading.

=item Cannot parse B<line %d>

(W) A line of the file is not in the form the tool reads.

=item *

A plain bullet, no entry.

=item Out of widgets

(F) Every widget is in use.

=back

=cut
"""


def test_pod_items_are_entries_named_without_their_command() -> None:
    state = build_index([("widgetdiag.pod", POD)])
    names = {u["name"] for u in state["units"]}
    assert {"NAME", "DESCRIPTION", "Cannot open %s", "Cannot parse line %d", "Out of widgets"} <= names
    assert not any(n.startswith(("item ", "head1", "=")) for n in names)
    counted = count_answer(state, "How many entries begin with Cannot?") or ""
    assert counted.split("\n")[0] == "2"


def test_pod_markup_is_out_of_units_and_answers() -> None:
    state = build_index([("widgetdiag.pod", POD)])
    text = " ".join(u["text"] for u in state["units"])
    assert "C<" not in text and "L<" not in text and "B<" not in text
    assert "the quiet setting, see the manual." in text
    result = guided_answer(state, "Which setting silences most of the notes?", replying("quiet"))
    assert first_line(result) == "quiet"


def test_pod_one_line_paragraphs_are_no_titles() -> None:
    pod = POD.replace("(F) Every widget is in use.", "(F) Every widget is in use")
    units = build_index([("widgetdiag.pod", pod)])["units"]
    assert not any(u["name"] == "(F) Every widget is in use" for u in units)


# --- a record file: a verb of the question that its comment never uses -----------------------------------------

ALIASES = """# This file maps short names of colours to their full spelling.
# Each line: short name, then the full spelling.
#
"""


def test_a_value_verb_absent_from_the_comment_does_not_stop_the_record_lookup() -> None:
    rows = [f"c{n:02d}\t\t\tcolour-{n:02d}.full" for n in range(40)]
    twice = [f"c{n:02d}:\t\tcolour-{n:02d}.full" for n in range(40)]
    state = build_index([("colour.alias", ALIASES + "\n".join(rows + twice) + "\n")])
    for question in ("What does c17 map to?", "What does c17 stand for?", "What does c17 mean?"):
        result = guided_answer(state, question, replying("NOT FOUND"))
        assert first_line(result) == "colour-17.full", question


def test_a_one_line_statement_of_source_code_is_no_title() -> None:
    source = '''def tidy(path):
    """Remove the empty folders under path."""
    found = walk(path)

    return found


def untidy(path):
    """Put the folders back."""
    os.makedirs(path)

    import shelve

    Folders are made again from the list kept by tidy, one by one.
'''
    units = build_index([("tidy.py", source)])["units"]
    assert not {u["name"] for u in units} & {"return found", "os.makedirs(path)", "import shelve"}


def test_a_pod_sequence_holding_an_angle_bracket_is_taken_out() -> None:
    pod = POD.replace("(F) Every widget is in use.", "(F) Every widget is in use; marked by S<<-- HERE>.")
    units = build_index([("widgetdiag.pod", pod)])["units"]
    assert any(u["text"].endswith("marked by <-- HERE.") for u in units)
