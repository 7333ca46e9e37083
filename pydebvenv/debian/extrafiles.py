"""The project's extra files (``tool.pydebvenv.files``) as entries at their destinations."""

from __future__ import annotations

from pathlib import Path

from pydebvenv.debfile.entry import Entry, host_file_entry
from pydebvenv.errors import ConfigError
from pydebvenv.project.config import FileSpec

__all__ = ["extra_file_entries"]


def extra_file_entries(spec: FileSpec, root: Path) -> list[Entry]:
    """A file, or every file under a directory, at its destination with the configured mode.

    The mode comes from the configuration, never from the host file: a Windows checkout
    has no mode bits to trust.
    """
    source = root / spec.source
    where = f"tool.pydebvenv.files {str(spec.source)!r}"
    dest = spec.destination.strip("/")
    if source.is_file():
        return [host_file_entry(dest, source, mode=spec.mode, conffile=spec.conffile,
                                source=where)]
    if not source.is_dir():
        raise ConfigError(f"{where}: {str(source)!r} does not exist; fix the source path "
                          "(relative to pyproject.toml)")
    found = []
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        rel = path.relative_to(source).as_posix()  # POSIX names whatever the host's os.sep
        found.append(host_file_entry(f"{dest}/{rel}", path, mode=spec.mode,
                                     conffile=spec.conffile, source=f"{where}: {rel}"))
    return found
