"""The targets table: tags, platforms, marker environments and defaults, all from data."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from pathlib import Path

import pytest
from packaging import markers, tags

from pydebvenv.errors import TargetError
from pydebvenv.target import (
    ARCHS,
    DEFAULT_RELEASE,
    RELEASES,
    HostFacts,
    _os_release_name,
    get_target,
    host_facts,
)
from tests.support.gate import need
from tests.support.host import running_python_target


def test_debian_12_amd64_platforms_run_from_glibc_236_down_to_manylinux1() -> None:
    plats = get_target("debian-12", "amd64").platforms()
    assert plats[0] == "manylinux_2_36_x86_64"
    assert plats[-1] == "manylinux1_x86_64"
    # legacy aliases right after their PEP 600 equivalent
    assert plats[plats.index("manylinux_2_17_x86_64") + 1] == "manylinux2014_x86_64"
    assert plats[plats.index("manylinux_2_12_x86_64") + 1] == "manylinux2010_x86_64"
    assert not [p for p in plats if "musllinux" in p or p.startswith("linux_")]


def test_arm64_floor_is_manylinux2014_and_has_no_x86_only_aliases() -> None:
    plats = get_target("debian-13", "arm64").platforms()
    assert plats[0] == "manylinux_2_41_aarch64"
    assert plats[-2:] == ["manylinux_2_17_aarch64", "manylinux2014_aarch64"]
    assert not [p for p in plats if "manylinux1" in p or "manylinux2010" in p]


@pytest.mark.parametrize("release", sorted(RELEASES))
def test_tags_start_with_the_release_cpython_and_end_with_pure_wheels(release: str) -> None:
    target = get_target(release, "amd64")
    cp = "cp{}{}".format(*target.python_version)
    all_tags = target.tags()
    assert all_tags[0] == tags.Tag(cp, cp, f"manylinux_2_{target.glibc[1]}_x86_64")
    assert tags.Tag(cp, "abi3", "manylinux2014_x86_64") in all_tags
    assert tags.Tag("py3", "none", "any") in all_tags
    assert tags.Tag(cp, cp, "macosx_11_0_arm64") not in all_tags
    assert tags.Tag(cp, cp, "win_amd64") not in all_tags
    rank = target.tag_rank()
    assert rank[tags.Tag(cp, cp, "manylinux2014_x86_64")] < rank[tags.Tag("py3", "none", "any")]


def test_manylinux_newer_than_the_release_glibc_is_not_accepted() -> None:
    t12 = get_target("debian-12", "amd64")
    t13 = get_target("debian-13", "amd64")
    assert tags.Tag("py3", "none", "manylinux_2_39_x86_64") not in t12.tags()
    assert tags.Tag("py3", "none", "manylinux_2_39_x86_64") in t13.tags()


def test_tags_equal_packaging_sys_tags_on_the_host_release() -> None:
    # On a host that IS the target (its release, its CPU, its CPython X.Y), our data must
    # agree with what packaging probes from the running interpreter and glibc.
    target = running_python_target()
    if target.release.name != host_facts().release:
        need(f"this host runs CPython {target.pyver} but is not {target.release.name}")
    host = [t for t in tags.sys_tags() if not t.platform.startswith("linux_")]
    assert target.tags() == host


@pytest.mark.parametrize(("release", "arch"), [("debian-12", "amd64"), ("debian-13", "arm64"),
                                               ("ubuntu-24.04", "ppc64el")])
def test_marker_environment_is_complete_and_names_the_target(release: str, arch: str) -> None:
    target = get_target(release, arch)
    env = target.marker_environment()
    # every key the host would otherwise fill in is given
    assert set(markers.default_environment()) <= set(env)
    assert env["python_version"] == target.pyver
    assert env["platform_machine"] == ARCHS[arch].machine
    assert env["sys_platform"] == "linux" and env["platform_system"] == "Linux"
    assert markers.Marker('python_version < "3.12"').evaluate(env) is (target.python_version < (3, 12))
    assert markers.Marker('platform_machine == "aarch64"').evaluate(env) is (arch == "arm64")


def test_defaults_follow_the_host_release_else_newest_debian() -> None:
    # README: "the newest Debian stable" is the Debian row with the highest version, not a
    # name written down twice (a new row must move the default with it)
    newest = max((r for r in RELEASES.values() if r.os_id == "debian"),
                 key=lambda r: int(r.version_id)).name
    assert newest == DEFAULT_RELEASE
    assert get_target(host=HostFacts("ubuntu-24.04", "aarch64")).name == "ubuntu-24.04/arm64"
    assert get_target(host=HostFacts(None, "arm64")).name == f"{newest}/arm64"  # a Mac
    assert get_target(host=HostFacts(None, "AMD64")).name == f"{newest}/amd64"  # Windows
    assert get_target(host=HostFacts("fedora-40", "x86_64")).name == f"{newest}/amd64"
    # a release named by the user is never replaced by the host's
    assert get_target("debian-11", host=HostFacts("debian-12", "x86_64")).name == \
        "debian-11/amd64"


@pytest.mark.parametrize("arch", sorted(ARCHS))
def test_the_default_arch_is_the_host_cpu_in_debians_name(arch: str) -> None:
    release = next(r.name for r in RELEASES.values() if arch in r.archs)
    machine = ARCHS[arch].machine  # what platform.machine() says on that CPU
    for spelling in (machine, machine.upper()):  # Windows spells AMD64 in capitals
        assert get_target(release, host=HostFacts(None, spelling)).arch.name == arch


@pytest.mark.parametrize(("text", "expected"), [
    ('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n', "debian-12"),
    ("NAME='Ubuntu'\nID=ubuntu\nID_LIKE=debian\nVERSION_ID='24.04'\n", "ubuntu-24.04"),
    ("ID=fedora\nVERSION_ID=40\n", "fedora-40"),  # read, then found not to be in the table
    ('PRETTY_NAME="Debian GNU/Linux trixie/sid"\nID=debian\n', None),  # testing: no version
    (None, None),  # macOS, Windows: no os-release at all
])
def test_the_host_release_is_read_from_os_release(tmp_path: Path, text: str | None,
                                                  expected: str | None) -> None:
    path = tmp_path / "os-release"
    if text is not None:
        path.write_text(text, encoding="utf-8")
    assert _os_release_name(path) == expected


def test_host_facts_are_what_the_standard_library_reads() -> None:
    """The one reader of the host agrees with platform's own os-release(5) parser."""
    try:
        info = platform.freedesktop_os_release()
    except OSError:
        info = {}
    release = f"{info['ID']}-{info['VERSION_ID']}" if {"ID", "VERSION_ID"} <= set(info) \
        else None
    assert host_facts() == HostFacts(release, platform.machine())


def test_default_compression_follows_the_target_dpkg() -> None:
    assert get_target("debian-11", "amd64").default_compression == "xz"
    assert get_target("debian-12", "amd64").default_compression == "zstd"


@pytest.mark.parametrize(
    ("release", "arch", "fragment"),
    [
        ("debian-99", "amd64", "unknown target 'debian-99'; choose one of: debian-11"),
        ("debian-12", "x86_64", "unknown architecture 'x86_64' (did you mean 'amd64'?)"),
        ("debian-13", "i386", "debian-13 has no i386 port"),
    ],
)
def test_bad_names_are_one_clear_line(release: str, arch: str, fragment: str) -> None:
    with pytest.raises(TargetError) as info:
        get_target(release, arch)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_host_cpu_asks_for_arch() -> None:
    with pytest.raises(TargetError, match="pass one with --arch"):
        get_target("debian-12", host=HostFacts("debian-12", "sparc64"))


def test_interpreter_facts() -> None:
    t = get_target("debian-13", "amd64")
    assert (t.interpreter, t.interpreter_package, t.site_packages) == (
        "/usr/bin/python3.13", "python3.13", "lib/python3.13/site-packages")


def test_the_host_release_row_matches_this_machine() -> None:
    # The table is data, but its row for the host can be checked against the host itself.
    release = host_facts().release
    if release not in RELEASES:
        need(f"this host's release {release!r} has no row in the target table")
    row = RELEASES[release]
    python = "/usr/bin/python{}.{}".format(*row.python_version)
    out = subprocess.run([python, "--version"], capture_output=True, text=True)
    assert out.stdout.strip() == f"Python {row.python_full_version}"
    libc = os.confstr("CS_GNU_LIBC_VERSION")
    assert libc == "glibc {}.{}".format(*row.glibc)


def _readme_section(title: str) -> str:
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    return text.split(f"\n{title}\n", 1)[1].split("\n#", 1)[0]


def test_the_readme_targets_table_is_the_data() -> None:
    """Every row of the README's Targets table, and its list of architectures, say what
    RELEASES and ARCHS hold: a changed row or a new release fails here until both agree."""
    section = _readme_section("### Targets")
    rows = re.findall(r"^\| `([a-z0-9.-]+)` \| (\d+\.\d+) \(`([a-z0-9.]+)`\) \| (\d+\.\d+) "
                      r"\| ([a-z]+)[^|]* \| `([^`]+)` \|$", section, flags=re.MULTILINE)
    assert len(rows) == section.count("\n| `"), "a row the pattern does not read"
    assert [row[0] for row in rows] == list(RELEASES)
    for name, python, package, glibc, compression, unit_dir in rows:
        target = get_target(name, "amd64")
        assert (python, package) == (target.pyver, target.interpreter_package), name
        assert glibc == "{}.{}".format(*target.glibc), name
        # "glibc -> newest manylinux": the best platform tag the target accepts
        assert target.platforms()[0] == f"manylinux_{glibc.replace('.', '_')}_x86_64", name
        assert compression == target.default_compression, name
        assert unit_dir == target.systemd_unit_dir, name
    listed = re.search(r"Architectures: (.*?) \(where the\s+release has them\)", section)
    assert listed is not None
    archs = re.findall(r"`([a-z0-9]+)`", listed.group(1))
    assert archs == list(ARCHS)
    assert {a for r in RELEASES.values() for a in r.archs} == set(ARCHS)
    # the "(its dpkg has no zstd)" note stands exactly beside the releases without zstd
    noted = set(re.findall(r"^\| `([a-z0-9.-]+)` \|[^\n]*its dpkg has no zstd", section,
                           flags=re.MULTILINE))
    assert noted == {r.name for r in RELEASES.values() if not r.dpkg_zstd}
