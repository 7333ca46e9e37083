"""The application's PEP 517 hooks, both run in one process of its build environment.

PEP 517 asks a front end for a wheel to call ``get_requires_for_build_wheel`` (optional,
default ``[]``), install what it returns, then call ``build_wheel`` — each hook in the
project's directory, with the backend imported from ``backend-path`` when the project gives
one.  Front ends usually start one process per hook; starting the interpreter and
importing the backend (setuptools imports in ~0.15 s) is then paid twice.  Here one child
process of the build environment's interpreter imports the backend once, reports the
extra requirements, and calls ``build_wheel`` when the parent answers that the
environment already holds them (``stop`` otherwise: the parent makes the environment that
does and runs the hooks again there).

The child talks to the parent over its original stdout, one JSON line per message; the
backend's own output (fd 1 and 2) goes to a log file, whose most telling line becomes the
error message when a hook fails.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydebvenv.errors import BuildError

__all__ = ["HookFailed", "HookRun", "last_error", "run_wheel_hooks"]

# Runs inside the build environment: only the standard library is there for sure.
_CHILD = r'''
import importlib, json, os, sys, traceback
backend_spec, paths, out_dir, log = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], sys.argv[4]
channel = os.fdopen(os.dup(1), "w")  # the parent's; the backend's prints go to the log
log_fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
os.dup2(log_fd, 1)
os.dup2(log_fd, 2)
sys.stdout = os.fdopen(1, "w", buffering=1)
sys.stderr = os.fdopen(2, "w", buffering=1)

def send(**message):
    channel.write(json.dumps(message) + "\n")
    channel.flush()

def fail(stage):
    traceback.print_exc()
    sys.stderr.flush()
    send(error=stage)
    sys.exit(1)

try:
    sys.path[:0] = [os.path.abspath(p) for p in paths]  # PEP 517: backend-path first
    module_name, _, attr = backend_spec.partition(":")
    backend = importlib.import_module(module_name)
    if paths:  # PEP 517: the backend must then come from backend-path
        origin = os.path.abspath(getattr(backend, "__file__", "") or "")
        if not any(origin.startswith(os.path.abspath(p) + os.sep) for p in paths):
            raise ImportError(f"{module_name} was not loaded from backend-path {paths}")
    for part in filter(None, attr.split(".")):
        backend = getattr(backend, part)
except Exception:
    fail("import")
try:
    hook = getattr(backend, "get_requires_for_build_wheel", None)
    requires = list(hook(None)) if hook is not None else []
except Exception:
    fail("get_requires_for_build_wheel")
send(requires=requires)
if sys.stdin.readline().strip() != "build":
    os._exit(0)
try:
    name = backend.build_wheel(out_dir, None, None)
except Exception:
    fail("build_wheel")
send(wheel=name)
sys.stdout.flush()
sys.stderr.flush()
os._exit(0)  # the wheel is written: no need to wait for the interpreter's teardown
'''


class HookFailed(BuildError):
    """A hook raised, or the backend could not be imported: ``line`` is the telling line."""

    def __init__(self, stage: str, line: str) -> None:
        super().__init__(f"{stage} failed: {line}")
        self.stage = stage
        self.line = line


@dataclass(frozen=True, slots=True)
class HookRun:
    """What the hooks did: the extra requirements, and the wheel's file name if built."""

    requires: tuple[str, ...]
    wheel: str | None  # None: stopped, the environment lacks ``requires``


def run_wheel_hooks(python: Path, root: Path, backend: str, backend_path: Sequence[str],
                    out_dir: Path, env: Mapping[str, str],
                    have: Callable[[Sequence[str]], bool]) -> HookRun:
    """Import ``backend`` with ``python`` in ``root``; build a wheel into ``out_dir`` (a new
    directory, which also receives the backend's log) if ``have(requires)`` says the
    environment holds what ``get_requires_for_build_wheel`` returned.  HookFailed when a
    hook raises; BuildError when the child dies otherwise."""
    with tempfile.NamedTemporaryFile("w", dir=out_dir, prefix=".backend-", suffix=".log",
                                     delete=False) as handle:
        log = Path(handle.name)  # in out_dir: removed with it, never left elsewhere
    proc = subprocess.Popen(
        [str(python), "-c", _CHILD, backend, json.dumps(list(backend_path)), str(out_dir),
         str(log)],
        cwd=root, env=dict(env), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        first = _message(proc.stdout.readline())
        listed = first.get("requires")
        if isinstance(listed, list):
            requires = tuple(str(r) for r in listed)
            go = have(requires)
            proc.stdin.write("build\n" if go else "stop\n")
            proc.stdin.flush()
            proc.stdin.close()
            if not go:
                proc.wait()
                return HookRun(requires, None)
            done = _message(proc.stdout.readline())
            if "wheel" in done:
                proc.wait()
                return HookRun(requires, str(done["wheel"]))
            first = done
        code = proc.wait()
        output = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
        stage = str(first.get("error") or f"the backend process (exit code {code})")
        raise HookFailed(stage, last_error(output) or f"exit code {code}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _message(line: str) -> dict[str, object]:
    try:
        value = json.loads(line)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def last_error(output: str) -> str:
    """The most telling line: the backend's exception, else pip's error, else the last line."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    # pip (setuptools' setup_requires) failing to install says why on its own ERROR line
    missing = [ln for ln in lines if ln.startswith("ERROR: No matching distribution")]
    exceptions = [ln for ln in lines if re.match(r"^[\w.]+(Error|Exception|Exit):", ln)
                  and "CalledProcessError" not in ln]
    errors = [ln for ln in lines if ln.startswith("ERROR")]
    return (missing or exceptions or errors or lines or [""])[-1]

