"""The [tool.pydebvenv] key table: one Key row per option, and the docs table rendered from it.

Every key has a TOML name (``pre-depends``) and a Python name (``pre_depends``, used by
overrides and ``Options``); the CLI makes its flags from the rows with a ``flag``, and
docs/configuration.md holds ``configuration_table()`` verbatim (a test keeps them in sync).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["KEYS", "UNIT_KEYS", "Key", "KeyType", "UnitKey", "configuration_table",
           "unit_keys_table"]

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
    Key("release-suffix", "string", '`"+{tag}"`: `+deb12`, `+ubuntu24.04`', "--release-suffix",
        "appended to the revision so that each target release gets its own version and file "
        "name (`1.0.0-1+deb12`); `{tag}`, `{id}`, `{version}`, `{codename}` are filled in, "
        '`""` turns it off (docs/versions.md)', 'release-suffix = "+{tag}"'),
    Key("maintainer", "string", "`[project].maintainers`, else `authors`", "--maintainer",
        "Maintainer field, `Name <email>`", 'maintainer = "Jane Doe <jane@example.org>"'),
    Key("summary", "string", "`[project].description`, made lintian-clean", "--summary",
        "one-line synopsis of the Description field", 'summary = "does one thing well"'),
    Key("description", "string",
        "first prose paragraph of `[project].readme`, else what the package bundles", None,
        "extended description (paragraphs separated by blank lines)",
        'description = "A longer text."'),
    Key("prefix", "string", '`"/usr/share/python"`', "--prefix",
        "directory holding the venv, which is installed at `<prefix>/<name>`: "
        "`/usr/share/python` or `/opt` (or below), or `/usr/lib/<name>`",
        'prefix = "/opt/venvs"'),
    Key("target", "string", "the build host's release when listed, else the newest Debian stable",
        "--target",
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
        "`$PYDEBVENV_WHEEL_CACHE`, else `$XDG_CACHE_HOME/pydebvenv/wheels`, else "
        "`~/.cache/pydebvenv/wheels`", "--wheel-cache",
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
    Key("scripts", "list of strings",
        "the application's console scripts (a wrapper's: its dependencies')", "--script",
        "console scripts linked into /usr/bin", 'scripts = ["myapp"]'),
    Key("files", "list of tables", "`[]`", None,
        "extra files: `{source, destination, mode, conffile}`; sources inside the project, "
        "destinations below /etc, /opt, /usr or /var (docs/safety.md); conffiles under /etc",
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
    Key("services", "list of tables", "`[]`", None,
        "systemd services run from the venv: `{name, exec, user, ...}` (docs/services.md)",
        'services = [{ name = "myapp", exec = "myapp-serve --port 8080" }]'),
    Key("timers", "list of tables", "`[]`", None,
        "periodic jobs: a oneshot service and a timer, `{name, exec, on-calendar, ...}`",
        'timers = [{ name = "myapp-prune", exec = "myapp-prune", on-calendar = "daily" }]'),
    Key("compile", "boolean", "`false`", "--compile",
        "byte-compile at build time and ship the pycs, which the postinst puts in place "
        "(default: compile in postinst)",
        "compile = true"),
    Key("offline", "boolean", "`false`", "--offline",
        "never download: build only from the wheel cache", "offline = true"),
    Key("include-pip", "boolean", "`false`", "--include-pip",
        "install pip into the venv", "include-pip = true"),
)


def configuration_table() -> str:
    """The Markdown table of every [tool.pydebvenv] key (docs/configuration.md holds it)."""
    lines = ["| key | type | default | CLI flag | meaning |", "|---|---|---|---|---|"]
    for key in KEYS:
        flag = f"`{key.flag}`" if key.flag else ""
        lines.append(f"| `{key.toml}` | {key.type} | {key.default} | {flag} | {key.meaning} |")
    return "\n".join(lines) + "\n"


UnitKeyType = Literal["string", "boolean", "list of strings", "table of strings",
                      "string or boolean", "string or false", "table of tables", "path"]


@dataclass(frozen=True, slots=True)
class UnitKey:
    """One key of a [[tool.pydebvenv.services]] or [[tool.pydebvenv.timers]] table."""

    toml: str
    type: UnitKeyType
    default: str
    meaning: str
    tables: tuple[str, ...] = ("services", "timers")

    @property
    def attr(self) -> str:
        return self.toml.replace("-", "_")


_BOTH = ("services", "timers")
_SVC = ("services",)
_DIR = "a directory systemd creates, owned by the user, at `{}/<value>` (true: the unit's name)"
UNIT_KEYS: tuple[UnitKey, ...] = (
    UnitKey("name", "string", "the package name",
            "unit name: `<name>.service` (timers: also `<name>.timer`)"),
    UnitKey("exec", "string", "required (services: unless `unit-file`)",
            "command line: its first word is a command of the venv (a console script, "
            "`python`) or an absolute path; the rest is written as systemd reads it"),
    UnitKey("user", "string", "the package name",
            "system user it runs as, created by postinst when missing; `root` only when "
            "written"),
    UnitKey("group", "string", "the user's own group", "group it runs as, created when missing"),
    UnitKey("home", "string", "`/nonexistent`, not created",
            "home directory of the created user (outside /home)"),
    UnitKey("description", "string", "the package's summary", "Description="),
    UnitKey("documentation", "list of strings", "the project's Homepage", "Documentation= URIs"),
    UnitKey("environment", "table of strings", "`{}`",
            "Environment= variables, written literally (`PYTHONUNBUFFERED=1` is always set)"),
    UnitKey("environment-file", "string or false", '`"-/etc/default/<name>"`',
            "EnvironmentFile= (a leading `-`: optional); false for none"),
    UnitKey("working-directory", "string", "the state directory, else `/`",
            "WorkingDirectory="),
    UnitKey("state-directory", "string or boolean", "none",
            "StateDirectory=: " + _DIR.format("/var/lib") + "; removed on purge"),
    UnitKey("cache-directory", "string or boolean", "none",
            "CacheDirectory=: " + _DIR.format("/var/cache") + "; removed on purge"),
    UnitKey("logs-directory", "string or boolean", "none",
            "LogsDirectory=: " + _DIR.format("/var/log") + "; removed on purge"),
    UnitKey("runtime-directory", "string or boolean", "none",
            "RuntimeDirectory=: " + _DIR.format("/run") + ", removed when it stops"),
    UnitKey("after", "list of strings", '`["network.target"]` (timers: `[]`)', "After= units"),
    UnitKey("wants", "list of strings", "`[]`", "Wants= units"),
    UnitKey("hardening", "boolean", "`true`",
            "the sandboxing directives listed under Hardening (ProtectSystem=full, ...)"),
    UnitKey("unit", "table of tables", "`{}`",
            "raw directives by section, replacing generated ones of the same name: "
            '`{ Service = { LimitNOFILE = "65536" } }`'),
    UnitKey("enable", "boolean", "`true`",
            "enable it on install (an admin's `systemctl disable` is kept on upgrade)"),
    UnitKey("type", "string", '`"simple"`',
            "Type=: simple, exec, forking, oneshot, notify or idle", _SVC),
    UnitKey("reload", "string", "none", "ExecReload= command line, like `exec`", _SVC),
    UnitKey("restart", "string", '`"on-failure"`', "Restart=", _SVC),
    UnitKey("wanted-by", "list of strings", '`["multi-user.target"]`', "WantedBy= targets",
            _SVC),
    UnitKey("start", "boolean", "`true`", "start it on first install", _SVC),
    UnitKey("restart-on-upgrade", "boolean", "`true`",
            "restart it after an upgrade or downgrade (false: it keeps running the old code "
            "until restarted)", _SVC),
    UnitKey("unit-file", "path", "none",
            "ship this unit file (relative to pyproject.toml) instead of generating one; its "
            "User=, Group= and directories are used", _SVC),
    UnitKey("on-calendar", "list of strings", "required",
            "OnCalendar= expressions (systemd.time(7)): `daily`, `*-*-* 04:00:00`",
            ("timers",)),
    UnitKey("persistent", "boolean", "`true`",
            "Persistent=: a run missed while off happens at the next boot", ("timers",)),
    UnitKey("randomized-delay", "string", "none", "RandomizedDelaySec=, such as `15min`",
            ("timers",)),
)


def unit_keys_table() -> str:
    """The Markdown table of the keys of [[tool.pydebvenv.services]] and [[...timers]]."""
    lines = ["| key | in | type | default | meaning |", "|---|---|---|---|---|"]
    for key in UNIT_KEYS:
        where = "both" if key.tables == _BOTH else key.tables[0]
        lines.append(f"| `{key.toml}` | {where} | {key.type} | {key.default} | {key.meaning} |")
    return "\n".join(lines) + "\n"
