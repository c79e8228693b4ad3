from __future__ import annotations

import gzip
import io
import json
import os
import py_compile
import sqlite3
import struct
import subprocess
import sys
import tarfile
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest

from rlmx import RLM, InputError
from rlmx.context import prepare, prepare_all
from rlmx.lm import ScriptedLM
from rlmx.sandbox.frames import RESERVED_NAMES
from scripting import cli_environ, repl


def test_str_context_is_described_not_copied() -> None:
    text = "alpha " * 10_000
    prepared = prepare("context", text)
    line = prepared.describe()
    assert f"str, 60,000 characters (~{prepared.approx_tokens:,} tokens)" in line
    assert 9_000 <= prepared.approx_tokens <= 12_000  # cl100k: 10,000 (" alpha" is one token)
    assert len(line) < 400


def test_list_context_reports_items_and_first_lengths() -> None:
    prepared = prepare("docs", ["a" * 10, "b" * 20, {"k": "v"}])
    assert prepared.kind == "json" and prepared.item_count == 3
    assert prepared.item_lengths == (10, 20, 10)
    assert "3 items, item lengths in characters: 10, 20, 10" in prepared.describe()


def test_bytes_must_be_utf8() -> None:
    assert prepare("context", "héllo".encode()).data == "héllo".encode()
    with pytest.raises(InputError, match=r"not text \(not UTF-8: bad byte at position 0\)"):
        prepare("context", b"\xc3( bad")


def test_non_json_values_are_refused_with_their_place() -> None:
    with pytest.raises(InputError, match=r"context `context`\[1\]\['x'\] is a set"):
        prepare("context", [1, {"x": {1, 2}}])


def test_file_and_folder_paths(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("first file")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.md").write_text("second")
    (tmp_path / "image.bin").write_bytes(b"\x89PNG\x00\x00binary")
    assert prepare("context", tmp_path / "a.txt").preview == "first file"
    folder = prepare("context", tmp_path)
    assert folder.type_name.startswith("dict")
    assert folder.skipped_files == ("image.bin (binary)",)
    assert '"sub/b.md": "second"' in folder.data.decode()


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="context file not found"):
        prepare("context", tmp_path / "nope.txt")


def test_named_contexts_validate_names() -> None:
    with pytest.raises(InputError, match="not a valid Python identifier"):
        prepare_all(None, {"bad name": "x"}, RESERVED_NAMES)
    with pytest.raises(InputError, match="taken by a REPL function"):
        prepare_all(None, {"llm_query": "x"}, RESERVED_NAMES)
    with pytest.raises(InputError, match="given twice"):
        prepare_all("a", {"context": "b"}, RESERVED_NAMES)


async def test_named_contexts_are_repl_variables_and_described_in_the_prompt() -> None:
    lm = ScriptedLM([repl("FINAL(f'{type(docs).__name__}:{len(docs)}:{notes}:{context}')")])
    result = await RLM(lm).acompletion("q", context="main", contexts={"docs": ["x", "y"], "notes": "n"})
    assert result.answer == "list:2:n:main"
    first_prompt = lm.calls[0][1]["content"]
    assert "`docs`: list" in first_prompt and "`notes`: str" in first_prompt and "3 context variable(s)" in first_prompt


async def test_bad_input_fails_before_any_lm_call(tmp_path: Path) -> None:
    lm = ScriptedLM([repl("FINAL(1)")])
    with pytest.raises(InputError, match="query must be a non-empty string"):
        await RLM(lm).acompletion("   ", context="c")
    with pytest.raises(InputError, match="context file not found"):
        await RLM(lm).acompletion("q", context=tmp_path / "missing.txt")
    assert lm.calls == []


def test_options_are_validated_up_front() -> None:
    lm = ScriptedLM(["x"])
    with pytest.raises(InputError, match="max_depth"):
        RLM(lm, max_depth=0)
    with pytest.raises(InputError, match="unknown sandbox 'firecracker'"):
        RLM(lm, sandbox="firecracker")
    with pytest.raises(InputError, match=r"must implement rlmx\.lm\.LM"):
        RLM("gpt-5")  # type: ignore[arg-type]


# --- bad contexts: one clear InputError, before any LM call and before reading what can be refused ---------------


@pytest.mark.parametrize("value", [5, 2.5, True])
def test_a_bare_number_or_bool_is_not_a_context(value: object) -> None:
    with pytest.raises(InputError, match=r"context `context` is the (int|float|bool) .*pass str\("):
        prepare("context", value)


def test_a_circular_list_is_refused_without_recursion() -> None:
    loop: list[object] = ["a"]
    loop.append(loop)
    with pytest.raises(InputError, match="circular reference"):
        prepare("context", loop)


def test_a_list_100000_deep_is_refused_without_recursion() -> None:
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(InputError, match="nested more than 256 levels"):
        prepare("context", deep)


def test_shared_but_acyclic_values_are_fine() -> None:
    shared = {"k": "v"}
    assert prepare("context", [shared, shared, [shared]]).item_count == 3


def test_devices_are_refused_without_being_read() -> None:
    with pytest.raises(InputError, match="/dev/zero is a character device, not a regular file"):
        prepare("context", Path("/dev/zero"))


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="is a FIFO") as refused:
        prepare("context", fifo)
    assert "--context -" in str(refused.value)  # `-c <(cat f)` / `-c /dev/stdin`: the way that reads a pipe


def test_a_big_sparse_file_is_refused_by_its_size_before_reading(tmp_path: Path) -> None:
    sparse = tmp_path / "sparse.txt"
    with sparse.open("wb") as handle:
        handle.truncate(2 << 30)  # 2 GiB of holes: stat() says 2 GiB, reading it would take seconds and memory
    too_big = r"is 2,147,483,648 bytes, over the limit of 1,073,741,824 .*max_context_bytes"
    with pytest.raises(InputError, match=too_big):
        prepare("context", sparse)


def test_the_size_limit_is_for_all_contexts_together_and_can_be_raised(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x" * 600)
    with pytest.raises(InputError, match="600 bytes are taken by the other contexts"):
        prepare_all(tmp_path / "a.txt", {"more": "y" * 600}, RESERVED_NAMES, max_bytes=1000)
    assert len(prepare_all(tmp_path / "a.txt", {"more": "y" * 600}, RESERVED_NAMES, max_bytes=2000)) == 2


def test_a_folder_skips_fifos_and_does_not_follow_linked_folders(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("text")
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "loop").symlink_to(tmp_path)
    folder = prepare("context", tmp_path)
    assert json.loads(folder.data) == {"a.txt": "text"}
    assert "pipe (not a regular file)" in folder.skipped_files


async def test_bad_contexts_are_refused_before_the_first_lm_call(tmp_path: Path) -> None:
    lm = ScriptedLM([repl("FINAL(1)")])
    rlm = RLM(lm, max_context_bytes=10)
    for value in (5, Path("/dev/zero"), "x" * 11):
        with pytest.raises(InputError):
            await rlm.acompletion("q", context=value)
    assert lm.calls == []


# --- text that is not valid UTF-8 ---------------------------------------------------------------------------------


def test_a_lone_surrogate_in_a_str_context_becomes_a_replacement_character() -> None:
    prepared = prepare("context", "half an emoji \ud83d here, a whole one \ud83d\ude00")
    assert prepared.data.decode("utf-8") == "half an emoji \ufffd here, a whole one \U0001f600"
    assert prepare("docs", [{"text": "\udc80"}]).data.decode("utf-8") == '[{"text": "\ufffd"}]'


# --- names rlmx puts in the REPL ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["print", "len", "open", "llm_query", "FINAL", "answer", "history", "__builtins__"])
def test_a_context_may_not_take_a_name_the_repl_provides(name: str) -> None:
    with pytest.raises(InputError, match="choose another name"):
        prepare_all(None, {name: "x"}, RESERVED_NAMES)


@pytest.mark.parametrize(
    ("name", "read_as"), [("\uff44\uff41\uff54\uff41", "data"), ("\ufb01le", "file"), ("\uff50rint", "print")]
)
def test_a_context_name_python_reads_as_another_is_refused_with_that_name(name: str, read_as: str) -> None:
    # Fullwidth letters, ligatures: Python's parser normalises identifiers (NFKC), so the model's `data` would never
    # reach `ｄａｔａ`, and `ｐｒｉｎｔ` would hide print past the builtin check.
    with pytest.raises(InputError, match=f"reads as '{read_as}'"):
        prepare_all(None, {name: "x"}, RESERVED_NAMES)


def test_the_name_rule_holds_for_sessions_too() -> None:
    rlm = RLM(ScriptedLM([repl("FINAL(1)")]))
    with pytest.raises(InputError, match="Python builtin"):
        rlm.session(contexts={"input": "x"})
    with rlm.session(context="a") as session, pytest.raises(InputError, match="Python builtin"):
        session.ask("q", contexts={"sum": "x"})


@pytest.mark.parametrize("kind", ["device", "fifo", "sparse", "over_limit"])
def test_rlmx_ask_refuses_a_bad_context_in_one_line_with_exit_code_2(tmp_path: Path, kind: str) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps([repl("FINAL(1)")]), encoding="utf-8")
    extra: list[str] = []
    if kind == "device":
        path = Path("/dev/zero")
    elif kind == "fifo":
        path = tmp_path / "pipe"
        os.mkfifo(path)
    elif kind == "sparse":
        path = tmp_path / "sparse.txt"
        with path.open("wb") as handle:
            handle.truncate(2 << 30)
    else:
        path = tmp_path / "notes.txt"
        path.write_text("twelve chars", encoding="utf-8")
        extra = ["--max-context-bytes", "5"]
    done = subprocess.run(
        [sys.executable, "-m", "rlmx.cli", "ask", "q", "-c", str(path), "--scripted", str(script), "-q", *extra],
        capture_output=True,
        text=True,
        timeout=60,
    )
    errors = [line for line in done.stderr.splitlines() if line.startswith("rlmx: error:")]
    assert done.returncode == 2, done.stderr
    assert len(errors) == 1 and "Traceback" not in done.stderr


def test_keys_that_differ_only_in_undecodable_bytes_stay_apart() -> None:
    """File names that are not UTF-8 (os.listdir gives lone surrogates) must not merge when made printable."""
    names = [os.fsdecode(raw) for raw in (b"caf\xe9.txt", b"caf\xe8.txt", b"ok.txt")]
    prepared = prepare("docs", dict(zip(names, ["one", "two", "three"], strict=True)))
    loaded = json.loads(prepared.text)
    assert len(loaded) == 3 and sorted(loaded.values()) == ["one", "three", "two"]
    assert "caf\\udce9.txt" in loaded


def test_a_folder_of_latin1_file_names_arrives_whole(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for raw, text in ((b"caf\xe9.txt", "one"), (b"caf\xe8.txt", "two"), (b"ok.txt", "three")):
        (folder / os.fsdecode(raw)).write_text(text)
    assert len(json.loads(prepare("docs", folder).text)) == 3


def test_a_str_context_naming_an_existing_file_warns_that_it_is_read_as_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # open() and pandas take a str path: `context="report.txt"` was read as those 10 characters, and the answer was
    # "NOT FOUND" with no word about why.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "report.txt").write_text("The launch code is 7391.", encoding="utf-8")
    with pytest.warns(UserWarning, match=r"names an existing file: it is read as those 10 characters.*Path\('report"):
        assert prepare("context", "report.txt").data == b"report.txt"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prepare("context", "report.txt is where the code is")  # a sentence, not a path
        prepare("context", "elsewhere.txt")  # no such file


@pytest.mark.parametrize(("body", "shown"), [("null", "None"), ("42", "42"), ("true", "True"), ("2.5", "2.5")])
def test_a_json_file_holding_one_scalar_is_that_value(tmp_path: Path, body: str, shown: str) -> None:
    # RFC 8259 lets any value be the whole document: a lone `null` or `42` crashed with a TypeError (a traceback
    # from `rlmx ask`) in the check that walks containers.
    (tmp_path / "value.json").write_text(body)
    lm = ScriptedLM([repl("FINAL(repr(context))")])
    assert RLM(lm).completion("q", context=tmp_path / "value.json").answer == shown


def test_a_json_object_file_is_described_by_its_keys_and_only_paths_as_paths(tmp_path: Path) -> None:
    # A plain object from a .json file was described to the model as "dict (path -> document)".
    (tmp_path / "sales.json").write_text('{"region": "EU", "sales": 5}')
    single = prepare("context", tmp_path / "sales.json")
    assert "path ->" not in single.describe()
    assert single.type_name == "dict with keys 'region', 'sales'"
    assert prepare("context", tmp_path).type_name == "dict (path -> document)"
    assert prepare("context", [tmp_path / "sales.json"]).type_name == "dict (path -> document)"


def test_a_long_key_is_quoted_cut_between_whole_characters_and_marked_cut(tmp_path: Path) -> None:
    # keys were cut at 40 code points: half a flag, an e without its accent, quoted as if whole (a KeyError waiting)
    flags = "\U0001f1fa\U0001f1f8" * 25
    accented = "cafe\u0301 " * 9
    (tmp_path / "keys.json").write_text(json.dumps({flags: 1, accented: 2, "short": 3}), encoding="utf-8")
    shown = prepare("context", tmp_path / "keys.json").type_name
    assert f"{flags[:40]!r}..." in shown and f"{accented[:39]!r}..." in shown and "'short'" in shown
    assert "'short'..." not in shown


def test_a_folder_skips_files_reached_through_a_link_that_leads_outside_it(tmp_path: Path) -> None:
    # The target's content reached the model (and its preview) without a word: `rlmx mcp` never reads such links.
    (tmp_path / "credentials").write_text("secret-token")
    repo = tmp_path / "repo"
    (repo / "links").mkdir(parents=True)
    (repo / "notes.txt").write_text("notes")
    (repo / "links" / "creds").symlink_to("../../credentials")
    (repo / "links" / "same").symlink_to("../notes.txt")  # a link that stays inside is read
    folder = prepare("context", repo)
    assert json.loads(folder.data) == {"links/same": "notes", "notes.txt": "notes"}
    assert "links/creds (a link that leads outside the folder)" in folder.skipped_files
    assert "secret-token" not in folder.text


# --- what counts as text: NUL holes, UTF-16/32 without a byte order mark, real binaries ---------------------------

_LOG = "2024-05-01 12:00:01 INFO start\r\n2024-05-01 12:00:02 ERROR disk full on /var caf\u00e9\r\n"


@pytest.mark.parametrize(
    ("before", "hole", "after"),
    [
        ("", 4096, _LOG),  # copytruncate: the writer kept its offset, the head is a NUL-filled hole
        ("x" * 99 + "\n", 512, _LOG),  # a hole that starts at byte 100 ...
        ("x" * 8999 + "\n", 512, _LOG),  # ... and the same at byte 9000, past the sniffed head: the same verdict
        (_LOG * 300, 200_000, _LOG),  # a crash left a hole in the middle
        (_LOG, 1, _LOG),  # a lone NUL between lines
    ],
    ids=["copytruncate-head", "at-100", "at-9000", "middle", "one-nul"],
)
@pytest.mark.parametrize("name", ["app.log", "app"], ids=["log-loader", "no-suffix"])
def test_utf8_text_holding_a_run_of_nuls_is_read_and_the_run_becomes_one_nul(
    tmp_path: Path, before: str, hole: int, after: str, name: str
) -> None:
    path = tmp_path / name
    path.write_bytes(before.encode() + b"\x00" * hole + after.encode())
    expected = before + "\x00" + after  # one NUL keeps where the hole was without flooding the model
    assert prepare("context", path).text == expected
    assert prepare("context", path.read_bytes()).text == expected  # bytes values by the same rule
    folder = prepare("context", tmp_path)
    assert folder.skipped_files == () and json.loads(folder.data) == {name: expected}


def test_a_log_with_a_nul_hole_reaches_the_repl_through_the_python_api(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_bytes(b"\x00" * 10_000 + _LOG.encode())
    lm = ScriptedLM([repl("FINAL(repr([l for l in context.splitlines() if 'ERROR' in l]))")])
    result = RLM(lm).completion("which error?", context=path)
    assert result.answer == repr(["2024-05-01 12:00:02 ERROR disk full on /var caf\u00e9"])


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
@pytest.mark.parametrize(
    "text",
    ["launch code 7, caf\u00e9\r\nline two\n", "\u041f\u0440\u0438\u0432\u0435\u0442, \u043c\u0438\u0440! 42\n"],
    ids=["latin", "cyrillic"],
)
def test_utf16_and_utf32_without_a_byte_order_mark_are_decoded(tmp_path: Path, codec: str, text: str) -> None:
    raw = text.encode(codec)
    assert prepare("context", raw).text == text  # a bytes value: was read as UTF-8 full of NULs
    (tmp_path / "notes").write_bytes(raw)
    assert prepare("context", tmp_path / "notes").text == text
    assert json.loads(prepare("context", tmp_path).data) == {"notes": text}


def _png() -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b"")
    )


def _tar_of_text() -> bytes:  # ASCII headers, NUL padding and text: valid UTF-8 with no other control byte
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        body = b"hello from inside a tar\n" * 20
        info = tarfile.TarInfo("notes.txt")
        info.size = len(body)
        archive.addfile(info, io.BytesIO(body))
    return out.getvalue()


def _stored_zip_of_text() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("notes.txt", "hello from inside a zip\n" * 20)
    return out.getvalue()


def _sqlite(tmp_path: Path) -> bytes:
    database = tmp_path / "made.db"
    connection = sqlite3.connect(database)
    with connection:
        connection.execute("CREATE TABLE notes (body TEXT)")
        connection.executemany("INSERT INTO notes VALUES (?)", [(f"note number {n}",) for n in range(40)])
    connection.close()
    data = database.read_bytes()
    database.unlink()
    return data


def _pyc(tmp_path: Path) -> bytes:
    source = tmp_path / "module_source.py"
    source.write_text("GREETING = 'hello'\nprint(GREETING)\n")
    compiled = Path(py_compile.compile(str(source), cfile=str(tmp_path / "compiled.pyc"), doraise=True))
    data = compiled.read_bytes()
    source.unlink()
    compiled.unlink()
    return data


_BINARIES: dict[str, Any] = {
    "png": lambda tmp_path: _png(),
    "elf": lambda tmp_path: Path("/bin/sh").resolve().read_bytes()[:65536],
    "gzip": lambda tmp_path: gzip.compress(_LOG.encode() * 50),
    "zip-stored": lambda tmp_path: _stored_zip_of_text(),
    "tar": lambda tmp_path: _tar_of_text(),
    "sqlite": _sqlite,
    "pyc": _pyc,
    "jpeg": lambda tmp_path: b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00",
    "int32-array": lambda tmp_path: struct.pack("<200i", *range(200)),
    "float64-array": lambda tmp_path: struct.pack("<100d", *(n * 1.5 for n in range(100))),
}


@pytest.mark.parametrize("kind", sorted(_BINARIES))
def test_real_binaries_are_refused_as_binary_from_every_source(tmp_path: Path, kind: str) -> None:
    if kind == "elf" and not Path("/bin/sh").exists():
        pytest.skip("no /bin/sh")
    raw = _BINARIES[kind](tmp_path)
    path = tmp_path / "blob"
    path.write_bytes(raw)
    with pytest.raises(InputError, match=r"context file .*blob is binary: "):
        prepare("context", path)
    with pytest.raises(InputError, match=r"context bytes are not text \((binary|not UTF-8): "):
        prepare("context", raw)
    (tmp_path / "ok.txt").write_text("fine")
    folder = prepare("context", tmp_path)
    assert folder.skipped_files in (("blob (binary)",), ("blob (not UTF-8)",))
    assert json.loads(folder.data) == {"ok.txt": "fine"}


def test_a_file_of_nothing_but_nuls_is_not_text(tmp_path: Path) -> None:
    (tmp_path / "zeroed").write_bytes(b"\x00" * 20_000)
    with pytest.raises(InputError, match="binary: it holds only NUL bytes"):
        prepare("context", tmp_path / "zeroed")


def test_standard_input_gets_the_same_rule(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps([repl("FINAL(repr(context))")]), encoding="utf-8")
    command = [sys.executable, "-m", "rlmx.cli", "ask", "q", "-c", "-", "--scripted", str(script), "-q"]

    def ask(data: bytes) -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, input=data, capture_output=True, timeout=60, env=cli_environ(tmp_path))

    done = ask("piped from PowerShell\n".encode("utf-16-le"))
    assert done.returncode == 0 and done.stdout.decode().strip() == repr("piped from PowerShell\n"), done.stderr
    done = ask(_tar_of_text())  # was read as text, headers and NULs and all
    assert done.returncode == 2 and b"standard input is not UTF-8 text (binary: it is a tar archive" in done.stderr


@pytest.mark.parametrize(
    "text",
    [
        "東京の天気は晴れでした。明日も晴れるでしょう。\n" * 25,  # ASCII only in the line ends
        "第二節　一つ目の例\r\n　番号 A-7 を参照\r\n" * 12,  # U+3000 and U+4E00 put a NUL where BE's ASCII would
        "Привет, как дела? 🎉\n" * 15,  # 🎉's low surrogate DF89 ... and 😀's DE00 are 00 DE in UTF-16LE
        "Сервер перезапущен 😀\r\n" * 15,
        "北京大學圖書館藏書目錄一覽" * 10,  # no ASCII at all: its only NULs are those of 一
    ],
    ids=["japanese-lines", "ideographic-space", "russian-emoji", "russian-grinning", "chinese-only"],
)
@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_bomless_utf16_is_read_in_its_own_byte_order(tmp_path: Path, text: str, codec: str) -> None:
    (tmp_path / "notes").write_bytes(text.encode(codec))
    assert prepare("context", tmp_path / "notes").text == text  # was refused as binary


@pytest.mark.parametrize("cut", [1, 3], ids=["odd-byte", "mid-surrogate"])
def test_bomless_utf16_cut_short_is_read_up_to_its_last_whole_character(tmp_path: Path, cut: int) -> None:
    whole = "WARN 2024-06-02 disk 91% \U0001f4be\r\n" * 150
    raw = whole.encode("utf-16-le")
    end = raw.rfind("\U0001f4be".encode("utf-16-le")) + cut  # inside the last emoji: half a unit, or its high half
    (tmp_path / "svc.out").write_bytes(raw[:end])
    text = prepare("context", tmp_path / "svc.out").text
    assert "\x00" not in text and whole.startswith(text) and len(text) > len(whole) - 40  # not "W\0A\0R\0N" as UTF-8


def test_int16_arrays_are_binary_not_latin1_or_cjk_text(tmp_path: Path) -> None:
    samples = struct.pack("<3000h", *(150 + (n * 7919) % 60 for n in range(3000)))  # values 150..209: no ASCII
    (tmp_path / "heights.bin").write_bytes(samples)
    with pytest.raises(InputError, match=r"heights\.bin is binary: "):
        prepare("context", tmp_path / "heights.bin")
    npy = b"\x93NUMPY\x01\x00v\x00{'descr': '<i2', 'fortran_order': False, 'shape': (3000,), }" + b" " * 43 + b"\n"
    (tmp_path / "heights").write_bytes(npy + samples)
    with pytest.raises(InputError, match=r"heights is binary: it is a NumPy array"):
        prepare("context", tmp_path / "heights")


def test_utf16_without_nuls_or_a_mark_is_named_in_the_refusal() -> None:
    with pytest.raises(InputError, match=r"if it is UTF-16LE without a byte order mark.*iconv -f UTF-16LE"):
        prepare("context", ("漢字仮名交じり文章見本" * 4).encode("utf-16-le"))  # no NUL byte: not told from GBK
    with pytest.raises(InputError, match=r"not UTF-8: bad byte at position 3\)"):
        prepare("context", "caf\u00e9 au lait, s'il vous pla\u00eet".encode("latin-1"))  # no UTF-16 hint for Latin-1
