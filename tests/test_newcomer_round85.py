"""Round 85, the newcomer's path: a server's URL with blanks around it (an env file's `RLMX_BASE_URL=URL ` line) is
trimmed as the model name and the keys are, from a flag, a variable or the API alike, and the advice after a 404
names the setting that gave the URL; an offline question's trace holds the guided library by reference, not whole."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fake_openai_server import Behaviour, FakeOpenAIServer, Reply, error_body
from rlmx import RLM
from rlmx.cli import EXIT_LM, EXIT_USAGE
from rlmx.errors import InputError
from rlmx.lm import GuidedRoot, Message, ScriptedLM
from rlmx.lm.guided import library
from rlmx.lm.openai import OpenAICompatibleLM

FINISHES = "```repl\nFINAL('ok')\n```"


def clean_environ(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RLMX_", "XDG_"))}
    return {**env, **extra}


def ask(tmp_path: Path, *flags: str, **environ: str) -> subprocess.CompletedProcess[str]:
    context = tmp_path / "n.txt"
    context.write_text("The owner is Ana.\n", encoding="utf-8")
    command = [sys.executable, "-m", "rlmx.cli", "ask", "Who is the owner?", "-c", str(context), "--quiet"]
    command += ["--trace-dir", str(tmp_path / "traces"), *flags]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=clean_environ(**environ))


def _by(source: str, url: str) -> tuple[list[str], dict[str, str]]:
    """The flags and variables that give `url` from `source`."""
    if source == "--base-url":
        return ["--model", "m", "--base-url", url], {}
    if source == "RLMX_BASE_URL":
        return [], {"RLMX_MODEL": "m", "RLMX_BASE_URL": url}
    return ["--model", "m"], {"OPENAI_API_KEY": "k3y", "OPENAI_BASE_URL": url}


# --- a base URL's surrounding blanks are trimmed, wherever it comes from -------------------------------------


@pytest.mark.parametrize("source", ["--base-url", "RLMX_BASE_URL", "OPENAI_BASE_URL"])
@pytest.mark.parametrize("blanks", [("", " "), (" ", ""), ("\t", "\r\n")])
def test_a_base_url_with_blanks_around_it_is_asked_at_the_url_itself(
    tmp_path: Path, source: str, blanks: tuple[str, str]
) -> None:
    with FakeOpenAIServer(Behaviour(text=FINISHES)) as server:
        flags, environ = _by(source, blanks[0] + server.base_url + blanks[1])
        proc = ask(tmp_path, *flags, **environ)
        paths = {request.path for request in server.requests}
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"
    assert paths == {"/v1/chat/completions"}  # it had gone to /v1%20/chat/completions and met a 404


@pytest.mark.parametrize("source", ["--base-url", "RLMX_BASE_URL", "OPENAI_BASE_URL"])
def test_a_blank_inside_a_base_url_is_refused_naming_where_it_came_from(tmp_path: Path, source: str) -> None:
    flags, environ = _by(source, "http://127.0.0.1:9/v1 /chat")
    proc = ask(tmp_path, *flags, **environ)
    assert proc.returncode == EXIT_USAGE, proc.stderr
    assert f"{source} holds a blank at character 22" in proc.stderr


@pytest.mark.parametrize("source", ["--base-url", "RLMX_BASE_URL", "OPENAI_BASE_URL"])
def test_the_advice_after_a_404_names_the_setting_that_gave_the_url_not_the_parameter(
    tmp_path: Path, source: str
) -> None:
    def no_route(body: object) -> Reply:
        return Reply(404, error_body("no route /v1/chat/completions", "not_found_error"))

    with FakeOpenAIServer(Behaviour(route=no_route)) as server:
        flags, environ = _by(source, server.base_url)
        proc = ask(tmp_path, *flags, **environ)
    assert proc.returncode == EXIT_LM, proc.stderr
    assert f"check that {source} is the API's root" in proc.stderr
    assert "base_url" not in proc.stderr  # Python's parameter, which a CLI user never set


def test_the_client_trims_its_settings_as_the_command_line_does(monkeypatch: pytest.MonkeyPatch) -> None:
    lm = OpenAICompatibleLM(" m\n", base_url=" http://127.0.0.1:9/v1 ")
    assert (lm.model, lm.base_url) == ("m", "http://127.0.0.1:9/v1/")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1\n")
    assert OpenAICompatibleLM("m", api_key="k3y").base_url == "http://127.0.0.1:9/v1/"
    with pytest.raises(InputError, match="base_url holds a blank"):
        OpenAICompatibleLM("m", base_url="http://127.0.0.1:9/v 1")
    with pytest.raises(InputError, match="needs a model name"):
        OpenAICompatibleLM("  ", base_url="http://127.0.0.1:9/v1")


# --- the guided library is held by reference in a trace ---------------------------------------------------------


def _guided_trace(tmp_path: Path) -> Path:
    def reader(messages: list[Message]) -> str:
        return "Ana"

    rlm = RLM(GuidedRoot(ScriptedLM(reader)), trace_dir=tmp_path / "traces")
    result = rlm.completion("Who is the owner?", context="The owner is Ana.")
    assert result.trace_path is not None
    return Path(result.trace_path)


def test_an_offline_questions_trace_holds_the_guided_library_by_reference(tmp_path: Path) -> None:
    trace = _guided_trace(tmp_path)
    events = [json.loads(line) for line in trace.read_text("utf-8").splitlines()]
    codes = "\n".join(e["code"] for e in events if e["type"] == "cell_start")
    digest = hashlib.sha256(library().encode("utf-8")).hexdigest()
    assert "def build_index" not in codes and f"sha256 {digest}" in codes
    assert f"{len(library()):,} characters" in codes
    responses = "\n".join(e.get("response") or "" for e in events if e["type"] == "lm_call")
    assert "def build_index" not in responses and f"sha256 {digest}" in responses
    # it was ~390 KB for this question, 364,520 characters of it the library; the rest of the run is a few KB
    assert trace.stat().st_size < 40_000 < len(library())


def test_a_callback_still_gets_the_cell_whole(tmp_path: Path) -> None:
    seen: list[str] = []

    def reader(messages: list[Message]) -> str:
        return "Ana"

    rlm = RLM(GuidedRoot(ScriptedLM(reader)), trace_dir=tmp_path, on_event=lambda e: seen.append(str(e.data)))
    rlm.completion("Who is the owner?", context="The owner is Ana.")
    assert any("def build_index" in data for data in seen)


def test_rlmx_view_shows_a_trace_holding_the_library_by_reference(tmp_path: Path) -> None:
    trace = _guided_trace(tmp_path)
    page = tmp_path / "page.html"
    command = [sys.executable, "-m", "rlmx.cli", "view", str(trace), "--html", str(page)]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120, env=clean_environ())
    assert proc.returncode == 0, proc.stderr
    html = page.read_text("utf-8")
    assert "guided library" in html and "def build_index" not in html
    assert page.stat().st_size < 200_000  # a one-line answer's page was 475 KB
