"""The control fields: those derived from the venv (Depends, Architecture) and the project's.

Depends on the target's exact interpreter package, libc6 from the manylinux tags of the
bundled wheels, the packages of the system libraries the ELF files need (DT_NEEDED) and the
venv does not ship; Architecture from whether any binary is shipped (docs/control.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from pydebvenv.debfile.control import Control
from pydebvenv.project.model import Project
from pydebvenv.target import Target

__all__ = [
    "architecture",
    "control_for",
    "depends",
    "libc_requirement",
    "soname_package",
    "unpackaged_sonames",
]

_MANYLINUX = re.compile(r"^manylinux_(\d+)_(\d+)_")
_LEGACY = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}


def libc_requirement(platform_tags: Iterable[str]) -> tuple[int, int] | None:
    """The glibc of the newest manylinux tag used, or None when no platform wheel is bundled."""
    versions: list[tuple[int, int]] = []
    for tag in platform_tags:
        if m := _MANYLINUX.match(tag):
            versions.append((int(m.group(1)), int(m.group(2))))
        elif (legacy := tag.split("_", 1)[0]) in _LEGACY:
            versions.append(_LEGACY[legacy])
    return max(versions) if versions else None


# The system libraries manylinux wheels may link against (PEP 513/571/599/600 and
# auditwheel's policy) that a Debian package must depend on, with the relation
# dh_shlibdeps writes for them on Debian 11+/Ubuntu 22.04+ (the shlibs/symbols files of
# libgcc-s1, libstdc++6 and zlib1g give these minimal versions for the oldest symbols).
_SONAME_PACKAGES: dict[str, str] = {
    "libgcc_s.so.1": "libgcc-s1 (>= 4.2)",
    "libstdc++.so.6": "libstdc++6 (>= 4.1.1)",
    "libz.so.1": "zlib1g (>= 1:1.1.4)",
}
# glibc's own libraries: covered by the libc6 (>= X.Y) relation from the manylinux tag.
_LIBC_SONAMES = frozenset({
    "libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1",
    "libutil.so.1", "libresolv.so.2", "libnsl.so.1",
})
# the dynamic linker itself, spelled per architecture (ld-linux-x86-64.so.2,
# ld-linux-aarch64.so.1, ld-linux-armhf.so.3, ld64.so.2 on ppc64el, ld64.so.1 on s390x)
_LD_SO = re.compile(r"^ld(64)?(-linux[-\w]*)?\.so\.\d+$")


def soname_package(soname: str) -> str | None:
    """The Depends relation that provides system library ``soname``; "libc6" for glibc's
    libraries (covered by the libc6 relation); None when unknown (never guessed)."""
    if soname in _LIBC_SONAMES or _LD_SO.match(soname):
        return "libc6"
    return _SONAME_PACKAGES.get(soname)


def unpackaged_sonames(sonames: Iterable[str]) -> frozenset[str]:
    """The system libraries among ``sonames`` with no known Debian package: they cannot go
    into Depends, so the build reports them."""
    return frozenset(s for s in sonames if soname_package(s) is None)


def depends(target: Target, platform_tags: Iterable[str], has_binary: bool,
            extra: Sequence[str] = (), *, sonames: Iterable[str] = (),
            scripts_need: Sequence[str] = ()) -> str:
    """Depends: the versioned interpreter (a dist-upgrade that drops it shows the package broken
    instead of silently breaking it), libc6 when compiled code is shipped, the packages of the
    system libraries ``sonames`` (DT_NEEDED names the venv does not ship; unknown ones are
    left out, see unpackaged_sonames), the packages the maintainer scripts run
    (``scripts_need``: adduser for the services' users), then the user's."""
    relations = [target.interpreter_package]
    glibc = libc_requirement(platform_tags)
    if has_binary:
        # an ELF without a manylinux tag (linux_* app wheel built on this very release)
        # still needs the release's libc
        glibc = glibc or target.glibc
    if glibc:
        relations.append("libc6 (>= {}.{})".format(*glibc))
    # a relation the user gives for the same package wins over the derived one
    named = {_package_name(r) for r in extra}
    relations += sorted({
        pkg for s in sonames
        if (pkg := soname_package(s)) not in (None, "libc6") and _package_name(pkg) not in named
    })
    relations += [pkg for pkg in scripts_need if _package_name(pkg) not in named]
    relations += [r for r in extra if r not in relations]
    return ", ".join(relations)


def _package_name(relation: str) -> str:
    return re.split(r"[\s(:\[]", relation.strip(), maxsplit=1)[0]


def architecture(target: Target, has_binary: bool, platform_tags: Iterable[str] = ()) -> str:
    """`all` when every wheel is pure and nothing in the venv is an ELF binary."""
    return target.arch.name if has_binary or any(True for _ in platform_tags) else "all"


def control_for(project: Project, arch: str, depends: str) -> Control:
    """The control value: Depends (when there are any), the configured relations, Section,
    Priority, Homepage, extra fields, and the Description from the project (its synopsis,
    then its extended description, when it has one)."""
    opts = project.options
    fields = [("Depends", depends)] if depends else []
    for key, values in (("Pre-Depends", opts.pre_depends), ("Recommends", opts.recommends),
                        ("Suggests", opts.suggests), ("Conflicts", opts.conflicts),
                        ("Breaks", opts.breaks), ("Replaces", opts.replaces),
                        ("Provides", opts.provides)):
        if values:
            fields.append((key, ", ".join(values)))
    fields += [("Section", project.section), ("Priority", project.priority)]
    if project.homepage:
        fields.append(("Homepage", project.homepage))
    fields += sorted(opts.fields.items())
    description = project.summary
    if project.extended_description:
        description += "\n" + project.extended_description
    return Control(package=project.package, version=project.version, architecture=arch,
                   maintainer=project.maintainer, description=description,
                   fields=tuple(fields))
