"""Test packages for the reader: real dpkg-deb builds, and hand-made ar/tar bytes for bad cases."""

from __future__ import annotations

import gzip
import hashlib
import io
import lzma
import os
import subprocess
import tarfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import zstandard

__all__ = [
    "CONTROL",
    "EXT",
    "LONG_NAME",
    "Tar",
    "ar",
    "ar_members",
    "build_with_dpkg",
    "compress",
    "control_tar",
    "dpkg_contents",
    "dpkg_fields",
    "hand_deb",
    "simple_data_tar",
]

CONTROL = (
    "Package: sample\n"
    "Version: 1:2.0-1\n"
    "Architecture: all\n"
    "Maintainer: Tester <tester@example.org>\n"
    "Installed-Size: 12\n"
    "Depends: python3.11, libc6 (>= 2.36)\n"
    "Section: utils\n"
    "Priority: optional\n"
    "Description: a sample package for the reader\n"
    " Extended text, first paragraph.\n"
    " .\n"
    " Second paragraph.\n"
)
LONG_NAME = "usr/share/python/sample/lib/python3.11/site-packages/" + "a_rather_long_name/" * 4 + (
    "module_with_a_name_long_enough_to_need_gnu_longlink.py"
)
EXT = {"none": "", "gzip": ".gz", "xz": ".xz", "zstd": ".zst"}


def compress(data: bytes, compression: str) -> bytes:
    if compression == "none":
        return data
    if compression == "gzip":
        return gzip.compress(data, mtime=0)
    if compression == "xz":
        return lzma.compress(data, format=lzma.FORMAT_XZ)
    if compression == "zstd":
        return zstandard.ZstdCompressor(write_checksum=True).compress(data)
    raise ValueError(compression)


def ar(members: Iterable[tuple[str, bytes]], *, pad: bytes = b"\n") -> bytes:
    """An ar archive as dpkg-deb writes it (deb(5))."""
    out = [b"!<arch>\n"]
    for name, data in members:
        header = f"{name:<16}{0:<12}{0:<6}{0:<6}{0o100644:<8o}{len(data):<10}".encode()
        out += [header, b"`\n", data]
        if len(data) % 2:
            out.append(pad)
    return b"".join(out)


def ar_members(data: bytes) -> list[tuple[str, bytes]]:
    pos, out = 8, []
    while pos < len(data):
        header = data[pos:pos + 60]
        size = int(header[48:58])
        out.append((header[:16].decode().strip(), data[pos + 60:pos + 60 + size]))
        pos += 60 + size + size % 2
    return out


@dataclass
class Tar:
    """Builds tar bytes member by member, with full control of names, types and sizes."""

    format: int = tarfile.GNU_FORMAT

    def __post_init__(self) -> None:
        self._buf = io.BytesIO()
        self._tar = tarfile.open(  # noqa: SIM115 (closed by bytes())
            fileobj=self._buf, mode="w", format=self.format)

    def add(self, name: str, *, kind: bytes = tarfile.REGTYPE, data: bytes = b"",
            link: str = "", mode: int | None = None) -> Tar:
        info = tarfile.TarInfo(name)
        info.type = kind
        info.mode = mode if mode is not None else (0o755 if kind == tarfile.DIRTYPE else 0o644)
        info.uname = info.gname = "root"
        info.mtime = 1700000000
        info.linkname = link
        info.size = len(data) if kind == tarfile.REGTYPE else 0
        self._tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
        return self

    def dir(self, name: str) -> Tar:
        return self.add(name, kind=tarfile.DIRTYPE)

    def bytes(self) -> bytes:
        self._tar.close()
        return self._buf.getvalue()


def control_tar(control: str = CONTROL, **files: bytes) -> bytes:
    tar = Tar().dir("./").add("./control", data=control.encode())
    for name, data in files.items():
        tar.add(f"./{name}", data=data, mode=0o755 if name.endswith(("inst", "rm")) else 0o644)
    return tar.bytes()


def simple_data_tar() -> bytes:
    return (Tar().dir("./").dir("./usr").dir("./usr/bin")
            .add("./usr/bin/hello", data=b"#!/bin/sh\necho hello\n", mode=0o755).bytes())


def hand_deb(data_tar: bytes | None = None, *, control: bytes | None = None,
             compression: str = "xz", members: Sequence[tuple[str, bytes]] | None = None,
             ) -> bytes:
    """A .deb from tar bytes: debian-binary, control.tar.<c>, data.tar.<c>."""
    if members is None:
        ext = EXT[compression]
        members = [
            ("debian-binary", b"2.0\n"),
            (f"control.tar{ext}", compress(control if control is not None
                                           else control_tar(), compression)),
            (f"data.tar{ext}", compress(data_tar if data_tar is not None
                                        else simple_data_tar(), compression)),
        ]
    return ar(members)


def build_with_dpkg(tmp: Path, compression: str, *, md5sums: bool = True) -> Path:
    """A rich package built by the real dpkg-deb: conffile, scripts, symlinks, a hard link,
    a name over 100 bytes, an empty file, an executable."""
    root = tmp / f"tree-{compression}"
    debian = root / "DEBIAN"
    debian.mkdir(parents=True)
    files = {
        "etc/sample/sample.conf": b"key = value\n",
        "usr/share/doc/sample/copyright": b"Copyright: nobody\n" * 50,
        "usr/share/python/sample/bin/sample": b"#!/usr/share/python/sample/bin/python\n",
        "usr/share/python/sample/empty": b"",
        LONG_NAME: b"x = 1\n" * 300,
    }
    for rel, data in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        target.chmod(0o755 if rel.endswith("bin/sample") else 0o644)
    (root / "usr/bin").mkdir(parents=True)
    os.symlink("../share/python/sample/bin/sample", root / "usr/bin/sample")
    os.symlink("/usr/bin/python3.11", root / "usr/share/python/sample/bin/python")
    long_link = root / "usr/share/python/sample/link-to-long"
    os.symlink("/" + LONG_NAME, long_link)
    os.link(root / "usr/share/doc/sample/copyright", root / "usr/share/doc/sample/copyright2")
    (debian / "control").write_text(CONTROL)
    (debian / "conffiles").write_text("/etc/sample/sample.conf\n")
    for name in ("preinst", "postinst", "prerm", "postrm"):
        (debian / name).write_text(f"#!/bin/sh\nset -e\n# {name} of sample\nexit 0\n")
        (debian / name).chmod(0o755)
    (debian / "triggers").write_text("interest-noawait /usr/lib/python3.11\n")
    if md5sums:
        lines = [
            f"{hashlib.md5((root / rel).read_bytes()).hexdigest()}  {rel}\n"
            for rel in sorted([*files, "usr/share/doc/sample/copyright2"])
            if not rel.startswith("etc/")  # dh_md5sums skips conffiles
        ]
        (debian / "md5sums").write_text("".join(lines))
    out = tmp / f"sample-{compression}.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "--build", f"-Z{compression}", str(root), str(out)],
        check=True, capture_output=True, env={**os.environ, "SOURCE_DATE_EPOCH": "1700000000"},
    )
    return out


def dpkg_contents(deb: Path) -> list[tuple[str, str, int, str, str | None]]:
    """`dpkg-deb --contents` as (perms, owner, size, path, link) rows."""
    text = subprocess.run(["dpkg-deb", "--contents", str(deb)], check=True,
                          capture_output=True, text=True).stdout
    rows = []
    for line in text.splitlines():
        perms, owner, size, _date, _time, rest = line.split(maxsplit=5)
        link: str | None = None
        if perms.startswith("l"):
            rest, link = rest.split(" -> ", 1)
        elif perms.startswith("h"):
            rest, link = rest.split(" link to ", 1)
        rows.append((perms, owner, int(size), rest, link))
    return rows


def dpkg_fields(deb: Path) -> dict[str, str]:
    """`dpkg-deb --field` parsed by hand: 'Name: value' lines and their continuations."""
    text = subprocess.run(["dpkg-deb", "--field", str(deb)], check=True,
                          capture_output=True, text=True).stdout
    fields: dict[str, str] = {}
    name = ""
    for line in text.splitlines():
        if line.startswith(" "):
            fields[name] += "\n" + line
        else:
            name, _, value = line.partition(":")
            fields[name] = value.strip()
    return fields
