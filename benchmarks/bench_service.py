"""What the service costs at install time: `dpkg -i` of examples/webapp with and without it.

    .venv/bin/python benchmarks/bench_service.py [--runs 5] [--json FILE]

Builds examples/webapp 1.0 and 1.1 twice from the e2e wheel cache, offline: as it is (a
service and a timer) and with its [[tool.pydebvenv.services]]/[[...timers]] tables removed.
Then, in interleaved rounds, each in a fresh copy of the Debian 12 root with systemd booted as
PID 1 of its own namespaces (tests/e2e/systemd.py), it times:

* `dpkg -i` of 1.0 (first install; with the service: user creation, enable, start),
* `dpkg -i` of 1.1 over it (upgrade; with the service: the restart on the new code),
* the same two with the service and a /usr/sbin/policy-rc.d that exits 101, so that nothing
  is started or restarted: what the unit's bookkeeping costs without the start itself,
* how long after the start of that first `dpkg -i` the service answers HTTP,
* `systemctl restart webapp` alone, the reference the unit's overhead is compared with,
  timed inside the namespace (`restart`), until the new process accepts a connection on its
  port (`restart until it listens`), and from this host as `dpkg -i` is (`restart via
  nsenter`: that adds the cost of entering the namespaces, as every `dpkg -i` here pays),

and `dpkg -i` of 1.0 in a plain chroot without systemd. It prints medians and the overhead
of the service (with minus without) next to the restart time. A benchmark, not a test:
nothing is asserted. Needs root, debootstrap and network access on first use (the cached
roots and wheels are the e2e tests', under $PYDEBVENV_TEST_CACHE).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))  # tests.e2e helpers and pydebvenv from the tree

import pydebvenv  # noqa: E402
from tests.e2e.chroots import cache_root, cached_chroot, chroot_copy, run_in  # noqa: E402
from tests.e2e.projects import EPOCH, EXAMPLES, copy_example, set_version  # noqa: E402
from tests.e2e.systemd import Systemd, boot, cached_systemd_root  # noqa: E402
from tests.e2e.wheelcache import fill_wheel_cache  # noqa: E402
from tests.support.isolation import isolated_pip_env  # noqa: E402

__all__ = ["main"]

URL = "http://127.0.0.1:8089/health"
# Inside the namespace: the restart's own time, and until the new process listens again
# (the old one closed the port when it stopped), in nanoseconds.
_RESTART = """
start=$(date +%s%N)
systemctl restart webapp
done=$(date +%s%N)
until (exec 3<>/dev/tcp/127.0.0.1/8089) 2>/dev/null; do sleep 0.002; done
listens=$(date +%s%N)
echo $((done - start)) $((listens - start))
"""
_POLICY_101 = "#!/bin/sh\nexit 101\n"


def _build(project: Path, out: Path, cache: Path) -> Path:
    return pydebvenv.build(project, output_dir=out, target="debian-12", arch="amd64",
                           wheel_cache=cache, offline=True,
                           requirements=[project / "requirements.txt"])


def _without_service(project: Path) -> None:
    """Drop the [[tool.pydebvenv.services]] and [[...timers]] tables (the file's last part)."""
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    cut = text.index("# The service:")
    pyproject.write_text(text[:cut], encoding="utf-8")


def build_debs(work: Path, cache: Path) -> dict[tuple[str, str], Path]:
    """(flavour, version) -> .deb, for flavour "service" and "plain"."""
    debs = {}
    for flavour in ("service", "plain"):
        for version in ("1.0", "1.1"):
            project = copy_example("webapp", work / f"{flavour}-{version}")
            if version != "1.0":
                set_version(project, version)
            if flavour == "plain":
                _without_service(project)
            debs[flavour, version] = _build(project, work / f"dist-{flavour}-{version}", cache)
    return debs


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


@contextmanager
def _booted(work: Path) -> Iterator[Systemd]:
    with ExitStack() as stack:
        scratch = Path(tempfile.mkdtemp(prefix="svc-", dir=work))
        root = stack.enter_context(chroot_copy(cached_systemd_root(), scratch))
        yield stack.enter_context(boot(root, scratch / "systemd.log"))


def round_under_systemd(flavour: str, debs: dict[tuple[str, str], Path],
                        work: Path) -> dict[str, float]:
    """One install, upgrade (and, with the service, restarts) under a fresh systemd.

    ``flavour``: "plain", "service", or "service-101" (the service's package under a
    policy-rc.d that forbids every start, restart and stop)."""
    figures: dict[str, float] = {}
    package = "plain" if flavour == "plain" else "service"
    with _booted(work) as sd:
        if flavour == "service-101":
            policy = sd.root / "usr" / "sbin" / "policy-rc.d"
            policy.write_text(_POLICY_101)
            policy.chmod(0o755)
        start = time.perf_counter()
        figures["install"] = _timed(lambda: sd.install(debs[package, "1.0"]))
        if flavour == "service":
            sd.http_get(URL)
            figures["answers"] = time.perf_counter() - start
        figures["upgrade"] = _timed(lambda: sd.install(debs[package, "1.1"]))
        if flavour == "service":
            sd.http_get(URL)
            inside, listens = (int(n) / 1e9 for n in sd.run("bash", "-c", _RESTART).stdout.split())
            figures["restart"], figures["restart until it listens"] = inside, listens
            sd.http_get(URL)
            figures["restart via nsenter"] = _timed(
                lambda: sd.run("systemctl", "restart", "webapp"))
            sd.http_get(URL)
    return figures


def round_in_chroot(flavour: str, debs: dict[tuple[str, str], Path], work: Path) -> float:
    scratch = Path(tempfile.mkdtemp(prefix="chroot-", dir=work))
    with chroot_copy(cached_chroot("debian-12"), scratch) as root:
        inbox = root / "var" / "tmp" / "bench.deb"
        inbox.write_bytes(debs[flavour, "1.0"].read_bytes())
        return _timed(lambda: run_in(root, "dpkg", "-i", "/var/tmp/bench.deb"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        parser.error("run it as root (debootstrap, mounts, namespaces)")
    os.environ.update(isolated_pip_env())
    cache = fill_wheel_cache(cache_root() / "wheels", [EXAMPLES / "webapp" / "requirements.txt"])
    # the PEP 517 build installs flit_core: from the wheel cache only
    os.environ.update(PIP_NO_INDEX="1", PIP_FIND_LINKS=str(cache), SOURCE_DATE_EPOCH=EPOCH)
    print(f"load average at start: {os.getloadavg()[0]:.2f}", flush=True)
    samples: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-service-") as tmp:
        work = Path(tmp)
        debs = build_debs(work, cache)
        cached_systemd_root(), cached_chroot("debian-12")  # made before any timing
        round_under_systemd("service", debs, work)  # untimed warm-up: page cache, first boot
        for i in range(args.runs):
            for flavour in ("service", "plain", "service-101"):
                for name, seconds in round_under_systemd(flavour, debs, work).items():
                    samples.setdefault(f"{flavour} {name}", []).append(seconds)
                if flavour != "service-101":
                    samples.setdefault(f"{flavour} install (no systemd)", []).append(
                        round_in_chroot(flavour, debs, work))
            print(f"round {i + 1}/{args.runs} done", flush=True)
    medians = {name: statistics.median(values) for name, values in samples.items()}
    print(f"\nmedians of {args.runs} rounds, seconds (min - max):")
    for name, values in samples.items():
        print(f"  {name:<36} {medians[name]:6.3f}  ({min(values):.3f} - {max(values):.3f})")
    restart, listens = medians["service restart"], medians["service restart until it listens"]
    print(f"\nsystemctl restart alone: {restart:.3f} s, until the new process listens: "
          f"{listens:.3f} s, via nsenter: {medians['service restart via nsenter']:.3f} s")
    for flavour, steps in (("service", ("install", "upgrade", "install (no systemd)")),
                           ("service-101", ("install", "upgrade"))):
        for step in steps:
            extra = medians[f"{flavour} {step}"] - medians[f"plain {step}"]
            print(f"{flavour} adds {extra:+.3f} s to dpkg -i ({step}): "
                  f"{extra / restart:.1f}x the restart, {extra / listens:.1f}x until it listens")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps({"runs": args.runs, "samples": samples,
                                         "medians": medians}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
