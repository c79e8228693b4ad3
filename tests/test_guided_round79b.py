"""Round 79b: "which X has the most Y" is answered by code only when the text gives a count of Y. Items that are
patterns (`Files: *` is every file no other stanza lists; `src/*`, `docs/`) stand for many things each, and an amount
such as "10+" is no number to add: the stanzas or rows are quoted instead of a confident count. Every text here is
made up; the reader is a stub whose reply would be wrong."""

from __future__ import annotations

from collections.abc import Callable

from rlmx.lm.guided_cells import build_index, guided_answer


def replying(text: str) -> Callable[[list[str]], list[str]]:
    return lambda prompts: [text] * len(prompts)


def first_line(result: dict[str, object]) -> str:
    return str(result["answer"]).split("\n")[0]


def copyright_text(*stanzas: tuple[str, str]) -> str:
    head = "Format: https://example.org/copyright-format/1.0/\nUpstream-Name: gadget\n\n"
    body = "".join(f"Files: {files}\nCopyright: 2020 Someone\nLicense: {licence}\n\n" for files, licence in stanzas)
    texts = "".join(f"License: {name}\n Terms of {name}.\n\n" for name in dict.fromkeys(n for _, n in stanzas))
    return head + body + texts


def assert_quoted(result: dict[str, object], *lines: str) -> None:
    assert result["kind"] == "evidence"
    assert first_line(result).startswith("No short answer could be verified")
    for line in lines:
        assert line in str(result["answer"])


# --- DEP-5 Files fields -----------------------------------------------------------------------------------------


def test_files_star_is_no_single_file_so_the_stanzas_are_quoted() -> None:
    text = copyright_text(("*", "GPL-3+"), ("m4/a.m4 m4/b.m4 m4/c.m4", "FSFAP"))
    result = guided_answer(build_index([("copyright", text)]), "Which license covers the most files?", replying("X"))
    assert first_line(result) != "FSFAP"
    assert_quoted(result, "Files: *", "Files: m4/a.m4 m4/b.m4 m4/c.m4", "patterns")


def test_a_folder_or_a_bracket_glob_among_the_files_is_a_pattern_too() -> None:
    for pattern in ("docs/", "lib/[ab].c", "po/?.po"):
        text = copyright_text((pattern, "MIT"), ("a.c b.c", "ISC"), ("c.c", "Zlib"))
        result = guided_answer(
            build_index([("copyright", text)]), "Which license covers the most files?", replying("X")
        )
        assert_quoted(result, f"Files: {pattern}")


def test_files_fields_of_plain_names_are_still_counted() -> None:
    text = copyright_text(("a.c", "MIT"), ("b.c c.c d.c", "ISC"), ("e.c f.c", "Zlib"))
    result = guided_answer(build_index([("copyright", text)]), "Which license covers the most files?", replying("X"))
    assert result["kind"] == "count"
    assert first_line(result) == "ISC"
    assert "ISC (3)" in str(result["answer"])


def test_counting_stanzas_asked_for_is_unchanged_by_their_patterns() -> None:
    # "the most Files stanzas" counts stanzas, which the text does give, globs or not
    text = copyright_text(("*", "MIT"), ("src/*", "ISC"), ("lib/*", "ISC"))
    result = guided_answer(
        build_index([("copyright", text)]), "Which license is used by the most Files stanzas?", replying("X")
    )
    assert result["kind"] == "count"
    assert first_line(result) == "ISC"


# --- record files: a list column, one value a row, amounts summed ------------------------------------------------


def table(header: str, rows: list[str]) -> str:
    filler = [f"pkg{i:02d},Zlib,z{i:02d}.c,{i % 3}" for i in range(20)]  # enough rows for a record file
    return "\n".join([header, *rows, *filler]) + "\n"


def test_a_list_column_of_globs_is_quoted_not_counted() -> None:
    text = table("package,license,files,bugs", ['alpha,MIT,"src/*,doc/*",1', 'beta,ISC,"a.c,b.c,c.c,d.c",2'])
    result = guided_answer(build_index([("pkgs.csv", text)]), "Which license covers the most files?", replying("X"))
    assert first_line(result) not in ("ISC", "Zlib")
    assert_quoted(result, "src/*", "patterns")


def test_one_glob_a_row_is_no_file_a_row() -> None:
    text = table("package,license,files,bugs", ["alpha,MIT,src/*,1", "beta,ISC,b.c,2"])
    result = guided_answer(build_index([("pkgs.csv", text)]), "Which license covers the most files?", replying("X"))
    assert first_line(result) != "Zlib"  # twenty rows of one file each would win
    assert_quoted(result, "src/*")


def test_plain_names_a_row_are_still_counted() -> None:
    text = table("package,license,files,bugs", ["alpha,MIT,a.c,1", "beta,ISC,b.c,2"])
    result = guided_answer(build_index([("pkgs.csv", text)]), "Which license covers the most files?", replying("X"))
    assert result["kind"] == "count"
    assert first_line(result) == "Zlib"


def test_an_amount_that_is_no_plain_number_is_not_summed() -> None:
    text = table("package,license,files,bugs", ["alpha,MIT,a.c,40+", "beta,ISC,b.c,2"])
    result = guided_answer(build_index([("pkgs.csv", text)]), "Which license has the most bugs?", replying("X"))
    assert first_line(result) != "Zlib"  # 40+ left out, Zlib's 19 would win
    assert_quoted(result, "'40+'")


def test_cells_with_no_number_are_said_to_be_left_out_of_a_sum() -> None:
    text = table("package,license,files,bugs", ["alpha,MIT,a.c,n/a", "beta,ISC,b.c,50"])
    result = guided_answer(build_index([("pkgs.csv", text)]), "Which license has the most bugs?", replying("X"))
    assert result["kind"] == "count"
    assert first_line(result) == "ISC"
    assert "1 cell(s) giving no number left out: 'n/a'" in str(result["answer"])
