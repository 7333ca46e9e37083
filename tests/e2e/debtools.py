"""Install, purge and look into .deb files with the real Debian tools, for the e2e tests."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.chroots import run_in

__all__ = [
    "EM_AARCH64",
    "EM_X86_64",
    "TarMember",
    "ctrl_members",
    "deb_field",
    "dpkg_install",
    "dpkg_purge",
    "dpkg_status",
    "elf_machine",
    "fsys_members",
    "lintian",
    "make_trivial_deb",
]

# ELF e_machine values (elf(5), /usr/include/elf.h)
EM_X86_64 = 62
EM_AARCH64 = 183


def dpkg_install(root: Path, deb: Path) -> subprocess.CompletedProcess[str]:
    """`dpkg -i` run INSIDE the chroot, so the maintainer scripts use the target's own tools."""
    inbox = root / "tmp" / "debs"
    inbox.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(deb, inbox / deb.name)
    try:
        return run_in(root, "dpkg", "-i", f"/tmp/debs/{deb.name}")
    finally:
        (inbox / deb.name).unlink()


def dpkg_purge(root: Path, package: str) -> subprocess.CompletedProcess[str]:
    return run_in(root, "dpkg", "--purge", package)


def dpkg_status(root: Path, package: str) -> str:
    """The package's `Status` as dpkg-query reports it ('' when dpkg does not know it)."""
    proc = run_in(root, "dpkg-query", "-W", "-f=${Status}", package, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else ""


def deb_field(deb: Path, field: str) -> str:
    out = subprocess.run(
        ["dpkg-deb", "-f", str(deb), field], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


@dataclass(frozen=True, slots=True)
class TarMember:
    """One data.tar member as dpkg-deb hands it out."""

    name: str
    kind: str  # "file", "dir", "symlink", "other"
    mode: int
    link: str
    data: bytes


def fsys_members(deb: Path) -> Iterator[TarMember]:
    """Every member of the data.tar, decompressed by dpkg-deb itself (--fsys-tarfile)."""
    return _members(deb, "--fsys-tarfile")


def ctrl_members(deb: Path) -> Iterator[TarMember]:
    """Every member of the control.tar (--ctrl-tarfile): control, md5sums, scripts."""
    return _members(deb, "--ctrl-tarfile")


def _members(deb: Path, option: str) -> Iterator[TarMember]:
    raw = subprocess.run(["dpkg-deb", option, str(deb)], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        for info in tar:
            kind = (
                "file"
                if info.isreg()
                else "dir"
                if info.isdir()
                else "symlink"
                if info.issym()
                else "other"
            )
            handle = tar.extractfile(info) if info.isreg() else None
            data = handle.read() if handle is not None else b""
            yield TarMember(info.name, kind, info.mode, info.linkname, data)


def elf_machine(data: bytes) -> int | None:
    """e_machine of an ELF image, or None when `data` is not ELF (elf(5): offset 18, 2 bytes)."""
    if len(data) < 20 or data[:4] != b"\x7fELF":
        return None
    if data[5] == 1:  # EI_DATA: 1 = ELFDATA2LSB
        return int.from_bytes(data[18:20], "little")
    return int.from_bytes(data[18:20], "big")


def lintian(deb: Path) -> list[str]:
    """lintian's tag lines for `deb`, run on the host.

    lintian(1): exit 0 = no error tags, 2 = a --fail-on condition (error tags by default),
    1 = lintian itself failed; 2 without any `E:` line means it could not read the package.
    """
    # -I: info tags too, so unused overrides show
    proc = subprocess.run(["lintian", "--no-cfg", "-I", str(deb)], capture_output=True, text=True)
    tags = [line for line in proc.stdout.splitlines() if line[:2] in ("E:", "W:", "I:", "X:")]
    errors = any(tag.startswith("E:") for tag in tags)
    if proc.returncode not in (0, 2) or (proc.returncode == 2) != errors:
        raise AssertionError(
            f"lintian failed on {deb} (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return tags


def make_trivial_deb(workdir: Path, package: str = "e2e-trivial", version: str = "1.0") -> Path:
    """A tiny arch-all package built by `dpkg-deb --build`, for testing the test harness."""
    tree = workdir / f"{package}-tree"
    (tree / "DEBIAN").mkdir(parents=True)
    script = tree / "usr" / "bin" / package
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\necho trivial-ok\n", encoding="utf-8")
    script.chmod(0o755)
    (tree / "DEBIAN" / "control").write_text(
        f"Package: {package}\nVersion: {version}\nArchitecture: all\n"
        "Maintainer: Test Harness <harness@example.org>\n"
        "Description: e2e harness self-test package\n",
        encoding="utf-8",
    )
    out = workdir / f"{package}_{version}_all.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "--build", str(tree), str(out)],
        capture_output=True,
        check=True,
    )
    return out
