"""PEP 440 versions -> Debian versions, and Python project names -> Debian package names.

The version mapping keeps the release as written and preserves order: for two PEP 440
versions whose releases have the same length, ``packaging``'s comparison and ``dpkg
--compare-versions`` on the mapped strings agree (docs/versions.md, checked by a hypothesis
test against real dpkg).  Comparison rules: deb-version(7).
"""

from __future__ import annotations

import re

from packaging.version import InvalidVersion, Version

from pydebvenv.debfile.control import is_package_name, is_revision
from pydebvenv.errors import ConfigError
from pydebvenv.target import Release

__all__ = ["debian_package_name", "debian_version", "release_suffix"]

# PEP 503 normalisation: runs of - _ . become one "-", then lowercase.
_PEP503_RE = re.compile(r"[-_.]+")

# Inside a string local segment, digits become the uppercase letters A..J.  In dpkg's
# non-digit runs letters compare by ASCII, so A..J (0x41..) < a..z keeps PEP 440's
# "0-9 before a-z" character order, and a digit never starts a numeric run that dpkg would
# compare by value (PEP 440 compares "abc10" < "abc9" as text).
_DIGIT_TO_LETTER = str.maketrans("0123456789", "ABCDEFGHIJ")


def debian_version(pep440: str, revision: str = "1", suffix: str = "") -> str:
    """Map a PEP 440 version to a Debian version ``[epoch:]upstream-revision[suffix]``.

    The release is kept as written (``1.0.0`` -> ``1.0.0-1``): it is what users type
    (``apt-get install app=1.0.0-1``) and what dh-virtualenv or fpm gave the same project.
    Only what dpkg cannot order is transformed; ``1!2.0.0rc1.post2.dev3+abc.4`` becomes
    ``1:2.0.0~rc1+post2~dev3+0local+abc~.4-1``:

    * epoch ``N!`` -> ``N:``;
    * ``aN``/``bN``/``rcN`` -> ``~aN``/``~bN``/``~rcN`` (``~`` sorts before the end);
    * ``.postN`` -> ``+postN`` (``+`` sorts below ``.``, so ``1.0+post1 < 1.0.1``);
    * ``.devN`` -> ``~~devN`` on a bare release (below every pre-release) and ``~devN``
      after a pre- or post-release;
    * local ``+seg.seg`` -> ``+0local`` then, per segment, ``.N`` for a number and
      ``+text~`` for text, with the text's digits written as the letters A-J.  This keeps
      PEP 440's local order exactly (text below numbers, shorter prefix first, text
      compared character by character) where the plain ``+0local.abc.1`` form misorders
      segments that mix letters and numbers.  Example: ``1.0+ubuntu1`` ->
      ``1.0+0local+ubuntuB~-1``.

    The order of two versions is PEP 440's when their releases have the same number of
    components; ``1.0`` against ``1.0.0.post1`` is the documented caveat (docs/versions.md):
    PEP 440 calls ``1.0`` and ``1.0.0`` equal, dpkg never calls two strings equal.
    ``suffix`` (``release_suffix``) is appended to the revision.
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
            "such as '1' or '2' (deb-version(7))"
        )
    text = ".".join(str(part) for part in version.release)
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
    return f"{text}-{revision}{suffix}"


def release_suffix(template: str, release: Release) -> str:
    """The revision suffix that names the target release: ``template`` with ``{tag}``
    (``deb12``, ``ubuntu24.04``), ``{id}`` (``debian``), ``{version}`` (``12``) and
    ``{codename}`` (``bookworm``) filled in; ``""`` for none.

    A suffix starting with ``~`` is refused: it would sort below the plain revision, so a
    ``1.0.0-1`` that dh-virtualenv or fpm built of the same project would look newer.
    """
    where = "tool.pydebvenv.release-suffix"
    values = {"tag": release.tag, "id": release.os_id, "version": release.version_id,
              "codename": release.codename}
    try:
        suffix = template.format_map(values)
    except (KeyError, ValueError, IndexError) as exc:
        raise ConfigError(
            f"{where} {template!r} is not a valid template ({exc!s}); use the placeholders "
            "{tag}, {id}, {version} and {codename}, such as \"+{tag}\""
        ) from None
    if suffix.startswith("~"):
        raise ConfigError(
            f"{where} {template!r} gives {suffix!r}, which sorts below the plain revision "
            "(a 1.0-1 built by dh-virtualenv or fpm would look newer); start it with + or "
            "., such as \"+{tag}\""
        )
    if suffix and not is_revision(suffix):
        raise ConfigError(
            f"{where} {template!r} gives {suffix!r}: use letters, digits and + . only "
            "(deb-version(7)), such as \"+{tag}\""
        )
    return suffix


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
