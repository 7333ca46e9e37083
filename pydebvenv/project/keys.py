"""The [tool.pydebvenv] key table: one Key row per option, and the docs table rendered from it.

Every key has a TOML name (``pre-depends``) and a Python name (``pre_depends``, used by
overrides and ``Options``); the CLI makes its flags from the rows with a ``flag``, and
docs/configuration.md holds ``configuration_table()`` verbatim (a test keeps them in sync).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["KEYS", "Key", "KeyType", "configuration_table"]

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
    Key("scripts", "list of strings",
        "the application's console scripts (a wrapper's: its dependencies')", "--script",
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


def configuration_table() -> str:
    """The Markdown table of every [tool.pydebvenv] key (docs/configuration.md holds it)."""
    lines = ["| key | type | default | CLI flag | meaning |", "|---|---|---|---|---|"]
    for key in KEYS:
        flag = f"`{key.flag}`" if key.flag else ""
        lines.append(f"| `{key.toml}` | {key.type} | {key.default} | {flag} | {key.meaning} |")
    return "\n".join(lines) + "\n"
