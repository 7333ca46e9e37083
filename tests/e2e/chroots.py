"""Debian chroots for the end-to-end tests: made once by debootstrap, cached, copied per test.

A chroot of a foreign architecture (arm64 on an amd64 host) runs its programs under
qemu-user-static through binfmt_misc: debootstrap --foreign unpacks the packages, and the
second stage runs inside the chroot, emulated, as every command run_in starts there does.
"""

from __future__ import annotations

import fcntl
import functools
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "QEMU_MACHINES",
    "RELEASES",
    "Release",
    "apt_mirror",
    "cache_lock",
    "cache_root",
    "cached_chroot",
    "chroot_copy",
    "ensure_emulation",
    "entry_name",
    "host_arch",
    "run_in",
]

#: Debian architecture -> the qemu-user machine (and binfmt_misc entry qemu-<machine>)
QEMU_MACHINES = {"arm64": "aarch64", "armhf": "arm", "ppc64el": "ppc64le", "s390x": "s390x",
                 "riscv64": "riscv64", "i386": "i386"}
_BINFMT = Path("/proc/sys/fs/binfmt_misc")

# The chroot's own PATH and a neutral locale: commands see the target, not the host shell.
_CHROOT_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "LANG": "C.UTF-8",
    "DEBIAN_FRONTEND": "noninteractive",
}


@dataclass(frozen=True, slots=True)
class Release:
    """A Debian release the tests install into (the names match pydebvenv's target table)."""

    target: str  # "debian-12"
    suite: str  # "bookworm"
    python: str  # "python3.11"
    include: tuple[str, ...] = ()


RELEASES: dict[str, Release] = {
    # minbase has dpkg, bash, coreutils, findutils; python3.X brings the interpreter the venv
    # links to. python3-minimal is not pulled in by python3.X (docs/targets.md), and is not needed.
    "debian-11": Release("debian-11", "bullseye", "python3.9"),
    "debian-12": Release("debian-12", "bookworm", "python3.11"),
    # adduser: a package with a service Depends on it (its postinst creates the system user)
    # and dpkg -i leaves a package with missing Depends unconfigured. Bookworm's and
    # bullseye's apt depend on adduser, so their minbase has it; trixie's apt does not.
    "debian-13": Release("debian-13", "trixie", "python3.13", ("adduser",)),
}


def cache_root() -> Path:
    """The directory that keeps chroots and wheels between runs (PYDEBVENV_TEST_CACHE)."""
    env = os.environ.get("PYDEBVENV_TEST_CACHE")
    root = Path(env) if env else Path.home() / ".cache" / "pydebvenv-tests"
    root.mkdir(parents=True, exist_ok=True)
    return root


@contextmanager
def cache_lock(name: str) -> Iterator[None]:
    """An exclusive lock on one cache entry, so parallel workers (xdist) fill it only once."""
    lock = cache_root() / f".{name}.lock"
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _host_codename() -> str:
    text = Path("/etc/os-release").read_text(encoding="utf-8")
    match = re.search(r"^VERSION_CODENAME=\"?([a-z]+)", text, re.MULTILINE)
    return match.group(1) if match else ""


def _source_entries() -> Iterator[tuple[list[str], list[str]]]:
    """(URIs, suites) of every enabled `deb` source: sources.list(5), one-line and deb822."""
    one_line = [
        Path("/etc/apt/sources.list"),
        *sorted(Path("/etc/apt/sources.list.d").glob("*.list")),
    ]
    for path in one_line:
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            words = line.split("#", 1)[0].split()
            if not words or words[0] != "deb":
                continue
            words = words[1:]
            if words and words[0].startswith("["):  # options: [arch=amd64 signed-by=...]
                while words and not words[0].endswith("]"):
                    words = words[1:]
                words = words[1:]
            if len(words) >= 2:
                yield [words[0]], [words[1]]
    for path in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        for stanza in re.split(r"\n\s*\n", path.read_text(encoding="utf-8", errors="replace")):
            fields: dict[str, str] = {}
            for line in stanza.splitlines():
                if line.startswith("#") or ":" not in line or line[0].isspace():
                    continue
                key, value = line.split(":", 1)
                fields[key.strip().lower()] = value.strip()
            if "deb" not in fields.get("types", "").split():
                continue
            if fields.get("enabled", "yes").lower() == "no":
                continue
            yield fields.get("uris", "").split(), fields.get("suites", "").split()


def apt_mirror() -> str:
    """The Debian archive this machine's apt uses, read at run time (PYDEBVENV_TEST_MIRROR wins).

    The main archive is the source that carries the host's own codename as a suite (not
    `-security`, not a third-party `nodistro`): every Debian release lives on that mirror.
    """
    override = os.environ.get("PYDEBVENV_TEST_MIRROR")
    if override:
        return override
    codename = _host_codename()
    for uris, suites in _source_entries():
        if codename in suites and uris:
            return uris[0]
    raise RuntimeError(
        f"no apt source for suite {codename!r} in /etc/apt/sources.list*; "
        "set PYDEBVENV_TEST_MIRROR to a Debian mirror URL"
    )


def _keyring() -> Path | None:
    """The archive keyring that verifies both releases' Release files.

    bookworm's debian-archive-keyring (2023.3+deb12u1 and later) already carries the trixie
    keys, so the default keyring verifies trixie too; PYDEBVENV_TEST_KEYRING can name another.
    """
    override = os.environ.get("PYDEBVENV_TEST_KEYRING")
    if override:
        return Path(override)
    default = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
    return default if default.is_file() else None


@functools.cache
def host_arch() -> str:
    """This machine's Debian architecture (dpkg --print-architecture)."""
    return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                          check=True).stdout.strip()


def ensure_emulation(arch: str) -> None:
    """Make the kernel run ``arch``'s programs through qemu-user-static (binfmt_misc).

    binfmt-support registers the qemu-user-static entries with the F flag, so the
    emulator is opened once by the kernel and works inside any chroot.  The entry is
    enabled here whenever it is missing, before every command run_in starts in such a chroot:
    binfmt_misc is one table for the whole machine, and a systemd booted in a chroot by
    another test runs systemd-binfmt, which manages that table and may empty it.
    """
    entry = _BINFMT / f"qemu-{QEMU_MACHINES[arch]}"
    if not (_BINFMT / "status").exists():
        subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(_BINFMT)],
                       check=True, capture_output=True)
    if not entry.exists() or not entry.read_text(encoding="utf-8").startswith("enabled"):
        subprocess.run(["update-binfmts", "--enable", entry.name], check=True,
                       capture_output=True)


# ELF e_machine (elf(5)) of a chroot's programs -> its Debian architecture
_ELF_ARCHS = {62: "amd64", 183: "arm64", 40: "armhf", 3: "i386", 21: "ppc64el",
              22: "s390x", 243: "riscv64"}


def _emulate_if_foreign(root: Path) -> None:
    """Before a command runs in ``root``: if its programs are of another architecture than
    this machine's, make sure the kernel still emulates them (see ensure_emulation)."""
    try:
        with (root / "usr" / "bin" / "dpkg").open("rb") as f:
            head = f.read(20)
    except OSError:
        return
    little = head[5:6] == b"\x01"  # EI_DATA: ELFDATA2LSB
    arch = _ELF_ARCHS.get(int.from_bytes(head[18:20], "little" if little else "big"))
    if arch is not None and arch in QEMU_MACHINES and arch != host_arch():
        ensure_emulation(arch)


def _debootstrap(release: Release, arch: str, dest: Path, log: Path,
                 extra: tuple[str, ...]) -> None:
    foreign = arch != host_arch()
    cmd = ["debootstrap", "--variant=minbase", f"--arch={arch}"]
    if foreign:
        cmd.append("--foreign")  # unpack only; the second stage runs emulated, below
    cmd.append("--include=" + ",".join((release.python, *release.include, *extra)))
    keyring = _keyring()
    if keyring is not None:
        cmd.append(f"--keyring={keyring}")
    cmd += [release.suite, str(dest), apt_mirror()]
    with log.open("wb") as out:
        proc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, check=False)
        if proc.returncode == 0 and foreign:
            ensure_emulation(arch)
            # a private mount namespace: the /proc the second stage mounts goes with it
            proc = subprocess.run(
                ["unshare", "--mount", "--propagation", "private", "chroot", str(dest),
                 "/debootstrap/debootstrap", "--second-stage"],
                stdout=out, stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
        raise RuntimeError(f"debootstrap {release.suite} {arch} failed ({proc.returncode}):"
                           f"\n{tail}")


def entry_name(release: Release, arch: str, extra: Sequence[str] = ()) -> str:
    """The cache entry of a chroot: the release, the arch and every package asked for beyond
    minbase and the interpreter, so a different package set is a different entry (a change
    never rebuilds an entry that another run may be using as an overlay's lower layer)."""
    packages = sorted({*release.include, *extra})
    return f"{release.target}-{arch}" + "".join(f"+{p}" for p in packages)


def cached_chroot(target: str, arch: str = "amd64", extra: Sequence[str] = ()) -> Path:
    """The cached chroot of `target` (plus the packages `extra`), made by debootstrap on first
    use.

    It is built in a temporary directory beside the cache entry and renamed into place only
    when complete, so an interrupted run never leaves half a chroot that a later run trusts.
    A foreign `arch` is emulated (ensure_emulation), at creation and whenever it is used.
    """
    if arch != host_arch():
        ensure_emulation(arch)
    name = entry_name(RELEASES[target], arch, extra)
    with cache_lock(f"chroot-{name}"):
        return _cached_chroot(RELEASES[target], arch, tuple(sorted(extra)))


def _cached_chroot(release: Release, arch: str, extra: tuple[str, ...]) -> Path:
    name = entry_name(release, arch, extra)
    base = cache_root() / "chroots"
    base.mkdir(parents=True, exist_ok=True)
    final = base / name
    if (final / "usr" / "bin" / release.python).exists():
        return final
    work = Path(tempfile.mkdtemp(prefix=f".tmp-{name}-", dir=base))
    try:
        start = time.monotonic()
        _debootstrap(release, arch, work / "root", base / f"{name}.log", extra)
        # the apt lists and the .debs are not needed to run anything: keep the cache small
        shutil.rmtree(work / "root" / "var" / "cache" / "apt" / "archives", ignore_errors=True)
        (work / "root" / "var" / "cache" / "apt" / "archives" / "partial").mkdir(parents=True)
        seconds = time.monotonic() - start
        (base / f"{name}.seconds").write_text(f"{seconds:.0f}\n", encoding="utf-8")
        if final.exists():  # a stale, incomplete entry from an older layout
            shutil.rmtree(final)
        (work / "root").rename(final)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return final


def _overlay_ok(scratch: Path) -> bool:
    probe = scratch / ".overlay-probe"
    dirs = [probe / n for n in ("l", "u", "w", "m")]
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)
    opts = f"lowerdir={dirs[0]},upperdir={dirs[1]},workdir={dirs[2]}"
    ok = (
        subprocess.run(
            ["mount", "-t", "overlay", "overlay", "-o", opts, str(dirs[3])],
            capture_output=True,
            check=False,
        ).returncode
        == 0
    )
    if ok:
        subprocess.run(["umount", str(dirs[3])], check=True)
    shutil.rmtree(probe, ignore_errors=True)
    return ok


@contextmanager
def chroot_copy(lower: Path, scratch: Path) -> Iterator[Path]:
    """A writable copy of the cached chroot `lower` for one test; changes never reach the cache.

    An overlay mount (lower = the cache, upper/work in `scratch`) costs milliseconds; `cp -a`
    of a minbase chroot (~250 MB) takes seconds, so it is only the fallback.
    """
    root = scratch / "root"
    if os.environ.get("PYDEBVENV_TEST_NO_OVERLAY") != "1" and _overlay_ok(scratch):
        upper, work = scratch / "upper", scratch / "work"
        upper.mkdir()
        work.mkdir()
        root.mkdir()
        opts = f"lowerdir={lower},upperdir={upper},workdir={work}"
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o", opts, str(root)], check=True)
        try:
            yield root
        finally:
            subprocess.run(["umount", "--lazy", str(root)], check=False)
    else:
        subprocess.run(["cp", "-a", str(lower), str(root)], check=True)
        try:
            yield root
        finally:
            shutil.rmtree(root, ignore_errors=True)


def run_in(
    root: Path,
    *cmd: str,
    check: bool = True,
    env: dict[str, str] | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `cmd` chrooted into `root` with /proc mounted, in a private mount namespace.

    The namespace (unshare(1) --mount) takes the /proc mount away when the command ends, so
    nothing is left mounted inside the chroot copy, even when a test is interrupted.
    """
    _emulate_if_foreign(root)
    script = 'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"'
    argv: Sequence[str] = [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        script,
        str(root),
        *cmd,
    ]
    proc = subprocess.run(
        argv,
        env={**_CHROOT_ENV, **(env or {})},
        capture_output=True,
        text=True,
        input=input,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"command {list(cmd)!r} failed in {root} with exit code {proc.returncode}\n"
            f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
        )
    return proc
