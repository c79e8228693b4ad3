"""The Python API as a library user meets it (audit 78): errors and Results that survive pickling (a process pool),
`Result.to_dict()` as JSON whatever the value, `output=` models with no JSON Schema refused as InputError,
`depth_lms` keys no call can reach refused, and the README's word on contexts changed in place within sessions."""

from __future__ import annotations

import concurrent.futures
import contextlib
import importlib
import json
import math
import multiprocessing
import pickle
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field, RootModel

from rlmx import RLM, Budget, InputError, Result, RLMXError
from rlmx.budget import UsageReport
from rlmx.errors import LMBadResponse, LMConnectionError, LMRateLimited, LMTimeout
from rlmx.lm import ScriptedLM
from rlmx.lm.base import Completion, Usage
from rlmx.rlm import UnpricedModels
from scripting import repl

README = Path(__file__).resolve().parents[1] / "README.md"

# --- v02: every rlmx error pickles and unpickles whole --------------------------------------------------------------

# modules that define RLMXError subclasses of their own (an optional extra's may be missing)
for _module in ("rlmx.rlm", "rlmx.lm.local", "rlmx.lm.guided", "rlmx.mcp.service", "rlmx.mcp.roots"):
    with contextlib.suppress(ImportError):
        importlib.import_module(_module)


def every_error_class() -> list[type[RLMXError]]:
    found: list[type[RLMXError]] = []
    waiting: list[type[RLMXError]] = [RLMXError]
    while waiting:
        cls = waiting.pop()
        found.append(cls)
        waiting.extend(cls.__subclasses__())
    return sorted(set(found), key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


BUILT: dict[type[RLMXError], Any] = {
    LMBadResponse: lambda: LMBadResponse(
        "no text in the reply",
        retryable=False,
        usage=Usage(input_tokens=12, output_tokens=3),
        unanswered=1,
        reasoning_only=Completion(text="", model="m", usage=Usage(input_tokens=1, output_tokens=2)),
        served="m-2024",
        billed_as="m:flex",
        transient=True,
    ),
    UnpricedModels: lambda: UnpricedModels(["Qwen/Qwen3-8B"], given=["qwen3-8b"]),
    LMTimeout: lambda: LMTimeout("no reply in 5 s", attempts=3),
    LMRateLimited: lambda: LMRateLimited("429", retry_after=1.5),
    LMConnectionError: lambda: LMConnectionError("reset", sent=2),
}
"""Errors whose constructor takes more than a message, built with every attribute set."""


def built(cls: type[RLMXError]) -> RLMXError:
    error: RLMXError = BUILT[cls]() if cls in BUILT else cls(f"a {cls.__name__} for the test")
    error.add_note("a note added on the way")
    return error


def test_every_rlmx_error_class_is_found() -> None:
    names = {cls.__name__ for cls in every_error_class()}
    assert {"InputError", "SetupError", "LMBadResponse", "UnpricedModels", "SandboxLost", "FrameError"} <= names


@pytest.mark.parametrize("cls", every_error_class(), ids=lambda cls: cls.__name__)
def test_each_rlmx_error_unpickles_with_its_attributes(cls: type[RLMXError]) -> None:
    error = built(cls)
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is cls and back.args == error.args and str(back) == str(error)
    assert vars(back) == vars(error)
    if isinstance(error, UnpricedModels):
        assert back.near == error.near and back.for_cli() == error.for_cli()


@pytest.mark.parametrize("cls", every_error_class(), ids=lambda cls: cls.__name__)
def test_a_result_carrying_each_error_unpickles(cls: type[RLMXError]) -> None:
    result = Result(
        answer="",
        status="error",
        stop_reason="the run failed",
        iterations=1,
        usage=UsageReport(),
        trace_path=None,
        answer_source="none",
        error=built(cls),
    )
    back = pickle.loads(pickle.dumps(result))
    assert back.error is not None and type(back.error) is cls and vars(back.error) == vars(result.error)


def test_an_input_error_raised_in_a_process_pool_reaches_the_caller_as_itself() -> None:
    unpriced = ScriptedLM([repl("FINAL('x')")], model="no-such-model-for-the-test")
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        running = pool.submit(RLM, unpriced, budget=Budget(max_usd=1.0))
        with pytest.raises(UnpricedModels, match="no price is known for no-such-model-for-the-test"):
            running.result(timeout=120)
        assert pool.submit(math.sqrt, 4.0).result(timeout=60) == 2.0  # the pool still works


# --- v03: the README says what sessions do with contexts changed in place --------------------------------------------


def test_the_readme_says_changes_inside_a_list_or_dict_context_are_undone() -> None:
    text = " ".join(README.read_text(encoding="utf-8").split())
    sentence = re.search(r"changes made inside a list or dict context [^)]*\)", text)
    assert sentence is not None and "undone" in sentence.group(0) and "stay" not in sentence.group(0)
    code = "notes.append('seen')\nseen['n'] = seen.get('n', 0) + 1\nFINAL(f'{len(notes)} {seen[\"n\"]}')"
    with RLM(ScriptedLM(lambda messages: repl(code))).session(contexts={"notes": ["start"], "seen": {}}) as session:
        assert [session.ask(f"question {n}").answer for n in range(3)] == ["2 1"] * 3


# --- v04: Result.to_dict() is JSON ------------------------------------------------------------------------------------


class Finding(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    culprit: str = Field(alias="who")
    first_seen: int


def test_to_dict_of_a_typed_result_is_json_named_as_the_answer() -> None:
    lm = ScriptedLM([repl("SUBMIT(who='bob', first_seen=3)")])
    result = RLM(lm).completion("Who broke the build?", context="log", output=Finding)
    assert isinstance(result.value, Finding)
    dumped = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert dumped["value"] == {"who": "bob", "first_seen": 3} == json.loads(result.answer)
    assert isinstance(result.value, Finding)  # the Result keeps the instance


def test_json_value_takes_whatever_a_value_may_hold() -> None:
    from rlmx.result import json_value

    assert json_value({"n": [1, math.nan, math.inf]}) == {"n": [1, None, None]}
    assert json_value(Finding(who="a", first_seen=1)) == {"who": "a", "first_seen": 1}
    assert json_value({"tags": {"x"}, "path": Path("/tmp/x")}) == {"tags": ["x"], "path": "/tmp/x"}
    assert json_value("text") == "text" and json_value(None) is None
    circular: list[Any] = []
    circular.append(circular)
    assert isinstance(json_value(circular), str)
    json.dumps(json_value({(1, 2): "a tuple key"}), allow_nan=False)


# --- v06: an output= model with no JSON Schema is an InputError ----------------------------------------------------


class Handle:
    pass


class WithHandle(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    handle: Handle


class NoFields(BaseModel):
    pass


class Unresolved(BaseModel):
    part: NotDefinedAnywhere  # type: ignore[name-defined]  # noqa: F821


@pytest.mark.parametrize(
    ("spec", "said"),
    [
        (WithHandle, "output WithHandle has no JSON Schema"),
        (Unresolved, "output Unresolved has no JSON Schema"),
        (NoFields, "output NoFields has no fields"),
        (BaseModel, "pydantic.BaseModel itself"),
        (RootModel, "pydantic.RootModel itself"),
    ],
    ids=["arbitrary-type", "unresolved", "no-fields", "BaseModel", "RootModel"],
)
def test_an_output_model_with_no_json_schema_is_an_input_error_before_any_call(spec: Any, said: str) -> None:
    lm = ScriptedLM([repl("FINAL('x')")])
    with pytest.raises(InputError, match=re.escape(said)) as raised:
        RLM(lm).completion("q", context="c", output=spec)
    assert "JSON Schema dict" in str(raised.value) and lm.calls == []
    with RLM(lm).session() as session, pytest.raises(InputError, match=re.escape(said)):
        session.ask("q", output=spec)
    assert lm.calls == []


def test_a_root_model_with_a_type_is_still_an_output() -> None:
    lm = ScriptedLM([repl("FINAL([1, 2])")])
    result = RLM(lm).completion("q", context="c", output=RootModel[list[int]])
    assert result.ok and result.value.root == [1, 2]


# --- v07: depth_lms keys no call reaches ------------------------------------------------------------------------------


def test_a_depth_lm_past_max_depth_is_refused_naming_max_depth() -> None:
    root = ScriptedLM([repl("FINAL('x')")], model="gpt-4o-mini")
    coder = ScriptedLM([repl("FINAL('never')")], model="an-unpriced-coder")
    with pytest.raises(InputError, match=r"depth_lms has depth 2, past max_depth \(1, from max_depth=1\)"):
        RLM(root, depth_lms={2: coder})
    # the price of an LM no call reaches is not what stops RLM()
    with pytest.raises(InputError, match="past max_depth") as raised:
        RLM(root, depth_lms={2: coder}, budget=Budget(max_usd=1.0))
    assert not isinstance(raised.value, UnpricedModels)
    with pytest.raises(InputError, match=r"from max_depth=3 and Budget\(max_depth=2\)"):
        RLM(root, max_depth=3, depth_lms={1: coder, 3: coder}, budget=Budget(max_depth=2))
    assert RLM(root, max_depth=2, depth_lms={1: coder, 2: coder}).depth_lms == {1: coder, 2: coder}
