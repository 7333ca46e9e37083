"""`pydebvenv init`: interactive through a real pseudo-terminal, non-interactive, byte-exact edits."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

from pydebvenv.errors import ConfigError
from pydebvenv.scaffold import init, plan_init, write_pyproject
from pydebvenv.target import get_target

REPO = Path(__file__).resolve().parents[1]

ORIGINAL = """\
# Project file with comments   (odd   spacing kept)
[build-system]
requires = ["flit_core>=3.9"]   # trailing comment
build-backend = "flit_core.buildapi"

[project]
name = "Demo_App"
version = "0.3.0"
description = "a demo application"
authors = [ { name = "Jane Doe", email = "jane@example.org" } ]  # the author

# tools
[tool.ruff]
line-length = 100
"""


def _project(tmp_path: Path, text: str = ORIGINAL) -> Path:
    (tmp_path / "pyproject.toml").write_bytes(text.encode())
    return tmp_path


def test_yes_appends_table_and_keeps_every_byte(tmp_path: Path) -> None:
    root = _project(tmp_path)
    shown: list[str] = []
    assert init(root, show=shown.append) == root / "pyproject.toml"
    new = (root / "pyproject.toml").read_bytes().decode()
    assert new.startswith(ORIGINAL)
    assert new[len(ORIGINAL):] == (
        '\n[tool.pydebvenv]\n# every key: docs/configuration.md (pydebvenv)\n'
        'name = "demo-app"\nrevision = "1"\n'
    )
    assert tomllib.loads(new)["tool"]["ruff"] == {"line-length": 100}
    control = shown[1]
    # the version as written, for the default target (this host's release)
    tag = get_target().release.tag
    assert f"Package: demo-app\nVersion: 0.3.0-1+{tag}\n" in control
    assert "Maintainer: Jane Doe <jane@example.org>\n" in control
    # lintian description-synopsis-starts-with-article: the leading "a" goes
    assert control.endswith("Description: demo application\n")


def test_refuses_existing_table_without_force(tmp_path: Path) -> None:
    text = ORIGINAL + '\n[tool.pydebvenv]\nname = "keep"\n'
    root = _project(tmp_path, text)
    with pytest.raises(ConfigError, match=r"already has a \[tool.pydebvenv\] table: edit it, "
                                          r"or pass --force to replace it"):
        init(root)
    assert (root / "pyproject.toml").read_bytes() == text.encode()


def test_force_replaces_in_place(tmp_path: Path) -> None:
    before = ORIGINAL.split("# tools\n")[0]
    after = "# tools\n[tool.ruff]\nline-length = 100\n"
    old = '[tool.pydebvenv]\nname = "old"\ndepends = ["x"]\n[tool.pydebvenv.fields]\nX-A = "b"\n\n'
    root = _project(tmp_path, before + old + after)
    init(root, force=True, name="newname")
    new = (root / "pyproject.toml").read_bytes().decode()
    table = ('[tool.pydebvenv]\n# every key: docs/configuration.md (pydebvenv)\n'
             'name = "newname"\nrevision = "1"\n')
    assert new == before + table + "\n" + after


def test_force_replaces_dotted_keys(tmp_path: Path) -> None:
    text = ORIGINAL.replace("[tool.ruff]", '[tool]\npydebvenv.name = "old"\n\n[tool.ruff]')
    root = _project(tmp_path, text)
    init(root, force=True)
    data = tomllib.loads((root / "pyproject.toml").read_text())
    assert data["tool"]["pydebvenv"] == {"name": "demo-app", "revision": "1"}


def test_crlf_file_keeps_its_line_ends(tmp_path: Path) -> None:
    crlf = ORIGINAL.replace("\n", "\r\n")
    root = _project(tmp_path, crlf)
    init(root)
    assert (root / "pyproject.toml").read_bytes().startswith(crlf.encode())


@pytest.mark.parametrize(
    ("change", "flags", "message"),
    [
        (("authors = [ { name = \"Jane Doe\", email = \"jane@example.org\" } ]  # the author\n",
          ""), {}, r"no maintainer in .*; without a terminal pass --maintainer 'Name <email>'"),
        (('"Demo_App"', '"x"'), {}, r"cannot make a Debian package name from 'x'.*: pass --name"),
        (('description = "a demo application"\n', ""), {},
         r"\[project\] has no one-line description: pass --summary TEXT"),
        (("", ""), {"maintainer": "jane"}, r"--maintainer 'jane' must be 'Name <email>'"),
        (("", ""), {"name": "Bad"}, r"--name 'Bad' is not a valid Debian package name"),
    ],
)
def test_non_interactive_errors_name_the_flag(
    tmp_path: Path, change: tuple[str, str], flags: dict[str, str], message: str
) -> None:
    root = _project(tmp_path, ORIGINAL.replace(*change) if change[0] else ORIGINAL)
    with pytest.raises(ConfigError, match=message):
        init(root, **flags)  # type: ignore[arg-type]


def test_flags_fill_what_is_missing(tmp_path: Path) -> None:
    text = ORIGINAL.replace('"Demo_App"', '"x"').replace(
        'authors = [ { name = "Jane Doe", email = "jane@example.org" } ]', "authors = []")
    table = plan_init(_project(tmp_path, text), name="xx", maintainer="Bob B <b@example.org>",
                      summary="short")
    assert table == {"name": "xx", "revision": "1", "maintainer": "Bob B <b@example.org>",
                     "summary": "short"}


def test_write_pyproject_on_empty_and_unterminated_text() -> None:
    assert write_pyproject("", {"name": "ab"}).startswith("[tool.pydebvenv]\n")
    assert write_pyproject("a = 1", {"name": "ab"}).startswith("a = 1\n\n[tool.pydebvenv]\n")


# --- a real terminal ----------------------------------------------------------------------------


class Terminal:
    """``python -m pydebvenv ...`` on the slave side of a pseudo-terminal."""

    def __init__(self, args: list[str]) -> None:
        self.master, slave = os.openpty()
        env = {**os.environ, "TERM": "dumb", "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen([sys.executable, "-m", "pydebvenv", *args], cwd=REPO,
                                     stdin=slave, stdout=slave, stderr=slave, env=env)
        os.close(slave)
        self.output = b""

    def expect(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text.encode() not in self.output:
            if not self._read(deadline - time.monotonic()):
                raise AssertionError(f"{text!r} never came; got {self.output.decode()!r}")
        self.output = self.output.split(text.encode(), 1)[1]

    def send(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\n")

    def finish(self, timeout: float = 30) -> tuple[int, str]:
        deadline = time.monotonic() + timeout
        while self._read(deadline - time.monotonic()):
            pass
        os.close(self.master)
        return self.proc.wait(timeout=timeout), self.output.decode()

    def _read(self, timeout: float) -> bool:
        if timeout <= 0 or not select.select([self.master], [], [], timeout)[0]:
            return False
        try:
            chunk = os.read(self.master, 4096)
        except OSError:  # EIO: the child closed the terminal
            return False
        self.output += chunk
        return bool(chunk)


def test_interactive_session_asks_only_for_what_is_missing(tmp_path: Path) -> None:
    text = ORIGINAL.replace('"Demo_App"', '"x"').replace(
        'authors = [ { name = "Jane Doe", email = "jane@example.org" } ]', "authors = []")
    root = _project(tmp_path, text)
    term = Terminal(["init", str(root)])
    term.expect("Debian package name (a-z 0-9 + - .): ")
    term.send("Not Valid")  # refused: asked again
    term.expect("Debian package name (a-z 0-9 + - .): ")
    term.send("demo-tool")
    term.expect("Maintainer name: ")
    term.send("Ann Example")
    term.expect("Maintainer email: ")
    term.send("ann@example.org")
    term.expect("Does the application run as a service (a systemd unit)? [y/N] ")
    term.send("")
    term.expect("Package: demo-tool")
    term.expect("Maintainer: Ann Example <ann@example.org>")
    term.expect("? [Y/n] ")
    term.send("y")
    code, rest = term.finish()
    assert code == 0, rest
    assert "wrote [tool.pydebvenv]" in rest
    new = (root / "pyproject.toml").read_text()
    assert new.startswith(text)
    assert tomllib.loads(new)["tool"]["pydebvenv"] == {
        "name": "demo-tool", "revision": "1", "maintainer": "Ann Example <ann@example.org>"}


def test_interactive_decline_writes_nothing(tmp_path: Path) -> None:
    root = _project(tmp_path)
    term = Terminal(["init", str(root)])
    term.expect("[y/N] ")
    term.send("n")
    term.expect("? [Y/n] ")
    term.send("n")
    code, rest = term.finish()
    assert (code, "nothing written" in rest) == (0, True)
    assert (root / "pyproject.toml").read_bytes() == ORIGINAL.encode()


def test_without_terminal_no_question_is_asked(tmp_path: Path) -> None:
    text = ORIGINAL.replace(
        'authors = [ { name = "Jane Doe", email = "jane@example.org" } ]', "authors = []")
    root = _project(tmp_path, text)
    proc = subprocess.run([sys.executable, "-m", "pydebvenv", "init", str(root)], cwd=REPO,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith("pydebvenv: error: no maintainer in ")
    assert "pass --maintainer 'Name <email>'" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "pydebvenv", "init", "--yes", "--maintainer",
                           "Jane Doe <jane@example.org>", str(root)], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    data = tomllib.loads((root / "pyproject.toml").read_text())
    assert data["tool"]["pydebvenv"]["maintainer"] == "Jane Doe <jane@example.org>"


def test_inline_tool_table_cannot_be_extended() -> None:
    with pytest.raises(ConfigError, match=r"cannot add \[tool.pydebvenv\] to this pyproject.toml "
                                          r"\(.*\); add it by hand \(see docs/configuration.md\)"):
        write_pyproject('tool = { ruff = { line-length = 1 } }\n', {"name": "ab"})


SCRIPTS = ORIGINAL.replace("# tools\n", '[project.scripts]\ndemo-serve = "demo:serve"\n'
                           'demo-admin = "demo:admin"\n\n# tools\n')


def test_interactive_service(tmp_path: Path) -> None:
    root = _project(tmp_path, SCRIPTS)
    term = Terminal(["init", str(root)])
    term.expect("Does the application run as a service (a systemd unit)? [y/N] ")
    term.send("y")
    term.expect("Command that starts it (a console script and its arguments) [demo-admin]: ")
    term.send("serve --port 80")  # not a console script: asked again
    term.expect("[demo-admin]: ")
    term.send("demo-serve --port 8080")
    term.expect("[[tool.pydebvenv.services]]")
    term.expect("Depends: python3.")
    term.expect("adduser")  # the service's user is created with adduser
    term.expect("? [Y/n] ")
    term.send("y")
    code, rest = term.finish()
    assert code == 0, rest
    text = (root / "pyproject.toml").read_text()
    assert text.startswith(SCRIPTS)
    assert "\n[[tool.pydebvenv.services]]\n# systemd service: docs/services.md (pydebvenv)\n" in text
    assert tomllib.loads(text)["tool"]["pydebvenv"]["services"] == [
        {"exec": "demo-serve --port 8080"}]


def test_service_flag(tmp_path: Path) -> None:
    root = _project(tmp_path, SCRIPTS.replace('"Demo_App"', '"3d.app"'))
    assert init(root, service="demo-admin --daemon") is not None
    table = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["pydebvenv"]
    # "3d-app" is a package name but no user name: the service gets a user of its own
    assert table["services"] == [{"exec": "demo-admin --daemon", "user": "_3d-app"}]
    with pytest.raises(ConfigError, match=r"^--service 'demo --x': 'demo' is neither a console "
                       r"script of \[project.scripts\] \(demo-admin, demo-serve\) nor an "
                       r"absolute path$"):
        plan_init(root, force=True, service="demo --x")
    # --force replaces the whole block, services included
    init(root, force=True, service="/usr/bin/env true")
    table = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["pydebvenv"]
    assert table["services"] == [{"exec": "/usr/bin/env true", "user": "_3d-app"}]
    assert plan_init(root, force=True).get("services") is None  # no terminal, no flag: none
