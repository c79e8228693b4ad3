"""An argument a command does not take is reported by that command, with its own usage line, so the user sees
the flags they could have meant (`rlmx ask`'s), not the top-level `rlmx COMMAND ...`."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rlmx.cli import build_parser, main


def every_command() -> list[list[str]]:
    """Each subcommand's words, nested ones (`bench run`) included."""
    found: list[list[str]] = []

    def walk(parser: argparse.ArgumentParser, words: list[str]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    found.append([*words, name])
                    walk(sub, [*words, name])

    walk(build_parser(), [])
    return found


def test_every_command_is_walked() -> None:
    commands = {" ".join(words) for words in every_command()}
    assert {"ask", "serve", "mcp", "view", "traces", "doctor", "bench", "bench run", "bench report"} <= commands


@pytest.mark.parametrize("words", every_command(), ids=" ".join)
def test_an_unknown_flag_shows_the_commands_own_usage(words: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    needs = {
        "ask": ["q"],
        "bench run": ["--out", "x"],
        "bench report": ["x"],
        "bench generate": ["--family", "sniah"],
    }
    required = needs.get(" ".join(words), [])
    assert main([*words, *required, "--no-such-flag"]) == 2
    err = capsys.readouterr().err
    prog = " ".join(["rlmx", *words])
    assert err.startswith(f"usage: {prog} ") and f"{prog}: error: unrecognized arguments: --no-such-flag" in err


def test_rlmx_ask_as_a_process() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "rlmx.cli", "ask", "What?", "--contxt", "notes.txt"],
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RLMX_"))},
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("usage: rlmx ask ") and "--context PATH" in proc.stderr
    assert "rlmx ask: error: unrecognized arguments: --contxt notes.txt" in proc.stderr


def test_a_question_left_unquoted_or_put_after_the_file_gets_the_command_it_meant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The commonest first slips: "unrecognized arguments: is the launch code" said nothing of quoting, and a file
    # given as QUERY nothing of --context.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "report.txt").write_text("the code is 7391\n", encoding="utf-8")
    assert main(["ask", "What", "is", "the", "code", "--context", "report.txt"]) == 2
    assert "quote a QUERY of several words" in capsys.readouterr().err
    assert main(["ask", "report.txt", "What is the code?"]) == 2
    said = " ".join(capsys.readouterr().err.split())
    assert "QUERY is the file report.txt" in said and "rlmx ask 'What is the code?' --context report.txt" in said
    assert main(["ask", "What?", "--contxt", "report.txt"]) == 2  # a mistyped flag's value is not the question's
    said = capsys.readouterr().err
    assert "(did you mean --context?)" in said and "quote" not in said


def test_a_local_model_given_as_its_folder_is_told_which_file_to_give(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A Hugging Face download leaves a folder; "model file not found: FOLDER" read as a typo in a path that exists.
    (tmp_path / "c.txt").write_text("x", encoding="utf-8")
    snapshot = tmp_path / "snapshot"
    snapshot.mkdir()
    ask = ["ask", "q", "--context", str(tmp_path / "c.txt"), "--trace-dir", str(tmp_path), "--model"]
    assert main([*ask, f"local:{snapshot}"]) == 2
    assert "is a folder with no .gguf file in it" in capsys.readouterr().err
    (snapshot / "qwen-q4_k_m.gguf").write_bytes(b"")
    assert main([*ask, f"local:{snapshot}"]) == 2
    said = " ".join(capsys.readouterr().err.split())
    assert "is a folder" in said and f"local:{snapshot / 'qwen-q4_k_m.gguf'}" in said and "not found" not in said
    (snapshot / "qwen-q8_0.gguf").write_bytes(b"")
    assert main([*ask, f"local:{snapshot}"]) == 2
    assert "one of its 2 .gguf files" in " ".join(capsys.readouterr().err.split())


@pytest.mark.parametrize("command", [["ask", "q", "--context", "notes.txt"], ["mcp"]])
def test_a_key_given_on_the_command_line_is_told_where_keys_go(
    command: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # argparse took `--api-key sk-...` (vLLM's and llama.cpp's flag) for a prefix of --api-key-env, and said "the
    # environment variable sk-... is not set": no flag is read from a prefix now, and the slip is named.
    for env in ("OPENAI_API_KEY", "RLMX_API_KEY", "RLMX_MODEL", "RLMX_BASE_URL"):
        monkeypatch.delenv(env, raising=False)
    assert main([*command, "--model", "gpt-5-mini", "--api-key", "sk-proj-abc123"]) == 2
    said = " ".join(capsys.readouterr().err.split())
    assert "unrecognized arguments: --api-key sk-proj-abc123" in said
    assert "export RLMX_API_KEY=KEY" in said and "--api-key-env NAME" in said
    assert main([*command, "--max-iter", "3"]) == 2  # any prefix: refused, with the flag it may stand for
    assert "(did you mean --max-iterations?)" in capsys.readouterr().err
    assert main([*command, "--model", "gpt-5-mini", "--api-key-env", "sk-proj-abc123"]) == 2
    said = " ".join(capsys.readouterr().err.split())
    assert "--api-key-env takes the name of an environment variable, and sk-pro... looks like a key" in said


def test_serve_says_its_api_key_is_its_own_when_the_model_has_none(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # `rlmx serve --api-key` is the key clients must send to the server; given for OpenAI's sake, the model's
    # missing key was reported as if no key had been given at all.
    for env in ("OPENAI_API_KEY", "RLMX_API_KEY", "RLMX_MODEL", "RLMX_BASE_URL"):
        monkeypatch.delenv(env, raising=False)
    assert main(["serve", "--model", "gpt-5-mini", "--api-key", "sk-proj-abc123", "--port", "0"]) == 2
    said = " ".join(capsys.readouterr().err.split())
    assert "no API key for the OpenAI API" in said
    assert "--server-api-key, alias --api-key, is this server's own key, the one its clients must send" in said


def test_a_model_flag_says_that_rlmx_base_url_went_unused(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # RLMX_BASE_URL exported, `--model qwen` asked the OpenAI API (as documented) and said only "no API key"
    for env in ("OPENAI_API_KEY", "RLMX_API_KEY", "RLMX_MODEL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(env, raising=False)
    monkeypatch.setenv("RLMX_BASE_URL", "http://127.0.0.1:8000/v1")
    assert main(["ask", "q", "--model", "qwen"]) == 2
    said = " ".join(capsys.readouterr().err.split())
    assert "no API key for the OpenAI API" in said
    assert (
        "RLMX_BASE_URL, http://127.0.0.1:8000/v1, is used only with RLMX_MODEL: with --model, give --base-url" in said
    )
