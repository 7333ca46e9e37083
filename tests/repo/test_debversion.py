"""version_key() orders Debian versions as dpkg does."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from debian.debian_support import NativeVersion
from hypothesis import given, settings
from hypothesis import strategies as st

from pydebvenv.repo.debversion import version_key

_upstream = st.from_regex(r"[0-9][0-9a-zA-Z.+~]{0,6}", fullmatch=True)
_revision = st.from_regex(r"[0-9a-zA-Z.+~]{1,4}", fullmatch=True)
versions = st.builds(
    lambda epoch, upstream, revision: (f"{epoch}:" if epoch is not None else "") + upstream
    + (f"-{revision}" if revision else ""),
    st.none() | st.integers(0, 3), _upstream, st.none() | _revision)


def _sign(a: object, b: object) -> int:
    return (a > b) - (a < b)  # type: ignore[operator]


@settings(max_examples=2000)
@given(versions, versions)
def test_agrees_with_python_debian(a: str, b: str) -> None:
    assert _sign(version_key(a), version_key(b)) == _sign(NativeVersion(a), NativeVersion(b))


PAIRS = [("1.0", "1.0-0"), ("1.0~rc1", "1.0"), ("1.0", "1.0a"), ("1.0", "1.0.0"),
         ("1.9", "1.10"), ("1:0.1", "2.0"), ("1.0+b1", "1.0.1"), ("1.0-1~bpo1", "1.0-1"),
         ("2.0-1", "2.0-1+deb12u1"), ("1.0~~", "1.0~"), ("a", "1"), ("1.0-a", "1.0-+")]


@pytest.mark.parametrize(("a", "b"), PAIRS)
def test_agrees_with_dpkg(a: str, b: str) -> None:
    if shutil.which("dpkg") is None:
        pytest.skip("dpkg is not installed")
    for op, sign in (("lt", -1), ("eq", 0), ("gt", 1)):
        dpkg = subprocess.run(["dpkg", "--compare-versions", a, op, b],
                              capture_output=True).returncode == 0
        if dpkg:
            assert _sign(version_key(a), version_key(b)) == sign, (a, op, b)
            return
    raise AssertionError(f"dpkg could not compare {a!r} and {b!r}")
