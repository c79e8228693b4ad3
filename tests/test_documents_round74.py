"""Documents as context (round 74): a CSV keeps every column whatever its header's names, a JSON Lines file saved
as .json names its bad line, and a DOCX keeps the page headers and footers Word shows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlmx import InputError
from rlmx.documents import Document, load


def _loaded(path: Path, text: str) -> Document:
    path.write_text(text, encoding="utf-8")
    return load(path, 10_000_000)


@pytest.mark.parametrize(
    ("header", "names"),
    [
        ("a,a,a.1", ["a", "a.2", "a.1"]),  # the second `a` was named `a.1` too, and the real a.1 took its place
        ("a.1,a,a", ["a.1", "a", "a.2"]),
        ("a,a,a.1,a.1", ["a", "a.2", "a.1", "a.1.1"]),
        ("a,a.1,a,a.2,a", ["a", "a.1", "a.3", "a.2", "a.4"]),
        (",,a", ["", ".1", "a"]),
    ],
)
def test_a_csv_whose_numbered_names_meet_real_ones_keeps_every_value(
    tmp_path: Path, header: str, names: list[str]
) -> None:
    cells = [str(n) for n in range(len(names))]
    document = _loaded(tmp_path / "t.csv", f"{header}\n{','.join(cells)}\n")
    assert document.value == [dict(zip(names, cells, strict=True))]
    assert "columns " + ", ".join(name or "''" for name in names) in document.shape


def test_extra_cells_never_overwrite_a_column_with_no_name(tmp_path: Path) -> None:
    # pandas' to_csv() writes its index under an empty name: the extra cells went under '' too, and the index
    # value 0 was lost.
    document = _loaded(tmp_path / "frame.csv", ",a,b\n0,x,y,EXTRA\n1,p,q\n")
    assert document.value == [{"": "0", "a": "x", "b": "y", ".1": ["EXTRA"]}, {"": "1", "a": "p", "b": "q"}]
    assert "1 row with more cells than the header (under the key '.1')" in document.shape
    named = _loaded(tmp_path / "named.csv", ",.1,a\n0,x,y,EXTRA\n")
    assert named.value == [{"": "0", ".1": "x", "a": "y", ".2": ["EXTRA"]}]
    plain = _loaded(tmp_path / "plain.csv", "a,b\n1,2,3\n")
    assert plain.value == [{"a": "1", "b": "2", "": ["3"]}]
    assert "(under the key '')" in plain.shape


def test_a_wide_csv_says_how_many_columns_are_not_named_in_its_shape(tmp_path: Path) -> None:
    names = [f"c{n}" for n in range(15)]
    shape = _loaded(tmp_path / "wide.csv", ",".join(names) + "\n" + ",".join("1" * 15) + "\n").shape
    assert "c11, and 3 more" in shape


@pytest.mark.parametrize("bad", [2, 5, 20, 21, 30])
def test_json_lines_saved_as_json_name_the_broken_line(tmp_path: Path, bad: int) -> None:
    # Broken within the first 20 lines the whole file was read as one value: "Extra data at line 2".
    lines = [json.dumps({"i": i}) for i in range(1, 31)]
    lines[bad - 1] = f'{{"i": {bad}, broken'
    with pytest.raises(InputError, match=rf"export\.json: line {bad} is not valid JSON"):
        _loaded(tmp_path / "export.json", "\n".join(lines) + "\n")


def test_json_lines_saved_as_json_name_a_repeated_key_by_its_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"export\.json: line 3: key 'i' appears twice"):
        _loaded(tmp_path / "export.json", '{"i": 1}\n{"i": 2}\n{"i": 3, "i": 4}\n')


def test_json_that_is_not_lines_keeps_its_whole_file_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not valid JSON: Expecting ',' delimiter at line 4"):
        _loaded(tmp_path / "pretty.json", '{\n  "a": 1,\n  "b": 2\n  "c": 3\n}\n')
    with pytest.raises(InputError, match="not valid JSON: Extra data at line 1"):
        _loaded(tmp_path / "one.json", '{"a": 1} trailing')


def test_a_docx_keeps_its_page_header_and_footer(tmp_path: Path) -> None:
    # They were dropped without a word: Word shows them on every page.
    docx = pytest.importorskip("docx", reason="DOCX support needs the docx extra")
    document = docx.Document()
    document.sections[0].header.paragraphs[0].text = "CONFIDENTIAL"
    document.sections[0].footer.paragraphs[0].text = "Doc ID 77"
    document.add_paragraph("Body text.")
    document.save(str(tmp_path / "memo.docx"))
    loaded = load(tmp_path / "memo.docx", 10_000_000)
    assert loaded.value.splitlines() == ["Header:", "CONFIDENTIAL", "", "Body text.", "", "Footer:", "Doc ID 77"]
    assert "1 header, 1 footer," in loaded.shape


def test_a_docx_shows_each_sections_header_as_word_does(tmp_path: Path) -> None:
    docx = pytest.importorskip("docx", reason="DOCX support needs the docx extra")
    from docx.enum.section import WD_SECTION

    document = docx.Document()
    first = document.sections[0]
    first.header.paragraphs[0].text = "Annual report"
    first.different_first_page_header_footer = True
    first.first_page_header.paragraphs[0].text = "Cover"
    document.add_paragraph("Intro.")
    document.add_section(WD_SECTION.NEW_PAGE)  # no header of its own: shows the first section's
    document.add_paragraph("Part two.")
    third = document.add_section(WD_SECTION.NEW_PAGE)
    third.header.is_linked_to_previous = False
    third.header.paragraphs[0].text = "Appendix"
    third.even_page_header.is_linked_to_previous = False
    third.even_page_header.paragraphs[0].text = "Never shown"  # the settings do not ask for even-page headers
    document.add_paragraph("Tables.")
    document.save(str(tmp_path / "report.docx"))
    text = load(tmp_path / "report.docx", 10_000_000).value
    assert text.split("\n\n")[:3] == [
        "Header (section 1):\nAnnual report",
        "First-page header (section 1):\nCover",
        "Header (section 3):\nAppendix",
    ]
    assert "Never shown" not in text and "Footer" not in text
