"""`rlmx serve`, round 77: web pages kept out. A page the user opens may POST to 127.0.0.1 without a CORS preflight
(text/plain, a "simple request") or reach it under its own name rebound to 127.0.0.1; neither may start a run.
Refusals and CORS preflights are OpenAI-shaped and carry x-request-id. Clients that send no Origin are served."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2 as httpx
import pytest

from rlmx.cli import build_parser
from rlmx.commands import serve as serve_command
from rlmx.http_access import Origins, names_this_machine, same_origin
from rlmx.server.app import ServerOptions
from server.server_harness import MODEL, ask, start

COMPLETIONS = "/v1/chat/completions"
QUESTION = json.dumps({"model": MODEL, "messages": ask("How long is the context?"), "context": "abcd"}).encode()


def error_of(response: httpx.Response) -> dict[str, object]:
    """The OpenAI-shaped error of a refusal, checked to carry x-request-id as every response does."""
    assert "x-request-id" in response.headers, response.headers
    assert response.headers["content-type"].startswith("application/json"), response.headers
    error: dict[str, object] = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


def test_a_foreign_pages_simple_post_is_refused_before_any_run(tmp_path: Path) -> None:
    # What fetch(url, {method: "POST", mode: "no-cors", body}) from another site sends: no preflight, and the body
    # was served (a run on the user's model key). Now a 403 that says how to let a page in, and no LM call.
    for served in start(tmp_path, options=ServerOptions(loopback_only=True)):
        page = {"Origin": "https://evil.example", "Content-Type": "text/plain;charset=UTF-8"}
        refused = httpx.post(served.url + COMPLETIONS, content=QUESTION, headers=page, timeout=30)
        as_json = httpx.post(
            served.url + COMPLETIONS, content=QUESTION, headers={**page, "Content-Type": "application/json"}
        )
        sandboxed = httpx.post(served.url + COMPLETIONS, content=QUESTION, headers={**page, "Origin": "null"})
        assert refused.status_code == 403 and as_json.status_code == 403 and sandboxed.status_code == 403
        error = error_of(refused)
        assert error["code"] == "origin_not_allowed" and "--cors-origin" in str(error["message"])
        assert "https://evil.example" in str(error["message"])
        assert served.lm.params == [] and served.events == []
        # the server's own page (same origin) and clients that send no Origin are served
        own = httpx.post(
            served.url + COMPLETIONS,
            content=QUESTION,
            headers={"Origin": served.url, "Content-Type": "application/json"},
            timeout=30,
        )
        assert own.status_code == 200, own.text
        question = ask("How long is the context?")
        reply = served.client().chat.completions.create(model=MODEL, messages=question, extra_body={"context": "ab"})
        assert reply.choices[0].message.content == "length 2"


def test_on_a_wide_bind_without_a_key_the_servers_own_origin_is_no_pass(tmp_path: Path) -> None:
    # audit 77 review v02: with --host 0.0.0.0 and no key, a page whose name was rebound to this machine sends an
    # Origin naming the Host it reached: it was taken for the server's own page and served
    for served in start(tmp_path):  # bound wide: its Host is not checked
        port = served.url.rsplit(":", 1)[1]
        rebound = {"Host": f"attacker.example:{port}", "Origin": f"http://attacker.example:{port}"}
        headers = {**rebound, "Content-Type": "application/json"}
        refused = httpx.post(served.url + COMPLETIONS, content=QUESTION, headers=headers, timeout=30)
        assert refused.status_code == 403 and error_of(refused)["code"] == "origin_not_allowed"
        assert served.events == []
    for served in start(tmp_path, options=ServerOptions(api_key="k-77")):  # a key: the page cannot send it
        port = served.url.rsplit(":", 1)[1]
        own = {"Host": f"devbox.internal:{port}", "Origin": f"http://devbox.internal:{port}"}
        keyed = {**own, "Content-Type": "application/json", "Authorization": "Bearer k-77"}
        assert httpx.post(served.url + COMPLETIONS, content=QUESTION, headers=keyed, timeout=30).status_code == 200


def test_a_body_not_declared_json_is_a_415_saying_what_to_send(tmp_path: Path) -> None:
    # text/plain and the form types are what a page may send anywhere without a preflight; curl -d sends a form type
    for served in start(tmp_path):
        for declared in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
            refused = httpx.post(served.url + COMPLETIONS, content=QUESTION, headers={"Content-Type": declared})
            assert refused.status_code == 415, (declared, refused.text)
            error = error_of(refused)
            assert error["code"] == "unsupported_media_type" and error["param"] == "Content-Type"
            assert "Content-Type: application/json" in str(error["message"])
        assert served.events == []
        for declared in ("application/json; charset=utf-8", "Application/JSON", "application/vnd.api+json"):
            served_ok = httpx.post(served.url + COMPLETIONS, content=QUESTION, headers={"Content-Type": declared})
            assert served_ok.status_code == 200, (declared, served_ok.text)


def test_a_rebound_host_is_misdirected_on_a_loopback_bind(tmp_path: Path) -> None:
    # After DNS rebinding, attacker.example:PORT is same-origin with the server: the page could read every answer.
    for served in start(tmp_path, options=ServerOptions(loopback_only=True)):
        port = served.url.rsplit(":", 1)[1]
        rebound = {"Host": f"attacker.example:{port}", "Origin": f"http://attacker.example:{port}"}
        refused = httpx.post(
            served.url + COMPLETIONS, content=QUESTION, headers={**rebound, "Content-Type": "application/json"}
        )
        health = httpx.get(served.url + "/health", headers={"Host": f"attacker.example:{port}"})
        assert refused.status_code == 421 and health.status_code == 421
        error = error_of(refused)
        assert error["code"] == "misdirected_request" and "DNS rebinding" in str(error["message"])
        assert served.events == []
        for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}", "LOCALHOST"):
            assert httpx.get(served.url + "/health", headers={"Host": host}).status_code == 200, host
    for served in start(tmp_path):  # bound wider (an app embedded by its owner), Host names it however it is reached
        assert httpx.get(served.url + "/health", headers={"Host": "devbox.internal:8000"}).status_code == 200


def test_rlmx_serve_checks_host_on_its_loopback_binds_only() -> None:
    parser = build_parser()

    def options(*flags: str) -> ServerOptions:
        return serve_command.options(parser.parse_args(["serve", "--scripted", "s.json", *flags]), {})

    assert options().loopback_only and options("--host", "localhost").loopback_only
    assert options("--host", "::1").loopback_only
    assert not options("--host", "0.0.0.0").loopback_only


def test_cors_preflights_carry_the_request_id_and_refusals_are_openai_errors(tmp_path: Path) -> None:
    # Starlette's CORS answered preflights outside rlmx's layers: no x-request-id, and a text/plain 400 for a refusal.
    # A --cors-origin with any port (http://host:*) is now matched as the flag documents it.
    options = ServerOptions(cors_origins=("https://app.example", "http://localhost:*"))
    for served in start(tmp_path, options=options):
        url = served.url + COMPLETIONS

        def preflight(origin: str, method: str = "POST", url: str = url) -> httpx.Response:
            asked = {"Origin": origin, "Access-Control-Request-Method": method}
            return httpx.options(url, headers={**asked, "Access-Control-Request-Headers": "content-type"})

        allowed, any_port = preflight("https://app.example"), preflight("http://localhost:5173")
        for answer, origin in ((allowed, "https://app.example"), (any_port, "http://localhost:5173")):
            assert answer.status_code == 200 and "x-request-id" in answer.headers, answer.headers
            assert answer.headers["access-control-allow-origin"] == origin
        foreign = preflight("https://other.example")
        assert foreign.status_code == 403 and "--cors-origin" in str(error_of(foreign)["message"])
        method = preflight("https://app.example", "DELETE")
        assert method.status_code == 403 and error_of(method)["code"] == "cors_preflight_refused"
        assert method.headers["access-control-allow-origin"] == "https://app.example"  # the page can read why
        called = httpx.post(
            url,
            content=QUESTION,
            headers={"Origin": "http://localhost:5173", "Content-Type": "application/json"},
            timeout=30,
        )
        assert called.status_code == 200 and called.headers["access-control-allow-origin"] == "http://localhost:5173"


@pytest.mark.parametrize(
    ("host", "local"),
    [
        ("127.0.0.1:8000", True),
        ("localhost", True),
        ("[::1]:80", True),
        ("[::1]", True),
        ("LocalHost:1", True),
        ("localhost:", False),
        ("localhost:x", False),
        ("localhost.evil.example:8000", False),
        ("127.0.0.1.nip.io:8000", False),
        ("::1", False),
        ("", False),
    ],
)
def test_which_host_headers_name_this_machine(host: str, local: bool) -> None:
    assert names_this_machine(host) is local


def test_origins_match_exactly_any_port_or_all() -> None:
    origins = Origins(["https://App.example", "http://localhost:*"])
    assert origins.allows("https://app.example") and origins.allows("http://localhost:3000")
    assert not origins.allows("https://app.example:8443") and not origins.allows("http://localhost.evil:1")
    assert not origins.allows("http://localhost:") and not origins.allows("null")
    assert Origins(["*"]).allows("https://anything.example")
    assert same_origin("http://127.0.0.1:8000", "127.0.0.1:8000") and same_origin("https://api.example", "api.example")
    assert not same_origin("http://127.0.0.1:8001", "127.0.0.1:8000") and not same_origin("null", "null")
