"""Throwaway gpg keys for the publishing tests: a GNUPGHOME of their own, no passphrase."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["GpgKey", "gpg_home"]


@dataclass(frozen=True, slots=True)
class GpgKey:
    """A secret signing key in ``home`` (an ed25519 key made by gpg --quick-gen-key)."""

    home: Path
    fingerprint: str

    def export(self, dest: Path) -> Path:
        """The public key as a binary keyring, as a host's Signed-By file holds it."""
        data = subprocess.run(["gpg", "--batch", "--export", self.fingerprint], env=self.env(),
                              capture_output=True, check=True).stdout
        assert data, f"gpg exported nothing for {self.fingerprint}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
        dest.chmod(0o644)  # apt reads it as the unprivileged _apt user
        return dest

    def env(self) -> dict[str, str]:
        return {**os.environ, "GNUPGHOME": str(self.home)}


def _generate(home: Path, uid: str) -> str:
    subprocess.run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", uid, "ed25519",
                    "sign", "never"], env={**os.environ, "GNUPGHOME": str(home)},
                   capture_output=True, check=True)
    out = subprocess.run(["gpg", "--batch", "--with-colons", "--list-secret-keys", uid],
                         env={**os.environ, "GNUPGHOME": str(home)}, capture_output=True,
                         text=True, check=True).stdout
    return next(line.split(":")[9] for line in out.splitlines() if line.startswith("fpr:"))


@contextmanager
def gpg_home(*uids: str) -> Iterator[tuple[Path, list[GpgKey]]]:
    """A fresh GNUPGHOME and one new key in it per user ID; its gpg-agent is stopped after.

    The directory is short and under the system's temporary directory: gpg-agent's socket
    lives in it, and a Unix socket path has at most 107 bytes.
    """
    if shutil.which("gpg") is None:
        raise RuntimeError("gpg is not installed")
    home = Path(tempfile.mkdtemp(prefix="gpg-"))
    home.chmod(0o700)
    try:
        yield home, [GpgKey(home, _generate(home, uid)) for uid in uids]
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"],
                       env={**os.environ, "GNUPGHOME": str(home)}, capture_output=True,
                       check=False)
        shutil.rmtree(home, ignore_errors=True)
