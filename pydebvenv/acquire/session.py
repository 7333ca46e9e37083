"""One fetch's session: pip's resolution for a target, and verified, atomic placing in the cache.

Resolving is ``pip install --dry-run --report`` (the JSON installation report says exactly
what was chosen: name, version, URL, sha256); the files the dry run downloads to read
their metadata are kept in the stage (pip.py's KEEP), so each is downloaded once.  Placing
takes the chosen files the cache lacks from there, or downloads them with ``pip download
--no-deps`` of those exact pins and hashes into the stage inside the cache; each file is
checked against its sha256 and linked into place, so concurrent fetches share one cache
safely and a partial download is never seen.  A file already in the cache is never
replaced by other bytes (a lock may name it), unless it is damaged.
"""

from __future__ import annotations

import contextlib
import json
import os
import tarfile
import tempfile
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from packaging.utils import canonicalize_name

from pydebvenv.acquire.pip import Chosen, PipOutput, progress_args, read_report, run_pip
from pydebvenv.acquire.pip import target_args as pip_target_args
from pydebvenv.acquire.piperrors import HASH_FIX, raise_for
from pydebvenv.errors import FetchError
from pydebvenv.redact import redact
from pydebvenv.target import Target
from pydebvenv.wheels.cache import file_sha256
from pydebvenv.wheels.lock import LockedWheel

__all__ = ["Session", "place", "resolve", "write_lines"]


@dataclass(slots=True)
class Session:
    """State of one fetch: the staging directory inside the cache and the options for pip."""

    cache: Path
    stage: Path  # inside ``cache``: one filesystem, so os.replace is atomic
    out: PipOutput
    index_url: str | None = None  # None: pip's configured (or default) index
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    built: Path = field(init=False)  # wheels made here (and the application's own), find-links
    downloads: Path = field(init=False)  # every file downloaded by this fetch, once
    constraint_args: list[str] = field(default_factory=list)  # ["-c", file] when any
    # linux_<arch>: accepted only once a wheel was compiled here on a host that IS the target
    extra_platforms: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)  # every wheel name pip looked at
    fetched: int = 0  # files placed into the cache by this fetch
    fetched_bytes: int = 0
    hash_fix: str = HASH_FIX  # what a hash mismatch error advises (a lock's pins: re-lock)

    def __post_init__(self) -> None:
        self.built = self.stage / "built"
        self.built.mkdir()
        self.downloads = self.stage / "download"
        self.downloads.mkdir()

    def index_args(self) -> list[str]:
        args: list[str] = []
        if self.no_index:
            args.append("--no-index")
        if self.index_url:
            args += ["--index-url", self.index_url]
        for url in self.extra_index_urls:
            args += ["--extra-index-url", url]
        built = [str(self.built)] if any(self.built.iterdir()) else []
        for link in (*self.find_links, *built):
            args += ["--find-links", link]
        return args

    def target_args(self, target: Target | None) -> list[str]:
        """pip's options for ``target``; none for the host."""
        return [] if target is None else pip_target_args(target, self.extra_platforms)

    def indexes(self) -> list[str]:
        """Every index and find-links location in use, credentials removed (for the lock)."""
        urls = [self.index_url] if self.index_url else []
        urls += list(self.extra_index_urls) + list(self.find_links)
        for var in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
            urls += os.environ.get(var, "").split()
        return [redact(u) for u in urls if u]

    def index_of(self, url: str) -> str:
        """The configured index a file URL most likely came from (same host, longest prefix)."""
        netloc = urlsplit(url).netloc
        candidates = [u for u in self.indexes() if urlsplit(u).netloc == netloc]
        prefix = [u for u in candidates if url.startswith(u.rsplit("/", 1)[0])]
        if prefix or candidates:
            return max(prefix or candidates, key=len)
        if url.startswith("file:"):
            # a wheel built here from an sdist the configured index served
            return self.indexes()[0] if self.indexes() else "file:"
        parts = urlsplit(url)
        return f"{parts.scheme}://{netloc}/"


def write_lines(path: Path, lines: Iterable[str]) -> Path:
    """Write ``lines`` to ``path`` (a requirements file for pip) and return ``path``."""
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def resolve(
    session: Session, requirement_args: Sequence[str], *, target: Target | None, what: str
) -> tuple[int, list[str], list[Chosen]]:
    """pip's resolver for ``target`` (or the host when None): a dry run with a JSON report."""
    report, seen = (_closed_temp(session.stage, suffix) for suffix in (".json", ".seen"))
    scratch = tempfile.mkdtemp(dir=session.stage)  # pip < 26 wants --target with --platform
    args = ["install", "--dry-run", "--ignore-installed", *progress_args(), "--target", scratch,
            "--report", str(report), *session.index_args(), *session.target_args(target)]
    session.out.info(f"resolving {what}")
    rc, lines = run_pip([*args, *requirement_args],
                        marker_env=target.marker_environment() if target else None,
                        out=session.out, keep=session.downloads, seen=seen)
    # an older pip without the hook leaves the file empty: the fallback is not reported
    with contextlib.suppress(OSError, ValueError):
        session.seen.update(json.loads(seen.read_text(encoding="utf-8") or "[]"))
    return rc, lines, (read_report(report) if rc == 0 else [])


def _closed_temp(directory: Path, suffix: str) -> Path:
    """A new empty file for pip to write by name; no handle kept (it would pin the stage)."""
    fd, name = tempfile.mkstemp(dir=directory, suffix=suffix)
    os.close(fd)
    return Path(name)


def place(session: Session, chosen: Sequence[Chosen], *, target: Target | None,
          expected: Mapping[str, frozenset[str]], what: str) -> list[LockedWheel]:
    """Make sure every chosen file is in the cache, verified; download what is missing.

    A cached file with other bytes than the chosen one is kept when it is a wheel built
    here from the same sdist (as good as the new build, and a lock may name it); any other
    intact file with other bytes is an error naming it, a damaged one is fetched again.
    """
    missing: list[Chosen] = []
    locked: dict[str, str] = {}
    for c in chosen:
        allowed = _allowed_hashes(c, expected)
        cached = session.cache / c.filename
        if not cached.is_file():
            missing.append(c)
            continue
        digest = file_sha256(cached)
        if not allowed or digest in allowed or _replaceable_build(session, c, expected):
            locked[c.filename] = digest
        elif _intact(cached):
            raise _conflict(c.filename, cached, digest, allowed)
        else:
            missing.append(c)  # truncated or corrupt: fetched again and replaced
    session.out.info(f"resolved {len(chosen)} file(s) for {what}: "
                     f"{len(chosen) - len(missing)} in the wheel cache, {len(missing)} to fetch")
    if missing:
        _download(session, [c for c in missing if not (session.downloads / c.filename).is_file()],
                  target=target, expected=expected, what=what)
    for done, c in enumerate(missing, 1):
        locked[c.filename] = _move_into_cache(session, c, expected, what)
        session.out.reporter.progress(f"fetching {what}", done, len(missing))
    return [LockedWheel(c.name, c.version, c.filename, locked[c.filename],
                        session.index_of(c.url)) for c in chosen]


def _replaceable_build(session: Session, c: Chosen,
                       expected: Mapping[str, frozenset[str]]) -> bool:
    """Whether ``c`` is a wheel this fetch built from an sdist (in the find-links ``built``)
    that no hash pins: then a cached wheel of that name, built from the same sdist, serves."""
    parts = urlsplit(c.url)
    return (parts.scheme == "file" and Path(unquote(parts.path)).parent == session.built
            and canonicalize_name(c.name) not in expected)


def _intact(path: Path) -> bool:
    """Whether a cached archive reads to its end (a cut download does not)."""
    try:
        if path.name.endswith((".whl", ".zip")):
            with zipfile.ZipFile(path) as archive:
                return archive.testzip() is None
        with tarfile.open(path) as archive:
            for _member in archive:
                pass
        return True
    except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError):
        return False


def _conflict(filename: str, cached: Path, digest: str, allowed: Iterable[str]) -> FetchError:
    return FetchError(
        f"the wheel cache holds {filename!r} with sha256 {digest}, but this fetch chose "
        f"sha256 {' or '.join(sorted(allowed))} for that name; the cached file is kept since "
        f"a lock may name it: delete {str(cached)!r} and run `pydebvenv fetch` again for "
        "every target that uses it"
    )


def _move_into_cache(session: Session, c: Chosen, expected: Mapping[str, frozenset[str]],
                     what: str) -> str:
    """Verify the downloaded ``c`` and put it into the cache (mode 0644); its sha256 there."""
    allowed = _allowed_hashes(c, expected)
    got = session.downloads / c.filename
    if not got.is_file():
        raise FetchError(f"pip did not download {c.filename!r} for {what}; run fetch again "
                         "with -v to see why")
    digest = file_sha256(got)
    if allowed and digest not in allowed:
        raise FetchError(f"hash mismatch for {c.filename!r}: expected sha256 "
                         f"{' or '.join(sorted(allowed))}, got {digest}; {session.hash_fix}")
    os.chmod(got, 0o644)  # the cache is shared: never a private (umask 077) mode
    final = session.cache / c.filename
    size = got.stat().st_size
    if final.is_file() and not _intact(final):
        os.replace(got, final)  # a damaged copy: replaced
    else:
        try:
            os.link(got, final)  # fails when another fetch placed the name meanwhile
        except FileExistsError:
            other = file_sha256(final)
            if other != digest and not _replaceable_build(session, c, expected):
                raise _conflict(c.filename, final, other, {digest}) from None
            digest = other
        except OSError:  # no hard links on this filesystem: rename (same filesystem)
            os.replace(got, final)
    got.unlink(missing_ok=True)
    session.fetched += 1
    session.fetched_bytes += size
    return digest


def _download(session: Session, missing: Sequence[Chosen], *, target: Target | None,
              expected: Mapping[str, frozenset[str]], what: str) -> None:
    """Download ``missing`` into the stage (``pip download``, each pin with its hashes)."""
    if not missing:
        return
    lines = [(f"{c.name} @ {c.url}" if c.direct else f"{c.name}=={c.version}") + "".join(
        f" --hash=sha256:{h}" for h in sorted(_allowed_hashes(c, expected))) for c in missing]
    pinned = write_lines(session.stage / "pinned.txt", lines)
    args = ["download", "--no-deps", *progress_args(), "-d", str(session.downloads),
            *session.index_args(), "-r", str(pinned), *session.target_args(target)]
    rc, out = run_pip(args, marker_env=target.marker_environment() if target else None,
                      out=session.out)
    if rc != 0:
        raise_for(out, f"downloading {what}", session.indexes(), hash_fix=session.hash_fix)


def _allowed_hashes(c: Chosen, expected: Mapping[str, frozenset[str]]) -> frozenset[str]:
    """The user's --hash values for this project when given, else the index's sha256."""
    pinned = expected.get(canonicalize_name(c.name))
    if pinned:
        return frozenset(h.removeprefix("sha256:") for h in pinned)
    return frozenset({c.sha256} if c.sha256 else ())
