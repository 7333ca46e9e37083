"""The project's extra files (``tool.pydebvenv.files``) as entries at their destinations."""

from __future__ import annotations

from pathlib import Path

from pydebvenv.debfile.entry import Entry, host_file_entry
from pydebvenv.errors import ConfigError
from pydebvenv.project.config import FileSpec
from pydebvenv.project.paths import inside_project, walk_project_dir

__all__ = ["extra_file_entries"]


def extra_file_entries(spec: FileSpec, root: Path) -> list[Entry]:
    """A file, or every file under a directory, at its destination with the configured mode.

    The mode comes from the configuration, never from the host file: a Windows checkout
    has no mode bits to trust.  Every file read lies inside the project ``root`` once
    symlinks are resolved (docs/safety.md), and is read through its resolved path.
    """
    where = f"tool.pydebvenv.files {str(spec.source)!r}"
    source = inside_project(root, spec.source, where)
    dest = spec.destination.strip("/")
    if source.is_file():
        return [host_file_entry(dest, source, mode=spec.mode, conffile=spec.conffile,
                                source=where)]
    if not source.is_dir():
        raise ConfigError(f"{where}: {str(spec.source)!r} does not exist; fix the source path "
                          "(relative to pyproject.toml)")
    # POSIX names whatever the host's os.sep
    return [host_file_entry(f"{dest}/{rel}", path, mode=spec.mode, conffile=spec.conffile,
                            source=f"{where}: {rel}")
            for rel, path in walk_project_dir(root, spec.source, where)]
