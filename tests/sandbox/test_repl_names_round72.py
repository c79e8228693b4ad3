"""Round 72: the names and objects the REPL provides stay intact whatever a cell sets on them. `workspace_dir` is put
back after a cell rebinds or deletes it, as `history` is; `answer` takes no attributes, as a dict does not, and the
worker reads it past any the model's own dict was given; an attribute a cell sets on its sys.stdout or sys.stderr, or
on the capture behind them, never takes the place of what the worker calls between cells. A Decimal crosses with
every digit it holds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlmx import RLM, Budget
from rlmx.lm import ScriptedLM
from rlmx.sandbox import SubCall, SubCallResult
from rlmx.sandbox.subprocess import SubprocessSandbox
from scripting import repl


async def _no_calls(call: SubCall) -> list[SubCallResult]:
    raise AssertionError("no cell here makes a sub-call")


async def _run(box: SubprocessSandbox, code: str) -> tuple[str, str]:
    result = await box.run_cell(code, calls=_no_calls, timeout=20)
    assert result.status != "restarted", result.error  # the worker died: every variable lost
    return result.status, result.feedback()


# --- workspace_dir: put back like every variable the REPL provides ---------------------------------------------------

_READ_NOTES = "import os\nwith open(os.path.join(workspace_dir, 'notes.txt')) as f:\n    FINAL(f.read())"


@pytest.mark.parametrize("tier", ["subprocess", "inprocess"])
@pytest.mark.parametrize("cell", ["workspace_dir = 'out'", "del workspace_dir", "globals().clear()"])
def test_workspace_dir_is_back_after_a_cell_rebinds_or_deletes_it(tmp_path: Path, tier: str, cell: str) -> None:
    # It was bound as a model variable by the setup cell: the next cell met a NameError or opened out/notes.txt.
    notes = tmp_path / "notes.txt"
    notes.write_text("hello file")
    lm = ScriptedLM([repl(cell), repl(_READ_NOTES), repl("FINAL('gave up')")])
    result = RLM(lm, files=[notes], sandbox=tier).completion("q", context="abc")
    said = lm.calls[1][-1]["content"]
    assert result.answer == "hello file", said
    assert "`workspace_dir` was" in said and "it is back as rlmx set it" in said


def test_workspace_dir_is_no_variable_of_the_models(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("x")
    lm = ScriptedLM([repl("mine = 1\nFINAL_VAR('nothing')"), repl("FINAL('done')")])
    RLM(lm, files=[notes]).completion("q", context="abc")
    assert "Defined: mine." in lm.calls[1][-1]["content"]


# --- answer: a dict, attributes and all ------------------------------------------------------------------------------


async def test_answer_attributes_are_an_error_as_on_a_dict_and_say_how_to_write_them(
    sandbox: SubprocessSandbox,
) -> None:
    # `answer.ready = True` did nothing and said nothing: the run went on as if the model had not finished.
    status, said = await _run(sandbox, "answer.content = 'The total is 42'")
    assert status == "error" and "AttributeError: 'dict' object has no attribute 'content'" in said, said
    assert "answer['content'] = ..." in said
    status, said = await _run(sandbox, "del answer.ready")
    assert status == "error" and "AttributeError" in said, said
    status, said = await _run(sandbox, "object.__setattr__(answer, 'ready', True)")
    assert status == "error" and "AttributeError" in said, said


async def test_answer_get_set_by_a_cell_breaks_no_later_cell(sandbox: SubprocessSandbox) -> None:
    # The instance attribute took the place of dict.get in the worker's reads: every later cell failed.
    status, said = await _run(sandbox, "answer.get = None")
    assert status == "error" and "'dict' object attribute 'get' is read-only" in said, said
    assert await _run(sandbox, "x = 1\nprint('ran', x)") == ("ok", "ran 1")
    result = await sandbox.run_cell("answer['content'] = 'fine'\nanswer['ready'] = True", calls=_no_calls, timeout=20)
    assert (result.status, result.answer["content"], result.answer["ready"]) == ("ok", "fine", True)


async def test_the_models_own_answer_dict_is_read_past_an_attribute_it_was_given(sandbox: SubprocessSandbox) -> None:
    code = "class D(dict):\n    pass\nanswer = D(content='mine', ready=True)\nanswer.get = None"
    result = await sandbox.run_cell(code, calls=_no_calls, timeout=20)
    assert (result.status, result.answer["content"], result.answer["ready"]) == ("ok", "mine", True), result.error


# --- the cell's streams: no attribute stands in for what the worker calls --------------------------------------------


@pytest.mark.parametrize(
    "cell",
    [
        "import sys\nsys.stdout.point = None",
        "import sys\nsys.stderr.point = print",
        "import sys\nsys.stdout.__dict__['point'] = None",
        "import sys\ntype(sys.stdout).point = None",
    ],
)
async def test_a_point_set_on_a_cell_stream_leaves_the_worker_and_the_output_as_they_were(
    sandbox: SubprocessSandbox, cell: str
) -> None:
    # sys.stdout.point = None ended the worker (exit 2, every variable lost); sys.stderr.point = print printed the
    # worker's captures into every later cell's output, and lost its stderr.
    await _run(sandbox, "keep = 41")
    await _run(sandbox, cell)
    status, said = await _run(sandbox, "import sys\nprint('visible', keep)\nprint('errline', file=sys.stderr)")
    assert (status, said) == ("ok", "visible 41\n[stderr]\nerrline"), said


@pytest.mark.parametrize(
    "cell",
    [
        "sys.stdout.target.value = None",
        "sys.stderr.target.write = None",
        "sys.stdout.buffer.flush = None\nsys.stdout.target.buffer.write = None",
        "sys.stdout.target.pull.__self__.end = None",
    ],
)
async def test_the_capture_behind_a_cell_stream_takes_no_attribute(sandbox: SubprocessSandbox, cell: str) -> None:
    # The worker reads each capture after its cell (`value`, `write` for its notes) and calls its fd-1 drain: an
    # attribute set on one of them in the cell took the method's place there.
    await _run(sandbox, "keep = 41")
    status, said = await _run(sandbox, "import sys\n" + cell)
    assert status == "error" and "AttributeError" in said, said
    status, said = await _run(sandbox, "import os\n_ = os.write(1, b'raw\\n')\nprint('visible', keep)")
    assert (status, said) == ("ok", "raw\nvisible 41"), said


def test_attributes_a_cell_sets_on_its_stream_stay_as_on_a_real_one() -> None:
    # sys.stdout is the cell's stream: code may set attributes on it (a real TextIOWrapper takes them), as before.
    lm = ScriptedLM([repl("import sys\nsys.stdout.mark = 'kept'"), repl("FINAL(sys.stdout.mark)")])
    assert RLM(lm).completion("q", context="abc").answer == "kept"


# --- Decimal: every digit, or its text -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("literal", "answer"),
    [
        ("Decimal('12345678901234567.89')", "12345678901234567.89"),
        ("{'total': Decimal('98765432109876543.21')}", json.dumps({"total": "98765432109876543.21"})),
        ("[Decimal('0.1000000000000000000001')]", '["0.1000000000000000000001"]'),
        ("Decimal('1.10') + Decimal('2.20')", "3.3"),  # a float holds its value: a number, as before
        ("{'n': Decimal('4.00')}", '{"n": 4}'),
    ],
)
def test_a_final_decimal_keeps_every_digit(literal: str, answer: str) -> None:
    # Converted to a float whatever it held: 12345678901234567.89 became 1.2345678901234568e+16, without a word.
    lm = ScriptedLM([repl(f"from decimal import Decimal\nFINAL({literal})")])
    assert RLM(lm).completion("q", context="abc").answer == answer


def test_answer_content_decimal_keeps_every_digit() -> None:
    code = "from decimal import Decimal\nanswer['content'] = Decimal('0.1000000000000000000001')\nanswer['ready'] = 1"
    assert RLM(ScriptedLM([repl(code)])).completion("q", context="abc").answer == "0.1000000000000000000001"


def test_a_decimal_a_number_field_cannot_hold_is_refused_and_the_model_sees_it() -> None:
    schema = {"type": "object", "properties": {"total": {"type": "number"}}, "required": ["total"]}
    lm = ScriptedLM(
        [repl("from decimal import Decimal\nSUBMIT(total=Decimal('12345678901234567.89'))"), repl("SUBMIT(total=1.5)")]
    )
    result = RLM(lm, budget=Budget(max_iterations=2)).completion("sum?", context="c", output=schema)
    said = lm.calls[1][-1]["content"]
    assert result.iterations == 2 and "12345678901234567.89" in said, said
