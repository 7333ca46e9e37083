"""Relationship fields: the grammar table, and dpkg as the judge of the lax (inspect) reading."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reader_fixtures.build import CONTROL, control_tar, hand_deb

from pydebvenv.debfile.relations import DPKG_RELATIONS, relation_problem

VALID = [
    ("Depends", "foo"), ("Depends", "foo (>= 1.0)"), ("Depends", "foo(>=1)"),
    ("Depends", "aa | bb (<< 2:1.0-1~bpo1), cc:any"), ("Depends", " foo:amd64 ( = 1 ) "),
    ("Depends", "foo (>= 1:2:3)"), ("Depends", "python3.11, libc6 (>= 2.36)"),
    ("Depends", "foo\n (>= 1),\n bar"), ("Recommends", "xx | yy"), ("Enhances", "xx"),
    ("Provides", "foo (= 1.0)"), ("Provides", "foo"), ("Breaks", "old (<< 2)"),
    ("Built-Using", "gcc-12 (= 12.2.0-14)"), ("Pre-Depends", "dpkg (>= 1.17.14)"),
]
INVALID = [
    ("Depends", "foo (>> "), ("Depends", "bar,,"), ("Depends", "foo,"), ("Depends", ",foo"),
    ("Depends", "foo | "), ("Depends", "foo [amd64]"), ("Depends", "foo <!nocheck>"),
    ("Depends", "foo (=)"), ("Depends", "foo (== 1)"), ("Depends", "foo:"),
    ("Depends", "foo  bar"), ("Depends", "foo (>= 1) (<< 2)"), ("Depends", "foo (>= a1)"),
    ("Depends", "foo (>= 1.0 beta)"), ("Depends", "foo (>= 1-)"), ("Depends", "-foo"),
    ("Depends", "foo:any:any"), ("Conflicts", "aa | bb"), ("Provides", "aa | bb"),
    ("Depends", "foo ()"), ("Depends", "foo (!= 1)"), ("Depends", "foo (=> 1)"),
]
POLICY_ONLY = [  # dpkg takes these, Policy (what pydebvenv writes) does not
    ("Depends", "Foo"), ("Depends", "f"), ("Depends", "foo_bar"), ("Depends", "foo (< 1)"),
    ("Provides", "foo (>= 1)"), ("Built-Using", "gcc (>= 12)"), ("Built-Using", "gcc"),
    ("Depends", "foo:Any"), ("Depends", "foo (1.0)"), ("Depends", ""),
]


@pytest.mark.parametrize(("field", "value"), VALID)
def test_valid(field: str, value: str) -> None:
    assert relation_problem(field, value) is None
    assert relation_problem(field, value, policy=False) is None


@pytest.mark.parametrize(("field", "value"), INVALID)
def test_invalid(field: str, value: str) -> None:
    problem = relation_problem(field, value)
    assert problem is not None and "\n" not in problem
    assert relation_problem(field, value, policy=False) is not None


@pytest.mark.parametrize(("field", "value"), POLICY_ONLY)
def test_policy_is_stricter_than_dpkg(field: str, value: str) -> None:
    assert relation_problem(field, value) is not None
    if field != "Built-Using":  # dpkg does not parse Built-Using at all
        assert relation_problem(field, value, policy=False) is None


def _dpkg_accepts(tmp_path: Path, field: str, value: str) -> bool:
    control = CONTROL.replace("Depends: python3.11, libc6 (>= 2.36)\n", f"{field}: {value}\n")
    deb = tmp_path / "rel.deb"
    deb.write_bytes(hand_deb(control=control_tar(control), compression="none"))
    # naming the field makes dpkg-deb parse it as dpkg -i does (rc 2 on a parse error)
    result = subprocess.run(["dpkg-deb", "-f", str(deb), field], capture_output=True,
                            check=False)
    assert result.returncode in (0, 2), result.stderr
    return result.returncode == 0


@pytest.mark.dpkg
@pytest.mark.parametrize(("field", "value"), VALID + INVALID + POLICY_ONLY)
def test_dpkg_agrees_with_the_table(tmp_path: Path, field: str, value: str) -> None:
    if field in DPKG_RELATIONS:
        assert _dpkg_accepts(tmp_path, field, value) == (
            relation_problem(field, value, policy=False) is None)


_WS = st.sampled_from(["", " ", "\t", "  "])
_NAMES = st.sampled_from(["foo", "libc6", "a+b", "x.y-z", "Foo", "f", "foo_bar", "-foo", "1a",
                          "", "f!o"])
_ARCH = st.sampled_from([None, "any", "native", "amd64", "Any", "", "-x", "a_b"])
_OP = st.sampled_from([None, "<<", "<=", "=", ">=", ">>", "<", ">", "==", "=>", "", "!="])
_VERSION = st.sampled_from(["1.0", "1:2.0-1", "2.0~rc1+dfsg-3", "a1", "1.0 beta", "", "~1", "1-",
                            "1:", "1.0-1-2", "1_0", "2:3:4", "0", "1:a"])
_NOISE = st.text(alphabet=" abc01:(),|<>=~-+._[]!", max_size=12)


@st.composite
def _alternative(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 9)) == 0:
        return draw(_NOISE)
    text = draw(_WS) + draw(_NAMES)
    arch = draw(_ARCH)
    if arch is not None:
        text += ":" + arch
    op = draw(_OP)
    if op is not None:
        text += f"{draw(_WS)}({draw(_WS)}{op}{draw(_WS)}{draw(_VERSION)}{draw(_WS)})"
    return text + draw(_WS)


_ITEM = st.lists(_alternative(), min_size=1, max_size=3).map("|".join)
_VALUE = st.lists(_ITEM, min_size=1, max_size=3).map(",".join)

@pytest.mark.dpkg
@settings(max_examples=int(os.environ.get("PYDEBVENV_FUZZ_EXAMPLES", "300")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(DPKG_RELATIONS), value=_VALUE)
def test_dpkg_agrees_on_generated_relations(tmp_path: Path, field: str, value: str) -> None:
    value = value.strip(" \t")  # a control file's value never starts or ends with blanks
    if not value:
        return
    ours = relation_problem(field, value, policy=False) is None
    assert _dpkg_accepts(tmp_path, field, value) == ours, (field, value)
    if relation_problem(field, value) is None:
        assert ours  # what Policy allows, dpkg takes
