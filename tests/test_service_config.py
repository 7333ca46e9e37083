"""[[tool.pydebvenv.services]] / [[...timers]] tables -> UnitSpec (project/services.py,
project/unitfile.py): every key, every error naming the key and the file, the docs table."""

from __future__ import annotations

from pathlib import Path

import pytest

from pydebvenv.errors import ConfigError
from pydebvenv.project.config import load_config
from pydebvenv.project.keys import UNIT_KEYS, unit_keys_table
from pydebvenv.project.services import UnitSpec, unit_specs
from pydebvenv.project.unitfile import unit_directive, unit_file_problems

REPO = Path(__file__).resolve().parents[1]
FILE = "/p/pyproject.toml"

# One row per key: the table's TOML (as a dict) -> the UnitSpec field values it must give.
CASES: list[tuple[str, str, dict[str, object], dict[str, object]]] = [
    ("name", "services", {"name": "web"}, {"name": "web"}),
    ("exec", "services", {"exec": "  app --port 80 "}, {"exec": "app --port 80"}),
    ("user", "services", {"user": "_svc-1"}, {"user": "_svc-1"}),
    ("group", "services", {"group": "www-data"}, {"group": "www-data"}),
    ("home", "services", {"home": "/var/lib/app"}, {"home": "/var/lib/app"}),
    ("description", "services", {"description": "100% fun"}, {"description": "100% fun"}),
    ("documentation", "timers", {"documentation": "man:app(1)"},
     {"documentation": ("man:app(1)",)}),
    ("environment", "services", {"environment": {"LOG_LEVEL": "info debug"}},
     {"environment": {"LOG_LEVEL": "info debug"}}),
    ("environment-file", "services", {"environment-file": False}, {"environment_file": ""}),
    ("working-directory", "services", {"working-directory": "/srv/app"},
     {"working_directory": "/srv/app"}),
    ("state-directory", "services", {"state-directory": True},
     {"directories": {"StateDirectory": True}}),
    ("cache-directory", "services", {"cache-directory": "app"},
     {"directories": {"CacheDirectory": "app"}}),
    ("logs-directory", "timers", {"logs-directory": "app-job"},
     {"directories": {"LogsDirectory": "app-job"}}),
    ("runtime-directory", "services", {"runtime-directory": "app"},
     {"directories": {"RuntimeDirectory": "app"}}),
    ("after", "services", {"after": ["network-online.target", "postgresql.service"]},
     {"after": ("network-online.target", "postgresql.service")}),
    ("wants", "services", {"wants": "network-online.target"},
     {"wants": ("network-online.target",)}),
    ("hardening", "services", {"hardening": False}, {"hardening": False}),
    ("unit", "services", {"unit": {"Service": {"LimitNOFILE": "65536", "ExecStartPre": [
        "/bin/true", "/bin/true"]}}},
     {"unit": {"Service": {"LimitNOFILE": ("65536",), "ExecStartPre": ("/bin/true",
                                                                        "/bin/true")}}}),
    ("enable", "timers", {"enable": False}, {"enable": False}),
    ("type", "services", {"type": "notify"}, {"type": "notify"}),
    ("reload", "services", {"reload": "/bin/kill -HUP $MAINPID"},
     {"reload": "/bin/kill -HUP $MAINPID"}),
    ("restart", "services", {"restart": "always"}, {"restart": "always"}),
    ("wanted-by", "services", {"wanted-by": ["graphical.target"]},
     {"wanted_by": ("graphical.target",)}),
    ("start", "services", {"start": False}, {"start": False}),
    ("restart-on-upgrade", "services", {"restart-on-upgrade": False},
     {"restart_on_upgrade": False}),
    ("unit-file", "services", {"unit-file": "deploy/app.service"},
     {"unit_file": "deploy/app.service", "name": "app", "exec": None}),
    ("on-calendar", "timers", {"on-calendar": ["Mon *-*-* 04:00", "daily"]},
     {"on_calendar": ("Mon *-*-* 04:00", "daily")}),
    ("persistent", "timers", {"persistent": False}, {"persistent": False}),
    ("randomized-delay", "timers", {"randomized-delay": "15min"},
     {"randomized_delay": "15min"}),
]
UNIT = "[Unit]\nDescription=x\n\n[Service]\nUser=app\nExecStart=/usr/bin/app\n"


def _spec(table: str, item: dict[str, object], root: Path) -> UnitSpec:
    base: dict[str, object] = {"exec": "app"} if "unit-file" not in item else {}
    if table == "timers":
        base["on-calendar"] = "daily"
    (specs,) = [unit_specs(table, [{**base, **item}], FILE, root)]  # type: ignore[arg-type]
    assert len(specs) == 1
    return specs[0]


def test_every_key_has_a_case() -> None:
    assert sorted(c[0] for c in CASES) == sorted(k.toml for k in UNIT_KEYS)


@pytest.mark.parametrize(("key", "table", "item", "fields"), CASES, ids=[c[0] for c in CASES])
def test_key_reaches_the_spec(tmp_path: Path, key: str, table: str, item: dict[str, object],
                              fields: dict[str, object]) -> None:
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "app.service").write_text(UNIT)
    spec = _spec(table, item, tmp_path)
    for name, value in fields.items():
        assert getattr(spec, name) == value, name
    default = _spec(table, {}, tmp_path)
    assert any(getattr(default, n) != v for n, v in fields.items()), "the default already gives it"


def test_defaults_and_where(tmp_path: Path) -> None:
    spec = _spec("services", {}, tmp_path)
    assert spec == UnitSpec("service", "tool.pydebvenv.services[0]", FILE, exec="app")
    assert (spec.type, spec.restart, spec.wanted_by, spec.after) == (
        "simple", "on-failure", ("multi-user.target",), None)
    assert (spec.enable, spec.start, spec.restart_on_upgrade, spec.hardening) == (
        True, True, True, True)
    timer = _spec("timers", {}, tmp_path)
    assert (timer.kind, timer.where, timer.persistent) == ("timer", "tool.pydebvenv.timers[0]",
                                                           True)
    # keyword arguments of build(): no file, and a UnitSpec passes through
    assert unit_specs("services", [{"exec": "app"}], None, tmp_path)[0].where == "services[0]"
    assert unit_specs("services", [spec], None, tmp_path) == (spec,)


def test_unit_file_gives_its_text(tmp_path: Path) -> None:
    (tmp_path / "app.service").write_text(UNIT)
    spec = _spec("services", {"unit-file": "app.service", "name": "web", "enable": False},
                 tmp_path)
    assert (spec.name, spec.unit_text, spec.enable) == ("web", UNIT, False)
    assert unit_directive(UNIT, "Service", "User") == "app"
    assert unit_directive(UNIT, "Unit", "User") is None


def test_from_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[[tool.pydebvenv.services]]\nexec = "app"\n\n[[tool.pydebvenv.services]]\n'
        'name = "two"\nexec = "app --two"\n\n[[tool.pydebvenv.timers]]\nname = "job"\n'
        'exec = "app-job"\non-calendar = "hourly"\n')
    opts = load_config(tmp_path).options
    assert [s.where for s in opts.services] == ["tool.pydebvenv.services[0]",
                                                "tool.pydebvenv.services[1]"]
    assert opts.services[1].exec == "app --two"
    assert opts.timers[0].file == str(tmp_path / "pyproject.toml")


# (what, table, item, the message after "tool.pydebvenv.<table>[0]")
ERRORS: list[tuple[str, str, dict[str, object], str]] = [
    ("no exec", "services", {"name": "web"},
     ".exec in FILE is missing: write the command that runs it, e.g. exec = "
     '"myapp-serve --port 8080" (a console script of the venv or an absolute path)'),
    ("timer without on-calendar", "timers", {"exec": "app"},
     ".on-calendar in FILE is missing: say when the job runs, e.g. on-calendar = \"daily\" "
     'or "*-*-* 04:00:00" (systemd.time(7))'),
    ("invalid user", "services", {"exec": "app", "user": "Web User"},
     ".user in FILE: 'Web User' is not a valid system user name: use at most 32 of a-z 0-9 _ "
     "-, starting with a letter or _ (adduser(8) SYS_NAME_REGEX)"),
    ("long user", "services", {"exec": "app", "group": "g" * 33},
     f".group in FILE: '{'g' * 33}' is not a valid system group name: use at most 32 of a-z "
     "0-9 _ -, starting with a letter or _ (adduser(8) SYS_NAME_REGEX)"),
    ("unit name", "services", {"exec": "app", "name": "web.service"},
     ".name in FILE: 'web.service' is not a unit name: use letters, digits and ':_.-' "
     'without the .service suffix, e.g. "myapp"'),
    ("unknown key", "services", {"exec": "app", "restart_on_upgrade": False},
     " in FILE: unknown key 'restart_on_upgrade': did you mean 'restart-on-upgrade'?"),
    ("service key in a timer", "timers", {"exec": "app", "on-calendar": "daily",
                                          "wanted-by": "x.target"},
     " in FILE: 'wanted-by' is a key of [[tool.pydebvenv.services]] only"),
    ("prefix", "services", {"exec": "-app"},
     ".exec in FILE: '-app' starts with a systemd prefix or a quote: start with the command "
     "(a console script of the venv or an absolute path); raw ExecStart= lines go in `unit`"),
    ("home", "services", {"exec": "app", "home": "/home/app"},
     ".home in FILE: '/home/app' is under /home: a system user's home lives elsewhere "
     "(/var/lib/myapp); the services cannot see /home (ProtectHome=yes)"),
    ("relative working dir", "services", {"exec": "app", "working-directory": "srv"},
     ".working-directory in FILE: 'srv' must be an absolute, normalised directory such as "
     "'/var/lib/myapp'"),
    ("directory", "services", {"exec": "app", "state-directory": "a/b"},
     ".state-directory in FILE: 'a/b' must be one directory name such as 'myapp' (or true "
     "for the unit's name)"),
    ("type", "services", {"exec": "app", "type": "daemon"},
     ".type in FILE: unknown service type 'daemon': use one of simple, exec, forking, "
     "oneshot, notify, idle"),
    ("restart", "services", {"exec": "app", "restart": "yes"},
     ".restart in FILE: unknown Restart= value 'yes': use one of no, on-success, on-failure, "
     "on-abnormal, on-watchdog, on-abort, always"),
    ("environment", "services", {"exec": "app", "environment": {"A B": "x"}},
     ".environment in FILE: 'A B' = 'x' is not a variable name (letters, digits, _) with a "
     "one-line value"),
    ("unit section", "timers", {"exec": "app", "on-calendar": "daily",
                                "unit": {"Install": {"WantedBy": "x"}}},
     ".unit in FILE: section 'Install' is not one of Service, Timer: write e.g. { Service = "
     '{ LimitNOFILE = "65536" } }'),
    ("boolean", "services", {"exec": "app", "enable": "yes"},
     ".enable in FILE must be true or false, not 'yes'"),
    ("relative unit-file", "services", {"unit-file": "rel.service"},
     ".unit-file in FILE: 'rel.service': ExecStart=app --serve runs 'app' by a relative name: "
     "write its absolute path (the venv's bin/ for its commands)"),
    ("missing unit-file", "services", {"unit-file": "none.service"},
     ".unit-file in FILE: cannot read 'ROOT/none.service' (No such file or directory); give "
     "a unit file relative to pyproject.toml"),
    ("exec beside unit-file", "services", {"unit-file": "ok.service", "exec": "app"},
     ".exec in FILE: with unit-file, the unit file says this; set it there (only name, home, "
     "enable, start and restart-on-upgrade go beside unit-file)"),
    ("unit-file nested directory", "services", {"unit-file": "nested.service"},
     ".unit-file in FILE: StateDirectory=app/db is not one directory name; pydebvenv removes "
     "only single names on purge"),
]


@pytest.mark.parametrize(("table", "item", "message"), [e[1:] for e in ERRORS],
                         ids=[e[0] for e in ERRORS])
def test_errors_name_the_key_and_the_file(tmp_path: Path, table: str, item: dict[str, object],
                                          message: str) -> None:
    (tmp_path / "rel.service").write_text("[Service]\nExecStart=app --serve\n")
    (tmp_path / "ok.service").write_text(UNIT)
    (tmp_path / "nested.service").write_text(UNIT + "StateDirectory=app/db\n")
    with pytest.raises(ConfigError) as info:
        unit_specs(table, [item], FILE, tmp_path)  # type: ignore[arg-type]
    text = str(info.value).replace(repr(FILE), "FILE").replace(str(tmp_path), "ROOT")
    assert text == f"tool.pydebvenv.{table}[0]{message}"


def test_not_a_list(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^tool.pydebvenv.services in '/p/pyproject.toml' "
                       r"must be a list of tables, not \{'exec': 'app'\}"):
        unit_specs("services", {"exec": "app"}, FILE, tmp_path)


def test_unit_file_problems() -> None:
    assert unit_file_problems(UNIT) == []
    assert unit_file_problems("[Unit]\nDescription=x\n") == [
        "it has no ExecStart= in a [Service] section"]
    # systemd's prefixes are not part of the command; continuation lines are joined
    assert unit_file_problems("[Service]\nExecStart=-/usr/bin/app \\\n  --x\n"
                              "ExecStartPre=!mkdir /x\n") == [
        "ExecStartPre=!mkdir /x runs 'mkdir' by a relative name: write its absolute path "
        "(the venv's bin/ for its commands)"]


def test_docs_hold_the_unit_key_table() -> None:
    text = (REPO / "docs" / "services.md").read_text(encoding="utf-8")
    assert unit_keys_table() in text, (
        "docs/services.md is out of date: replace its key table with the output of\n"
        "python -c 'from pydebvenv.project.keys import unit_keys_table as t; print(t())'")
