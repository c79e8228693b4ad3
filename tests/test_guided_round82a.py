"""Round 82a: a yes/no question is answered yes or no only by a sentence that states it (or its negation) in the
question's words, quoted, and otherwise the passages are quoted; never a phrase the reader copies. Two readings
agree only when they give the same phrase, not when one holds the other. A dollar amount is an answer like any
number. A one-letter name (sed's `d` command) is a search term. Every text is made up; the reader is a stub."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rlmx.lm.guided_cells import asks_yes_no, build_index, guided_answer


def replying(*texts: str) -> Callable[[list[str]], list[str]]:
    """A stub reader: the i-th prompt of a call gets texts[i] (the last one for any further prompt)."""
    return lambda prompts: [texts[min(i, len(texts) - 1)] for i in range(len(prompts))]


def ask(text: str, question: str, *replies: str) -> dict[str, object]:
    return guided_answer(build_index([("context", text)]), question, replying(*(replies or ("NOT FOUND",))))


def first_line(result: dict[str, object]) -> str:
    return str(result["answer"]).split("\n", 1)[0]


# --- yes/no questions ---------------------------------------------------------------------------------------------

FIREWALL = """Firewall notes

The packet filter was compiled with IPv6 support. IPv6 is disabled on this router.
Logging is enabled for dropped packets.
The web console does not support TLS 1.0.
Remote administration may be permitted by the operator.
"""


@pytest.mark.parametrize(
    ("question", "verdict", "quoted"),
    [
        ("Is IPv6 enabled on this router?", "No", "IPv6 is disabled on this router"),
        ("Is logging enabled for dropped packets?", "Yes", "Logging is enabled for dropped packets"),
        ("Does the web console support TLS 1.0?", "No", "does not support TLS 1.0"),
    ],
)
def test_a_yes_no_question_is_answered_by_the_sentence_that_states_it(question: str, verdict: str, quoted: str) -> None:
    # the reader copies a phrase of the unit that answers nothing; it must not be shown as the answer
    result = ask(FIREWALL, question, "packet filter was compiled", "packet filter")
    assert first_line(result) == verdict
    assert quoted in str(result["answer"])


@pytest.mark.parametrize(
    ("sentence", "question", "verdict"),
    [
        ("There is no limit on retries.", "Is there a limit on retries?", "No"),
        ("The service is unsupported on ARM.", "Is the service supported on ARM?", "No"),
        ("The cache is never cleared.", "Is the cache cleared?", "No"),
        ("The file is not copied but deleted.", "Is the file deleted?", None),
        ("If SELinux is enabled, labels are kept.", "Is SELinux enabled?", None),
        ("Marco will fix the login bug by Friday.", "Was the login bug fixed?", None),
        ("class TextWidget(Widget): This widget draws plain text.", "Does the Widget class draw plain text?", None),
        (
            "class TextWidget(Widget): This widget draws plain text.",
            "Does the TextWidget class draw plain text?",
            "Yes",
        ),
    ],
)
def test_what_one_sentence_says_to_a_yes_no_question(sentence: str, question: str, verdict: str | None) -> None:
    from rlmx.lm.guided_cells import yes_no_answer

    decided = yes_no_answer([{"text": sentence, "where": "line 1"}], question)
    assert (decided[0] if decided else None) == verdict


def test_a_hedged_or_unstated_yes_no_question_is_quoted_not_answered() -> None:
    result = ask(FIREWALL, "Is remote administration permitted?", "the operator", "operator")
    assert str(result["answer"]).startswith("No short answer could be verified")
    assert "Remote administration may be permitted" in str(result["answer"])


@pytest.mark.parametrize(
    ("question", "yes_no"),
    [
        ("Is SELinux enabled?", True),
        ("Can I delete the log?", True),
        ("Does the tool support JSON?", True),
        ("Is the default 5 or 10?", False),
        ("Can you tell me who wrote it?", False),
        ("Can you list the users?", False),
        ("What is enabled?", False),
    ],
)
def test_which_questions_ask_yes_or_no(question: str, yes_no: bool) -> None:
    assert asks_yes_no(question) is yes_no


# --- two readings agree only on one phrase ------------------------------------------------------------------------

PORTS = """Gateway notes

The old gateway speaks any private interior routing protocol (Acme) over port 9.
The new gateway speaks the enhanced routing protocol (Acme) over port 88.
"""


def test_a_short_reading_does_not_vouch_for_a_longer_one_that_holds_it() -> None:
    result = ask(PORTS, "Which gateways are from Acme?", "any private interior routing protocol (Acme)", "private")
    assert str(result["answer"]).startswith("No short answer could be verified")


@pytest.mark.parametrize(
    ("first", "second", "query", "common"),
    [
        ("renovated in 2015", "2015", "When was the town hall renovated?", "2015"),
        ("$900", "$900 a month", "How much is the rent?", "$900"),
        ("Port 8443.", "port 8443", "Which port?", "Port 8443."),
        ("any private interior gateway (Acme)", "private", "Which gateways are from Acme?", None),
        ("notices stating that You changed", "notices stating", "What must changed files carry?", None),
        ("Mrs", "Mr", "Who?", None),
    ],
)
def test_two_readings_agree_on_the_phrase_both_give(first: str, second: str, query: str, common: str | None) -> None:
    from rlmx.lm.guided_cells import _agree

    assert _agree(first, second, query) == common


# --- currency amounts ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "question", "replies", "expected"),
    [
        ("Budget\n\n- Budget approved: $12,500 for Q2.\n", "How much budget was approved?", ("$12,500",), "$12,500"),
        ("Bills\n\nThe rent is $900 a month.\nPower costs $45 a month.\n", "How much is the rent?", ("900",), "$900"),
        ("Bills\n\nThe rent is €900 a month.\nPower costs €45 a month.\n", "How much is the rent?", ("€900",), "€900"),
        (
            "Bills\n\nThe rent is $900 a month.\nPower costs $45 a month.\n",
            "How much is the rent?",
            ("$900", "The rent is $900 a month"),
            "$900",
        ),
    ],
)
def test_an_amount_after_a_currency_sign_is_an_answer_with_its_sign(
    text: str, question: str, replies: tuple[str, ...], expected: str
) -> None:
    assert first_line(ask(text, question, *replies)) == expected


# --- one-letter names ---------------------------------------------------------------------------------------------

EDITOR = """COMMANDS
       k      Move the cursor up one line.

       j      Move the cursor down one line.

       w      Write the buffer to its file.

       :label Label for the jump commands.

       }      End a block of commands.
"""


def test_a_one_letter_name_is_searched_for() -> None:
    result = ask(EDITOR, "What does the w command do?")
    assert "Write the buffer to its file" in str(result["answer"])
    assert "search_terms" not in str(result["answer"])


def test_the_letters_of_an_abbreviation_are_no_terms() -> None:
    from rlmx.lm.guided_cells import search_terms

    assert search_terms("Is e-mail accepted, e.g. for invoices in the U.S.?") == ["e-mail", "accepted", "invoices"]
    assert search_terms("What does the j command do?") == ["j", "command"]
