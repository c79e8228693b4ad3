"""Round 79: the guided root over record files and RFC 822 stanzas (audit 79): "which X has the most Y" is counted
over the field or column X names, never answered with a reader's phrase; a lookup answers from the column the
question names; "the phrase X" and "X stanzas" are counted. Every text here is made up; the reader is a stub."""

from __future__ import annotations

from collections.abc import Callable

from rlmx.lm.guided_cells import build_index, guided_answer

COPYRIGHT = """Format: https://example.org/copyright-format/1.0/
Upstream-Name: kettle
Source: https://example.org/kettle

Files: *
Copyright: 2001-2020 The Kettle Makers
License: Apache-2.0

Files: src/boil/* src/pour.c
Copyright: 2015 Ada Brewer
License: ISC

Files: src/steam.c
Copyright: 2016 Ada Brewer
License: ISC

Files: vendor/lid/*
Copyright: 2012 Lid Works
License: GPL-2+

Files: vendor/spout/a.c vendor/spout/b.c vendor/spout/c.c vendor/spout/d.c
Copyright: 2018 Spout Team
License: MIT

License: GPL-2+
 This program is free software; you may share it under the GPL, or the MIT
 terms where a file says so. The ISC and MIT texts follow.
 .
 Most files here use the MIT License.

License: ISC
 Permission to use, copy, modify and distribute this software is granted.

License: MIT
 Permission is hereby granted, free of charge, to any person.
"""

# columns named only by the leading comment, rows split by tabs, a list column first (20 rows or more:
# a record file)
STATIONS = """# Weather stations of the valley.
# The columns are:
# 1.  The villages a station serves, as a comma-separated list
#     of village codes.
# 2.  Height of the station's mast in metres.
# 3.  Station name used in the radio call sign.
#
#village-
#codes\theight\tstation
OAK\t120\tNorthridge
ELM,FEN,ASH\t85\tMillpond
BAY\t240\tHighcairn
FEN,OAK\t60\tLowford
ASH\t95\tStonegate
"""
# more rows, so that the text is a record file (20 lines or more), each naming one village and one station
STATIONS += "".join(f"Q{i:02d}\t{300 + i}\tOutpost{i}\n" for i in range(1, 19))


def replying(text: str) -> Callable[[list[str]], list[str]]:
    return lambda prompts: [text] * len(prompts)


def first_line(result: dict[str, object]) -> str:
    return str(result["answer"]).split("\n")[0]


# --- "which X has the most Y": counted, never a reader's phrase ------------------------------------------------


def test_the_license_of_the_most_stanzas_is_counted_over_the_license_field() -> None:
    state = build_index([("copyright", COPYRIGHT)])
    result = guided_answer(state, "Which license is used by the most Files stanzas?", replying("MIT"))
    assert result["kind"] == "count"
    assert first_line(result) == "ISC"
    assert "(2)" in str(result["answer"])


def test_the_license_covering_the_most_files_is_quoted_when_the_files_fields_hold_globs() -> None:
    # was: "MIT" (four names against "Files: *" counted as one file); round 79b: `*`, `src/boil/*` and
    # `vendor/lid/*` cover many files each, so the words of the Files fields are no count of files
    state = build_index([("copyright", COPYRIGHT)])
    result = guided_answer(state, "Which license covers the most files?", replying("ISC"))
    assert result["kind"] == "evidence"
    assert first_line(result).startswith("No short answer could be verified")


def test_the_row_with_the_longest_list_column_answers_which_station_serves_the_most_villages() -> None:
    state = build_index([("stations.tab", STATIONS)])
    result = guided_answer(state, "Which station serves the most villages?", replying("Stonegate"))
    assert result["kind"] == "count"
    assert first_line(result) == "Millpond"


def test_a_list_column_grouped_by_its_items_answers_which_village_has_the_most_stations() -> None:
    state = build_index([("stations.tab", STATIONS)])
    result = guided_answer(state, "Which village has the most stations?", replying("OAK"))
    assert first_line(result) == "OAK, FEN, ASH (tied)"


def test_a_superlative_no_column_names_is_quoted_never_answered_with_a_span() -> None:
    state = build_index([("stations.tab", STATIONS)])
    result = guided_answer(state, "Which mast carries the most antennas?", replying("Highcairn"))
    assert result["kind"] in ("evidence", "not_found")
    assert first_line(result) != "Highcairn"


def test_a_superlative_over_stanzas_no_field_names_is_quoted_never_read() -> None:
    # no field says who wrote a file (Copyright names holders): the reader's name would be a guess, even a lucky one
    state = build_index([("copyright", COPYRIGHT)])
    result = guided_answer(state, "Which author has the most Files stanzas?", replying("Ada Brewer"))
    assert result["kind"] == "evidence"
    assert first_line(result).startswith("No short answer could be verified")


# --- a record lookup answers from the column the question names --------------------------------------------------


def test_a_lookup_by_a_later_column_answers_from_the_column_the_question_names() -> None:
    state = build_index([("stations.tab", STATIONS)])
    result = guided_answer(state, "Which station's mast is 240 metres high?", replying("BAY"))
    assert first_line(result) == "Highcairn"


def test_the_attribute_of_a_named_record_comes_from_its_own_column() -> None:
    state = build_index([("stations.tab", STATIONS)])
    result = guided_answer(state, "What is the height of Stonegate?", replying("ASH"))
    assert first_line(result) == "95"


# --- counts: "the phrase X", "X stanzas" --------------------------------------------------------------------------


def test_how_often_the_phrase_occurs_counts_the_phrase_not_the_word_phrase() -> None:
    text = "Ada Brewer wrote it.\n\nLater Ada Brewer fixed it, and ada brewer signed it.\n"
    state = build_index([("notes.txt", text)])
    for question in (
        "How often does the phrase Ada Brewer occur?",
        "How many times does the expression Ada Brewer appear?",
        "How often is the text Ada Brewer used?",
    ):
        assert first_line(guided_answer(state, question, replying("0"))) == "3", question


def test_how_many_stanzas_with_a_field_counts_the_paragraphs_that_have_it() -> None:
    state = build_index([("copyright", COPYRIGHT)])
    files = guided_answer(state, "How many Files stanzas are there?", replying("1"))
    assert first_line(files) == "5"
    assert "Files:" in str(files["answer"])
    assert first_line(guided_answer(state, "How many License paragraphs are there?", replying("1"))) == "8"
    assert first_line(guided_answer(state, "How many stanzas are there?", replying("1"))) == "9"


# --- a header's Author: line; an entry that says what to use instead ----------------------------------------------

MODULE = """# Author: Mira K. Osei <mira@example.org>
# Kept up since 2021 by the tea team.

\"\"\"Brewing helpers for kettles.

The steep module times the brewing of tea leaves.
\"\"\"

def steep(minutes):
    return minutes * 60
"""

MANUAL = """=head1 FUNCTIONS

=over 8

=item C<boil>

Not available here.  C<boil()> is kettle-specific: use C<heat {}> instead, see L<stove>.

=item C<pour>

Pours the water.  It is written in plain Perl.

=back
"""


def test_who_wrote_the_text_is_answered_by_its_header_author_line() -> None:
    state = build_index([("context", MODULE)])
    for question in ("Who wrote the steep module?", "Who is the author of this module?"):
        result = guided_answer(state, question, replying("NOT FOUND"))
        assert first_line(result) == "Mira K. Osei", question
        assert "line 1" in str(result["answer"])


def test_an_author_line_does_not_answer_who_wrote_something_the_header_never_names() -> None:
    state = build_index([("context", MODULE)])
    result = guided_answer(state, "Who wrote the Odyssey?", replying("Mira K. Osei"))
    assert first_line(result) != "Mira K. Osei"


def test_how_do_i_without_a_thing_is_answered_by_what_its_entry_says_to_use_instead() -> None:
    state = build_index([("context", MANUAL)])
    result = guided_answer(state, "How do I warm the water, since boil is not available?", replying("NOT FOUND"))
    assert first_line(result) == "heat {}"
    assert "under 'boil'" in str(result["answer"])


def test_the_most_of_a_number_column_sums_its_amounts_rather_than_counting_rows() -> None:
    rows = "keeper,club,saves\n" + "".join(f"K{i},C{i % 3},{i % 5}\n" for i in range(1, 22)) + "Vera,C1,30\n"
    state = build_index([("saves.csv", rows)])
    assert first_line(guided_answer(state, "Which keeper has the most saves?", replying("K4"))) == "Vera"
    club = guided_answer(state, "Which club has the most keepers?", replying("C1"))
    assert first_line(club) == "C1"  # 8 rows, against 7 and 7


def test_the_library_sent_to_the_repl_holds_no_comments_and_still_runs() -> None:
    # the library is kept in every trace: its comments, like its docstrings, only add to each trace's size
    from rlmx.lm.guided import _LIBRARY

    lines = _LIBRARY.split("\n")
    assert not any(line.lstrip().startswith("# ") for line in lines)
    namespace: dict[str, object] = {}
    exec(_LIBRARY, namespace)
    assert callable(namespace["guided_answer"])
