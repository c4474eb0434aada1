"""The embedded engine's own surface: compatibility options, sessions,
handover atomicity, configuration refusals."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from scapy.all import IP, UDP, IPv6, IPv6ExtHdrSegmentRouting, raw
from scapy.contrib.gtp import GTP_U_Header, GTPPDUSessionContainer

from mupvpp.config import load_intent_text
from mupvpp.engine import Engine, EngineError

LAB = (Path(__file__).resolve().parents[1] / "examples" / "lab.yaml").read_text()


def engine(text: str = LAB) -> Engine:
    e = Engine()
    e.load_intent(load_intent_text(text, "lab.yaml"))
    return e


def uplink(teid=0x300, psc_type=None):
    g = GTP_U_Header(teid=teid)
    if psc_type is not None:
        g = GTP_U_Header(teid=teid, E=1, next_ex=0x85) / GTPPDUSessionContainer(
            type=psc_type, QFI=5
        )
    return raw(
        IP(src="192.0.2.10", dst="192.0.2.100")
        / UDP(sport=2152, dport=2152)
        / g
        / IP(src="10.10.0.1", dst="198.51.100.1")
    )


def test_compat_args_vpp_appends_an_args_segment():
    e = engine(LAB.replace("args: rfc ", "args: vpp "))
    r = e.process_bytes([uplink()])[0]
    assert r.error == "forwarded"
    # policy kept intact (fc00:0:2::1, fc00:0:4e::), args in an extra segment
    assert IPv6(r.data)[IPv6ExtHdrSegmentRouting].addresses == [
        "fc00:0:4e:c000:264:0:3:0",
        "fc00:0:4e::",
        "fc00:0:2::1",
    ]


def test_compat_args_rfc_writes_into_the_last_segment():
    r = engine().process_bytes([uplink()])[0]
    assert IPv6(r.data)[IPv6ExtHdrSegmentRouting].addresses == [
        "fc00:0:4e:c000:264:0:3:0",
        "fc00:0:2::1",
    ]


@pytest.mark.parametrize(
    "u_bit, expected_first_args_octet", [("rfc", 0x14), ("vpp", 0x15)]
)
def test_u_bit_compat(u_bit, expected_first_args_octet):
    """UL PSC (PDU type 1), QFI 5: U = 0 (RFC) or the PDU type (VPP)."""
    e = engine(LAB.replace("u_bit: rfc ", f"u_bit: {u_bit} "))
    r = e.process_bytes([uplink(psc_type=1)])[0]
    sid = IPv6(r.data)[IPv6ExtHdrSegmentRouting].addresses[0]
    import ipaddress

    assert ipaddress.IPv6Address(sid).packed[10] == expected_first_args_octet


def downlink(ue="10.10.0.1"):
    return raw(IP(src="198.51.100.1", dst=ue) / UDP(sport=53, dport=4000))


def gnb_of(data: bytes) -> str:
    import ipaddress

    sid = ipaddress.IPv6Address(IPv6(data)[IPv6ExtHdrSegmentRouting].addresses[0])
    return str(ipaddress.IPv4Address(sid.packed[6:10]))


def test_type1_session_miss_hit_handover_delete():
    e = engine()
    assert e.process_bytes([downlink("10.10.0.9")])[0].error == "session_miss"
    assert gnb_of(e.process_bytes([downlink()])[0].data) == "192.0.2.10"
    assert e.t1st_set("downlink", "10.10.0.1/32", "192.0.2.11", 0x500, 9) == 1
    assert gnb_of(e.process_bytes([downlink()])[0].data) == "192.0.2.11"
    e.t1st_del("downlink", "10.10.0.1/32")
    assert e.process_bytes([downlink()])[0].error == "session_miss"
    assert e.counters()["downlink"]["session_miss"] == 2


def test_teid_zero_refused():
    with pytest.raises(EngineError, match="type1 session 10.10.0.7/32"):
        engine().t1st_set("downlink", "10.10.0.7/32", "192.0.2.10", 0, 9)


def test_handover_under_concurrent_traffic_loses_nothing():
    """A writer thread flips sessions while the data plane runs in C (the
    GIL is released during cffi calls): every packet sees old or new."""
    e = engine()
    ues = [f"10.10.1.{i}" for i in range(1, 200)]
    for i, ue in enumerate(ues):
        e.t1st_set("downlink", f"{ue}/32", "192.0.2.10", 0x1000 + i, 9)
    stop = threading.Event()

    def flip():
        n = 0
        while not stop.is_set():
            gnb = "192.0.2.11" if n % 2 == 0 else "192.0.2.10"
            for i, ue in enumerate(ues):
                e.t1st_set("downlink", f"{ue}/32", gnb, 0x2000 + i, 9)
            n += 1

    t = threading.Thread(target=flip)
    t.start()
    seen = set()
    try:
        for _ in range(30):
            for r in e.process_bytes([downlink(ue) for ue in ues]):
                assert r.error == "forwarded"
                seen.add(gnb_of(r.data))
    finally:
        stop.set()
        t.join()
    assert seen <= {"192.0.2.10", "192.0.2.11"}


def test_refused_configuration_names_the_sid():
    bad = LAB.replace('sid: "fc00:0:6e::/64"', 'sid: "fc00:0:6e::/64"')
    e = Engine()
    intent = load_intent_text(bad, "lab.yaml")
    sid = intent.sid("gtp4e")
    import dataclasses
    import ipaddress

    wide = dataclasses.replace(sid, prefix=ipaddress.ip_network("fc00:0:4e::/64"))
    with pytest.raises(EngineError) as ei:
        e.set_sid(wide, intent)
    assert str(ei.value) == (
        "sid gtp4e: End.M.GTP4.E SID prefix leaves no room for IPv4 DA (32) "
        "+ Args.Mob.Session (40): at most /56"
    )


def test_gtpu_length_shorter_than_the_inner_packet_is_bad_inner():
    inner = (
        IP(src="10.10.0.1", dst="198.51.100.1") / UDP(sport=1, dport=2) / (b"x" * 20)
    )
    pkt = (
        IP(src="192.0.2.10", dst="192.0.2.100")
        / UDP(sport=2152, dport=2152)
        / GTP_U_Header(teid=0x1234, length=10)
        / inner
    )
    assert engine().process_bytes([raw(pkt)])[0].error == "bad_inner"


def test_end_marker_tag_with_user_data_is_bad_inner():
    da = "fc00:0:4e:c000:20a:2400:1:0"
    pkt = (
        IPv6(src="fc00:0:a4:0:c000:264::", dst=da)
        / IPv6ExtHdrSegmentRouting(addresses=[da], segleft=0, tag=1)
        / IP(src="198.51.100.1", dst="10.10.0.1")
    )
    r = engine().process_bytes([raw(pkt)])[0]
    assert (r.sid, r.error) == ("gtp4e", "bad_inner")


def test_ipv6_fragment_to_gtp6_d_is_counted_as_fragment():
    from scapy.all import IPv6ExtHdrFragment

    pkt = (
        IPv6(src="2001:db8:a::10", dst="fc00:0:6d::1")
        / IPv6ExtHdrFragment(m=1, id=7)
        / UDP(sport=2152, dport=2152)
        / GTP_U_Header(teid=1)
        / IP(src="10.10.0.1", dst="198.51.100.1")
    )
    r = engine().process_bytes([raw(pkt)])[0]
    assert (r.sid, r.error) == ("gtp6d", "ip6_fragment")


def test_handover_end_marker_reaches_the_old_gnb_as_gtpu_end_marker():
    """The End Marker an H.M.T1ST headend sends on the old path before a
    handover (3GPP TS 29.281 section 7.3.2): SRv6 with SRH tag End Marker
    and next header 59 (draft-murakami), the old gNB and TEID in the args
    SID; End.M.GTP4.E turns it into GTP-U type 254 with the old TEID."""
    e = engine()
    em = IPv6(e.t1st_end_marker("downlink", "10.10.0.1/32"))
    srh = em[IPv6ExtHdrSegmentRouting]
    assert (em.src, em.dst, em.nh, em.hlim) == (
        "fc00:0:ff::1",
        "fc00:0:2::1",
        43,
        64,
    )
    assert (srh.nh, srh.tag, srh.segleft, srh.lastentry) == (59, 1, 1, 1)
    # | fc00:0:4e (48) | c000:020a = 192.0.2.10 | 24 = QFI 9 << 2 | 00 00 01 00
    # = TEID 0x100 | zero pad |
    assert srh.addresses == ["fc00:0:4e:c000:20a:2400:1:0", "fc00:0:2::1"]
    assert em.plen == len(raw(srh)) and not raw(srh.payload)
    # fc00:0:2::1 is the lab's End SID, then End.M.GTP4.E
    hop = e.process_bytes([raw(em)])[0]
    assert (hop.sid, hop.error) == ("end", "forwarded")
    out = e.process_bytes([hop.data])[0]
    assert (out.sid, out.error) == ("gtp4e", "forwarded")
    g = IP(out.data)
    assert (g.dst, g[UDP].dport) == ("192.0.2.10", 2152)
    assert (g[GTP_U_Header].gtp_type, g[GTP_U_Header].teid) == (254, 0x100)
    # 4 optional octets + the DL PDU Session Container (QFI 9), no T-PDU
    assert (g[GTP_U_Header].E, g[GTP_U_Header].length) == (1, 8)
    psc = g[GTPPDUSessionContainer]
    assert (psc.type, psc.QFI, psc.NextExtHdr) == (0, 9, 0)
    assert not raw(psc.payload)


def test_end_marker_refusals_name_the_reason():
    e = engine()
    with pytest.raises(EngineError, match=r"10.10.0.9/32: no such session"):
        e.t1st_end_marker("downlink", "10.10.0.9/32")
    with pytest.raises(EngineError, match="not an H.M.T1ST headend"):
        e.t1st_end_marker("uplink-gtp4", "10.10.0.1/32")
