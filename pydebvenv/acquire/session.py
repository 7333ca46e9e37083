"""One fetch's session: pip's resolution for a target, and verified, atomic placing in the cache.

Resolving is ``pip install --dry-run --report`` (the JSON installation report says exactly
what was chosen: name, version, URL, sha256).  Placing downloads what the cache lacks with
``pip download --no-deps`` of those exact pins and hashes into a staging directory inside
the cache; each file is checked against its sha256 and moved into place with ``os.replace``,
so concurrent fetches share one cache safely and a partial download is never seen.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from packaging.utils import canonicalize_name

from pydebvenv.acquire.pip import Chosen, PipOutput, progress_args, read_report, run_pip
from pydebvenv.acquire.pip import target_args as pip_target_args
from pydebvenv.acquire.piperrors import raise_for
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
    constraint_args: list[str] = field(default_factory=list)  # ["-c", file] when any
    # linux_<arch>: accepted only once a wheel was compiled here on a host that IS the target
    extra_platforms: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.built = self.stage / "built"
        self.built.mkdir()

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
    fd, name = tempfile.mkstemp(dir=session.stage, suffix=".json")
    os.close(fd)  # pip writes the report by name; an open handle would pin the stage
    report = Path(name)
    scratch = tempfile.mkdtemp(dir=session.stage)  # pip < 26 wants --target with --platform
    args = ["install", "--dry-run", "--ignore-installed", *progress_args(), "--target", scratch,
            "--report", str(report), *session.index_args(), *session.target_args(target)]
    session.out.info(f"resolving {what}")
    rc, lines = run_pip([*args, *requirement_args],
                        marker_env=target.marker_environment() if target else None,
                        out=session.out)
    return rc, lines, (read_report(report) if rc == 0 else [])


def place(session: Session, chosen: Sequence[Chosen], *, target: Target | None,
          expected: Mapping[str, frozenset[str]], what: str) -> list[LockedWheel]:
    """Make sure every chosen file is in the cache, verified; download what is missing."""
    missing: list[Chosen] = []
    for c in chosen:
        allowed = _allowed_hashes(c, expected)
        cached = session.cache / c.filename
        if cached.is_file() and (not allowed or file_sha256(cached) in allowed):
            continue  # already there and verified (a corrupt cached file is fetched again)
        missing.append(c)
    if missing:
        _download(session, missing, target=target, expected=expected, what=what)
    locked = []
    for c in chosen:
        allowed = _allowed_hashes(c, expected)
        digest = file_sha256(session.cache / c.filename)
        if allowed and digest not in allowed:  # another fetch replaced it with other bytes
            raise FetchError(f"hash mismatch for {c.filename!r} in the cache: got {digest}; "
                             "delete the file from the wheel cache and fetch again")
        locked.append(LockedWheel(c.name, c.version, c.filename, digest, session.index_of(c.url)))
    return locked


def _download(session: Session, missing: Sequence[Chosen], *, target: Target | None,
              expected: Mapping[str, frozenset[str]], what: str) -> None:
    """Download ``missing`` into the stage, verify each, move it into the cache atomically."""
    downloads = session.stage / "download"
    downloads.mkdir(exist_ok=True)
    lines = [(f"{c.name} @ {c.url}" if c.direct else f"{c.name}=={c.version}") + "".join(
        f" --hash=sha256:{h}" for h in sorted(_allowed_hashes(c, expected))) for c in missing]
    pinned = write_lines(session.stage / "pinned.txt", lines)
    args = ["download", "--no-deps", *progress_args(), "-d", str(downloads),
            *session.index_args(), "-r", str(pinned), *session.target_args(target)]
    session.out.info(f"downloading {len(missing)} file(s) for {what}")
    rc, out = run_pip(args, marker_env=target.marker_environment() if target else None,
                      out=session.out)
    if rc != 0:
        raise_for(out, f"downloading {what}", session.indexes())
    for c in missing:
        got = downloads / c.filename
        if not got.is_file():
            raise FetchError(f"pip did not download {c.filename!r} for {what}; set "
                             "PIP_VERBOSE=1 and run again to see why")
        digest = file_sha256(got)
        allowed = _allowed_hashes(c, expected)
        if allowed and digest not in allowed:
            raise FetchError(f"hash mismatch for {c.filename!r}: expected sha256 "
                             f"{' or '.join(sorted(allowed))}, got {digest}; fix the --hash "
                             "in the requirements or check the index")
        os.replace(got, session.cache / c.filename)  # atomic: same filesystem as the cache


def _allowed_hashes(c: Chosen, expected: Mapping[str, frozenset[str]]) -> frozenset[str]:
    """The user's --hash values for this project when given, else the index's sha256."""
    pinned = expected.get(canonicalize_name(c.name))
    if pinned:
        return frozenset(h.removeprefix("sha256:") for h in pinned)
    return frozenset({c.sha256} if c.sha256 else ())
