"""Targets as data: Debian/Ubuntu releases and architectures -> wheel tags and PEP 508 markers.

Nothing here asks the build host what the target is.  ``host_facts()`` is the one
function that reads the host, and only to pick a *default* release and architecture
when the user names none; everything else is computed from the tables below, so the
same target gives the same answer on Linux, macOS and Windows.
"""

from __future__ import annotations

import platform
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from packaging.tags import Tag, compatible_tags, cpython_tags

from pydebvenv.errors import TargetError

__all__ = [
    "ARCHS",
    "DEFAULT_RELEASE",
    "RELEASES",
    "Arch",
    "HostFacts",
    "Release",
    "Target",
    "get_target",
    "host_facts",
    "host_runs",
]


@dataclass(frozen=True, slots=True)
class Release:
    """One distribution release and the facts a venv for it depends on."""

    name: str  # "debian-12"
    codename: str  # "bookworm"
    python_full_version: str  # the release's python3, as `python3 --version` prints it
    glibc: tuple[int, int]  # libc6 version -> the newest manylinux_2_X it can run
    dpkg_zstd: bool  # whether its dpkg reads zstd members (upstream >= 1.21.18, Ubuntu patched)
    archs: tuple[str, ...]  # architectures the release ships (and we have a table row for)
    kernel: str  # the release's kernel series: the documented stand-in for platform_release
    # where its debhelper installs systemd units: /lib until the /usr-move (debhelper 13.11.8)
    systemd_unit_dir: str

    @property
    def python_version(self) -> tuple[int, int]:
        major, minor = self.python_full_version.split(".")[:2]
        return int(major), int(minor)

    @property
    def interpreter_package(self) -> str:
        """The versioned package that ships /usr/bin/python3.X (Depends on it, not on python3)."""
        return "python{}.{}".format(*self.python_version)

    @property
    def os_id(self) -> str:
        """os-release(5) ``ID``: ``debian``, ``ubuntu``."""
        return self.name.split("-", 1)[0]

    @property
    def version_id(self) -> str:
        """os-release(5) ``VERSION_ID``: ``12``, ``24.04``."""
        return self.name.split("-", 1)[1]

    @property
    def tag(self) -> str:
        """The release in a Debian revision: ``deb12`` (as Debian's own ``+deb12u1``
        updates), ``ubuntu24.04``; a newer release's tag sorts above an older one's."""
        return ("deb" if self.os_id == "debian" else self.os_id) + self.version_id


@dataclass(frozen=True, slots=True)
class Arch:
    """A Debian architecture and its names in the Python world."""

    name: str  # Debian's name: amd64
    machine: str  # platform.machine() on that CPU, the PEP 508 platform_machine: x86_64
    wheel_arch: str  # the arch in manylinux platform tags: x86_64
    triplet: str  # multiarch triplet: x86_64-linux-gnu
    manylinux_floor: tuple[int, int]  # oldest glibc a manylinux wheel for this arch can target
    bits: int  # 64 -> CPython's venv creates the lib64 -> lib symlink

    @property
    def elf_machine(self) -> str:
        """The arch as this table names ELF e_machine values (see ELF_MACHINES)."""
        return self.wheel_arch


# Facts of docs/targets.md, checked against the Debian and Ubuntu
# package pages.  Ubuntu 20.04 is left out: its standard support ended in 2025.
RELEASES: Mapping[str, Release] = {
    r.name: r
    for r in (
        Release("debian-11", "bullseye", "3.9.2", (2, 31), False,
                ("amd64", "arm64", "armhf", "i386", "ppc64el", "s390x"), "5.10.0",
                "/lib/systemd/system"),
        Release("debian-12", "bookworm", "3.11.2", (2, 36), True,
                ("amd64", "arm64", "armhf", "i386", "ppc64el", "s390x"), "6.1.0",
                "/lib/systemd/system"),
        Release("debian-13", "trixie", "3.13.5", (2, 41), True,
                ("amd64", "arm64", "armhf", "ppc64el", "riscv64", "s390x"), "6.12.0",
                "/usr/lib/systemd/system"),
        Release("ubuntu-22.04", "jammy", "3.10.12", (2, 35), True,
                ("amd64", "arm64", "armhf", "ppc64el", "riscv64", "s390x"), "5.15.0",
                "/lib/systemd/system"),
        Release("ubuntu-24.04", "noble", "3.12.3", (2, 39), True,
                ("amd64", "arm64", "armhf", "ppc64el", "riscv64", "s390x"), "6.8.0",
                "/usr/lib/systemd/system"),
        Release("ubuntu-26.04", "resolute", "3.14.3", (2, 43), True,
                ("amd64", "arm64", "armhf", "ppc64el", "riscv64", "s390x"), "",
                "/usr/lib/systemd/system"),
    )
}

#: The newest Debian stable: the default when the host's own release is not in the table.
DEFAULT_RELEASE = "debian-13"

ARCHS: Mapping[str, Arch] = {
    a.name: a
    for a in (
        Arch("amd64", "x86_64", "x86_64", "x86_64-linux-gnu", (2, 5), 64),
        Arch("arm64", "aarch64", "aarch64", "aarch64-linux-gnu", (2, 17), 64),
        # armhf: hard-float ARMv7; a foreign target cannot be probed, so assume hard-float
        Arch("armhf", "armv7l", "armv7l", "arm-linux-gnueabihf", (2, 17), 32),
        Arch("i386", "i686", "i686", "i386-linux-gnu", (2, 5), 32),
        Arch("ppc64el", "ppc64le", "ppc64le", "powerpc64le-linux-gnu", (2, 17), 64),
        Arch("s390x", "s390x", "s390x", "s390x-linux-gnu", (2, 17), 64),
        Arch("riscv64", "riscv64", "riscv64", "riscv64-linux-gnu", (2, 17), 64),
    )
}

# uname -m / platform.machine() spellings (Linux, macOS, Windows) -> Debian's name.
_HOST_MACHINES = {
    "x86_64": "amd64", "amd64": "amd64", "x64": "amd64",
    "aarch64": "arm64", "arm64": "arm64", "armv8l": "armhf", "armv7l": "armhf",
    "i386": "i386", "i486": "i386", "i586": "i386", "i686": "i386", "x86": "i386",
    "ppc64le": "ppc64el", "s390x": "s390x", "riscv64": "riscv64",
}

# PEP 600 legacy aliases, inserted right after their manylinux_2_X equivalent as
# packaging does; 2010 and 1 were only defined for the x86 architectures.
_LEGACY_MANYLINUX = {(2, 17): "manylinux2014", (2, 12): "manylinux2010", (2, 5): "manylinux1"}
_X86 = ("x86_64", "i686")


@dataclass(frozen=True, slots=True)
class Target:
    """A release on an architecture: everything the build needs to know about the target."""

    release: Release
    arch: Arch

    @property
    def name(self) -> str:
        return f"{self.release.name}/{self.arch.name}"

    @property
    def python_version(self) -> tuple[int, int]:
        return self.release.python_version

    @property
    def python_full_version(self) -> str:
        return self.release.python_full_version

    @property
    def pyver(self) -> str:
        return "{}.{}".format(*self.python_version)

    @property
    def interpreter(self) -> str:
        return f"/usr/bin/python{self.pyver}"

    @property
    def interpreter_package(self) -> str:
        return self.release.interpreter_package

    @property
    def glibc(self) -> tuple[int, int]:
        return self.release.glibc

    @property
    def site_packages(self) -> str:
        """site-packages relative to the venv (sysconfig's venv scheme, not dist-packages)."""
        return f"lib/python{self.pyver}/site-packages"

    @property
    def systemd_unit_dir(self) -> str:
        """Where the target's debhelper puts systemd units (docs/services.md)."""
        return self.release.systemd_unit_dir

    @property
    def default_compression(self) -> str:
        return "zstd" if self.release.dpkg_zstd else "xz"

    def platforms(self) -> list[str]:
        """The manylinux platform tags the target's glibc accepts, best first.

        musllinux is for musl libc only (PEP 656); Debian and Ubuntu are glibc.

        ``linux_<arch>`` is left out on purpose: such wheels were built for one
        particular host and are not portable (PEP 600).
        """
        arch = self.arch.wheel_arch
        tags: list[str] = []
        major, newest = self.glibc
        floor = self.arch.manylinux_floor[1]
        for minor in range(newest, floor - 1, -1):
            tags.append(f"manylinux_{major}_{minor}_{arch}")
            legacy = _LEGACY_MANYLINUX.get((major, minor))
            if legacy and (legacy == "manylinux2014" or arch in _X86):
                tags.append(f"{legacy}_{arch}")
        return tags

    def tags(self) -> list[Tag]:
        """Every wheel tag the target interpreter accepts, best first (PEP 425 order)."""
        return list(_tags(self))

    def tag_rank(self) -> Mapping[Tag, int]:
        """Each accepted tag's position in ``tags()``: lower is better."""
        return {tag: i for i, tag in enumerate(_tags(self))}

    def marker_environment(self) -> dict[str, str]:
        """The full PEP 508 environment of the target's interpreter.

        Every key is given: ``Marker.evaluate`` merges what it is passed over the
        *host's* default environment, so a missing key would let the host leak in.
        ``platform_release`` is the release's kernel series and ``platform_version``
        is empty: the running kernel is unknowable at build time.
        """
        return {
            "implementation_name": "cpython",
            "implementation_version": self.python_full_version,
            "os_name": "posix",
            "platform_machine": self.arch.machine,
            "platform_python_implementation": "CPython",
            "platform_release": self.release.kernel,
            "platform_system": "Linux",
            "platform_version": "",
            "python_full_version": self.python_full_version,
            "python_version": self.pyver,
            "sys_platform": "linux",
        }


@lru_cache(maxsize=32)
def _tags(target: Target) -> tuple[Tag, ...]:
    platforms = target.platforms()
    interpreter = "cp{}{}".format(*target.python_version)
    # abis and interpreter given explicitly: the defaults ask the running interpreter
    ordered = list(cpython_tags(target.python_version, abis=[interpreter], platforms=platforms))
    ordered += compatible_tags(target.python_version, interpreter=interpreter, platforms=platforms)
    return tuple(ordered)


@dataclass(frozen=True, slots=True)
class HostFacts:
    """What the build host is: only ever used to choose defaults."""

    release: str | None  # "debian-12" when /etc/os-release names one, else None
    machine: str  # platform.machine()


def host_runs(target: Target, host: HostFacts) -> bool:
    """Whether the build host runs the target's release on the target's architecture: the
    one case where a wheel compiled here (``linux_<arch>``, PEP 600) can run there."""
    return (host.release == target.release.name
            and _HOST_MACHINES.get(host.machine.lower()) == target.arch.name)


def host_facts() -> HostFacts:
    """Read the build host: os-release and the CPU. The only place that asks the host."""
    return HostFacts(release=_os_release_name(Path("/etc/os-release")), machine=platform.machine())


def _os_release_name(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None  # macOS, Windows, or a Linux without os-release
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            fields[key.strip()] = value.strip().strip("\"'")
    if "ID" not in fields or "VERSION_ID" not in fields:
        return None  # e.g. Debian testing/sid has no VERSION_ID
    return f"{fields['ID']}-{fields['VERSION_ID']}"


def get_target(
    release: str | None = None, arch: str | None = None, host: HostFacts | None = None
) -> Target:
    """The target for a release and architecture name; defaults come from ``host``.

    Without a release: the host's own release when the table has it, else the newest
    Debian stable.  Without an arch: the host's CPU in Debian's name.
    """
    if release is None or arch is None:
        host = host or host_facts()
    if release is None:
        assert host is not None
        release = host.release if host.release and host.release in RELEASES else DEFAULT_RELEASE
    if arch is None:
        assert host is not None
        arch = _HOST_MACHINES.get(host.machine.lower())
        if arch is None:
            raise TargetError(
                f"cannot map this host's CPU {host.machine!r} to a Debian architecture; "
                f"pass one with --arch (one of {', '.join(ARCHS)})"
            )
    if release not in RELEASES:
        raise TargetError(
            f"unknown target {release!r}; choose one of: {', '.join(RELEASES)}"
        )
    if arch not in ARCHS:
        hint = _HOST_MACHINES.get(arch.lower())
        fix = f" (did you mean {hint!r}?)" if hint else ""
        raise TargetError(
            f"unknown architecture {arch!r}{fix}; choose one of: {', '.join(ARCHS)}"
        )
    rel = RELEASES[release]
    if arch not in rel.archs:
        raise TargetError(
            f"{release} has no {arch} port; its architectures are: {', '.join(rel.archs)}"
        )
    return Target(rel, ARCHS[arch])
