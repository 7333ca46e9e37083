"""Sample packages and dpkg helpers shared by the writer tests (imported by file name)."""

from __future__ import annotations

import gzip

from pydebvenv.debfile.control import Control, MaintainerScripts
from pydebvenv.debfile.entry import Entry, dir_entry, file_entry, symlink_entry
from tests.support.dpkgroot import dpkg

__all__ = ["EPOCH", "dpkg", "marker_scripts", "sample_control", "sample_entries"]

EPOCH = 1700000000


def sample_control(version: str = "1.0-1", **fields: str) -> Control:
    extra = {"Depends": "libc6", "Section": "utils", "Priority": "optional",
             "Homepage": "https://example.org/hello", **fields}
    return Control(
        package="hello-deb",
        version=version,
        architecture="all",
        maintainer="Test Maintainer <test@example.org>",
        description=(
            "greets the world from a test package\n"
            "This package was written by pydebvenv's archive writer to test it.\n"
            "\n"
            "It ships a script, a conffile and a symlink."
        ),
        fields=tuple(extra.items()),
    )


def _changelog(version: str) -> bytes:
    text = (
        f"hello-deb ({version}) unstable; urgency=medium\n\n"
        "  * Test package.\n\n"
        " -- Test Maintainer <test@example.org>  Tue, 14 Nov 2023 22:13:20 +0000\n"
    )
    # -9n like dh_installchangelogs: no name, no time in the gzip header
    return gzip.compress(text.encode(), compresslevel=9, mtime=0)


COPYRIGHT = (
    "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
    "Upstream-Name: hello-deb\n\n"
    "Files: *\nCopyright: 2023 Test Maintainer <test@example.org>\nLicense: MIT\n"
    " Permission is hereby granted, free of charge, to any person obtaining a copy of this\n"
    " software, to deal in the Software without restriction.\n"
)


def sample_entries(version: str = "1.0-1", conf: bytes = b"greeting=hello\n") -> list[Entry]:
    src = "sample"
    return [
        file_entry("usr/bin/hello-deb", b"#!/bin/sh\necho hello\n", mode=0o755, source=src),
        file_entry("etc/hello-deb/hello.conf", conf, source=src, conffile=True),
        file_entry("usr/share/doc/hello-deb/copyright", COPYRIGHT.encode(), source=src),
        file_entry("usr/share/doc/hello-deb/changelog.Debian.gz", _changelog(version),
                   source=src),
        file_entry("usr/share/hello-deb/data.txt", b"x" * 3000, source=src),
        file_entry("usr/share/hello-deb/" + "long-" * 30 + ".txt", b"long name\n", source=src),
        symlink_entry("usr/share/hello-deb/link", "data.txt", source=src),
        symlink_entry("usr/share/hello-deb/longlink", "long-" * 30 + ".txt",
                      source=src),
        dir_entry("usr/share/hello-deb/empty", source=src),
    ]


def marker_scripts() -> MaintainerScripts:
    """Scripts that leave a marker under $DPKG_ROOT, proving that dpkg ran them."""

    def script(name: str) -> str:
        return (
            "#!/bin/sh\nset -e\n"
            f'mkdir -p "$DPKG_ROOT/var/lib/hello-deb-markers"\n'
            f'echo "$@" >> "$DPKG_ROOT/var/lib/hello-deb-markers/{name}"\n'
        )

    return MaintainerScripts(preinst=script("preinst"), postinst=script("postinst"),
                             prerm=script("prerm"), postrm=script("postrm"))
