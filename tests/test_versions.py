"""PEP 440 -> Debian version mapping (order checked against real dpkg) and package names."""

from __future__ import annotations

import itertools
import shlex
import subprocess

import pytest
from debian.debian_support import Version as DebVersion
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from packaging.version import Version

from pydebvenv.errors import ConfigError
from pydebvenv.project.versions import debian_package_name, debian_version, release_suffix
from pydebvenv.target import RELEASES


def _version_text(epoch: int, release: list[int], pre: tuple[str, int] | None,
                  post: int | None, dev: int | None, local: list[str]) -> str:
    text = (f"{epoch}!" if epoch else "") + ".".join(map(str, release))
    if pre:
        text += f"{pre[0]}{pre[1]}"
    if post is not None:
        text += f".post{post}"
    if dev is not None:
        text += f".dev{dev}"
    if local:
        text += "+" + ".".join(local)
    return text


_small = st.integers(min_value=0, max_value=12)
_local_segment = st.one_of(
    st.integers(min_value=0, max_value=120).map(str),
    st.text(alphabet="abcz019", min_size=1, max_size=4),
)


def _versions(release_length: int) -> st.SearchStrategy[str]:
    """PEP 440 versions whose release has ``release_length`` components."""
    return st.builds(
        _version_text,
        st.sampled_from([0, 0, 0, 1, 2]),
        st.lists(_small, min_size=release_length, max_size=release_length),
        st.none() | st.tuples(st.sampled_from(["a", "b", "rc"]), _small),
        st.none() | _small,
        st.none() | _small,
        st.one_of(st.just([]), st.lists(_local_segment, min_size=1, max_size=3)),
    )


# One release length per comparison: the release is kept as written, and dpkg can only
# agree with PEP 440 on versions of one length (the caveat of docs/versions.md, pinned by
# test_mixed_release_lengths_are_the_documented_caveat below).
same_length_versions = st.integers(min_value=1, max_value=4).flatmap(
    lambda n: st.lists(_versions(n), min_size=2, max_size=8))


def _dpkg_relations(pairs: list[tuple[str, str, str]]) -> list[str]:
    """Run every ``dpkg --compare-versions a op b`` in one shell; return the failing ones."""
    script = "\n".join(
        f"dpkg --compare-versions {shlex.quote(a)} {op} {shlex.quote(b)} || echo {i}"
        for i, (a, op, b) in enumerate(pairs)
    )
    proc = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True)
    assert proc.stderr == "", proc.stderr  # dpkg warns on stderr about malformed versions
    return [" ".join(pairs[int(i)]) for i in proc.stdout.split()]


def _op(a: Version, b: Version) -> str:
    return "lt" if a < b else "gt" if a > b else "eq"


@pytest.mark.dpkg
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(same_length_versions)
def test_order_matches_dpkg_and_python_debian(texts: list[str]) -> None:
    parsed = [Version(t) for t in texts]
    mapped = [debian_version(t) for t in texts]
    pairs = []
    for (pa, ma), (pb, mb) in itertools.combinations(zip(parsed, mapped, strict=True), 2):
        pairs.append((ma, _op(pa, pb), mb))
        # python-debian's independent implementation of the same comparison
        deb = (DebVersion(ma) > DebVersion(mb)) - (DebVersion(ma) < DebVersion(mb))
        assert deb == {"lt": -1, "eq": 0, "gt": 1}[_op(pa, pb)], (ma, mb)
    # each mapped string is a valid version for dpkg (no warning) and equal to itself
    pairs += [(m, "eq", m) for m in mapped]
    assert _dpkg_relations(pairs) == []


@pytest.mark.dpkg
def test_mixed_release_lengths_are_the_documented_caveat() -> None:
    """PEP 440 pads releases with zeros (1.0 == 1.0.0); dpkg compares what is written.

    Same length: PEP 440's order.  Mixed lengths misorder exactly as docs/versions.md says.
    """
    assert _dpkg_relations([
        (debian_version("1.0.0"), "lt", debian_version("1.0.0.post1")),
        (debian_version("1.0.post1"), "lt", debian_version("1.0.1")),
        (debian_version("1.0.0"), "gt", debian_version("1.0")),  # PEP 440: equal
        # PEP 440: 1.0.post1 > 1.0.0, but dpkg puts "1.0+post1" below "1.0.0"
        (debian_version("1.0.post1"), "lt", debian_version("1.0.0")),
    ]) == []
    assert Version("1.0.post1") > Version("1.0.0") and Version("1.0") == Version("1.0.0")


@pytest.mark.parametrize(
    ("pep440", "debian"),
    [
        ("1.0", "1.0-1"),
        ("1.0.0", "1.0.0-1"),
        ("1", "1-1"),
        ("0.0", "0.0-1"),
        ("1.2.0", "1.2.0-1"),
        ("1.01.1", "1.1.1-1"),  # PEP 440 normal form: the numbers, without leading zeros
        ("2!1.0", "2:1.0-1"),
        ("1.0a1", "1.0~a1-1"),
        ("1.0b2", "1.0~b2-1"),
        ("1.0rc3", "1.0~rc3-1"),
        ("1.0c3", "1.0~rc3-1"),
        ("1.0.post1", "1.0+post1-1"),
        ("1.0-1", "1.0+post1-1"),
        ("1.0.dev1", "1.0~~dev1-1"),
        ("1.0a1.dev1", "1.0~a1~dev1-1"),
        ("1.0.post1.dev1", "1.0+post1~dev1-1"),
        ("1.0+abc.1", "1.0+0local+abc~.1-1"),
        ("1.0+ubuntu1", "1.0+0local+ubuntuB~-1"),
        ("1.0+7", "1.0+0local.7-1"),
    ],
)
def test_examples(pep440: str, debian: str) -> None:
    assert debian_version(pep440) == debian


def test_revision() -> None:
    assert debian_version("1.0", "2") == "1.0-2"
    assert debian_version("1.0.0", "2", "+deb12") == "1.0.0-2+deb12"
    with pytest.raises(ConfigError, match=r"invalid Debian revision '1_a'"):
        debian_version("1.0", "1_a")
    with pytest.raises(ConfigError, match=r"invalid Debian revision ''"):
        debian_version("1.0", "")


def test_invalid_pep440() -> None:
    with pytest.raises(ConfigError, match=r"invalid version 'one': use a PEP 440 version"):
        debian_version("one")


@pytest.mark.parametrize(
    ("template", "release", "suffix"),
    [
        ("+{tag}", "debian-12", "+deb12"),
        ("+{tag}", "ubuntu-24.04", "+ubuntu24.04"),
        (".{codename}{version}", "debian-13", ".trixie13"),
        ("+{id}{version}", "debian-11", "+debian11"),
        ("", "debian-12", ""),
    ],
)
def test_release_suffix(template: str, release: str, suffix: str) -> None:
    assert release_suffix(template, RELEASES[release]) == suffix


@pytest.mark.parametrize(
    ("template", "why"),
    [
        ("~{tag}", "sorts below the plain revision"),
        ("+{nope}", "not a valid template"),
        ("+{tag", "not a valid template"),
        ("_{tag}", "letters, digits and + . only"),
    ],
)
def test_release_suffix_refused(template: str, why: str) -> None:
    with pytest.raises(ConfigError, match=r"tool\.pydebvenv\.release-suffix") as info:
        release_suffix(template, RELEASES["debian-12"])
    assert why in str(info.value) and "\n" not in str(info.value)


@pytest.mark.dpkg
@pytest.mark.parametrize(("upstream", "newer"),
                         [("1.0.0", "1.0.1"), ("2.1rc1", "2.1"), ("1!0.3.post2", "1!0.3.post3")])
def test_release_suffix_orders_releases_and_never_sorts_below_the_plain_revision(
    upstream: str, newer: str
) -> None:
    """Newer releases of one distribution sort above older ones; every suffix sorts above
    the plain VERSION-REVISION that dh-virtualenv or fpm gave the same version."""
    plain = debian_version(upstream)
    pairs = []
    for os_id in ("debian", "ubuntu"):
        releases = [r for r in RELEASES.values() if r.os_id == os_id]
        releases.sort(key=lambda r: tuple(int(p) for p in r.version_id.split(".")))
        built = [debian_version(upstream, "1", release_suffix("+{tag}", r)) for r in releases]
        assert len(set(built)) == len(built)  # one version (and file name) per release
        pairs += [(older, "lt", newer) for older, newer in itertools.pairwise(built)]
        pairs += [(plain, "lt", version) for version in built]
        # a newer upstream version for an older release still wins
        pairs += [(built[-1], "lt", debian_version(newer, "1",
                                                    release_suffix("+{tag}", releases[0])))]
    assert _dpkg_relations(pairs) == []


@pytest.mark.parametrize(
    ("name", "package"),
    [
        ("myapp", "myapp"),
        ("My_App", "my-app"),
        ("my.app__cli", "my-app-cli"),
        ("A1", "a1"),
        ("_private-", "private"),
        ("x--y", "x-y"),
    ],
)
def test_package_names(name: str, package: str) -> None:
    assert debian_package_name(name) == package


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("x", "is shorter than two characters"),
        ("", "needs letters, digits"),
        ("my app", "needs letters, digits"),
        ("café", "needs letters, digits"),
        ("--", "needs letters, digits"),
    ],
)
def test_package_names_rejected(name: str, why: str) -> None:
    with pytest.raises(ConfigError) as info:
        debian_package_name(name)
    message = str(info.value)
    assert f"cannot make a Debian package name from {name!r}: it {why}" in message
    assert 'set name = "..." in [tool.pydebvenv]' in message
