"""The bundled list: a valid PEP 751 lock and a valid CycloneDX 1.6 SBOM, reproducible, in every
package built, matching the venv, shown by inspect."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import replace
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from packageurl import PackageURL
from packaging.pylock import Pylock

import pydebvenv
from pydebvenv.cli import main
from pydebvenv.debian.bom import (
    BundledWheel,
    BundleInputs,
    format_bundled,
    read_bundled,
    render_cyclonedx,
    render_pylock,
)
from pydebvenv.target import get_target
from tests.support.backend import write_project
from tests.support.wheelmaker import make_wheel

EPOCH = 1_700_000_000
WHEELS = (
    BundledWheel("zeta-lib", "2.0", "zeta_lib-2.0-py3-none-any.whl", 1234, "a" * 64,
                 license_expression="MIT OR Apache-2.0"),
    BundledWheel("alpha", "1.0+local.1", "alpha-1.0+local.1-cp311-cp311-manylinux_2_17_x86_64"
                 ".whl", 99, "b" * 64, license_name="BSD"),
    BundledWheel("plain", "0.1", "plain-0.1-py3-none-any.whl", 7, "c" * 64),
)


def _bundle(**changes: object) -> BundleInputs:
    bundle = BundleInputs(package="myapp", version="1:2.0-1", architecture="amd64",
                          target=get_target("debian-12", "amd64"),
                          venv="/usr/share/python/myapp", wheels=WHEELS, tool_version="0.1.0")
    return replace(bundle, **changes)  # type: ignore[arg-type]


def test_pylock_is_a_valid_pep751_lock() -> None:
    text = render_pylock(_bundle())
    lock = Pylock.from_dict(tomllib.loads(text))  # packaging's validator of the spec
    assert [(p.name, str(p.version)) for p in lock.packages] == [
        ("alpha", "1.0+local.1"), ("plain", "0.1"), ("zeta-lib", "2.0")]
    wheel = lock.packages[0].wheels[0]  # type: ignore[index]
    assert (wheel.filename, wheel.size, dict(wheel.hashes)) == (WHEELS[1].filename, 99,
                                                               {"sha256": "b" * 64})
    assert lock.created_by == "pydebvenv"
    assert lock.requires_python is not None and "3.11.2" in lock.requires_python
    env = {"sys_platform": "linux", "platform_machine": "x86_64",
           "implementation_name": "cpython", "python_full_version": "3.11.2"}
    assert lock.environments is not None and lock.environments[0].evaluate(env)
    assert not lock.environments[0].evaluate({**env, "platform_machine": "aarch64"})
    assert tomllib.loads(text)["tool"]["pydebvenv"] == {
        "package": "myapp", "version": "1:2.0-1", "architecture": "amd64",
        "target": "debian-12/amd64", "venv": "/usr/share/python/myapp"}


def test_sbom_is_valid_cyclonedx_1_6() -> None:
    bundle = _bundle()
    sbom = render_cyclonedx(bundle, render_pylock(bundle), EPOCH)
    validator = JsonStrictValidator(SchemaVersion.V1_6)
    assert validator.validate_str(sbom) is None
    assert validator.validate_str(sbom.replace('"library"', '"libary"')) is not None
    data = json.loads(sbom)
    assert data["metadata"]["timestamp"] == "2023-11-14T22:13:20Z"
    assert [c["name"] for c in data["components"]] == ["alpha", "plain", "zeta-lib"]
    assert data["components"][0]["hashes"] == [{"alg": "SHA-256", "content": "b" * 64}]
    assert data["components"][0]["licenses"] == [{"license": {"name": "BSD"}}]
    assert data["components"][2]["licenses"] == [{"expression": "MIT OR Apache-2.0"}]
    assert "licenses" not in data["components"][1]
    refs = [c["bom-ref"] for c in data["components"]]
    assert data["dependencies"][0] == {"ref": data["metadata"]["component"]["bom-ref"],
                                       "dependsOn": refs}


def test_purls_are_well_formed() -> None:
    bundle = _bundle()
    data = json.loads(render_cyclonedx(bundle, render_pylock(bundle), EPOCH))
    alpha = PackageURL.from_string(data["components"][0]["purl"])
    assert (alpha.type, alpha.name, alpha.version) == ("pypi", "alpha", "1.0+local.1")
    assert alpha.qualifiers == {"file_name": WHEELS[1].filename}
    deb = PackageURL.from_string(data["metadata"]["component"]["purl"])
    assert (deb.type, deb.namespace, deb.name, deb.version) == ("deb", "debian", "myapp",
                                                                "1:2.0-1")
    assert deb.qualifiers == {"arch": "amd64", "distro": "bookworm"}


def test_reproducible_with_a_serial_number_derived_from_the_content() -> None:
    bundle = _bundle()
    first = render_cyclonedx(bundle, render_pylock(bundle), EPOCH)
    assert render_cyclonedx(bundle, render_pylock(bundle), EPOCH) == first
    assert render_pylock(_bundle(wheels=tuple(reversed(WHEELS)))) == render_pylock(bundle)
    other = _bundle(wheels=(*WHEELS[:2], replace(WHEELS[2], sha256="d" * 64)))
    changed = render_cyclonedx(other, render_pylock(other), EPOCH)
    serial = re.compile(r'"serialNumber": "urn:uuid:([0-9a-f-]{36})"')
    uuids = {serial.search(text).group(1) for text in (first, changed)}  # type: ignore[union-attr]
    assert len(uuids) == 2
    assert all(u[14] == "5" for u in uuids)  # RFC 9562 version 5: name-based, not random


# --- in a built package -----------------------------------------------------------------


@pytest.fixture
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """(the .deb, the wheel cache) of a small app with two dependencies, built offline."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(EPOCH))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    cache = tmp_path / "cache"
    cache.mkdir()
    make_wheel(cache, "dep-one", "1.0", requires=["dep-two>=2"], license_expression="MIT")
    make_wheel(cache, "dep-two", "2.5")
    project = write_project(tmp_path / "proj", "bomapp", "3.1", ["dep-one"])
    deb = pydebvenv.build(project, output_dir=tmp_path / "out", target="debian-12",
                          arch="amd64", offline=True, wheel_cache=cache)
    return deb, cache


def test_every_build_carries_the_list_of_what_its_venv_holds(
        built: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    deb, cache = built
    info = pydebvenv.inspect(deb)
    text = info.contents["usr/share/doc/bomapp/pylock.toml"]
    listed = read_bundled(text, "pylock.toml")
    assert [(w.name, w.version) for w in listed] == [
        ("bomapp", "3.1"), ("dep-one", "1.0"), ("dep-two", "2.5")]
    for wheel in listed[1:]:  # the cache's files, by name, size and hash
        path = cache / wheel.filename
        assert (path.stat().st_size, hashlib.sha256(path.read_bytes()).hexdigest()) == (
            wheel.size, wheel.sha256)
    # what the venv holds: one .dist-info directory per listed distribution, same versions
    site = "./usr/share/python/bomapp/lib/python3.11/site-packages/"
    dist_info = sorted(e.path[len(site):-len(".dist-info/")] for e in info.files
                       if e.path.startswith(site) and e.path.endswith(".dist-info/"))
    assert dist_info == ["bomapp-3.1", "dep_one-1.0", "dep_two-2.5"]
    sbom = info.files[[e.path for e in info.files].index(
        "./usr/share/doc/bomapp/sbom.cdx.json")]
    assert sbom.mode == 0o644
    assert main(["inspect", str(deb)]) == 0
    out = capsys.readouterr().out
    assert "bundled (3, from /usr/share/doc/bomapp/pylock.toml):\n bomapp 3.1 " in out
    assert f"sha256:{listed[2].sha256}\n" in out
    assert format_bundled(info.contents) in out
