"""Review round 88 (audit 88n).

* v01-v03: a sampling knob refused at its off value (TGI's "`top_p` must be > 0.0 and < 1.0" for top_p=1.0, "must be
  strictly positive" for presence_penalty=0) was marked unsupported for the LM's whole life: a later call's value
  inside the range (top_p=0.5; through `rlmx serve`, another client's top_p=0.3) was sent with no top_p at all. What
  a refusal teaches is the range, judged for each value: only a value outside it is brought in or left out.
* v04: an exclusive bound worded "must be above 0", "over 0", "greater than zero" was not read: every call failed.
* v05: the isolated tier on a non-root host compared the worker's uid inside bubblewrap (65534) with the host's
  (1000), so inotify was not refused, though the kernel charges the host's uid: a cell took all 128 instances and
  the user's own inotify_init1 got EMFILE.
* v07: `--context` naming one file twice through a hard link, or a folder and a file inside it, loaded it twice.
* v08, v09: `ServerOptions.cors_origins` was checked but kept as given ("https://app.example.com/" matched no
  browser's Origin), and a lone string was read letter by letter ("'h' is not an origin").
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fake_openai_server import Behaviour, FakeOpenAIServer, Reply, error_body
from rlmx.cli import UsageError, context_arguments
from rlmx.errors import InputError, LMRequestError
from rlmx.lm.base import Message
from rlmx.lm.openai import OpenAICompatibleLM
from rlmx.sandbox import harden

MESSAGES: list[Message] = [{"role": "user", "content": "Say hi."}]
SRC = str(Path(harden.__file__).resolve().parents[2])


def _refusing(param: str, allowed: Callable[[float], bool], body: dict[str, Any]) -> Behaviour:
    """A server that refuses `param` outside what `allowed` takes, with `body`, every time."""

    def route(request: dict[str, Any]) -> Reply | None:
        value = request.get(param)
        return Reply(400, body) if value is not None and not allowed(value) else None

    return Behaviour(text="FINAL(hello)", route=route)


@pytest.fixture
def tgi() -> Iterator[FakeOpenAIServer]:
    """Text-generation-inference's top_p rule: "> 0.0 and < 1.0"."""
    body = {"error": "Input validation error: `top_p` must be > 0.0 and < 1.0", "error_type": "validation"}
    with FakeOpenAIServer(_refusing("top_p", lambda value: 0.0 < value < 1.0, body)) as running:
        yield running


# --- v01-v03: the range a refusal names is learned, never the knob --------------------------------------------


async def test_a_knob_refused_at_its_off_value_still_sends_a_later_value_inside_the_range(
    tgi: FakeOpenAIServer,
) -> None:
    lm = OpenAICompatibleLM("tgi", tgi.base_url, max_retries=0)
    await lm.complete(MESSAGES, top_p=1.0)
    assert "top_p" not in tgi.requests[-1].body  # off: left out, the server's default
    sent = []
    for value in (0.5, 1.0, 0.2, 1.5):
        before = len(tgi.requests)
        await lm.complete(MESSAGES, top_p=value)
        assert len(tgi.requests) == before + 1  # the range is known: no refusal spent
        sent.append(tgi.requests[-1].body.get("top_p", "absent"))
    assert sent == [0.5, "absent", 0.2, pytest.approx(0.99)]
    assert "top_p" not in lm.unsupported_params


async def test_a_penalty_refused_at_zero_sends_a_later_positive_one() -> None:
    body = error_body("presence_penalty must be strictly positive")
    with FakeOpenAIServer(_refusing("presence_penalty", lambda value: value > 0, body)) as server:
        lm = OpenAICompatibleLM("m", server.base_url, max_retries=0, presence_penalty=0.0)
        await lm.complete(MESSAGES)
        assert "presence_penalty" not in server.requests[-1].body
        await lm.complete(MESSAGES, presence_penalty=0.8)
        assert server.requests[-1].body["presence_penalty"] == 0.8
        # a negative penalty only just inside "strictly positive" would mean something else: the caller's to fix,
        # as it is on an LM that never saw the first refusal
        with pytest.raises(LMRequestError):
            await lm.complete(MESSAGES, presence_penalty=-0.5)
        await lm.complete(MESSAGES)
        assert "presence_penalty" not in server.requests[-1].body


def test_one_serve_clients_off_value_leaves_anothers_top_p_as_asked(tgi: FakeOpenAIServer) -> None:
    from starlette.testclient import TestClient

    from rlmx import RLM
    from rlmx.server.app import create_app

    app = create_app(RLM(OpenAICompatibleLM("tgi", tgi.base_url, max_retries=0)), model_name="rlmx")
    with TestClient(app) as client:
        ask = {"model": "rlmx", "messages": [{"role": "user", "content": "hi"}]}
        assert client.post("/v1/chat/completions", json={**ask, "top_p": 1.0}).status_code == 200
        before = len(tgi.requests)
        assert client.post("/v1/chat/completions", json={**ask, "top_p": 0.3}).status_code == 200
    later = [request.body.get("top_p", "absent") for request in tgi.requests[before:]]
    assert later and all(value == 0.3 for value in later), later


# --- v04: exclusive bounds in words ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("wording", "param", "value", "allowed", "sent"),
    [
        ("temperature must be above 0", "temperature", 0, lambda v: v > 0, 0.01),
        ("temperature must be above 0.0 for this model", "temperature", 0, lambda v: v > 0, 0.01),
        ("temperature must be over 0", "temperature", 0, lambda v: v > 0, 0.01),
        ("temperature must be greater than zero", "temperature", 0, lambda v: v > 0, 0.01),
        ("temperature must be more than zero", "temperature", 0.0, lambda v: v > 0, 0.01),
        ("temperature must exceed zero", "temperature", 0, lambda v: v > 0, 0.01),
        ("top_p must be between zero and one", "top_p", 1.5, lambda v: 0 <= v <= 1, 1.0),
        ("top_p must be greater than zero and less than one", "top_p", 0.0, lambda v: 0 < v < 1, 0.01),
        ("temperature must be below two", "temperature", 3.0, lambda v: v < 2, 1.99),
    ],
)
async def test_an_exclusive_bound_in_words_is_met_just_inside_it(
    wording: str, param: str, value: float, allowed: Callable[[float], bool], sent: float
) -> None:
    with FakeOpenAIServer(_refusing(param, allowed, error_body(wording))) as server:
        lm = OpenAICompatibleLM("m", server.base_url, max_retries=0, **{param: value})
        await lm.complete(MESSAGES)
        assert server.requests[-1].body[param] == pytest.approx(sent)


async def test_one_of_a_list_is_no_bound() -> None:
    refusal = error_body("temperature must be one of 0.5, 1")
    with FakeOpenAIServer(_refusing("temperature", lambda v: v in (0.5, 1), refusal)) as server:
        lm = OpenAICompatibleLM("m", server.base_url, max_retries=0, temperature=3)
        with pytest.raises(LMRequestError):
            await lm.complete(MESSAGES)
        assert len(server.requests) == 1


# --- v05: inotify in the isolated tier, by the uid the kernel charges ---------------------------------------

_INOTIFY_SCRIPT = r"""
import asyncio, ctypes, json
from rlmx.sandbox import SubCallResult, create_sandbox
from rlmx.sandbox.isolated import probe

CELL = "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nprint(libc.inotify_init1(0), ctypes.get_errno())"

async def no_calls(call):
    return [SubCallResult(False, error="no sub-calls")] * len(call.items)

async def main():
    if (await probe()).mode("bwrap") is None:
        print(json.dumps(None))
        return
    box = create_sandbox("isolated", mode="bwrap", hard_timeout_grace=1.0)
    await box.start([])
    try:
        result = await box.run_cell(CELL, calls=no_calls, timeout=30)
    finally:
        await box.close()
    print(json.dumps(result.stdout.split()))

asyncio.run(main())
"""


def _run_as(uid: int) -> list[str] | None:
    command = [sys.executable, "-c", textwrap.dedent(_INOTIFY_SCRIPT)]
    if os.geteuid() != uid:
        command = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", *command]
    env = {"PYTHONPATH": SRC, "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/tmp"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, env=env, cwd="/tmp")
    assert done.returncode == 0, done.stderr[-3000:]
    found: list[str] | None = json.loads(done.stdout.splitlines()[-1])
    return found


def test_the_isolated_tier_refuses_inotify_to_a_worker_charged_to_the_host_user() -> None:
    """A user other than 65534 (bubblewrap's uid inside), where the two numbers differ yet name one kernel uid."""
    if not harden.seccomp_supported():
        pytest.skip("no seccomp filters here")
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: no unprivileged user to test with")
    uid = os.geteuid() if os.geteuid() != 0 else 1000
    if uid == 65534:
        pytest.skip("the host user is bubblewrap's uid inside: the numbers agree")
    found = _run_as(uid)
    if found is None:
        pytest.skip("bubblewrap cannot run here")
    assert found == ["-1", "1"], found  # EPERM


async def test_a_root_hosts_bubblewrap_under_root_is_refused_inotify(monkeypatch: pytest.MonkeyPatch) -> None:
    """Root host, bubblewrap not run under a separate uid: the worker's 65534 is root's uid to the kernel."""
    from rlmx.sandbox import SubCallResult, create_sandbox, isolated

    if os.geteuid() != 0 or not harden.seccomp_supported():
        pytest.skip("needs a root host with seccomp")
    if (await isolated.probe()).bwrap_as_self is not None:
        pytest.skip("bubblewrap cannot run here")
    monkeypatch.setattr(isolated.Probe, "mode", lambda self, wanted: ("bwrap", False))

    async def no_calls(call: Any) -> list[SubCallResult]:
        return [SubCallResult(False, error="no sub-calls")] * len(call.items)

    box = create_sandbox("isolated", hard_timeout_grace=1.0)
    await box.start([])
    try:
        cell = (
            "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nprint(libc.inotify_init1(0), ctypes.get_errno())"
        )
        result = await box.run_cell(cell, calls=no_calls, timeout=30)
    finally:
        await box.close()
    assert result.stdout.split() == ["-1", "1"], result


def test_the_uid_charged_is_the_launchers_outside_the_hosts_namespace() -> None:
    here = harden.namespace_ids().get("user")
    identity = harden.host_identity(4242)
    assert identity["host_uid"] == os.getuid() and identity["host_user_namespace"] == here
    assert harden.host_side_uid(identity) == os.getuid()  # the host's own namespace: its uid, after any switch
    assert harden.host_side_uid({**identity, "host_user_namespace": "user:[1]"}) == 4242  # a namespace below it


# --- v07: one file through a hard link, or a folder holding it ---------------------------------------------


@pytest.fixture
def notes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs" / "sub").mkdir(parents=True)
    (tmp_path / "docs" / "a.md").write_text("alpha line\n", encoding="utf-8")
    (tmp_path / "docs" / "sub" / "b.md").write_text("beta line\n", encoding="utf-8")
    (tmp_path / "docs" / ".hidden.md").write_text("not read by the folder\n", encoding="utf-8")
    (tmp_path / "other.md").write_text("gamma\n", encoding="utf-8")
    os.link(tmp_path / "docs" / "a.md", tmp_path / "hard.md")
    return tmp_path


@pytest.mark.parametrize(
    ("paths", "named"),
    [
        (["docs/a.md", "hard.md"], ["docs/a.md", "hard.md"]),
        (["docs", "docs/a.md"], ["docs/a.md", "docs"]),
        (["docs/sub/b.md", "docs"], ["docs/sub/b.md", "docs"]),
        (["docs", "hard.md"], ["hard.md", "docs"]),
        (["docs", "docs/sub"], ["docs", "docs/sub"]),
        (["docs", "./docs/"], ["docs", "./docs/"]),
    ],
)
def test_one_file_reached_twice_is_refused_naming_both(notes: Path, paths: list[str], named: list[str]) -> None:
    with pytest.raises(UsageError, match=r"given twice|hold one file") as refused:
        context_arguments(paths)
    assert all(name in str(refused.value) for name in named), refused.value


@pytest.mark.parametrize("paths", [["docs", "other.md"], ["docs", "docs/.hidden.md"], ["docs/a.md", "docs/sub"]])
def test_what_a_folder_does_not_read_may_be_given_beside_it(notes: Path, paths: list[str]) -> None:
    context, named = context_arguments(paths)
    assert context == Path(paths[0]) and len(named) == 1


def test_the_cli_exits_2_for_a_folder_and_a_file_inside_it(notes: Path) -> None:
    from scripting import run_cli

    proc = run_cli("ask", "count alpha", "-c", "docs", "-c", "docs/a.md", tmp_path=notes)
    assert proc.returncode == 2 and proc.stdout == "" and "Traceback" not in proc.stderr
    assert "context file docs/a.md is given twice: context folder docs holds it too (as a.md)" in proc.stderr


# --- v08, v09: ServerOptions keeps its names as the flags do ---------------------------------------------


@pytest.mark.parametrize("allowed", ["https://app.example.com/", "HTTPS://App.Example.com", " https://app.example.com"])
def test_an_origin_given_in_python_matches_the_browsers(allowed: str) -> None:
    from starlette.testclient import TestClient

    from rlmx import RLM
    from rlmx.lm.scripted import ScriptedLM
    from rlmx.server.app import ServerOptions, create_app

    options = ServerOptions(cors_origins=[allowed])
    assert options.cors_origins == ("https://app.example.com",)
    app = create_app(RLM(ScriptedLM([])), model_name="rlmx", options=options)
    with TestClient(app) as client:
        origin = {"Origin": "https://app.example.com"}
        answer = client.get("/v1/models", headers=origin)
        preflight = client.options(
            "/v1/chat/completions",
            headers={
                **origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
    assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == "https://app.example.com"
    assert preflight.status_code == 200


@pytest.mark.parametrize(
    ("field", "value"), [("cors_origins", "https://app.example.com"), ("allowed_hosts", "proxy.local")]
)
def test_a_lone_string_for_a_list_of_names_says_so(field: str, value: str) -> None:
    from rlmx.server import ServerOptions

    with pytest.raises(InputError, match=rf"{field} must be a tuple or list of .*, got str") as refused:
        ServerOptions(**{field: value})
    assert "is not an" not in str(refused.value)


def test_the_names_kept_are_the_flags_and_a_host_list_is_checked() -> None:
    from rlmx.server import ServerOptions

    options = ServerOptions(cors_origins=("*", "http://localhost:*"), allowed_hosts=["proxy.local"])
    assert options.cors_origins == ("*", "http://localhost:*") and options.allowed_hosts == ("proxy.local",)
    with pytest.raises(InputError, match=r"allowed_hosts: 'https://proxy\.local' is not a host name"):
        ServerOptions(allowed_hosts=("https://proxy.local",))
