"""Requirements files: the pip subset pydebvenv accepts, and errors that name file:line."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.requirements import Requirement

from pydebvenv.errors import ConfigError
from pydebvenv.project.requirements import (
    RequirementSpec,
    RequirementsSet,
    parse_requirements_files,
    requirement_specs,
)

H1 = "sha256:" + "a" * 64
H2 = "sha256:" + "b" * 64


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def names(specs: tuple[RequirementSpec, ...]) -> list[str]:
    return [str(s.requirement) for s in specs]


def test_requirements_with_extras_markers_pins_comments(tmp_path: Path) -> None:
    req = write(
        tmp_path / "requirements.txt",
        "# a comment\n"
        "\n"
        "click==8.1.7  # pinned\n"
        "Flask[async,dotenv] >=3.0,<4\n"
        'colorama; sys_platform == "win32"\n'
        'typing-extensions>=4 ; python_version < "3.12"\n',
    )
    result = parse_requirements_files([req])
    assert names(result.requirements) == [
        "click==8.1.7",
        "Flask[async,dotenv]<4,>=3.0",
        'colorama; sys_platform == "win32"',
        'typing-extensions>=4; python_version < "3.12"',
    ]
    assert [s.source for s in result.requirements] == [
        f"{req.as_posix()}:3",
        f"{req.as_posix()}:4",
        f"{req.as_posix()}:5",
        f"{req.as_posix()}:6",
    ]
    assert result.constraints == ()
    assert result.requirements[1].requirement.extras == {"async", "dotenv"}


def test_hashes_with_line_continuations(tmp_path: Path) -> None:
    req = write(
        tmp_path / "requirements.txt",
        "click==8.1.7 \\\n"
        f"    --hash={H1} \\\n"
        f"    --hash {H2.upper().replace('SHA256', 'sha256')}\n"
        "    # via app\n"
        f'six==1.16 ; python_version >= "3" --hash={H1}\n',
    )
    result = parse_requirements_files([req])
    click, six = result.requirements
    assert click.hashes == frozenset({H1, H2})
    assert click.source.endswith("requirements.txt:1")
    assert str(six.requirement) == 'six==1.16; python_version >= "3"'
    assert six.hashes == frozenset({H1})
    assert six.source.endswith("requirements.txt:5")


def test_includes_and_constraints_are_relative_to_the_file(tmp_path: Path) -> None:
    write(tmp_path / "reqs" / "base.txt", "click\n-c ../constraints/c.txt\n")
    write(tmp_path / "constraints" / "c.txt", "click<9\n-r more.txt\n")
    write(tmp_path / "constraints" / "more.txt", "six==1.16\n")
    main = write(tmp_path / "reqs" / "main.txt", "-r base.txt\n--requirement=extra.txt\n")
    write(tmp_path / "reqs" / "extra.txt", "flask\n")
    result = parse_requirements_files([main])
    assert names(result.requirements) == ["click", "flask"]
    # "-r" inside a constraints file adds constraints, not requirements (as in pip)
    assert names(result.constraints) == ["click<9", "six==1.16"]
    assert (
        result.constraints[0].source == f"{(tmp_path / 'reqs/../constraints/c.txt').as_posix()}:1"
    )


def test_index_options(tmp_path: Path) -> None:
    req = write(
        tmp_path / "requirements.txt",
        "--index-url https://index.example/simple\n"
        "-i https://mirror.example/simple\n"
        "--extra-index-url=https://extra.example/simple\n"
        "--extra-index-url https://extra.example/simple\n"
        "-f wheels\n"
        "--find-links https://links.example/\n"
        "--no-index\n"
        "click\n",
    )
    result = parse_requirements_files([req])
    assert result == RequirementsSet(
        requirements=result.requirements,
        constraints=(),
        index_url="https://mirror.example/simple",  # the last one wins
        extra_index_urls=("https://extra.example/simple",),
        find_links=(str(tmp_path / "wheels"), "https://links.example/"),
        no_index=True,
    )


def test_several_files_in_order(tmp_path: Path) -> None:
    a = write(tmp_path / "a.txt", "click\n")
    b = write(tmp_path / "b.txt", "six\n")
    assert names(parse_requirements_files([a, b]).requirements) == ["click", "six"]
    assert parse_requirements_files([]) == RequirementsSet()


@pytest.mark.parametrize(
    ("text", "lineno", "fragment"),
    [
        ("click\n-e .\n", 2, "'-e'"),
        ("click\n\n--pre\n", 3, "'--pre'"),
        ("--trusted-host example\n", 1, "'--trusted-host'"),
        ("click==1 --install-option=x\n", 1, "'--install-option=x'"),
        ("click==1 --hash=md5:abc\n", 1, "'md5:abc'"),
        ("click==1 --hash=sha256:abc\n", 1, "'sha256:abc'"),
        ("click===\n", 1, "'click==='"),
        ("./local/project\n", 1, "'./local/project'"),
        ("app @ https://example.org/app-1.0-py3-none-any.whl\n", 1, "URL"),
        ("# c\nclick \\\n  >=1\nbad requirement here\n", 4, "'bad requirement here'"),
        ("-r\n", 1, "needs a value"),
        ("--no-index yes\n", 1, "takes no value"),
    ],
)
def test_errors_name_the_file_and_line(
    tmp_path: Path, text: str, lineno: int, fragment: str
) -> None:
    req = write(tmp_path / "requirements.txt", text)
    with pytest.raises(ConfigError) as info:
        parse_requirements_files([req])
    message = str(info.value)
    assert f"requirements.txt:{lineno}" in message
    assert fragment in message
    assert "\n" not in message


def test_missing_include_names_the_including_line(tmp_path: Path) -> None:
    req = write(tmp_path / "requirements.txt", "click\n-r nope.txt\n")
    with pytest.raises(ConfigError, match=r"nope\.txt.*requirements\.txt:2"):
        parse_requirements_files([req])


def test_include_cycle_is_refused(tmp_path: Path) -> None:
    a = write(tmp_path / "a.txt", "-r b.txt\n")
    write(tmp_path / "b.txt", "-r a.txt\n")
    with pytest.raises(ConfigError, match="includes itself"):
        parse_requirements_files([a])


def test_the_same_file_twice_is_not_a_cycle(tmp_path: Path) -> None:
    write(tmp_path / "common.txt", "six\n")
    a = write(tmp_path / "a.txt", "-r common.txt\n-c common.txt\n")
    result = parse_requirements_files([a])
    assert names(result.requirements) == ["six"]
    assert names(result.constraints) == ["six"]


def test_hash_in_comment_is_not_an_option(tmp_path: Path) -> None:
    req = write(tmp_path / "r.txt", f"click  # --hash={H1}\n")
    (spec,) = parse_requirements_files([req]).requirements
    assert spec.hashes == frozenset()


def test_requirement_specs_from_pyproject() -> None:
    specs = requirement_specs(
        ["click>=8", 'uvloop; sys_platform == "linux"'], "pyproject.toml [project.dependencies]"
    )
    assert specs == (
        RequirementSpec(
            Requirement("click>=8"), frozenset(), "pyproject.toml [project.dependencies]"
        ),
        RequirementSpec(
            Requirement('uvloop; sys_platform == "linux"'),
            frozenset(),
            "pyproject.toml [project.dependencies]",
        ),
    )
    with pytest.raises(ConfigError, match=r"pyproject\.toml \[project\.dependencies\].*'click>'"):
        requirement_specs(["click>"], "pyproject.toml [project.dependencies]")


def test_values_are_frozen(tmp_path: Path) -> None:
    (spec,) = requirement_specs(["click"], "x")
    with pytest.raises(AttributeError):
        spec.hashes = frozenset({H1})  # type: ignore[misc]


def test_windows_editors_bom_and_crlf(tmp_path: Path) -> None:
    (tmp_path / "more.txt").write_bytes(b"six\r\n")
    req = tmp_path / "requirements.txt"
    req.write_bytes(
        b"\xef\xbb\xbfclick==8.1.7 \\\r\n  --hash=" + H1.encode() + b"\r\n-rmore.txt\r\n"
    )
    click, six = parse_requirements_files([req]).requirements
    assert str(click.requirement) == "click==8.1.7"
    assert click.hashes == frozenset({H1})
    assert str(six.requirement) == "six"
