"""The command line as a user runs it (subprocesses), and the reporter it prints through."""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import io
import os
import re
import signal
import subprocess
import sys
import sysconfig
import threading
from pathlib import Path

import pytest

from pydebvenv import __version__
from pydebvenv.cli import main, make_parser
from pydebvenv.project.keys import KEYS
from pydebvenv.report import Reporter
from tests.support.gate import need

REPO = Path(__file__).resolve().parents[1]

PROJECT = """\
[project]
name = "cli-demo"
version = "1.0"
description = "a demo"
authors = [{ name = "Jane Doe", email = "jane@example.org" }]
"""


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pydebvenv", *args], cwd=REPO, text=True,
                          capture_output=True, timeout=120, input=stdin,
                          env={**os.environ, "PYTHONPATH": str(REPO)})


def one_line_error(proc: subprocess.CompletedProcess[str], code: int, start: str) -> None:
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    assert proc.stderr.startswith(f"pydebvenv: error: {start}"), proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert "Traceback" not in proc.stderr


def test_help_lists_commands_examples_and_exit_codes() -> None:
    proc = run("--help")
    assert proc.returncode == 0
    for text in ("build", "fetch", "inspect", "init", "examples:", "exit codes:",
                 "2    usage or configuration error", "130  interrupted"):
        assert text in proc.stdout
    build = run("build", "--help").stdout
    for key in KEYS:
        if key.flag:
            assert key.flag.split("/")[-1] in build, key.flag
    assert "examples:" in build and "--from" in build


def test_version() -> None:
    proc = run("--version")
    assert (proc.returncode, proc.stdout) == (0, f"pydebvenv {__version__}\n")


def test_the_console_script_is_the_same_command(tmp_path: Path) -> None:
    """README: `pydebvenv` is the same as `python -m pydebvenv` (both call cli.main)."""
    (entry,) = [e for e in importlib.metadata.entry_points(group="console_scripts")
                if e.name == "pydebvenv"]
    assert entry.load() is main
    script = Path(sysconfig.get_path("scripts")) / "pydebvenv"
    if not script.is_file():
        need(f"no {script}: install pydebvenv into this interpreter (pip install -e .)")
    for args in (["--version"], ["--help"], ["build", "--help"], ["build", str(tmp_path)]):
        by_script = subprocess.run([str(script), *args], cwd=REPO, text=True,
                                   capture_output=True, timeout=120)
        by_module = run(*args)
        assert (by_script.returncode, by_script.stdout, by_script.stderr) == (
            by_module.returncode, by_module.stdout, by_module.stderr), args
    assert by_script.returncode == 2 and by_script.stderr.startswith("pydebvenv: error: ")


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in make_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def test_the_readme_synopsis_matches_the_parser() -> None:
    """Every command and option of the README's command-line synopsis is one the parser has."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Command line\n", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None
    commands = _subcommands()
    seen = set()
    command = ""
    for line in block.group(1).splitlines():
        if line.startswith("python -m pydebvenv "):
            command = line.split()[3]
            assert command in commands, line
            seen.add(command)
            line = line.removeprefix("python -m pydebvenv ")
        options = set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", line))
        known = {s for a in commands[command]._actions for s in a.option_strings}
        assert options <= known, (command, options - known)
    assert seen == set(commands)  # and every command is in the synopsis


def test_usage_errors_exit_2() -> None:
    assert run().returncode == 2
    assert run("bogus").returncode == 2
    proc = run("build", "--no-such-flag")
    assert proc.returncode == 2 and "unrecognized arguments: --no-such-flag" in proc.stderr


def test_config_error_is_one_line(tmp_path: Path) -> None:
    one_line_error(run("build", str(tmp_path)), 2, "no pyproject.toml in ")
    (tmp_path / "pyproject.toml").write_text(PROJECT + "[tool.pydebvenv]\ndepend = []\n")
    proc = run("build", str(tmp_path))
    one_line_error(proc, 2, "unknown key 'depend' in [tool.pydebvenv] of ")
    assert proc.stderr.endswith("did you mean 'depends'?\n")


def test_verbose_shows_the_traceback(tmp_path: Path) -> None:
    proc = run("-v", "build", str(tmp_path))
    assert proc.returncode == 2
    assert "Traceback (most recent call last)" in proc.stderr
    assert proc.stderr.rstrip().splitlines()[-1].startswith("pydebvenv: error: no pyproject")
    assert run("build", "-v", str(tmp_path)).stderr.startswith("Traceback")


def test_target_error_from_fetch_and_build(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PROJECT)
    one_line_error(run("fetch", "--target", "nosuch-1", str(tmp_path)), 2, "")
    one_line_error(run("build", "--target", "nosuch-1", "-o", str(tmp_path / "out"),
                       str(tmp_path)), 2, "")


def test_flag_type_error_from_cli(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PROJECT)
    one_line_error(run("build", "--compression", "bz2", str(tmp_path)), 2,
                   "option 'compression': unknown compression 'bz2'")
    one_line_error(run("build", "--name", "Bad Name", str(tmp_path)), 2,
                   "option 'name': 'Bad Name' is not a valid Debian package name")


def test_inspect_garbage_is_inspect_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.deb"
    bad.write_bytes(b"this is not an ar archive\n" * 4)
    one_line_error(run("inspect", str(bad)), 1, "")


def test_inspect_missing_file(tmp_path: Path) -> None:
    proc = run("inspect", str(tmp_path / "missing.deb"))
    assert proc.returncode in (1, 2) and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("pydebvenv: error: ")


def test_keyboard_interrupt_is_130(tmp_path: Path) -> None:
    # init waits at a prompt on a real terminal; Ctrl-C there must give one line and 130.
    # A thread drains the terminal from the start until the child has gone, so no output
    # is lost however the child and this process are scheduled; SIGINT is sent once the
    # prompt is out.
    (tmp_path / "pyproject.toml").write_text(PROJECT)
    master, slave = os.openpty()
    # A shell starts programs with SIGINT at its default; a pytest-xdist worker ignores it,
    # and a child would inherit that (Python installs no KeyboardInterrupt handler then).
    proc = subprocess.Popen([sys.executable, "-m", "pydebvenv", "init", str(tmp_path)],
                            cwd=REPO, stdin=slave, stdout=slave, stderr=slave,
                            env={**os.environ, "PYTHONPATH": str(REPO)},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    os.close(slave)
    seen = bytearray()
    prompt = threading.Event()

    def drain() -> None:
        try:
            while chunk := os.read(master, 4096):
                seen.extend(chunk)
                if b"[y/N]" in seen:  # its first question
                    prompt.set()
        except OSError:  # EIO: the child closed its side of the terminal
            pass
        prompt.set()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        assert prompt.wait(timeout=120), bytes(seen)
        assert b"[y/N]" in seen, bytes(seen)
        # CPython checks for a signal only when a blocking read is interrupted: a SIGINT that
        # lands between the prompt's flush and the read() of input() is noted but the read
        # then blocks.  A person presses Ctrl-C again; so does the test, until it exits.
        code = None
        for _ in range(120):
            if b"interrupted" not in seen:
                proc.send_signal(signal.SIGINT)
            try:
                code = proc.wait(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                continue
        assert code == 130, bytes(seen)
        reader.join(timeout=60)
    finally:
        proc.kill()
        proc.wait()
        os.close(master)
    assert b"pydebvenv: interrupted" in seen and b"Traceback" not in seen, bytes(seen)


def test_parser_builds_overrides_from_key_table() -> None:
    from pydebvenv.cli import _overrides

    args = make_parser().parse_args(["build", "--offline", "-r", "a.txt", "-r", "b.txt",
                                     "--extra", "pg", "--revision", "2", "--compile",
                                     "--script", "http", "--script", "https"])
    overrides = _overrides(args, [k for k in KEYS if k.flag])
    assert overrides == {"revision": "2", "requirements": [Path("a.txt").absolute(),
                                                          Path("b.txt").absolute()],
                         "extras": ["pg"], "compile": True, "offline": True,
                         "scripts": ["http", "https"]}  # README: --script is repeatable


# --- the reporter ---------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        self.now += 1.25
        return self.now


def test_reporter_phases_and_done(tmp_path: Path) -> None:
    stream = io.StringIO()
    reporter = Reporter(stream, 0, clock=Clock())
    with reporter.phase("resolve"):
        reporter.info("3 wheels")
        reporter.debug("hidden")
    deb = tmp_path / "a.deb"
    deb.write_bytes(b"x" * 2000)
    reporter.done(deb)
    digest = hashlib.sha256(b"x" * 2000).hexdigest()
    assert stream.getvalue() == (
        "resolve ...\n  3 wheels\nresolve: done in 1.2 s\n"
        f"built {deb} (2,000 bytes, sha256 {digest})\n"
    )


@pytest.mark.parametrize(("verbosity", "expected"), [(-1, "{deb}\n"), (-2, "")])
def test_reporter_quiet_and_silent(tmp_path: Path, verbosity: int, expected: str) -> None:
    stream = io.StringIO()
    reporter = Reporter(stream, verbosity)
    with reporter.phase("write"):
        reporter.info("no")
    reporter.progress("download", 10, 10)
    deb = tmp_path / "a.deb"
    deb.write_bytes(b"")
    reporter.done(deb)
    assert stream.getvalue() == expected.format(deb=deb)
    assert Reporter.silent().verbosity < -1


def test_reporter_progress_off_terminal_shows_completion_only() -> None:
    stream = io.StringIO()
    reporter = Reporter(stream, 1)
    reporter.progress("numpy.whl", 10, 100)
    reporter.progress("numpy.whl", 100, 100)
    reporter.debug("detail")
    assert stream.getvalue() == "numpy.whl: 100 / 100\ndetail\n"


def test_the_public_face() -> None:
    """README: build/fetch/inspect (and publish/diff) and every error class named there are
    attributes of the package, and every error is a PydebvenvError with an exit code."""
    import pydebvenv

    text = (REPO / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`(?:pydebvenv\.)?([A-Z][A-Za-z]+Error)`", text))
    assert {"PydebvenvError", "ConfigError", "BuildError", "InspectError"} <= named
    for name in named:
        error = getattr(pydebvenv, name)
        assert issubclass(error, pydebvenv.PydebvenvError) and error.exit_code in (1, 2)
    for function in re.findall(r"`pydebvenv\.([a-z]+)\(", text):
        assert callable(getattr(pydebvenv, function)), function
    # the functions stay functions once every subpackage has been imported (a subpackage
    # named like a function would rebind it on import)
    import pydebvenv.acquire.fetch
    import pydebvenv.builder

    assert callable(pydebvenv.fetch) and callable(pydebvenv.build)
