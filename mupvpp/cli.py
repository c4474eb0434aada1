"""The ``mupvpp`` command line: thin.  Parse, call config/plan/backends, print.

Other modules add commands (``replay``, ``bench``) through
:func:`_register_extra`; they must not be defined here.
"""

from __future__ import annotations

import csv
import dataclasses
import ipaddress
import json
import sys
from pathlib import Path
from typing import Any

import click

from mupvpp import __version__
from mupvpp.errors import InputError, IntentError, MupError, Problem
from mupvpp.model import Intent, Node, Type1Session

DEFAULT_STATE = ".mupvpp-state.json"

GROUP_HELP = f"""SRv6 Mobile User Plane (RFC 9433) for FD.io VPP.

\b
  mupvpp validate examples/lab.yaml
  mupvpp plan examples/lab.yaml
  mupvpp apply examples/lab.yaml --yes
  mupvpp --vpp /run/vpp/api.sock apply examples/lab.yaml --yes

The data plane is the embedded engine (the C core in-process; state in
--state, default $MUPVPP_STATE or ./{DEFAULT_STATE}) unless --vpp names a
live VPP's API socket.  A VPP running the srv6_mup plugin is configured
through its API: every behaviour, Type 1 and Type 2 sessions, counters by
SID and drop reason.  Without it, upstream VPP (srv6-mobile plugin) runs
End, End.DT4/6, End.M.GTP4.E, End.M.GTP6.D/.Di/.E, H.M.GTP4.D, the GTP
DT variants and H.Encaps; End.MAP, End.Limit, End.DT46, H.M.T1ST and all
sessions need the srv6_mup plugin.

\b
Exit codes:
  0 ok      1 declined at a prompt   2 usage   3 intent invalid
  4 apply failed (rolled back)   5 data plane unreachable
  6 data plane lacks a feature
  7 bad input file (pcap, session list, TRex profile or state file;
    also bench when nothing could be measured)

\b
Shell completion (bash; zsh/fish likewise):
  eval "$(_MUPVPP_COMPLETE=bash_source mupvpp)"
"""


@dataclasses.dataclass
class Ctx:
    vpp: str | None
    state: str
    api_dir: str | None = None


def _backend(ctx: Ctx):
    from mupvpp.backends import open_backend
    from mupvpp.state import StateLock

    try:
        kw = {"api_dir": ctx.api_dir} if ctx.vpp and ctx.api_dir else {}
        return StateLock(ctx.state, open_backend(ctx.vpp, ctx.state, **kw))
    except ImportError as e:  # the embedded engine is not built yet
        from mupvpp.errors import BackendUnavailable

        raise BackendUnavailable(
            f"embedded engine unavailable ({e}); install mupvpp with "
            "'pip install -e .' or use --vpp SOCKET"
        ) from None


def _load(path: str) -> Intent:
    from mupvpp.config import load_intent

    warnings: list[Problem] = []
    intent = load_intent(path, warnings)
    for w in warnings:
        click.echo(f"mupvpp: {w}", err=True)
    return intent


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False))


@click.group(help=GROUP_HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--vpp",
    "vpp",
    metavar="SOCKET",
    envvar="MUPVPP_VPP",
    help="Live VPP binary-API socket (e.g. /run/vpp/api.sock). "
    "Default: the embedded engine.",
)
@click.option(
    "--state",
    metavar="FILE",
    envvar="MUPVPP_STATE",
    default=DEFAULT_STATE,
    show_default=True,
    help="State file of the applied intent ($MUPVPP_STATE).",
)
@click.option(
    "--api-dir",
    metavar="DIR",
    envvar="MUPVPP_API_DIR",
    type=click.Path(file_okay=False, exists=True),
    help="With --vpp: read the API definitions (*.api.json, searched "
    "recursively) from DIR instead of asking VPP for them.",
)
@click.version_option(__version__, prog_name="mupvpp")
@click.pass_context
def cli(ctx: click.Context, vpp: str | None, state: str, api_dir: str | None) -> None:
    ctx.obj = Ctx(vpp=vpp, state=state, api_dir=api_dir)


@cli.command()
@click.argument("config", type=click.Path(dir_okay=False))
def validate(config: str) -> None:
    """Check an intent file; print every problem as FILE:LINE: OBJ: FIELD: MSG.

    \b
      mupvpp validate examples/lab.yaml
    Exit 0 when valid (warnings are printed), 3 when not.
    """
    intent = _load(config)
    click.echo(
        f"{config}: ok ({len(intent.policies)} policies, {len(intent.sids)} sids, "
        f"{len(intent.type1)} type1, {len(intent.type2)} type2 sessions)"
    )


def read_current(ctx: Ctx) -> Intent | None:
    """The applied intent.  Without --vpp it is read from the state file
    directly (the embedded engine persists it there), so `plan` and `show`
    need no engine."""
    if ctx.vpp:
        with _backend(ctx) as be:
            return be.read_state()
    from mupvpp.state import read_state_file

    return read_state_file(ctx.state)[1]


def _plan(ctx: Ctx, config: str):
    from mupvpp.plan import plan

    desired = _load(config)
    return desired, plan(desired, read_current(ctx))


@cli.command("plan")
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the ops as JSON.")
@click.pass_obj
def plan_cmd(ctx: Ctx, config: str, as_json: bool) -> None:
    """Show what `apply` would change: + add, ~ replace, - delete.

    \b
      mupvpp plan examples/lab.yaml --json
    """
    from mupvpp.plan import format_plan, ops_to_json

    _, ops = _plan(ctx, config)
    if as_json:
        _echo_json(ops_to_json(ops))
    else:
        click.echo(format_plan(ops))


@cli.command()
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the applied ops as JSON.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def apply(ctx: Ctx, config: str, as_json: bool, yes: bool) -> None:
    """Make the data plane match CONFIG, all-or-nothing (exit 4 and roll back
    on failure).

    \b
      mupvpp apply examples/lab.yaml --yes
    """
    from mupvpp.config.validate import vpp_loops
    from mupvpp.plan import format_plan, ops_to_json, plan

    if as_json and not yes:
        raise click.UsageError("--json prints no prompt: add --yes to apply")
    desired = _load(config)
    if ctx.vpp:
        for w in vpp_loops(desired):
            click.echo(f"mupvpp: {config}: warning: {w}", err=True)
    with _backend(ctx) as be:
        ops = plan(desired, be.read_state())
        if not as_json:
            click.echo(format_plan(ops))
        if ops and not yes:
            click.confirm("Apply these changes?", abort=True)
        be.apply(ops, desired)
    if as_json:
        _echo_json(ops_to_json(ops))
    elif ops:
        click.echo(f"Applied {len(ops)} changes.")


@cli.command()
@click.argument(
    "what", type=click.Choice(["sids", "policies", "sessions", "counters", "node"])
)
@click.option("--json", "as_json", is_flag=True, help="JSON output.")
@click.pass_obj
def show(ctx: Ctx, what: str, as_json: bool) -> None:
    """Show the applied configuration or counters.

    \b
      mupvpp show sids
      mupvpp --vpp /run/vpp/api.sock show counters --json
    """
    from mupvpp.plan import describe
    from mupvpp.state import intent_to_dict

    if what == "counters":
        with _backend(ctx) as be:
            data = be.counters()
        if as_json:
            _echo_json(data)
        elif not data and not ctx.vpp:
            click.echo(
                "no counters: the embedded engine counts within one run; "
                "`mupvpp replay` and `mupvpp bench` print theirs, and replay "
                "saves its own in --state when it replays the applied CONFIG",
                err=True,
            )
        else:
            for k, v in _flatten(data):
                click.echo(f"{k} {v}")
        return
    applied = read_current(ctx)
    if applied is None and not as_json:
        where = "" if ctx.vpp else f" (state file {ctx.state})"
        click.echo(
            f"nothing applied yet{where}: run 'mupvpp apply CONFIG' first", err=True
        )
        return
    current = applied or Intent(node=Node())
    d = intent_to_dict(current)
    if as_json:
        _echo_json(
            {
                "sids": d["sids"],
                "policies": d["policies"],
                "sessions": d["sessions"],
                "node": d["node"],
            }[what]
        )
        return
    if what == "node":
        n = current.node
        click.echo(f"node {n.name} encap_source {n.encap_source}")
        click.echo(f"  compat: args {n.compat.args}, u_bit {n.compat.u_bit}")
    elif what == "sids":
        for s in current.sids:
            click.echo(f"{s.name:16} {describe('sid', s)}")
        click.echo(f"(Args.Mob.Session: compat.args={current.node.compat.args})")
    elif what == "policies":
        for p in current.policies:
            click.echo(f"{p.name:16} {describe('policy', p)}")
    else:
        for t in current.type1:
            click.echo(f"type1 {t.key:20} {describe('type1', t)}")
        for t in current.type2:
            click.echo(f"type2 {t.key:20} {describe('type2', t)}")


def _flatten(d: Any, prefix: str = ""):
    if isinstance(d, dict):
        for k, v in d.items():
            yield from _flatten(
                v, f"{prefix}{k}." if not isinstance(v, dict) else f"{prefix}{k}."
            )
    else:
        yield prefix.rstrip("."), d


# -- sessions -------------------------------------------------------------------


def _session_change(ctx: Ctx, change) -> None:
    """Read state, change its type1 sessions, validate, plan and apply."""
    from mupvpp.config import validate_intent
    from mupvpp.plan import format_plan, plan

    with _backend(ctx) as be:
        current = be.read_state()
        if current is None:
            where = "" if ctx.vpp else f" (state file {ctx.state})"
            raise InputError(
                f"nothing applied yet{where}: run 'mupvpp apply CONFIG' first"
            )
        desired = dataclasses.replace(current, type1=change(current))
        try:
            validate_intent(desired)
        except IntentError as e:
            raise InputError(
                "; ".join(f"{p.obj}: {p.field}: {p.message}" for p in e.problems)
            ) from None
        ops = plan(desired, current)
        be.apply(ops, desired)
    click.echo(format_plan(ops))


def _int(v, field: str, lo: int, hi: int, why: str = "") -> int:
    try:
        n = int(str(v).strip(), 0)
    except ValueError:
        raise ValueError(f"{field}: {v!r} is not an integer") from None
    if not lo <= n <= hi:
        raise ValueError(f"{field}: {n} is outside {lo}..{hi}{why}")
    return n


def _mk_session(ue_prefix, gnb, teid, qfi, headend, rqi=False) -> Type1Session:
    """A Type 1 session from command-line/CSV strings, with the same range
    checks as the intent loader (InputError names the field)."""
    try:
        try:
            net = ipaddress.ip_network(str(ue_prefix).strip())
        except ValueError as e:
            raise ValueError(f"ue_prefix: {e}") from None
        if net.prefixlen != (32 if net.version == 4 else 64):
            raise ValueError(
                f"ue_prefix: /{net.prefixlen} not allowed (a UE is an IPv4 /32 "
                "or an IPv6 /64)"
            )
        try:
            g = ipaddress.ip_address(str(gnb).strip())
        except ValueError as e:
            raise ValueError(f"gnb: {e}") from None
        return Type1Session(
            ue_prefix=net,
            gnb=g,
            teid=_int(teid, "teid", 1, 2**32 - 1, " (0 is invalid)"),
            qfi=_int(qfi, "qfi", 0, 63),
            rqi=bool(rqi),
            headend=headend,
        )
    except ValueError as e:
        raise InputError(f"session {ue_prefix}: {e}") from None


@cli.group()
def session() -> None:
    """Type 1 sessions (UE -> gNB, TEID, QFI) on a running configuration.

    Sessions need the srv6_mup plugin on VPP (or the embedded engine).
    """


_teid = click.option(
    "--teid", required=True, help="Downlink TEID, 1..2^32-1 (0x.. ok)."
)
_qfi = click.option("--qfi", default="0", show_default=True, help="QFI 0..63.")


@session.command("add")
@click.option("--ue-prefix", required=True, help="UE IPv4 /32 or IPv6 /64.")
@click.option(
    "--gnb",
    required=True,
    help="gNB IPv4 address (H.M.T1ST stamps the End.M.GTP4.E layout; IPv6 "
    "gNBs are not supported yet).",
)
@_teid
@_qfi
@click.option("--headend", required=True, help="Name of an h.t1st SID.")
@click.pass_obj
def session_add(ctx: Ctx, ue_prefix, gnb, teid, qfi, headend) -> None:
    """Add a Type 1 session.

    \b
      mupvpp session add --ue-prefix 10.10.0.3/32 --gnb 192.0.2.10 \\
          --teid 0x102 --qfi 9 --headend downlink
    """
    new = _mk_session(ue_prefix, gnb, teid, qfi, headend)

    def change(cur: Intent):
        if any(t.key == new.key for t in cur.type1):
            raise InputError(f"session {new.key} exists; use 'session handover'")
        return (*cur.type1, new)

    _session_change(ctx, change)


@session.command("del")
@click.option("--ue-prefix", required=True, help="UE prefix of the session.")
@click.pass_obj
def session_del(ctx: Ctx, ue_prefix) -> None:
    """Delete a Type 1 session.

    \b
      mupvpp session del --ue-prefix 10.10.0.3/32
    """
    key = str(_mk_session(ue_prefix, "0.0.0.0", 1, 0, "").ue_prefix)

    def change(cur: Intent):
        if not any(t.key == key for t in cur.type1):
            raise InputError(f"no session {key}")
        return tuple(t for t in cur.type1 if t.key != key)

    _session_change(ctx, change)


@session.command("handover")
@click.option("--ue-prefix", required=True, help="UE prefix of the session.")
@click.option("--gnb", required=True, help="The new gNB IPv4 address.")
@_teid
@click.option("--qfi", default=None, help="New QFI (default: keep).")
@click.pass_obj
def session_handover(ctx: Ctx, ue_prefix, gnb, teid, qfi) -> None:
    """Move a session to a new gNB/TEID (one atomic replace).

    \b
      mupvpp session handover --ue-prefix 10.10.0.1/32 --gnb 192.0.2.11 --teid 0x200
    """
    key = str(_mk_session(ue_prefix, "0.0.0.0", 1, 0, "").ue_prefix)

    def change(cur: Intent):
        out = []
        found = False
        for t in cur.type1:
            if t.key == key:
                found = True
                q = t.qfi if qfi is None else qfi
                t = _mk_session(key, gnb, teid, q, t.headend, t.rqi)
            out.append(t)
        if not found:
            raise InputError(f"no session {key}")
        return tuple(out)

    _session_change(ctx, change)


def read_sessions(path: str) -> list[Type1Session]:
    """Type 1 sessions from YAML (a list, or {type1: [...]}) or CSV with a
    header ue_prefix,gnb,teid[,qfi][,rqi],headend."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")  # Excel starts CSV with a BOM
    except OSError as e:
        raise InputError(f"{path}: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: not UTF-8 text (offset {e.start})") from None
    if p.suffix.lower() != ".csv":
        from mupvpp.config.loader import load_sessions_text

        try:
            return load_sessions_text(text, path)
        except IntentError as e:
            raise InputError(str(e)) from None
    reader = csv.DictReader(text.splitlines())
    known = {"ue_prefix", "gnb", "teid", "qfi", "rqi", "headend"}
    header = set(reader.fieldnames or [])
    missing = {"ue_prefix", "gnb", "teid", "headend"} - header
    if missing or header - known:
        raise InputError(
            f"{path}:1: header must name ue_prefix,gnb,teid,headend "
            f"(optional qfi,rqi), comma-separated; "
            + (f"missing {', '.join(sorted(missing))}" if missing else "")
            + ("; " if missing and header - known else "")
            + (f"unknown {', '.join(sorted(header - known))}" if header - known else "")
        )
    out, problems, seen = [], [], {}
    for i, r in enumerate(reader, 2):
        if None in r:
            problems.append(f"{path}:{i}: more columns than the header names")
            continue
        short = [k for k in reader.fieldnames if r[k] is None]
        if short:
            problems.append(
                f"{path}:{i}: fewer columns than the header names: "
                f"missing {', '.join(short)}"
            )
            continue
        try:
            t = _mk_session(
                r["ue_prefix"],
                r["gnb"],
                r["teid"],
                r.get("qfi") or 0,
                (r["headend"] or "").strip(),
                (r.get("rqi") or "").strip().lower() in ("1", "true", "yes"),
            )
        except InputError as e:
            problems.append(f"{path}:{i}: {e}")
            continue
        if t.key in seen:
            problems.append(f"{path}:{i}: session {t.key} repeats line {seen[t.key]}")
            continue
        seen[t.key] = i
        out.append(t)
    if problems:
        raise InputError("\n".join(problems))
    return out


@session.command("load")
@click.argument("file", type=click.Path(dir_okay=False))
@click.pass_obj
def session_load(ctx: Ctx, file: str) -> None:
    """Add or update many Type 1 sessions from YAML or CSV.

    \b
      mupvpp session load ues.csv    # ue_prefix,gnb,teid,qfi,headend
    """
    sessions = read_sessions(file)

    def change(cur: Intent):
        table = {t.key: t for t in cur.type1}
        for t in sessions:
            table[t.key] = t
        return tuple(table.values())

    _session_change(ctx, change)


# -- errors and extension ----------------------------------------------------------


def _register_extra() -> None:
    """Add commands defined elsewhere: ``mupvpp.replay_cli.command`` and
    ``mupvpp.bench.cli.command`` (click commands), when those modules exist."""
    import importlib

    for mod in ("mupvpp.replay_cli", "mupvpp.bench.cli"):
        try:
            m = importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name is not None and mod.startswith(e.name):
                continue  # the module itself is absent: not written yet
            raise
        cmd = getattr(m, "command", None)
        if isinstance(cmd, click.Command):
            cli.add_command(cmd)


_register_extra()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry: errors print ``mupvpp: error: ...`` and exit
    with the error's exit code."""
    try:
        cli.main(args=argv, prog_name="mupvpp", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except MupError as e:
        for line in str(e).splitlines() or [type(e).__name__]:
            click.echo(f"mupvpp: error: {line}", err=True)
        sys.exit(e.exit_code)
    except ImportError as e:
        if not (e.name or "").startswith("mupvpp") and "mupvpp" not in str(e):
            raise
        from mupvpp.errors import BackendUnavailable

        click.echo(f"mupvpp: error: data plane unavailable: {e}", err=True)
        sys.exit(BackendUnavailable.exit_code)
    sys.exit(0)


if __name__ == "__main__":
    main(sys.argv[1:])
