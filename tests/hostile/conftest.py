"""Fixtures for the hostile suite: the tiers, the host's secrets, and listeners that must hear nothing.

CI sets RLMX_REQUIRE_ISOLATED=1 so that a machine that cannot run the isolated tier fails instead of skipping.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hostile.hostinfo import HOST, subprocess_identity
from rlmx.sandbox.isolated import probe

REQUIRED = os.environ.get("RLMX_REQUIRE_ISOLATED") == "1"  # read at import: the autouse fixture clears RLMX_*
FAKE_KEY = "sk-rlmx-FAKE-0123456789abcdef"
SECRET = "the root-only secret"
TIERS = ("subprocess", "isolated", "isolated-landlock")


@pytest.fixture(scope="session", autouse=True)
def _probe() -> Any:
    HOST["subprocess"] = asyncio.run(subprocess_identity())
    return asyncio.run(probe())


def _usable(name: str, found: Any) -> str:
    if name.startswith("isolated"):
        mode = "landlock" if name.endswith("landlock") else "auto"
        if found.mode(mode) is None:
            reason = f"the isolated tier ({mode}) cannot run here: {found.refusal(mode)}"
            pytest.fail(f"RLMX_REQUIRE_ISOLATED=1 but {reason}") if REQUIRED else pytest.skip(reason)
    return name


@pytest.fixture(params=TIERS)
def tier(request: pytest.FixtureRequest, _probe: Any) -> str:
    """Each tier of the suite: subprocess, isolated (bwrap here), isolated in its Landlock fallback."""
    return _usable(request.param, _probe)


@pytest.fixture(params=(*TIERS, "inprocess"))
def any_tier(request: pytest.FixtureRequest, _probe: Any) -> str:
    """The tiers plus the unsafe in-process one, for the cases that document what it exposes."""
    return _usable(request.param, _probe)


@pytest.fixture(autouse=True)
def host_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """The host holds an API key in its environment, as a real run would."""
    monkeypatch.setenv("RLM_FAKE_API_KEY", FAKE_KEY)
    return FAKE_KEY


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET)
    path.chmod(0o600)
    return path


@pytest.fixture
def key_holder() -> Iterator[int]:
    """A host process (a stand-in for an LM proxy) whose environment holds the key; yields its pid."""
    process = subprocess.Popen(["sleep", "60"], env={"RLM_FAKE_API_KEY": FAKE_KEY})
    yield process.pid
    process.kill()
    process.wait()


@pytest.fixture
def tcp_listener() -> Iterator[tuple[int, Callable[[], bool]]]:
    """A TCP listener on 127.0.0.1: (port, heard()) where heard() says whether anything connected."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)

    def heard() -> bool:
        try:
            connection, _ = server.accept()
        except BlockingIOError:
            return False
        connection.close()
        return True

    yield server.getsockname()[1], heard
    server.close()


@pytest.fixture
def udp_listener() -> Iterator[tuple[int, Callable[[], bool]]]:
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    server.setblocking(False)

    def heard() -> bool:
        try:
            server.recv(64)
        except BlockingIOError:
            return False
        return True

    yield server.getsockname()[1], heard
    server.close()
