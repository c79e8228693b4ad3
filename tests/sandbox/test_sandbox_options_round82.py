"""Round 82: `sandbox_options` are checked when the RLM is built, before any run. A misspelt key reached the user as
a TypeError from inside the run, `disk_limit_bytes="1G"` as a TypeError comparing str and int, and
`memory_limit_bytes=2**64` failed only as the worker started ("Python int too large to convert to C long")."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from rlmx import RLM
from rlmx.errors import InputError
from rlmx.lm import ScriptedLM
from rlmx.sandbox.subprocess import SubprocessSandbox


def build(sandbox: str, **options: Any) -> RLM:
    return RLM(ScriptedLM(["FINAL(done)"]), sandbox=sandbox, sandbox_options=options)


@pytest.mark.parametrize("sandbox", ["subprocess", "isolated", "inprocess", "docker"])
def test_a_misspelt_option_is_refused_with_the_nearest_name(sandbox: str) -> None:
    with pytest.raises(InputError, match=r"unknown sandbox option 'max_output_chrs'.*did you mean 'max_output_chars'"):
        build(sandbox, max_output_chrs=100)


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"memory_limit_bytes": 2**64}, "whole number from 1"),
        ({"disk_limit_bytes": "1G"}, "whole number from 1"),
        ({"open_files_limit": 0}, "whole number from 1"),
        ({"max_processes": -3}, "whole number from 1"),
        ({"max_output_chars": 2.5}, "whole number from 1"),
        ({"zygote": "no"}, "True or False"),
        ({"hard_timeout_grace": float("nan")}, "seconds from 0 to 1e9"),
        ({"hard_timeout_grace": 1e12}, "seconds from 0 to 1e9"),
        ({"python": 3}, "must be a string \\(or a path\\)"),
    ],
)
def test_a_value_the_option_cannot_take_is_refused_before_the_run(options: dict[str, Any], says: str) -> None:
    with pytest.raises(InputError, match=says):
        build("subprocess", **options)


@pytest.mark.parametrize(
    "options",
    [
        {"memory_limit_bytes": None},
        {"memory_limit_bytes": 2**63 - 1},
        {"max_calls_per_cell": 0},  # no sub-calls at all
        {"hard_timeout_grace": 2},
        {"zygote": False},
        {"disk_limit_bytes": 64 << 20, "max_processes": 32},
        {"python": Path(sys.executable)},  # a path, as the process start takes it
    ],
)
def test_values_the_options_take_are_kept(options: dict[str, Any]) -> None:
    assert build("subprocess", **options).sandbox_options == options


async def test_a_run_with_checked_options_runs() -> None:
    result = await RLM(
        ScriptedLM(["```repl\nprint(6 * 7)\n```", "FINAL(done)"]),
        sandbox="subprocess",
        sandbox_options={"memory_limit_bytes": 2**63 - 1, "max_calls_per_cell": 0},
    ).acompletion("q", context="abc")
    assert result.status == "finished" and result.answer == "done"


class NicedSandbox(SubprocessSandbox):
    """A launcher of a user's own: its options' rules are its own (a nice level may be 0 or negative)."""

    def __init__(self, *, nice: int = 0, **options: Any) -> None:
        super().__init__(**options)
        self.nice = nice


def test_a_launcher_of_your_own_checks_its_own_options_and_rlmx_checks_the_names() -> None:
    path = f"{__name__}:NicedSandbox"
    assert build(path, nice=-5, max_processes=32).sandbox_options == {"nice": -5, "max_processes": 32}
    with pytest.raises(InputError, match="did you mean 'nice'"):
        build(path, nicee=1)
    with pytest.raises(InputError, match="whole number from 1"):
        build(path, max_processes=0)  # an option of rlmx's tier underneath keeps rlmx's rule
