"""How long rlmx waits for a server model, and what it counts as sent (audit 77, LM boundary).

- A slow server (a local model on CPU, a reasoning model that does not stream) failed every `rlmx ask` after
  3 x 120 s: the command line had no way to give it more time, and its error advised a Python argument and to
  check that the (running) server was running. `--lm-timeout S` and `--lm-retries N` set them.
- A 429 asking to wait 120 s was re-sent after 0.5 s and 1 s (each meeting the same limit), and its error dropped
  the wait: now it is not re-sent before then, and the error says the wait and what to do.
- A kept-alive connection the server had closed while it idled was counted as a request sent and maybe billed
  (a budget booked it at the call's whole reservation) and cost a backoff: it never reached the server, and is now
  sent again at once on another connection, for free.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from fake_openai_server import Behaviour, FakeOpenAIServer, Reply, error_body
from rlmx.errors import LMConnectionError, LMRateLimited
from rlmx.lm.openai import OpenAICompatibleLM
from scripting import run_cli

ASK = [{"role": "user", "content": "q"}]


def test_a_server_that_closes_idle_kept_alive_connections_is_billed_only_what_it_received() -> None:
    with FakeOpenAIServer(Behaviour(text="hi")) as server:
        server.script(*[Reply(close_after=True) for _ in range(20)])
        lm = OpenAICompatibleLM("m", base_url=server.base_url)

        async def calls() -> list[int]:
            return [(await lm.complete(ASK)).unanswered for _ in range(20)]

        unanswered = asyncio.run(calls())
        received = len(server.requests)
    assert received == 20 and unanswered == [0] * 20, (received, unanswered)


def test_a_request_the_server_took_on_a_kept_alive_connection_and_then_dropped_is_not_sent_again() -> None:
    # the server read it and worked on it (a worker killed mid-generation): it may have been billed, so it is an
    # attempt like any other, not an idle connection's close (audit 77 review v01: it was re-sent, uncounted, even
    # with max_retries=0)
    with FakeOpenAIServer(Behaviour(text="hi")) as server:
        server.script(Reply(), Reply(reset=True, delay=0.3))
        lm = OpenAICompatibleLM("m", base_url=server.base_url, max_retries=0)

        async def calls() -> None:
            await lm.complete(ASK)  # leaves its connection in the pool
            await lm.complete(ASK)

        with pytest.raises(LMConnectionError) as raised:
            asyncio.run(calls())
        assert len(server.requests) == 2
    assert raised.value.sent == 1


def test_a_rate_limit_asking_for_a_long_wait_is_not_resent_early_and_the_error_says_the_wait() -> None:
    limited = Reply(429, error_body("Rate limit reached for requests per min", "rate_limit_error"))
    limited.headers = {"retry-after": "120"}
    with FakeOpenAIServer() as server:
        server.script(limited)
        lm = OpenAICompatibleLM("m", base_url=server.base_url)
        with pytest.raises(LMRateLimited) as raised:
            asyncio.run(lm.complete(ASK))
        assert len(server.requests) == 1
    assert raised.value.retry_after == 120
    said = str(raised.value)
    assert "it asked to wait 120 s" in said and "send fewer requests at once" in said, said


def test_a_short_rate_limit_wait_is_still_waited_and_retried() -> None:
    limited = Reply(429, error_body("slow down", "rate_limit_error"))
    limited.headers = {"retry-after": "0.2"}
    with FakeOpenAIServer(Behaviour(text="ok")) as server:
        server.script(limited)
        reply = asyncio.run(OpenAICompatibleLM("m", base_url=server.base_url).complete(ASK))
        assert reply.text == "ok" and len(server.requests) == 2


def test_lm_timeout_and_retries_flags_reach_the_server_model(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("abc\n")
    with FakeOpenAIServer(Behaviour(text="x", latency=3.0)) as server:
        proc = run_cli(
            "ask", "q", "-c", "notes.txt", "--model", "m", "--base-url", server.base_url,
            "--lm-timeout", "0.5", "--lm-retries", "0", "-q", tmp_path=tmp_path,
        )  # fmt: skip
        sent = len(server.requests)
    assert proc.returncode == 5, proc.stderr
    assert sent == 1, sent  # --lm-retries 0: not sent again
    assert "did not answer within 0.5 s (1 attempt)" in proc.stderr, proc.stderr
    assert "--lm-timeout S (now 0.5 s)" in proc.stderr and "Check that the server is running" not in proc.stderr


@pytest.mark.parametrize("flag", [["--lm-timeout", "0"], ["--lm-timeout", "abc"], ["--lm-retries", "-1"]])
def test_bad_wait_flags_are_usage_errors(tmp_path: Path, flag: list[str]) -> None:
    proc = run_cli("ask", "q", "--model", "m", "--base-url", "http://127.0.0.1:9/v1", *flag, tmp_path=tmp_path)
    assert proc.returncode == 2 and flag[0] in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_wait_flags_given_to_a_scripted_model_are_said_to_be_unused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("abcd")
    script = tmp_path / "script.json"
    script.write_text('{"root": ["```repl\\nFINAL(len(context))\\n```"], "sub": []}')
    proc = run_cli("ask", "q", "-c", "notes.txt", "--scripted", str(script), "--lm-timeout", "30", tmp_path=tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip() == "4", proc.stderr
    assert "--lm-timeout 30 is used only by a server model" in proc.stderr, proc.stderr
