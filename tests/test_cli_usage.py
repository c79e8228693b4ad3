"""An argument a command does not take is reported by that command, with its own usage line, so the user sees
the flags they could have meant (`rlmx ask`'s), not the top-level `rlmx COMMAND ...`."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

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
