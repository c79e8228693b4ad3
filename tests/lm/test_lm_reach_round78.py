"""What rlmx says when it cannot reach the server, and what it counts as sent (audit 78, LM boundary).

- A connection attempt nobody answered (a firewall dropping it, a wrong address, a full backlog) was reported as a
  slow model ("did not answer within 120 s": raise --lm-timeout) and every attempt booked as a request the server
  may have billed: nothing was ever sent.
- A 5xx asking to wait longer than rlmx waits between attempts is not sent again early, and now the error says the
  wait (and keeps it as `retry_after`), as a 429's does; a wait that is not a finite number is no wait.
- A dead or credential-asking proxy named by the environment (HTTP_PROXY, ...) was blamed on the model server.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from fake_openai_server import Behaviour, FakeOpenAIServer, Reply, error_body
from rlmx.errors import LMConnectionError, LMRequestError, LMServerError, LMTimeout
from rlmx.lm.http import server_retry_after
from rlmx.lm.openai import OpenAICompatibleLM

ASK = [{"role": "user", "content": "q"}]


@contextlib.contextmanager
def _unanswered_port() -> Iterator[int]:
    """A port whose listener's accept backlog is full: the kernel drops further connection attempts unanswered."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.2)
    try:
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def test_a_connection_attempt_nobody_answers_is_a_connection_error_that_sent_nothing() -> None:
    with _unanswered_port() as port:
        lm = OpenAICompatibleLM("m", base_url=f"http://127.0.0.1:{port}/v1", timeout=1, max_retries=1)
        with pytest.raises(LMConnectionError) as raised:
            asyncio.run(lm.complete(ASK))
    said = str(raised.value)
    assert not isinstance(raised.value, LMTimeout)
    assert f"127.0.0.1:{port}: no answer to the connection attempt within 1 s" in said, said
    assert raised.value.sent == 0 and raised.value.unanswered == 0


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_dead_proxy_from_the_environment_is_named_not_the_server(proxy_env: pytest.MonkeyPatch) -> None:
    proxy_port = _closed_port()
    proxy_env.setenv("HTTP_PROXY", f"http://user:secret@127.0.0.1:{proxy_port}")
    with FakeOpenAIServer(Behaviour(text="hi")) as server:
        lm = OpenAICompatibleLM("m", base_url=server.base_url, max_retries=0)
        with pytest.raises(LMConnectionError) as raised:
            asyncio.run(lm.complete(ASK))
        assert server.requests == []
    said = str(raised.value)
    assert f"through the proxy http://127.0.0.1:{proxy_port} (from HTTP_PROXY)" in said, said
    assert "NO_PROXY" in said and "secret" not in said and "is it running" not in said
    assert raised.value.via_proxy == "HTTP_PROXY"


def test_a_proxy_asking_for_credentials_is_named(proxy_env: pytest.MonkeyPatch) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)

    def answer_407() -> None:
        with contextlib.suppress(OSError):
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(
                    b'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="corp"\r\n'
                    b"Content-Type: text/plain\r\nContent-Length: 13\r\nConnection: close\r\n\r\nlog in first."
                )

    thread = threading.Thread(target=answer_407, daemon=True)
    thread.start()
    proxy_env.setenv("http_proxy", f"http://127.0.0.1:{listener.getsockname()[1]}")
    try:
        lm = OpenAICompatibleLM("m", base_url="http://10.255.255.1:8000/v1", max_retries=0)
        with pytest.raises(LMRequestError) as raised:
            asyncio.run(lm.complete(ASK))
    finally:
        listener.close()
        thread.join(5)
    said = str(raised.value)
    assert "(from http_proxy) asks for a user name and password (HTTP 407" in said, said
    assert raised.value.via_proxy == "http_proxy"


def test_a_server_error_asking_for_a_long_wait_is_not_resent_and_says_the_wait() -> None:
    loading = Reply(503, error_body("Model is loading", "server_error"))
    loading.headers = {"retry-after": "120"}
    with FakeOpenAIServer() as server:
        server.script(loading)
        lm = OpenAICompatibleLM("m", base_url=server.base_url, max_retries=3)
        with pytest.raises(LMServerError) as raised:
            asyncio.run(lm.complete(ASK))
        assert len(server.requests) == 1
    assert raised.value.retry_after == 120
    assert "it asked to wait 120 s" in str(raised.value), str(raised.value)


@pytest.mark.parametrize("header", ["retry-after", "retry-after-ms"])
@pytest.mark.parametrize("value", ["1e999", "inf", "nan", "-inf"])
def test_a_wait_that_is_not_a_finite_number_is_no_wait(header: str, value: str) -> None:
    assert server_retry_after({header: value}) is None
