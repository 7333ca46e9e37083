"""PEP 440 versions -> Debian versions, and Python project names -> Debian package names.

The version mapping preserves order: for any two PEP 440 versions, ``packaging``'s
comparison and ``dpkg --compare-versions`` on the mapped strings agree (docs/versions.md,
checked by a hypothesis test against real dpkg).  Comparison rules: deb-version(7).
"""

from __future__ import annotations

import re

from packaging.version import InvalidVersion, Version

from pydebvenv.debfile.control import is_package_name, is_revision
from pydebvenv.errors import ConfigError

__all__ = ["debian_package_name", "debian_version"]

# PEP 503 normalisation: runs of - _ . become one "-", then lowercase.
_PEP503_RE = re.compile(r"[-_.]+")

# Inside a string local segment, digits become the uppercase letters A..J.  In dpkg's
# non-digit runs letters compare by ASCII, so A..J (0x41..) < a..z keeps PEP 440's
# "0-9 before a-z" character order, and a digit never starts a numeric run that dpkg would
# compare by value (PEP 440 compares "abc10" < "abc9" as text).
_DIGIT_TO_LETTER = str.maketrans("0123456789", "ABCDEFGHIJ")


def debian_version(pep440: str, revision: str = "1") -> str:
    """Map a PEP 440 version to a Debian version ``[epoch:]upstream-revision``.

    ``1!2.0.0rc1.post2.dev3+abc.4`` becomes ``1:2~rc1+post2~dev3+0local+abc~.4-1``:

    * epoch ``N!`` -> ``N:``; trailing ``.0`` release components are dropped (PEP 440 says
      ``1.0 == 1.0.0``; dpkg would rank ``1.0.0`` above ``1.0+post1``);
    * ``aN``/``bN``/``rcN`` -> ``~aN``/``~bN``/``~rcN`` (``~`` sorts before the end);
    * ``.postN`` -> ``+postN`` (``+`` sorts below ``.``, so ``1+post1 < 1.0.1``);
    * ``.devN`` -> ``~~devN`` on a bare release (below every pre-release) and ``~devN``
      after a pre- or post-release;
    * local ``+seg.seg`` -> ``+0local`` then, per segment, ``.N`` for a number and
      ``+text~`` for text, with the text's digits written as the letters A-J.  This keeps
      PEP 440's local order exactly (text below numbers, shorter prefix first, text
      compared character by character) where the plain ``+0local.abc.1`` form misorders
      segments that mix letters and numbers (the caveat in docs/versions.md).
      Example: ``1.0+ubuntu1`` -> ``1+0local+ubuntuB~-1``.
    """
    try:
        version = Version(pep440)
    except InvalidVersion:
        raise ConfigError(
            f"invalid version {pep440!r}: use a PEP 440 version such as '1.2.3' or '1.0rc1'"
        ) from None
    if not isinstance(revision, str) or not is_revision(revision):
        raise ConfigError(
            f"invalid Debian revision {revision!r}: use letters, digits and + . ~ only, "
            "such as '1' or '2~deb12' (deb-version(7))"
        )
    release = list(version.release)
    while len(release) > 1 and release[-1] == 0:
        release.pop()
    text = ".".join(str(part) for part in release)
    if version.epoch:
        text = f"{version.epoch}:{text}"
    if version.pre is not None:
        letter, number = version.pre
        text += f"~{letter}{number}"
    if version.post is not None:
        text += f"+post{version.post}"
    if version.dev is not None:
        bare = version.pre is None and version.post is None
        text += f"{'~~' if bare else '~'}dev{version.dev}"
    if version.local is not None:
        text += "+0local" + "".join(_local_segment(seg) for seg in version.local.split("."))
    return f"{text}-{revision}"


def _local_segment(segment: str) -> str:
    # packaging compares numeric segments as integers above every text segment.  A text
    # segment starts with "+" (below ".", both non-letters in dpkg's order) and ends with
    # "~" (below everything, so "abc" sorts before "abcd" as PEP 440's prefix rule wants).
    if segment.isdigit():
        return f".{int(segment)}"
    return "+" + segment.translate(_DIGIT_TO_LETTER) + "~"


def debian_package_name(name: str) -> str:
    """The Debian package name for a Python project name.

    PEP 503 normalisation (``My_App.cli`` -> ``my-app-cli``), then Debian Policy §5.6.1:
    at least two characters from ``a-z0-9+.-`` starting with a letter or digit.  A name
    that cannot be made valid raises ConfigError saying to set ``tool.pydebvenv.name``.
    """
    normal = _PEP503_RE.sub("-", name).lower().strip("-")
    if not is_package_name(normal):
        why = (
            "it is shorter than two characters"
            if len(normal) < 2 and normal.isalnum()
            else "it needs letters, digits, + - . only, starting with a letter or digit"
        )
        raise ConfigError(
            f"cannot make a Debian package name from {name!r}: {why} (Debian Policy 5.6.1); "
            'set name = "..." in [tool.pydebvenv] (or pass --name)'
        )
    return normal
