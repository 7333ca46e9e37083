"""pyproject.toml -> Project: [project] and METADATA fields, precedence, requirement sources."""

from __future__ import annotations

import email.message
from pathlib import Path

import pytest

from pydebvenv.errors import ConfigError
from pydebvenv.project.config import Options, load_config
from pydebvenv.project.model import Project, debian_synopsis, project_from_config
from pydebvenv.project.sources import RequirementSource, requirement_source

PROJECT = """\
[project]
name = "My_App"
version = "1.2.0"
description = "does one thing"
readme = "README.md"
maintainers = [{ name = "Jane Doe", email = "jane@example.org" }]
license = "MIT"
dependencies = ["requests>=2"]
optional-dependencies = { pg = ["psycopg"] }

[project.urls]
Source = "https://example.org/src"
homepage = "https://example.org"
"""


def load_project(root: Path, overrides: dict[str, object] | None = None, *,
                 wheel_metadata: email.message.Message | None = None) -> Project:
    return project_from_config(load_config(root, overrides or {}), wheel_metadata=wheel_metadata)


def make(tmp_path: Path, tool: str = "", project: str = PROJECT) -> Path:
    (tmp_path / "pyproject.toml").write_text(project + "\n[tool.pydebvenv]\n" + tool)
    (tmp_path / "README.md").write_text(
        "# My App\n\n[![ci](https://x/badge.svg)](https://x)\n\nMy app does\none thing "
        "well.\n\nMore text.\n"
    )
    return tmp_path


def test_defaults_from_project(tmp_path: Path) -> None:
    p = load_project(make(tmp_path))
    assert p.root == tmp_path
    assert (p.dist_name, p.package, p.upstream_version, p.version) == (
        "My_App", "my-app", "1.2.0", "1.2.0-1")
    assert p.maintainer == "Jane Doe <jane@example.org>"
    assert p.summary == "does one thing"
    assert p.extended_description == "My app does one thing well."
    assert p.homepage == "https://example.org"
    assert (p.section, p.priority) == ("utils", "optional")
    assert p.license_expression == "MIT"
    assert p.dependencies == ("requests>=2",)
    assert p.optional_dependencies == {"pg": ("psycopg",)}
    assert p.options == Options()
    assert p.venv == "/usr/share/python/my-app"


def test_precedence(tmp_path: Path) -> None:
    root = make(tmp_path, 'maintainer = "Tool <tool@example.org>"\nsummary = "from tool"\n')
    p = load_project(root)
    assert (p.maintainer, p.summary) == ("Tool <tool@example.org>", "from tool")
    p = load_project(root, {"maintainer": "Cli <cli@example.org>", "summary": None})
    assert (p.maintainer, p.summary) == ("Cli <cli@example.org>", "from tool")
    assert load_project(root, {"name": "other"}).package == "other"
    assert load_project(root, {"revision": "2"}).version == "1.2.0-2"


def _meta(**headers: str) -> email.message.Message:
    message = email.message.Message()
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    return message


def test_wheel_metadata_is_preferred(tmp_path: Path) -> None:
    project = PROJECT.replace('version = "1.2.0"', 'dynamic = ["version"]')
    root = make(tmp_path, project=project)
    with pytest.raises(ConfigError, match=r"the version of 'My_App' is dynamic"):
        load_project(root)
    meta = _meta(Name="my-app", Version="2.0rc1", Summary="wheel summary",
                 Author_email="Wheel Author <wa@example.org>",
                 License_Expression="Apache-2.0", Project_URL="Homepage, https://w.example")
    p = load_project(root, wheel_metadata=meta)
    assert (p.dist_name, p.upstream_version, p.version) == ("my-app", "2.0rc1", "2.0~rc1-1")
    assert p.summary == "wheel summary"
    assert p.maintainer == "Wheel Author <wa@example.org>"
    assert p.license_expression == "Apache-2.0"
    assert p.homepage == "https://w.example"
    # a bare address in Author-email takes its name from Author
    p = load_project(root, wheel_metadata=_meta(Version="1", Author="Ann",
                                                Author_email="ann@example.org"))
    assert p.maintainer == "Ann <ann@example.org>"


def test_authors_and_license_text(tmp_path: Path) -> None:
    project = PROJECT.replace("maintainers", "authors").replace(
        'license = "MIT"', 'license = { file = "LICENSE" }').replace("homepage", "Docs")
    root = make(tmp_path, project=project)
    (root / "LICENSE").write_text("Permission is granted.\n")
    p = load_project(root)
    assert p.maintainer == "Jane Doe <jane@example.org>"
    assert (p.license_expression, p.license_text) == (None, "Permission is granted.\n")
    assert p.homepage == "https://example.org/src"  # no Homepage label: the first URL


def test_requirement_source_order(tmp_path: Path) -> None:
    root = make(tmp_path)
    assert requirement_source(load_config(root)) == RequirementSource("dependencies")
    (root / "pylock.toml").write_text("")
    assert requirement_source(load_config(root)) == RequirementSource(
        "pylock.toml", (root / "pylock.toml",))
    (root / "requirements.txt").write_text("")
    assert requirement_source(load_config(root)) == RequirementSource(
        "requirements.txt", (root / "requirements.txt",))
    root = make(tmp_path, 'requirements = ["a.txt"]\n')
    assert requirement_source(load_config(root)) == RequirementSource("config", (root / "a.txt",))
    assert requirement_source(load_config(root, {"requirements": ["/x/b.txt"]})) == (
        RequirementSource("override", (Path("/x/b.txt"),)))


def test_options_are_the_config_modules(tmp_path: Path) -> None:
    # the Project carries exactly what load_config reads, and the config errors reach it
    root = make(tmp_path, 'depends = ["curl"]\nwheel-cache = "w"\n')
    overrides: dict[str, object] = {"compile": True, "arch": None}
    config = load_config(root, overrides)
    assert project_from_config(config).options == config.options
    assert config.origins == {"depends": "config", "wheel_cache": "config", "compile": "override"}
    with pytest.raises(ConfigError, match=r"^unknown key 'dependz' in \[tool.pydebvenv\]"):
        load_project(make(tmp_path, 'dependz = []\n'))


def _error(tmp_path: Path, tool: str = "", project: str = PROJECT,
           overrides: dict[str, object] | None = None) -> str:
    root = make(tmp_path, tool, project)
    with pytest.raises(ConfigError) as info:
        load_project(root, overrides or {})
    return str(info.value).replace(repr(str(root / "pyproject.toml")), "FILE")


ERRORS: list[tuple[str, str, str, dict[str, object] | None, str]] = [
    ("underivable name", "", PROJECT.replace('"My_App"', '"x"'), None,
     "cannot make a Debian package name from 'x': it is shorter than two characters "
     '(Debian Policy 5.6.1); set name = "..." in [tool.pydebvenv] (or pass --name)'),
    ("maintainer email", "", PROJECT.replace(', email = "jane@example.org"', ""), None,
     "no maintainer with a name and an email in FILE: 'Jane Doe' in [project].maintainers "
     'has no email: add email = "..." to it, or add maintainers = [{name = "...", email = '
     '"..."}] to [project] or set tool.pydebvenv.maintainer = "Name <email>" (or pass '
     "--maintainer)"),
    ("no maintainer", "", PROJECT.replace(
        'maintainers = [{ name = "Jane Doe", email = "jane@example.org" }]\n', ""), None,
     'no maintainer in FILE: add maintainers = [{name = "...", email = "..."}] to [project] '
     'or set tool.pydebvenv.maintainer = "Name <email>" (or pass --maintainer)'),
    ("version", "", PROJECT.replace('"1.2.0"', '"one"'), None,
     "invalid version 'one' in FILE: use a PEP 440 version"),
    ("revision", 'revision = "1_2"\n', PROJECT, None,
     "invalid Debian revision '1_2': use letters, digits and + . ~ only, such as '1' or "
     "'2' (deb-version(7))"),
    ("no description", "", PROJECT.replace('description = "does one thing"\n', ""), None,
     "no one-line description for 'My_App': add description = \"...\" to [project] in FILE "
     "or set summary in [tool.pydebvenv]"),
    ("no version", "", PROJECT.replace('version = "1.2.0"\n', ""), None,
     'no version in [project] of FILE: add version = "1.0" or list "version" in dynamic'),
    ("no name", "", PROJECT.replace('name = "My_App"\n', ""), None,
     'no name in [project] of FILE: add name = "..."'),
    ("description type", "", PROJECT.replace('"does one thing"', "1"), None,
     "[project].description in FILE must be a string, not 1"),
]


@pytest.mark.parametrize(("tool", "project", "overrides", "message"),
                         [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_errors(tmp_path: Path, tool: str, project: str, overrides: dict[str, object] | None,
                message: str) -> None:
    got = _error(tmp_path, tool, project, overrides)
    assert got == message.replace("ROOT", str(tmp_path))


def test_missing_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no pyproject.toml in .*: pass the project"):
        load_project(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[project\n")
    with pytest.raises(ConfigError, match=r"is not valid TOML: .*line 1"):
        load_project(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.other]\n")
    with pytest.raises(ConfigError, match=r"no \[project\] table in"):
        load_project(tmp_path)


@pytest.mark.parametrize(("summary", "package", "synopsis"), [
    # lintian description-starts-with-package-name (an error): /^<package>\b/i
    ("HTTPie: modern, user-friendly command-line HTTP client for the API era.", "httpie",
     "modern, user-friendly command-line HTTP client for the API era"),
    ("black is a code formatter", "black", "code formatter"),
    ("mytool - a tool", "mytool", "tool (mytool)"),  # one word left: description-too-short
    ("mytool", "mytool", "Python application mytool"),
    # description-synopsis-starts-with-article, synopsis-is-a-sentence
    ("The uncompromising code formatter.", "black", "uncompromising code formatter"),
    ("An extremely fast linter, written in Rust.", "ruff", "extremely fast linter, written in Rust"),
    ("Fast. Small.", "x", "Fast. Small."),  # two sentences: left as written
    ("mytoolkit for things", "mytool", "mytoolkit for things"),  # not the name: \b
])
def test_synopsis_from_the_summary_is_lintian_clean(summary: str, package: str,
                                                     synopsis: str) -> None:
    assert debian_synopsis(summary, package, package) == synopsis


def test_a_summary_set_in_tool_pydebvenv_is_used_as_written(tmp_path: Path) -> None:
    p = load_project(make(tmp_path, 'summary = "my-app: the tool."'))
    assert p.summary == "my-app: the tool."
    (tmp_path / "q").mkdir()
    q = load_project(make(tmp_path / "q", project=PROJECT.replace(
        '"does one thing"', '"My-App: does one thing."')))
    assert q.summary == "does one thing"


README_MD = """\
<h2 align="center">
  Title inside HTML
</h2>

[![ci](https://x/ci.svg)](https://x) [![v](https://x/v.svg)](https://x)

[**Docs**](https://x/docs) | [**Play**](https://x/play)

# Heading

does one thing

> a quoted line

- a list item
- another

```sh
this is code

and more code
```

    indented code block here

_Emphasised_ words, a [link](https://x) and `code` and **bold**
in the first real paragraph.
"""

README_RST = """\
=====
Title
=====

.. image:: https://x/badge.svg
   :target: https://x

Subtitle
--------

The `rst link <https://x>`_ paragraph comes here with words.
"""


@pytest.mark.parametrize(("readme", "expected"), [
    (README_MD, "Emphasised words, a link and code and bold in the first real paragraph."),
    (README_RST, "The rst link paragraph comes here with words."),
])
def test_extended_description_is_the_first_prose_paragraph(tmp_path: Path, readme: str,
                                                           expected: str) -> None:
    root = make(tmp_path)
    (root / "README.md").write_text(readme)
    # "does one thing" repeats the summary (lintian description-synopsis-is-duplicated)
    assert load_project(root).extended_description == expected
