"""Round 84, the Python API: every constructor argument of the wrong type is an InputError naming it, before any
token is spent; a retry the run's time budget cannot wait for is not slept (the 429 reaches the code); a value a
list/dict context cannot hold is refused with the rule for nested values, not the top level's."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from rlmx import RLM, Budget
from rlmx.errors import InputError, LMRateLimited
from rlmx.lm import OpenAICompatibleLM, ScriptedLM

sys.path.insert(0, str(Path(__file__).parent))
from fake_openai_server import Behaviour, FakeOpenAIServer, Reply, error_body

FINISH = "```repl\nFINAL('x')\n```"


def _lm() -> ScriptedLM:
    return ScriptedLM([FINISH])


# --- constructor arguments -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"models": [ScriptedLM([FINISH])]}, "models must be a dict"),
        ({"models": {1: ScriptedLM([FINISH])}}, "models must be keyed by model name"),
        ({"models": {"": ScriptedLM([FINISH])}}, "models must be keyed by model name"),
        ({"models": {"  ": ScriptedLM([FINISH])}}, "models must be keyed by model name"),
        ({"depth_lms": [ScriptedLM([FINISH])]}, "depth_lms must be a dict"),
        ({"trace_dir": 123}, "trace_dir must be a folder path"),
        ({"trace_dir": ""}, "trace_dir must name a folder"),
        ({"trace_dir": b"/tmp"}, "trace_dir must be a folder path"),
        ({"cache_dir": 123}, "cache_dir must be a folder path"),
        ({"cache_dir": "  "}, "cache_dir must name a folder"),
        ({"cache": 1}, "cache must be True, False or None"),
        ({"cache": 0}, "cache must be True, False or None"),
        ({"cache": "yes"}, "cache must be True, False or None"),
    ],
)
def test_a_wrong_rlm_setting_is_refused_at_construction_naming_it(settings: dict[str, Any], named: str) -> None:
    with pytest.raises(InputError, match=named):
        RLM(_lm(), **settings)


def test_the_settings_a_user_writes_still_construct(tmp_path: Path) -> None:
    rlm = RLM(
        _lm(),
        models={"reader": ScriptedLM(["r"])},
        depth_lms={1: ScriptedLM(["d"])},
        trace_dir=str(tmp_path / "t"),
        cache_dir=tmp_path / "c",
        cache=True,
    )
    assert rlm.trace_dir == tmp_path / "t" and rlm.cache_dir == tmp_path / "c" and rlm.cache is True
    assert RLM(_lm(), cache=False, trace_dir=None).trace_dir is None


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"base_url": 123}, "base_url must be a string"),
        ({"base_url": b"http://127.0.0.1:1/v1"}, "base_url must be a string"),
        ({"temperature": "hot"}, "temperature must be a number"),
        ({"temperature": True}, "temperature must be a number"),
        ({"top_p": float("nan")}, "top_p must be a number"),
        ({"presence_penalty": [1]}, "presence_penalty must be a number"),
        ({"seed": "42"}, "seed must be an integer"),
        ({"seed": 4.2}, "seed must be an integer"),
        ({"stop": 5}, "stop must be a string or a list of strings"),
        ({"stop": ["END", 3]}, "stop must be a string or a list of strings"),
    ],
)
def test_a_wrong_http_lm_setting_is_refused_at_construction_naming_it(settings: dict[str, Any], named: str) -> None:
    with pytest.raises(InputError, match=named):
        OpenAICompatibleLM("m", **{"api_key": "k", **settings})


def test_the_sampling_params_a_user_writes_still_construct() -> None:
    lm = OpenAICompatibleLM(
        "m", base_url="http://127.0.0.1:9/v1", temperature=0, top_p=0.9, seed=7, stop=["END"], presence_penalty=-1.5
    )
    assert lm.params["temperature"] == 0 and lm.params["stop"] == ["END"]
    assert OpenAICompatibleLM("m", base_url="http://127.0.0.1:9/v1", stop="END").params["stop"] == "END"


# --- a wait the time budget cannot cover ------------------------------------------------------------------------


def _rate_limited_sub_calls(retry_after: str) -> Behaviour:
    def route(body: dict[str, Any]) -> Reply | None:
        if "REPL" in body["messages"][0]["content"]:
            return None  # the root is answered by `text`
        return Reply(status=429, body=error_body("slow down", "rate_limit_error"), headers={"Retry-After": retry_after})

    def text(body: dict[str, Any]) -> str:
        if len(body["messages"]) <= 2:
            return (
                "```repl\ntry:\n    said = llm_query('hi')\nexcept Exception as exc:\n"
                "    said = 'ERR ' + str(exc)\nFINAL(said)\n```"
            )
        return FINISH

    return Behaviour(text=text, route=route)


def test_a_retry_after_past_the_time_budget_fails_the_call_at_once_naming_the_429() -> None:
    with FakeOpenAIServer(_rate_limited_sub_calls("30")) as server:
        lm = OpenAICompatibleLM("m", base_url=server.base_url, api_key="k")
        started = time.monotonic()
        result = RLM(lm, budget=Budget(max_seconds=20)).completion("q", context="c")
        took = time.monotonic() - started
        sub_requests = sum(1 for r in server.requests if "REPL" not in r.body["messages"][0]["content"])
    assert result.answer.startswith("ERR ") and "HTTP 429" in result.answer, result.answer
    assert "not retried" in result.answer and "time budget" in result.answer, result.answer
    assert sub_requests == 1  # the wait was not slept toward, and the request not sent again
    assert took < 15  # far from the 30 s asked (generous: the point is it did not sleep until the budget ended)


def test_a_retry_after_the_budget_covers_is_still_waited_and_retried() -> None:
    with FakeOpenAIServer(_rate_limited_sub_calls("0.2")) as server:
        lm = OpenAICompatibleLM("m", base_url=server.base_url, api_key="k", max_retries=2)
        result = RLM(lm, budget=Budget(max_seconds=60)).completion("q", context="c")
        sub_requests = sum(1 for r in server.requests if "REPL" not in r.body["messages"][0]["content"])
    assert sub_requests == 3  # the call and its two retries
    assert "HTTP 429, after 3 attempts" in result.answer and "not retried" not in result.answer, result.answer


def test_a_direct_lm_call_outside_a_run_keeps_the_servers_wait() -> None:
    # No run, no deadline: the server's Retry-After is slept as before.
    with FakeOpenAIServer(_rate_limited_sub_calls("0.3")) as server:
        lm = OpenAICompatibleLM("m", base_url=server.base_url, api_key="k", max_retries=1)
        started = time.monotonic()
        with pytest.raises(LMRateLimited):
            asyncio.run(lm.complete([{"role": "user", "content": "hi"}]))
        assert time.monotonic() - started >= 0.3
        assert len(server.requests) == 2


# --- values a list/dict context cannot hold ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("context", "where", "advice"),
    [
        (lambda f: [[f, f], f], "`context`[0][0] is a PosixPath", "flat list of paths"),
        (lambda f: {"a": f}, "`context`['a'] is a PosixPath", "flat list of paths"),
        (lambda f: [b"abc"], "`context`[0] is a bytes", "decode it to text first"),
    ],
)
def test_a_value_nested_in_a_context_is_refused_with_the_nested_rule(
    tmp_path: Path, context: Any, where: str, advice: str
) -> None:
    file = tmp_path / "f.txt"
    file.write_text("text", encoding="utf-8")
    with pytest.raises(InputError) as refused:
        RLM(_lm()).completion("q", context=context(file))
    said = str(refused.value)
    assert where in said and advice in said, said
    rule = said.split(";", 1)[1]
    assert "bytes" not in rule.split(":")[0] and "Path" not in rule, said  # the refused type is never listed as allowed
