"""What this host makes of the subprocess tier, for the expected outcomes that depend on the host.

HOST["subprocess"] is "uid" (a root host: the worker switches to a separate uid), "nocaps" (a root host whose
Python cannot be used by another uid: root without capabilities) or "user" (not root: the worker runs as the
host's user). conftest fills it once per session, before any test.
"""

from __future__ import annotations

from rlmx.context import prepare
from rlmx.sandbox.subprocess import SubprocessSandbox

HOST: dict[str, str] = {}


async def subprocess_identity() -> str:
    box = SubprocessSandbox()
    await box.start([prepare("context", "x")])
    await box.close()
    return "uid" if box.separate_uid else "nocaps" if box.drop_capabilities else "user"
