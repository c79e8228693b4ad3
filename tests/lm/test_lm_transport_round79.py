"""Transport failures at the LM boundary, whatever the environment holds:
- aiohttp 3.9 (pyproject allows it) has no ConnectionTimeoutError: naming it in an `except` turned every transport
  failure (a refused connection included) into an AttributeError traceback;
- a proxy written without a scheme (`HTTP_PROXY=host:port`, as curl and requests take it) is an HTTP proxy, not a
  URL aiohttp refuses and rlmx then blamed on the server;
- a SOCKS proxy in ALL_PROXY is one aiohttp cannot speak to: named with its variable and never tried (it answered
  HTTP with SOCKS bytes, read as the server's reply breaking off, booked as maybe billed, and retried)."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest

from fake_openai_server import Behaviour, FakeOpenAIServer
from rlmx.errors import LMConnectionError
from rlmx.lm.openai import OpenAICompatibleLM

ASK = [{"role": "user", "content": "q"}]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_refused_connection_is_a_connection_error_on_an_aiohttp_without_connection_timeout_error(
    proxy_env: pytest.MonkeyPatch,
) -> None:
    proxy_env.delattr(aiohttp, "ConnectionTimeoutError", raising=False)  # as aiohttp 3.9 is
    lm = OpenAICompatibleLM("m", base_url=f"http://127.0.0.1:{_closed_port()}/v1", max_retries=0)
    with pytest.raises(LMConnectionError) as raised:
        asyncio.run(lm.complete(ASK))
    assert "Connection refused" in str(raised.value) or "unreachable" in str(raised.value)


def test_a_proxy_without_a_scheme_is_an_http_proxy_named_with_its_variable(proxy_env: pytest.MonkeyPatch) -> None:
    proxy_port = _closed_port()
    proxy_env.setenv("HTTP_PROXY", f"127.0.0.1:{proxy_port}")
    with FakeOpenAIServer(Behaviour(text="hi")) as server:
        lm = OpenAICompatibleLM("m", base_url=server.base_url, max_retries=0)
        with pytest.raises(LMConnectionError) as raised:
            asyncio.run(lm.complete(ASK))
        assert server.requests == []
    said = str(raised.value)
    assert f"through the proxy http://127.0.0.1:{proxy_port} (from HTTP_PROXY)" in said, said
    assert raised.value.via_proxy == "HTTP_PROXY"


def test_a_socks_proxy_is_named_as_unusable_and_never_tried(proxy_env: pytest.MonkeyPatch) -> None:
    tried: list[bytes] = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.setblocking(False)
    proxy_env.setenv("ALL_PROXY", f"socks5://127.0.0.1:{listener.getsockname()[1]}")
    try:
        with FakeOpenAIServer(Behaviour(text="hi")) as server:
            lm = OpenAICompatibleLM("m", base_url=server.base_url, max_retries=2)
            with pytest.raises(LMConnectionError) as raised:
                asyncio.run(lm.complete(ASK))
            assert server.requests == []
        try:
            connection, _ = listener.accept()
            tried.append(connection.recv(100))
            connection.close()
        except BlockingIOError:
            pass
    finally:
        listener.close()
    said = str(raised.value)
    assert "ALL_PROXY names socks5://127.0.0.1" in said and "HTTP proxies only" in said, said
    assert "NO_PROXY" in said and raised.value.via_proxy == "ALL_PROXY"
    assert raised.value.sent == 0 and tried == []  # no request went to it, none may have been billed


def test_a_proxy_host_that_does_not_resolve_is_named_with_its_variable(
    proxy_env: pytest.MonkeyPatch,
) -> None:
    resolve = socket.getaddrinfo

    def no_such_proxy(host: object, *args: object, **kwargs: object) -> object:
        if host == "proxy.invalid":
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return resolve(host, *args, **kwargs)  # type: ignore[arg-type]

    proxy_env.setattr(socket, "getaddrinfo", no_such_proxy)
    proxy_env.setenv("HTTP_PROXY", "proxy.invalid:3128")
    with FakeOpenAIServer(Behaviour(text="hi")) as server:
        lm = OpenAICompatibleLM("m", base_url=server.base_url, max_retries=0)
        with pytest.raises(LMConnectionError) as raised:
            asyncio.run(lm.complete(ASK))
    said = str(raised.value)
    assert "through the proxy http://proxy.invalid:3128 (from HTTP_PROXY)" in said, said
    assert "base URL" not in said
