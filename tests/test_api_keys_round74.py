"""A key that is empty once trimmed is no key, and a key no header can carry is named with its character, its place
and where it came from (audit 74 newcomer v03, v05).

`OPENAI_API_KEY=""` (`export OPENAI_API_KEY=$UNSET_VAR`) sent `Authorization: Bearer ` with nothing after it, and a
401 then blamed "the API key rlmx sent"; unset, the same mistake was refused before any request. A key with a line
break inside got "holds a control character" with neither the character, its place nor the variable it came from.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from fake_openai_server import FakeOpenAIServer, Reply, error_body
from rlmx.api_keys import checked_key
from rlmx.cli import build_parser, plan_models
from rlmx.errors import InputError, LMRequestError
from rlmx.lm.openai import OpenAICompatibleLM
from scripting import repl, run_cli

MESSAGES = [{"role": "user", "content": "hi"}]


def write_text(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def write_script(tmp_path: Path, replies: list[str]) -> str:
    return write_text(tmp_path, "script.json", json.dumps(replies))


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as fake:
        yield fake


@pytest.mark.parametrize(
    ("key", "named"),
    [
        ("sk\nabc", "a control character, U+000A (LINE FEED), at character 3 of 6"),
        ("sk\tabc", "a control character, U+0009 (CHARACTER TABULATION), at character 3 of 6"),
        ("sk\x00abc", "a control character, U+0000 (NULL), at character 3 of 6"),
        ("sk\x01abc", "a control character, U+0001, at character 3 of 6"),
        ("sk\x85abc", "a control character, U+0085 (NEXT LINE), at character 3 of 6"),  # C1: it went out before
        ("sk abc", "U+0020 (SPACE) at character 3 of 6"),
    ],
)
def test_a_character_no_key_holds_is_named_with_its_place(key: str, named: str) -> None:
    with pytest.raises(InputError) as raised:
        checked_key(key, "the API key in RLMX_API_KEY")
    assert str(raised.value).startswith(f"the API key in RLMX_API_KEY holds {named}")


@pytest.mark.parametrize(
    ("env", "flags", "source"),
    [
        ({"RLMX_API_KEY": "sk\nabc"}, ["--model", "m", "--base-url", "URL"], "RLMX_API_KEY"),
        ({"OPENAI_API_KEY": "sk\tabc"}, ["--model", "gpt-5-mini"], "OPENAI_API_KEY"),
        ({"OPENAI_API_KEY": "sk\tabc"}, [], "OPENAI_API_KEY"),
        ({"RLMX_MODEL": "m", "RLMX_BASE_URL": "URL", "RLMX_API_KEY": "sk\nabc"}, [], "RLMX_API_KEY"),
        ({"MY_KEY": "sk\nabc"}, ["--model", "m", "--base-url", "URL", "--api-key-env", "MY_KEY"], "MY_KEY"),
    ],
)
def test_the_cli_names_the_variable_a_bad_key_came_from(
    tmp_path: Path, server: FakeOpenAIServer, env: dict[str, str], flags: list[str], source: str
) -> None:
    notes = write_text(tmp_path, "notes.txt", "hello\n")
    env = {name: value.replace("URL", server.base_url) for name, value in env.items()}
    flags = [server.base_url if flag == "URL" else flag for flag in flags]
    proc = run_cli("ask", "Q?", "--context", notes, *flags, tmp_path=tmp_path, env=env)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"the API key in {source}" in proc.stderr and "at character 3 of 6" in proc.stderr
    assert "--api-key-env NAME_OF_THE_VARIABLE" not in proc.stderr  # not sent elsewhere: the variable is fine
    assert server.requests == []


def test_a_bad_key_in_a_variable_the_model_does_not_read_is_not_refused(tmp_path: Path) -> None:
    notes = write_text(tmp_path, "notes.txt", "hello\n")
    script = write_script(tmp_path, [repl("FINAL('ok')")])
    env = {"OPENAI_API_KEY": "sk\nabc", "RLMX_API_KEY": "sk\nabc"}
    proc = run_cli("ask", "Q?", "--context", notes, "--scripted", script, tmp_path=tmp_path, env=env)
    assert (proc.returncode, proc.stdout) == (0, "ok\n"), proc.stderr


@pytest.mark.parametrize("blank", ["", "   ", "\n", '""'])
def test_an_empty_openai_api_key_is_refused_before_any_request_as_an_unset_one_is(
    tmp_path: Path, server: FakeOpenAIServer, blank: str
) -> None:
    notes = write_text(tmp_path, "notes.txt", "hello\n")
    env = {"OPENAI_API_KEY": blank, "OPENAI_BASE_URL": server.base_url}
    proc = run_cli("ask", "Q?", "--context", notes, "--model", "gpt-5-mini", tmp_path=tmp_path, env=env)
    assert proc.returncode == 2 and server.requests == [], proc.stderr
    # the server named is OPENAI_BASE_URL's, where the model would be asked (audit 83: it said "the OpenAI API")
    said = (
        f"no API key for the server at {server.base_url} (from OPENAI_BASE_URL) (model gpt-5-mini, from --model): "
        "OPENAI_API_KEY is empty: set OPENAI_API_KEY"
    )
    assert said in proc.stderr


def test_an_empty_openai_api_key_alone_is_said_and_leaves_the_embedded_model() -> None:
    # no --model: like an unset one it does not pick the OpenAI API, and the model line says why
    plan = plan_models(build_parser().parse_args(["ask", "Q?"]), {"OPENAI_API_KEY": " \n"})
    assert plan.kind == "local" and "OPENAI_API_KEY is set but empty" in plan.unused


def test_a_blank_rlmx_api_key_sends_the_placeholder_and_a_401_says_no_key_was_given(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    notes = write_text(tmp_path, "notes.txt", "hello\n")
    server.script(*[Reply(status=401, body=error_body("You didn't provide an API key."))] * 3)
    flags = ["--model", "m", "--base-url", server.base_url]
    proc = run_cli("ask", "Q?", "-c", notes, *flags, tmp_path=tmp_path, env={"RLMX_API_KEY": "  "})
    assert proc.returncode == 5
    assert server.requests and all(r.headers.get("authorization") != "Bearer " for r in server.requests)
    assert "no API key was given for it" in proc.stderr and "refused the API key rlmx sent" not in proc.stderr


def test_the_python_api_refuses_an_empty_openai_api_key_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", " \r\n")
    with pytest.raises(InputError, match=re.escape("No API key for the OpenAI API: OPENAI_API_KEY is empty")):
        OpenAICompatibleLM("gpt-5-mini")
    with pytest.raises(InputError, match="api_key is empty"):
        OpenAICompatibleLM("gpt-5-mini", api_key="")  # not the variable's: the caller meant this one
    monkeypatch.setenv("OPENAI_API_KEY", "sk\nabc")
    with pytest.raises(InputError, match=re.escape("the API key in OPENAI_API_KEY holds a control character, U+000A")):
        OpenAICompatibleLM("gpt-5-mini")


async def test_the_python_api_sends_no_empty_bearer_to_a_server(server: FakeOpenAIServer) -> None:
    server.script(Reply(status=401, body=error_body("You didn't provide an API key.")))
    lm = OpenAICompatibleLM("m", server.base_url, api_key=" \n", max_retries=0)
    with pytest.raises(LMRequestError) as raised:
        await lm.complete(MESSAGES)
    await lm.aclose()
    assert server.requests[0].headers.get("authorization") != "Bearer "
    assert "no API key was given for it" in str(raised.value)
