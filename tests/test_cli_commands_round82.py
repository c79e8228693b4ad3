"""Round 82, the newcomer's path: a mistyped command (`rlmx askk`) listed the commands but named none, as a mistyped
flag does, and a question typed with no command (`rlmx "What is ...?"`) got "invalid choice"."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripting import run_cli


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["askk", "q"], "invalid choice: 'askk' (did you mean 'ask'?"),
        (["serv"], "invalid choice: 'serv' (did you mean 'serve'?"),
        (["doctr"], "invalid choice: 'doctr' (did you mean 'doctor'?"),
        (["What is the launch code?", "--context", "notes.txt"], "to ask a question, rlmx ask 'What is the launch"),
    ],
)
def test_a_mistyped_command_names_the_one_meant(tmp_path: Path, argv: list[str], said: str) -> None:
    (tmp_path / "notes.txt").write_text("abc\n")
    proc = run_cli(*argv, tmp_path=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert said in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_a_word_close_to_no_command_lists_them_all(tmp_path: Path) -> None:
    proc = run_cli("zzz", tmp_path=tmp_path)
    assert proc.returncode == 2 and "invalid choice: 'zzz'" in proc.stderr and "did you mean" not in proc.stderr
