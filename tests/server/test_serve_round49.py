"""`rlmx serve` against slow uploads and structured answers that never match: a body on its way holds no run slot
and has a deadline; a `response_format` answer that never validated is not sent as content."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from rlmx.server import ServerOptions
from server.server_harness import MODEL, Served, ask, start

COMPLETIONS = "/v1/chat/completions"
DOCUMENT = "the quarterly report, line by line\n" * 9_000  # 315 KB: past the size read at once


def body(question: str = "How long is the context?", **fields: Any) -> dict[str, Any]:
    return {"model": MODEL, "messages": ask(question), **fields}


def open_upload(served: Served, payload: bytes, *, chunked: bool, first: int = 1000) -> socket.socket:
    """A raw connection that has sent a POST's headers and the first `first` bytes of `payload`, and no more."""
    host, port = served.url.removeprefix("http://").split(":")
    connection = socket.create_connection((host, int(port)))
    framing = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: %d" % len(payload)
    connection.sendall(
        b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n%s\r\n\r\n"
        % (
            COMPLETIONS.encode(),
            framing,
        )
    )
    send_piece(connection, payload[:first], chunked=chunked)
    return connection


def send_piece(connection: socket.socket, piece: bytes, *, chunked: bool) -> None:
    connection.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)


def trickle(connection: socket.socket, rest: bytes, stop: threading.Event, *, chunked: bool) -> None:
    """Send `rest` a few bytes at a time, 20 pieces a second, until `stop` or the server closes the connection."""
    for start_at in range(0, len(rest), 5):
        if stop.wait(0.05):
            return
        try:
            send_piece(connection, rest[start_at : start_at + 5], chunked=chunked)
        except OSError:
            return


def response_of(connection: socket.socket, timeout: float) -> tuple[int, dict[str, Any], str]:
    """(status, JSON body, raw head) of the response the server sent on `connection`, read until it closes."""
    connection.settimeout(timeout)
    data = b""
    try:
        while True:
            piece = connection.recv(65536)
            if not piece:
                break
            data += piece
    except TimeoutError:
        if not data:
            raise
    head, _, rest = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(rest), head.decode()


@pytest.fixture
def one_slot(tmp_path: Path) -> Iterator[Served]:
    yield from start(tmp_path, options=ServerOptions(max_concurrent_runs=1, queue_timeout=3))


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_slow_big_upload_leaves_the_run_slot_to_other_requests(one_slot: Served, chunked: bool) -> None:
    # A 300 KB body trickling in (or any chunked body, as httpx/requests send generators and Node fetch sends
    # streams) took the only run slot before it was read: every other request waited out --queue-timeout, then 429.
    payload = json.dumps(body(context=DOCUMENT)).encode()
    connection = open_upload(one_slot, payload, chunked=chunked)
    stop = threading.Event()
    sender = threading.Thread(target=trickle, args=(connection, payload[1000:], stop), kwargs={"chunked": chunked})
    sender.start()
    try:
        time.sleep(0.5)
        began = time.monotonic()
        with one_slot.client(timeout=20) as client:
            reply = client.chat.completions.create(
                model=MODEL, messages=ask("How long is the context?"), extra_body={"context": "abc"}
            )
        waited = time.monotonic() - began
        health = one_slot.health()
    finally:
        stop.set()
        sender.join(5)
        connection.close()
    assert reply.choices[0].message.content == "length 3"
    assert waited < 2.5  # answered at once, not after the 3 s queue timeout
    assert health["running"] == 0  # the upload runs nothing, so it holds no slot


@pytest.mark.parametrize(
    ("chunked", "size"),
    [(False, "big"), (True, "big"), (False, "small"), (True, "small")],
    ids=["content-length-big", "chunked-big", "content-length-small", "chunked-small"],
)
def test_a_stalled_or_crawling_upload_gets_a_408_after_the_body_timeout(
    tmp_path: Path, chunked: bool, size: str
) -> None:
    # A body that stopped coming (a client that died without a FIN, a laptop put to sleep) was waited for forever.
    payload = json.dumps(body(context=DOCUMENT if size == "big" else "abc" * 300)).encode()
    for served in start(tmp_path, options=ServerOptions(max_concurrent_runs=1, body_timeout=1.5)):
        stalled = open_upload(served, payload, chunked=chunked, first=500)
        crawling = open_upload(served, payload, chunked=chunked, first=500)
        stop = threading.Event()
        sender = threading.Thread(target=trickle, args=(crawling, payload[500:], stop), kwargs={"chunked": chunked})
        sender.start()  # bytes keep coming, too slowly: the timeout is a cap on the whole body, not on silence
        began = time.monotonic()
        try:
            answers = [response_of(stalled, timeout=10), response_of(crawling, timeout=10)]
        finally:
            stop.set()
            sender.join(5)
            stalled.close()
            crawling.close()
        took = time.monotonic() - began
        for status, answer, head in answers:
            assert status == 408, answer
            assert answer["error"]["code"] == "request_timeout" and answer["error"]["type"] == "invalid_request_error"
            assert "1.5 s" in answer["error"]["message"] and "--body-timeout" in answer["error"]["message"]
            assert "connection: close" in head.lower()
        assert took < 6
        assert served.health() == {"status": "ok", "running": 0, "max_running": 1, "queued": 0}
        assert served.lm.calls == []
        later = httpx.post(f"{served.url}{COMPLETIONS}", json=body(context="abcd"), timeout=10)
        assert later.status_code == 200 and later.json()["choices"][0]["message"]["content"] == "length 4"


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_client_that_drops_mid_upload_frees_its_place(one_slot: Served, chunked: bool) -> None:
    payload = json.dumps(body(context=DOCUMENT)).encode()
    for _ in range(3):  # more drops than the server has slots
        connection = open_upload(one_slot, payload, chunked=chunked, first=len(payload) // 2)
        time.sleep(0.2)
        connection.close()
    deadline = time.monotonic() + 5
    while one_slot.health()["queued"] or one_slot.health()["running"]:
        assert time.monotonic() < deadline, one_slot.health()
        time.sleep(0.05)
    # a big body read afterwards needs the room the dropped ones held
    answer = httpx.post(f"{one_slot.url}{COMPLETIONS}", json=body(context=DOCUMENT), timeout=10)
    assert answer.status_code == 200 and answer.json()["choices"][0]["message"]["content"] == f"length {len(DOCUMENT)}"


def test_big_chunked_bodies_at_a_normal_pace_are_all_answered(tmp_path: Path) -> None:
    # Bodies of unknown size are booked as they arrive (they were booked at the largest allowed size while read).
    payload = json.dumps(body(context=DOCUMENT)).encode()
    pieces = [payload[start_at : start_at + 64 * 1024] for start_at in range(0, len(payload), 64 * 1024)]
    results: list[httpx.Response] = []
    for served in start(tmp_path, options=ServerOptions(max_concurrent_runs=2, body_timeout=20)):
        url = f"{served.url}{COMPLETIONS}"

        def post(url: str) -> None:
            results.append(httpx.post(url, content=iter(pieces), timeout=30))

        posters = [threading.Thread(target=post, args=(url,)) for _ in range(5)]
        for poster in posters:
            poster.start()
        for poster in posters:
            poster.join(40)
    assert [result.status_code for result in results] == [200] * 5
    assert {result.json()["choices"][0]["message"]["content"] for result in results} == {f"length {len(DOCUMENT)}"}


def test_max_queued_zero_still_reads_a_big_body_on_an_idle_server(tmp_path: Path) -> None:
    # --max-queued 0 means "no waiting": a body the budget takes at once is not waiting (it got a 429 on an idle server)
    for served in start(tmp_path, options=ServerOptions(max_queued=0)):
        answer = httpx.post(f"{served.url}{COMPLETIONS}", json=body(context=DOCUMENT), timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["choices"][0]["message"]["content"] == f"length {len(DOCUMENT)}"


# --- structured answers -------------------------------------------------------------------------------

NAMED = {
    "type": "json_schema",
    "json_schema": {
        "name": "count",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {"n": {"type": "string"}},  # the scripted root FINALs {'n': <an integer>}: never a match
            "required": ["n"],
            "additionalProperties": False,
        },
    },
}


def test_a_schema_never_met_gives_no_content_when_the_budget_runs_out(tmp_path: Path) -> None:
    # The last rejected (well-formed, schema-breaking) JSON came back as content with a 200: a client that parses
    # content without checking finish_reason took it as valid.
    for served in start(tmp_path):
        request = body("Count as JSON", context="abc", response_format=NAMED, rlmx={"max_iterations": 2})
        plain = httpx.post(f"{served.url}{COMPLETIONS}", json=request, timeout=30)
        streamed = httpx.post(f"{served.url}{COMPLETIONS}", json={**request, "stream": True}, timeout=30)
        texts = []
        for line in streamed.text.split("\n"):
            if line.startswith("data: {"):
                event = json.loads(line.removeprefix("data: "))
                texts += [choice["delta"].get("content") or "" for choice in event.get("choices", [])]
                if event.get("choices") and event["choices"][0]["finish_reason"]:
                    stream_finish = event["choices"][0]["finish_reason"]
        answer = plain.json()
        assert plain.status_code == 200, answer
        assert answer["choices"][0]["finish_reason"] == "length"
        assert answer["rlmx"]["stop_reason"].startswith("max_iterations"), answer["rlmx"]
        assert answer["choices"][0]["message"]["content"] == ""
        assert "".join(texts) == "" and stream_finish == "length"
        assert streamed.text.rstrip().endswith("data: [DONE]")
        # the rejected answers were FINALed (and refused) on every turn: the budget, not the script, ended the runs
        assert len(served.lm.calls) >= 4


def test_an_answer_that_validates_still_comes_back_when_the_budget_runs_out(tmp_path: Path) -> None:
    matching = {**NAMED, "json_schema": {**NAMED["json_schema"], "schema": {"type": "object"}}}
    for served in start(tmp_path):
        request = body("Count as JSON", context="abc", response_format=matching)
        answer = httpx.post(f"{served.url}{COMPLETIONS}", json=request, timeout=30).json()
        assert answer["choices"][0]["finish_reason"] == "stop"
        assert json.loads(answer["choices"][0]["message"]["content"]) == {"n": 3}


# --- shutdown and option ranges ----------------------------------------------------------------------------------


def test_a_request_waiting_for_room_to_read_its_body_gets_its_503_as_the_server_stops(tmp_path: Path) -> None:
    # it got its 503 only at --shutdown-timeout's end, where the README says a waiting request gets it at once
    import signal

    from scripting import repl
    from server.test_serve_command import health_reaches, serve_command, serving

    command = serve_command(tmp_path, [repl("FINAL('x')")], "--port", "0", "--shutdown-timeout", "30")
    with serving(command) as (url, proc):
        host, port = url.removeprefix("http://").split(":")
        head = b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{"
        with (
            socket.create_connection((host, int(port))) as reading,
            socket.create_connection((host, int(port))) as waiting,
        ):
            reading.sendall(head % (COMPLETIONS.encode(), 20 << 20) + b" " * (9 << 20))  # past the budget, stalls
            time.sleep(1)  # read into the budget (8 MiB) and past it
            waiting.sendall(head % (COMPLETIONS.encode(), 1 << 20) + b" " * (300 << 10))  # waits for room
            health_reaches(url, queued=1)
            proc.send_signal(signal.SIGTERM)
            stopped = time.monotonic()
            waiting.settimeout(25)
            said = waiting.recv(4096)
            answered_after = time.monotonic() - stopped
        assert proc.wait(timeout=60) == 0
    assert said.startswith(b"HTTP/1.1 503") and answered_after < 10  # at once, not at the 30 s deadline


@pytest.mark.parametrize("value", ["0", "-1", "1e9", "nan", "abc"])
def test_body_timeout_out_of_range_names_the_range(tmp_path: Path, value: str) -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "rlmx.cli", "serve", "--scripted", str(tmp_path / "none.json"), "--body-timeout", value],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "more than 0 and below 1e9" in done.stderr, done.stderr


def test_a_file_part_holding_a_pdf_under_another_name_is_told_to_be_sent_as_a_pdf() -> None:
    # "send text, or a PDF, DOCX, ... file" to a client that had sent a PDF (as report.bin, application/octet-stream)
    import base64

    from rlmx.server.files import FileRefused, read_file_part

    pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj"
    part = {"type": "file", "file": {"filename": "report.bin", "file_data": "data:application/octet-stream;base64,"}}
    part["file"]["file_data"] += base64.b64encode(pdf).decode()
    with pytest.raises(FileRefused, match=r"\.bin is binary: it is a PDF: send it with a filename ending in \.pdf"):
        read_file_part(part)
