"""Round 83: the sandbox's bounds (audit 83).

* io_uring did in the kernel what the seccomp filter refuses at the call (IORING_OP_FSETXATTR stored 299 MB of
  xattrs on the default tier): every tier refuses io_uring_setup, io_uring_enter and io_uring_register (EPERM).
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import pytest

from rlmx.context import prepare
from rlmx.sandbox import SubCallResult, create_sandbox, harden

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the process tiers' filters are Linux's")

_RING_CELL = r"""
import ctypes, errno
libc = ctypes.CDLL(None, use_errno=True)
params = ctypes.create_string_buffer(120)  # struct io_uring_params, zeroed
def outcome(number, *args):
    if libc.syscall(number, *args) < 0:
        return errno.errorcode.get(ctypes.get_errno(), ctypes.get_errno())
    return 'made'
print('setup', outcome(425, 4, params))
print('enter', outcome(426, 0, 0, 0, 0, None, 0))
print('register', outcome(427, 0, 0, None, 0))
"""


async def _no_calls(call: object) -> list[SubCallResult]:
    return [SubCallResult(False, error="no sub-calls")] * len(call.items)  # type: ignore[attr-defined]


async def _run(tier: str, code: str, timeout: float = 20.0, **options: object) -> tuple[str, str, str]:
    box = create_sandbox(tier, hard_timeout_grace=1.0, **options)
    await box.start([prepare("context", "the context")])
    try:
        result = await box.run_cell(code, calls=_no_calls, timeout=timeout)
        return result.status, result.stdout, result.error or ""
    finally:
        await box.close()


@pytest.mark.skipif(not harden.seccomp_supported(), reason="no seccomp filter on this machine")
@pytest.mark.parametrize("tier", ["subprocess", "isolated", "landlock"])
async def test_no_tier_lets_a_cell_make_or_drive_an_io_uring(tier: str, require_isolated: Callable[..., None]) -> None:
    # A ring's opcodes (FSETXATTR, SOCKET, a fixed-file table holding a file with no name) would route around the
    # filter's other rules, so the ring itself is refused: the call never reaches the kernel's io_uring code.
    options: dict[str, object] = {}
    if tier == "landlock":
        require_isolated("landlock")
        tier, options = "isolated", {"mode": "landlock"}
    elif tier == "isolated":
        require_isolated()
    status, stdout, error = await _run(tier, _RING_CELL, **options)
    assert status == "ok", error
    seen = dict(line.split(" ", 1) for line in stdout.splitlines())
    assert seen == {"setup": "EPERM", "enter": "EPERM", "register": "EPERM"}, stdout


def test_every_filter_and_its_report_name_the_io_uring_calls() -> None:
    for stage in ("light", "zygote", "worker"):
        program = harden.build_filter(stage, pid=1234)
        for number in (425, 426, 427):
            assert harden._op(harden._JEQ, number, 0, 1) in program, (stage, number)
        assert {"io_uring_setup", "io_uring_enter", "io_uring_register"} <= set(harden.denied_syscalls(stage))
