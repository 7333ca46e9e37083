"""The .deb format: entries in, a Debian binary package out; knows nothing about Python."""

from __future__ import annotations

from pydebvenv.debfile.control import Control, MaintainerScripts
from pydebvenv.debfile.entry import Entry, dir_entry, file_entry, host_file_entry, symlink_entry
from pydebvenv.debfile.writer import write_deb

__all__ = [
    "Control",
    "Entry",
    "MaintainerScripts",
    "dir_entry",
    "file_entry",
    "host_file_entry",
    "symlink_entry",
    "write_deb",
]
