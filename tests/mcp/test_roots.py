"""Path confinement of `rlmx mcp`, in process: what is read, what is refused, and links in every position."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from rlmx.errors import InputError
from rlmx.mcp import roots as roots_module
from rlmx.mcp.roots import PathRefused, Roots


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "granted"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "a.txt").write_text("alpha", encoding="utf-8")
    (root / "b.txt").write_text("beta", encoding="utf-8")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("hunter2", encoding="utf-8")
    return root


def test_a_file_is_its_text_and_a_folder_a_dict_of_relative_paths(tree: Path) -> None:
    roots = Roots.grant([tree], "--allow")
    assert roots.read(["b.txt"]).value == "beta"  # relative to the first root
    loaded = roots.read([str(tree)])
    assert loaded.value == {"b.txt": "beta", "docs/a.txt": "alpha"}
    assert (loaded.files, loaded.chars) == (2, 9)
    assert roots.read(["docs", "b.txt"]).value == {"docs/a.txt": "alpha", "b.txt": "beta"}


def test_every_way_out_is_refused(tree: Path, tmp_path: Path) -> None:
    (tree / "up").symlink_to(tmp_path / "outside")
    (tree / "leak.txt").symlink_to(tmp_path / "outside" / "secret.txt")
    roots = Roots.grant([tree], "--allow")
    for raw in (
        str(tmp_path / "outside" / "secret.txt"),
        "../outside/secret.txt",
        str(tree / ".." / "outside"),
        "up/secret.txt",
        "up",
        "leak.txt",
        "/",
    ):
        with pytest.raises(PathRefused, match="outside the folders this server may read"):
            roots.read([raw])
    with pytest.raises(PathRefused):  # one bad path refuses the whole call, before anything is read
        roots.read(["b.txt", "leak.txt"])


def test_links_inside_a_folder_are_followed_only_within_the_roots(tree: Path, tmp_path: Path) -> None:
    (tree / "docs" / "leak.txt").symlink_to(tmp_path / "outside" / "secret.txt")
    (tree / "docs" / "again.txt").symlink_to(tree / "b.txt")
    (tree / "docs" / "outdir").symlink_to(tmp_path / "outside")
    (tree / "docs" / "broken.txt").symlink_to(tmp_path / "nowhere")
    os.mkfifo(tree / "docs" / "pipe")
    (tree / ".git").mkdir()
    (tree / ".git" / "HEAD").write_text("ref: main", encoding="utf-8")
    loaded = Roots.grant([tree], "--allow").read([str(tree)])
    assert isinstance(loaded.value, dict)
    assert loaded.value == {"b.txt": "beta", "docs/a.txt": "alpha", "docs/again.txt": "beta"}
    assert "hunter2" not in str(loaded.value)
    skipped = "\n".join(loaded.skipped)
    assert "docs/leak.txt (links outside the granted folders)" in skipped
    assert "docs/outdir (a linked folder" in skipped
    assert "docs/broken.txt (a broken link)" in skipped
    assert "docs/pipe (not a regular file)" in skipped


def test_several_roots_and_bad_grants(tree: Path, tmp_path: Path) -> None:
    roots = Roots.grant([tree, tmp_path / "outside"], "--allow")
    assert roots.read([str(tmp_path / "outside" / "secret.txt")]).value == "hunter2"
    with pytest.raises(InputError, match="no such folder"):
        Roots.grant([tmp_path / "missing"], "--allow")
    with pytest.raises(InputError, match="not a folder"):
        Roots.grant([tree / "b.txt"], "--allow")


def test_binary_and_oversize_inputs_are_refused_clearly(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tree / "image.bin").write_bytes(b"\x00\x01\x02")
    roots = Roots.grant([tree], "--allow")
    with pytest.raises(InputError, match="not a UTF-8 text file"):
        roots.read(["image.bin"])
    monkeypatch.setattr(roots_module, "MAX_FILES", 1)
    with pytest.raises(InputError, match="more than 1 files"):
        roots.read([str(tree)])
    monkeypatch.setattr(roots_module, "MAX_FILES", 100)
    monkeypatch.setattr(roots_module, "MAX_BYTES", 6)
    with pytest.raises(InputError, match="pass narrower paths"):
        roots.read([str(tree)])


def test_a_bom_is_dropped_as_every_other_context_source_drops_it(tree: Path) -> None:
    (tree / "bom.txt").write_bytes(b"\xef\xbb\xbfline")
    assert Roots.grant([tree], "--allow").read(["bom.txt"]).value == "line"


def test_documents_are_read_as_rlmx_ask_reads_them(tmp_path: Path) -> None:
    # `rlmx mcp` decoded every file as text: a PDF was refused ("convert it to text first"), a JSON file came as its
    # source text, while `rlmx ask --context` gave pages, rows and values. Both now use rlmx.documents' loaders.
    from rlmx.context import prepare

    folder = tmp_path / "deal"
    folder.mkdir()
    (folder / "terms.json").write_text('{"fee": 42, "parties": ["a", "b"]}', encoding="utf-8")
    (folder / "rows.csv").write_text("id,name\n1,ann\n2,bob\n", encoding="utf-8")
    (folder / "notes.md").write_text("# Notes", encoding="utf-8")
    (folder / "broken.json").write_text("{not json", encoding="utf-8")
    roots = Roots.grant([folder], "--allow")
    assert roots.read(["terms.json"]).value == {"fee": 42, "parties": ["a", "b"]}
    assert roots.read(["rows.csv"]).value == [{"id": "1", "name": "ann"}, {"id": "2", "name": "bob"}]
    loaded = roots.read([str(folder)])
    as_ask = json.loads(prepare("context", folder).data)
    assert loaded.value == {name: value for name, value in as_ask.items()}
    assert [skipped.split(" (")[0] for skipped in loaded.skipped] == ["broken.json"]
    with pytest.raises(InputError, match=r"broken\.json"):  # the only path: its loader's error is the call's
        roots.read(["broken.json"])


def test_a_pdf_is_its_list_of_pages(tmp_path: Path) -> None:
    fpdf = pytest.importorskip("fpdf", reason="fpdf2 writes the test PDF (dev extra)")
    pytest.importorskip("pypdf", reason="PDF support needs the pdf extra")
    document = fpdf.FPDF()
    for page in range(2):
        document.add_page()
        document.set_font("helvetica", size=12)
        document.cell(0, 10, f"page {page + 1}: the fee is 42")
    document.output(str(tmp_path / "contract.pdf"))
    loaded = Roots.grant([tmp_path], "--allow").read(["contract.pdf"])
    assert isinstance(loaded.value, list) and len(loaded.value) == 2
    assert "page 2: the fee is 42" in loaded.value[1] and loaded.chars == sum(map(len, loaded.value))


def test_a_root_that_is_a_file_grants_that_file(tmp_path: Path) -> None:
    # An editor opened on one file lists that file as its root; relative paths start from its folder.
    (tmp_path / "README.md").write_text("# Demo", encoding="utf-8")
    (tmp_path / "other.md").write_text("# Other", encoding="utf-8")
    roots = Roots([(tmp_path / "README.md").resolve()], "the client's MCP roots")
    assert roots.read(["README.md"]).value == "# Demo"
    assert roots.read([str(tmp_path / "README.md")]).value == "# Demo"
    with pytest.raises(PathRefused, match="outside the folders"):
        roots.read(["other.md"])


def test_a_json_file_counts_its_numbers_and_any_depth_without_recursion(tmp_path: Path) -> None:
    # Only strings were counted (a file of numbers read "0 characters"), one recursion level per nesting level.
    (tmp_path / "metrics.json").write_text(json.dumps([1234, 5.5, True, None]), encoding="utf-8")
    assert Roots.grant([tmp_path], "--allow").read(["metrics.json"]).chars == len("12345.5truenull")
    deep: list[object] = ["abc"]
    for _ in range(50_000):
        deep = [deep]
    assert roots_module._chars(deep) == 3


def test_a_folder_skips_a_json_file_nested_too_deep_naming_it(tmp_path: Path) -> None:
    # A 500-deep JSON file broke the folder's call with a RecursionError and no reason.
    (tmp_path / "README.md").write_text("code 7421", encoding="utf-8")
    for depth in (300, 5_000):
        (tmp_path / f"deep{depth}.json").write_text("[" * depth + "]" * depth, encoding="utf-8")
    loaded = Roots.grant([tmp_path], "--allow").read(["."])
    assert loaded.value == {"README.md": "code 7421"}
    assert sorted(line.split(" (")[0] for line in loaded.skipped) == ["deep300.json", "deep5000.json"]
    assert all("nested more than 256 levels deep" in line for line in loaded.skipped)


def test_a_path_refused_beside_a_file_root_does_not_call_that_file_a_folder(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# Demo", encoding="utf-8")
    (tmp_path / "other.md").write_text("# Other", encoding="utf-8")
    roots = Roots([(tmp_path / "README.md").resolve()], "the client's MCP roots")
    with pytest.raises(PathRefused, match="outside the folders and files this server may read"):
        roots.read(["other.md"])


def test_a_path_a_model_ended_with_a_line_break_reads_the_file_it_named(tree: Path) -> None:
    # "a.txt\n" was refused as missing, the break printed raw: the message read as if docs/a.txt did not exist
    roots = Roots.grant([tree], "--allow")
    assert roots.read(["docs/a.txt\n", " b.txt\r\n"]).value == {"docs/a.txt": "alpha", "b.txt": "beta"}
    with pytest.raises(PathRefused, match=r"path 'no\\tpe\.txt' does not exist"):  # a control character shown
        roots.check("no\tpe.txt\n")


@pytest.mark.parametrize(("pattern", "folder"), [("docs/*.txt", "docs"), ("**/*.txt", "."), ("b?.txt", ".")])
def test_a_glob_pattern_is_told_it_is_no_pattern_and_which_folder_to_give(
    tree: Path, pattern: str, folder: str
) -> None:
    # "path docs/*.txt does not exist": an agent took the files to be missing
    with pytest.raises(PathRefused, match=rf"paths are not patterns .*give the folder \({re.escape(folder)}\)"):
        Roots.grant([tree], "--allow").check(pattern)
