"""The maintainer scripts' code for the services and timers: dh_installsystemd's steps, in shell.

What the code does is what debhelper's autoscripts (debhelper 13.11.4 on Debian 12 and
13.24.2 on Debian 13; dh_installsystemd(1)) do with deb-systemd-helper(1) and
deb-systemd-invoke(1) of init-system-helpers.  It starts fewer programs to do it: the checks
that decide whether deb-systemd-helper has anything to do read its state files here,
deb-systemd-invoke's rules (policy-rc.d, is-enabled, is-active) are shell calling systemctl,
and systemd is reloaded only when it has not loaded the unit files this package ships.  The
user creation follows Debian Policy §9.2 and adduser(8).  docs/services.md says what each
block does, where it departs from debhelper and why, with the measured cost of each step.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydebvenv.debian.services import DIGEST_VARIABLE, UnitFile, Units

__all__ = ["ServiceScripts", "helper_links", "lintian_overrides", "service_scripts"]

# deb-systemd-helper's own reading of a unit file (get_link_closure): every line, in any
# section, matched case-insensitively; the link name is the unit's own name.
_HELPER_LINK = re.compile(r"^\s*(WantedBy|RequiredBy)=(.+)$", re.IGNORECASE)
_HELPER_OTHER = re.compile(r"^\s*(Also|Alias|DefaultInstance)=", re.IGNORECASE)
_UNIT_WORD = re.compile(r"[A-Za-z0-9:_.@-]+")
_LINK_DIRS = {"WantedBy": ".wants", "RequiredBy": ".requires"}
_DIGEST_LINE = re.compile(rf"^Environment={DIGEST_VARIABLE}=([0-9a-f]+)$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class ServiceScripts:
    """Shell code for the maintainer scripts (empty: nothing), by where it goes.

    postinst runs ``users`` first, then the byte-compilation, the user's snippet, and
    ``units`` last, so a service starts on compiled code.
    """

    users: str = ""
    units: str = ""
    prerm: str = ""
    postrm: str = ""


def service_scripts(units: Units) -> ServiceScripts:
    """The code that creates the users and enables, starts, stops and forgets the units."""
    if not units.files:
        return ServiceScripts()
    return ServiceScripts(users=_users_block(units),
                          units=_postinst_units(units.files, units.unit_dir),
                          prerm=_prerm(units.files),
                          postrm=_postrm(units.files, units.purge_dirs))


# lintian 2.116's own tests for the two tags the shell form of deb-systemd-invoke raises
# (Check/MaintainerScripts/Systemctl.pm, Check/Scripts.pm)
_LINTIAN_SYSTEMCTL = re.compile(r"(?:.+;)?\s*systemctl\b")
_POLICY_RC_D = "/usr/sbin/policy-rc.d"


def lintian_overrides(scripts: ServiceScripts) -> tuple[str, ...]:
    """The lintian tags this code raises on purpose, as override lines ("tag context", no
    package name), only those that fire (lintian reports unused overrides).

    ``maintainer-script-calls-systemctl`` asks for deb-systemd-invoke, whose rules the code
    applies itself; ``command-with-path-in-maintainer-script`` names policy-rc.d, whose
    interface is that very path (invoke-rc.d(8)).  docs/lintian.md and docs/services.md.
    """
    lines = []
    for script, code in (("postinst", scripts.units), ("prerm", scripts.prerm)):
        if any(_LINTIAN_SYSTEMCTL.match(line) and "daemon-reload" not in line
               for line in code.splitlines() if not line.startswith("#")):
            lines.append(f"maintainer-script-calls-systemctl [{script}:*]")
    if _POLICY_RC_D in scripts.units + scripts.prerm:
        lines.append(f"command-with-path-in-maintainer-script {_POLICY_RC_D} *")
    return tuple(lines)


def helper_links(unit: UnitFile) -> tuple[str, ...] | None:
    """The links ``deb-systemd-helper enable`` records for ``unit`` in its state file, in its
    order; None when they are not this simple to know (Also=, Alias=, DefaultInstance=, or a
    value its parser reads differently from systemd: quoted, odd, repeated).  The postinst
    then leaves every decision to deb-systemd-helper itself."""
    links: list[str] = []
    for line in unit.text.split("\n"):
        if _HELPER_OTHER.match(line):
            return None
        match = _HELPER_LINK.match(line)
        if match is None:
            continue
        suffix = _LINK_DIRS.get(match.group(1))  # the helper compares the key's case exactly
        values = match.group(2).split(" ")
        if suffix is None or not all(_UNIT_WORD.fullmatch(v) for v in values):
            return None
        links += [f"/etc/systemd/system/{v}{suffix}/{unit.name}" for v in values]
    return tuple(links) if links and len(set(links)) == len(links) else None


def _names(units: Iterable[UnitFile]) -> str:
    # unit names are checked (letters, digits, ":_.-"): quoting them as dh does is safe
    return " ".join(f"'{u.name}'" for u in sorted(units, key=lambda u: u.name))


def _words(units: Iterable[UnitFile]) -> str:
    """The names as one string for the shell's lists, spaces around each for `case`."""
    return " " + " ".join(sorted(u.name for u in units)) + " "


_CONFIGURE = ('if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || '
              '[ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ] ; then\n')


def _users_block(units: Units) -> str:
    users = units.users
    if not users:
        return ""
    chrootless, local = [], []
    for user in users:
        home = shlex.quote(user.home or "/nonexistent")
        same = user.group == user.name
        useradd = (f"useradd --system {'--user-group' if same else f'--gid {user.group}'} "
                   f"--home-dir {home} {'--create-home' if user.home else '--no-create-home'} "
                   f"--shell /usr/sbin/nologin {user.name}")
        # useradd(8) and groupadd(8) exit with 9 when the name is taken already
        if not same:
            chrootless.append(f'\t\tgroupadd --root "$DPKG_ROOT" --system {user.group} '
                              "|| [ $? -eq 9 ]")
        in_root = useradd.replace("useradd ", 'useradd --root "$DPKG_ROOT" ', 1)
        chrootless.append(f"\t\t{in_root} || [ $? -eq 9 ]")
        if not same:
            local += [f"\t\tif ! getent group {user.group} >/dev/null; then",
                      "\t\t\tif command -v addgroup >/dev/null 2>&1; then",
                      f"\t\t\t\taddgroup --system --quiet {user.group}",
                      "\t\t\telse",
                      f"\t\t\t\tgroupadd --system {user.group}",
                      "\t\t\tfi",
                      "\t\tfi"]
        adduser = (f"adduser --system {'--group' if same else f'--ingroup {user.group}'} "
                   f"--home {home} {'' if user.home else '--no-create-home '}--quiet {user.name}")
        local += [f"\t\tif ! getent passwd {user.name} >/dev/null; then",
                  "\t\t\tif command -v adduser >/dev/null 2>&1; then",
                  f"\t\t\t\t{adduser}",
                  "\t\t\telse",
                  f"\t\t\t\t{useradd}",
                  "\t\t\tfi",
                  "\t\tfi"]
    # systemd-sysusers where it is (dh_installsysusers' postinst; 10 ms against adduser's
    # 40), from the sysusers.d file the package ships; adduser or useradd where it is not
    # (a container or chroot without systemd), or should it fail
    # (and on an upgrade, where the users exist, neither: getent answers in a millisecond)
    exist = " && ".join([f"getent passwd {u.name} >/dev/null" for u in users]
                        + [f"getent group {g} >/dev/null"
                           for g in dict.fromkeys(u.group for u in users if u.group != u.name)])
    sysusers = [] if units.sysusers is None else [
        f'\tif [ -z "${{DPKG_ROOT:-}}" ] && {exist}; then',
        "\t\t:",
        "\telif command -v systemd-sysusers >/dev/null 2>&1 && systemd-sysusers "
        '${DPKG_ROOT:+--root="$DPKG_ROOT"} ' + f"{units.package}.conf >/dev/null 2>&1; then",
        "\t\t:",
        '\telif [ -n "${DPKG_ROOT:-}" ]; then']
    return "\n".join([
        "# Generated by pydebvenv: the services' system users (Debian Policy 9.2, adduser(8),",
        "# sysusers.d(5)); they stay on purge. Under a chrootless dpkg --root they are made in",
        "# that root.",
        'if [ "$1" = "configure" ]; then',
        *(sysusers or ['\tif [ -n "${DPKG_ROOT:-}" ]; then']), *chrootless,
        "\telse", *local,
        "\tfi",
        "fi"]) + "\n"


# ------------------------------------------------------------------ enabling

_RECORDED = """\
# deb-systemd-helper's state for unit $1 against the links (the other arguments) its
# `enable` records for the unit file shipped here. _pydebvenv_known: it has a state file
# (`debian-installed`); _pydebvenv_enabled: every recorded link exists (`was-enabled`,
# true without a state file); _pydebvenv_same: exactly these links are recorded, so
# `update-state` would write the file as it is; _pydebvenv_done: and each has its own
# state file, so `enable` would do nothing either. An admin's full copy of the unit in
# /etc/systemd/system is the file the helper reads instead: then it always runs.
_pydebvenv_recorded() {
	_pydebvenv_file="$_pydebvenv_dsh/$1.dsh-also"
	_pydebvenv_copy="${DPKG_ROOT:-}/etc/systemd/system/$1"
	shift
	_pydebvenv_known=no _pydebvenv_enabled=yes _pydebvenv_same=no _pydebvenv_done=no
	[ -f "$_pydebvenv_file" ] || return 0
	_pydebvenv_known=yes _pydebvenv_done=yes _pydebvenv_seen=
	while IFS= read -r _pydebvenv_link; do
		_pydebvenv_seen="$_pydebvenv_seen $_pydebvenv_link"
		[ -L "${DPKG_ROOT:-}$_pydebvenv_link" ] || _pydebvenv_enabled=no
		[ -e "$_pydebvenv_dsh/${_pydebvenv_link#/etc/systemd/system/}" ] || _pydebvenv_done=no
	done < "$_pydebvenv_file"
	if [ "$_pydebvenv_seen" = " $*" ] && [ ! -f "$_pydebvenv_copy" ]; then
		_pydebvenv_same=yes
	fi
}
"""


def _enable_unit(unit: UnitFile) -> str:
    """One unit's part of postinst-systemd-enable or -dont-enable: which helper call it needs."""
    name = unit.name
    add_enable = f'_pydebvenv_enable="$_pydebvenv_enable {name}"'
    add_update = f'_pydebvenv_update="$_pydebvenv_update {name}"'
    links = helper_links(unit)
    if links is None:  # the helper decides, as in debhelper's snippets
        if unit.enable:
            return (f"\tif deb-systemd-helper --quiet was-enabled '{name}'; then\n"
                    f"\t\t{add_enable}\n\telse\n\t\t{add_update}\n\tfi\n")
        return (f"\tif deb-systemd-helper debian-installed '{name}' && "
                f"deb-systemd-helper --quiet was-enabled '{name}'; then\n"
                f"\t\t{add_enable}\n\tfi\n\t{add_update}\n")
    call = f"\t_pydebvenv_recorded '{name}' " + " ".join(f"'{link}'" for link in links) + "\n"
    if unit.enable:
        # never enabled here (no state file, no admin copy): the first-install path below;
        # was-enabled: enable, which creates missing links; disabled by the admin:
        # update-state, which records them without creating them
        return (call
                + '\tif [ "$_pydebvenv_known" = no ] && [ ! -f "$_pydebvenv_copy" ]; then\n'
                f'\t\t_pydebvenv_first="$_pydebvenv_first {name}"\n'
                + '\telif [ "$_pydebvenv_enabled" = yes ]; then\n'
                f'\t\t[ "$_pydebvenv_same$_pydebvenv_done" = yesyes ] || {add_enable}\n'
                f'\telif [ "$_pydebvenv_same" = no ]; then\n\t\t{add_update}\n\tfi\n')
    # enable = false: enable only what was enabled before (by the admin), then update-state
    return (call
            + '\tif [ "$_pydebvenv_known$_pydebvenv_enabled" = yesyes ] && '
            '[ "$_pydebvenv_same$_pydebvenv_done" != yesyes ]; then\n'
            f"\t\t{add_enable}\n\tfi\n"
            f'\t[ "$_pydebvenv_same" = yes ] || {add_update}\n')


# What ``deb-systemd-helper enable`` does for a unit it has no state file for (its
# make_systemd_links, after `systemctl preset` where systemctl is): record the links in
# <unit>.dsh-also, create them only where there is no systemctl, and leave an empty state file
# per link.  $1: the unit, $2: the unit file the links point to, then the links.
_STATE = """\
_pydebvenv_state() {
	_pydebvenv_dest=$2
	_pydebvenv_also="$_pydebvenv_dsh/$1.dsh-also"
	shift 2
	mkdir -p "$_pydebvenv_dsh"
	(umask 022 && printf '%s\\n' "$@" > "$_pydebvenv_also.pydebvenv-new")
	mv -f "$_pydebvenv_also.pydebvenv-new" "$_pydebvenv_also"
	for _pydebvenv_link in "$@"; do
		_pydebvenv_statefile="$_pydebvenv_dsh/${_pydebvenv_link#/etc/systemd/system/}"
		[ ! -e "$_pydebvenv_statefile" ] || continue
		if [ "$_pydebvenv_links" = yes ] && [ ! -L "${DPKG_ROOT:-}$_pydebvenv_link" ]; then
			mkdir -p "${DPKG_ROOT:-}${_pydebvenv_link%/*}"
			ln -s "$_pydebvenv_dest" "${DPKG_ROOT:-}$_pydebvenv_link"
		fi
		mkdir -p "${_pydebvenv_statefile%/*}"
		: >> "$_pydebvenv_statefile"
	done
}
"""


def _first_block(installed: Sequence[UnitFile], unit_dir: str) -> str:
    """A first install without deb-systemd-helper: one `systemctl preset` for every unit
    never enabled here, then the helper's state written as it writes it."""
    simple = [(u, links) for u in installed if u.enable and (links := helper_links(u))]
    if not simple:
        return ""
    states = "".join(
        f'\t\tcase " $_pydebvenv_first " in *" {u.name} "*)\n'
        f"\t\t\t_pydebvenv_state '{u.name}' '{unit_dir}/{u.name}' "
        + " ".join(f"'{link}'" for link in links) + " || true ;;\n\t\tesac\n"
        for u, links in simple)
    systemctl = '[ -x "${DPKG_ROOT:-}/bin/systemctl" ] || [ -x "${DPKG_ROOT:-}/usr/bin/systemctl" ]'
    return (
        '\tif [ -n "$_pydebvenv_first" ]; then\n'
        "\t\t# never enabled on this system: what `deb-systemd-helper enable` does then,\n"
        "\t\t# without starting Perl. Where systemctl is, `systemctl preset` enables or not\n"
        "\t\t# (systemd.preset(5): the admin's policy decides); without it the links are made\n"
        "\t\t_pydebvenv_links=yes\n"
        f"\t\tif {systemctl}; then\n"
        '\t\t\tif systemctl --root="${DPKG_ROOT:-/}" --system --preset-mode=enable-only preset '
        "$_pydebvenv_first >/dev/null 2>&1; then\n"
        "\t\t\t\t_pydebvenv_links=no\n"
        "\t\t\telse  # the helper would stop there: it runs instead, and says why\n"
        '\t\t\t\t_pydebvenv_enable="$_pydebvenv_enable$_pydebvenv_first" _pydebvenv_first=\n'
        "\t\t\tfi\n"
        "\t\tfi\n"
        + _indent(_STATE, 2)
        + states
        + "\tfi\n")


def _enable_block(installed: Sequence[UnitFile], unit_dir: str) -> str:
    if not installed:
        return ""
    recorded = _indent(_RECORDED, 1) if any(helper_links(u) is not None for u in installed) else ""
    return (
        "\t# Enable (deb-systemd-helper), or only record, each unit with an [Install] section;\n"
        "\t# the helper runs only when it has something to do, once for all units\n"
        '\t_pydebvenv_dsh="${DPKG_ROOT:-}/var/lib/systemd/deb-systemd-helper-enabled"\n'
        "\t_pydebvenv_enable=\n\t_pydebvenv_update=\n\t_pydebvenv_first=\n"
        + recorded
        + "".join(_enable_unit(u) for u in installed)
        + _first_block(installed, unit_dir)
        + '\tif [ -n "$_pydebvenv_enable" ]; then\n'
        "\t\tdeb-systemd-helper enable $_pydebvenv_enable >/dev/null || true\n"
        "\tfi\n"
        '\tif [ -n "$_pydebvenv_update" ]; then\n'
        "\t\tdeb-systemd-helper update-state $_pydebvenv_update >/dev/null || true\n"
        "\tfi\n")


# ------------------------------------------------------------------ starting

# deb-systemd-invoke(1)'s first step: /usr/sbin/policy-rc.d UNIT ACTION for each unit
# (invoke-rc.d(8) documents the interface); 101 forbids the whole call, 0 and 104 allow it,
# anything else is reported and ignored.
_ALLOWED = """\
_pydebvenv_allowed() {
	[ -x /usr/sbin/policy-rc.d ] || return 0
	_pydebvenv_what=$1
	shift
	for _pydebvenv_unit in "$@"; do
		_pydebvenv_rc=0
		/usr/sbin/policy-rc.d "$_pydebvenv_unit" "$_pydebvenv_what" >/dev/null || _pydebvenv_rc=$?
		case $_pydebvenv_rc in
			0|104) ;;
			101)
				echo "/usr/sbin/policy-rc.d returned 101, not running '$_pydebvenv_what $*'" >&2
				return 1 ;;
			*) echo "/usr/sbin/policy-rc.d returned $_pydebvenv_rc for $_pydebvenv_unit, which" \
			"is not 0, 101 or 104: ignoring it" >&2 ;;
		esac
	done
}
"""

# deb-systemd-invoke ACTION UNIT...: start starts the units `systemctl is-enabled` calls
# enabled (or enabled-runtime); restart restarts those and the ones that are active; other
# actions go to systemctl as they are.  The active units are known already (the `systemctl
# show` before); is-enabled is asked once for all the others.
_INVOKE = """\
_pydebvenv_is_active() {
	case "$_pydebvenv_active" in *" $1 "*) return 0 ;; esac
	return 1
}
_pydebvenv_invoke() {
	_pydebvenv_allowed "$@" || return 0
	_pydebvenv_action=$1
	shift
	case $_pydebvenv_action in
		start|restart) ;;
		*)
			systemctl "$_pydebvenv_action" "$@" >/dev/null || true
			return 0 ;;
	esac
	_pydebvenv_units=$* _pydebvenv_ask= _pydebvenv_asked=0 _pydebvenv_answers=0
	for _pydebvenv_unit in "$@"; do
		if [ "$_pydebvenv_action" = start ] || ! _pydebvenv_is_active "$_pydebvenv_unit"; then
			_pydebvenv_ask="$_pydebvenv_ask $_pydebvenv_unit"
			_pydebvenv_asked=$((_pydebvenv_asked + 1))
		fi
	done
	_pydebvenv_states=
	if [ -n "$_pydebvenv_ask" ]; then
		_pydebvenv_states=$(systemctl is-enabled -- $_pydebvenv_ask 2>/dev/null) || true
		for _pydebvenv_state in $_pydebvenv_states; do
			_pydebvenv_answers=$((_pydebvenv_answers + 1))
		done
		if [ "$_pydebvenv_answers" -ne "$_pydebvenv_asked" ]; then
			# systemctl prints no line for a unit it cannot find: ask one at a time
			_pydebvenv_states=
			for _pydebvenv_unit in $_pydebvenv_ask; do
				_pydebvenv_state=$(systemctl is-enabled -- "$_pydebvenv_unit" 2>/dev/null) || true
				_pydebvenv_states="$_pydebvenv_states ${_pydebvenv_state:-unknown}"
			done
		fi
	fi
	set -- $_pydebvenv_states
	_pydebvenv_go=
	for _pydebvenv_unit in $_pydebvenv_units; do
		if [ "$_pydebvenv_action" = restart ] && _pydebvenv_is_active "$_pydebvenv_unit"; then
			_pydebvenv_go="$_pydebvenv_go $_pydebvenv_unit"
			continue
		fi
		case $1 in
			*enabled*) _pydebvenv_go="$_pydebvenv_go $_pydebvenv_unit" ;;
			*)
				_pydebvenv_why="$_pydebvenv_unit is a disabled or a static unit"
				if [ "$_pydebvenv_action" = start ]; then
					echo "$_pydebvenv_why, not starting it." >&2
				else
					echo "$_pydebvenv_why not running, not starting it." >&2
				fi ;;
		esac
		shift
	done
	if [ -n "$_pydebvenv_go" ]; then
		systemctl --quiet --system "$_pydebvenv_action" $_pydebvenv_go >/dev/null || true
	fi
}
"""


def _indent(code: str, depth: int) -> str:
    return "".join("\t" * depth + line if line.strip() else line
                   for line in code.splitlines(keepends=True))


def _digest_checked(files: Sequence[UnitFile]) -> tuple[str, tuple[UnitFile, ...]] | None:
    """The units' digest and the services that carry it, when those tell whether systemd has
    loaded every unit of the package: each service carries it, and each timer triggers its
    own service (which systemd keeps loaded while the timer is).  None otherwise (a shipped
    ``unit-file``, a timer with its own Unit=): then every upgrade reloads."""
    services = [u for u in files if u.name.endswith(".service")]
    digests = {m.group(1) for u in services for m in _DIGEST_LINE.finditer(u.text)}
    if len(digests) != 1 or not all(_DIGEST_LINE.search(u.text) for u in services):
        return None
    names = {u.name for u in services}
    for unit in files:
        if unit.name.endswith(".timer"):
            own = unit.name.removesuffix(".timer") + ".service"
            if own not in names or re.search(r"^\s*Unit\s*=", unit.text, re.MULTILINE):
                return None
        elif unit.name not in names:
            return None
    return digests.pop(), tuple(services)


# On an upgrade: one `systemctl show` says which units are active and whether systemd must
# re-read the unit files.  It must when a service does not carry this package's digest in
# its environment (the loaded unit is another version's: NeedDaemonReload misses that when
# the new file is not newer, and dpkg gives every file the archive's mtime), when
# NeedDaemonReload says so (an admin's edit waiting for a reload), or when a drop-in in /etc
# or /run is not among the unit's DropInPaths (an admin's new drop-in, which systemd before
# 256 does not count in NeedDaemonReload).  @-words are filled in by _reload_block.
_RELOAD = """\
_pydebvenv_reload=@RELOAD@ _pydebvenv_fresh=0
_pydebvenv_id= _pydebvenv_state= _pydebvenv_mark=no _pydebvenv_dropins=
_pydebvenv_shown() {
	[ -n "$_pydebvenv_id" ] || return 0
	case $_pydebvenv_state in
		active|reloading|refreshing) _pydebvenv_active="$_pydebvenv_active $_pydebvenv_id " ;;
	esac
	case '@MARKED@' in
		*" $_pydebvenv_id "*)
			[ "$_pydebvenv_mark" = no ] || _pydebvenv_fresh=$((_pydebvenv_fresh + 1)) ;;
	esac
	for _pydebvenv_conf in /etc/systemd/system/"$_pydebvenv_id".d/*.conf \\
			/run/systemd/system/"$_pydebvenv_id".d/*.conf; do
		case " $_pydebvenv_dropins " in
			*" $_pydebvenv_conf "*) ;;
			*) [ ! -e "$_pydebvenv_conf" ] || _pydebvenv_reload=yes ;;
		esac
	done
	_pydebvenv_id= _pydebvenv_state= _pydebvenv_mark=no _pydebvenv_dropins=
}
_pydebvenv_out=$(systemctl show -p Id,ActiveState,NeedDaemonReload,DropInPaths,Environment \\
	-- @UNITS@ 2>/dev/null) || _pydebvenv_reload=yes
while IFS= read -r _pydebvenv_line; do
	case $_pydebvenv_line in
		Id=*) _pydebvenv_id=${_pydebvenv_line#Id=} ;;
		ActiveState=*) _pydebvenv_state=${_pydebvenv_line#ActiveState=} ;;
		NeedDaemonReload=yes) _pydebvenv_reload=yes ;;
		DropInPaths=*) _pydebvenv_dropins=${_pydebvenv_line#DropInPaths=} ;;
		Environment=*)
			case "$_pydebvenv_line " in
				*" @DIGEST@ "*|"Environment=@DIGEST@ "*) _pydebvenv_mark=yes ;;
			esac ;;
		"") _pydebvenv_shown ;;
	esac
done <<-EOF
	$_pydebvenv_out

	EOF
[ "$_pydebvenv_fresh" -eq @COUNT@ ] || _pydebvenv_reload=yes
if [ "$_pydebvenv_reload" = yes ]; then
	systemctl --system daemon-reload >/dev/null || true
fi
"""


def _reload_block(files: Sequence[UnitFile]) -> str:
    checked = _digest_checked(files)
    if checked is None:  # a shipped unit file: every upgrade reloads, as with dh
        values = {"RELOAD": "yes", "MARKED": " ", "COUNT": "0", "DIGEST": "-"}
    else:
        digest, services = checked
        values = {"RELOAD": "no", "MARKED": _words(services), "COUNT": str(len(services)),
                  "DIGEST": f"{DIGEST_VARIABLE}={digest}"}
    code = _RELOAD.replace("@UNITS@", _names(files))
    for key, value in values.items():
        code = code.replace(f"@{key}@", value)
    return _indent(code, 3)


def _start_block(files: Sequence[UnitFile]) -> str:
    # One call per behaviour, every unit of it at once (as dh does per call).
    groups: dict[tuple[bool, bool], list[UnitFile]] = {}
    for unit in files:
        groups.setdefault((unit.start, unit.restart_on_upgrade), []).append(unit)
    calls = []
    for (start, restart), units in sorted(groups.items(), reverse=True):
        names = _names(units)
        if start and restart:  # postinst-systemd-restart: start, or restart on upgrade
            calls.append('\t\tif [ -n "$2" ]; then\n'
                         f"\t\t\t_pydebvenv_invoke restart {names}\n"
                         f"\t\telse\n\t\t\t_pydebvenv_invoke start {names}\n\t\tfi\n")
        elif start:  # postinst-systemd-start (--no-restart-on-upgrade): a running unit stays
            calls.append(f"\t\t_pydebvenv_invoke start {names}\n")
        elif restart:  # postinst-systemd-restartnostart (--no-start): restart if running
            calls.append(f'\t\tif [ -n "$2" ]; then\n'
                         f"\t\t\t_pydebvenv_invoke try-restart {names}\n\t\tfi\n")
    # The DPKG_ROOT test is in every case (debhelper's restart snippet lacks it): under a
    # chrootless `dpkg --root`, the systemd that runs is the host's, not the root's.
    return (
        "\t# Start, or restart on upgrade, where a systemd runs: as deb-systemd-invoke does\n"
        '\tif [ -z "${DPKG_ROOT:-}" ] && [ -d /run/systemd/system ]; then\n'
        + _indent(_ALLOWED + _INVOKE, 2)
        + "\t\t_pydebvenv_active=\n"
        '\t\tif [ -n "$2" ]; then\n'
        + _reload_block(files)
        + "\t\tfi\n"
        + "".join(calls)
        + "\tfi\n")


def _postinst_units(files: Sequence[UnitFile], unit_dir: str) -> str:
    installed = sorted((u for u in files if u.install), key=lambda u: u.name)
    starts = any(u.start or u.restart_on_upgrade for u in files)
    if not installed and not starts:
        return ""
    return ("# Generated by pydebvenv: enable, then start or restart the units, as\n"
            "# dh_installsystemd does (docs/services.md, \"The maintainer scripts\")\n"
            + _CONFIGURE + _enable_block(installed, unit_dir)
            + (_start_block(sorted(files, key=lambda u: u.name)) if starts else "")
            + "fi\n")


def _prerm(files: Sequence[UnitFile]) -> str:
    # prerm-systemd-restart: stop on remove only; an upgrade restarts in the new postinst.
    # Unlike dh_installsystemd --no-start, a unit with start = false is stopped too: its
    # code is about to go.  deb-systemd-invoke stop is policy-rc.d, then systemctl stop.
    names = _names(files)
    return ("# Generated by pydebvenv: stop the units when the package is removed\n"
            'if [ -z "${DPKG_ROOT:-}" ] && [ "$1" = remove ] && [ -d /run/systemd/system ] ; then\n'
            + _indent(_ALLOWED, 1)
            + f"\tif _pydebvenv_allowed stop {names}; then\n"
            f"\t\tsystemctl stop {names} >/dev/null || true\n"
            "\tfi\n"
            "fi\n")


def _postrm(files: Sequence[UnitFile], purge_dirs: Sequence[str]) -> str:
    installed = [u for u in files if u.install]
    parts = ["# Generated by pydebvenv: forget the units (as dh_installsystemd does) and, on "
             "purge, remove the\n# directories systemd made for them; the users stay\n"
             'if [ "$1" = remove ] && [ -d /run/systemd/system ] ; then\n'
             "\tsystemctl --system daemon-reload >/dev/null || true\nfi\n"]
    if installed:
        parts.append('if [ "$1" = "purge" ]; then\n'
                     '\tif [ -x "/usr/bin/deb-systemd-helper" ]; then\n'
                     f"\t\tdeb-systemd-helper purge {_names(installed)} >/dev/null || true\n"
                     "\tfi\nfi\n")
    if purge_dirs:
        # Only the package's own (named after it, docs/safety.md), and only while no installed
        # package lists the directory (one that ships a file in it lists it too); dpkg-query
        # -S exits 1 for "not found", 0 when a package lists it, 2 when it cannot tell
        paths = " ".join(shlex.quote(d) for d in purge_dirs)
        parts.append(
            'if [ "$1" = "purge" ]; then\n'
            f"\tfor dir in {paths}; do\n"
            # (set -e: a failing command may only run on the left of ||)
            '\t\trc=0; dpkg-query -S "$dir" >/dev/null 2>&1 || rc=$?\n'
            '\t\t[ "$rc" -eq 1 ] || continue\n'
            '\t\trm -rf "${DPKG_ROOT:-}$dir"\n'
            "\tdone\nfi\n")
    return "".join(parts)
