"""The fingerprint of what the application's wheel is built from: what changes it, what not."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from pydebvenv.acquire import fingerprint as fp
from pydebvenv.acquire.fingerprint import fingerprint, relevant_environment


def _tree(root: Path) -> Path:
    (root / "src" / "app").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "app"\nversion = "1.0"\n')
    (root / "src" / "app" / "__init__.py").write_text("VALUE = 1\n")
    (root / "README.md").write_text("# app\n")
    return root


def test_the_same_tree_has_the_same_fingerprint(tmp_path: Path) -> None:
    a = _tree(tmp_path / "a")
    b = _tree(tmp_path / "b")  # another place, the same content
    assert fingerprint(a) == fingerprint(a) == fingerprint(b)


@pytest.mark.parametrize("change", [
    "edit a source file", "edit pyproject.toml", "add a file", "remove a file",
    "make a file executable", "add an empty directory", "rename a file",
])
def test_every_change_to_the_tree_changes_it(tmp_path: Path, change: str) -> None:
    root = _tree(tmp_path / "p")
    before = fingerprint(root)
    init = root / "src" / "app" / "__init__.py"
    if change == "edit a source file":
        init.write_text("VALUE = 2\n")
    elif change == "edit pyproject.toml":
        (root / "pyproject.toml").write_text('[project]\nname = "app"\nversion = "1.1"\n')
    elif change == "add a file":
        (root / "src" / "app" / "data.json").write_text("{}")
    elif change == "remove a file":
        (root / "README.md").unlink()
    elif change == "make a file executable":
        init.chmod(0o755)
    elif change == "add an empty directory":
        (root / "src" / "app" / "empty").mkdir()
    else:
        init.rename(init.with_name("main.py"))
    assert fingerprint(root) != before


def test_outputs_byte_code_and_vcs_metadata_do_not_count(tmp_path: Path) -> None:
    root = _tree(tmp_path / "p")
    out = root / "packages"
    out.mkdir()
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    before = fingerprint(root, exclude=[out])
    (root / "src" / "app" / "__pycache__").mkdir()
    (root / "src" / "app" / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"x")
    (root / ".venv").mkdir()
    (root / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    _git(root, "status")  # refreshes the stat data in .git/index: nothing staged changed
    (out / "app_1.0-1_all.deb").write_bytes(b"x")
    assert fingerprint(root, exclude=[out]) == before
    # ... but the output directory counts when it is not named as one
    assert fingerprint(root) != before


def test_what_a_setuptools_build_leaves_in_the_tree_counts(tmp_path: Path) -> None:
    # setuptools reads an existing *.egg-info/SOURCES.txt and packs stale build/lib files:
    # a tree holding them may build another wheel
    for leftover in ("build/lib/stale.py", "src/app.egg-info/SOURCES.txt"):
        root = _tree(tmp_path / leftover.split("/")[0])
        before = fingerprint(root)
        (root / leftover).parent.mkdir(parents=True)
        (root / leftover).write_text("x")
        assert fingerprint(root) != before, leftover


def test_staging_a_file_counts(tmp_path: Path) -> None:
    root = _tree(tmp_path / "p")
    (root / "notes.txt").write_text("x")
    _git(root, "init", "-q")
    _git(root, "add", "pyproject.toml")
    before = fingerprint(root)
    _git(root, "add", "notes.txt")  # setuptools-scm now ships it; no file in the tree changed
    assert fingerprint(root) != before


def test_a_top_level_build_package_counts(tmp_path: Path) -> None:
    root = _tree(tmp_path / "p")
    before = fingerprint(root)
    (root / "build").mkdir()
    (root / "build" / "__init__.py").write_text("")
    assert fingerprint(root) != before


def test_symlinks_count_by_target_and_by_content(tmp_path: Path) -> None:
    root = _tree(tmp_path / "p")
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "LICENSE").write_text("MIT\n")
    (root / "LICENSE").symlink_to(shared / "LICENSE")
    before = fingerprint(root)
    (shared / "LICENSE").write_text("BSD\n")  # outside the tree, but the backend follows it
    assert fingerprint(root) != before
    (root / "loop").symlink_to(root)  # a cycle is recorded, not followed forever
    assert fingerprint(root) != before


def test_the_checkout_state_counts_even_above_the_project(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    git = repo / ".git"
    (git / "refs" / "heads").mkdir(parents=True)
    (git / "refs" / "tags").mkdir()
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    (git / "refs" / "heads" / "main").write_text("a" * 40 + "\n")
    root = _tree(repo / "services" / "app")  # setuptools-scm's root = "../.." case
    first = fingerprint(root)
    (git / "refs" / "heads" / "main").write_text("b" * 40 + "\n")  # a new commit
    second = fingerprint(root)
    (git / "refs" / "tags" / "v1.0").write_text("b" * 40 + "\n")  # tagged
    third = fingerprint(root)
    (git / "HEAD").write_text("c" * 40 + "\n")  # detached elsewhere
    assert len({first, second, third, fingerprint(root)}) == 4


def test_extra_inputs_count(tmp_path: Path) -> None:
    root = _tree(tmp_path / "p")
    assert fingerprint(root, extra={"SOURCE_DATE_EPOCH": "1"}) != fingerprint(
        root, extra={"SOURCE_DATE_EPOCH": "2"})


def test_session_variables_do_not_count_build_variables_do() -> None:
    env = relevant_environment({"PWD": "/x", "TERM": "xterm", "SSH_CONNECTION": "1 2 3 4",
                                "CFLAGS": "-O2", "APP_WITH_GPU": "1", "PATH": "/usr/bin"})
    assert env == {"CFLAGS": "-O2", "APP_WITH_GPU": "1", "PATH": "/usr/bin"}


def test_unchanged_files_are_not_read_again(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    root = _tree(tmp_path / "p")
    stats = tmp_path / "stats.json"
    old = 1_600_000_000
    for path in root.rglob("*"):
        os.utime(path, (old, old))  # older than the save: not "racy"
    first = fingerprint(root, stat_cache=stats)
    read: list[Path] = []
    real = fp.file_sha256
    monkeypatch.setattr(fp, "file_sha256", lambda p: read.append(p) or real(p))
    assert fingerprint(root, stat_cache=stats) == first
    assert read == []
    (root / "README.md").write_text("# app, edited\n")
    assert fingerprint(root, stat_cache=stats) != first
    assert read == [root / "README.md"]


def test_an_edit_that_keeps_size_and_mtime_is_still_seen(tmp_path: Path) -> None:
    root = _tree(tmp_path / "p")
    stats = tmp_path / "stats.json"
    init = root / "src" / "app" / "__init__.py"
    first = fingerprint(root, stat_cache=stats)
    st = init.stat()
    init.write_text("VALUE = 9\n")  # same size
    os.utime(init, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime: ctime still moves
    assert fingerprint(root, stat_cache=stats) != first


def test_a_damaged_stat_cache_is_ignored(tmp_path: Path) -> None:
    root = _tree(tmp_path / "p")
    stats = tmp_path / "stats.json"
    first = fingerprint(root, stat_cache=stats)
    stats.write_text("{not json")
    assert fingerprint(root, stat_cache=stats) == first


def _git(root: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)
