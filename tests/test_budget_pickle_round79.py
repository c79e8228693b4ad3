"""A budget refusal crosses a process boundary whole: pickled and rebuilt with its limit, detail and flags."""

from __future__ import annotations

import pickle

from rlmx.budget import BudgetExhausted


def test_budget_refusal_survives_pickling_with_its_fields() -> None:
    refusal = BudgetExhausted("max_usd", "the next call could cost $0.40; $0.10 of max_usd=1.0 is left")
    refusal.unsent = True
    back = pickle.loads(pickle.dumps(refusal))
    assert type(back) is BudgetExhausted
    assert (back.limit, back.detail, back.unsent) == (refusal.limit, refusal.detail, True)
    assert str(back) == str(refusal)
