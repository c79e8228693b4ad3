from __future__ import annotations

from rlmx.protocol import ProseFinal, extract_cells, find_prose_final, strip_code


def test_extracts_repl_python_and_py_fences_in_order() -> None:
    text = "a\n```repl\nx = 1\n```\nb\n```python\ny = 2\n```\n```py\nz = 3\n```\n```js\nno()\n```"
    assert extract_cells(text) == ["x = 1", "y = 2", "z = 3"]


def test_unclosed_last_fence_runs_to_the_end() -> None:
    assert extract_cells("```repl\nprint(1)\nprint(2)") == ["print(1)\nprint(2)"]


def test_empty_cells_are_skipped() -> None:
    assert extract_cells("```repl\n\n```") == []


def test_prose_final_keeps_nested_parentheses() -> None:
    found = find_prose_final("Done.\nFINAL(f(x) = (1, 2) and g(y))\n")
    assert found == ProseFinal("final", "f(x) = (1, 2) and g(y)")


def test_prose_final_ignores_parentheses_inside_quotes() -> None:
    assert find_prose_final('FINAL("a ) b")') == ProseFinal("final", "a ) b")


def test_prose_final_var_takes_a_name() -> None:
    assert find_prose_final("FINAL_VAR(result)") == ProseFinal("final_var", "result")
    assert find_prose_final("FINAL_VAR('result')") == ProseFinal("final_var", "result")


def test_final_inside_code_fences_is_not_prose() -> None:
    assert find_prose_final("```repl\nFINAL(3)\n```") is None


def test_final_must_start_a_line() -> None:
    assert find_prose_final("I will call FINAL(x) later.") is None


def test_unbalanced_final_is_ignored() -> None:
    assert find_prose_final("FINAL(oops") is None


def test_strip_code_removes_fenced_blocks() -> None:
    assert strip_code("Answer: 7\n```repl\nprint(7)\n```") == "Answer: 7"
