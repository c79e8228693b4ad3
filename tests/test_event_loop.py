"""Which event loop the sync API runs on: uvloop's on the main thread (where installed), asyncio's elsewhere or
when RLMX_EVENT_LOOP=asyncio; a run finishes on either, its sandbox included."""

from __future__ import annotations

import asyncio
import threading

import pytest
from tests.scripting import repl

from rlmx import RLM
from rlmx.blocking import loop_factory
from rlmx.lm import ScriptedLM
from rlmx.lm.base import Message

uvloop = pytest.importorskip("uvloop")


def _recording_lm(seen: list[str]) -> ScriptedLM:
    """Finishes in one cell that runs in the sandbox, noting the type of the loop each LM call ran on."""

    def reply(messages: list[Message]) -> str:
        seen.append(type(asyncio.get_running_loop()).__module__)
        return repl("FINAL(len(context))")

    return ScriptedLM(reply)


def test_completion_runs_on_uvloop_on_the_main_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RLMX_EVENT_LOOP", raising=False)
    seen: list[str] = []
    result = RLM(_recording_lm(seen)).completion("How long?", context="four")
    assert (result.answer, result.status) == ("4", "finished")
    assert seen == ["uvloop"]


def test_rlmx_event_loop_asyncio_keeps_the_standard_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RLMX_EVENT_LOOP", "asyncio")
    seen: list[str] = []
    result = RLM(_recording_lm(seen)).completion("How long?", context="four")
    assert (result.answer, result.status) == ("4", "finished")
    assert seen == ["asyncio.unix_events"]


def test_other_threads_run_on_asyncio_and_finish(monkeypatch: pytest.MonkeyPatch) -> None:
    """uvloop hears of child exits by SIGCHLD on the main thread only: a thread's run (and its sandbox's
    teardown) must not depend on it."""
    monkeypatch.delenv("RLMX_EVENT_LOOP", raising=False)
    seen: list[str] = []
    answers: list[str] = []
    rlm = RLM(_recording_lm(seen))
    threads = [
        threading.Thread(target=lambda n=n: answers.append(rlm.completion("How long?", context="y" * n).answer))
        for n in (2, 3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(answers) == ["2", "3"]
    assert seen == ["asyncio.unix_events"] * 2


def test_loop_factory_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RLMX_EVENT_LOOP", raising=False)
    assert loop_factory() is uvloop.new_event_loop
    monkeypatch.setenv("RLMX_EVENT_LOOP", "asyncio")
    assert loop_factory() is asyncio.new_event_loop
