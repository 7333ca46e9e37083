"""The venv's activate scripts, rendered from virtualenv's own templates for the final path.

The templates and the per-shell quoting are virtualenv's (``virtualenv/activation/*``):
each activator's ``quote`` (and, in newer virtualenv, ``substitutions``) is applied to the
values its ``replacements()`` would produce, with POSIX values for the TARGET (bin dir
``bin``, path separator ``:``) instead of the build host's ``os.pathsep``/``os.sep``.  The
substitution is one pass, as virtualenv's ``instantiate_template`` does it, so a placeholder
name inside a quoted value stays data.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from importlib.resources import files
from types import SimpleNamespace
from typing import Any

from pydebvenv.debfile.entry import Entry, file_entry
from pydebvenv.errors import BuildError, ConfigError

__all__ = ["ACTIVATORS", "Activator", "activate_entries", "render_activate"]


@dataclass(frozen=True, slots=True)
class Activator:
    """One virtualenv activator: its class, template files and the names they get in bin/."""

    module: str  # virtualenv.activation.<shell>
    cls: str
    templates: tuple[tuple[str, str], ...]  # (template file, name in bin/)


#: The shells a POSIX target can use (batch/cmd.exe is Windows-only; xonsh is left out as
#: CPython's venv does).  Names follow virtualenv's as_name().
ACTIVATORS: tuple[Activator, ...] = (
    Activator("virtualenv.activation.bash", "BashActivator", (("activate.sh", "activate"),)),
    Activator("virtualenv.activation.fish", "FishActivator", (("activate.fish", "activate.fish"),)),
    Activator("virtualenv.activation.cshell", "CShellActivator",
              (("activate.csh", "activate.csh"), ("deactivate.csh", "deactivate.csh"))),
    Activator("virtualenv.activation.nushell", "NushellActivator",
              (("activate.nu", "activate.nu"),)),
    Activator("virtualenv.activation.powershell", "PowerShellActivator",
              (("activate.ps1", "activate.ps1"),)),
    Activator("virtualenv.activation.python", "PythonActivator",
              (("activate_this.py", "activate_this.py"),)),
)

# A placeholder left in a rendered script means virtualenv grew one we do not fill.
_LEFT_OVER = re.compile(r"__(?:VIRTUAL|BIN|PATH|TCL|TK|LIB|DECODE|BATCH)_[A-Z_]*__")


def _replacements(venv: str, site_packages: str, prompt: str | None) -> dict[str, str]:
    """virtualenv's ViaTemplateActivator.replacements(), with the target's POSIX values."""
    return {
        "__VIRTUAL_PROMPT__": "" if prompt is None else prompt,
        "__VIRTUAL_ENV__": venv,
        "__VIRTUAL_NAME__": posixpath.basename(venv),
        "__BIN_NAME__": "bin",
        "__PATH_SEP__": ":",
        # Debian's system Python finds Tcl/Tk itself; virtualenv leaves these empty for it.
        "__TCL_LIBRARY__": "",
        "__TK_LIBRARY__": "",
        # PythonActivator: the lib folders relative to bin/, joined with the path separator.
        "__LIB_FOLDERS__": posixpath.relpath(posixpath.join(venv, site_packages),
                                             posixpath.join(venv, "bin")),
        "__DECODE_PATH__": "",
    }


def render_activate(
    venv: str, site_packages: str, *, prompt: str | None = None
) -> dict[str, bytes]:
    """Every activate script as ``{name in bin/: bytes}`` for a venv at ``venv``.

    ``site_packages`` is relative to the venv (``lib/python3.11/site-packages``).
    """
    if "\n" in venv or "\r" in venv:
        raise ConfigError(f"venv path {venv!r} holds a line break; choose a plain path")
    values = _replacements(venv, site_packages, prompt)
    creator = SimpleNamespace(env_name=values["__VIRTUAL_NAME__"], dest=venv)
    rendered: dict[str, bytes] = {}
    for spec in ACTIVATORS:
        activator = _activator(spec, prompt)
        subs = _substitutions(activator, values, creator)
        for template, name in spec.templates:
            text = (files(spec.module) / template).read_bytes().decode("utf-8")
            out = _fill(text, subs)
            left = _LEFT_OVER.search(out)
            if left:
                raise BuildError(
                    f"virtualenv's {template} has a placeholder {left.group()!r} pydebvenv "
                    "does not fill; use a virtualenv version pydebvenv supports"
                )
            # virtualenv: PowerShell wants a BOM (else it assumes Windows-1252); csh keeps
            # undecodable bytes apart with surrogateescape.
            if name.endswith(".ps1"):
                rendered[name] = out.encode("utf-8-sig")
            elif name.endswith(".csh"):
                rendered[name] = out.encode("utf-8", "surrogateescape")
            else:
                rendered[name] = out.encode("utf-8")
    return rendered


def activate_entries(
    venv: str, site_packages: str, *, prompt: str | None = None
) -> tuple[Entry, ...]:
    """The activate scripts as entries in ``<venv>/bin`` (0644: they are sourced, not run)."""
    bin_dir = posixpath.join(venv, "bin").lstrip("/")
    return tuple(
        file_entry(f"{bin_dir}/{name}", data, source=f"virtualenv activation template {name}")
        for name, data in sorted(render_activate(venv, site_packages, prompt=prompt).items())
    )


def _fill(text: str, subs: dict[str, str]) -> str:
    # Longest key first, one pass (virtualenv's instantiate_template).
    pattern = re.compile("|".join(re.escape(k) for k in sorted(subs, key=len, reverse=True)))
    return pattern.sub(lambda match: subs[match.group()], text)


def _activator(spec: Activator, prompt: str | None) -> Any:
    module = __import__(spec.module, fromlist=[spec.cls])
    cls = getattr(module, spec.cls)
    return cls(SimpleNamespace(prompt=prompt))


def _substitutions(activator: Any, values: dict[str, str], creator: Any) -> dict[str, str]:
    # virtualenv >= 21 computes the final text per placeholder in substitutions() (csh adds
    # its prompt placeholders there); older versions quote each value with quote().
    if hasattr(activator, "substitutions"):
        subs = activator.substitutions(values, creator)
        return {str(k): str(v) for k, v in subs.items()}
    return {key: str(activator.quote(value)) for key, value in values.items()}
