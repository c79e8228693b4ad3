"""Fixtures for every test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from scripting import remove_worker_folders


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests see no real keys or model settings from the machine running them."""
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "RLMX_")):
            monkeypatch.delenv(name)
    yield


@pytest.fixture(autouse=True, scope="session")
def no_folders_left_behind() -> Iterator[None]:
    """The world-writable folders tests hand to sandbox workers (scripting.worker_pidfile) are removed."""
    yield
    remove_worker_folders()
