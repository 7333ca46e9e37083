"""Credentials out of every URL pydebvenv prints, logs, locks or packages: the one scrubber.

A URL may carry ``user:password@`` (or a bare token) in its network location (RFC 3986
§3.2.1, "userinfo"); pip masks only the password.  Whatever pydebvenv shows or stores goes
through :func:`redact` first.
"""

from __future__ import annotations

import re

__all__ = ["redact"]

# The userinfo of a URL: after "scheme://", up to the last "@" before the path.  A password
# may itself hold "@", so the match is greedy within the authority (no "/" or whitespace).
_USERINFO = re.compile(r"(?<=://)[^/\s]*@")


def redact(text: str) -> str:
    """``text`` with the ``user:password@`` part of every URL in it removed."""
    return _USERINFO.sub("", text)
