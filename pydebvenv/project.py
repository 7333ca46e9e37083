"""pyproject.toml's [project] (PEP 621) and [tool.pydebvenv], plus overrides -> a Project value.

Precedence, highest first: overrides (CLI flags or API keyword arguments, Python names
such as ``pre_depends``), the ``[tool.pydebvenv]`` table (TOML names such as
``pre-depends``), then ``[project]`` (or the built wheel's METADATA, which the build
backend produced from it).  Every ``[tool.pydebvenv]`` key is a row of ``KEYS``; the
documentation table is rendered from it (``configuration_table()``).
"""

from __future__ import annotations

import difflib
import email.message
import email.utils
import re
import textwrap
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path, PurePosixPath
from typing import Literal

from packaging.version import InvalidVersion, Version

from pydebvenv.errors import ConfigError
from pydebvenv.versions import debian_package_name, debian_version, is_valid_package_name

__all__ = [
    "KEYS",
    "FileSpec",
    "Key",
    "Options",
    "Project",
    "RequirementKind",
    "configuration_table",
    "find_maintainer",
    "load_project",
    "project_from_data",
    "read_pyproject",
    "requirement_sources",
]

KeyType = Literal["string", "boolean", "list of strings", "table of strings", "list of tables",
                  "string or table", "path", "list of paths"]


@dataclass(frozen=True, slots=True)
class Key:
    """One [tool.pydebvenv] key: its TOML and Python names, type, default, CLI flag, meaning."""

    toml: str
    type: KeyType
    default: str
    flag: str | None
    meaning: str
    example: str  # a TOML line, quoted in wrong-type errors

    @property
    def attr(self) -> str:
        return self.toml.replace("-", "_")


_REL: KeyType = "list of strings"
KEYS: tuple[Key, ...] = (
    Key("name", "string", "`[project].name`, PEP 503-normalised", "--name",
        "Debian package name (Policy 5.6.1: a-z 0-9 + - ., two or more)", 'name = "myapp"'),
    Key("revision", "string", '`"1"`', "--revision",
        "Debian revision appended to the version (`1.2-1`); bump it when only the bundled "
        "wheels change", 'revision = "2"'),
    Key("maintainer", "string", "`[project].maintainers`, else `authors`", "--maintainer",
        "Maintainer field, `Name <email>`", 'maintainer = "Jane Doe <jane@example.org>"'),
    Key("summary", "string", "`[project].description`", None,
        "one-line synopsis of the Description field", 'summary = "does one thing well"'),
    Key("description", "string", "first paragraph of `[project].readme`", None,
        "extended description (paragraphs separated by blank lines)",
        'description = "A longer text."'),
    Key("prefix", "string", '`"/usr/share/python"`', "--prefix",
        "directory holding the venv, which is installed at `<prefix>/<name>`",
        'prefix = "/opt/venvs"'),
    Key("target", "string", "the build host's release", "--target",
        "target release, such as `debian-12` or `ubuntu-24.04`", 'target = "debian-12"'),
    Key("arch", "string", "the build host's architecture", "--arch",
        "Debian architecture of the target, such as `amd64` or `arm64`", 'arch = "arm64"'),
    Key("compression", "string", "the target's default", "--compression",
        "member compression: `zstd`, `xz`, `gzip` or `none`", 'compression = "xz"'),
    Key("requirements", "list of paths", "`requirements.txt` or `pylock.toml`, else "
        "`[project].dependencies`", "-r/--requirement",
        "requirements files (relative to pyproject.toml) pinning what goes into the venv",
        'requirements = ["requirements.txt"]'),
    Key("extras", "list of strings", "`[]`", "--extra",
        "extras of the application to install", 'extras = ["postgres"]'),
    Key("wheel-cache", "path",
        "`$PYDEBVENV_WHEEL_CACHE`, else `$XDG_CACHE_HOME/pydebvenv/wheels`", "--wheel-cache",
        "directory of wheels the venv is built from (filled by `pydebvenv fetch`)",
        'wheel-cache = "wheels"'),
    Key("index-url", "string", "pip's default index", "--index-url",
        "package index `fetch` downloads from", 'index-url = "https://example.org/simple"'),
    Key("extra-index-urls", "list of strings", "`[]`", "--extra-index-url",
        "more indexes for `fetch`", 'extra-index-urls = ["https://example.org/simple"]'),
    Key("find-links", "list of strings", "`[]`", "--find-links",
        "directories or pages of wheels for `fetch`", 'find-links = ["vendor"]'),
    Key("depends", _REL, "`[]`", None,
        "Depends added to the computed ones (interpreter, libc6, ...)",
        'depends = ["ca-certificates"]'),
    Key("pre-depends", _REL, "`[]`", None, "Pre-Depends field", 'pre-depends = ["adduser"]'),
    Key("recommends", _REL, "`[]`", None, "Recommends field", 'recommends = ["git"]'),
    Key("suggests", _REL, "`[]`", None, "Suggests field", 'suggests = ["nginx"]'),
    Key("conflicts", _REL, "`[]`", None, "Conflicts field", 'conflicts = ["oldapp"]'),
    Key("breaks", _REL, "`[]`", None, "Breaks field", 'breaks = ["oldapp (<< 2)"]'),
    Key("replaces", _REL, "`[]`", None, "Replaces field", 'replaces = ["oldapp"]'),
    Key("provides", _REL, "`[]`", None, "Provides field", 'provides = ["myapp-api"]'),
    Key("section", "string", '`"utils"`', None, "Section field", 'section = "net"'),
    Key("priority", "string", '`"optional"`', None, "Priority field", 'priority = "optional"'),
    Key("fields", "table of strings", "`{}`", None,
        "extra control fields, written as given", 'fields = { "X-Team" = "infra" }'),
    Key("scripts", "list of strings", "every console script of the application", None,
        "console scripts linked into /usr/bin", 'scripts = ["myapp"]'),
    Key("files", "list of tables", "`[]`", None,
        "extra files: `{source, destination, mode, conffile}`; conffiles must be under /etc",
        'files = [{ source = "app.conf", destination = "/etc/myapp/app.conf", conffile = true }]'),
    Key("preinst", "string or table", "none", None,
        "shell snippet run by preinst (text, or `{ file = \"path\" }`)",
        'preinst = { file = "debian/preinst.sh" }'),
    Key("postinst", "string or table", "none", None,
        "shell snippet run by postinst after the venv is set up", 'postinst = "echo ok"'),
    Key("prerm", "string or table", "none", None, "shell snippet run by prerm",
        'prerm = "echo bye"'),
    Key("postrm", "string or table", "none", None, "shell snippet run by postrm",
        'postrm = "echo gone"'),
    Key("compile", "boolean", "`false`", "--compile",
        "byte-compile at build time and ship the .pyc files (default: compile in postinst)",
        "compile = true"),
    Key("offline", "boolean", "`false`", "--offline",
        "never download: build only from the wheel cache", "offline = true"),
    Key("include-pip", "boolean", "`false`", "--include-pip",
        "install pip into the venv", "include-pip = true"),
)
_BY_TOML = {key.toml: key for key in KEYS}
_BY_ATTR = {key.attr: key for key in KEYS}

_SCRIPTS = ("preinst", "postinst", "prerm", "postrm")
# Fields the Control value computes itself: refused in `fields` (deb-control(5)).
_OWN_FIELDS = {"package", "version", "architecture", "maintainer", "installed-size",
               "description"}
_FIELD_NAME_RE = re.compile(r"[!-9;-~]+")  # deb822: printable ASCII except ":" and space


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
    compile: bool = False
    offline: bool = False
    include_pip: bool = False

    @property
    def maintainer_scripts(self) -> dict[str, str | None]:
        """The user's snippets by script name: preinst, postinst, prerm, postrm."""
        return {name: getattr(self, name) for name in _SCRIPTS}


RequirementKind = Literal["override", "config", "requirements.txt", "pylock.toml",
                          "dependencies"]


@dataclass(frozen=True, slots=True)
class Project:
    """Everything the build needs to know about the application, with Debian names."""

    root: Path
    dist_name: str
    package: str
    upstream_version: str
    version: str
    maintainer: str
    summary: str
    extended_description: str
    homepage: str | None
    section: str
    priority: str
    license_expression: str | None
    license_text: str | None
    license_files: tuple[Path, ...]
    dependencies: tuple[str, ...]
    optional_dependencies: Mapping[str, tuple[str, ...]]
    options: Options
    #: where each explicitly set option came from: "override" or "config"
    origins: Mapping[str, str] = field(default_factory=dict)

    @property
    def venv(self) -> str:
        """The venv's absolute POSIX path on the target: ``<prefix>/<package>``."""
        return f"{self.options.prefix}/{self.package}"


def read_pyproject(project_dir: Path) -> dict[str, object]:
    """The parsed pyproject.toml of ``project_dir``; ConfigError when missing or invalid."""
    path = Path(project_dir) / "pyproject.toml"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"no pyproject.toml in {str(project_dir)!r}: pass the project directory, or run "
            "`pydebvenv init` in a project that has one"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{str(path)!r} is not valid TOML: {exc}; fix the file") from None


def load_project(
    project_dir: Path,
    overrides: Mapping[str, object] = {},  # read only, never mutated
    *,
    wheel_metadata: email.message.Message | None = None,
) -> Project:
    """Read ``project_dir``/pyproject.toml, apply ``overrides`` and return the Project."""
    root = Path(project_dir).absolute()
    return project_from_data(root, read_pyproject(root), overrides,
                             wheel_metadata=wheel_metadata)


def project_from_data(
    root: Path,
    data: Mapping[str, object],
    overrides: Mapping[str, object] = {},  # read only, never mutated
    *,
    wheel_metadata: email.message.Message | None = None,
) -> Project:
    """``load_project`` on an already parsed pyproject.toml (``init`` previews with it)."""
    pyproject = root / "pyproject.toml"
    table = _table(data, "project", pyproject)
    if not table and wheel_metadata is None:
        raise ConfigError(
            f"no [project] table in {str(pyproject)!r}: add name, version and description "
            "to [project] (PEP 621)"
        )
    tool = _table(_table(data, "tool", pyproject), "pydebvenv", pyproject, "tool.pydebvenv")
    options, origins = _options(root, pyproject, tool, overrides)
    meta = wheel_metadata

    dist_name = _get(meta, "Name") or _string(table, "name", pyproject)
    if not dist_name:
        raise ConfigError(f"no name in [project] of {str(pyproject)!r}: add name = \"...\"")
    upstream = _get(meta, "Version") or _version(table, pyproject)
    try:
        Version(upstream)
    except InvalidVersion:
        raise ConfigError(
            f"invalid version {upstream!r} in {str(pyproject)!r}: use a PEP 440 version"
        ) from None
    package = options.name or debian_package_name(dist_name)
    maintainer = options.maintainer or find_maintainer(table, meta, pyproject)
    summary = options.summary or _get(meta, "Summary") or _string(table, "description",
                                                                    pyproject)
    if not summary or "\n" in summary.strip():
        raise ConfigError(
            f"no one-line description for {dist_name!r}: add description = \"...\" to [project]"
            f" in {str(pyproject)!r} or set summary in [tool.pydebvenv]"
        )
    if options.description is not None:
        extended = options.description.strip()
    else:
        extended = _first_paragraph(_readme(root, table, pyproject, meta))
    expression, text, files = _license(root, table, pyproject, meta)
    dependencies, optional = _dependencies(table, meta)
    return Project(
        root=root,
        dist_name=dist_name,
        package=package,
        upstream_version=upstream,
        version=debian_version(upstream, options.revision),
        maintainer=maintainer,
        summary=summary.strip(),
        extended_description=extended,
        homepage=_homepage(table, meta),
        section=options.section,
        priority=options.priority,
        license_expression=expression,
        license_text=text,
        license_files=files,
        dependencies=dependencies,
        optional_dependencies=optional,
        options=options,
        origins=origins,
    )


def requirement_sources(project: Project) -> tuple[RequirementKind, tuple[Path, ...]]:
    """Which requirements build the venv, in this order of choice:

    the files passed as overrides (``-r``), else ``requirements`` in [tool.pydebvenv], else
    ``requirements.txt`` beside pyproject.toml, else ``pylock.toml`` there (PEP 751), else
    the project's own ``dependencies`` (kind ``"dependencies"``, no paths).
    """
    if project.options.requirements is not None:
        kind: RequirementKind = (
            "override" if project.origins.get("requirements") == "override" else "config"
        )
        return kind, project.options.requirements
    names: tuple[RequirementKind, ...] = ("requirements.txt", "pylock.toml")
    for name in names:
        if (project.root / name).is_file():
            return name, (project.root / name,)
    return "dependencies", ()


def configuration_table() -> str:
    """The Markdown table of every [tool.pydebvenv] key (docs/configuration.md holds it)."""
    lines = ["| key | type | default | CLI flag | meaning |", "|---|---|---|---|---|"]
    for key in KEYS:
        flag = f"`{key.flag}`" if key.flag else ""
        lines.append(f"| `{key.toml}` | {key.type} | {key.default} | {flag} | {key.meaning} |")
    return "\n".join(lines) + "\n"


# --- [tool.pydebvenv] and overrides ------------------------------------------------------------


def _options(
    root: Path, pyproject: Path, tool: Mapping[str, object], overrides: Mapping[str, object]
) -> tuple[Options, dict[str, str]]:
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
        values[key.attr] = _convert(key, value, where, root)
        origins[key.attr] = "config"
    for attr, value in overrides.items():
        key = _BY_ATTR.get(attr)
        if key is None:
            raise ConfigError(f"unknown option {attr!r}{_suggest(attr, _BY_ATTR)}")
        if value is None:  # an unset keyword argument or flag: keep the config value
            continue
        values[attr] = _convert(key, value, f"option {attr!r}", root, override=True)
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


def _convert(key: Key, value: object, where: str, root: Path, *, override: bool = False) -> object:
    def wrong(what: str) -> ConfigError:
        example = key.example if not override else f"{key.attr}=..."
        return ConfigError(f"{where} must be {what}, not {value!r}: write e.g. {example}")

    kind = key.type
    if kind == "boolean":
        if not isinstance(value, bool):
            raise wrong("true or false")
        return value
    if kind in ("string", "path"):
        if not isinstance(value, str | Path) or (isinstance(value, str) and not value.strip()):
            raise wrong("a non-empty string")
        if kind == "path":
            return root / Path(value)
        return _check_string(key, str(value).strip(), where)
    if kind in ("list of strings", "list of paths"):
        if isinstance(value, str | Path) or not isinstance(value, list | tuple):
            raise wrong("a list of strings")
        if not all(isinstance(item, str | Path) and str(item).strip() for item in value):
            raise wrong("a list of non-empty strings")
        if kind == "list of paths":
            return tuple(root / Path(item) for item in value)
        return tuple(_check_string(key, str(item).strip(), where) for item in value)
    if kind == "table of strings":
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise wrong("a table of strings")
        return dict(_check_field(str(k), str(v), where) for k, v in value.items())
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
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"{where}: cannot read {str(path)!r} ({exc.strerror}); fix the file name"
            ) from None
    raise wrong('a shell snippet string or { file = "path" }')


def _check_string(key: Key, value: str, where: str) -> str:
    if "\n" in value and key.toml != "description":
        raise ConfigError(f"{where} must be one line, not {value!r}: remove the line breaks")
    if key.toml == "name" and not is_valid_package_name(value):
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
        path = PurePosixPath(value)
        if not path.is_absolute() or ".." in path.parts or str(path) == "/":
            raise ConfigError(
                f"{where} must be an absolute POSIX directory, not {value!r}: write e.g. "
                f"{key.example}"
            )
        return str(path)
    if key.toml == "compression":
        accepted = ("zstd", "xz", "gzip", "none")
        if value not in accepted:
            raise ConfigError(f"{where}: unknown compression {value!r}: use one of "
                              f"{', '.join(accepted)}")
    return value


def _check_field(name: str, value: str, where: str) -> tuple[str, str]:
    if not _FIELD_NAME_RE.fullmatch(name) or name[0] in "#-":
        raise ConfigError(f"{where}: invalid control field name {name!r}: use letters, "
                          "digits and '-', such as 'X-Team'")
    if name.lower() in _OWN_FIELDS:
        raise ConfigError(f"{where}: the {name!r} field is computed by pydebvenv: set it "
                          "through its own key instead (name, maintainer, summary, ...)")
    relation = name.lower().replace("-", "_")
    if relation in _BY_ATTR:
        raise ConfigError(f"{where}: set {name!r} with the {_BY_ATTR[relation].toml!r} key "
                          "of [tool.pydebvenv], not in fields")
    if "\n" in value:
        raise ConfigError(f"{where}: field {name!r} must be one line, not {value!r}")
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
    if not dest.is_absolute() or ".." in dest.parts or destination.endswith("/"):
        raise ConfigError(f"{where}: destination {destination!r} must be an absolute file "
                          "path such as '/etc/myapp/app.conf'")
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
    return FileSpec(root / source, str(dest), mode, conffile)


# --- [project] and the wheel's METADATA ----------------------------------------------------------


def _table(data: Mapping[str, object], name: str, path: Path,
           label: str | None = None) -> Mapping[str, object]:
    value = data.get(name, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"[{label or name}] in {str(path)!r} must be a table, not {value!r}")
    return value


def _string(table: Mapping[str, object], name: str, path: Path) -> str | None:
    value = table.get(name)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"[project].{name} in {str(path)!r} must be a string, not {value!r}")
    return value


def _get(meta: email.message.Message | None, name: str) -> str | None:
    if meta is None:
        return None
    value = meta.get(name)
    return str(value).strip() if value is not None and str(value).strip() else None


def _version(table: Mapping[str, object], path: Path) -> str:
    version = _string(table, "version", path)
    if version:
        return version
    dynamic = table.get("dynamic", [])
    if isinstance(dynamic, list) and "version" in dynamic:
        raise ConfigError(
            f"the version of {table.get('name')!r} is dynamic ([project].dynamic in "
            f"{str(path)!r}): it comes from the built wheel, so pass wheel_metadata (the "
            "wheel's METADATA) or set a static version"
        )
    raise ConfigError(f"no version in [project] of {str(path)!r}: add version = \"1.0\" or "
                      'list "version" in dynamic')


def find_maintainer(
    table: Mapping[str, object], meta: email.message.Message | None, path: Path
) -> str:
    """``Name <email>`` from METADATA's Maintainer/Author fields, else [project].maintainers,
    else [project].authors; ConfigError naming the field to add when none has both parts."""
    if meta is not None:
        for role in ("Maintainer", "Author"):
            found = _person_from_metadata(_get(meta, role), _get(meta, f"{role}-email"))
            if found:
                return found
    nameless: str | None = None
    for role in ("maintainers", "authors"):
        people = table.get(role, [])
        if not isinstance(people, list):
            raise ConfigError(f"[project].{role} in {str(path)!r} must be a list of tables, "
                              f"not {people!r}")
        for person in people:
            if not isinstance(person, Mapping):
                continue
            name, address = person.get("name"), person.get("email")
            if isinstance(name, str) and isinstance(address, str) and name and address:
                return email.utils.formataddr((name, address))
            if nameless is None:
                missing = "email" if name else "name"
                nameless = f"{person.get('name') or person.get('email')!r} in [project].{role} " \
                           f"has no {missing}: add {missing} = \"...\" to it"
    fix = ('add maintainers = [{name = "...", email = "..."}] to [project] or set '
           'tool.pydebvenv.maintainer = "Name <email>" (or pass --maintainer)')
    if nameless:
        raise ConfigError(f"no maintainer with a name and an email in {str(path)!r}: "
                          f"{nameless}, or {fix}")
    raise ConfigError(f"no maintainer in {str(path)!r}: {fix}")


def _person_from_metadata(name: str | None, addresses: str | None) -> str | None:
    # Core metadata: Author-email may hold "Name <a@b>" pairs, or bare addresses with the
    # name in Author (packaging.python.org, core-metadata "Author-email").
    for person, address in email.utils.getaddresses([addresses or ""]):
        if address and "@" in address and (person or name):
            return email.utils.formataddr((person or str(name).split(",")[0].strip(), address))
    return None


def _readme(root: Path, table: Mapping[str, object], path: Path,
            meta: email.message.Message | None) -> str:
    readme = table.get("readme")
    if isinstance(readme, Mapping):
        if isinstance(readme.get("text"), str):
            return str(readme["text"])
        readme = readme.get("file")
    if isinstance(readme, str):
        try:
            return (root / readme).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read the readme {readme!r} named in {str(path)!r} "
                              f"({exc.strerror}): fix [project].readme") from None
    if meta is not None:
        body = meta.get_payload()
        return body if isinstance(body, str) else ""
    return ""


_HEADING = re.compile(r"(#+\s.*|[=\-~^*#+`]{3,}\s*|\.\. .*|\[!\[.*|!\[.*|<.*>)")


def _first_paragraph(text: str) -> str:
    """The first prose paragraph: headings, rst/Markdown underlines, badges, HTML skipped."""
    paragraphs = re.split(r"\n\s*\n", text.replace("\r\n", "\n"))
    for paragraph in paragraphs:
        lines = [line.strip() for line in paragraph.strip().splitlines()]
        if len(lines) == 2 and re.fullmatch(r"[=\-~^*#+`]{3,}", lines[1]):
            continue  # a setext/rst title
        lines = [line for line in lines if line and not _HEADING.fullmatch(line)]
        if lines:
            # Policy 3.4: extended description lines fit 80 columns, with the leading space
            return textwrap.fill(" ".join(lines), width=78)
    return ""


def _license(root: Path, table: Mapping[str, object], path: Path,
             meta: email.message.Message | None) -> tuple[str | None, str | None, tuple[Path, ...]]:
    expression = _get(meta, "License-Expression")
    text = _get(meta, "License")
    value = table.get("license")
    if isinstance(value, str):  # PEP 639: an SPDX expression
        expression = expression or value
    elif isinstance(value, Mapping):
        if isinstance(value.get("text"), str):
            text = text or str(value["text"])
        elif isinstance(value.get("file"), str):
            try:
                text = text or (root / str(value["file"])).read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(f"cannot read the license file {value['file']!r} named in "
                                  f"{str(path)!r} ({exc.strerror}): fix [project].license") \
                    from None
    files: list[Path] = []
    patterns = table.get("license-files", [])
    if isinstance(patterns, list):
        for pattern in patterns:
            if isinstance(pattern, str):
                files.extend(p for p in sorted(root.glob(pattern)) if p.is_file())
    return expression, text, tuple(files)


def _homepage(table: Mapping[str, object], meta: email.message.Message | None) -> str | None:
    urls: list[tuple[str, str]] = []
    if meta is not None:
        for entry in meta.get_all("Project-URL") or []:
            label, _, url = str(entry).partition(",")
            urls.append((label.strip(), url.strip()))
        if _get(meta, "Home-page"):
            urls.insert(0, ("homepage", str(_get(meta, "Home-page"))))
    project_urls = table.get("urls", {})
    if isinstance(project_urls, Mapping):
        urls.extend((str(k), str(v)) for k, v in project_urls.items())
    for label, url in urls:
        # PEP 753 label normalisation: drop punctuation and whitespace, lowercase
        if re.sub(r"[^a-z0-9]", "", label.lower()) == "homepage" and url:
            return url
    return urls[0][1] if urls else None


def _dependencies(
    table: Mapping[str, object], meta: email.message.Message | None
) -> tuple[tuple[str, ...], dict[str, tuple[str, ...]]]:
    deps = table.get("dependencies")
    optional = table.get("optional-dependencies")
    result = tuple(str(d) for d in deps) if isinstance(deps, list) else ()
    extras = (
        {str(k): tuple(str(d) for d in v) for k, v in optional.items() if isinstance(v, list)}
        if isinstance(optional, Mapping) else {}
    )
    if meta is not None and not isinstance(deps, list):
        result = tuple(str(r) for r in meta.get_all("Requires-Dist") or []
                       if "extra" not in str(r).partition(";")[2])
    return result, extras


# Keep the option dataclass and the key table in step (a KEYS row without a field, or the
# reverse, is a bug caught at import time rather than by a confusing TypeError later).
assert [f.name for f in fields(Options)] == [k.attr for k in KEYS], "KEYS and Options differ"
