"""The venv benchmark: pydebvenv against dh-virtualenv, venv+pip+dpkg-deb and the floor.

    .venv/bin/python benchmarks/bench_venv.py [--deps 40] [--runs 5] [--only a,b] ...

From one warm wheel cache, offline, in one run, it builds benchmarks/venv_app (10, 40 or 150
pinned dependencies) into a .deb with every contender, times each build in its own
subprocess (peak RSS and CPU time from wait4(2)), prints medians and ratios, then installs
each package into a fresh copy of a debootstrap bookworm chroot and times `dpkg --unpack` and
`dpkg --configure` apart.  It is a benchmark, not a test: nothing here asserts a figure; the
goals are printed beside the measurements.  Needs root, dpkg-dev, debootstrap, dh-virtualenv
and python3.11 (Debian 12).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, cast

__all__ = ["Contender", "Measurement", "main"]

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
APP = HERE / "venv_app"
APP_NAME = "benchapp"
APP_VERSION = "1.4.0"
VENV_PATH = f"/usr/share/python/{APP_NAME}"  # where every contender puts the venv
EPOCH = "1700000000"  # SOURCE_DATE_EPOCH of every build

sys.path.insert(0, str(REPO))  # tests.support / tests.e2e helpers, pydebvenv from the tree

from tests.support.isolation import isolated_pip_env  # noqa: E402

# The wheel set is CPython 3.11 on x86_64 with Debian 12's glibc (2.36): every manylinux tag
# up to 2_36 plus the legacy aliases (PEP 600, PEP 599), abi3 and pure wheels.
PYTHON_VERSION = "3.11"
PLATFORMS = (
    *(f"manylinux_2_{minor}_x86_64" for minor in range(36, 16, -1)),
    "manylinux2014_x86_64",
    "manylinux2010_x86_64",
    "manylinux1_x86_64",
    "any",
)


@dataclass(frozen=True, slots=True)
class DepSet:
    """A dependency set: its pinned closure and the app's direct dependencies (and modules)."""

    requirements: str  # file in venv_app/
    direct: tuple[tuple[str, str], ...]  # (requirement, module `benchapp check` imports)


_FORTY = (("aiohttp>=3.9", "aiohttp"), ("boto3>=1.34", "boto3"), ("click>=8.1", "click"),
          ("cryptography>=42", "cryptography"), ("jinja2>=3.1", "jinja2"),
          ("msgpack>=1.0", "msgpack"), ("orjson>=3.10", "orjson"), ("pydantic>=2.7", "pydantic"),
          ("pyyaml>=6.0", "yaml"), ("requests>=2.31", "requests"), ("rich>=13", "rich"),
          ("sqlalchemy>=2.0", "sqlalchemy"), ("tenacity>=8.2", "tenacity"),
          ("wrapt>=1.16", "wrapt"))
DEP_SETS: dict[int, DepSet] = {
    10: DepSet("requirements-10.txt", (("click>=8.1", "click"), ("jinja2>=3.1", "jinja2"),
                                       ("msgpack>=1.0", "msgpack"), ("pyyaml>=6.0", "yaml"),
                                       ("requests>=2.31", "requests"))),
    40: DepSet("requirements.txt", _FORTY),
    150: DepSet("requirements-150.txt", (*_FORTY, *((r, m) for r, m in (
        ("fastapi", "fastapi"), ("uvicorn[standard]", "uvicorn"), ("httpx", "httpx"),
        ("celery[redis]", "celery"), ("flask", "flask"), ("gunicorn", "gunicorn"),
        ("django", "django"), ("psycopg2-binary", "psycopg2"), ("numpy", "numpy"),
        ("pandas", "pandas"), ("pillow", "PIL"), ("lxml", "lxml.etree"),
        ("alembic", "alembic"), ("grpcio", "grpc"), ("protobuf", "google.protobuf"),
        ("sentry-sdk", "sentry_sdk"), ("prometheus-client", "prometheus_client"),
        ("structlog", "structlog"), ("paramiko", "paramiko"), ("sphinx", "sphinx"),
        ("google-cloud-storage", "google.cloud.storage"),
        ("opentelemetry-sdk", "opentelemetry.sdk"), ("marshmallow", "marshmallow"),
        ("babel", "babel"), ("arrow", "arrow"), ("openpyxl", "openpyxl"),
        ("email-validator", "email_validator"), ("bcrypt", "bcrypt"), ("pyjwt", "jwt"),
        ("authlib", "authlib"), ("matplotlib", "matplotlib"), ("networkx", "networkx"),
        ("jsonschema", "jsonschema"), ("black", "black"), ("pytest", "pytest"),
        ("beautifulsoup4", "bs4"), ("psutil", "psutil"), ("simplejson", "simplejson"))))),
}

# The application's PEP 517 backends: setuptools (the most common, the headline figures),
# flit_core and hatchling.  Their wheels go into the cache so every build stays offline.
BACKENDS: dict[str, tuple[str, str]] = {
    "setuptools": ('requires = ["setuptools>=70.1"]\nbuild-backend = "setuptools.build_meta"\n',
                   "setuptools>=70.1"),
    "flit": ('requires = ["flit_core>=3.12,<5"]\nbuild-backend = "flit_core.buildapi"\n',
             "flit_core>=3.12,<5"),
    "hatchling": ('requires = ["hatchling"]\nbuild-backend = "hatchling.build"\n', "hatchling"),
}

# Goals from the issue, printed next to the figures (never asserted).
GOAL_VS_DH = 50.0
GOAL_VS_FLOOR = 1.5
GOAL_WRAPPER_OVER_FLOOR_S = 0.3
GOAL_RSS_MB = 200.0
GOAL_DPKG_I = 0.8


@dataclass(frozen=True, slots=True)
class Measurement:
    """One timed build: wall seconds, peak RSS of the largest process in the tree, the .deb."""

    seconds: float
    max_rss_mb: float
    cpu_seconds: float  # user + system of the whole tree: steadier than wall time under load
    deb: Path | None
    ok: bool
    note: str = ""
    phases: tuple[tuple[str, float], ...] = ()  # pydebvenv's reporter: (phase, seconds)


@dataclass(frozen=True, slots=True)
class Contender:
    """A way to turn the app plus the wheel cache into a .deb (or, for the floor, a tarball)."""

    key: str  # its name in --only
    name: str
    compression: str
    slow: bool  # runs --slow-runs times instead of --runs, and gets no warm-up run
    command: Callable[[Path], tuple[list[str], Path, dict[str, str]]]  # run dir -> argv, cwd, env
    result: Callable[[Path], Path | None]  # run dir -> the artifact it produced
    installs: bool = False  # its package is timed with dpkg -i
    check: bool = True  # `benchapp check` runs after its first install


@dataclass(slots=True)
class Outcome:
    """Everything measured for one contender (mutable: filled as the run goes)."""

    contender: Contender
    builds: list[Measurement] = field(default_factory=list)
    first: Measurement | None = None  # the untimed warm-up: caches cold for pydebvenv
    installs: list[tuple[float, float]] = field(default_factory=list)  # (unpack, configure)
    install_cpu: list[float] = field(default_factory=list)  # user + system of dpkg -i
    install_note: str = ""


# ---------------------------------------------------------------------------------------------
# the warm wheel cache


def pinned_requirements(deps: DepSet) -> list[tuple[str, str]]:
    """(canonical name, version) for every `name==version` line of the set's requirements."""
    from packaging.utils import canonicalize_name

    pins = []
    for line in (APP / deps.requirements).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins.append((str(canonicalize_name(name)), version.strip()))
    return pins


def cached_wheels(cache: Path) -> dict[tuple[str, str], Path]:
    """The cache's wheels by (canonical name, version)."""
    from packaging.utils import parse_wheel_filename

    found = {}
    for path in sorted(cache.glob("*.whl")):
        name, version, _build, _tags = parse_wheel_filename(path.name)
        found[(str(name), str(version))] = path
    return found


def app_wheels(cache: Path, deps: DepSet) -> list[Path]:
    """The wheels of the pinned closure (the venv's content, without the build backend)."""
    have = cached_wheels(cache)
    pins = pinned_requirements(deps)
    missing = [f"{n}=={v}" for n, v in pins if (n, v) not in have]
    if missing:
        raise SystemExit(f"wheel cache {cache} lacks {missing!r}: run without --no-download")
    return [have[pin] for pin in pins]


def prepare_cache(cache: Path, deps: DepSet, *, download: bool) -> None:
    """Fill `cache` once with pip download (isolated pip configuration, binary wheels only)."""
    cache.mkdir(parents=True, exist_ok=True)
    backends = [requirement for _table, requirement in BACKENDS.values()]
    stamp = cache / f".bench-{deps.requirements}.sha256"
    digest = hashlib.sha256((APP / deps.requirements).read_bytes() + repr(backends).encode())
    if stamp.exists() and stamp.read_text(encoding="utf-8").strip() == digest.hexdigest():
        return
    if not download:
        raise SystemExit(f"wheel cache {cache} is not prepared: run without --no-download")
    argv = [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:",
            "--implementation", "cp", "--python-version", PYTHON_VERSION,
            "--abi", "cp311", "--abi", "abi3", "--abi", "none",
            *(arg for plat in PLATFORMS for arg in ("--platform", plat)),
            "--dest", str(cache), "-r", str(APP / deps.requirements), *backends]
    print(f"preparing the wheel cache in {cache} ...", flush=True)
    subprocess.run(argv, env=isolated_pip_env(), check=True)
    app_wheels(cache, deps)  # every pin is there, or say which is not
    stamp.write_text(digest.hexdigest() + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# the application, copied into the work directory (so no backend writes into the repository)


def make_app(dest: Path, deps: DepSet, backend: str, *, wrapper: bool = False) -> Path:
    """A copy of venv_app for ``deps`` built with ``backend``; ``wrapper``: no code at all."""
    shutil.copytree(APP, dest, ignore=shutil.ignore_patterns("__pycache__", "requirements*.txt"))
    shutil.copyfile(APP / deps.requirements, dest / "requirements.txt")
    text = (dest / "pyproject.toml").read_text(encoding="utf-8")
    table = BACKENDS[backend][0]
    text = re.sub(r"(?s)\[build-system\]\n.*?\n\n", "[build-system]\n" + table + "\n", text)
    listed = "".join(f'    "{req}",\n' for req, _module in deps.direct)
    text = re.sub(r"(?s)dependencies = \[\n.*?\]", f"dependencies = [\n{listed}]", text)
    if wrapper:  # only dependencies: no package, no script (PEP 621)
        shutil.rmtree(dest / APP_NAME)
        text = text.replace('name = "benchapp"', 'name = "benchwrap"')
        text = re.sub(r"(?s)\[project\.scripts\].*", "[tool.setuptools]\npackages = []\npy-modules = []\n", text)
    else:
        modules = ", ".join(repr(module) for _req, module in deps.direct)
        (dest / APP_NAME / "deps.py").write_text(
            f'"""The modules `benchapp check` imports."""\n\nMODULES = [{modules}]\n',
            encoding="utf-8")
    (dest / "pyproject.toml").write_text(text, encoding="utf-8")
    return dest


# ---------------------------------------------------------------------------------------------
# the contenders


_PYDEBVENV = """\
import contextlib, json, sys, time
import pydebvenv
from pydebvenv.report import Reporter

class Timed(Reporter):  # each phase's time to the millisecond (the CLI prints tenths)
    @contextlib.contextmanager
    def phase(self, name):
        start = time.perf_counter()
        with super().phase(name):
            yield
        self.info(f"{name}: took {time.perf_counter() - start:.4f} s")

a = json.loads(sys.argv[1])
where = {"from_": a["from"]} if a["from"] else {"project_dir": a["project"]}
deb = pydebvenv.build(**where, output_dir=a["out"], target="debian-12", arch="amd64",
                      wheel_cache=a["cache"], offline=True, requirements=[a["req"]],
                      compression=a["compression"], compile=a["compile"],
                      reporter=Timed(sys.stdout))
print(deb)
"""

_VENV_PIP_DPKG_DEB = """\
set -eu
stage="$BENCH_RUN/stage"; venv="$stage$BENCH_VENV_PATH"
"$BENCH_PYTHON" -m venv "$venv"
"$venv/bin/pip" install --quiet --no-index --find-links "$BENCH_CACHE" -r "$BENCH_APP/requirements.txt"
"$venv/bin/pip" install --quiet --no-index --find-links "$BENCH_CACHE" "$BENCH_APP"
# the venv was made in the staging tree: point its scripts at the installed path
grep -rlF "$stage" "$venv/bin" | xargs sed -i "s|$stage||g"
mkdir "$stage/DEBIAN"
cat > "$stage/DEBIAN/control" <<EOF
Package: benchapp
Version: 1.4.0-1
Architecture: amd64
Maintainer: pydebvenv developers <pydebvenv@example.org>
Installed-Size: $(du -sk "$stage/usr" | cut -f1)
Depends: python3.11
Description: benchmark fixture built with venv, pip and dpkg-deb
EOF
dpkg-deb --root-owner-group -Z"$BENCH_COMPRESSION" --build "$stage" "$BENCH_RUN/benchapp.deb" >/dev/null
"""

# What pydebvenv runs when the application changed: the backend's two hooks, here called
# directly in the build environment pydebvenv made, as the yardstick of "the application's
# wheel costs what its own backend costs".
_BACKEND_ALONE = """\
import sys
from setuptools import build_meta
out = sys.argv[1]  # read first: setuptools' hooks rewrite sys.argv
build_meta.get_requires_for_build_wheel()
print(build_meta.build_wheel(out))
"""


def _edit(app: Path, run: Path) -> None:
    # a change the wheel must carry: the fingerprint misses, the backend runs (its work
    # directory reused, as between two builds of a developer)
    init = app / APP_NAME / "__init__.py"
    text = re.sub(r"\n# edit: .*", "", init.read_text(encoding="utf-8"))
    init.write_text(text + f"\n# edit: {run.name}\n", encoding="utf-8")


def _pydebvenv(key: str, app: Path, cache: Path, work_cache: Path, compression: str, *,
               compile: bool = False, edit: bool = False, installs: bool = False,
               check: bool = True, from_: Sequence[str] = ()) -> Contender:
    """pydebvenv building ``app`` (or, with ``from_``, those published distributions with
    the app's requirements file, and no project)."""
    def command(run: Path) -> tuple[list[str], Path, dict[str, str]]:
        if edit:
            _edit(app, run)
        requirements = app / "requirements.txt"
        if from_:  # files a --from build reads must be in its directory, the cwd
            requirements = Path(shutil.copy(requirements, run / "requirements.txt"))
        args = {"project": str(app), "out": str(run / "out"), "cache": str(cache),
                "req": str(requirements), "compression": compression,
                "compile": compile, "from": list(from_)}
        env = isolated_pip_env()
        env.update(PYTHONPATH=str(REPO), PYDEBVENV_CACHE=str(work_cache),
                   SOURCE_DATE_EPOCH=EPOCH)
        return [sys.executable, "-c", _PYDEBVENV, json.dumps(args)], run, env

    return Contender(key, key.replace("-xz", ""), compression, compression != "zstd", command,
                     lambda run: _one(run / "out", "*.deb"), installs, check)


def _backend_alone(app: Path, work_cache: Path) -> Contender:
    def command(run: Path) -> tuple[list[str], Path, dict[str, str]]:
        _edit(app, run)
        envs = [p for p in (work_cache / "build-envs").glob("*/pydebvenv-build-env.json")
                if json.loads(p.read_text())["requirements"] == [BACKENDS["setuptools"][1]]]
        if not envs:
            raise SystemExit("backend-alone needs pydebvenv's setuptools build environment: "
                             "run it with pydebvenv-edit")
        python = envs[0].parent / "bin" / "python"
        env = dict(os.environ, SOURCE_DATE_EPOCH=EPOCH, PYTHONDONTWRITEBYTECODE="1")
        (run / "out").mkdir()
        return [str(python), "-c", _BACKEND_ALONE, str(run / "out")], app, env

    return Contender("backend-alone", "setuptools alone", "-", False, command,
                     lambda run: _one(run / "out", "*.whl"))


def _venv_pip(key: str, app: Path, cache: Path, python: str, compression: str) -> Contender:
    def command(run: Path) -> tuple[list[str], Path, dict[str, str]]:
        env = isolated_pip_env()
        env.update(BENCH_RUN=str(run), BENCH_VENV_PATH=VENV_PATH, BENCH_PYTHON=python,
                   BENCH_CACHE=str(cache), BENCH_APP=str(app), BENCH_COMPRESSION=compression,
                   SOURCE_DATE_EPOCH=EPOCH)
        return ["sh", "-c", _VENV_PIP_DPKG_DEB], run, env

    return Contender(key, "venv+pip+dpkg-deb", compression, compression != "zstd", command,
                     lambda run: _one(run, "benchapp.deb"), installs=compression == "zstd")


def _dh_virtualenv(app: Path, cache: Path) -> Contender:
    def command(run: Path) -> tuple[list[str], Path, dict[str, str]]:
        # dpkg-buildpackage writes into the source tree and its parent: a fresh copy per run
        # (made before the clock starts).
        src = run / "src"
        shutil.copytree(app, src, ignore=shutil.ignore_patterns(
            "__pycache__", "build", "*.egg-info"))
        env = isolated_pip_env()
        env.update(BENCH_WHEEL_CACHE=str(cache), SOURCE_DATE_EPOCH=EPOCH)  # BENCH_*: debian/rules
        return ["dpkg-buildpackage", "-us", "-uc", "-b"], src, env

    # dh_builddeb calls dpkg-deb without -Z: dpkg-deb's default, xz -6 (dpkg-deb(1))
    return Contender("dh-virtualenv", "dh-virtualenv", "xz", True, command,
                     lambda run: _one(run, f"{APP_NAME}_{APP_VERSION}-1_amd64.deb"),
                     installs=True)


def _floor(key: str, cache: Path, deps: DepSet, compression: str) -> Contender:
    def command(run: Path) -> tuple[list[str], Path, dict[str, str]]:
        out = run / f"floor.tar.{compression}"
        wheels = [str(w) for w in app_wheels(cache, deps)]
        argv = [sys.executable, str(Path(__file__).resolve()), "--floor-worker",
                compression, str(out), *wheels]
        return argv, run, dict(os.environ, PYTHONPATH=str(REPO))

    return Contender(key, "floor", compression, compression != "zstd", command,
                     lambda run: _one(run, f"floor.tar.{compression}"))


def _one(directory: Path, pattern: str) -> Path | None:
    found = sorted(directory.glob(pattern)) if directory.is_dir() else []
    return found[0] if len(found) == 1 else None


def floor_worker(compression: str, out: Path, wheels: Sequence[Path]) -> None:
    """The honest lower bound: read every member of every wheel, tar them, compress.

    Compressed by pydebvenv's own writer for `compression` (zstd -3 or xz -6, its threads), so
    the floor differs from a real build only by everything a real build must add.
    """
    with (
        out.open("wb") as raw,
        _compressed(raw, compression) as sink,
        tarfile.open(fileobj=sink, mode="w|", format=tarfile.GNU_FORMAT) as tar,
    ):
        for wheel in wheels:
            with zipfile.ZipFile(wheel) as zf:
                for info in zf.infolist():
                    if info.is_dir():
                        continue
                    member = tarfile.TarInfo(f"./{wheel.stem}/{info.filename}")
                    member.size = info.file_size
                    with zf.open(info) as data:
                        tar.addfile(member, data)


@contextmanager
def _compressed(raw: BinaryIO, compression: str) -> Iterator[BinaryIO]:
    # pydebvenv's own compressor table: the same level, threads and block layout it uses for
    # data.tar, so the floor and pydebvenv differ only in what a real build adds.
    from pydebvenv.debfile.compress import get_compressor

    writer = get_compressor(compression).open(raw)
    yield cast(BinaryIO, writer)  # tarfile's stream mode only calls write()
    writer.close()


# ---------------------------------------------------------------------------------------------
# running and timing


def timed(argv: list[str], cwd: Path, env: dict[str, str], log: Path
          ) -> tuple[float, float, float, int]:
    """Run argv; (wall s, peak RSS MB of the largest process in its tree, CPU s, exit code).

    wait4(2) returns the child's rusage, whose ru_maxrss already folds in every descendant it
    waited for (getrusage(2), RUSAGE_CHILDREN): the largest single process, not their sum.
    """
    with log.open("wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    return seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, proc.returncode


def _measure(c: Contender, run: Path) -> Measurement:
    run.mkdir(parents=True)
    argv, cwd, env = c.command(run)
    log = run.parent / (run.name + ".log")
    seconds, rss, cpu, code = timed(argv, cwd, env, log)
    deb = c.result(run) if code == 0 else None
    note = "" if deb else f"exit {code}: {_tail(log)} (see {log})"
    return Measurement(seconds, rss, cpu, deb, deb is not None, note, _phases(log))


def build_all(contenders: Sequence[Contender], work: Path, runs: int, slow_runs: int
              ) -> list[Outcome]:
    """Build with each contender, interleaved round by round so drift hits all alike.

    Every fast contender first runs once untimed: pydebvenv's caches (build environment,
    application wheel) and the page cache are warm for the timed runs, as for a developer's
    rebuild; that first run's time is reported apart as the cold build.
    """
    outcomes = [Outcome(c) for c in contenders]
    for outcome in outcomes:
        c = outcome.contender
        if not c.slow:
            outcome.first = _measure(c, work / f"{c.key}-first")
            print(f"  {c.name:<20} {c.compression:<4} first run (untimed): "
                  f"{outcome.first.seconds:8.2f} s", flush=True)
    for round_no in range(max(runs, slow_runs)):
        for outcome in outcomes:
            c = outcome.contender
            if round_no >= (slow_runs if c.slow else runs):
                continue
            m = _measure(c, work / f"{c.key}-{round_no}")
            outcome.builds.append(m)
            state = f"{m.seconds:8.2f} s  {m.max_rss_mb:7.1f} MB" if m.ok else f"FAILED {m.note}"
            print(f"  {c.name:<20} {c.compression:<4} run {round_no + 1}: {state}", flush=True)
    return outcomes


_PHASE_RE = re.compile(r"^\s*(.+?): took ([0-9.]+) s$", re.MULTILINE)


def _phases(log: Path) -> tuple[tuple[str, float], ...]:
    """The "<phase>: took N s" lines of _PYDEBVENV's reporter (empty for the others)."""
    text = log.read_text(encoding="utf-8", errors="replace")
    return tuple((name, float(sec)) for name, sec in _PHASE_RE.findall(text))


def _phase_medians(builds: Sequence[Measurement]) -> dict[str, float]:
    names = dict.fromkeys(name for m in builds for name, _ in m.phases)
    return {name: statistics.median([sec for m in builds for n, sec in m.phases if n == name])
            for name in names}


def _tail(log: Path) -> str:
    lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    return lines[-1] if lines else ""


# ---------------------------------------------------------------------------------------------
# dpkg -i into a fresh chroot


def _chroot_helpers() -> tuple[Callable[[], Path], Callable[[Path, Path],
                                                              AbstractContextManager[Path]],
                               Callable[..., subprocess.CompletedProcess[str]]]:
    """The e2e tests' cached debootstrap chroot (tests/e2e/chroots.py)."""
    from tests.e2e import chroots

    return (lambda: chroots.cached_chroot("debian-12", "amd64")), chroots.chroot_copy, \
        chroots.run_in


def install_all(outcomes: Sequence[Outcome], work: Path, runs: int) -> None:
    """Time `dpkg -i` of each contender's last .deb in a fresh chroot, in its two halves.

    `dpkg -i` is `--unpack` then `--configure` (dpkg(1)); running them as two commands costs
    one more database read (milliseconds) and shows the unpack (I/O, fsync) apart from the
    configure step (the postinst, where pydebvenv byte-compiles).  Every install gets a fresh
    copy of the cached chroot (with a tmpfs on /dev/shm, as every booted system has); an
    untimed warm-up install comes first; rounds are interleaved like the builds.  After the
    first install the app must run (`benchapp check`), not only unpack.
    """
    try:
        cached, copy, run_in = _chroot_helpers()
    except ImportError as exc:  # the e2e helpers moved or are not in this checkout
        print(f"no dpkg -i timings: tests/e2e/chroots.py is not importable ({exc})")
        return
    print("preparing the bookworm chroot (debootstrap on first use) ...", flush=True)
    lower = cached()
    todo = [o for o in outcomes if o.contender.installs and any(m.ok for m in o.builds)]

    def dpkg(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
        # /dev/shm: Python's multiprocessing (compileall -j) needs it, and a booted system has it
        return run_in(root, "sh", "-c", 'mount -t tmpfs tmpfs /dev/shm && exec "$@"', "sh",
                      "dpkg", *args, check=False)

    if todo:  # one untimed install first: the chroot's files reach the page cache for all
        deb = [m.deb for m in todo[0].builds if m.deb is not None][-1]
        scratch = Path(tempfile.mkdtemp(prefix="install-", dir=work))
        with copy(lower, scratch) as root:
            shutil.copy2(deb, root / "tmp" / "bench.deb")
            dpkg(root, "-i", "/tmp/bench.deb")
        shutil.rmtree(scratch, ignore_errors=True)
    for i in range(runs):
        for outcome in todo:
            c = outcome.contender
            if outcome.install_note.startswith("dpkg"):
                continue  # failed once: the next round would fail alike
            deb = [m.deb for m in outcome.builds if m.deb is not None][-1]
            scratch = Path(tempfile.mkdtemp(prefix="install-", dir=work))
            halves: list[float] = []
            with copy(lower, scratch) as root:
                shutil.copy2(deb, root / "tmp" / "bench.deb")
                cpu_before = _children_cpu()
                for step in (("--unpack", "/tmp/bench.deb"), ("--configure", APP_NAME)):
                    start = time.perf_counter()
                    proc = dpkg(root, *step)
                    halves.append(time.perf_counter() - start)
                    if proc.returncode != 0:
                        outcome.install_note = f"dpkg {step[0]} failed: " + _last(
                            proc.stdout + proc.stderr)
                        break
                else:
                    outcome.installs.append((halves[0], halves[1]))
                    outcome.install_cpu.append(_children_cpu() - cpu_before)
                    if i == 0 and c.check:
                        check = run_in(root, f"{VENV_PATH}/bin/{APP_NAME}", "check",
                                       check=False)
                        if check.returncode != 0:
                            outcome.install_note = "app check failed: " + _last(
                                check.stdout + check.stderr)
            shutil.rmtree(scratch, ignore_errors=True)
            state = (f"{sum(halves):6.2f} s (unpack {halves[0]:.2f} + configure {halves[1]:.2f})"
                     if len(halves) == 2 and proc.returncode == 0 else outcome.install_note)
            print(f"  {c.name:<20} {c.compression:<4} dpkg -i run {i + 1}: {state}", flush=True)


def _children_cpu() -> float:
    # every finished, waited-for descendant: unshare -> chroot -> dpkg -> maintainer scripts
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _last(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""


def _members(deb: Path) -> int:
    """How many entries data.tar holds (what dpkg unpacks and registers)."""
    listing = subprocess.run(["dpkg-deb", "--contents", str(deb)], capture_output=True,
                             text=True, check=False).stdout
    return len(listing.splitlines())


# ---------------------------------------------------------------------------------------------
# the report


def report(outcomes: Sequence[Outcome], deps: int) -> dict[str, object]:
    """Print the table, the ratios and the goals; return the same figures as data."""
    print()
    print(f"{'contender':<20} {'comp':<4} {'runs':>4} {'median s':>9} {'min s':>7} "
          f"{'max s':>7} {'cpu s':>7} {'RSS MB':>7} {'size MB':>8} {'files':>6} {'first s':>8} "
          f"{'dpkg -i s':>9} {'unpack':>7} {'config':>7} {'cpu s':>7}")
    rows: dict[str, dict[str, object]] = {}
    for o in outcomes:
        c, good = o.contender, [m for m in o.builds if m.ok]
        median_s = statistics.median([m.seconds for m in good]) if good else None
        last = good[-1].deb if good else None
        size = last.stat().st_size / 1e6 if last else None
        files = _members(last) if last and last.suffix == ".deb" else None
        inst = statistics.median([u + k for u, k in o.installs]) if o.installs else None
        unpack = statistics.median([u for u, _ in o.installs]) if o.installs else None
        config = statistics.median([k for _, k in o.installs]) if o.installs else None
        rss = max((m.max_rss_mb for m in good), default=None)
        cpu = statistics.median([m.cpu_seconds for m in good]) if good else None
        inst_cpu = statistics.median(o.install_cpu) if o.install_cpu else None
        first = o.first.seconds if o.first and o.first.ok else None
        notes = [m.note for m in [*o.builds, *([o.first] if o.first else [])] if not m.ok]
        notes += [o.install_note] if o.install_note else []
        rows[c.key] = {
            "name": c.name, "compression": c.compression, "runs": len(good),
            "failed": len(o.builds) - len(good), "median_s": median_s,
            "times_s": [m.seconds for m in good], "cpu_median_s": cpu, "peak_rss_mb": rss,
            "size_mb": size, "files": files, "first_s": first,
            "first_phases_s": dict(o.first.phases) if o.first else {},
            "dpkg_i_cpu_median_s": inst_cpu, "dpkg_i_median_s": inst, "unpack_median_s": unpack,
            "configure_median_s": config, "dpkg_i_runs_s": o.installs,
            "phases_s": _phase_medians(good), "notes": notes}
        print(f"{c.key:<20} {c.compression:<4} {len(good):>4} {_fmt(median_s, 9)} "
              f"{_fmt(min((m.seconds for m in good), default=None), 7)} "
              f"{_fmt(max((m.seconds for m in good), default=None), 7)} {_fmt(cpu, 7)} "
              f"{_fmt(rss, 7, 1)} {_fmt(size, 8, 1)} {_fmt(files, 6, 0)} {_fmt(first, 8)} "
              f"{_fmt(inst, 9)} {_fmt(unpack, 7)} {_fmt(config, 7)} {_fmt(inst_cpu, 7)}")
        for note in notes:
            print(f"    ! {note}")
    for key, row in rows.items():
        phases = row["phases_s"]
        if isinstance(phases, dict) and phases:
            text = ", ".join(f"{name} {sec:.2f}" for name, sec in phases.items())
            print(f"  {key} phases (median s): {text}")

    def med(key: str, column: str) -> float | None:
        value = rows.get(key, {}).get(column)
        return value if isinstance(value, float) else None

    def ratio(label: str, num: str, den: str, goal: str, columns: Sequence[str] = (
            "median_s", "cpu_median_s")) -> None:
        texts = []
        for column in columns:
            a, b = med(num, column), med(den, column)
            texts.append(f"{a / b:6.2f}x" if a and b else "   n/a ")
        print(f"  {label:<52} {'  '.join(texts)}   {goal}")

    print(f"\n  {'ratios of medians (' + str(deps) + ' distributions)':<52} {'wall':>7}  "
          f"{'cpu':>7}")
    ratio("dh-virtualenv(xz) / pydebvenv(zstd)", "dh-virtualenv", "pydebvenv",
          f"goal >= {GOAL_VS_DH:g}x")
    ratio("dh-virtualenv(xz) / pydebvenv(xz)  like-for-like", "dh-virtualenv", "pydebvenv-xz",
          "")
    ratio("venv+pip+dpkg-deb(zstd) / pydebvenv(zstd)", "venv-pip", "pydebvenv", "")
    for key in ("pydebvenv", "pydebvenv-flit", "pydebvenv-hatchling", "pydebvenv-wrapper",
                "pydebvenv-from"):
        ratio(f"{key}(zstd) / floor(zstd)", key, "floor", f"goal <= {GOAL_VS_FLOOR:g}x")
    ratio("pydebvenv(xz) / floor(xz)", "pydebvenv-xz", "floor-xz", "")
    floor = med("floor", "median_s")
    for key in ("pydebvenv-wrapper", "pydebvenv-from"):
        wrap = med(key, "median_s")
        if wrap is not None and floor is not None:
            print(f"  {key + ' - floor':<52} {wrap - floor:+6.2f} s  "
                  f"goal <= {GOAL_WRAPPER_OVER_FLOOR_S:g} s")
    edited = rows.get("pydebvenv-edit", {}).get("phases_s")
    alone = med("backend-alone", "median_s")
    if isinstance(edited, dict) and alone:
        wheel = edited.get("build the app's wheel")
        if wheel:
            print(f"  {'edited app: wheel phase / setuptools alone':<52} {wheel / alone:6.2f}x"
                  f"   ({wheel:.2f} s vs {alone:.2f} s; goal: the backend's own cost)")
    peak = med("pydebvenv", "peak_rss_mb")
    print(f"  {'pydebvenv(zstd) peak RSS':<52} {_fmt(peak, 7, 1)} MB   goal <= {GOAL_RSS_MB:g} MB")
    peak_xz, dh_rss = med("pydebvenv-xz", "peak_rss_mb"), med("dh-virtualenv", "peak_rss_mb")
    if peak_xz is not None:
        print(f"  {'pydebvenv(xz) peak RSS':<52} {peak_xz:7.1f} MB   "
              f"(dh-virtualenv's largest process: {_fmt(dh_rss, 0, 1)} MB)")
    for key in ("pydebvenv", "pydebvenv-pyc", "pydebvenv-xz", "venv-pip"):
        ratio(f"dpkg -i {key} / dh-virtualenv", key, "dh-virtualenv",
              f"goal <= {GOAL_DPKG_I:g}x" if key == "pydebvenv" else "",
              ("dpkg_i_median_s", "dpkg_i_cpu_median_s"))
        ratio(f"  unpack, configure {key} / dh-virtualenv", key, "dh-virtualenv", "",
              ("unpack_median_s", "configure_median_s"))
    return {"deps": deps, "contenders": rows}


def _load() -> str:
    # other work on the machine inflates every figure alike; ratios survive it better
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _fmt(value: float | int | None, width: int, digits: int = 2) -> str:
    return f"{value:{width}.{digits}f}" if value is not None else f"{'-':>{width}}"


# ---------------------------------------------------------------------------------------------
# main


CONTENDER_KEYS = ("floor", "floor-xz", "pydebvenv", "pydebvenv-flit", "pydebvenv-hatchling",
                  "pydebvenv-wrapper", "pydebvenv-from", "pydebvenv-edit", "backend-alone",
                  "pydebvenv-xz", "pydebvenv-pyc", "venv-pip", "venv-pip-xz", "dh-virtualenv")
# venv-pip-xz only on request: a single-threaded xz of ~150 MB adds minutes and says nothing
# the zstd run and dh-virtualenv's xz run do not; pydebvenv-pyc (pycs made at build time,
# the --compile option) only on request too.
DEFAULT_KEYS = tuple(k for k in CONTENDER_KEYS if k not in ("venv-pip-xz", "pydebvenv-pyc"))


def contenders(keys: Sequence[str], cache: Path, python: str, deps: DepSet, work: Path
               ) -> list[Contender]:
    """The selected contenders, in CONTENDER_KEYS order, with their copies of the app."""
    apps = work / "apps"
    state = work / "pydebvenv-cache"  # PYDEBVENV_CACHE of every pydebvenv run: warm after run 1

    def app(name: str, backend: str = "setuptools", wrapper: bool = False) -> Path:
        dest = apps / name
        return dest if dest.exists() else make_app(dest, deps, backend, wrapper=wrapper)

    table: dict[str, Callable[[], Contender]] = {
        "floor": lambda: _floor("floor", cache, deps, "zstd"),
        "floor-xz": lambda: _floor("floor-xz", cache, deps, "xz"),
        "pydebvenv": lambda: _pydebvenv("pydebvenv", app("setuptools"), cache, state, "zstd",
                                        installs=True),
        "pydebvenv-flit": lambda: _pydebvenv("pydebvenv-flit", app("flit", "flit"), cache,
                                             state, "zstd"),
        "pydebvenv-hatchling": lambda: _pydebvenv("pydebvenv-hatchling",
                                                  app("hatchling", "hatchling"), cache, state,
                                                  "zstd"),
        "pydebvenv-wrapper": lambda: _pydebvenv("pydebvenv-wrapper",
                                                app("wrapper", wrapper=True), cache, state,
                                                "zstd"),
        "pydebvenv-edit": lambda: _pydebvenv("pydebvenv-edit", app("edited"), cache, state,
                                             "zstd", edit=True),
        # the first pinned distribution names the package; the requirements file brings the
        # rest: the same wheels as the wrapper project, without a project
        "pydebvenv-from": lambda: _pydebvenv("pydebvenv-from", app("setuptools"), cache, state,
                                             "zstd", check=False,
                                             from_=["==".join(pinned_requirements(deps)[0])]),
        "backend-alone": lambda: _backend_alone(app("backend"), state),
        "pydebvenv-xz": lambda: _pydebvenv("pydebvenv-xz", app("setuptools"), cache, state,
                                           "xz", installs=True),
        "pydebvenv-pyc": lambda: _pydebvenv("pydebvenv-pyc", app("compiled"), cache, state,
                                            "zstd", compile=True, installs=True),
        # dh-virtualenv and pip build in the project tree (debian/<package>/, build/,
        # *.egg-info): each gets its own copy of the same project, so what they leave
        # behind never counts as a change of pydebvenv's sources
        "venv-pip": lambda: _venv_pip("venv-pip", app("setuptools-pip"), cache, python,
                                      "zstd"),
        "venv-pip-xz": lambda: _venv_pip("venv-pip-xz", app("setuptools-pip"), cache, python,
                                         "xz"),
        "dh-virtualenv": lambda: _dh_virtualenv(app("setuptools-dh"), cache),
    }
    return [table[k]() for k in CONTENDER_KEYS if k in keys]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--deps", type=int, choices=sorted(DEP_SETS), default=40,
                   help="the dependency set: 10, 40 (requirements.txt) or 150 distributions")
    p.add_argument("--cache-dir", type=Path,
                   default=Path.home() / ".cache" / "pydebvenv-bench" / "wheels",
                   help="the warm wheel cache (filled once with pip download)")
    p.add_argument("--work-dir", type=Path, default=None,
                   help="where builds go (a new directory inside it; default: a temporary "
                        "directory, removed at the end unless --keep)")
    p.add_argument("--runs", type=int, default=5, help="timed runs of each fast contender")
    p.add_argument("--slow-runs", type=int, default=1,
                   help="runs of dh-virtualenv and of the xz variants")
    p.add_argument("--install-runs", type=int, default=3, help="dpkg -i runs per package")
    p.add_argument("--only", default=",".join(DEFAULT_KEYS),
                   help=f"comma-separated subset of {','.join(CONTENDER_KEYS)}")
    p.add_argument("--python", default="/usr/bin/python3.11",
                   help="interpreter for venv+pip+dpkg-deb (the target's)")
    p.add_argument("--no-install", action="store_true", help="skip the dpkg -i timings")
    p.add_argument("--no-download", action="store_true", help="never run pip download")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    p.add_argument("--floor-worker", nargs="+", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 0 when every selected contender built, 1 otherwise."""
    args = parse_args(argv)
    if args.floor_worker:
        compression, out, *wheels = args.floor_worker
        floor_worker(compression, Path(out), [Path(w) for w in wheels])
        return 0
    keys = [k.strip() for k in args.only.split(",") if k.strip()]
    unknown = sorted(set(keys) - set(CONTENDER_KEYS))
    if unknown:
        raise SystemExit(f"unknown contender(s) {unknown!r}: use {','.join(CONTENDER_KEYS)}")
    deps = DEP_SETS[args.deps]
    cache = args.cache_dir.expanduser().resolve()
    prepare_cache(cache, deps, download=not args.no_download)
    wheels = app_wheels(cache, deps)
    print(f"app: {APP_NAME} {APP_VERSION}, {len(wheels)} pinned wheels "
          f"({sum(w.stat().st_size for w in wheels) / 1e6:.1f} MB) from {cache}")
    print(f"host: {os.cpu_count()} CPUs, load {_load()}; runs: {args.runs} after a warm-up, "
          f"{args.slow_runs} (dh-virtualenv, xz); dpkg -i runs: {args.install_runs}")
    print("compression: pydebvenv: debian-12 default zstd -3, and xz -6 for like-for-like; "
          "dh-virtualenv: dh_builddeb -> dpkg-deb default, xz -6 multi-threaded; "
          "venv+pip: dpkg-deb -Z<name>; floor: pydebvenv's compressor", flush=True)
    if args.work_dir:  # a fresh directory inside it, so reruns never collide
        args.work_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="pydebvenv-bench-", dir=args.work_dir)).resolve()
    outcomes: list[Outcome] = []
    try:
        outcomes = build_all(contenders(keys, cache, args.python, deps, work), work, args.runs,
                             args.slow_runs)
        if not args.no_install and args.install_runs > 0:
            install_all(outcomes, work, args.install_runs)
        figures = report(outcomes, len(wheels))
        print(f"load average at the end: {_load()}")
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2, default=str) + "\n",
                                 encoding="utf-8")
    finally:
        if not args.keep and args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"builds and logs kept in {work}")
    return 0 if all(m.ok for o in outcomes for m in o.builds) else 1


if __name__ == "__main__":
    sys.exit(main())
