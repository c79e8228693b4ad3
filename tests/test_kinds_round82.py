"""Round 82 of the field-case kinds: the user's prices under every spelling of a model's name, a context-limit
wording read as one, and Unicode spaces indenting a code block."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from fake_openai_server import Behaviour, FakeOpenAIServer, Reply, error_body
from rlmx import RLM, Budget, InputError
from rlmx.budget import Ledger
from rlmx.errors import LMRequestError
from rlmx.lm import OpenAICompatibleLM, ScriptedLM
from rlmx.lm.base import Message, Usage
from rlmx.lm.prices import Price, PriceTable, same_name
from rlmx.protocol import parse_reply
from scripting import repl

MINE = Price(30.0, 60.0)
"""A user's rate far from any list price, so that booking at the list price instead shows."""
ONE_CALL = Usage(1_000, 100)
AT_MINE = (1_000 * 30.0 + 100 * 60.0) / 1e6


@pytest.mark.parametrize(
    "model",
    ["openai/gpt-4o", "GPT-4o", " gpt-4o ", "openrouter/openai/gpt-4o", "OpenAI/GPT-4O", "gpt-4o-2024-08-06"],
)
def test_a_price_given_under_a_models_bare_name_wins_for_every_spelling_of_it(model: str) -> None:
    # prices={"gpt-4o": ...} was looked up by the exact name only, while list prices strip prefixes and case: a run
    # of "openai/gpt-4o" was booked at the list price, 10x below the rate given, and max_usd bound 10x late.
    table = PriceTable({"gpt-4o": MINE})
    assert table.lookup(model) == MINE and table.cost(model, ONE_CALL) == pytest.approx(AT_MINE)
    ledger = Ledger(Budget(max_usd=5.0), prices=table)
    admitted = ledger.reserve(model, 1_000, 100)
    assert admitted.usd == pytest.approx(AT_MINE)  # admitted at the user's rate
    booked = ledger.settle(admitted, ONE_CALL, role="root", depth=0, served="openai/gpt-4o-2024-08-06")
    assert booked.cost_usd == pytest.approx(AT_MINE)  # and settled at it, whatever the reply calls the model


def test_a_price_given_under_a_prefixed_or_dated_name_wins_for_the_bare_name() -> None:
    for key in ("openai/gpt-4o", "GPT-4o", "gpt-4o-2024-08-06"):
        assert PriceTable({key: MINE}).lookup("gpt-4o") == MINE, key


def test_names_the_price_database_keeps_apart_are_not_matched() -> None:
    # gpt-4o-2024-05-13 has a list price of its own ($5/$15), another host's price is not this one's, another size
    # is another model, and a service tier's name is priced only under that name.
    table = PriceTable({"gpt-4o": MINE, "azure/gpt-4o-mini": MINE})
    for model in ("gpt-4o-2024-05-13", "openai/gpt-4o-mini", "gpt-4o-mini-2024-07-18", "gpt-4o[priority]"):
        assert table.user_key(model) is None, model
        assert table.lookup(model) != MINE, model
    assert not same_name("azure/gpt-4o", "openai/gpt-4o") and same_name("openrouter/openai/gpt-4o", "OPENAI/gpt-4o")


def test_of_several_spellings_given_the_exact_name_wins_then_the_dearest() -> None:
    cheap, dear = Price(1.0, 2.0), Price(3.0, 4.0)
    assert PriceTable({"gpt-4o": cheap, "openai/gpt-4o": dear}).lookup("gpt-4o") == cheap
    assert PriceTable({"GPT-4o": cheap, "gpt-4O": dear}).lookup("openai/gpt-4o") == dear


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as fake:
        yield fake


def test_a_gateway_run_is_booked_and_bounded_at_the_price_given_under_the_bare_name(server: FakeOpenAIServer) -> None:
    server.behaviour = Behaviour(text=repl("FINAL(len(context))"), model="openai/gpt-4o")
    lm = OpenAICompatibleLM("openai/gpt-4o", server.base_url, max_retries=0)
    result = RLM(lm, prices={"gpt-4o": (30.0, 60.0)}, budget=Budget(max_usd=5.0)).completion("How long?", "abcd")
    billed = sum(b.prompt_tokens * 30.0 + b.completion_tokens * 60.0 for b in server.billed) / 1e6
    assert result.answer == "4" and billed > 0 and result.usage.cost_usd == pytest.approx(billed)


def test_a_local_model_priced_under_its_short_name_needs_no_near_name_hint() -> None:
    # "qwen3-8b" for "Qwen/Qwen3-8B" was refused as a near name; it is the same name to the price rules.
    lm = OpenAICompatibleLM("Qwen/Qwen3-8B", base_url="http://127.0.0.1:9/v1", api_key="x")
    rlm = RLM(lm, budget=Budget(max_usd=1.0), prices={"qwen3-8b": (0.1, 0.2)})
    assert rlm.prices.lookup("Qwen/Qwen3-8B") == Price(0.1, 0.2)
    with pytest.raises(InputError, match="prices names 'qwen-3-8b', no model of this run"):
        RLM(lm, budget=Budget(max_usd=1.0), prices={"qwen-3-8b": (0.1, 0.2)})


PROMPT: list[Message] = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Count to three."}]


@pytest.mark.parametrize(
    "said",
    [
        "Invalid request: Your request exceeded model token limit: 4000",  # Moonshot/Kimi, no "(requested: N)"
        "Your request exceeded model token limit: 4,000.",
        "model max length exceeded, max length:4000",  # Moonshot's older wording
        "max_tokens is too large: the model's context length is 4000 tokens",
    ],
)
async def test_a_window_named_without_the_prompts_size_is_fitted_by_the_prompts_bound(
    server: FakeOpenAIServer, said: str
) -> None:
    # Only wordings naming the prompt's size (or all that was requested) were read: a window named alone ended the
    # run with status=error where the same refusal in other words lowered the cap and sent the call again.
    server.script(Reply(400, error_body(said)))
    lm = OpenAICompatibleLM("moonshot-v1-8k", server.base_url, max_tokens=4096, max_retries=0)
    await lm.complete(PROMPT)
    bound = await lm.count_tokens(PROMPT)
    assert [r.body["max_tokens"] for r in server.requests] == [4096, 4000 - bound]


async def test_a_window_the_prompts_bound_leaves_no_room_in_is_still_the_servers_refusal(
    server: FakeOpenAIServer,
) -> None:
    server.script(Reply(400, error_body("Your request exceeded model token limit: 20")))
    lm = OpenAICompatibleLM("moonshot-v1-8k", server.base_url, max_tokens=4096, max_retries=0)
    with pytest.raises(LMRequestError, match="exceeded model token limit: 20"):
        await lm.complete(PROMPT)
    assert len(server.requests) == 1


async def test_a_window_named_in_a_refusal_of_something_else_changes_no_cap(server: FakeOpenAIServer) -> None:
    server.script(Reply(400, error_body("Invalid messages: the model's context length is 4000")))
    lm = OpenAICompatibleLM("moonshot-v1-8k", server.base_url, max_tokens=4096, max_retries=0)
    with pytest.raises(LMRequestError, match="Invalid messages"):  # not about the cap's size: not resent smaller
        await lm.complete(PROMPT)
    assert [r.body["max_tokens"] for r in server.requests] == [4096]


NB = "\u00a0"


@pytest.mark.parametrize("space", ["\u00a0", "\u3000", "\u2002", "\u202f"])
def test_code_indented_with_unicode_spaces_runs_as_if_indented_with_spaces(space: str) -> None:
    # A loop body indented with four NO-BREAK SPACEs was a SyntaxError ("invalid non-printable character U+00A0")
    # the model could not see in its own code, and a lost turn.
    body = f"total = 0\nfor n in range(3):\n{space * 4}if n:\n{space * 4}    total += n\nFINAL(total)"
    assert parse_reply(f"```repl\n{body}\n```").cells == (
        "total = 0\nfor n in range(3):\n    if n:\n        total += n\nFINAL(total)",
    )


def test_unicode_spaces_inside_a_string_are_kept() -> None:
    # A triple-quoted string's lines are data: their NBSPs stay, while the code's indentation is read as spaces.
    body = f'def f():\n{NB * 4}text = """\n{NB * 2}kept\n"""\n{NB * 4}return text + "{NB}x"\nprint(f())'
    (cell,) = parse_reply(f"```python\n{body}\n```").cells
    assert cell == f'def f():\n    text = """\n{NB * 2}kept\n"""\n    return text + "{NB}x"\nprint(f())'


def test_code_that_compiles_with_unicode_spaces_is_left_as_written() -> None:
    body = f'note = """\n{NB * 4}indented by the author\n"""\nprint(note)'
    assert parse_reply(f"```repl\n{body}\n```").cells == (body,)


def test_a_run_whose_block_is_indented_with_nbsp_finishes_on_its_first_turn() -> None:
    reply = f"```repl\nlast = None\nfor w in context.split():\n{NB * 4}last = w\nFINAL(last)\n```"
    root = ScriptedLM([reply, "```repl\nFINAL('second turn')\n```"])
    result = RLM(root, budget=Budget(max_iterations=3)).completion("The last word?", context="alpha beta gamma")
    assert (result.answer, result.iterations) == ("gamma", 1)
