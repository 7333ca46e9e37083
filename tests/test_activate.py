"""activate.py: virtualenv's activate templates rendered for the venv's final path."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pydebvenv.errors import ConfigError
from pydebvenv.venv.activate import activate_entries, render_activate
from tests.support.gate import need

SITE = "lib/python3.11/site-packages"
NAMES = {"activate", "activate.fish", "activate.csh", "deactivate.csh", "activate.nu",
         "activate.ps1", "activate_this.py"}


def test_every_shell_and_no_placeholder_left() -> None:
    rendered = render_activate("/usr/share/python/app", SITE)
    assert set(rendered) == NAMES
    for name, data in rendered.items():
        text = data.decode("utf-8-sig")
        assert not re.search(r"__[A-Z][A-Z_]+__", text), name
    assert b"VIRTUAL_ENV=/usr/share/python/app\n" in rendered["activate"]
    assert b"set -gx VIRTUAL_ENV '/usr/share/python/app'" in rendered["activate.fish"]
    assert b"r#'/usr/share/python/app'#" in rendered["activate.nu"]
    assert rendered["activate.ps1"].startswith(b"\xef\xbb\xbf")  # virtualenv: BOM for PowerShell
    # target values, not the host's: POSIX path separator and bin dir
    assert b"__PATH_SEP__" not in rendered["activate.ps1"]
    assert b"+= ':' +" in rendered["activate.ps1"]
    assert b"'../lib/python3.11/site-packages'" in rendered["activate_this.py"]


def test_entries() -> None:
    entries = activate_entries("/usr/share/python/app", SITE, prompt="App")
    assert {e.path for e in entries} == {f"usr/share/python/app/bin/{n}" for n in NAMES}
    assert all(e.mode == 0o644 and e.kind == "file" for e in entries)


def test_line_break_refused() -> None:
    with pytest.raises(ConfigError):
        render_activate("/a\nb", SITE)


def _bash(script: Path, command: str) -> list[str]:
    out = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", f". {str(script)!r}\n{command}"],
        capture_output=True, text=True, check=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(script.parent)},
    )
    return out.stdout.splitlines()


@pytest.mark.parametrize("dirname", ["venv", "my venv", "it's $HOME `x`"])
def test_bash_source_sets_virtual_env_and_path(tmp_path: Path, dirname: str) -> None:
    baked = tmp_path / dirname  # the baked path exists; the script is written elsewhere
    baked.mkdir()
    script = tmp_path / "elsewhere" / "activate"
    script.parent.mkdir()
    script.write_bytes(render_activate(str(baked), SITE, prompt="demo")["activate"])
    lines = _bash(script, 'echo "$VIRTUAL_ENV"; echo "$PATH"; echo "$VIRTUAL_ENV_PROMPT";'
                          'deactivate; echo "${VIRTUAL_ENV-unset}"; echo "$PATH"')
    assert lines == [str(baked), f"{baked}/bin:/usr/bin:/bin", "demo", "unset", "/usr/bin:/bin"]


def test_activate_this_py(tmp_path: Path) -> None:
    venv = tmp_path / "v"
    (venv / "bin").mkdir(parents=True)
    (venv / SITE).mkdir(parents=True)
    (venv / SITE / "marker_mod.py").write_text("X = 1\n")
    script = venv / "bin" / "activate_this.py"
    script.write_bytes(render_activate(str(venv), SITE)["activate_this.py"])
    code = (f"import runpy, os, sys; runpy.run_path({str(script)!r}); import marker_mod;"
            "print(sys.prefix); print(os.environ['VIRTUAL_ENV'])")
    out = subprocess.run(["python3", "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == [str(venv), str(venv)]


def test_fish(tmp_path: Path) -> None:
    if shutil.which("fish") is None:
        need("fish is not installed: apt-get install fish (.ci/run does)")
    baked = tmp_path / "v v"
    baked.mkdir()
    script = tmp_path / "activate.fish"
    script.write_bytes(render_activate(str(baked), SITE)["activate.fish"])
    out = subprocess.run(["fish", "--no-config", "-c", f"source {str(script)!r}; echo $VIRTUAL_ENV"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(baked)


def test_csh(tmp_path: Path) -> None:
    if shutil.which("csh") is None:
        need("csh is not installed: apt-get install csh (.ci/run does)")
    baked = tmp_path / "v"
    baked.mkdir()
    script = tmp_path / "activate.csh"
    script.write_bytes(render_activate(str(baked), SITE)["activate.csh"])
    out = subprocess.run(["csh", "-f", "-c", f"source {script}; echo $VIRTUAL_ENV"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(baked)
