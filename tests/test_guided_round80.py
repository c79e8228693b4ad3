"""Round 80: the guided root on texts of audit 80 (a man page, a Debian changelog, Python source, a CSV): every
text here is made up in the same shapes; the reader is a stub."""

from __future__ import annotations

from collections.abc import Callable

from rlmx.lm.guided_cells import (
    build_index,
    collect_sources,
    count_answer,
    guided_answer,
    keyed_cell,
    option_entries,
    rank,
    search_terms,
    verified_span,
)


def replying(text: str) -> Callable[[list[str]], list[str]]:
    return lambda prompts: [text] * len(prompts)


def first_line(result: dict[str, object]) -> str:
    return str(result["answer"]).split("\n")[0]


# --- "who": the names joined to the doer ---------------------------------------------------------------------------


def test_the_doer_after_by_keeps_the_names_joined_to_it() -> None:
    # was: "Ilse Marr" alone (the agent-first answer returned before the joined names were gathered)
    unit = {
        "text": '- fix the kettle overflow (the so-called "Steam bug") found by Ilse Marr, Otto Brand and Pia Lund.',
        "kind": "paragraph",
        "name": "kettle (2.1-3)",
    }
    reply = "The Steam bug was found by Ilse Marr, Otto Brand, and Pia Lund."
    got = verified_span(reply, unit, "Who found the Steam bug?", set())
    assert got == "Ilse Marr, Otto Brand and Pia Lund"


def test_a_single_doer_after_by_is_still_the_answer() -> None:
    unit = {"text": "Frankenstein is a novel written by Mary Shelley in 1818.", "kind": "paragraph", "name": ""}
    assert verified_span("Frankenstein, by Mary Shelley", unit, "Who wrote Frankenstein?", set()) == "Mary Shelley"


# --- a manual's options: "which option does X", one-line entries, prose that wraps to an option --------------------

MANUAL = """KETTLE(1)                    General Commands Manual                    KETTLE(1)

NAME
     kettle - boil water remotely

DESCRIPTION
     kettle boils water on a remote stove.  A safer alternative may be to use a
     timer (see
             -W).

     The options are as follows:

     -B      Disable lid locking.

     -b      Force lid locking.  This can be used to keep the steam inside the
             kettle, which is very useful, e.g. when brewing tea.  Multiple -b
             options lock harder.

     -W seconds
             Wait this many seconds before pouring.

     -Y      Enables whistle sounds.

     -y      Disables whistle sounds.

WHISTLES
     If the Whistle variable is set to "yes" (or see the description of the
     -Y, -y, and -W options above) the whistle sounds when the water boils.
"""


def test_which_option_is_the_one_entry_whose_first_sentence_says_it() -> None:
    # was: "b" from the -b entry ("Force"), the reader having replied "-b Disable lid locking."
    state = build_index([("kettle.1", MANUAL)])
    result = guided_answer(state, "Which option disables lid locking?", replying("-b Disable lid locking."))
    assert first_line(result) == "-B"
    result = guided_answer(state, "Which option forces lid locking?", replying("-B"))
    assert first_line(result) == "-b"
    result = guided_answer(state, "Which option disables whistle sounds?", replying("-Y"))
    assert first_line(result) == "-y"


def test_a_reply_that_gives_an_entry_a_word_it_does_not_hold_is_not_verified() -> None:
    unit = {
        "text": "-b Force lid locking. This can be used to keep the steam inside the kettle.",
        "kind": "paragraph",
        "name": "-b",
    }
    assert verified_span("-b Disable lid locking.", unit, "Which option disables lid locking?", set()) is None


def test_an_option_answer_is_written_as_the_entry_writes_it() -> None:
    # was: "b": a piece of "-b" (the question's "pseudo-terminal" held "-t", so the token "-t" was taken for its own)
    unit = {"text": "-b Disable lid-locking.", "kind": "paragraph", "name": "-b"}
    query = "Which option disables lid-locking?"
    assert verified_span("-b Disable lid-locking.", unit, query, set()) == "-b"
    assert verified_span('The text says "b".', unit, query, set()) == "-b"


def test_a_one_line_option_entry_is_named_by_its_option_and_ranked_above_a_longer_one() -> None:
    state = build_index([("kettle.1", MANUAL)])
    named = {u["text"][:3]: u["name"] for u in state["units"] if u["text"][:3] in ("-B ", "-y ", "-Y ")}
    assert named == {"-B ": "-B", "-Y ": "-Y", "-y ": "-y"}
    ranked = rank(state, search_terms("Which option disables lid locking?"))
    assert ranked[0]["text"].startswith("-B ")


def test_prose_that_wraps_to_a_line_starting_with_an_option_is_no_second_entry() -> None:
    # was: no answer for -W and -y ("-W)." and "-Y, -y, and -W options above)" counted as their second entries)
    state = build_index([("kettle.1", MANUAL)])
    assert option_entries(state, "What does -W do?") == [("-W seconds", "Wait this many seconds before pouring.", 19)]
    assert option_entries(state, "What does -y do?") == [("-y", "Disables whistle sounds.", 24)]
    assert first_line(guided_answer(state, "What does -Y do?", replying("NOT FOUND"))).startswith(
        "-Y: Enables whistle sounds."
    )


def test_an_option_list_of_a_manual_with_consecutive_entries_still_reads_each_entry() -> None:
    help_text = (
        "Usage: pot [OPTION]...\n"
        "  -a, --all          show every pot, hidden ones\n"
        "                     included\n"
        "  -c                 with -l: sort by colour\n"
        "  -q, --quiet        say nothing\n"
    )
    state = build_index([("pot.txt", help_text)])
    assert option_entries(state, "What does -c do?") == [("-c", "with -l: sort by colour", 4)]


# --- a CSV loaded as rows: "which X has the most Y", "the largest (total) Y", "how many rows have COLUMN VALUE" ----

TEAS = [
    {"tea": name, "kind": kind, "grams": grams, "origin": origin}
    for name, kind, grams, origin in [
        ("sencha", "green", "120", "Shizuoka"),
        ("gyokuro", "green", "40", "Uji"),
        ("matcha", "green", "30", "Uji"),
        ("assam", "black", "500", "Assam"),
        ("darjeeling", "black", "90", "Darjeeling"),
        ("oolong", "oolong", "700", "Fujian"),
        ("pu-erh", "dark", "60", "Yunnan"),
    ]
]


def test_which_value_of_a_column_has_the_most_rows_is_counted_over_records() -> None:
    # was: three rows quoted (a CSV file is loaded as rows, and only a record file's text was grouped)
    state = build_index(collect_sources({"context": TEAS}))
    result = guided_answer(state, "Which kind has the most teas?", replying("black"))
    assert result["kind"] == "count"
    assert first_line(result) == "green"
    assert "(3)" in str(result["answer"])


def test_the_largest_total_of_a_number_column_is_summed_per_group() -> None:
    # was: NOT FOUND ("largest" was no superlative, only "most")
    state = build_index(collect_sources({"context": TEAS}))
    assert first_line(guided_answer(state, "Which kind has the largest total grams?", replying("x"))) == "oolong"
    assert first_line(guided_answer(state, "Which tea has the largest grams?", replying("x"))) == "oolong"
    assert first_line(guided_answer(state, "Which tea has the smallest grams?", replying("x"))) == "matcha"


def test_the_largest_of_a_column_that_holds_no_numbers_is_no_count() -> None:
    state = build_index(collect_sources({"context": TEAS}))
    assert count_answer(state, "Which kind has the largest origin?") is None


def test_rows_whose_named_column_holds_a_value_are_counted() -> None:
    # was: rows quoted ("How many ... have priority required?" over a CSV)
    state = build_index(collect_sources({"context": TEAS}))
    for question in ("How many teas have kind green?", "How many teas are of the green kind?"):
        answer = count_answer(state, question)
        assert answer is not None and answer.split("\n")[0] == "3", question
        assert "column 2 (kind)" in answer
    assert (count_answer(state, "How many teas come from Uji?") or "").split("\n")[0] == "2"


def test_a_value_no_column_holds_or_the_counted_column_holds_is_no_cell_count() -> None:
    state = build_index(collect_sources({"context": TEAS}))
    assert count_answer(state, "How many teas are like sencha?") is None  # the key column: the row itself
    assert count_answer(state, "How many teas have kind white?") is None


def test_a_key_with_underscores_is_named_by_its_parts() -> None:
    rows = [{"name": f"p{i}", "installed_size_kb": str(10 * i), "group": "ab"[i % 2]} for i in range(1, 7)]
    state = build_index(collect_sources({"context": rows}))
    assert first_line(guided_answer(state, "Which group has the largest total installed size?", replying("x"))) == "a"


# --- Python source: class and def lines label the code under them --------------------------------------------------

KETTLE_PY = '''#! /usr/bin/env python3
"""Kettle control."""

import socket

KETTLE_TLS_PORT = 4433


class Kettle:
    """A kettle on the network."""

    hello_word = "boil"

    def __init__(self, host):
        self.host = host

    # some helper methods

    def pour(self, cups):
        return cups * 2

    def whistle(self):
        return "toot"


class QuietKettle(Kettle):
    """A kettle that never whistles."""

    hello_word = "simmer"

    def whistle(self):
        return ""


def main():
    print(Kettle("localhost").pour(2))
'''


def test_code_is_labelled_by_its_class_and_def_not_by_a_comment_above_it() -> None:
    # was: everything after "# some helper methods" under that comment, QuietKettle included
    state = build_index([("kettle.py", KETTLE_PY)])
    name_of = {u["text"]: u["name"] for u in state["units"]}
    assert name_of['hello_word = "simmer"'] == "QuietKettle"
    assert name_of['hello_word = "boil"'] == "Kettle"
    assert [u["name"] for u in state["units"] if "cups * 2" in u["text"]] == ["Kettle.pour"]
    labels = {u["name"] for u in state["units"]}
    assert "some helper methods" not in labels and "! /usr/bin/env python3" not in labels
    assert any(u["name"] == "QuietKettle.whistle" for u in state["units"])
    main = [u for u in state["units"] if "print(" in u["text"]]
    assert main and main[0]["name"] == "main"


def test_a_class_attribute_asked_by_its_class_is_found_not_not_found() -> None:
    # was: NOT FOUND (no unit held both the attribute and the class name)
    state = build_index([("kettle.py", KETTLE_PY)])
    result = guided_answer(state, "What is hello_word in the QuietKettle class?", replying("NOT FOUND"))
    assert result["kind"] == "evidence"
    assert 'hello_word = "simmer"' in str(result["answer"]).split("\n")[1]


# --- a long unit is quoted from the sentence that holds the question's words ---------------------------------------

CHANGELOG = """kettle (2.1-3) unstable; urgency=medium

  * Cherry-pick from upstream:
    - [CVE-2031-1234] kettle-pour(1): when pouring into cups with the
      per-cup volume limits (kettle-pour -l ...) added in Kettle 1.9, a
      logic error let the limits be ignored by the spout. This made the
      cups overflow without warning. The common cases of cups without limits
      and of kettles without spouts are unaffected. Cups with handles are
      unaffected too, and so are mugs. This problem was
      found by Ilse Marr (closes: #104242).

 -- Otto Brand <otto@example.org>  Sat, 22 Jun 2030 21:38:08 +0200

kettle (2.1-2) unstable; urgency=low

  * Rebuild.

 -- Otto Brand <otto@example.org>  Sat, 01 Jun 2030 10:00:00 +0200

kettle (2.1-1) unstable; urgency=low

  * New upstream release.

 -- Otto Brand <otto@example.org>  Sat, 11 May 2030 10:00:00 +0200
"""


def test_a_long_unit_is_quoted_from_the_sentence_that_holds_the_questions_words() -> None:
    # was: the first 400 characters, cut before "found by Ilse Marr"
    state = build_index([("changelog", CHANGELOG)])
    result = guided_answer(state, "Who found CVE-2031-1234?", replying("NOT FOUND"))
    assert result["kind"] == "evidence"
    quoted = str(result["answer"]).split("\n")[1]
    assert "[CVE-2031-1234]" in quoted and "found by Ilse Marr" in quoted and " ... " in quoted
    assert len(quoted) < 520


# --- "what does ~. do?": an entry tagged by punctuation --------------------------------------------------------------

ESCAPES = """ESCAPE CHARACTERS
     The following escapes are supported:

     ~.      Hang up.

     ~?      Show a list of escapes.

     ~&      Keep boiling after logout when waiting for the cups
             to fill.

     Kettles with a whistle (~/.kettle/whistle) use them all.
"""


def test_what_an_escape_does_is_its_entrys_first_sentence() -> None:
    # was: NOT FOUND ("~." is no search term, and no unit held "escape sequence")
    state = build_index([("kettle.1", ESCAPES)])
    result = guided_answer(state, "What does the escape sequence ~. do?", replying("NOT FOUND"))
    assert first_line(result) == "~.: Hang up."
    assert option_entries(state, "What does '~&' do?") == [
        ("~&", "Keep boiling after logout when waiting for the cups to fill.", 8)
    ]
    assert option_entries(state, "What does ~! do?") is None


# --- a changelog: who made the upload a change belongs to --------------------------------------------------------

UPLOADS = """kettle (2.1-4) unstable-security; urgency=high

  * Non-maintainer upload by the Tea Safety Team.
  * Fix the spout overflow.

 -- Mira K. Osei <mira@example.org>  Mon, 01 Jul 2030 09:00:00 +0200

kettle (2.1-3) unstable; urgency=medium

  * Rebuild against the new lid library.

 -- Otto Brand <otto@example.org>  Sat, 22 Jun 2030 21:38:08 +0200

kettle (2.1-2) unstable; urgency=low

  * Rebuild.

 -- Otto Brand <otto@example.org>  Sat, 01 Jun 2030 10:00:00 +0200
"""


def test_who_made_an_upload_is_the_maintainer_who_signed_its_entry() -> None:
    # was: the change line quoted, "No short answer could be verified" (the trailer names who made it)
    state = build_index([("changelog", UPLOADS)])
    result = guided_answer(
        state, "Who made the non-maintainer upload by the Tea Safety Team?", replying("the Tea Safety Team")
    )
    assert first_line(result) == "Mira K. Osei"
    assert "line 6" in str(result["answer"])


def test_who_did_a_change_is_not_taken_for_who_uploaded_it() -> None:
    state = build_index([("changelog", UPLOADS)])
    result = guided_answer(state, "Who fixed the spout overflow?", replying("NOT FOUND"))
    assert first_line(result) != "Mira K. Osei"


def test_a_quoted_assignment_of_a_constant_shows_the_constants_definition() -> None:
    # was: "default_port = SMTP_SSL_PORT" quoted alone (the port is written 1,000 lines above)
    source = KETTLE_PY.replace(
        '    hello_word = "simmer"', '    hello_word = "simmer"\n\n    default_port = KETTLE_TLS_PORT'
    )
    state = build_index([("kettle.py", source)])
    result = guided_answer(state, "What port does QuietKettle use by default?", replying("NOT FOUND"))
    assert result["kind"] == "evidence"
    answer = str(result["answer"])
    assert "default_port = KETTLE_TLS_PORT" in answer
    assert "(KETTLE_TLS_PORT: [line 6] KETTLE_TLS_PORT = 4433)" in answer


def test_a_lookup_of_one_row_by_a_cell_answers_from_the_column_the_question_names() -> None:
    # was: the row quoted, never its cell ("What version of curl is installed?" over a CSV of packages)
    state = build_index(collect_sources({"context": TEAS}))
    result = guided_answer(state, "What origin does gyokuro have?", replying("Uji green"))
    assert first_line(result) == "Uji"
    assert "record 2 (gyokuro)" in str(result["answer"])
    # the first column named, not a later word that names another ("grams" is the column, "kind" no answer)
    assert first_line(guided_answer(state, "How much is the grams of assam, of its kind?", replying("x"))) != "black"
    assert first_line(guided_answer(state, "What grams of sencha are kept?", replying("x"))) == "120"


def test_a_lookup_of_two_columns_or_of_a_value_no_row_holds_is_no_cell() -> None:
    state = build_index(collect_sources({"context": TEAS}))
    assert first_line(guided_answer(state, "What are the kind and origin of assam?", replying("x"))) != "black"
    assert first_line(guided_answer(state, "What origin does rooibos have?", replying("NOT FOUND"))) == "NOT FOUND"


def test_a_kind_of_a_column_or_a_row_asked_by_its_cells_is_no_cell_lookup() -> None:
    state = build_index(collect_sources({"context": TEAS}))
    # "the leaf origin" is no `origin` cell; "Which kind has the origin Uji" asks for rows; "who" is no number
    assert keyed_cell(state, "What is the leaf origin of assam?") is None
    assert keyed_cell(state, "Which tea has the origin Fujian?") is None
    assert keyed_cell(state, "Who weighed the grams of assam?") is None
    assert keyed_cell(state, "What is the origin of sencha?") == ("Shizuoka", state["units"][0])
