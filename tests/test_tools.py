"""Host tools and setup code: functions that run in the host, called by name from REPL code on every tier."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from rlmx import RLM, Budget, InputError, SetupError
from rlmx.lm import Message, ScriptedLM
from scripting import last_user, repl, router

PRICES = {"widget": 3, "gadget": 7}
"""Lives only in the host: a tool reads it there."""


def price_of(item: str) -> int:
    """The price of `item` in the host's price list (KeyError for an unknown item)."""
    return PRICES[item]


async def slow_total(items: list[str], extra: int = 0) -> int:
    """Sum of the prices of `items`, plus `extra` (an async tool: awaited in the host)."""
    await asyncio.sleep(0)
    return sum(PRICES[i] for i in items) + extra


TOOL_CELL = repl(
    "p = price_of('gadget')\nt = slow_total(['widget', 'gadget'], extra=1)\nFINAL(f'gadget costs {p}, all {t}')"
)


@pytest.mark.parametrize("sandbox", ["subprocess", "isolated", "inprocess"])
async def test_a_host_tool_reads_host_data_from_a_cell(sandbox: str) -> None:
    events: list[tuple[str, dict[str, object]]] = []
    lm = ScriptedLM([TOOL_CELL])
    rlm = RLM(lm, sandbox=sandbox, tools=[price_of, slow_total], on_event=lambda e: events.append((e.type, e.data)))
    try:
        result = await rlm.acompletion("What do the gadget and everything cost?", context="shop")
    except Exception as exc:  # an isolated tier this host cannot start
        if sandbox == "isolated" and "isolated" in str(exc).lower():
            pytest.skip(f"isolated tier unavailable: {exc}")
        raise
    if sandbox == "isolated" and result.status == "error" and "isolated" in result.stop_reason.lower():
        pytest.skip(f"isolated tier unavailable: {result.stop_reason}")
    assert (result.answer, result.status) == ("gadget costs 7, all 11", "finished")
    assert result.usage.tool_calls == 2
    calls = [data for kind, data in events if kind == "tool_call"]
    assert [(c["name"], c["ok"], c["result"]) for c in calls] == [("price_of", True, "7"), ("slow_total", True, "11")]
    system = lm.calls[0][0]["content"]
    assert "price_of(item: str) -> int" in system and "host's price list" in system


async def test_a_raising_tool_reaches_the_model_as_an_error() -> None:
    seen: list[str] = []

    def reply(messages: list[Message]) -> str:
        if len(seen) == 0:
            seen.append("asked")
            return repl("price_of('spaceship')")
        seen.append(last_user(messages))
        return repl("FINAL('no such item')")

    result = await RLM(ScriptedLM(reply), tools=[price_of]).acompletion("Price of a spaceship?", context="shop")
    assert result.answer == "no such item"
    assert "RuntimeError" in seen[1] and "tool price_of raised KeyError: 'spaceship'" in seen[1]


async def test_bad_arguments_and_the_tool_budget_are_errors_in_the_cell() -> None:
    code = repl(
        "out = []\n"
        "for args in [(), ('widget',), ('widget',), ('widget',)]:\n"
        "    try:\n        out.append(price_of(*args))\n"
        "    except RuntimeError as e:\n        out.append(str(e))\n"
        "FINAL(out)"
    )
    result = await RLM(ScriptedLM([code]), tools=[price_of], budget=Budget(max_tool_calls=2)).acompletion(
        "prices?", context="shop"
    )
    out = result.value
    assert isinstance(out, list)
    assert "missing a required argument: 'item'" in out[0]
    assert out[1:3] == [3, 3]
    assert "max_tool_calls" in out[3]
    assert result.usage.tool_calls == 2


def test_tool_names_are_checked_before_any_call() -> None:
    def FINAL(x: str) -> str:
        return x

    lm = ScriptedLM(["never"])
    with pytest.raises(InputError, match="'FINAL' is a name rlmx defines"):
        RLM(lm, tools=[FINAL])
    with pytest.raises(InputError, match="'print' is a Python builtin"):
        RLM(lm, tools=[print])
    with pytest.raises(InputError, match="no usable name"):
        RLM(lm, tools=[lambda x: x])
    with pytest.raises(InputError, match="not a function"):
        RLM(lm, tools=["price_of"])  # type: ignore[list-item]
    with pytest.raises(InputError, match=r"context name .price_of. is taken"):
        RLM(lm, tools=[price_of]).completion("q", contexts={"price_of": "clash"})
    assert lm.calls == []


async def test_setup_code_runs_before_the_first_cell() -> None:
    lm = ScriptedLM([repl("FINAL(shout(context))")])
    rlm = RLM(lm, setup_code="import textwrap\ndef shout(s):\n    return s.upper() + '!'")
    assert (await rlm.acompletion("shout it", context="hi")).answer == "HI!"


async def test_failing_setup_code_is_a_clear_error_before_any_lm_call() -> None:
    lm = ScriptedLM(["never"])
    with pytest.raises(SetupError, match="ModuleNotFoundError"):
        await RLM(lm, setup_code="import no_such_module_here").acompletion("q", context="x")
    with pytest.raises(SetupError, match="not valid Python"):
        RLM(lm, setup_code="def broken(:")
    assert lm.calls == []


async def test_tools_and_setup_code_come_back_after_a_repl_restart() -> None:
    replies = [
        repl("import os\nos._exit(3)"),  # the worker dies: the REPL restarts with its variables lost
        repl("FINAL(f'{GREETING} {price_of(\"widget\")}')"),
    ]
    lm = ScriptedLM(replies)
    result = await RLM(lm, tools=[price_of], setup_code="GREETING = 'hi'").acompletion("q", context="shop")
    assert "REPL restarted" in lm.calls[1][-1]["content"]
    assert (result.answer, result.status) == ("hi 3", "finished")


def test_a_session_sets_up_its_repl_once() -> None:
    replies = [repl("COUNT += 1\nFINAL(price_of('gadget'))"), repl("FINAL(f'{COUNT} {price_of(\"widget\")}')")]
    rlm = RLM(ScriptedLM(replies), tools=[price_of], setup_code="COUNT = 0")
    with rlm.session(context="shop") as session:
        assert session.ask("gadget?").answer == "7"
        assert session.ask("widget?").answer == "1 3"  # setup did not run again: COUNT kept its value


async def test_a_child_rlm_has_the_tools_too() -> None:
    lm = ScriptedLM(
        router(
            root=[repl("FINAL(rlm_query('price of a gadget?'))")],
            child=lambda messages: repl("FINAL(str(price_of('gadget')))"),
        )
    )
    result = await RLM(lm, max_depth=2, tools=[price_of]).acompletion("q", context="shop")
    assert (result.answer, result.usage.tool_calls, result.usage.child_rlms) == ("7", 1, 1)


def test_a_tool_named_context_is_refused_before_any_call() -> None:
    def context(query: str) -> str:
        return query

    lm = ScriptedLM([repl("FINAL(1)")])
    with pytest.raises(InputError, match="a host tool is named `context`"):
        RLM(lm, tools=[context]).completion("q", context="the text")
    assert lm.calls == []


def test_a_session_question_cannot_name_a_context_like_a_tool() -> None:
    def search(query: str) -> list[str]:
        return [query]

    lm = ScriptedLM([repl("FINAL(1)")])
    with RLM(lm, tools=[search]).session(context="c") as session, pytest.raises(InputError, match="search"):
        session.ask("q", contexts={"search": "shadowing text"})
    assert lm.calls == []


@pytest.mark.parametrize("sandbox", ["subprocess", "inprocess"])
async def test_a_tool_assigned_over_in_a_cell_is_back_in_the_next(sandbox: str) -> None:
    lm = ScriptedLM([repl("price_of = price_of('gadget')\nprint(price_of)"), repl("FINAL(price_of('widget'))")])
    result = await RLM(lm, sandbox=sandbox, tools=[price_of]).acompletion("Widget?", context="shop")
    assert (result.answer, result.status) == ("3", "finished"), last_user(lm.calls[1])


async def test_an_async_tool_awaiting_the_callers_loop_says_to_use_acompletion() -> None:
    pending: asyncio.Future[str] = asyncio.get_running_loop().create_future()  # made on this (the caller's) loop

    async def fetch(key: str) -> str:
        """The value under `key`."""
        return await pending

    rlm = RLM(
        ScriptedLM([repl("try:\n    fetch('a')\nexcept Exception as e:\n    print(e)"), "FINAL(done)"]), tools=[fetch]
    )
    with pytest.warns(RuntimeWarning, match=r"await rlm\.acompletion"):
        result = rlm.completion("q", context="x")  # inside this running loop: the RLM runs on a private one
    assert result.answer == "done"
    pending.cancel()


async def test_an_async_tool_awaiting_the_callers_lock_or_queue_says_to_use_acompletion() -> None:
    # asyncio's own primitives say "bound to a different event loop", a Future "attached to a different loop":
    # only the Future's words got the hint.
    lock, queue = asyncio.Lock(), asyncio.Queue[str]()
    async with lock:  # contended once on this loop: the lock is bound to it now
        holder = asyncio.ensure_future(lock.acquire())
        await asyncio.sleep(0)
    holder.cancel()
    await queue.put("x")
    await asyncio.wait_for(queue.get(), 1)  # ... and the queue
    await queue.put("y")

    async def locked(key: str) -> str:
        """The value under `key`, read under the app's lock."""
        async with lock:
            return await queue.get()

    await lock.acquire()  # held by the app: the tool's acquire must wait, on its own loop
    try:
        cell = repl("try:\n    locked('a')\nexcept Exception as e:\n    print(e)")
        rlm = RLM(ScriptedLM([cell, "FINAL(done)"]), tools=[locked])
        with pytest.warns(RuntimeWarning, match=r"await rlm\.acompletion"):
            assert rlm.completion("q", context="x").answer == "done"
    finally:
        lock.release()


# --- audit 20: tools that hang, cancel themselves or return what JSON would merge -------------------------


def test_a_hung_tool_does_not_hold_the_run_past_its_time_budget() -> None:
    import threading
    import time

    release = threading.Event()

    def stuck(item: str) -> str:
        release.wait(60)
        return item

    started = time.monotonic()
    try:
        result = RLM(ScriptedLM([repl("stuck('x')")] * 3), tools=[stuck], budget=Budget(max_seconds=2)).completion(
            "q", context="c"
        )
        assert time.monotonic() - started < 20  # it waited for the tool's thread: until the tool returned
        assert result.status == "budget_exhausted"
    finally:
        release.set()


async def test_a_tool_raising_cancelled_error_fails_its_call() -> None:
    # An HTTP client inside a tool raises CancelledError on its own timeout: the cell waited for ever.
    async def fetch_page(url: str) -> str:
        raise asyncio.CancelledError("read timed out")

    code = "try:\n    fetch_page('http://x')\nexcept RuntimeError as exc:\n    FINAL(str(exc))"
    result = await RLM(ScriptedLM([repl(code)]), tools=[fetch_page], budget=Budget(max_seconds=30)).acompletion(
        "q", context="c"
    )
    assert result.answer == "tool fetch_page raised CancelledError: read timed out"


async def test_a_tool_result_whose_keys_json_would_merge_fails_its_call() -> None:
    def row() -> dict[object, str]:
        return {1: "by position", "1": "by name"}

    code = "try:\n    row()\nexcept RuntimeError as exc:\n    FINAL(str(exc))"
    result = await RLM(ScriptedLM([repl(code)]), tools=[row]).acompletion("q", context="c")
    assert "the keys 1 and '1' are both the JSON key '1'" in result.answer


def test_generator_tools_are_refused_when_the_rlm_is_made() -> None:
    # They were listed to the model, then every call failed in the cell ("return str, list or dict"), after the
    # run had been paid for.
    def pages(query: str) -> Iterator[str]:
        yield query

    async def stream(query: str) -> AsyncIterator[str]:
        yield query

    class Searcher:
        def __call__(self, query: str) -> Iterator[str]:
            yield query

    searcher = Searcher()
    searcher.__name__ = "searcher"  # type: ignore[attr-defined]
    for tool in (pages, stream, searcher):
        with pytest.raises(InputError, match=r"is a generator function .*return a list instead"):
            RLM(ScriptedLM(["x"]), tools=[tool])


def test_a_generator_behind_a_decorator_is_refused_when_the_rlm_is_made() -> None:
    # A functools.wraps wrapper is a plain function that passes the generator on: it was accepted, and each call
    # then failed in the cell.
    def traced(function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return function(*args, **kwargs)

        return wrapper

    @traced
    def chapters(book: str) -> Iterator[str]:
        yield book

    @traced
    @traced
    async def lines(book: str) -> AsyncIterator[str]:
        yield book

    for tool in (chapters, lines):
        with pytest.raises(InputError, match=r"'(chapters|lines)' is a generator function"):
            RLM(ScriptedLM(["x"]), tools=[tool])
