"""The CLI under mistaken and hostile use (audit 49): bad model settings from any source are refused alike with exit
2, an unusable stdout is one line and exit 74, an unlistable folder names the permission, a Ctrl-C while `rlmx`
starts quits without a traceback, and an empty `--scripted` is named."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scripting import cli_environ, run_cli

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CONTEXT = str(EXAMPLES / "aurora_report.txt")
SCRIPT = str(EXAMPLES / "scripted_aurora.json")
# root reads any file: a real EACCES needs the DAC capabilities dropped
NO_DAC = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--inh-caps", "-dac_override,-dac_read_search"]


def test_an_empty_model_flag_is_refused_not_taken_for_the_default(tmp_path: Path) -> None:
    # `--model "$MODEL"` with MODEL unset must not run the paid default model the key would pick
    proc = run_cli("ask", "q", "-c", CONTEXT, "--model", "", tmp_path=tmp_path, env={"OPENAI_API_KEY": "sk-test"})
    assert proc.returncode == 2, proc.stderr
    assert "--model is empty" in proc.stderr and "gpt-5-mini" not in proc.stderr


@pytest.mark.parametrize("url", ["http://[::1:8000/v1", "localhost:8000/v1", "http://127.0.0.1:99999/v1"])
@pytest.mark.parametrize("source", ["--base-url", "RLMX_BASE_URL", "OPENAI_BASE_URL"])
def test_a_bad_base_url_is_refused_alike_from_each_source(tmp_path: Path, source: str, url: str) -> None:
    args = ["ask", "q", "-c", CONTEXT]
    env = {"OPENAI_API_KEY": "sk-test"}
    if source == "--base-url":
        args += ["--model", "m", "--base-url", url]
    elif source == "RLMX_BASE_URL":
        env |= {"RLMX_MODEL": "m", "RLMX_BASE_URL": url}
    else:
        env |= {"OPENAI_BASE_URL": url}
    proc = run_cli(*args, tmp_path=tmp_path, env=env, timeout=90)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and f"rlmx: error: {source} " in proc.stderr and repr(url) in proc.stderr


def _ask_with_stdout(tmp_path: Path, redirect: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return _cli_with_stdout(tmp_path, redirect, "ask", "q", "-c", CONTEXT, "--scripted", SCRIPT, *extra)


def _cli_with_stdout(tmp_path: Path, redirect: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`rlmx ARGS` run by bash with its stdout redirected (`>&-`, `>/dev/full`)."""
    line = shlex.join([sys.executable, "-m", "rlmx.cli", *args])
    return subprocess.run(
        ["bash", "-c", f"{line} {redirect}"],
        capture_output=True,
        text=True,
        env=cli_environ(tmp_path),
        cwd=tmp_path,
        timeout=90,
    )


@pytest.mark.parametrize("json_flag", [(), ("--json",)])
@pytest.mark.parametrize(("redirect", "said"), [(">&-", "stdout is closed"), (">/dev/full", "No space left")])
def test_stdout_that_cannot_be_written_is_one_line_and_exit_74(
    tmp_path: Path, redirect: str, said: str, json_flag: tuple[str, ...]
) -> None:
    if redirect == ">/dev/full" and not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    proc = _ask_with_stdout(tmp_path, redirect, "-q", *json_flag)
    assert proc.returncode == 74, proc.stderr
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("rlmx: error:")]
    assert len(errors) == 1 and said in errors[0] and "rlmx: trace:" in proc.stderr


@pytest.mark.parametrize("redirect", [">&-", ">/dev/full"])
def test_the_traces_table_to_a_stdout_that_cannot_take_it_is_one_line_and_exit_74(
    tmp_path: Path, redirect: str
) -> None:
    # rich's console let the OSError out as a traceback; `ask`'s own output path already said it in one line
    if redirect == ">/dev/full" and not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    assert _ask_with_stdout(tmp_path, ">/dev/null", "-q").returncode == 0  # one trace to list
    proc = _cli_with_stdout(tmp_path, redirect, "traces")
    assert proc.returncode == 74, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stderr.startswith("rlmx: error: cannot write the output")


def _without_dac(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    prefix = NO_DAC if os.geteuid() == 0 else []
    if prefix and shutil.which("setpriv") is None:
        pytest.skip("root without setpriv: permissions are not enforced")
    return subprocess.run(
        [*prefix, sys.executable, "-m", "rlmx.cli", *args],
        capture_output=True,
        text=True,
        env=cli_environ(tmp_path),
        cwd=tmp_path,
        timeout=90,
    )


def test_a_folder_that_cannot_be_listed_names_the_permission(tmp_path: Path) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello\n")
    folder.chmod(0)
    try:
        proc = _without_dac(tmp_path, "ask", "q", "-c", str(folder), "--scripted", SCRIPT)
    finally:
        folder.chmod(0o700)
    assert proc.returncode == 2, proc.stderr
    assert f"cannot read context folder {folder}: Permission denied" in proc.stderr
    assert "holds no readable text files" not in proc.stderr


def test_an_unreadable_file_in_a_folder_is_skipped_with_its_reason(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("hello\n")
    secret = folder / "secret.txt"
    secret.write_text("x\n")
    secret.chmod(0)
    # the scripted run's REPL may not start without the capabilities: only the warning, printed first, matters
    proc = _without_dac(tmp_path, "ask", "q", "-c", str(folder), "--scripted", SCRIPT)
    assert "secret.txt (cannot be read: Permission denied)" in proc.stderr, proc.stderr


def test_the_quiet_ctrl_c_handler_is_in_place_before_any_module_loads(tmp_path: Path) -> None:
    # A Ctrl-C lands wherever start-up is; every module loaded while Python's own handler is still in place is a
    # window for a KeyboardInterrupt traceback (`signal` loaded enum and functools first). Checked by the import
    # events, not by racing a signal.
    probe = """
import _signal, sys
sys.argv[0] = "rlmx"
early = []
def hook(event, args):
    if event == "import" and _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
        early.append(args[0])
sys.addaudithook(hook)
import rlmx._quiet_start
print(sorted(set(early) - {"rlmx", "rlmx._quiet_start", "__future__"}))  # __future__: a few lines
"""
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_an_empty_scripted_file_name_is_named_as_empty(tmp_path: Path) -> None:
    proc = run_cli("ask", "q", "-c", CONTEXT, "--scripted", "", tmp_path=tmp_path)
    assert proc.returncode == 2
    assert "--scripted: the file name is empty" in proc.stderr and "Is a directory" not in proc.stderr
