"""`rlmx traces` and `rlmx view` through the real CLI entry point, and the viewer's HTTP routes."""

from __future__ import annotations

import html
import http.cookiejar
import json
import os
import re
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rlmx.cli import main
from rlmx.viewer import page
from rlmx.viewer.server import ViewerServer
from rlmx.viewer.store import list_traces


@pytest.fixture()
def folder(tmp_path: Path, depth2_trace: Path, every_event_traces: list[Path]) -> Path:
    """A traces folder: five traces with known ages (the newest first), plus files that are not traces."""
    target = tmp_path / "traces"
    target.mkdir()
    now = time.time()
    sources = [depth2_trace, *every_event_traces[1:5]]
    for age_days, source in enumerate(sources):
        copy = target / source.name
        shutil.copy(source, copy)
        os.utime(copy, (now - age_days * 86_400 - 60, now - age_days * 86_400 - 60))
    (target / "notes.jsonl").write_text('{"not": "a trace"}\n')
    (target / "readme.txt").write_text("keep me")
    return target


def test_traces_lists_the_newest_first(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["traces", "--trace-dir", str(folder), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert len(listed) == 5 and listed[0]["query"] == "What is the code of section A?"
    assert listed[0]["status"] == "budget_exhausted" and listed[0]["seconds"] > 0
    assert [t["modified"] for t in listed] == sorted((t["modified"] for t in listed), reverse=True)
    assert main(["traces", "--trace-dir", str(folder)]) == 0
    shown = capsys.readouterr()
    assert "What is the code of section A?" in shown.out + shown.err and "5 traces" in shown.out + shown.err


def test_prune_shows_first_and_deletes_only_traces(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["traces", "--trace-dir", str(folder), "--keep", "2"]) == 0
    assert "3 of 5 traces" in capsys.readouterr().err and len(list_traces(folder)) == 5
    assert main(["traces", "--trace-dir", str(folder), "--older-than", "2.5", "--prune"]) == 0
    assert len(list_traces(folder)) == 3  # ages 0, 1 and 2 days stay
    assert main(["traces", "--trace-dir", str(folder), "--keep", "1", "--prune"]) == 0
    left = list_traces(folder)
    assert [t.query for t in left] == ["What is the code of section A?"]
    assert (folder / "notes.jsonl").exists() and (folder / "readme.txt").exists()


def test_bad_requests_are_clear_errors(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["traces", "--trace-dir", str(folder), "--prune"]) == 2
    assert "--prune needs --keep N or --older-than DAYS" in capsys.readouterr().err
    assert main(["traces", "--keep", "-1"]) == 2
    assert main(["view", "--trace-dir", str(folder), "9"]) == 2
    assert "there is no trace number 9: 5 trace(s)" in capsys.readouterr().err
    assert main(["view", str(folder / "readme.txt")]) == 2
    assert "is not an rlmx trace" in capsys.readouterr().err
    assert main(["view", "--trace-dir", str(folder / "empty"), "--port", "0"]) == 2
    assert "no traces in" in capsys.readouterr().err


def test_redact_writes_a_copy_without_text(
    folder: Path, depth2_trace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = folder / depth2_trace.name
    listed_before = [t.name for t in list_traces(folder)]
    monkeypatch.chdir(tmp_path)
    assert main(["traces", "--redact", str(source)]) == 0
    copy = tmp_path / (source.stem + ".redacted.jsonl")  # beside the user, not in the trace folder
    assert [t.name for t in list_traces(folder)] == listed_before
    (folder / copy.name).write_bytes(copy.read_bytes())  # a copy moved into the folder is still not a run
    assert [t.name for t in list_traces(folder)] == listed_before
    text = copy.read_text(encoding="utf-8")
    assert "section A" not in text and "overloaded" not in text
    assert len(text.splitlines()) == len(source.read_text(encoding="utf-8").splitlines())
    assert "section A" in source.read_text(encoding="utf-8")  # the original is untouched


def test_view_html_writes_a_page_holding_the_trace(depth2_trace: Path, tmp_path: Path) -> None:
    target = tmp_path / "run.html"
    assert main(["view", str(depth2_trace), "--html", str(target)]) == 0
    html = target.read_text(encoding="utf-8")
    assert html.count("<script") == 2 and "const KNOWN_EVENTS" in html and "section B" in html


def test_a_script_tag_in_a_trace_cannot_end_the_page_script() -> None:
    html = page(events=[{"type": "run_start", "query": "</script><script>alert(1)</script>"}])
    assert "</script><script>alert(1)" not in html and html.count("</script>") == 2


@pytest.fixture()
def server(folder: Path) -> Iterator[ViewerServer]:
    running = ViewerServer(folder)
    running.start()
    assert _get(running.url)[0] == 200  # as a browser does: the printed URL's token becomes the page's cookie
    yield running
    running.shutdown()
    running.server_close()


_BROWSER = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
"""Keeps the cookies servers set, as a browser does (one per viewer's port)."""


def _get(url: str, opener: urllib.request.OpenerDirector = _BROWSER, **headers: str) -> tuple[int, str, Any]:
    try:
        with opener.open(urllib.request.Request(url, headers=headers), timeout=10) as response:
            body = response.read().decode("utf-8")
            return response.status, response.headers["Content-Type"], body
    except urllib.error.HTTPError as exc:
        with exc:  # an HTTPError holds the open response
            return exc.code, exc.headers["Content-Type"], exc.read().decode("utf-8")


def test_the_server_serves_the_page_the_list_and_traces_only(server: ViewerServer, folder: Path) -> None:
    status, kind, body = _get(server.url)
    assert status == 200 and kind.startswith("text/html") and "rlmx-config" in body
    status, _, body = _get(server.address + "api/traces")
    names = [t["name"] for t in json.loads(body)]
    assert status == 200 and len(names) == 5 and "notes.jsonl" not in names
    status, _, body = _get(server.address + "api/traces/" + names[0])
    assert status == 200 and json.loads(body)[0]["type"] == "run_start"
    for bad in ("notes.jsonl", "readme.txt", "..%2Ftraces%2F" + names[0], "%2Fetc%2Fpasswd", "nothing.jsonl"):
        status, _, body = _get(server.address + "api/traces/" + bad)
        assert status == 404, bad
        assert "no trace named" in json.loads(body)["error"]


def test_only_the_printed_urls_token_opens_the_page_and_the_traces(server: ViewerServer, folder: Path) -> None:
    """Another local process (a sandboxed cell of the default tier can reach 127.0.0.1) gets no page, no list and
    no trace without this launch's token; with it, in the URL, a header or the cookie the page set, it does."""
    stranger = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    name = sorted(folder.glob("*.jsonl"))[0].name
    other = ViewerServer(folder)
    try:
        for path in ("", "index.html", "api/traces", "api/traces/" + name, "api/traces/nothing.jsonl"):
            for query in ("", "?token=", "?token=" + server.token[:-1], "?token=" + other.token):
                status, _, body = _get(server.address + path + query, stranger)
                assert status == 403 and "rlmx view" in json.loads(body)["error"] and "run_start" not in body
            assert _get(server.address + path, stranger, Cookie=f"{server.cookie_name}={other.token}")[0] == 403
            assert _get(server.address + path, stranger, Authorization="token nope")[0] == 403
        assert _get(server.address + "api/traces/" + name + "?token=" + server.token, stranger)[0] == 200
        assert _get(server.address + "api/traces", stranger, Authorization="token " + server.token)[0] == 200
    finally:
        other.server_close()
    with stranger.open(server.url_for(folder / name), timeout=10) as response:
        cookie = response.headers["Set-Cookie"]
    assert cookie == f"{server.cookie_name}={server.token}; Path=/; HttpOnly; SameSite=Strict"
    assert _get(server.address + "api/traces/" + name, stranger)[0] == 200  # the page's own fetches: the cookie
    assert server.token != other.token and len(server.token) >= 32


def _odd_trace(folder: Path) -> Path:
    """A trace whose query holds a JSON-escaped lone surrogate and whose answer holds a byte that is not UTF-8."""
    folder.mkdir(parents=True, exist_ok=True)
    trace = folder / "odd.jsonl"
    start = '{"v": "rlmx.trace/1", "type": "run_start", "run_id": "r1", "query": "caf\\ud83d \\u00e9", "ts": 1}'
    end = b'{"type": "run_end", "run_id": "r1", "status": "finished", "answer": "caf\xe9", "seconds": 1.0}'
    trace.write_bytes(start.encode() + b"\n" + end + b"\n")
    return trace


def test_a_trace_with_a_bad_byte_or_a_lone_surrogate_is_listed_and_rendered(tmp_path: Path) -> None:
    trace = _odd_trace(tmp_path / "traces")
    (listed,) = list_traces(trace.parent)
    assert listed.status == "finished"
    target = tmp_path / "odd.html"
    assert main(["view", str(trace), "--html", str(target)]) == 0
    assert target.stat().st_size > 0


def test_a_trace_whose_file_name_is_not_utf8_is_listed_and_opened(server: ViewerServer, folder: Path) -> None:
    first = sorted(folder.glob("*.jsonl"))[0]
    odd = Path(os.fsdecode(bytes(folder) + b"/run-caf\xe9.jsonl"))
    shutil.copy(first, odd)
    status, _, body = _get(server.address + "api/traces")
    names = [t["name"] for t in json.loads(body)]
    assert "run-caf\\udce9.jsonl" in names  # the same text wherever it is shown
    status, _, body = _get(server.address + "api/traces/" + urllib.parse.quote("run-caf\\udce9.jsonl"))
    assert status == 200 and json.loads(body)[0]["type"] == "run_start"
    assert _get(server.address + "api/traces/" + urllib.parse.quote("..\\etc"))[0] == 404


def test_html_comment_openers_and_template_markers_in_a_trace_are_data() -> None:
    # "<!--" and a later "<script" put the HTML parser in a state where the config's "</script>" no longer ends it,
    # and a "/*JS*/" printed by a cell was replaced by the viewer's script: either left a blank page.
    query = "scraped: <!-- <script>x = 1</script> --> and /*JS*/ /*CSS*/ /*CONFIG*/"
    html = page(events=[{"type": "run_start", "query": query}])
    config = html.split('type="application/json">', 1)[1].split("</script>", 1)[0]
    assert "<" not in config and json.loads(config)["events"][0]["query"] == query
    assert html.count("</script>") == 2 and html.count("function") == page().count("function")


def test_prune_never_deletes_the_trace_of_a_run_still_going(
    tmp_path: Path, depth2_trace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A run inside a long cell stops writing its trace, so newer runs push it past --keep (and past --older-than):
    # deleting it lost the run's whole record. One that died without its run_end a while ago may go.
    from rlmx.viewer.store import ABANDONED_AFTER_SECONDS

    folder = tmp_path / "traces"
    folder.mkdir()
    unended = "".join(depth2_trace.read_text("utf-8").splitlines(keepends=True)[:-1])
    now = time.time()
    ages = {"20260101-000000-aaaaaaaaaaaa": 60, "20260101-000000-bbbbbbbbbbbb": 3_600}
    ages["20260101-000000-cccccccccccc"] = ABANDONED_AFTER_SECONDS + 3_600
    for stem, age in ages.items():
        text = depth2_trace.read_text("utf-8") if stem.endswith("a") else unended
        (folder / f"{stem}.jsonl").write_text(text, "utf-8")
        os.utime(folder / f"{stem}.jsonl", (now - age, now - age))
    going, died = folder / "20260101-000000-bbbbbbbbbbbb.jsonl", folder / "20260101-000000-cccccccccccc.jsonl"

    assert main(["traces", "--trace-dir", str(folder), "--older-than", "0.01"]) == 0
    shown = capsys.readouterr()  # the list is the answer (stdout), the guard's note a diagnostic (stderr)
    assert f"keeping {going.name}" in shown.err and "still going" in shown.err
    assert f"would delete {going.name}" not in shown.out and f"would delete {died.name}" in shown.out
    assert main(["traces", "--trace-dir", str(folder), "--keep", "1", "--prune"]) == 0
    assert going.exists() and not died.exists()
    assert main(["traces", "--trace-dir", str(folder), "--older-than", "0.01", "--prune"]) == 0
    assert going.exists()


def test_a_trace_ending_in_a_line_longer_than_any_read_window_is_listed_finished(tmp_path: Path) -> None:
    """The status comes from the whole last line, however long (a trace an older rlmx wrote with a large FINAL
    value): a finished run must not be listed, nor kept by the prune guard, as a run still going."""
    folder = tmp_path / "traces"
    folder.mkdir()
    start = {"v": "rlmx.trace/1", "type": "run_start", "run_id": "r1", "query": "rows", "ts": 1}
    rows = [{"id": i, "name": f"row {i}"} for i in range(20_000)]  # about 600 KB on one line
    end = {"type": "run_end", "run_id": "r1", "status": "finished", "value": rows, "seconds": 2.0}
    for blank in ("", "\n\n"):
        trace = folder / "20260101-000000-r1.jsonl"
        trace.write_text(f"{json.dumps(start)}\n{json.dumps(end)}\n{blank}", encoding="utf-8")
        (info,) = list_traces(folder)
        assert (info.status, info.seconds, info.is_live(time.time())) == ("finished", 2.0, False)
    trace.write_text(f"{json.dumps(start)}\n{json.dumps(end)[:-300_000]}", encoding="utf-8")  # still being written
    assert list_traces(folder)[0].status == "running"


def test_the_page_is_sent_with_no_referrer_policy(server: ViewerServer, folder: Path) -> None:
    """The page's URL carries the launch token: no link or request of the page may pass it on as a Referer."""
    name = sorted(folder.glob("*.jsonl"))[0].name
    with urllib.request.urlopen(server.url_for(folder / name), timeout=10) as response:
        assert response.headers["Referrer-Policy"] == "no-referrer"


def test_open_starts_the_browser_on_a_private_redirect_page_never_on_the_token(
    folder: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A browser keeps the URL it was started with in its argv, which any process (a default-tier cell too) reads in
    /proc/<pid>/cmdline: `--open` hands it a local page that leads to the tokenised URL instead. That page is its
    owner's alone and goes when the viewer stops; the printed URL still carries the token for the user."""
    opened: list[tuple[str, str, int, int]] = []

    def browser(address: str) -> bool:
        page_file = Path(urllib.request.url2pathname(urllib.parse.urlsplit(address).path))
        modes = (page_file.stat().st_mode & 0o777, page_file.parent.stat().st_mode & 0o777)
        opened.append((address, page_file.read_text(), *modes))
        raise KeyboardInterrupt  # the user stops the viewer at once

    monkeypatch.setattr("rlmx.commands.view.webbrowser.open", browser)
    assert main(["view", "--trace-dir", str(folder), "1", "--port", "0", "--open"]) == 130
    printed = re.search(r"http://\S+\?\S*token=[\w-]+", capsys.readouterr().err)
    assert printed is not None
    [(address, text, file_mode, folder_mode)] = opened
    token = printed.group(0).rpartition("token=")[2]
    assert address.startswith("file://") and token not in address
    assert token in text and html.escape(printed.group(0)) in text
    assert (file_mode, folder_mode) == (0o600, 0o700)
    assert not Path(urllib.request.url2pathname(urllib.parse.urlsplit(address).path)).parent.exists()
