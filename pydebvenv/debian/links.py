"""The commands the package puts on PATH: /usr/bin links to the venv's console scripts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from pydebvenv.debfile.entry import Entry, symlink_entry
from pydebvenv.errors import ConfigError

__all__ = ["bin_symlinks", "exposed_commands"]


def exposed_commands(wanted: Sequence[str] | None, own: Sequence[str],
                     installed: Mapping[str, Sequence[str]]) -> tuple[str, ...]:
    """The console scripts to link into /usr/bin: ``wanted`` (tool.pydebvenv.scripts) when
    set, else the application's ``own``; ConfigError naming what is installed when ``wanted``
    names a script no installed distribution provides."""
    exposed = tuple(own) if wanted is None else tuple(wanted)
    available = {script for scripts in installed.values() for script in scripts}
    missing = sorted(set(exposed) - available)
    if missing:
        raise ConfigError(f"tool.pydebvenv.scripts names {', '.join(map(repr, missing))}, which "
                          f"no installed distribution provides; the console scripts are: "
                          f"{', '.join(sorted(own)) or 'none'}")
    return exposed


def bin_symlinks(venv: str, commands: Iterable[str]) -> list[Entry]:
    """/usr/bin/<cmd> -> the venv's script; relative within /usr (Policy 10.5)."""
    venv_rel = venv.strip("/")
    parts = venv_rel.split("/")
    entries = []
    for cmd in sorted(set(commands)):
        if parts[0] == "usr":
            link = "../" + "/".join(parts[1:]) + f"/bin/{cmd}"
        else:
            link = f"/{venv_rel}/bin/{cmd}"
        entries.append(symlink_entry(f"usr/bin/{cmd}", link, source=f"exposed script {cmd!r}"))
    return entries
