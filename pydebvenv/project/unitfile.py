"""Reading a systemd unit file the project ships (``unit-file``): its directives, its problems.

systemd.syntax(7): ``[Section]`` headers, ``Key=value`` lines, ``#`` and ``;`` comments, a
trailing backslash continues a line; a key set twice keeps its last value (for the settings
read here).  This is the little of that syntax pydebvenv needs, not a full parser.
"""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["directives", "has_section", "unit_directive", "unit_file_problems"]


def directives(text: str) -> Iterator[tuple[str, str, str]]:
    """(section, key, value) of every assignment in a unit file."""
    section = ""
    for raw in text.replace("\\\n", " ").splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
        elif "=" in line:
            key, _, value = line.partition("=")
            yield section, key.strip(), value.strip()


def unit_directive(text: str, section: str, key: str) -> str | None:
    """The last value of ``key`` in ``section``, None when it is not set."""
    values = [v for s, k, v in directives(text) if s == section and k == key]
    return values[-1] if values else None


def has_section(text: str, section: str) -> bool:
    return any(line.strip() == f"[{section}]" for line in text.splitlines())


def unit_file_problems(text: str) -> list[str]:
    """Why a unit file cannot be shipped as a service of the venv (empty when it can).

    Its commands must be absolute paths: a bare name would be looked up in systemd's fixed
    search path (systemd.service(5), "Command lines"), not in the venv.
    """
    problems = []
    if not any(s == "Service" and k == "ExecStart" for s, k, _ in directives(text)):
        problems.append("it has no ExecStart= in a [Service] section")
    for section, key, value in directives(text):
        if section == "Service" and key.startswith("Exec") and value:
            command = value.lstrip("-@:+!").split(None, 1)
            if command and not command[0].startswith("/"):
                problems.append(f"{key}={value} runs {command[0]!r} by a relative name: write "
                                "its absolute path (the venv's bin/ for its commands)")
    return problems
