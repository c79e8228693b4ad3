"""`rlmx serve`, round 81 (audit 81): a request body's Content-Encoding is read. gzip and deflate bodies (what httpx
and requests users send to shrink a big context, and what some gateways send on) are decoded, bounded by
--max-request-bytes counted after decoding, so a small body that inflates to gigabytes gets a 413, not memory; any
other coding is a 415 that names it. The header was ignored: a gzip body got 400 "not valid JSON", blaming the JSON."""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path

import httpx2 as httpx

from rlmx.server.app import ServerOptions
from server.server_harness import MODEL, ask, start

COMPLETIONS = "/v1/chat/completions"


def question(context: str) -> bytes:
    return json.dumps({"model": MODEL, "messages": ask("How long is the context?"), "context": context}).encode()


def post(url: str, body: bytes, coding: str) -> httpx.Response:
    headers = {"Content-Type": "application/json", "Content-Encoding": coding}
    return httpx.post(url + COMPLETIONS, content=body, headers=headers, timeout=60)


def answer_of(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    content: str = response.json()["choices"][0]["message"]["content"]
    return content


def error_of(response: httpx.Response) -> dict[str, str]:
    assert response.headers["content-type"].startswith("application/json"), response.headers
    error: dict[str, str] = response.json()["error"]
    return error


def bomb(decoded_mib: int) -> bytes:
    """A gzip body (members one after another, as `cat a.gz b.gz` makes) of a JSON request whose context is
    `decoded_mib` MiB of spaces: the same member of 8 MiB of spaces, about 8 KB, sent again and again, so that it is
    about 1,000 times smaller than what it decodes to."""
    head, tail = question("").split(b'""')
    spaces = gzip.compress(b" " * (8 << 20))
    return gzip.compress(head + b'"') + spaces * (decoded_mib // 8) + gzip.compress(b'"' + tail)


def test_gzip_and_deflate_bodies_are_decoded(tmp_path: Path) -> None:
    body = question("abcd" * 1000)
    raw_deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
    for served in start(tmp_path):
        assert answer_of(post(served.url, gzip.compress(body), "gzip")) == "length 4000"
        assert answer_of(post(served.url, gzip.compress(body), "x-gzip")) == "length 4000"
        assert answer_of(post(served.url, zlib.compress(body), "deflate")) == "length 4000"  # RFC 9110's deflate
        raw = raw_deflate.compress(body) + raw_deflate.flush()
        assert answer_of(post(served.url, raw, "Deflate")) == "length 4000"  # raw deflate, as browsers take it
        members = gzip.compress(body[:100]) + gzip.compress(body[100:])  # `cat a.gz b.gz`, as gzip -d reads it
        assert answer_of(post(served.url, members, "gzip")) == "length 4000"
        assert answer_of(post(served.url, gzip.compress(zlib.compress(body)), "deflate, gzip")) == "length 4000"
        assert answer_of(post(served.url, body, "identity")) == "length 4000"


def test_the_limit_counts_decoded_bytes_and_a_zip_bomb_is_a_413(tmp_path: Path) -> None:
    options = ServerOptions(max_request_bytes=1 << 20)
    for served in start(tmp_path, options=options):
        fits = gzip.compress(question("x" * 900_000))
        assert answer_of(post(served.url, fits, "gzip")) == "length 900000"
        over = gzip.compress(question("x" * 1_200_000))
        assert len(over) < 10_000  # far under the limit as sent
        refused = post(served.url, over, "gzip")
        sent = bomb(800)
        assert len(sent) < 1 << 20
        bombed = post(served.url, sent, "gzip")  # 800 MiB once decoded
        assert [event.type for event in served.events].count("run_start") == 1  # only `fits` ran
    for response in (refused, bombed):
        assert response.status_code == 413, response.text[:300]
        error = error_of(response)
        assert error["code"] == "request_too_large"
        assert "limit of 1,048,576 bytes once its gzip Content-Encoding is decoded" in error["message"]
        assert "--max-request-bytes" in error["message"]


def test_a_coding_not_decoded_is_a_415_and_a_body_not_in_its_coding_a_400(tmp_path: Path) -> None:
    body = question("abcd")
    for served in start(tmp_path):
        refused = {coding: post(served.url, body, coding) for coding in ("br", "zstd", "gzip, compress")}
        stacked = post(served.url, body, "gzip, gzip, gzip, gzip, gzip")
        plain_as_gzip = post(served.url, body, "gzip")
        cut = post(served.url, gzip.compress(body)[:-20], "gzip")
        assert served.events == []
    for coding, response in refused.items():
        assert response.status_code == 415, (coding, response.text)
        error = error_of(response)
        assert error["code"] == "unsupported_content_encoding" and error["param"] == "Content-Encoding"
        named = coding.rsplit(" ", 1)[-1]
        assert f"does not decode the coding {named!r}" in error["message"], error["message"]
        assert "uncompressed, or compressed once with gzip or deflate" in error["message"]
    assert stacked.status_code == 415 and "5 codings" in error_of(stacked)["message"]
    for response in (plain_as_gzip, cut):
        assert response.status_code == 400, response.text
        error = error_of(response)
        assert error["code"] == "invalid_content_encoding", error
        assert "not valid gzip data" in error["message"] and "not valid JSON" not in error["message"]
