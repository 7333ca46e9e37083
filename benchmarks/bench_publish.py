"""Benchmark: adding one package to an APT repository of 1,000, against indexing from scratch.

    .venv/bin/python benchmarks/bench_publish.py [--packages 1000] [--size 200000] [--runs 5]
                                                 [--work-dir DIR] [--keep]

Makes N packages (half ``Architecture: all``, half ``amd64``; each carries ``--size`` bytes
of random data, so reading a .deb costs what reading a real one of that size costs) with
pydebvenv's own writer, and a throwaway gpg key.  Then, each command in its own process:

* ``pydebvenv add-one``: ``pydebvenv publish`` of one new package into the repository that
  already holds the N (the Packages files are the state: only the new .deb is read);
* ``pydebvenv scratch``: ``pydebvenv publish`` of all N+1 into an empty directory;
* ``apt-ftparchive scratch``: what a script without state does: ``apt-ftparchive packages``
  over the whole pool, gzip and xz of the index, ``apt-ftparchive release``, two gpg
  signatures (apt-ftparchive reads every .deb);
* ``apt-ftparchive --db add-one``: apt-ftparchive with its cache database, filled for the N
  beforehand: it reads the new .deb and stats the others.

Every figure is a wall time: median, min and max over ``--runs`` runs (interleaved), and the
ratio of each median to ``pydebvenv add-one``'s.  Signing is included everywhere.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pydebvenv.debfile import Control, file_entry, write_deb  # noqa: E402
from tests.support.gpgkey import gpg_home  # noqa: E402

PUBLISH = [sys.executable, "-m", "pydebvenv", "-q", "publish"]


def make_debs(out: Path, count: int, size: int, prefix: str = "pkg") -> list[Path]:
    """``count`` packages of about ``size`` bytes each, made once and kept in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    debs = []
    for i in range(count):
        arch = "all" if i % 2 else "amd64"
        name = f"{prefix}{i:04d}"
        existing = out / f"{name}_1.0-1_{arch}.deb"
        if existing.is_file():
            debs.append(existing)
            continue
        data = os.urandom(size)  # incompressible: the .deb is as large as the data
        entry = file_entry(f"usr/share/{name}/blob", data, source="bench")
        control = Control(name, "1.0-1", arch, "Bench <bench@example.org>",
                          f"benchmark package {name}\nRandom bytes for the publishing benchmark.",
                          (("Depends", "python3.11"), ("Section", "utils")))
        debs.append(write_deb(control, [entry], out, compression="gzip",
                              source_date_epoch=1_700_000_000))
    return debs


def timed(command: list[str], cwd: Path | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def ftparchive_scratch(repo: Path, debs: list[Path], fingerprint: str, db: Path | None) -> float:
    """Index the pool with apt-ftparchive and sign the Release file; the pool copy is not
    timed (pydebvenv's scratch time includes its copy: that favours apt-ftparchive)."""
    pool = repo / "pool" / "main"
    pool.mkdir(parents=True, exist_ok=True)
    for deb in debs:
        target = pool / deb.name
        if not target.exists():
            shutil.copyfile(deb, target)
    binary = repo / "dists/stable/main/binary-amd64"
    binary.mkdir(parents=True, exist_ok=True)
    database = ["--db", str(db)] if db else []
    script = (
        f"apt-ftparchive {' '.join(database)} packages pool > {binary}/Packages && "
        f"gzip -9nk -f {binary}/Packages && xz -kf {binary}/Packages && "
        "apt-ftparchive -o APT::FTPArchive::Release::Suite=stable "
        "-o APT::FTPArchive::Release::Architectures=amd64 "
        "-o APT::FTPArchive::Release::Components=main "
        "release dists/stable > dists/stable/Release.new && "
        "mv dists/stable/Release.new dists/stable/Release && "
        f"gpg --batch --yes --local-user {fingerprint} --digest-algo SHA512 --clearsign "
        "-o dists/stable/InRelease dists/stable/Release && "
        f"gpg --batch --yes --local-user {fingerprint} --digest-algo SHA512 -abs "
        "-o dists/stable/Release.gpg dists/stable/Release"
    )
    return timed(["sh", "-c", script], cwd=repo)


def report(results: dict[str, list[float]], base: str) -> None:
    reference = statistics.median(results[base])
    print(f"{'contender':<28} {'median':>9} {'min':>9} {'max':>9} {'ratio':>8}")
    for name, times in results.items():
        median = statistics.median(times)
        print(f"{name:<28} {median:>8.3f}s {min(times):>8.3f}s {max(times):>8.3f}s "
              f"{median / reference:>7.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--packages", type=int, default=1000)
    parser.add_argument("--size", type=int, default=200_000, help="bytes of data per package")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--work-dir", type=Path)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="bench-publish-"))
    debs = make_debs(work / "debs", args.packages, args.size)
    extra = make_debs(work / "new", args.runs, args.size, prefix="new")
    total = sum(deb.stat().st_size for deb in debs)
    print(f"{len(debs)} packages, {total / 1e6:.0f} MB in all; {args.runs} runs; "
          f"{os.cpu_count()} CPUs")
    with gpg_home("Bench <bench@example.org>") as (home, keys):
        os.environ["GNUPGHOME"] = str(home)
        fingerprint = keys[0].fingerprint
        base = work / "base"
        shutil.rmtree(base, ignore_errors=True)
        subprocess.run([*PUBLISH, str(base), *map(str, debs)], check=True)
        db = work / "ftparchive.db"
        db.unlink(missing_ok=True)
        db_repo = work / "ftp-db"
        shutil.rmtree(db_repo, ignore_errors=True)
        ftparchive_scratch(db_repo, debs, fingerprint, db)  # fills the cache database

        results: dict[str, list[float]] = {"pydebvenv add-one": [], "apt-ftparchive --db add-one": [],
                                           "pydebvenv scratch": [], "apt-ftparchive scratch": []}
        contenders: dict[str, Callable[[int], float]] = {
            "pydebvenv add-one":
                lambda run: timed([*PUBLISH, str(base), str(extra[run])]),
            "apt-ftparchive --db add-one":
                lambda run: ftparchive_scratch(db_repo, [extra[run]], fingerprint, db),
            "pydebvenv scratch":
                lambda run: timed([*PUBLISH, str(fresh(work / "scratch")),
                                   *map(str, [*debs, extra[run]])]),
            "apt-ftparchive scratch":
                lambda run: ftparchive_scratch(fresh(work / "ftp"), [*debs, extra[run]],
                                               fingerprint, None),
        }
        for run in range(args.runs):
            for name, contender in contenders.items():
                results[name].append(contender(run))
        report(results, "pydebvenv add-one")
    if not args.keep and not args.work_dir:
        shutil.rmtree(work, ignore_errors=True)


def fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    return path


if __name__ == "__main__":
    main()
