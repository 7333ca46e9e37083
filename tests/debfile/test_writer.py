"""write_deb(): the ar container, round trips, reproducibility, atomicity and bad input."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import pytest
from debian.debfile import DebFile
from writer_samples import EPOCH, marker_scripts, sample_control, sample_entries

from pydebvenv.debfile.control import Control, MaintainerScripts
from pydebvenv.debfile.entry import Entry, file_entry, host_file_entry
from pydebvenv.debfile.writer import DEFAULT_EPOCH, write_deb
from pydebvenv.errors import ArchiveError


def _ar_members(data: bytes) -> list[tuple[bytes, bytes]]:
    """(header, content) per member, checking the layout dpkg-deb writes."""
    assert data[:8] == b"!<arch>\n"
    pos, out = 8, []
    while pos < len(data):
        header = data[pos:pos + 60]
        assert header[58:60] == b"`\n"
        size = int(header[48:58])
        out.append((header, data[pos + 60:pos + 60 + size]))
        pos += 60 + size
        if size % 2:
            assert data[pos:pos + 1] == b"\n"
            pos += 1
    assert pos == len(data)
    return out


def _build(tmp_path: Path, compression: str = "xz", **kw: object) -> Path:
    return write_deb(sample_control(), sample_entries(), tmp_path / "out",
                     compression=compression, scripts=marker_scripts(),
                     source_date_epoch=EPOCH, **kw)  # type: ignore[arg-type]


def test_ar_container_bytes(tmp_path: Path) -> None:
    deb = _build(tmp_path)
    assert deb.name == "hello-deb_1.0-1_all.deb"
    members = _ar_members(deb.read_bytes())
    assert [h[:16].rstrip() for h, _ in members] == [
        b"debian-binary", b"control.tar.xz", b"data.tar.xz"]
    # byte for byte what dpkg-deb 1.21.23 writes (docs/deb-format.md, "The ar container")
    assert members[0][0] == b"debian-binary   1700000000  0     0     100644  4         `\n"
    assert members[0][1] == b"2.0\n"
    for header, content in members:
        expected = f"{header[:16].decode()}{EPOCH:<12}{0:<6}{0:<6}{'100644':<8}{len(content):<10}`\n"
        assert header == expected.encode()


def test_ar_matches_dpkg_deb_headers(tmp_path: Path) -> None:
    """dpkg-deb --build of the tree we wrote gives the same ar headers (sizes aside)."""
    deb = _build(tmp_path)
    tree = tmp_path / "tree"
    subprocess.run(["dpkg-deb", "-R", str(deb), str(tree)], check=True)
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(EPOCH)}
    theirs = tmp_path / "theirs.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(tree), str(theirs)],
                   check=True, env=env, capture_output=True)
    ours_h = [h[:48] for h, _ in _ar_members(deb.read_bytes())]
    theirs_h = [h[:48] for h, _ in _ar_members(theirs.read_bytes())]
    assert ours_h == theirs_h
    # and the same listing
    listing = [subprocess.run(["dpkg-deb", "--contents", str(p)], capture_output=True,
                              text=True, check=True).stdout for p in (deb, theirs)]
    assert sorted(listing[0].splitlines()) == sorted(listing[1].splitlines())


@pytest.mark.parametrize("compression", ["xz", "gzip", "zstd", "none"])
def test_round_trip_python_debian(tmp_path: Path, compression: str) -> None:
    deb = _build(tmp_path, compression)
    parsed = DebFile(str(deb))
    control = parsed.debcontrol()
    assert control["Package"] == "hello-deb" and control["Version"] == "1.0-1"
    md5 = parsed.md5sums()
    files = {e.path: e for e in sample_entries() if e.kind == "file"}
    # regular files only, conffiles excluded (dh_md5sums)
    assert {k.decode() if isinstance(k, bytes) else k for k in md5} == {
        p for p, e in files.items() if not e.conffile}
    for path, digest in md5.items():
        path = path.decode() if isinstance(path, bytes) else path
        with files[path].open() as f:
            assert hashlib.md5(f.read()).hexdigest() == digest
    assert parsed.control.get_content("conffiles", encoding="utf-8") == (
        "/etc/hello-deb/hello.conf\n")
    names = parsed.data.tgz().getnames()
    assert names[0] == "./" or names[0] == "."
    assert "./usr/share/hello-deb/" + "long-" * 30 + ".txt" in names


def test_data_tar_structure(tmp_path: Path) -> None:
    deb = _build(tmp_path, "none")
    data = _ar_members(deb.read_bytes())[2][1]
    raw_names = []
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = tar.getmembers()
        for m in members:
            assert (m.uid, m.gid, m.uname, m.gname, m.mtime) == (0, 0, "root", "root", EPOCH)
            assert m.pax_headers == {}
            raw_names.append(m.name)
    assert raw_names[0] == "."
    seen = {"."}
    for name in raw_names[1:]:
        assert name.startswith("./")
        assert name.rsplit("/", 1)[0] in seen  # parent came first
        seen.add(name)
    assert raw_names == [raw_names[0], *sorted(raw_names[1:], key=lambda n: n.split("/"))]
    # GNU format, never PAX: no 'x'/'g' header anywhere, ././@LongLink for long names
    assert b"ustar  \0" in data[:512]
    for offset in range(0, len(data) - 512, 512):
        assert data[offset + 156:offset + 157] not in (b"x", b"g") or data[offset + 257:
                                                                            offset + 262] != b"ustar"
    assert b"././@LongLink" in data


def test_dpkg_deb_listings_golden(tmp_path: Path, golden: Callable[[str, str], None]) -> None:
    deb = _build(tmp_path)
    info = subprocess.run(["dpkg-deb", "--info", str(deb)], capture_output=True, text=True,
                          check=True).stdout
    # the first lines carry sizes that change with the compressor library; the rest is ours
    # trailing blanks of dpkg-deb's table rows differ between dpkg 1.21 and 1.22
    golden("sample-info.txt", "\n".join(ln.rstrip() for ln in info.splitlines()[2:]) + "\n")
    contents = subprocess.run(["dpkg-deb", "--contents", str(deb)], capture_output=True,
                              text=True, check=True).stdout
    golden("sample-contents.txt", contents)
    fsys = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], capture_output=True,
                          check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(fsys)) as tar:
        listing = "".join(f"{m.name} {m.type.decode()} {m.mode:o} {m.size} {m.linkname}\n"
                          for m in tar.getmembers())
    golden("sample-fsys.txt", listing)
    control = subprocess.run(["dpkg-deb", "--field", str(deb)], capture_output=True, text=True,
                             check=True).stdout
    golden("sample-control.txt", control)


def test_reproducible_across_cwd_umask_and_host_modes(tmp_path: Path) -> None:
    """Build twice from host files (0644 vs 0600, umask 022 vs 077, other cwd): same sha256."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "tool").write_bytes(b"#!/bin/sh\necho tool\n")
    (src / "data.bin").write_bytes(os.urandom(100_000))

    def build(out: Path, umask: int, file_mode: int, cwd: Path) -> str:
        for p in src.iterdir():
            p.chmod(file_mode)
            os.utime(p, (12345, 12345 + umask))  # host mtimes must not matter either
        cwd.mkdir(parents=True, exist_ok=True)
        old_umask, old_cwd = os.umask(umask), os.getcwd()
        try:
            os.chdir(cwd)
            entries = [host_file_entry("usr/bin/tool", src / "tool", mode=0o755),
                       host_file_entry("usr/share/t/data.bin", src / "data.bin"),
                       *sample_entries()]
            deb = write_deb(sample_control(), entries, out, scripts=marker_scripts())
        finally:
            os.chdir(old_cwd)
            os.umask(old_umask)
        return hashlib.sha256(deb.read_bytes()).hexdigest()

    first = build(tmp_path / "a", 0o022, 0o644, tmp_path)
    second = build(tmp_path / "b", 0o077, 0o600, tmp_path / "elsewhere")
    assert first == second


def test_epoch_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def first_mtime(deb: Path) -> int:
        return int(_ar_members(deb.read_bytes())[0][0][16:28])

    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    entries = [file_entry("usr/x", b"x", source="t")]
    assert first_mtime(write_deb(sample_control(), entries, tmp_path / "a")) == DEFAULT_EPOCH
    assert DEFAULT_EPOCH >= 157766400  # lintian: nothing older than 1975
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1600000000")
    assert first_mtime(write_deb(sample_control(), entries, tmp_path / "b")) == 1600000000
    deb = write_deb(sample_control(), entries, tmp_path / "c", source_date_epoch=1650000000)
    assert first_mtime(deb) == 1650000000
    with tarfile.open(fileobj=io.BytesIO(_ar_members(deb.read_bytes())[2][1])) as tar:
        assert {m.mtime for m in tar.getmembers()} == {1650000000}
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(ArchiveError, match="SOURCE_DATE_EPOCH"):
        write_deb(sample_control(), entries, tmp_path / "d")
    assert not (tmp_path / "d").exists()


class _Boom(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        raise OSError("disk on fire")


@pytest.mark.parametrize("case", ["opener-raises", "read-fails", "short", "long", "dup",
                                  "bad-version", "bad-name", "compression", "bad-script"])
def test_failures_leave_nothing(tmp_path: Path, case: str) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "unrelated.txt").write_text("keep me")

    def raising() -> BinaryIO:
        raise RuntimeError("opener exploded")

    big = [file_entry(f"usr/share/big/{i}", os.urandom(50_000), source="t") for i in range(20)]
    control: Control = sample_control()
    scripts = MaintainerScripts()
    compression = "xz"
    bad: list[Entry]
    if case == "opener-raises":
        bad = [Entry("usr/z/last", "file", 0o644, "gen", size=10, opener=raising)]
    elif case == "read-fails":
        bad = [Entry("usr/z/last", "file", 0o644, "gen", size=10,
                     opener=lambda: io.BufferedReader(_Boom()))]
    elif case == "short":
        bad = [Entry("usr/z/last", "file", 0o644, "gen", size=10, opener=lambda: io.BytesIO(b"1"))]
    elif case == "long":
        bad = [Entry("usr/z/last", "file", 0o644, "gen", size=1,
                     opener=lambda: io.BytesIO(b"12"))]
    elif case == "dup":
        bad = [file_entry("usr/share/big/3", b"", source="second source")]
    else:
        bad = []
        if case == "bad-version":
            control = sample_control(version="v1.0")
        elif case == "bad-name":
            control = Control("Hello", "1.0", "all", "M <m@e.org>", "d\nx")
        elif case == "compression":
            compression = "bzip2"
        else:
            scripts = MaintainerScripts(postinst="echo no shebang\n")
    with pytest.raises((ArchiveError, RuntimeError)) as info:
        write_deb(control, [*big, *bad], out, compression=compression, scripts=scripts)
    assert "\n" not in str(info.value)
    if case == "dup":
        assert "'t'" not in str(info.value) and "second source" in str(info.value)
    if case in ("short", "long", "read-fails"):
        assert "gen" in str(info.value) and "usr/z/last" in str(info.value)
    assert sorted(p.name for p in out.iterdir()) == ["unrelated.txt"]


def test_output_dir_created_and_existing_file_replaced(tmp_path: Path) -> None:
    out = tmp_path / "new" / "dir"
    deb = write_deb(sample_control(), [file_entry("usr/x", b"1", source="t")], out)
    first = deb.read_bytes()
    deb2 = write_deb(sample_control(), [file_entry("usr/x", b"2", source="t")], out)
    assert deb2 == deb and deb.read_bytes() != first
    assert [p.name for p in out.iterdir()] == [deb.name]
    assert deb.stat().st_mode & 0o777 == 0o644


def test_entries_consumed_lazily_once(tmp_path: Path) -> None:
    opened: list[str] = []

    def gen() -> Iterator[Entry]:
        for i in range(3):
            def opener(i: int = i) -> BinaryIO:
                opened.append(str(i))
                return io.BytesIO(b"%d" % i)
            yield Entry(f"usr/{i}", "file", 0o644, "gen", size=1, opener=opener)

    write_deb(sample_control(), gen(), tmp_path)
    assert opened == ["0", "1", "2"]  # each file opened exactly once


def test_control_tar_members(tmp_path: Path) -> None:
    scripts = MaintainerScripts(postinst="#!/bin/sh\nexit 0", prerm="#!/bin/sh\nexit 0\n",
                                triggers="interest-noawait /usr/lib/python3.11\n")
    entries = [*sample_entries(), file_entry("etc/hello-deb/other.conf", b"o\n", source="t",
                                             conffile=True)]
    deb = write_deb(sample_control(), entries, tmp_path, compression="gzip", scripts=scripts,
                    source_date_epoch=EPOCH)
    control_tar = _ar_members(deb.read_bytes())[1][1]
    with tarfile.open(fileobj=io.BytesIO(control_tar), mode="r:gz") as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert list(members) == [".", "./conffiles", "./control", "./md5sums", "./postinst",
                                 "./prerm", "./triggers"]
        modes = {name: m.mode for name, m in members.items()}
        assert modes == {".": 0o755, "./conffiles": 0o644, "./control": 0o644,
                         "./md5sums": 0o644, "./postinst": 0o755, "./prerm": 0o755,
                         "./triggers": 0o644}
        assert {(m.uid, m.gid, m.uname, m.gname, m.mtime) for m in members.values()} == {
            (0, 0, "root", "root", EPOCH)}

        def text(name: str) -> str:
            f = tar.extractfile(members[name])
            assert f is not None
            return f.read().decode()

        assert text("./conffiles") == "/etc/hello-deb/hello.conf\n/etc/hello-deb/other.conf\n"
        assert text("./postinst") == "#!/bin/sh\nexit 0\n"  # final newline added
        md5_lines = text("./md5sums").splitlines()
        assert all(len(line.split("  ")[0]) == 32 for line in md5_lines)
        assert sorted(line.split("  ")[1] for line in md5_lines) == [
            "usr/bin/hello-deb", "usr/share/doc/hello-deb/changelog.Debian.gz",
            "usr/share/doc/hello-deb/copyright",
            "usr/share/hello-deb/data.txt", "usr/share/hello-deb/" + "long-" * 30 + ".txt"]
    # dpkg-deb itself reads it back
    info = subprocess.run(["dpkg-deb", "--info", str(deb), "triggers"], capture_output=True,
                          text=True, check=True).stdout
    assert info == "interest-noawait /usr/lib/python3.11\n"


def test_no_conffiles_member_without_conffiles(tmp_path: Path) -> None:
    deb = write_deb(sample_control(), [file_entry("usr/x", b"x", source="t")], tmp_path,
                    compression="none")
    with tarfile.open(fileobj=io.BytesIO(_ar_members(deb.read_bytes())[1][1])) as tar:
        assert tar.getnames() == [".", "./control", "./md5sums"]
