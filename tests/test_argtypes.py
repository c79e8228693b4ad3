"""The flag value parsers every command shares: good values through, bad ones a usage error that says why."""

from __future__ import annotations

import argparse

import pytest

from rlmx.commands import argtypes


@pytest.mark.parametrize(
    ("parse", "good", "bad", "says"),
    [
        (argtypes.count, ("0", 0), "-1", "must be 0 or more"),
        (argtypes.positive_int, ("3", 3), "0", "must be at least 1"),
        (argtypes.positive_number, ("0.5", 0.5), "0", "must be a positive number"),
        (argtypes.positive_number, ("2", 2.0), "inf", "must be a finite number"),
        (argtypes.seconds, ("0", 0.0), "-2", "must be 0 or more seconds"),
        (argtypes.days, ("1.5", 1.5), "nan", "must be a finite number"),
        (argtypes.count, ("7", 7), "seven", "expected a whole number"),
        (argtypes.days, ("0", 0.0), "soon", "expected a number of days"),
    ],
)
def test_parsers(parse: object, good: tuple[str, float], bad: str, says: str) -> None:
    assert callable(parse)
    assert parse(good[0]) == good[1]
    with pytest.raises(argparse.ArgumentTypeError, match=says):
        parse(bad)


def test_port() -> None:
    assert argtypes.port("0") == 0 and argtypes.port("65535") == 65535
    for bad, says in (("65536", "between 0 and 65535"), ("http", "expected a port number")):
        with pytest.raises(argparse.ArgumentTypeError, match=says):
            argtypes.port(bad)
