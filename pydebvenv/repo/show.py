"""What ``pydebvenv publish`` and ``pydebvenv diff`` print."""

from __future__ import annotations

from pydebvenv.repo.compare import DebDiff
from pydebvenv.repo.publishing import PublishResult

__all__ = ["format_diff", "format_publish_result"]


def format_publish_result(result: PublishResult) -> str:
    """One line per pool file added, kept or removed, then one line for the suite."""
    lines = [f"added     {name}" for name in result.added]
    lines += [f"unchanged {name}" for name in result.unchanged]
    lines += [f"removed   {name}" for name in result.removed]
    where = f"{result.repo}/dists/{result.suite}"
    if not result.changed:
        lines.append(f"{where}: nothing changed")
    else:
        signed = f"signed by {result.signed_by}" if result.signed_by else "UNSIGNED"
        lines.append(f"{where}: Release {signed}; architectures "
                     f"{' '.join(result.architectures)}; components "
                     f"{' '.join(result.components)}")
    return "\n".join(lines) + "\n"


def _size(size: int | None) -> str:
    return "" if size is None else f"{size:,}"


def format_diff(d: DebDiff) -> str:
    """``pydebvenv diff``: each section, or what did not change."""
    old, new = d.old, d.new
    lines = [f"{old.package} {old.version} ({old.architecture}) -> {new.package} {new.version} "
             f"({new.architecture})", f"  old: {old.path}", f"  new: {new.path}", ""]
    lines.append("control fields:" if d.control else "control fields: unchanged")
    for field in d.control:
        if field.old is None:
            lines.append(f"  added    {field.name}: {_one_line(field.new)}")
        elif field.new is None:
            lines.append(f"  removed  {field.name}: {_one_line(field.old)}")
        else:
            lines.append(f"  changed  {field.name}: {_one_line(field.old)} -> "
                         f"{_one_line(field.new)}")
    source = f"from the bundled {d.dependencies_from}" if d.dependencies_from == "pylock.toml" \
        else "from the *.dist-info directories"
    lines.append(f"dependencies ({source}):" if d.dependencies
                 else f"dependencies ({source}): unchanged")
    for dep in d.dependencies:
        versions = dep.new if dep.old is None else dep.old if dep.new is None else \
            dep.old if dep.old == dep.new else f"{dep.old} -> {dep.new}"
        note = " (another wheel file)" if dep.change == "rebuilt" else ""
        lines.append(f"  {dep.change:<10} {dep.name} {versions}{note}")
    if d.files:
        counts = {kind: sum(f.change == kind for f in d.files)
                  for kind in ("added", "removed", "changed")}
        delta = sum((f.new_size or 0) - (f.old_size or 0) for f in d.files)
        lines.append(f"files: {counts['added']} added, {counts['removed']} removed, "
                     f"{counts['changed']} changed ({delta:+,} bytes):")
        for f in d.files:
            if f.change == "changed":
                sizes = f"{_size(f.old_size)} -> {_size(f.new_size)}" \
                    if f.old_size != f.new_size else _size(f.new_size)
                lines.append(f"  changed  {sizes:>17}  {f.path}  ({f.what})")
            else:
                size = _size(f.old_size if f.change == "removed" else f.new_size)
                lines.append(f"  {f.change:<8} {size:>17}  {f.path}")
    else:
        lines.append("files: unchanged")
    lines.append("maintainer scripts:" if d.scripts else "maintainer scripts: unchanged")
    for script in d.scripts:
        lines.append(f"  {script.change:<8} {script.name}")
        lines += [f"    {line}" for line in script.diff]
    lines.append("conffiles:" if d.conffiles else "conffiles: unchanged")
    lines += [f"  {c.change:<8} {c.path}" + (" (content)" if c.change == "changed" else "")
              for c in d.conffiles]
    return "\n".join(lines) + "\n"


def _one_line(value: str | None) -> str:
    text = value or ""
    first, _, rest = text.partition("\n")
    return first + (" [...]" if rest else "")
