"""Plan ops -> srv6_mup plugin API calls (pure data, no I/O).

Where VPP runs the srv6_mup plugin (it has ``srv6_mup_localsid_add_del``),
the VPP backend configures everything through the plugin's own API
(``vpp_plugins/srv6_mup/srv6_mup.api``) instead of srv6-mobile's:

====================  ======================================================
plan op               srv6_mup messages
====================  ======================================================
sid (localsid)        srv6_mup_localsid_add_del (+ srv6_mup_map_add_del for
                      each End.MAP entry)
sid (headend)         srv6_mup_policy_add_del (the match prefix)
policy, node          none: compiled into the SIDs that use them (a change
                      replaces those SIDs, see mupvpp.plan)
type1 session         srv6_mup_session_add_del (a replace is one add: the
                      plugin swaps the entry atomically, a handover)
type2 session         srv6_mup_type2_add_del
====================  ======================================================

A call's ``kw`` may name a SID by ``SidRef(name)`` where the plugin wants a
``sid_index``; the executor resolves it (from the plugin's dumps, and from
the reply of each add).  The private key ``_sid`` marks a SID's own add/del
so the executor can record or forget its index.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from mupvpp.model import Behavior, InnerType, Intent, Sid, Type1Session, Type2Session
from mupvpp.plan import Op

Call = tuple[str, dict[str, Any]]
MAX_SEGS = 6  # vl_api_srv6_mup_params_t.segments[6] (MUP_MAX_SEGS)
# vl_api_srv6_mup_flags_t = the core's MUP_F_* bits (vpp_plugins/.../mup.h)
F_VPP_ARGS, F_U_PDU_TYPE, F_UDP4_CSUM, F_ALWAYS_SRH = 0x01, 0x02, 0x04, 0x08
F_FIXED_SRC4, F_FIXED_SRC6 = 0x10, 0x20
HEADENDS = frozenset(
    {
        Behavior.H_M_GTP4_D,
        Behavior.GTP4_DT4,
        Behavior.GTP4_DT6,
        Behavior.GTP4_DT46,
        Behavior.H_ENCAPS,
        Behavior.H_T1ST,
    }
)
PROBE = "srv6_mup_localsid_add_del"  # VPP has the plugin when it has this
_ZERO6 = ipaddress.IPv6Address("::")


@dataclass(frozen=True)
class SidRef:
    """The plugin's sid_index of the SID called ``name``, resolved at run time."""

    name: str


def params(sid: Sid, intent: Intent) -> dict[str, Any]:
    """A validated Sid -> vl_api_srv6_mup_params_t (as engine.sid_params
    fills the core's mup_sid_params_t)."""
    node, b = intent.node, sid.behavior
    flags = 0
    if node.compat.u_bit == "vpp":
        flags |= F_U_PDU_TYPE
    if node.udp4_checksum:
        flags |= F_UDP4_CSUM
    if sid.always_srh:
        flags |= F_ALWAYS_SRH
    p: dict[str, Any] = {
        "behavior": int(b),
        "out_table_id": sid.fib_table,
        "source": _ZERO6,
        "source_len": 0,
        "ipv4_source": ipaddress.IPv4Address(0),
        "n_segments": 0,
        "segments": [_ZERO6] * MAX_SEGS,
        "args_prefix_len": 0,
        "vpp_args_prefix": _ZERO6,
        "nh": int(sid.inner if sid.inner is not None else InnerType.DETECT),
        "pdu_type": sid.pdu_type or 0,
        "limit_group_bits": sid.limit_group_bits,
        "limit_rate_bits": sid.limit_rate_bits,
        "limit_burst": 0,
        "limit_unit_pps": sid.limit_unit_pps or 0,
    }
    if b == Behavior.END_M_GTP4_E:
        if sid.ipv4_source is not None:
            flags |= F_FIXED_SRC4
            p["ipv4_source"] = sid.ipv4_source
        else:
            p["source_len"] = sid.ipv4_source_len or 0
    if b == Behavior.END_M_GTP6_E and sid.source is not None:
        flags |= F_FIXED_SRC6
        p["source"] = sid.source
    if sid.policy:
        pol = intent.policy(sid.policy)
        segs = list(pol.segments)
        p["n_segments"] = len(segs)
        p["segments"] = segs + [_ZERO6] * (MAX_SEGS - len(segs))
        p["args_prefix_len"] = pol.args_len or 0
        if node.compat.args == "vpp" and pol.args_len is not None:
            flags |= F_VPP_ARGS  # VPP's reading: an extra args segment
            p["vpp_args_prefix"] = segs[-1]
        if b == Behavior.H_M_GTP4_D:
            p["source"] = sid.source_prefix.network_address
            p["source_len"] = sid.source_prefix.prefixlen
        else:
            src = sid.source or node.encap_source
            if src is not None:
                p["source"] = src
    p["flags"] = flags
    return p


def sid_calls(sid: Sid, intent: Intent, is_del: bool) -> list[Call]:
    """Install (or remove) one SID or headend."""
    prm = params(sid, intent)
    if sid.behavior in HEADENDS:
        name, where = "srv6_mup_policy_add_del", {"match": sid.prefix}
    else:
        name, where = "srv6_mup_localsid_add_del", {"sid": sid.prefix}
    own = (name, {"is_add": not is_del, **where, "table_id": 0, "params": prm,
                  "_sid": sid.name})  # fmt: skip
    maps = [
        (
            "srv6_mup_map_add_del",
            {
                "sid_index": SidRef(sid.name),
                "is_add": True,
                "match_sid": frm,
                "mapped_sid": to,
            },
        )
        for frm, to in sid.maps
    ]
    # deleting the SID frees its map table with it
    return [own] if is_del else [own, *maps]


def type1_call(s: Type1Session, is_del: bool) -> Call:
    if is_del:
        return ("srv6_mup_session_add_del", {"is_add": False, "ue": s.ue_prefix})
    return (
        "srv6_mup_session_add_del",
        {
            "is_add": True,
            "ue": s.ue_prefix,
            "gnb": s.gnb,
            "teid": s.teid,
            "qfi": s.qfi,
            "rqi": s.rqi,
        },
    )


def type2_call(s: Type2Session, is_del: bool) -> Call:
    kw: dict[str, Any] = {
        "is_add": not is_del,
        "sid_index": SidRef(s.headend),
        "n3": s.n3,
        "teid": s.teid,
    }
    if not is_del:
        kw["segment"] = s.segment
    return ("srv6_mup_type2_add_del", kw)


def op_steps(op: Op, desired: Intent, current: Intent) -> list[tuple[Call, list[Call]]]:
    """(call, the calls that undo it, in order) for one plan op.  Rolling
    back runs the undo lists of the steps done, last step first."""
    if op.kind in ("node", "policy"):
        return []
    if op.kind == "type1":
        if op.action == "del":
            return [(type1_call(op.old, True), [type1_call(op.old, False)])]
        undo = type1_call(op.old, False) if op.old else type1_call(op.obj, True)
        return [(type1_call(op.obj, False), [undo])]
    if op.kind == "type2":
        steps = []
        if op.old is not None and not op.reinstall:  # reinstall: went with its SID
            steps.append((type2_call(op.old, True), [type2_call(op.old, False)]))
        if op.obj is not None:
            steps.append((type2_call(op.obj, False), [type2_call(op.obj, True)]))
        return steps
    steps: list[tuple[Call, list[Call]]] = []
    if op.old is not None:  # a del, or the first half of a replace
        (gone,) = sid_calls(op.old, current, True)
        # undoing it brings back the SID, its map and its Type 2 sessions
        # (an H.M.GTP4.D's Type 2 table goes with it)
        back = sid_calls(op.old, current, False) + [
            type2_call(t, False) for t in current.type2 if t.headend == op.old.name
        ]
        steps.append((gone, back))
    if op.obj is not None:
        own, *maps = sid_calls(op.obj, desired, False)
        steps.append((own, sid_calls(op.obj, desired, True)))
        steps.extend((m, []) for m in maps)  # deleting the SID drops them
    return steps
