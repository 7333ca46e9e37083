"""The fingerprint of everything the application's wheel is built from.

Two builds with the same fingerprint would run the same backend on the same bytes: the
wheel built the first time can be used the second time.  It covers, conservatively:

* every file, symlink and directory of the project tree (content, permission bits, link
  targets; symlinks are followed, as backends follow them), except what the copy the
  backend builds leaves out (appwheel.copy_source_tree: ``__pycache__``, virtual
  environments, tagged cache directories, the output directory) and version-control
  metadata;
* the state of the enclosing version-control checkout (git: HEAD, the commit it names, the
  tags and packed refs, and the files the index tracks with their staged blobs, as
  ``git ls-files --stage`` lists them; Mercurial: the working directory's parents and local
  tags), found above the project too, since tools such as setuptools-scm and hatch-vcs
  derive the version from it and take the list of files to ship from it;
* whatever the caller adds: the backend and its environment, SOURCE_DATE_EPOCH and the
  environment variables the backend sees.

Reading every file on every build would cost as much as the build it saves on a large
tree, so the digest of a file is remembered with its size, mtime, ctime and inode, and
read again when any of them changed or when the file changed less than two seconds before
the digests were saved (the "racy clean" case git knows: a change in the same clock tick
leaves the stat data equal).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from pydebvenv.wheels.cache import file_sha256

__all__ = ["ENV_IGNORED", "fingerprint", "not_source", "relevant_environment"]

_VCS_DIRS = frozenset({".git", ".hg", ".svn", ".bzr", "_darcs", ".jj", ".pijul", "CVS"})
_RACY_NS = 2_000_000_000
# Cache Directory Tagging Specification: a directory holding a CACHEDIR.TAG file that starts
# with this line is a cache that copying and archiving tools may leave out (mypy, pytest,
# ruff and pip write one into their caches).
_CACHEDIR_SIGNATURE = b"Signature: 8a477f597d28d172789f06886806bc55"

#: Variables that describe the terminal or the login session, never a build: the backend's
#: environment minus these is part of the fingerprint.  Everything else counts (compiler
#: flags, a setup.py reading its own variables, pip's settings for setup_requires, ...).
ENV_IGNORED = frozenset({
    "_", "PWD", "OLDPWD", "SHLVL", "TERM", "COLORTERM", "TERM_PROGRAM", "TERM_PROGRAM_VERSION",
    "TERM_SESSION_ID", "COLUMNS", "LINES", "LS_COLORS", "LSCOLORS", "PS1", "PS2", "PS4",
    "PROMPT_COMMAND", "HISTFILE", "HISTSIZE", "HISTFILESIZE", "HISTCONTROL", "MAIL", "MAILCHECK",
    "DISPLAY", "WAYLAND_DISPLAY", "WINDOWID", "XAUTHORITY", "DBUS_SESSION_BUS_ADDRESS",
    "XDG_RUNTIME_DIR", "XDG_SESSION_ID", "XDG_SESSION_TYPE", "XDG_SESSION_CLASS", "XDG_SEAT",
    "XDG_VTNR", "SSH_AUTH_SOCK", "SSH_AGENT_PID", "SSH_CLIENT", "SSH_CONNECTION", "SSH_TTY",
    "GPG_TTY", "GPG_AGENT_INFO", "TMUX", "TMUX_PANE", "STY", "WINDOW", "VTE_VERSION",
    "KONSOLE_VERSION", "KONSOLE_DBUS_SESSION", "KONSOLE_DBUS_SERVICE", "KONSOLE_DBUS_WINDOW",
    "ITERM_SESSION_ID", "ITERM_PROFILE", "WT_SESSION", "WT_PROFILE_ID", "LC_TERMINAL",
    "LC_TERMINAL_VERSION", "MOTD_SHOWN", "PYTEST_CURRENT_TEST", "PYTEST_XDIST_WORKER",
    "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID",
})


def relevant_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` minus the session and terminal variables of ENV_IGNORED."""
    return {k: v for k, v in environ.items() if k not in ENV_IGNORED}


def fingerprint(root: Path, *, exclude: Iterable[Path] = (), extra: object = None,
                stat_cache: Path | None = None) -> str:
    """The hex digest of ``root``'s tree, its checkout's state and ``extra`` (JSON-able).

    ``exclude``: directories left out (the build's output directory when it lies inside
    the project).  ``stat_cache``: a file remembering digests between calls.  OSError
    when the tree cannot be read.
    """
    root = Path(os.path.realpath(root))
    skip = {os.path.realpath(p) for p in exclude}
    known, saved_at = _load(stat_cache)
    now = time.time_ns()
    seen: dict[str, list[object]] = {}
    any_racy = False
    digest = hashlib.sha256()
    for rel, kind, st, target in _walk(root, skip):
        digest.update(f"{kind}\0{rel}\0{stat.S_IMODE(st.st_mode):o}\0{target}\0".encode())
        if kind != "file":
            continue
        sig = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
        row = known.get(rel)
        racy = st.st_mtime_ns >= saved_at - _RACY_NS
        if row is not None and row[:4] == sig and not racy:
            content = str(row[4])
        else:
            content = file_sha256(root / rel)
            any_racy = any_racy or racy
        seen[rel] = [*sig, content]
        digest.update(f"{st.st_size}\0{content}\0".encode())
    digest.update(json.dumps(_vcs_state(root), sort_keys=True).encode())
    digest.update(json.dumps(extra, sort_keys=True, default=str).encode())
    # saved again after a racy file, so that it is trusted once it is older than the save
    if stat_cache is not None and (seen != known or any_racy):
        _save(stat_cache, seen, now)
    return digest.hexdigest()


def _walk(root: Path, skip: set[str]) -> Iterable[tuple[str, str, os.stat_result, str]]:
    """(relative POSIX path, kind, stat, link target) in a stable order; symlinks followed."""
    on_path: set[tuple[int, int]] = set()

    def visit(directory: str, rel: str) -> Iterable[tuple[str, str, os.stat_result, str]]:
        st = os.stat(directory)
        ident = (st.st_dev, st.st_ino)
        if ident in on_path:  # a symlink loop: recorded, not followed again
            return
        on_path.add(ident)
        with os.scandir(directory) as it:
            items = sorted(it, key=lambda d: d.name)
        for item in items:
            sub = f"{rel}/{item.name}" if rel else item.name
            if _skipped(item, skip):
                continue
            target = os.readlink(item.path) if item.is_symlink() else ""
            try:
                info = os.stat(item.path)  # follows symlinks
            except FileNotFoundError:
                yield sub, "dangling", os.lstat(item.path), target
                continue
            if stat.S_ISDIR(info.st_mode):
                yield sub, "dir", info, target
                yield from visit(item.path, sub)
            elif stat.S_ISREG(info.st_mode):
                yield sub, "file", info, target
            else:
                yield sub, "special", info, target  # a socket or fifo: its name only
        on_path.discard(ident)

    return visit(str(root), "")


def not_source(directory: Path) -> bool:
    """A directory no backend builds from: a virtual environment (a ``pyvenv.cfg``,
    PEP 405) or a tagged cache (a ``CACHEDIR.TAG`` with the specification's signature)."""
    if (directory / "pyvenv.cfg").is_file():
        return True
    tag = directory / "CACHEDIR.TAG"
    try:
        with tag.open("rb") as stream:
            return stream.read(len(_CACHEDIR_SIGNATURE)) == _CACHEDIR_SIGNATURE
    except OSError:
        return False


def _skipped(item: os.DirEntry[str], skip: set[str]) -> bool:
    # what copy_source_tree (appwheel.py) leaves out of the copy the backend builds, and
    # the version-control metadata, whose state counts instead (_vcs_state)
    name = item.name
    if not item.is_dir():
        return False
    if name in _VCS_DIRS or name == "__pycache__" or not_source(Path(item.path)):
        return True
    return bool(skip) and os.path.realpath(item.path) in skip


def _vcs_state(root: Path) -> dict[str, object]:
    """What version-control tools report about the checkout holding ``root``."""
    for directory in (root, *root.parents):
        git = directory / ".git"
        if git.exists():
            return {"git": _git_state(git, root)}
        hg = directory / ".hg"
        if hg.is_dir():
            return {"hg": [_digest(_read(hg / "dirstate", 40)), _digest(_read(hg / "localtags"))]}
    return {}


def _git_state(dot_git: Path, root: Path) -> dict[str, object]:
    gitdir = dot_git
    if dot_git.is_file():  # a worktree or submodule: "gitdir: <path>"
        text = _read(dot_git).decode("utf-8", "replace").strip()
        if text.startswith("gitdir:"):
            gitdir = (dot_git.parent / text[len("gitdir:"):].strip()).resolve()
    common = gitdir
    commondir = _read(gitdir / "commondir").decode("utf-8", "replace").strip()
    if commondir:
        common = (gitdir / commondir).resolve()
    head = _read(gitdir / "HEAD").decode("utf-8", "replace").strip()
    state: dict[str, object] = {"HEAD": head, "packed-refs": _digest(_read(common / "packed-refs"))}
    if head.startswith("ref:"):
        ref = head[4:].strip()
        state["ref"] = _read(common / ref).decode("utf-8", "replace").strip()
    tags: dict[str, str] = {}
    tag_dir = common / "refs" / "tags"
    if tag_dir.is_dir():
        for path in sorted(tag_dir.rglob("*")):
            if path.is_file():
                tags[path.relative_to(tag_dir).as_posix()] = _read(path).decode(
                    "utf-8", "replace").strip()
    state["tags"] = tags
    state["index"] = _git_index(gitdir, root)
    return state


def _git_index(gitdir: Path, root: Path) -> str:
    """The files git tracks under ``root`` with their staged blobs (setuptools-scm's and
    hatch-vcs's file finders ship what ``git ls-files`` lists, so `git add` of a file
    already in the tree changes the wheel).  The index file itself also records stat data
    that `git status` refreshes; only without git is its raw content used instead, which
    may rebuild needlessly but never misses a change."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["GIT_OPTIONAL_LOCKS"] = "0"  # a reader: never rewrite the index (git-config(1))
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--stage"], cwd=root, env=env,
                                capture_output=True, timeout=60, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return "raw:" + _digest(_read(gitdir / "index"))
    return _digest(listed)


def _read(path: Path, limit: int = -1) -> bytes:
    try:
        with path.open("rb") as stream:
            return stream.read(limit)
    except OSError:
        return b""


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _load(path: Path | None) -> tuple[dict[str, list[object]], int]:
    if path is None:
        return {}, 0
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return dict(data["files"]), int(data["saved_at"])
    except (OSError, ValueError, KeyError, TypeError):
        return {}, 0


def _save(path: Path, files: dict[str, list[object]], saved_at: int) -> None:
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp.write_text(json.dumps({"saved_at": saved_at, "files": files}), encoding="utf-8")
        os.replace(temp, path)
    except OSError:
        temp.unlink(missing_ok=True)  # only a speed-up: a failure to save changes nothing
