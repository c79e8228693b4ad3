"""OpenAICompatibleLM: the LM protocol over any OpenAI-compatible chat-completions server (OpenAI, OpenRouter,
vLLM, llama.cpp, Ollama, ...), and the one place where openai SDK errors become rlmx errors."""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any, cast

import openai
from openai import AsyncOpenAI
from openai.resources.chat.completions import AsyncCompletions
from openai.types.chat import ChatCompletionMessageParam

from rlmx.errors import InputError, LMConnectionError, LMError, LMRateLimited, LMRequestError, LMServerError, LMTimeout
from rlmx.lm.base import Completion, Message, Usage, estimate_message_tokens, estimate_tokens

LOCAL_API_KEY = "not-needed"
"""Sent to servers given by base_url when no key is given: local servers ignore it, the SDK insists on one."""

_RESERVED_PARAMS = frozenset({"model", "messages", "stream"})
_CONNECT_TIMEOUT = 10.0


@cache
def _sdk_keywords() -> frozenset[str]:
    """The keyword arguments `chat.completions.create` takes; any other param travels in `extra_body`."""
    return frozenset(inspect.signature(AsyncCompletions.create).parameters) - {"self"}


class OpenAICompatibleLM:
    """Calls `POST {base_url}/chat/completions` through the official `openai` SDK's AsyncOpenAI client.

    The SDK retries 408/409/429/5xx, timeouts and connection errors `max_retries` times with exponential
    backoff (honouring the server's Retry-After); what still fails is raised as an rlmx LMError. `**params`
    are default sampling params (temperature, max_tokens, ...); a call's own params win over them. Params the
    SDK does not know (top_k, min_p, ...) are sent as extra body fields, for servers that accept them.

        lm = OpenAICompatibleLM("gpt-4o-mini")                                  # OPENAI_API_KEY from the env
        lm = OpenAICompatibleLM("qwen2.5", base_url="http://127.0.0.1:8000/v1", temperature=0.0)
    """

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        max_retries: int = 4,
        timeout: float = 600.0,
        **params: Any,
    ) -> None:
        if not model:
            raise InputError("OpenAICompatibleLM needs a model name, e.g. 'gpt-4o-mini'")
        if base_url is not None and not base_url.startswith(("http://", "https://")):
            raise InputError(f"base_url must start with http:// or https://, got {base_url!r}")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise InputError(f"max_retries must be a non-negative integer, got {max_retries!r}")
        if timeout <= 0:
            raise InputError(f"timeout must be a positive number of seconds, got {timeout!r}")
        _check_params(params)
        if api_key is None:
            if base_url is None:
                api_key = os.environ.get("OPENAI_API_KEY")
                if not api_key:
                    raise InputError(
                        "No API key for the OpenAI API: set OPENAI_API_KEY, or pass api_key "
                        "(on the command line: --api-key-env NAME_OF_THE_VARIABLE_HOLDING_IT)"
                    )
            else:
                api_key = LOCAL_API_KEY
        self.model = model
        self.params = params
        self._client = AsyncOpenAI(
            api_key=api_key,
            base_url=base_url,
            max_retries=max_retries,
            timeout=openai.Timeout(timeout, connect=min(timeout, _CONNECT_TIMEOUT)),
        )

    @property
    def base_url(self) -> str:
        return str(self._client.base_url)

    async def complete(self, messages: Sequence[Message], **params: Any) -> Completion:
        _check_params(params)
        sent = cast(list[ChatCompletionMessageParam], [{"role": m["role"], "content": m["content"]} for m in messages])
        merged = {**self.params, **params}
        if "max_tokens" in merged and "api.openai.com" in self.base_url:
            # OpenAI's current models refuse max_tokens and take max_completion_tokens; other servers take both.
            merged.setdefault("max_completion_tokens", merged.pop("max_tokens"))
        known = _sdk_keywords()
        kwargs = {k: v for k, v in merged.items() if k in known}
        extra = {k: v for k, v in merged.items() if k not in known}
        if extra:
            kwargs["extra_body"] = {**extra, **kwargs.get("extra_body", {})}
        with self._map_errors():
            response = await self._client.chat.completions.create(model=self.model, messages=sent, **kwargs)
        if not response.choices:
            raise LMError(f"{self.base_url} returned a completion with no choices for model {self.model!r}")
        text = response.choices[0].message.content or ""
        usage = response.usage
        if usage is None:
            result = Usage(input_tokens=estimate_message_tokens(messages), output_tokens=estimate_tokens(text))
        else:
            cost = getattr(usage, "cost", None)
            result = Usage(
                input_tokens=usage.prompt_tokens,
                output_tokens=usage.completion_tokens,
                cost_usd=float(cost) if isinstance(cost, int | float) and not isinstance(cost, bool) else None,
            )
        return Completion(text=text, usage=result, model=response.model or self.model)

    async def aclose(self) -> None:
        """Close the HTTP client; the LM cannot be used afterwards."""
        await self._client.close()

    @contextmanager
    def _map_errors(self) -> Iterator[None]:
        """Turn the SDK's errors (raised after its retries) into rlmx LMErrors, keeping the cause."""
        try:
            yield
        except openai.APITimeoutError as exc:
            raise LMTimeout(f"{self.model} at {self.base_url} timed out (after retries)") from exc
        except openai.APIConnectionError as exc:
            raise LMConnectionError(
                f"cannot connect to {self.base_url}: the server is unreachable (is it running?): {exc.message}"
            ) from exc
        except openai.RateLimitError as exc:
            raise LMRateLimited(
                f"{self.base_url} rate-limited model {self.model} (HTTP 429, after retries): {_server_message(exc)}"
            ) from exc
        except openai.APIStatusError as exc:
            detail = f"HTTP {exc.status_code} from {self.base_url} for model {self.model}: {_server_message(exc)}"
            if exc.status_code >= 500:
                raise LMServerError(f"server error, after retries: {detail}") from exc
            raise LMRequestError(f"request rejected: {detail}") from exc
        except openai.OpenAIError as exc:
            raise LMError(f"{self.model} at {self.base_url} failed: {exc}") from exc


def _check_params(params: dict[str, Any]) -> None:
    reserved = sorted(_RESERVED_PARAMS.intersection(params))
    if reserved:
        raise InputError(f"OpenAICompatibleLM sets {', '.join(reserved)} itself; do not pass it as a sampling param")


def _server_message(exc: openai.APIStatusError) -> str:
    """The server's own error message when its body has one, else the SDK's summary."""
    body = exc.body
    if isinstance(body, dict):
        message = body.get("message")
        if isinstance(message, str) and message:
            return message
    if isinstance(body, str) and body:
        return body
    return exc.message
