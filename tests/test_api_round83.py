"""Round 83 of the Python API: the custom-LM boundary (counts that cannot be true, a `complete` that takes no
`max_tokens`, Completion fields of the wrong type, a `.model` that is no name) and RLMs on the HTTP LM crossing a
process boundary (pickle, deepcopy)."""

from __future__ import annotations

import copy
import dataclasses
import math
import pickle
from collections.abc import Sequence
from typing import Any

import pytest

from fake_openai_server import Behaviour, FakeOpenAIServer
from rlmx import RLM, Budget, InputError
from rlmx import budget as ledgers
from rlmx.budget import Ledger, Reservation
from rlmx.lm import Completion, Message, OpenAICompatibleLM, Usage
from rlmx.lm.prices import PriceTable
from scripting import repl


def _is_root(messages: Sequence[Message]) -> bool:
    return messages[0]["role"] == "system" and "REPL" in messages[0]["content"]


class _Backend:
    """A custom LM whose sub-calls report `counts` (what a wrapped backend says), whose root asks 40 sub-calls."""

    model = "wrapped"

    def __init__(self, counts: Usage) -> None:
        self.counts = counts
        self.subcalls = 0

    async def complete(self, messages: Sequence[Message], **params: Any) -> Completion:
        if _is_root(messages):
            code = "rs = [llm_query('q%d' % i) for i in range(40)]\nprint(len(rs))" if len(messages) <= 2 else ""
            spent = Usage(400, min(30, params.get("max_tokens", 30)))  # true counts, within the cap it was sent
            return Completion(repl(code or "FINAL('done')"), spent, self.model)
        self.subcalls += 1
        counts, cap = self.counts, params.get("max_tokens")
        if type(counts.output_tokens) is int and counts.output_tokens >= 0 and cap is not None:
            counts = dataclasses.replace(counts, output_tokens=min(counts.output_tokens, cap))  # a true one keeps to it
        return Completion("y" * 300, counts, self.model)


# --- counts that cannot be true are booked as unreported, for every LM -------------------------------------------


@pytest.mark.parametrize(
    "counts",
    [Usage(-1000, -1), Usage(-5, 10), Usage(10, -7), Usage("12", "40"), Usage(1.5, 2.0), Usage(math.nan, 3)],  # type: ignore[arg-type]
    ids=["negative", "negative-input", "negative-output", "strings", "floats", "nan"],
)
def test_a_custom_lms_impossible_counts_are_booked_at_the_bound_and_the_token_budget_holds(counts: Usage) -> None:
    lm = _Backend(counts)
    result = RLM(lm, sandbox="inprocess", budget=Budget(max_tokens=12_000)).completion("q", context="c")
    usage = result.usage
    assert usage.total.input_tokens >= 0 and usage.total.output_tokens >= 0
    assert usage.total.total_tokens <= 12_000
    assert usage.sub.estimated_calls == usage.sub.calls >= 1  # booked as unreported: at the bound, flagged
    assert lm.subcalls < 40  # the sub-calls no longer free room: the budget stops them
    assert result.status == "budget_exhausted" and result.stop_reason.startswith("max_tokens")


def test_the_ledger_books_an_impossible_count_at_the_reservation_and_a_true_one_as_given() -> None:
    ledger = Ledger(Budget(), prices=PriceTable({"m": (1.0, 2.0)}))
    held = ledger.reserve("m", 500, 100)
    booked = ledger.settle(held, Usage(-3, 7, cost_usd=-1.0), role="sub", depth=1)
    assert (booked.input_tokens, booked.output_tokens, booked.estimated) == (500, 7, True)
    assert booked.cost_usd == pytest.approx((500 * 1.0 + 7 * 2.0) / 1e6)  # a negative cost is priced from the table
    true = Usage(20, 5)
    assert ledgers.sound_usage(true, Reservation(500, 100, 0.0, "m")) is true
    parts = ledgers.sound_usage(
        Usage(100, 50, cache_read_tokens=-1, cache_write_tokens=-2, audio_output_tokens=-4, cost_usd=math.inf),
        Reservation(500, 100, 0.0, "m"),
    )
    assert (parts.input_tokens, parts.output_tokens, parts.cost_usd) == (100, 50, None)
    assert parts.cache_read_tokens == 0 and parts.cache_write_tokens == 100  # cheaper part 0, dearer part all
    assert parts.audio_output_tokens == 0 and "audio" in parts.unreported_output_media
    assert ledger.usage.total.input_tokens == 500


# --- a complete() that cannot take max_tokens is refused at RLM(), whatever the budget ----------------------------


class _NoParams:
    model = "mine"

    async def complete(self, messages: Sequence[Message]) -> Completion:
        return Completion(repl("FINAL('ok')"), Usage(10, 10), self.model)


class _KeywordOnlyMessages:
    model = "mine"

    async def complete(self, *, messages: Sequence[Message], **params: Any) -> Completion:
        return Completion(repl("FINAL('ok')"), Usage(10, 10), self.model)


@pytest.mark.parametrize("budget", [Budget(), Budget(max_tokens=100_000)], ids=["no-budget", "max_tokens"])
@pytest.mark.parametrize("cls", [_NoParams, _KeywordOnlyMessages])
def test_a_complete_that_cannot_be_called_as_rlmx_calls_it_is_refused_naming_the_fix(cls: type, budget: Budget) -> None:
    for where, kwargs in (("lm", {}), ("sub_lm", {"sub_lm": cls()})):
        lm = cls() if where == "lm" else _NamedLM()
        with pytest.raises(InputError) as refused:
            RLM(lm, budget=budget, sandbox="inprocess", **kwargs)
        message = str(refused.value)
        assert message.startswith(f"{where}: {cls.__name__}.complete(")
        assert "**params" in message and "max_tokens" in message
        assert "async def complete(self, messages, **params)" in message


class _NamedLM:
    model = "fine"

    async def complete(self, messages: Sequence[Message], max_tokens: int | None = None) -> Completion:
        self.cap = max_tokens
        return Completion(repl("FINAL('ok')"), Usage(10, 10), self.model)


def test_a_complete_taking_max_tokens_by_name_is_accepted_and_sent_its_cap() -> None:
    lm = _NamedLM()
    result = RLM(lm, sandbox="inprocess", budget=Budget(max_tokens=100_000)).completion("q", context="c")
    assert result.answer == "ok" and isinstance(lm.cap, int) and lm.cap > 0


def test_the_not_an_lm_refusal_describes_the_method_with_its_params() -> None:
    with pytest.raises(InputError, match=r"async def complete\(self, messages, \*\*params\)"):
        RLM(object())  # type: ignore[arg-type]


# --- a Completion's fields and the LM's .model are checked, naming the class ------------------------------------


def _replying(**fields: Any) -> type:
    class Shaped:
        model = "mine"

        async def complete(self, messages: Sequence[Message], **params: Any) -> Completion:
            given: dict[str, Any] = {"text": repl("FINAL(1)"), "usage": Usage(1, 1), "model": "mine", **fields}
            return Completion(**given)

    return Shaped


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("text", None),
        ("text", b"bytes"),
        ("usage", None),
        ("usage", {"input_tokens": 1}),
        ("model", None),
        ("finish_reason", 3),
        ("unanswered", -1),
        ("unanswered", True),
    ],
)
@pytest.mark.parametrize("budget", [Budget(), Budget(max_tokens=100_000)], ids=["no-budget", "max_tokens"])
def test_a_completion_with_a_field_of_the_wrong_type_is_an_input_error_naming_the_class_and_field(
    field: str, value: object, budget: Budget
) -> None:
    with pytest.raises(InputError) as refused:
        RLM(_replying(**{field: value})(), sandbox="inprocess", budget=budget).completion("q", context="c")
    assert f"Shaped.complete returned a Completion whose {field} is" in str(refused.value)


def test_a_sub_lm_replying_with_text_none_is_told_in_the_cell_naming_the_class() -> None:
    class Root:
        model = "root"

        async def complete(self, messages: Sequence[Message], **params: Any) -> Completion:
            if len(messages) <= 2:
                return Completion(
                    repl("try:\n    llm_query('x')\nexcept Exception as e:\n    FINAL(str(e))"), Usage(1, 1), "r"
                )
            return Completion(repl("FINAL('none')"), Usage(1, 1), "r")

    result = RLM(Root(), sub_lm=_replying(text=None)(), sandbox="inprocess").completion("q", context="c")
    assert "Shaped.complete returned a Completion whose text is None" in str(result.answer)


@pytest.mark.parametrize("model", [None, "", "  ", 7])
def test_an_lm_whose_model_is_no_name_is_refused_at_rlm(model: object) -> None:
    class Unnamed:
        async def complete(self, messages: Sequence[Message], **params: Any) -> Completion:
            raise AssertionError("never asked")

    lm = Unnamed()
    lm.model = model  # type: ignore[attr-defined]
    with pytest.raises(InputError, match=r"^models\['x'\]: Unnamed\.model is .* not a model name"):
        RLM(_NamedLM(), models={"x": lm})  # type: ignore[dict-item]


# --- an RLM on the HTTP LM pickles and copies (its per-loop sessions are rebuilt where it runs) --------------------


def test_an_rlm_on_the_http_lm_pickles_and_copies_before_and_after_use() -> None:
    with FakeOpenAIServer(Behaviour(text=repl("FINAL('ok')"))) as server:
        rlm = RLM(OpenAICompatibleLM("m", base_url=server.base_url, api_key="k"), sandbox="inprocess")
        fresh = pickle.loads(pickle.dumps(rlm))
        assert rlm.completion("q").answer == "ok"  # the original now holds a session on a (finished) loop
        copies = [pickle.loads(pickle.dumps(rlm)), copy.deepcopy(rlm), fresh]
        assert [c.completion("q").answer for c in copies] == ["ok", "ok", "ok"]
        assert rlm.completion("q").answer == "ok"
        https = OpenAICompatibleLM("m", base_url="https://api.example.com/v1", api_key="k")
        assert pickle.loads(pickle.dumps(https))._http._ssl is not True  # its TLS context rebuilt, verifying
