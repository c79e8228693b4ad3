"""The default tier's pseudo-terminal wall, round 86 (audit 86 V13, V14).

* V13: the Landlock rule set took any folder of /dev holding a `ptmx` for a devpts mount, links followed: one cell's
  `os.symlink('/dev/ptmx', '/dev/shm/ptmx')` left /dev/shm out of every later run's rule set, so their workers could
  open no file in their own work dir (/dev/shm/rlmx-*/work) nor make a multiprocessing lock. A folder is a pty
  mount now by what /proc/self/mountinfo says is mounted there.
* V14: a refused pty failed with Python's own words ("Permission denied" with no file; pty.fork's "out of pty
  devices", as if the host's pool were spent); the error now says the sandbox refuses them and what to do.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import pytest

from rlmx.context import prepare
from rlmx.sandbox import SubCallResult, create_sandbox, harden

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the process tiers are Linux's")


async def _no_calls(call: object) -> list[SubCallResult]:
    raise AssertionError(f"no sub-call expected: {call!r}")


def _needs_the_pty_wall() -> None:
    if harden.landlock_abi() is None or not harden.seccomp_supported():
        pytest.skip("no Landlock here: the default tier leaves ptys open (the README says so)")


def test_a_folder_holding_a_ptmx_link_is_no_pty_mount(tmp_path: os.PathLike[str]) -> None:
    folder = os.path.join(os.fspath(tmp_path), "looks_like_pts")
    os.mkdir(folder)
    os.symlink("/dev/ptmx", os.path.join(folder, "ptmx"))
    mounts = harden._devpts_mounts()
    assert harden._is_pty(folder, mounts) is False
    assert harden._is_pty(os.path.join(folder, "ptmx"), mounts) is True  # the link itself leads to a pty
    if os.path.ismount("/dev/pts"):
        assert "/dev/pts" in mounts and harden._is_pty("/dev/pts", mounts)


def test_mount_points_are_read_with_their_escapes_undone() -> None:
    assert harden._mountinfo_unescaped(r"/mnt/my\040pts") == "/mnt/my pts"
    assert harden._mountinfo_unescaped(r"/a\134b") == "/a\\b"
    assert harden._mountinfo_unescaped(r"/odd\9x") == r"/odd\9x"  # not an octal escape: kept as written


async def test_a_cells_ptmx_link_in_dev_shm_leaves_other_runs_their_work_dir(
    require_isolated: Callable[..., None],
) -> None:
    _needs_the_pty_wall()
    planted = "/dev/shm/ptmx"
    if os.path.lexists(planted):
        pytest.skip(f"{planted} exists already")
    first = create_sandbox("subprocess", hard_timeout_grace=1.0)
    await first.start([prepare("context", "first run")])
    try:
        cell = f"import os\nos.symlink('/dev/ptmx', {planted!r})\nprint('planted')"
        result = await first.run_cell(cell, calls=_no_calls, timeout=20)
        assert result.status == "ok" and "planted" in result.stdout, result
        second = create_sandbox("subprocess", hard_timeout_grace=1.0)
        await second.start([prepare("context", "second run")])
        try:
            cell = (
                "import multiprocessing\nopen('notes.txt', 'w').write('kept')\n"
                "multiprocessing.Lock()\nprint(open('notes.txt').read())"
            )
            result = await second.run_cell(cell, calls=_no_calls, timeout=20)
        finally:
            await second.close()
    finally:
        await first.close()
        if os.path.islink(planted):
            os.unlink(planted)
    assert result.status == "ok" and result.stdout.strip() == "kept", result


@pytest.mark.parametrize(
    "call", ["import os\nos.openpty()", "import pty\npty.fork()", "import pty\npty.openpty()"], ids=str.split
)
async def test_a_refused_pty_is_named_as_the_sandboxs_refusal(call: str) -> None:
    _needs_the_pty_wall()
    box = create_sandbox("subprocess", hard_timeout_grace=1.0)
    await box.start([prepare("context", "the context")])
    try:
        result = await box.run_cell(call, calls=_no_calls, timeout=20)
        names = "import os\nprint(os.openpty.__name__, callable(os.forkpty))"
        after = await box.run_cell(names, calls=_no_calls, timeout=20)
    finally:
        await box.close()
    assert result.status == "error", result
    assert "may not open a pseudo-terminal" in (result.error or ""), result.error
    assert "retrying will not help" in (result.error or "") and "capture_output=True" in (result.error or "")
    assert after.stdout.split() == ["openpty", "True"], after  # the names keep their look
