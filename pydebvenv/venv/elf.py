"""What an ELF file is: the CPU it is built for and the shared libraries it needs (DT_NEEDED).

The layout follows the ELF gABI ("ELF Header": e_ident[EI_CLASS], e_ident[EI_DATA], then
e_type and e_machine as two half-words in the file's byte order; "Program Header" and
"Dynamic Section" for PT_DYNAMIC, DT_NEEDED, DT_SONAME, DT_STRTAB, DT_STRSZ); the numbers are
glibc's ``elf.h``.  A wheel member is never held whole: the machine comes from the first
bytes, the dynamic section is read through bounded seeks on a seekable stream.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Literal

__all__ = ["ELF_HEAD", "ELF_MACHINES", "ElfDynamic", "elf_dynamic", "elf_machine"]

#: ELF e_machine -> the arch name as wheel platform tags spell it (Target.arch.elf_machine).
#: (machine, is_64bit, little_endian) disambiguates families that share one e_machine; see
#: :func:`elf_machine`.
ELF_MACHINES: Mapping[int, str] = {
    3: "i686",  # EM_386
    40: "armv7l",  # EM_ARM
    62: "x86_64",  # EM_X86_64
    183: "aarch64",  # EM_AARCH64
    21: "ppc64",  # EM_PPC64 (big endian; little endian is ppc64le)
    22: "s390x",  # EM_S390
    243: "riscv64",  # EM_RISCV
}

#: How many leading bytes :func:`elf_machine` needs: e_ident (16) + e_type (2) + e_machine (2).
ELF_HEAD = 20


def elf_machine(head: bytes) -> str | None:
    """The ELF_MACHINES name of an ELF file's e_machine from its first bytes; None if not ELF."""
    if len(head) < ELF_HEAD or head[:4] != b"\x7fELF":
        return None
    is_64 = head[4] == 2  # EI_CLASS: ELFCLASS64
    byteorder: Literal["little", "big"] = "little" if head[5] == 1 else "big"  # EI_DATA
    machine = int.from_bytes(head[18:20], byteorder)
    if machine == 21 and byteorder == "little":
        return "ppc64le"
    if machine == 243 and not is_64:
        return "riscv32"
    if machine == 22 and not is_64:
        return "s390"
    return ELF_MACHINES.get(machine, f"e_machine-{machine}")


# --- the dynamic section -----------------------------------------------------------------

_PT_LOAD = 1
_PT_DYNAMIC = 2
_DT_NULL = 0
_DT_NEEDED = 1
_DT_STRTAB = 5
_DT_STRSZ = 10
_DT_SONAME = 14
# Bounds that real files stay far below (a few dozen program headers, a dynamic section of
# a few hundred entries, sonames of a few dozen bytes); anything bigger is treated as
# malformed rather than read into memory.
_MAX_PHDRS_BYTES = 1 << 16
_MAX_DYNAMIC_BYTES = 1 << 20
_MAX_NEEDED = 1024
_MAX_SONAME = 4096


@dataclass(frozen=True, slots=True)
class ElfDynamic:
    """The dynamic linking facts of one ELF file: its DT_NEEDED names, in order, and DT_SONAME."""

    needed: tuple[str, ...]
    soname: str | None


class _Malformed(Exception):
    """Internal: the ELF structures do not add up; elf_dynamic() answers None."""


class _Reader:
    """Bounded reads at absolute offsets of a seekable stream, never past ``size``."""

    def __init__(self, stream: IO[bytes], size: int | None) -> None:
        self._stream = stream
        self._size = size

    def read(self, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0 or (self._size is not None and offset + length > self._size):
            raise _Malformed
        self._stream.seek(offset)
        data = self._stream.read(length)
        if len(data) != length:
            raise _Malformed
        return data

    def read_upto(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes at ``offset`` (fewer at the end of the file)."""
        if offset < 0 or (self._size is not None and offset >= self._size):
            raise _Malformed
        if self._size is not None:
            length = min(length, self._size - offset)
        self._stream.seek(offset)
        return self._stream.read(length)


def elf_dynamic(source: bytes | IO[bytes], size: int | None = None) -> ElfDynamic | None:
    """DT_NEEDED and DT_SONAME of an ELF file given whole or as a seekable binary stream.

    ``size`` bounds the reads of a stream (the zip member's size).  A file without PT_DYNAMIC
    (static, or an object file) has no needs.  None when it is not ELF or its headers or
    dynamic section do not add up (truncated, offsets outside the file, no string table):
    such a file is never trusted enough to derive anything from it.  Never raises for bad
    content; a stream's own read errors propagate.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        stream: IO[bytes] = io.BytesIO(data)
        size = len(data)
    else:
        stream = source
    try:
        return _dynamic(_Reader(stream, size))
    except _Malformed:
        return None


def _dynamic(reader: _Reader) -> ElfDynamic | None:
    header = reader.read_upto(0, 64)
    if header[:4] != b"\x7fELF" or len(header) < 6 or header[4] not in (1, 2) \
            or header[5] not in (1, 2):
        return None
    is_64 = header[4] == 2  # EI_CLASS: ELFCLASS64
    order: Literal["little", "big"] = "little" if header[5] == 1 else "big"  # EI_DATA

    def num(data: bytes, at: int, width: int) -> int:
        return int.from_bytes(data[at: at + width], order)

    word = 8 if is_64 else 4
    if len(header) < (64 if is_64 else 52):
        raise _Malformed  # shorter than its own ELF header
    if is_64:
        phoff, phentsize, phnum = num(header, 32, 8), num(header, 54, 2), num(header, 56, 2)
    else:
        phoff, phentsize, phnum = num(header, 28, 4), num(header, 42, 2), num(header, 44, 2)
    if phnum == 0 or phoff == 0:
        return ElfDynamic((), None)  # no program headers: nothing is loaded dynamically
    # PN_XNUM (0xffff) moves the count to section 0; real shared objects never need it.
    if phnum == 0xFFFF or phentsize < (56 if is_64 else 32) or phnum * phentsize > _MAX_PHDRS_BYTES:
        raise _Malformed
    table = reader.read(phoff, phnum * phentsize)
    loads: list[tuple[int, int, int]] = []  # (vaddr, filesz, offset)
    dynamic: tuple[int, int] | None = None  # (offset, filesz)
    for i in range(phnum):
        ph = table[i * phentsize: (i + 1) * phentsize]
        p_type = num(ph, 0, 4)
        if is_64:
            offset, vaddr, filesz = num(ph, 8, 8), num(ph, 16, 8), num(ph, 32, 8)
        else:
            offset, vaddr, filesz = num(ph, 4, 4), num(ph, 8, 4), num(ph, 16, 4)
        if p_type == _PT_LOAD:
            loads.append((vaddr, filesz, offset))
        elif p_type == _PT_DYNAMIC and dynamic is None:
            dynamic = (offset, filesz)
    if dynamic is None:
        return ElfDynamic((), None)  # statically linked
    entsize = 2 * word
    length = min(dynamic[1], _MAX_DYNAMIC_BYTES) // entsize * entsize
    entries = reader.read_upto(dynamic[0], length)
    needed: list[int] = []
    soname: int | None = None
    strtab: int | None = None
    strsz: int | None = None
    for at in range(0, len(entries) - entsize + 1, entsize):
        tag, value = num(entries, at, word), num(entries, at + word, word)
        if tag == _DT_NULL:
            break
        if tag == _DT_NEEDED:
            needed.append(value)
        elif tag == _DT_SONAME:
            soname = value
        elif tag == _DT_STRTAB:
            strtab = value
        elif tag == _DT_STRSZ:
            strsz = value
    if not needed and soname is None:
        return ElfDynamic((), None)
    if strtab is None or strsz is None or len(needed) > _MAX_NEEDED:
        raise _Malformed
    # DT_STRTAB is an address: the PT_LOAD segment holding it gives its place in the file.
    base = next((off + strtab - vaddr for vaddr, filesz, off in loads
                 if vaddr <= strtab < vaddr + filesz), None)
    if base is None:
        raise _Malformed

    def string(index: int) -> str:
        if index >= strsz:
            raise _Malformed
        raw = reader.read_upto(base + index, min(_MAX_SONAME, strsz - index))
        end = raw.find(b"\0")
        if end <= 0:
            raise _Malformed  # unterminated within bounds, or an empty name
        try:
            return raw[:end].decode("ascii")
        except UnicodeDecodeError as exc:
            raise _Malformed from exc

    # ascending offsets: a compressed stream only ever seeks forward between the names
    wanted = {*needed, *([] if soname is None else [soname])}
    names = {index: string(index) for index in sorted(wanted)}
    return ElfDynamic(tuple(names[i] for i in needed),
                      names[soname] if soname is not None else None)
