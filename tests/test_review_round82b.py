"""Review 82b: one host's user price is not another host's, a custom LM whose `complete` returns an awaitable without
being written `async def` is accepted, and a block indented with NBSPs that holds a multi-line string is read."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from rlmx import RLM, InputError
from rlmx.lm import Completion, Message, Usage
from rlmx.lm.prices import Price, PriceTable
from rlmx.protocol import parse_reply
from scripting import repl

NEGOTIATED = Price(0.1, 0.1)
"""A user's rate far below OpenAI's gpt-4o list price ($2.50/$10), so booking at it instead shows."""

# --- a user's price belongs to the host it names ----------------------------------------------------------------------


@pytest.mark.parametrize("key", ["azure/gpt-4o", "openrouter/openai/gpt-4o", "Azure/GPT-4o"])
@pytest.mark.parametrize("model", ["gpt-4o", "openai/gpt-4o", "GPT-4o"])
def test_a_price_named_for_another_host_does_not_price_openais_own_model(key: str, model: str) -> None:
    table = PriceTable({key: NEGOTIATED})
    assert table.user_key(model) is None
    price = table.lookup(model)
    assert price is not None and (price.input_per_million, price.output_per_million) == (2.5, 10.0)


def test_a_price_named_for_a_host_prices_that_hosts_names_and_a_bare_name_it_serves() -> None:
    table = PriceTable({"azure/gpt-4o": NEGOTIATED})
    assert table.lookup("azure/gpt-4o") == NEGOTIATED and table.lookup("AZURE/gpt-4o") == NEGOTIATED
    table.expect([("gpt-4o", "https://mine.openai.azure.com/openai/v1")])  # a deployment named gpt-4o on Azure
    assert table.lookup("gpt-4o") == NEGOTIATED
    assert PriceTable({"openai/gpt-4o": NEGOTIATED}).lookup("gpt-4o") == NEGOTIATED  # the database's own provider
    assert PriceTable({"gpt-4o": NEGOTIATED}).lookup("azure/gpt-4o") == NEGOTIATED  # a bare name: every spelling


def test_a_price_for_a_host_is_not_used_for_another_hosts_name_of_the_same_model() -> None:
    assert PriceTable({"openai/gpt-4o": NEGOTIATED}).user_key("openrouter/openai/gpt-4o") is None
    assert PriceTable({"azure/gpt-4o-2024-08-06": NEGOTIATED}).user_key("gpt-4o") is None


def test_when_the_host_cannot_be_told_the_dearer_price_is_booked() -> None:
    # served at both OpenAI and Azure: the Azure price may be the wrong one for some calls
    table = PriceTable({"azure/gpt-4o": NEGOTIATED})
    table.expect([("gpt-4o", "https://api.openai.com/v1"), ("gpt-4o", "https://mine.openai.azure.com/openai/v1")])
    price = table.lookup("gpt-4o")
    assert price is not None and (price.input_per_million, price.output_per_million) == (2.5, 10.0)
    dear = Price(40.0, 80.0)
    table = PriceTable({"azure/gpt-4o": dear})
    table.expect([("gpt-4o", "https://api.openai.com/v1"), ("gpt-4o", "https://mine.openai.azure.com/openai/v1")])
    assert table.lookup("gpt-4o") == dear
    # a name the database does not know and no known host: the only price there is
    assert PriceTable({"azure/my-deployment": dear}).lookup("my-deployment") == dear


# --- a custom LM is refused at RLM() only when it cannot work ---------------------------------------------------------


def _reply(model: str) -> Completion:
    return Completion(text=repl("FINAL('ok')"), usage=Usage(input_tokens=1, output_tokens=1), model=model)


def logged(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:  # an ordinary decorator handing back fn's coroutine
        return fn(*args, **kwargs)

    return wrapper


class Wrapped:
    model = "wrapped"

    @logged
    async def complete(self, messages: Sequence[Message], **params: Any) -> Completion:
        return _reply(self.model)


class InExecutor:
    model = "in-executor"

    def complete(self, messages: Sequence[Message], **params: Any) -> Any:
        return asyncio.get_running_loop().run_in_executor(None, _reply, self.model)


class EnsureFuture:
    model = "ensure-future"

    async def _ask(self) -> Completion:
        return _reply(self.model)

    def complete(self, messages: Sequence[Message], **params: Any):  # type: ignore[no-untyped-def]
        return asyncio.ensure_future(self._ask())


@pytest.mark.parametrize("lm", [Wrapped(), InExecutor(), EnsureFuture()], ids=lambda lm: lm.model)
def test_a_complete_that_returns_an_awaitable_is_accepted_and_runs(lm: Any) -> None:
    result = RLM(lm, sandbox="inprocess").completion("q", context="x")
    assert (result.status, result.answer) == ("finished", "ok")


class SyncUndeclared:
    model = "sync-undeclared"

    def complete(self, messages: Sequence[Message], **params: Any):  # type: ignore[no-untyped-def]
        return _reply(self.model)


class AsyncGenerator:
    model = "async-generator"

    @logged
    async def complete(self, messages: Sequence[Message], **params: Any) -> Any:
        yield _reply(self.model)


def test_a_plain_def_returning_a_completion_fails_its_first_call_naming_the_class() -> None:
    with pytest.raises(InputError, match=r"SyncUndeclared.complete returned Completion without being awaitable"):
        RLM(SyncUndeclared(), sandbox="inprocess").completion("q", context="x")  # type: ignore[arg-type]


def test_a_wrapped_async_generator_is_still_refused_when_the_rlm_is_made() -> None:
    with pytest.raises(InputError, match=r"AsyncGenerator.complete must return an awaitable"):
        RLM(AsyncGenerator(), sandbox="inprocess")  # type: ignore[arg-type]


# --- NBSP indentation around a multi-line string ----------------------------------------------------------------------

N = "\u00a0"


@pytest.mark.parametrize("lead", [N * 2, "\u3000", N + " "])
def test_a_block_indented_by_unicode_spaces_holding_a_multiline_string_is_read(lead: str) -> None:
    # every line at the same Unicode indentation, the string's own lines too (as a renderer nests a block)
    block = "\n".join(lead + line for line in ['s = """first', f"{N}second", 'third"""', "print(s)"])
    code = parse_reply(f"```python\n{block}\n```").cells[0]
    compile(code, "<cell>", "exec")
    scope: dict[str, Any] = {}
    exec(code.replace("print(s)", ""), scope)
    assert scope["s"] == f"first\n{N}second\nthird"  # only the shared indentation left the string
