"""The files Debian Policy wants beside the venv: copyright, changelog.Debian.gz, lintian overrides.

Policy §12.5 (copyright, DEP-5 machine-readable format), §12.7 (changelog.Debian.gz,
compressed with ``gzip -9n``), and the lintian overrides for the tags the venv layout itself
causes (docs/lintian.md).  The copyright names the application's license and, in a Files
stanza of its own, the license of every bundled distribution, as their core metadata
declares them (docs/metadata.md).
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

from pydebvenv.debfile.entry import Entry, file_entry
from pydebvenv.project.metadata import DeclaredLicense

__all__ = ["Distribution", "DocInputs", "doc_entries", "files_patterns", "license_synopsis",
           "spdx_to_dep5"]


@dataclass(frozen=True, slots=True)
class Distribution:
    """A distribution in the venv as the copyright file states it."""

    name: str  # as its metadata spells it
    version: str
    authors: str | None  # the people its metadata names
    license: DeclaredLicense
    files: tuple[str, ...] = ()  # the paths its wheel installed (entry paths, no "/")


@dataclass(frozen=True, slots=True)
class DocInputs:
    package: str
    version: str
    dist_name: str
    maintainer: str
    upstream_contact: str
    homepage: str | None
    license: DeclaredLicense  # the application's
    target_name: str
    #: every other distribution in the venv, with the files it installed
    bundled: Sequence[Distribution]
    tool_version: str
    #: the application's own installed paths (its license files are found among them)
    app_files: tuple[str, ...] = ()
    upstream_version: str = ""  # the application's version as it spells it
    #: the package's other paths (venv skeleton, links, docs): no bundled stanza covers them
    other_files: tuple[str, ...] = ()


def doc_entries(doc: DocInputs, venv: str, source_date_epoch: int, *,
                has_binary: bool, overrides: Sequence[str] = ()) -> list[Entry]:
    """copyright (DEP-5), changelog.Debian.gz and the lintian overrides file, with the
    ``overrides`` lines ("tag context", no package name) of other parts (the services')."""
    base = f"usr/share/doc/{doc.package}"
    return [
        file_entry(f"{base}/copyright", _copyright(doc).encode(), source="generated copyright"),
        file_entry(f"{base}/changelog.Debian.gz", _changelog(doc, source_date_epoch),
                   source="generated changelog"),
        file_entry(f"usr/share/lintian/overrides/{doc.package}",
                   (_overrides(doc.package, venv, has_binary)
                    + "".join(f"{doc.package}: {line}\n" for line in overrides)).encode(),
                   source="generated lintian overrides"),
    ]


def _copyright(doc: DocInputs) -> str:
    # https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/ (docs/metadata.md)
    lines = [
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/",
        f"Upstream-Name: {doc.dist_name}",
        f"Upstream-Contact: {doc.upstream_contact}",
    ]
    if doc.homepage:
        lines.append(f"Source: {doc.homepage}")
    if doc.bundled:
        lines += ["Comment: The virtualenv bundles "
                  f"{len(doc.bundled)} more distribution(s); a Files stanza below",
                  " states each one's license, as its metadata declares it."]
    synopsis, words = license_synopsis(doc.license)
    lines += ["", "Files: *", f"Copyright: {doc.upstream_contact}", f"License: {synopsis}"]
    text = doc.license.text
    if text and doc.license.name is None and not _is_common_text(text):
        lines += _fold(text)  # [project].license's text or file: the license itself
    else:
        lines += _fold(_declaration(doc.dist_name, doc.upstream_version, words, synopsis))
    lines += _fold("\n".join(_pointers(synopsis, _license_files(doc.app_files, doc.license))))
    owners: dict[str, Sequence[str]] = {
        "": (*doc.app_files, *doc.other_files),  # the application and the rest: "Files: *"
        **{f"{d.name} {d.version}": d.files for d in doc.bundled},
    }
    patterns = files_patterns(owners)
    for dist in doc.bundled:
        covered = patterns.get(f"{dist.name} {dist.version}", [])
        if not covered:
            continue
        synopsis, words = license_synopsis(dist.license)
        lines += ["", "Files: " + "\n ".join(covered),
                  f"Copyright: {dist.authors or f'the authors of {dist.name}'}",
                  f"License: {synopsis}"]
        text = _declaration(dist.name, dist.version, words, synopsis)
        found = _license_files(dist.files, dist.license)
        if synopsis == "custom":  # the text is its METADATA's License field
            found += [f for f in dist.files if f.endswith(".dist-info/METADATA")]
        lines += _fold("\n".join([text, *_pointers(synopsis, found)]))
    return "\n".join(lines) + "\n"


def _fold(text: str) -> list[str]:
    out = []
    for line in text.strip("\n").splitlines():
        out.append(" " + line.rstrip() if line.strip() else " .")
    return out


# --- naming a license in DEP-5 terms ------------------------------------------------------

# Trove classifiers that name one license exactly (the ambiguous ones, such as "BSD License"
# or "Apache Software License", name no version or variant and are kept as written).
_CLASSIFIERS: Mapping[str, str] = {
    "MIT License": "Expat",
    "MIT No Attribution License (MIT-0)": "MIT-0",
    "ISC License (ISCL)": "ISC",
    "Zero-Clause BSD (0BSD)": "0BSD",
    "GNU General Public License v2 (GPLv2)": "GPL-2",
    "GNU General Public License v2 or later (GPLv2+)": "GPL-2+",
    "GNU General Public License v3 (GPLv3)": "GPL-3",
    "GNU General Public License v3 or later (GPLv3+)": "GPL-3+",
    "GNU Lesser General Public License v2 (LGPLv2)": "LGPL-2",
    "GNU Lesser General Public License v2 or later (LGPLv2+)": "LGPL-2+",
    "GNU Lesser General Public License v3 (LGPLv3)": "LGPL-3",
    "GNU Lesser General Public License v3 or later (LGPLv3+)": "LGPL-3+",
    "GNU Affero General Public License v3": "AGPL-3",
    "GNU Affero General Public License v3 or later (AGPLv3+)": "AGPL-3+",
    "Mozilla Public License 1.1 (MPL 1.1)": "MPL-1.1",
    "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "Python Software Foundation License": "PSF-2.0",
    "zlib/libpng License": "Zlib",
    "The Unlicense (Unlicense)": "Unlicense",
    "Boost Software License 1.0 (BSL-1.0)": "BSL-1.0",
    "Eclipse Public License 2.0 (EPL-2.0)": "EPL-2.0",
    "CC0 1.0 Universal (CC0 1.0) Public Domain Dedication": "CC0-1.0",
}
# SPDX identifiers that DEP-5 spells otherwise: GNU licenses as family-version with "+" for
# "or later", MIT as Expat (copyright-format 1.0, "Short name")
_GNU = re.compile(r"(A?L?GPL|GFDL)-(\d+(?:\.\d+)*)(-only|-or-later|\+)?", re.IGNORECASE)
# /usr/share/common-licenses on Debian and Ubuntu (base-files): Policy 12.5 lets a copyright
# file point there instead of quoting these texts
_COMMON = {n.lower(): n for n in (
    "Apache-2.0", "Artistic", "CC0-1.0", "GFDL-1.2", "GFDL-1.3", "GPL-1", "GPL-2", "GPL-3",
    "LGPL-2", "LGPL-2.1", "LGPL-3", "MPL-1.1", "MPL-2.0")}


def license_synopsis(declared: DeclaredLicense) -> tuple[str, str]:
    """(the DEP-5 License synopsis, what the metadata declares, in words).

    First match wins: License-Expression (PEP 639, an SPDX expression, in DEP-5 syntax);
    the license classifiers when each names one license exactly; the License field when it
    is a short name; the classifiers as written; else ``unknown``.
    """
    words = []
    if declared.expression:
        words.append(f"License-Expression: {declared.expression}")
    if declared.name:
        words.append(f"License: {declared.name}")
    elif declared.text:
        words.append("a license text in its License field")
    words += [f"classifier {c!r}" for c in declared.classifiers]
    said = "; ".join(words)
    if declared.expression:
        return spdx_to_dep5(declared.expression), said
    names = [c.split("::")[-1].strip() for c in declared.classifiers]
    names = [n for n in names if n not in ("OSI Approved", "DFSG approved")]
    if names and all(n in _CLASSIFIERS for n in names):
        return " and ".join(dict.fromkeys(_CLASSIFIERS[n] for n in names)), said
    if declared.name and declared.name.upper() != "UNKNOWN":
        return _short_name(declared.name), said
    if names:
        return " and ".join(dict.fromkeys(_CLASSIFIERS.get(n) or _short_name(n)
                                          for n in names)), said
    if declared.text and not declared.name:
        return "custom", said  # a whole license text and nothing naming it
    return "unknown", said


def spdx_to_dep5(expression: str) -> str:
    """An SPDX license expression in copyright-format 1.0 syntax: ``or``/``and`` in lower
    case, ``with X exception``, and "A or B, and C" for "(A OR B) AND C" (its comma rule:
    ``and`` binds tighter unless a comma precedes it).  A grouping that syntax cannot say
    keeps the SPDX parentheses."""
    tokens = re.findall(r"\(|\)|[^\s()]+", expression)
    try:
        tree, rest = _parse_or(tokens)
        if rest:
            raise ValueError(rest)
        return _render(tree)
    except (ValueError, IndexError):
        return " ".join(re.sub(r"\b(AND|OR|WITH)\b", lambda m: m.group(1).lower(),
                               expression).split())


# an expression tree: a license string, or ("or" | "and", [children])
_Tree = str | tuple[str, list["_Tree"]]


def _parse_or(tokens: list[str]) -> tuple[_Tree, list[str]]:
    return _parse_joined(tokens, "or", _parse_and)


def _parse_and(tokens: list[str]) -> tuple[_Tree, list[str]]:
    return _parse_joined(tokens, "and", _parse_one)


def _parse_joined(tokens: list[str], op: str,
                  operand: Callable[[list[str]], tuple[_Tree, list[str]]]
                  ) -> tuple[_Tree, list[str]]:
    """Operands joined by ``op`` (``and`` binds tighter than ``or``: operand parses it)."""
    left, tokens = operand(tokens)
    children = [left]
    while tokens and tokens[0].lower() == op:
        right, tokens = operand(tokens[1:])
        children.append(right)
    return (children[0] if len(children) == 1 else (op, children)), tokens


def _parse_one(tokens: list[str]) -> tuple[_Tree, list[str]]:
    if tokens[0] == "(":
        inner, tokens = _parse_or(tokens[1:])
        if tokens[0] != ")":
            raise ValueError(tokens)
        return inner, tokens[1:]
    if tokens[0].upper() in ("AND", "OR", "WITH", ")"):
        raise ValueError(tokens)
    name = _dep5_id(tokens[0])
    if len(tokens) > 2 and tokens[1].upper() == "WITH":
        return f"{name} with {tokens[2]} exception", tokens[3:]
    return name, tokens[1:]


def _render(tree: _Tree) -> str:
    if isinstance(tree, str):
        return tree
    op, children = tree
    if op == "or":
        return " or ".join(_render(c) for c in children)
    groups = [c for c in children if not isinstance(c, str) and c[0] == "or"]
    if not groups:
        return " and ".join(_render(c) for c in children)
    first = _render(groups[0])
    if len(groups) > 1 or "," in first:
        raise ValueError(tree)  # the comma rule says one leading group only
    others = [_render(c) for c in children if c is not groups[0]]
    return f"{first}, and " + " and ".join(others)


def _dep5_id(spdx: str) -> str:
    if spdx.upper() == "MIT":
        return "Expat"
    gnu = _GNU.fullmatch(spdx)
    if gnu:
        version = re.sub(r"(\.0)+$", "", gnu.group(2))  # DEP-5: 2.0 == 2
        return f"{gnu.group(1).upper()}-{version}" + ("+" if gnu.group(3) in ("-or-later", "+")
                                                      else "")
    return spdx


# What lintian takes for a whole Apache-2.0, GPL or GFDL text in a copyright file (errors
# copyright-file-contains-full-*-license): /usr/share/common-licenses has those texts.
_COMMON_TEXTS = (
    re.compile(r"Apache License\s+Version 2\.0,.*TERMS AND CONDITIONS FOR USE, REPRODUCTION, "
               r"AND DISTRIBUTION", re.DOTALL),
    re.compile(r"GNU GENERAL PUBLIC LICENSE.*TERMS AND CONDITIONS", re.DOTALL),
    re.compile(r"GNU Free Documentation License\s*Version 1\.2", re.DOTALL),
)


def _is_common_text(text: str) -> bool:
    return any(pattern.search(text) for pattern in _COMMON_TEXTS)


def _short_name(text: str) -> str:
    # copyright-format 1.0: "License names are case-insensitive, and may not contain spaces"
    return re.sub(r"[^A-Za-z0-9.+]+", "-", text.strip()).strip("-") or "unknown"


def _declaration(name: str, version: str, words: str, synopsis: str) -> str:
    who = f"{name} {version}".strip()
    if synopsis == "unknown":
        return (f"The metadata of {who} declares no license (no License-Expression, "
                "License or license classifier); see its files in this package.")
    if synopsis == "custom":
        return f"{who} declares {words} (its METADATA file, in this package)."
    return f"{who} declares {words}."


def _license_files(files: Iterable[str], declared: DeclaredLicense) -> list[str]:
    """The license files among a distribution's installed paths: those its License-File
    fields name (in ``.dist-info/`` or, from metadata 2.4 on, ``.dist-info/licenses/``),
    else the ``.dist-info`` files named like LICENSE, COPYING, NOTICE or AUTHORS."""
    in_info = [f for f in files if ".dist-info/" in f]
    named = [f for f in in_info
             if any(f.endswith((f".dist-info/{n}", f".dist-info/licenses/{n}"))
                    for n in declared.files)]
    if named:
        return named
    pattern = re.compile(r"(LICEN[CS]E|COPYING|NOTICE|AUTHORS|COPYRIGHT)", re.IGNORECASE)
    return [f for f in in_info
            if "/licenses/" in f or pattern.match(f.rsplit("/", 1)[-1])]


def _pointers(synopsis: str, found: Sequence[str]) -> list[str]:
    lines = []
    for name in re.findall(r"[^\s,]+", synopsis):
        common = _COMMON.get(name.rstrip("+").lower())
        if common:
            lines.append(f"On Debian systems, the full text of {common} is in "
                         f"/usr/share/common-licenses/{common}.")
    if found:
        lines.append("The license files in this package:")
        lines += [f" /{path}" for path in found]
    return lines


def files_patterns(owners: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """DEP-5 Files patterns for each owner: the shortest path prefixes that hold only that
    owner's paths (``dir/*``, or the file itself), so no stanza claims another's file."""
    trie: dict[str, set[str]] = {}  # every prefix of every path -> the owners below it
    for owner, paths in owners.items():
        for path in paths:
            parts = path.split("/")
            for depth in range(1, len(parts) + 1):
                trie.setdefault("/".join(parts[:depth]), set()).add(owner)
    out: dict[str, list[str]] = {}
    for owner, paths in owners.items():
        chosen: dict[str, None] = {}
        for path in sorted(paths):
            parts = path.split("/")
            for depth in range(1, len(parts) + 1):
                prefix = "/".join(parts[:depth])
                if trie[prefix] == {owner}:
                    chosen[_escape(prefix) + ("" if depth == len(parts) else "/*")] = None
                    break
        out[owner] = list(chosen)
    return out


def _escape(path: str) -> str:
    # copyright-format 1.0 "Files": \ escapes * ? and \; a space cannot be escaped: "?"
    return re.sub(r"([*?\\])", r"\\\1", path).replace(" ", "?")


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
