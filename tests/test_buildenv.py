"""Build environments from the wheel cache: keyed by their wheels, verified before reuse."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from pydebvenv.acquire.buildenv import HostPython, make_env, plan_env
from pydebvenv.errors import BuildError
from tests.support import wheelmaker

HOST = HostPython.current()


def _cache(tmp_path: Path, version: str = "1.0") -> Path:
    cache = tmp_path / "wheels"
    cache.mkdir(exist_ok=True)
    wheelmaker.make_wheel(cache, "tiny-backend", version, requires=["tiny-helper>=2"],
                          files={"tiny_backend/__init__.py": f"VERSION = {version!r}\n"})
    wheelmaker.make_wheel(cache, "tiny-helper", "2.0",
                          files={"tiny_helper/__init__.py": "HELP = 'yes'\n"})
    return cache


def _run(python: Path, code: str) -> str:
    return subprocess.run([str(python), "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_made_once_from_the_cache_then_reused(tmp_path: Path) -> None:
    plan = plan_env(["tiny-backend"], _cache(tmp_path), HOST)
    assert [w.filename for w in plan.wheels] == ["tiny_backend-1.0-py3-none-any.whl",
                                                 "tiny_helper-2.0-py3-none-any.whl"]
    envs = tmp_path / "envs"
    env = make_env(plan, envs, HOST)
    assert env.path == envs / plan.key
    # the backend and what it requires import, and nothing of the caller's site-packages
    assert _run(env.python, "import tiny_backend, tiny_helper; print(tiny_backend.VERSION, "
                "tiny_helper.HELP)") == "1.0 yes"
    assert _run(env.python, "import importlib.util as u; print(u.find_spec('pytest'))") == "None"
    marker = env.path / "pydebvenv-build-env.json"
    inode = marker.stat().st_ino
    again = make_env(plan_env(["tiny-backend"], tmp_path / "wheels", HOST), envs, HOST)
    assert again == env and marker.stat().st_ino == inode  # the same directory, not remade
    assert [p.name for p in envs.iterdir()] == [plan.key]


def test_another_backend_version_is_another_environment(tmp_path: Path) -> None:
    first = plan_env(["tiny-backend"], _cache(tmp_path), HOST)
    second = plan_env(["tiny-backend"], _cache(tmp_path, "1.1"), HOST)  # now in the cache too
    assert second.key != first.key
    assert plan_env(["tiny-backend<1.1"], tmp_path / "wheels", HOST).key == first.key
    env = make_env(second, tmp_path / "envs", HOST)
    assert _run(env.python, "import tiny_backend; print(tiny_backend.VERSION)") == "1.1"


@pytest.mark.parametrize("damage", ["edit", "delete", "add a .pth", "lose the manifest"])
def test_a_modified_environment_is_made_again(tmp_path: Path, damage: str) -> None:
    plan = plan_env(["tiny-backend"], _cache(tmp_path), HOST)
    env = make_env(plan, tmp_path / "envs", HOST)
    module = next(env.path.rglob("tiny_backend/__init__.py"))
    if damage == "edit":
        module.write_text("VERSION = 'tampered'\n")
    elif damage == "delete":
        module.unlink()
    elif damage == "add a .pth":
        (module.parent.parent / "evil.pth").write_text("import os\n")
    else:
        (env.path / "pydebvenv-build-env.json").unlink()
    again = make_env(plan, tmp_path / "envs", HOST)
    assert _run(again.python, "import tiny_backend; print(tiny_backend.VERSION)") == "1.0"
    assert not list(again.path.rglob("evil.pth"))


def test_offline_a_missing_backend_says_to_fetch(tmp_path: Path) -> None:
    with pytest.raises(BuildError) as info:
        plan_env(["tiny-backend>=5"], _cache(tmp_path), HOST)
    message = str(info.value)
    assert "tiny-backend>=5" in message and str(tmp_path / "wheels") in message
    # one line, and the remedy said once
    assert "\n" not in message and message.count("pydebvenv fetch") == 1


def test_online_the_missing_backend_is_fetched_first(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    asked: list[list[str]] = []

    def fetch(requirements: Sequence[str]) -> None:
        asked.append(list(requirements))
        wheelmaker.make_wheel(cache, "tiny-backend", "5.0", requires=["tiny-helper"])

    plan = plan_env(["tiny-backend>=5"], cache, HOST, fetch_missing=fetch)
    assert asked == [["tiny-backend>=5"]]
    assert plan.wheels[0].filename == "tiny_backend-5.0-py3-none-any.whl"


def test_a_resolution_is_remembered_while_the_wheel_cache_is_unchanged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pydebvenv.acquire import buildenv

    cache = _cache(tmp_path)
    memo = tmp_path / "plans.json"
    calls: list[int] = []
    real = buildenv.resolve
    monkeypatch.setattr(buildenv, "resolve", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = plan_env(["tiny-backend"], cache, HOST, memo=memo)
    again = plan_env(["tiny-backend"], cache, HOST, memo=memo)
    assert len(calls) == 1 and again.key == first.key
    assert [w.filename for w in again.wheels] == [w.filename for w in first.wheels]
    assert plan_env(["tiny-helper"], cache, HOST, memo=memo).key != first.key  # other reqs
    assert len(calls) == 2
    _cache(tmp_path, "1.1")  # a newer backend arrives: the cache changed, resolved again
    newer = plan_env(["tiny-backend"], cache, HOST, memo=memo)
    assert len(calls) == 3 and newer.key != first.key
    helper = next(cache.glob("tiny_helper-*.whl"))
    os.utime(helper, ns=(1, 1))  # the same name, another file
    plan_env(["tiny-backend"], cache, HOST, memo=memo)
    assert len(calls) == 4
    memo.write_text("{damaged")
    assert plan_env(["tiny-backend"], cache, HOST, memo=memo).key == newer.key
    assert len(calls) == 5
