"""Signing the Release file with gpg: InRelease (clear-signed) and Release.gpg (detached).

apt-secure(8): apt trusts a repository through a signed Release file; it fetches ``InRelease``
(the Release text inside an OpenPGP clear signature) and falls back to ``Release`` with its
detached signature ``Release.gpg``.  gpg is the only program publishing runs; it finds its
keys in ``$GNUPGHOME`` (else ``~/.gnupg``), which it reads from the environment itself.
SHA512 digests: apt on Debian 13 verifies with sqv, whose policy refuses SHA-1.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pydebvenv.errors import PublishError

__all__ = ["SigningKey", "find_signing_key", "is_signed_by", "sign_release"]


@dataclass(frozen=True, slots=True)
class SigningKey:
    """The gpg program and the key it signs with (``user`` is given to --local-user)."""

    gpg: str
    user: str
    fingerprint: str


def _home() -> str:
    return os.environ.get("GNUPGHOME") or "~/.gnupg"


def _gpg(gpg: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([gpg, "--batch", *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, check=False)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def find_signing_key(key: str | None) -> SigningKey:
    """The secret key that signs: ``key`` (an ID, fingerprint or user ID), else gpg's default
    (the first secret key).  A missing gpg, a missing, expired, revoked or non-signing key is
    one PublishError line."""
    gpg = shutil.which("gpg")
    if gpg is None:
        raise PublishError("gpg is not installed; it signs the repository's Release file: "
                           "install it (apt-get install gpg) or pass --unsigned")
    wanted = [key] if key else []
    proc = _gpg(gpg, "--with-colons", "--list-secret-keys", "--", *wanted)
    records = [line.split(":") for line in proc.stdout.splitlines()]
    secret = [fields for fields in records if fields[0] == "sec"]
    if proc.returncode != 0 or not secret:
        which = f"secret key {key!r}" if key else "secret key"
        raise PublishError(f"no {which} in {_home()}; create one (gpg --quick-gen-key), point "
                           "GNUPGHOME at the keyring that holds it, or pass --unsigned")
    sec = secret[0]
    index = records.index(sec)
    fingerprint = next((fields[9] for fields in records[index + 1:] if fields[0] == "fpr"),
                       sec[4])
    # gpg --with-colons (doc/DETAILS): field 2 is the validity, field 12 the capabilities
    # of the whole key, upper case when usable.
    if sec[1] in ("e", "r"):
        state = "expired" if sec[1] == "e" else "revoked"
        raise PublishError(f"the signing key {fingerprint} in {_home()} is {state}; extend it "
                           "(gpg --quick-set-expire) or choose another with --sign-key")
    if len(sec) > 11 and "S" not in sec[11]:
        raise PublishError(f"the key {fingerprint} in {_home()} cannot sign (capabilities "
                           f"{sec[11]!r}); choose a signing key with --sign-key")
    return SigningKey(gpg, key or fingerprint, fingerprint)


def sign_release(signer: SigningKey, release: Path, inrelease: Path, detached: Path) -> None:
    """Write ``inrelease`` (clear-signed) and ``detached`` (armoured) signatures of
    ``release``."""
    common = ("--yes", "--armor", "--digest-algo", "SHA512", "--local-user", signer.user)
    for mode, out in (("--clearsign", inrelease), ("--detach-sign", detached)):
        proc = _gpg(signer.gpg, *common, mode, "--output", str(out), str(release))
        if proc.returncode != 0 or not out.is_file():
            raise PublishError(f"gpg could not sign with key {signer.fingerprint}: "
                               f"{_last_line(proc.stderr)}; check the key in {_home()} "
                               "(a passphrase needs a running gpg-agent)")


def is_signed_by(signer: SigningKey, inrelease: Path) -> bool:
    """Whether ``inrelease`` carries a good signature by ``signer`` (so it need not be signed
    again); gpg's status lines (doc/DETAILS): ``VALIDSIG <fpr> ... <primary key fpr>``."""
    if not inrelease.is_file():
        return False
    proc = _gpg(signer.gpg, "--status-fd", "1", "--verify", str(inrelease))
    for line in proc.stdout.splitlines():
        words = line.split()
        if words[:2] == ["[GNUPG:]", "VALIDSIG"] and signer.fingerprint in (words[2],
                                                                            words[-1]):
            return True
    return False
