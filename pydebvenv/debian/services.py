"""The application's systemd services and timers as unit files, and the users they run as.

``plan_units`` resolves the ``UnitSpec`` values of [[tool.pydebvenv.services]] and
[[tool.pydebvenv.timers]] (project/services.py) against the built venv (its commands, the
package name, the target's unit directory) into ``Units``: the unit files, the system users
to create, the directories to remove on purge.  debian/unitscripts.py writes the maintainer
scripts' code for them.  docs/services.md explains every choice and names its source.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from pydebvenv.debfile.entry import Entry, file_entry
from pydebvenv.errors import ConfigError
from pydebvenv.project.model import Project
from pydebvenv.project.services import DIRECTORIES, UnitSpec, at, is_system_name
from pydebvenv.project.unitfile import has_section, unit_directive
from pydebvenv.target import Target
from pydebvenv.venv.layout import VenvLayout, interpreter_commands

__all__ = ["DIGEST_VARIABLE", "HARDENING", "PackageFacts", "SystemUser", "UnitFile", "Units",
           "plan_units", "units_for"]

#: Every generated service sets this variable to a digest of all the package's unit files, so
#: that postinst can ask the running systemd (``systemctl show -p Environment``) whether it has
#: loaded these very files and needs no daemon-reload; docs/services.md, "Reloading systemd".
DIGEST_VARIABLE = "PYDEBVENV_UNITS"
_DIGEST_PLACEHOLDER = f"{DIGEST_VARIABLE}=@digest@"

# systemd.exec(5) sandboxing that a Python network service does not notice: the code and
# /etc read-only (ProtectSystem=full), no view of /home, a private /tmp and /dev, no kernel
# tunables, modules or cgroup writes, no setuid/setgid files, no realtime scheduling, no
# personality changes.  Every option exists in systemd 245 (the oldest listed target has 247).
# Left out on purpose: ProtectSystem=strict (every path not declared becomes read-only),
# MemoryDenyWriteExecute= (breaks cffi and ctypes callbacks), ProtectClock=/ProtectHostname=
# (fail in some containers).
HARDENING: tuple[tuple[str, str], ...] = (
    ("NoNewPrivileges", "yes"),
    ("ProtectSystem", "full"),
    ("ProtectHome", "yes"),
    ("PrivateTmp", "yes"),
    ("PrivateDevices", "yes"),
    ("ProtectKernelTunables", "yes"),
    ("ProtectKernelModules", "yes"),
    ("ProtectControlGroups", "yes"),
    ("RestrictSUIDSGID", "yes"),
    ("RestrictRealtime", "yes"),
    ("LockPersonality", "yes"),
)


@dataclass(frozen=True, slots=True)
class PackageFacts:
    """What the units need to know about the package being built."""

    package: str
    summary: str
    homepage: str | None
    venv: str  # /usr/share/python/<package>
    commands: frozenset[str]  # names in <venv>/bin that `exec` may start with
    unit_dir: str  # the target's: /lib/systemd/system or /usr/lib/systemd/system


@dataclass(frozen=True, slots=True)
class SystemUser:
    """A system user the postinst creates when missing; purge leaves it in place."""

    name: str
    group: str
    home: str | None  # None: /nonexistent, not created


@dataclass(frozen=True, slots=True)
class UnitFile:
    """One unit file and how the maintainer scripts treat it."""

    name: str  # webapp.service, job.timer
    text: str
    install: bool  # has an [Install] section: deb-systemd-helper enables it
    enable: bool
    start: bool
    restart_on_upgrade: bool


@dataclass(frozen=True, slots=True)
class Units:
    """The resolved services and timers of a package."""

    files: tuple[UnitFile, ...] = ()
    users: tuple[SystemUser, ...] = ()
    purge_dirs: tuple[str, ...] = ()  # absolute directories postrm purge removes
    kept_dirs: tuple[str, ...] = ()  # directories not named after the package: purge keeps them
    unit_dir: str = "/lib/systemd/system"
    package: str = ""

    @property
    def sysusers(self) -> str | None:
        """The sysusers.d(5) file that declares the users, as dh_installsysusers ships one
        (``/usr/lib/sysusers.d/<package>.conf``); None when a user needs a home directory,
        which systemd-sysusers never creates: adduser makes those."""
        if not self.users or any(u.home for u in self.users):
            return None
        lines = [f"# The system users of {self.package}'s services (sysusers.d(5)); they stay "
                 "on purge."]
        for user in self.users:
            if user.group != user.name:
                lines.append(f"g {user.group} -")
            gid = "" if user.group == user.name else f":{user.group}"
            lines.append(f"u {user.name} -{gid} - /nonexistent /usr/sbin/nologin")
        return "\n".join(lines) + "\n"

    @property
    def sysusers_path(self) -> str:
        return f"usr/lib/sysusers.d/{self.package}.conf"

    @property
    def depends(self) -> tuple[str, ...]:
        """The relations the scripts need: adduser(8) is not Essential (lintian checks it)."""
        return ("adduser",) if self.users else ()

    def entries(self) -> list[Entry]:
        """The unit files at the target's unit directory, 0644 and not conffiles: an admin
        overrides a unit in /etc/systemd/system (systemd.unit(5))."""
        base = self.unit_dir.strip("/")
        entries = [file_entry(f"{base}/{unit.name}", unit.text.encode(),
                              source=f"generated unit {unit.name}") for unit in self.files]
        if self.sysusers is not None:
            entries.append(file_entry(self.sysusers_path, self.sysusers.encode(),
                                      source="generated sysusers.d file"))
        return entries


def units_for(project: Project, target: Target, layout: VenvLayout) -> Units:
    """The project's services and timers, their commands resolved in the venv just laid out."""
    commands = {name for names in layout.scripts.values() for name in names}
    commands |= set(interpreter_commands(target))
    return plan_units(project.options.services, project.options.timers, PackageFacts(
        package=project.package, summary=project.summary, homepage=project.homepage,
        venv=project.venv, commands=frozenset(commands), unit_dir=target.systemd_unit_dir))


def plan_units(services: Sequence[UnitSpec], timers: Sequence[UnitSpec],
               facts: PackageFacts) -> Units:
    """Resolve the specs for this package; ConfigError naming the key and file on bad input."""
    files: list[UnitFile] = []
    users: dict[str, tuple[SystemUser, str]] = {}
    purge: list[str] = []
    names: dict[str, str] = {}
    for spec in (*services, *timers):
        name = spec.name or facts.package
        if name in names:
            raise ConfigError(
                f"{at(spec, 'name')}: the unit name {name!r} is also used by {names[name]}; give "
                "each service and timer its own name (the default is the package name)")
        names[name] = spec.where
        user, group = _user_of(spec, facts.package)
        if user != "root":
            _add_user(users, SystemUser(user, group, spec.home), at(spec, "user"))
        dirs = _directories(spec, name)
        purge += [posixpath.join(DIRECTORIES[key], d) for key, d in dirs
                  if key != "RuntimeDirectory"]  # /run is a tmpfs: nothing to purge
        files += _unit_files(spec, name, user, group, dirs, facts)
    # Purge removes only what is the package's own (docs/safety.md): a directory named after
    # the package (or <package>-<something>); "dpkg" would make purge remove /var/lib/dpkg
    own = [d for d in dict.fromkeys(purge) if _named_after(posixpath.basename(d), facts.package)]
    return Units(files=_with_digest(files), users=tuple(u for u, _ in users.values()),
                 purge_dirs=tuple(own),
                 kept_dirs=tuple(d for d in dict.fromkeys(purge) if d not in own),
                 unit_dir=facts.unit_dir, package=facts.package)


def _named_after(name: str, package: str) -> bool:
    return name == package or name.startswith(f"{package}-")


def _with_digest(files: list[UnitFile]) -> tuple[UnitFile, ...]:
    """The files with the digest in place of the placeholder: the first 16 hex digits of the
    SHA-256 of every unit's name and text (the placeholder still in it), in name order."""
    digest = hashlib.sha256(b"".join(f"{u.name}\0{u.text}\0".encode()
                                     for u in sorted(files, key=lambda u: u.name)))
    value = f"{DIGEST_VARIABLE}={digest.hexdigest()[:16]}"
    return tuple(replace(u, text=u.text.replace(_DIGEST_PLACEHOLDER, value)) for u in files)


def _with_marker(sections: dict[str, list[tuple[str, str]]]) -> dict[str, list[tuple[str, str]]]:
    """The digest's Environment= line after the service's others, where the user's raw
    ``unit`` directives cannot replace it."""
    service = sections["Service"]
    last = max((i for i, (k, _) in enumerate(service) if k == "Environment"), default=None)
    index = len(service) if last is None else last + 1
    service.insert(index, ("Environment", _DIGEST_PLACEHOLDER))
    return sections


def _user_of(spec: UnitSpec, package: str) -> tuple[str, str]:
    if spec.unit_text is not None:  # the shipped unit says who runs it; no User= is root
        user = unit_directive(spec.unit_text, "Service", "User") or "root"
        return user, unit_directive(spec.unit_text, "Service", "Group") or user
    user = spec.user or package
    if not is_system_name(user):
        raise ConfigError(
            f"{at(spec, 'user')}: the package name {package!r} is not a valid user name, so the "
            "service needs one: set user = \"myapp\" (a-z 0-9 _ -, starting with a letter)")
    return user, spec.group or user


def _add_user(users: dict[str, tuple[SystemUser, str]], user: SystemUser, where: str) -> None:
    seen = users.get(user.name)
    if seen is None:
        users[user.name] = (user, where)
    elif seen[0] != user:
        raise ConfigError(
            f"{where}: user {user.name!r} is also configured by {seen[1]} with another "
            f"group or home ({seen[0].group!r}, {seen[0].home!r}); make them agree")


def _directories(spec: UnitSpec, name: str) -> list[tuple[str, str]]:
    """(directive, directory name) of the unit: from its unit file, or from the keys (a
    directory set to true is named after the unit)."""
    if spec.unit_text is not None:
        return [(key, value) for key in DIRECTORIES
                for value in (unit_directive(spec.unit_text, "Service", key) or "").split()]
    return [(key, name if value is True else str(value))
            for key, value in spec.directories.items() if value is not False]


def _command(line: str, spec: UnitSpec, key: str, facts: PackageFacts) -> str:
    """``exec``/``reload`` with its first word made absolute (the venv's command)."""
    first, *rest = line.split(None, 1)
    if first.startswith("/"):
        path = first
    elif first in facts.commands:
        path = _quote(_escape(posixpath.join(facts.venv, "bin", first)))
    else:
        known = ", ".join(sorted(facts.commands)) or "none"
        raise ConfigError(
            f"{at(spec, key)}: {first!r} is not a console script of the venv (its commands: "
            f"{known}); start {key} with one of them or an absolute path")
    return " ".join([path, *rest])


def _unit_files(spec: UnitSpec, name: str, user: str, group: str,
                dirs: list[tuple[str, str]], facts: PackageFacts) -> list[UnitFile]:
    flags = {"enable": spec.enable, "start": spec.start,
             "restart_on_upgrade": spec.restart_on_upgrade}
    if spec.unit_text is not None:
        text = spec.unit_text if spec.unit_text.endswith("\n") else spec.unit_text + "\n"
        return [UnitFile(f"{name}.service", text, has_section(text, "Install"), **flags)]
    unit, documentation = _unit_section(spec, name, facts)
    service = _service_section(spec, name, user, group, dirs, facts)
    if spec.kind == "service":
        sections = {"Unit": unit, "Service": service,
                    "Install": [("WantedBy", " ".join(spec.wanted_by))]}
        return [UnitFile(f"{name}.service", _render(_with_marker(_merge(sections, spec.unit))),
                         True, **flags)]
    clock = [("OnCalendar", c) for c in spec.on_calendar]
    clock.append(("Persistent", "true" if spec.persistent else "false"))
    if spec.randomized_delay:
        clock.append(("RandomizedDelaySec", spec.randomized_delay))
    job = _with_marker(_merge({"Unit": unit, "Service": service},
                              {k: v for k, v in spec.unit.items() if k == "Service"}))
    timer = _merge({"Unit": [("Description", _escape(f"Run {name} periodically")),
                             *documentation],
                    "Timer": clock, "Install": [("WantedBy", "timers.target")]},
                   {k: v for k, v in spec.unit.items() if k == "Timer"})
    # the job has no [Install] section: it is static, started by its timer only
    return [UnitFile(f"{name}.service", _render(job), False, **flags),
            UnitFile(f"{name}.timer", _render(timer), True, **flags)]


def _unit_section(spec: UnitSpec, name: str,
                  facts: PackageFacts) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """[Unit] of the service (or the timer's job), and its Documentation= line alone."""
    timer = spec.kind == "timer"
    description = spec.description or (
        f"{name}, a periodic job of {facts.package}" if timer else facts.summary)
    docs = spec.documentation if spec.documentation is not None else (
        (facts.homepage,) if facts.homepage else ())
    documentation = [("Documentation", " ".join(docs))] if docs else []
    after = spec.after if spec.after is not None else (() if timer else ("network.target",))
    unit = [("Description", _escape(description)), *documentation]
    unit += [("After", " ".join(after))] if after else []
    unit += [("Wants", " ".join(spec.wants))] if spec.wants else []
    return unit, documentation


def _service_section(spec: UnitSpec, name: str, user: str, group: str,
                     dirs: list[tuple[str, str]], facts: PackageFacts) -> list[tuple[str, str]]:
    assert spec.exec is not None  # project/services.py requires it without a unit-file
    timer = spec.kind == "timer"
    service = [("Type", "oneshot" if timer else spec.type)]
    if user != "root":
        service += [("User", user), ("Group", group)]
    service.append(("ExecStart", _command(spec.exec, spec, "exec", facts)))
    if spec.reload:
        service.append(("ExecReload", _command(spec.reload, spec, "reload", facts)))
    if not timer:
        service.append(("Restart", spec.restart))
    # print() reaches the journal at once, not when a buffer fills
    env = {"PYTHONUNBUFFERED": "1", **spec.environment}
    service += [("Environment", _quote(f"{k}={_escape(v)}")) for k, v in sorted(env.items())]
    env_file = f"-/etc/default/{name}" if spec.environment_file is None else spec.environment_file
    service += [("EnvironmentFile", env_file)] if env_file else []
    workdir = spec.working_directory or next(
        (posixpath.join(DIRECTORIES[k], d) for k, d in dirs if k == "StateDirectory"), None)
    service += [("WorkingDirectory", _escape(workdir))] if workdir else []
    service += dirs
    service.append(("SyslogIdentifier", name))
    return service + list(HARDENING) if spec.hardening else service


def _merge(sections: dict[str, list[tuple[str, str]]],
           extra: Mapping[str, Mapping[str, tuple[str, ...]]]) -> dict[str, list[tuple[str, str]]]:
    """The generated directives with the user's raw ones: a directive the user sets replaces
    the generated one where it stood; new ones go at the end of their section."""
    merged = {name: list(items) for name, items in sections.items()}
    for section, directives in extra.items():
        items = merged.setdefault(section, [])
        for key, values in directives.items():
            index = next((i for i, (k, _) in enumerate(items) if k == key), len(items))
            items[:] = [item for item in items if item[0] != key]
            items[index:index] = [(key, v) for v in values]
    return merged


def _render(sections: Mapping[str, Sequence[tuple[str, str]]]) -> str:
    blocks = ["# Generated by pydebvenv; override it with `systemctl edit`, "
              "not by editing this file\n"]
    for section, items in sections.items():
        if items:
            blocks.append(f"[{section}]\n" + "".join(f"{k}={v}\n" for k, v in items))
    return "\n".join(blocks)


def _escape(value: str) -> str:
    # systemd.unit(5): "%" starts a specifier in most settings; "%%" is a literal "%"
    return value.replace("%", "%%")


def _quote(value: str) -> str:
    # systemd.syntax(7): double quotes group a word; backslash escapes inside them
    if not re.search(r'[\s"\\]', value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
