"""Streaming: a 1 GiB payload packs with peak RSS far below the payload size."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

GIB = 1 << 30
LIMIT_KIB = 200 * 1024

# Runs in a fresh interpreter so ru_maxrss measures this build alone.  The payload comes
# from an opener that generates bytes on the fly: nothing of it exists in memory or on disk.
SCRIPT = textwrap.dedent("""
    import io, os, resource, sys
    from pathlib import Path
    from pydebvenv.debfile.control import Control
    from pydebvenv.debfile.entry import Entry
    from pydebvenv.debfile.writer import write_deb

    BLOCK = bytes(range(256)) * 4096 + os.urandom(64 * 1024)  # ~1.06 MiB, compresses

    class Generated(io.RawIOBase):
        def __init__(self, size):
            self.left = size
            self.pos = 0
        def readable(self):
            return True
        def readinto(self, buf):
            n = min(len(buf), self.left, len(BLOCK) - self.pos)
            buf[:n] = BLOCK[self.pos:self.pos + n]
            self.pos = (self.pos + n) % len(BLOCK)
            self.left -= n
            return n

    size = int(sys.argv[2])
    entries = [Entry(f"usr/share/big/part{i}", "file", 0o644, "generator", size=size // 2,
                     opener=lambda: io.BufferedReader(Generated(size // 2), 1 << 20))
               for i in range(2)]
    control = Control("bigpkg", "1.0", "all", "M <m@example.org>", "big\\nbig payload")
    def hwm():
        # VmHWM belongs to this process image; ru_maxrss would carry over the RSS of the
        # (possibly large) process that forked us, which Linux keeps across exec
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    before = hwm()
    deb = write_deb(control, entries, Path(sys.argv[1]), compression="zstd")
    peak = hwm()
    print(deb, before, peak)
""")


@pytest.mark.dpkg
def test_one_gib_payload_in_bounded_memory(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path), str(GIB)],
                            capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parents[2])
    deb, before, peak = result.stdout.split()
    assert int(peak) < LIMIT_KIB, f"peak RSS {int(peak) // 1024} MiB (at start {before} KiB)"
    listing = subprocess.run(["dpkg-deb", "--contents", deb], capture_output=True, text=True,
                             check=True).stdout
    sizes = sorted(int(line.split()[2]) for line in listing.splitlines() if "part" in line)
    assert sizes == [GIB // 2, GIB // 2]
    assert [p.name for p in tmp_path.iterdir()] == [Path(deb).name]
