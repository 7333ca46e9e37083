"""inspect holds a 60 MB control member in a small multiple of its size, never ten times it."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from reader_fixtures.build import CONTROL, control_tar, hand_deb, simple_data_tar

SIZE = 60 << 20

# Runs in a fresh interpreter: VmHWM is the peak of this read alone.
SCRIPT = textwrap.dedent("""
    import sys
    from pathlib import Path
    from pydebvenv.debfile.reader import read_deb
    from pydebvenv.errors import InspectError

    def hwm():
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024

    before = hwm()
    try:
        read_deb(Path(sys.argv[1]))
    except InspectError:
        pass  # md5sums naming files data.tar lacks: the member was read all the same
    print(hwm() - before)
""")


def _member(kind: str) -> tuple[str, dict[str, bytes]]:
    if kind == "control":  # a Description of a million lines
        line = " a line of a very long extended description of the package\n"
        return CONTROL + line * (SIZE // len(line)), {}
    if kind == "postinst":
        line = b"echo 'a maintainer script of sixty megabytes'\n"
        return CONTROL, {"postinst": b"#!/bin/sh\n" + line * (SIZE // len(line))}
    count = SIZE // 80
    sums = "".join(f"{hashlib.md5(str(i).encode()).hexdigest()}  usr/share/doc/pkg/f{i:09d}\n"
                   for i in range(count))
    return CONTROL, {"md5sums": sums.encode()}


@pytest.mark.parametrize(("kind", "factor"), [("control", 3), ("postinst", 3),
                                              ("md5sums", 4.5)])
def test_peak_memory_is_a_small_multiple_of_the_member(tmp_path: Path, kind: str,
                                                       factor: float) -> None:
    # md5sums becomes a dict of every path (DebInfo.md5sums): that costs more than its text
    control, files = _member(kind)
    deb = tmp_path / f"{kind}.deb"
    deb.write_bytes(hand_deb(simple_data_tar(), control=control_tar(control, **files),
                             compression="zstd"))
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(deb)], capture_output=True,
                            text=True, check=True)
    peak = int(result.stdout)
    assert peak < factor * SIZE, f"{kind}: {peak >> 20} MiB for a {SIZE >> 20} MiB member"
