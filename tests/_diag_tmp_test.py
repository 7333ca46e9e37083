from pathlib import Path
from pydebvenv.fetch import fetch_requirements
from pydebvenv.requirements import requirement_specs
from pydebvenv.target import get_target
from tests.support.wheelmaker import make_wheel

def test_diag(tmp_path: Path) -> None:
    (tmp_path / "idx").mkdir()
    make_wheel(tmp_path / "idx", "topapp", version="1.0")
    app = make_wheel(tmp_path, "myapp", requires=["topapp"])
    lines: list[str] = []
    try:
        fetch_requirements(requirement_specs([], "t"), target=get_target("debian-12", "arm64"),
                           cache=tmp_path / "c", local_wheels=[app],
                           find_links=[str(tmp_path / "idx")], reporter=lines.append)
    finally:
        print("\n".join(lines))
