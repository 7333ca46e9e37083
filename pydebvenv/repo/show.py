"""format_publish_result(): what ``pydebvenv publish`` prints."""

from __future__ import annotations

from pydebvenv.repo.publishing import PublishResult

__all__ = ["format_publish_result"]


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
