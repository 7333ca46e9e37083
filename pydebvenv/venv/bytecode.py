"""Byte-compiling the venv at build time: the opt-in alternative to compiling in the postinst.

Ships PEP 552 checked-hash pycs, which only a host running the target's exact CPython X.Y
can make (docs/bytecode.md).
"""

from __future__ import annotations

import posixpath
import py_compile
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from pydebvenv.debfile.entry import Entry, file_entry
from pydebvenv.errors import BuildError

if TYPE_CHECKING:
    from pydebvenv.target import Target

__all__ = ["compile_entries"]


def compile_entries(venv: str, target: Target, entries: Iterable[Entry]) -> tuple[Entry, ...]:
    """``entries`` plus a PEP 552 checked-hash ``.pyc`` for every ``.py`` in site-packages.

    Only possible when this host runs CPython of the target's exact X.Y (the pyc format and
    magic number change with every minor version; docs/bytecode.md): this is the one place
    that reads ``sys.version_info``, to answer "can this host produce the target's pycs".
    ``co_filename`` names the final path.  Checked-hash pycs do not depend on mtimes, so the
    output is reproducible.  Files that do not compile are left to be compiled in memory.
    """
    host = (sys.implementation.name, sys.version_info[:2])
    if host != ("cpython", target.python_version):
        raise BuildError(
            f"cannot byte-compile for {target.name} (CPython {target.pyver}) on a host running "
            f"{host[0]} {host[1][0]}.{host[1][1]}; build with Python {target.pyver} or leave "
            "compilation to the postinst"
        )
    entries = tuple(entries)
    site = posixpath.join(venv, target.site_packages).lstrip("/") + "/"
    tag = f"cpython-{target.python_version[0]}{target.python_version[1]}"
    taken = {e.path for e in entries}
    added: list[Entry] = []
    with tempfile.TemporaryDirectory(prefix="pydebvenv-pyc-") as tmp:
        work = Path(tmp)
        for entry in sorted(entries, key=lambda e: e.path):
            if entry.kind != "file" or not entry.path.startswith(site):
                continue
            if not entry.path.endswith(".py"):
                continue
            head, base = posixpath.split(entry.path)
            pyc_path = f"{head}/__pycache__/{base[:-3]}.{tag}.pyc"
            if pyc_path in taken:
                continue
            source = work / "source.py"
            cfile = work / "out.pyc"
            with entry.open() as stream:
                source.write_bytes(stream.read())
            try:
                py_compile.compile(
                    str(source), cfile=str(cfile), dfile="/" + entry.path, doraise=True,
                    invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
                )
            except py_compile.PyCompileError:
                continue  # as compileall: a file that does not compile gets no pyc
            added.append(file_entry(pyc_path, cfile.read_bytes(),
                                    source=f"{entry.source} (compiled)"))
    return entries + tuple(added)
