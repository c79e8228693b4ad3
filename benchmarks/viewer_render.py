"""How fast the trace viewer opens a big trace: a scripted run with 200 cells and 1,000 sub-calls (and one with
5,000), opened in headless Chromium through `rlmx view`'s server. Needs Debian's chromium and chromium-driver.

    python benchmarks/viewer_render.py        # writes benchmarks/results/viewer_render.json

`render_ms` is the page's own count (`window.rlmxRenderMs`): from its script starting to the tree drawn, which
includes fetching and parsing the trace. `open_cell_ms` is opening the last cell (its code, output and rows).
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

from rlmx import RLM, Budget
from rlmx.lm import Message, ScriptedLM
from rlmx.viewer.server import ViewerServer

REPEATS = 3


def scripted_run(folder: Path, cells: int, per_cell: int) -> Path:
    cell = f"```repl\nr = llm_query_batched([f'item {{i}}' for i in range({per_cell})])\nprint(len(r))\n```"
    turns = cells // 5

    def reply(messages: list[Message]) -> str:
        if len(messages) == 1:
            return "ok"
        turn = 1 + sum(m["role"] == "assistant" for m in messages)
        return "\n".join([cell] * 5) if turn <= turns else "FINAL(done)"

    rlm = RLM(ScriptedLM(reply), budget=Budget(max_iterations=turns + 1), trace_dir=folder)
    result = rlm.completion("Check every item.", context="items")
    assert result.trace_path is not None
    return result.trace_path


def measure(driver: webdriver.Chrome, server: ViewerServer, trace: Path, cells: int) -> dict[str, float]:
    driver.get(server.url_for(trace))
    WebDriverWait(driver, 120).until(lambda d: d.find_element("tag name", "body").get_attribute("data-ready"))
    render = float(driver.execute_script("return window.rlmxRenderMs"))
    started = time.perf_counter()
    driver.execute_script(
        "const c = [...window.rlmxRun.nodes.values()][0].cells.get(arguments[0]); c.box.open();"
        "c.subcalls[0].up.box.open();",
        f"0/c{cells}",
    )
    opened = (time.perf_counter() - started) * 1000
    return {"render_ms": render, "open_cell_ms": opened}


def main() -> None:
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path="/usr/bin/chromedriver"), options=options)
    rows = []
    try:
        for cells, per_cell in ((200, 5), (200, 25)):
            with tempfile.TemporaryDirectory() as tmp:
                trace = scripted_run(Path(tmp), cells, per_cell)
                server = ViewerServer(Path(tmp))
                server.start()
                try:
                    runs = [measure(driver, server, trace, cells) for _ in range(REPEATS)]
                finally:
                    server.shutdown()
                    server.server_close()
                rows.append(
                    {
                        "cells": cells,
                        "subcalls": cells * per_cell,
                        "trace_bytes": trace.stat().st_size,
                        "render_ms_median": round(statistics.median(r["render_ms"] for r in runs), 1),
                        "open_cell_ms_median": round(statistics.median(r["open_cell_ms"] for r in runs), 1),
                        "runs": runs,
                    }
                )
                print(rows[-1], file=sys.stderr)
    finally:
        driver.quit()
    result = {
        "benchmark": "viewer_render",
        "machine": f"{platform.machine()}, {platform.python_version()}, chromium headless",
        "note": "a shared 2-core machine, other work running",
        "rows": rows,
    }
    target = Path(__file__).parent / "results" / "viewer_render.json"
    target.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
