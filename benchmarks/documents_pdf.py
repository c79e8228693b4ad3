"""How fast rlmx loads PDFs as context (pypdf, text per page): a generated 60-page and 500-page PDF.

.venv/bin/python benchmarks/documents_pdf.py   # writes benchmarks/results/documents_pdf.json
"""

from __future__ import annotations

import json
import platform
import tempfile
import time
from pathlib import Path

import fpdf
import pypdf

from rlmx.context import prepare

LINES = [
    f"Clause {i}: the parties agree that the fee schedule in annex {i % 7} applies to item {i}." for i in range(30)
]


def write(path: Path, pages: int) -> None:
    document = fpdf.FPDF()
    document.set_font("Helvetica", size=10)
    for page in range(1, pages + 1):
        document.add_page()
        document.multi_cell(0, 6, f"Page {page}\n" + "\n".join(LINES))
    document.output(str(path))


def main() -> None:
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for pages in (60, 500):
            path = Path(folder) / f"doc{pages}.pdf"
            write(path, pages)
            started = time.perf_counter()
            loaded = prepare("context", path)
            seconds = time.perf_counter() - started
            results.append(
                {
                    "pages": pages,
                    "file_bytes": path.stat().st_size,
                    "text_chars": loaded.chars,
                    "seconds": round(seconds, 3),
                    "ms_per_page": round(1000 * seconds / pages, 2),
                }
            )
            print(results[-1])
    out = Path(__file__).parent / "results" / "documents_pdf.json"
    out.parent.mkdir(exist_ok=True)
    meta = {"pypdf": pypdf.__version__, "python": platform.python_version(), "machine": platform.machine()}
    out.write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
