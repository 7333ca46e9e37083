"""The files Debian Policy wants beside the venv: copyright, changelog.Debian.gz, lintian overrides.

Policy §12.5 (copyright, DEP-5 machine-readable format), §12.7 (changelog.Debian.gz,
compressed with ``gzip -9n``), and the lintian overrides for the tags the venv layout itself
causes (docs/lintian.md).
"""

from __future__ import annotations

import gzip
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

from pydebvenv.debfile.entry import Entry, file_entry

__all__ = ["DocInputs", "doc_entries"]


@dataclass(frozen=True, slots=True)
class DocInputs:
    package: str
    version: str
    dist_name: str
    maintainer: str
    upstream_contact: str
    homepage: str | None
    license_expression: str | None
    license_text: str | None
    target_name: str
    bundled: Sequence[tuple[str, str]]  # (distribution, version) of every wheel in the venv
    tool_version: str


def doc_entries(doc: DocInputs, venv: str, source_date_epoch: int, *,
                has_binary: bool) -> list[Entry]:
    """copyright (DEP-5), changelog.Debian.gz and the lintian overrides file."""
    base = f"usr/share/doc/{doc.package}"
    return [
        file_entry(f"{base}/copyright", _copyright(doc).encode(), source="generated copyright"),
        file_entry(f"{base}/changelog.Debian.gz", _changelog(doc, source_date_epoch),
                   source="generated changelog"),
        file_entry(f"usr/share/lintian/overrides/{doc.package}",
                   _overrides(doc.package, venv, has_binary).encode(),
                   source="generated lintian overrides"),
    ]


def _copyright(doc: DocInputs) -> str:
    # https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
    license_name = doc.license_expression or ("custom" if doc.license_text else "unknown")
    lines = [
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/",
        f"Upstream-Name: {doc.dist_name}",
        f"Upstream-Contact: {doc.upstream_contact}",
    ]
    if doc.homepage:
        lines.append(f"Source: {doc.homepage}")
    lines += [
        "Comment: The virtualenv under /usr/share/python also holds these distributions,",
        " each under its own license (see its *.dist-info directory):",
    ]
    lines += [f"  {name} {version}" for name, version in doc.bundled] or ["  (none)"]
    lines += ["", "Files: *", f"Copyright: {doc.upstream_contact}", f"License: {license_name}"]
    text = doc.license_text or (
        f"The project declares the license {license_name}." if doc.license_expression
        else "The project declares no license; ask its authors.")
    lines += _fold(text)
    return "\n".join(lines) + "\n"


def _fold(text: str) -> list[str]:
    out = []
    for line in text.strip("\n").splitlines():
        out.append(" " + line.rstrip() if line.strip() else " .")
    return out


def _changelog(doc: DocInputs, source_date_epoch: int) -> bytes:
    date = format_datetime(datetime.fromtimestamp(source_date_epoch, UTC))
    date = date.replace("-0000", "+0000")  # Policy 4.4 wants a numeric zone
    text = (
        f"{doc.package} ({doc.version}) unstable; urgency=medium\n\n"
        f"  * Built by pydebvenv {doc.tool_version} for {doc.target_name}.\n\n"
        f" -- {doc.maintainer}  {date}\n"
    )
    # gzip -9n: no name, the mtime field fixed, so the bytes depend on the text only
    return gzip.compress(text.encode(), compresslevel=9, mtime=0)


def _overrides(package: str, venv: str, has_binary: bool) -> str:
    # Tags the layout itself causes (docs/lintian.md): compiled wheels live under
    # /usr/share/python, bundle their own libraries and are shipped unstripped.
    # Only the tags that can fire are listed: lintian reports unused overrides.
    v = venv.strip("/")
    common = f"{package}: unusual-interpreter /{v}/bin/python *\n"
    if not has_binary:
        return common
    return common + "".join(
        f"{package}: {tag} [{v}/*]\n"
        for tag in (
            "arch-dependent-file-in-usr-share",
            "embedded-library *",
            "unstripped-binary-or-object",
            "hardening-no-fortify-functions",
            "hardening-no-bindnow",
        )
    )
