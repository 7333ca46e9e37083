"""The application's own wheel, built from its project directory by the PEP 517 front end.

Any backend works (setuptools, hatchling, flit-core, pdm-backend, poetry-core): the
`build` package runs it in an isolated environment.  Offline, that environment's
build requirements come from the wheel cache only (``fetch`` puts them there).  A project
without [build-system] gets PEP 517's fallback, the setuptools legacy backend
(``setuptools.build_meta:__legacy__``), which ``build`` chooses itself.

The backend runs on a copy of the project, never in the project: setuptools writes
``build/`` and ``*.egg-info/`` into the tree it builds, other backends their own caches,
and a build must leave the project as it found it (docs/appwheel.md).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import parse_wheel_filename

from pydebvenv.errors import BuildError
from pydebvenv.target import HostFacts, Target, host_runs

__all__ = [
    "AppWheel",
    "build_app_wheel",
    "check_app_wheel_fits",
    "copy_source_tree",
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
    exclude: Sequence[Path] = (),
    pins: Sequence[str] = (),
) -> AppWheel:
    """Build the project's wheel into ``out_dir`` with ``python -m build --wheel``.

    The backend builds a copy of the project made in ``out_dir`` (copy_source_tree;
    ``exclude`` names more directories to leave out, such as the output directory when it
    is inside the project).  The front end runs as a subprocess so the backend's output
    and failures stay out of this process; its most telling line becomes the error message.
    ``pins`` (``name==version`` of the locked build requirements) constrain what the
    isolated environment installs, so the backend is the locked one, online or offline.
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
        source = Path(tmp) / "source"
        try:
            copy_source_tree(Path(project_dir), source, exclude=(Path(out_dir), *exclude))
        except OSError as exc:  # the scratch space is full or the project unreadable
            where = f" ({exc.filename})" if exc.filename else ""
            raise BuildError(f"cannot copy {project!r} into the scratch directory {tmp!r}: "
                             f"{exc.strerror or exc}{where}; make room there (or point TMPDIR "
                             "elsewhere), or fix the file's permissions") from None
        built_dir = Path(tmp) / "wheel"
        if pins:
            constraints = Path(tmp, "constraints", "locked.txt")
            constraints.parent.mkdir()
            constraints.write_text("".join(f"{pin}\n" for pin in pins), encoding="utf-8")
            # pip splits PIP_CONSTRAINT at whitespace: a file: URL has none
            env["PIP_CONSTRAINT"] = constraints.as_uri()
        cmd = [sys.executable, "-m", "build", "--wheel", "--outdir", str(built_dir),
               str(source)]
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
        built = sorted(built_dir.glob("*.whl"))
        if len(built) != 1:
            raise BuildError(f"the build backend of {project!r} made {len(built)} wheels, "
                             "expected one")
        final = Path(out_dir) / built[0].name
        os.replace(built[0], final)
    _, _, _, tags = parse_wheel_filename(final.name)
    return AppWheel(final, all(t.platform == "any" for t in tags))


# Cache Directory Tagging Specification: a directory holding a CACHEDIR.TAG file that starts
# with this line is a cache that copying and archiving tools may leave out (mypy, pytest,
# ruff and pip write one into their caches).
_CACHEDIR_SIGNATURE = b"Signature: 8a477f597d28d172789f06886806bc55"


def copy_source_tree(project: Path, dest: Path, *, exclude: Sequence[Path] = ()) -> None:
    """Copy the project tree to ``dest`` for the backend to build there.

    Everything is copied (version-control data too: setuptools-scm and hatch-vcs read the
    version from it) except what no backend builds from: ``__pycache__`` (PEP 3147),
    virtual environments (a ``pyvenv.cfg``, PEP 405), tagged cache directories, and
    ``exclude``.  Symbolic links are kept; one that leaves the project (a readme shared in a
    monorepo, ``../README.md``) is made absolute so it still names the same file.  Modes
    and times are kept (``shutil.copy2``).
    """
    root = project.resolve()
    skip = {Path(p).resolve() for p in exclude}
    skip.discard(root)  # "-o ." names the project itself: only its temporary directory goes
    dest.mkdir(parents=True)
    pending = [(root, dest)]
    while pending:
        src_dir, dst_dir = pending.pop()
        with os.scandir(src_dir) as listing:
            items = sorted(listing, key=lambda e: e.name)
        for item in items:
            src, dst = Path(item.path), dst_dir / item.name
            if item.is_symlink():
                link = os.readlink(src)
                target = (src.parent / link).resolve()
                outside = not os.path.isabs(link) and not target.is_relative_to(root)
                os.symlink(str(target) if outside else link, dst)
            elif item.is_dir():
                if item.name == "__pycache__" or src.resolve() in skip or _not_source(src):
                    continue
                dst.mkdir()
                pending.append((src, dst))
            elif item.is_file():
                shutil.copy2(src, dst)
            # sockets, fifos and devices are not source: left out


def _not_source(directory: Path) -> bool:
    """A virtual environment or a tagged cache directory."""
    if (directory / "pyvenv.cfg").is_file():
        return True
    tag = directory / "CACHEDIR.TAG"
    try:
        with tag.open("rb") as stream:
            return stream.read(len(_CACHEDIR_SIGNATURE)) == _CACHEDIR_SIGNATURE
    except OSError:
        return False


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
