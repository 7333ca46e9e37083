"""[[tool.pydebvenv.services]] and [[tool.pydebvenv.timers]] tables -> checked UnitSpec values.

Every key is a row of ``keys.UNIT_KEYS``.  The shape of each value is checked here, with
errors that name the key and the file; what needs the built venv (whether ``exec`` names one
of its commands, the default user from the package name, two units with one name) is checked
by ``debian.services.plan_units``, which turns the specs into unit files.
"""

from __future__ import annotations

import difflib
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Literal

from pydebvenv.errors import ConfigError
from pydebvenv.project.keys import UNIT_KEYS, UnitKey
from pydebvenv.project.paths import inside_project
from pydebvenv.project.unitfile import unit_directive, unit_file_problems

__all__ = ["DIRECTORIES", "UnitKind", "UnitSpec", "at", "is_system_name", "unit_specs"]

TableName = Literal["services", "timers"]
UnitKind = Literal["service", "timer"]
At = Callable[[str | None], str]

#: systemd.exec(5) directory directives -> the directory they create under (and purge removes)
DIRECTORIES = {
    "StateDirectory": "/var/lib",
    "CacheDirectory": "/var/cache",
    "LogsDirectory": "/var/log",
    "RuntimeDirectory": "/run",
}


@dataclass(frozen=True, slots=True)
class UnitSpec:
    """One [[tool.pydebvenv.services]] (kind "service") or [[tool.pydebvenv.timers]] table.

    ``where`` names it in messages (``tool.pydebvenv.services[0]``), ``file`` is the
    pyproject.toml it comes from (None for keyword arguments of ``build()``).  None means
    "the default", resolved by ``plan_units``; a directory set to True is named
    after the unit.  ``unit_file``/``unit_text`` hold a unit shipped as written; ``user``,
    ``group`` and the directories are then the ones its [Service] section names.
    """

    kind: UnitKind
    where: str
    file: str | None = None
    name: str | None = None
    exec: str | None = None
    user: str | None = None
    group: str | None = None
    home: str | None = None
    description: str | None = None
    documentation: tuple[str, ...] | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    environment_file: str | None = None  # "" = none
    working_directory: str | None = None
    directories: Mapping[str, str | bool] = field(default_factory=dict)  # StateDirectory: ...
    type: str = "simple"
    reload: str | None = None
    restart: str = "on-failure"
    wanted_by: tuple[str, ...] = ("multi-user.target",)
    after: tuple[str, ...] | None = None
    wants: tuple[str, ...] = ()
    enable: bool = True
    start: bool = True
    restart_on_upgrade: bool = True
    hardening: bool = True
    unit: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    unit_file: str | None = None
    unit_text: str | None = None
    on_calendar: tuple[str, ...] = ()
    persistent: bool = True
    randomized_delay: str | None = None


def at(spec: UnitSpec, key: str | None = None) -> str:
    """Where a value of ``spec`` was written: ``tool.pydebvenv.services[0].exec in 'FILE'``."""
    label = f"{spec.where}.{key}" if key else spec.where
    return f"{label} in {spec.file!r}" if spec.file else label


def is_system_name(name: str) -> bool:
    """Whether ``name`` can be a system user or group made by adduser and useradd."""
    return _USER.fullmatch(name) is not None


# systemd.unit(5): unit names are ASCII letters, digits, ":", "_", ".", "-" (and "@" and
# "\" for templates and escapes, which generated units do not need).
_UNIT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9:_.-]{0,200}")
_UNIT_REF = re.compile(r"[A-Za-z0-9:_.@\\-]+")
# adduser's default SYS_NAME_REGEX on Debian 12 (^[a-z_][a-z0-9_-]*$, the stricter of the
# Debian 12 and 13 defaults) within useradd's 32 characters
_USER = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DIRECTIVE = re.compile(r"[A-Z][A-Za-z0-9]*")
_DIR_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_TYPES = ("simple", "exec", "forking", "oneshot", "notify", "idle")
_RESTARTS = ("no", "on-success", "on-failure", "on-abnormal", "on-watchdog", "on-abort",
             "always")
_SECTIONS = {"services": ("Unit", "Service", "Install"), "timers": ("Service", "Timer")}
# With unit-file, the file says everything about the unit itself.
_WITH_UNIT_FILE = {"name", "unit-file", "home", "enable", "start", "restart-on-upgrade"}
_DIRECTORY_KEYS = {"state-directory": "StateDirectory", "cache-directory": "CacheDirectory",
                   "logs-directory": "LogsDirectory", "runtime-directory": "RuntimeDirectory"}
assert set(_DIRECTORY_KEYS.values()) == set(DIRECTORIES)
_SPEC_FIELDS = {f.name for f in fields(UnitSpec)}


def unit_specs(table: TableName, value: object, file: str | None,
               root: Path) -> tuple[UnitSpec, ...]:
    """The specs of ``value`` (a list of tables), from ``file`` (None: keyword arguments)."""
    label = f"tool.pydebvenv.{table}" if file else table
    where = f"{label} in {file!r}" if file else label
    if isinstance(value, Mapping) or not isinstance(value, list | tuple):
        example = '[[tool.pydebvenv.services]] with name = "myapp" and exec = "myapp-serve"'
        raise ConfigError(f"{where} must be a list of tables, not {value!r}: write e.g. "
                          f"{example}")
    specs = []
    for index, item in enumerate(value):
        if isinstance(item, UnitSpec):  # from the API: already a value
            specs.append(item)
            continue
        specs.append(_spec(table, f"{label}[{index}]", file, item, root))
    return tuple(specs)


def _spec(table: TableName, label: str, file: str | None, item: object,
          root: Path) -> UnitSpec:
    def at(key: str | None = None) -> str:  # where a key was written, for messages
        name = f"{label}.{key}" if key else label
        return f"{name} in {file!r}" if file else name

    if not isinstance(item, Mapping):
        raise ConfigError(f"{at()} must be a table such as {{ name = \"myapp\", exec = "
                          f"\"myapp-serve\" }}, not {item!r}")
    known = {k.toml: k for k in UNIT_KEYS if table in k.tables}
    values: dict[str, object] = {}
    directories: dict[str, str | bool] = {}
    for toml_name, raw in item.items():
        key = known.get(str(toml_name))
        if key is None:
            other = next((k for k in UNIT_KEYS if k.toml == toml_name), None)
            if other is not None:
                raise ConfigError(f"{at()}: {toml_name!r} is a key of [[tool.pydebvenv."
                                  f"{other.tables[0]}]] only")
            raise ConfigError(f"{at()}: unknown key {toml_name!r}{_suggest(str(toml_name), known)}")
        value = _convert(key, raw, at(key.toml), table, root)
        if key.toml in _DIRECTORY_KEYS:
            directories[_DIRECTORY_KEYS[key.toml]] = value  # type: ignore[assignment]
        elif key.toml == "on-calendar":
            values["on_calendar"] = value
        else:
            values[key.attr] = value
    if "unit_file" in values:
        _unit_file(values, set(map(str, item)), at, root)
    elif "exec" not in values:
        raise ConfigError(f"{at('exec')} is missing: write the command that runs it, e.g. "
                          'exec = "myapp-serve --port 8080" (a console script of the venv or '
                          "an absolute path)")
    if table == "timers" and not values.get("on_calendar"):
        raise ConfigError(f"{at('on-calendar')} is missing: say when the job runs, e.g. "
                          'on-calendar = "daily" or "*-*-* 04:00:00" (systemd.time(7))')
    assert set(values) <= _SPEC_FIELDS, set(values) - _SPEC_FIELDS
    kind: Literal["service", "timer"] = "service" if table == "services" else "timer"
    return UnitSpec(kind=kind, where=label, file=file, directories=directories,
                    **values)  # type: ignore[arg-type]


def _suggest(name: str, known: Mapping[str, object]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1) or [
        k for k in known if k.replace("-", "_") == name.replace("-", "_")]
    if close:
        return f": did you mean {close[0]!r}?"
    return f": known keys are {', '.join(sorted(known))}"


def _convert(key: UnitKey, value: object, where: str, table: TableName, root: Path) -> object:
    kind = key.type
    if kind == "boolean":
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false, not {value!r}")
        return value
    if kind == "string or boolean" and value is True:
        return True
    if kind == "string or false" and value is False:
        return ""
    if kind in ("string", "string or boolean", "string or false", "path"):
        if not isinstance(value, str | Path) or not str(value).strip() or "\n" in str(value):
            wanted = {"string or boolean": " or true", "string or false": " or false"}
            raise ConfigError(f"{where} must be a non-empty one-line string"
                              f"{wanted.get(kind, '')}, not {value!r}")
        if kind == "path":
            return root / Path(value)
        return _check_string(key.toml, str(value).strip(), where)
    if kind == "list of strings":
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list | tuple) or not all(
                isinstance(i, str) and i.strip() and "\n" not in i for i in items):
            raise ConfigError(f"{where} must be a string or a list of one-line strings, "
                              f"not {value!r}")
        return tuple(_check_item(key.toml, str(i).strip(), where) for i in items)
    if kind == "table of strings":
        if not isinstance(value, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise ConfigError(f"{where} must be a table of strings such as "
                              f'{{ LOG_LEVEL = "info" }}, not {value!r}')
        for name, text in value.items():
            if not _ENV_NAME.fullmatch(name) or "\n" in text:
                raise ConfigError(f"{where}: {name!r} = {text!r} is not a variable name "
                                  "(letters, digits, _) with a one-line value")
        return dict(value)
    return _raw_sections(value, where, table)


def _check_string(name: str, value: str, where: str) -> str:
    if name == "name" and (not _UNIT_NAME.fullmatch(value) or value.endswith(
            (".service", ".timer"))):
        raise ConfigError(f"{where}: {value!r} is not a unit name: use letters, digits and "
                          "':_.-' without the .service suffix, e.g. \"myapp\"")
    if name in ("user", "group") and not is_system_name(value):
        raise ConfigError(f"{where}: {value!r} is not a valid system {name} name: use at most "
                          "32 of a-z 0-9 _ -, starting with a letter or _ (adduser(8) "
                          "SYS_NAME_REGEX)")
    if name in ("exec", "reload") and value[0] in "-@:+!\"'":
        raise ConfigError(f"{where}: {value!r} starts with a systemd prefix or a quote: start "
                          "with the command (a console script of the venv or an absolute "
                          "path); raw ExecStart= lines go in `unit`")
    if name in ("home", "working-directory") and not _absolute(value):
        raise ConfigError(f"{where}: {value!r} must be an absolute, normalised directory "
                          "such as '/var/lib/myapp'")
    if name == "home" and (value == "/home" or value.startswith("/home/")):
        raise ConfigError(f"{where}: {value!r} is under /home: a system user's home lives "
                          "elsewhere (/var/lib/myapp); the services cannot see /home "
                          "(ProtectHome=yes)")
    if name == "environment-file" and not _absolute(value.removeprefix("-")):
        raise ConfigError(f"{where}: {value!r} must be an absolute file path such as "
                          "'/etc/default/myapp' (a leading '-' makes it optional)")
    if name.endswith("-directory") and name != "working-directory" and (
            not _DIR_NAME.fullmatch(value) or value in (".", "..")):
        raise ConfigError(f"{where}: {value!r} must be one directory name such as 'myapp' "
                          "(or true for the unit's name)")
    if name == "type" and value not in _TYPES:
        raise ConfigError(f"{where}: unknown service type {value!r}: use one of "
                          f"{', '.join(_TYPES)}")
    if name == "restart" and value not in _RESTARTS:
        raise ConfigError(f"{where}: unknown Restart= value {value!r}: use one of "
                          f"{', '.join(_RESTARTS)}")
    return value


def _check_item(name: str, value: str, where: str) -> str:
    if name in ("after", "wants", "wanted-by") and not _UNIT_REF.fullmatch(value):
        raise ConfigError(f"{where}: {value!r} is not a unit name such as 'network.target'")
    if name == "documentation" and not re.match(r"[a-z][a-z0-9+.-]*:", value):
        raise ConfigError(f"{where}: {value!r} is not a URI (https:, file:, man:, info:)")
    return value


def _absolute(path: str) -> bool:
    return path.startswith("/") and posixpath.normpath(path) == path and path != "/"


def _raw_sections(value: object, where: str,
                  table: TableName) -> dict[str, dict[str, tuple[str, ...]]]:
    sections = _SECTIONS[table]
    example = '{ Service = { LimitNOFILE = "65536" } }'
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must be a table of sections such as {example}, "
                          f"not {value!r}")
    result: dict[str, dict[str, tuple[str, ...]]] = {}
    for section, directives in value.items():
        if section not in sections:
            raise ConfigError(f"{where}: section {section!r} is not one of "
                              f"{', '.join(sections)}: write e.g. {example}")
        if not isinstance(directives, Mapping):
            raise ConfigError(f"{where}.{section} must be a table of directives such as "
                              f'{{ LimitNOFILE = "65536" }}, not {directives!r}')
        result[section] = {}
        for directive, raw in directives.items():
            items = [raw] if isinstance(raw, str) else raw
            if not _DIRECTIVE.fullmatch(str(directive)) or not isinstance(
                    items, list | tuple) or not all(
                    isinstance(i, str) and "\n" not in i for i in items):
                raise ConfigError(f"{where}.{section}: {directive!r} = {raw!r} must be a "
                                  "directive name with a one-line string or a list of them")
            result[section][str(directive)] = tuple(items)
    return result


def _unit_file(values: dict[str, object], given: set[str], at: At, root: Path) -> None:
    """Read and check a shipped unit file; the keys that describe the unit are refused."""
    extra = sorted(given - _WITH_UNIT_FILE)
    if extra:
        raise ConfigError(f"{at(extra[0])}: with unit-file, the unit file says this; set it "
                          "there (only name, home, enable, start and restart-on-upgrade go "
                          "beside unit-file)")
    path = values["unit_file"]
    assert isinstance(path, Path)
    shown = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
    try:
        text = inside_project(root, path, at("unit-file")).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError(f"{at('unit-file')}: cannot read {str(path)!r} ({reason}); give "
                          "a unit file relative to pyproject.toml") from None
    problems = unit_file_problems(text)
    if problems:
        raise ConfigError(f"{at('unit-file')}: {shown!r}: {problems[0]}")
    if "name" not in values:
        stem = path.name.removesuffix(".service")
        if not _UNIT_NAME.fullmatch(stem) or stem == path.name:
            raise ConfigError(f"{at('name')} is missing and {path.name!r} is not "
                              "<name>.service: set name = \"myapp\"")
        values["name"] = stem
    values["unit_file"] = shown
    values["unit_text"] = text
    _check_unit_users(text, at)


def _check_unit_users(text: str, at: At) -> None:
    """The User=, Group= and directories pydebvenv takes from a shipped unit file."""
    for key in ("User", "Group"):
        value = unit_directive(text, "Service", key)
        if value is not None and not is_system_name(value):
            raise ConfigError(f"{at('unit-file')}: {key}={value} is not a system user or "
                              "group name pydebvenv can create (a-z 0-9 _ -)")
    for key in DIRECTORIES:
        for value in (unit_directive(text, "Service", key) or "").split():
            if not _DIR_NAME.fullmatch(value) or value in (".", ".."):
                raise ConfigError(f"{at('unit-file')}: {key}={value} is not one directory "
                                  "name; pydebvenv removes only single names on purge")
