"""Round 86 (audit 86, the Python API): a child RLM that ends short by any exception its LM raises hands its draft
up marked unfinished and is counted in the root's stop reason (a real cancel still cancels); the sub-call cache
keys an LM by settings only where they say all that shapes its replies (rlmx's own LMs, a declared
`cache_identity`), and any other LM by the object itself, kept out of `cache_dir`."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from fake_openai_server import Behaviour, FakeOpenAIServer
from rlmx import RLM, Budget
from rlmx.lm import Completion, Message, OpenAICompatibleLM, ScriptedLM, Usage
from rlmx.subcall_cache import PROCESS_ONLY, described, request_key


def _block(code: str) -> str:
    return f"```repl\n{code}\n```"


ASK_CHILD = _block("try:\n    r = rlm_query('CHILD')\nexcept Exception as e:\n    r = 'EXC ' + str(e)\nFINAL(r)")


class _DraftThenFail:
    """A child's own LM: it writes a draft into `answer`, then its client raises `error` on the next turn."""

    model = "child-model"

    def __init__(self, error: BaseException | None, draft: str | None = "half of it: 17") -> None:
        self.error, self.draft, self.turns = error, draft, 0

    async def complete(self, messages: list[Message], **params: Any) -> Completion:
        self.turns += 1
        if self.turns == 1 and self.draft is not None:
            return Completion(_block(f"answer['content'] = {self.draft!r}"), Usage(9, 9), self.model)
        if self.error is None:
            await asyncio.sleep(60)  # a call that hangs until something cancels it
        assert self.error is not None
        raise self.error


# --- a child RLM ended by any exception of its LM: its draft goes up, and the root counts it -------------------


@pytest.mark.parametrize(
    "error",
    [
        ValueError("backend down"),
        TimeoutError("read timed out"),
        KeyError("choices"),
        asyncio.CancelledError("client closed"),  # becomes StrayCancelledError: nothing cancelled the run
    ],
    ids=["ValueError", "TimeoutError", "KeyError", "CancelledError"],
)
def test_a_child_whose_lm_raises_hands_up_its_draft_marked_unfinished_and_is_counted(error: BaseException) -> None:
    result = RLM(ScriptedLM([ASK_CHILD]), max_depth=2, depth_lms={1: _DraftThenFail(error)}).completion("q", "c")
    head, _, draft = result.answer.partition("\n")
    assert draft == "half of it: 17"
    assert head.startswith("[unfinished: this child RLM was stopped (child RLM failed: ")
    assert type(error).__name__ in head or "StrayCancelledError" in head
    assert result.status == "finished"
    assert "; 1 child RLM did not finish" in result.stop_reason and "0.1: child RLM failed: " in result.stop_reason


def test_a_child_whose_lm_raises_before_any_draft_fails_its_rlm_query_and_is_counted() -> None:
    lm = _DraftThenFail(RuntimeError("SDK exploded"), draft=None)
    result = RLM(ScriptedLM([ASK_CHILD]), max_depth=2, depth_lms={1: lm}).completion("q", "c")
    assert result.answer == "EXC child RLM failed: RuntimeError: SDK exploded"
    assert result.stop_reason.endswith(
        "did not finish (what each had so far reached its parent's code marked "
        "unfinished): 0.1: child RLM failed: RuntimeError: SDK exploded"
    )


def test_batched_children_failing_in_different_ways_are_all_counted() -> None:
    def child(messages: list[Message]) -> str | Exception:
        asked = next(m["content"] for m in messages if m["role"] == "user")
        if sum(m["role"] == "assistant" for m in messages) == 0:
            return _block("answer['content'] = 'draft ' + context")
        return ZeroDivisionError("boom") if "one" in asked else OSError("socket gone")

    code = _block("rs = rlm_query_batched(['one', 'two'], contexts=['a', 'b'])\nFINAL(' || '.join(rs))")
    result = RLM(ScriptedLM([code]), max_depth=2, depth_lms={1: ScriptedLM(child)}).completion("q", "c")
    assert result.answer.count("[unfinished: this child RLM was stopped (child RLM failed: ") == 2
    assert "draft a" in result.answer and "draft b" in result.answer
    assert "2 child RLMs did not finish" in result.stop_reason


async def test_a_real_cancel_during_a_child_rlm_still_cancels_the_run() -> None:
    lm = _DraftThenFail(None)  # its second call hangs
    rlm = RLM(ScriptedLM([ASK_CHILD]), max_depth=2, depth_lms={1: lm})
    task = asyncio.ensure_future(rlm.acompletion("q", context="c"))
    for _ in range(200):  # until the child's hanging call has started
        if lm.turns >= 2:
            break
        await asyncio.sleep(0.05)
    assert lm.turns >= 2
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_the_time_budget_during_a_hanging_child_rlm_is_still_a_budget_stop() -> None:
    started = time.monotonic()
    rlm = RLM(ScriptedLM([ASK_CHILD]), max_depth=2, depth_lms={1: _DraftThenFail(None)}, budget=Budget(max_seconds=2))
    result = rlm.completion("q", context="c")
    assert time.monotonic() - started < 15
    assert result.status == "budget_exhausted" and "max_seconds" in result.stop_reason


# --- the sub-call cache: two LMs never answer for each other -------------------------------------------------


class _PersonaLM:
    """A user's wrapper over a gateway: a `base_url`, a model, temperature 0, and a persona rlmx cannot see."""

    def __init__(self, reply: str) -> None:
        self.base_url = "https://gateway.example/v1"
        self.model = "gpt-4o-mini"
        self.params = {"temperature": 0}
        self.reply, self.asked = reply, 0

    async def complete(self, messages: list[Message], **params: Any) -> Completion:
        self.asked += 1
        return Completion(text=self.reply, model=self.model, usage=Usage(5, 2))


def test_two_custom_lms_with_a_base_url_in_one_run_never_answer_for_each_other() -> None:
    english, french, german = _PersonaLM("hello"), _PersonaLM("bonjour"), _PersonaLM("hallo")
    code = _block(
        "FINAL('|'.join([llm_query('greet'), llm_query('greet', model='fr'), llm_query('greet', model='de'),"
        " llm_query('greet')]))"
    )
    rlm = RLM(ScriptedLM([code]), sub_lm=english, models={"fr": french, "de": german})  # the default cache policy
    result = rlm.completion("q", context="c")
    assert result.answer == "hello|bonjour|hallo|hello"
    assert (english.asked, french.asked, german.asked, result.usage.cached_calls) == (1, 1, 1, 1)


@pytest.mark.parametrize("make", [lambda text: ScriptedLM(lambda m: text), _PersonaLM], ids=["ScriptedLM", "own class"])
def test_lms_set_up_differently_in_the_same_place_of_two_runs_never_share_a_cache_dir(
    make: Any, tmp_path: Path
) -> None:
    code = _block("FINAL(llm_query('Translate: hello'))")
    answers = []
    for text in ("bonjour", "hallo", "ciao"):
        rlm = RLM(ScriptedLM([code]), sub_lm=make(text), cache=True, cache_dir=tmp_path)
        with pytest.warns(UserWarning, match=r"cache_dir keeps no replies of the \w+ LM .*cache_identity"):
            result = rlm.completion("q", context="c")
        answers.append((result.answer, result.usage.cached_calls))
    assert answers == [("bonjour", 0), ("hallo", 0), ("ciao", 0)]
    with sqlite3.connect(tmp_path / "subcalls.sqlite") as db:  # nothing no later process could use was written
        assert db.execute("SELECT count(*) FROM replies").fetchone() == (0,)


def test_the_key_of_an_lm_object_rlmx_cannot_read_names_that_object() -> None:
    asked: list[Message] = [{"role": "user", "content": "q"}]
    one, other = ScriptedLM(["x"]), ScriptedLM(["x"])
    assert request_key(one, asked, route="sub") == request_key(one, asked, route="sub")  # the same object: hits
    assert request_key(one, asked, route="sub") != request_key(other, asked, route="sub")
    assert request_key(one, asked, route="sub").startswith(PROCESS_ONLY)
    keys = set()
    for _ in range(50):  # objects made and dropped reuse ids: a reused id never reuses a key
        keys.add(request_key(_PersonaLM("x"), asked, route="sub"))
    assert len(keys) == 50

    class Slotted:  # takes no weak reference: held, so its id and key stay its own
        __slots__ = ("model",)

        def __init__(self) -> None:
            self.model = "slotted"

    slotted = Slotted()
    assert request_key(slotted, asked) == request_key(slotted, asked) != request_key(Slotted(), asked)  # type: ignore[arg-type]


def test_only_rlmx_own_lms_and_declared_ones_are_keyed_by_their_settings() -> None:
    class Tuned(OpenAICompatibleLM):  # a user's subclass may add a persona in its own complete()
        pass

    plain = OpenAICompatibleLM("m", "http://127.0.0.1:9/v1", "k", temperature=0)
    declared = _PersonaLM("x")
    declared.cache_identity = ("gateway", "persona: pirate")  # type: ignore[attr-defined]
    assert described(plain) and described(declared)
    assert not described(Tuned("m", "http://127.0.0.1:9/v1", "k")) and not described(_PersonaLM("x"))
    asked: list[Message] = [{"role": "user", "content": "q"}]
    other = _PersonaLM("y")
    other.cache_identity = ("gateway", "persona: pirate")  # type: ignore[attr-defined]
    assert request_key(declared, asked) == request_key(other, asked)  # declared alike: they share replies
    other.cache_identity = ("gateway", "persona: butler")  # type: ignore[attr-defined]
    assert request_key(declared, asked) != request_key(other, asked)


def test_an_openai_compatible_lms_replies_in_cache_dir_answer_another_process(tmp_path: Path) -> None:
    code = _block("FINAL(llm_query('capital of France?'))")
    with FakeOpenAIServer(Behaviour(text="Paris")) as server:
        script = (
            "import sys\nfrom rlmx import RLM\nfrom rlmx.lm import OpenAICompatibleLM, ScriptedLM\n"
            f"sub = OpenAICompatibleLM('m', {server.base_url!r}, 'key-1', temperature=0)\n"
            f"r = RLM(ScriptedLM([{code!r}]), sub_lm=sub, cache_dir={str(tmp_path)!r}).completion('q', context='c')\n"
            "print(r.answer)\n"
        )
        first = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
        assert first.returncode == 0 and first.stdout.strip() == "Paris", first.stderr
        assert len(server.requests) == 1
        sub = OpenAICompatibleLM("m", server.base_url, "key-2", temperature=0)
        result = RLM(ScriptedLM([code]), sub_lm=sub, cache_dir=tmp_path).completion("q", context="c")
        assert (result.answer, result.usage.cached_calls, len(server.requests)) == ("Paris", 1, 1)
        other_model = OpenAICompatibleLM("m2", server.base_url, "key-2", temperature=0)
        result = RLM(ScriptedLM([code]), sub_lm=other_model, cache_dir=tmp_path).completion("q", context="c")
        assert (result.usage.cached_calls, len(server.requests)) == (0, 2)
