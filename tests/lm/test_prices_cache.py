"""genai-prices' answers are kept on disk per snapshot and day, so later processes price known models without
importing the database (about 0.4 s); the answers stay the library's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

LOOKUP = (
    "import json, sys\n"
    "from rlmx.lm.prices import PriceTable\n"
    "table = PriceTable()\n"
    "table.expect([(m, None) for m in sys.argv[1:]])\n"
    "prices = {m: table.lookup(m) for m in sys.argv[1:]}\n"
    "print(json.dumps({'loaded': 'genai_prices' in sys.modules,\n"
    "                  'prices': {m: None if p is None else [p.input_per_million, p.output_per_million, p.source]\n"
    "                             for m, p in prices.items()}}))\n"
)


def lookup(cache: Path, *models: str) -> dict[str, object]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    done = subprocess.run([sys.executable, "-c", LOOKUP, *models], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_a_second_process_prices_known_models_without_the_database(tmp_path: Path) -> None:
    first = lookup(tmp_path, "gpt-4o-mini", "no-such-model-xyz")
    assert first["loaded"] is True
    prices = first["prices"]
    assert isinstance(prices, dict)
    assert prices["gpt-4o-mini"][:2] == [0.15, 0.6] and prices["gpt-4o-mini"][2].startswith("genai-prices")
    assert prices["no-such-model-xyz"] is None  # an unknown name is remembered as unknown, never as free
    second = lookup(tmp_path, "gpt-4o-mini", "no-such-model-xyz")
    assert second == {"loaded": False, "prices": prices}


def test_a_model_not_answered_yet_loads_the_database(tmp_path: Path) -> None:
    lookup(tmp_path, "gpt-4o-mini")
    assert lookup(tmp_path, "gpt-4o")["loaded"] is True


def test_a_damaged_cache_file_is_ignored_and_rewritten(tmp_path: Path) -> None:
    lookup(tmp_path, "gpt-4o-mini")
    (saved,) = (tmp_path / "rlmx" / "prices").glob("*.json")
    saved.write_text("{not json")
    again = lookup(tmp_path, "gpt-4o-mini")
    assert again["loaded"] is True and again["prices"]["gpt-4o-mini"][:2] == [0.15, 0.6]  # type: ignore[index]
    assert "gpt-4o-mini" in json.loads(saved.read_text())


EXPECT_ONLY = (
    "import sys\n"
    "from rlmx.lm import prices\n"
    "prices.PriceTable().expect([(m, None) for m in sys.argv[1:]])\n"
    "if prices._warming is not None:\n"
    "    prices._warming.join()\n"
)


def test_models_expected_but_never_looked_up_are_answered_for_later_processes(tmp_path: Path) -> None:
    # A run configures a sub-LM it never calls: the next process must not load the database again for it.
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", EXPECT_ONLY, "gpt-4o-mini", "sub-model-never-called"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    later = lookup(tmp_path, "gpt-4o-mini", "sub-model-never-called")
    assert later["loaded"] is False
    assert later["prices"]["sub-model-never-called"] is None  # type: ignore[index]


def test_a_model_served_by_several_hosts_is_priced_at_its_hosts_own_list_price() -> None:
    # genai-prices lists gpt-oss-120b at OpenAI's rate and at Cerebras' own (about 9x dearer on input); rlmx asked
    # by name alone, so a run on Cerebras was admitted at OpenAI's rate and billed 3.7x its USD limit.
    from rlmx.lm.prices import PriceTable

    by_name = PriceTable().lookup("gpt-oss-120b")
    cerebras = PriceTable()
    cerebras.expect([("gpt-oss-120b", "https://api.cerebras.ai/v1/")])
    at_host = cerebras.lookup("gpt-oss-120b")
    assert by_name is not None and at_host is not None
    assert at_host.input_per_million > by_name.input_per_million and at_host.output_per_million > 2 * 0.18
    both = PriceTable()  # one name served at two hosts in one tree: the dearer bounds both
    both.expect([("gpt-oss-120b", "https://api.openai.com/v1/"), ("gpt-oss-120b", "https://api.cerebras.ai/v1/")])
    assert both.lookup("gpt-oss-120b") == at_host
    unlisted = PriceTable()  # a host genai-prices knows, whose list lacks the name: unknown, not another host's
    unlisted.expect([("gpt-4o-mini", "https://api.cerebras.ai/v1/")])
    assert unlisted.lookup("gpt-4o-mini") is None
    local = PriceTable()  # an address no provider has: priced by name, as before
    local.expect([("gpt-4o-mini", "http://127.0.0.1:8000/v1")])
    assert local.lookup("gpt-4o-mini") == PriceTable().lookup("gpt-4o-mini")


def test_a_price_change_scheduled_for_tomorrow_bounds_the_price_kept_today() -> None:
    # Answers are kept for the day, also by a process kept alive across the date (serve, MCP): a price that rises
    # at midnight must bound a run still going then.
    import datetime as dt
    from types import SimpleNamespace

    from rlmx.lm.prices import _price_times

    today = dt.datetime.now(tz=dt.UTC).date()
    changes = [SimpleNamespace(constraint=SimpleNamespace(start_date=today + dt.timedelta(days=days), start_time=None))
               for days in (1, 31, -31)]  # fmt: skip
    times = _price_times(SimpleNamespace(prices=[SimpleNamespace(constraint=None), *changes]))
    assert [t.date() for t in times] == [today, today + dt.timedelta(days=1)]  # answers are kept for a day


def test_a_model_on_a_local_server_is_priced_by_name_without_loading_the_database(tmp_path: Path) -> None:
    # Each run's local server has its own port: keyed by address, every process loaded the database again (0.4 s
    # of CPU competing with the run's start) for an address no provider has.
    lookup(tmp_path, "gpt-4o-mini")
    script = (
        "import sys\n"
        "from rlmx.lm.prices import PriceTable\n"
        "table = PriceTable()\n"
        "table.expect([('gpt-4o-mini', 'http://127.0.0.1:49152/v1/'), ('gpt-4o-mini', 'https://localhost/v1')])\n"
        "price = table.lookup('gpt-4o-mini')\n"
        "print(price.input_per_million, 'genai_prices' in sys.modules)\n"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0.15", "False"]


def test_audio_rates_and_search_fees_survive_the_disk_cache(tmp_path: Path) -> None:
    code = (
        "import json, sys\nfrom rlmx.lm.prices import PriceTable\nt = PriceTable()\n"
        "t.expect([('gpt-audio', None), ('gpt-4o-mini-search-preview', None)])\n"
        "a, s = t.lookup('gpt-audio'), t.lookup('gpt-4o-mini-search-preview')\n"
        "print(json.dumps(['genai_prices' in sys.modules, a.output_audio_per_million, s.per_request]))\n"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    runs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60) for _ in "ab"
    ]
    first, second = (json.loads(run.stdout) for run in runs)
    assert first == [True, 64.0, 0.01] and second == [False, 64.0, 0.01]


def test_image_rates_survive_the_disk_cache(tmp_path: Path) -> None:
    code = (
        "import json, sys\nfrom rlmx.lm.prices import PriceTable\nt = PriceTable()\n"
        "t.expect([('gemini-2.5-flash-image', None)])\np = t.lookup('gemini-2.5-flash-image')\n"
        "print(json.dumps(['genai_prices' in sys.modules, p.output_per_million, p.output_image_per_million]))\n"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    runs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60) for _ in "ab"
    ]
    first, second = (json.loads(run.stdout) for run in runs)
    assert first == [True, 2.5, 30.0] and second == [False, 2.5, 30.0]


def test_a_gateways_row_takes_its_makers_image_rate_and_keeps_it_on_disk(tmp_path: Path) -> None:
    # OpenRouter's row for Gemini 2.5 Flash Image ties with Google's on text and has no image rate; an answer kept
    # before the rows' media rates were joined would still say it has none
    code = (
        "import json, sys\nfrom rlmx.lm.prices import PriceTable\nt = PriceTable()\n"
        "name = 'openrouter/google/gemini-2.5-flash-image'\n"
        "t.expect([(name, None)])\np = t.lookup(name)\n"
        "print(json.dumps(['genai_prices' in sys.modules, p.output_per_million, p.output_image_per_million]))\n"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    runs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60) for _ in "ab"
    ]
    first, second = (json.loads(run.stdout) for run in runs)
    assert first == [True, 2.5, 30.0] and second == [False, 2.5, 30.0]


def test_a_name_looked_up_before_its_host_was_named_is_priced_at_that_host_after() -> None:
    """Lookups are kept for the day (two a call); naming where a model is served answers anew, not the kept one."""
    from rlmx.lm.prices import PriceTable

    table = PriceTable()
    by_name = table.lookup("gpt-oss-120b")
    table.expect([("gpt-oss-120b", "https://api.cerebras.ai/v1/")])
    at_host = PriceTable()
    at_host.expect([("gpt-oss-120b", "https://api.cerebras.ai/v1/")])
    assert table.lookup("gpt-oss-120b") == at_host.lookup("gpt-oss-120b") != by_name
