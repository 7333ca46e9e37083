"""End to end: published tools packaged with `pydebvenv build --from`, installed and run.

httpie (pure Python, bundling the compiled multidict) and black (compiled with mypyc) are
built with the one command the README shows, offline from the session wheel cache (which
from-tools.txt fills once), for Debian 12 and 13; each release's chroot gets both packages,
their commands run there, and lintian reports no error on them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pydebvenv.target import RELEASES
from tests.e2e.chroots import cached_chroot, chroot_copy, run_in
from tests.e2e.debtools import deb_field, dpkg_install, fsys_members, lintian

pytestmark = pytest.mark.e2e

EPOCH = "1700000000"
TOOLS = {"httpie": "httpie==3.2.4", "black": "black==26.10.1"}
PY = {"debian-12": "3.11", "debian-13": "3.13"}
#: Debian 12's lintian (2.116) reads no zstd members: its packages are built with xz
COMPRESSION = {"debian-12": "xz", "debian-13": "zstd"}


def build_from(requirement: str, target: str, cache: Path, out: Path) -> Path:
    """`pydebvenv build --from REQUIREMENT`, offline from the cache, as a user runs it."""
    proc = subprocess.run(
        [sys.executable, "-m", "pydebvenv", "build", "--from", requirement, "--target", target,
         "--arch", "amd64", "--offline", "--wheel-cache", str(cache), "--compression",
         COMPRESSION[target], "-o", str(out)],
        env={**os.environ, "SOURCE_DATE_EPOCH": EPOCH}, capture_output=True, text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    (deb,) = out.glob("*.deb")
    return deb


Built = Callable[[str], dict[str, Path]]


@pytest.fixture(scope="module")
def built(wheel_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Built:
    """`built(target)` -> {tool: its .deb}, each built once, when first asked for."""
    debs: dict[str, dict[str, Path]] = {}

    def for_target(target: str) -> dict[str, Path]:
        if target not in debs:
            debs[target] = {tool: build_from(requirement, target, wheel_cache,
                                             tmp_path_factory.mktemp(f"{tool}-{target}"))
                            for tool, requirement in TOOLS.items()}
        return debs[target]

    return for_target


@pytest.fixture(scope="module", params=sorted(PY))
def release(request: pytest.FixtureRequest, built: Built,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, Path],
                                                                         Path]]:
    """(target, {tool: its .deb}, a chroot of that release with both installed)."""
    target: str = request.param
    debs = built(target)
    scratch = tmp_path_factory.mktemp(f"chroot-{target}")
    with chroot_copy(cached_chroot(target), scratch) as root:
        for deb in debs.values():
            dpkg_install(root, deb)
        yield target, debs, root


def test_metadata_comes_from_the_distribution(release: tuple[str, dict[str, Path], Path]) -> None:
    target, debs, _root = release
    httpie, black = debs["httpie"], debs["black"]
    tag = RELEASES[target].tag
    assert httpie.name == f"httpie_3.2.4-1+{tag}_amd64.deb"  # multidict is compiled
    assert black.name == f"black_26.10.1-1+{tag}_amd64.deb"
    assert deb_field(httpie, "Maintainer") == "Jakub Roztocil <jakub@roztocil.co>"
    assert deb_field(black, "Maintainer") == "Łukasz Langa <lukasz@langa.pl>"
    assert deb_field(httpie, "Homepage") == "https://httpie.io/"
    # the summaries "HTTPie: modern, ..." and "The uncompromising code formatter." start with
    # the package name and an article: lintian-clean synopses instead
    assert deb_field(httpie, "Description").startswith(
        "modern, user-friendly command-line HTTP client for the API era\n")
    assert deb_field(black, "Description").startswith("uncompromising code formatter\n")
    assert deb_field(black, "Depends").startswith(f"python{PY[target]}, libc6 (>= 2.")
    links = {m.name: m.link for m in fsys_members(black) if m.name.startswith("./usr/bin/")}
    # blackd's entry point names the extra "d", which --from black did not ask for
    assert links == {"./usr/bin/black": "../share/python/black/bin/black"}
    names = {m.name for m in fsys_members(httpie) if m.name.startswith("./usr/bin/")}
    assert names == {"./usr/bin/http", "./usr/bin/https", "./usr/bin/httpie"}


def test_the_commands_run(release: tuple[str, dict[str, Path], Path]) -> None:
    target, _debs, root = release
    assert run_in(root, "http", "--version").stdout.strip() == "3.2.4"
    # --offline builds the request and prints it without sending it
    request = run_in(root, "https", "--offline", "--ignore-stdin", "--print=H", "GET",
                     "example.org/from-test").stdout
    assert request.startswith("GET /from-test HTTP/1.1"), request
    version = run_in(root, "black", "--version").stdout
    assert version.startswith("black, 26.10.1 (compiled: yes)"), version
    assert f"Python (CPython) {PY[target]}." in version
    formatted = run_in(root, "black", "-q", "-", input="x = ( 1, )\n").stdout
    assert formatted == "x = (1,)\n"


@pytest.mark.lintian
@pytest.mark.parametrize("tool", sorted(TOOLS))
def test_lintian_reports_no_errors(built: Built, tool: str) -> None:
    # the debian-12 builds (xz): this host's lintian is Debian 12's
    tags = lintian(built("debian-12")[tool])
    assert not [t for t in tags if t.startswith("E:")], "\n".join(tags)
    # warnings the issue met with the defaults before --from existed
    for tag in ("description-synopsis-starts-with-article", "extended-description-is-empty"):
        assert not [t for t in tags if tag in t], tag
