"""read_deb refuses malformed and hostile packages with one clear line."""

from __future__ import annotations

import hashlib
import os
import subprocess
import tarfile
from pathlib import Path

import pytest
from reader_fixtures.build import (
    EXT,
    Tar,
    ar,
    ar_members,
    compress,
    control_tar,
    hand_deb,
    simple_data_tar,
)

from pydebvenv.debfile.reader import read_deb
from pydebvenv.errors import InspectError

HELLO = b"#!/bin/sh\necho hello\n"
HELLO_MD5 = hashlib.md5(HELLO).hexdigest()


def refuse(tmp_path: Path, data: bytes, *fragments: str) -> str:
    deb = tmp_path / "bad.deb"
    deb.write_bytes(data)
    with pytest.raises(InspectError) as caught:
        read_deb(deb)
    message = str(caught.value)
    assert "\n" not in message, message
    assert str(deb) in message
    for fragment in fragments:
        assert fragment in message, message
    return message


def accept(tmp_path: Path, data: bytes) -> None:
    deb = tmp_path / "good.deb"
    deb.write_bytes(data)
    read_deb(deb)


def test_hand_built_baseline_is_accepted(tmp_path: Path) -> None:
    for compression in EXT:
        accept(tmp_path, hand_deb(compression=compression))


# --------------------------------------------------------------------------- the file itself


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InspectError, match="does not exist"):
        read_deb(tmp_path / "nope.deb")


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(InspectError, match="is a directory"):
        read_deb(tmp_path)


def test_fifo_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.deb"
    os.mkfifo(fifo)
    with pytest.raises(InspectError, match="not a regular file"):
        read_deb(fifo)


def test_empty_file(tmp_path: Path) -> None:
    refuse(tmp_path, b"", "empty")


# --------------------------------------------------------------------------- ar container


def test_bad_ar_magic(tmp_path: Path) -> None:
    refuse(tmp_path, b"PK\x03\x04" + hand_deb()[4:], "ar magic", "b'!<arch>\\n'")


def test_bad_header_terminator(tmp_path: Path) -> None:
    data = bytearray(hand_deb())
    data[8 + 58] = ord("x")
    refuse(tmp_path, bytes(data), "corrupt ar header at offset 8", "terminator")


def test_non_numeric_size(tmp_path: Path) -> None:
    data = bytearray(hand_deb())
    data[8 + 48:8 + 58] = b"4x        "
    refuse(tmp_path, bytes(data), "size field", "not a decimal number")


def test_declared_size_larger_than_file(tmp_path: Path) -> None:
    members = ar_members(hand_deb())
    data = ar(members)
    last_header = len(data) - len(members[-1][1]) - len(members[-1][1]) % 2 - 60
    patched = bytearray(data)
    patched[last_header + 48:last_header + 58] = f"{10**9:<10}".encode()
    refuse(tmp_path, bytes(patched), "declares 1000000000 bytes", "truncated")


def test_odd_member_without_padding(tmp_path: Path) -> None:
    members = [("debian-binary", b"2.0\n"), ("control.tar", control_tar()),
               ("_odd", b"abc"), ("data.tar", simple_data_tar())]
    refuse(tmp_path, ar(members, pad=b"X"), "padding byte after odd-sized member '_odd'")
    refuse(tmp_path, ar(members[:3], pad=b""), "padding", "missing")


def test_ar_names_with_trailing_slash_are_accepted(tmp_path: Path) -> None:
    members = [(f"{name}/", data) for name, data in ar_members(hand_deb())]
    accept(tmp_path, ar(members))


def test_debian_binary_not_first(tmp_path: Path) -> None:
    members = ar_members(hand_deb())
    refuse(tmp_path, ar([members[1], members[0], members[2]]),
           "first ar member is 'control.tar.xz'", "debian-binary")


@pytest.mark.parametrize(("content", "fragment"), [
    (b"2.0", "no newline"),
    (b"3.0\n", "not 2.x"),
    (b"two\n", "not 2.x"),
    (b"2.0\n" + b"x" * 2000, "2004 bytes"),
])
def test_bad_debian_binary(tmp_path: Path, content: bytes, fragment: str) -> None:
    members = ar_members(hand_deb())
    refuse(tmp_path, ar([("debian-binary", content), *members[1:]]), fragment)


def test_debian_binary_minor_bump_and_extra_lines_are_accepted(tmp_path: Path) -> None:
    members = ar_members(hand_deb())
    accept(tmp_path, ar([("debian-binary", b"2.1\nfoo\n"), *members[1:]]))


def test_data_before_control(tmp_path: Path) -> None:
    members = ar_members(hand_deb())
    refuse(tmp_path, ar([members[0], members[2], members[1]]),
           "premature member 'data.tar.xz' before 'control.tar'")


@pytest.mark.parametrize(("position", "wanted"), [(1, "control.tar"), (2, "data.tar")])
def test_unknown_member_before_data(tmp_path: Path, position: int, wanted: str) -> None:
    members = ar_members(hand_deb())
    members.insert(position, ("foo", b"bar\n"))
    refuse(tmp_path, ar(members), f"premature member 'foo' before '{wanted}'")


def test_underscore_members_are_skipped_and_trailing_members_ignored(tmp_path: Path) -> None:
    members = ar_members(hand_deb())
    members.insert(1, ("_gpgbuilder", b"signature\n"))
    members.append(("foo", b"anything"))
    deb = tmp_path / "ok.deb"
    deb.write_bytes(ar(members))
    info = read_deb(deb)
    assert info.members == ("debian-binary", "_gpgbuilder", "control.tar.xz", "data.tar.xz",
                            "foo")


def test_two_control_members(tmp_path: Path) -> None:
    members = ar_members(hand_deb())
    refuse(tmp_path, ar([members[0], members[1], members[1], members[2]]),
           "two control members")


def test_control_tar_bz2_is_refused(tmp_path: Path) -> None:
    members = ar_members(hand_deb(compression="none"))
    refuse(tmp_path, ar([members[0], ("control.tar.bz2", members[1][1]), members[2]]),
           "unknown compression for member 'control.tar.bz2'")


@pytest.mark.parametrize(("names", "fragment"), [
    (["debian-binary"], "no control.tar member"),
    (["debian-binary", "control.tar.xz"], "no data.tar member"),
])
def test_missing_members(tmp_path: Path, names: list[str], fragment: str) -> None:
    members = [m for m in ar_members(hand_deb()) if m[0] in names]
    refuse(tmp_path, ar(members), fragment)


def test_compression_mismatch_with_name(tmp_path: Path) -> None:
    members = ar_members(hand_deb())
    gz = compress(simple_data_tar(), "gzip")
    refuse(tmp_path, ar([*members[:2], ("data.tar.xz", gz)]), "corrupt", "data.tar.xz")


# --------------------------------------------------------------------------- tar paths and types


@pytest.mark.parametrize(("name", "fragment"), [
    ("/etc/passwd", "absolute name"),
    ("../etc/passwd", "'..' component"),
    ("./usr/../../etc/passwd", "'..' component"),
    ("usr/share/..", "'..' component"),
])
@pytest.mark.parametrize("compression", ["xz", "none"])
def test_unsafe_names(tmp_path: Path, name: str, fragment: str, compression: str) -> None:
    data = Tar().dir("./").add(name, data=b"x").bytes()
    refuse(tmp_path, hand_deb(data, compression=compression), "data.tar", fragment)


def test_unsafe_name_in_control_tar(tmp_path: Path) -> None:
    control = Tar().add("./control", data=control_text()).add("../evil", data=b"x").bytes()
    refuse(tmp_path, hand_deb(control=control), "control.tar", "'..' component")


def control_text(**extra: str) -> bytes:
    text = "Package: p\nVersion: 1.0\nArchitecture: all\n"
    text += "".join(f"{k}: {v}\n" for k, v in extra.items())
    return text.encode()


def test_hard_link_to_later_member(tmp_path: Path) -> None:
    data = (Tar().dir("./").add("./b", kind=tarfile.LNKTYPE, link="./a")
            .add("./a", data=b"x").bytes())
    refuse(tmp_path, hand_deb(data), "hard link './b'", "not an earlier regular file")


def test_hard_link_to_directory(tmp_path: Path) -> None:
    data = Tar().dir("./").dir("./d").add("./b", kind=tarfile.LNKTYPE, link="./d").bytes()
    refuse(tmp_path, hand_deb(data), "not an earlier regular file")


def test_hard_link_target_escaping(tmp_path: Path) -> None:
    data = Tar().dir("./").add("./b", kind=tarfile.LNKTYPE, link="../../etc/shadow").bytes()
    refuse(tmp_path, hand_deb(data), "hard link './b'", "'..' component")


@pytest.mark.parametrize("kind", [tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE])
def test_devices_and_fifos(tmp_path: Path, kind: bytes) -> None:
    data = Tar().dir("./").add("./dev-thing", kind=kind).bytes()
    refuse(tmp_path, hand_deb(data), "device or fifo", "never holds one")


def test_path_through_symlink(tmp_path: Path) -> None:
    data = (Tar().dir("./").add("./etc", kind=tarfile.SYMTYPE, link="/etc")
            .add("./etc/cron.d/evil", data=b"* * * * * root sh\n").bytes())
    refuse(tmp_path, hand_deb(data), "lies under 'etc', which is a symlink")


def test_duplicate_path(tmp_path: Path) -> None:
    data = Tar().dir("./").add("./a", data=b"1").add("a", data=b"2").bytes()
    refuse(tmp_path, hand_deb(data), "holds './a' twice")


def test_pax_headers_in_data_tar(tmp_path: Path) -> None:
    data = Tar(format=tarfile.PAX_FORMAT).dir("./").add("./" + "x" * 150, data=b"1").bytes()
    refuse(tmp_path, hand_deb(data), "PAX extended header", "dpkg -i refuses")


def test_huge_gnu_long_name_header(tmp_path: Path) -> None:
    header = tarfile.TarInfo("././@LongLink")
    header.type = tarfile.GNUTYPE_LONGNAME
    header.size = 2**33
    raw = header.tobuf(format=tarfile.GNU_FORMAT)
    refuse(tmp_path, hand_deb(raw + b"\0" * 4096), "claims 8589934592 bytes")


def test_corrupt_tar_header_is_not_a_silent_end(tmp_path: Path) -> None:
    data = bytearray(Tar().dir("./").add("./a", data=b"1").add("./b", data=b"2").bytes())
    data[3 * 512 + 148] ^= 0x01  # checksum field of the header of ./b (block 3)
    refuse(tmp_path, hand_deb(bytes(data), compression="gzip"), "corrupt tar header")


def test_symlink_in_control_tar(tmp_path: Path) -> None:
    control = (Tar().add("./control", data=control_text())
               .add("./postinst", kind=tarfile.SYMTYPE, link="/bin/sh").bytes())
    refuse(tmp_path, hand_deb(control=control), "control members are plain files")


# --------------------------------------------------------------------------- control files


@pytest.mark.parametrize(("control", "fragment"), [
    (b"Package: p\nVersion: \xff\nArchitecture: all\n", "not valid UTF-8"),
    (b"Package: p\nVersion: 1\nArchitecture: all", "final newline"),
    (b"Package: p\nVersion: 1\nVersion: 2\nArchitecture: all\n", "duplicate 'Version'"),
    (b"Package: p\ngarbage\nVersion: 1\nArchitecture: all\n", "line 2 'garbage'"),
    (b"Package: p\n\nVersion: 1\nArchitecture: all\n", "line 2 '' is blank"),
    (b" continued\nPackage: p\n", "continuation without a field"),
    (b"Version: 1\nArchitecture: all\n", "no 'Package' field"),
    (b"\n", "control file is empty"),
])
def test_bad_control_file(tmp_path: Path, control: bytes, fragment: str) -> None:
    tar = Tar().dir("./").add("./control", data=control).bytes()
    refuse(tmp_path, hand_deb(control=tar), fragment)


def test_control_tar_without_control(tmp_path: Path) -> None:
    tar = Tar().dir("./").add("./md5sums", data=b"").bytes()
    refuse(tmp_path, hand_deb(control=tar), "has no 'control' file")


def md5_control(md5sums: bytes) -> bytes:
    return control_tar(md5sums=md5sums)


def test_md5sums_match_is_accepted(tmp_path: Path) -> None:
    accept(tmp_path, hand_deb(control=md5_control(f"{HELLO_MD5}  usr/bin/hello\n".encode())))
    accept(tmp_path, hand_deb(control=md5_control(f"{HELLO_MD5}  ./usr/bin/hello\n".encode())))


@pytest.mark.parametrize(("md5sums", "fragment"), [
    (f"{'0' * 32}  usr/bin/hello\n", "md5sums mismatch for 'usr/bin/hello'"),
    (f"{HELLO_MD5}  usr/bin/other\n", "not a file in data.tar"),
    (f"{HELLO_MD5.upper()}  usr/bin/hello\n", "32 lowercase hex"),
    (f"{HELLO_MD5} usr/bin/hello\n", "32 lowercase hex"),
    (f"{HELLO_MD5}  usr/bin/hello\n{HELLO_MD5}  usr/bin/hello\n", "twice"),
    (f"{HELLO_MD5}  ../etc/passwd\n", "'..' component"),
])
def test_bad_md5sums(tmp_path: Path, md5sums: str, fragment: str) -> None:
    refuse(tmp_path, hand_deb(control=md5_control(md5sums.encode())), fragment)


@pytest.mark.parametrize(("conffiles", "fragment"), [
    (b"/etc/missing.conf\n", "'/etc/missing.conf' is not a regular file in data.tar"),
    (b"etc/relative.conf\n", "not an absolute path"),
    (b"/usr/bin/hello", "final newline"),
    (b"frobnicate /usr/bin/hello\n", "unknown flag 'frobnicate'"),
    (b"remove-on-upgrade /usr/bin/hello\n", "marked remove-on-upgrade but shipped"),
])
def test_bad_conffiles(tmp_path: Path, conffiles: bytes, fragment: str) -> None:
    refuse(tmp_path, hand_deb(control=control_tar(conffiles=conffiles)), fragment)


def test_conffile_flags_are_kept(tmp_path: Path) -> None:
    deb = tmp_path / "ok.deb"
    conffiles = b"/usr/bin/hello\nremove-on-upgrade /etc/old.conf\n"
    deb.write_bytes(hand_deb(control=control_tar(conffiles=conffiles)))
    assert read_deb(deb).conffiles == ("/usr/bin/hello", "remove-on-upgrade /etc/old.conf")


# --------------------------------------------------------------------------- damage


@pytest.mark.parametrize("compression", list(EXT))
def test_truncated_at_every_offset(tmp_path: Path, compression: str) -> None:
    data = hand_deb(compression=compression)
    step = 1 if compression != "none" else 7  # the uncompressed one is ~30 KB of tar blocks
    for cut in range(0, len(data), step):
        refuse(tmp_path, data[:cut])


@pytest.mark.parametrize("compression", ["xz", "gzip", "zstd"])
def test_corrupted_bytes_in_compressed_data(tmp_path: Path, compression: str) -> None:
    data = hand_deb(compression=compression)
    members = ar_members(data)
    payload = members[2][1]
    start = len(data) - len(payload) - len(payload) % 2
    assert data[start:start + len(payload)] == payload
    for offset in range(20, len(payload) - 20, 3):
        damaged = bytearray(data)
        damaged[start + offset] ^= 0x55
        refuse(tmp_path, bytes(damaged), "data.tar")


def test_corrupted_file_content_is_caught_by_md5sums(tmp_path: Path) -> None:
    data = hand_deb(control=md5_control(f"{HELLO_MD5}  usr/bin/hello\n".encode()),
                    compression="none")
    damaged = data.replace(b"echo hello", b"echo HELLO")
    refuse(tmp_path, damaged, "md5sums mismatch for 'usr/bin/hello'")


# --------------------------------------------------------------------------- agreement with dpkg


def _cases() -> dict[str, bytes]:
    good = ar_members(hand_deb())
    return {
        "bad magic": b"!<arcx>\n" + hand_deb()[8:],
        "debian-binary second": ar([good[1], good[0], good[2]]),
        "data before control": ar([good[0], good[2], good[1]]),
        "foo before control": ar([good[0], ("foo", b"x\n"), *good[1:]]),
        "foo before data": ar([*good[:2], ("foo", b"x\n"), good[2]]),
        "format 3.0": ar([("debian-binary", b"3.0\n"), *good[1:]]),
        "no newline": ar([("debian-binary", b"2.0"), *good[1:]]),
        "control.tar.bz2": ar([good[0], ("control.tar.bz2", b"BZh9"), good[2]]),
        "truncated": hand_deb()[:-40],
        "xz name, gzip data": ar([*good[:2], ("data.tar.xz", compress(simple_data_tar(),
                                                                          "gzip"))]),
    }


@pytest.mark.dpkg
@pytest.mark.parametrize("case", list(_cases()))
def test_dpkg_deb_refuses_what_we_refuse(tmp_path: Path, case: str) -> None:
    """Keeps the verifier honest: these are defects for dpkg-deb too (docs/deb-format.md, "What dpkg accepts")."""
    data = _cases()[case]
    refuse(tmp_path, data)
    result = subprocess.run(["dpkg-deb", "--contents", str(tmp_path / "bad.deb")],
                            capture_output=True, check=False)
    assert result.returncode != 0, case
