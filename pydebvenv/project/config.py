"""[tool.pydebvenv] of pyproject.toml plus overrides -> a checked Options value.

Precedence, highest first: overrides (CLI flags or API keyword arguments, Python names
such as ``pre_depends``), then the ``[tool.pydebvenv]`` table (TOML names such as
``pre-depends``); an option set by neither stays at its default.  Every key is a row of
``keys.KEYS``: an unknown key is refused with a suggestion, a wrong type with an example.
"""

from __future__ import annotations

import difflib
import email.utils
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path, PurePosixPath

from pydebvenv.debfile.compress import COMPRESSIONS
from pydebvenv.debfile.control import OWN_FIELDS, is_field_name, is_package_name
from pydebvenv.debfile.relations import POLICY_RELATIONS, relation_problem
from pydebvenv.errors import ConfigError
from pydebvenv.project.keys import KEYS, Key
from pydebvenv.project.paths import (
    destination_problem,
    inside_project,
    local_location,
    prefix_problem,
)
from pydebvenv.project.services import UnitSpec, unit_specs
from pydebvenv.redact import redact

__all__ = [
    "Config",
    "FileSpec",
    "Options",
    "from_config",
    "load_config",
    "options_from_data",
    "read_pyproject",
    "toml_table",
]

_BY_TOML = {key.toml: key for key in KEYS}
_BY_ATTR = {key.attr: key for key in KEYS}

_SCRIPTS = ("preinst", "postinst", "prerm", "postrm")
# string keys whose empty value means "none" (release-suffix = "" drops the suffix)
_MAY_BE_EMPTY = ("release-suffix",)
# The keys that are relationship fields (Depends is the computed one plus these).
_RELATION_KEYS = ("depends", "pre-depends", "recommends", "suggests", "conflicts", "breaks",
                  "replaces", "provides")


@dataclass(frozen=True, slots=True)
class FileSpec:
    """An extra file to ship: a host file and its absolute POSIX destination."""

    source: Path
    destination: str
    mode: int = 0o644
    conffile: bool = False


@dataclass(frozen=True, slots=True)
class Options:
    """Every [tool.pydebvenv] key after precedence; None means "not set, use the default"."""

    name: str | None = None
    revision: str = "1"
    release_suffix: str = "+{tag}"
    maintainer: str | None = None
    summary: str | None = None
    description: str | None = None
    prefix: str = "/usr/share/python"
    target: str | None = None
    arch: str | None = None
    compression: str | None = None
    requirements: tuple[Path, ...] | None = None
    extras: tuple[str, ...] = ()
    wheel_cache: Path | None = None
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    depends: tuple[str, ...] = ()
    pre_depends: tuple[str, ...] = ()
    recommends: tuple[str, ...] = ()
    suggests: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    breaks: tuple[str, ...] = ()
    replaces: tuple[str, ...] = ()
    provides: tuple[str, ...] = ()
    section: str = "utils"
    priority: str = "optional"
    fields: Mapping[str, str] = field(default_factory=dict)
    scripts: tuple[str, ...] | None = None
    files: tuple[FileSpec, ...] = ()
    preinst: str | None = None
    postinst: str | None = None
    prerm: str | None = None
    postrm: str | None = None
    services: tuple[UnitSpec, ...] = ()
    timers: tuple[UnitSpec, ...] = ()
    compile: bool = False
    offline: bool = False
    include_pip: bool = False

    @property
    def snippets(self) -> dict[str, str]:
        """The user's maintainer-script snippets that are set, by script name."""
        return {name: text for name in _SCRIPTS if (text := getattr(self, name))}


def read_pyproject(project_dir: Path) -> dict[str, object]:
    """The parsed pyproject.toml of ``project_dir``; ConfigError when missing or invalid."""
    path = Path(project_dir) / "pyproject.toml"
    try:
        inside_project(Path(project_dir), path, "pyproject.toml")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"no pyproject.toml in {str(project_dir)!r}: pass the project directory, or run "
            "`pydebvenv init` in a project that has one"
        ) from None
    except IsADirectoryError:
        raise ConfigError(f"{str(path)!r} is a directory, not a file: pass the directory "
                          "that holds the project's pyproject.toml") from None
    except OSError as exc:
        raise ConfigError(f"cannot read {str(path)!r} ({exc.strerror}); check its "
                          "permissions") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{str(path)!r} is not UTF-8 text (byte {exc.start}: {exc.reason}); "
                          "save it as UTF-8 (TOML files are UTF-8)") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{str(path)!r} is not valid TOML: {exc}; fix the file") from None


def toml_table(data: Mapping[str, object], name: str, path: Path,
               label: str | None = None) -> Mapping[str, object]:
    """``data[name]`` of the TOML file ``path`` (empty when absent); ConfigError if no table."""
    value = data.get(name, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"[{label or name}] in {str(path)!r} must be a table, not {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class Config:
    """A project directory read once: its parsed pyproject.toml and the options after precedence."""

    root: Path  # absolute
    data: Mapping[str, object]  # the parsed pyproject.toml ({} when there is none)
    options: Options
    #: where each explicitly set option came from: "override" or "config"
    origins: Mapping[str, str] = field(default_factory=dict)
    #: ``--from`` requirements (PEP 508 strings): the application is the first one's
    #: distribution, not a project directory (sources.py, model.py)
    from_: tuple[str, ...] = ()

    @property
    def pyproject(self) -> Path:
        return self.root / "pyproject.toml"


def load_config(project_dir: Path | str, overrides: Mapping[str, object] = {}, *,
                required: bool = True) -> Config:
    """Read ``project_dir``/pyproject.toml once and apply ``overrides`` to [tool.pydebvenv].

    Only [tool.pydebvenv] is checked here, so ``fetch`` works before [project] is complete.
    With ``required=False`` a directory without pyproject.toml gives the defaults with
    ``overrides`` on top (``fetch`` of a bare requirements.txt).
    """
    root = Path(project_dir).absolute()
    data = read_pyproject(root) if required or (root / "pyproject.toml").exists() else {}
    options, origins = options_from_data(root, data, overrides)
    return Config(root, data, options, origins)


def from_config(requirements: str | Sequence[str], overrides: Mapping[str, object] = {}, *,
                root: Path | None = None) -> Config:
    """The Config of a ``--from`` build: no pyproject.toml is read, only ``overrides``
    apply; relative paths among them are read against ``root`` (the working directory)."""
    items = [requirements] if isinstance(requirements, str) else list(requirements)
    given = tuple(str(r).strip() for r in items)
    if not given or not all(given):
        raise ConfigError("--from needs a requirement such as 'httpie' or 'black==24.10.0'")
    base = (root or Path.cwd()).absolute()
    options, origins = options_from_data(base, {}, overrides)
    return Config(base, {}, options, origins, given)


def options_from_data(
    root: Path,
    data: Mapping[str, object],
    overrides: Mapping[str, object] = {},  # read only, never mutated
) -> tuple[Options, dict[str, str]]:
    """The Options of an already parsed pyproject.toml in ``root``, and where each set option
    came from (``"config"`` or ``"override"``)."""
    pyproject = root / "pyproject.toml"
    tool = toml_table(toml_table(data, "tool", pyproject), "pydebvenv", pyproject,
                      "tool.pydebvenv")
    values: dict[str, object] = {}
    origins: dict[str, str] = {}
    for toml_name, value in tool.items():
        key = _BY_TOML.get(toml_name)
        if key is None:
            raise ConfigError(
                f"unknown key {toml_name!r} in [tool.pydebvenv] of {str(pyproject)!r}"
                f"{_suggest(toml_name, _BY_TOML)}"
            )
        where = f"tool.pydebvenv.{toml_name} in {str(pyproject)!r}"
        values[key.attr] = _converted(key, value, where, root, override=False,
                                      file=str(pyproject))
        origins[key.attr] = "config"
    for attr, value in overrides.items():
        key = _BY_ATTR.get(attr)
        if key is None:
            raise ConfigError(f"unknown option {attr!r}{_suggest(attr, _BY_ATTR)}")
        if value is None:  # an unset keyword argument or flag: keep the config value
            continue
        values[attr] = _converted(key, value, f"option {attr!r}", root, override=True)
        origins[attr] = "override"
    return Options(**values), origins  # type: ignore[arg-type]


def _suggest(name: str, known: Mapping[str, object]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    if not close:  # an abbreviation ("dest") or the other spelling ("pre_depends")
        flat = name.replace("-", "_")
        close = [k for k in known if k.replace("-", "_") == flat] or sorted(
            k for k in known if k.replace("-", "_").startswith(flat))
    if close:
        return f": did you mean {close[0]!r}?"
    return f": known keys are {', '.join(sorted(known))}"


def _converted(key: Key, value: object, where: str, root: Path, *, override: bool,
               file: str | None = None) -> object:
    try:
        return _convert(key, value, where, root, override=override, file=file)
    except ConfigError as exc:  # an index URL may carry user:password@: never show it
        raise ConfigError(redact(str(exc))) from None


def _convert(key: Key, value: object, where: str, root: Path, *, override: bool = False,
             file: str | None = None) -> object:
    def wrong(what: str) -> ConfigError:
        example = key.example if not override else f"{key.attr}=..."
        return ConfigError(f"{where} must be {what}, not {value!r}: write e.g. {example}")

    kind = key.type
    if kind == "boolean":
        if not isinstance(value, bool):
            raise wrong("true or false")
        return value
    if kind in ("string", "path"):
        if not isinstance(value, str | Path) or (
                isinstance(value, str) and not value.strip() and key.toml not in _MAY_BE_EMPTY):
            raise wrong("a non-empty string")
        if kind == "path":
            return _project_path(root, Path(value), where, override)
        return _check_location(key, _check_string(key, str(value).strip(), where), where, root,
                               override)
    if kind in ("list of strings", "list of paths"):
        if isinstance(value, str | Path) or not isinstance(value, list | tuple):
            raise wrong("a list of strings")
        if not all(isinstance(item, str | Path) and str(item).strip() for item in value):
            raise wrong("a list of non-empty strings")
        if kind == "list of paths":
            return tuple(_project_path(root, Path(item), where, override) for item in value)
        return tuple(_check_location(key, _check_string(key, str(item).strip(), where), where,
                                     root, override) for item in value)
    if kind == "table of strings":
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise wrong("a table of strings")
        return dict(_check_field(str(k), str(v), where) for k, v in value.items())
    if key.toml in ("services", "timers"):
        return unit_specs("services" if key.toml == "services" else "timers", value, file, root)
    if kind == "list of tables":
        if not isinstance(value, list | tuple):
            raise wrong("a list of tables")
        return tuple(_file_spec(item, where, root, key) for item in value)
    # "string or table": a maintainer-script snippet inline or from a file
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and set(value) == {"file"} and isinstance(value["file"], str):
        path = root / value["file"]
        try:
            return inside_project(root, path, where).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"{where}: cannot read {str(path)!r} ({exc.strerror}); fix the file name"
            ) from None
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{where}: {str(path)!r} is not UTF-8 text (byte {exc.start}: "
                              f"{exc.reason}); save the snippet as UTF-8") from None
    raise wrong('a shell snippet string or { file = "path" }')


# The keys naming places wheels are read from: a local one named by pyproject.toml must lie
# inside the project (docs/safety.md, "What a build reads").
_LOCATIONS = ("index-url", "extra-index-urls", "find-links")


def _project_path(root: Path, path: Path, where: str, override: bool) -> Path:
    """A path key: relative to the project; inside it unless the caller gave it."""
    full = root / path
    if not override:
        inside_project(root, full, where)
    return full


def _check_location(key: Key, value: str, where: str, root: Path, override: bool) -> str:
    """An index or find-links value from pyproject.toml: a local one must lie inside the
    project, and a relative one is made absolute (pip would read it from the current
    directory)."""
    if key.toml not in _LOCATIONS or override:
        return value
    local = local_location(value, root)
    if local is None:
        return value
    inside_project(root, local, where)
    return str(local) if key.toml == "find-links" else value


def _check_string(key: Key, value: str, where: str) -> str:
    if "\n" in value and key.toml != "description":
        raise ConfigError(f"{where} must be one line, not {value!r}: remove the line breaks")
    if "\r" in value:
        raise ConfigError(f"{where} contains a carriage return (\\r): {value[:60]!r}; remove it")
    if key.toml in _RELATION_KEYS:
        field = "-".join(word.capitalize() for word in key.toml.split("-"))
        problem = relation_problem(field, value)
        if problem is not None:
            raise ConfigError(f"{where}: invalid relation {value!r}: {problem}; write e.g. "
                              f"{key.example} (deb-control(5), Debian Policy 7.1)")
    if key.toml == "name" and not is_package_name(value):
        raise ConfigError(
            f"{where}: {value!r} is not a valid Debian package name: use two or more of "
            "a-z 0-9 + - . starting with a letter or digit (Debian Policy 5.6.1)"
        )
    if key.toml == "maintainer":
        name, address = email.utils.parseaddr(value)
        if not name or "@" not in address:
            raise ConfigError(
                f"{where} must be 'Name <email>', not {value!r}: write e.g. {key.example}"
            )
    if key.toml == "prefix":
        problem = prefix_problem(value)
        if problem is not None:
            raise ConfigError(f"{where} must be an absolute POSIX directory, not {value!r}: "
                              f"{problem}; write e.g. {key.example}")
        return value.rstrip("/")
    if key.toml == "compression" and value not in COMPRESSIONS:
        raise ConfigError(f"{where}: unknown compression {value!r}: use one of "
                          f"{', '.join(COMPRESSIONS)}")
    return value


def _check_field(name: str, value: str, where: str) -> tuple[str, str]:
    if not is_field_name(name):
        raise ConfigError(f"{where}: invalid control field name {name!r}: use letters, "
                          "digits and '-', such as 'X-Team'")
    if name.lower() in (own.lower() for own in OWN_FIELDS):
        raise ConfigError(f"{where}: the {name!r} field is computed by pydebvenv: set it "
                          "through its own key instead (name, maintainer, summary, ...)")
    relation = name.lower().replace("-", "_")
    if relation in _BY_ATTR:
        raise ConfigError(f"{where}: set {name!r} with the {_BY_ATTR[relation].toml!r} key "
                          "of [tool.pydebvenv], not in fields")
    if "\n" in value or "\r" in value:
        raise ConfigError(f"{where}: field {name!r} must be one line, not {value!r}")
    if name.lower() in (field.lower() for field in POLICY_RELATIONS):
        problem = relation_problem(name, value)
        if problem is not None:
            raise ConfigError(f"{where}: invalid {name} field {value!r}: {problem} "
                              "(deb-control(5), Debian Policy 7.1)")
    return name, value


def _file_spec(item: object, where: str, root: Path, key: Key) -> FileSpec:
    allowed = {"source", "destination", "mode", "conffile"}
    if isinstance(item, FileSpec):  # from the API: already a value, check it the same way
        item = {"source": str(item.source), "destination": item.destination,
                "mode": item.mode, "conffile": item.conffile}
    if not isinstance(item, Mapping):
        raise ConfigError(f"{where} must be a list of tables, not {item!r}: write e.g. "
                          f"{key.example}")
    unknown = sorted(set(item) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} in {dict(item)!r}"
                          f"{_suggest(str(unknown[0]), dict.fromkeys(allowed))}")
    source, destination = item.get("source"), item.get("destination")
    if not isinstance(source, str) or not isinstance(destination, str):
        raise ConfigError(f"{where}: {dict(item)!r} needs source and destination strings: "
                          f"write e.g. {key.example}")
    dest = PurePosixPath(destination)
    if (not destination.startswith("/") or destination.startswith("//") or ".." in dest.parts
            or destination.endswith("/") or str(dest) == "/"
            or any(c in destination for c in "\0\n\r\\")):
        raise ConfigError(f"{where}: destination {destination!r} must be an absolute file "
                          "path such as '/etc/myapp/app.conf'")
    problem = destination_problem(str(dest))
    if problem is not None:
        raise ConfigError(f"{where}: destination {str(dest)!r} is refused: {problem}; ship "
                          "the file elsewhere (docs/safety.md)")
    mode = item.get("mode", 0o644)
    if isinstance(mode, str) and re.fullmatch(r"0?o?[0-7]{3,4}", mode):
        mode = int(mode.replace("o", ""), 8)
    if isinstance(mode, bool) or not isinstance(mode, int) or not 0 <= mode <= 0o7777:
        raise ConfigError(f"{where}: mode {mode!r} of {destination!r} must be octal such as "
                          "0o644 or \"0755\"")
    conffile = item.get("conffile", False)
    if not isinstance(conffile, bool):
        raise ConfigError(f"{where}: conffile of {destination!r} must be true or false")
    if conffile and not destination.startswith("/etc/"):
        raise ConfigError(f"{where}: conffile {destination!r} must be under /etc "
                          "(Debian Policy 10.7.2); set conffile = false or move it")
    inside_project(root, root / source, f"{where}: source of {str(dest)!r}")
    return FileSpec(root / source, str(dest), mode, conffile)



# Keep the option dataclass and the key table in step (a KEYS row without a field, or the
# reverse, is a bug caught at import time rather than by a confusing TypeError later).
assert [f.name for f in fields(Options)] == [k.attr for k in KEYS], "KEYS and Options differ"
