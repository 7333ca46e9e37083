"""Byte-compiling the venv at build time: the opt-in alternative to compiling in the postinst.

Makes PEP 552 checked-hash pycs, which only a host running the target's exact CPython X.Y
can make, and ships them as one gzipped tar per wheel in ``<venv>/lib/pydebvenv-bytecode/``,
which the postinst unpacks into the ``__pycache__`` directories (debian/maintscripts.py):
dpkg syncs every file it unpacks to disk, one by one, which for thousands of pycs costs more
than writing them (docs/bytecode.md, "Shipping the byte code").  The sources are compiled on
as many processes as there are CPUs (``compile`` holds the GIL), and each wheel's bundle is
kept in a cache directory under a key made of the interpreter and the sources' paths and
content names (Entry.digest): a rebuild compiles only the wheels that changed.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import io
import json
import marshal
import os
import posixpath
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from pydebvenv.debfile.entry import Entry, file_entry
from pydebvenv.errors import BuildError

if TYPE_CHECKING:
    from pydebvenv.target import Target

__all__ = ["BUNDLES", "bytecode_magic", "compile_entries", "pyc_bytes"]

#: where the bundles go, relative to the venv
BUNDLES = "lib/pydebvenv-bytecode"
_CACHE_LIMIT = 1 << 30  # bytes of kept bundles
_SOURCE = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def bytecode_magic() -> str:
    """The magic number (hex) of the pycs this host makes: the postinst unpacks them only
    for an interpreter with the same one."""
    return importlib.util.MAGIC_NUMBER.hex()


def pyc_bytes(source: bytes, dfile: str) -> bytes | None:
    """A PEP 552 checked-hash pyc of ``source`` (None when it does not compile).

    The layout importlib writes for hash-based pycs: the magic number, the flags (0b11:
    hash-based, checked), the source hash, the marshalled code object.  ``dfile`` is the
    path tracebacks show (the file's final path on the target).
    """
    try:
        code = compile(source, dfile, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return None  # as compileall: a file that does not compile gets no pyc
    return (importlib.util.MAGIC_NUMBER + (0b11).to_bytes(4, "little")
            + importlib.util.source_hash(source) + marshal.dumps(code))


def _compile_all(items: Sequence[tuple[bytes, str]]) -> list[bytes | None]:
    return [pyc_bytes(source, dfile) for source, dfile in items]


def compile_entries(venv: str, target: Target, entries: Iterable[Entry], *,
                    cache_dir: Path | None = None) -> tuple[Entry, ...]:
    """``entries`` plus one bundle of PEP 552 checked-hash pycs per wheel (Entry.group),
    for every ``.py`` in site-packages.

    Only possible when this host runs CPython of the target's exact X.Y (the pyc format and
    magic number change with every minor version; docs/bytecode.md): this is the one place
    that reads ``sys.version_info``, to answer "can this host produce the target's pycs".
    ``co_filename`` names the final path.  Checked-hash pycs do not depend on mtimes, and
    the bundles hold no time, owner or name of the host, so the output is reproducible.
    Files that do not compile are left to be compiled in memory.  ``cache_dir`` keeps each
    bundle for the next build.
    """
    host = (sys.implementation.name, sys.version_info[:2])
    if host != ("cpython", target.python_version):
        raise BuildError(
            f"cannot byte-compile for {target.name} (CPython {target.pyver}) on a host running "
            f"{host[0]} {host[1][0]}.{host[1][1]}; build with Python {target.pyver} or leave "
            "compilation to the postinst"
        )
    entries = tuple(entries)
    site = posixpath.join(venv, target.site_packages).lstrip("/") + "/"
    tag = f"cpython-{target.python_version[0]}{target.python_version[1]}"
    groups: dict[str, list[tuple[Entry, str]]] = {}
    for entry in sorted(entries, key=lambda e: e.path):
        if entry.kind == "file" and entry.path.startswith(site) and entry.path.endswith(".py"):
            head, base = posixpath.split(entry.path[len(site):])
            pyc = posixpath.join(head, "__pycache__", f"{base[:-3]}.{tag}.pyc")
            groups.setdefault(entry.group, []).append((entry, pyc))
    keys = {group: _group_key(group, members) for group, members in groups.items()}
    found = {g: _kept(Path(cache_dir), k) for g, k in keys.items()} if cache_dir else {}
    misses = [(g, m) for g, m in sorted(groups.items()) if found.get(g) is None]
    made = dict(zip([g for g, _ in misses], _compile_missing([m for _, m in misses]),
                    strict=True))
    added = []
    for group in sorted(groups):
        path = f"{venv.lstrip('/')}/{BUNDLES}/{keys[group][:16]}.tar.gz"
        kept = found.get(group)
        if kept is None and cache_dir is not None:
            kept = _keep(Path(cache_dir), keys[group], made[group])
        if kept is not None:
            file, sha = kept
            added.append(Entry(path, "file", 0o644, f"byte code bundle {file.name}",
                               size=file.stat().st_size, opener=_checked(file, sha),
                               digest=f"sha256:{sha}", group=group))
        else:
            added.append(file_entry(path, made[group], source="byte code bundle",
                                    group=group))
    if cache_dir is not None and misses:
        _prune(Path(cache_dir))
    return entries + tuple(added)


def _group_key(group: str, members: list[tuple[Entry, str]]) -> str:
    # this module's code decides what a bundle holds and how it is laid out
    rows: list[object] = [_SOURCE, sys.version, bytecode_magic(), group]
    for entry, pyc in members:
        rows.append([entry.path, pyc, entry.digest or _content_digest(entry)])
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


def _content_digest(entry: Entry) -> str:
    with entry.open() as stream:
        return "sha256:" + hashlib.sha256(stream.read()).hexdigest()


def _compile_missing(groups: Sequence[list[tuple[Entry, str]]]) -> list[bytes]:
    """Each group's bundle (a gzipped tar of its pycs), compiled on a process pool."""
    if not groups:
        return []
    jobs: list[list[tuple[bytes, str]]] = []
    for members in groups:
        sources = []
        for entry, _pyc in members:
            with entry.open() as stream:  # a wheel member's RECORD hash is checked here
                sources.append((stream.read(), "/" + entry.path))
        jobs.append(sources)
    batches = [(i, sources[k:k + 64]) for i, sources in enumerate(jobs)
               for k in range(0, len(sources), 64)]
    compiled: dict[int, list[bytes | None]] = {i: [] for i in range(len(jobs))}
    if batches:
        workers = max(1, min(os.cpu_count() or 1, 8, len(batches)))
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for (i, _), result in zip(batches, pool.map(_compile_all,
                                                        [b for _, b in batches]), strict=True):
                compiled[i].extend(result)
    return [_bundle([(pyc, data) for (_, pyc), data in zip(members, compiled[i], strict=True)
                     if data is not None]) for i, members in enumerate(groups)]


def _bundle(pycs: list[tuple[str, bytes]]) -> bytes:
    """A gzipped tar of ``pycs`` that says nothing about the host: no time, owner or name."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data in pycs:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            info.uname = info.gname = "root"
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), compresslevel=6, mtime=0)


def _keep(directory: Path, key: str, data: bytes) -> tuple[Path, str] | None:
    """Store a bundle as ``<key>.<sha256>.tar.gz`` (temporary name, then rename)."""
    sha = hashlib.sha256(data).hexdigest()
    path = directory / f"{key}.{sha}.tar.gz"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temp, path)
    except OSError:
        return None  # only a speed-up: the bundle is shipped from memory
    return path, sha


def _kept(directory: Path, key: str) -> tuple[Path, str] | None:
    """The stored bundle of ``key`` if its content still has the sha256 in its name."""
    for path in directory.glob(f"{key}.*.tar.gz"):
        sha = path.name[len(key) + 1:-len(".tar.gz")]
        try:
            if hashlib.sha256(path.read_bytes()).hexdigest() == sha:
                os.utime(path)  # recently used: pruned last
                return path, sha
            path.unlink()  # damaged: never used
        except OSError:
            continue
    return None


def _checked(path: Path, sha: str) -> Callable[[], BinaryIO]:
    def opener() -> BinaryIO:
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != sha:
            raise BuildError(f"the byte code bundle {str(path)!r} changed during the build; "
                             "build again")
        return io.BytesIO(data)

    return opener


def _prune(directory: Path, limit: int = _CACHE_LIMIT) -> None:
    """Remove the least recently used bundles past ``limit`` bytes."""
    found = []
    for item in directory.glob("*.tar.gz"):
        try:
            st = item.stat()
        except OSError:
            continue
        found.append((st.st_mtime, st.st_size, item))
    total = sum(size for _, size, _ in found)
    for _, size, item in sorted(found):
        if total <= limit:
            break
        item.unlink(missing_ok=True)
        total -= size
