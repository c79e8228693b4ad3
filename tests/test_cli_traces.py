"""`rlmx traces --redact` as a real process: TRACE named as `rlmx view` takes it, and the copy's place said."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from scripting import cli_environ, run_cli

SECRET = "the vault code is 4471"


def rlmx(*args: str, cwd: Path, state: Path) -> subprocess.CompletedProcess[str]:
    """The CLI run in `cwd`, its state (traces) under `state`'s parent: `run_cli` keeps it in tmp_path/state."""
    return run_cli(*args, tmp_path=state.parent, cwd=cwd)


def asked(tmp_path: Path) -> tuple[Path, Path, Path, str]:
    """One `rlmx ask` over a context holding SECRET: (work folder, state folder, its trace, its run id)."""
    state, work = tmp_path / "state", tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text(SECRET + "\n", encoding="utf-8")
    (work / "script.json").write_text(json.dumps(["```repl\nFINAL(context.strip())\n```"]), encoding="utf-8")
    done = rlmx("ask", "What is the code?", "-c", "notes.txt", "--scripted", "script.json", cwd=work, state=state)
    assert done.returncode == 0, done.stderr
    (trace,) = (state / "rlmx" / "traces").glob("*.jsonl")
    return work, state, trace, trace.stem.rsplit("-", 1)[1]


def test_redact_takes_a_number_or_run_id_and_says_where_the_copy_went(tmp_path: Path) -> None:
    work, state, trace, run_id = asked(tmp_path)

    by_number = rlmx("traces", "--redact", "1", cwd=work, state=state)
    copy = work / f"{trace.stem}.redacted.jsonl"
    assert by_number.returncode == 0, by_number.stderr
    assert f"rlmx: wrote {copy} (" in by_number.stderr  # the absolute path, in the current folder
    assert copy.is_file() and SECRET not in copy.read_text(encoding="utf-8")

    no_folder = rlmx("traces", "--redact", run_id[:6], "-o", "shared/run.jsonl", cwd=work, state=state)
    assert no_folder.returncode == 2 and f"cannot write {work / 'shared' / 'run.jsonl'}" in no_folder.stderr
    (work / "shared").mkdir()
    by_id = rlmx("traces", "--redact", run_id[:6], "-o", "shared/run.jsonl", cwd=work, state=state)
    assert by_id.returncode == 0, by_id.stderr
    assert f"rlmx: wrote {work / 'shared' / 'run.jsonl'} (" in by_id.stderr
    assert SECRET not in (work / "shared" / "run.jsonl").read_text(encoding="utf-8")

    missing = rlmx("traces", "--redact", "7", cwd=work, state=state)
    assert missing.returncode == 2 and "there is no trace number 7: 1 trace(s)" in missing.stderr
    assert not list((state / "rlmx" / "traces").glob("*redacted*"))  # never a copy among the runs


def test_view_html_says_where_the_page_went(tmp_path: Path) -> None:
    state, work = tmp_path / "state", tmp_path / "work"
    work.mkdir()
    (work / "script.json").write_text(json.dumps(["```repl\nFINAL('ok')\n```"]), encoding="utf-8")
    assert rlmx("ask", "q", "--scripted", "script.json", "-q", cwd=work, state=state).returncode == 0
    page = rlmx("view", "1", "--html", "run.html", cwd=work, state=state)
    assert page.returncode == 0, page.stderr
    assert f"rlmx: wrote {work / 'run.html'} (" in page.stderr and (work / "run.html").is_file()


def test_a_run_id_that_starts_with_digits_is_found_by_its_start(tmp_path: Path) -> None:
    """Run ids are hex, so one in sixteen starts with six digits: those digits are no trace number (there is one
    trace), so they are read as the run id's start."""
    work, state, trace, run_id = asked(tmp_path)
    digits = "747185" + "0" * (len(run_id) - 6)
    renamed = trace.with_name(trace.name.replace(run_id, digits))
    renamed.write_text(trace.read_text(encoding="utf-8").replace(run_id, digits), encoding="utf-8")
    trace.unlink()

    by_start = rlmx("traces", "--redact", "747185", cwd=work, state=state)
    assert by_start.returncode == 0, by_start.stderr
    assert (work / f"{renamed.stem}.redacted.jsonl").is_file()
    by_number = rlmx("traces", "--redact", "1", "-o", "first.jsonl", cwd=work, state=state)
    assert by_number.returncode == 0 and (work / "first.jsonl").is_file()  # a number in the list still wins
    missing = rlmx("traces", "--redact", "7", cwd=work, state=state)  # short digits are a number, never an id
    assert missing.returncode == 2 and "there is no trace number 7: 1 trace(s)" in missing.stderr


def test_the_list_shows_every_status_a_run_can_end_with(tmp_path: Path) -> None:
    work, state, trace, _ = asked(tmp_path)
    for status in ("cancelled", "a status from a later version"):
        lines = [json.loads(line) for line in trace.read_text(encoding="utf-8").splitlines()]
        for record in lines:
            if record["type"] == "run_end":
                record["status"] = status
        trace.write_text("".join(json.dumps(record) + "\n" for record in lines), encoding="utf-8")
        listed = rlmx("traces", cwd=work, state=state)
        assert listed.returncode == 0 and status[:16] in listed.stdout, listed.stderr


def test_a_reader_that_goes_away_ends_the_list_with_the_pipe_exit_code(tmp_path: Path) -> None:
    # `rlmx traces | head`: rich's console turned the broken pipe into SystemExit(1), a code the README does not give.
    work, state, _, _ = asked(tmp_path)
    listing = subprocess.Popen(
        [sys.executable, "-m", "rlmx.cli", "traces"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_environ(state.parent),
        cwd=work,
    )
    assert listing.stdout is not None and listing.stderr is not None
    listing.stdout.close()  # gone before the first line is written
    with listing.stderr:
        assert listing.wait(timeout=60) == 141 and listing.stderr.read() == b""


def test_the_list_of_another_folder_names_that_folder_in_the_commands_it_suggests(tmp_path: Path) -> None:
    # `rlmx traces --trace-dir DIR` ended with "Open one: rlmx view NUMBER ... rlmx traces --keep N --prune":
    # copied as printed, those opened or pruned the default folder's traces, not DIR's.
    work, state, trace, _ = asked(tmp_path)
    other = tmp_path / "kept traces"
    other.mkdir()
    trace.rename(other / trace.name)
    listed = rlmx("traces", "--trace-dir", str(other), cwd=work, state=state)
    assert listed.returncode == 0, listed.stderr
    hint = " ".join(listed.stdout.split())
    assert f"rlmx view NUMBER --trace-dir '{other}'" in hint
    assert f"rlmx traces --trace-dir '{other}' --keep N --prune" in hint
    wrong = rlmx("view", "7", "--trace-dir", str(other), cwd=work, state=state)
    assert wrong.returncode == 2 and f"rlmx traces --trace-dir '{other}'" in " ".join(wrong.stderr.split())
    default = rlmx("traces", cwd=work, state=state)
    assert default.returncode == 0 and "--trace-dir" not in default.stdout
