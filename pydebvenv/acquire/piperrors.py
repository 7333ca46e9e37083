"""pip's failed runs read back: why pip failed, said as one FetchError line."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Sequence
from typing import NoReturn
from urllib.parse import urlsplit

from pydebvenv.errors import FetchError

__all__ = ["HASH_FIX", "error_line", "missing_requirement", "raise_for", "refused",
           "unreachable"]

_NO_MATCH = re.compile(r"No matching distribution found for (\S+)")
_REFUSED = re.compile(r"\b40[13] Client Error")
_UNREACHABLE = (
    "Connection refused", "NewConnectionError", "Max retries exceeded",
    "Failed to establish a new connection", "Name or service not known",
    "Temporary failure in name resolution", "ConnectTimeoutError", "connection error:",
)  # fmt: skip


def error_line(lines: Sequence[str]) -> str:
    """pip's last ``ERROR:`` line without the prefix (else its last line)."""
    errors = [ln.strip() for ln in lines if ln.strip().startswith("ERROR:")]
    text = errors[-1] if errors else next((ln.strip() for ln in reversed(lines) if ln.strip()), "")
    return text.removeprefix("ERROR:").strip()


def missing_requirement(lines: Sequence[str]) -> str | None:
    """The requirement pip found no distribution for, if that is why it failed."""
    missing = _NO_MATCH.search("\n".join(lines))
    return missing[1] if missing else None


def refused(lines: Sequence[str]) -> bool:
    """Whether an index refused pip's credentials (HTTP 401 or 403)."""
    return _REFUSED.search("\n".join(lines)) is not None


def unreachable(lines: Sequence[str], indexes: Sequence[str]) -> bool:
    """Whether pip failed because an index could not be reached.

    pip says so in a warning only when it retries; with ``retries = 0`` a refused
    connection looks like an empty index ("from versions: none"), so then try to connect
    to each index host ourselves (only without a proxy: with one, the host is its business).
    """
    text = "\n".join(lines)
    if any(marker in text for marker in _UNREACHABLE):
        return True
    if "(from versions: none)" not in text or any(
            os.environ.get(v) for v in ("PIP_PROXY", "HTTPS_PROXY", "https_proxy",
                                        "HTTP_PROXY", "http_proxy")):
        return False
    for url in indexes:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            continue
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            socket.create_connection((parts.hostname, port), timeout=10).close()
        except (OSError, ValueError):
            return True
    return False


#: what to do about a hash mismatch when the user's --hash lines pinned the file
HASH_FIX = "fix the --hash in the requirements or check the index serves the file you pinned"


def raise_for(lines: Sequence[str], what: str, indexes: Sequence[str], *,
              hash_fix: str = HASH_FIX) -> NoReturn:
    """Turn a failed pip run into one FetchError line (the unreachable index comes first);
    ``hash_fix`` says what to do about a hash mismatch (the pins' owner knows)."""
    text = "\n".join(lines)
    where = ", ".join(indexes) or "pip's configured index"
    if refused(lines):
        raise FetchError(f"the package index refused the credentials ({where}) while {what}; "
                         "check the URL's user:password, ~/.netrc or keyring")
    if unreachable(lines, indexes):
        raise FetchError(f"cannot reach the package index ({where}) while {what}; check the "
                         "network, proxy and --index-url/--extra-index-url")
    if "DO NOT MATCH THE HASHES" in text or "do not match the hashes" in text:
        culprit = next((ln.strip() for ln in lines if " from " in ln and "==" in ln), "")
        expected = next((ln.split()[-1] for ln in lines if "Expected sha256" in ln), "?")
        got = next((ln.split()[-1] for ln in lines if ln.strip().startswith("Got")), "?")
        raise FetchError(f"hash mismatch for {culprit.split(' from ')[0] or what!r}: expected "
                         f"sha256 {expected}, got {got}; {hash_fix}")
    raise FetchError(f"pip failed while {what}: {error_line(lines)!r}; see the output above")
