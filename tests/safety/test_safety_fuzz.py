"""Property tests over configuration values and wheel contents (as tests/debfile does for
inspect): whatever the input, a ConfigError or WheelError of one line, or a value that keeps
every safety rule; never another exception.

PYDEBVENV_FUZZ_EXAMPLES sets how many inputs each test tries (default 300).
"""

from __future__ import annotations

import csv
import io
import os
import posixpath
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pydebvenv.debfile.relations import relation_problem
from pydebvenv.errors import ConfigError, PydebvenvError, WheelError
from pydebvenv.project.config import Options, options_from_data
from pydebvenv.project.keys import KEYS
from pydebvenv.project.paths import (
    VENV_TREES,
    destination_problem,
    inside_project,
    prefix_problem,
    venv_home,
)
from pydebvenv.target import get_target
from pydebvenv.venv.install import install_wheel
from tests.support.wheelmaker import record_hash

EXAMPLES = int(os.environ.get("PYDEBVENV_FUZZ_EXAMPLES", "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
SECRET = "hunter2-secret"
T = get_target("debian-12", "amd64")
VENV = "/usr/share/python/app"

# Strings a hostile project would try, and the pieces they are made of.
NASTY = [
    "", " ", "/", "//", "///etc", "/etc/passwd", "/etc/shadow", "../secret", "../../etc",
    "link-out", "dir-with-link", "inside.txt", "sub", "/usr/share", "/usr/lib", "/usr/local/x",
    "/opt", "/opt/", "/usr/share/python", "/var/lib/dpkg/status", "/etc/app/app.conf",
    f"https://u:{SECRET}@h/simple", "file:///etc", "file://../x", "C:\\x", "a\rb", "a\nb",
    "foo (>> ", "bar,,", "a | b", "foo (>= 1.0)", "x:any", "Foo", "0o644", "0755", "\x00",
    "common-licenses", "é", "~", ".", "..", "a/../../b", "/etc/./passwd",
]
TEXT = st.one_of(st.sampled_from(NASTY),
                 st.text(alphabet="/.:@()|,<>=~+- \t\r\nab01é\\", max_size=24),
                 st.builds(lambda a, b: a + b, st.sampled_from(NASTY), st.sampled_from(NASTY)))
SCALAR = st.one_of(TEXT, st.integers(-2, 0o10000), st.booleans(), st.none())
VALUE = st.recursive(SCALAR, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.sampled_from(["source", "destination", "mode", "conffile", "file",
                                     "X-Team", "Enhances", "Built-Using", "other"]) | TEXT,
                    inner, max_size=4)), max_leaves=8)
TOML_KEYS = st.sampled_from([key.toml for key in KEYS] + ["nmae", "pre_depends", "unknown"])

# Values a real project would write, so that many tables pass and the rules about accepted
# values are exercised too, not only the refusals.
_RELATION = st.sampled_from(["aa", "aa (>= 1.0)", "aa | bb", "cc:any", "aa (= 1)", "dd, ee",
                             "foo (>> ", "bar,,", "Foo", "aa (< 1)", "aa [amd64]"])
_FILE_TABLE = st.fixed_dictionaries(
    {"source": st.sampled_from(["inside.txt", "sub", "link-out", "dir-with-link", "../secret",
                                "/etc/hostname", "missing"]),
     "destination": st.sampled_from(["/etc/app/a.conf", "/usr/share/app/x", "/opt/app/x",
                                     "/etc/passwd", "/var/lib/dpkg/status", "/usr/local/x",
                                     "/etc/app/", "//etc/x", "/home/u/x", "/usr/bin/tool"])},
    optional={"mode": st.sampled_from([0o644, 0o755, "0755", 0o17777, "rwx"]),
              "conffile": st.booleans()})
PLAUSIBLE = {
    "name": st.sampled_from(["app", "my-app", "app2", "common-licenses", "A", "x" * 300]),
    "prefix": st.sampled_from(["/usr/share/python", "/opt/venvs", "/opt", "/usr/share/python/",
                               "/usr/share", "//", "/usr/local/venvs", "/srv/v"]),
    "summary": st.sampled_from(["does one thing", "a\rb", "two\nlines"]),
    "description": st.sampled_from(["Long\n\ntext.", "cr\rhere"]),
    "files": st.lists(_FILE_TABLE, max_size=3),
    "postinst": st.sampled_from([{"file": "inside.txt"}, "echo hi", {"file": "link-out"},
                                 {"file": "../secret"}]),
    "fields": st.dictionaries(st.sampled_from(["X-Team", "Enhances", "Built-Using", "Depends"]),
                              st.sampled_from(["infra", "aa", "gcc (= 1)", "aa,,"]), max_size=2),
    "find-links": st.lists(st.sampled_from(["sub", "../", "/srv/w", "https://e.org/l",
                                            "file:///srv/w"]), max_size=2),
    "wheel-cache": st.sampled_from(["sub", "../cache", "/var/cache/w"]),
    "revision": st.sampled_from(["1", "2~deb12", "1-1"]),
    "maintainer": st.sampled_from(["A B <a@example.org>", "nobody"]),
    "target": st.sampled_from(["debian-12", "debian-99"]),
    "arch": st.sampled_from(["amd64", "arm64"]),
    "compression": st.sampled_from(["xz", "zstd", "lzip"]),
    "section": st.sampled_from(["utils", "net"]),
    "priority": st.sampled_from(["optional"]),
    "scripts": st.lists(st.sampled_from(["app", "tool"]), max_size=2),
    "extras": st.lists(st.sampled_from(["pg", "fast"]), max_size=2),
    "requirements": st.lists(st.sampled_from(["inside.txt", "sub/a.conf", "link-out"]),
                             max_size=2),
    "index-url": st.sampled_from(["https://e.org/simple", f"https://u:{SECRET}@e.org/s",
                                  "file:///srv/idx"]),
    "extra-index-urls": st.lists(st.sampled_from(["https://e.org/x", "file:sub"]), max_size=2),
    "preinst": st.sampled_from(["echo pre", {"file": "inside.txt"}]),
    "prerm": st.sampled_from(["echo rm"]),
    "postrm": st.sampled_from(["echo gone", {"file": "/etc/passwd"}]),
    "compile": st.booleans(),
    "offline": st.booleans(),
    "include-pip": st.booleans(),
    **{key: st.lists(_RELATION, max_size=3) for key in (
        "depends", "pre-depends", "recommends", "suggests", "conflicts", "breaks", "replaces",
        "provides")},
}


@st.composite
def _table(draw: st.DrawFn) -> dict[str, object]:
    table: dict[str, object] = {}
    for key in draw(st.lists(TOML_KEYS, max_size=4, unique=True)):
        plausible = PLAUSIBLE.get(key)
        use = plausible is not None and draw(st.integers(0, 7)) > 0
        table[key] = draw(plausible if use and plausible is not None else VALUE)
    return table


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project directory with a file, a directory, and symlinks out of it."""
    root = tmp_path_factory.mktemp("fuzz")
    (root / "secret").write_text(f"{SECRET}\n")
    proj = root / "proj"
    (proj / "sub").mkdir(parents=True)
    (proj / "inside.txt").write_text("echo inside\n")
    (proj / "sub" / "a.conf").write_text("a\n")
    (proj / "link-out").symlink_to(root / "secret")
    (proj / "dir-with-link").mkdir()
    (proj / "dir-with-link" / "out").symlink_to(root / "secret")
    return proj


def _check_accepted(options: Options, root: Path) -> None:
    """Every rule a value that passed must keep."""
    assert prefix_problem(options.prefix) is None and not options.prefix.startswith("//")
    for spec in options.files:
        assert destination_problem(spec.destination) is None, spec.destination
        inside_project(root, spec.source, "files")  # raises if it left the project
    for attr in ("depends", "pre_depends", "recommends", "suggests", "conflicts", "breaks",
                 "replaces", "provides"):
        field = "-".join(word.capitalize() for word in attr.split("_"))
        for value in getattr(options, attr):
            assert relation_problem(field, value) is None, (field, value)
    for name in ("summary", "description", "name", "maintainer"):
        value = getattr(options, name)
        assert value is None or "\r" not in value
    for snippet in options.snippets.values():
        assert SECRET not in snippet  # never read from outside the project


@FUZZ
@given(table=_table())
def test_any_configuration_is_refused_in_one_line_or_safe(project: Path,
                                                         table: dict[str, object]) -> None:
    try:
        options, _ = options_from_data(project, {"tool": {"pydebvenv": table}})
    except ConfigError as exc:
        message = str(exc)
        assert "\n" not in message and SECRET not in message, message
        event("refused")  # --hypothesis-show-statistics counts them
        return
    event("accepted")
    _check_accepted(options, project)


@FUZZ
@given(prefix=TEXT, name=st.sampled_from(["app", "common-licenses", "lib", "python3", "etc",
                                          "a" * 40, "x.y+z"]))
def test_a_venv_accepted_is_a_directory_of_its_own(prefix: str, name: str) -> None:
    try:
        venv = venv_home(prefix, name, "tool.pydebvenv.prefix")
    except ConfigError as exc:
        assert "\n" not in str(exc)
        return
    assert posixpath.normpath(venv) == venv and venv.startswith("/") and "//" not in venv
    parent = posixpath.dirname(venv)
    assert posixpath.basename(venv) == name
    assert any(parent == tree or parent.startswith(tree + "/")
               for tree in (*VENV_TREES, f"/usr/lib/{name}")), venv


# Wheels: members (names and contents), RECORD rows, METADATA and WHEEL, each possibly wrong.
MEMBER_NAMES = st.one_of(
    st.sampled_from(["app/__init__.py", "app/mod.py", "app/__pycache__/m.cpython-311.pyc",
                     "../escape.py", "/abs.py", "app\\win.py", "C:x.py", "app/../../up.py",
                     "app-1.0.data/scripts/tool", "app-1.0.data/data/share/x",
                     "app-1.0.data/headers/h.h", "app-1.0.data/bogus/x",
                     "app-1.0.data/purelib/../../../x", "app-1.0.dist-info/entry_points.txt",
                     "other-1.0.dist-info/METADATA", "app/lib.so", "app/\u00e9.py", "app/",
                     "app/a\nb.py"]),
    st.text(alphabet="ab/._-\\", min_size=1, max_size=16),
)
GOOD_NAMES = st.sampled_from(["app/__init__.py", "app/mod.py", "app/sub/x.py", "app/data.json",
                             "app-1.0.data/scripts/tool", "app-1.0.data/data/share/app/x",
                             "app/lib.so"])
CONTENT = st.one_of(st.sampled_from([b"", b"#!python\nprint(1)\n", b"\x7fELF\x02\x01\x01",
                                     b"[console_scripts]\nx = app:main\n",
                                     b"[console_scripts]\nbad entry\n", b"x" * 2000]),
                    st.binary(max_size=64))


@st.composite
def _wheel(draw: st.DrawFn) -> dict[str, bytes]:
    members = dict(draw(st.lists(st.tuples(st.one_of(GOOD_NAMES, GOOD_NAMES, GOOD_NAMES,
                                                     MEMBER_NAMES),
                                           CONTENT), max_size=6)))
    name = draw(st.sampled_from(["app"] * 8 + ["App", "other", ""]))
    version = draw(st.sampled_from(["1.0"] * 8 + ["1.0.0", "2.0", "x", ""]))
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    meta += draw(st.sampled_from(["", "", "", "", f"Requires-Dist: dep @ https://u:{SECRET}@h/x.whl\n",
                                  "Requires-Dist: ???\n", "Summary: a\rb\n"]))
    members["app-1.0.dist-info/METADATA"] = meta.encode()
    members["app-1.0.dist-info/WHEEL"] = draw(st.sampled_from([
        b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"] * 6 + [
        b"Wheel-Version: 9.0\nRoot-Is-Purelib: true\n", b"", b"Root-Is-Purelib: maybe\n"]))
    rows = io.StringIO()
    writer = csv.writer(rows, lineterminator="\n")
    for path, data in members.items():
        choice = draw(st.integers(0, 40))  # most rows right: most wheels reach the install
        if choice == 0:
            continue  # not listed
        row = [path, record_hash(data), str(len(data))]
        if choice == 1:
            row[1] = "md5=abc"
        elif choice == 2:
            row[1] = record_hash(data + b"!")  # content does not match
        elif choice == 3:
            row[2] = str(len(data) + 1)
        elif choice == 4:
            row.append("extra")  # wrong width
        elif choice == 5:
            row = row[:1]
        writer.writerow(row)
    writer.writerow(["app-1.0.dist-info/RECORD", "", ""])
    members["app-1.0.dist-info/RECORD"] = rows.getvalue().encode()
    return members


@FUZZ
@given(members=_wheel())
def test_any_wheel_is_refused_in_one_line_or_installed_inside_the_venv(
    tmp_path: Path, members: dict[str, bytes],
) -> None:
    wheel = tmp_path / "app-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, data in members.items():
            zf.writestr(path, data)
    try:
        installed = install_wheel(wheel, VENV, T)
        for entry in installed.entries:
            assert entry.path.startswith(VENV.lstrip("/") + "/"), entry.path
            assert ".." not in entry.path.split("/") and "\\" not in entry.path
            if entry.kind == "file":
                with entry.open() as stream:  # the RECORD hash is checked on this read
                    assert len(stream.read()) == entry.size
    except PydebvenvError as exc:
        assert isinstance(exc, WheelError), repr(exc)
        assert "\n" not in str(exc) and "object at 0x" not in str(exc), str(exc)
        event("refused")
        return
    event("installed")
