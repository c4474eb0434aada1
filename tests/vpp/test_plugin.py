"""srv6_mup VPP plugin: golden vectors through real VPP graph nodes, API
round trips, the SR framework CLI, counters by name, and a handover under
traffic.

Each golden vector file (tests/vectors/*.json, RFC section named in each
vector) carries an intent; the intent is loaded with mupvpp's own loader and
turned into srv6_mup API calls exactly the way the embedded engine turns it
into mup_sid_params_t (mupvpp.engine.sid_params).  Packets enter on pg0;
forwarded ones must leave pg1 byte for byte as the vector says (after the
14-octet Ethernet header); dropped ones must be counted under the vector's
reason in srv6_mup_counters_details.

Skipped with a reason when MUPVPP_VPP_PREFIX is not set (no VPP).
"""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from pathlib import Path

import pytest

from mupvpp.backends.mup_api import HEADENDS, params
from mupvpp.config import load_intent_text
from mupvpp.model import Behavior

VECTORS = Path(__file__).resolve().parents[1] / "vectors"

ERRORS = [  # foreach_mup_error order; index = vl_api_srv6_mup_error_t
    "forwarded", "no_sid", "ip4_truncated", "ip4_malformed", "ip4_fragment",
    "ip6_truncated", "ip6_malformed", "ip6_bad_ext_chain", "not_gtpu",
    "udp_bad_length", "gtpu_truncated", "gtpu_bad_version", "gtpu_bad_length",
    "gtpu_bad_extension", "gtpu_unknown_ext", "gtpu_bad_msg_type",
    "srh_missing", "srh_truncated", "srh_malformed", "srh_bad_segments_left",
    "hop_limit_exceeded", "no_headroom", "bad_inner", "inner_af_mismatch",
    "map_miss", "rate_limited", "session_miss", "gtpu_control_local",
    "not_srv6", "too_big", "ip6_fragment",
]  # fmt: skip
RV_OK, RV_NO_SUCH_ENTRY, RV_INVALID, RV_EXISTS = 0, -6, -7, -81


def configure(api, intent) -> dict[str, int]:
    """Install an intent through the plugin API; name -> sid_index."""
    idx = {}
    for sid in intent.sids:
        prm = params(sid, intent)
        if sid.behavior in HEADENDS:
            r = api.srv6_mup_policy_add_del(
                is_add=True, match=sid.prefix, table_id=0, params=prm
            )
        else:
            r = api.srv6_mup_localsid_add_del(
                is_add=True, sid=sid.prefix, table_id=0, params=prm
            )
        assert r.retval == RV_OK, f"{sid.name}: retval {r.retval}"
        idx[sid.name] = r.sid_index
        for frm, to in sid.maps:
            r = api.srv6_mup_map_add_del(
                sid_index=r.sid_index, is_add=True, match_sid=frm, mapped_sid=to
            )
            assert r.retval == RV_OK
    for s in intent.type1:
        r = api.srv6_mup_session_add_del(
            is_add=True, ue=s.ue_prefix, gnb=s.gnb, teid=s.teid, qfi=s.qfi, rqi=s.rqi
        )
        assert r.retval == RV_OK, f"session {s.ue_prefix}: retval {r.retval}"
    for s in intent.type2:
        r = api.srv6_mup_type2_add_del(
            is_add=True,
            sid_index=idx[s.headend],
            n3=s.n3,
            teid=s.teid,
            segment=s.segment,
        )
        assert r.retval == RV_OK, f"type2 {s.n3}/{s.teid}: retval {r.retval}"
    if intent.type2:
        got = {(str(d.n3), d.teid, str(d.segment)) for d in api.srv6_mup_type2_dump()}
        assert got == {(str(s.n3), s.teid, str(s.segment)) for s in intent.type2}
    return idx


def unconfigure(api, intent, idx: dict[str, int]) -> None:
    for s in intent.type2:
        r = api.srv6_mup_type2_add_del(
            is_add=False, sid_index=idx[s.headend], n3=s.n3, teid=s.teid
        )
        assert r.retval == RV_OK
    for s in intent.type1:
        r = api.srv6_mup_session_add_del(is_add=False, ue=s.ue_prefix)
        assert r.retval == RV_OK
    for sid in intent.sids:
        prm = params(sid, intent)
        if sid.behavior in HEADENDS:
            r = api.srv6_mup_policy_add_del(
                is_add=False, match=sid.prefix, table_id=0, params=prm
            )
        else:
            r = api.srv6_mup_localsid_add_del(
                is_add=False, sid=sid.prefix, table_id=0, params=prm
            )
        assert r.retval == RV_OK, f"del {sid.name}: retval {r.retval}"
    assert api.srv6_mup_localsid_dump() == []
    assert api.srv6_mup_policy_dump() == []
    assert api.srv6_mup_session_dump() == []
    assert api.srv6_mup_type2_dump() == []


def drops(api, sid_index) -> dict[str, int]:
    (d,) = api.srv6_mup_counters_dump(sid_index=sid_index)
    return {ERRORS[i]: d.drops[i] for i in range(1, d.n_errors) if d.drops[i]}


def forwarded(api, sid_index) -> int:
    (d,) = api.srv6_mup_counters_dump(sid_index=sid_index)
    return d.forwarded_packets


# ---------------------------------------------------------------- loading


def test_plugin_loaded(vpp):
    assert "srv6_mup_plugin.so" in vpp.cli("show plugins")
    beh = vpp.cli("show sr localsids behaviors")
    for key in ("mup.end.m.gtp4.e", "mup.end.m.gtp6.e", "mup.end.m.gtp6.d"):
        assert key in beh, beh
    # srv6-mobile's own names stay theirs
    assert "srv6-mup-end-m-gtp4-e" in vpp.cli("show node srv6-mup-end-m-gtp4-e")


# ---------------------------------------------------------------- vectors


def _vector_files():
    return sorted(VECTORS.glob("*.json")) if VECTORS.is_dir() else []


@pytest.mark.parametrize("path", _vector_files(), ids=lambda p: p.stem)
def test_vectors(vpp, path):
    vectors = json.loads(path.read_text())
    groups: dict[str, list[dict]] = {}
    for v in vectors:
        groups.setdefault(v["intent"], []).append(v)
    checked = 0
    for text, vecs in groups.items():
        intent = load_intent_text(text, f"{path.name}")
        if intent.node.compat.args == "vpp":
            continue  # VPP args reading: not in these params (engine neither)
        idx = configure(vpp.api, intent)
        try:
            fwd = [v for v in vecs if v["error"] == "forwarded"]
            out = vpp.send([bytes.fromhex(v["input"]) for v in fwd], len(fwd))
            assert len(out) == len(fwd), (
                f"{path.name}: {len(out)} of {len(fwd)} forwarded\n"
                + vpp.cli("show srv6-mup counters")
                + vpp.cli("show errors")
            )
            # IPv4 and IPv6 results take different lookup nodes, so a
            # frame may leave in another order: compare as multisets
            left = [o.hex() for o in out]
            for v in fwd:
                assert v["output"] in left, (
                    f"{v['name']} ({v.get('rfc')}): expected\n{v['output']}\n"
                    f"not among what left pg1:\n" + "\n".join(left)
                )
                left.remove(v["output"])
                checked += 1
            for v in vecs:
                if v["error"] == "forwarded":
                    continue
                si = idx[v["sid"]]
                before = drops(vpp.api, si).get(v["error"], 0)
                got = vpp.send([bytes.fromhex(v["input"])], 0)
                assert got == [], f"{v['name']}: expected a drop"
                after = drops(vpp.api, si).get(v["error"], 0)
                assert after == before + 1, (
                    f"{v['name']}: {v['error']} not counted: {drops(vpp.api, si)}"
                )
                checked += 1
        finally:
            unconfigure(vpp.api, intent, idx)
    if not checked:
        pytest.skip(f"{path.name}: no vector this plugin test can run")


# ---------------------------------------------------------------- API


GTP4E = {
    "behavior": int(Behavior.END_M_GTP4_E),
    "flags": 0,
    "out_table_id": 0,
    "source": "::",
    "source_len": 64,
    "ipv4_source": "0.0.0.0",
    "n_segments": 0,
    "segments": ["::"] * 6,
    "args_prefix_len": 0,
    "vpp_args_prefix": "::",
    "nh": 0,
    "pdu_type": 0,
    "limit_group_bits": 0,
    "limit_rate_bits": 0,
    "limit_burst": 0,
    "limit_unit_pps": 0,
}


def test_api_localsid_round_trip(vpp):
    api = vpp.api
    sid = ipaddress.IPv6Network("fc00:0:a1::/48")
    r = api.srv6_mup_localsid_add_del(is_add=True, sid=sid, table_id=0, params=GTP4E)
    assert r.retval == RV_OK
    (d,) = api.srv6_mup_localsid_dump()
    assert d.sid_index == r.sid_index
    assert str(d.prefix) == str(sid)
    assert d.params.behavior == Behavior.END_M_GTP4_E
    assert d.params.source_len == 64
    assert "mup.end.m.gtp4.e" in vpp.cli(
        "show sr localsids"
    ) or "End.M.GTP4.E" in vpp.cli("show sr localsids")
    assert "args rfc (last SID), u-bit rfc" in vpp.cli("show srv6-mup sids")
    # the same SID twice: refused, with a reply
    r2 = api.srv6_mup_localsid_add_del(is_add=True, sid=sid, table_id=0, params=GTP4E)
    assert r2.retval == RV_EXISTS
    r = api.srv6_mup_localsid_add_del(is_add=False, sid=sid, table_id=0, params=GTP4E)
    assert r.retval == RV_OK
    assert api.srv6_mup_localsid_dump() == []
    r = api.srv6_mup_localsid_add_del(is_add=False, sid=sid, table_id=0, params=GTP4E)
    assert r.retval == RV_NO_SUCH_ENTRY


def test_api_errors_reply(vpp):
    api = vpp.api
    bad = dict(GTP4E, behavior=99)
    r = api.srv6_mup_localsid_add_del(
        is_add=True, sid="fc00:0:a2::/48", table_id=0, params=bad
    )
    assert r.retval == RV_INVALID
    # GTP4.E locator /64 leaves no room for IPv4 DA + args: the core refuses
    r = api.srv6_mup_localsid_add_del(
        is_add=True, sid="fc00:0:a2::/64", table_id=0, params=GTP4E
    )
    assert r.retval == RV_INVALID
    # a headend as a localsid
    r = api.srv6_mup_localsid_add_del(
        is_add=True,
        sid="fc00:0:a2::/48",
        table_id=0,
        params=dict(GTP4E, behavior=int(Behavior.H_M_GTP4_D)),
    )
    assert r.retval == RV_INVALID
    r = api.srv6_mup_localsid_add_del(
        is_add=True, sid="fc00:0:a2::/48", table_id=777, params=GTP4E
    )
    assert r.retval != RV_OK
    r = api.srv6_mup_session_add_del(
        is_add=True, ue="10.9.9.9/32", gnb="192.0.2.1", teid=0, qfi=1
    )
    assert r.retval == RV_INVALID
    r = api.srv6_mup_map_add_del(
        sid_index=12345, is_add=True, match_sid="::1", mapped_sid="::2"
    )
    assert r.retval == RV_NO_SUCH_ENTRY
    assert api.srv6_mup_localsid_dump() == []


def test_api_policy_and_sessions_round_trip(vpp):
    api = vpp.api
    prm = dict(
        GTP4E,
        behavior=int(Behavior.H_T1ST),
        source="fc00:0:ff::1",
        source_len=0,
        n_segments=1,
        segments=["fc00:0:4e::"] + ["::"] * 5,
        args_prefix_len=48,
    )
    r = api.srv6_mup_policy_add_del(
        is_add=True, match="10.20.0.0/16", table_id=0, params=prm
    )
    assert r.retval == RV_OK
    (d,) = api.srv6_mup_policy_dump()
    assert str(d.prefix) == "10.20.0.0/16"
    assert d.params.behavior == Behavior.H_T1ST
    r = api.srv6_mup_session_add_del(
        is_add=True, ue="10.20.0.5/32", gnb="192.0.2.10", teid=100, qfi=9
    )
    assert (r.retval, r.replaced) == (RV_OK, False)
    r = api.srv6_mup_session_add_del(
        is_add=True, ue="10.20.0.5/32", gnb="192.0.2.11", teid=101, qfi=9
    )
    assert (r.retval, r.replaced) == (RV_OK, True)
    (s,) = api.srv6_mup_session_dump()
    assert (str(s.ue), str(s.gnb), s.teid, s.qfi) == (
        "10.20.0.5/32",
        "192.0.2.11",
        101,
        9,
    )
    assert api.srv6_mup_session_add_del(is_add=False, ue="10.20.0.5/32").retval == 0
    assert api.srv6_mup_session_dump() == []
    r = api.srv6_mup_policy_add_del(
        is_add=False, match="10.20.0.0/16", table_id=0, params=prm
    )
    assert r.retval == RV_OK
    assert api.srv6_mup_policy_dump() == []


# ---------------------------------------------------------------- CLI


def test_cli_sr_localsid(vpp):
    vpp.cli_ok(
        "sr localsid prefix fc00:0:b1::/48 behavior mup.end.m.gtp4.e "
        "source-len 64 pdu-type ul"
    )
    sids = vpp.cli("show srv6-mup sids")
    assert "End.M.GTP4.E fc00:0:b1::/48" in sids
    assert "args rfc (last SID), u-bit rfc (0, ignored)" in sids
    assert "fc00:0:b1::" in vpp.cli("show sr localsids")
    # the core's check runs for the CLI too
    out = vpp.cli("sr localsid prefix fc00:0:b2::/64 behavior mup.end.m.gtp4.e")
    assert "error" in out.lower()
    vpp.cli_ok("sr localsid del prefix fc00:0:b1::/48")
    assert "srv6-mup SIDs: 0" in vpp.cli("show srv6-mup sids")
    vpp.cli_ok(
        "srv6-mup policy add match 10.30.0.0/16 behavior h.t1st "
        "source fc00:0:ff::1 segment fc00:0:4e::/48"
    )
    vpp.cli_ok("srv6-mup session add ue 10.30.0.1 gnb 192.0.2.1 teid 7 qfi 1")
    assert "teid 7" in vpp.cli("show srv6-mup sessions")
    vpp.cli_ok("srv6-mup session del ue 10.30.0.1")
    vpp.cli_ok("srv6-mup policy del match 10.30.0.0/16")
    assert "srv6-mup SIDs: 0" in vpp.cli("show srv6-mup sids")


# ---------------------------------------------------------------- handover


def _udp4(src: str, dst: str, payload: bytes = b"x" * 32) -> bytes:
    import struct

    udp = struct.pack("!HHHH", 1234, 5678, 8 + len(payload), 0) + payload
    tot = 20 + len(udp)
    h = bytearray(
        struct.pack(
            "!BBHHHBBH4s4s",
            0x45,
            0,
            tot,
            0,
            0,
            64,
            17,
            0,
            ipaddress.IPv4Address(src).packed,
            ipaddress.IPv4Address(dst).packed,
        )
    )
    s = sum(struct.unpack("!10H", bytes(h)))
    s = (s & 0xFFFF) + (s >> 16)
    s = (s & 0xFFFF) + (s >> 16)
    h[10:12] = struct.pack("!H", ~s & 0xFFFF)
    return bytes(h) + udp


def test_handover_under_traffic_zero_loss(vpp):
    """Replace a Type 1 session 40 times while 20000 packets flow: every
    packet leaves, each stamped with one of the two gNBs (never none)."""
    api = vpp.api
    prm = dict(
        GTP4E,
        behavior=int(Behavior.H_T1ST),
        source="fc00:0:ff::1",
        source_len=0,
        n_segments=1,
        segments=["fc00:0:4e::"] + ["::"] * 5,
        args_prefix_len=48,
    )
    assert (
        api.srv6_mup_policy_add_del(
            is_add=True, match="10.40.0.0/16", table_id=0, params=prm
        ).retval
        == 0
    )
    gnbs = ["192.0.2.21", "192.0.2.22"]
    api.srv6_mup_session_add_del(
        is_add=True, ue="10.40.0.1/32", gnb=gnbs[0], teid=1, qfi=1
    )
    n = 20000
    pkt = _udp4("10.0.0.9", "10.40.0.1")
    stop = threading.Event()
    swaps = []

    def flip():
        i = 0
        while not stop.is_set() and i < 40:
            i += 1
            r = api.srv6_mup_session_add_del(
                is_add=True, ue="10.40.0.1/32", gnb=gnbs[i % 2], teid=1 + i % 2, qfi=1
            )
            swaps.append(r.replaced)
            time.sleep(0.005)

    t = threading.Thread(target=flip)
    t.start()
    try:
        out = vpp.send_stream(pkt, n, rate=100000)
    finally:
        stop.set()
        t.join()
    try:
        assert swaps and all(swaps)
        assert len(out) == n, f"lost {n - len(out)} of {n}"
        # End.M.GTP4.E layout: gNB IPv4 at bits 48..80 of the DA
        seen = {bytes(o[24 + 6 : 24 + 10]) for o in out}
        allowed = {ipaddress.IPv4Address(g).packed for g in gnbs}
        assert seen <= allowed
    finally:
        api.srv6_mup_session_add_del(is_add=False, ue="10.40.0.1/32")
        api.srv6_mup_policy_add_del(
            is_add=False, match="10.40.0.0/16", table_id=0, params=prm
        )


def end_markers(vpp) -> tuple[int, int]:
    """(sent, not sent) from show srv6-mup counters (the VPP is shared)."""
    import re

    m = re.search(
        r"end markers sent (\d+), not sent (\d+)", vpp.cli("show srv6-mup counters")
    )
    return int(m.group(1)), int(m.group(2))


def test_handover_sends_end_marker_on_the_old_path(vpp):
    """A Type 1 gNB/TEID change sends one End Marker toward the old gNB
    (3GPP TS 29.281 section 7.3.2) in the SRv6 form: SRH tag End Marker,
    next header 59, the old gNB and TEID in the args SID, no payload.
    Checked against scapy's dissection, not our own encoder."""
    from scapy.all import IPv6, IPv6ExtHdrSegmentRouting, raw

    api = vpp.api
    prm = dict(
        GTP4E,
        behavior=int(Behavior.H_T1ST),
        source="fc00:0:ff::1",
        source_len=0,
        n_segments=2,
        segments=["fc00:0:2::1", "fc00:0:4e::"] + ["::"] * 4,
        args_prefix_len=48,
    )
    r = api.srv6_mup_policy_add_del(
        is_add=True, match="10.50.0.0/16", table_id=0, params=prm
    )
    assert r.retval == RV_OK
    before = end_markers(vpp)
    try:
        ue = "10.50.0.1/32"
        r = api.srv6_mup_session_add_del(
            is_add=True, ue=ue, gnb="192.0.2.10", teid=0x100, qfi=9
        )
        assert (r.retval, r.replaced) == (RV_OK, False)
        # same gNB and TEID again (a QFI change): no End Marker
        out = vpp.capture(
            lambda: api.srv6_mup_session_add_del(
                is_add=True, ue=ue, gnb="192.0.2.10", teid=0x100, qfi=8
            ),
            0,
            timeout=0.3,
        )
        assert out == []
        out = vpp.capture(
            lambda: api.srv6_mup_session_add_del(
                is_add=True, ue=ue, gnb="192.0.2.11", teid=0x200, qfi=9
            ),
            1,
        )
        assert len(out) == 1, vpp.cli("show srv6-mup counters")
        em = IPv6(out[0])
        srh = em[IPv6ExtHdrSegmentRouting]
        assert (em.src, em.dst, em.nh, em.hlim) == (
            "fc00:0:ff::1",
            "fc00:0:2::1",
            43,
            64,
        )
        assert (srh.nh, srh.tag, srh.segleft, srh.lastentry) == (59, 1, 1, 1)
        # | fc00:0:4e | 192.0.2.10 | QFI 8 << 2 = 0x20 | TEID 0x100 | pad |
        assert srh.addresses == ["fc00:0:4e:c000:20a:2000:1:0", "fc00:0:2::1"]
        assert em.plen == len(raw(srh))
        assert end_markers(vpp) == (before[0] + 1, before[1])
    finally:
        api.srv6_mup_session_add_del(is_add=False, ue="10.50.0.1/32")
        api.srv6_mup_policy_add_del(
            is_add=False, match="10.50.0.0/16", table_id=0, params=prm
        )
