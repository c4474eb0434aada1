"""Golden vectors for the forwarding core, built from the specification.

Every expected output here is computed from docs/behaviors.md (and the RFCs
it cites) with scapy and a few lines of Python integer arithmetic: this
module never imports mupvpp.engine or any of the project's C code, so the
vectors check the C core instead of repeating it.

    python tests/vectors/make_vectors.py          # (re)write tests/vectors/*.json
    python tests/vectors/make_vectors.py --check  # fail if the files differ

One JSON file per behaviour, each a list of cases::

    {"name", "rfc", "intent" (YAML text), "input" (hex), "output" (hex or
     null), "error" ("forwarded" or the drop reason), "sid", "next",
     "fib_index"}

Bit layouts (RFC 9433 section 6.1, 6.6, 6.7), bit 0 = the address's MSB::

    Args.Mob.Session (40): | QFI (6) | R (1) | U (1) | TEID (32) |
    GTP4 SID:              | locator (L) | IPv4 DA (32) | Args (40) | pad |
    GTP6 SID:              | locator (L) | Args (40) | pad |
    GTP4 IPv6 SA:          | source prefix (P) | IPv4 SA (32) | rest |
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import sys
from pathlib import Path

import yaml
from scapy.all import IP, UDP, IPv6, IPv6ExtHdrSegmentRouting, Raw
from scapy.contrib.gtp import GTP_U_Header, GTPPDUSessionContainer

HERE = Path(__file__).resolve().parent
GTPU_PORT = 2152
ARGS_BITS = 40
M64 = (1 << 64) - 1

# draft-murakami-dmm-user-plane-message-encoding: message type <-> SRH tag
GPDU, END_MARKER, ERROR_IND, ECHO_REQ, ECHO_RSP = 255, 254, 26, 1, 2
TAG = {
    GPDU: 0x0000,
    END_MARKER: 0x0001,
    ERROR_IND: 0x0002,
    ECHO_REQ: 0x0004,
    ECHO_RSP: 0x0008,
}

RFC_GTP4_D = "RFC 9433 section 6.7"
RFC_GTP4_E = "RFC 9433 section 6.6"
RFC_GTP6_D = "RFC 9433 section 6.3"
RFC_GTP6_DI = "RFC 9433 section 6.4"
RFC_GTP6_E = "RFC 9433 section 6.5"
RFC_MAP = "RFC 9433 section 6.2"
RFC_LIMIT = "RFC 9433 section 6.8"
RFC_END = "RFC 8986 section 4.1"
RFC_DT4 = "RFC 8986 section 4.6"
RFC_DT6 = "RFC 8986 section 4.7"
RFC_DT46 = "RFC 8986 section 4.8"
RFC_ENCAPS = "RFC 8986 section 5.1"
RFC_T1ST = "draft-ietf-dmm-mup-architecture (Type 1 Session Transformed)"
RFC_GTP_DT = "VPP srv6-mobile GTP4.DT/GTP6.DT (docs/behaviors.md)"
RFC_MURAKAMI = "draft-murakami-dmm-user-plane-message-encoding; "


# ---- the documented arithmetic -------------------------------------------------


def a2i(addr: str) -> int:
    return int(ipaddress.ip_address(addr))


def i2a6(v: int) -> str:
    return str(ipaddress.IPv6Address(v))


def put_bits(a: int, off: int, nbits: int, val: int) -> int:
    """Write nbits of val at bit offset off (0 = MSB) of a 128-bit integer."""
    sh = 128 - off - nbits
    mask = ((1 << nbits) - 1) << sh
    return (a & ~mask) | ((val << sh) & mask)


def get_bits(a: int, off: int, nbits: int) -> int:
    return (a >> (128 - off - nbits)) & ((1 << nbits) - 1)


def args_pack(qfi: int, r: int, u: int, teid: int) -> int:
    """Args.Mob.Session (RFC 9433 section 6.1): first octet QFI<<2|R<<1|U."""
    return ((qfi & 0x3F) << 2 | (r & 1) << 1 | (u & 1)) << 32 | (teid & 0xFFFFFFFF)


def gtp4_sid(prefix: str, plen: int, ip4_da: str, qfi: int, r: int, teid: int) -> str:
    """Locator /plen | IPv4 DA | Args.Mob.Session (U sent as 0)."""
    v = put_bits(a2i(prefix), plen, 32, a2i(ip4_da))
    return i2a6(put_bits(v, plen + 32, ARGS_BITS, args_pack(qfi, r, 0, teid)))


def gtp6_sid(prefix: str, plen: int, qfi: int, r: int, teid: int) -> str:
    return i2a6(put_bits(a2i(prefix), plen, ARGS_BITS, args_pack(qfi, r, 0, teid)))


def sa_with_v4(prefix: str, plen: int, ip4: str) -> str:
    return i2a6(put_bits(a2i(prefix), plen, 32, a2i(ip4)))


def entropy_port(inner: bytes) -> int:
    """UDP source port, docs/behaviors.md "UDP source port (entropy)"."""
    n = len(inner)
    be = int.from_bytes
    if n >= 20 and inner[0] >> 4 == 4:
        ihl = (inner[0] & 15) * 4
        proto = inner[9]
        k = be(inner[12:16], "big") << 32 | be(inner[16:20], "big")
        frag = be(inner[6:8], "big") & 0x3FFF
        l4 = proto in (6, 17, 132) and frag == 0 and n >= ihl + 4
        ports = be(inner[ihl : ihl + 4], "big") if l4 else 0
    elif n >= 40 and inner[0] >> 4 == 6:
        proto = inner[6]
        k = 0
        for i in range(8, 40, 8):
            k ^= be(inner[i : i + 8], "big")
        ports = be(inner[40:44], "big") if proto in (6, 17, 132) and n >= 44 else 0
    else:
        return GTPU_PORT
    k ^= ((ports << 16) ^ proto) & M64
    return 0xC000 | (((k * 0x9E3779B97F4A7C15) & M64) >> 50)


# ---- packet builders (scapy) -------------------------------------------------


def inner4(n: int = 16, proto: str = "udp") -> bytes:
    l4 = UDP(sport=40000, dport=5001) if proto == "udp" else Raw(b"")
    return bytes(
        IP(src="10.10.0.1", dst="198.51.100.7", id=0x1111, ttl=63) / l4 / Raw(b"u" * n)
    )


def inner6(n: int = 16) -> bytes:
    return bytes(
        IPv6(src="2001:db8:1::1", dst="2001:db8:2::7", hlim=63)
        / UDP(sport=40001, dport=5002)
        / Raw(b"v" * n)
    )


def gtpu(mtype=GPDU, teid=0, payload=b"", psc=None, seq=None) -> bytes:
    """GTP-U (TS 29.281 section 5.1); psc = (pdu_type, qfi, rqi) or None."""
    h = GTP_U_Header(gtp_type=mtype, teid=teid)
    if seq is not None:
        h.S = 1
        h.seq = seq
    if psc is not None:
        pdu_type, qfi, rqi = psc
        h.E = 1
        h.next_ex = 0x85
        if pdu_type == 0:
            h = h / GTPPDUSessionContainer(type=0, QFI=qfi, RQI=rqi)
        else:
            h = h / GTPPDUSessionContainer(type=1, QFI=qfi)
    return bytes(h / Raw(payload))


def gtp_out(mtype, teid, payload, qfi, r, pdu_type=0) -> bytes:
    """GTP-U as End.M.GTP4.E/GTP6.E build it (docs/behaviors.md section 6.6):
    flags 0x30; PSC (flags 0x34) for G-PDU and End Marker when QFI or R;
    Echo/Error Indication flags 0x32, TEID 0, sequence = TEID field >> 16."""
    if mtype in (ECHO_REQ, ECHO_RSP, ERROR_IND):
        return gtpu(mtype, 0, payload, seq=teid >> 16)
    if qfi or r:
        return gtpu(
            mtype, teid, payload, psc=(pdu_type, qfi, r if pdu_type == 0 else 0)
        )
    return gtpu(mtype, teid, payload)


def udp4_gtp(sa, da, g: bytes, tos=0, ttl=64, sport=GTPU_PORT) -> bytes:
    return bytes(
        IP(src=sa, dst=da, tos=tos, ttl=ttl, id=0x2222)
        / UDP(sport=sport, dport=GTPU_PORT)
        / Raw(g)
    )


def udp6_gtp(sa, da, g: bytes, tc=0, fl=0, hlim=64, srh=None) -> bytes:
    """GTP-U/UDP/IPv6; srh: list of segments (SRH[0] first) with SL 0."""
    ip = IPv6(src=sa, dst=da, tc=tc, fl=fl, hlim=hlim)
    if srh is not None:
        ip = ip / IPv6ExtHdrSegmentRouting(
            nh=17, addresses=srh, segleft=0, lastentry=len(srh) - 1
        )
    return bytes(ip / UDP(sport=GTPU_PORT, dport=GTPU_PORT) / Raw(g))


def srv6(
    sa, segs, payload: bytes, nh, tag=0, srh=None, sl=None, tc=0, fl=0, hlim=64
) -> bytes:
    """IPv6 (+SRH) per docs/behaviors.md "Encapsulation template": segs is
    the segment list first segment first; an SRH when more than one segment
    or srh=True; SRH[0] = the last segment; DA = the active segment."""
    n = len(segs)
    if srh is None:
        srh = n > 1
    sl = n - 1 if sl is None else sl
    rev = list(reversed(segs))
    if not srh:
        return bytes(
            IPv6(src=sa, dst=segs[0], nh=nh, tc=tc, fl=fl, hlim=hlim) / Raw(payload)
        )
    return bytes(
        IPv6(src=sa, dst=rev[sl], nh=43, tc=tc, fl=fl, hlim=hlim)
        / IPv6ExtHdrSegmentRouting(
            nh=nh, addresses=rev, segleft=sl, lastentry=n - 1, tag=tag
        )
        / Raw(payload)
    )


def inner_nh(payload: bytes) -> int:
    return {4: 4, 6: 41}[payload[0] >> 4]


# ---- intents -------------------------------------------------------------------


def intent(sids, policies=None, node=None, sessions=None) -> str:
    doc = {"node": {"name": "vec", **(node or {})}}
    if policies:
        doc["policies"] = [{"name": k, "segments": v} for k, v in policies.items()]
    doc["sids"] = sids
    if sessions:
        doc["sessions"] = sessions
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=200)


def case(name, rfc, text, inp, out, sid, nxt, error="forwarded", fib=0) -> dict:
    return {
        "name": name,
        "rfc": rfc,
        "intent": text,
        "input": inp.hex(),
        "output": None if out is None else out.hex(),
        "error": error,
        "sid": sid,
        "next": nxt,
        "fib_index": fib if error == "forwarded" else 0,
    }


# ---- H.M.GTP4.D ----------------------------------------------------------------

GNB4, UPF4 = "192.0.2.10", "192.0.2.100"
# TS 29.281 section 8: Recovery (type 14, TV, restart counter 0) for an Echo
# Response; TEID Data I (16, TV) + GTP-U Peer Address (133, TLV) for an
# Error Indication.  They travel as the payload, next header 59.
RECOVERY_IE = bytes([14, 0])
ERROR_IND_IES = bytes([16, 0x12, 0x34, 0x56, 0x78, 133, 0, 4, 192, 0, 2, 100])
GTP4_LOCS = {  # GTP4 locators: /L, L <= 56, some not multiples of 8
    32: "fc00:4e::",
    40: "fc00:0:4e00::",
    44: "fc00:0:40::",
    48: "fc00:0:4e::",
    52: "fc00:0:4e:1000::",
    56: "fc00:0:4e:ab00::",
}
GTP6_LOCS = {  # GTP6 locators: /L, L <= 88
    44: "fc00:0:60::",
    60: "fc00:0:6e:10::",
    64: "fc00:0:6e::",
    68: "fc00:0:6e:0:1000::",
    80: "fc00:0:6e:0:1::",
    88: "fc00:0:6e:0:1:ab00::",
}
TRANSIT = "fc00:0:2::1"


def vec_h_m_gtp4_d() -> list[dict]:
    out = []

    def one(
        name,
        plen,
        psc=None,
        mtype=GPDU,
        teid=0x12345678,
        payload=None,
        transit=True,
        always=False,
        src=("fc00:0:a4::", 64),
        seq=None,
        gnb=GNB4,
        upf=UPF4,
        loc=None,
        pol_first=None,
        error="forwarded",
        extra_udp=b"",
        extra_ip=b"",
    ):
        loc = loc or GTP4_LOCS[plen]
        first = pol_first if pol_first is not None else ([TRANSIT] if transit else [])
        segs_cfg = [*first, f"{loc}/{plen}"]
        sid = {
            "name": "gtp4d",
            "behavior": "h.m.gtp4.d",
            "match": f"{upf}/32",
            "policy": "p",
            "source_prefix": f"{src[0]}/{src[1]}",
        }
        if always:
            sid["always_srh"] = True
        text = intent([sid], {"p": segs_cfg})
        if payload is None:
            payload = inner4() if mtype == GPDU else b""
        g = gtpu(mtype, teid, payload, psc=psc, seq=seq) + extra_udp
        inp = udp4_gtp(gnb, upf, g) + extra_ip
        qfi, r = 0, 0
        if psc is not None:
            qfi = psc[1]
            r = psc[2] if psc[0] == 0 else 0  # RQI exists in DL PSC only
        tfield = (seq << 16) if mtype in (ECHO_REQ, ECHO_RSP, ERROR_IND) else teid
        last = gtp4_sid(loc, plen, upf, qfi, r, tfield)
        segs = [*first, last]
        nh = inner_nh(payload) if mtype == GPDU else 59
        res = None
        if error == "forwarded":
            res = srv6(
                sa_with_v4(src[0], src[1], gnb),
                segs,
                payload,
                nh,
                tag=TAG[mtype],
                srh=True if always else None,
            )
        out.append(
            case(
                name,
                RFC_GTP4_D if mtype == GPDU else RFC_MURAKAMI + RFC_GTP4_D,
                text,
                inp,
                res,
                "gtp4d",
                "ip6-lookup" if res else "drop",
                error,
            )
        )
        return last

    one("gtp4_48_no_srh_ip4_no_psc", 48, transit=False)
    one("gtp4_48_srh_ip6_psc_dl_qfi9_rqi", 48, psc=(0, 9, 1), payload=inner6())
    for plen in (32, 40, 44, 52, 56):
        one(f"gtp4_{plen}_srh_ip4_psc_ul_qfi5", plen, psc=(1, 5, 0))
        one(
            f"gtp4_{plen}_no_srh_ip6_psc_dl_qfi63",
            plen,
            psc=(0, 63, 0),
            payload=inner6(),
            transit=False,
            teid=0xFEDCBA98,
        )
    one("gtp4_48_always_srh_one_segment", 48, transit=False, always=True, psc=(0, 1, 1))
    one("gtp4_44_src_prefix_52", 44, src=("fc00:0:a4:1000::", 52))
    one("gtp4_48_src_prefix_96", 48, src=("fc00:0:a4::", 96), payload=inner4(200))
    one("gtp4_48_three_segments", 48, pol_first=[TRANSIT, "fc00:0:3::1"])
    one(
        "gtp4_48_bytes_past_gtpu_and_ip_length_dropped",
        48,
        extra_udp=b"\xaa" * 3,
        extra_ip=b"\xbb" * 5,
    )
    one("gtp4_end_marker_psc_to_srh_tag1", 48, mtype=END_MARKER, psc=(0, 9, 0))
    one("gtp4_end_marker_no_psc_to_srh_tag1", 52, mtype=END_MARKER)
    one("gtp4_echo_request_seq_to_srh_tag4", 48, mtype=ECHO_REQ, teid=0, seq=0x1234)
    one(
        "gtp4_echo_response_seq_to_srh_tag8",
        56,
        mtype=ECHO_RSP,
        teid=0,
        seq=0xFFFF,
        payload=RECOVERY_IE,
    )
    one(
        "gtp4_error_indication_ies_to_srh_tag2",
        44,
        mtype=ERROR_IND,
        teid=0,
        seq=7,
        payload=ERROR_IND_IES,
    )
    one(
        "gtp4_end_marker_without_srh_is_local",
        48,
        mtype=END_MARKER,
        transit=False,
        error="gtpu_control_local",
    )
    # VPP's own test (test_srv6_mobile.py, T.M.GTP4.D): policy D2::, D3:: and
    # destination prefix D4::/32, source prefix C1::/64, IPv4 SA 2.2.2.2,
    # IPv4 DA 1.1.1.1, QFI 0, TEID 200, inner IPv6.
    last = one(
        "vpp_example_d4_32",
        32,
        teid=200,
        payload=inner6(),
        gnb="2.2.2.2",
        upf="1.1.1.1",
        loc="d4::",
        pol_first=["d2::", "d3::"],
        src=("c1::", 64),
    )
    assert last == "d4:0:101:101::c800:0", last

    # Type 2 session hit: (N3 address, uplink TEID) -> direct segment
    sid = {
        "name": "gtp4d",
        "behavior": "h.m.gtp4.d",
        "match": f"{UPF4}/32",
        "policy": "p",
        "source_prefix": "fc00:0:a4::/64",
    }
    seg = "fc00:0:d4::1"
    text = intent(
        [sid],
        {"p": [TRANSIT, "fc00:0:4e::/48"]},
        sessions={
            "type2": [{"n3": UPF4, "teid": 0x200, "segment": seg, "headend": "gtp4d"}]
        },
    )
    for name, pl, psc in (
        ("type2_hit_ip4", inner4(), None),
        ("type2_hit_ip6_psc", inner6(), (1, 5, 0)),
    ):
        inp = udp4_gtp(GNB4, UPF4, gtpu(GPDU, 0x200, pl, psc=psc))
        res = srv6(sa_with_v4("fc00:0:a4::", 64, GNB4), [seg], pl, inner_nh(pl))
        out.append(
            case(
                name,
                RFC_GTP4_D + " (MUP Type 2 Session Transformed)",
                text,
                inp,
                res,
                "gtp4d",
                "ip6-lookup",
            )
        )
    pl = inner4()
    inp = udp4_gtp(GNB4, UPF4, gtpu(GPDU, 0x201, pl))
    res = srv6(
        sa_with_v4("fc00:0:a4::", 64, GNB4),
        [TRANSIT, gtp4_sid("fc00:0:4e::", 48, UPF4, 0, 0, 0x201)],
        pl,
        4,
    )
    out.append(
        case(
            "type2_miss_uses_policy", RFC_GTP4_D, text, inp, res, "gtp4d", "ip6-lookup"
        )
    )
    return out


# ---- End.M.GTP4.E --------------------------------------------------------------


def vec_end_m_gtp4_e() -> list[dict]:
    out = []
    src_pfx = "fc00:0:a4::"

    def one(
        name,
        plen,
        qfi=0,
        r=0,
        u=0,
        teid=0x87654321,
        payload=None,
        mtype=GPDU,
        srh=False,
        src_len=64,
        fixed=None,
        pdu_type=None,
        csum=False,
        tc=0,
        hlim=64,
        gnb=GNB4,
        upf_sa=UPF4,
        error="forwarded",
        fl=0,
    ):
        loc = GTP4_LOCS[plen]
        sid = {"name": "gtp4e", "behavior": "end.m.gtp4.e", "sid": f"{loc}/{plen}"}
        if fixed:
            sid["ipv4_source"] = fixed
        else:
            sid["ipv4_source_len"] = src_len
        if pdu_type is not None:
            sid["pdu_type"] = pdu_type
        node = {"udp4_checksum": True} if csum else None
        text = intent([sid], node=node)
        if payload is None:
            payload = inner4() if mtype == GPDU else b""
        v = put_bits(a2i(loc), plen, 32, a2i(gnb))
        da = i2a6(put_bits(v, plen + 32, ARGS_BITS, args_pack(qfi, r, u, teid)))
        sa = sa_with_v4(src_pfx, src_len, upf_sa)
        nh = inner_nh(payload) if mtype == GPDU else 59
        inp = srv6(
            sa,
            [da],
            payload,
            nh,
            tag=TAG[mtype],
            srh=srh,
            sl=0,
            tc=tc,
            fl=fl,
            hlim=hlim,
        )
        res = None
        if error == "forwarded":
            g = gtp_out(mtype, teid, payload, qfi, r, pdu_type or 0)
            sport = entropy_port(payload) if mtype == GPDU else GTPU_PORT
            ip = IP(
                src=fixed or upf_sa,
                dst=gnb,
                tos=tc,
                ttl=hlim - 1,
                id=0,
                flags=0,
                proto=17,
            )
            udp = UDP(sport=sport, dport=GTPU_PORT, chksum=None if csum else 0)
            res = bytes(ip / udp / Raw(g))
        rfc = RFC_GTP4_E if mtype == GPDU else RFC_MURAKAMI + RFC_GTP4_E
        out.append(
            case(
                name,
                rfc,
                text,
                inp,
                res,
                "gtp4e",
                "ip4-lookup" if res else "drop",
                error,
            )
        )

    one("gtp4e_48_no_srh_ip4_no_psc", 48)
    one("gtp4e_48_srh_sl0_ip6_qfi9_r1", 48, qfi=9, r=1, payload=inner6(), srh=True)
    for plen in (32, 40, 44, 52, 56):
        one(f"gtp4e_{plen}_ip4_qfi5", plen, qfi=5, teid=0x01020304 + plen)
        one(f"gtp4e_{plen}_srh_ip6_r_only", plen, r=1, payload=inner6(), srh=True)
    one("gtp4e_48_u_bit_ignored", 48, qfi=3, u=1)
    one("gtp4e_48_pdu_type_ul", 48, qfi=7, r=1, pdu_type=1)
    one("gtp4e_48_fixed_ipv4_source", 48, fixed="203.0.113.9", qfi=2)
    one("gtp4e_44_src_len_40", 44, src_len=40)
    one("gtp4e_48_udp4_checksum", 48, csum=True, qfi=1, payload=inner4(33))
    one("gtp4e_48_tos_from_traffic_class_ttl", 48, tc=0xB8, hlim=9, fl=0x12345)
    one(
        "gtp4e_48_inner_ip4_not_l4",
        48,
        payload=bytes(
            IP(src="10.1.1.1", dst="10.2.2.2", proto=47, id=5) / Raw(b"gre!")
        ),
    )
    one(
        "gtp4e_48_inner_ip4_fragment_no_ports",
        48,
        payload=bytes(
            IP(src="10.1.1.1", dst="10.2.2.2", flags="MF", id=5) / UDP() / Raw(b"f")
        ),
    )
    one("gtp4e_end_marker_tag1_qfi9", 48, mtype=END_MARKER, qfi=9, srh=True)
    one("gtp4e_end_marker_tag1_no_psc", 52, mtype=END_MARKER, srh=True)
    one("gtp4e_echo_request_tag4_seq", 48, mtype=ECHO_REQ, teid=0x1234 << 16, srh=True)
    one(
        "gtp4e_echo_response_tag8_recovery",
        56,
        mtype=ECHO_RSP,
        teid=0xFFFF << 16,
        srh=True,
        payload=RECOVERY_IE,
    )
    one(
        "gtp4e_error_indication_tag2_ies",
        44,
        mtype=ERROR_IND,
        teid=7 << 16,
        srh=True,
        payload=ERROR_IND_IES,
    )
    one(
        "gtp4e_inner_ip6_ext_header_no_ports",
        48,
        payload=bytes(
            IPv6(src="2001:db8::1", dst="2001:db8::2", nh=60)
            / Raw(bytes([17, 0, 1, 4, 0, 0, 0, 0]))
            / UDP(sport=9, dport=9)
        ),
    )
    one("gtp4e_hop_limit_1", 48, hlim=1, error="hop_limit_exceeded")
    return out


# ---- End.M.GTP6.D / End.M.GTP6.D.Di --------------------------------------------

GNB6 = "2001:db8:a::10"
GTP6D_SID = "fc00:0:6d::"
GTP6DI_SID = "fc00:0:6f::"
ENCAP_SRC = "fc00:0:ff::1"


def vec_end_m_gtp6_d(di: bool) -> list[dict]:
    out = []
    beh = "end.m.gtp6.d.di" if di else "end.m.gtp6.d"
    name_ = "gtp6di" if di else "gtp6d"
    sid_pfx = GTP6DI_SID if di else GTP6D_SID
    rfc_ = RFC_GTP6_DI if di else RFC_GTP6_D

    def one(
        name,
        plen,
        psc=None,
        mtype=GPDU,
        teid=0x0BADCAFE,
        payload=None,
        transit=True,
        always=False,
        seq=None,
        source=None,
        in_srh=False,
        loc=None,
        first=None,
        error="forwarded",
        da_low=0x42,
    ):
        loc = loc or GTP6_LOCS[plen]
        first = first if first is not None else ([TRANSIT] if transit else [])
        sid = {"name": name_, "behavior": beh, "sid": f"{sid_pfx}/64", "policy": "p"}
        if always:
            sid["always_srh"] = True
        if source:
            sid["source"] = source
        text = intent(
            [sid], {"p": [*first, f"{loc}/{plen}"]}, node={"encap_source": ENCAP_SRC}
        )
        if payload is None:
            payload = inner4() if mtype == GPDU else b""
        da = i2a6(a2i(sid_pfx) | da_low)
        g = gtpu(mtype, teid, payload, psc=psc, seq=seq)
        inp = udp6_gtp(GNB6, da, g, srh=[da, TRANSIT] if in_srh else None)
        qfi = r = 0
        if psc:
            qfi, r = psc[1], psc[2] if psc[0] == 0 else 0
        tfield = (seq << 16) if mtype in (ECHO_REQ, ECHO_RSP, ERROR_IND) else teid
        last = gtp6_sid(loc, plen, qfi, r, tfield)
        segs = [*first, last]
        nh = inner_nh(payload) if mtype == GPDU else 59
        res = None
        if error == "forwarded":
            if di:
                res = srv6(GNB6, [*segs, da], payload, nh, tag=TAG[mtype], srh=True)
            else:
                res = srv6(
                    source or ENCAP_SRC,
                    segs,
                    payload,
                    nh,
                    tag=TAG[mtype],
                    srh=True if always else None,
                )
        rfc = rfc_ if mtype == GPDU else RFC_MURAKAMI + rfc_
        out.append(
            case(
                name, rfc, text, inp, res, name_, "ip6-lookup" if res else "drop", error
            )
        )
        return last

    p = name_
    one(f"{p}_64_no_srh_ip4_no_psc", 64, transit=False)
    one(f"{p}_64_srh_ip6_psc_dl_qfi9_rqi", 64, psc=(0, 9, 1), payload=inner6())
    for plen in (44, 60, 68, 80, 88):
        one(f"{p}_{plen}_srh_ip4_psc_ul_qfi5", plen, psc=(1, 5, 0))
        one(
            f"{p}_{plen}_no_srh_ip6_psc_dl_qfi63_rqi",
            plen,
            psc=(0, 63, 1),
            payload=inner6(),
            transit=False,
            teid=0xFFFFFFFF,
        )
    one(f"{p}_64_always_srh", 64, transit=False, always=True, psc=(0, 4, 0))
    one(f"{p}_64_input_srh_sl0", 64, in_srh=True)
    one(f"{p}_64_source", 64, source="fc00:0:ee::7")
    one(f"{p}_end_marker_tag1", 64, mtype=END_MARKER, psc=(0, 9, 0))
    one(f"{p}_echo_request_tag4_seq", 68, mtype=ECHO_REQ, teid=0, seq=0xBEEF)
    if not di:
        one(
            f"{p}_end_marker_without_srh_is_local",
            64,
            mtype=END_MARKER,
            transit=False,
            error="gtpu_control_local",
        )
    # VPP's test: policy D2::, D3:: and destination prefix D4::/64, TEID 200
    last = one(
        "vpp_example_d4_64",
        64,
        teid=200,
        payload=inner6(),
        loc="d4::",
        first=["d2::", "d3::"],
    )
    assert last == "d4::c800:0", last
    return out


# ---- End.M.GTP6.E --------------------------------------------------------------


def vec_end_m_gtp6_e() -> list[dict]:
    out = []
    sa_in = "fc00:0:ff::9"

    def one(
        name,
        plen,
        qfi=0,
        r=0,
        u=0,
        teid=0x11223344,
        payload=None,
        mtype=GPDU,
        source=None,
        pdu_type=None,
        tc=0,
        fl=0,
        hlim=64,
        error="forwarded",
    ):
        loc = GTP6_LOCS[plen]
        sid = {"name": "gtp6e", "behavior": "end.m.gtp6.e", "sid": f"{loc}/{plen}"}
        if source:
            sid["source"] = source
        if pdu_type is not None:
            sid["pdu_type"] = pdu_type
        text = intent([sid])
        if payload is None:
            payload = inner4() if mtype == GPDU else b""
        da = i2a6(put_bits(a2i(loc), plen, ARGS_BITS, args_pack(qfi, r, u, teid)))
        nh = inner_nh(payload) if mtype == GPDU else 59
        # segment list [E SID + args, gNB]: SRH[0] = gNB, Segments Left 1
        inp = srv6(
            sa_in, [da, GNB6], payload, nh, tag=TAG[mtype], tc=tc, fl=fl, hlim=hlim
        )
        res = None
        if error == "forwarded":
            g = gtp_out(mtype, teid, payload, qfi, r, pdu_type or 0)
            sport = entropy_port(payload) if mtype == GPDU else GTPU_PORT
            res = bytes(
                IPv6(src=source or sa_in, dst=GNB6, tc=tc, fl=fl, hlim=hlim - 1, nh=17)
                / UDP(sport=sport, dport=GTPU_PORT)
                / Raw(g)
            )
        rfc = RFC_GTP6_E if mtype == GPDU else RFC_MURAKAMI + RFC_GTP6_E
        out.append(
            case(
                name,
                rfc,
                text,
                inp,
                res,
                "gtp6e",
                "ip6-lookup" if res else "drop",
                error,
            )
        )

    one("gtp6e_64_ip4_no_psc", 64)
    one("gtp6e_64_ip6_qfi9_r1", 64, qfi=9, r=1, payload=inner6())
    for plen in (44, 60, 68, 80, 88):
        one(f"gtp6e_{plen}_ip4_qfi5", plen, qfi=5, teid=0xA0B0C0D0 + plen)
        one(f"gtp6e_{plen}_ip6_r_only", plen, r=1, payload=inner6())
    one("gtp6e_64_u_bit_ignored", 64, qfi=3, u=1)
    one("gtp6e_64_pdu_type_ul", 64, qfi=7, r=1, pdu_type=1)
    one("gtp6e_64_fixed_source", 64, source="fc00:0:ee::1", qfi=2)
    one("gtp6e_64_tc_fl_copied", 64, tc=0xB8, fl=0xABCDE, hlim=2)
    one("gtp6e_end_marker_tag1_qfi9", 64, mtype=END_MARKER, qfi=9)
    one("gtp6e_echo_request_tag4_seq", 80, mtype=ECHO_REQ, teid=0x4321 << 16)
    one("gtp6e_hop_limit_1", 64, hlim=1, error="hop_limit_exceeded")
    return out


# ---- End, End.DTx, End.MAP, End.Limit ------------------------------------------


def vec_end() -> list[dict]:
    text = intent([{"name": "end", "behavior": "end", "sid": "fc00:0:2::/64"}])
    out = []
    segs = ["fc00:0:2::1", "fc00:0:3::1", "fc00:0:d4::1"]
    for name, pl, sl in (("end_sl2_ip4", inner4(), 2), ("end_sl1_ip6", inner6(), 1)):
        rev = list(reversed(segs))
        pre = IPv6(src=ENCAP_SRC, dst=segs[0], hlim=64, tc=0x20, fl=7)
        srh = IPv6ExtHdrSegmentRouting(
            nh=inner_nh(pl), addresses=rev, segleft=sl, lastentry=2, tag=0x55
        )
        inp = bytes(pre / srh / Raw(pl))
        pre2 = IPv6(src=ENCAP_SRC, dst=rev[sl - 1], hlim=63, tc=0x20, fl=7)
        srh2 = IPv6ExtHdrSegmentRouting(
            nh=inner_nh(pl), addresses=rev, segleft=sl - 1, lastentry=2, tag=0x55
        )
        res = bytes(pre2 / srh2 / Raw(pl))
        out.append(case(name, RFC_END, text, inp, res, "end", "ip6-lookup"))
    inp = srv6(ENCAP_SRC, ["fc00:0:2::1"], inner4(), 4)
    out.append(
        case("end_no_srh", RFC_END, text, inp, None, "end", "drop", "srh_missing")
    )
    return out


def vec_end_dt(af: str) -> list[dict]:
    beh = {"4": "end.dt4", "6": "end.dt6", "46": "end.dt46"}[af]
    rfc = {"4": RFC_DT4, "6": RFC_DT6, "46": RFC_DT46}[af]
    sidp = {"4": "fc00:0:d4::", "6": "fc00:0:d6::", "46": "fc00:0:d46::"}[af]
    text = intent(
        [{"name": "dt", "behavior": beh, "sid": f"{sidp}/64", "fib_table": 10}]
    )
    da = i2a6(a2i(sidp) | 1)
    out = []
    inners = []
    if af in ("4", "46"):
        inners.append(("ip4", inner4(), "ip4-lookup"))
    if af in ("6", "46"):
        inners.append(("ip6", inner6(), "ip6-lookup"))
    for tag, pl, nxt in inners:
        for srh in (False, True):
            segs = [TRANSIT, da] if srh else [da]
            inp = srv6(
                ENCAP_SRC, segs, pl, inner_nh(pl), sl=0 if srh else None, srh=srh
            )
            out.append(
                case(
                    f"dt{af}_{tag}_{'srh_sl0' if srh else 'no_srh'}",
                    rfc,
                    text,
                    inp,
                    pl,
                    "dt",
                    nxt,
                    fib=10,
                )
            )
    # bytes past the IPv6 payload length are not part of the inner packet
    pl = inners[0][1]
    inp = srv6(ENCAP_SRC, [da], pl, inner_nh(pl)) + b"\xee" * 6
    out.append(
        case(
            f"dt{af}_trailing_bytes_ignored",
            rfc,
            text,
            inp,
            pl,
            "dt",
            inners[0][2],
            fib=10,
        )
    )
    if af != "46":
        other = inner6() if af == "4" else inner4()
        inp = srv6(ENCAP_SRC, [da], other, inner_nh(other))
        out.append(
            case(
                f"dt{af}_wrong_family",
                rfc,
                text,
                inp,
                None,
                "dt",
                "drop",
                "inner_af_mismatch",
            )
        )
    return out


def vec_end_map() -> list[dict]:
    frm, to = "fc00:0:3a::1", "fc00:0:d4::1"
    text = intent(
        [
            {
                "name": "map",
                "behavior": "end.map",
                "sid": "fc00:0:3a::/64",
                "maps": [{"from": frm, "to": to}],
            }
        ]
    )
    out = []
    pl = inner4()
    inp = bytes(
        IPv6(src=ENCAP_SRC, dst=frm, hlim=64)
        / IPv6ExtHdrSegmentRouting(
            nh=4, addresses=["fc00:0:9::1", frm], segleft=1, lastentry=1
        )
        / Raw(pl)
    )
    res = bytes(
        IPv6(src=ENCAP_SRC, dst=to, hlim=63)
        / IPv6ExtHdrSegmentRouting(
            nh=4, addresses=["fc00:0:9::1", frm], segleft=1, lastentry=1
        )
        / Raw(pl)
    )
    out.append(
        case("map_hit_srh_untouched", RFC_MAP, text, inp, res, "map", "ip6-lookup")
    )
    inp = srv6(ENCAP_SRC, [frm], inner6(), 41)
    res = srv6(ENCAP_SRC, [to], inner6(), 41, hlim=63)
    out.append(case("map_hit_no_srh", RFC_MAP, text, inp, res, "map", "ip6-lookup"))
    inp = srv6(ENCAP_SRC, ["fc00:0:3a::2"], inner6(), 41)
    out.append(case("map_miss", RFC_MAP, text, inp, None, "map", "drop", "map_miss"))
    return out


def vec_end_limit() -> list[dict]:
    text = intent(
        [
            {
                "name": "limit",
                "behavior": "end.limit",
                "sid": "fc00:0:3b::/64",
                "limit": {"group_bits": 16, "rate_bits": 16, "unit_pps": 1000},
            }
        ]
    )
    out = []
    for g, rate, pl in ((7, 100, inner4()), (0xFFFF, 1, inner6())):
        da = i2a6(put_bits(put_bits(a2i("fc00:0:3b::"), 64, 16, g), 80, 16, rate))
        segs = [da, "fc00:0:d4::1"]
        rev = list(reversed(segs))
        inp = srv6(ENCAP_SRC, segs, pl, inner_nh(pl))
        res = bytes(
            IPv6(src=ENCAP_SRC, dst=rev[0], hlim=63)
            / IPv6ExtHdrSegmentRouting(
                nh=inner_nh(pl), addresses=rev, segleft=0, lastentry=1
            )
            / Raw(pl)
        )
        out.append(
            case(
                f"limit_group{g}_rate{rate}_within",
                RFC_LIMIT,
                text,
                inp,
                res,
                "limit",
                "ip6-lookup",
            )
        )
    return out


# ---- H.Encaps and H.M.T1ST -----------------------------------------------------


def vec_h_encaps() -> list[dict]:
    out = []
    for name, pl, match, segs, always in (
        (
            "encaps_ip4_one_segment_no_srh",
            inner4(),
            "198.51.100.0/24",
            ["fc00:0:d4::1"],
            False,
        ),
        (
            "encaps_ip4_two_segments",
            inner4(),
            "198.51.100.0/24",
            [TRANSIT, "fc00:0:d4::1"],
            False,
        ),
        ("encaps_ip6_always_srh", inner6(), "2001:db8:2::/48", ["fc00:0:d6::1"], True),
        (
            "encaps_ip6_three_segments",
            inner6(),
            "2001:db8:2::/48",
            [TRANSIT, "fc00:0:3::1", "fc00:0:d6::1"],
            False,
        ),
    ):
        sid = {"name": "enc", "behavior": "h.encaps", "match": match, "policy": "p"}
        if always:
            sid["always_srh"] = True
        text = intent([sid], {"p": segs}, node={"encap_source": ENCAP_SRC})
        res = srv6(ENCAP_SRC, segs, pl, inner_nh(pl), srh=True if always else None)
        out.append(case(name, RFC_ENCAPS, text, pl, res, "enc", "ip6-lookup"))
    return out


def vec_h_t1st() -> list[dict]:
    out = []
    for name, plen, transit, ue, pl, qfi, rqi, always in (
        ("t1st_48_srh_ip4_ue", 48, True, "10.10.0.1", None, 9, False, False),
        ("t1st_44_no_srh_ip4_ue_rqi", 44, False, "10.10.0.1", None, 5, True, False),
        ("t1st_52_always_srh", 52, False, "10.10.0.1", None, 0, False, True),
        ("t1st_56_ip6_ue", 56, True, "2001:db8:2::/64", "ip6", 63, True, False),
    ):
        loc = GTP4_LOCS[plen]
        segs_cfg = ([TRANSIT] if transit else []) + [f"{loc}/{plen}"]
        is6 = pl == "ip6"
        sid = {
            "name": "t1",
            "behavior": "h.t1st",
            "match": "2001:db8:2::/48" if is6 else "198.51.100.0/24",
            "policy": "p",
        }
        if always:
            sid["always_srh"] = True
        ue_prefix = ue if is6 else "198.51.100.7/32"
        teid = 0x100 + plen
        sess = {
            "ue_prefix": ue_prefix,
            "gnb": GNB4,
            "teid": teid,
            "qfi": qfi,
            "headend": "t1",
        }
        if rqi:
            sess["rqi"] = True
        text = intent(
            [sid],
            {"p": segs_cfg},
            node={"encap_source": ENCAP_SRC},
            sessions={"type1": [sess]},
        )
        payload = inner6() if is6 else inner4()
        last = gtp4_sid(loc, plen, GNB4, qfi, int(rqi), teid)
        segs = segs_cfg[:-1] + [last]
        res = srv6(
            ENCAP_SRC, segs, payload, inner_nh(payload), srh=True if always else None
        )
        out.append(case(name, RFC_T1ST, text, payload, res, "t1", "ip6-lookup"))
    # no session for the UE: session_miss
    text = intent(
        [
            {
                "name": "t1",
                "behavior": "h.t1st",
                "match": "198.51.100.0/24",
                "policy": "p",
            }
        ],
        {"p": ["fc00:0:4e::/48"]},
        node={"encap_source": ENCAP_SRC},
        sessions={
            "type1": [
                {
                    "ue_prefix": "198.51.100.9/32",
                    "gnb": GNB4,
                    "teid": 5,
                    "headend": "t1",
                }
            ]
        },
    )
    out.append(
        case(
            "t1st_session_miss",
            RFC_T1ST,
            text,
            inner4(),
            None,
            "t1",
            "drop",
            "session_miss",
        )
    )
    return out


# ---- GTP4.DT4 / GTP6.DT46 ------------------------------------------------------


def vec_gtp4_dt4() -> list[dict]:
    text = intent(
        [
            {
                "name": "g4dt4",
                "behavior": "gtp4.dt4",
                "match": "192.0.2.200/32",
                "fib_table": 10,
            }
        ]
    )
    out = []
    pl = inner4()
    for name, psc in (("gtp4dt4_ip4", None), ("gtp4dt4_ip4_psc", (1, 5, 0))):
        inp = udp4_gtp(GNB4, "192.0.2.200", gtpu(GPDU, 0x300, pl, psc=psc))
        out.append(case(name, RFC_GTP_DT, text, inp, pl, "g4dt4", "ip4-lookup", fib=10))
    inp = udp4_gtp(GNB4, "192.0.2.200", gtpu(GPDU, 0x300, inner6()))
    out.append(
        case(
            "gtp4dt4_ip6_wrong_family",
            RFC_GTP_DT,
            text,
            inp,
            None,
            "g4dt4",
            "drop",
            "inner_af_mismatch",
        )
    )
    inp = udp4_gtp(GNB4, "192.0.2.200", gtpu(END_MARKER, 0x300))
    out.append(
        case(
            "gtp4dt4_end_marker_local",
            RFC_GTP_DT,
            text,
            inp,
            None,
            "g4dt4",
            "drop",
            "gtpu_control_local",
        )
    )
    return out


def vec_gtp6_dt46() -> list[dict]:
    sidp = "fc00:0:6a::"
    text = intent(
        [
            {
                "name": "g6dt",
                "behavior": "gtp6.dt46",
                "sid": f"{sidp}/64",
                "fib_table": 20,
            }
        ]
    )
    da = i2a6(a2i(sidp) | 5)
    out = []
    for name, pl, nxt, psc in (
        ("gtp6dt46_ip4", inner4(), "ip4-lookup", None),
        ("gtp6dt46_ip6_psc", inner6(), "ip6-lookup", (0, 9, 1)),
    ):
        inp = udp6_gtp(GNB6, da, gtpu(GPDU, 0x400, pl, psc=psc))
        out.append(case(name, RFC_GTP_DT, text, inp, pl, "g6dt", nxt, fib=20))
    inp = udp6_gtp(GNB6, da, gtpu(ECHO_REQ, 0, seq=7))
    out.append(
        case(
            "gtp6dt46_echo_local",
            RFC_GTP_DT,
            text,
            inp,
            None,
            "g6dt",
            "drop",
            "gtpu_control_local",
        )
    )
    return out


def build_all() -> dict[str, list[dict]]:
    return {
        "h_m_gtp4_d": vec_h_m_gtp4_d(),
        "end_m_gtp4_e": vec_end_m_gtp4_e(),
        "end_m_gtp6_d": vec_end_m_gtp6_d(False),
        "end_m_gtp6_d_di": vec_end_m_gtp6_d(True),
        "end_m_gtp6_e": vec_end_m_gtp6_e(),
        "end": vec_end(),
        "end_dt4": vec_end_dt("4"),
        "end_dt6": vec_end_dt("6"),
        "end_dt46": vec_end_dt("46"),
        "end_map": vec_end_map(),
        "end_limit": vec_end_limit(),
        "h_encaps": vec_h_encaps(),
        "h_t1st": vec_h_t1st(),
        "gtp4_dt4": vec_gtp4_dt4(),
        "gtp6_dt46": vec_gtp6_dt46(),
    }


def render(cases: list[dict]) -> str:
    return json.dumps(cases, indent=1) + "\n"


def check(outdir: Path = HERE) -> list[str]:
    """Names of vector files that differ from what the generator builds."""
    want = {f"{k}.json": render(v) for k, v in build_all().items()}
    bad = [
        n
        for n, t in want.items()
        if not (outdir / n).exists() or (outdir / n).read_text() != t
    ]
    bad += [p.name for p in outdir.glob("*.json") if p.name not in want]
    return sorted(bad)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--check",
        action="store_true",
        help="fail if the committed vectors differ from the generator",
    )
    args = ap.parse_args(argv)
    if args.check:
        bad = check()
        if bad:
            print("vectors out of date: " + ", ".join(bad), file=sys.stderr)
            print("run: python tests/vectors/make_vectors.py", file=sys.stderr)
            return 1
        return 0
    for k, v in build_all().items():
        (HERE / f"{k}.json").write_text(render(v))
        print(f"{k}.json: {len(v)} cases")
    return 0


if __name__ == "__main__":
    sys.exit(main())
