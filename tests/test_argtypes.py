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
        (argtypes.size, ("10M", 10 * 2**20), "0", "must be at least 1 byte"),
        (argtypes.size, ("1GiB", 2**30), "lots", "expected a size like 33554432 or 32M"),
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


def test_every_size_flag_reads_sizes_the_same_way() -> None:
    # `rlmx ask --help` gave --max-context-bytes's default as "1 GiB" and refused "10M" and "1GiB" ("expected a whole
    # number"), which --max-request-bytes of `rlmx serve` took.
    from rlmx.cli import build_parser

    asked = build_parser().parse_args(["ask", "q", "--max-context-bytes", "10M"])
    served = build_parser().parse_args(["serve", "--max-request-bytes", "1GiB"])
    assert (asked.max_context_bytes, served.max_request_bytes) == (10 * 2**20, 2**30)
