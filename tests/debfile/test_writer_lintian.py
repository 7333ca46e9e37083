"""lintian finds nothing wrong with the container write_deb() produces."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from writer_samples import EPOCH, marker_scripts, sample_control, sample_entries

from pydebvenv.debfile.writer import write_deb

pytestmark = pytest.mark.lintian

# Tags about the archive itself (ar/tar structure, ownership, control members, md5sums,
# conffiles, timestamps), as opposed to what a package ships.
CONTAINER_TAGS = {
    "malformed-deb-archive", "tar-errors-from-data", "tar-errors-from-control",
    "control-file-has-bad-permissions", "control-file-has-bad-owner", "unknown-control-file",
    "wrong-file-owner-uid-or-gid", "package-contains-ancient-file", "md5sums-lists-nonexistent-file",
    "file-missing-in-md5sums", "md5sum-mismatch", "malformed-md5sums-control-file",
    "no-md5sums-control-file", "conffile-has-bad-file-type", "non-etc-file-marked-as-conffile",
    "file-in-etc-not-marked-as-conffile", "control-file-is-empty", "package-has-long-file-name",
    "malformed-contents", "non-standard-dir-perm", "non-standard-file-perm",
    "non-standard-executable-perm", "setuid-binary", "dir-or-file-in-opt",
    "package-contains-vcs-control-file", "installed-size-not-numeric", "no-copyright-file",
    "no-changelog", "debian-changelog-file-missing-or-wrong-name", "package-uses-local-diversion",
    "extended-description-line-too-long", "description-starts-with-package-name",
    "synopsis-is-a-sentence", "lengthy-symlink", "symlink-has-double-slash",
    "missing-dependency-on-libc", "control-file-with-CRLF-EOLs",
}


def _lintian(deb: Path) -> list[str]:
    result = subprocess.run(["lintian", "--no-tag-display-limit", "-EIL", "+pedantic", str(deb)],
                            capture_output=True, text=True, check=False)
    assert "hello-deb" in result.stdout, f"lintian did not check the package: {result.stderr}"
    return [line for line in result.stdout.splitlines() if line[1:3] == ": "]


@pytest.mark.parametrize("compression", ["xz", "gzip"])
def test_lintian_has_no_errors(tmp_path: Path, compression: str) -> None:
    deb = write_deb(sample_control(), sample_entries(), tmp_path, compression=compression,
                    scripts=marker_scripts(), source_date_epoch=EPOCH)
    lines = _lintian(deb)
    assert not [line for line in lines if line.startswith("E:")], lines
    tags = {line.split()[2] for line in lines}
    assert not tags & CONTAINER_TAGS, lines


def _lintian_version() -> str:
    out = subprocess.run(["lintian", "--version"], capture_output=True, text=True,
                         check=True).stdout  # "Lintian v2.116.3+deb12u1"
    return out.split()[-1].removeprefix("v")


def test_lintian_zstd_only_objects_to_the_member_names(tmp_path: Path) -> None:
    """Debian 12's lintian knows no zstd members (Debian's archive does not take them).

    Its only errors are about the .zst member names, which dpkg itself accepts (>= 1.21.18);
    nothing else about the container is flagged.  README: lintian 2.116 reports
    malformed-deb-archive for them (the reason the README advises --compression xz).
    """
    deb = write_deb(sample_control(), sample_entries(), tmp_path, compression="zstd",
                    scripts=marker_scripts(), source_date_epoch=EPOCH)
    lines = _lintian(deb)
    errors = [line for line in lines if line.startswith("E:")]
    if _lintian_version().startswith("2.116."):
        assert errors, f"lintian {_lintian_version()} now reads zstd members: {lines}"
    assert all("malformed-deb-archive" in e and ".tar.zst not" in e for e in errors), errors
    tags = {line.split()[2] for line in lines} - {"malformed-deb-archive"}
    assert not tags & CONTAINER_TAGS, lines
