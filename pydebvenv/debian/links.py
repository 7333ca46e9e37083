"""The commands the package puts on PATH: /usr/bin links to the venv's console scripts.

By default the application's own commands are linked (those whose entry point needs no
extra beyond the ones installed); an application with no code of its own (a wrapper that
only lists dependencies) links the commands of its direct dependencies instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from packaging.utils import canonicalize_name

from pydebvenv.debfile.entry import Entry, symlink_entry
from pydebvenv.errors import ConfigError
from pydebvenv.venv.layout import UnmetExtras, VenvLayout

__all__ = ["Commands", "bin_symlinks", "by_distribution", "commands_note", "commands_of",
           "default_commands", "exposed_commands", "has_own_code"]


@dataclass(frozen=True, slots=True)
class Commands:
    """The commands to link and the distributions they come from (what the build says)."""

    names: tuple[str, ...]
    sources: tuple[str, ...]  # canonical distribution names
    wrapper: bool = False  # the application has no code: these are its dependencies'


def commands_of(dist: str, layout: VenvLayout, extras: Iterable[str] = ()) -> tuple[str, ...]:
    """The commands distribution ``dist`` put in bin/, less the entry points that name an
    extra not in ``extras`` (``blackd = blackd:main [d]`` needs black[d] to run)."""
    chosen = {canonicalize_name(e) for e in extras}
    return tuple(name for name in layout.scripts.get(canonicalize_name(dist), ())
                 if layout.script_extras.get(name, frozenset()) <= chosen)


def has_own_code(dist: str, layout: VenvLayout) -> bool:
    """Whether ``dist`` installed anything besides its ``.dist-info`` directory."""
    return any(".dist-info/" not in path
               for path in layout.files.get(canonicalize_name(dist), ()))


def default_commands(app: str, extras: Iterable[str], layout: VenvLayout,
                     direct: Sequence[tuple[str, Iterable[str]]]) -> Commands:
    """The commands linked when ``scripts`` is not set: the application's own; for an
    application without code of its own, those of its ``direct`` dependencies (name and the
    extras it asks of each), in the order it lists them."""
    own = commands_of(app, layout, extras)
    if own or has_own_code(app, layout):
        return Commands(own, (canonicalize_name(app),) if own else ())
    names: dict[str, None] = {}
    sources: dict[str, None] = {}
    for dep, dep_extras in direct:
        found = commands_of(dep, layout, dep_extras)
        names.update(dict.fromkeys(found))
        if found:
            sources[canonicalize_name(dep)] = None
    return Commands(tuple(names), tuple(sources), wrapper=True)


def by_distribution(installed: Mapping[str, Sequence[str]]) -> str:
    """``httpie: http, https; pygments: pygmentize``: every command in the venv, or "none"."""
    listed = [f"{dist}: {', '.join(names)}" for dist, names in sorted(installed.items())
              if names]
    return "; ".join(listed) or "none"


def exposed_commands(wanted: Sequence[str] | None, default: Sequence[str],
                     installed: Mapping[str, Sequence[str]],
                     unmet: Mapping[str, UnmetExtras] = {}) -> tuple[str, ...]:
    """The console scripts to link into /usr/bin: ``wanted`` (the ``scripts`` option) when
    set, else ``default``; ConfigError listing the venv's commands by distribution when
    ``wanted`` names one no installed distribution provides, and naming the script, its
    extras and the fix when an exposed script's entry point needs extras whose
    requirements are not installed (it would fail at start)."""
    exposed = tuple(default) if wanted is None else tuple(wanted)
    available = {script for scripts in installed.values() for script in scripts}
    missing = sorted(set(exposed) - available)
    if missing:
        raise ConfigError(f"scripts (tool.pydebvenv.scripts, --script) names "
                          f"{', '.join(map(repr, missing))}, which no installed distribution "
                          f"provides; the commands in the venv are, by distribution: "
                          f"{by_distribution(installed)}")
    for script in sorted(set(exposed) & set(unmet)):
        need = unmet[script]
        extras = ",".join(need.extras)
        raise ConfigError(
            f"console script {script!r} needs the extras [{extras}] of {need.dist} "
            f"({', '.join(need.missing)} not installed), so it would fail at start: add "
            f"{need.dist}[{extras}] to the requirements (extras = {list(need.extras)!r} when "
            f"{need.dist} is the application), or leave {script!r} out of "
            "tool.pydebvenv.scripts")
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


def commands_note(app: str, wanted: Sequence[str] | None, chosen: Commands,
                  commands: Sequence[str], layout: VenvLayout) -> str:
    """What the build says about /usr/bin: the commands linked and whose they are, or that
    nothing is linked and which commands the venv holds."""
    if commands:
        if wanted is not None:
            whose = "the scripts option"
        elif chosen.wrapper:
            whose = (f"the console scripts of its dependencies {', '.join(chosen.sources)}: "
                     "it has no code of its own")
        else:
            whose = f"the console scripts of {', '.join(chosen.sources)}"
        return f"/usr/bin: {', '.join(commands)} ({whose})"
    # a package that only carries a library, or an empty scripts list
    why = "scripts is empty" if wanted is not None else f"{app} has no console scripts"
    return (f"note: nothing is linked into /usr/bin ({why}); the commands in the venv are: "
            f"{by_distribution(layout.scripts)}; choose some with scripts = [...] in "
            "[tool.pydebvenv] (or --script)")
