"""The modules of benchapp's direct dependencies, which `benchapp check` imports.

bench_venv.py rewrites this list with the dependency set it builds (10, 40 or 150
distributions); this is the 40-distribution set of requirements.txt.
"""

MODULES = [
    "aiohttp", "boto3", "click", "cryptography", "jinja2", "msgpack", "orjson", "pydantic",
    "yaml", "requests", "rich", "sqlalchemy", "tenacity", "wrapt",
]
