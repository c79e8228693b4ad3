"""Documents as context: real files of each registered type load as their natural shapes, before any LM call."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rlmx import RLM, InputError
from rlmx.context import prepare
from rlmx.documents import LOADERS, load
from rlmx.lm import ScriptedLM
from scripting import cli_environ, repl

fpdf = pytest.importorskip("fpdf", reason="fpdf2 writes the test PDFs (dev extra)")
pytest.importorskip("pypdf", reason="PDF support needs the pdf extra")

PAGES = 60


def marker(page: int) -> str:
    """Text only page `page` holds."""
    return f"KESTREL-{page * 7919 % 10007:05d}"


def write_pdf(path: Path, pages: int = PAGES, *, text: bool = True, password: str | None = None) -> Path:
    document = fpdf.FPDF()
    document.set_font("Helvetica", size=12)
    for page in range(1, pages + 1):
        document.add_page()
        if text:
            document.multi_cell(0, 8, f"Page {page} of the agreement.\nThe clause code on this page is {marker(page)}.")
        else:
            document.rect(20, 20, 100, 60, style="F")  # a drawing, no text layer: what a scan looks like to pypdf
    if password is not None:
        document.set_encryption(owner_password="owner", user_password=password)
    document.output(str(path))
    return path


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_pdf(tmp_path_factory.mktemp("pdf") / "contract.pdf")


READ_PAGE_52 = repl("import re\nFINAL(re.search(r'KESTREL-\\d+', context[51]).group(0))")


async def test_a_scripted_root_reads_page_52_of_a_real_pdf(contract: Path) -> None:
    lm = ScriptedLM([READ_PAGE_52])
    result = await RLM(lm).acompletion("What is the clause code on page 52?", context=contract)
    assert (result.answer, result.status) == (marker(52), "finished")
    first_prompt = lm.calls[0][1]["content"]
    assert f"PDF, {PAGES} pages" in first_prompt and "contract.pdf" in first_prompt


def test_rlmx_ask_reads_a_pdf_context(contract: Path, tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps([READ_PAGE_52]), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RLMX_"))}
    command = ["ask", "Clause code on page 52?", "--context", str(contract), "--scripted", str(script), "--quiet"]
    proc = subprocess.run(
        [sys.executable, "-m", "rlmx.cli", *command],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**env, "XDG_STATE_HOME": str(tmp_path / "state")},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[0] == marker(52)


def test_a_folder_and_a_list_of_paths_load_as_file_to_pages(contract: Path, tmp_path: Path) -> None:
    folder = tmp_path / "deal"
    folder.mkdir()
    write_pdf(folder / "annex.pdf", pages=3)
    (folder / "notes.md").write_text("# Notes\nsigned", encoding="utf-8")
    (folder / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    write_pdf(folder / "scan.pdf", pages=1, text=False)
    loaded = prepare("context", folder)
    value = json.loads(loaded.data)
    assert value["notes.md"] == "# Notes\nsigned"
    assert len(value["annex.pdf"]) == 3 and marker(2) in value["annex.pdf"][1]
    # In a folder, files that cannot be loaded are skipped and reported (with the reason), as binary files are.
    assert [skipped.split(" (")[0] for skipped in loaded.skipped_files] == ["logo.png", "scan.pdf"]
    assert loaded.skipped_files[0] == "logo.png (binary)" and "no text layer" in loaded.skipped_files[1]
    assert "annex.pdf: PDF, 3 pages" in loaded.describe()
    assert "not loaded: scan.pdf (a PDF with no text layer" in loaded.describe()
    both = json.loads(prepare("context", [contract, folder / "notes.md"]).data)
    assert len(both[contract.as_posix()]) == PAGES and both[(folder / "notes.md").as_posix()].endswith("signed")


def test_text_formats_load_as_natural_shapes(tmp_path: Path) -> None:
    files = {
        "a.json": ('{"k": [1, 2]}', {"k": [1, 2]}),
        "b.jsonl": ('{"u": "ann"}\n\n{"u": "bo"}\n', [{"u": "ann"}, {"u": "bo"}]),
        "c.csv": ("name,age\nann,31\nbo,\n", [{"name": "ann", "age": "31"}, {"name": "bo", "age": ""}]),
        "d.tsv": ("x\ty\n1\t2\n", [{"x": "1", "y": "2"}]),
        "e.html": (
            "<html><head><title>t</title><style>p{}</style></head><body><h1>Title</h1>"
            "<script>alert(1)</script><p>One &amp; two</p></body></html>",
            "Title\nOne & two",
        ),
        "f.md": ("# Head\nbody", "# Head\nbody"),
    }
    for name, (text, expected) in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        assert load(tmp_path / name, 10_000).value == expected, name
    assert {".pdf", ".json", ".jsonl", ".csv", ".html", ".md", ".txt"} <= set(LOADERS)


def test_an_html_pages_preformatted_text_keeps_its_spacing(tmp_path: Path) -> None:
    # Every run of spaces became one: an indented listing read as a different program, a column table lost its columns.
    page = (
        "<html><body><p>Run   this:</p><pre>\ndef f(x):\n    if x:\n        return 1\n\n    return  0</pre>"
        "<pre>col1    col2<br>a       b</pre><p>Done.</p></body></html>"
    )
    (tmp_path / "howto.html").write_text(page, encoding="utf-8")
    assert load(tmp_path / "howto.html", 10_000).value.splitlines() == [
        "Run this:",
        "def f(x):",
        "    if x:",
        "        return 1",
        "    return  0",
        "col1    col2",
        "a       b",
        "Done.",
    ]


def test_a_docx_loads_as_its_text(tmp_path: Path) -> None:
    docx = pytest.importorskip("docx", reason="DOCX support needs the docx extra")
    document = docx.Document()
    document.add_heading("Master agreement", level=1)
    document.add_paragraph(f"Clause 4: the code is {marker(4)}.")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "fee", "520"
    document.save(str(tmp_path / "deal.docx"))
    loaded = prepare("context", tmp_path / "deal.docx")
    text = loaded.data.decode()
    assert text.splitlines() == ["Master agreement", "", f"Clause 4: the code is {marker(4)}.", "", "fee | 520"]
    assert "deal.docx: Word document, 2 paragraphs" in loaded.describe()
    (tmp_path / "broken.docx").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(InputError, match=r"broken\.docx is not a readable DOCX"):
        prepare("context", tmp_path / "broken.docx")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.json", b'{"a": ', "not valid JSON"),
        ("bad.jsonl", b'{"a": 1}\n{oops\n', "line 2 is not valid JSON"),
        ("latin.txt", "caf\u00e9".encode("latin-1"), "not UTF-8"),
        ("blob.bin", b"\x00\x01\x02binary", "not a document type rlmx reads"),
        ("broken.pdf", b"%PDF-1.4 this is not really a pdf", "not a readable PDF"),
        # a PDF saved as .txt was told to be converted to UTF-8 text: rlmx reads it when its name says .pdf
        ("report.txt", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", r"it is a PDF\); name it \*\.pdf, and rlmx reads it"),
        ("report.dat", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", r"it is a PDF, and '\.dat' is not a document type"),
        ("report.dat", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", r"name it \*\.pdf, and rlmx reads it as one"),
    ],
)
def test_unreadable_files_are_named_before_any_lm_call(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    lm = ScriptedLM(["never"])
    with pytest.raises(InputError, match=message) as caught:
        RLM(lm).completion("q", context=path)
    assert name in str(caught.value)
    assert lm.calls == []


def test_rlmx_ask_reads_a_log_that_logrotate_left_with_a_nul_hole(tmp_path: Path) -> None:
    # copytruncate while the writer keeps its offset: the file starts with a NUL-filled hole, then UTF-8 lines.
    # It was refused ("not UTF-8 text (binary ...); convert it to UTF-8"), exit 2, though it is UTF-8 already.
    log = tmp_path / "app.log"
    log.write_bytes(b"\x00" * 6000 + "12:00:01 INFO start\r\n12:00:02 ERROR disk full, caf\u00e9\r\n".encode())
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "app.log").write_bytes(log.read_bytes())
    script = tmp_path / "script.json"
    lines = {log: "context.splitlines()", tmp_path / "logs": "context['app.log'].splitlines()"}
    for context, read in lines.items():
        cell = repl(f"FINAL([line for line in {read} if 'ERROR' in line][0].strip())")
        script.write_text(json.dumps([cell]), encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-m", "rlmx.cli", "ask", "which error?", "-c", str(context), "--scripted", str(script)],
            capture_output=True,
            text=True,
            encoding="utf-8",
            env=cli_environ(tmp_path),
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "12:00:02 ERROR disk full, caf\u00e9" and "skipped" not in done.stderr


def test_scanned_and_encrypted_pdfs_say_so(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no text layer"):
        prepare("context", write_pdf(tmp_path / "scan.pdf", pages=2, text=False))
    pytest.importorskip("cryptography", reason="pypdf needs it to open AES-encrypted PDFs")
    with pytest.raises(InputError, match="encrypted PDF that needs a password"):
        prepare("context", write_pdf(tmp_path / "locked.pdf", pages=2, password="secret"))
    # Encrypted with an empty user password (copy/print restrictions only): opens as is.
    opened = json.loads(prepare("context", write_pdf(tmp_path / "restricted.pdf", pages=2, password="")).data)
    assert marker(2) in opened[1]


OPEN_IN_REPL = repl(
    "import os, re, pypdf\n"
    "mode = oct(os.stat('contract.pdf').st_mode & 0o777)\n"
    "text = pypdf.PdfReader('contract.pdf').pages[51].extract_text()\n"
    "FINAL(mode + ' ' + re.search(r'KESTREL-\\d+', text).group(0))"
)


@pytest.mark.parametrize("sandbox", ["subprocess", "isolated"])
async def test_workspace_files_are_read_only_copies_the_repl_opens(contract: Path, sandbox: str) -> None:
    before = contract.read_bytes()
    lm = ScriptedLM([OPEN_IN_REPL])
    # The isolated tier runs the system Python unless told otherwise: this venv's Python offers it pypdf.
    options = {"python": sys.executable} if sandbox == "isolated" else {}
    if sandbox == "isolated" and Path(sys.prefix).resolve().is_relative_to("/tmp"):
        pytest.skip("this venv lives under /tmp, which the isolated tier hides (its /tmp is private)")
    rlm = RLM(lm, sandbox=sandbox, files=[contract], sandbox_options=options)
    result = await rlm.acompletion("Code on page 52?")
    if sandbox == "isolated" and result.status == "error" and "isolated" in result.stop_reason.lower():
        pytest.skip(f"isolated tier unavailable here: {result.stop_reason}")
    assert (result.answer, result.status) == (f"0o444 {marker(52)}", "finished"), result.stop_reason
    assert "contract.pdf (" in lm.calls[0][0]["content"]  # the system prompt lists the file
    assert contract.read_bytes() == before


def test_rlmx_ask_places_a_file_in_the_workspace(contract: Path, tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps([OPEN_IN_REPL]), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "RLMX_"))}
    command = ["ask", "Code on page 52?", "--file", str(contract), "--scripted", str(script), "--quiet"]
    proc = subprocess.run(
        [sys.executable, "-m", "rlmx.cli", *command],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**env, "XDG_STATE_HOME": str(tmp_path / "state")},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[0] == f"0o444 {marker(52)}"
    missing = subprocess.run(
        [sys.executable, "-m", "rlmx.cli", "ask", "q", "--file", "nope.pdf", "--scripted", str(script)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**env, "XDG_STATE_HOME": str(tmp_path / "state")},
        timeout=120,
    )
    assert missing.returncode != 0 and "workspace file not found" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_a_workspace_file_whose_name_is_not_utf8_opens_by_the_name_the_model_is_shown(tmp_path: Path) -> None:
    path = tmp_path / os.fsdecode(b"r\xe9sum\xe9.txt")
    path.write_text("hello")
    shown = "r\\udce9sum\\udce9.txt"
    lm = ScriptedLM([f"```repl\nprint(open({shown!r}).read())\n```", "```repl\nFINAL('x')\n```"])
    RLM(lm, files=[path]).completion("q", context="abc")
    assert shown in lm.calls[0][0]["content"] + lm.calls[0][1]["content"]
    assert "hello" in lm.calls[1][-1]["content"]


# --- audit 20: structured files as spreadsheets and exporters write them ---------------------------------


def loaded(tmp_path: Path, name: str, data: str | bytes) -> object:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
    return load(path, 10_000_000).value


def test_a_csv_excel_wrote_with_semicolons_keeps_its_columns(tmp_path: Path) -> None:
    # Excel in a locale with decimal commas writes ";" (and "sep=;" when asked): one garbled column before.
    semicolons = "\ufeffArtikel;Preis;Menge\r\nApfel;1,50;3\r\nBirne;0,99;12\r\n"
    expected = [
        {"Artikel": "Apfel", "Preis": "1,50", "Menge": "3"},
        {"Artikel": "Birne", "Preis": "0,99", "Menge": "12"},
    ]
    assert loaded(tmp_path, "a.csv", semicolons) == expected
    assert loaded(tmp_path, "b.csv", "sep=;\r\n" + semicolons.lstrip("\ufeff")) == expected
    assert loaded(tmp_path, "c.csv", "a|b\n1|2\n") == [{"a": "1", "b": "2"}]
    assert loaded(tmp_path, "d.csv", 'name,note\nann,"x; y"\n') == [{"name": "ann", "note": "x; y"}]


def test_excels_sep_line_is_read_whatever_the_line_ends(tmp_path: Path) -> None:
    # Excel for Mac ends lines with "\r" alone: the sep= line was taken as the header, and a column lost.
    expected = [{"Artikel": "Apfel", "Preis": "1,50"}]
    for line_end in ("\r", "\n", "\r\n"):
        text = line_end.join(["sep=;", "Artikel;Preis", "Apfel;1,50"]) + line_end
        assert loaded(tmp_path, "mac.csv", text) == expected, repr(line_end)


def test_json_lines_joined_from_files_that_each_began_with_a_bom_load(tmp_path: Path) -> None:
    # `cat a.jsonl b.jsonl` of two files saved with a BOM: refused with Python's "decode using utf-8-sig" before.
    joined = '\ufeff{"n": 1}\n\ufeff{"n": 2}\n\ufeff\n{"n": 3}\n'
    assert loaded(tmp_path, "joined.jsonl", joined) == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert loaded(tmp_path, "joined.json", joined) == [{"n": 1}, {"n": 2}, {"n": 3}]


def test_a_repeated_csv_column_keeps_every_value(tmp_path: Path) -> None:
    rows = loaded(tmp_path, "a.csv", "Date,Amount,Date,Note\n2024-01-02,10.00,2024-02-01,late\n")
    assert rows == [{"Date": "2024-01-02", "Amount": "10.00", "Date.1": "2024-02-01", "Note": "late"}]


def test_json_that_would_lose_or_break_on_load_is_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="key 'total' appears twice"):
        loaded(tmp_path, "a.json", '{"total": 100, "n": 1, "total": 200}')
    for name, text in (("b.json", '{"n": ' + "9" * 5000 + "}"), ("c.jsonl", '{"n": 1}\n{"n": ' + "9" * 5000 + "}\n")):
        with pytest.raises(InputError, match="number rlmx cannot read"):
            loaded(tmp_path, name, text)


def test_json_lines_saved_as_json_load_as_records(tmp_path: Path) -> None:
    # mongoexport's default, BigQuery's and `jq -c`'s exports: "Extra data at line 2" before.
    assert loaded(tmp_path, "a.json", '{"_id": 1}\n{"_id": 2}\n') == [{"_id": 1}, {"_id": 2}]
    with pytest.raises(InputError, match="not valid JSON"):
        loaded(tmp_path, "b.json", '{"a": 1} trailing')


def test_rlmx_ask_refuses_a_huge_json_number_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "big.json").write_text('{"n": ' + "7" * 5000 + "}", encoding="utf-8")
    script = tmp_path / "s.json"
    script.write_text(json.dumps([repl("FINAL(1)")]), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "rlmx", "ask", "q", "--context", str(tmp_path / "big.json"), "--scripted", str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path), "HOME": str(tmp_path)},
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr and "cannot read" in done.stderr


def test_a_docx_reads_as_word_shows_it(tmp_path: Path) -> None:
    # Tables were moved to the end, tracked insertions and content controls dropped, merged cells repeated, and
    # footnotes lost (python-docx's paragraphs and tables lists).
    docx = pytest.importorskip("docx", reason="DOCX support needs the docx extra")
    from docx.oxml import parse_xml

    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    document = docx.Document()
    document.add_paragraph("Results by region:")
    table = document.add_table(rows=2, cols=3)
    merged = table.cell(0, 0).merge(table.cell(0, 2))
    merged.text = "Totals"
    for cell, text in zip(table.rows[1].cells, ("EU", "France", "10"), strict=True):
        cell.text = text
    tracked = document.add_paragraph("Pay ")
    tracked._p.append(
        parse_xml(f'<w:del {w} w:id="1" w:author="a"><w:r><w:delText>EUR 3,000</w:delText></w:r></w:del>')
    )
    tracked._p.append(parse_xml(f'<w:ins {w} w:id="2" w:author="a"><w:r><w:t>EUR 5,000</w:t></w:r></w:ins>'))
    tracked.add_run(" by March.")
    control = f"<w:sdt {w}><w:sdtContent><w:p><w:r><w:t>Client: Northwind</w:t></w:r></w:p></w:sdtContent></w:sdt>"
    document.element.body.insert(len(document.element.body) - 1, parse_xml(control))
    document.save(str(tmp_path / "deal.docx"))
    text = load(tmp_path / "deal.docx", 10_000_000).value
    assert text.splitlines() == [
        "Results by region:",
        "",
        "Totals",
        "EU | France | 10",
        "",
        "Pay EUR 5,000 by March.",
        "Client: Northwind",
    ]
    (tmp_path / "locked.docx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)
    with pytest.raises(InputError, match="password-protected"):
        load(tmp_path / "locked.docx", 10_000_000)


def test_a_docx_tables_rows_are_its_own_once_and_a_row_deleted_with_tracking_is_gone(tmp_path: Path) -> None:
    # Every row under a table was read as its row (a price grid nested in a cell came twice: in its cell and as rows
    # of the outer table), and a row Word tracks as deleted (w:trPr/w:del) stayed as an empty " | " line.
    docx = pytest.importorskip("docx", reason="DOCX support needs the docx extra")
    from docx.oxml import parse_xml

    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    document = docx.Document()
    order = document.add_table(rows=3, cols=2)
    for row, pair in zip(order.rows, (("Order", "Lines:"), ("Paid", "yes"), ("Cancelled", "line")), strict=True):
        row.cells[0].text, row.cells[1].text = pair
    grid = order.cell(0, 1).add_table(rows=2, cols=2)
    for row, pair in zip(grid.rows, (("Bolts", "4"), ("Nuts", "6")), strict=True):
        row.cells[0].text, row.cells[1].text = pair
    order.rows[2]._tr.get_or_add_trPr().append(parse_xml(f'<w:del {w} w:id="9" w:author="Ann"/>'))
    wrapped = f"<w:sdt {w}><w:sdtContent><w:tr><w:tc><w:p><w:r><w:t>Signed</w:t></w:r></w:p></w:tc>"
    wrapped += "<w:tc><w:p><w:r><w:t>Ann</w:t></w:r></w:p></w:tc></w:tr></w:sdtContent></w:sdt>"
    order._tbl.append(parse_xml(wrapped))  # a row inside a content control is the table's own too
    document.save(str(tmp_path / "order.docx"))
    text = load(tmp_path / "order.docx", 10_000_000).value
    assert text.splitlines() == ["Order | Lines: Bolts | 4 Nuts | 6", "Paid | yes", "Signed | Ann"]


def test_a_docx_keeps_its_non_breaking_hyphens_and_symbols(tmp_path: Path) -> None:
    # They were dropped: "555-0142" read "5550142" and "5 x 3 m" read "5  3 m", numbers changed without a word.
    docx = pytest.importorskip("docx", reason="DOCX support needs the docx extra")
    from docx.oxml import parse_xml

    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    runs = {
        "Call 555-0142 with care": (
            "<w:t>Call 555</w:t><w:noBreakHyphen/><w:t>0142 with ca</w:t><w:softHyphen/><w:t>re</w:t>"
        ),
        "Area: 5 \u00d7 3 m, \u03b1 \u2212 \ufffd": (
            '<w:t xml:space="preserve">Area: 5 </w:t><w:sym w:font="Symbol" w:char="F0B4"/>'
            '<w:t xml:space="preserve"> 3 m, </w:t><w:sym w:font="Symbol" w:char="F061"/>'
            '<w:t xml:space="preserve"> </w:t><w:sym w:font="Cambria Math" '
            'w:char="2212"/><w:t xml:space="preserve"> </w:t><w:sym w:font="Wingdings" w:char="F0FC"/>'
        ),
    }
    document = docx.Document()
    for content in runs.values():
        document.add_paragraph()._p.append(parse_xml(f"<w:r {w}>{content}</w:r>"))
    document.save(str(tmp_path / "notes.docx"))
    assert load(tmp_path / "notes.docx", 10_000_000).value.splitlines() == list(runs)


class _Page(dict):  # type: ignore[type-arg]
    """A stand-in for a pypdf page: its extracted text and its annotations (pypdf's dict-like objects)."""

    def __init__(self, text: str, annotations: list[dict[str, object]]) -> None:
        super().__init__({"/Annots": [_Ref(a) for a in annotations]} if annotations else {})
        self.text = text

    def extract_text(self) -> str:
        return self.text


class _Ref:
    def __init__(self, target: dict[str, object]) -> None:
        self.target = target

    def get_object(self) -> dict[str, object]:
        return self.target


def test_pdf_pages_read_ligatures_as_letters_and_keep_filled_form_values() -> None:
    # "ﬁnancial" was not found by a search for "financial"; values typed into a form were lost (labels only).
    from rlmx.documents.pdf import _page_text

    assert _page_text(_Page("The \ufb01nancial work\ufb02ow's e\ufb03ciency.", [])) == (
        "The financial workflow's efficiency."
    )
    widgets = [
        {"/Subtype": "/Widget", "/T": "applicant", "/V": "Maria Lopez"},
        {"/Subtype": "/Widget", "/T": "agree", "/V": "/Off"},
        {"/Subtype": "/Link"},
    ]
    assert _page_text(_Page("Applicant name:\n", widgets)) == "Applicant name:\n\napplicant: Maria Lopez"


def test_a_pdf_with_more_text_than_the_limit_is_refused_while_it_is_read(tmp_path: Path) -> None:
    # A text bomb (a small file holding megabytes of text) was extracted whole, then refused.
    document = fpdf.FPDF()
    document.set_font("Helvetica", size=6)
    for _ in range(20):
        document.add_page()
        document.multi_cell(0, 3, "the same words again and again " * 120)  # compresses to almost nothing
    document.output(str(tmp_path / "bomb.pdf"))
    size = (tmp_path / "bomb.pdf").stat().st_size
    with pytest.raises(InputError, match=r"more text than the [\d,]+ context bytes left .* page \d+ of 20\)"):
        load(tmp_path / "bomb.pdf", size + 1000)
    assert len(load(tmp_path / "bomb.pdf", 10_000_000).value) == 20


def test_a_subfolder_that_cannot_be_listed_is_reported_as_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # os.walk drops a folder it cannot list without a word (no permission, a path past PATH_MAX).
    (tmp_path / "top.txt").write_text("top", encoding="utf-8")
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "inside.txt").write_text("inside", encoding="utf-8")
    real = os.scandir

    def scandir(where: object) -> object:
        if str(where).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(where))
        return real(where)  # type: ignore[call-overload]

    monkeypatch.setattr(os, "scandir", scandir)
    loaded = prepare("context", tmp_path)
    assert "locked/ (a folder that cannot be listed: Permission denied)" in loaded.skipped_files


def test_a_csv_quote_left_open_is_refused_at_the_line_it_opens(tmp_path: Path) -> None:
    # A curly quote typed to close a field left it open: the lenient reader put every later row into that one cell
    # and loaded 2 rows of 4 without a word. The line named is where the broken record starts, not where it ends.
    curly = 'id,comment\n1,"fine"\n2,"not closed\u201d\n3,"third"\n4,"fourth"\n'
    with pytest.raises(InputError, match=r"notes\.csv is not valid CSV at the record that starts on line 3"):
        loaded(tmp_path, "notes.csv", curly)
    at_the_end = 'id,comment\n1,"fine"\n2,"runs to the end\n3,x\n'
    with pytest.raises(InputError, match="starts on line 3"):
        loaded(tmp_path, "end.csv", at_the_end)
    with pytest.raises(InputError, match="not valid CSV at line 3"):  # Excel's sep= line counts as line 1
        loaded(tmp_path, "sep.csv", 'sep=;\nname;note\nann;"x"y\n')
    multiline = 'name,note\r\nann,"two\r\nlines"\r\nbo,"say ""hi"""\r\n'  # what Excel writes stays readable
    assert loaded(tmp_path, "ok.csv", multiline) == [
        {"name": "ann", "note": "two\r\nlines"},
        {"name": "bo", "note": 'say "hi"'},
    ]


def test_html_keeps_a_body_after_an_unclosed_head_and_keeps_cells_and_items_apart(tmp_path: Path) -> None:
    # HTML lets a page leave out </head>: the whole body was hidden with the head, and the page loaded as "".
    # Minified cells, terms and options had no separator: "<td>Alice</td><td>42</td>" read as "Alice42".
    (tmp_path / "spec.html").write_text(
        "<!DOCTYPE html><html><head><meta charset=utf-8><title>Spec</title>\n<body><h1>Intro</h1>"
        "<p>Revenue was 42 million.</p><table><tr><th>Name</th><th>Age</th></tr><tr><td>Alice</td><td>42</td></tr>"
        "</table><dl><dt>Price</dt><dd>5</dd></dl><select><option>red</option><option>blue</option></select>"
        "<ul><li>one<li>two</ul></body></html>",
        encoding="utf-8",
    )
    assert load(tmp_path / "spec.html", 10_000).value.splitlines() == [
        "Intro",
        "Revenue was 42 million.",
        "Name | Age",
        "Alice | 42",
        "Price",
        "5",
        "red",
        "blue",
        "- one",
        "- two",
    ]
    (tmp_path / "bare.html").write_text("<head><title>T</title>Loose text <b>shows</b>", encoding="utf-8")
    assert load(tmp_path / "bare.html", 10_000).value == "Loose text shows"


def test_a_docx_text_box_is_read_once_with_a_line_per_paragraph(tmp_path: Path) -> None:
    # Word writes a text box twice (mc:Choice, and a VML mc:Fallback for old readers): both were read, and the
    # box's paragraphs were glued to the paragraph holding it ("box.Late ...").
    docx = pytest.importorskip("docx", reason="DOCX support needs the docx extra")
    from docx.oxml import parse_xml

    names = {
        "w": "http://schemas.openxmlformats.org/wordprocessingml/2006/main",
        "mc": "http://schemas.openxmlformats.org/markup-compatibility/2006",
        "v": "urn:schemas-microsoft-com:vml",
        "wps": "http://schemas.microsoft.com/office/word/2010/wordprocessingShape",
    }
    declared = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in names.items())
    box = (
        "<w:txbxContent>"
        + "".join(f"<w:p><w:r><w:t>{t}</w:t></w:r></w:p>" for t in ("Fee: 5%.", "Net 30."))
        + ("</w:txbxContent>")
    )
    run = (
        f'<w:r {declared}><mc:AlternateContent><mc:Choice Requires="wps"><wps:txbx>{box}</wps:txbx></mc:Choice>'
        f"<mc:Fallback><w:pict><v:shape><v:textbox>{box}</v:textbox></v:shape></w:pict></mc:Fallback>"
        "</mc:AlternateContent></w:r>"
    )
    document = docx.Document()
    holder = document.add_paragraph("Terms:")
    holder._p.append(parse_xml(run))
    document.add_paragraph("End.")
    document.save(str(tmp_path / "terms.docx"))
    assert load(tmp_path / "terms.docx", 10_000_000).value.splitlines() == ["Terms:", "Fee: 5%.", "Net 30.", "End."]


def _raw_pdf(content: bytes, *, flate: bool = False) -> bytes:
    """A one-page PDF whose content stream is `content` as given (declared FlateDecode when `flate`)."""
    stream = b"<< /Length %d%s >>\nstream\n" % (len(content), b" /Filter /FlateDecode" if flate else b"")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> "
        b"/Contents 4 0 R >>",
        stream + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    return out + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)


def test_a_damaged_pdf_is_an_input_error_that_calls_it_damaged(tmp_path: Path) -> None:
    # pypdf's RecursionError on deeply nested operands went through as is (a traceback from `rlmx ask`), and a
    # content stream that does not decompress was diagnosed as a scan ("run OCR on it first").
    nested = tmp_path / "nested.pdf"
    nested.write_bytes(_raw_pdf(b"[" * 5000 + b"] Tj"))
    with pytest.raises(InputError, match=r"nested\.pdf is not a readable PDF"):
        load(nested, 10_000_000)
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(_raw_pdf(bytes(range(7, 107)), flate=True))
    with pytest.raises(InputError, match=r"broken\.pdf is a damaged PDF") as refused:
        load(broken, 10_000_000)
    assert "OCR" not in str(refused.value)


def test_any_failure_inside_a_loader_is_an_input_error_naming_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fragile(path: Path, raw: bytes) -> Any:
        raise ZeroDivisionError("division by zero in a damaged table")

    monkeypatch.setitem(LOADERS, ".odd", fragile)
    (tmp_path / "data.odd").write_text("x")
    with pytest.raises(InputError, match=r"data\.odd is damaged or not a readable \.odd file \(ZeroDivisionError"):
        load(tmp_path / "data.odd", 1_000)


def test_a_loader_failure_is_an_input_error_naming_the_file_for_every_caller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The catch-all lived in `load` alone: `rlmx serve`'s file parts got a 500 and `rlmx mcp` lost the whole folder
    # to a traceback, because they call the loader `loader_for` hands out themselves.
    from rlmx.documents import loader_for
    from rlmx.mcp.roots import Roots
    from rlmx.server.files import FileRefused, _document

    def unsupported_filter(path: Path, raw: bytes) -> Any:
        raise NotImplementedError("unsupported filter /FlateDecodeX")

    monkeypatch.setitem(LOADERS, ".odd", unsupported_filter)
    odd = tmp_path / "report.odd"
    odd.write_bytes(b"%odd")
    loader = loader_for(odd)
    assert loader is not None
    with pytest.raises(InputError, match=r"report\.odd is damaged .*NotImplementedError"):
        loader(odd, b"%odd")
    with pytest.raises(FileRefused, match=r"report\.odd is damaged"):
        _document(Path("report.odd"), b"%odd")
    (tmp_path / "notes.txt").write_text("kept", encoding="utf-8")
    loaded = Roots.grant([tmp_path], "--allow").read(["."])
    assert loaded.value == {"notes.txt": "kept"}
    assert [line.split(" (")[0] for line in loaded.skipped] == ["report.odd"] and "damaged" in loaded.skipped[0]


def test_json_nested_past_the_limit_is_refused_naming_the_file_however_deep(tmp_path: Path) -> None:
    # 300 deep was refused for the whole context without the file's name; 5,000 deep raised RecursionError.
    for depth in (300, 5_000):
        deep = tmp_path / f"deep{depth}.json"
        deep.write_text("[" * depth + "]" * depth, encoding="utf-8")
        with pytest.raises(InputError, match=rf"deep{depth}\.json is JSON nested more than 256 levels deep"):
            load(deep, 10_000_000)


def test_a_csv_with_spaces_after_its_separators_keeps_quoted_cells_whole(tmp_path: Path) -> None:
    # `1, "Smith, John", Paris` was read as the cells ' "Smith' and ' John"': every later column shifted, and the
    # header's names kept their leading spaces.
    data = 'id, name, city\n1, "Smith, John", Paris\n2, "Doe, Jane", Rome, extra\n'
    document = load(_written(tmp_path / "people.csv", data), 10_000)
    assert document.value == [
        {"id": "1", "name": "Smith, John", "city": "Paris"},
        {"id": "2", "name": "Doe, Jane", "city": "Rome", "": ["extra"]},
    ]
    assert "1 row with more cells than the header" in document.shape


def _written(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


_WORD = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _docx(path: Path, body: str, parts: tuple[tuple[str, str, str, str, bytes], ...] = ()) -> Path:
    """A DOCX python-docx wrote, its body's content replaced by `body` (w: and r: prefixes declared), plus `parts`:
    (zip name, relationship id, relationship type's last part, content type, bytes) each."""
    import re
    import zipfile

    docx = pytest.importorskip("docx", reason="DOCX support needs the docx extra")
    template = path.with_suffix(".template.docx")
    docx.Document().save(str(template))
    related = "".join(
        f'<Relationship Id="{rid}" Type="{_RELS}/{kind}" Target="/{name}"/>' for name, rid, kind, *_ in parts
    )
    typed = "".join(f'<Override PartName="/{name}" ContentType="{kind}"/>' for name, _, _, kind, _ in parts)
    replaced = f'<w:body xmlns:r="{_RELS}">{body}<w:sectPr'
    with zipfile.ZipFile(template) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "word/document.xml":
                data = re.sub(r"<w:body>.*<w:sectPr", lambda _: replaced, data.decode(), flags=re.S).encode()
            elif item.filename == "word/_rels/document.xml.rels":
                data = data.replace(b"</Relationships>", related.encode() + b"</Relationships>")
            elif item.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", typed.encode() + b"</Types>")
            target.writestr(item, data)
        for name, _, _, _, data in parts:
            target.writestr(name, data)
    return path


def _para(text: str, wrapper: str = "") -> str:
    """A paragraph of one run holding `text`, inside a tracked change `wrapper` (e.g. "moveFrom") when given."""
    run = '<w:r><w:t xml:space="preserve">' + text + "</w:t></w:r>"
    if wrapper:
        run = f'<w:{wrapper} w:id="1" w:author="a">' + run + f"</w:{wrapper}>"
    return "<w:p>" + run + "</w:p>"


def test_a_docx_tracked_move_is_read_once_at_its_destination(tmp_path: Path) -> None:
    # Cut and paste with Track Changes on writes the text twice (w:moveFrom, w:moveTo): both were read.
    body = _para("Penalty: 5% a month.", "moveFrom") + _para("Clause 2.") + _para("Penalty: 5% a month.", "moveTo")
    text = load(_docx(tmp_path / "moved.docx", body), 10_000_000).value
    assert text.splitlines() == ["", "Clause 2.", "Penalty: 5% a month."]


def test_a_docx_keeps_its_endnotes_after_the_text(tmp_path: Path) -> None:
    # Footnotes were read, endnotes silently dropped.
    notes = (
        f'<w:endnotes xmlns:w="{_WORD}"><w:endnote w:type="separator" w:id="-1"><w:p/></w:endnote>'
        f'<w:endnote w:id="1">{_para("312 firms did not answer.")}</w:endnote></w:endnotes>'
    ).encode()
    endnotes = ("word/endnotes.xml", "rIdEnd", "endnotes", f"{_CT}.endnotes+xml", notes)
    body = '<w:p><w:r><w:t>1,204 firms.</w:t></w:r><w:r><w:endnoteReference w:id="1"/></w:r></w:p>'
    document = load(_docx(tmp_path / "survey.docx", body, (endnotes,)), 10_000_000)
    assert document.value.splitlines() == ["1,204 firms.", "", "Endnotes:", "[1] 312 firms did not answer."]
    assert "1 endnote," in document.shape


_CT = "application/vnd.openxmlformats-officedocument.wordprocessingml"


def test_a_docx_made_of_an_embedded_chunk_is_read_or_refused_never_empty(tmp_path: Path) -> None:
    # html-docx-js and CMS exports put the whole body in a w:altChunk (HTML Word converts on opening): it loaded
    # as "" and the run went on.
    html = b"<html><body><h1>Minutes</h1><p>Budget approved: 2.4 million.</p></body></html>"
    chunk = ("word/afchunk.htm", "rIdChunk", "aFChunk", "text/html", html)
    body = _para("Board meeting") + '<w:altChunk r:id="rIdChunk"/>'
    text = load(_docx(tmp_path / "minutes.docx", body, (chunk,)), 10_000_000).value
    assert text.splitlines() == ["Board meeting", "Minutes", "Budget approved: 2.4 million."]
    rtf = ("word/afchunk.rtf", "rIdChunk", "aFChunk", "application/rtf", rb"{\rtf1 Minutes}")
    with pytest.raises(InputError, match=r"letter\.docx holds its content as an embedded application/rtf chunk"):
        load(_docx(tmp_path / "letter.docx", '<w:altChunk r:id="rIdChunk"/>', (rtf,)), 10_000_000)


def test_a_one_page_pdf_and_a_one_paragraph_docx_are_described_in_the_singular(tmp_path: Path) -> None:
    # "PDF, 1 pages", "Word document, 1 paragraphs": the prompt's description of the context
    pytest.importorskip("pypdf", reason="PDF support needs the pdf extra")
    docx = pytest.importorskip("docx", reason="DOCX support needs the docx extra")
    assert load(write_pdf(tmp_path / "one.pdf", pages=1), 10_000_000).shape.startswith("PDF, 1 page, ")
    document = docx.Document()
    document.add_paragraph("Only this.")
    document.save(str(tmp_path / "one.docx"))
    assert load(tmp_path / "one.docx", 10_000_000).shape.startswith("Word document, 1 paragraph, ")
