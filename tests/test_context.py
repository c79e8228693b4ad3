from __future__ import annotations

from pathlib import Path

import pytest

from rlmx import RLM, InputError
from rlmx.context import prepare, prepare_all
from rlmx.lm import ScriptedLM
from rlmx.sandbox.frames import RESERVED_NAMES
from scripting import repl


def test_str_context_is_described_not_copied() -> None:
    text = "alpha " * 10_000
    prepared = prepare("context", text)
    line = prepared.describe()
    assert "str, 60,000 characters (~15,000 tokens)" in line
    assert len(line) < 400


def test_list_context_reports_items_and_first_lengths() -> None:
    prepared = prepare("docs", ["a" * 10, "b" * 20, {"k": "v"}])
    assert prepared.kind == "json" and prepared.item_count == 3
    assert prepared.item_lengths == (10, 20, 10)
    assert "3 items, item lengths in characters: 10, 20, 10" in prepared.describe()


def test_bytes_must_be_utf8() -> None:
    assert prepare("context", "héllo".encode()).data == "héllo".encode()
    with pytest.raises(InputError, match="not valid UTF-8"):
        prepare("context", b"\xff\xfe bad")


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
    assert folder.skipped_files == ("image.bin",)
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
