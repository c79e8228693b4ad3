"""Start-up costs of OpenAICompatibleLM that must stay off the first call's path."""

from __future__ import annotations

import asyncio

from fake_openai_server import Behaviour, FakeOpenAIServer
from rlmx.lm import OpenAICompatibleLM
from rlmx.lm import openai as openai_lm


def test_plain_http_server_never_loads_the_ca_bundle() -> None:
    openai_lm._tls_context.cache_clear()
    with FakeOpenAIServer(Behaviour(text="pong")) as server:
        lm = OpenAICompatibleLM("m", base_url=server.base_url)
        reply = asyncio.run(lm.complete([{"role": "user", "content": "ping"}]))
    assert reply.text == "pong"
    assert openai_lm._tls_context.cache_info().currsize == 0


def test_https_base_url_gets_the_ca_bundle_and_http_a_context_that_still_verifies() -> None:
    bundle = openai_lm._tls_context()
    assert openai_lm._tls("https://api.example.com/v1") == ({} if bundle is None else {"verify": bundle})
    no_ca = openai_lm._tls("http://127.0.0.1:8000/v1")["verify"]
    assert no_ca is not bundle
    assert no_ca.verify_mode.name == "CERT_REQUIRED" and no_ca.check_hostname
