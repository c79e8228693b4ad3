"""Lets the MCP tests import their harness (pytest's importlib mode puts no test folder on sys.path)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
