"""The wheel cache: scanning, choosing wheels for a target and resolving the closure."""

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
from pydebvenv.requirements import RequirementSpec, requirement_specs
from pydebvenv.target import Target, get_target
from pydebvenv.wheels import (
    CachedWheel,
    HashError,
    Resolution,
    default_wheel_cache,
    read_wheel_metadata,
    resolve,
    scan_cache,
    select_wheel,
)
from tests.support.wheelmaker import make_wheel

D12 = get_target("debian-12", "amd64")
D12_ARM = get_target("debian-12", "arm64")
D13 = get_target("debian-13", "amd64")


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    path = tmp_path / "cache"
    path.mkdir()
    return path


def reqs(*strings: str) -> tuple[RequirementSpec, ...]:
    return requirement_specs(strings, "requirements.txt")


def chosen(resolution: Resolution) -> dict[str, str]:
    return {w.name: w.path.name for w in resolution.wheels}


def versions(resolution: Resolution) -> dict[str, str]:
    return {w.name: str(w.version) for w in resolution.wheels}


def select(cache: Path, requirement: str, target: Target) -> str | None:
    wheel = select_wheel(scan_cache(cache), Requirement(requirement), target)
    return None if wheel is None else wheel.path.name


# --- tags ----------------------------------------------------------------------------------

PRIORITY = [
    "cp311-cp311-manylinux_2_28_x86_64",
    "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64",
    "cp311-abi3-manylinux_2_17_x86_64",
    "py3-none-any",
]


@pytest.mark.parametrize("best", range(len(PRIORITY)))
def test_the_best_ranked_tag_wins(cache: Path, best: int) -> None:
    for tag in PRIORITY[best:]:
        make_wheel(cache, "fast", "1.0", tag=tag)
    assert select(cache, "fast", D12) == f"fast-1.0-{PRIORITY[best]}.whl"


def test_a_newer_version_beats_a_better_tag(cache: Path) -> None:
    make_wheel(cache, "fast", "1.0", tag="cp311-cp311-manylinux_2_28_x86_64")
    make_wheel(cache, "fast", "1.1", tag="py3-none-any")
    assert select(cache, "fast", D12) == "fast-1.1-py3-none-any.whl"
    assert select(cache, "fast<1.1", D12) == "fast-1.0-cp311-cp311-manylinux_2_28_x86_64.whl"


def test_manylinux_newer_than_the_target_glibc_is_rejected(cache: Path) -> None:
    make_wheel(cache, "fast", "1.0", tag="cp38-abi3-manylinux_2_39_x86_64")
    assert select(cache, "fast", D12) is None  # bookworm has glibc 2.36
    assert select(cache, "fast", D13) == "fast-1.0-cp38-abi3-manylinux_2_39_x86_64.whl"


def test_aarch64_wheels_only_for_arm64(cache: Path) -> None:
    make_wheel(cache, "fast", "1.0", tag="cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64")
    make_wheel(cache, "fast", "1.0", tag="cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64")
    assert select(cache, "fast", D12_ARM) == (
        "fast-1.0-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl"
    )
    assert select(cache, "fast", D12) == (
        "fast-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    )


@pytest.mark.parametrize(
    "tag",
    [
        "cp311-cp311-macosx_11_0_arm64",
        "cp311-cp311-macosx_10_9_x86_64",
        "cp311-cp311-win_amd64",
        "cp311-cp311-musllinux_1_1_x86_64",
        "cp311-cp311-musllinux_1_2_aarch64",
        "cp311-cp311-linux_x86_64",
        "cp312-cp312-manylinux_2_17_x86_64",
        "cp311-cp311d-manylinux_2_17_x86_64",
        "pp310-pypy310_pp73-manylinux_2_17_x86_64",
    ],
)
@pytest.mark.parametrize("target", [D12, D12_ARM, D13], ids=lambda t: t.name)
def test_foreign_wheels_are_never_chosen(cache: Path, tag: str, target: Target) -> None:
    make_wheel(cache, "fast", "1.0", tag=tag)
    assert select(cache, "fast", target) is None


def test_the_highest_build_tag_wins(cache: Path) -> None:
    make_wheel(cache, "x", "1.0", tag="py3-none-any")
    make_wheel(cache, "x", "1.0", tag="1-py3-none-any")
    make_wheel(cache, "x", "1.0", tag="2-py3-none-any")
    make_wheel(cache, "x", "1.0", tag="10-py3-none-any")
    assert select(cache, "x", D12) == "x-1.0-10-py3-none-any.whl"
    make_wheel(cache, "x", "1.0", tag="cp311-cp311-manylinux_2_17_x86_64")
    assert select(cache, "x", D12) == "x-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"  # tag first


# --- versions ------------------------------------------------------------------------------


def test_pre_releases_only_when_named(cache: Path) -> None:
    make_wheel(cache, "x", "1.0")
    make_wheel(cache, "x", "2.0b1")
    assert select(cache, "x", D12) == "x-1.0-py3-none-any.whl"
    assert select(cache, "x>=1.5", D12) is None
    assert select(cache, "x>=2.0b1", D12) == "x-2.0b1-py3-none-any.whl"
    assert select(cache, "x==2.0b1", D12) == "x-2.0b1-py3-none-any.whl"


def test_requires_python_is_checked_against_the_target(cache: Path) -> None:
    make_wheel(cache, "x", "1.0", requires_python=">=3.8")
    make_wheel(cache, "x", "2.0", requires_python=">=3.12")
    assert select(cache, "x", D12) == "x-1.0-py3-none-any.whl"
    assert select(cache, "x", D13) == "x-2.0-py3-none-any.whl"
    with pytest.raises(ResolutionError, match=r"x 2\.0 requires Python '>=3\.12'.*3\.11\.2"):
        resolve(reqs("x>=2"), cache, D12)


def test_select_wheel_honours_constraints(cache: Path) -> None:
    for version in ("1.0", "2.0", "3.0"):
        make_wheel(cache, "x", version)
    candidates = scan_cache(cache)
    limit = requirement_specs(["x<3", 'x<2; python_version >= "3.13"'], "c.txt")
    assert select_wheel(candidates, Requirement("x"), D12, constraints=limit) == next(
        c for c in candidates if str(c.version) == "2.0"
    )
    assert select_wheel(candidates, Requirement("x"), D13, constraints=limit) == next(
        c for c in candidates if str(c.version) == "1.0"
    )


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


def test_record_mismatch_names_wheel_and_member(cache: Path) -> None:
    make_wheel(cache, "app", "1.0", requires=["bad"])
    make_wheel(cache, "bad", "1.0", record_override={"bad/__init__.py": "sha256=" + "A" * 43})
    with pytest.raises(WheelError) as info:
        resolve(reqs("app"), cache, D12)
    message = str(info.value)
    assert "bad-1.0-py3-none-any.whl" in message
    assert "bad/__init__.py" in message
    assert "\n" not in message


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


# --- the cache -----------------------------------------------------------------------------


def test_scan_cache_ignores_partial_and_foreign_files(cache: Path) -> None:
    good = make_wheel(cache, "Good_Name", "1.0", tag="cp311-cp311-manylinux_2_17_x86_64")
    sub = cache / "debian-12"
    sub.mkdir()
    nested = make_wheel(sub, "nested", "2.0")
    (cache / "README.txt").write_text("not a wheel")
    (cache / "x-1.0-py3-none-any.whl.part").write_bytes(b"partial")
    (cache / ".x-1.0-py3-none-any.whl").write_bytes(b"hidden temp file")
    (cache / "x-1.0-py3-none-any.tmp.whl").write_bytes(b"temporary")
    (cache / "notawheel.whl").write_bytes(b"invalid name")
    dotted = make_wheel(cache, "some.party", "1.0")  # a dotted old-style name is not partial
    (cache / "half.tmp").mkdir()
    make_wheel(cache / "half.tmp", "half", "1.0")
    (cache / ".incoming").mkdir()
    make_wheel(cache / ".incoming", "staged", "1.0")
    wheels = scan_cache(cache)
    assert [(w.path, w.name, str(w.version)) for w in wheels] == [
        (good, "good-name", "1.0"),
        (nested, "nested", "2.0"),
        (dotted, "some-party", "1.0"),
    ]
    assert wheels[0].sha256 == hashlib.sha256(good.read_bytes()).hexdigest()
    assert wheels[0].requested is False
    assert [str(t) for t in wheels[0].tags] == ["cp311-cp311-manylinux_2_17_x86_64"]
    assert scan_cache(cache / "absent") == []


def test_cached_wheel_metadata_and_purity(cache: Path) -> None:
    make_wheel(cache, "pure", "1.0", requires=["dep>=1"], requires_python=">=3.9")
    make_wheel(cache, "native", "1.0", tag="cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64")
    native, pure = scan_cache(cache)
    assert pure.is_pure and not native.is_pure
    meta = pure.metadata()
    assert meta["Name"] == "pure"
    assert meta.get_all("Requires-Dist") == ["dep>=1"]
    assert meta["Requires-Python"] == ">=3.9"
    assert isinstance(native, CachedWheel)
    assert read_wheel_metadata(pure.path)["Requires-Python"] == ">=3.9"
    with pytest.raises(WheelError, match="not a wheel file name"):
        read_wheel_metadata(cache / "app.zip")


def test_default_wheel_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PYDEBVENV_WHEEL_CACHE", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert default_wheel_cache() == tmp_path / "home" / ".cache" / "pydebvenv" / "wheels"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    assert default_wheel_cache() == tmp_path / "home" / ".cache" / "pydebvenv" / "wheels"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_wheel_cache() == tmp_path / "xdg" / "pydebvenv" / "wheels"
    monkeypatch.setenv("PYDEBVENV_WHEEL_CACHE", str(tmp_path / "mine"))
    assert default_wheel_cache() == tmp_path / "mine"
