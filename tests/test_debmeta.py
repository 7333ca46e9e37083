"""Control metadata from the venv and the files Policy wants beside it."""

from __future__ import annotations

import fnmatch
import gzip
import io
import posixpath

import pytest
from debian.changelog import Changelog
from debian.copyright import Copyright

from pydebvenv.debian.docs import (
    Distribution,
    DocInputs,
    doc_entries,
    files_patterns,
    license_synopsis,
)
from pydebvenv.debian.fields import architecture, depends, libc_requirement, soname_package
from pydebvenv.debian.links import bin_symlinks
from pydebvenv.project.metadata import DeclaredLicense
from pydebvenv.target import get_target

T12 = get_target("debian-12", "amd64")


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ([], None),
        (["manylinux_2_17_x86_64", "manylinux2014_x86_64"], (2, 17)),
        (["manylinux1_x86_64", "manylinux_2_28_x86_64"], (2, 28)),
        (["manylinux2010_x86_64"], (2, 12)),
        (["any"], None),
    ],
)
def test_libc_requirement_is_the_newest_manylinux_used(tags: list[str], expected: object) -> None:
    assert libc_requirement(tags) == expected


def test_depends_names_the_exact_interpreter_then_libc_then_the_user() -> None:
    assert depends(T12, [], False) == "python3.11"
    assert depends(T12, ["manylinux_2_28_x86_64"], True, ["adduser", "python3.11"]) == (
        "python3.11, libc6 (>= 2.28), adduser")
    # compiled code without a manylinux tag (the app's own linux_* wheel): the release's libc
    assert depends(T12, [], True) == "python3.11, libc6 (>= 2.36)"
    assert depends(get_target("debian-13", "arm64"), [], False) == "python3.13"


def test_depends_adds_the_packages_of_needed_system_libraries() -> None:
    needed = ["libc.so.6", "libm.so.6", "libgcc_s.so.1", "libstdc++.so.6", "libz.so.1",
              "ld-linux-x86-64.so.2", "libpthread.so.0", "libunknown.so.7"]
    assert depends(T12, ["manylinux_2_34_x86_64"], True, sonames=needed) == (
        "python3.11, libc6 (>= 2.34), libgcc-s1 (>= 4.2), libstdc++6 (>= 4.1.1), "
        "zlib1g (>= 1:1.1.4)")
    # a relation the user gives for the same package replaces the derived one
    assert depends(T12, ["manylinux_2_17_x86_64"], True, ["libstdc++6 (>= 12)"],
                   sonames=["libstdc++.so.6"]) == "python3.11, libc6 (>= 2.17), libstdc++6 (>= 12)"
    # glibc's own libraries add nothing beyond the libc6 relation
    assert depends(T12, ["manylinux_2_17_x86_64"], True, sonames=["libdl.so.2", "librt.so.1"]) \
        == "python3.11, libc6 (>= 2.17)"


@pytest.mark.parametrize(("soname", "package"), [
    ("libgcc_s.so.1", "libgcc-s1 (>= 4.2)"), ("libstdc++.so.6", "libstdc++6 (>= 4.1.1)"),
    ("libz.so.1", "zlib1g (>= 1:1.1.4)"), ("libc.so.6", "libc6"), ("libnsl.so.1", "libc6"),
    ("libutil.so.1", "libc6"), ("libresolv.so.2", "libc6"), ("ld-linux-aarch64.so.1", "libc6"),
    ("ld-linux-armhf.so.3", "libc6"), ("ld64.so.2", "libc6"), ("ld-linux.so.2", "libc6"),
    ("libX11.so.6", None), ("libyaml-0-abc.so.2", None), ("libc.so.7", None),
])
def test_soname_package(soname: str, package: str | None) -> None:
    assert soname_package(soname) == package


def test_architecture_all_only_without_binaries() -> None:
    assert architecture(T12, False) == "all"
    assert architecture(get_target("debian-12", "arm64"), True) == "arm64"
    # a platform wheel makes the package architecture-specific even without an ELF in it
    assert architecture(get_target("debian-12", "arm64"), False, ["manylinux2014_aarch64"]) == "arm64"


@pytest.mark.parametrize("venv", ["/usr/share/python/app", "/opt/venvs/app"])
def test_bin_symlinks_resolve_to_the_venv_script(venv: str) -> None:
    (entry,) = bin_symlinks(venv, ["app"])
    assert entry.path == "usr/bin/app" and entry.kind == "symlink" and entry.link
    resolved = posixpath.normpath(posixpath.join("/usr/bin", entry.link))
    assert resolved == f"{venv}/bin/app"
    # Policy 10.5: relative within a top-level directory, absolute across them
    assert entry.link.startswith("/") is (not venv.startswith("/usr/"))


CLICK = Distribution("click", "8.1.7", "Pallets", DeclaredLicense(expression="BSD-3-Clause"),
                     ("usr/share/python/app/lib/python3.11/site-packages/click/core.py",))


def _doc(**kw: object) -> DocInputs:
    base = dict(package="app", version="1:2.0~rc1-1", dist_name="App", maintainer="A B <a@b.example>",
                upstream_contact="A B <a@b.example>", homepage="https://example.org/app",
                license=DeclaredLicense("MIT", "Permission is granted.\n\nNo warranty."),
                target_name="debian-12/amd64", bundled=[CLICK], tool_version="0.1.0")
    base.update(kw)
    return DocInputs(**base)  # type: ignore[arg-type]


def test_doc_files_parse_with_debian_tools_and_are_reproducible() -> None:
    entries = {e.path: e for e in doc_entries(_doc(), "/usr/share/python/app", 1700000000, has_binary=True)}
    copyright_text = entries["usr/share/doc/app/copyright"].open().read().decode()
    parsed = Copyright(io.StringIO(copyright_text))
    files = parsed.find_files_paragraph("anything")
    assert files is not None and files.license is not None
    assert files.license.synopsis == "Expat" and "No warranty." in files.license.text
    click = parsed.find_files_paragraph("usr/share/python/app/lib/python3.11/site-packages/click/core.py")
    assert click is not None and click.license is not None
    assert click.license.synopsis == "BSD-3-Clause" and "click 8.1.7" in click.license.text

    gz = entries["usr/share/doc/app/changelog.Debian.gz"].open().read()
    assert gz[4:8] == b"\0\0\0\0"  # gzip mtime field zero: -n
    log = Changelog(gzip.decompress(gz).decode())
    assert str(log.version) == "1:2.0~rc1-1" and log.package == "app"
    assert log.date == "Tue, 14 Nov 2023 22:13:20 +0000"
    again = {e.path: e for e in doc_entries(_doc(), "/usr/share/python/app", 1700000000, has_binary=True)}
    assert again["usr/share/doc/app/changelog.Debian.gz"].open().read() == gz

    overrides = entries["usr/share/lintian/overrides/app"].open().read().decode()
    assert "app: arch-dependent-file-in-usr-share [usr/share/python/app/*]" in overrides


def test_copyright_without_a_license_says_so() -> None:
    entries = doc_entries(_doc(license=DeclaredLicense()), "/usr/share/python/app", 0, has_binary=False)
    text = entries[0].open().read().decode()
    assert "License: unknown" in text and "declares no license" in text


def test_binary_overrides_only_when_binaries_are_shipped() -> None:
    def overrides(has_binary: bool) -> str:
        entries = doc_entries(_doc(), "/usr/share/python/app", 0, has_binary=has_binary)
        return entries[2].open().read().decode()

    assert "arch-dependent-file-in-usr-share" not in overrides(False)
    assert "unusual-interpreter" in overrides(False)
    assert "embedded-library * [usr/share/python/app/*]" in overrides(True)


@pytest.mark.parametrize(("declared", "synopsis"), [
    # PEP 639 License-Expression first, in DEP-5 spelling
    (DeclaredLicense("MIT", "BSD"), "Expat"),
    (DeclaredLicense("Apache-2.0 OR BSD-3-Clause"), "Apache-2.0 or BSD-3-Clause"),
    (DeclaredLicense("GPL-3.0-only WITH GCC-exception-3.1"), "GPL-3 with GCC-exception-3.1 exception"),
    (DeclaredLicense("(MIT OR Apache-2.0) AND Unicode-3.0"), "Expat or Apache-2.0, and Unicode-3.0"),
    (DeclaredLicense("Unicode-3.0 AND (MIT OR Apache-2.0)"), "Expat or Apache-2.0, and Unicode-3.0"),
    (DeclaredLicense("(A OR B) AND (C OR D)"), "(A or B) and (C or D)"),  # beyond the comma rule
    (DeclaredLicense("LGPL-2.1-or-later"), "LGPL-2.1+"),
    # classifiers that name one license exactly win over the free-text License field
    (DeclaredLicense(None, "MIT license", ("License :: OSI Approved :: MIT License",)), "Expat"),
    (DeclaredLicense(None, None, ("License :: OSI Approved :: GNU General Public License v2 or "
                                  "later (GPLv2+)",)), "GPL-2+"),
    # an ambiguous classifier: the License field names it; names hold no spaces
    (DeclaredLicense(None, "Apache 2.0", ("License :: OSI Approved :: Apache Software License",)),
     "Apache-2.0"),
    (DeclaredLicense(None, "BSD", ("License :: OSI Approved :: BSD License",)), "BSD"),
    (DeclaredLicense(None, "UNKNOWN", ("License :: OSI Approved :: BSD License",)), "BSD-License"),
    (DeclaredLicense(None, "Permission is hereby granted...\n\nlong text"), "custom"),
    (DeclaredLicense(), "unknown"),
])
def test_license_synopsis(declared: DeclaredLicense, synopsis: str) -> None:
    assert license_synopsis(declared)[0] == synopsis


def test_files_patterns_claim_only_their_owners_paths() -> None:
    site = "v/lib/python3.11/site-packages"
    owners = {
        "": ["v/bin/python", "v/bin/app", f"{site}/app/__init__.py", f"{site}/ns/app.py"],
        "dep": [f"{site}/dep/a.py", f"{site}/dep/sub/b.py", f"{site}/dep-1.dist-info/RECORD",
                "v/bin/dep-cli"],
        "nsdep": [f"{site}/ns/proto/x.py", f"{site}/a b*.py"],
    }
    patterns = files_patterns(owners)
    # a directory only one owner writes into: dir/*; a shared one (ns/, bin/): deeper
    assert patterns["dep"] == ["v/bin/dep-cli", f"{site}/dep-1.dist-info/*", f"{site}/dep/*"]
    assert patterns["nsdep"] == [f"{site}/a?b\\*.py", f"{site}/ns/proto/*"]
    for owner, paths in owners.items():
        for path in paths:  # every path is matched by its owner's patterns only
            hits = {o for o, pats in patterns.items() for p in pats
                    if fnmatch.fnmatchcase(path, p.replace("\\*", "[*]"))}
            assert hits <= {owner}, (path, hits)


def test_other_parts_add_override_lines() -> None:
    entries = doc_entries(_doc(), "/usr/share/python/app", 0, has_binary=False,
                          overrides=("maintainer-script-calls-systemctl [prerm:*]",))
    text = entries[2].open().read().decode()
    assert text.endswith("app: maintainer-script-calls-systemctl [prerm:*]\n")
    assert text.startswith("app: unusual-interpreter")
