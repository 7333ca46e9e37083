"""End to end: the application's own wheel builds offline with each common PEP 517 backend.

The same tiny application (a console script using click) is written with setuptools,
hatchling, flit-core, pdm-backend and poetry-core as its build backend, and without any
[build-system] (PEP 517's fallback: the setuptools legacy backend), built with
`pydebvenv.build(..., offline=True)` from the e2e wheel cache (which holds the host wheels
of these backends, see wheelcache.BACKEND), and installed with dpkg into one debian-12 chroot.
Every build leaves the project byte for byte as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.chroots import cached_chroot, chroot_copy, run_in
from tests.e2e.debtools import deb_field, dpkg_install, fsys_members
from tests.e2e.wheelcache import use_only_the_cache
from tests.support.tree import snapshot

Tree = dict[str, tuple[str, int, bytes | str]]

pytestmark = pytest.mark.e2e

#: a fixed SOURCE_DATE_EPOCH (2023-11-14), as in test_examples.py
EPOCH = "1700000000"
TARGET = "debian-12"
VENV_ROOT = "/usr/share/python"

# The [build-system] table of each backend, as its documentation shows it.  Every project
# also has a PEP 621 [project] table (poetry-core reads it since 2.0), so the rest is shared.
BUILD_SYSTEMS: dict[str, str] = {
    # >=70.1: build_meta stopped asking for `wheel` (bdist_wheel moved into setuptools)
    "setuptools": 'requires = ["setuptools>=70.1"]\nbuild-backend = "setuptools.build_meta"\n',
    "hatchling": 'requires = ["hatchling"]\nbuild-backend = "hatchling.build"\n',
    "flit-core": 'requires = ["flit_core>=3.12,<4"]\nbuild-backend = "flit_core.buildapi"\n',
    "pdm-backend": 'requires = ["pdm-backend"]\nbuild-backend = "pdm.backend"\n',
    "poetry-core": 'requires = ["poetry-core>=2"]\nbuild-backend = "poetry.core.masonry.api"\n',
    # no [build-system] table: `build` uses setuptools.build_meta:__legacy__ (PEP 517)
    "setuptools-legacy": "",
}
BACKENDS = sorted(BUILD_SYSTEMS)

_CLI = '''\
import click


@click.command()
@click.option("--name", default="world")
def main(name: str) -> None:
    click.echo(f"Hello, {name}, from {BACKEND}!")
'''


def _expected(backend: str, name: str = "Debian") -> str:
    return f"Hello, {name}, from {backend}!\n"


def write_project(
    dest: Path, backend: str, *, name: str | None = None, version: str | None = "1.0",
    extra: str = "",
) -> Path:
    """A src-layout project `hello-<backend>` whose console script prints `_expected(backend)`.

    `version=None` makes the version dynamic: the caller's `extra` says where it comes from.
    """
    dist = name or f"hello-{backend}"
    module = dist.replace("-", "_")
    project = dest / dist
    package = project / "src" / module
    package.mkdir(parents=True)
    version_line = f'version = "{version}"' if version is not None else 'dynamic = ["version"]'
    system = BUILD_SYSTEMS[backend]
    (project / "pyproject.toml").write_text(
        (f"[build-system]\n{system}\n" if system else "")
        + "[project]\n"
        f'name = "{dist}"\n'
        f"{version_line}\n"
        f'description = "Say hello from an application built with {backend}"\n'
        'requires-python = ">=3.11"\n'
        'maintainers = [{ name = "Backend Tester", email = "backend-tester@example.org" }]\n'
        'dependencies = ["click>=8.1"]\n\n'
        "[project.scripts]\n"
        f'{dist} = "{module}.cli:main"\n'
        f"{extra}",
        encoding="utf-8",
    )
    (package / "__init__.py").write_text(f'"""Hello from {backend}."""\n', encoding="utf-8")
    (package / "cli.py").write_text(f"BACKEND = {backend!r}\n{_CLI}", encoding="utf-8")
    return project


@pytest.fixture(scope="module")
def offline_env(wheel_cache: Path) -> Iterator[Path]:
    """Like conftest's `offline_pip`, for the whole module: pip sees the wheel cache only.

    PIP_CONFIG_FILE=/dev/null keeps this machine's pip configuration (extra indexes,
    find-links) out, so a backend missing from the cache fails the build instead of being
    fetched from somewhere the test did not choose.
    """
    with pytest.MonkeyPatch.context() as patch:
        use_only_the_cache(patch, wheel_cache)
        patch.setenv("SOURCE_DATE_EPOCH", EPOCH)
        yield wheel_cache


def build_offline(project: Path, cache: Path, out: Path) -> Path:
    """The public API as the README shows it, offline, for debian-12 amd64."""
    import pydebvenv

    deb: Path = pydebvenv.build(
        project, output_dir=out, target=TARGET, arch="amd64", wheel_cache=cache, offline=True,
    )
    assert deb.is_file() and deb.parent == out, deb
    return deb


@pytest.fixture(scope="module", params=BACKENDS)
def backend_build(
    request: pytest.FixtureRequest, offline_env: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, Path, Path, Tree]:
    """(backend, the .deb of `hello-<backend>`, its project, the project's tree before the
    build), built once per backend, into a `dist/` inside the project (`-o dist` run there)."""
    backend: str = request.param
    work = tmp_path_factory.mktemp(f"backend-{backend}")
    project = write_project(work, backend)
    before = snapshot(project)
    return backend, build_offline(project, offline_env, project / "dist"), project, before


@pytest.fixture(scope="module")
def backend_deb(backend_build: tuple[str, Path, Path, Tree]) -> tuple[str, Path]:
    """(backend, the .deb of `hello-<backend>`)."""
    return backend_build[0], backend_build[1]


def test_the_build_leaves_the_project_as_it_was(
    backend_build: tuple[str, Path, Path, Tree],
) -> None:
    """No build/, *.egg-info/ or backend cache: the backend built a copy of the project."""
    _backend, deb, project, before = backend_build
    after = snapshot(project)
    # only the output the build was asked for: dist/ and the package in it
    assert {p: v for p, v in after.items() if not p.startswith("dist")} == before
    assert sorted(p for p in after if p.startswith("dist")) == ["dist", f"dist/{deb.name}"]


@pytest.fixture(scope="module")
def shared_root(e2e_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """ONE writable debian-12 chroot copy that every backend's package is installed into."""
    scratch = tmp_path_factory.mktemp(f"chroot-{TARGET}")
    with chroot_copy(cached_chroot(TARGET), scratch) as root:
        yield root


def test_package_is_arch_all_and_depends_on_the_interpreter(backend_deb: tuple[str, Path]) -> None:
    backend, deb = backend_deb
    assert deb_field(deb, "Package") == f"hello-{backend}"
    assert deb_field(deb, "Version") == "1.0-1+deb12"  # as written, + the release (versions.md)
    assert deb_field(deb, "Architecture") == "all"
    assert deb_field(deb, "Depends") == "python3.11"
    assert deb_field(deb, "Maintainer") == "Backend Tester <backend-tester@example.org>"
    # the wheel the backend built is what is installed: its dist-info is in the venv
    module = f"hello_{backend.replace('-', '_')}"
    site = f"./{VENV_ROOT[1:]}/hello-{backend}/lib/python3.11/site-packages/"
    names = {m.name for m in fsys_members(deb)}
    assert f"{site}{module}/cli.py" in names, sorted(names)
    assert f"{site}{module}-1.0.dist-info/METADATA" in names, sorted(names)
    assert any(n.startswith(f"{site}click-") and n.endswith(".dist-info/METADATA") for n in names)


def test_package_installs_and_runs(backend_deb: tuple[str, Path], shared_root: Path) -> None:
    backend, deb = backend_deb
    dpkg_install(shared_root, deb)
    command = f"/usr/bin/hello-{backend}"
    assert run_in(shared_root, command, "--name", "Debian").stdout == _expected(backend)
    assert run_in(shared_root, command).stdout == _expected(backend, "world")
    # click is imported from this package's own venv, not from anywhere else
    python = f"{VENV_ROOT}/hello-{backend}/bin/python"
    where = run_in(shared_root, python, "-c", "import click; print(click.__file__)").stdout
    assert where.startswith(f"{VENV_ROOT}/hello-{backend}/lib/python3.11/site-packages/"), where
    status = run_in(shared_root, "dpkg-query", "-W", "-f=${Status}", f"hello-{backend}").stdout
    assert status == "install ok installed"



def test_dynamic_version_comes_from_the_built_wheel(
    offline_env: Path, tmp_path: Path, shared_root: Path
) -> None:
    """hatchling reads the version from the package's __init__.py: pyproject.toml has none."""
    project = write_project(
        tmp_path, "hatchling", name="hello-dynamic", version=None,
        extra='\n[tool.hatch.version]\npath = "src/hello_dynamic/__init__.py"\n',
    )
    init = project / "src" / "hello_dynamic" / "__init__.py"
    text = init.read_text(encoding="utf-8") + '__version__ = "2.5.0rc1"\n'
    init.write_text(text, encoding="utf-8")
    deb = build_offline(project, offline_env, tmp_path / "dist")
    # 2.5.0rc1 -> 2.5.0~rc1 (the pre-release sorts below the release), rev 1, the release
    assert deb_field(deb, "Version") == "2.5.0~rc1-1+deb12"
    assert deb.name == "hello-dynamic_2.5.0~rc1-1+deb12_all.deb"
    site = f"./{VENV_ROOT[1:]}/hello-dynamic/lib/python3.11/site-packages/"
    assert f"{site}hello_dynamic-2.5.0rc1.dist-info/METADATA" in {
        m.name for m in fsys_members(deb)
    }
    dpkg_install(shared_root, deb)
    assert run_in(shared_root, "dpkg-query", "-W", "-f=${Version}", "hello-dynamic").stdout == (
        "2.5.0~rc1-1+deb12"
    )
    assert run_in(shared_root, "/usr/bin/hello-dynamic").stdout == _expected("hatchling", "world")
