"""An optional extra that is installed but fails to import (audit 77 newcomer v05): `rlmx mcp` said "needs the `mcp`
extra, which is not installed (... needs the `mcp` extra, which is not installed ...; install it: ...); install it:
...": the advice nested in itself, and "not installed" of a package that is there."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from rlmx.extras import ExtraMissing, install_command, missing_extra
from scripting import cli_environ

BLOCKER = """
import sys
class Broken:
    def find_spec(self, name, path=None, target=None):
        if name == "mcp.server.mcpserver":
            raise ImportError("mcp.server.mcpserver requires pydantic>=2.11")
sys.meta_path.insert(0, Broken())
"""


def test_a_module_of_rlmx_that_says_the_extra_is_missing_is_not_quoted_whole() -> None:
    inner = ExtraMissing("rlmx.mcp.server", "mcp", ModuleNotFoundError("No module named 'mcp'", name="mcp"))
    said = missing_extra("rlmx mcp", "mcp", inner)
    assert said == "rlmx mcp needs the `mcp` extra, which is not installed (No module named 'mcp'); install it: " + (
        install_command("mcp")
    )


def test_a_package_that_is_there_but_fails_to_import_is_not_called_missing() -> None:
    broken = ImportError("cannot import name 'MCPServer' from 'mcp.server'", name="mcp.server")
    said = missing_extra("rlmx mcp", "mcp", broken)
    assert "which is installed but cannot be imported (cannot import name 'MCPServer'" in said
    assert "not installed" not in said and said.count(install_command("mcp")) == 1


def test_rlmx_mcp_says_a_broken_sdk_once(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCKER)
    env = cli_environ(tmp_path, {"PYTHONPATH": str(site)})
    proc = subprocess.run(
        [sys.executable, "-m", "rlmx.cli", "mcp"], capture_output=True, text=True, env=env, timeout=60,
        stdin=subprocess.DEVNULL, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("needs the `mcp` extra") == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "installed but cannot be imported (mcp.server.mcpserver requires pydantic>=2.11)" in proc.stderr
