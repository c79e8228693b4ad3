"""`rlmx serve` as a process: a port in use, a used-up script, a bounded Ctrl-C, its flags."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import signal
import socket
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx2 as httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from rlmx.cli import EXIT_INTERRUPTED, EXIT_USAGE, build_parser
from scripting import repl, sigint_delivered, worker_pidfile
from server.server_harness import ask


def serve_command(tmp_path: Path, replies: list[str], *flags: str) -> list[str]:
    script = tmp_path / "script.json"
    script.write_text(json.dumps(replies), encoding="utf-8")
    command = [sys.executable, "-m", "rlmx.cli", "serve", "--scripted", str(script), "--model-name", "m"]
    return [*command, "--trace-dir", str(tmp_path / "traces"), *flags]


def environ() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RLMX_"))}


@contextmanager
def serving(command: list[str], env: dict[str, str] | None = None) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """The server's base URL once it listens; Ctrl-C (SIGINT) on the way out if it still runs."""
    with subprocess.Popen(
        command, stderr=subprocess.PIPE, text=True, env=env or environ(), preexec_fn=sigint_delivered
    ) as proc:
        assert proc.stderr is not None
        try:
            url = None
            for line in proc.stderr:
                found = re.search(r"running on (http://127\.0\.0\.1:\d+)", line)
                if found:
                    url = found.group(1)
                    break
            assert url is not None, "rlmx serve did not start"
            yield url, proc
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
            proc.stderr.read()
            proc.wait(timeout=30)


def test_a_port_in_use_is_a_usage_error_with_its_own_message(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(
            serve_command(tmp_path, ["x"], "--port", str(port)),
            capture_output=True,
            text=True,
            timeout=60,
            env=environ(),
        )
    assert proc.returncode == EXIT_USAGE
    assert f"port {port} on 127.0.0.1 is already in use" in proc.stderr and "Traceback" not in proc.stderr


def test_a_used_up_script_says_so_rather_than_blaming_the_network(tmp_path: Path) -> None:
    with serving(serve_command(tmp_path, [repl("print('one turn only')")], "--port", "0")) as (url, _):
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0)
        with client, pytest.raises(openai.APIStatusError) as raised:
            client.chat.completions.create(model="m", messages=ask("q"), extra_body={"context": "c"})
    assert "exhausted" in raised.value.message and "reachable" not in raised.value.message
    assert raised.value.status_code == 424  # the model refused: asking again cannot help, and no client retries 424


def test_ctrl_c_cancels_a_long_run_after_the_shutdown_timeout_and_exits_130(tmp_path: Path) -> None:
    # The runs still going at the deadline end with rlmx's answers: a 503 (was uvicorn's text/plain 500) and the
    # stream's error event and [DONE] (it was cut mid-chunk).
    replies = [repl("import time\ntime.sleep(120)")] * 2
    with serving(serve_command(tmp_path, replies, "--port", "0", "--shutdown-timeout", "2")) as (url, proc):
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0)
        stream = client.chat.completions.create(model="m", messages=ask("q"), extra_body={"context": "c"}, stream=True)
        chunks = iter(stream)
        next(chunks)  # the run has started
        with ThreadPoolExecutor(1) as pool:
            plain = pool.submit(
                httpx.post, f"{url}/v1/chat/completions", json={"model": "m", "messages": ask("q"), "context": "c"},
                timeout=60,
            )  # fmt: skip
            time.sleep(0.5)
            proc.send_signal(signal.SIGINT)
            with pytest.raises(openai.APIError, match="the server is shutting down"):
                for _ in chunks:
                    pass
            answer = plain.result(timeout=30)
        assert answer.status_code == 503 and answer.json()["error"]["code"] == "server_shutting_down"
        assert proc.wait(timeout=30) == EXIT_INTERRUPTED  # well before the 120 s cell would end
        stream.close()
        client.close()
        assert proc.stderr is not None
        assert "rlmx: server stopped (Ctrl-C)" in proc.stderr.read()


def completion(url: str, *, stream: bool) -> tuple[int, str, str]:
    """(status, content type, body) of one completion request, read to its end."""
    request = {"model": "m", "messages": ask("q"), "context": "c", "stream": stream}
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=request, timeout=60) as response:
        return response.status_code, response.headers.get("content-type", ""), response.read().decode()


def shutting_down(answer: tuple[int, str, str]) -> bool:
    """Whether `answer` is rlmx's for a request its shutdown ended: the OpenAI-shaped 503, or a stream's error
    event and [DONE]."""
    status, kind, text = answer
    if status == 503:
        return kind == "application/json" and json.loads(text)["error"]["code"] == "server_shutting_down"
    events = [event for event in text.split("\n\n") if event.startswith("data: ")]
    return status == 200 and len(events) >= 2 and "server_shutting_down" in events[-2] and events[-1] == "data: [DONE]"


def health_reaches(url: str, **counts: int) -> None:
    deadline = time.monotonic() + 20
    while True:
        health = httpx.get(f"{url}/health").json()
        if all(health[name] == value for name, value in counts.items()):
            return
        assert time.monotonic() < deadline, f"health stayed {health}, expected {counts}"
        time.sleep(0.05)


def test_sigterm_answers_the_queued_requests_at_once_and_starts_none_of_them(tmp_path: Path) -> None:
    # The requests waiting for a run slot got uvicorn's text/plain 500 at the deadline, with a traceback on stderr.
    replies = [repl("import time\ntime.sleep(120)")] * 3
    command = serve_command(tmp_path, replies, "--port", "0", "--max-concurrent-runs", "1", "--shutdown-timeout", "3")
    with serving(command) as (url, proc), ThreadPoolExecutor(3) as pool:
        running = pool.submit(completion, url, stream=False)
        health_reaches(url, running=1)
        queued = [pool.submit(completion, url, stream=stream) for stream in (False, True)]
        health_reaches(url, queued=2)
        proc.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        answers = [answer.result(timeout=30) for answer in queued]
        assert time.monotonic() - sent < 1.5, "the queued requests waited for the deadline"
        answers.append(running.result(timeout=30))
        assert proc.wait(timeout=30) == 0
        assert proc.stderr is not None
        rest = proc.stderr.read()
    assert all(shutting_down(answer) for answer in answers), answers
    assert "Traceback" not in rest and "Exception in ASGI" not in rest, rest
    assert len(list((tmp_path / "traces").rglob("*.jsonl"))) == 1  # only the running request ever ran


def test_a_second_ctrl_c_quits_at_once_and_still_answers_every_request(tmp_path: Path) -> None:
    # uvicorn's force exit cancelled the handlers: a text/plain 500, a stream cut without [DONE], two tracebacks.
    replies = [repl("import time\ntime.sleep(120)")] * 2
    command = serve_command(tmp_path, replies, "--port", "0", "--shutdown-timeout", "60")
    with serving(command) as (url, proc), ThreadPoolExecutor(2) as pool:
        calls = [pool.submit(completion, url, stream=stream) for stream in (False, True)]
        health_reaches(url, running=2)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == EXIT_INTERRUPTED  # not after the 60 s of --shutdown-timeout
        answers = [call.result(timeout=10) for call in calls]
        assert proc.stderr is not None
        rest = proc.stderr.read()
    assert all(shutting_down(answer) for answer in answers), answers
    assert "Traceback" not in rest and "Exception in ASGI" not in rest, rest


def test_a_request_still_uploading_at_the_deadline_gets_the_503(tmp_path: Path) -> None:
    # uvicorn cancels what is left at the deadline: the handler answers that cancellation itself.
    with serving(serve_command(tmp_path, [repl("FINAL('ok')")], "--port", "0", "--shutdown-timeout", "1")) as (
        url,
        proc,
    ):
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as sock:
            head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
            sock.sendall(head + b'5\r\n{"mod\r\n')  # and no more: being read, it holds no run slot
            time.sleep(0.5)
            proc.send_signal(signal.SIGTERM)
            sock.settimeout(20)
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
        assert proc.wait(timeout=30) == 0
        assert proc.stderr is not None
        rest = proc.stderr.read()
    assert reply.startswith(b"HTTP/1.1 503") and b'"code":"server_shutting_down"' in reply, reply
    assert "Traceback" not in rest and "Exception in ASGI" not in rest, rest


def test_sigterm_shuts_down_cleanly_with_exit_0(tmp_path: Path) -> None:
    with serving(serve_command(tmp_path, [repl("FINAL('ok')")], "--port", "0")) as (url, proc):
        with openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0) as client:
            assert client.chat.completions.create(model="m", messages=ask("q")).choices[0].message.content == "ok"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0


def test_sighup_stops_the_server_as_sigterm_does(tmp_path: Path) -> None:
    # The terminal closing (ssh, tmux) sends SIGHUP, which uvicorn leaves alone: the process died by it, the client's
    # connection was reset, and the sandbox folder holding the request's documents stayed in /dev/shm.
    where = worker_pidfile()
    cell = f"import os, time\nopen({str(where)!r}, 'w').write(os.getcwd())\ntime.sleep(120)"
    with serving(serve_command(tmp_path, [repl(cell)], "--port", "0", "--shutdown-timeout", "2")) as (url, proc):
        with ThreadPoolExecutor(1) as pool:
            answer = pool.submit(completion, url, stream=False)
            deadline = time.monotonic() + 20
            while not where.exists() or not where.read_text():
                assert time.monotonic() < deadline, "the cell never started"
                time.sleep(0.05)
            sandbox = Path(where.read_text()).parent
            assert sandbox.is_dir()
            proc.send_signal(signal.SIGHUP)
            assert proc.wait(timeout=30) == 0
            assert shutting_down(answer.result(timeout=30)), answer.result()
        assert proc.stderr is not None
        rest = proc.stderr.read()
    assert "rlmx: server stopped (SIGHUP)" in rest and "Traceback" not in rest, rest
    assert not sandbox.exists()


@pytest.mark.parametrize("ignored", [signal.SIGHUP, signal.SIGINT])
def test_a_signal_ignored_when_the_server_started_stays_ignored(tmp_path: Path, ignored: signal.Signals) -> None:
    # `nohup rlmx serve &` starts it with SIGHUP ignored, a script's `rlmx serve &` with SIGINT ignored: rlmx's own
    # handlers (and uvicorn's, for SIGINT) replaced the ignore, so logging out or a Ctrl-C meant for the script's
    # foreground command stopped the server.
    def started_ignoring() -> None:
        signal.signal(ignored, signal.SIG_IGN)

    command = serve_command(tmp_path, [repl("FINAL('ok')")], "--port", "0")
    with subprocess.Popen(
        command, stderr=subprocess.PIPE, text=True, env=environ(), preexec_fn=started_ignoring
    ) as proc:
        assert proc.stderr is not None
        lines = []
        for line in proc.stderr:
            lines.append(line)
            if "running on" in line:
                break
        url = re.search(r"running on (http://127\.0\.0\.1:\d+)", lines[-1])
        assert url is not None, lines
        proc.send_signal(ignored)
        time.sleep(0.5)
        with openai.OpenAI(base_url=f"{url.group(1)}/v1", api_key="x", max_retries=0) as client:
            assert client.chat.completions.create(model="m", messages=ask("q")).choices[0].message.content == "ok"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        rest = proc.stderr.read()
    assert f"{ignored.name} is ignored" in "".join(lines) and "server stopped (SIGTERM)" in rest, rest


def test_closing_the_terminal_it_runs_in_stops_the_server_cleanly(tmp_path: Path) -> None:
    # An ssh or tmux session that ends: SIGHUP, and then writing to the terminal fails; the closing line raised EIO
    # and the server exited 1.
    where = worker_pidfile()
    cell = f"import os, time\nopen({str(where)!r}, 'w').write(os.getcwd())\ntime.sleep(120)"
    terminal, its_end = pty.openpty()

    def on_that_terminal() -> None:
        sigint_delivered()
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    command = serve_command(tmp_path, [repl(cell)], "--port", "0", "--shutdown-timeout", "2")
    proc = subprocess.Popen(
        command, stdin=its_end, stdout=its_end, stderr=its_end, preexec_fn=on_that_terminal, env=environ()
    )
    os.close(its_end)
    shown = b""
    while (found := re.search(rb"running on (http://127\.0\.0\.1:\d+)", shown)) is None:
        shown += os.read(terminal, 4096)
    with ThreadPoolExecutor(1) as pool:
        answer = pool.submit(completion, found.group(1).decode(), stream=False)
        deadline = time.monotonic() + 20
        while not where.exists() or not where.read_text():
            assert time.monotonic() < deadline, "the cell never started"
            time.sleep(0.05)
        sandbox = Path(where.read_text()).parent
        os.close(terminal)  # the session ends
        assert proc.wait(timeout=30) == 0
        assert shutting_down(answer.result(timeout=30))
    assert not sandbox.exists()


def test_the_server_api_key_comes_from_an_env_var(tmp_path: Path) -> None:
    env = {**environ(), "MY_SERVER_KEY": "k3y"}
    command = serve_command(tmp_path, [repl("FINAL('ok')")], "--port", "0", "--server-api-key-env", "MY_SERVER_KEY")
    with serving(command, env) as (url, _):
        wrong = openai.OpenAI(base_url=f"{url}/v1", api_key="wrong", max_retries=0)
        with wrong, pytest.raises(openai.AuthenticationError):
            wrong.models.list()
        with openai.OpenAI(base_url=f"{url}/v1", api_key="k3y", max_retries=0) as client:
            assert client.chat.completions.create(model="m", messages=ask("q")).choices[0].message.content == "ok"
    with serving(serve_command(tmp_path, [repl("FINAL('ok')")], "--port", "0", "--api-key", "k3y")) as (url, _):
        assert httpx.get(f"{url}/v1/models").status_code == 401
        assert httpx.get(f"{url}/v1/models", headers={"Authorization": "Bearer k3y"}).status_code == 200
    from_environ = {**env, "RLMX_SERVER_API_KEY": "e"}
    with serving(serve_command(tmp_path, [repl("FINAL('ok')")], "--port", "0"), from_environ) as (url, _):
        assert httpx.get(f"{url}/v1/models").status_code == 401
    proc = subprocess.run(
        serve_command(tmp_path, ["x"], "--server-api-key-env", "UNSET_VAR"),
        capture_output=True,
        text=True,
        timeout=60,
        env=environ(),
    )
    assert proc.returncode == EXIT_USAGE and "UNSET_VAR" in proc.stderr


def test_serve_flags_parse_with_their_defaults() -> None:
    args = build_parser().parse_args(["serve"])
    assert (args.max_queued, args.queue_timeout, args.max_request_bytes) == (128, 120.0, 32 * 1024 * 1024)
    assert (args.keepalive, args.shutdown_timeout, args.cors_origin) == (15.0, 10.0, [])
    args = build_parser().parse_args(["serve", "--max-request-bytes", "64M", "--cors-origin", "*", "--keepalive", "0"])
    assert (args.max_request_bytes, args.cors_origin, args.keepalive) == (64 * 1024 * 1024, ["*"], 0.0)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--max-request-bytes", "lots"])


def test_the_guided_root_refuses_a_request_without_a_context_before_running_anything(tmp_path: Path) -> None:
    """As `rlmx ask` exits 2 without --context for the guided root, the server answers OpenAI's 400, stream or not."""
    command = serve_command(tmp_path, ["7391-KESTREL"] * 40, "--root", "guided", "--port", "0")
    with serving(command) as (url, proc), openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0) as client:
        assert proc.stderr is not None  # the line after the address says what every request needs
        assert "the guided root answers from a context only" in proc.stderr.readline()
        for stream, extra in [(False, {}), (True, {}), (False, {"context": " \n"}), (False, {"contexts": {"a": []}})]:
            with pytest.raises(openai.BadRequestError) as refused:
                client.chat.completions.create(
                    model="m", messages=ask("What is the launch code?"), stream=stream, extra_body=extra
                )
            error = refused.value.body
            assert isinstance(error, dict) and error["type"] == "invalid_request_error", error
            assert error["code"] == ("missing_context" if not extra else "empty_context")
            assert '`extra_body={"context": text}`' in error["message"] and "`contexts`" in error["message"]
        schema = {"type": "json_schema", "json_schema": {"name": "code", "schema": {"type": "object"}}}
        with pytest.raises(openai.BadRequestError) as refused:  # it answers in plain text: refused, as ask does
            client.chat.completions.create(
                model="m", messages=ask("What is it?"), extra_body={"context": "7391", "response_format": schema}
            )
        assert isinstance(refused.value.body, dict) and refused.value.body["param"] == "response_format"
        assert "guided" in refused.value.body["message"]
        assert not (tmp_path / "traces").exists() or not list((tmp_path / "traces").iterdir())  # nothing ran
        # A context in the body, or in messages before the question (the README's two ways), is served.
        sent = client.chat.completions.create(
            model="m",
            messages=ask("What is the launch code?"),
            extra_body={"context": "The launch code is 7391-KESTREL."},
        )
        before: list[ChatCompletionMessageParam] = [
            {"role": "user", "content": "The launch code is 7391-KESTREL."},
            {"role": "user", "content": "What is the launch code?"},
        ]
        in_messages = client.chat.completions.create(model="m", messages=before)
    for reply in (sent, in_messages):
        assert reply.model_extra is not None and reply.model_extra["rlmx"]["status"] == "finished"
        assert "7391-KESTREL" in (reply.choices[0].message.content or "")


@pytest.mark.parametrize(("sent", "code"), [(signal.SIGINT, EXIT_INTERRUPTED), (signal.SIGTERM, 0)])
def test_a_stop_as_soon_as_the_address_shows_is_clean(tmp_path: Path, sent: signal.Signals, code: int) -> None:
    """A script may stop the server the moment it prints its address, while uvicorn is still starting."""
    with serving(serve_command(tmp_path, [repl("FINAL('ok')")], "--port", "0")) as (_, proc):
        proc.send_signal(sent)
        assert proc.wait(timeout=30) == code
        assert proc.stderr is not None
        rest = proc.stderr.read()
    assert "Traceback" not in rest and "ERROR" not in rest, rest
    assert "rlmx: server stopped (" in rest


@pytest.mark.parametrize("entry", [["-m", "rlmx.cli"], ["-m", "rlmx"]])
def test_a_bad_flag_run_through_python_m_is_one_line_and_exit_2(entry: list[str]) -> None:
    # Under `python -m rlmx.cli` the module is __main__, and the commands raised the importable copy's UsageError,
    # which __main__'s handler did not catch: a traceback and exit 1.
    env = {k: v for k, v in os.environ.items() if k != "RLMX_TEST_UNSET"}
    flags = ["serve", "--model", "m", "--base-url", "http://127.0.0.1:9/v1", "--api-key-env", "RLMX_TEST_UNSET"]
    done = subprocess.run([sys.executable, *entry, *flags], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("rlmx: error: --api-key-env RLMX_TEST_UNSET")
