"""The resolver: the closure for a target, hash pins, RECORD and every problem at once."""

from __future__ import annotations

import hashlib
import platform
import sys
from pathlib import Path

import packaging.markers
import pytest
from packaging.requirements import Requirement

import pydebvenv.target
from pydebvenv.errors import ResolutionError, WheelError
from pydebvenv.project.requirements import RequirementSpec, requirement_specs
from pydebvenv.target import Target
from pydebvenv.wheels.resolve import HashError, Resolution, resolve
from tests.support.wheelmaker import make_wheel
from tests.test_wheels import D12, D12_ARM, D13, reqs, select


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    path = tmp_path / "cache"
    path.mkdir()
    return path


def chosen(resolution: Resolution) -> dict[str, str]:
    return {w.name: w.path.name for w in resolution.wheels}


def versions(resolution: Resolution) -> dict[str, str]:
    return {w.name: str(w.version) for w in resolution.wheels}


# --- why a wheel does not fit ----------------------------------------------------------------


def test_requires_python_is_checked_against_the_target(cache: Path) -> None:
    make_wheel(cache, "x", "1.0", requires_python=">=3.8")
    make_wheel(cache, "x", "2.0", requires_python=">=3.12")
    assert select(cache, "x", D12) == "x-1.0-py3-none-any.whl"
    assert select(cache, "x", D13) == "x-2.0-py3-none-any.whl"
    with pytest.raises(ResolutionError, match=r"x 2\.0 requires Python '>=3\.12'.*3\.11\.2"):
        resolve(reqs("x>=2"), cache, D12)


# --- markers, extras, closure --------------------------------------------------------------


@pytest.fixture
def marker_cache(cache: Path) -> Path:
    make_wheel(
        cache,
        "app",
        "1.0",
        requires=[
            "common",
            'armdep; platform_machine == "aarch64"',
            'olddep; python_version < "3.12"',
            'windep; sys_platform == "win32"',
            'macdep; platform_system == "Darwin"',
        ],
    )
    for name in ("common", "armdep", "olddep", "windep", "macdep"):
        make_wheel(cache, name, "1.0")
    return cache


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (D12, {"app", "common", "olddep"}),
        (D12_ARM, {"app", "common", "olddep", "armdep"}),
        (D13, {"app", "common"}),
    ],
    ids=lambda v: v.name if isinstance(v, Target) else "",
)
def test_markers_are_evaluated_for_the_target(
    marker_cache: Path, target: Target, expected: set[str]
) -> None:
    assert set(chosen(resolve(reqs("app"), marker_cache, target))) == expected


def test_top_level_markers_are_evaluated_for_the_target(marker_cache: Path) -> None:
    specs = reqs('armdep; platform_machine == "aarch64"', 'windep; os_name == "nt"', "common")
    assert set(chosen(resolve(specs, marker_cache, D12))) == {"common"}
    assert set(chosen(resolve(specs, marker_cache, D12_ARM))) == {"common", "armdep"}


def test_extras_are_followed(cache: Path) -> None:
    make_wheel(
        cache,
        "lib",
        "1.0",
        extras=["fast", "slow", "arm"],
        requires=[
            "base",
            'speedup; extra == "fast"',
            'slowdown; extra == "slow"',
            'armonly; extra == "arm" and platform_machine == "aarch64"',
        ],
    )
    make_wheel(cache, "app", "1.0", requires=["lib[fast,arm]"])
    for name in ("base", "speedup", "slowdown", "armonly"):
        make_wheel(cache, name, "1.0")
    assert set(chosen(resolve(reqs("app"), cache, D12))) == {"app", "lib", "base", "speedup"}
    assert set(chosen(resolve(reqs("app"), cache, D12_ARM))) == {
        "app", "lib", "base", "speedup", "armonly",
    }  # fmt: skip
    # an extra asked for at the top level, on top of the one a dependency asks for
    assert set(chosen(resolve(reqs("app", "LIB[Slow]"), cache, D12))) == {
        "app", "lib", "base", "speedup", "slowdown",
    }  # fmt: skip
    assert set(chosen(resolve(reqs("lib"), cache, D12))) == {"lib", "base"}


def test_the_closure_is_followed_and_sorted(cache: Path) -> None:
    make_wheel(cache, "Zeta_App", "1.0", requires=["middle>=2"])
    make_wheel(cache, "middle", "1.0", requires=["leaf"])
    make_wheel(cache, "middle", "2.0", requires=["leaf<2", "Other.Leaf"])
    make_wheel(cache, "leaf", "1.5")
    make_wheel(cache, "leaf", "2.5")
    make_wheel(cache, "other_leaf", "1.0")
    make_wheel(cache, "unused", "1.0")
    result = resolve(reqs("zeta-app"), cache, D12)
    assert [w.name for w in result.wheels] == ["leaf", "middle", "other-leaf", "zeta-app"]
    assert versions(result) == {
        "zeta-app": "1.0",
        "middle": "2.0",
        "leaf": "1.5",
        "other-leaf": "1.0",
    }
    assert {w.name: w.requested for w in result.wheels} == {
        "zeta-app": True, "middle": False, "leaf": False, "other-leaf": False,
    }  # fmt: skip
    for wheel in result.wheels:
        assert wheel.sha256 == hashlib.sha256(wheel.path.read_bytes()).hexdigest()


def test_a_later_requirement_re_picks_and_drops_stale_dependencies(cache: Path) -> None:
    make_wheel(cache, "a", "1.0", requires=["b"])
    make_wheel(cache, "c", "1.0", requires=["b<3"])
    make_wheel(cache, "b", "2.0")
    make_wheel(cache, "b", "3.0", requires=["only-in-b3"])
    make_wheel(cache, "only-in-b3", "1.0")
    assert versions(resolve(reqs("a"), cache, D12)) == {"a": "1.0", "b": "3.0", "only-in-b3": "1.0"}
    assert versions(resolve(reqs("a", "c"), cache, D12)) == {"a": "1.0", "b": "2.0", "c": "1.0"}


def test_the_result_does_not_depend_on_history_or_order(cache: Path) -> None:
    make_wheel(cache, "a", "1.0", requires=["x"])
    make_wheel(cache, "c", "1.0", requires=["x<2"])
    make_wheel(cache, "x", "2.0", requires=["b<2"])  # seen first, then dropped for x<2
    make_wheel(cache, "x", "1.0", requires=["b"])
    make_wheel(cache, "b", "1.0")
    make_wheel(cache, "b", "3.0")
    expected = {"a": "1.0", "c": "1.0", "x": "1.0", "b": "3.0"}
    assert versions(resolve(reqs("a", "c"), cache, D12)) == expected
    assert versions(resolve(reqs("c", "a"), cache, D12)) == expected


def test_version_conflict_names_package_specifiers_and_requirers(cache: Path) -> None:
    make_wheel(cache, "a", "1.0", requires=["b>=2"])
    make_wheel(cache, "c", "1.0", requires=["b<2"])
    make_wheel(cache, "b", "1.0")
    make_wheel(cache, "b", "2.0")
    with pytest.raises(ResolutionError) as info:
        resolve(reqs("a", "c"), cache, D12)
    message = str(info.value)
    assert "version conflict for b" in message
    assert "'>=2' from a 1.0" in message
    assert "'<2' from c 1.0" in message


def test_every_missing_requirement_is_reported_at_once(cache: Path) -> None:
    make_wheel(cache, "app", "1.0", requires=["gone>=2", "wrongtag", "ok"])
    make_wheel(cache, "ok", "1.0")
    make_wheel(cache, "wrongtag", "1.0", tag="cp312-cp312-manylinux_2_17_x86_64")
    make_wheel(cache, "old", "1.0")
    with pytest.raises(ResolutionError) as info:
        resolve(reqs("app", "nothere", "old>=2"), cache, D12)
    first, *lines = str(info.value).splitlines()
    assert first.startswith("4 requirement(s) cannot be satisfied")
    assert "debian-12/amd64" in first
    assert "pydebvenv fetch" in first
    text = "\n".join(lines)
    assert "gone>=2 (required by app 1.0): no wheel of that name" in text
    assert "nothere (required by requirements.txt)" in text
    assert "old>=2 (required by requirements.txt): versions cached for debian-12/amd64: 1.0" in text
    assert "wrongtag-1.0-cp312-cp312-manylinux_2_17_x86_64.whl" in text
    assert "cp311-cp311-manylinux_2_36_x86_64" in lines[-1]
    assert "more" in lines[-1]
    assert len(lines[-1]) < 300  # the tag list is abbreviated
    assert len(lines) == 5


def test_an_empty_or_absent_cache_reports_everything(tmp_path: Path) -> None:
    with pytest.raises(ResolutionError, match=r"^2 requirement"):
        resolve(reqs("a", "b"), tmp_path / "absent", D12)


def test_constraints_restrict_but_never_add(cache: Path) -> None:
    make_wheel(cache, "app", "1.0", requires=["b"])
    make_wheel(cache, "b", "1.0")
    make_wheel(cache, "b", "2.0")
    make_wheel(cache, "unrelated", "1.0")
    limits = requirement_specs(
        ["b<2", "unrelated==1.0", 'app>5; sys_platform == "win32"'], "constraints.txt"
    )
    result = resolve(reqs("app"), cache, D12, constraints=limits)
    assert versions(result) == {"app": "1.0", "b": "1.0"}
    too_tight = requirement_specs(["b>5"], "constraints.txt")
    with pytest.raises(ResolutionError, match=r"b \(.*'>5' from constraints.txt \(constraint\)"):
        resolve(reqs("app"), cache, D12, constraints=too_tight)


# --- hashes and RECORD ---------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def pinned(requirement: str, *hashes: str, source: str = "requirements.txt:1") -> RequirementSpec:
    return RequirementSpec(Requirement(requirement), frozenset(hashes), source)


def test_hash_pins_that_match(cache: Path) -> None:
    wheel = make_wheel(cache, "x", "1.0")
    result = resolve([pinned("x==1.0", "sha256:" + "0" * 64, sha256_of(wheel))], cache, D12)
    assert chosen(result) == {"x": wheel.name}


def test_a_hash_pin_chooses_among_wheels_of_one_version(cache: Path) -> None:
    older = make_wheel(cache, "x", "1.0", tag="cp311-cp311-manylinux_2_17_x86_64")
    make_wheel(cache, "x", "1.0", tag="cp311-cp311-manylinux_2_28_x86_64")
    assert chosen(resolve([pinned("x==1.0", sha256_of(older))], cache, D12)) == {"x": older.name}


def test_a_hash_pin_that_matches_nothing(cache: Path) -> None:
    wheel = make_wheel(cache, "x", "1.0")
    wrong = "sha256:" + "f" * 64
    with pytest.raises(HashError) as info:
        resolve([pinned("x==1.0", wrong, source="requirements.txt:7")], cache, D12)
    assert isinstance(info.value, ResolutionError)  # build fetches the pinned file then
    message = str(info.value)
    assert "requirements.txt:7" in message
    assert str(wheel) in message
    assert f"expected {wrong}" in message
    assert f"has {sha256_of(wheel)}" in message


def test_hash_problems_are_reported_with_the_missing_ones(cache: Path) -> None:
    make_wheel(cache, "x", "1.0")
    with pytest.raises(ResolutionError) as info:
        resolve([pinned("x", "sha256:" + "f" * 64), *reqs("absent")], cache, D12)
    assert not isinstance(info.value, HashError)
    first, *lines = str(info.value).splitlines()
    assert first.startswith("2 requirement(s)")
    assert any("absent" in line for line in lines)
    assert any("x (pinned at requirements.txt:1)" in line for line in lines)


def test_a_hash_pin_on_a_dependency_from_a_constraints_file(cache: Path) -> None:
    make_wheel(cache, "app", "1.0", requires=["x"])
    wheel = make_wheel(cache, "x", "1.0")
    good = [pinned("x", sha256_of(wheel), source="c.txt:1")]
    assert "x" in chosen(resolve(reqs("app"), cache, D12, constraints=good))
    bad = [pinned("x", "sha256:" + "e" * 64, source="c.txt:1")]
    with pytest.raises(HashError, match=r"c\.txt:1"):
        resolve(reqs("app"), cache, D12, constraints=bad)


def test_record_is_left_to_the_install_and_write(cache: Path) -> None:
    # resolve reads only names and METADATA: RECORD hashes are checked in the one pass that
    # reads every member (wheelzip, during the write); tests/test_build_safety.py shows a
    # mismatch failing the build with the wheel and member named.
    make_wheel(cache, "app", "1.0", requires=["bad"])
    make_wheel(cache, "bad", "1.0", record_override={"bad/__init__.py": "sha256=" + "A" * 43})
    assert "bad" in chosen(resolve(reqs("app"), cache, D12))


def test_an_unreadable_wheel_is_a_wheel_error(cache: Path) -> None:
    (cache / "broken-1.0-py3-none-any.whl").write_bytes(b"not a zip")
    with pytest.raises(WheelError, match=r"broken-1\.0-py3-none-any\.whl"):
        resolve(reqs("broken"), cache, D12)


# --- local wheels --------------------------------------------------------------------------


def test_local_wheels_are_always_included_and_win(cache: Path, tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    app = make_wheel(dist, "my-app", "2.0.dev3", requires=["dep", 'winonly; os_name == "nt"'])
    make_wheel(cache, "my_app", "9.0")  # a cached copy never replaces the application's own
    make_wheel(cache, "dep", "1.0")
    result = resolve([], cache, D12, local_wheels=[app])
    assert chosen(result) == {"my-app": app.name, "dep": "dep-1.0-py3-none-any.whl"}
    assert {w.name: w.requested for w in result.wheels} == {"my-app": True, "dep": False}
    assert result.wheels[1].path == app


def test_a_local_wheel_must_fit_the_target(cache: Path, tmp_path: Path) -> None:
    app = make_wheel(tmp_path, "app", "1.0", requires_python=">=3.12")
    with pytest.raises(ResolutionError, match=r"app 1\.0 requires Python"):
        resolve([], cache, D12, local_wheels=[app])
    assert chosen(resolve([], cache, D13, local_wheels=[app])) == {"app": app.name}
    with pytest.raises(WheelError, match="does not exist"):
        resolve([], cache, D12, local_wheels=[tmp_path / "nope-1.0-py3-none-any.whl"])


# --- the host is irrelevant ----------------------------------------------------------------

MACOS_ENVIRONMENT = {
    "implementation_name": "cpython",
    "implementation_version": "3.12.4",
    "os_name": "posix",
    "platform_machine": "arm64",
    "platform_python_implementation": "CPython",
    "platform_release": "23.5.0",
    "platform_system": "Darwin",
    "platform_version": "Darwin Kernel Version 23.5.0",
    "python_full_version": "3.12.4",
    "python_version": "3.12",
    "sys_platform": "darwin",
}


def _host_sensitive_cache(cache: Path) -> None:
    make_wheel(
        cache,
        "app",
        "1.0",
        requires=[
            'mac; sys_platform == "darwin"',
            'linux; sys_platform == "linux"',
            'arm; platform_machine == "arm64" or platform_machine == "aarch64"',
            'py312; python_version >= "3.12"',
            'py311; python_full_version < "3.12"',
            'darwin; platform_system == "Darwin"',
            "native",
        ],
    )
    for name in ("mac", "linux", "arm", "py312", "py311", "darwin"):
        make_wheel(cache, name, "1.0")
    make_wheel(cache, "native", "1.0", tag="cp312-cp312-macosx_11_0_arm64")
    make_wheel(cache, "native", "1.0", tag="cp311-cp311-manylinux_2_17_x86_64")
    make_wheel(cache, "native", "1.0", tag="cp311-cp311-manylinux_2_17_aarch64")


def _resolve_all(cache: Path) -> list[dict[str, str]]:
    return [chosen(resolve(reqs("app"), cache, t)) for t in (D12, D12_ARM, D13)]


def test_the_host_is_irrelevant(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _host_sensitive_cache(cache)
    make_wheel(cache, "native", "1.0", tag="cp313-cp313-manylinux_2_17_x86_64")
    expected = _resolve_all(cache)
    assert set(expected[0]) == {"app", "linux", "py311", "native"}
    assert set(expected[1]) == {"app", "linux", "arm", "py311", "native"}
    assert set(expected[2]) == {"app", "linux", "py312", "native"}

    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr(platform, "machine", lambda: "arm64")
    monkeypatch.setattr(packaging.markers, "default_environment", lambda: dict(MACOS_ENVIRONMENT))
    tags_cache = getattr(pydebvenv.target, "_tags", None)
    if tags_cache is not None and hasattr(tags_cache, "cache_clear"):
        tags_cache.cache_clear()  # make the target compute its tags again under the patches
    assert _resolve_all(cache) == expected
