"""Start-up costs of OpenAICompatibleLM that must stay off the first call's path."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from fake_openai_server import Behaviour, FakeOpenAIServer
from rlmx.lm import OpenAICompatibleLM, http


def test_plain_http_server_never_loads_the_ca_store() -> None:
    http._verified_tls.cache_clear()
    with FakeOpenAIServer(Behaviour(text="pong")) as server:
        lm = OpenAICompatibleLM("m", base_url=server.base_url)
        reply = asyncio.run(lm.complete([{"role": "user", "content": "ping"}]))
    assert reply.text == "pong"
    assert http._verified_tls.cache_info().currsize == 0


def test_https_base_url_gets_a_verifying_context_with_the_system_store() -> None:
    assert http.tls_for("http://127.0.0.1:8000/v1") is None
    context = http.tls_for("https://api.example.com/v1")
    assert context is not None and context is http.tls_for("https://other.example.com/v1")  # built once
    assert context.verify_mode.name == "CERT_REQUIRED" and context.check_hostname


def test_a_call_never_imports_the_openai_sdk() -> None:
    """The SDK's import alone is about 1.2 s; rlmx speaks the same JSON without it."""
    code = (
        "import asyncio, sys\n"
        "sys.path.insert(0, 'tests')\n"
        "from fake_openai_server import Behaviour, FakeOpenAIServer\n"
        "from rlmx import RLM\n"
        "from rlmx.lm import OpenAICompatibleLM\n"
        "with FakeOpenAIServer(Behaviour(text='FINAL(ok)')) as server:\n"
        "    result = RLM(OpenAICompatibleLM('m', base_url=server.base_url)).completion('q', context='c')\n"
        "assert result.answer == 'ok', result\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'openai'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_environment_proxies_are_read_once_and_no_proxy_exempts(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    assert http.proxy_for("https://api.example.com/v1/chat/completions") is None
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    assert http.proxy_for("https://api.example.com/v1/chat/completions") == http.Proxy(
        "http://proxy.internal:3128", "HTTPS_PROXY"
    )
    assert http.proxy_for("http://127.0.0.1:8000/v1/chat/completions") is None  # plain http: no HTTP_PROXY set
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    assert http.proxy_for("http://127.0.0.1:8000/v1/chat/completions") is None  # exempted by NO_PROXY
    assert http.proxy_for("http://10.0.0.5:8000/v1/chat/completions") == http.Proxy(
        "http://proxy.internal:3128", "HTTP_PROXY"
    )


def test_a_call_goes_through_the_environment_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake server acts as the proxy: an absolute-form request line reaches it and is answered."""
    with FakeOpenAIServer(Behaviour(text="via proxy")) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.base_url.rsplit("/v1", 1)[0])
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        lm = OpenAICompatibleLM("m", base_url="http://upstream.invalid:9/v1", max_retries=0)
        reply = asyncio.run(lm.complete([{"role": "user", "content": "ping"}]))
    assert reply.text == "via proxy"
    assert len(proxy.requests) == 1
