"""data.tar's segments: where they are cut, their keys, and their reuse from the cache."""

from __future__ import annotations

import io
import os
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from writer_samples import EPOCH, sample_control

from pydebvenv.debfile import segments
from pydebvenv.debfile.compress import get_compressor
from pydebvenv.debfile.entries import normalise
from pydebvenv.debfile.entry import Entry
from pydebvenv.debfile.segments import MIN_SEGMENT, SegmentCache, plan
from pydebvenv.debfile.writer import write_deb

MIB = 1 << 20


class Opened:
    """Counts how often each entry's content is read."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def entry(self, path: str, data: bytes, group: str = "", digest: str | None = "auto"
              ) -> Entry:
        def opener() -> io.BytesIO:
            self.paths.append(path)
            return io.BytesIO(data)

        named = f"{group or 'gen'}/{path}/{hash(data)}" if digest == "auto" else digest
        return Entry(path, "file", 0o644, "test", size=len(data), opener=opener,
                     digest=named, group=group)


def _wheel_entries(opened: Opened, sizes: dict[str, int], seed: bytes = b"") -> list[Entry]:
    """Files of three 'wheels' (groups), each larger than MIN_SEGMENT."""
    out = []
    for group, total in sizes.items():
        for i in range(total // (256 * 1024)):
            data = (seed + group.encode() + bytes([i])) * (256 * 1024 // (len(group) + 1 +
                                                                         len(seed)))
            out.append(opened.entry(f"usr/lib/app/{group}/f{i:03d}", data, group=group))
    return out


def test_cuts_at_group_changes_past_the_minimum_and_at_the_size() -> None:
    opened = Opened()
    entries = normalise(_wheel_entries(opened, {"a": 2 * MIB, "b": 20 * MIB, "c": MIB}))
    cut = plan(entries, get_compressor("gzip"), EPOCH)  # 8 MiB segments
    groups = [{e.group for e in s.entries if e.group} for s in cut]
    assert groups == [{"a"}, {"b"}, {"b"}, {"b"}, {"c"}]
    assert [s.first for s in cut] == [True, False, False, False, False]
    assert all(s.key for s in cut) and len({s.key for s in cut}) == len(cut)


def test_small_groups_share_a_segment() -> None:
    opened = Opened()
    entries = normalise([opened.entry(f"usr/bin/tool{i}", b"#!/bin/sh\n", group=f"w{i}")
                         for i in range(20)])
    assert len(plan(entries, get_compressor("xz"), EPOCH)) == 1


def test_a_wheel_that_changes_size_moves_only_the_cuts_up_to_an_anchor() -> None:
    # forty wheels of 100-700 KiB, as a real venv has: the cuts after the first wheel that
    # grows (an edited application) come back to their places, so later segments keep
    # their keys and a warm build finds them in the cache
    opened = Opened()
    sizes = {f"w{i:02d}": (1 + (i * 7) % 7) * 100 * 1024 for i in range(40)}

    def keys(grown: int) -> list[str | None]:
        entries = []
        for group, total in sizes.items():
            size = total + (grown if group == "w01" else 0)
            entries.append(opened.entry(f"usr/lib/app/{group}/f", b"x" * size, group=group,
                                        digest=f"{group}:{size}"))
        return [s.key for s in plan(normalise(entries), get_compressor("zstd"), EPOCH)]

    base, grown = keys(0), keys(300 * 1024)
    assert len(base) >= 10
    lost = set(base) - set(grown)
    assert len(lost) <= 3, (len(lost), len(base))


def test_keys_follow_content_mtime_and_compression() -> None:
    opened = Opened()
    entries = normalise(_wheel_entries(opened, {"a": 2 * MIB, "b": 2 * MIB}))

    def keys(es: list[Entry], mtime: int = EPOCH, name: str = "xz") -> list[str | None]:
        return [s.key for s in plan(es, get_compressor(name), mtime)]

    base = keys(entries)
    assert keys(entries) == base
    assert keys(entries, EPOCH + 1) != base and keys(entries, name="gzip") != base
    changed = [replace(e, digest="other") if e.path.endswith("b/f000") else e
               for e in entries]
    assert keys(changed)[0] == base[0] and keys(changed)[1] != base[1]
    unknown = [replace(e, digest=None) if e.path.endswith("a/f001") else e for e in entries]
    assert keys(unknown)[0] is None and keys(unknown)[1] == base[1]


def _build(out: Path, entries: list[Entry], cache: Path | None, compression: str) -> bytes:
    deb = write_deb(sample_control(), entries, out, compression=compression,
                    source_date_epoch=EPOCH, segment_cache=cache)
    return deb.read_bytes()


@pytest.mark.parametrize("compression", ["zstd", "xz", "gzip", "none"])
def test_a_warm_cache_gives_the_same_bytes_without_reading_anything(
        tmp_path: Path, compression: str) -> None:
    opened = Opened()
    entries = _wheel_entries(opened, {"a": 2 * MIB, "b": 3 * MIB})
    plain = _build(tmp_path / "plain", entries, None, compression)
    cold = _build(tmp_path / "cold", entries, tmp_path / "cache", compression)
    opened.paths.clear()
    warm = _build(tmp_path / "warm", entries, tmp_path / "cache", compression)
    assert plain == cold == warm
    assert opened.paths == []  # every segment came from the cache
    listing = subprocess.run(["dpkg-deb", "--contents", str(tmp_path / "warm" / os.listdir(
        tmp_path / "warm")[0])], capture_output=True, text=True, check=True).stdout
    assert listing.count("usr/lib/app/") == len(entries) + 3  # files and their directories


def test_only_the_changed_segment_is_made_again(tmp_path: Path) -> None:
    opened = Opened()
    entries = _wheel_entries(opened, {"a": 2 * MIB, "b": 3 * MIB})
    _build(tmp_path / "first", entries, tmp_path / "cache", "xz")
    opened.paths.clear()
    edited = [opened.entry(e.path, b"new content", group=e.group)
              if e.path.endswith("b/f003") else e for e in entries]
    again = _build(tmp_path / "again", edited, tmp_path / "cache", "xz")
    assert opened.paths and all("/b/" in p for p in opened.paths)  # only wheel b's segment
    assert again == _build(tmp_path / "plain", edited, None, "xz")


def test_entries_without_a_digest_are_always_read(tmp_path: Path) -> None:
    opened = Opened()
    entries = [opened.entry(f"usr/share/x/f{i}", os.urandom(1000), digest=None)
               for i in range(3)]
    _build(tmp_path / "one", entries, tmp_path / "cache", "gzip")
    opened.paths.clear()
    _build(tmp_path / "two", entries, tmp_path / "cache", "gzip")
    assert len(opened.paths) == 3
    assert not list((tmp_path / "cache").rglob("*"))  # nothing was stored


@pytest.mark.parametrize("damage", [
    lambda b: b[:10] + bytes([b[10] ^ 1]) + b[11:],  # a flipped bit in the payload
    lambda b: b[:-5],  # truncated
    lambda b: b"",  # empty
])
def test_a_damaged_segment_is_made_again(tmp_path: Path,
                                         damage: Callable[[bytes], bytes]) -> None:
    opened = Opened()
    entries = _wheel_entries(opened, {"a": 2 * MIB})
    first = _build(tmp_path / "one", entries, tmp_path / "cache", "xz")
    (stored,) = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    stored.write_bytes(damage(stored.read_bytes()))
    opened.paths.clear()
    assert _build(tmp_path / "two", entries, tmp_path / "cache", "xz") == first
    assert opened.paths  # read again, not taken from the damaged file


def test_prune_keeps_the_most_recently_used_within_the_limit(tmp_path: Path) -> None:
    cache = SegmentCache(tmp_path / "cache", limit=3 * 1000)
    for i in range(6):
        path = tmp_path / "cache" / f"{i:02x}" / f"{i:02x}key"
        path.parent.mkdir(parents=True)
        path.write_bytes(b"x" * 1000)
        os.utime(path, (1_600_000_000 + i, 1_600_000_000 + i))
    cache.prune()
    left = sorted(p.name for p in (tmp_path / "cache").rglob("*key"))
    assert left == ["03key", "04key", "05key"]


def test_the_minimum_segment_is_a_mebibyte() -> None:
    assert MIN_SEGMENT == MIB == segments.MIN_SEGMENT
