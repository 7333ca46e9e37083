"""publish(): add .deb files to an APT repository so that readers never see it broken.

The order of the writes is what keeps clients safe (docs/repository.md):

1. every new .deb is verified (read_deb), copied into the pool under a temporary name and
   renamed into place; nothing names it yet, so a half-done publish is invisible;
2. each changed Packages index is written under ``by-hash/SHA256/<sha256>`` (new names, so a
   client holding the previous Release still finds the files it names), then renamed over
   ``Packages``, ``Packages.gz``, ``Packages.xz``;
3. the Release file, InRelease and Release.gpg are written under temporary names, signed,
   and renamed last: from that instant clients see the new state, all of it;
4. only then are pruned .deb files and old by-hash copies removed.

The existing Packages files are the state: their stanzas are read back as text, so only the
new .debs are read and hashed (cost grows with what is added, not with the repository).
Concurrent publishes wait for each other on a lock file at the repository's root.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from pydebvenv.debfile.control import validate_architecture
from pydebvenv.debfile.reader import read_deb
from pydebvenv.errors import ArchiveError, ConfigError, PublishError
from pydebvenv.repo import files
from pydebvenv.repo.debversion import version_key
from pydebvenv.repo.pool import binary_dir, check_name, pool_filename, remove_empty_dirs
from pydebvenv.repo.release import (
    IndexFile,
    Release,
    parse_date,
    parse_release,
    render_release,
)
from pydebvenv.repo.sign import SigningKey, find_signing_key, is_signed_by, sign_release
from pydebvenv.repo.stanza import Stanza, parse_packages, render_packages, stanza_for

__all__ = ["BY_HASH_GENERATIONS", "DEFAULT_ARCHITECTURES", "PublishResult", "publish"]

#: The architectures indexed when the repository holds only ``Architecture: all`` packages
#: and none was asked for: apt on a host whose architecture the Release file does not list
#: skips the repository, so an all-only repository must still name some.
DEFAULT_ARCHITECTURES = ("amd64", "arm64")
#: How many generations of each index stay under by-hash: a client that fetched an older
#: InRelease just before a publish still finds the indexes it names.
BY_HASH_GENERATIONS = 8
_INDEXES = ("Packages", "Packages.gz", "Packages.xz")


@dataclass(frozen=True, slots=True)
class PublishResult:
    """What a publish did: pool paths added, already there, removed by ``keep``."""

    repo: Path
    suite: str
    component: str
    added: tuple[str, ...]
    unchanged: tuple[str, ...]
    removed: tuple[str, ...]
    architectures: tuple[str, ...]
    components: tuple[str, ...]
    signed_by: str | None  # the key's fingerprint; None when published --unsigned
    changed: bool  # False: nothing to do, the repository was left as it was


@dataclass(frozen=True, slots=True)
class _Incoming:
    source: Path
    staged: Path
    stanza: Stanza


def publish(
    repo_dir: str | os.PathLike[str],
    debs: Sequence[str | os.PathLike[str]],
    *,
    suite: str = "stable",
    component: str = "main",
    sign_key: str | None = None,
    unsigned: bool = False,
    origin: str | None = None,
    label: str | None = None,
    codename: str | None = None,
    architectures: Sequence[str] = (),
    keep: int | None = None,
    now: datetime | None = None,
) -> PublishResult:
    """Add ``debs`` to the repository in ``repo_dir`` (created when missing) and sign it.

    ``sign_key`` names the gpg secret key (default: gpg's first secret key in
    ``$GNUPGHOME``); ``unsigned=True`` publishes without a signature, which apt refuses
    unless the host trusts the repository explicitly.  ``origin``, ``label`` and
    ``codename`` (default: the suite) are kept from the existing Release file when not given;
    ``architectures`` adds architectures to index ``Architecture: all`` packages for;
    ``keep`` prunes each package to its ``keep`` newest versions; ``now`` is the Release
    file's Date (default: the current time).
    """
    repo = Path(repo_dir).absolute()
    check_name("suite", suite)
    check_name("component", component)
    if codename is not None:
        check_name("codename", codename)
    for text, what in ((origin, "origin"), (label, "label")):
        if text is not None and (not text.strip() or "\n" in text or text != text.strip()):
            raise ConfigError(f"invalid {what} {text!r}: give one line of text")
    if keep is not None and (isinstance(keep, bool) or not isinstance(keep, int) or keep < 1):
        raise ConfigError(f"invalid keep {keep!r}: give the number of versions to keep (1 or "
                          "more)")
    wanted_arches = _check_arches(architectures)
    if not debs:
        raise ConfigError("no .deb given: name the packages to publish")
    signer = None if unsigned else find_signing_key(sign_key)
    with files.publish_lock(repo):
        return _publish_locked(repo, [Path(d) for d in debs], suite, component, signer,
                               origin, label, codename, wanted_arches, keep, now)


def _check_arches(architectures: Iterable[str]) -> set[str]:
    arches = set()
    for arch in architectures:
        try:
            validate_architecture(arch)
        except ArchiveError as exc:
            raise ConfigError(str(exc)) from None
        if arch == "all":
            raise ConfigError("architecture 'all' is not indexed on its own: Architecture: "
                              "all packages are listed for every architecture; name real ones")
        arches.add(arch)
    return arches


def _publish_locked(repo: Path, debs: list[Path], suite: str, component: str,
                    signer: SigningKey | None, origin: str | None, label: str | None,
                    codename: str | None, wanted_arches: set[str], keep: int | None,
                    now: datetime | None) -> PublishResult:
    suite_dir = repo / "dists" / suite
    old_text = _read_text(suite_dir / "Release")
    old = parse_release(old_text) if old_text is not None else {}
    if signer is None and (suite_dir / "InRelease").exists():
        raise PublishError(f"{suite_dir / 'InRelease'} exists: the suite is signed, and "
                           "publishing --unsigned would make every host refuse it; sign with "
                           "--sign-key (or delete InRelease and Release.gpg first)")
    _clean_leftovers(repo)
    state, disk_arches = _load_state(suite_dir)
    entries = state.setdefault(component, {})

    stage = Path(tempfile.mkdtemp(prefix=".publish-", suffix=files.TMP_SUFFIX, dir=repo))
    try:
        incoming = [_stage(deb, stage, component) for deb in debs]
        added, unchanged = _plan(incoming, entries, f"{suite}/{component}")
        files.sync_files(item.staged for item in added)
        for item in added:  # 1. the pool, before anything names the files
            _place(repo, item)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    for item in added:
        entries[item.stanza.filename] = item.stanza
    removed = _prune(entries, keep)
    for name in removed:
        del entries[name]

    arches = set(old.get("Architectures", "").split()) | disk_arches | wanted_arches
    arches |= {s.architecture for comp in state.values() for s in comp.values()}
    arches.discard("all")
    architectures = tuple(sorted(arches or DEFAULT_ARCHITECTURES))
    components = tuple(sorted(set(old.get("Components", "").split()) | set(state)))

    indexes = [index for comp in components for arch in architectures  # 2. the indexes
               for index in _write_index(suite_dir, comp, arch, state.get(comp, {}))]
    old_date = parse_date(old.get("Date", ""))
    moment = (now or datetime.now(UTC)).replace(microsecond=0)
    release = Release(
        suite=suite, codename=codename or old.get("Codename") or suite,
        date=max(moment, old_date) if old_date else moment,  # never back in time
        architectures=architectures, components=components, files=tuple(indexes),
        origin=origin or old.get("Origin"), label=label or old.get("Label"))
    changed = not _unchanged(release, old_text, old_date, suite_dir, signer)
    if changed:
        _write_release(suite_dir, release, signer)  # 3. Release and its signatures, last
    _delete_pool_files(repo, removed)  # 4. what nothing names any more
    for comp in components:
        for arch in architectures:
            _prune_by_hash(binary_dir(suite_dir, comp, arch) / "by-hash" / "SHA256", indexes)
    return PublishResult(
        repo=repo, suite=suite, component=component,
        added=tuple(item.stanza.filename for item in added),
        unchanged=tuple(unchanged), removed=tuple(sorted(removed)),
        architectures=architectures, components=components,
        signed_by=signer.fingerprint if signer else None, changed=changed)


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise PublishError(f"cannot read {str(path)!r}: {exc}") from None


def _clean_leftovers(repo: Path) -> None:
    """Staging directories of publishes that were killed (the lock says none is running)."""
    for entry in os.scandir(repo):
        if entry.name.startswith(".publish-") and entry.name.endswith(files.TMP_SUFFIX):
            shutil.rmtree(entry.path, ignore_errors=True)


def _load_state(suite_dir: Path) -> tuple[dict[str, dict[str, Stanza]], set[str]]:
    """Every component's stanzas by pool path, read back from the Packages files on disk, and
    the architectures indexed there (arch:all stanzas appear once per architecture)."""
    state: dict[str, dict[str, Stanza]] = {}
    arches: set[str] = set()
    for packages in sorted(suite_dir.glob("*/binary-*/Packages")):
        comp, arch = packages.parent.parent.name, packages.parent.name[len("binary-"):]
        arches.add(arch)
        text = _read_text(packages) or ""
        where = str(packages.relative_to(suite_dir.parent.parent))
        known = state.setdefault(comp, {})
        for stanza in parse_packages(text, where):
            known.setdefault(stanza.filename, stanza)
    return state, arches


def _stage(deb: Path, stage: Path, component: str) -> _Incoming:
    """Verify ``deb``, copy it into the staging directory and make its stanza."""
    info = read_deb(deb)  # the whole package checked: a fleet must not get a broken one
    staged, hashes = files.copy_hashed(deb, stage)
    filename = pool_filename(component, info.control, str(deb))
    return _Incoming(deb, staged, stanza_for(info.control, filename, hashes.size, hashes.md5,
                                             hashes.sha256))


def _plan(incoming: list[_Incoming], entries: dict[str, Stanza],
          where: str) -> tuple[list[_Incoming], list[str]]:
    """Split the incoming files into new ones and ones already listed with the same bytes;
    the same package, version and architecture with other bytes is refused."""
    listed = {stanza.key: stanza for stanza in entries.values()}
    added: list[_Incoming] = []
    unchanged: list[str] = []
    for item in incoming:
        stanza = item.stanza
        before = listed.get(stanza.key)
        if before is None:
            listed[stanza.key] = stanza
            added.append(item)
        elif before.sha256 == stanza.sha256:
            if before.filename not in unchanged and all(a.stanza is not before for a in added):
                unchanged.append(before.filename)
        else:
            package, version, arch = stanza.key
            raise PublishError(
                f"{str(item.source)!r}: {package} {version} ({arch}) is already in {where} with "
                f"other bytes (sha256 {before.sha256[:16]}...); a published version never "
                "changes: build it with a new version or revision")
    return added, unchanged


def _place(repo: Path, item: _Incoming) -> None:
    dest = repo / item.stanza.filename
    if dest.exists():
        if files.hash_file(dest).sha256 != item.stanza.sha256:
            raise PublishError(f"{str(item.source)!r}: {item.stanza.filename} already holds "
                               "other bytes (published to another suite?); a published version "
                               "never changes: build it with a new version or revision")
        return  # the same file, left by another suite or an interrupted publish
    dest.parent.mkdir(parents=True, exist_ok=True)
    files.replace(item.staged, dest)


def _prune(entries: dict[str, Stanza], keep: int | None) -> list[str]:
    """The pool paths beyond the ``keep`` newest versions of each package and architecture."""
    if keep is None:
        return []
    groups: dict[tuple[str, str], list[Stanza]] = defaultdict(list)
    for stanza in entries.values():
        groups[stanza.package, stanza.architecture].append(stanza)
    removed = []
    for group in groups.values():
        group.sort(key=lambda s: version_key(s.version), reverse=True)
        removed += [stanza.filename for stanza in group[keep:]]
    return removed


def _write_index(suite_dir: Path, component: str, arch: str,
                 entries: dict[str, Stanza]) -> list[IndexFile]:
    """The Packages files of one component and architecture, rewritten only if they change;
    by-hash copies first, then the named files."""
    directory = binary_dir(suite_dir, component, arch)
    data = render_packages(s for s in entries.values() if s.architecture in (arch, "all"))
    plain = directory / "Packages"
    current = plain.read_bytes() if plain.is_file() else None
    names = [directory / name for name in _INDEXES]
    if current == data and all(path.is_file() for path in names):
        contents = {path: path.read_bytes() for path in names}
        rewrite = False
    else:
        contents = {names[0]: data, names[1]: files.gzip_bytes(data),
                    names[2]: files.xz_bytes(data)}
        rewrite = True
        files.remove_temporaries(directory)
    hashes = {path: files.hash_bytes(content) for path, content in contents.items()}
    by_hash = directory / "by-hash" / "SHA256"
    files.remove_temporaries(by_hash)
    for path, content in contents.items():
        target = by_hash / hashes[path].sha256
        if not target.is_file():  # also for an index written before by-hash was kept
            files.write_atomic(target, content)
    if rewrite:
        # compressed first: apt fetches those; the plain file is the state the next publish
        # reads back
        for path in reversed(names):
            files.write_atomic(path, contents[path])
    return [IndexFile(path.relative_to(suite_dir).as_posix(), hashes[path].size,
                      hashes[path].md5, hashes[path].sha256) for path in names]


def _unchanged(release: Release, old_text: str | None, old_date: datetime | None,
               suite_dir: Path, signer: SigningKey | None) -> bool:
    """Whether the Release file would say what it says now (apart from Date) and carries the
    right signature: then publishing again changes nothing."""
    if old_text is None or old_date is None:
        return False
    if render_release(replace(release, date=old_date)) != old_text.encode("utf-8"):
        return False
    if signer is None:
        return not (suite_dir / "Release.gpg").exists()
    return (suite_dir / "Release.gpg").is_file() and is_signed_by(signer,
                                                                    suite_dir / "InRelease")


def _write_release(suite_dir: Path, release: Release, signer: SigningKey | None) -> None:
    files.remove_temporaries(suite_dir)
    text = files.write_temporary(suite_dir / "Release", render_release(release))
    try:
        if signer is None:
            _newer_than_before(suite_dir, (text,))
            files.replace(text, suite_dir / "Release")
            return
        inline = files.write_temporary(suite_dir / "InRelease", b"")
        detached = files.write_temporary(suite_dir / "Release.gpg", b"")
        try:
            sign_release(signer, text, inline, detached)
            for path in (inline, detached):
                path.chmod(0o644)
            _newer_than_before(suite_dir, (text, inline, detached))
            # InRelease last: apt reads it first and falls back to Release + Release.gpg
            files.replace(detached, suite_dir / "Release.gpg")
            files.replace(text, suite_dir / "Release")
            files.replace(inline, suite_dir / "InRelease")
        finally:
            inline.unlink(missing_ok=True)
            detached.unlink(missing_ok=True)
    finally:
        text.unlink(missing_ok=True)


def _newer_than_before(suite_dir: Path, paths: Iterable[Path]) -> None:
    """Give the new Release files a modification time at least a whole second after the old
    ones: HTTP servers answer If-Modified-Since from the mtime in whole seconds, so a Release
    replaced within the same second would be "not modified" to a client that just fetched the
    old one, which would then keep it until the next publish."""
    before = [path.stat().st_mtime for path in (suite_dir / "Release", suite_dir / "InRelease")
              if path.exists()]
    moment = max([time.time(), *(math.floor(t) + 1 for t in before)])
    for path in paths:
        os.utime(path, (moment, moment))


def _referenced(repo: Path) -> set[str]:
    """Every pool path some index of some suite names (a pool file may serve several)."""
    names: set[str] = set()
    for packages in (repo / "dists").glob("*/*/binary-*/Packages"):
        for line in (_read_text(packages) or "").splitlines():
            if line.lower().startswith("filename:"):
                names.add(line.split(":", 1)[1].strip())
    return names


def _delete_pool_files(repo: Path, removed: Iterable[str]) -> None:
    removed = [name for name in removed if name]
    if not removed:
        return
    still = _referenced(repo)
    for name in removed:
        if name in still:
            continue
        path = repo / name
        path.unlink(missing_ok=True)
        remove_empty_dirs(path.parent, repo / "pool")


def _prune_by_hash(directory: Path, current: Sequence[IndexFile]) -> None:
    """Keep the indexes the Release names and the newest earlier generations."""
    if not directory.is_dir():
        return
    named = {index.sha256 for index in current}
    others = sorted((entry for entry in os.scandir(directory)
                     if entry.is_file() and entry.name not in named),
                    key=lambda entry: entry.stat().st_mtime_ns, reverse=True)
    for entry in others[len(_INDEXES) * (BY_HASH_GENERATIONS - 1):]:
        Path(entry.path).unlink(missing_ok=True)
