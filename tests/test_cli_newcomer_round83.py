"""Round 83, the newcomer's path: what a first-time operator or CLI user is told when a setting is empty, a folder
cannot be written, a path is relative, or a key is not sent; and what `rlmx --version` costs to start."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from rlmx.cli import EXIT_USAGE, build_parser
from rlmx.commands.serve import server_key
from rlmx.errors import InputError


def clean_environ(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RLMX_", "XDG_"))}
    return {**env, **extra}


# --- an empty server key is refused, wherever the key variable is read ---------------------------------------


@pytest.mark.parametrize("value", ["", " ", "\t\n"])
@pytest.mark.parametrize("command", [["serve"], ["mcp", "--http"]])
def test_an_empty_or_blank_server_key_variable_is_refused_not_taken_for_no_key(value: str, command: list[str]) -> None:
    args = build_parser().parse_args(command)
    with pytest.raises(InputError, match="RLMX_SERVER_API_KEY is empty"):
        server_key(args, {"RLMX_SERVER_API_KEY": value})


def test_an_unset_server_key_variable_still_means_no_key_and_a_set_one_is_used() -> None:
    args = build_parser().parse_args(["serve"])
    assert server_key(args, {}) is None
    assert server_key(args, {"RLMX_SERVER_API_KEY": "k3y"}) == "k3y"


def _script(tmp_path: Path) -> Path:
    script = tmp_path / "script.json"
    script.write_text(json.dumps(["```repl\nFINAL('ok')\n```"] * 3), encoding="utf-8")
    return script


def test_serve_with_an_empty_server_key_variable_exits_2_before_listening(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "rlmx.cli", "serve", "--scripted", str(_script(tmp_path)), "--port", "0"]
    command += ["--trace-dir", str(tmp_path / "traces")]
    proc = subprocess.run(
        command, capture_output=True, text=True, timeout=60, env=clean_environ(RLMX_SERVER_API_KEY="")
    )
    assert proc.returncode == EXIT_USAGE, proc.stderr
    assert "RLMX_SERVER_API_KEY is empty" in proc.stderr and "running on" not in proc.stderr


# --- serve checks its traces folder at start-up, as mcp does ---------------------------------------------------


def test_serve_refuses_an_unwritable_trace_dir_at_start_up_naming_it_and_the_flag(tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("", encoding="utf-8")
    folder = blocker / "traces"
    command = [sys.executable, "-m", "rlmx.cli", "serve", "--scripted", str(_script(tmp_path)), "--port", "0"]
    proc = subprocess.run(
        [*command, "--trace-dir", str(folder)], capture_output=True, text=True, timeout=60, env=clean_environ()
    )
    assert proc.returncode == EXIT_USAGE, proc.stderr
    assert f"--trace-dir {folder}: cannot write traces there" in proc.stderr
    assert "running on" not in proc.stderr


def test_serve_with_an_unusable_default_trace_folder_warns_once_and_answers(tmp_path: Path) -> None:
    home = tmp_path / "home_is_a_file"
    home.write_text("", encoding="utf-8")
    command = [sys.executable, "-m", "rlmx.cli", "serve", "--scripted", str(_script(tmp_path)), "--port", "0"]
    command += ["--model-name", "m"]
    with subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=clean_environ(HOME=str(home))) as proc:
        assert proc.stderr is not None
        lines: list[str] = []
        url = None
        for line in proc.stderr:
            lines.append(line)
            found = re.search(r"running on (http://127\.0\.0\.1:\d+)", line)
            if found:
                url = found.group(1)
                break
        try:
            assert url is not None, "".join(lines)
            said = "".join(lines)
            assert said.count("cannot create the trace folder") == 1 and "no traces" in said
            body = {"model": "m", "messages": [{"role": "user", "content": "q"}]}
            reply = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=60)
            assert reply.status_code == 200, reply.text
            assert reply.json()["choices"][0]["message"]["content"] == "ok"
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


# --- starting the CLI parses no library source ----------------------------------------------------------------

_COUNT_PARSED = """
import ast, inspect, json, sys
parsed = []
real_parse, real_getsource = ast.parse, inspect.getsource
def parse(source, *a, **k):
    parsed.append(len(source))
    return real_parse(source, *a, **k)
def getsource(obj):
    text = real_getsource(obj)
    parsed.append(len(text))
    return text
ast.parse, inspect.getsource = parse, getsource
import rlmx.cli
print(json.dumps(sum(parsed)))
"""


def test_importing_the_cli_reads_and_parses_no_module_source() -> None:
    """`rlmx --version` and every command import rlmx.cli: it used to read and parse the guided library's ~350 KB
    source there (0.7-0.8 s of a 2 s start on a loaded 2-core host); the library is made on first use now."""
    proc = subprocess.run(
        [sys.executable, "-c", _COUNT_PARSED], capture_output=True, text=True, timeout=120, env=clean_environ()
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) < 10_000


def test_the_guided_library_made_on_first_use_is_the_one_the_repl_runs() -> None:
    from rlmx.lm import guided

    text = guided.library()
    assert text is guided.library() and text == guided._LIBRARY
    assert "def guided_answer" in text and "from rlmx" not in text
    compile(text, "<guided library>", "exec")


# --- the sandbox's python: a relative path, an unusable one ------------------------------------------------------


def _scripted_rlm(tier: str, python: str) -> Any:
    from rlmx import RLM
    from rlmx.lm.scripted import ScriptedLM

    return RLM(ScriptedLM(["```repl\nFINAL('ok')\n```"]), sandbox=tier, sandbox_options={"python": python})


@pytest.mark.parametrize("tier", ["subprocess", "isolated"])
def test_a_relative_sandbox_python_is_the_one_under_the_current_folder(
    tier: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's `sandbox_options={"python": ".venv/bin/python"}`: checked from the current folder, it was
    launched from the worker's run folder ("cannot run .venv/bin/python: No such file or directory")."""
    if tier == "isolated":
        from rlmx.sandbox.isolated import probe

        found = asyncio.run(probe(sys.executable))
        if found.mode("auto") is None:
            pytest.skip(f"the isolated tier cannot run here: {found.refusal('auto')}")
    # the folder holding this venv, as the README's setup holds `.venv` (not a tmp_path: a root host's isolated
    # worker runs under another uid, which cannot pass through pytest's 0700 folders)
    venv_parent = Path(sys.executable).parent.parent.parent
    monkeypatch.chdir(venv_parent)
    relative = os.path.relpath(sys.executable, venv_parent)
    assert not os.path.isabs(relative) and os.sep in relative
    result = _scripted_rlm(tier, relative).completion("q", context="x")
    assert (result.status, result.answer) == ("finished", "ok"), result.error


def test_the_isolated_tier_names_an_unusable_python_and_not_a_missing_bubblewrap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rlmx.sandbox import isolated

    monkeypatch.setattr(isolated.shutil, "which", lambda name: "/usr/bin/bwrap" if name == "bwrap" else None)
    found = asyncio.run(isolated._probe("/nonexistent/pyhton3"))
    said = found.refusal("auto")
    assert "cannot run /nonexistent/pyhton3" in said
    assert "not installed" not in said and "cannot create namespaces" not in said
    assert "bubblewrap is not installed" not in json.dumps(found.to_dict())


def test_the_isolated_refusal_names_the_cli_flag_as_well_as_the_python_option() -> None:
    result = _scripted_rlm("isolated", "/nonexistent/pyhton3").completion("q", context="x")
    assert result.status == "error"
    said = str(result.error)
    assert "--sandbox subprocess" in said and "sandbox='subprocess'" in said


# --- a key that is set but not sent, and the server a missing key is for ---------------------------------------


async def test_a_401_at_another_base_url_says_openai_api_key_was_not_sent_and_how_to_send_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fake_openai_server import FakeOpenAIServer, Reply
    from rlmx.errors import LMRequestError
    from rlmx.lm.base import Message
    from rlmx.lm.openai import OpenAICompatibleLM

    monkeypatch.delenv("RLMX_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-set-by-the-user")
    with FakeOpenAIServer() as server:
        server.script(Reply(401, {"error": "Unauthorized"}), Reply(401, {"error": "Unauthorized"}))
        with pytest.raises(LMRequestError) as caught:
            await OpenAICompatibleLM("m", server.base_url).complete([Message(role="user", content="hi")])
    said = str(caught.value)
    assert "OPENAI_API_KEY is set" in said and "--api-key-env OPENAI_API_KEY" in said
    assert "no API key was given" not in said


def test_the_cli_401_at_a_base_url_names_openai_api_key(tmp_path: Path) -> None:
    from fake_openai_server import FakeOpenAIServer, Reply

    context = tmp_path / "doc.txt"
    context.write_text("The code is 7391.", encoding="utf-8")
    with FakeOpenAIServer() as server:
        server.script(*[Reply(401, {"error": "Incorrect API key provided"})] * 4)
        command = [sys.executable, "-m", "rlmx.cli", "ask", "q", "-c", str(context), "--model", "m", "-q"]
        proc = subprocess.run(
            [*command, "--base-url", server.base_url, "--trace-dir", str(tmp_path / "traces")],
            capture_output=True,
            text=True,
            timeout=120,
            env=clean_environ(OPENAI_API_KEY="sk-set-by-the-user"),
        )
    assert proc.returncode == 5, proc.stderr
    assert "--api-key-env OPENAI_API_KEY" in proc.stderr and "no API key was given" not in proc.stderr


def test_no_key_for_a_model_at_openai_base_url_names_that_server_not_the_openai_api(tmp_path: Path) -> None:
    context = tmp_path / "doc.txt"
    context.write_text("The code is 7391.", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "rlmx.cli", "ask", "q", "-c", str(context), "--model", "m", "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_environ(OPENAI_BASE_URL="http://127.0.0.1:9/v1"),
    )
    assert proc.returncode == EXIT_USAGE, proc.stderr
    assert "no API key for the server at http://127.0.0.1:9/v1 (from OPENAI_BASE_URL)" in proc.stderr
    assert "the OpenAI API (model" not in proc.stderr


# --- a cache folder that cannot be written ----------------------------------------------------------------------


def test_the_cli_says_once_that_the_converted_model_cannot_be_kept_and_names_xdg_cache_home(tmp_path: Path) -> None:
    pytest.importorskip("llama_cpp")
    blocker = tmp_path / "a_file"
    blocker.write_text("", encoding="utf-8")
    context = tmp_path / "doc.txt"
    context.write_text("Project notes.\nThe launch code for the Aurora project is 7391-KESTREL.\n", encoding="utf-8")
    command = [sys.executable, "-m", "rlmx.cli", "ask", "What is the launch code for the Aurora project?"]
    proc = subprocess.run(
        [*command, "-c", str(context), "--trace-dir", str(tmp_path / "traces")],
        capture_output=True,
        text=True,
        timeout=300,
        env=clean_environ(XDG_CACHE_HOME=str(blocker)),
    )
    assert proc.returncode == 0, proc.stderr
    assert "7391-KESTREL" in proc.stdout
    said = proc.stderr
    assert "this happens once" not in said and "first run" not in said
    assert said.count("cannot keep the converted model") == 1 and "XDG_CACHE_HOME" in said
    assert "could not re-quantise" not in said and "Q8_0 copy" not in said


def test_a_failed_conversion_says_how_to_keep_the_copy(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    pytest.importorskip("llama_cpp")
    from rlmx.lm import local

    source = local.bundled_model_path()
    blocker = tmp_path / "a_file"
    blocker.write_text("", encoding="utf-8")
    assert local.cache_folder_problem(blocker / "rlmx") == "Not a directory"
    with caplog.at_level("WARNING", logger=local.logger.name):
        assert local.requantize_to_q8_0(source, blocker / "rlmx") == source
    said = caplog.text
    assert "rlmx:" in said and "XDG_CACHE_HOME" in said and "cache_dir=" in said and str(blocker) in said
