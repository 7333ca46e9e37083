"""The README's two commands, as a new user runs them: the first on a fresh copy of the
repository with an empty wheel cache, the second is what .ci/run runs."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.support.isolation import isolated_pip_env

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parent.parent.parent


def _commands() -> list[str]:
    """The shell blocks of the README's "Two commands" section, in order."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Two commands", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", section, re.S)]


def test_the_readme_opens_with_the_two_commands() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert re.findall(r"(?m)^## .*", text)[0].startswith("## Two commands")
    setup, tests = _commands()
    assert "pydebvenv build examples/" in setup
    assert tests == "./run-tests"
    # "ruff, mypy --strict, unit, dpkg and end-to-end tests": what ./run-tests runs
    steps = [" ".join(line.split("#")[0].split()[:4])
             for line in (REPO / "run-tests").read_text().splitlines()
             if line.startswith((".venv/bin/", "exec "))]
    assert steps == [".venv/bin/ruff check .", ".venv/bin/mypy",
                     "exec .venv/bin/python -m pytest"], steps
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    assert config["mypy"]["strict"] is True
    assert config["pytest"]["ini_options"]["testpaths"] == ["tests"]  # e2e/ included
    # .ci/run installs the system packages, then runs exactly the README's test command
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci[-1].split("<")[0].strip() in (f"exec {tests}", tests)


def test_the_first_command_builds_the_example_on_a_fresh_copy(
    e2e_ready: None, tmp_path: Path
) -> None:
    """A fresh checkout, a fresh HOME (empty wheel cache, no pip cache) and pip with no
    configuration of this machine: the command creates .venv, installs pydebvenv, fetches
    the example's wheels from the package index and writes the .deb into dist/."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True,
                           check=True).stdout.decode().split("\0")
    checkout = tmp_path / "checkout"
    for name in filter(None, files):
        if (REPO / name).is_file():
            (checkout / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, checkout / name)
    home = tmp_path / "home"
    home.mkdir()
    env = isolated_pip_env()
    env.update(HOME=str(home), PIP_NO_CACHE_DIR="1")
    for var in ("XDG_CACHE_HOME", "PYDEBVENV_WHEEL_CACHE", "VIRTUAL_ENV", "PYTHONPATH"):
        env.pop(var, None)
    setup = _commands()[0]
    proc = subprocess.run(["sh", "-c", setup], cwd=checkout, env=env, capture_output=True,
                          text=True, stdin=subprocess.DEVNULL, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (deb,) = (checkout / "dist").glob("*.deb")
    assert deb.name.startswith("hello-cli_") and deb.name.endswith("_all.deb")
    assert proc.stdout.strip().splitlines()[-1].startswith(f"built {deb} (")
    info = subprocess.run(["dpkg-deb", "--info", str(deb)], capture_output=True, text=True,
                          check=True).stdout
    assert "Package: hello-cli" in info
    # the wheels came into the new user's cache, not from this machine's
    assert list((home / ".cache" / "pydebvenv" / "wheels").glob("click-*.whl"))
