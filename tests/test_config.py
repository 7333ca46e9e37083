"""[tool.pydebvenv] + overrides -> Options: every key, every config error, the docs table."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from pydebvenv.errors import ConfigError
from pydebvenv.project.config import (
    FileSpec,
    Options,
    load_config,
    options_from_data,
    read_pyproject,
)
from pydebvenv.project.keys import KEYS, configuration_table
from pydebvenv.project.services import UnitSpec

REPO = Path(__file__).resolve().parents[1]
# Documents that must hold the generated key table verbatim.
DOCS = [REPO / "docs" / "configuration.md", REPO / "README.md"]


def make(tmp_path: Path, tool: str = "") -> Path:
    # No [project]: the options are read from [tool.pydebvenv] alone.
    (tmp_path / "pyproject.toml").write_text("[tool.pydebvenv]\n" + tool)
    return tmp_path


# One row per [tool.pydebvenv] key: TOML text -> the Options value it must give.
CASES: list[tuple[str, str, object]] = [
    ("name", 'name = "myapp2"', "myapp2"),
    ("revision", 'revision = "3~deb12"', "3~deb12"),
    ("release-suffix", 'release-suffix = ""', ""),
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
    ("find-links", 'find-links = ["https://e.org/links"]', ("https://e.org/links",)),
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
    ("services", 'services = [{ exec = "app --port 80", state-directory = true }]',
     (UnitSpec("service", "tool.pydebvenv.services[0]", "ROOTFILE", exec="app --port 80",
               directories={"StateDirectory": True}),)),
    ("timers", 'timers = [{ name = "prune", exec = "app-prune", on-calendar = "daily" }]',
     (UnitSpec("timer", "tool.pydebvenv.timers[0]", "ROOTFILE", name="prune", exec="app-prune",
               on_calendar=("daily",)),)),
    ("compile", "compile = true", True),
    ("offline", "offline = true", True),
    ("include-pip", "include-pip = true", True),
]


def _rooted(value: object, root: Path) -> object:
    if isinstance(value, str) and value.startswith("ROOT/"):
        return root / value[5:]
    if isinstance(value, tuple):
        return tuple(_rooted(v, root) for v in value)
    if isinstance(value, UnitSpec) and value.file == "ROOTFILE":
        return replace(value, file=str(root / "pyproject.toml"))
    if isinstance(value, FileSpec):
        return FileSpec(root / str(value.source)[5:], value.destination, value.mode,
                        value.conffile)
    return value


def test_every_key_has_a_case() -> None:
    assert sorted(c[0] for c in CASES) == sorted(k.toml for k in KEYS)


@pytest.mark.parametrize(("key", "toml", "expected"), CASES, ids=[c[0] for c in CASES])
def test_key_reaches_options(tmp_path: Path, key: str, toml: str, expected: object) -> None:
    (tmp_path / "post.sh").write_text("echo post\n")
    root = make(tmp_path, toml + "\n")
    options, origins = options_from_data(root, read_pyproject(root))
    attr = key.replace("-", "_")
    assert getattr(options, attr) == _rooted(expected, tmp_path)
    assert origins == {attr: "config"}
    assert load_config(root).options == options


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
    root = make(tmp_path)
    options, origins = options_from_data(root, read_pyproject(root), {attr: override})
    assert getattr(options, attr) == (value if key != "postinst" else "echo override")
    assert origins == {attr: "override"}


def load_options(root: Path, overrides: dict[str, object] | None = None) -> Options:
    return load_config(root, overrides or {}, required=False).options


def test_load_config(tmp_path: Path) -> None:
    # without a pyproject.toml: an error, unless not required (fetch of a requirements.txt),
    # which gives the defaults with the overrides on top
    with pytest.raises(ConfigError, match=r"no pyproject\.toml"):
        load_config(tmp_path)
    assert load_options(tmp_path) == Options()
    assert load_options(tmp_path, {"target": "debian-12", "arch": None}) == Options(
        target="debian-12")
    root = make(tmp_path, 'target = "debian-12"\nwheel-cache = "w"\n')
    assert load_options(root, {"arch": "arm64"}) == Options(
        target="debian-12", arch="arm64", wheel_cache=tmp_path / "w")
    assert load_options(root, {"target": "ubuntu-24.04"}).target == "ubuntu-24.04"


# A pyproject.toml load_options cannot use: its text -> the error (a regular expression).
BAD_FILES = [
    ("invalid TOML", "[tool.pydebvenv\n", r"is not valid TOML: .*line 1"),
    ("tool not a table", 'tool = "x"\n', r"^\[tool\] in .* must be a table, not 'x'$"),
    ("pydebvenv not a table", "tool = { pydebvenv = 1 }\n",
     r"^\[tool.pydebvenv\] in .* must be a table, not 1$"),
]


@pytest.mark.parametrize(("text", "pattern"), [b[1:] for b in BAD_FILES],
                         ids=[b[0] for b in BAD_FILES])
def test_unusable_pyproject(tmp_path: Path, text: str, pattern: str) -> None:
    (tmp_path / "pyproject.toml").write_text(text)
    with pytest.raises(ConfigError, match=pattern):
        load_options(tmp_path)


def _error(tmp_path: Path, tool: str = "", overrides: dict[str, object] | None = None) -> str:
    root = make(tmp_path, tool)
    with pytest.raises(ConfigError) as info:
        load_options(root, overrides or {})
    return str(info.value).replace(repr(str(root / "pyproject.toml")), "FILE")


CONFIG_ERRORS: list[tuple[str, str, dict[str, object] | None, str]] = [
    ("unknown key", "pre_depends = []\n", None,
     "unknown key 'pre_depends' in [tool.pydebvenv] of FILE: did you mean 'pre-depends'?"),
    ("typo", "dependz = []\n", None,
     "unknown key 'dependz' in [tool.pydebvenv] of FILE: did you mean 'depends'?"),
    ("unknown override", "", {"pre-depends": ["x"]},
     "unknown option 'pre-depends': did you mean 'pre_depends'?"),
    ("wrong type", "revision = 2\n", None,
     "tool.pydebvenv.revision in FILE must be a non-empty string, not 2: write e.g. "
     'revision = "2"'),
    ("bool", 'offline = "yes"\n', None,
     "tool.pydebvenv.offline in FILE must be true or false, not 'yes': write e.g. "
     "offline = true"),
    ("list", 'depends = "curl"\n', None,
     "tool.pydebvenv.depends in FILE must be a list of strings, not 'curl': write e.g. "
     'depends = ["ca-certificates"]'),
    ("override type", "", {"compile": "yes"},
     "option 'compile' must be true or false, not 'yes': write e.g. compile=..."),
    ("bad name", 'name = "My App"\n', None,
     "tool.pydebvenv.name in FILE: 'My App' is not a valid Debian package name: use two or "
     "more of a-z 0-9 + - . starting with a letter or digit (Debian Policy 5.6.1)"),
    ("maintainer format", 'maintainer = "jane@example.org"\n', None,
     "tool.pydebvenv.maintainer in FILE must be 'Name <email>', not 'jane@example.org': "
     'write e.g. maintainer = "Jane Doe <jane@example.org>"'),
    ("conffile outside etc", 'files = [{ source = "a", destination = "/usr/a", conffile = '
     "true }]\n", None,
     "tool.pydebvenv.files in FILE: conffile '/usr/a' must be under /etc (Debian Policy "
     "10.7.2); set conffile = false or move it"),
    ("files key", 'files = [{ source = "a", dest = "/etc/a" }]\n', None,
     "tool.pydebvenv.files in FILE: unknown key 'dest' in {'source': 'a', 'dest': '/etc/a'}: "
     "did you mean 'destination'?"),
    ("own field", 'fields = { Package = "x" }\n', None,
     "tool.pydebvenv.fields in FILE: the 'Package' field is computed by pydebvenv: set it "
     "through its own key instead (name, maintainer, summary, ...)"),
    ("relation in fields", 'fields = { Pre-Depends = "x" }\n', None,
     "tool.pydebvenv.fields in FILE: set 'Pre-Depends' with the 'pre-depends' key of "
     "[tool.pydebvenv], not in fields"),
    ("compression", 'compression = "bz2"\n', None,
     "tool.pydebvenv.compression in FILE: unknown compression 'bz2': use one of zstd, xz, "
     "gzip, none"),
    ("prefix", 'prefix = "opt"\n', None,
     "tool.pydebvenv.prefix in FILE must be an absolute POSIX directory, not 'opt': it must "
     "be an absolute path starting with a single '/'; write e.g. prefix = \"/opt/venvs\""),
    ("script file", 'postinst = { file = "missing.sh" }\n', None,
     "tool.pydebvenv.postinst in FILE: cannot read 'ROOT/missing.sh' (No such file or "
     "directory); fix the file name"),
]


@pytest.mark.parametrize(("tool", "overrides", "message"),
                         [e[1:] for e in CONFIG_ERRORS], ids=[e[0] for e in CONFIG_ERRORS])
def test_errors(tmp_path: Path, tool: str, overrides: dict[str, object] | None,
                message: str) -> None:
    assert _error(tmp_path, tool, overrides) == message.replace("ROOT", str(tmp_path))


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_documented_table_matches_keys(doc: Path) -> None:
    table = configuration_table()
    text = doc.read_text(encoding="utf-8")
    assert table in text, (
        f"{doc} is out of date: replace its key table with the output of\n"
        "python -c 'from pydebvenv.project.keys import configuration_table as t; print(t())'"
    )
    documented = re.findall(r"^\| `([a-z-]+)` \|", text, flags=re.MULTILINE)
    assert documented == [key.toml for key in KEYS]
