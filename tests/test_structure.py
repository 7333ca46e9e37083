"""The package's shape: which folder may import which, and who may start other programs.

Data flows one way (docs/design.md): project -> target -> wheels -> venv entries -> debian
metadata -> archive.  A lower layer never imports a higher one, and the archive format
(debfile/) knows nothing about Python.  The rules are read from the source with ``ast``, so
a new import that breaks them fails here, naming the file and the import.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "pydebvenv"

# What each part of the package may import from pydebvenv (besides itself).  Parts are the
# folders and the top-level modules; the commands (builder, scaffold, cli, the public face)
# compose everything and may import any part.
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "redact": set(),
    "report": set(),
    "scratch": {"debfile"},
    "target": {"errors"},
    "debfile": {"errors"},
    "project": {"errors", "redact", "target", "debfile"},
    "wheels": {"errors", "redact", "target", "project"},
    "acquire": {"errors", "redact", "report", "scratch", "target", "project", "wheels"},
    "venv": {"errors", "target", "debfile"},
    "debian": {"errors", "target", "debfile", "project", "venv"},
    # repo/ reads what the build wrote (the bundled list's format is debian/bom.py's)
    "repo": {"errors", "redact", "report", "debfile", "debian"},
}
COMMANDS = {"__init__", "__main__", "builder", "scaffold", "cli"}
# Parts that may start other programs: acquire/ runs pip and build backends, repo/ runs gpg.
SUBPROCESS = {"acquire", "repo"}


def _part(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _modules() -> Iterator[Path]:
    yield from sorted(PACKAGE.rglob("*.py"))


def _imports(source: str, package: str) -> Iterator[tuple[int, str]]:
    """(line, dotted module) of every import in ``source``, a module of ``package``
    (``pydebvenv.debfile``); relative imports are made absolute."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            yield node.lineno, name
            if name == "pydebvenv":  # "from pydebvenv import x" imports the part x
                for alias in node.names:
                    yield node.lineno, f"pydebvenv.{alias.name}"


def test_every_part_has_a_rule() -> None:
    parts = {_part(p) for p in _modules()}
    assert parts - COMMANDS - {"py"} <= set(ALLOWED), parts - COMMANDS - set(ALLOWED)


def _violations(part: str, imports: Iterator[tuple[int, str]]) -> list[str]:
    wrong = []
    for line, name in imports:
        if name == "subprocess" and part not in SUBPROCESS:
            wrong.append(f"line {line}: subprocess (only {sorted(SUBPROCESS)} start programs)")
        if not name.startswith("pydebvenv."):
            continue
        target = name.split(".")[1]
        if target in ("__version__",) or target == part:
            continue
        if target not in ALLOWED[part]:
            wrong.append(f"line {line}: {name}")
    return wrong


@pytest.mark.parametrize("path", list(_modules()), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_follow_the_data_flow(path: Path) -> None:
    part = _part(path)
    if part in COMMANDS:
        return
    package = ".".join(("pydebvenv", *path.relative_to(PACKAGE).parent.parts))
    wrong = _violations(part, _imports(path.read_text(encoding="utf-8"), package))
    assert not wrong, f"{path.relative_to(PACKAGE)} ({part}/) may import only " \
        f"{sorted(ALLOWED[part])}: " + "; ".join(wrong)


def test_the_rules_can_fail() -> None:
    """The checker sees forbidden imports, relative or absolute, and allows the permitted."""
    source = ("from ..venv import layout\nimport pydebvenv.project.config\nimport subprocess\n"
              "from . import entry\nfrom pydebvenv.errors import ArchiveError\n")
    found = list(_imports(source, "pydebvenv.debfile"))
    assert [name for _, name in found] == [
        "pydebvenv.venv", "pydebvenv.project.config", "subprocess", "pydebvenv.debfile",
        "pydebvenv.errors"]
    assert _violations("debfile", iter(found)) == [
        "line 1: pydebvenv.venv", "line 2: pydebvenv.project.config",
        "line 3: subprocess (only ['acquire', 'repo'] start programs)"]


def test_the_claims_table_names_tests_that_exist() -> None:
    """docs/testing.md maps each README claim to tests: every file and test it names is here
    (a renamed or deleted test fails this until the table follows)."""
    root = PACKAGE.parent
    rows = [line for line in (root / "docs" / "testing.md").read_text(encoding="utf-8")
            .splitlines() if re.match(r"^\| \d+ \|", line)]
    assert len(rows) >= 100, len(rows)
    named = 0
    for row in rows:
        current = None
        for path, test in re.findall(r"([\w/]+\.py)?(?:::(test_\w+))?", row.split("|")[3]):
            if path:
                current = next((p for p in (root / "tests" / path, root / path) if p.is_file()),
                               None)
                assert current is not None, f"{path} in {row}"
            if test:
                assert current is not None, f"::{test} without a file in {row}"
                assert re.search(rf"^\s*def {test}\(", current.read_text(encoding="utf-8"),
                                 flags=re.MULTILINE), f"no {test} in {current}"
                named += 1
    assert named >= 150, named
