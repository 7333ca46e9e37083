"""Small .deb files made in the test with pydebvenv's own writer (verified by dpkg elsewhere)."""

from __future__ import annotations

from pathlib import Path

from pydebvenv.debfile import Control, MaintainerScripts, file_entry, write_deb

__all__ = ["make_deb"]


def make_deb(out: Path, package: str = "tick", version: str = "1.0", arch: str = "all", *,
             fields: tuple[tuple[str, str], ...] = (), files: dict[str, bytes] | None = None,
             conffiles: tuple[str, ...] = (), postinst: str | None = None) -> Path:
    """A package with ``files`` (path -> bytes; default one small script) in ``out``."""
    contents = files if files is not None else {
        f"usr/bin/{package}": f"#!/bin/sh\necho {package} {version}\n".encode()}
    entries = [file_entry(path, data, mode=0o755 if path.startswith("usr/bin/") else 0o644,
                          source="tests.support.debs", conffile=path in conffiles)
               for path, data in sorted(contents.items())]
    control = Control(package, version, arch, "Test <test@example.org>",
                      f"test package {package}\nmade by the publishing tests", fields)
    out.mkdir(parents=True, exist_ok=True)
    scripts = MaintainerScripts(postinst=postinst)
    return write_deb(control, entries, out, compression="xz", scripts=scripts,
                     source_date_epoch=1_700_000_000)
