"""DOCX (Word): the document's text, paragraphs and table rows in order (python-docx; the `docx` extra)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from rlmx.documents import Document, register
from rlmx.errors import InputError
from rlmx.extras import missing_extra


@register(".docx")
def load_docx(path: Path, raw: bytes) -> Document:
    """A str: paragraphs one per line, table rows as cells joined by " | ". InputError when python-docx is
    missing or the file is not a readable DOCX."""
    try:
        import docx
    except ImportError:
        raise InputError(f"context file {path} is a DOCX: " + missing_extra("reading it", "docx")) from None
    try:
        document: Any = docx.Document(io.BytesIO(raw))
    except Exception as exc:  # also python-docx's and lxml's own
        raise InputError(f"context file {path} is not a readable DOCX ({type(exc).__name__}: {exc})") from None
    lines: list[str] = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:
        lines += [" | ".join(cell.text for cell in row.cells) for row in table.rows]
    text = "\n".join(lines)
    return Document(text, f"Word document, {len(document.paragraphs):,} paragraphs, {len(text):,} characters")
