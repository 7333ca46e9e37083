"""The application's own wheel, built from its project directory by the PEP 517 front end.

Any backend works (setuptools, hatchling, flit-core, pdm-backend, poetry-core): the
`build` package runs it in an isolated environment.  Offline, that environment's
build requirements come from the wheel cache only (``fetch`` puts them there).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import parse_wheel_filename

from pydebvenv.errors import BuildError
from pydebvenv.target import HostFacts, Target, host_runs

__all__ = [
    "AppWheel",
    "build_app_wheel",
    "check_app_wheel_fits",
]


@dataclass(frozen=True, slots=True)
class AppWheel:
    path: Path
    pure: bool


def build_app_wheel(
    project_dir: Path,
    out_dir: Path,
    *,
    wheel_cache: Path,
    offline: bool,
    source_date_epoch: int,
    environ: Mapping[str, str] | None = None,
) -> AppWheel:
    """Build the project's wheel into ``out_dir`` with ``python -m build --wheel``.

    The front end runs as a subprocess so the backend's output and failures stay out
    of this process; its most telling line becomes the error message.
    """
    env = dict(os.environ if environ is None else environ)
    # Reproducible: backends that honour SOURCE_DATE_EPOCH stamp the zip with it.
    env["SOURCE_DATE_EPOCH"] = str(source_date_epoch)
    # The isolated environment's pip looks in the cache first; offline it looks nowhere else.
    links = " ".join(filter(None, [str(wheel_cache), env.get("PIP_FIND_LINKS", "")]))
    env["PIP_FIND_LINKS"] = links
    if offline:
        env["PIP_NO_INDEX"] = "1"
    # build passes --no-compile and --no-input itself; pip's self version check would ask
    # the index (network) about pip on an online build and changes nothing built here.
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    project = str(project_dir)
    # The front end has exited (its output pipe closed) before the directory is removed;
    # what cannot be removed stays inside ``out_dir``, whose owner reports it
    # (scratch.scratch_dir), so it never turns a built wheel into a failure.
    with tempfile.TemporaryDirectory(prefix="pydebvenv-appwheel-", dir=out_dir,
                                     ignore_cleanup_errors=True) as tmp:
        cmd = [sys.executable, "-m", "build", "--wheel", "--outdir", tmp, project]
        proc = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, check=False)
        if proc.returncode != 0:
            output = proc.stdout.decode("utf-8", "replace")
            missing = "matching distribution" in output or "Could not find a version" in output
            raise BuildError(
                f"building the wheel of {project!r} failed: {_last_error(output)}"
                + ("; run `pydebvenv fetch` first so the build backend is in the wheel cache"
                   if missing and offline else "")
            )
        built = sorted(Path(tmp).glob("*.whl"))
        if len(built) != 1:
            raise BuildError(f"the build backend of {project!r} made {len(built)} wheels, "
                             "expected one")
        final = Path(out_dir) / built[0].name
        os.replace(built[0], final)
    _, _, _, tags = parse_wheel_filename(final.name)
    return AppWheel(final, all(t.platform == "any" for t in tags))


def check_app_wheel_fits(wheel: AppWheel, target: Target, host: HostFacts) -> None:
    """A wheel with compiled code was built for the host: refuse it for any other target."""
    if wheel.pure:
        return
    _, _, _, tags = parse_wheel_filename(wheel.path.name)
    interpreter = "cp{}{}".format(*target.python_version)
    same_python = any(t.interpreter == interpreter for t in tags)
    if not host_runs(target, host) or not same_python:
        raise BuildError(
            f"{wheel.path.name} contains compiled code built for this host "
            f"({host.release or 'unknown release'}, {host.machine}), so it cannot run on "
            f"{target.name}; build on a {target.name} host with its python{target.pyver}, "
            "or make the extension an optional, separately built wheel"
        )


def _last_error(output: str) -> str:
    """The most telling line: the backend's exception, else pip's error, else the last line."""
    # build indents the output of the pip it runs with "< "
    lines = [ln.strip().removeprefix("< ").strip() for ln in output.splitlines() if ln.strip()]
    # pip failing to install the build requirements says why on its own ERROR line; the
    # CalledProcessError that follows only repeats the command
    missing = [ln for ln in lines if ln.startswith("ERROR: No matching distribution")]
    exceptions = [ln for ln in lines if re.match(r"^[\w.]+(Error|Exception|Exit):", ln)
                  and "CalledProcessError" not in ln]
    errors = [ln for ln in lines if ln.startswith("ERROR") and "Backend subprocess" not in ln]
    return (missing or exceptions or errors or lines or ["no output"])[-1]
