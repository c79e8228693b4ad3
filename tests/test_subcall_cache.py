"""The sub-call cache: identical sub-LM requests reach the LM once per run, and not at all with a warm cache_dir."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from rlmx import RLM, Budget, InputError
from rlmx.lm import Message, ScriptedLM
from scripting import repl, router

TEN_SAME = repl("replies = [llm_query('capital of France?') for _ in range(10)]\nFINAL(' '.join(replies))")
BATCH_SAME = repl("FINAL(' '.join(llm_query_batched(['capital of France?'] * 6)))")


def scripted(root: str, sub_calls: list[str]) -> ScriptedLM:
    def sub(messages: list[Message]) -> str:
        sub_calls.append(messages[0]["content"])
        return "Paris"

    lm = ScriptedLM(router(root=[root], sub=sub))
    # Every such LM answers "Paris": declared, so that a cache_dir keeps its replies for the next run's LM (a
    # ScriptedLM's script is no setting the cache can read).
    lm.cache_identity = "answers Paris"  # type: ignore[attr-defined]
    return lm


async def test_ten_identical_llm_queries_reach_the_lm_once() -> None:
    sub_calls: list[str] = []
    events: list[str] = []
    rlm = RLM(scripted(TEN_SAME, sub_calls), cache=True, on_event=lambda e: events.append(e.type))
    result = await rlm.acompletion("Capital?", context="x")
    assert result.answer == " ".join(["Paris"] * 10)
    assert len(sub_calls) == 1
    assert result.usage.cached_calls == 9
    assert result.usage.cached_tokens > 0
    assert result.usage.sub.calls == 1
    assert events.count("subcall_cached") == 9


async def test_concurrent_identical_requests_share_one_call_in_flight() -> None:
    sub_calls: list[str] = []
    result = await RLM(scripted(BATCH_SAME, sub_calls), cache=True).acompletion("Capital?", context="x")
    assert result.answer == " ".join(["Paris"] * 6)
    assert (len(sub_calls), result.usage.cached_calls) == (1, 5)


async def test_hits_spend_no_budget() -> None:
    sub_calls: list[str] = []
    rlm = RLM(scripted(TEN_SAME, sub_calls), cache=True, budget=Budget(max_subcalls=2))
    result = await rlm.acompletion("Capital?", context="x")
    assert (result.status, result.answer.count("Paris"), len(sub_calls)) == ("finished", 10, 1)


async def test_cache_dir_carries_replies_to_the_next_run(tmp_path: Path) -> None:
    first: list[str] = []
    await RLM(scripted(TEN_SAME, first), cache=True, cache_dir=tmp_path).acompletion("Capital?", context="x")
    second: list[str] = []
    result = await RLM(scripted(TEN_SAME, second), cache=True, cache_dir=tmp_path).acompletion("Q", context="y")
    assert (len(first), len(second)) == (1, 0)
    assert (result.answer.count("Paris"), result.usage.cached_calls, result.usage.sub.calls) == (10, 10, 0)
    assert (tmp_path / "subcalls.sqlite").is_file()


async def test_default_policy_caches_only_temperature_zero() -> None:
    sub_calls: list[str] = []
    lm = scripted(TEN_SAME, sub_calls)
    await RLM(lm).acompletion("Capital?", context="x")  # no temperature known: every call is made
    assert len(sub_calls) == 10
    sub_calls.clear()
    hot = scripted(TEN_SAME, sub_calls)
    hot.params = {"temperature": 0.7}  # type: ignore[attr-defined]
    await RLM(hot, cache=True).acompletion("Capital?", context="x")  # sampling on purpose: never cached
    assert len(sub_calls) == 10
    sub_calls.clear()
    cold = scripted(TEN_SAME, sub_calls)
    cold.params = {"temperature": 0}  # type: ignore[attr-defined]
    await RLM(cold).acompletion("Capital?", context="x")
    assert len(sub_calls) == 1


async def test_different_prompts_are_not_merged() -> None:
    sub_calls: list[str] = []
    code = repl("FINAL(' '.join(llm_query(f'q{i}') for i in range(3)))")
    await RLM(scripted(code, sub_calls), cache=True).acompletion("Q", context="x")
    assert sorted(sub_calls) == ["q0", "q1", "q2"]


def test_unusable_cache_dir_is_an_input_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(InputError, match="cache_dir"):
        RLM(ScriptedLM(["x"]), cache_dir=blocker)


@pytest.mark.parametrize("reason", ["length", "max_tokens", "MAX_TOKENS"])
def test_a_reply_cut_at_its_cap_is_never_stored(tmp_path: Path, reason: str) -> None:
    """Whatever the gateway calls the cap's finish reason, a cut reply is asked again next run, not replayed."""
    from fake_openai_server import FakeOpenAIServer, Reply, completion_body
    from rlmx.lm import OpenAICompatibleLM

    ask = repl("FINAL(llm_query('capital of France?'))")
    with FakeOpenAIServer() as server:
        for _ in range(2):
            server.script(Reply(body=completion_body("Paris, the", finish_reason=reason)))
            sub = OpenAICompatibleLM("m", base_url=server.base_url, api_key="k", temperature=0)
            RLM(ScriptedLM([ask]), sub_lm=sub, cache_dir=tmp_path).completion("Capital?", context="x")
    assert len(server.requests) == 2


def test_a_schema_sub_call_asked_twice_counts_once_against_max_subcalls() -> None:
    """A sub-call with a schema may ask twice (the second time with the problems); served from the cache or not,
    it counts as one sub-call, so no more sub-calls reach the LM than max_subcalls allows."""
    from fake_openai_server import Behaviour, FakeOpenAIServer
    from rlmx.lm import OpenAICompatibleLM

    ask = repl(
        "S = {'type': 'object', 'properties': {'n': {'type': 'integer'}}, 'required': ['n']}\n"
        "out = []\n"
        "for p in ['a', 'a', 'b', 'c', 'd']:\n"
        "    try:\n"
        "        out.append(llm_query('count ' + p, schema=S))\n"
        "    except RuntimeError as e:\n"
        "        out.append('refused' if 'budget' in str(e) or 'spent' in str(e) else 'no match')\n"
        "print(out)"
    )
    with FakeOpenAIServer(Behaviour(text="not json at all")) as server:
        sub = OpenAICompatibleLM("m", base_url=server.base_url, api_key="k", temperature=0)
        result = RLM(ScriptedLM([ask, repl("FINAL('done')")]), sub_lm=sub, budget=Budget(max_subcalls=2)).completion(
            "go", context="x"
        )
    asked = {request.body["messages"][0]["content"].split("\n")[0] for request in server.requests}
    assert len(asked) <= 2 and result.usage.to_dict()["subcalls"] == 2


def test_the_cache_file_and_its_journals_are_the_owners_alone(tmp_path: Path) -> None:
    """The cache holds the run's prompts and replies: the database is 0600 whatever the umask (an old 0644 one is
    made so), SQLite gives its journal files that mode, and a cache folder rlmx makes is 0700."""
    import os

    from rlmx.subcall_cache import CACHE_FILE, open_store

    old = tmp_path / "old"
    old.mkdir()
    (old / CACHE_FILE).touch(mode=0o644)
    (old / CACHE_FILE).chmod(0o644)
    old_umask = os.umask(0o022)
    try:
        for folder in (tmp_path / "made" / "cache", old):
            db = open_store(folder)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("INSERT INTO replies VALUES ('k', 'the prompt''s reply', 'm', 1, 1, NULL)")
            db.commit()
            files = {p.name: p.stat().st_mode & 0o777 for p in folder.iterdir()}
            db.close()
            assert files and set(files.values()) == {0o600}, files
            assert {CACHE_FILE + "-wal", CACHE_FILE + "-shm"} <= set(files)
    finally:
        os.umask(old_umask)
    assert [(tmp_path / p).stat().st_mode & 0o777 for p in ("made", "made/cache")] == [0o700, 0o700]


def test_the_cache_key_tells_servers_apart_but_not_api_keys() -> None:
    # Two local servers both serving "local-model": the second got the first one's answer from a shared cache_dir.
    from rlmx.lm.openai import OpenAICompatibleLM
    from rlmx.subcall_cache import request_key

    def key(base_url: str, api_key: str = "k1", **headers: str) -> str:
        lm = OpenAICompatibleLM("local-model", base_url, api_key, default_headers=headers or None, temperature=0)
        return request_key(lm, [{"role": "user", "content": "q"}])

    assert key("http://127.0.0.1:8001/v1") != key("http://127.0.0.1:8002/v1")
    assert key("http://h/v1?api-version=1") != key("http://h/v1?api-version=2")
    assert key("http://h/v1", **{"X-Route": "a"}) != key("http://h/v1", **{"X-Route": "b"})
    assert key("http://h/v1", "k1") == key("http://h/v1", "k2")


async def test_a_damaged_cache_file_is_passed_over_with_one_warning(tmp_path: Path) -> None:
    # A damaged page made every llm_query fail ("database disk image is malformed"): the sub-LM was never asked.
    await RLM(scripted(TEN_SAME, []), cache=True, cache_dir=tmp_path).acompletion("Capital?", context="x")
    store = tmp_path / "subcalls.sqlite"
    data = bytearray(store.read_bytes())
    data[4096:] = b"\xff" * (len(data) - 4096)  # the table's pages; the schema on page 1 still reads
    store.write_bytes(bytes(data))
    asked: list[str] = []
    with pytest.warns(RuntimeWarning, match=r"subcalls\.sqlite failed") as seen:
        result = await RLM(scripted(TEN_SAME, asked), cache=True, cache_dir=tmp_path).acompletion("Q", context="y")
    assert (result.answer.count("Paris"), len(asked)) == (10, 1)  # asked once, the rest from memory
    assert len([w for w in seen if issubclass(w.category, RuntimeWarning)]) == 1


def test_a_cache_file_that_is_not_sqlite_is_named_with_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "subcalls.sqlite").write_bytes(b"this is no database, just text " * 200)
    with pytest.raises(InputError, match=r"subcalls\.sqlite is damaged or not an SQLite database .*delete it"):
        RLM(ScriptedLM(["x"]), cache_dir=tmp_path)


async def test_a_cache_file_another_program_has_locked_is_passed_over_quickly_and_called_locked(
    tmp_path: Path,
) -> None:
    # A database viewer's pending edit held the write lock: each store waited 10 s on the run's event loop, then the
    # healthy file was called damaged ("delete it").
    await RLM(scripted(TEN_SAME, []), cache=True, cache_dir=tmp_path).acompletion("Capital?", context="x")
    viewer = sqlite3.connect(tmp_path / "subcalls.sqlite", isolation_level=None)
    viewer.execute("BEGIN IMMEDIATE")
    viewer.execute("INSERT INTO replies VALUES ('k', 'text', 'model', 1, 1, 'stop')")
    asked: list[str] = []
    rlm = RLM(scripted(THREE_NEW, asked), cache=True, cache_dir=tmp_path)
    started = time.monotonic()
    try:
        with pytest.warns(RuntimeWarning, match="is locked by another program") as seen:
            result = await rlm.acompletion("Q", context="y")
    finally:
        viewer.execute("ROLLBACK")
        viewer.close()
    assert time.monotonic() - started < 3
    assert (result.answer, len(asked)) == ("Paris Paris Paris", 3)
    told = [str(w.message) for w in seen if issubclass(w.category, RuntimeWarning)]
    assert len(told) == 1 and "delete" not in told[0] and "damaged" not in told[0]


THREE_NEW = repl("FINAL(' '.join(llm_query(f'capital {i}?') for i in range(3)))")


def test_lms_that_differ_only_in_max_tokens_do_not_share_a_reply() -> None:
    # Two readers of one model on one server, one capped at 20 tokens: the capped one was handed the other's
    # 60-word reply from the cache, a reply its own cap would never let it give.
    from fake_openai_server import Behaviour, FakeOpenAIServer
    from rlmx.lm.openai import OpenAICompatibleLM

    ask_both = repl(
        "FINAL(llm_query('describe Paris', model='long') + ' | ' + llm_query('describe Paris', model='short'))"
    )
    with FakeOpenAIServer(Behaviour(text=" ".join(["word"] * 60))) as fake:
        long = OpenAICompatibleLM("m", fake.base_url, "k", temperature=0, max_tokens=2000)
        short = OpenAICompatibleLM("m", fake.base_url, "k", temperature=0, max_tokens=20)
        rlm = RLM(ScriptedLM([ask_both]), models={"long": long, "short": short}, cache=True)
        result = rlm.completion("Describe", context="x")
    asked = [r.body for r in fake.requests if r.body.get("messages", [{}])[0].get("content") == "describe Paris"]
    assert sorted(body.get("max_tokens") for body in asked) == [20, 2000]
    assert result.usage.cached_calls == 0
    long_reply, short_reply = result.answer.split(" | ")
    assert len(long_reply.split()) == 60 and len(short_reply.split()) < 60


def test_the_cache_key_tells_apart_local_models_that_differ_only_in_their_cap() -> None:
    from rlmx.subcall_cache import request_key

    class Local(ScriptedLM):
        def __init__(self, cap: int) -> None:
            super().__init__(["x"])
            self.max_tokens = cap
            self.cache_identity = "one model file"  # keyed by its settings, not by the object

    asked: list[Message] = [{"role": "user", "content": "q"}]
    assert request_key(Local(32), asked) != request_key(Local(512), asked)
    assert request_key(Local(32), asked) == request_key(Local(32), asked)
