"""Faster forms of the support checks find exactly what their first-written forms did."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Names, possessives, initials and the characters around them that decide what a name is.
name_soup = st.lists(st.sampled_from(["A", "Z", "Jack", "Ma", "U.S.", "AT&T", "GPT-4", "Tesla’s", "Ma's", "O'Neil",
                                      "x", "é", "É", "_", "1", "’", "'", ".", "&", "-", " ", "\n", "(", "“", "Ω"]),
                     max_size=14).map("".join)


@FAST
@given(st.one_of(name_soup, st.text(max_size=40)))
def test_name_pattern_finds_what_the_look_behind_first_pattern_did(text):
    from dsgen.support import _NAME_TOKEN

    first_written = re.compile(r"(?<![\w’'])[A-Z][\w’'.&-]*\w|(?<![\w’'])[A-Z]\b")
    assert [m.span() for m in _NAME_TOKEN.finditer(text)] == [m.span() for m in first_written.finditer(text)]
