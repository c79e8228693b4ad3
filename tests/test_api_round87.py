"""Audit 87 (Python API): three ways a run ended with no Result or never ended.

* The sub-call cache's per-object token map took a plain lock, and the weak-reference callback that clears an entry
  took it too: a garbage collection freeing a tokened LM while the lock was held ran the callback in the same thread,
  which then waited on itself for ever (the run's event loop with it).
* A JSON Schema `output=` whose `$ref` resolves to nothing was accepted: the LM was paid, then jsonschema's private
  error escaped `completion()`; a remote `$ref` was fetched over HTTP by the host while the answer was checked, past
  any time budget.
* An `async def` tool raising SystemExit (argparse in it) ended `completion()` with SystemExit (asyncio raises a
  task's SystemExit out of the loop), where a sync tool's is a cell error.
"""

from __future__ import annotations

import argparse
import gc
import http.server
import threading
from collections.abc import Iterator

import pytest

from rlmx import RLM, InputError, subcall_cache
from rlmx.lm import ScriptedLM
from scripting import repl


def test_an_lm_freed_while_the_token_lock_is_held_does_not_hang_its_thread() -> None:
    lm = ScriptedLM(["x"])
    subcall_cache.object_token(lm)
    done = threading.Event()

    def free_it_under_the_lock() -> None:
        nonlocal lm
        with subcall_cache._TOKENS_LOCK:  # as object_token holds it when a collection lands inside it
            del lm  # the last reference: the weak reference's callback runs here, in this thread
            gc.collect()
        done.set()

    threading.Thread(target=free_it_under_the_lock, daemon=True).start()
    assert done.wait(10), "the weak-reference callback waited on the lock its own thread holds"
    fresh = ScriptedLM(["y"])
    assert subcall_cache.object_token(fresh) == subcall_cache.object_token(fresh)


@pytest.fixture
def schema_host() -> Iterator[tuple[str, list[str]]]:
    fetched: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fetched.append(self.path)
            body = b'{"type": "integer"}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/n.json", fetched
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("where", ["missing name", "pointer past the schema", "remote", "inside an $id scope"])
def test_a_ref_that_resolves_to_nothing_is_refused_before_any_call(
    where: str, schema_host: tuple[str, list[str]]
) -> None:
    url, fetched = schema_host
    schemas = {
        "missing name": {"type": "object", "properties": {"n": {"$ref": "#/$defs/Count"}}},
        "pointer past the schema": {"$ref": "#/properties/n/items"},
        "remote": {"type": "object", "properties": {"n": {"$ref": url}}},
        "inside an $id scope": {
            "$defs": {"inner": {"$id": "https://example.test/inner", "$ref": "#/$defs/gone"}},
            "$ref": "#/$defs/inner",
        },
    }
    lm = ScriptedLM([repl("SUBMIT(n=1)")])
    with pytest.raises(InputError, match=r"\$ref .* resolves to nothing"):
        RLM(lm).completion("How many?", context="three", output=schemas[where])
    assert lm.calls == [] and fetched == []


def test_a_ref_that_resolves_within_the_schema_still_checks_the_answer() -> None:
    schema = {
        "$id": "https://example.test/answer",
        "type": "object",
        "properties": {"n": {"$ref": "#/$defs/Count"}, "m": {"$ref": "https://example.test/answer#/$defs/Count"}},
        "required": ["n"],
        "$defs": {"Count": {"type": "integer", "minimum": 0}},
    }
    lm = ScriptedLM([repl("SUBMIT(n=-1)"), repl("SUBMIT(n=3, m=4)")])
    result = RLM(lm).completion("How many?", context="three", output=schema)
    assert result.value == {"n": 3, "m": 4} and result.iterations == 2


def test_an_async_tools_system_exit_is_a_cell_error_as_a_sync_tools_is() -> None:
    def parse(flags: str) -> int:
        parser = argparse.ArgumentParser(prog="lookup", exit_on_error=True)
        parser.add_argument("--year", type=int, required=True)
        return int(parser.parse_args(flags.split()).year)

    async def lookup_async(flags: str) -> int:
        """A year, from flags like '--year 2020'."""
        return parse(flags)

    def lookup_sync(flags: str) -> int:
        """A year, from flags like '--year 2020'."""
        return parse(flags)

    for tool in (lookup_async, lookup_sync):
        name = tool.__name__
        lm = ScriptedLM(
            [
                repl(f"try:\n    got = {name}('--yaer 2020')\nexcept RuntimeError as exc:\n    got = str(exc)"),
                repl(f"FINAL(got + ' / ' + str({name}('--year 2020')))"),
            ]
        )
        result = RLM(lm, tools=[tool]).completion("Which year?", context="c")
        assert result.status == "finished", result.stop_reason
        assert f"tool {name} raised SystemExit: 2" in result.answer and result.answer.endswith(" / 2020")
