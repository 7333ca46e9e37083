"""pyproject.toml + [tool.pydebvenv] + overrides -> Project: every key, every error, the docs table."""

from __future__ import annotations

import email.message
import re
from pathlib import Path

import pytest

from pydebvenv.errors import ConfigError
from pydebvenv.project import (
    KEYS,
    FileSpec,
    Options,
    configuration_table,
    load_project,
    requirement_sources,
)

REPO = Path(__file__).resolve().parents[1]
# Documents that must hold the generated key table verbatim.
DOCS = [REPO / "docs" / "configuration.md", REPO / "README.md"]

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
        "My_App", "my-app", "1.2.0", "1.2-1")
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


# One row per [tool.pydebvenv] key: TOML text -> the Options value it must give.
CASES: list[tuple[str, str, object]] = [
    ("name", 'name = "myapp2"', "myapp2"),
    ("revision", 'revision = "3~deb12"', "3~deb12"),
    ("maintainer", 'maintainer = "Bob <bob@example.org>"', "Bob <bob@example.org>"),
    ("summary", 'summary = "short"', "short"),
    ("description", 'description = """Long\n\ntext."""', "Long\n\ntext."),
    ("prefix", 'prefix = "/opt/venvs/"', "/opt/venvs"),
    ("target", 'target = "debian-12"', "debian-12"),
    ("arch", 'arch = "arm64"', "arm64"),
    ("compression", 'compression = "zstd"', "zstd"),
    ("requirements", 'requirements = ["reqs/a.txt"]', ("ROOT/reqs/a.txt",)),
    ("extras", 'extras = ["pg"]', ("pg",)),
    ("wheel-cache", 'wheel-cache = "wheels"', "ROOT/wheels"),
    ("index-url", 'index-url = "https://example.org/simple"', "https://example.org/simple"),
    ("extra-index-urls", 'extra-index-urls = ["https://e.org/s"]', ("https://e.org/s",)),
    ("find-links", 'find-links = ["vendor"]', ("vendor",)),
    ("depends", 'depends = ["ca-certificates"]', ("ca-certificates",)),
    ("pre-depends", 'pre-depends = ["adduser"]', ("adduser",)),
    ("recommends", 'recommends = ["git"]', ("git",)),
    ("suggests", 'suggests = ["nginx | apache2"]', ("nginx | apache2",)),
    ("conflicts", 'conflicts = ["old"]', ("old",)),
    ("breaks", 'breaks = ["old (<< 2)"]', ("old (<< 2)",)),
    ("replaces", 'replaces = ["old"]', ("old",)),
    ("provides", 'provides = ["api"]', ("api",)),
    ("section", 'section = "net"', "net"),
    ("priority", 'priority = "extra"', "extra"),
    ("fields", 'fields = { X-Team = "infra" }', {"X-Team": "infra"}),
    ("scripts", 'scripts = ["myapp"]', ("myapp",)),
    ("files", 'files = [{ source = "a.conf", destination = "/etc/a/a.conf", mode = 0o600, '
              'conffile = true }]', (FileSpec(Path("ROOT/a.conf"), "/etc/a/a.conf", 0o600, True),)),
    ("preinst", 'preinst = "echo pre"', "echo pre"),
    ("postinst", 'postinst = { file = "post.sh" }', "echo post\n"),
    ("prerm", 'prerm = "echo rm"', "echo rm"),
    ("postrm", 'postrm = "echo gone"', "echo gone"),
    ("compile", "compile = true", True),
    ("offline", "offline = true", True),
    ("include-pip", "include-pip = true", True),
]


def _rooted(value: object, root: Path) -> object:
    if isinstance(value, str) and value.startswith("ROOT/"):
        return root / value[5:]
    if isinstance(value, tuple):
        return tuple(_rooted(v, root) for v in value)
    if isinstance(value, FileSpec):
        return FileSpec(root / str(value.source)[5:], value.destination, value.mode,
                        value.conffile)
    return value


def test_every_key_has_a_case() -> None:
    assert sorted(c[0] for c in CASES) == sorted(k.toml for k in KEYS)


@pytest.mark.parametrize(("key", "toml", "expected"), CASES, ids=[c[0] for c in CASES])
def test_key_reaches_options(tmp_path: Path, key: str, toml: str, expected: object) -> None:
    (tmp_path / "post.sh").write_text("echo post\n")
    project = load_project(make(tmp_path, toml + "\n"))
    attr = key.replace("-", "_")
    assert getattr(project.options, attr) == _rooted(expected, tmp_path)
    assert project.origins == {attr: "config"}


@pytest.mark.parametrize(("key", "toml", "expected"), CASES, ids=[c[0] for c in CASES])
def test_override_beats_config(tmp_path: Path, key: str, toml: str, expected: object) -> None:
    (tmp_path / "post.sh").write_text("echo post\n")
    attr = key.replace("-", "_")
    value = _rooted(expected, tmp_path)
    override: object = value
    if key == "postinst":
        override = "echo override"
    elif isinstance(value, tuple):
        override = list(value)
    project = load_project(make(tmp_path), {attr: override})
    assert getattr(project.options, attr) == (value if key != "postinst" else "echo override")
    assert project.origins == {attr: "override"}


def test_precedence(tmp_path: Path) -> None:
    root = make(tmp_path, 'maintainer = "Tool <tool@example.org>"\nsummary = "from tool"\n')
    p = load_project(root)
    assert (p.maintainer, p.summary) == ("Tool <tool@example.org>", "from tool")
    p = load_project(root, {"maintainer": "Cli <cli@example.org>", "summary": None})
    assert (p.maintainer, p.summary) == ("Cli <cli@example.org>", "from tool")
    assert load_project(root, {"name": "other"}).package == "other"
    assert load_project(root, {"revision": "2"}).version == "1.2-2"


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
    assert (p.dist_name, p.upstream_version, p.version) == ("my-app", "2.0rc1", "2~rc1-1")
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


def test_requirement_sources(tmp_path: Path) -> None:
    root = make(tmp_path)
    assert requirement_sources(load_project(root)) == ("dependencies", ())
    (root / "pylock.toml").write_text("")
    assert requirement_sources(load_project(root)) == ("pylock.toml", (root / "pylock.toml",))
    (root / "requirements.txt").write_text("")
    assert requirement_sources(load_project(root)) == (
        "requirements.txt", (root / "requirements.txt",))
    root = make(tmp_path, 'requirements = ["a.txt"]\n')
    assert requirement_sources(load_project(root)) == ("config", (root / "a.txt",))
    assert requirement_sources(load_project(root, {"requirements": ["/x/b.txt"]})) == (
        "override", (Path("/x/b.txt"),))


def _error(tmp_path: Path, tool: str = "", project: str = PROJECT,
           overrides: dict[str, object] | None = None) -> str:
    root = make(tmp_path, tool, project)
    with pytest.raises(ConfigError) as info:
        load_project(root, overrides or {})
    return str(info.value).replace(repr(str(root / "pyproject.toml")), "FILE")


ERRORS: list[tuple[str, str, str, dict[str, object] | None, str]] = [
    ("unknown key", "pre_depends = []\n", PROJECT, None,
     "unknown key 'pre_depends' in [tool.pydebvenv] of FILE: did you mean 'pre-depends'?"),
    ("typo", "dependz = []\n", PROJECT, None,
     "unknown key 'dependz' in [tool.pydebvenv] of FILE: did you mean 'depends'?"),
    ("unknown override", "", PROJECT, {"pre-depends": ["x"]},
     "unknown option 'pre-depends': did you mean 'pre_depends'?"),
    ("wrong type", "revision = 2\n", PROJECT, None,
     "tool.pydebvenv.revision in FILE must be a non-empty string, not 2: write e.g. "
     'revision = "2"'),
    ("bool", 'offline = "yes"\n', PROJECT, None,
     "tool.pydebvenv.offline in FILE must be true or false, not 'yes': write e.g. "
     "offline = true"),
    ("list", 'depends = "curl"\n', PROJECT, None,
     "tool.pydebvenv.depends in FILE must be a list of strings, not 'curl': write e.g. "
     'depends = ["ca-certificates"]'),
    ("override type", "", PROJECT, {"compile": "yes"},
     "option 'compile' must be true or false, not 'yes': write e.g. compile=..."),
    ("bad name", 'name = "My App"\n', PROJECT, None,
     "tool.pydebvenv.name in FILE: 'My App' is not a valid Debian package name: use two or "
     "more of a-z 0-9 + - . starting with a letter or digit (Debian Policy 5.6.1)"),
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
    ("maintainer format", 'maintainer = "jane@example.org"\n', PROJECT, None,
     "tool.pydebvenv.maintainer in FILE must be 'Name <email>', not 'jane@example.org': "
     'write e.g. maintainer = "Jane Doe <jane@example.org>"'),
    ("conffile outside etc", 'files = [{ source = "a", destination = "/usr/a", conffile = '
     "true }]\n", PROJECT, None,
     "tool.pydebvenv.files in FILE: conffile '/usr/a' must be under /etc (Debian Policy "
     "10.7.2); set conffile = false or move it"),
    ("files key", 'files = [{ source = "a", dest = "/etc/a" }]\n', PROJECT, None,
     "tool.pydebvenv.files in FILE: unknown key 'dest' in {'source': 'a', 'dest': '/etc/a'}: "
     "did you mean 'destination'?"),
    ("own field", 'fields = { Package = "x" }\n', PROJECT, None,
     "tool.pydebvenv.fields in FILE: the 'Package' field is computed by pydebvenv: set it "
     "through its own key instead (name, maintainer, summary, ...)"),
    ("relation in fields", 'fields = { Pre-Depends = "x" }\n', PROJECT, None,
     "tool.pydebvenv.fields in FILE: set 'Pre-Depends' with the 'pre-depends' key of "
     "[tool.pydebvenv], not in fields"),
    ("compression", 'compression = "bz2"\n', PROJECT, None,
     "tool.pydebvenv.compression in FILE: unknown compression 'bz2': use one of zstd, xz, "
     "gzip, none"),
    ("prefix", 'prefix = "opt"\n', PROJECT, None,
     "tool.pydebvenv.prefix in FILE must be an absolute POSIX directory, not 'opt': write "
     'e.g. prefix = "/opt/venvs"'),
    ("script file", 'postinst = { file = "missing.sh" }\n', PROJECT, None,
     "tool.pydebvenv.postinst in FILE: cannot read 'ROOT/missing.sh' (No such file or "
     "directory); fix the file name"),
    ("version", "", PROJECT.replace('"1.2.0"', '"one"'), None,
     "invalid version 'one' in FILE: use a PEP 440 version"),
    ("revision", 'revision = "1_2"\n', PROJECT, None,
     "invalid Debian revision '1_2': use letters, digits and + . ~ only, such as '1' or "
     "'2~deb12' (deb-version(7))"),
    ("no description", "", PROJECT.replace('description = "does one thing"\n', ""), None,
     "no one-line description for 'My_App': add description = \"...\" to [project] in FILE "
     "or set summary in [tool.pydebvenv]"),
    ("no version", "", PROJECT.replace('version = "1.2.0"\n', ""), None,
     'no version in [project] of FILE: add version = "1.0" or list "version" in dynamic'),
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


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_documented_table_matches_keys(doc: Path) -> None:
    table = configuration_table()
    text = doc.read_text(encoding="utf-8")
    assert table in text, (
        f"{doc} is out of date: replace its key table with the output of\n"
        "python -c 'from pydebvenv.project import configuration_table as t; print(t())'"
    )
    documented = re.findall(r"^\| `([a-z-]+)` \|", text, flags=re.MULTILINE)
    assert documented == [key.toml for key in KEYS]
