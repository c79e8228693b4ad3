"""Fixtures for every test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests see no real keys or model settings from the machine running them."""
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "RLMX_")):
            monkeypatch.delenv(name)
    yield
