"""rlmx errors. Everything rlmx raises to a caller is an RLMXError.

* RLMXError
  x InputError          bad query, context, option or model URL; raised before any LM spending
  x LMError             an LM call failed after its retries
    + LMTimeout · LMRateLimited · LMServerError · LMConnectionError   (retried with backoff first)
    + LMRequestError    4xx other than 429; never retried
    + LMBadResponse     the server answered, but not with a usable completion (not JSON, wrong shape, no text)
  x SandboxError
    + SandboxStartError · SandboxLost (worker gone, state lost) · FrameError (malformed, oversize)

A budget running out is not an error: the run ends and Result.status says why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rlmx.lm.base import Completion, Usage


class RLMXError(Exception):
    """Base of every error rlmx raises to a caller. Its text is valid Unicode: a server's or a model's words quoted
    in it may hold lone surrogates (an emoji's escape cut in half), which become U+FFFD here, once, so printing,
    logging or writing any rlmx error never raises."""

    def __init__(self, *args: object) -> None:
        from rlmx.sandbox.frames import encodable  # late: the sandbox package imports this module

        super().__init__(*(encodable(arg) if isinstance(arg, str) else arg for arg in args))

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its class, its args and its attributes, and rebuilt without calling `__init__`: a subclass
        whose `__init__` takes more than its message (`LMBadResponse(message, retryable=...)`) unpickles too, so a
        Result carrying it, or the error raised in a worker process (ProcessPoolExecutor, multiprocessing), comes
        back whole. BaseException's own rule calls `cls(*args)`, which such a subclass refuses."""
        return _rebuilt, (type(self), self.args), self.__dict__ or None


def _rebuilt(cls: type[RLMXError], args: tuple[object, ...]) -> RLMXError:
    """An RLMXError of class `cls` with `args`, its `__init__` not called (`RLMXError.__reduce__`); pickle then
    sets its attributes back (BaseException.__setstate__)."""
    return cls.__new__(cls, *args)


class InputError(RLMXError, ValueError):
    """Bad input: raised before any LM call is made, with what to do about it."""


class LMError(RLMXError):
    """An LM call failed (after retries where retrying makes sense).

    `unanswered`: requests of the call that went out and may have been billed, but whose usage the error does not
    carry (no reply in time, a reply that broke off or could not be read, an attempt before an error status).
    Budgets book each at the call's reservation. `via_proxy`: the variable naming the environment's proxy
    (`HTTP_PROXY`, ...) when the failure was the proxy's (unreachable, or asking for credentials), else None.
    `withheld`: the model refused, or a content filter or moderation stopped the prompt or its reply, whatever the
    HTTP status it came with (an LMBadResponse, or an LMRequestError for Azure's 400 `content_filter`, OpenAI's 400
    `invalid_prompt`, OpenRouter's 403 moderation): the LM works and chose not to answer this prompt (a run whose
    every sub-call was withheld is no LM failure). `out_of_time`: below."""

    unanswered: int = 0
    via_proxy: str | None = None
    withheld: bool = False
    out_of_time: bool = False
    """Retries were left, but the next attempt was due after the run's time budget (Budget.max_seconds) ends, so it
    was not waited for: the run's clock, not the LM, ended the call (a root call's is a budget stop)."""


class LMTimeout(LMError):
    """No reply within the timeout. `attempts`: how many requests were sent (each may have been billed)."""

    def __init__(self, message: str, *, attempts: int = 1) -> None:
        super().__init__(message)
        self.attempts = self.unanswered = attempts


class LMRateLimited(LMError):
    """The server kept answering 429 Too Many Requests. `retry_after`: the seconds its last reply asked to wait
    (`Retry-After`), or None when it said none."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class LMServerError(LMError):
    """The server kept answering 5xx. `retry_after`: the seconds its last reply asked to wait when that is longer
    than rlmx waits between attempts (so it was not sent again), else None."""

    retry_after: float | None = None


class LMConnectionError(LMError):
    """No whole reply came back: the server could not be reached, or its replies broke off mid-way. `sent`: the
    requests that went out and got no whole reply (each may have been billed); 0 when none reached the server."""

    def __init__(self, message: str, *, sent: int = 0) -> None:
        super().__init__(message)
        self.sent = self.unanswered = sent


class LMRequestError(LMError):
    """The server rejected the request (4xx other than 429): retrying will not help."""


class LMBadResponse(LMError):
    """The server answered, but not with a usable completion: a body that is not JSON or not shaped like a chat
    completion, or a reply with no text (the output cap spent on reasoning, a refusal, only reasoning).

    `retryable` says whether asking again may help; `usage` is what the reply was billed when it said (the tokens
    were spent even though the reply is unusable), else None. `reasoning_only` is the reply as read when it is no
    answer for a sub-call but a root node acts on it: reasoning and nothing else (empty `text`), or text a content
    filter stopped part-way (a root node treats it as cut short, as at the output cap). `served` is the model the
    reply says answered, when it names one, and `billed_as` the price name of a service tier it says it was billed
    at (`Completion.billed_as`): its billed `usage` is priced as a reply's would be. `transient`: the LM gave up
    asking again after replies of a kind that passes (a body that is not JSON, a cut stream), so `retryable` is
    False for this run, though the same call may succeed later (`rlmx serve` answers it 500, not 424).
    `withheld`: the model refused, or a content filter stopped the prompt or its reply: the LM works and chose not
    to answer this prompt (a run whose every sub-call was withheld is no LM failure).
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        usage: Usage | None = None,
        unanswered: int = 0,
        reasoning_only: Completion | None = None,
        served: str | None = None,
        billed_as: str | None = None,
        transient: bool = False,
        withheld: bool = False,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.transient = transient
        self.withheld = withheld
        self.usage = usage
        self.unanswered = unanswered
        self.reasoning_only = reasoning_only
        self.served = served
        self.billed_as = billed_as


class SandboxError(RLMXError):
    pass


class SandboxStartError(SandboxError):
    pass


class SandboxLost(SandboxError):
    """The worker died or was killed; its variables are gone."""


class FrameError(SandboxError):
    """The worker sent a malformed or oversize frame."""


class SetupError(InputError):
    """RLM(setup_code=...) failed in the REPL (or the host tools could not be defined), before any LM call."""
