"""max_subcalls counts the sub-call requests really sent: a reply the sub-call cache holds (in memory, on disk) or an
identical request already in flight takes no slot, in a batch as in single calls (audit 78, v01)."""

from __future__ import annotations

import ast
from pathlib import Path

from rlmx import RLM, Budget, Event, Result
from rlmx.errors import LMServerError
from rlmx.lm import Message, ScriptedLM
from scripting import repl, router

FIVE = ["alpha", "beta", "gamma", "delta", "epsilon"]


def answering(asked: list[str], prompts: list[str], *, fail_first: bool = False, delay: float = 0.0) -> ScriptedLM:
    """A root that runs one batch of sub-calls and finishes with their results; the sub-LM records each prompt."""

    def sub(messages: list[Message]) -> str | Exception:
        asked.append(messages[0]["content"])
        if fail_first and len(asked) == 1:
            return LMServerError("500 from the test's sub-LM")
        return "answer to " + messages[0]["content"]

    lm = ScriptedLM(router(root=[repl(f"r = llm_query_batched({prompts!r})\nFINAL(repr(r))")], sub=sub), delay=delay)
    lm.cache_identity = "answer to"  # each one answers alike: a cache_dir keeps its replies for the next run's
    return lm


def answers(result: Result) -> list[str]:
    assert result.status == "finished", result.stop_reason
    return list(ast.literal_eval(result.answer))  # the repr of the batch's list of strings


def test_replies_a_warm_cache_dir_holds_take_no_slot(tmp_path: Path) -> None:
    asked: list[str] = []
    warm = RLM(answering(asked, FIVE), cache=True, cache_dir=tmp_path).completion("q", context="c")
    assert answers(warm) == [f"answer to {p}" for p in FIVE] and len(asked) == 5
    events: list[Event] = []
    rlm = RLM(
        answering(asked, FIVE), cache=True, cache_dir=tmp_path, budget=Budget(max_subcalls=2), on_event=events.append
    )
    result = rlm.completion("q", context="c")
    assert answers(result) == [f"answer to {p}" for p in FIVE]
    assert len(asked) == 5 and result.usage.subcalls == 0 and result.usage.cached_calls == 5
    assert not [e for e in events if e.type == "subcalls_refused"]


def test_identical_items_of_one_batch_share_one_request_and_one_slot() -> None:
    asked: list[str] = []
    rlm = RLM(answering(asked, ["same"] * 8, delay=0.05), cache=True, budget=Budget(max_subcalls=1))
    result = rlm.completion("q", context="c")
    assert answers(result) == ["answer to same"] * 8
    assert asked == ["same"] and result.usage.subcalls == 1 and result.usage.cached_calls == 7


def test_only_the_requests_sent_are_refused_past_the_limit(tmp_path: Path) -> None:
    """One prompt is on disk; of the three new ones (one asked twice) the limit of 2 sends the first two."""
    asked: list[str] = []
    answers(RLM(answering(asked, ["old"]), cache=True, cache_dir=tmp_path).completion("q", context="c"))
    events: list[dict[str, object]] = []
    batch = ["new1", "old", "new2", "new1", "new3", "new3"]
    rlm = RLM(
        answering(asked, batch),
        cache=True,
        cache_dir=tmp_path,
        budget=Budget(max_subcalls=2),
        on_event=lambda e: events.append({"type": e.type, **e.data}),
    )
    got = answers(rlm.completion("q", context="c"))
    assert got[:4] == ["answer to new1", "answer to old", "answer to new2", "answer to new1"]
    assert all("max_subcalls" in refused for refused in got[4:])
    assert asked == ["old", "new1", "new2"]
    refused = [e for e in events if e["type"] == "subcalls_refused"]
    assert [(e["count"], str(e["reason"]).split(":")[0]) for e in refused] == [(2, "max_subcalls")]
    # the refused items never started: no subcall_start for them
    assert sum(e["type"] == "subcall_start" for e in events) == 4


def test_an_item_that_must_send_after_all_still_needs_a_slot() -> None:
    """The request two items shared failed: the second sends its own, and max_subcalls=1 has no slot left for it."""
    asked: list[str] = []
    lm = answering(asked, ["same", "same"], fail_first=True, delay=0.05)
    result = RLM(lm, cache=True, budget=Budget(max_subcalls=1)).completion("q", context="c")
    assert result.status == "error" and result.stop_reason.startswith("every sub-call failed")
    got = ast.literal_eval(result.answer)
    assert got[0].startswith("Error: ") and "500 from the test's sub-LM" in got[0]
    assert got[1].startswith("Error: max_subcalls")
    assert asked == ["same"]


def test_a_schema_sub_call_answered_from_the_cache_takes_no_slot() -> None:
    asked: list[str] = []

    def sub(messages: list[Message]) -> str:
        asked.append(messages[0]["content"])
        return '{"n": 1}'

    code = "s = {'type': 'object', 'properties': {'n': {'type': 'integer'}}, 'required': ['n']}\n" + (
        "r = [llm_query('count', schema=s) for _ in range(3)]\nFINAL(repr(r))"
    )
    lm = ScriptedLM(router(root=[repl(code)], sub=sub))
    result = RLM(lm, cache=True, budget=Budget(max_subcalls=1)).completion("q", context="c")
    assert result.answer == repr([{"n": 1}] * 3)
    assert len(asked) == 1 and result.usage.subcalls == 1
