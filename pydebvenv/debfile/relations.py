"""Relationship fields (Depends, Breaks, Provides...) checked against dpkg's grammar.

deb-control(5) and Debian Policy §7.1: a field is a comma-separated list of items, an item
one or more alternatives separated by ``|``, an alternative ``package[:arch] [(op version)]``
with op one of ``<< <= = >= >>`` (dpkg also reads ``(version)`` as ``(= version)``).
Whitespace may surround every token; no item may be empty.
Binary packages take no ``[arch]`` or ``<profile>`` lists (source packages only), Breaks,
Conflicts, Provides and Replaces take no alternatives, Provides only ``=`` (Policy §7.5),
Built-Using and Static-Built-Using only ``(= version)`` (Policy §7.8).

Two strictnesses: ``policy=True`` (what the configuration accepts: Policy's package names,
no obsolete ``<``/``>``) and ``policy=False`` (what dpkg itself refuses when it installs,
for the writer and ``inspect``: dpkg takes upper case and ``_`` in names, warns about ``<``
and ``>``, and does not parse Built-Using).
"""

from __future__ import annotations

import re

from pydebvenv.debfile.control import is_package_name, validate_version
from pydebvenv.errors import ArchiveError

__all__ = ["DPKG_RELATIONS", "POLICY_RELATIONS", "relation_problem"]

#: The fields dpkg parses as relationships (dpkg lib/dpkg/parse.c), as a binary package has them.
DPKG_RELATIONS = ("Pre-Depends", "Depends", "Recommends", "Suggests", "Enhances", "Breaks",
                  "Conflicts", "Provides", "Replaces")
#: Those Policy adds, which dpkg keeps as plain text.
POLICY_RELATIONS = (*DPKG_RELATIONS, "Built-Using", "Static-Built-Using")

_SINGLE = {"breaks", "conflicts", "provides", "replaces", "built-using", "static-built-using"}
_EQUAL_ONLY = {"provides", "built-using", "static-built-using"}
_ALTERNATIVE = re.compile(
    r"\s*(?P<name>[^\s:(),|]+)(?::(?P<arch>[^\s(),|]*))?\s*"
    r"(?:\((?P<open>)\s*(?P<op><<|<=|>=|>>|=|<|>)?\s*(?P<version>[^\s()]*)\s*\)\s*)?",
    re.ASCII,
)
_DPKG_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9+._-]*")  # dpkg's pkg_name_is_illegal()
_POLICY_ARCH = re.compile(r"[a-z0-9][a-z0-9-]*")  # Debian architecture names, any, native
_DPKG_ARCH = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")  # dpkg's dpkg_arch_name_is_illegal()


def _alternative_problem(text: str, field: str, policy: bool) -> str | None:
    found = _ALTERNATIVE.fullmatch(text)
    if found is None:
        head = re.match(r"\s*[^\s:(),|]*", text)
        name = head.group(0).strip() if head else ""
        return (f"{text.strip()!r} is not 'package[:arch] [(op version)]' (a missing ')', "
                f"an '[arch]' or '<profile>' list, or text after {name or 'the name'!r})")
    name, arch, op, version = (found.group(g) for g in ("name", "arch", "op", "version"))
    if found.group("open") is None:
        version = None
    if policy and not is_package_name(name):
        return (f"invalid package name {name!r}: use two or more of a-z 0-9 + - . starting "
                "with a letter or digit (Debian Policy 5.6.1)")
    if not policy and not _DPKG_NAME.fullmatch(name):
        return f"invalid package name {name!r}: it must start with a letter or digit"
    if arch is not None and not (_POLICY_ARCH if policy else _DPKG_ARCH).fullmatch(arch):
        return (f"invalid architecture qualifier {arch!r} after {name!r}: use ':any', "
                "':native' or an architecture name")
    key = field.lower()
    if version is None:
        if policy and key in _EQUAL_ONLY - {"provides"}:
            return f"{name!r} needs an exact version: write '{name} (= <version>)'"
        return None
    if policy and op is None:  # dpkg reads "(1.0)" as "(= 1.0)", with a warning
        return f"the version of {name!r} has no operator: write '({'='} {version})'"
    if policy and op in ("<", ">"):
        return f"'{op}' is obsolete in {name!r}: write '{op}{op}' or '{op}=' (Policy 7.1)"
    if policy and key in _EQUAL_ONLY and op != "=":
        return f"{field} takes only exact versions: write '{name} (= {version or '1.0'})'"
    try:
        validate_version(version)
    except ArchiveError as exc:
        return f"{name!r}: {exc}"
    return None


def relation_problem(field: str, value: str, *, policy: bool = True) -> str | None:
    """Why ``value`` is not a valid ``field`` relationship list, or None when it is."""
    key = field.lower()
    if not policy and not value.strip():
        return None  # dpkg takes an empty field as no relationship at all
    for item in value.split(","):
        if not item.strip():
            return "an empty item (two commas, or a comma at the start or the end)"
        alternatives = item.split("|")
        if len(alternatives) > 1 and key in _SINGLE:
            return f"alternatives ('|') are not allowed in {field} ({item.strip()!r})"
        for alternative in alternatives:
            if not alternative.strip():
                return f"an empty alternative in {item.strip()!r}"
            problem = _alternative_problem(alternative, field, policy)
            if problem is not None:
                return problem
    return None
