"""ExtraMissing, raised to users when an extra is not installed, pickles and unpickles whole (its `__init__` takes
three arguments: BaseException's rule rebuilt it from the message alone and failed, so a process pool broke)."""

from __future__ import annotations

import pickle

from rlmx.extras import ExtraMissing


def test_extra_missing_round_trips_through_pickle() -> None:
    cause = ModuleNotFoundError("No module named 'uvicorn'", name="uvicorn")
    error = ExtraMissing("rlmx serve", "server", cause)
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is ExtraMissing
    assert str(back) == str(error) and "server" in str(back)
    assert back.name == "uvicorn" and str(back.cause) == str(cause)
