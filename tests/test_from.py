"""`build --from`: a published distribution packaged without a project, its metadata describing
the package; `fetch --from` and offline builds from its lock; a wrapper project's commands.

The distributions are wheels made here and served by an index on 127.0.0.1; the packages are
read back with dpkg-deb and python-debian's DEP-5 parser.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
from debian.copyright import Copyright

import pydebvenv
from pydebvenv.errors import ConfigError
from pydebvenv.report import Reporter
from tests.support.backend import BACKEND
from tests.support.index import LocalIndex, serve_index
from tests.support.isolation import isolate_process
from tests.support.wheelmaker import make_wheel

EPOCH = "1700000000"
SITE = "usr/share/python/tool-a/lib/python3.11/site-packages"

README = """\
<h2 align="center">
  <img src="https://example.org/logo.svg" alt="Tool A"/>
  Tool A: the best tool
</h2>

[![CI](https://example.org/ci.svg)](https://example.org/ci) [![PyPI](https://example.org/v.svg)](https://example.org)

# Tool A

tool-a: does things well.

_Tool A_ turns [inputs](https://example.org/in) into **outputs** quickly,
and it reads `stdin` too.

```sh
tool-a --help
```
"""


# one line, but longer than a license's name (61-100 characters): a sentence, not a name
LONG_LICENSE_LINE = ("Permission is granted to use this software for any purpose whatsoever, "
                     "free")


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIndex]:
    root = tmp_path_factory.mktemp("index")
    files = root / "files"
    files.mkdir()
    make_wheel(
        files, "tool-a", "2.0", summary="tool-a: does things well.", description=README,
        requires=["lib-b>=1", 'lib-srv; extra == "server"'], extras=["server"],
        entry_points={"console_scripts": {"tool-a": "tool_a:main",
                                          "tool-a-serve": "tool_a:serve [server]"}},
        metadata=[("Author", "Åsa Tool"), ("Author-email", "asa@example.org"),
                  ("License", "BSD"), ("Classifier", "License :: OSI Approved :: BSD License"),
                  ("Home-page", "https://example.org/tool-a"), ("License-File", "LICENSE")],
        files={"tool_a/__init__.py": "def main(): print('a')\ndef serve(): print('s')\n",
               "tool_a-2.0.dist-info/LICENSE": "BSD text\n"},
    )
    make_wheel(files, "lib-b", "1.5", license_expression="Apache-2.0",
               metadata=[("Author-email", "Bea Lib <bea@example.org>")],
               entry_points={"console_scripts": {"lib-b-cli": "lib_b:main"}})
    make_wheel(files, "lib-srv", "1.0", license_expression="MIT OR GPL-2.0-or-later")
    make_wheel(files, "quiet-lib", "0.3", summary="a library without commands",
               metadata=[("Author", "Quinn"), ("Author-email", "q@example.org")])
    make_wheel(files, "anon-lib", "1.0", metadata=[("Author-email", "anon@example.org")])
    make_wheel(files, "named-lib", "1.0", metadata=[("License", "Apache Software License 2.0")])
    make_wheel(files, "wordy-lib", "1.0", metadata=[("License", LONG_LICENSE_LINE)])
    make_wheel(files, "native-tool", "0.9", tag="py3-none-manylinux_2_17_x86_64",
               summary="A fast native tool", description="Native tool is fast.\n",
               metadata=[("Author-email", "Nat <nat@example.org>"), ("License-Expression", "MIT")],
               files={"native_tool-0.9.data/scripts/native-tool": "#!/bin/sh\necho native\n",
                      "native_tool/__init__.py": ""})
    make_wheel(files, "minibackend", files={"minibackend/__init__.py": BACKEND})
    with serve_index(root) as idx:
        yield idx


@pytest.fixture(autouse=True)
def _isolated_pip(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_process(monkeypatch, tmp_path / "pip-cache", SOURCE_DATE_EPOCH=EPOCH)


def _field(deb: Path, name: str) -> str:
    return subprocess.run(["dpkg-deb", "-f", str(deb), name], capture_output=True, text=True,
                          check=True).stdout.strip()


def _members(deb: Path) -> dict[str, tarfile.TarInfo]:
    data = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], capture_output=True,
                          check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        return {m.name.removeprefix("./"): m for m in tf.getmembers()}


def _file(deb: Path, path: str) -> str:
    data = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], capture_output=True,
                          check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        handle = tf.extractfile(f"./{path}")
        assert handle is not None
        return handle.read().decode()


def _build(index: LocalIndex, tmp_path: Path, *from_: str, **options: object) -> Path:
    report = io.StringIO()
    options.setdefault("target", "debian-12")
    options.setdefault("arch", "amd64")
    options.setdefault("wheel_cache", tmp_path / "cache")
    options.setdefault("index_url", index.url)
    deb = pydebvenv.build(from_=list(from_), output_dir=tmp_path / "out",
                          reporter=Reporter(report), **options)
    (tmp_path / "report.txt").write_text(report.getvalue())
    return deb


def test_the_first_distribution_describes_the_package(index: LocalIndex, tmp_path: Path) -> None:
    deb = _build(index, tmp_path, "tool-a")
    assert deb.name == "tool-a_2.0-1+deb12_all.deb"
    assert _field(deb, "Package") == "tool-a"
    assert _field(deb, "Version") == "2.0-1+deb12"
    # UTF-8 as written: no RFC 2047 encoded word for a non-ASCII name
    assert _field(deb, "Maintainer") == "Åsa Tool <asa@example.org>"
    assert _field(deb, "Homepage") == "https://example.org/tool-a"
    description = pydebvenv.inspect(deb).control["Description"]
    synopsis, _, extended = description.partition("\n")
    # lintian description-starts-with-package-name (an error) and synopsis-is-a-sentence
    assert synopsis == "does things well"
    # the readme's first prose paragraph: HTML, badges, headings, the summary and code skipped
    assert " ".join(extended.split()) == (
        "Tool A turns inputs into outputs quickly, and it reads stdin too.")
    members = _members(deb)
    assert members["usr/bin/tool-a"].linkname == "../share/python/tool-a/bin/tool-a"
    # its entry point names the extra "server", which was not asked for: not on PATH
    assert "usr/bin/tool-a-serve" not in members
    assert "usr/bin/lib-b-cli" not in members  # a dependency's command: not the package's
    assert f"{SITE}/lib_b/__init__.py" in members
    report = (tmp_path / "report.txt").read_text()
    assert "requirements: from (tool-a)" in report
    assert "/usr/bin: tool-a (the console scripts of tool-a)" in report


def test_copyright_names_every_bundled_license(index: LocalIndex, tmp_path: Path) -> None:
    deb = _build(index, tmp_path, "tool-a[server]")
    text = _file(deb, "usr/share/doc/tool-a/copyright")
    parsed = Copyright(io.StringIO(text))
    app = parsed.find_files_paragraph("usr/share/python/tool-a/bin/tool-a")
    assert app is not None and app.license is not None
    assert app.license.synopsis == "BSD"  # the License field; the classifier is ambiguous
    assert "tool-a 2.0 declares License: BSD" in app.license.text
    assert f"/{SITE}/tool_a-2.0.dist-info/LICENSE" in app.license.text
    lib_b = parsed.find_files_paragraph(f"{SITE}/lib_b/__init__.py")
    assert lib_b is not None and lib_b.license is not None
    assert lib_b.license.synopsis == "Apache-2.0" and lib_b.copyright == "Bea Lib"
    # lintian copyright-not-using-common-license-for-apache2 (an error) without this pointer
    assert "/usr/share/common-licenses/Apache-2.0" in lib_b.license.text
    assert parsed.find_files_paragraph("usr/share/python/tool-a/bin/lib-b-cli") is lib_b
    srv = parsed.find_files_paragraph(f"{SITE}/lib_srv-1.0.dist-info/METADATA")
    assert srv is not None and srv.license is not None
    assert srv.license.synopsis == "Expat or GPL-2+"  # SPDX in DEP-5 spelling
    # no bundled stanza claims the venv skeleton or the application's files
    for path in ("usr/share/python/tool-a/bin/python", f"{SITE}/tool_a/__init__.py",
                 "usr/share/doc/tool-a/copyright"):
        assert parsed.find_files_paragraph(path) is app, path
    # the extra was asked for: its command is linked, its dependency installed
    members = _members(deb)
    assert "usr/bin/tool-a-serve" in members and f"{SITE}/lib_srv/__init__.py" in members


def test_unknown_license_is_named_per_distribution(index: LocalIndex, tmp_path: Path) -> None:
    deb = _build(index, tmp_path, "tool-a", "quiet-lib")
    parsed = Copyright(io.StringIO(_file(deb, "usr/share/doc/tool-a/copyright")))
    quiet = parsed.find_files_paragraph(f"{SITE}/quiet_lib/__init__.py")
    assert quiet is not None and quiet.license is not None
    assert quiet.license.synopsis == "unknown"
    assert "quiet-lib 0.3 declares no license" in quiet.license.text
    app = parsed.find_files_paragraph(f"{SITE}/tool_a/__init__.py")
    assert app is not None and app.license is not None and app.license.synopsis == "BSD"


def test_copyright_and_sbom_read_the_license_field_alike(index: LocalIndex,
                                                         tmp_path: Path) -> None:
    # one rule decides whether a License field names a license: the copyright file and
    # the SBOM both give the name, and both leave the longer sentence unnamed
    assert 60 < len(LONG_LICENSE_LINE) <= 100
    deb = _build(index, tmp_path, "tool-a", "named-lib", "wordy-lib")
    parsed = Copyright(io.StringIO(_file(deb, "usr/share/doc/tool-a/copyright")))
    named = parsed.find_files_paragraph(f"{SITE}/named_lib/__init__.py")
    wordy = parsed.find_files_paragraph(f"{SITE}/wordy_lib/__init__.py")
    assert named is not None and named.license is not None
    assert wordy is not None and wordy.license is not None
    assert named.license.synopsis == "Apache-Software-License-2.0"  # DEP-5: no spaces
    assert wordy.license.synopsis == "custom"
    sbom = json.loads(_file(deb, "usr/share/doc/tool-a/sbom.cdx.json"))
    licenses = {c["name"]: c.get("licenses", []) for c in sbom["components"]}
    assert licenses["named-lib"] == [{"license": {"name": "Apache Software License 2.0"}}]
    assert licenses["wordy-lib"] == []


def test_name_revision_and_a_data_script_command(index: LocalIndex, tmp_path: Path) -> None:
    deb = _build(index, tmp_path, "native-tool==0.9", name="fast-tool", revision="3",
                 depends=["adduser"], compression="gzip")
    assert deb.name == "fast-tool_0.9-3+deb12_amd64.deb"
    # the options work as for a project
    assert _field(deb, "Depends") == "python3.11, libc6 (>= 2.17), adduser"
    assert pydebvenv.inspect(deb).compression == ("gzip", "gzip")
    # a wheel's own .data/scripts file (a compiled tool such as ruff ships its binary so)
    members = _members(deb)
    assert members["usr/bin/native-tool"].linkname == "../share/python/fast-tool/bin/native-tool"
    description = pydebvenv.inspect(deb).control["Description"]
    assert description.startswith("fast native tool\n")  # the article goes
    assert "Native tool is fast." in description


def test_generated_description_and_the_notice_for_no_commands(
    index: LocalIndex, tmp_path: Path
) -> None:
    deb = _build(index, tmp_path, "quiet-lib")
    description = pydebvenv.inspect(deb).control["Description"]
    synopsis, _, extended = description.partition("\n")
    assert synopsis == "library without commands"
    # no readme: the package says what it bundles (lintian extended-description-is-empty)
    assert " ".join(extended.split()) == (
        "This package ships quiet-lib 0.3 in a virtualenv under /usr/share/python/quiet-lib, "
        "run by the system's python3.11.")
    assert not [m for m in _members(deb) if m.startswith("usr/bin/")]
    report = (tmp_path / "report.txt").read_text()
    assert "note: nothing is linked into /usr/bin (quiet-lib has no console scripts)" in report


def test_a_wrong_script_lists_the_commands_by_distribution(
    index: LocalIndex, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError) as info:
        _build(index, tmp_path, "tool-a", scripts=["tool"])
    assert str(info.value).endswith(
        "the commands in the venv are, by distribution: lib-b: lib-b-cli; "
        "tool-a: tool-a, tool-a-serve")
    assert not list((tmp_path / "out").glob("*.deb"))


def test_a_distribution_without_a_named_maintainer_asks_for_one(
    index: LocalIndex, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError) as info:
        _build(index, tmp_path, "anon-lib")
    assert str(info.value) == (
        "the metadata of anon-lib 1.0 names no maintainer or author with both a name and an "
        "email: pass --maintainer 'Name <email>' (maintainer= in the API)")
    deb = _build(index, tmp_path, "anon-lib", maintainer="Pat Packager <pat@example.org>")
    assert _field(deb, "Maintainer") == "Pat Packager <pat@example.org>"


def test_a_project_and_from_together_are_refused(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "pydebvenv", "build", str(tmp_path), "--from",
                           "tool-a", "-o", str(tmp_path / "out")],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert proc.stderr == ("pydebvenv: error: give a project directory or --from requirements, "
                           "not both: --from builds a published distribution without a project\n")


def _without_network(*cmd: str) -> subprocess.CompletedProcess[str]:
    # a new network namespace has only a loopback interface, and it is down
    return subprocess.run(["unshare", "--net", *cmd], env=dict(os.environ), capture_output=True,
                          text=True, check=False)


@pytest.mark.dpkg
def test_fetch_from_then_build_offline(index: LocalIndex, tmp_path: Path) -> None:
    if shutil.which("unshare") is None:
        pytest.fail("unshare (util-linux) is needed: .ci/run installs it")
    cache = tmp_path / "cache"
    cli = [sys.executable, "-m", "pydebvenv"]
    fetched = subprocess.run([*cli, "fetch", "--from", "tool-a", "--target", "debian-13",
                              "--arch", "arm64", "--wheel-cache", str(cache), "--index-url",
                              index.url], capture_output=True, text=True, check=False,
                             cwd=tmp_path)
    assert fetched.returncode == 0, fetched.stderr
    (lock,) = (cache / "locks").glob("tool-a-*-debian-13-arm64.lock")
    assert fetched.stdout.splitlines()[-1].endswith(f" for debian-13/arm64 in {lock}")
    assert not list(tmp_path.glob("*.lock"))  # nothing written where fetch was run
    proc = _without_network(*cli, "build", "--from", "tool-a", "--target", "debian-13",
                            "--arch", "arm64", "--offline", "--wheel-cache", str(cache),
                            "-o", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert f"exactly as locked in {lock}" in proc.stdout
    (deb,) = (tmp_path / "out").glob("*.deb")
    assert deb.name == "tool-a_2.0-1+deb13_all.deb" and _field(deb, "Depends") == "python3.13"
    # other requirements are another lock: offline, they resolve from the cache alone
    other = _without_network(*cli, "build", "--from", "tool-a", "--from", "lib-srv",
                             "--target", "debian-13", "--arch", "arm64", "--offline",
                             "--wheel-cache", str(cache), "-o", str(tmp_path / "out2"))
    assert other.returncode == 1 and "lib-srv" in other.stderr and "Traceback" not in other.stderr


def test_a_wrapper_links_its_dependencies_commands(index: LocalIndex, tmp_path: Path) -> None:
    """A project with no code of its own (only dependencies): its wheel is a .dist-info."""
    project = tmp_path / "wrap"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["minibackend"]\nbuild-backend = "minibackend"\n\n'
        '[project]\nname = "tools-wrap"\nversion = "1.0"\ndescription = "our tools"\n'
        'dependencies = ["tool-a[server]", "native-tool"]\n'
        'maintainers = [{name = "Ops Team", email = "ops@example.org"}]\n\n'
        "[tool.minibackend]\nwrapper = true\n"
    )
    report = io.StringIO()
    # fetch puts the build backend into the cache, where the wheel's build finds it
    pydebvenv.fetch(project, target="debian-12", arch="amd64", wheel_cache=tmp_path / "cache",
                    index_url=index.url)
    deb = pydebvenv.build(project, output_dir=tmp_path / "out", target="debian-12",
                          arch="amd64", wheel_cache=tmp_path / "cache", offline=True,
                          reporter=Reporter(report))
    bin_links = sorted(m for m in _members(deb) if m.startswith("usr/bin/"))
    assert bin_links == ["usr/bin/native-tool", "usr/bin/tool-a", "usr/bin/tool-a-serve"]
    assert ("/usr/bin: tool-a, tool-a-serve, native-tool (the console scripts of its "
            "dependencies tool-a, native-tool: it has no code of its own)") in report.getvalue()
    # no readme: the extended description says what it bundles and links
    description = pydebvenv.inspect(deb).control["Description"]
    assert " ".join(description.split()) == (
        "our tools This package ships tools-wrap 1.0 and the 4 Python distributions it needs "
        "(lib-b, lib-srv, native-tool, tool-a) in a virtualenv under "
        "/usr/share/python/tools-wrap, run by the system's python3.11. . Commands: tool-a, "
        "tool-a-serve, native-tool.")


def _bundled(deb: Path) -> list[str]:
    """The distributions in the venv, as their .dist-info directories name them."""
    pattern = r"usr/share/python/[^/]+/lib/python3\.\d+/site-packages/([^/]+)\.dist-info"
    return sorted(m.group(1) for m in map(partial(re.fullmatch, pattern), _members(deb)) if m)


def test_an_unpinned_from_keeps_its_locked_version_until_fetch_upgrade(tmp_path: Path) -> None:
    """README: an unpinned --from requirement is resolved once, to the newest release the
    index has, and locked; later builds of the same requirements install that version even
    after a new release, until `fetch --upgrade` moves the lock.  Another --from pins a
    dependency (other requirements: another lock)."""
    root = tmp_path / "index"
    (root / "files").mkdir(parents=True)
    maintainer = [("Author-email", "Pat <pat@example.org>")]
    make_wheel(root / "files", "pin-tool", "1.0", requires=["pin-lib"], metadata=maintainer)
    make_wheel(root / "files", "pin-lib", "1.0")
    make_wheel(root / "files", "pin-lib", "2.0")
    with serve_index(root) as index:
        first = _build(index, tmp_path, "pin-tool")
        assert _bundled(first) == ["pin_lib-2.0", "pin_tool-1.0"]
        make_wheel(index.files, "pin-tool", "1.1", requires=["pin-lib"], metadata=maintainer)
        index.refresh()
        assert _bundled(_build(index, tmp_path, "pin-tool")) == ["pin_lib-2.0", "pin_tool-1.0"]
        # a plain fetch follows the lock too; --upgrade resolves anew
        options = {"target": "debian-12", "arch": "amd64", "wheel_cache": tmp_path / "cache",
                   "index_url": index.url}
        pydebvenv.fetch(from_=["pin-tool"], **options)
        assert _bundled(_build(index, tmp_path, "pin-tool")) == ["pin_lib-2.0", "pin_tool-1.0"]
        pydebvenv.fetch(from_=["pin-tool"], upgrade=True, **options)
        assert _bundled(_build(index, tmp_path, "pin-tool")) == ["pin_lib-2.0", "pin_tool-1.1"]
        # a second --from pins what the first one needs
        pinned = _build(index, tmp_path, "pin-tool", "pin-lib==1.0")
        assert _bundled(pinned) == ["pin_lib-1.0", "pin_tool-1.1"]
        assert pinned.name == "pin-tool_1.1-1+deb12_all.deb"  # the first names the package


def test_an_extra_given_apart_is_the_same_as_in_the_requirement(index: LocalIndex,
                                                                tmp_path: Path) -> None:
    # README: --from 'black[d]', or --extra d
    inline = _build(index, tmp_path / "inline", "tool-a[server]")
    apart = _build(index, tmp_path / "apart", "tool-a", extras=["server"])
    assert "usr/bin/tool-a-serve" in _members(apart)
    assert apart.read_bytes() == inline.read_bytes()
