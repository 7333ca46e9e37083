"""Every file a build opens is closed before it is removed or renamed, whatever happens.

Each build here runs under Windows' rule (tests/support/openfiles.py): removing or renaming
a file this process still holds open fails, as it does on Windows (and, for removal, as it
leaves a hidden entry behind on a FUSE filesystem).  A build that succeeds, fails, is
interrupted or fetches must leave nothing behind: in the output directory only the .deb, in
the temporary directory nothing, in the wheel cache no staging directory.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import pydebvenv
from pydebvenv.cli import main
from pydebvenv.debfile import segments, writer
from pydebvenv.errors import WheelError
from pydebvenv.report import Reporter
from pydebvenv.venv.wheelzip import LazyZip
from tests.support.backend import BACKEND
from tests.support.index import LocalIndex, serve_index
from tests.support.isolation import isolated_pip_env
from tests.support.openfiles import open_paths, refuse_open_files
from tests.support.wheelmaker import make_wheel, record_hash

BIG = bytes(range(256)) * 8192  # 2 MiB: read in several chunks by the writer


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The system temporary directory, for this test alone (and its subprocesses)."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    return tmp


@pytest.fixture
def refused(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    return refuse_open_files(monkeypatch)


def _project(root: Path, deps: list[str], *, extra: str = "") -> Path:
    project = root / "proj"
    project.mkdir()
    (project / "backend.py").write_text(BACKEND)
    (project / "app.conf").write_text("setting = 1\n")
    quoted = ", ".join(f'"{d}"' for d in deps)
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n\n'
        '[project]\nname = "handles"\nversion = "1.0"\ndescription = "handle discipline"\n'
        f"dependencies = [{quoted}]\n"
        'maintainers = [{name = "T", email = "t@example.org"}]\n\n'
        '[tool.pydebvenv]\nfiles = [{source = "app.conf", destination = "/etc/handles/app.conf",'
        " conffile = true}]\n" + extra
    )
    return project


def _cache(root: Path) -> Path:
    cache = root / "cache"
    cache.mkdir()
    make_wheel(cache, "dep-one", "1.0",
               files={"dep_one/__init__.py": "X = 1\n", "dep_one/blob.bin": BIG,
                      "dep_one-1.0.data/scripts/tool": "#!python\nprint('tool')\n"})
    make_wheel(cache, "dep-two", "1.0", files={"dep_two/__init__.py": "Y = 2\n"})
    return cache


def _offline(project: Path, cache: Path, out: Path, **options: Any) -> Path:
    return pydebvenv.build(project, output_dir=out, target="debian-12", arch="amd64",
                           offline=True, wheel_cache=cache, compression="gzip", **options)


def _assert_clean(out: Path, scratch: Path, refused: list[str], *, deb: str | None) -> None:
    assert refused == [], f"removed or renamed while open: {refused}"
    assert sorted(p.name for p in out.iterdir()) == ([deb] if deb else [])
    assert list(scratch.iterdir()) == []
    held = sorted(p for p in open_paths() if p.startswith(str(out.parent)))
    assert held == [], f"still open after the build: {held}"


def test_the_rule_refuses_what_is_open(tmp_path: Path, refused: list[str]) -> None:
    # the simulation itself: an open file blocks its removal, its directory's and a rename
    target = tmp_path / "d" / "f"
    target.parent.mkdir()
    with target.open("wb"):
        with pytest.raises(PermissionError):
            target.unlink()
        with pytest.raises(PermissionError):
            os.replace(target, tmp_path / "g")
        with pytest.raises(OSError):
            shutil.rmtree(target.parent)
    assert len(refused) == 3
    os.replace(target, tmp_path / "g")
    shutil.rmtree(target.parent)


def test_a_wheel_stays_open_until_its_lazy_zip_is_closed(tmp_path: Path,
                                                         refused: list[str]) -> None:
    # what the garbage-collected LazyZip did: the member is read and closed, the zip is not
    wheel = make_wheel(tmp_path, "lazy", "1.0", files={"lazy/__init__.py": "Z = 3\n"})
    archive = LazyZip(wheel)
    with archive.open("lazy/__init__.py") as member:
        assert member.read() == b"Z = 3\n"
    with pytest.raises(PermissionError):
        wheel.unlink()
    archive.close()
    wheel.unlink()
    with pytest.raises(ValueError, match="closed"):
        archive.open("lazy/__init__.py")  # a handle nobody would close


@pytest.mark.parametrize("compile_", [False, True], ids=["postinst-compile", "compile"])
def test_a_build_closes_every_file(tmp_path: Path, scratch: Path, refused: list[str],
                                   monkeypatch: pytest.MonkeyPatch, compile_: bool) -> None:
    # --compile reads the wheels' .py members before the writer does
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    out = tmp_path / "out"
    stream = io.StringIO()
    deb = pydebvenv.build(_project(tmp_path, ["dep-one", "dep-two"]), output_dir=out,
                          target="debian-12", arch="amd64", offline=True,
                          wheel_cache=_cache(tmp_path), compression="gzip", compile=compile_,
                          reporter=Reporter(stream))
    assert "warning" not in stream.getvalue()
    _assert_clean(out, scratch, refused, deb=deb.name)
    info = pydebvenv.inspect(deb)
    assert any(f.path.endswith("dep_one/blob.bin") for f in info.files)


def test_the_output_directory_holds_only_the_package_being_written(
    tmp_path: Path, scratch: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # scratch space is elsewhere: the output directory sees the .deb's temporary file only,
    # and only while the ar archive is written (then it is renamed)
    from pydebvenv import builder

    out = tmp_path / "out"
    seen: dict[str, list[str]] = {}

    def snapshot(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            seen[name] = sorted(p.name for p in out.iterdir())
            return real(*args, **kwargs)
        return wrapped

    monkeypatch.setattr(builder, "build_app_wheel",
                        snapshot("app wheel", builder.build_app_wheel))
    monkeypatch.setattr(writer, "_data_tar", snapshot("data.tar", writer._data_tar))
    monkeypatch.setattr(writer, "write_deb_ar", snapshot("ar", writer.write_deb_ar))
    deb = _offline(_project(tmp_path, ["dep-one", "dep-two"]), _cache(tmp_path), out)
    assert seen["app wheel"] == [] and seen["data.tar"] == []
    (temporary,) = seen["ar"]
    assert temporary.startswith(".pydebvenv-") and temporary.endswith(".deb.tmp")
    assert sorted(p.name for p in out.iterdir()) == [deb.name]


def test_a_failing_build_closes_every_file(tmp_path: Path, scratch: Path,
                                           refused: list[str]) -> None:
    # the big member does not match RECORD: found mid-stream, after other members were read
    cache = _cache(tmp_path)
    (cache / "dep_one-1.0-py3-none-any.whl").unlink()
    make_wheel(cache, "dep-one", "1.0",
               files={"dep_one/__init__.py": "", "dep_one/blob.bin": BIG},
               record_override={"dep_one/blob.bin": record_hash(BIG[:-1] + b"X")})
    out = tmp_path / "out"
    with pytest.raises(WheelError, match=r"blob\.bin"):  # not the PermissionError of a cleanup
        _offline(_project(tmp_path, ["dep-one", "dep-two"]), cache, out)
    _assert_clean(out, scratch, refused, deb=None)


def test_an_interrupted_build_closes_every_file(tmp_path: Path, scratch: Path,
                                                refused: list[str],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    real = segments._add_file
    added: list[str] = []

    def interrupt_midway(tar: Any, entry: Any) -> Any:
        if entry.path.endswith("blob.bin"):
            raise KeyboardInterrupt  # Ctrl-C while the wheels are open and being read
        added.append(entry.path)
        return real(tar, entry)

    monkeypatch.setattr(segments, "_add_file", interrupt_midway)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        _offline(_project(tmp_path, ["dep-one", "dep-two"]), _cache(tmp_path), out)
    assert any("dep_one" in path for path in added)  # a zip of this wheel had been opened
    _assert_clean(out, scratch, refused, deb=None)


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIndex]:
    root = tmp_path_factory.mktemp("index")
    files = root / "files"
    files.mkdir()
    make_wheel(files, "dep-one", "1.0", files={"dep_one/__init__.py": "X = 1\n"})
    with serve_index(root) as idx:
        yield idx


def test_a_build_that_fetches_closes_every_file(tmp_path: Path, scratch: Path,
                                                refused: list[str], index: LocalIndex,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # pip runs in a staging directory inside the wheel cache, removed after the fetch
    for key, value in isolated_pip_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("PIP_CACHE_DIR", str(tmp_path / "pip-cache"))
    cache = tmp_path / "cache"
    out = tmp_path / "out"
    stream = io.StringIO()
    deb = pydebvenv.build(_project(tmp_path, ["dep-one"]), output_dir=out, target="debian-12",
                          arch="amd64", wheel_cache=cache, index_url=index.url,
                          compression="gzip", reporter=Reporter(stream))
    assert (cache / "dep_one-1.0-py3-none-any.whl").is_file()  # it did fetch
    assert "warning" not in stream.getvalue()
    assert sorted(p.name for p in cache.iterdir()) == ["dep_one-1.0-py3-none-any.whl"]
    _assert_clean(out, scratch, refused, deb=deb.name)


def test_a_cleanup_failure_after_a_good_build_is_one_warning(
    tmp_path: Path, scratch: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # something outside the build (a virus scanner, an editor) holds a file in the
    # scratch directory: the package stands, the exit code is 0, one line says what is left
    project = _project(tmp_path, ["dep-one"])
    cache = _cache(tmp_path)
    real_rmdir: Callable[..., Any] = os.rmdir

    def busy(path: Any, *args: Any, **kwargs: Any) -> Any:
        name = os.fsdecode(os.fspath(path))
        if os.path.basename(name).startswith("pydebvenv-") and "appwheel" not in name:
            raise PermissionError(13, "The process cannot access the file", name)
        return real_rmdir(path, *args, **kwargs)

    monkeypatch.setattr(os, "rmdir", busy)
    out = tmp_path / "out"
    code = main(["build", str(project), "-o", str(out), "--target", "debian-12", "--arch",
                 "amd64", "--offline", "--wheel-cache", str(cache), "--compression", "gzip"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert printed.err == ""
    (deb,) = out.glob("*.deb")
    assert pydebvenv.inspect(deb).control["Package"] == "handles"
    warnings = [line for line in printed.out.splitlines() if "warning" in line]
    assert len(warnings) == 1, printed.out
    (left,) = scratch.iterdir()
    assert f"could not remove the temporary directory {left}" in warnings[0]
    assert "delete it by hand" in warnings[0]
    assert printed.out.splitlines()[-1].startswith(f"built {deb}")


def test_zip_members_of_a_closed_layout_cannot_be_read(tmp_path: Path) -> None:
    # the layout owns the wheels its entries read: after close(), nothing reopens them
    from pydebvenv.target import get_target
    from pydebvenv.venv.layout import venv_entries

    wheel = make_wheel(tmp_path, "dep-one", "1.0", files={"dep_one/__init__.py": "X = 1\n"})
    with venv_entries("/usr/share/python/app", get_target("debian-12", "amd64"),
                      [wheel]) as layout:
        entry = next(e for e in layout.entries if e.path.endswith("dep_one/__init__.py"))
        with entry.open() as stream:
            assert stream.read() == b"X = 1\n"
        assert str(wheel) in open_paths()
    assert str(wheel) not in open_paths()
    with pytest.raises(ValueError):
        entry.open()
