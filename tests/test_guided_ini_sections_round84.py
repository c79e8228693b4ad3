"""INI sections (review 84 G): a comment line under a section header keeps the section its own, and sections
written with no blank line between them are still split at each header: a key is under the nearest header above."""

from __future__ import annotations

from guided_stub import ask, first_line

COMMENTED = "[cache]\nttl = 300\n\n[session]\n; seconds before logout\nttl = 1800\n"
PACKED = "[cache]\nttl = 300\n[session]\nttl = 1800\n"


def test_a_comment_under_a_header_does_not_join_it_to_the_section_above() -> None:
    assert first_line(ask(COMMENTED, "What is the cache ttl?", "1800")) != "1800"
    assert first_line(ask(COMMENTED, "What is the cache ttl?", "300")) == "300"
    got = ask(COMMENTED, "What is the session ttl?", "1800")
    assert first_line(got) == "1800" and "under '[session]'" in got


def test_sections_with_no_blank_line_between_are_split_at_each_header() -> None:
    got = ask(PACKED, "What is the session ttl?", "1800")
    assert first_line(got) == "1800" and "under '[session]'" in got
    assert first_line(ask(PACKED, "What is the cache ttl?", "1800")) != "1800"
    assert first_line(ask(PACKED, "What is the cache ttl?", "300")) == "300"
