"""Fixtures shared by the LM tests."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Iterator

import pytest

from fake_openai_server import FakeOpenAIServer


@pytest.fixture
async def lms_dropped_close_on_their_loop() -> AsyncIterator[None]:
    """The LMs a test made and dropped close their HTTP sessions on the test's own loop, before it ends: left to a
    later garbage collection, an unclosed connector's warning lands in whichever test runs then. A module opts in
    with `pytestmark = pytest.mark.usefixtures("lms_dropped_close_on_their_loop")`."""
    yield
    gc.collect()
    await asyncio.sleep(0.005)  # the sessions' closers, scheduled by the collection, run now


@pytest.fixture
def proxy_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No proxy variable from the environment running the tests (upper or lower case): a test sets its own."""
    for name in ("no_proxy", "all_proxy", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    yield monkeypatch


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    """A fake OpenAI-compatible server on 127.0.0.1 for the test (modules with a `server` of their own use theirs)."""
    with FakeOpenAIServer() as fake:
        yield fake
