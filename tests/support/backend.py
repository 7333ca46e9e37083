"""A tiny PEP 517 backend as source text: tests ship it in a wheel or in-tree.

It builds a pure wheel from [project] (name, version, description, maintainers,
dependencies, optional-dependencies; a console script named after the project), so the
application's own build needs nothing from an index.  With ``[tool.minibackend] wrapper =
true`` the wheel holds its .dist-info only: a wrapper with no code of its own.
"""

import json
from pathlib import Path

BACKEND = '''\
import base64, hashlib, pathlib, tomllib, zipfile

def get_requires_for_build_wheel(config_settings=None):
    return []

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    pyproject = tomllib.loads(pathlib.Path("pyproject.toml").read_text())
    project = pyproject["project"]
    wrapper = pyproject.get("tool", {}).get("minibackend", {}).get("wrapper", False)
    name, version = project["name"], project["version"]
    module = name.replace("-", "_")
    info = "%s-%s.dist-info" % (module, version)
    meta = "Metadata-Version: 2.1\\nName: %s\\nVersion: %s\\nSummary: %s\\n" % (
        name, version, project["description"])
    for person in project.get("maintainers", []):
        meta += "Maintainer-email: %s <%s>\\n" % (person["name"], person["email"])
    meta += "".join("Requires-Dist: %s\\n" % d for d in project.get("dependencies", []))
    for extra, deps in project.get("optional-dependencies", {}).items():
        meta += "Provides-Extra: %s\\n" % extra
        meta += "".join('Requires-Dist: %s ; extra == "%s"\\n' % (d, extra) for d in deps)
    files = {
        module + "/__init__.py": b"def main():\\n    print('hello from the app')\\n",
        info + "/METADATA": meta.encode(),
        info + "/WHEEL": b"Wheel-Version: 1.0\\nGenerator: t\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
        info + "/entry_points.txt": ("[console_scripts]\\n%s = %s:main\\n%s-extra = %s:main\\n"
                                     % (name, module, name, module)).encode(),
    }
    if wrapper:
        files = {k: v for k, v in files.items() if ".dist-info/" in k and "entry_points" not in k}
    record = ""
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record += "%s,sha256=%s,%d\\n" % (path, digest, len(data))
    files[info + "/RECORD"] = (record + info + "/RECORD,,\\n").encode()
    filename = "%s-%s-py3-none-any.whl" % (module, version)
    with zipfile.ZipFile(pathlib.Path(wheel_directory) / filename, "w") as zf:
        for path, data in files.items():
            zf.writestr(zipfile.ZipInfo(path, (2020, 1, 1, 0, 0, 0)), data)
    return filename
'''


def write_project(directory: Path, name: str, version: str, dependencies: list[str], *,
                  description: str = "a test application") -> Path:
    """A project in ``directory`` built by the in-tree BACKEND: pyproject.toml and backend.py."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "backend.py").write_text(BACKEND)
    (directory / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n\n'
        # JSON strings are TOML basic strings: quotes and control characters escaped
        f"[project]\nname = {json.dumps(name)}\nversion = {json.dumps(version)}\n"
        f"description = {json.dumps(description)}\n"
        f"dependencies = {json.dumps(dependencies)}\n"
        'maintainers = [{name = "T", email = "t@example.org"}]\n')
    return directory
