"""rlmx errors. Everything rlmx raises to a caller is an RLMXError.

* RLMXError
  x InputError          bad query, context, option or model URL; raised before any LM spending
  x LMError             an LM call failed after its retries
    + LMTimeout · LMRateLimited · LMServerError · LMConnectionError   (retried with backoff first)
    + LMRequestError    4xx other than 429; never retried
  x SandboxError
    + SandboxStartError · SandboxLost (worker gone, state lost) · FrameError (malformed, oversize)

A budget running out is not an error: the run ends and Result.status says why.
"""

from __future__ import annotations


class RLMXError(Exception):
    """Base of every error rlmx raises to a caller."""


class InputError(RLMXError, ValueError):
    """Bad input: raised before any LM call is made, with what to do about it."""


class LMError(RLMXError):
    """An LM call failed (after retries where retrying makes sense)."""


class LMTimeout(LMError):
    pass


class LMRateLimited(LMError):
    pass


class LMServerError(LMError):
    pass


class LMConnectionError(LMError):
    pass


class LMRequestError(LMError):
    """The server rejected the request (4xx other than 429): retrying will not help."""


class SandboxError(RLMXError):
    pass


class SandboxStartError(SandboxError):
    pass


class SandboxLost(SandboxError):
    """The worker died or was killed; its variables are gone."""


class FrameError(SandboxError):
    """The worker sent a malformed or oversize frame."""
