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
    "table.expect(sys.argv[1:])\n"
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
    "prices.PriceTable().expect(sys.argv[1:])\n"
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
