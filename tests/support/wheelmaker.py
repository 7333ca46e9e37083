"""Make small, valid wheels inside a test: the unit tests' only source of wheels."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = ["make_wheel", "record_hash"]

# A fixed date keeps the wheels the tests make byte-identical between runs.
_ZIP_DATE = (2020, 1, 1, 0, 0, 0)


def record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def make_wheel(
    directory: Path,
    name: str,
    version: str = "1.0",
    *,
    tag: str = "py3-none-any",
    files: Mapping[str, bytes | str] | None = None,
    requires: Iterable[str] = (),
    extras: Iterable[str] = (),
    requires_python: str | None = None,
    entry_points: Mapping[str, Mapping[str, str]] | None = None,
    executable: Iterable[str] = (),
    purelib: bool | None = None,
    summary: str = "a test distribution",
    license_expression: str | None = None,
    record_override: Mapping[str, str] | None = None,
    metadata: Iterable[tuple[str, str]] = (),
    description: str | None = None,
) -> Path:
    """Write ``{name}-{version}-{tag}.whl`` into ``directory`` and return its path.

    ``files`` maps archive paths to content (``pkg/__init__.py``, or
    ``{dist}-{ver}.data/scripts/tool``); paths in ``executable`` get mode 0755.
    ``record_override`` replaces the RECORD hash of a path (to make a bad wheel).
    ``metadata`` adds core metadata fields (``("Author", "Jane")``, ``("Classifier", ...)``)
    and ``description`` the message body (the long description, a readme).
    """
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    if files is None:
        files = {f"{dist.lower()}/__init__.py": f"__version__ = {version!r}\n"}
    if purelib is None:
        purelib = tag.endswith("-any")
    meta = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}", f"Summary: {summary}"]
    if license_expression:
        meta.append(f"License-Expression: {license_expression}")
    if requires_python:
        meta.append(f"Requires-Python: {requires_python}")
    meta += [f"Provides-Extra: {extra}" for extra in extras]
    meta += [f"Requires-Dist: {req}" for req in requires]
    meta += [f"{field}: {value}" for field, value in metadata]
    members: dict[str, bytes] = {
        path: content.encode() if isinstance(content, str) else content
        for path, content in files.items()
    }
    body = f"\n{description}" if description is not None else ""
    members[f"{info}/METADATA"] = ("\n".join(meta) + "\n" + body).encode()
    members[f"{info}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: wheelmaker\n"
        f"Root-Is-Purelib: {'true' if purelib else 'false'}\nTag: {tag}\n"
    ).encode()
    if entry_points:
        text = ""
        for section, points in entry_points.items():
            text += f"[{section}]\n" + "".join(f"{k} = {v}\n" for k, v in points.items())
        members[f"{info}/entry_points.txt"] = text.encode()
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for path, data in members.items():
        hash_ = (record_override or {}).get(path, record_hash(data))
        writer.writerow([path, hash_, len(data)])
    writer.writerow([f"{info}/RECORD", "", ""])
    members[f"{info}/RECORD"] = record.getvalue().encode()
    executable = set(executable)
    wheel_path = directory / f"{dist}-{version}-{tag}.whl"
    with zipfile.ZipFile(wheel_path, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in members.items():
            zinfo = zipfile.ZipInfo(path, _ZIP_DATE)
            zinfo.external_attr = (0o100755 if path in executable else 0o100644) << 16
            zinfo.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(zinfo, data)
    return wheel_path
