"""What this host makes of the subprocess tier, for the expected outcomes that depend on the host.

HOST["subprocess"] is "uid" (a root host: the worker switches to a separate uid), "nocaps" (a root host whose
Python cannot be used by another uid: root without capabilities) or "user" (not root: the worker runs as the
host's user), or "pidns" (not root, and the kernel lets the worker have a pid namespace of its own: the host's
processes are not in its /proc, nor in reach of its signals). conftest fills it once per session, before any test.
"""

from __future__ import annotations

from rlmx.context import prepare
from rlmx.sandbox.subprocess import SubprocessSandbox

HOST: dict[str, str] = {}


async def subprocess_identity() -> str:
    box = SubprocessSandbox()
    await box.start([prepare("context", "x")])
    own_pid_namespace = bool(box._zygote is not None and box._zygote.applied.get("pid_namespace"))
    await box.close()
    if box.separate_uid or box.drop_capabilities:
        return "uid" if box.separate_uid else "nocaps"
    return "pidns" if own_pid_namespace else "user"
