"""The application's PEP 517 hooks, called through ``build`` in its build environment.

PEP 517 asks a front end for a wheel to call ``get_requires_for_build_wheel`` (optional,
default ``[]``), install what it returns, then call ``build_wheel`` — each hook in the
project's directory, with the backend imported from ``backend-path`` when the project gives
one.  ``build.ProjectBuilder`` (PyPA's front end, on pyproject_hooks) does exactly that with
any interpreter: here the build environment's, so no environment is made per build.  The
backend's own output goes to a log file, whose most telling line becomes the error message
when a hook fails.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from build import BuildBackendException, BuildException, ProjectBuilder

from pydebvenv.errors import BuildError

__all__ = ["HookFailed", "HookRun", "last_error", "run_wheel_hooks"]


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


def run_wheel_hooks(python: Path, root: Path, out_dir: Path, env: Mapping[str, str],
                    have: Callable[[Sequence[str]], bool]) -> HookRun:
    """Run the backend of the project in ``root`` with ``python``: build a wheel into
    ``out_dir`` (a new directory, which also receives the backend's log) if ``have(requires)``
    says the environment holds what ``get_requires_for_build_wheel`` returned.  HookFailed
    when a hook raises or the backend cannot be imported."""
    with tempfile.NamedTemporaryFile("w", dir=out_dir, prefix=".backend-", suffix=".log",
                                     delete=False) as handle:
        log = Path(handle.name)  # in out_dir: removed with it, never left elsewhere

    def runner(cmd: Sequence[str], cwd: str | None = None,
               extra_environ: Mapping[str, str] | None = None) -> None:
        # ``env`` replaces the caller's environment (PEP 517 "Build environment"); the
        # variables pyproject_hooks adds name the backend and the hook.
        with log.open("ab") as output:
            subprocess.run(list(cmd), cwd=cwd, env={**env, **(extra_environ or {})},
                           stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                           check=True)

    def failed(stage: str, exc: Exception) -> HookFailed:
        output = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
        cause = getattr(exc, "exception", exc)
        said = str(cause).strip().splitlines()
        return HookFailed(stage, last_error(output) or (said[0] if said else type(cause).__name__))

    try:
        builder = ProjectBuilder(root, python_executable=str(python), runner=runner)
    except BuildException as exc:
        raise BuildError(f"{root}: {exc}") from None
    try:
        requires = tuple(sorted(builder.get_requires_for_build("wheel")))
    except BuildBackendException as exc:
        raise failed("get_requires_for_build_wheel", exc) from None
    if not have(requires):
        return HookRun(requires, None)
    try:
        made = builder.build("wheel", out_dir)
    except BuildBackendException as exc:
        raise failed("build_wheel", exc) from None
    return HookRun(requires, Path(made).name)


def last_error(output: str) -> str:
    """The most telling line: the backend's exception, else pip's error, else the last line."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    # pip (setuptools' setup_requires) failing to install says why on its own ERROR line
    missing = [ln for ln in lines if ln.startswith("ERROR: No matching distribution")]
    exceptions = [ln for ln in lines if re.match(r"^[\w.]+(Error|Exception|Exit):", ln)
                  and "CalledProcessError" not in ln]
    errors = [ln for ln in lines if ln.startswith("ERROR")]
    return (missing or exceptions or errors or lines or [""])[-1]
