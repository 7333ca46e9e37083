"""``pydebvenv init``: work out the [tool.pydebvenv] table and add it to pyproject.toml.

The rest of pyproject.toml is kept byte for byte: a new table is appended at the end;
with ``force``, an existing ``[tool.pydebvenv]`` block (its header line up to the next
table header, comments just before that header staying where they are) is replaced in
place.  Only missing or invalid values are asked for, through the ``ask`` callback the
CLI passes on a terminal; without one, the error says which flag to pass.  The one question
the project cannot answer is whether the application runs as a service: on a terminal init
asks it (and which command starts it); ``--service COMMAND`` answers it without one.
"""

from __future__ import annotations

import email.message
import email.utils
import os
import re
import tempfile
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path

import tomlkit

from pydebvenv.debfile.control import is_package_name, render_control
from pydebvenv.debian.fields import control_for
from pydebvenv.errors import ConfigError, PydebvenvError
from pydebvenv.project.config import Config, Options, options_from_data, read_pyproject
from pydebvenv.project.metadata import find_maintainer
from pydebvenv.project.metadata import person as person_field
from pydebvenv.project.model import Project, project_from_config
from pydebvenv.project.services import is_system_name
from pydebvenv.project.versions import debian_package_name
from pydebvenv.target import Target, get_target

__all__ = ["Table", "init", "plan_init", "preview_control", "render_table", "write_pyproject"]

Ask = Callable[[str], str]
#: the [tool.pydebvenv] values init writes: strings, and the services as a list of tables
Table = dict[str, str | list[dict[str, str]]]

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
# A synopsis of 80 characters or more is truncated by package managers (Policy §3.4.1).
_SYNOPSIS_MAX = 79


def init(
    project_dir: Path,
    *,
    force: bool = False,
    maintainer: str | None = None,
    name: str | None = None,
    summary: str | None = None,
    service: str | None = None,
    ask: Ask | None = None,
    show: Callable[[str], None] | None = None,
) -> Path | None:
    """Add [tool.pydebvenv] to ``project_dir``/pyproject.toml; return its path (None if declined).

    ``ask`` (``input`` on a terminal) is called for missing or invalid values, whether the
    application runs as a service (unless ``service`` gives its command) and for the final
    confirmation; ``show`` receives the control-file preview.
    """
    pyproject = Path(project_dir) / "pyproject.toml"
    table = plan_init(Path(project_dir), force=force, maintainer=maintainer, name=name,
                      summary=summary, service=service, ask=ask)
    # bytes decoded without newline translation, so CRLF files stay CRLF outside the table
    text = write_pyproject(pyproject.read_bytes().decode("utf-8"), table)
    if show is not None:
        show(render_table(table))
        show(preview_control(Path(project_dir), tomllib.loads(text)))
    if ask is not None:
        answer = ask(f"Write [tool.pydebvenv] to {pyproject}? [Y/n] ").strip().lower()
        if answer not in ("", "y", "yes"):
            return None
    _replace_file(pyproject, text)
    return pyproject


def plan_init(
    project_dir: Path,
    *,
    force: bool = False,
    maintainer: str | None = None,
    name: str | None = None,
    summary: str | None = None,
    service: str | None = None,
    ask: Ask | None = None,
) -> Table:
    """The [tool.pydebvenv] values init would write (TOML key -> value)."""
    data = read_pyproject(project_dir)
    path = Path(project_dir) / "pyproject.toml"
    tool = data.get("tool", {})
    if isinstance(tool, Mapping) and "pydebvenv" in tool and not force:
        raise ConfigError(f"{str(path)!r} already has a [tool.pydebvenv] table: edit it, or "
                          "pass --force to replace it")
    project = data.get("project", {})
    if not isinstance(project, Mapping):
        raise ConfigError(f"[project] in {str(path)!r} must be a table (PEP 621)")
    package = _package_name(project, name, ask)
    table: Table = {"name": package}
    table["revision"] = "1"
    found = _maintainer(project, path, maintainer, ask)
    if found:
        table["maintainer"] = found
    synopsis = _summary(project, summary, ask)
    if synopsis:
        table["summary"] = synopsis
    command = _service(project, service, ask)
    if command:
        # name and user default to the package name (docs/services.md); a package name
        # adduser would refuse needs a user of its own
        entry = {"exec": command}
        if not is_system_name(package):  # "3d-app", "c++": Policy 9.2.1's "_" prefix
            entry["user"] = "_" + re.sub(r"[^a-z0-9_-]", "-", package)[:31]
        table["services"] = [entry]
    return table


def _service(project: Mapping[str, object], given: str | None, ask: Ask | None) -> str | None:
    """The command line that starts the service, or None when the application is no service."""
    scripts = project.get("scripts", {})
    names = sorted(scripts) if isinstance(scripts, Mapping) else []
    if given is not None:
        problem = _command_problem(given, names)
        if problem:
            raise ConfigError(f"--service {given!r}: {problem}")
        return given.strip()
    if ask is None:
        return None
    answer = ask("Does the application run as a service (a systemd unit)? [y/N] ")
    if answer.strip().lower() not in ("y", "yes"):
        return None
    default = names[0] if names else ""
    while True:
        hint = f" [{default}]" if default else ""
        command = ask(f"Command that starts it (a console script and its arguments){hint}: ")
        command = command.strip() or default
        if command and not _command_problem(command, names):
            return command


def _command_problem(command: str, scripts: list[str]) -> str | None:
    first = command.split(None, 1)[0] if command.strip() else ""
    if first.startswith("/") or first in scripts or first in ("python", "python3"):
        return None
    known = ", ".join(scripts) or "none"
    return (f"{first!r} is neither a console script of [project.scripts] ({known}) nor an "
            "absolute path")


def _package_name(project: Mapping[str, object], given: str | None, ask: Ask | None) -> str:
    if given is not None:
        if not is_package_name(given):
            raise ConfigError(f"--name {given!r} is not a valid Debian package name: use two "
                              "or more of a-z 0-9 + - . starting with a letter or digit")
        return given
    dist = project.get("name")
    try:
        return debian_package_name(str(dist or ""))
    except ConfigError as exc:
        if ask is None:
            raise ConfigError(f"{exc}: pass --name NAME") from None
    while True:
        answer = ask("Debian package name (a-z 0-9 + - .): ").strip()
        if is_package_name(answer):
            return answer


def _maintainer(project: Mapping[str, object], path: Path, given: str | None,
                ask: Ask | None) -> str | None:
    if given is not None:
        person, address = email.utils.parseaddr(given)
        if not person or "@" not in address:
            raise ConfigError(f"--maintainer {given!r} must be 'Name <email>', such as "
                              "'Jane Doe <jane@example.org>'")
        return person_field(person, address)
    try:
        find_maintainer(project, None, path)
        return None  # [project] has one: nothing to write
    except ConfigError as exc:
        if ask is None:
            raise ConfigError(f"{exc}; without a terminal pass --maintainer 'Name <email>'") \
                from None
    person = ""
    while not person:
        person = ask("Maintainer name: ").strip()
    address = ""
    while "@" not in address or " " in address:
        address = ask("Maintainer email: ").strip()
    return person_field(person, address)


def _summary(project: Mapping[str, object], given: str | None, ask: Ask | None) -> str | None:
    if given is not None:
        if not given.strip() or "\n" in given:
            raise ConfigError(f"--summary {given!r} must be one non-empty line")
        return given.strip()
    description = project.get("description")
    if isinstance(description, str) and description.strip() and "\n" not in description.strip():
        if len(description.strip()) <= _SYNOPSIS_MAX or ask is None:
            return None  # [project].description serves (a long one is only a lintian warning)
    elif ask is None:
        raise ConfigError("[project] has no one-line description: pass --summary TEXT")
    answer = ""
    while not answer or len(answer) > _SYNOPSIS_MAX:
        answer = ask(f"One-line summary (at most {_SYNOPSIS_MAX} characters): ").strip()
    return answer


def render_table(table: Mapping[str, object]) -> str:
    """The [tool.pydebvenv] table as TOML text, with a pointer to the documentation; the
    services as [[tool.pydebvenv.services]] tables after it."""
    body = tomlkit.table()
    body.add(tomlkit.comment("every key: docs/configuration.md (pydebvenv)"))
    services: list[Mapping[str, str]] = []
    for key, value in table.items():
        if key == "services" and isinstance(value, list):
            services = value
        else:
            body.add(key, value)
    text = f"[tool.pydebvenv]\n{tomlkit.dumps(body)}"
    for service in services:
        entry = tomlkit.table()
        entry.add(tomlkit.comment("systemd service: docs/services.md (pydebvenv)"))
        for key, value in service.items():
            entry.add(key, value)
        text += f"\n[[tool.pydebvenv.services]]\n{tomlkit.dumps(entry)}"
    return text


def write_pyproject(text: str, table: Mapping[str, object]) -> str:
    """``text`` with ``table`` as its [tool.pydebvenv]; everything else is kept byte for byte."""
    rendered = render_table(table)
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if _header(line) == "tool.pydebvenv"), None)
    if start is not None:
        end = start + 1
        while end < len(lines) and not _foreign_header(lines[end]):
            end += 1
        while end > start + 1 and lines[end - 1].strip()[:1] in ("", "#"):
            end -= 1  # comments and blank lines before the next table stay outside
        new = "".join(lines[:start]) + rendered + "".join(lines[end:])
    else:
        doc = tomlkit.parse(text)
        tool = doc.get("tool")
        if isinstance(tool, Mapping) and "pydebvenv" in tool:
            # the table is written as dotted keys or inline: let tomlkit remove it
            del tool["pydebvenv"]  # type: ignore[attr-defined]
            text = doc.as_string()
        sep = "" if not text or text.endswith("\n\n") else "\n" if text.endswith("\n") else "\n\n"
        new = text + sep + rendered
    try:
        parsed = tomllib.loads(new)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"cannot add [tool.pydebvenv] to this pyproject.toml ({exc}); add "
                          "it by hand (see docs/configuration.md)") from None
    assert parsed["tool"]["pydebvenv"] == dict(table), "the written table does not read back"
    return new


def _header(line: str) -> str | None:
    match = _HEADER.match(line)
    return re.sub(r"\s*\.\s*", ".", match.group(1)).replace('"', "") if match else None


def _foreign_header(line: str) -> bool:
    name = _header(line)
    return name is not None and name != "tool.pydebvenv" and \
        not name.startswith("tool.pydebvenv.")


def preview_control(project_dir: Path, data: Mapping[str, object]) -> str:
    """The control file the configuration gives, as text (Depends as far as known now)."""
    root = Path(project_dir).absolute()
    meta = None
    project_table = data.get("project", {})
    if isinstance(project_table, Mapping) and not project_table.get("version"):
        # a dynamic version comes from the built wheel; preview with a placeholder
        meta = email.message.Message()
        meta["Name"] = str(project_table.get("name", ""))
        meta["Version"] = "0"
    options, origins = options_from_data(root, data)
    target = _target(options)
    project = project_from_config(Config(root, data, options, origins), wheel_metadata=meta,
                                  target=target)
    arch, depends = _target_facts(project, target)
    control = control_for(project, arch, ", ".join(depends))
    text = render_control(control, 0).decode("utf-8")
    # Installed-Size is only known once the venv is laid out
    text = "".join(line for line in text.splitlines(keepends=True)
                   if not line.startswith("Installed-Size:"))
    if meta is not None:
        text += "(the version comes from the built wheel)\n"
    return text


def _target(options: Options) -> Target | None:
    """The configured (or this host's) target; None when it cannot be known here."""
    try:
        return get_target(options.target, options.arch)
    except PydebvenvError:
        return None


def _target_facts(project: Project, target: Target | None) -> tuple[str, list[str]]:
    """Architecture and the Depends known before the build (the interpreter, adduser for a
    service's user, the user's)."""
    opts = project.options
    users = [s.user for s in (*opts.services, *opts.timers) if s.unit_text is None]
    known = (["adduser"] if any(user != "root" for user in users) else []) + list(opts.depends)
    if target is None:
        return opts.arch or "all", known
    return target.arch.name, [target.interpreter_package, *known]


def _replace_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, keeping the file's permissions."""
    mode = path.stat().st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(prefix=".pyproject-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fp:
            fp.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
