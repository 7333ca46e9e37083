"""format_deb_info(): a verified .deb as text for ``pydebvenv inspect``."""

from __future__ import annotations

import stat
from typing import TYPE_CHECKING

from pydebvenv.debfile.tarwalk import DebFileEntry

if TYPE_CHECKING:
    from pydebvenv.debfile.reader import DebInfo

__all__ = ["format_deb_info"]

_TYPE_BITS: dict[str, int] = {"file": stat.S_IFREG, "dir": stat.S_IFDIR,
                              "symlink": stat.S_IFLNK, "hardlink": stat.S_IFREG}


def _listing(entry: DebFileEntry, width: int) -> str:
    letter = {"hardlink": "h"}.get(entry.kind)
    perms = stat.filemode(_TYPE_BITS[entry.kind] | entry.mode)
    if letter:
        perms = letter + perms[1:]
    line = f"{perms} {entry.owner} {entry.size:>{width}} {entry.path}"
    if entry.kind == "symlink":
        line += f" -> {entry.link}"
    elif entry.kind == "hardlink":
        line += f" link to {entry.link}"
    return line


def format_deb_info(info: DebInfo, *, full_scripts: bool = False) -> str:
    """Human text for ``pydebvenv inspect``: the package, control fields, conffiles, scripts,
    then the files as ``dpkg-deb --contents`` lists them (without dates)."""
    out = [
        f"{info.path}",
        f" format {info.format_version}; members: {', '.join(info.members)}",
        f" compression: control.tar {info.compression[0]}, data.tar {info.compression[1]}",
        f" control members: {', '.join(info.control_members)}",
        "",
    ]
    out += [f"{name}: {value}" for name, value in info.control.items()]
    out.append("")
    out.append(f"conffiles ({len(info.conffiles)}):")
    out += [f" {line}" for line in info.conffiles]
    out.append(f"maintainer scripts ({len(info.scripts)}):")
    for name, text in info.scripts.items():
        lines = text.splitlines()
        if full_scripts:
            out.append(f" {name} ({len(lines)} lines):")
            out += [f"   {line}" for line in lines]
        else:
            first = lines[0] if lines else ""
            out.append(f" {name:<9} {len(lines):>4} lines  {first}")
    out.append(f"files ({len(info.files)}, {len(info.md5sums)} in md5sums):")
    width = max([5, *(len(str(entry.size)) for entry in info.files)])
    out += [_listing(entry, width) for entry in info.files]
    return "\n".join(out) + "\n"
