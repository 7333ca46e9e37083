"""The example projects as the e2e tests use them: copied out of the tree, versions bumped."""

from __future__ import annotations

import shutil
from pathlib import Path

__all__ = ["EXAMPLES", "REPO", "copy_example", "set_version"]

REPO = Path(__file__).resolve().parent.parent.parent
EXAMPLES = REPO / "examples"


def copy_example(name: str, dest: Path) -> Path:
    """A copy of examples/<name> (builds never touch the repository's tree)."""
    project = dest / name
    shutil.copytree(EXAMPLES / name, project, ignore=shutil.ignore_patterns("__pycache__"))
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
