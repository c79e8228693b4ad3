"""UTF-8 records that a NUL ends (`find -print0`, `xargs -0`, `/proc/*/environ`, `git -z`, `tr '\\n' '\\0'`) arrive as
written (audit 72 text v01): short records read as BOM-less UTF-16 too ("1\\0" is UTF-16LE's "1"; "x=1\\0" its
"\\u3d78" and "1"), and were taken for it (CJK with the NULs gone) or refused as binary. A UTF-16 reading is taken
over UTF-8 only when it holds a space or a line end, as any text longer than a word does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlmx.context import prepare
from scripting import repl, run_cli

RECORDS = {
    "key-values": "x=1\0y=2\0z=3\0",  # /proc/*/environ
    "one-digit": "".join(f"{n}\0" for n in range(1, 10)),  # seq 1 9 | tr '\n' '\0'
    "up-to-twenty": "".join(f"{n}\0" for n in range(1, 21)),  # was refused as binary
    "letters": "y\0n\0y\0",
    "paths": "./a b.txt\0./c\0./my notes.md\0",  # find -print0 with spaces in names
    "environ": "PATH=/usr/bin:/bin\0HOME=/root\0LANG=C.UTF-8\0",
}


@pytest.mark.parametrize("records", RECORDS.values(), ids=RECORDS.keys())
def test_nul_ended_utf8_records_arrive_as_written(tmp_path: Path, records: str) -> None:
    assert prepare("context", records.encode()).text == records
    (tmp_path / "list").write_bytes(records.encode())
    assert prepare("context", tmp_path / "list").text == records


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le"])
@pytest.mark.parametrize("text", ["one two three\n", "a=1, b=2\r\n", "total: 12"])
def test_bomless_utf16_text_with_a_blank_is_still_read_as_utf16(codec: str, text: str) -> None:
    assert prepare("context", text.encode(codec)).text == text


def test_records_piped_to_rlmx_ask_reach_the_repl_with_their_nuls(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps([repl("FINAL(repr(context.split(chr(0))))")]), "utf-8")
    asked = run_cli(
        "ask",
        "how many?",
        "--context",
        "-",
        "--scripted",
        str(script),
        "--quiet",
        tmp_path=tmp_path,
        stdin="1\x002\x003\x00",
    )
    assert asked.returncode == 0, asked.stderr
    assert asked.stdout.strip() == repr(["1", "2", "3", ""])


@pytest.mark.parametrize("codec", ["utf-32-le", "utf-32-be"])
@pytest.mark.parametrize("text", ["user_id,42", "Hello", "a=1;b=2;c=3"])
def test_bomless_utf32_without_a_blank_is_still_read_as_utf32(codec: str, text: str) -> None:
    # three NULs a letter are no NUL-ended records: the blank rule is UTF-16's alone (audit 73 v01)
    assert prepare("context", text.encode(codec)).text == text
