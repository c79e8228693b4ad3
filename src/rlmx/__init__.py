"""rlmx: Recursive Language Models. The long context lives in a sandboxed REPL, not in the prompt."""

from __future__ import annotations

import rlmx._quiet_start  # noqa: F401  (first: a Ctrl-C while the `rlmx` command loads quits quietly)
from rlmx.budget import Budget, UsageReport
from rlmx.errors import (
    FrameError,
    InputError,
    LMConnectionError,
    LMError,
    LMRateLimited,
    LMRequestError,
    LMServerError,
    LMTimeout,
    RLMXError,
    SandboxError,
    SandboxLost,
    SandboxStartError,
    SetupError,
)
from rlmx.events import Event
from rlmx.result import Result
from rlmx.rlm import RLM

__version__ = "0.1.0"

__all__ = [
    "RLM",
    "Budget",
    "Event",
    "FrameError",
    "InputError",
    "LMConnectionError",
    "LMError",
    "LMRateLimited",
    "LMRequestError",
    "LMServerError",
    "LMTimeout",
    "RLMXError",
    "Result",
    "SandboxError",
    "SandboxLost",
    "SandboxStartError",
    "SetupError",
    "UsageReport",
    "__version__",
]
