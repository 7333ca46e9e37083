"""Property: any tree of entries round-trips through write_deb() and tarfile unchanged."""

from __future__ import annotations

import io
import tarfile
import tempfile
from pathlib import Path

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings
from writer_samples import sample_control

from pydebvenv.debfile.entries import normalise
from pydebvenv.debfile.entry import Entry, dir_entry, file_entry, symlink_entry
from pydebvenv.debfile.writer import write_deb

# Path components: ASCII and UTF-8 (accents, CJK, emoji), some long enough that a few
# of them exceed tar's 100-byte name field.
_alphabet = st.sampled_from("abcxyz019-_.+ éüßж中文🐍")
_component = st.one_of(
    st.text(_alphabet, min_size=1, max_size=12),
    st.text(st.sampled_from("abcdefgh"), min_size=60, max_size=90),
).filter(lambda c: c not in (".", ".."))
_paths = st.lists(_component, min_size=1, max_size=4).map("/".join)


@st.composite
def _trees(draw: st.DrawFn) -> list[Entry]:
    paths = draw(st.lists(_paths, min_size=1, max_size=12, unique=True))
    entries: list[Entry] = []
    taken: set[str] = set()
    for path in paths:
        parts = path.split("/")
        # no entry inside another non-directory entry, nor a file on another's parent
        if any("/".join(parts[:i]) in taken for i in range(1, len(parts))):
            continue
        if any(t.startswith(path + "/") for t in taken):
            continue
        kind = draw(st.sampled_from(["file", "file", "dir", "symlink"]))
        if kind == "file":
            data = draw(st.binary(max_size=3000))
            mode = draw(st.sampled_from([0o600, 0o644, 0o640, 0o700, 0o755, 0o744]))
            entries.append(file_entry(path, data, mode=mode, source=f"gen {path}"))
        elif kind == "dir":
            entries.append(dir_entry(path, source=f"gen {path}"))
        else:
            target = draw(st.one_of(_paths, _paths.map(lambda p: "../" * 3 + p + "/" + "t" * 110)))
            entries.append(symlink_entry(path, target, source=f"gen {path}"))
        taken.add(path)
    return entries


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tree=_trees(), compression=st.sampled_from(["none", "gzip", "zstd"]))
def test_tree_round_trips(tree: list[Entry], compression: str) -> None:
    expected = normalise(tree)
    with tempfile.TemporaryDirectory() as tmp:
        deb = write_deb(sample_control(), tree, Path(tmp), compression=compression,
                        source_date_epoch=1700000000)
        data = deb.read_bytes()
    # the data member is the third ar member; find it by its header
    suffix = {"none": b"", "gzip": b".gz", "zstd": b".zst"}[compression]
    start = data.index(b"data.tar" + suffix + b" ")
    size = int(data[start + 48:start + 58])
    member = data[start + 60:start + 60 + size]
    mode = {"none": "r:", "gzip": "r:gz"}.get(compression)
    if compression == "zstd":
        import zstandard

        member = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(member)).read()
        mode = "r:"
    with tarfile.open(fileobj=io.BytesIO(member), mode=mode or "r:") as tar:
        members = tar.getmembers()
        assert members[0].name == "." and members[0].isdir()
        got = []
        for m in members[1:]:
            assert m.name.startswith("./") and not m.pax_headers
            content = None
            if m.isfile():
                extracted = tar.extractfile(m)
                assert extracted is not None
                content = extracted.read()
            got.append((m.name[2:], "file" if m.isfile() else "dir" if m.isdir() else
                        "symlink" if m.issym() else "?", m.mode, content,
                        m.linkname if m.issym() else None))
    want = []
    for e in expected:
        content = None
        if e.kind == "file":
            with e.open() as f:
                content = f.read()
        want.append((e.path, e.kind, e.mode, content, e.link))
    assert got == want
