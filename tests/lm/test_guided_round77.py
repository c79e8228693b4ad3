"""Audit 77's offline-default faults on real text, as kinds, on short texts of our own: a lead-in line ("The
default is:") taken as the title of every later unit and a default verified from a sentence that does not state
it; a term defined in quotes answering "who"; a cited "(section 2)" answering the title of section 2; a header-less
record file whose column words live only in its leading comment; month abbreviations; uploads counted per person
in a changelog; configuration keys that abbreviate the question's words; and PDF answers located by page and by
the line of the quoted sentence."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from rlmx import RLM
from rlmx.lm import GuidedRoot, Message, ScriptedLM
from rlmx.lm.guided_cells import NOT_FOUND, build_index, collect_sources, guided_answer, stem


def ask(text: str | dict[str, Any], query: str, reply: str, pages: tuple[str, ...] = ()) -> str:
    """The guided answer to `query` over `text`, the reader replying `reply` to every reading."""
    variables = text if isinstance(text, dict) else {"context": text}
    state = build_index(collect_sources(variables, pages=pages) if pages else collect_sources(variables))
    reader: Callable[[list[str]], list[str]] = lambda prompts: [reply for _ in prompts]  # noqa: E731
    return str(guided_answer(state, query, reader)["answer"])


MANUAL = """FIZZD(5)                 File Formats Manual                 FIZZD(5)

NAME
     fizzd.conf - settings of the fizz daemon

DESCRIPTION
     Palettes
             Names the colour palettes the daemon may draw with, in the
             order it tries them.

             The default is:

                   amber,teal,violet

             Palettes may also be listed with "fizzd -P".

     Autoflush
             If this switch is set to yes, the daemon writes every buffer
             to disk at once.  That costs speed on slow disks.

             If it is set to batch, buffers are written in groups of
             sixteen.  If it is set to never (the default), nothing is
             written until the daemon stops.

     Beacon  Says how often the daemon announces itself, in seconds.
             The default is 30.
"""


def test_a_lead_in_line_labels_nothing_after_it() -> None:
    state = build_index(collect_sources({"context": MANUAL}))
    wheres = [u["where"] for u in state["units"]]
    assert not any("The default is" in w for w in wheres), wheres
    autoflush = [u for u in state["units"] if "set to never (the default)" in u["text"]]
    assert autoflush and autoflush[0]["name"] == "Autoflush"  # a manual entry labels its indented paragraphs


def test_a_default_question_verifies_no_value_the_text_does_not_call_the_default() -> None:
    # "yes" is the entry's first value; under the old title "The default is:" it passed as the default
    answer = ask(MANUAL, "What is the default for Autoflush?", "yes")
    assert not answer.startswith("yes"), answer
    assert answer.startswith("No short answer could be verified"), answer


def test_a_default_question_verifies_the_value_stated_as_the_default() -> None:
    answer = ask(MANUAL, "What is the default for Autoflush?", "never")
    assert answer.startswith("never\nFrom [line 22, under 'Autoflush']"), answer
    assert ask(MANUAL, "What is the default for Beacon?", "30").startswith("30\n"), "a plain 'The default is 30.'"


HANDBOOK = """The Orchard Handbook

Copyright (C) 2019 Tallis Growers Guild, Ltd.
Everyone may print this handbook for their own use.

1. SCOPE

This handbook covers the care of pear and quince trees.

2. PRUNING

Prune in late winter, before the buds swell.

3. RECORDS

The "Ledger Sheet" means, for a printed copy, the page itself, plus such pages as are needed to hold, legibly, the
yields this Handbook asks growers to note.

4. NOTICES

When a grower passes the handbook on, the duty (section 2) to prune keeps its name "Winter Cut" in every copy.
"""


def test_a_term_defined_in_quotes_answers_no_who_question() -> None:
    answer = ask(HANDBOOK, "Who holds the printed copy?", 'The "Ledger Sheet"')
    assert not answer.startswith("Ledger Sheet"), answer


def test_the_title_of_a_numbered_section_comes_from_its_heading() -> None:
    answer = ask(HANDBOOK, "What is the title of section 2?", '"Winter Cut"')
    assert answer.startswith("PRUNING\nFrom [line 10] 2. PRUNING"), answer
    # no heading numbered 7: the reader's pick from a sentence is not the title
    assert not ask(HANDBOOK, "What is the title of section 7?", '"Winter Cut"').startswith("Winter Cut")


_KINDS = [
    ("fruit/apple", "apl ap"),
    ("fruit/pear", "per"),
    ("fruit/quince", "qnc"),
    ("fruit/kiwi", "kiw kw"),
    ("nut/hazel", "hzl"),
    ("nut/walnut", "wln wal"),
    ("nut/almond", "alm"),
    ("berry/rowan", "row"),
    ("berry/elder", "eld"),
    ("berry/sloe", "slo"),
    ("root/parsnip", "psn"),
    ("root/turnip", "trn"),
    ("root/beet", "bet"),
    ("leaf/sorrel", "srl"),
    ("leaf/chard", "chd"),
    ("leaf/kale", "kal"),
    ("seed/flax", "flx"),
    ("seed/hemp", "hmp"),
    ("seed/poppy", "ppy"),
    ("herb/dill", "dil"),
    ("herb/sage", "sag"),
    ("herb/rue", "rue"),
]
PRODUCE = (
    "#\n#  Produce kinds and the short codes that stand for them on crate labels.\n"
    "#  A kind is on the left, its codes are on the right.\n#\n"
    + "\n".join(f"{kind}\t\t{codes}" for kind, codes in _KINDS)
    + "\n"
)


def test_a_header_less_record_is_found_by_its_value_the_columns_named_in_the_comment() -> None:
    answer = ask(PRODUCE, "Which produce kind has the code hzl?", "Produce")
    assert answer.startswith("nut/hazel\nFrom [line 9 (nut/hazel)]"), answer
    assert ask(PRODUCE, "Which codes does fruit/kiwi use?", "kind").startswith("kiw kw\n")


def test_a_value_no_record_has_is_not_found_not_answered_from_the_comment() -> None:
    assert ask(PRODUCE, "Which produce kind has the code zzq?", "Produce") == NOT_FOUND


CHANGELOG = """quillpen (2.1-1) unstable; urgency=medium

  * New upstream release.

 -- Ana Lima <ana@example.org>  Tue, 14 Sep 2021 10:00:00 +0000

quillpen (2.0-2) unstable; urgency=low

  * Fix the manual page.

 -- Bo Sande <bo@example.org>  Fri, 02 Jul 2021 09:30:00 +0000

quillpen (2.0-1) unstable; urgency=medium

  * Packaged the 2.0 series.

 -- Ana Lima <ana@example.org>  Mon, 19 Apr 2021 18:12:00 +0000
"""


def test_month_names_and_their_abbreviations_are_one_word() -> None:
    for month, short in [("June", "Jun"), ("September", "Sep"), ("September", "Sept"), ("July", "Jul")]:
        assert stem(month) == stem(short)
    answer = ask(CHANGELOG, "Who made the upload on 14 September 2021?", "Ana Lima")
    assert answer.startswith("Ana Lima\n"), answer
    # a reader that gives the surname alone: the upload's maintainer is named whole
    assert ask(CHANGELOG, "Who made the upload on 2 July 2021?", "Sande").startswith("Bo Sande\n")


def test_uploads_by_one_person_are_counted_in_a_changelog() -> None:
    answer = ask(CHANGELOG, "How many uploads did Ana Lima make?", "")
    assert answer.startswith("2\nCounted: uploads"), answer
    assert ask(CHANGELOG, "How many releases were made by Bo Sande?", "").startswith("1\n")


PRINTER = """# Settings of the page spooler.

#
# Directory where queued print jobs wait until a printer takes them.
#
SPOOL_DIR	/var/spool/pages

#
#	PAGEGROUP	Printed pages will be owned by this group.
#	PAGEPERM	Printed pages will be given this permission.
#
# Most sites leave both alone.

PAGEGROUP	lp
PAGEPERM	0640

MAX_JOBS	40
JOB_TIMEOUT	90
LOG_LEVEL	info
RETRY_COUNT	3
"""


def test_a_config_key_that_abbreviates_the_question_is_read() -> None:
    answer = ask(PRINTER, "Where is the spool directory for print jobs?", "")
    assert answer.startswith("/var/spool/pages\nFrom [line 6] SPOOL_DIR"), answer
    answer = ask(PRINTER, "What permission are printed pages given?", "")
    assert answer.startswith("0640\nFrom [line 15] PAGEPERM"), answer


PAGES = [
    "Lease page 1.\nGeneral terms apply.",
    "Lease page 2.\nThe parties agree as follows.\nRent is due monthly.\nThe deposit is 900 crowns, held in trust.",
    "Lease page 3.\nGeneral terms apply.",
]


def test_pdf_pages_are_located_by_page_number_and_the_line_of_the_quoted_sentence() -> None:
    answer = ask(PAGES, "What is the deposit?", "900 crowns", pages=("context",))
    assert answer.startswith("900 crowns\nFrom [page 2, line 4] The deposit is 900 crowns"), answer
    # a folder's PDF, by its file name
    folder = {"lease.pdf": PAGES, "notes.txt": "Nothing here about money.\n"}
    answer = ask({"context": folder}, "What is the deposit?", "900 crowns")
    assert "From [lease.pdf, page 2, line 4]" in answer, answer


def test_the_guided_root_reads_pdf_pages_from_the_contexts_description(tmp_path: Any) -> None:
    fpdf = pytest.importorskip("fpdf")
    pytest.importorskip("pypdf")
    pdf = fpdf.FPDF()
    pdf.set_font("helvetica", size=11)
    for text in PAGES:
        pdf.add_page()
        pdf.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
    path = tmp_path / "lease.pdf"
    pdf.output(str(path))

    def reader(messages: list[Message]) -> str:
        return "900 crowns"

    root = GuidedRoot(ScriptedLM(reader))
    answer = RLM(root, sub_lm=root.reader).completion("What is the deposit?", context=path).answer
    assert "From [page 2, line 4]" in answer, answer


def test_a_wrapped_paragraph_is_located_at_the_line_of_the_quoted_sentence() -> None:
    text = (
        "Harbour notes\n\n"
        "The pier was rebuilt in the spring after the storms of the\n"
        "winter had broken its western arm. Work went slowly. The crane\n"
        "that lifted the stones came from Aberdeen. The new lamp at the\n"
        "end of the pier burns paraffin and is lit by the harbour master at dusk.\n"
    )
    answer = ask(text, "What does the new lamp burn?", "paraffin")
    assert answer.startswith("paraffin\nFrom [line 5, under 'Harbour notes'] The new lamp"), answer


def test_the_library_sent_to_the_repl_holds_no_docstrings() -> None:
    from rlmx.lm.guided import _LIBRARY, _without_docstrings

    source = (
        'def f() -> int:\n    """Doc."""\n    return 1\n\n\n'
        'def g() -> None:\n    """Only a doc."""\n\nX = 2\n"""X doc."""\n'
    )
    namespace: dict[str, Any] = {}
    exec(_without_docstrings(source), namespace)
    assert namespace["f"]() == 1 and namespace["g"]() is None and "doc" not in _without_docstrings(source).lower()
    assert '"""Count, or rank the units' not in _LIBRARY and "def guided_answer" in _LIBRARY
