"""Token estimates of text shapes PDFs and plain-text reports give (audit 80): prose whose spaces text extraction
lost ("Recursivelanguagemodelskeep...") was one 'word' a line, estimated at 0.18x of cl100k, so the forecast's
high figure stayed under a third of the real count and its max_tokens warning did not fire; a table of contents'
dot leaders and `====` rules, a token per two characters, came out 4.8x and 6.6x over; and runs of other punctuation
(`]]]]`, quotes) or NUL padding, which cl100k does not merge, must not be taken for such rules (audit 80b: 0.12x).
The cl100k counts were measured once with tiktoken's offline cl100k (`encode(text, disallowed_special=())`) and are
written down."""

from __future__ import annotations

import pytest

from rlmx.budget import Budget
from rlmx.context import prepare_all
from rlmx.lm.scripted import ScriptedLM
from rlmx.mcp.service import forecast
from rlmx.rlm import RLM
from rlmx.sandbox.frames import RESERVED_NAMES
from test_dense_ascii_estimates_round79 import _PROSE

SHAPES = {
    "unspaced_prose": (_PROSE.replace(" ", "") + "\n") * 200,
    "dot_leaders": "".join(f"Chapter {i} {'.' * 70} {i * 7}\n" for i in range(1, 400)),
    "rules": ("=" * 80 + "\nsome heading text here\n") * 500,
    # cl100k merges runs of only a few characters; these stay a token per 1-2 (NUL: one each), audit 80b
    "nul_padded_records": "".join(f"REC{i:05d}" + "\x00" * 56 for i in range(400)),
    "nested_arrays": "".join("[" * 24 + f'"v{i}"' + "]" * 24 + ",\n" for i in range(400)),
    "quote_runs": "".join(f"Item {i} " + "'" * 20 + " note " + "`" * 20 + "\n" for i in range(400)),
}
CL100K = {
    "unspaced_prose": 19_800,
    "dot_leaders": 3_449,
    "rules": 3_500,
    "nul_padded_records": 23_600,
    "nested_arrays": 11_200,
    "quote_runs": 9_600,
}


@pytest.mark.parametrize("shape", sorted(CL100K))
def test_the_estimate_is_near_cl100k_and_the_forecasts_high_figure_above_it(shape: str) -> None:
    real = CL100K[shape]
    (context,) = prepare_all(SHAPES[shape], None, RESERVED_NAMES)
    assert 0.6 * real <= context.approx_tokens <= 2 * real, (shape, context.approx_tokens, real)
    reply = forecast(RLM(ScriptedLM(["FINAL(1)"])), [context])
    assert reply["context_tokens_high"] >= real, (shape, reply["context_tokens_high"], real)


def test_a_forecast_warns_when_one_read_of_unspaced_prose_is_over_max_tokens() -> None:
    (context,) = prepare_all(SHAPES["unspaced_prose"], None, RESERVED_NAMES)
    reply = forecast(
        RLM(ScriptedLM(["FINAL(1)"]), budget=Budget(max_tokens=int(CL100K["unspaced_prose"] * 0.9))), [context]
    )
    assert "max_tokens" in reply["warning"]
