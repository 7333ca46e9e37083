"""What apt checks in a repository, done in Python for the tests: Release -> indexes -> pool."""

from __future__ import annotations

import hashlib
import lzma
import re
from pathlib import Path

__all__ = ["check_repository", "stanzas"]


def stanzas(text: str) -> list[dict[str, str]]:
    """The single-line fields of each stanza of a Packages text."""
    out = []
    for block in re.split(r"\n\n+", text.strip("\n")):
        if block.strip():
            out.append(dict(re.findall(r"^([^\s:]+): ?(.*)$", block, re.MULTILINE)))
    return out


def check_repository(repo: Path, suite: str) -> dict[str, list[dict[str, str]]]:
    """Read the suite as apt with Acquire-By-Hash does and check every hash on the way.

    Every index the Release file lists must exist under by-hash/SHA256 with that hash and
    size, and every package the Packages.xz files list must exist in the pool with its size
    and SHA256.  Returns the stanzas of each binary-<arch>/Packages.xz by directory.
    """
    suite_dir = repo / "dists" / suite
    texts = [(suite_dir / "Release").read_text(encoding="utf-8")]
    if (suite_dir / "InRelease").exists():  # apt reads this one first: it must hold as well
        signed = (suite_dir / "InRelease").read_text(encoding="utf-8")
        texts.insert(0, signed.split("\n\n", 1)[1].split("\n-----BEGIN PGP SIGNATURE", 1)[0])
    result: dict[str, list[dict[str, str]]] = {}
    for release in texts:
        result = _check_release(repo, suite_dir, release)
    return result


def _check_release(repo: Path, suite_dir: Path, release: str) -> dict[str, list[dict[str, str]]]:
    block = release.split("SHA256:\n", 1)[1]
    listed = [line.split() for line in block.splitlines() if line.startswith(" ")]
    assert listed, "the Release file lists no index"
    result: dict[str, list[dict[str, str]]] = {}
    for digest, size, path in listed:
        index = suite_dir / path
        by_hash = index.parent / "by-hash" / "SHA256" / digest
        data = by_hash.read_bytes()
        assert len(data) == int(size), f"{by_hash} has {len(data)} bytes, Release says {size}"
        assert hashlib.sha256(data).hexdigest() == digest, f"{by_hash} does not hash to its name"
        if path.endswith("/Packages.xz"):
            entries = stanzas(lzma.decompress(data).decode("utf-8"))
            for stanza in entries:
                deb = (repo / stanza["Filename"]).read_bytes()
                assert len(deb) == int(stanza["Size"]), stanza["Filename"]
                assert hashlib.sha256(deb).hexdigest() == stanza["SHA256"], stanza["Filename"]
            result[path.rsplit("/", 1)[0]] = entries
    return result
