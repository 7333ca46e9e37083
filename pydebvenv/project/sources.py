"""Which requirements build the venv: the one order of choice, shared by ``build`` and ``fetch``.

The order, first match wins: the requirements files passed as overrides (``-r``), else
``requirements`` in [tool.pydebvenv], else ``requirements.txt`` beside pyproject.toml, else
``pylock.toml`` there (PEP 751), else the application's own dependencies.  A requirements
file named ``pylock.toml`` or ``pylock.<name>.toml`` is read as a PEP 751 lock wherever it
was named.  A ``--from`` build has no project directory: its requirements are the ``--from``
ones (the first with the chosen extras), plus those of any ``-r`` files.

``requirements_digest`` says whether a lock still fits: a sha256 over what decides the
venv's requirements (the requirement lines and constraints of the files, a pylock.toml's
bytes, [project] dependencies, the extras, include-pip and [build-system] requires), so a
lock resolved from other inputs is seen as stale.  Index options and comments are left out:
they change where files come from, not which files are wanted (docs/lock.md).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from packaging.requirements import Requirement

from pydebvenv.errors import ConfigError
from pydebvenv.project.config import Config, toml_table
from pydebvenv.project.paths import inside_project
from pydebvenv.project.pylock import is_pylock
from pydebvenv.project.requirements import (
    RequirementSpec,
    parse_requirements_files,
    requirement_specs,
)

__all__ = ["Inputs", "RequirementKind", "RequirementSource", "build_requirements",
           "from_requirements", "read_inputs", "requirement_line", "requirement_source",
           "requirements_digest"]

RequirementKind = Literal["override", "config", "requirements.txt", "pylock.toml",
                          "dependencies", "from"]


@dataclass(frozen=True, slots=True)
class RequirementSource:
    """Where the requirements come from: a kind and the files it names (none for
    ``dependencies``)."""

    kind: RequirementKind
    paths: tuple[Path, ...] = ()

    requirements: tuple[str, ...] = ()  # the --from requirements

    def __str__(self) -> str:
        named = [*self.requirements, *(str(p) for p in self.paths)]
        return f"{self.kind} ({', '.join(named)})" if named else self.kind


@dataclass(frozen=True, slots=True)
class Inputs:
    """What to install: requirements (or a PEP 751 lock) and where pip may look for them."""

    requirements: tuple[RequirementSpec, ...] = ()
    constraints: tuple[RequirementSpec, ...] = ()
    pylock: Path | None = None  # a pylock.toml: its packages replace ``requirements``
    extras: tuple[str, ...] = ()  # extras selected from the pylock
    build_requires: tuple[str, ...] = ()  # PEP 518 [build-system].requires, for the host
    index_url: str | None = None  # None: pip's configured (or default) index
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False


def requirement_source(config: Config) -> RequirementSource:
    """The requirements that build the venv, in the order of choice of this module."""
    given = config.options.requirements
    if config.from_:
        return RequirementSource("from", tuple(given or ()), config.from_)
    if given is not None:
        kind: RequirementKind = (
            "override" if config.origins.get("requirements") == "override" else "config")
        return RequirementSource(kind, tuple(given))
    names: tuple[RequirementKind, ...] = ("requirements.txt", "pylock.toml")
    for name in names:
        if (config.root / name).is_file():
            inside_project(config.root, config.root / name, name)
            return RequirementSource(name, (config.root / name,))
    return RequirementSource("dependencies")


def from_requirements(config: Config) -> tuple[RequirementSpec, ...]:
    """The ``--from`` requirements; the first names the application and gets the extras
    chosen with ``extras`` (``--extra``) on top of those it names itself."""
    specs = requirement_specs(config.from_, "--from")
    if not specs or not config.options.extras:
        return specs
    first = Requirement(str(specs[0].requirement))  # a copy: Requirement is mutable
    first.extras |= set(config.options.extras)
    return (replace(specs[0], requirement=first), *specs[1:])


def read_inputs(config: Config, source: RequirementSource,
                dependencies: Sequence[RequirementSpec] = ()) -> Inputs:
    """The Inputs of ``source``: its files read, the index options of [tool.pydebvenv] (and
    the overrides) before those written in the files; ``dependencies`` stand for the
    application's own requirements when the source is ``dependencies``; a ``from`` source
    brings its own (from_requirements), before those of its files."""
    opts = config.options
    base = Inputs(index_url=opts.index_url, extra_index_urls=tuple(opts.extra_index_urls),
                  find_links=tuple(opts.find_links))
    pylocks = [p for p in source.paths if is_pylock(p)]
    if source.kind == "from" and pylocks:
        raise ConfigError(f"{str(pylocks[0])!r} is a pylock.toml, which replaces the "
                          "requirements: it cannot go with --from; pass requirements "
                          "files (-r) or more --from requirements")
    own = from_requirements(config) if source.kind == "from" else tuple(dependencies)
    if pylocks:
        if len(source.paths) > 1:
            raise ConfigError(f"give one pylock.toml and no other requirements, not "
                              f"{[str(p) for p in source.paths]!r}")
        return Inputs(pylock=pylocks[0], extras=tuple(opts.extras),
                      index_url=base.index_url, extra_index_urls=base.extra_index_urls,
                      find_links=base.find_links)
    if not source.paths:
        return Inputs(requirements=own, index_url=base.index_url,
                      extra_index_urls=base.extra_index_urls, find_links=base.find_links)
    parsed = parse_requirements_files(source.paths, project=config.root,
                                      caller_named=source.kind == "override")
    return Inputs(
        requirements=(*(own if source.kind == "from" else ()), *parsed.requirements),
        constraints=parsed.constraints,
        index_url=base.index_url or parsed.index_url,
        extra_index_urls=tuple(dict.fromkeys((*base.extra_index_urls,
                                              *parsed.extra_index_urls))),
        find_links=tuple(dict.fromkeys((*base.find_links, *parsed.find_links))),
        no_index=parsed.no_index,
    )


def build_requirements(config: Config) -> tuple[str, ...]:
    """[build-system].requires of the application (PEP 518), which run on the build host;
    PEP 517's default (setuptools) when absent, none without a pyproject.toml."""
    default = ["setuptools>=40.8.0"] if config.data else []
    system = toml_table(config.data, "build-system", config.pyproject)
    requires = system.get("requires", default)
    return tuple(str(r) for r in requires) if isinstance(requires, list) else ()


def requirement_line(spec: RequirementSpec) -> str:
    """A requirement as one requirements-file line, its hashes sorted: ``a==1 --hash=...``."""
    return " ".join([str(spec.requirement), *(f"--hash={h}" for h in sorted(spec.hashes))])


def requirements_digest(config: Config) -> str:
    """sha256 (hex) of the requirement inputs of ``config``: equal digests, same wanted set."""
    opts = config.options
    inputs = read_inputs(config, requirement_source(config))
    project = toml_table(config.data, "project", config.pyproject)
    optional = project.get("optional-dependencies", {})
    facts = {
        "requirements": sorted(map(requirement_line, inputs.requirements)),
        "constraints": sorted(map(requirement_line, inputs.constraints)),
        "pylock": _file_sha256(inputs.pylock) if inputs.pylock is not None else None,
        "dependencies": project.get("dependencies"),
        "optional-dependencies": {extra: optional.get(extra) for extra in sorted(opts.extras)}
        if isinstance(optional, dict) else None,
        "extras": sorted(opts.extras),
        "include-pip": opts.include_pip,
        "build-system": list(build_requirements(config)),
    }
    text = json.dumps(facts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _file_sha256(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise ConfigError(f"cannot read {str(path)!r} ({exc.strerror}); fix the requirements "
                          "(-r or tool.pydebvenv.requirements)") from None
