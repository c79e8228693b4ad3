"""Start-up costs of OpenAICompatibleLM that must stay off the first call's path."""

from __future__ import annotations

import asyncio
import subprocess
import sys

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
