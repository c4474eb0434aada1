"""A live VPP through vpp_papi, using upstream messages only.

What upstream VPP (src/vnet/srv6 + src/plugins/srv6-mobile) can express:

==================  =========================================================
behaviour           VPP messages
==================  =========================================================
(node)              sr_set_encap_source
end, end.dt4/dt6    sr_localsid_add_del for a /128 SID, else ``cli_inband``
                    ``sr localsid prefix P behavior ...`` (the API has no
                    prefix length)
end.m.gtp4.e        sr_mobile_localsid_add_del behavior "end.m.gtp4.e"
end.m.gtp6.e        sr_mobile_localsid_add_del behavior "end.m.gtp6.e"
end.m.gtp6.d(.di)   sr_mobile_localsid_add_del behavior "end.m.gtp6.d(.di)"
gtp6.dt4/dt6/dt46   sr_mobile_localsid_add_del behavior "end.m.gtp6.d.dtX"
h.m.gtp4.d          sr_mobile_policy_add behavior "t.m.gtp4.d" + sr_steering
gtp4.dt4/dt6/dt46   sr_mobile_policy_add behavior "t.m.gtp4.dtX" + sr_steering
h.encaps            sr_steering_add_del to the policy's BSID
policy              sr_policy_add / sr_policy_del
end.dt46, end.map,  not in upstream VPP: BackendUnsupported (needs the
end.limit, h.t1st,  srv6_mup plugin)
sessions
==================  =========================================================

Policies and Args.Mob.Session.  VPP's GTP D behaviours look up the SR policy
whose BSID equals their ``sr_prefix`` (the policy's last segment) and
append one more segment built from that prefix, the IPv4 DA and the
arguments.  So a policy whose last segment carries ``/len`` is installed
with BSID = that segment and, in the RFC reading (``compat.args: rfc``), the
other segments only: the appended segment then *is* the RFC's last SID.  In
VPP's reading (``compat.args: vpp``) all segments are installed and VPP's
extra segment follows them.  Other policies get a BSID derived from their
name in ``BSID_BLOCK``.

The mapping from model objects to calls is pure data (``*_to_vpp_calls``)
and unit-tested; :class:`VppBackend` only executes it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import json
import os
from pathlib import Path
from typing import Any

from mupvpp.backends import mup_api
from mupvpp.errors import ApplyError, BackendUnavailable, BackendUnsupported, InputError
from mupvpp.model import Behavior, InnerType, Intent, Node, Policy, Sid
from mupvpp.plan import Op
from mupvpp.state import intent_from_dict, intent_to_dict

Call = tuple[str, dict[str, Any]]

BSID_BLOCK = ipaddress.IPv6Network("fc00:b51d::/32")  # derived BSIDs live here
SR_BEHAVIOR_API_END = 1
SR_BEHAVIOR_API_DT6 = 8
SR_BEHAVIOR_API_DT4 = 9
SR_STEER_API_IPV4 = 4
SR_STEER_API_IPV6 = 6
NHTYPE = {InnerType.DETECT: 0, InnerType.IPV4: 1, InnerType.IPV6: 2}
MAX_SIDS = 16  # vl_api_srv6_sid_list_t.sids[16]
NEEDS_MUP = "needs the srv6_mup plugin; upstream VPP has no such behaviour"

_MOBILE_LOCALSID = {
    Behavior.END_M_GTP4_E: "end.m.gtp4.e",
    Behavior.END_M_GTP6_E: "end.m.gtp6.e",
    Behavior.END_M_GTP6_D: "end.m.gtp6.d",
    Behavior.END_M_GTP6_D_DI: "end.m.gtp6.d.di",
    Behavior.GTP6_DT4: "end.m.gtp6.d.dt4",
    Behavior.GTP6_DT6: "end.m.gtp6.d.dt6",
    Behavior.GTP6_DT46: "end.m.gtp6.d.dt46",
}
_MOBILE_POLICY = {
    Behavior.H_M_GTP4_D: "t.m.gtp4.d",
}
# srv6-mobile's t.m.gtp4.dt4/dt6/dt46 policies kill VPP v26.10 on creation
# (seen here through sr_mobile_policy_add and through the CLI): refused.
CRASHES_UPSTREAM = (
    "crashes upstream VPP's srv6-mobile (t.m.gtp4.dt*, seen on v26.10); "
    "use the srv6_mup plugin"
)
_UPSTREAM_CRASH = {Behavior.GTP4_DT4, Behavior.GTP4_DT6, Behavior.GTP4_DT46}
_PLAIN = {
    Behavior.END: ("end", SR_BEHAVIOR_API_END),
    Behavior.END_DT4: ("end.dt4", SR_BEHAVIOR_API_DT4),
    Behavior.END_DT6: ("end.dt6", SR_BEHAVIOR_API_DT6),
}


# -- pure mapping -------------------------------------------------------------------


def derived_bsid(tag: str) -> ipaddress.IPv6Address:
    """A stable BSID in BSID_BLOCK for ``tag`` (``policy:NAME``, ``sid:NAME``)."""
    h = int.from_bytes(hashlib.sha256(tag.encode()).digest()[:12], "big")
    return BSID_BLOCK.network_address + h


def policy_bsid(p: Policy) -> ipaddress.IPv6Address:
    """The BSID a policy is installed under (see the module docstring)."""
    if p.args_len is not None:
        return p.segments[-1]
    return derived_bsid(f"policy:{p.name}")


def policy_installed_segments(p: Policy, node: Node) -> list[ipaddress.IPv6Address]:
    if p.args_len is not None and node.compat.args == "rfc":
        return list(p.segments[:-1])  # VPP appends the last (args) segment
    return list(p.segments)


def _sid_list(segs: list[ipaddress.IPv6Address]) -> dict:
    # the message carries a fixed array of 16 addresses: pad with ::
    sids = [str(s) for s in segs] + ["::"] * (MAX_SIDS - len(segs))
    return {"num_sids": len(segs), "weight": 1, "sids": sids}


def policy_to_vpp_calls(p: Policy, intent: Intent, is_del: bool = False) -> list[Call]:
    """sr_policy_add / sr_policy_del for ``p`` ([] when nothing to install:
    an args policy of one segment needs no SRH before VPP's own segment)."""
    segs = policy_installed_segments(p, intent.node)
    if not segs:
        return []
    if len(segs) > MAX_SIDS:
        raise BackendUnsupported(f"policy {p.name}: VPP takes at most 16 segments")
    bsid = str(policy_bsid(p))
    if is_del:
        return [("sr_policy_del", {"bsid_addr": bsid, "sr_policy_index": 0xFFFFFFFF})]
    return [
        (
            "sr_policy_add",
            {
                "bsid_addr": bsid,
                "weight": 1,
                "is_encap": True,
                "is_spray": False,
                "fib_table": 0,
                "sids": _sid_list(segs),
            },
        )
    ]


def node_to_vpp_calls(node: Node) -> list[Call]:
    if node.encap_source is None:
        return []
    return [("sr_set_encap_source", {"encaps_source": str(node.encap_source)})]


def tables_to_vpp_calls(intent: Intent) -> list[Call]:
    """Create the IPv4 and IPv6 tables the SIDs name (idempotent in VPP).

    Upstream srv6-mobile crashes VPP when given a table that does not exist,
    so every non-default table is made sure of before any SID is added.
    """
    ids = sorted({s.fib_table for s in intent.sids if s.fib_table})
    return [
        (
            "ip_table_add_del",
            {"is_add": True, "table": {"table_id": t, "is_ip6": v6, "name": ""}},
        )
        for t in ids
        for v6 in (False, True)
    ]


def _steer(bsid: str, s: Sid, is_del: bool) -> Call:
    v4 = s.prefix.version == 4
    return (
        "sr_steering_add_del",
        {
            "is_del": is_del,
            "bsid_addr": bsid,
            "sr_policy_index": 0xFFFFFFFF,
            "table_id": s.fib_table,
            "prefix": str(s.prefix),
            "sw_if_index": 0xFFFFFFFF,
            "traffic_type": SR_STEER_API_IPV4 if v4 else SR_STEER_API_IPV6,
        },
    )


def _args_prefix(s: Sid, intent: Intent) -> str:
    p = intent.policy(s.policy)
    return f"{p.segments[-1]}/{p.args_len}"


def sid_to_vpp_calls(sid: Sid, intent: Intent, is_del: bool = False) -> list[Call]:
    """The VPP calls that install (or remove) ``sid``; pure.

    Raises BackendUnsupported when upstream VPP cannot express it.
    """
    b = sid.behavior
    if sid.source is not None:
        raise BackendUnsupported(
            f"sid {sid.name}: a per-SID IPv6 source ('source') {NEEDS_MUP}"
        )
    if b in _PLAIN:
        cli_name, api_behavior = _PLAIN[b]
        if sid.prefix.prefixlen == 128:
            return [
                (
                    "sr_localsid_add_del",
                    {
                        "is_del": is_del,
                        "localsid": str(sid.prefix.network_address),
                        "end_psp": False,
                        "behavior": api_behavior,
                        "sw_if_index": 0xFFFFFFFF,
                        "vlan_index": 0,
                        "fib_table": sid.fib_table,
                        "nh_addr": "::",
                    },
                )
            ]
        # sr_localsid_add_del carries no prefix length: use the CLI
        table = f" {sid.fib_table}" if b is not Behavior.END else ""
        cmd = f"sr localsid {'del ' if is_del else ''}prefix {sid.prefix} "
        cmd += f"behavior {cli_name}{table}"
        return [("cli_inband", {"cmd": cmd})]
    if b in _MOBILE_LOCALSID:
        args: dict[str, Any] = {
            "is_del": is_del,
            "localsid_prefix": str(sid.prefix),
            "behavior": _MOBILE_LOCALSID[b],
            "fib_table": sid.fib_table,
            "local_fib_table": sid.fib_table,
            "drop_in": False,
            "nhtype": NHTYPE[sid.inner],
            "sr_prefix": "::/0",
            "v4src_addr": str(sid.ipv4_source or "0.0.0.0"),
            "v4src_position": sid.ipv4_source_len or 0,
        }
        if b in (Behavior.END_M_GTP6_D, Behavior.END_M_GTP6_D_DI):
            args["sr_prefix"] = _args_prefix(sid, intent)
        return [("sr_mobile_localsid_add_del", args)]
    if b in _MOBILE_POLICY:
        bsid = str(derived_bsid(f"sid:{sid.name}"))
        if is_del:
            return [
                _steer(bsid, sid, True),
                ("sr_policy_del", {"bsid_addr": bsid, "sr_policy_index": 0xFFFFFFFF}),
            ]
        args = {
            "bsid_addr": bsid,
            "sr_prefix": "::/0",
            "v6src_prefix": "::/0",
            "behavior": _MOBILE_POLICY[b],
            "fib_table": sid.fib_table,
            "local_fib_table": sid.fib_table,
            "encap_src": str(intent.node.encap_source or "::"),
            "drop_in": False,
            "nhtype": NHTYPE[sid.inner],
        }
        if b is Behavior.H_M_GTP4_D:
            args["sr_prefix"] = _args_prefix(sid, intent)
            args["v6src_prefix"] = str(sid.source_prefix)
        return [("sr_mobile_policy_add", args), _steer(bsid, sid, False)]
    if b is Behavior.H_ENCAPS:
        return [_steer(str(policy_bsid(intent.policy(sid.policy))), sid, is_del)]
    if b in _UPSTREAM_CRASH:
        raise BackendUnsupported(
            f"sid {sid.name}: {b.key} ({b.rfc_name}) {CRASHES_UPSTREAM}"
        )
    raise BackendUnsupported(f"sid {sid.name}: {b.key} ({b.rfc_name}) {NEEDS_MUP}")


def op_to_vpp_calls(op: Op, desired: Intent, current: Intent) -> list[Call]:
    """Calls for one plan op.  Replacement = remove the old, install the new.

    ``current`` resolves the old object's references, ``desired`` the new's.
    """
    return [call for call, _ in op_to_vpp_steps(op, desired, current)]


def op_to_vpp_steps(
    op: Op, desired: Intent, current: Intent
) -> list[tuple[Call, Call | None]]:
    """(call, the call that undoes it) for one plan op; pure."""
    if op.kind == "node":
        return []  # the encap source is set by apply's prelude
    if op.kind in ("type1", "type2"):
        raise BackendUnsupported(
            f"{op.kind} session {op.key}: MUP sessions {NEEDS_MUP} "
            "(start VPP with the srv6_mup plugin, or use the embedded engine)"
        )
    conv = policy_to_vpp_calls if op.kind == "policy" else sid_to_vpp_calls
    steps: list[tuple[Call, Call | None]] = []
    for obj, intent, is_del in ((op.old, current, True), (op.obj, desired, False)):
        if obj is None:
            continue
        calls = conv(obj, intent, is_del=is_del)
        inverse: list = conv(obj, intent, is_del=not is_del)
        if len(inverse) != len(calls):  # pragma: no cover - shapes match
            inverse = [None] * len(calls)
        # removal undoes installation in reverse order, and vice versa
        steps += list(zip(calls, reversed(inverse), strict=True))
    return steps


# -- the backend --------------------------------------------------------------------


# runs of at least this many Type 1 ops go through mupvpp.backends.pipe
PIPE_MIN = 8


class VppBackend:
    """A live VPP over its binary API socket (``--vpp SOCKET``).

    VPP knows SIDs and policies but not our names, so the applied intent is
    kept in ``state_path`` (the same JSON as the embedded engine) and
    :meth:`read_state` checks it against ``show sr localsids``: a SID VPP
    no longer has is left out, so the next plan installs it again.
    """

    def __init__(
        self,
        socket: str,
        state_path: str | None = None,
        timeout: float = 5.0,
        api_dir: str | None = None,
    ) -> None:
        self.socket = socket
        self.state_path = Path(state_path) if state_path else None
        self.timeout = timeout
        self.api_dir = api_dir
        self.vpp = None

    # -- connection

    def connect(self) -> None:
        if self.vpp is not None:
            return
        if not os.path.exists(self.socket):
            raise BackendUnavailable(
                f"VPP API socket {self.socket} does not exist: is VPP running "
                "with 'socksvr { socket-name ... }' in its startup config?"
            )
        try:
            from vpp_papi import VPPApiClient
        except ImportError as e:  # pragma: no cover - a declared dependency
            raise BackendUnavailable(f"vpp_papi is not installed: {e}") from None
        try:
            if self.api_dir:
                files = sorted(str(p) for p in Path(self.api_dir).rglob("*.api.json"))
                if not files:
                    raise BackendUnavailable(
                        f"--api-dir {self.api_dir}: no *.api.json files found "
                        "there (searched recursively)"
                    )
                client = VPPApiClient(
                    apifiles=files,
                    use_socket=True,
                    server_address=self.socket,
                    read_timeout=self.timeout,
                )
            else:  # fetch the API definitions from VPP itself
                client = VPPApiClient(
                    use_socket=True,
                    server_address=self.socket,
                    read_timeout=self.timeout,
                    bootstrapapi=True,
                )
            client.connect("mupvpp")
        except BackendUnavailable:
            raise
        except Exception as e:  # vpp_papi raises many types; all mean the same
            raise BackendUnavailable(
                f"cannot connect to VPP at {self.socket}: {type(e).__name__}: {e}"
            ) from None
        self.vpp = client
        if self.api_dir:
            self._check_api_dir()

    def _check_api_dir(self) -> None:
        """VPP runs the srv6_mup plugin (its message table says so) but the
        --api-dir definitions lack it: everything would silently take the
        upstream-API path."""
        table = getattr(getattr(self.vpp, "transport", None), "message_table", {})
        if hasattr(self.vpp.api, mup_api.PROBE):
            return
        if any(k.startswith("srv6_mup_") for k in table):
            self.close()
            raise BackendUnavailable(
                f"--api-dir {self.api_dir} lacks srv6_mup.api.json, but VPP at "
                f"{self.socket} runs the srv6_mup plugin: add it (from the "
                "plugin build: build/plugin/srv6_mup/) or leave out --api-dir"
            )

    def close(self) -> None:
        if self.vpp is not None:
            try:
                self.vpp.disconnect()
            except OSError:  # VPP died: what it died during is the error
                pass
            finally:
                self.vpp = None

    def __enter__(self) -> VppBackend:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def has_message(self, name: str) -> bool:
        self.connect()
        return hasattr(self.vpp.api, name)

    def _send(self, name: str, **kw: Any) -> Any:
        """Send one message (a dump: its list of replies) as it is, VPP dying
        or hanging during it (vpp_papi's VppTransportSocketIOError and
        VPPIOError are OSErrors) raising BackendUnavailable naming the
        socket; AttributeError if VPP lacks the message."""
        self.connect()
        fn = getattr(self.vpp.api, name)
        try:
            return fn(**kw)
        except (TimeoutError, OSError) as e:
            raise BackendUnavailable(
                f"VPP at {self.socket}: {name}: {type(e).__name__}: {e}"
            ) from None

    def call(self, name: str, kw: dict[str, Any]) -> Any:
        """Send one message; raise BackendUnsupported if VPP lacks it, and
        RuntimeError if VPP refuses it."""
        self.connect()
        if not hasattr(self.vpp.api, name):
            plugin = "srv6mobile_plugin.so" if "mobile" in name else "its SRv6 support"
            raise BackendUnsupported(f"VPP has no API message {name!r} (load {plugin})")
        r = self._send(name, **kw)
        if name == "cli_inband":
            reply = (r.reply or "").strip()
            if r.retval != 0 or reply:
                raise RuntimeError(f"'{kw['cmd']}': {reply or r.retval}")
            return r
        if getattr(r, "retval", 0) != 0:
            raise RuntimeError(f"{name} returned retval {r.retval}")
        return r

    def cli(self, cmd: str) -> str:
        self.connect()
        if not hasattr(self.vpp.api, "cli_inband"):
            raise BackendUnsupported("VPP has no API message 'cli_inband'")
        return self._send("cli_inband", cmd=cmd).reply

    # -- the protocol

    @property
    def has_mup(self) -> bool:
        """VPP runs the srv6_mup plugin: everything goes through its API."""
        return self.has_message(mup_api.PROBE)

    def _saved_intent(self) -> Intent | None:
        if self.state_path is None or not self.state_path.exists():
            return None
        try:
            text = self.state_path.read_text()
        except OSError as e:
            raise InputError(
                f"state file {self.state_path}: cannot read: {e.strerror or e}"
            ) from None
        try:
            return intent_from_dict(json.loads(text))
        except (ValueError, TypeError, KeyError, AttributeError) as e:
            raise InputError(
                f"{self.state_path}: not a mupvpp state file: {e}"
            ) from None

    def _mup_indexes(self, intent: Intent | None) -> dict[str, int]:
        """Our SID names -> the plugin's sid_index, from its dumps."""
        if intent is None:
            return {}
        seen: dict[tuple[str, str], int] = {}
        for d in self._send("srv6_mup_localsid_dump"):
            seen[("l", str(d.prefix))] = d.sid_index
        for d in self._send("srv6_mup_policy_dump"):
            seen[("h", str(d.prefix))] = d.sid_index
        out = {}
        for s in intent.sids:
            k = ("h" if s.behavior in mup_api.HEADENDS else "l", str(s.prefix))
            if k in seen:
                out[s.name] = seen[k]
        return out

    def _read_state_mup(self, intent: Intent) -> Intent:
        """The saved intent less what the plugin no longer has (a VPP that
        restarted has nothing: the next plan installs it all again)."""
        idx = self._mup_indexes(intent)
        t1 = {str(d.ue) for d in self._send("srv6_mup_session_dump")}
        t2 = {(str(d.n3), d.teid) for d in self._send("srv6_mup_type2_dump")}
        return dataclasses.replace(
            intent,
            sids=tuple(s for s in intent.sids if s.name in idx),
            type1=tuple(t for t in intent.type1 if str(t.ue_prefix) in t1),
            type2=tuple(
                t
                for t in intent.type2
                if t.headend in idx and (str(t.n3), t.teid) in t2
            ),
        )

    def read_state(self) -> Intent | None:
        self.connect()
        intent = self._saved_intent()
        if intent is None:
            return None
        if self.has_mup:
            return self._read_state_mup(intent)
        shown = self.cli("show sr localsids")
        keep = []
        for s in intent.sids:
            in_vpp = s.behavior in _MOBILE_POLICY or s.behavior is Behavior.H_ENCAPS
            if in_vpp or str(s.prefix.network_address) in shown:
                keep.append(s)
        return Intent(
            node=intent.node,
            policies=intent.policies,
            sids=tuple(keep),
            type1=intent.type1,
            type2=intent.type2,
            source=intent.source,
        )

    def _check_state_writable(self) -> None:
        """InputError unless the state file can be written: checked before
        VPP is changed, not found out when saving after it was."""
        p = self.state_path
        if p is None:
            return

        def bad(why: str) -> InputError:
            return InputError(f"--state {p}: cannot write the state file: {why}")

        if p.is_dir():
            raise bad("it is a directory")
        if not p.parent.is_dir():
            raise bad(f"directory {p.parent} does not exist")
        tmp = p.with_suffix(".tmp")  # what _save writes, then renames
        existed = tmp.exists()
        try:
            with open(tmp, "ab"):
                pass
        except OSError as e:
            raise bad(e.strerror or str(e)) from None
        if not existed:
            tmp.unlink(missing_ok=True)

    def apply(self, ops: list[Op], desired: Intent) -> None:
        self._check_state_writable()
        current = self.read_state() or Intent(node=desired.node)
        if self.has_mup:
            return self._apply_mup(ops, desired, current)
        # map everything first: nothing is touched if any op is unsupported
        planned = [(op, op_to_vpp_steps(op, desired, current)) for op in ops]
        prelude = node_to_vpp_calls(desired.node) + tables_to_vpp_calls(desired)
        names = {c[0][0] for _, steps in planned for c in steps}
        for name in names | {c[0] for c in prelude}:
            if not self.has_message(name):
                raise BackendUnsupported(
                    f"VPP has no API message {name!r} (is the srv6-mobile plugin "
                    "loaded?)"
                )
        done: list[Call | None] = []
        try:
            for call in prelude:
                self.call(*call)
            for op, steps in planned:
                for call, undo in steps:
                    try:
                        self.call(*call)
                    except (RuntimeError, BackendUnsupported) as e:
                        raise ApplyError(
                            f"{op.action} {op.kind} {op.key} failed at "
                            f"{call[0]}: {e}; rolled back",
                            op,
                        ) from None
                    done.append(undo)
        except (ApplyError, KeyboardInterrupt):
            self._undo(done)
            raise
        self._save(desired)

    def _apply_mup(self, ops: list[Op], desired: Intent, current: Intent) -> None:
        """Carry out ops through the srv6_mup plugin API, all or nothing."""
        idx = self._mup_indexes(current)
        planned = [(op, mup_api.op_steps(op, desired, current)) for op in ops]
        done: list[list[Call]] = []
        for call in tables_to_vpp_calls(desired):  # idempotent, kept
            self.call(*call)

        def run(call: Call) -> None:
            name, kw = call
            own = kw.get("_sid")
            kw = {k: v for k, v in kw.items() if k != "_sid"}
            for k, v in kw.items():
                if isinstance(v, mup_api.SidRef):
                    if v.name not in idx:
                        raise RuntimeError(f"SID {v.name!r} is not installed")
                    kw[k] = idx[v.name]
            r = self.call(name, kw)
            if own is not None:
                if kw["is_add"]:
                    idx[own] = r.sid_index
                else:
                    idx.pop(own, None)

        try:
            i = 0
            while i < len(planned):
                j = i
                while j < len(planned) and planned[j][0].kind == "type1":
                    j += 1
                if j - i >= PIPE_MIN:  # a run of Type 1 sessions: pipelined
                    self._type1_run(planned[i:j], done)
                    i = j
                    continue
                op, steps = planned[i]
                i += 1
                for call, undo in steps:
                    try:
                        run(call)
                    except (RuntimeError, BackendUnsupported) as e:
                        raise ApplyError(
                            f"{op.action} {op.kind} {op.key} failed at "
                            f"{call[0]}: {e}{self._mup_reason()}; rolled back",
                            op,
                        ) from None
                    done.append(undo)
        except (ApplyError, KeyboardInterrupt):
            for undo in reversed(done):
                for call in undo:
                    try:
                        run(call)
                    except Exception:  # best effort: keep undoing the rest
                        pass
            raise
        self._save(desired)

    def _type1_run(self, planned: list, done: list[list[Call]]) -> None:
        """Type 1 ops (all adds/replaces, or all deletes, in a row) through
        the pipelined writer; every success is recorded for the rollback,
        the first refusal raises ApplyError."""
        from mupvpp.backends.pipe import PipeError, write_type1

        k = 0
        while k < len(planned):
            is_del = planned[k][0].action == "del"
            m = k
            while m < len(planned) and (planned[m][0].action == "del") == is_del:
                m += 1
            group = planned[k:m]
            sessions = [op.old if is_del else op.obj for op, _ in group]
            try:
                rvs = write_type1(self.vpp, sessions, is_add=not is_del)
            except PipeError as e:
                raise BackendUnavailable(f"VPP at {self.socket}: {e}") from None
            except KeyboardInterrupt:
                # which of the run VPP took is unknown: undo all of it
                # (an undo of what never arrived fails and is skipped)
                done.extend(steps[0][1] for _, steps in group)
                raise
            bad = None
            for (op, steps), rv in zip(group, rvs, strict=True):
                if rv == 0:
                    done.append(steps[0][1])
                elif bad is None:
                    bad = (op, steps[0][0], rv)
            if bad is not None:
                op, call, rv = bad
                raise ApplyError(
                    f"{op.action} {op.kind} {op.key} failed at {call[0]}: "
                    f"{call[0]} returned retval {rv}{self._mup_reason()}; "
                    "rolled back",
                    op,
                )
            k = m

    def _mup_reason(self) -> str:
        """The plugin logs why it refused an add (the API reply has only
        retval): the newest srv6-mup line of VPP's log, skipping VPP's
        '--- message(s) throttled ---' markers."""
        try:
            text = self.cli_text("show logging")
        except Exception:  # the log is a courtesy; the failure stands
            return ""
        reasons = [
            ln.split("srv6-mup", 1)[-1].strip(" :]")
            for ln in text.splitlines()
            if "srv6-mup" in ln
        ]
        reasons = [r for r in reasons if r and "message(s) throttled" not in r]
        return f" ({reasons[-1]})" if reasons else ""

    def cli_text(self, cmd: str) -> str:
        """cli_inband's reply, whatever it says."""
        self.connect()
        return self._send("cli_inband", cmd=cmd).reply or ""

    def _undo(self, done: list[Call | None]) -> None:
        for inv in reversed(done):
            if inv is not None:
                try:
                    self.call(*inv)
                except Exception:  # best effort: keep undoing the rest
                    pass

    def _save(self, intent: Intent) -> None:
        if self.state_path is None:
            return
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(intent_to_dict(intent), indent=1))
        tmp.replace(self.state_path)

    def counters(self) -> dict:
        if self.has_mup:
            return self._counters_mup()
        text = self.cli("show sr localsids")
        return {"vpp": {"show sr localsids": text.splitlines()}}

    def _counters_mup(self) -> dict:
        """{sid name: {reason: packets, ..., 'bytes': n}}, as the engine's."""
        from mupvpp.engine import ERROR_NAMES

        intent = self._saved_intent()
        names = {v: k for k, v in self._mup_indexes(intent).items()}
        out = {}
        for si, name in sorted(names.items()):
            for d in self._send("srv6_mup_counters_dump", sid_index=si):
                c = {"forwarded": d.forwarded_packets} if d.forwarded_packets else {}
                for i in range(1, min(d.n_errors, len(ERROR_NAMES))):
                    if d.drops[i]:
                        c[ERROR_NAMES[i]] = d.drops[i]
                c["bytes"] = d.forwarded_bytes
                out[name] = c
        return out
