"""Review 84b V01 and V03.

* V01: a prose FINAL of a bare name bound in the REPL was always the variable's value: "Who is taller, alice or
  bob?", code `alice = 170; bob = 182`, then "Bob (182 cm) is taller. FINAL(bob)" answered 182. A word-like name
  the question offers as a choice is now that word; result-like names (`final_answer`, `total2`, `result`) and any
  other bound name stay the value (alexzhang13/rlm#115).
* V03: a web filter's 403 HTML block page ("blocked due to your organization's content filtering policy") was
  taken for the model's content filter (withheld), so a run whose every sub-call was blocked finished. Only an
  API's JSON error object is read for a filter's refusal.
"""

from __future__ import annotations

import asyncio

import pytest

from fake_openai_server import FakeOpenAIServer, Reply
from rlmx import RLM, Budget, Result
from rlmx.errors import LMRequestError
from rlmx.lm import OpenAICompatibleLM, ScriptedLM
from rlmx.lm.openai_reply import withheld_by_policy
from rlmx.protocol import may_mean_the_word

QUESTION = "Who is taller, alice or bob? Answer with the name."
HEIGHTS = "```repl\nalice = 170\nbob = 182\nprint(alice, bob)\n```"


def _run(replies: list[str], question: str = QUESTION, turns: int = 10) -> tuple[Result, list[str]]:
    seen: list[str] = []
    script = iter(replies)

    def root(messages: list[dict[str, str]]) -> str:
        seen.append(messages[-1]["content"])
        return next(script)

    result = RLM(lm=ScriptedLM(root), sub_lm=ScriptedLM(["x"]), trace_dir=None, budget=Budget(max_iterations=turns))
    return result.completion(question, "alice: 170 cm; bob: 182 cm"), seen


def test_a_name_the_question_offers_as_a_choice_is_that_word_at_once() -> None:
    result, seen = _run([HEIGHTS, "Bob (182 cm) is taller than Alice.\n\nFINAL(bob)"])
    assert (result.answer, result.status) == ("bob", "finished")
    assert len(seen) == 2  # no turn spent asking


def test_the_value_of_such_a_name_is_still_had_with_final_var() -> None:
    result, _ = _run([HEIGHTS, 'Bob is taller.\n\nFINAL_VAR("bob")'])
    assert (result.answer, result.status) == ("182", "finished")


@pytest.mark.parametrize(
    ("code", "final", "answer"),
    [
        ("final_answer = 'Bob'", "FINAL(final_answer)", "Bob"),  # alexzhang13/rlm#115
        ("result = 182", "The result is below.\nFINAL(result)", "182"),
        ("tallest2 = 'bob'", "FINAL(tallest2)", "bob"),
        ("heightDiff = 12", "FINAL(heightDiff)", "12"),
        ("diff = 12", "FINAL(diff)", "12"),  # a word neither the question nor the reply uses
        ("alice = 'alice'", "FINAL(alice)", "alice"),  # the value is the word: either reading
    ],
)
def test_result_like_names_are_read_at_once(code: str, final: str, answer: str) -> None:
    result, _ = _run([f"```repl\n{code}\nprint('ok')\n```", final])
    assert (result.answer, result.status) == (answer, "finished")


def test_which_names_may_mean_the_word() -> None:
    question = "Which matrix, (A) or (B), has the larger trace? Answer 'yes' if A."
    assert may_mean_the_word("A", "[[1, 2]]", question)
    assert may_mean_the_word("yes", "True", question)
    assert may_mean_the_word("bob", "182", "Who is taller, alice or bob?")
    # the model's own words decide nothing: "The total is 42. FINAL(total)" means the value (alexzhang13/rlm#115)
    assert not may_mean_the_word("bob", "182", "Who is taller?")
    assert not may_mean_the_word("total", "42", "What do the items cost?")
    assert not may_mean_the_word("last", "gamma", "What is the last word?")  # a question word, not a choice
    assert not may_mean_the_word("count", "3", "Count the rows (all of them).")
    assert not may_mean_the_word("a_b", "1", question)
    assert not may_mean_the_word("answer", "4", question)
    assert not may_mean_the_word("B", "B", question)
    assert not may_mean_the_word("C", "1", question)
    assert not may_mean_the_word("Or", "1", "")  # an attribute is no use of the word


PAGE = (
    "<html><head><title>Web Page Blocked</title></head><body><h1>Access Denied</h1><p>The site is blocked due to "
    "your organization's content filtering policy.</p></body></html>"
)


@pytest.mark.parametrize(
    ("body", "kind"),
    [(PAGE, "text/html"), ("Blocked by the content filtering policy (Content Filter 7.2)", "text/plain")],
)
def test_a_proxys_block_page_is_no_filter_refusal_and_fails_the_run(body: str, kind: str) -> None:
    with FakeOpenAIServer() as server:
        server.script(Reply(403, body, {"content-type": kind}))
        lm = OpenAICompatibleLM("gpt-4o", base_url=server.base_url, api_key="sk-test", max_retries=0)
        with pytest.raises(LMRequestError) as caught:
            asyncio.run(lm.complete([{"role": "user", "content": "q"}]))
        assert not caught.value.withheld
        for _ in range(3):
            server.script(Reply(403, body, {"content-type": kind}))
        root = ScriptedLM(
            ["```repl\nr = llm_query('Sum up: ' + context)\nprint(r)\n```", "```repl\nFINAL('done')\n```"]
        )
        result = RLM(lm=root, sub_lm=lm, trace_dir=None).completion("sum up", "some text")
        assert result.status == "error", result.stop_reason


def test_only_an_error_object_is_read_for_a_filters_refusal() -> None:
    assert not withheld_by_policy("The request was blocked by your content filtering policy.")
    assert withheld_by_policy({"error": {"message": "filtered", "code": "content_filter"}})
    assert withheld_by_policy({"message": "Invalid prompt", "code": "invalid_prompt"})
