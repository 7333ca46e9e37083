"""Benchmark: pydebvenv's write_deb() against what debhelper runs for the same tree.

    .venv/bin/python benchmarks/bench_writer.py [--cache DIR] [--compressors zstd,xz,gzip]
                                                [--packages numpy,pandas,botocore,scipy]
                                                [--copies 1,4] [--repeat 3]

Creates (once, cached) a virtualenv of a few hundred MB with `python -m venv` + `pip install`
(pip runs with tests/support/isolation.isolated_pip_env(), so the machine's pip configuration
cannot change what is installed), then packs the same tree with both tools for each
compressor at dpkg-deb's default levels and prints wall time, CPU time, peak RSS and the
pydebvenv / debhelper time ratio.  `--copies N` puts N copies of the venv side by side in
the package, to see how each figure grows with the payload (4 copies: about 1 GiB).

debhelper's side is what dh_md5sums and dh_builddeb do: `md5sum` over every file of the tree
into DEBIAN/md5sums (dh_md5sums runs it through xargs), then
`dpkg-deb --root-owner-group --build -Z<c>`.  pydebvenv's side is one write_deb() call,
which computes the md5sums itself; walking the tree into entries is this script's job (the
writer never walks the disk) and is included in pydebvenv's time.  No segment cache is used:
host files have no content digest, and the point is the writer's speed.

Runs are interleaved (pydebvenv, debhelper, pydebvenv, ...) so that load from elsewhere hits
both alike; the median is reported.  Peak RSS is the largest single process of each run
(getrusage RUSAGE_CHILDREN of a wrapper); dpkg-deb's tar and compressor run in parallel
processes, so its figure is per process, not a sum.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.isolation import isolated_pip_env  # noqa: E402

VENV_PATH = "usr/share/python/bench"
DEFAULT_PACKAGES = "numpy,pandas,botocore,scipy"
EPOCH = "1700000000"

# Runs in a child process so its RSS is measured alone.
PACK = textwrap.dedent("""
    import os, sys
    from functools import partial
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    from pydebvenv.debfile.control import Control
    from pydebvenv.debfile.entry import Entry
    from pydebvenv.debfile.writer import write_deb

    tree, out, compression = sys.argv[2], Path(sys.argv[3]), sys.argv[4]

    def walk(host, path):
        # os.scandir: one stat per file, cached by the DirEntry
        for item in sorted(os.scandir(host), key=lambda d: d.name):
            sub = f"{path}/{item.name}" if path else item.name
            if item.is_symlink():
                yield Entry(sub, "symlink", 0o777, item.path, link=os.readlink(item.path))
            elif item.is_dir():
                if sub != "DEBIAN":
                    yield Entry(sub, "dir", 0o755, item.path)
                    yield from walk(item.path, sub)
            else:
                st = item.stat()
                mode = 0o755 if st.st_mode & 0o111 else 0o644
                yield Entry(sub, "file", mode, item.path, size=st.st_size,
                            opener=partial(open, item.path, "rb"))

    control = Control("bench", "1.0-1", "amd64", "Bench <bench@example.org>",
                      "benchmark package\\nA virtualenv packed for the benchmark.")
    deb = write_deb(control, walk(tree, ""), out, compression=compression,
                    source_date_epoch=int(os.environ["SOURCE_DATE_EPOCH"]))
    print(deb)
""")

# What dh_md5sums then dh_builddeb run (debhelper 13): md5sum over the files, then dpkg-deb.
DEBHELPER = textwrap.dedent("""\
    set -eu
    cd "$1"
    find . -type f ! -path './DEBIAN/*' -printf '%P\\0' | LC_ALL=C sort -z \\
        | xargs -r0 md5sum > DEBIAN/md5sums
    dpkg-deb --root-owner-group -Z"$2" --build . "$3" >/dev/null
""")

MEASURE = textwrap.dedent("""
    import resource, subprocess, sys, time
    start = time.perf_counter()
    subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(wall, usage.ru_maxrss, usage.ru_utime + usage.ru_stime)
""")


def ensure_venv(cache: Path, packages: list[str]) -> Path:
    """The benchmark virtualenv, created once under ``cache`` (reused when complete)."""
    venv = cache / "venv"
    stamp = cache / ("done-" + "-".join(sorted(packages)))
    if stamp.exists():
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin/python"), "-m", "pip", "install", "--quiet",
                    "--no-compile", *packages], check=True, env=isolated_pip_env())
    stamp.touch()
    return venv


def build_tree(cache: Path, venv: Path, copies: int) -> Path:
    """A dpkg-deb build tree holding ``copies`` copies of the venv and a control file.

    Real copies, never hard links: tar (and so dpkg-deb) stores a file linked twice once,
    as a hard link entry, which would make the payload look smaller than it is.
    """
    tree = cache / f"tree-{copies}"
    if (tree / "DEBIAN/control").exists():
        return tree
    shutil.rmtree(tree, ignore_errors=True)
    for i in range(copies):
        dest = tree / (VENV_PATH if i == 0 else f"{VENV_PATH}{i}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["cp", "-a", str(venv), str(dest)], check=True)
    (tree / "DEBIAN").mkdir()
    (tree / "DEBIAN/control").write_text(
        "Package: bench\nVersion: 1.0-1\nArchitecture: amd64\n"
        "Maintainer: Bench <bench@example.org>\nDescription: benchmark package\n"
        " A virtualenv packed for the benchmark.\n")
    return tree


def measure(cmd: list[str], env: dict[str, str]) -> tuple[float, int, float]:
    """(wall s, peak RSS KiB of the largest process, CPU s of all of them)."""
    out = subprocess.run([sys.executable, "-c", MEASURE, *cmd], check=True,
                         capture_output=True, text=True, env=env).stdout.split()
    return float(out[0]), int(out[1]), float(out[2])


def _no_hard_links(tree: Path) -> None:
    for top, _dirs, files in os.walk(tree):
        for name in files:
            p = Path(top, name)
            if not p.is_symlink() and p.stat().st_nlink > 1:
                raise SystemExit(f"{p} is hard-linked: remove {tree} and run again")


def tree_size(path: Path) -> tuple[int, int]:
    total = count = 0
    for top, _dirs, files in os.walk(path):
        if Path(top).name == "DEBIAN":
            continue
        for name in files:
            p = Path(top, name)
            if not p.is_symlink():
                total += p.stat().st_size
                count += 1
    return total, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path,
                        default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
                        / "pydebvenv-bench")
    parser.add_argument("--compressors", default="zstd,xz,gzip")
    parser.add_argument("--packages", default=DEFAULT_PACKAGES)
    parser.add_argument("--copies", default="1",
                        help="comma-separated numbers of venv copies in the package")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs per tool, interleaved; the median time is reported")
    args = parser.parse_args()

    venv = ensure_venv(args.cache, args.packages.split(","))
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH}
    print(f"{os.cpu_count()} CPUs, load {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"{'payload':>12} {'comp':<5} {'pydebvenv s':>11} {'debhelper s':>11} {'ratio':>6} "
          f"{'py cpu':>7} {'dh cpu':>7} {'py RSS MiB':>10} {'dh RSS MiB':>10} {'py MiB':>7} "
          f"{'dh MiB':>7}")
    for copies in (int(c) for c in args.copies.split(",")):
        tree = build_tree(args.cache, venv, copies)
        _no_hard_links(tree)
        size, count = tree_size(tree)
        label = f"{size / 2**20:.0f}M/{count // 1000}k"
        with tempfile.TemporaryDirectory(dir=args.cache) as tmp:
            for comp in args.compressors.split(","):
                ours_dir, theirs = Path(tmp, "ours"), Path(tmp, "theirs.deb")
                ours: list[tuple[float, int, float]] = []
                theirs_runs: list[tuple[float, int, float]] = []
                tree_size(tree)  # the page cache warm for both tools alike
                for _ in range(args.repeat):
                    shutil.rmtree(ours_dir, ignore_errors=True)
                    ours.append(measure([sys.executable, "-c", PACK, str(ROOT), str(tree),
                                         str(ours_dir), comp], env))
                    theirs_runs.append(measure(["sh", "-c", DEBHELPER, "sh", str(tree), comp,
                                                str(theirs)], env))
                ours_t = statistics.median(r[0] for r in ours)
                theirs_t = statistics.median(r[0] for r in theirs_runs)
                ours_size = sum(p.stat().st_size for p in ours_dir.iterdir())
                print(f"{label:>12} {comp:<5} {ours_t:>11.2f} {theirs_t:>11.2f} "
                      f"{ours_t / theirs_t:>6.2f} "
                      f"{statistics.median(r[2] for r in ours):>7.2f} "
                      f"{statistics.median(r[2] for r in theirs_runs):>7.2f} "
                      f"{max(r[1] for r in ours) / 1024:>10.0f} "
                      f"{max(r[1] for r in theirs_runs) / 1024:>10.0f} "
                      f"{ours_size / 2**20:>7.1f} {theirs.stat().st_size / 2**20:>7.1f}",
                      flush=True)
                shutil.rmtree(ours_dir)
                theirs.unlink()
        (tree / "DEBIAN/md5sums").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
