"""parse_control: strict lines, and the values python-debian's deb822 gives, one slice each."""

from __future__ import annotations

import pytest
from debian import deb822
from hypothesis import given, settings
from hypothesis import strategies as st

from pydebvenv.debfile.controlcheck import parse_control
from pydebvenv.errors import InspectError

HEAD = "Package: p\nVersion: 1\nArchitecture: all\n"
_TEXT = st.text(alphabet="ab :.é\t", max_size=8)


@st.composite
def _stanza(draw: st.DrawFn) -> str:
    lines = [HEAD.rstrip("\n")]
    for number in range(draw(st.integers(0, 4))):
        lines.append(f"X-F{number}:{draw(_TEXT)}")
        for _ in range(draw(st.integers(0, 3))):
            # a continuation line that is not blank (deb822 would end the stanza there)
            lines.append(draw(st.sampled_from([" ", "\t", "  "])) + draw(_TEXT) + "x"
                         + draw(_TEXT))
    return "\n".join(lines) + "\n" * draw(st.integers(1, 3))


@settings(max_examples=500, deadline=None)
@given(text=_stanza())
def test_values_are_deb822s(text: str) -> None:
    assert parse_control(text.encode()) == dict(deb822.Deb822(text).items())


def test_a_blank_continuation_line_keeps_the_fields_after_it() -> None:
    # dpkg reads " " as part of X-A's value and goes on (dpkg-deb -f lists X-B); deb822
    # would stop the stanza there and lose X-B
    fields = parse_control((HEAD + "X-A: x\n \nX-B: y\n").encode())
    assert fields["X-A"] == "x\n " and fields["X-B"] == "y"


@pytest.mark.parametrize(("text", "what"), [
    (HEAD + "\nX-B: y\n", "line 4 '' is blank"),
    (" cont\n" + HEAD, "line 1 ' cont' is a continuation"),
    (HEAD + "Version: 2\n", "duplicate 'Version'"),
    (HEAD + "# comment\n", "is not 'Field: value'"),
    ("Package: p\n", "no 'Version' field"),
    (HEAD.rstrip("\n"), "lacks its final newline"),
    ("\n \n", "is empty"),
])
def test_strict_lines(text: str, what: str) -> None:
    with pytest.raises(InspectError, match=what):
        parse_control(text.encode())
