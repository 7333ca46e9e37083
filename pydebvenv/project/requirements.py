"""Requirements files (pins, --hash, extras, -r/-c, index options) -> RequirementSpec values.

The accepted syntax is the subset of pip's requirements-file format that makes sense
for wheels chosen for a foreign target:
https://pip.pypa.io/en/stable/reference/requirements-file-format/
Requirements are PEP 508 strings without a URL (name, extras, specifier, marker).
Anything else (editable installs, paths, URLs, build options) is refused with the
file and line, so it can never be silently ignored.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from pydebvenv.errors import ConfigError
from pydebvenv.project.paths import inside_project, local_location
from pydebvenv.redact import redact

__all__ = [
    "RequirementSpec",
    "RequirementsSet",
    "parse_requirements_files",
    "requirement_specs",
]


@dataclass(frozen=True, slots=True)
class RequirementSpec:
    """One requirement, the hashes it is pinned to and where it was written."""

    requirement: Requirement
    hashes: frozenset[str] = frozenset()  # "sha256:<hex>"; empty = not pinned
    source: str = ""  # "requirements.txt:3" or "pyproject.toml [project.dependencies]"


@dataclass(frozen=True, slots=True)
class RequirementsSet:
    """Everything read from a set of requirements files."""

    requirements: tuple[RequirementSpec, ...] = ()
    constraints: tuple[RequirementSpec, ...] = ()
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False


# pip's rule: a comment starts with "#" at the start of a line or after whitespace,
# so "#egg=" fragments inside URLs are not comments (pip req_file.COMMENT_RE).
_COMMENT = re.compile(r"(^|\s+)#.*$")
_HASH = re.compile(r"sha256:[0-9a-f]{64}")

# option spellings -> canonical name; every option takes a value except --no-index
_OPTIONS = {
    "-r": "requirement", "--requirement": "requirement",
    "-c": "constraint", "--constraint": "constraint",
    "-i": "index-url", "--index-url": "index-url",
    "--extra-index-url": "extra-index-url",
    "-f": "find-links", "--find-links": "find-links",
    "--no-index": "no-index",
}  # fmt: skip
_ACCEPTED = "-r, -c, -i/--index-url, --extra-index-url, -f/--find-links, --no-index, --hash"


@dataclass(slots=True)
class _Collector:
    """Mutable state while reading files; frozen into a RequirementsSet at the end."""

    requirements: list[RequirementSpec] = field(default_factory=list)
    constraints: list[RequirementSpec] = field(default_factory=list)
    index_url: str | None = None
    extra_index_urls: list[str] = field(default_factory=list)
    find_links: list[str] = field(default_factory=list)
    no_index: bool = False
    reading: list[Path] = field(default_factory=list)  # the include chain, to refuse cycles
    project: Path | None = None  # files and local locations must lie inside it...
    also: tuple[Path, ...] = ()  # ... or inside these (the caller-named file's directory)

    def inside(self, path: Path, where: str) -> Path:
        if self.project is None:
            return path
        return inside_project(self.project, path, where, also=self.also)


def _error(message: str) -> ConfigError:
    # a requirement or an index option may carry user:password@ in a URL: never show it
    return ConfigError(redact(message))


def parse_requirements_files(paths: Sequence[Path], *, project: Path | None = None,
                             caller_named: bool = False) -> RequirementsSet:
    """Read requirements files in order; ``-r``/``-c`` paths are relative to the naming file.

    With ``project``, every file read and every local index or find-links location lies
    inside that directory once symlinks are resolved (docs/safety.md): ``paths`` the caller
    named (``caller_named``) may lie anywhere, and what they include inside the project or
    their own directory.
    """
    state = _Collector(project=project)
    for path in paths:
        path = Path(path)
        state.also = (path.resolve().parent,) if caller_named else ()
        _read_file(path, constraint=False, state=state, included_from=None)
    return RequirementsSet(
        requirements=tuple(state.requirements),
        constraints=tuple(state.constraints),
        index_url=state.index_url,
        extra_index_urls=tuple(dict.fromkeys(state.extra_index_urls)),
        find_links=tuple(dict.fromkeys(state.find_links)),
        no_index=state.no_index,
    )


def requirement_specs(strings: Iterable[str], source: str) -> tuple[RequirementSpec, ...]:
    """PEP 508 strings (e.g. ``[project].dependencies``) as RequirementSpecs from ``source``."""
    return tuple(RequirementSpec(_parse_requirement(s, source), source=source) for s in strings)


def _read_file(
    path: Path, *, constraint: bool, state: _Collector, included_from: str | None
) -> None:
    where = f" (named at {included_from})" if included_from else ""
    resolved = state.inside(path, f"requirements file {path.as_posix()!r}{where}").resolve()
    if resolved in state.reading:
        raise _error(
            f"requirements file {path.as_posix()!r}{where} includes itself; remove the cycle"
        )
    try:
        text = path.read_text(encoding="utf-8-sig")  # tolerate a BOM (Windows editors)
    except OSError as exc:
        raise _error(
            f"cannot read requirements file {path.as_posix()!r}{where}: {exc.strerror}; "
            "check the path (it is relative to the file that names it)"
        ) from exc
    except UnicodeDecodeError as exc:
        raise _error(
            f"requirements file {path.as_posix()!r}{where} is not UTF-8 text (byte "
            f"{exc.start}: {exc.reason}); save it as UTF-8"
        ) from None
    state.reading.append(resolved)
    try:
        for lineno, line in _logical_lines(text):
            _read_line(line, f"{path.as_posix()}:{lineno}", path, constraint, state)
    finally:
        state.reading.pop()


def _logical_lines(text: str) -> Iterable[tuple[int, str]]:
    """(first physical line number, text) with comments removed and ``\\`` continuations joined."""
    pending: list[str] = []
    start = 0
    for lineno, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = lineno
        # pip strips comments before joining, so a comment ends a continued line too
        line = _COMMENT.sub("", raw)
        if line.endswith("\\"):
            pending.append(line[:-1])
            continue
        pending.append(line)
        joined = " ".join(part.strip() for part in pending).strip()
        pending = []
        if joined:
            yield start, joined
    if pending:
        joined = " ".join(part.strip() for part in pending).strip()
        if joined:
            yield start, joined


def _read_line(line: str, where: str, path: Path, constraint: bool, state: _Collector) -> None:
    if line.startswith("-"):
        _read_option_line(line, where, path, constraint, state)
        return
    # As pip does: the requirement is everything before the first token starting with "-"
    # (markers may contain spaces, options may not start the requirement).
    tokens = line.split(" ")
    for i, token in enumerate(tokens):
        if token.startswith("-"):
            req_text, options = " ".join(tokens[:i]), " ".join(tokens[i:])
            break
    else:
        req_text, options = line, ""
    hashes = _hash_options(options, where)
    spec = RequirementSpec(_parse_requirement(req_text, where), frozenset(hashes), where)
    (state.constraints if constraint else state.requirements).append(spec)


def _hash_options(options: str, where: str) -> set[str]:
    try:
        words = shlex.split(options)
    except ValueError as exc:
        raise _error(f"{where}: cannot split options {options!r}: {exc}") from exc
    hashes: set[str] = set()
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--hash" and i + 1 < len(words):
            value, i = words[i + 1], i + 2
        elif word.startswith("--hash="):
            value, i = word.removeprefix("--hash="), i + 1
        else:
            raise _error(
                f"{where}: option {word!r} is not supported after a requirement; "
                "only --hash=sha256:<hex> is"
            )
        value = value.lower()
        if not _HASH.fullmatch(value):
            raise _error(
                f"{where}: hash {value!r} is not sha256:<64 hex digits>; "
                "write the wheel's sha256 (pip hash <wheel> prints it)"
            )
        hashes.add(value)
    return hashes


def _read_option_line(
    line: str, where: str, path: Path, constraint: bool, state: _Collector
) -> None:
    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise _error(f"{where}: cannot split {line!r}: {exc}") from exc
    option, value = _split_option(words, where)
    if option == "no-index":
        state.no_index = True
    elif option == "requirement":
        # "-r" inside a constraints file names more constraints (pip does the same)
        _read_file(path.parent / value, constraint=constraint, state=state, included_from=where)
    elif option == "constraint":
        _read_file(path.parent / value, constraint=True, state=state, included_from=where)
    elif option == "index-url":
        _check_local(value, path, where, state)
        state.index_url = value  # the last one wins, as with pip
    elif option == "extra-index-url":
        _check_local(value, path, where, state)
        state.extra_index_urls.append(value)
    else:  # find-links: a local directory is relative to the file (pip does the same)
        local = _check_local(value, path, where, state)
        state.find_links.append(value if local is None else str(local))


def _check_local(value: str, path: Path, where: str, state: _Collector) -> Path | None:
    """The local directory an index or find-links value names (checked to lie inside the
    project), or None for a remote URL."""
    local = local_location(value, path.parent)
    if local is not None:
        state.inside(local, where)
    return local


def _split_option(words: list[str], where: str) -> tuple[str, str]:
    """``["-r", "x"]``, ``["-rx"]``, ``["--requirement=x"]`` -> ("requirement", "x")."""
    first = words[0]
    name, eq, attached = first.partition("=")
    if not eq and not first.startswith("--") and len(first) > 2:
        name, attached = first[:2], first[2:]  # "-rfile.txt", as optparse allows
    canonical = _OPTIONS.get(name)
    if canonical is None:
        raise _error(
            f"{where}: unsupported option {name!r}; requirements files may use {_ACCEPTED} "
            "(editable installs, paths and build options cannot be built for another target)"
        )
    rest = words[1:]
    if canonical == "no-index":
        if attached or eq or rest:
            raise _error(f"{where}: --no-index takes no value, got {' '.join(words)!r}")
        return canonical, ""
    if attached or eq:
        value = attached
    elif rest:
        value, rest = rest[0], rest[1:]
    else:
        raise _error(f"{where}: option {name!r} needs a value")
    if rest or not value:
        raise _error(
            f"{where}: option {name!r} takes exactly one value, got {' '.join(words)!r}"
        )
    return canonical, value


def _parse_requirement(text: str, where: str) -> Requirement:
    try:
        requirement = Requirement(text)
    except InvalidRequirement as exc:
        reason = str(exc).splitlines()[0]  # packaging adds the text and a caret on more lines
        raise _error(
            f"{where}: invalid requirement {text!r}: {reason}; "
            "write 'name[extras] specifier; marker'"
        ) from exc
    if requirement.url:
        raise _error(
            f"{where}: requirement {text!r} names a URL; only name-based requirements can be "
            "resolved for a target: put the wheel in the wheel cache and require it by name"
        )
    return requirement
