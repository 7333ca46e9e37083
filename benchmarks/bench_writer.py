"""Benchmark: pydebvenv's write_deb() against `dpkg-deb --build` on a real virtualenv.

    .venv/bin/python benchmarks/bench_writer.py [--cache DIR] [--compressors zstd,xz,gzip]
                                                [--packages numpy,pandas,botocore,scipy]

Creates (once, cached) a virtualenv of a few hundred MB with `python -m venv` + `pip install`
(pip runs with tests/support/isolation.isolated_pip_env(), so the machine's pip configuration
cannot change what is installed), then packs the same tree with both tools for each
compressor at dpkg-deb's default levels and prints wall time, peak RSS and the
pydebvenv/dpkg-deb time ratio.  Walking the tree into entries is this script's job (the
writer never walks the disk); the walk is included in pydebvenv's time.

The comparison is not like for like in one respect: pydebvenv also hashes every file for
control.tar's md5sums (in a thread of its own), which dpkg-deb leaves to dh_md5sums; on a
machine with few cores that CPU time shows in the wall time.

Peak RSS is the largest single process of each run (getrusage RUSAGE_CHILDREN of a
wrapper); dpkg-deb's tar and compressor run in parallel processes, so its figure is per
process, not a sum.
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

# Runs in a child process so its RSS is measured alone.
PACK = textwrap.dedent("""
    import os, sys
    from functools import partial
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    from pydebvenv.debfile.control import Control
    from pydebvenv.debfile.entry import Entry
    from pydebvenv.debfile.writer import write_deb

    venv, prefix, out, compression = sys.argv[2], sys.argv[3], Path(sys.argv[4]), sys.argv[5]

    def walk(host, path):
        # os.scandir: one stat per file, cached by the DirEntry
        for item in sorted(os.scandir(host), key=lambda d: d.name):
            sub = f"{path}/{item.name}"
            if item.is_symlink():
                yield Entry(sub, "symlink", 0o777, item.path, link=os.readlink(item.path))
            elif item.is_dir():
                yield Entry(sub, "dir", 0o755, item.path)
                yield from walk(item.path, sub)
            else:
                st = item.stat()
                mode = 0o755 if st.st_mode & 0o111 else 0o644
                yield Entry(sub, "file", mode, item.path, size=st.st_size,
                            opener=partial(open, item.path, "rb"))

    control = Control("bench", "1.0-1", "amd64", "Bench <bench@example.org>",
                      "benchmark package\\nA virtualenv packed for the benchmark.")
    deb = write_deb(control, walk(venv, prefix), out, compression=compression,
                    source_date_epoch=1700000000)
    print(deb)
""")

MEASURE = textwrap.dedent("""
    import resource, subprocess, sys, time
    start = time.perf_counter()
    subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    print(wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
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


def dpkg_tree(cache: Path, venv: Path) -> Path:
    """A dpkg-deb build tree holding the same venv (hard links) and a DEBIAN/control."""
    tree = cache / "dpkg-tree"
    if (tree / "DEBIAN/control").exists():
        return tree
    shutil.rmtree(tree, ignore_errors=True)
    (tree / VENV_PATH).parent.mkdir(parents=True)
    subprocess.run(["cp", "-al", str(venv), str(tree / VENV_PATH)], check=True)
    (tree / "DEBIAN").mkdir()
    (tree / "DEBIAN/control").write_text(
        "Package: bench\nVersion: 1.0-1\nArchitecture: amd64\n"
        "Maintainer: Bench <bench@example.org>\nDescription: benchmark package\n"
        " A virtualenv packed for the benchmark.\n")
    return tree


def measure(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    out = subprocess.run([sys.executable, "-c", MEASURE, *cmd], check=True,
                         capture_output=True, text=True, env=env).stdout.split()
    return float(out[0]), int(out[1])


def tree_size(path: Path) -> tuple[int, int]:
    total = count = 0
    for top, _dirs, files in os.walk(path):
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
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per tool, interleaved; the median time is reported")
    args = parser.parse_args()

    venv = ensure_venv(args.cache, args.packages.split(","))
    tree = dpkg_tree(args.cache, venv)
    size, count = tree_size(venv)
    print(f"payload: {size / 2**20:.0f} MiB in {count} files ({args.packages}); "
          f"{os.cpu_count()} CPUs")
    tree_size(tree)  # warm the page cache for both tools alike
    env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
    header = (f"{'compressor':<10} {'pydebvenv s':>11} {'dpkg-deb s':>10} {'ratio':>6} "
              f"{'py RSS MiB':>10} {'dpkg RSS MiB':>12} {'py MiB':>7} {'dpkg MiB':>8}")
    print(header)
    with tempfile.TemporaryDirectory(dir=args.cache) as tmp:
        for comp in args.compressors.split(","):
            ours_dir, theirs = Path(tmp, "ours"), Path(tmp, "theirs.deb")
            ours_times, theirs_times = [], []
            ours_rss = theirs_rss = 0
            # Interleaved, so a burst of load from elsewhere hits both tools alike; the
            # median resists outliers better than the best or the mean.
            for _ in range(args.repeat):
                t, rss = measure([sys.executable, "-c", PACK, str(ROOT), str(venv),
                                  VENV_PATH, str(ours_dir), comp])
                ours_times.append(t)
                ours_rss = max(ours_rss, rss)
                t, rss = measure(["dpkg-deb", "--root-owner-group", f"-Z{comp}",
                                  "--build", str(tree), str(theirs)], env=env)
                theirs_times.append(t)
                theirs_rss = max(theirs_rss, rss)
            ours_t = statistics.median(ours_times)
            theirs_t = statistics.median(theirs_times)
            ours_size = sum(p.stat().st_size for p in ours_dir.iterdir())
            print(f"{comp:<10} {ours_t:>11.2f} {theirs_t:>10.2f} {ours_t / theirs_t:>6.2f} "
                  f"{ours_rss / 1024:>10.0f} {theirs_rss / 1024:>12.0f} "
                  f"{ours_size / 2**20:>7.1f} {theirs.stat().st_size / 2**20:>8.1f}", flush=True)
            shutil.rmtree(ours_dir)
            theirs.unlink()


if __name__ == "__main__":
    main()
