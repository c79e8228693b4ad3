"""`rlmx serve`: an RLM behind an OpenAI-compatible HTTP API (needs the [server] extra: starlette, uvicorn).

    from rlmx.server import create_app
    app = create_app(rlm, model_name="rlmx")      # any ASGI server runs it; `rlmx serve` uses uvicorn
    app = create_app(rlm, options=ServerOptions(max_queued=16, api_key="..."))   # queue, limits, key

Then any OpenAI client can call it: `OpenAI(base_url="http://127.0.0.1:8000/v1", api_key="-")`.
"""

from __future__ import annotations

try:
    import starlette  # noqa: F401
except ImportError as exc:  # say how to install it from the checkout, not a bare "No module named 'starlette'"
    from rlmx.extras import ExtraMissing

    raise ExtraMissing("rlmx.server", "server", exc) from None

from rlmx.server.app import RLMFactory, ServerOptions, create_app, with_limits

__all__ = ["RLMFactory", "ServerOptions", "create_app", "with_limits"]
