"""The bundled list: what the venv holds, as a PEP 751 pylock.toml and a CycloneDX SBOM.

Both files go to ``/usr/share/doc/<package>/`` (docs/bundled.md): ``pylock.toml`` (PEP 751,
the packaging.python.org "pylock.toml specification") lists every distribution installed in
the venv with its version, its wheel's file name, size and sha256; ``sbom.cdx.json``
(CycloneDX 1.6, JSON) says the same for SBOM tools, with the Debian package as the described
component.  Both are written from the resolved wheels, byte for byte the same for the same
inputs: sorted, no clock (the SBOM's timestamp is SOURCE_DATE_EPOCH), and a serial number
derived from the content (a name-based UUID, RFC 9562 version 5) instead of a random one.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from pydebvenv.debfile.entry import Entry, file_entry
from pydebvenv.errors import InspectError
from pydebvenv.target import Target

__all__ = [
    "PYLOCK_NAME",
    "SBOM_NAME",
    "BundleInputs",
    "BundledWheel",
    "bom_entries",
    "format_bundled",
    "is_bundled_list",
    "read_bundled",
    "render_cyclonedx",
    "render_pylock",
]

PYLOCK_NAME = "pylock.toml"
SBOM_NAME = "sbom.cdx.json"
# the namespace of the SBOM serial numbers: uuid5(NAMESPACE_URL, this URL + content hash)
_SERIAL_NAMESPACE = "https://example.org/pydebvenv/sbom/"


@dataclass(frozen=True, slots=True)
class BundledWheel:
    """One distribution installed in the venv, and the wheel it was installed from."""

    name: str  # normalized (PEP 503)
    version: str  # normalized (PEP 440)
    filename: str
    size: int
    sha256: str
    license_expression: str | None = None  # METADATA's License-Expression (SPDX, PEP 639)
    license_name: str | None = None  # else its one-line License field, as written


@dataclass(frozen=True, slots=True)
class BundleInputs:
    """The Debian package the list describes, and what its venv holds."""

    package: str
    version: str  # the Debian version
    architecture: str  # the control file's: "all" or the target's
    target: Target
    venv: str  # /usr/share/python/<package>
    wheels: Sequence[BundledWheel]
    tool_version: str


def _toml(value: str) -> str:
    # JSON string escapes are a subset of TOML basic-string escapes (TOML 1.0 "String")
    return json.dumps(value, ensure_ascii=False)


def _sorted(wheels: Sequence[BundledWheel]) -> list[BundledWheel]:
    return sorted(wheels, key=lambda w: (w.name, w.version, w.filename))


def render_pylock(bundle: BundleInputs) -> str:
    """PEP 751 pylock.toml: one package per distribution, its wheel by file name and hash.

    A wheel needs a ``url`` or a ``path``; the wheel's file name is given as ``path``
    (relative to the lock), so the lock installs the venv again from a directory holding the
    wheels, such as the wheel cache.
    """
    target = bundle.target
    env = target.marker_environment()
    marker = (f"sys_platform == '{env['sys_platform']}' and platform_machine == "
              f"'{env['platform_machine']}' and implementation_name == "
              f"'{env['implementation_name']}' and python_full_version == "
              f"'{env['python_full_version']}'")
    lines = [
        "# The distributions in this package's virtualenv, as PEP 751 describes a lock.",
        'lock-version = "1.0"',
        f"environments = [{_toml(marker)}]",
        f"requires-python = {_toml('==' + target.python_full_version)}",
        f"created-by = {_toml('pydebvenv')}",
    ]
    for wheel in _sorted(bundle.wheels):
        lines += [
            "",
            "[[packages]]",
            f"name = {_toml(wheel.name)}",
            f"version = {_toml(wheel.version)}",
            "",
            "[[packages.wheels]]",
            f"name = {_toml(wheel.filename)}",
            f"path = {_toml(wheel.filename)}",
            f"size = {wheel.size}",
            f"hashes = {{sha256 = {_toml(wheel.sha256)}}}",
        ]
    lines += [
        "",
        "[tool.pydebvenv]",
        f"package = {_toml(bundle.package)}",
        f"version = {_toml(bundle.version)}",
        f"architecture = {_toml(bundle.architecture)}",
        f"target = {_toml(target.name)}",
        f"venv = {_toml(bundle.venv)}",
    ]
    return "\n".join(lines) + "\n"


def _purl_part(text: str) -> str:
    # purl spec: each part percent-encoded; unreserved characters stay as they are
    return quote(text, safe="")


def _wheel_purl(wheel: BundledWheel) -> str:
    return (f"pkg:pypi/{_purl_part(wheel.name)}@{_purl_part(wheel.version)}"
            f"?file_name={_purl_part(wheel.filename)}")


def _deb_purl(bundle: BundleInputs) -> str:
    vendor = bundle.target.release.name.split("-", 1)[0]  # "debian", "ubuntu"
    return (f"pkg:deb/{vendor}/{_purl_part(bundle.package)}@{_purl_part(bundle.version)}"
            f"?arch={_purl_part(bundle.architecture)}"
            f"&distro={_purl_part(bundle.target.release.codename)}")


def _licenses(wheel: BundledWheel) -> list[dict[str, Any]]:
    if wheel.license_expression:
        return [{"expression": wheel.license_expression}]
    if wheel.license_name:
        return [{"license": {"name": wheel.license_name}}]
    return []


def render_cyclonedx(bundle: BundleInputs, pylock: str, source_date_epoch: int) -> str:
    """CycloneDX 1.6 JSON: the Debian package as the described component, each bundled
    distribution as a library it depends on.  ``pylock`` (the rendered lock) seeds the serial
    number, so a different content never shares one."""
    digest = hashlib.sha256(pylock.encode("utf-8")).hexdigest()
    serial = uuid.uuid5(uuid.NAMESPACE_URL, _SERIAL_NAMESPACE + digest)
    when = datetime.fromtimestamp(source_date_epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    package_ref = _deb_purl(bundle)
    components = []
    for wheel in _sorted(bundle.wheels):
        component: dict[str, Any] = {
            "type": "library",
            "bom-ref": _wheel_purl(wheel),
            "name": wheel.name,
            "version": wheel.version,
            "hashes": [{"alg": "SHA-256", "content": wheel.sha256}],
        }
        if licenses := _licenses(wheel):
            component["licenses"] = licenses
        component["purl"] = _wheel_purl(wheel)
        component["properties"] = [{"name": "pydebvenv:wheel", "value": wheel.filename}]
        components.append(component)
    document = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": serial.urn,
        "version": 1,
        "metadata": {
            "timestamp": when,
            "tools": {"components": [{"type": "application", "name": "pydebvenv",
                                      "version": bundle.tool_version}]},
            "component": {
                "type": "application",
                "bom-ref": package_ref,
                "name": bundle.package,
                "version": bundle.version,
                "purl": package_ref,
                "properties": [{"name": "pydebvenv:venv", "value": bundle.venv},
                               {"name": "pydebvenv:target", "value": bundle.target.name}],
            },
        },
        "components": components,
        "dependencies": [
            {"ref": package_ref, "dependsOn": [c["bom-ref"] for c in components]},
            *({"ref": c["bom-ref"]} for c in components),
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def bom_entries(bundle: BundleInputs, source_date_epoch: int) -> list[Entry]:
    """The two files, under /usr/share/doc/<package>/."""
    base = f"usr/share/doc/{bundle.package}"
    pylock = render_pylock(bundle)
    sbom = render_cyclonedx(bundle, pylock, source_date_epoch)
    return [
        file_entry(f"{base}/{PYLOCK_NAME}", pylock.encode("utf-8"), source="bundled list"),
        file_entry(f"{base}/{SBOM_NAME}", sbom.encode("utf-8"), source="bundled list (SBOM)"),
    ]


def is_bundled_list(path: str) -> bool:
    """Whether a data.tar path (``usr/share/doc/x/pylock.toml``) is a bundled list."""
    parts = path.split("/")
    return len(parts) == 5 and parts[:3] == ["usr", "share", "doc"] and parts[4] == PYLOCK_NAME


def read_bundled(text: bytes, where: str) -> list[BundledWheel]:
    """The distributions a bundled pylock.toml lists (one wheel each, as written above)."""
    try:
        data = tomllib.loads(text.decode("utf-8"))
        wheels = []
        for package in data.get("packages", []):
            wheel = (package.get("wheels") or [{}])[0]
            wheels.append(BundledWheel(
                package["name"], package.get("version", ""), wheel.get("name", ""),
                int(wheel.get("size", 0)), wheel.get("hashes", {}).get("sha256", "")))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, KeyError, TypeError,
            AttributeError, ValueError) as exc:
        raise InspectError(f"{where} is not a readable pylock.toml: {exc}") from None
    return wheels


def format_bundled(contents: dict[str, bytes]) -> str:
    """``inspect``'s listing of the bundled list(s) among ``contents`` (path -> bytes)."""
    out = []
    for path in sorted(p for p in contents if is_bundled_list(p)):
        wheels = read_bundled(contents[path], path)
        out.append(f"bundled ({len(wheels)}, from /{path}):")
        width = max([0, *(len(f"{w.name} {w.version}") for w in wheels)])
        files = max([0, *(len(w.filename) for w in wheels)])
        out += [f" {w.name + ' ' + w.version:<{width}}  {w.filename:<{files}}  "
                f"sha256:{w.sha256}" for w in wheels]
    return "".join(line + "\n" for line in out)
