"""CI on dc0fe7c and 8ab2475: a host that cannot read its worker's /proc (Docker's default capabilities, every
non-root host) took the RAM-growth baseline of its worker's files with no name when the watcher thread began, which
on a busy machine was after the first cell had started writing: 56 MiB of the cell's 180 MiB went into the baseline,
and the cell held all 180 under a 64 MiB bound. The baseline is now taken as the worker starts, before a cell can
run. Here the watcher thread starts 2 s late, as a starved machine's did."""

from __future__ import annotations

import pytest

from hostile.test_unnamed_files_round79 import _HOLD, HOSTS, _under, pytestmark  # noqa: F401 (skips, lock)

_LATE_WATCHER = """
import time
from rlmx.sandbox import subprocess as _tier
_watch = _tier._watch_usage
def _late(*args, **kwargs):
    time.sleep(2)
    _watch(*args, **kwargs)
_tier._watch_usage = _late
"""


@pytest.mark.parametrize("how", ["open", "mapped"])
def test_files_a_cell_holds_before_the_watcher_begins_still_count(how: str) -> None:
    result = _under(HOSTS["docker-default"], f"HOW = {how!r}\n" + _LATE_WATCHER + _HOLD)
    status, stdout, error = result["after"]
    assert "disk limit" in result["first"][2] + error, result
    assert status != "ok" or stdout.strip() != "6", result
