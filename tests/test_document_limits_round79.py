"""A document whose text is over a limit says what the reader can do about THAT limit: `rlmx mcp`'s per-call read
and `rlmx serve`'s per-file bound are not raised by `--max-context-bytes`, which the message used to advise."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlmx.documents import load
from rlmx.errors import InputError
from rlmx.mcp import roots as roots_module
from rlmx.mcp.roots import Roots
from rlmx.server import files

fpdf = pytest.importorskip("fpdf", reason="fpdf2 writes the test PDFs (dev extra)")
pytest.importorskip("pypdf", reason="PDF support needs the pdf extra")


def _wordy_pdf(path: Path, pages: int = 6) -> Path:
    document = fpdf.FPDF()
    document.set_font("Helvetica", size=10)
    for number in range(pages):
        document.add_page()
        document.multi_cell(0, 5, "\n".join(f"page {number} line {n}: the quick brown fox jumps" for n in range(40)))
    document.output(str(path))
    return path


def test_mcp_names_its_own_read_bound_not_a_flag_that_cannot_raise_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pdf = _wordy_pdf(tmp_path / "report.pdf")
    monkeypatch.setattr(roots_module, "MAX_BYTES", pdf.stat().st_size + 2000)  # the file fits, its text does not
    with pytest.raises(InputError) as refused:
        Roots([tmp_path.resolve()], "--allow").read([str(pdf)])
    message = str(refused.value)
    assert "rlmx mcp reads at most" in message and "split the document" in message
    assert "--max-context-bytes" not in message.split("rlmx mcp reads")[0]  # not advised as the remedy
    assert "RLM(max_context_bytes" not in message


def test_serve_names_its_per_file_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pdf = _wordy_pdf(tmp_path / "report.pdf")
    monkeypatch.setattr(files, "FILE_TEXT_LIMIT", 2000)
    with pytest.raises(files.FileRefused) as refused:
        files._document(Path("report.pdf"), pdf.read_bytes())
    message = str(refused.value)
    assert "rlmx serve reads at most" in message and "max_context_bytes" not in message


def test_the_python_and_ask_path_still_advise_raising_max_context_bytes(tmp_path: Path) -> None:
    pdf = _wordy_pdf(tmp_path / "report.pdf")
    with pytest.raises(InputError) as refused:
        load(pdf, pdf.stat().st_size + 100)
    assert "RLM(max_context_bytes=...)" in str(refused.value) and "--max-context-bytes" in str(refused.value)
