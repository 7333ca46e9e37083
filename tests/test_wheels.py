"""The wheel cache (finding its wheels, reading them) and the choice of one wheel for a target.

Selection is tested through resolve(), the one code path that chooses wheels."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from pydebvenv.errors import ResolutionError, WheelError
from pydebvenv.project.requirements import RequirementSpec, requirement_specs
from pydebvenv.target import Target, get_target
from pydebvenv.wheels.cache import default_wheel_cache, find_wheels, read_wheel_metadata
from pydebvenv.wheels.resolve import resolve
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


def select(cache: Path, requirement: str, target: Target,
           constraints: tuple[RequirementSpec, ...] = ()) -> str | None:
    """The file resolve() chooses for one requirement (with no dependencies), or None."""
    name = Requirement(requirement).name
    try:
        resolution = resolve(reqs(requirement), cache, target, constraints=constraints)
    except ResolutionError:
        return None
    (wheel,) = [w for w in resolution.wheels if w.name == name]
    return wheel.path.name


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


def test_constraints_whose_marker_holds_on_the_target_limit_the_choice(cache: Path) -> None:
    for version in ("1.0", "2.0", "3.0"):
        make_wheel(cache, "x", version)
    limit = requirement_specs(["x<3", 'x<2; python_version >= "3.13"'], "c.txt")
    assert select(cache, "x", D12) == "x-3.0-py3-none-any.whl"
    assert select(cache, "x", D12, limit) == "x-2.0-py3-none-any.whl"
    assert select(cache, "x", D13, limit) == "x-1.0-py3-none-any.whl"


# --- the cache -----------------------------------------------------------------------------


def test_find_wheels_ignores_partial_and_foreign_files(cache: Path) -> None:
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
    wheels = find_wheels(cache)
    assert [(w.path, w.name, str(w.version)) for w in wheels] == [
        (good, "good-name", "1.0"),
        (nested, "nested", "2.0"),
        (dotted, "some-party", "1.0"),
    ]
    assert [str(t) for t in wheels[0].tags] == ["cp311-cp311-manylinux_2_17_x86_64"]
    assert find_wheels(cache / "absent") == []


def test_resolved_wheels_carry_hash_metadata_and_purity(cache: Path) -> None:
    make_wheel(cache, "pure", "1.0", requires=["dep>=1"], requires_python=">=3.9")
    make_wheel(cache, "dep", "1.0", tag="cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64")
    native, pure = resolve(reqs("pure"), cache, D12).wheels
    assert pure.is_pure and not native.is_pure
    assert pure.requested and not native.requested
    assert pure.sha256 == hashlib.sha256(pure.path.read_bytes()).hexdigest()
    meta = pure.metadata()
    assert meta["Name"] == "pure"
    assert meta.get_all("Requires-Dist") == ["dep>=1"]
    assert meta["Requires-Python"] == ">=3.9"
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
