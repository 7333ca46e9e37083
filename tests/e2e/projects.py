"""The example projects as the e2e tests use them: copied out of the tree, versions bumped."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Protocol

import pydebvenv

__all__ = ["EPOCH", "EXAMPLES", "REPO", "Build", "build_example", "copy_example",
           "edit_pyproject", "set_version"]

REPO = Path(__file__).resolve().parent.parent.parent
EXAMPLES = REPO / "examples"
#: a fixed SOURCE_DATE_EPOCH for every build (2023-11-14), so builds can be compared
EPOCH = "1700000000"


class Build(Protocol):
    """The e2e `build` fixture: a project -> its .deb, built offline from the wheel cache."""

    def __call__(
        self, project: Path, *, target: str = ..., arch: str = ..., out: Path | None = ...,
        compression: str | None = ...,
    ) -> Path: ...


def copy_example(name: str, dest: Path) -> Path:
    """A copy of examples/<name> (builds never touch the repository's tree)."""
    project = dest / name
    # a lock left by running the README's command would pin the examples to other files
    # than the tests' wheel cache holds
    shutil.copytree(EXAMPLES / name, project,
                    ignore=shutil.ignore_patterns("__pycache__", "pydebvenv-*.lock"))
    return project


def set_version(project: Path, version: str) -> None:
    """Bump the example's version in pyproject.toml and in its package's __version__."""
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    old = next(line for line in text.splitlines() if line.startswith("version = "))
    pyproject.write_text(text.replace(old, f'version = "{version}"'), encoding="utf-8")
    for init in (project / "src").glob("*/__init__.py"):
        lines = init.read_text(encoding="utf-8").splitlines(keepends=True)
        lines = [
            f'__version__ = "{version}"\n' if ln.startswith("__version__") else ln for ln in lines
        ]
        init.write_text("".join(lines), encoding="utf-8")


def build_example(name: str, version: str, work: Path, *, target: str, wheel_cache: Path,
                  arch: str = "amd64") -> Path:
    """A copy of examples/<name> at ``version``, built offline from ``wheel_cache`` with its
    requirements.txt (edit the copy first by calling copy_example yourself)."""
    project = work / name
    if not project.exists():
        project = copy_example(name, work)
    set_version(project, version)
    return pydebvenv.build(project, output_dir=work / "dist", target=target, arch=arch,
                           wheel_cache=wheel_cache, offline=True,
                           requirements=[project / "requirements.txt"])


def edit_pyproject(project: Path, old: str, new: str) -> None:
    """Replace the text `old` (which must be there) by `new` in the project's pyproject.toml."""
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {pyproject}"
    pyproject.write_text(text.replace(old, new), encoding="utf-8")
