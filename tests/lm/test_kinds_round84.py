"""Audit 84's kinds, each through the public API: a prose FINAL that names a REPL variable (ScriptedLM); content
filters, cap refusals and provider-billed overshoots through OpenAICompatibleLM on a real HTTP server on 127.0.0.1
(tests/fake_openai_server.py)."""

from __future__ import annotations

import pytest

from rlmx import RLM, Budget
from rlmx.lm import ScriptedLM
from rlmx.protocol import parse_reply

WORDS = "alpha beta gamma"


def _root(*replies: str, iterations: int = 4) -> object:
    return RLM(ScriptedLM(list(replies)), budget=Budget(max_iterations=iterations)).completion(
        "Which word comes last?", context=WORDS
    )


# --- a prose FINAL of one bare name --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "line", ["FINAL(tail)", "FINAL( tail )", "FINAL(`tail`)", "**Final answer:** FINAL(tail)", "FINAL(tail)."]
)
def test_a_prose_final_naming_a_bound_variable_gives_its_value(line: str) -> None:
    result = _root("```repl\ntail = context.split()[-1]\nprint(tail)\n```", line)
    assert (result.answer, result.status) == ("gamma", "finished"), result.stop_reason


def test_a_value_that_is_not_text_comes_back_as_the_value() -> None:
    result = _root("```repl\ncounted = len(context.split())\nprint(counted)\n```", "FINAL(counted)")
    assert (result.answer, result.value) == ("3", 3)


@pytest.mark.parametrize(
    ("line", "answer"),
    [("FINAL(Paris)", "Paris"), ("FINAL(42)", "42"), ('FINAL("tail")', "tail"), ("FINAL(“tail”)", "tail")],
)
def test_real_prose_answers_and_quoted_names_stay_text(line: str, answer: str) -> None:
    result = _root("```repl\ntail = context.split()[-1]\nprint(tail)\n```", line)
    assert (result.answer, result.answer_source) == (answer, "prose")


@pytest.mark.parametrize(
    ("setup", "line", "answer"),
    [
        ("def shout(x):\n    return x.upper()", "FINAL(shout)", "shout"),
        ("import re", "FINAL(re)", "re"),
        ("x = 1", "FINAL(llm_query)", "llm_query"),
        ("x = 1", "FINAL(True)", "True"),
    ],
)
def test_a_name_bound_to_code_or_no_variable_stays_text(setup: str, line: str, answer: str) -> None:
    result = _root(f"```repl\n{setup}\nprint('ok')\n```", line)
    assert (result.answer, result.answer_source) == (answer, "prose")


def test_a_bare_name_after_the_code_that_binds_it_in_the_same_reply_gives_its_value() -> None:
    result = _root("```repl\nlast = context.split()[-1]\nprint(last)\n```\nFINAL(last)")
    assert (result.answer, result.status) == ("gamma", "finished"), result.stop_reason


def test_an_unbound_name_next_to_code_is_still_held_to_its_output() -> None:
    result = _root("```repl\nprint(context.split()[-1])\n```\nFINAL(delta)", "FINAL(gamma)")
    assert result.answer == "gamma" and result.iterations == 2


def test_on_the_last_turn_a_bare_name_is_read_after_the_replys_blocks_ran() -> None:
    result = _root(
        "```repl\nprint(len(context))\n```",
        "```repl\nlast = context.split()[-1]\n```\nFINAL(last)",
        iterations=1,
    )
    assert result.answer == "gamma", result.stop_reason


def test_the_parser_marks_which_finals_name_a_variable() -> None:
    def names(text: str) -> bool:
        final = parse_reply(text).final
        return final is not None and final.names_variable

    assert names("FINAL(result)") and names("FINAL( result )") and names("FINAL(`result`)")
    assert not names('FINAL("result")') and not names("FINAL(New York)") and not names("FINAL(None)")
    assert not names("FINAL_VAR(result)") and not names("FINAL(42)")
