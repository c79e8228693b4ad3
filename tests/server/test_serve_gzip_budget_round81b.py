"""`rlmx serve`, review 81b: a compressed body's decoded bytes are booked in the budget of bodies waiting to run as
they are made, and wait for room as a plain body's bytes do. A small gzip body (under 256 KiB on the wire) was never
"big": it was decoded whole, and only then booked, over the budget: 12 queued 15 KB gzip requests grew the server
by 241-271 MiB (the same bodies sent plain: 26 MiB). Also: zero padding after a gzip member is skipped, as `gzip -d`
and Python's `gzip.decompress` skip it (it was a 400)."""

from __future__ import annotations

import gzip
import json
import socket
import time
from pathlib import Path

import httpx2 as httpx

from rlmx.server import ServerOptions
from server.server_harness import MODEL, Served, ask, start
from server.test_body_budget import HOG, health_reaches, stalled_upload
from server.test_serve_round49 import COMPLETIONS, response_of


def question(context: str) -> bytes:
    return json.dumps({"model": MODEL, "messages": ask("How long is the context?"), "context": context}).encode()


def gzip_upload(served: Served, squeezed: bytes) -> socket.socket:
    """A raw POST of the gzip body `squeezed` (sent whole), so that its wait can be watched through /health."""
    host, port = served.url.removeprefix("http://").split(":")
    connection = socket.create_connection((host, int(port)))
    head = (
        b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
        b"Connection: close\r\nContent-Length: %d\r\n\r\n"
    )
    connection.sendall(head % (COMPLETIONS.encode(), len(squeezed)) + squeezed)
    return connection


def test_a_small_gzip_body_waits_for_room_for_its_decoded_bytes(tmp_path: Path) -> None:
    squeezed = gzip.compress(question("z" * (2 << 20)), 9)
    assert len(squeezed) < 16_000  # far under THREAD_THRESHOLD as sent; 2 MiB once decoded
    for served in start(tmp_path, options=ServerOptions(body_timeout=20, queue_timeout=30)):
        hog = stalled_upload(served, 20 << 20, HOG)  # read past the whole 8 MiB budget, then stalled
        try:
            time.sleep(1)
            connection = gzip_upload(served, squeezed)
            # it waits for room to be decoded (it was decoded at once and ran, booked over the full budget)
            health_reaches(served, queued=1)
            time.sleep(0.5)
            assert served.health()["queued"] == 1
            assert not [event for event in served.events if event.type == "run_start"]
        finally:
            hog.close()  # the stalled upload leaves: room comes, and the waiting body is decoded and runs
        status, answer, _ = response_of(connection, timeout=20)
        connection.close()
    assert status == 200, answer
    assert answer["choices"][0]["message"]["content"] == f"length {2 << 20}"


def test_gzip_zero_padding_after_a_member_is_skipped(tmp_path: Path) -> None:
    body = question("abcd" * 1000)
    assert gzip.decompress(gzip.compress(body) + b"\0" * 512) == body  # what Python (and gzip -d) read
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    for served in start(tmp_path):
        for sent in (
            gzip.compress(body) + b"\0" * 512,  # padded to a block, as tape and block devices write
            gzip.compress(body[:100]) + b"\0" * 7 + gzip.compress(body[100:]) + b"\0",
        ):
            answer = httpx.post(served.url + COMPLETIONS, content=sent, headers=headers, timeout=30)
            assert answer.status_code == 200, answer.text
            assert answer.json()["choices"][0]["message"]["content"] == "length 4000"
        garbage = httpx.post(served.url + COMPLETIONS, content=gzip.compress(body) + b"junk", headers=headers)
        assert garbage.status_code == 400 and garbage.json()["error"]["code"] == "invalid_content_encoding"
