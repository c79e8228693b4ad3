"""The newcomer's path (round 79): a document that loads to no text is an empty context (exit 2, as an empty text
file is), not a silent NOT FOUND; a model named with no key for it says which model and where it came from, with
the OpenAI model it is close to."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripting import run_cli

docx = pytest.importorskip("docx", reason="DOCX support needs the docx extra")


def _no_text_docx(path: Path) -> Path:
    document = docx.Document()
    document.add_paragraph("")  # scanned pages pasted in as pictures read as this: paragraphs with no words
    document.add_paragraph("   ")
    document.save(str(path))
    return path


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("scan.docx", None),
        ("page.html", "<html><head><title></title><script>var x = 1;</script></head><body> </body></html>"),
        ("rows.json", "[]"),
        ("blank.json", '[[], {}, null, "  "]'),
    ],
)
def test_a_document_with_no_text_is_an_empty_context(tmp_path: Path, name: str, content: str | None) -> None:
    path = tmp_path / name
    if content is None:
        _no_text_docx(path)
    else:
        path.write_text(content, encoding="utf-8")
    done = run_cli("ask", "What is the total?", "--context", str(path), tmp_path=tmp_path)
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "the context is empty" in done.stderr and name in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("table.csv", "name,age\nada,36\n"),
        ("one.csv", "alice,30,london\n"),  # one line: its header, or its one record
        ("deps.json", '{"dependencies": {"left-pad": {}, "is-odd": {}}}'),  # the data is in the keys
        ("people.json", '{"alice": null, "bob": null}'),
    ],
)
def test_a_document_with_text_is_not_called_empty(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    done = run_cli("ask", "q", "--context", str(path), "--scripted", _script(tmp_path), tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "empty" not in done.stderr


def _script(tmp_path: Path) -> str:
    path = tmp_path / "script.json"
    path.write_text('["```repl\\nFINAL(len(context))\\n```"]', encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("args", "env", "source"),
    [((), {"RLMX_MODEL": "gtp-5-mini"}, "RLMX_MODEL"), (("--model", "gtp-5-mini"), {}, "--model")],
)
def test_a_model_without_a_key_is_named_with_its_source_and_the_name_it_is_close_to(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str], source: str
) -> None:
    (tmp_path / "notes.txt").write_text("some text", encoding="utf-8")
    done = run_cli("ask", "q", "--context", str(tmp_path / "notes.txt"), *args, tmp_path=tmp_path, env=env)
    assert done.returncode == 2, done.stderr
    assert f"(model gtp-5-mini, from {source}; did you mean `gpt-5-mini`?)" in done.stderr, done.stderr
