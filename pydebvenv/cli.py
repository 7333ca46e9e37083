"""The command line: parse arguments, make one library call, turn errors into one line and a code.

The option flags of ``build`` and ``fetch`` come from ``keys.KEYS`` (the rows with a
CLI flag), so a flag and its [tool.pydebvenv] key cannot drift apart.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydebvenv import __version__
from pydebvenv.errors import PydebvenvError
from pydebvenv.project.keys import KEYS, Key
from pydebvenv.redact import redact
from pydebvenv.report import NORMAL, QUIET, Reporter

__all__ = ["main", "make_parser"]

EXIT_CODES = """\
exit codes:
  0    success
  1    the build (or fetch, inspection, publish) failed
  2    usage or configuration error (bad flag, pyproject.toml, requirements file, target)
  130  interrupted (Ctrl-C, SIGINT)
  143  terminated (SIGTERM)"""

EXAMPLES = """\
examples:
  pydebvenv init                          add [tool.pydebvenv] to ./pyproject.toml
  pydebvenv fetch --target debian-12 --arch arm64
                                          download the wheels a Debian 12 arm64 venv needs
  pydebvenv build -o dist                 build ./ into dist/<name>_<version>_<arch>.deb
  pydebvenv build --target ubuntu-24.04 --offline -r requirements.txt path/to/project
  pydebvenv build --from httpie==3.2.4 --target debian-12 -o dist
                                          package a published tool, no project needed
  pydebvenv inspect dist/myapp_1.0-1+deb12_amd64.deb
  pydebvenv publish --sign-key ops@example.org /srv/apt dist/myapp_1.0-1+deb12_amd64.deb
                                          add it to the signed APT repository in /srv/apt
  pydebvenv diff myapp_1.0-1+deb12_amd64.deb myapp_1.1-1+deb12_amd64.deb
                                          what deploying 1.1 over 1.0 changes
"""

# The keys `fetch` understands (the rest only matter when the package is written).
_FETCH_KEYS = ("target", "arch", "wheel-cache", "requirements", "extras", "index-url",
               "extra-index-urls", "find-links", "include-pip")


def _add_key(parser: argparse.ArgumentParser, key: Key) -> None:
    assert key.flag is not None
    names = key.flag.split("/")
    help_text = f"{key.meaning} ([tool.pydebvenv] {key.toml}; default: {key.default})"
    help_text = help_text.replace("%", "%%")
    if key.type == "boolean":
        parser.add_argument(*names, dest=key.attr, action="store_true", default=None,
                            help=help_text)
    elif key.type in ("list of strings", "list of paths"):
        parser.add_argument(*names, dest=key.attr, action="append", metavar="VALUE",
                            help=help_text + " (repeatable)")
    else:
        parser.add_argument(*names, dest=key.attr, metavar=key.attr.upper(), help=help_text)


def _add_from(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="from_", action="append", metavar="REQUIREMENT",
                        help="a published distribution to package instead of a project "
                             "(PEP 508: 'httpie', 'black[d]==24.10.0'); repeatable, the first "
                             "names the package")


def _common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    default: Any = 0 if top else argparse.SUPPRESS
    parser.add_argument("-v", "--verbose", action="count", default=default,
                        help="say more; show the traceback of errors")
    parser.add_argument("-q", "--quiet", action="count", default=default,
                        help="print only errors and the final path")


def make_parser() -> argparse.ArgumentParser:
    """The argparse parser of ``pydebvenv`` and its subcommands."""
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="pydebvenv",
        description="Build Debian packages (.deb) that carry a Python application in a "
                    "virtualenv, from wheels for a target release and architecture.",
        epilog=EXAMPLES + "\n" + EXIT_CODES, formatter_class=formatter,
    )
    parser.add_argument("--version", action="version", version=f"pydebvenv {__version__}")
    _common(parser, top=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    build = commands.add_parser(
        "build", help="build the project's .deb", formatter_class=formatter,
        description="Build PROJECT_DIR's application into a .deb. Flags override "
                    "[tool.pydebvenv], which overrides [project]. With --from, build a "
                    "published distribution instead: its metadata describes the package.",
        epilog="examples:\n  pydebvenv build --target debian-12 --arch amd64 -o dist .\n"
               "  pydebvenv build --from 'black[d]' --target debian-13 -o dist\n\n"
               + EXIT_CODES)
    build.add_argument("project_dir", nargs="?", default=None, metavar="PROJECT_DIR",
                       help="directory holding pyproject.toml (default: .)")
    _add_from(build)
    build.add_argument("-o", "--output-dir", default="dist",
                       help="where the .deb is written (default: dist)")
    for key in KEYS:
        if key.flag:
            _add_key(build, key)
    _common(build, top=False)

    fetch = commands.add_parser(
        "fetch", help="download the wheels the target needs into the wheel cache",
        formatter_class=formatter,
        description="Fill the wheel cache for the target (pip download with the target's "
                    "tags and markers) and write a lock file; while the lock matches the "
                    "requirements, fetch exactly the files it names.",
        epilog="example:\n  pydebvenv fetch --target debian-12 --arch arm64 -r "
               "requirements.txt\n\n" + EXIT_CODES)
    fetch.add_argument("project_dir", nargs="?", default=None, metavar="PROJECT_DIR",
                       help="directory holding pyproject.toml (default: .)")
    _add_from(fetch)
    fetch.add_argument("--lock", dest="lock_path", metavar="PATH",
                       help="where the lock file is written (default: next to the project; "
                            "with --from: in the wheel cache, where build --offline finds it)")
    fetch.add_argument("--upgrade", action="store_true",
                       help="resolve anew even when the lock matches the requirements "
                            "(default: fetch exactly the locked files)")
    for key in KEYS:
        if key.flag and key.toml in _FETCH_KEYS:
            _add_key(fetch, key)
    _common(fetch, top=False)

    inspect = commands.add_parser(
        "inspect", help="verify a .deb and show its control data, files and bundled list",
        formatter_class=formatter,
        epilog="example:\n  pydebvenv inspect dist/myapp_1.0-1+deb12_amd64.deb\n\n" + EXIT_CODES)
    inspect.add_argument("path", metavar="DEB", help="the .deb file")
    inspect.add_argument("--scripts", action="store_true",
                         help="print the maintainer scripts in full")
    _common(inspect, top=False)

    publish = commands.add_parser(
        "publish", help="add .debs to an APT repository and sign it", formatter_class=formatter,
        description="Create or update a Debian repository in REPO_DIR (pool/ and dists/): "
                    "verify and copy the packages into the pool, rewrite the Packages "
                    "indexes and the Release file, sign it with gpg (InRelease, Release.gpg). "
                    "Earlier versions stay (a rollback installs them) until --keep prunes.",
        epilog="example:\n  pydebvenv publish --sign-key ops@example.org --keep 5 /srv/apt "
               "dist/*.deb\n\n" + EXIT_CODES)
    publish.add_argument("repo_dir", metavar="REPO_DIR", help="the repository's root directory")
    publish.add_argument("debs", nargs="+", metavar="DEB", help="the .deb files to add")
    publish.add_argument("--suite", default="stable",
                         help="the suite (dists/SUITE) to publish into (default: stable)")
    publish.add_argument("--component", default="main",
                         help="the component (pool/COMPONENT, dists/SUITE/COMPONENT) "
                              "(default: main)")
    publish.add_argument("--sign-key", metavar="KEYID",
                         help="gpg key that signs the Release file (default: the first secret "
                              "key in $GNUPGHOME)")
    publish.add_argument("--unsigned", action="store_true",
                         help="do not sign (apt refuses unsigned repositories unless the host "
                              "marks them trusted)")
    publish.add_argument("--origin", help="the Release file's Origin (kept once set)")
    publish.add_argument("--label", help="the Release file's Label (kept once set)")
    publish.add_argument("--codename", help="the Release file's Codename (default: the suite)")
    publish.add_argument("--arch", dest="architectures", action="append", default=[],
                         metavar="ARCH",
                         help="also index Architecture: all packages for ARCH (repeatable; "
                              "default: the architectures of the packages, else amd64 arm64)")
    publish.add_argument("--keep", type=int, metavar="N",
                         help="keep only the N newest versions of each package")
    _common(publish, top=False)

    diff = commands.add_parser(
        "diff", help="what installing NEW over OLD changes", formatter_class=formatter,
        description="Compare two .deb files: control fields, the bundled distributions "
                    "(upgraded, downgraded, added, removed), files (with sizes), maintainer "
                    "scripts and conffiles. Exit code 0 whether or not they differ.",
        epilog="example:\n  pydebvenv diff dist/myapp_1.3-1_all.deb dist/myapp_1.4-1_all.deb\n\n"
               + EXIT_CODES)
    diff.add_argument("old", metavar="OLD.deb", help="the package installed now")
    diff.add_argument("new", metavar="NEW.deb", help="the package to deploy")
    diff.add_argument("--json", action="store_true", help="print JSON for tools")
    _common(diff, top=False)

    init = commands.add_parser(
        "init", help="write [tool.pydebvenv] into pyproject.toml", formatter_class=formatter,
        description="Read the project, ask for what is missing (on a terminal), show the "
                    "control file and add a [tool.pydebvenv] table to pyproject.toml.",
        epilog="examples:\n  pydebvenv init\n  pydebvenv init --yes --maintainer "
               "'Jane Doe <jane@example.org>' path/to/project\n\n" + EXIT_CODES)
    init.add_argument("project_dir", nargs="?", default=".", metavar="PROJECT_DIR",
                      help="directory holding pyproject.toml (default: .)")
    init.add_argument("-y", "--yes", action="store_true",
                      help="ask nothing: use the flags and the project's metadata")
    init.add_argument("--force", action="store_true",
                      help="replace an existing [tool.pydebvenv] table")
    init.add_argument("--maintainer", help="maintainer, 'Name <email>'")
    init.add_argument("--name", help="Debian package name")
    init.add_argument("--summary", help="one-line synopsis of the package")
    init.add_argument("--service", metavar="COMMAND",
                      help="the application runs as a systemd service started by COMMAND (a "
                           "console script and its arguments); without it init asks on a "
                           "terminal")
    _common(init, top=False)
    return parser


def _overrides(args: argparse.Namespace, keys: Sequence[Key]) -> dict[str, object]:
    overrides: dict[str, object] = {}
    for key in keys:
        value = getattr(args, key.attr, None)
        if value is None:
            continue
        # Paths on the command line are relative to the working directory; the library
        # reads relative paths against the project directory, so make them absolute here.
        if key.type == "path":
            value = Path(value).absolute()
        elif key.type == "list of paths":
            value = [Path(item).absolute() for item in value]
        overrides[key.attr] = value
    return overrides


def _run(args: argparse.Namespace, reporter: Reporter) -> int:
    if args.command == "build":
        from pydebvenv.builder import build

        project = Path(args.project_dir) if args.project_dir is not None else None
        build(project, from_=args.from_, output_dir=Path(args.output_dir), reporter=reporter,
              **_overrides(args, [k for k in KEYS if k.flag]))
    elif args.command == "fetch":
        from pydebvenv.acquire.fetch import fetch

        keys = [k for k in KEYS if k.flag and k.toml in _FETCH_KEYS]
        project = Path(args.project_dir) if args.project_dir is not None else None
        fetch(project, from_=args.from_, reporter=reporter, lock_path=args.lock_path,
              upgrade=args.upgrade, **_overrides(args, keys))  # type: ignore[arg-type]
    elif args.command == "inspect":
        from pydebvenv import inspect
        from pydebvenv.debfile.show import format_deb_info
        from pydebvenv.debian.bom import format_bundled

        info = inspect(Path(args.path))
        sys.stdout.write(format_deb_info(info, full_scripts=args.scripts)
                         + format_bundled(info.contents))
    elif args.command == "publish":
        from pydebvenv.repo import format_publish_result, publish

        result = publish(Path(args.repo_dir), [Path(deb) for deb in args.debs], suite=args.suite,
                         component=args.component, sign_key=args.sign_key,
                         unsigned=args.unsigned, origin=args.origin, label=args.label,
                         codename=args.codename, architectures=args.architectures,
                         keep=args.keep)
        if reporter.verbosity >= NORMAL:
            sys.stdout.write(format_publish_result(result))
    elif args.command == "diff":
        from pydebvenv import diff
        from pydebvenv.repo import format_diff

        changes = diff(Path(args.old), Path(args.new))
        if args.json:
            import json

            sys.stdout.write(json.dumps(changes.to_json(), indent=2) + "\n")
        else:
            sys.stdout.write(format_diff(changes))
    else:
        from pydebvenv.scaffold import init

        # Ask only a person: without a terminal (or with --yes) missing values are errors
        # that name the flag to pass.
        interactive = not args.yes and sys.stdin.isatty()
        written = init(Path(args.project_dir), force=args.force, maintainer=args.maintainer,
                       name=args.name, summary=args.summary, service=args.service,
                       ask=input if interactive else None,
                       show=reporter.info if reporter.verbosity >= NORMAL else None)
        reporter.info(f"wrote [tool.pydebvenv] to {written}" if written else "nothing written")
    return 0


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread like Ctrl-C so every temporary is removed on the
    way out (a KeyboardInterrupt, so code that cleans up after Ctrl-C does after it too)."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``pydebvenv`` and ``python -m pydebvenv``; returns the exit code."""
    args = make_parser().parse_args(argv)
    verbosity = NORMAL + args.verbose if not args.quiet else QUIET
    reporter = Reporter(sys.stdout, verbosity)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
    try:
        return _run(args, reporter)
    except PydebvenvError as exc:
        if args.verbose:
            traceback.print_exc()
        print(f"pydebvenv: error: {redact(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except OSError as exc:  # the last resort: a cause not turned into a PydebvenvError
        if args.verbose:
            traceback.print_exc()
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"pydebvenv: error: {redact(where + (exc.strerror or str(exc)))}; check the "
              "path, its permissions and the free space (-v shows where it happened)",
              file=sys.stderr)
        return 1
    except Terminated:
        print("pydebvenv: terminated", file=sys.stderr)
        return 143  # 128 + SIGTERM, as a shell reports a process killed by it
    except KeyboardInterrupt:
        print("pydebvenv: interrupted", file=sys.stderr)
        return 130  # 128 + SIGINT
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
