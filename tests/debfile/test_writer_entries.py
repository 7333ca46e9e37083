"""entries.normalise(): parents, duplicates, path checks, modes, conffiles, order."""

from __future__ import annotations

import pytest

from pydebvenv.debfile.entries import normalise
from pydebvenv.debfile.entry import Entry, dir_entry, file_entry, symlink_entry
from pydebvenv.errors import ArchiveError


def test_parents_added_and_sorted() -> None:
    out = normalise([
        file_entry("usr/share/b/z", b"", source="s"),
        file_entry("usr/share/a-b", b"", source="s"),
        file_entry("usr/share/a/y", b"", source="s"),
        symlink_entry("usr/bin/x", "../share/a/y", source="s"),
    ])
    assert [e.path for e in out] == [
        "usr", "usr/bin", "usr/bin/x", "usr/share", "usr/share/a", "usr/share/a/y",
        "usr/share/a-b", "usr/share/b", "usr/share/b/z"]
    implied = {e.path: e for e in out}["usr/share/a"]
    assert implied.kind == "dir" and implied.mode == 0o755


def test_directory_precedes_children_bytewise() -> None:
    # "a-b" (0x2d) sorts before "a/..." in plain string order; component order keeps
    # "a" and its children together.
    paths = [e.path for e in normalise([file_entry("a/x", b"", source="s"),
                                        file_entry("a-b", b"", source="s"),
                                        file_entry("a.c", b"", source="s"),
                                        file_entry("é", b"", source="s"),
                                        file_entry("z", b"", source="s")])]
    assert paths == ["a", "a/x", "a-b", "a.c", "z", "é"]


def test_duplicate_names_both_sources() -> None:
    with pytest.raises(ArchiveError) as info:
        normalise([file_entry("usr/x", b"", source="wheel-a.whl: x"),
                   dir_entry("usr/x", source="layout: dir")])
    message = str(info.value)
    assert "wheel-a.whl: x" in message and "layout: dir" in message and "'usr/x'" in message
    assert "\n" not in message


def test_entry_inside_a_file_refused() -> None:
    with pytest.raises(ArchiveError, match="inside 'usr/x'"):
        normalise([file_entry("usr/x", b"", source="a"), file_entry("usr/x/y", b"", source="b")])


@pytest.mark.parametrize("path", ["", "/usr/x", "usr/../x", "..", "usr//x", "usr/x/", "./usr",
                                  "usr\\x", "usr/./x", "a\0b", "\udcff"])
def test_bad_paths_refused(path: str) -> None:
    with pytest.raises(ArchiveError, match="invalid path") as info:
        normalise([file_entry(path, b"", source="src")])
    assert "src" in str(info.value)


@pytest.mark.parametrize("mode, expected", [
    (0o600, 0o644), (0o644, 0o644), (0o400, 0o644), (0o700, 0o755), (0o744, 0o755),
    (0o755, 0o755), (0o100, 0o755), (0o640, 0o644),
])
def test_file_modes_normalised(mode: int, expected: int) -> None:
    (entry,) = normalise([file_entry("x", b"", mode=mode, source="s")])
    assert entry.mode == expected


def test_dir_and_symlink_modes() -> None:
    out = {e.path: e for e in normalise([dir_entry("d", mode=0o700, source="s"),
                                         symlink_entry("l", "d", source="s")])}
    assert out["d"].mode == 0o755 and out["l"].mode == 0o777 and out["l"].link == "d"


@pytest.mark.parametrize("mode", [0o4755, 0o2755, 0o1755, 0o646, 0o777, 0o10644, -1])
def test_special_and_world_writable_modes_refused(mode: int) -> None:
    with pytest.raises(ArchiveError, match="mode"):
        normalise([file_entry("x", b"", mode=mode, source="s")])


def test_conffile_only_regular_under_etc() -> None:
    (ok,) = [e for e in normalise([file_entry("etc/a.conf", b"", source="s", conffile=True)])
             if e.kind == "file"]
    assert ok.conffile
    with pytest.raises(ArchiveError, match="conffile"):
        normalise([file_entry("usr/a.conf", b"", source="s", conffile=True)])
    with pytest.raises(ArchiveError, match="conffile"):
        normalise([Entry("etc/l", "symlink", 0o777, "s", link="x", conffile=True)])


def test_empty_symlink_target_refused() -> None:
    with pytest.raises(ArchiveError, match="target"):
        normalise([symlink_entry("l", "", source="s")])


def test_input_not_mutated() -> None:
    entry = file_entry("x", b"", mode=0o600, source="s")
    normalise([entry])
    assert entry.mode == 0o600
