"""The viewer page in a real browser: headless Chromium (Debian's `chromium` and `chromium-driver`) driven by
Selenium, against `rlmx view`'s own HTTP server, on traces of real scripted runs.

Selenium Manager never runs (it would download drivers): the driver is given by path. Without Chromium the tests
skip, unless RLMX_REQUIRE_BROWSER=1 (set by .ci/run), where they fail.
"""

from __future__ import annotations

import itertools
import os
import shutil
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rlmx.viewer.server import ViewerServer

pytestmark = pytest.mark.slow  # a real browser: seconds per test

REQUIRED = os.environ.get("RLMX_REQUIRE_BROWSER") == "1"  # read at import: the autouse fixture clears RLMX_*
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver") or (
    "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None
)
PAGE_LIMIT_S = 60
"""How long a page may take to render before the test fails (the 1,000-sub-call trace included)."""


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    if CHROMIUM is None or CHROMEDRIVER is None:
        return "Chromium is not installed (apt-get install chromium chromium-driver)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    reason = _missing()
    if reason is not None:
        if REQUIRED:
            pytest.fail(f"RLMX_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    driver = _chrome()
    try:
        yield driver
    finally:
        driver.quit()


def _chrome(*, javascript: bool = True) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    assert CHROMIUM is not None and CHROMEDRIVER is not None
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.add_argument("--window-size=1360,1000")
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(PAGE_LIMIT_S)
    return driver


@pytest.fixture()
def serve() -> Iterator[Any]:
    servers: list[ViewerServer] = []

    def start(folder: Path) -> ViewerServer:
        server = ViewerServer(folder)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _open(driver: Any, url: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    WebDriverWait(driver, PAGE_LIMIT_S).until(lambda d: d.find_element("tag name", "body").get_attribute("data-ready"))
    assert driver.find_element("tag name", "body").get_attribute("data-ready") == "1", _text(driver, "main")


def _text(driver: Any, css: str) -> str:
    return str(driver.find_element("css selector", css).text)


def _head(driver: Any, css: str) -> Any:
    return driver.find_element("css selector", f"{css} > .head")


def test_the_page_shows_a_depth2_run_with_failures_and_a_budget_stop(
    browser: Any, serve: Any, depth2_trace: Path, tmp_path: Path
) -> None:
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    server = serve(depth2_trace.parent)
    _open(browser, server.url_for(depth2_trace))

    summary = _text(browser, "#summary")
    assert "What is the code of section A?" in summary
    assert "The code of section A is 100" in summary  # the answer
    assert "budget exhausted" in summary and "from final_request" in summary
    assert "max_iterations: all 3 turns used" in _text(browser, "#stop-reason")
    stats = {
        label: _text(browser, f'[data-stat="{label}"] .v') for label in ("sub-calls", "RLM nodes", "turns", "cells")
    }
    assert stats == {"sub-calls": "9 (1 failed)", "RLM nodes": "3", "turns": "3", "cells": "7"}

    issues = _text(browser, "#issues")
    for chip in ("1 failed sub-call", "2 budget stops", "1 error", "1 last-turn request"):
        assert chip in issues
    assert "sub-call 0/s1 failed: sub-LM call failed" in issues
    assert "4 sub-call(s) refused" in issues

    # The root's cells are listed, collapsed; the failing sub-call's cell says so before it is opened.
    first_cell = browser.find_element("css selector", '[data-cell="0/c1"]')
    assert "llm_query_batched" in first_cell.text and "1 failed" in first_cell.text
    assert not first_cell.find_elements("css selector", ".body pre")  # rendered only when opened

    # Expand the cell that started the child RLMs: its code (highlighted), output and sub-calls appear.
    _head(browser, '[data-cell="0/c2"]').click()
    cell = browser.find_element("css selector", '[data-cell="0/c2"]')
    assert cell.find_elements("css selector", ".tk-rlm")  # rlm_query_batched is highlighted
    assert "rlm_query_batched" in cell.find_element("css selector", "pre.code").text
    assert "child RLM 0.2" in cell.text

    # Expand a child RLM: its turns, its cells (one failed with ZeroDivisionError) and its answer.
    _head(browser, '[data-subcall="0/s4"]').click()
    child = browser.find_element("css selector", '[data-node="0.2"]')
    assert "depth 1" in child.text and "finished" in child.text
    assert "find the code in section B" in child.text and "child says:" in child.text
    _head(browser, '[data-cell="0.2/c1"]').click()
    assert "ZeroDivisionError" in _text(browser, '[data-cell="0.2/c1"]')

    # Search: the results list the matches; following one opens the tree down to it and marks it.
    box = browser.find_element("id", "search")
    box.send_keys("overloaded")
    WebDriverWait(browser, 10).until(lambda d: d.find_element("id", "search-count").text.startswith("2 matches"))
    browser.find_element("css selector", "#results a.hit").click()
    marked = browser.find_elements("css selector", "#tree mark")
    assert marked and all(m.text.lower() == "overloaded" for m in marked)
    box.clear()
    box.send_keys("check 1", Keys.ENTER)  # Enter jumps to the first match: a sub-call of the root's third cell
    WebDriverWait(browser, 10).until(lambda d: d.find_element("id", "search-count").text.startswith("2 matches "))
    sub_call = browser.find_element("css selector", '[data-cell="0/c3"] .subcall.open')
    assert "check 1" in sub_call.find_element("tag name", "mark").text

    # A badge filter lists just one kind of trouble.
    browser.execute_script("window.scrollTo(0, 0)")
    browser.find_element("css selector", ".chip.c-failed").click()
    listed = browser.find_elements("css selector", "#issues li")
    assert len(listed) == 1 and "0/s1" in listed[0].text

    screenshot = tmp_path / "depth2.png"
    browser.save_screenshot(str(screenshot))
    assert screenshot.stat().st_size > 10_000


def test_a_trace_with_1000_subcalls_renders(
    browser: Any, serve: Any, many_subcalls_trace: Path, tmp_path: Path
) -> None:
    server = serve(many_subcalls_trace.parent)
    _open(browser, server.url_for(many_subcalls_trace))
    summary = _text(browser, "#summary").replace("\n", " ")
    assert "1,000 sub-calls" in summary or "1,000 sub-calls".replace(" ", "\n") in summary or "1,000" in summary
    assert browser.execute_script("return window.rlmxRun.subcalls") == 1000
    assert browser.execute_script("return window.rlmxRun.cells") == 200
    # Collapsed by default: no sub-call row exists until its cell is opened.
    assert browser.find_elements("css selector", "[data-subcall]") == []
    _head(browser, '[data-cell="0/c200"]').click()
    assert len(browser.find_elements("css selector", '[data-cell="0/c200"] [data-subcall]')) == 5
    browser.save_screenshot(str(tmp_path / "many.png"))


def test_the_picker_lists_traces_and_links_a_sessions_questions(
    browser: Any, serve: Any, every_event_traces: list[Path]
) -> None:
    folder = every_event_traces[-1].parent
    server = serve(folder)
    _open(browser, server.url)
    rows = browser.find_elements("css selector", ".trace-list tbody tr")
    assert len(rows) == len(list(folder.glob("*.jsonl")))
    session_rows = [r for r in rows if "session" in r.text]
    assert len(session_rows) == 2
    second = next(r for r in session_rows if "second?" in r.text)
    second.find_element("tag name", "a").click()
    _open(browser, browser.current_url)
    links = _text(browser, "#session-links")
    assert "1. first?" in links and "2. second?" in links
    browser.find_element("link text", "1. first?").click()
    _open(browser, browser.current_url)
    assert "first?" in _text(browser, "#summary .qtext")

    # A cell that ran past its time limit is one click away.
    browser.find_element("link text", "all traces").click()
    _open(browser, browser.current_url)
    browser.find_element("link text", "slow?").click()
    _open(browser, browser.current_url)
    browser.find_element("css selector", ".chip.c-timeout").click()
    listed = browser.find_elements("css selector", "#issues li a")
    assert len(listed) == 1 and listed[0].text.startswith("cell 0/c1: timeout")
    listed[0].click()
    assert "timeout" in _text(browser, '[data-cell="0/c1"] > .head')
    assert "time.sleep(30)" in _text(browser, '[data-cell="0/c1"] pre.code')

    # Host tool calls show on their cell, arguments and result; a failed one is listed with the failures.
    browser.find_element("link text", "all traces").click()
    _open(browser, browser.current_url)
    browser.find_element("link text", "tools?").click()
    _open(browser, browser.current_url)
    assert "tool lookup failed in cell 0/c1" in _text(browser, "#issues")
    _head(browser, '[data-cell="0/c1"]').click()
    calls = [n.text for n in browser.find_elements("css selector", '[data-cell="0/c1"] .n-tool')]
    assert len(calls) == 1 and calls[0].startswith("lookup(") and "100" in calls[0]
    assert "setup code" in _text(browser, '[data-node="0"]').lower()


def test_rlmx_serve_shows_the_page_of_its_runs(browser: Any, served_with_key: Any) -> None:
    page = f"{served_with_key.url}/view/{served_with_key.trace_id}"
    _open(browser, f"{page}#key={served_with_key.api_key}")
    assert "What is the code of section A?" in _text(browser, "#summary .qtext")
    assert "budget exhausted" in _text(browser, "#summary")
    browser.get("about:blank")
    browser.get(page)  # no key: the page says how to give it
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, PAGE_LIMIT_S).until(lambda d: d.find_element("tag name", "body").get_attribute("data-ready"))
    assert "#key=YOUR_KEY" in _text(browser, "#load-error")


def test_a_run_still_writing_its_trace(browser: Any, serve: Any, depth2_trace: Path, tmp_path: Path) -> None:
    lines = depth2_trace.read_text(encoding="utf-8").splitlines(keepends=True)
    cut = tmp_path / depth2_trace.name
    cut.write_text("".join(lines[: len(lines) // 2]) + lines[len(lines) // 2][:40], encoding="utf-8")
    server = serve(tmp_path)
    _open(browser, server.url_for(cut))
    assert "has not ended" in _text(browser, "#not-ended")
    assert "running" in _text(browser, "#summary") and "no end" in _text(browser, '[data-node="0"] > .head')
    _open(browser, server.url)
    assert "running" in _text(browser, ".trace-list tbody tr")


def test_search_reaches_a_sub_call_in_a_closed_list(
    browser: Any, serve: Any, make_many_subcalls: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    trace = make_many_subcalls(tmp_path, cells=5, per_cell=30)  # lists of more than 20 rows start closed
    server = serve(tmp_path)
    _open(browser, server.url_for(trace))
    browser.find_element("id", "search").send_keys("item 29", Keys.ENTER)
    WebDriverWait(browser, 10).until(lambda d: d.find_element("id", "search-count").text.startswith("5 matches"))
    hits = browser.find_elements("css selector", "#results a.hit")
    hits[-1].click()
    row = browser.find_element("css selector", '[data-cell="0/c5"] .subcall.open')
    assert row.find_element("tag name", "mark").text == "item 29"


def test_the_self_contained_page_needs_no_server(browser: Any, depth2_trace: Path, tmp_path: Path) -> None:
    from rlmx.cli import main

    target = tmp_path / "run.html"
    assert main(["view", str(depth2_trace), "--html", str(target)]) == 0
    _open(browser, target.as_uri())
    assert "What is the code of section A?" in _text(browser, "#summary .qtext")
    assert "1 failed sub-call" in _text(browser, "#issues")


def test_the_self_contained_page_with_javascript_off_says_so(browser: Any, depth2_trace: Path, tmp_path: Path) -> None:
    # It said "Loading the trace…" for ever. (`browser` only to skip or fail as the others do without Chromium.)
    from rlmx.cli import main

    target = tmp_path / "run.html"
    assert main(["view", str(depth2_trace), "--html", str(target)]) == 0
    driver = _chrome(javascript=False)
    try:
        driver.get(target.as_uri())
        shown = _text(driver, "main")
    finally:
        driver.quit()
    assert "JavaScript, which is off" in shown and "Loading" not in shown


def test_the_picker_fits_a_phones_width(browser: Any, serve: Any, every_event_traces: list[Path]) -> None:
    # At 375 px the table was 584 px wide: the session, time and size columns were off screen
    server = serve(every_event_traces[-1].parent)
    browser.set_window_size(375, 800)
    try:
        _open(browser, server.url)
        width, seen = browser.execute_script(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        row = browser.find_elements("css selector", ".trace-list tbody tr")[0]
        assert width <= seen and "KB" in row.text
    finally:
        browser.set_window_size(1360, 1000)


def test_a_cancelled_run_shows_the_turns_it_ran(browser: Any, serve: Any, tmp_path: Path) -> None:
    """A run cut short (Ctrl-C) counts the turn it was in; traces written before rlmx recorded that say 0, and
    the page then counts the turns the trace shows."""
    import asyncio

    from rlmx import RLM
    from rlmx.lm import ScriptedLM

    cell = "```repl\nprint(llm_query('a'))\nimport time\ntime.sleep(60)\n```"
    rlm = RLM(ScriptedLM(["```repl\nx = 1\n```", cell, "one"]), trace_dir=tmp_path)

    async def cancelled() -> None:
        run = asyncio.create_task(rlm.acompletion("q", context="abc"))
        while not any("subcall_end" in p.read_text() for p in tmp_path.glob("*.jsonl")):
            await asyncio.sleep(0.02)
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run

    asyncio.run(asyncio.wait_for(cancelled(), 60))
    (trace,) = tmp_path.glob("*.jsonl")
    _open(browser, serve(tmp_path).url_for(trace))
    assert _text(browser, '[data-stat="turns"] .v') == "2"


def test_a_trace_holding_html_comments_and_template_markers_renders(browser: Any, tmp_path: Path) -> None:
    from rlmx.viewer import page

    query = "What does <!-- <script>alert(1)</script> --> say? /*JS*/"
    target = tmp_path / "odd.html"
    target.write_text(page(events=[{"type": "run_start", "t": 0, "query": query, "node": "0"}]), "utf-8")
    _open(browser, target.as_uri())
    assert "<!-- <script>alert(1)</script> -->" in _text(browser, "#summary .qtext")


# --- audit 21: redacted copies, direction controls, search after case-changing letters, names in URLs ----------


def _run_trace(tmp_path: Path, query: str, replies: list[str], **options: Any) -> Path:
    from rlmx import RLM
    from rlmx.lm import ScriptedLM

    RLM(ScriptedLM(replies), trace_dir=tmp_path, **options).completion(query, context="abc")
    return max(tmp_path.glob("*.jsonl"), key=lambda p: p.stat().st_mtime)


def test_a_redacted_copy_shows_placeholders_and_its_boxes_open(browser: Any, serve: Any, tmp_path: Path) -> None:
    # Every text of a `rlmx traces --redact` copy read "[object Object]", and "what the model was sent" threw.
    import json

    from rlmx.events import redact_event

    trace = _run_trace(
        tmp_path, "the secret question", ["```repl\nprint('hidden output')\n```", "```repl\nFINAL('x')\n```"]
    )
    copy = tmp_path / "shared" / "copy.redacted.jsonl"
    copy.parent.mkdir()
    copy.write_text(
        "".join(json.dumps(redact_event(json.loads(line))) + "\n" for line in trace.read_text("utf-8").splitlines()),
        "utf-8",
    )
    browser.get_log("browser")  # what earlier tests left in the log
    _open(browser, serve(copy.parent).url_for(copy))
    assert "redacted:" in _text(browser, "#summary .qtext") and "secret" not in browser.page_source
    assert "[object Object]" not in _text(browser, "main")
    browser.execute_script("document.querySelector('.small-box > .head').click()")  # what the model was sent
    assert "redacted:" in _text(browser, ".small-box.open .body")
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def test_direction_controls_in_code_are_shown_and_search_marks_the_term(
    browser: Any, serve: Any, tmp_path: Path
) -> None:
    # Trojan Source (CVE-2021-42574): the cell that ran one branch read as another. And after "İ" (two units lower
    # cased) the search marked the wrong letters.
    code = (
        'level = "user"\nif level != "user\u202e \u2066# admin\u2069 \u2066":\n    print("İstanbul İİ: secret-token")'
    )
    trace = _run_trace(tmp_path, "q", [f"```repl\n{code}\n```", "```repl\nFINAL('x')\n```"])
    _open(browser, serve(tmp_path).url_for(trace))
    _head(browser, '[data-cell="0/c1"]').click()
    assert "<U+202E>" in browser.find_element("css selector", '[data-cell="0/c1"] pre.code').text
    from selenium.webdriver.support.ui import WebDriverWait

    browser.find_element("id", "search").send_keys("secret")
    WebDriverWait(browser, 10).until(lambda d: d.find_elements("css selector", "#results a.hit"))
    browser.execute_script("document.querySelector('#results a.hit').click()")
    marks = browser.find_elements("css selector", "#tree mark")
    assert marks and {m.text for m in marks} == {"secret"}


def test_the_url_of_a_trace_whose_name_holds_url_characters_opens_it(browser: Any, serve: Any, tmp_path: Path) -> None:
    trace = _run_trace(tmp_path / "runs", "the plus question", ["```repl\nFINAL('x')\n```"])
    named = trace.with_name("run+retry #2 (1).jsonl")
    trace.rename(named)
    url = serve(named.parent).url_for(named)
    assert " " not in url and "#" not in url.split("?", 1)[1]
    _open(browser, url)
    assert "the plus question" in _text(browser, "#summary .qtext")


# --- audit 22: search over canonically equivalent text, snippets of whole characters ------------------------------


def _outputs_found(driver: Any, term: str) -> list[str]:
    """Puts `term` in the search box code point for code point (as a keyboard or a paste gives it) and returns the
    cell outputs the results list (e.g. "cell 0/c1 output")."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.execute_script(
        "const box = document.getElementById('search'); box.value = arguments[0];"
        "box.dispatchEvent(new Event('input'));",
        term,
    )
    counted = (
        "const c = document.getElementById('search-count'); return c && c.textContent.endsWith(`“${arguments[0]}”`)"
    )
    WebDriverWait(driver, 10).until(lambda d: d.execute_script(counted, term))
    wheres = driver.execute_script(
        "return [...document.querySelectorAll('#results a.hit .where')].map((w) => w.textContent)"
    )
    return [where for where in wheres if where.endswith(" output")]


def _follow_hit(driver: Any, where: str) -> list[str]:
    """Follows the search result found in `where` (e.g. "cell 0/c1 output") and returns the texts the page marked."""
    script = (
        "const hit = [...document.querySelectorAll('#results a.hit')]"
        ".find((a) => a.querySelector('.where').textContent === arguments[0]);"
        "hit.click(); return [...document.querySelectorAll('#tree mark')].map((m) => m.textContent);"
    )
    return list(driver.execute_script(script, where))


def _printing(text: str) -> str:
    """A reply whose cell prints `text`, written in ASCII escapes: the reply and the code do not hold the text."""
    return f"```repl\nprint('{text.encode('ascii', 'backslashreplace').decode()}')\n```"


def test_search_finds_and_marks_canonically_equivalent_text(browser: Any, serve: Any, tmp_path: Path) -> None:
    # Text printed decomposed (NFD: "e" + U+0301, as macOS file names are) was not found by the same word typed on a
    # keyboard (NFC: U+00E9), though the page shows both the same. The cells print through escapes, so only their
    # outputs hold the words.
    nfd = unicodedata.normalize("NFD", "Résumé of café owners, 한국")
    nfc = unicodedata.normalize("NFC", "naïve café menu")
    assert nfd != unicodedata.normalize("NFC", nfd)
    trace = _run_trace(tmp_path, "q", [*(_printing(text) for text in (nfd, nfc)), "```repl\nFINAL('x')\n```"])
    _open(browser, serve(tmp_path).url_for(trace))

    both, first, second = ["cell 0/c1 output", "cell 0/c2 output"], ["cell 0/c1 output"], ["cell 0/c2 output"]
    for form in ("NFC", "NFD"):
        assert _outputs_found(browser, unicodedata.normalize(form, "café")) == both, form
        assert _outputs_found(browser, unicodedata.normalize(form, "CAFÉ")) == both, form  # and whatever the case
        assert _outputs_found(browser, unicodedata.normalize(form, "résumé")) == first, form
        assert _outputs_found(browser, unicodedata.normalize(form, "한국")) == first, form  # Hangul as jamo
        assert _outputs_found(browser, unicodedata.normalize(form, "naïve")) == second, form
    # A hit is whole characters: "cafe" is not "café", in either form.
    assert _outputs_found(browser, "cafe") == []

    # The page marks the text it shows, as it was printed, not a normalised copy.
    _outputs_found(browser, unicodedata.normalize("NFC", "café"))
    assert _follow_hit(browser, "cell 0/c1 output") == [unicodedata.normalize("NFD", "café")]
    output = '[data-cell="0/c1"] pre.output'
    assert browser.execute_script(f"return document.querySelector('{output}').textContent") == nfd
    _outputs_found(browser, "of café")  # across the text the last mark split
    assert _follow_hit(browser, "cell 0/c1 output") == [unicodedata.normalize("NFD", "of café")]
    _outputs_found(browser, unicodedata.normalize("NFD", "naïve café"))
    assert _follow_hit(browser, "cell 0/c2 output") == [unicodedata.normalize("NFC", "naïve café")]


def test_a_search_result_shows_whole_characters(browser: Any, serve: Any, tmp_path: Path) -> None:
    # The result line shows 40 UTF-16 units before the hit and 60 after. Before it, the cut fell inside an emoji
    # (half a surrogate pair, shown as U+FFFD); after it, between a letter and its accent ("é" shown as "e").
    before, after = "\U0001f600" * 30 + "xy ", " " + "e\u0301" * 40
    units_before = len(before.encode("utf-16-le")) // 2
    assert (units_before - 40) % 2 == 1 and after[60] == "\u0301"  # the cuts: inside an emoji, before an accent
    trace = _run_trace(tmp_path, "q", [_printing(before + "needle" + after), "```repl\nFINAL('x')\n```"])
    _open(browser, serve(tmp_path).url_for(trace))

    assert _outputs_found(browser, "needle") == ["cell 0/c1 output"]
    # As code points: WebDriver cannot return a string that holds half a pair.
    parts = browser.execute_script(
        "const hit = [...document.querySelectorAll('#results a.hit')].pop();"  # the output's: after reply and code
        "return [...hit.childNodes].slice(1).map((n) => Array.from(n.textContent, (c) => c.codePointAt(0)))"
    )
    _, ellipsis, start, mark, end = ("".join(map(chr, part)) for part in parts)
    assert ellipsis == "…" and mark == "needle"
    assert start and before.endswith(start) and start.startswith("\U0001f600")
    assert end and after.startswith(end) and end.endswith("\u0301")


def test_texts_shortened_to_one_line_end_on_whole_characters(browser: Any, serve: Any, tmp_path: Path) -> None:
    # The cut backed off only from half a surrogate pair and from a combining mark: a question of flags was listed
    # ending with a lone letter-box, a family as one person and a dangling joiner, a rainbow flag as a white flag.
    units = ["\U0001f1fa\U0001f1f8", "\U0001f468\u200d\U0001f469\u200d\U0001f467", "\U0001f3f3\ufe0f\u200d\U0001f308"]
    queries = ["x" * pad + unit * 80 for unit in [*units, "e\u0301"] for pad in range(len(unit) + 1)]
    traces = {query: _run_trace(tmp_path, query, ["```repl\nFINAL('x')\n```"]) for query in queries}
    server = serve(tmp_path)
    _open(browser, server.url)
    listed = browser.execute_script(
        "return [...document.querySelectorAll('.trace-list td.qcell a')].map((a) => a.textContent)"
    )
    assert len(listed) == len(queries)
    for shown in listed:
        body = shown.removesuffix("…")
        assert body != shown and any(q.startswith(body) for q in queries), shown
        unit = next(u for u in [*units, "e\u0301"] if u in body)
        run = body.lstrip("x")
        assert run == unit * (len(run) // len(unit)), (unit, run[-6:])
    _open(browser, server.url_for(traces["x" + units[0] * 80]))  # cut at 59 UTF-16 units: inside the 15th flag
    title = browser.execute_script("return document.title").removeprefix("rlmx · ").removesuffix("…")
    run = title.lstrip("x")
    assert run and run == units[0] * (len(run) // 2), title[-6:]


def test_the_cost_of_a_run_with_an_unpriced_call_is_the_priced_part_and_says_so(
    browser: Any, serve: Any, depth2_trace: Path, tmp_path: Path
) -> None:
    """A run's usage says cost_usd null when a call had no price (the priced part is priced_cost_usd)."""
    import json

    lines = depth2_trace.read_text(encoding="utf-8").splitlines()
    end = json.loads(lines[-1])
    assert end["type"] == "run_end"
    end["usage"].update(cost_usd=None, priced_cost_usd=0.0123, unpriced_calls=1)
    trace = tmp_path / depth2_trace.name
    trace.write_text("\n".join([*lines[:-1], json.dumps(end)]) + "\n", encoding="utf-8")
    _open(browser, serve(tmp_path).url_for(trace))
    assert _text(browser, '[data-stat="cost"] .v') == "$0.0123 + unpriced"


# --- audit 33: the directions of user text, tiny costs ----------------------------------------------------------


def _in_order(driver: Any, css: str, part: str) -> bool:
    """True when each character of `part` (inside the text of the element `css`) is drawn just right of the one
    before (no other text drawn between them)."""
    xs = driver.execute_script(
        """
        const [css, part] = arguments, el = document.querySelector(css);
        const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT), xs = [];
        for (let t = walker.nextNode(); t; t = walker.nextNode())
          for (let k = 0; k < t.length; k++) {
            const r = document.createRange(); r.setStart(t, k); r.setEnd(t, k + 1);
            xs.push([t.nodeValue[k], r.getBoundingClientRect().left]);
          }
        const text = xs.map((x) => x[0]).join(""), at = text.indexOf(part);
        return at < 0 ? null : xs.slice(at, at + part.length).map((x) => x[1]);
        """,
        css,
        part,
    )
    return xs is not None and all(0 < b - a < 20 for a, b in itertools.pairwise(xs))


def test_a_right_to_left_file_name_keeps_its_run_id_in_one_piece(browser: Any, serve: Any, tmp_path: Path) -> None:
    trace = _run_trace(tmp_path, "שאלה?", ["```repl\nFINAL('x')\n```"])
    named = trace.with_name(f"מסמך-{trace.name[:16]}12ab34cd56ef.jsonl")  # a run id that starts with digits
    trace.rename(named)
    _open(browser, serve(tmp_path).url_for(named))
    assert named.name in _text(browser, "#nav")
    assert _in_order(browser, "#nav", "12ab34cd56ef.jsonl")


def test_the_code_cell_marker_in_right_to_left_model_text_is_not_mirrored(
    browser: Any, serve: Any, tmp_path: Path
) -> None:
    trace = _run_trace(tmp_path, "q", ["אני חושב שכך:\n```repl\nFINAL('x')\n```\nוזהו"])
    _open(browser, serve(tmp_path).url_for(trace))
    assert "⟨code cell⟩" in _text(browser, ".model-text pre")
    # Its brackets took the prose's direction and were drawn mirrored ("⟩code cell⟨") in place: no position shows
    # that, so the test asks for the left-to-right isolate (U+2066 ... U+2069) around it.
    shown = browser.execute_script("return document.querySelector('.model-text pre').textContent")
    assert "\u2066⟨code cell⟩\u2069" in shown
    assert _in_order(browser, ".model-text pre", "⟨code cell⟩")


def test_a_tiny_cost_reads_as_its_amount_not_as_zero(
    browser: Any, serve: Any, depth2_trace: Path, tmp_path: Path
) -> None:
    import json

    lines = depth2_trace.read_text(encoding="utf-8").splitlines()
    end = json.loads(lines[-1])
    end["usage"].update(cost_usd=4.5e-06, priced_cost_usd=4.5e-06, unpriced_calls=0)
    for cost, shown in ((4.5e-06, "$0.0000045"), (3e-08, "<$0.000001"), (0.0123, "$0.0123"), (0, "$0")):
        end["usage"].update(cost_usd=cost, priced_cost_usd=cost)
        trace = tmp_path / f"{cost}" / depth2_trace.name
        trace.parent.mkdir()
        trace.write_text("\n".join([*lines[:-1], json.dumps(end)]) + "\n", encoding="utf-8")
        _open(browser, serve(trace.parent).url_for(trace))
        assert _text(browser, '[data-stat="cost"] .v') == shown


# --- audit 34: one money rule on both sides; the printed URL inside another site's frame ----------------------------


def test_the_page_formats_money_as_the_terminal_does(browser: Any, serve: Any, depth2_trace: Path) -> None:
    """The page's fmtUsd and rlmx.progress.format_usd are one rule written twice: the same text for every amount."""
    from rlmx.progress import format_usd

    amounts = [0, 3e-08, 9.99e-07, 1e-06, 4.5e-06, 0.00012345, 0.005, 0.0099999, 0.0123, 0.0625, 0.0104, 2.5, 1234.5675]
    _open(browser, serve(depth2_trace.parent).url_for(depth2_trace))
    assert browser.execute_script("return arguments[0].map(fmtUsd)", amounts) == [format_usd(a) for a in amounts]


def test_the_printed_url_shows_the_trace_inside_a_frame_on_another_site(
    browser: Any, serve: Any, depth2_trace: Path, tmp_path: Path
) -> None:
    """Jupyter's IFrame(url) puts the page in a frame of a page from localhost: the browser sends that frame no
    SameSite=Strict cookie, so the page's own fetches and links must carry the token it was loaded with."""
    import http.server
    import threading
    from html import escape

    viewer = serve(depth2_trace.parent)
    host = tmp_path / "host"
    host.mkdir()
    (host / "index.html").write_text(f'<iframe id="f" src="{escape(viewer.url_for(depth2_trace))}"></iframe>')

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(host), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    outer = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=outer.serve_forever, daemon=True).start()
    try:
        browser.delete_all_cookies()
        browser.get(f"http://localhost:{outer.server_address[1]}/")  # another site than 127.0.0.1
        browser.switch_to.frame(browser.find_element("id", "f"))
        from selenium.webdriver.support.ui import WebDriverWait

        ready = WebDriverWait(browser, PAGE_LIMIT_S)
        ready.until(lambda d: d.find_element("tag name", "body").get_attribute("data-ready"))
        assert browser.find_element("tag name", "body").get_attribute("data-ready") == "1", _text(browser, "main")
        browser.find_element("link text", "all traces").click()  # a link of the page keeps the token too
        WebDriverWait(browser, PAGE_LIMIT_S).until(lambda d: d.find_elements("css selector", "table.trace-list"))
    finally:
        browser.switch_to.default_content()
        outer.shutdown()
        outer.server_close()
