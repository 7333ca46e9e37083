"""Which CPU an ELF file is built for, from its first bytes (the ELF identification and e_machine).

The layout follows the ELF gABI ("ELF Header": e_ident[EI_CLASS], e_ident[EI_DATA], then
e_type and e_machine as two half-words in the file's byte order); the e_machine numbers are
glibc's ``elf.h``.  Only the header is read, so a wheel member never has to be held whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

__all__ = ["ELF_HEAD", "ELF_MACHINES", "elf_machine"]

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
