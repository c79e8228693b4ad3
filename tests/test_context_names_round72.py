"""Round 72: a context name is refused with the reason that holds. A keyword is a keyword (it is an identifier to
str.isidentifier), and a name rlmx binds in the REPL for itself (`_rlmx_place_files`, `_rlmx_workspace_folder`) is
refused up front, not accepted and then failed as a `setup_code` the user never passed."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlmx import RLM, InputError
from rlmx.context import check_name, prepare_all
from rlmx.lm import ScriptedLM
from rlmx.sandbox.frames import RESERVED_NAMES
from scripting import repl


@pytest.mark.parametrize("name", ["class", "None", "lambda", "import", "async", "True"])
def test_a_keyword_is_refused_as_a_keyword(name: str) -> None:
    # It was "not a valid Python identifier; use letters, digits and _", for a name of letters only.
    with pytest.raises(InputError, match=rf"'{name}' is a Python keyword.*choose another name") as caught:
        prepare_all(None, {name: "x"}, RESERVED_NAMES)
    assert "not a valid Python identifier" not in str(caught.value)


def test_a_name_python_reads_as_a_keyword_is_refused_as_one() -> None:
    # `ｃｌａｓｓ` reads as `class`: the advice was to use 'class'.
    with pytest.raises(InputError, match=r"is a Python keyword \(Python reads it as 'class'\)"):
        check_name("ｃｌａｓｓ", RESERVED_NAMES)


@pytest.mark.parametrize("name", ["match", "case", "_"])
def test_a_soft_keyword_is_a_name_and_accepted(name: str) -> None:
    check_name(name, RESERVED_NAMES)


@pytest.mark.parametrize("name", ["_rlmx_workspace_folder", "_rlmx_place_files", "_rlmx_tool", "__rlmx_thing"])
def test_a_name_with_rlmxs_own_prefix_is_refused_with_why(name: str) -> None:
    with pytest.raises(InputError, match=rf"context name '{name}' begins with '_+rlmx_?', which rlmx keeps"):
        check_name(name, RESERVED_NAMES)


@pytest.mark.parametrize("name", ["_rlmx_workspace_folder", "_rlmx_place_files"])
def test_rlmxs_own_names_with_files_are_refused_before_any_setup(tmp_path: Path, name: str) -> None:
    # The run started, then failed with "setup_code failed in the REPL ... TypeError: 'str' object is not callable"
    # (or "setup_code binds _rlmx_place_files") though no setup_code was given.
    notes = tmp_path / "notes.txt"
    notes.write_text("hello")
    lm = ScriptedLM([repl("FINAL(1)")])
    with pytest.raises(InputError, match="which rlmx keeps for the names it binds") as caught:
        RLM(lm, files=[notes]).completion("q", contexts={name: "CTX"})
    assert "setup_code" not in str(caught.value) and not lm.calls
