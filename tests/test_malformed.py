"""Malformed input against every parser entry of the C core: each must be
dropped with its named reason (foreach_mup_error in core/mup.h,
docs/behaviors.md "Drops"), and nothing outside the packet may be read or
written.

Packets are placed at the very end of a readable page followed by a
PROT_NONE page (a read past the end faults), with guard bytes in front of
the headroom (a write before it is seen).
"""

from __future__ import annotations

import ctypes
import mmap

import pytest
from scapy.all import IP, UDP, IPv6, IPv6ExtHdrSegmentRouting, Raw
from scapy.contrib.gtp import GTP_U_Header, GTPPDUSessionContainer

from mupvpp.config import load_intent_text
from mupvpp.engine import ERROR_NAMES, NEXT_NAMES, Engine, ffi, lib

INTENT = """
node: {name: bad, encap_source: "fc00:0:ff::1"}
policies:
  - {name: p4, segments: ["fc00:0:2::1", "fc00:0:4e::/48"]}
  - {name: p6, segments: ["fc00:0:2::1", "fc00:0:6e::/64"]}
sids:
  - {name: gtp4d, behavior: h.m.gtp4.d, match: 192.0.2.100/32, policy: p4,
     source_prefix: "fc00:0:a4::/64"}
  - {name: gtp4e, behavior: end.m.gtp4.e, sid: "fc00:0:4e::/48", ipv4_source_len: 64}
  - {name: gtp6d, behavior: end.m.gtp6.d, sid: "fc00:0:6d::/64", policy: p6}
  - {name: gtp6e, behavior: end.m.gtp6.e, sid: "fc00:0:6e::/64"}
  - {name: end, behavior: end, sid: "fc00:0:2::/64"}
  - {name: dt4, behavior: end.dt4, sid: "fc00:0:d4::/64", fib_table: 10}
"""

GNB4, UPF4 = "192.0.2.10", "192.0.2.100"
GNB6 = "2001:db8:a::10"
SRC6 = "fc00:0:a4::c000:20a"
GTP4E_DA = "fc00:0:4e:c000:264:2412:3456:7800"  # 192.0.2.100, QFI 9, TEID
GTP6E_DA = "fc00:0:6e:0:2412:3456:7800:0"


def inner4() -> bytes:
    return bytes(
        IP(src="10.0.0.1", dst="10.0.0.2", id=1)
        / UDP(sport=1, dport=2)
        / Raw(b"x" * 16)
    )


def gtp(flags_psc=True, mtype=255, teid=0x12345678, payload=None):
    payload = inner4() if payload is None else payload
    g = GTP_U_Header(gtp_type=mtype, teid=teid)
    if flags_psc:
        g.E, g.next_ex = 1, 0x85
        g = g / GTPPDUSessionContainer(type=0, QFI=9)
    return bytes(g / Raw(payload))


def gtp4(g: bytes, **ip) -> bytes:
    return bytes(
        IP(src=GNB4, dst=UPF4, id=7, **ip) / UDP(sport=2152, dport=2152) / Raw(g)
    )


def gtp6(g: bytes, da="fc00:0:6d::1", srh=None) -> bytes:
    ip = IPv6(src=GNB6, dst=da)
    if srh is not None:
        ip = ip / IPv6ExtHdrSegmentRouting(nh=17, addresses=srh[0], segleft=srh[1])
    return bytes(ip / UDP(sport=2152, dport=2152) / Raw(g))


def srv6(da, segs=None, sl=0, payload=None, hlim=64, nh=4, **kw) -> bytes:
    payload = inner4() if payload is None else payload
    ip = IPv6(src=SRC6, dst=da, hlim=hlim)
    if segs is None:
        ip.nh = nh
        return bytes(ip / Raw(payload))
    srh = IPv6ExtHdrSegmentRouting(nh=nh, addresses=segs, segleft=sl, **kw)
    return bytes(ip / srh / Raw(payload))


# A valid input for each parser entry (SID name -> packet), and the header
# boundaries a truncation crosses (see _fixed_reason).
VALID = {
    "gtp4d": gtp4(gtp()),  # IPv4 20 | UDP 8 | GTP-U 8+4 | PSC 4 | inner
    "gtp4e": srv6(GTP4E_DA, [GTP4E_DA]),  # IPv6 40 | SRH 8+16 | inner
    "gtp6d": gtp6(gtp()),  # IPv6 40 | UDP 8 | GTP-U 8+4 | PSC 4 | inner
    "gtp6e": srv6(GTP6E_DA, [GNB6, GTP6E_DA], sl=1),  # IPv6 40 | SRH 8+32 | inner
    "end": srv6("fc00:0:2::1", ["fc00:0:d4::1", "fc00:0:2::1"], sl=1),
    "dt4": srv6("fc00:0:d4::1", ["fc00:0:d4::1", "fc00:0:2::1"], sl=0),
}


def _fixed_reason(sid: str, k: int) -> str:
    """Reason for the valid packet cut to k bytes with its length fields
    (IPv4 total length / IPv6 payload length, UDP length, GTP-U length)
    rewritten to match, so that each inner parser sees the cut:

    GTP-U over IPv4 (gtp4d), offsets: IPv4 < 20, UDP < 28 (length field
    says less than a UDP header), GTP-U mandatory < 36, optional octets
    < 40 (E set: the 4 optional octets are required), PSC < 44 (an
    extension needs its length octet and 4 bytes), then the T-PDU must be
    a whole IPv4/IPv6 packet: any cut inside it is bad_inner (the inner
    length fields are not rewritten).
    GTP-U over IPv6 (gtp6d): the same 20 bytes later.  SRv6 entries: the
    SRH needs its 8 fixed octets and its announced length (srh_truncated);
    the decapsulating ones then need a whole inner packet (bad_inner);
    End does not look past the SRH.
    """
    if sid in ("gtp4d", "gtp6d"):
        base = 20 if sid == "gtp4d" else 40
        ip_trunc = "ip4_truncated" if sid == "gtp4d" else "ip6_truncated"
        for end, why in (
            (base, ip_trunc),
            (base + 8, "udp_bad_length"),
            (base + 20, "gtpu_truncated"),
            (base + 24, "gtpu_bad_extension"),
        ):
            if k < end:
                return why
        return "bad_inner"
    srh_end = {"gtp4e": 64, "gtp6e": 80, "end": 80, "dt4": 80}[sid]
    if k < 40:
        return "ip6_truncated"
    if k < srh_end:
        return "srh_truncated"
    if sid == "end":
        return "forwarded"
    return "bad_inner"


def _fix_lengths(sid: str, b: bytes) -> bytes:
    b = bytearray(b)
    k = len(b)

    def put16(off, v):
        if off + 2 <= k and v >= 0:
            b[off : off + 2] = v.to_bytes(2, "big")

    if sid == "gtp4d":
        put16(2, k)
        put16(24, k - 20)
        put16(30, k - 36)
    else:
        put16(4, k - 40)
        if sid == "gtp6d":
            put16(44, k - 40)
            put16(50, k - 56)
    return bytes(b)


# ---- guarded buffers -----------------------------------------------------------

PAGE = mmap.PAGESIZE
_libc = ctypes.CDLL(None, use_errno=True)
_libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]


class Guarded:
    """Two RW pages then a PROT_NONE page; packets end where it starts."""

    GUARD = 64

    def __init__(self):
        self.m = mmap.mmap(-1, 3 * PAGE)
        self.addr = ctypes.addressof(ctypes.c_char.from_buffer(self.m))
        assert _libc.mprotect(self.addr + 2 * PAGE, PAGE, 0) == 0
        self.end = 2 * PAGE

    def run(
        self, eng: Engine, data: bytes, headroom: int = 128, sid: str | None = None
    ):
        start = self.end - len(data)
        low = start - headroom - self.GUARD
        assert low >= 0
        self.m[low:start] = bytes([0xA5]) * (start - low)
        self.m[start : self.end] = data
        pk = ffi.new("mup_pkt_t[1]")
        pk[0].data = ffi.cast("uint8_t *", self.addr + start)
        pk[0].len = len(data)
        pk[0].headroom = headroom
        pk[0].tailroom = 0
        if sid is None:
            lib.mup_engine_process(eng.raw, pk, 1, eng.now_ns())
        else:
            lib.mup_engine_run_sid(eng.raw, eng.index[sid], pk, 1, eng.now_ns())
        p = pk[0]
        err = ERROR_NAMES[p.error]
        assert self.m[low : low + self.GUARD] == bytes([0xA5]) * self.GUARD, "guard"
        off = int(ffi.cast("uintptr_t", p.data)) - self.addr
        if err == "forwarded":
            assert low + self.GUARD <= off and off + p.len <= self.end
        else:
            # a drop leaves the headroom and the packet as they were
            assert self.m[low:start] == bytes([0xA5]) * (start - low), "headroom"
            assert self.m[start : self.end] == data, "dropped packet modified"
        name = eng.names.get(p.sid_index, "") if sid is None else sid
        return err, name, NEXT_NAMES[p.next], bytes(self.m[off : off + p.len])


@pytest.fixture(scope="module")
def guarded():
    return Guarded()


@pytest.fixture()
def eng():
    e = Engine()
    e.load_intent(load_intent_text(INTENT, "malformed"))
    return e


def test_valid_inputs_are_forwarded(eng, guarded):
    for sid, pkt in VALID.items():
        err, name, nxt, _ = guarded.run(eng, pkt)
        assert (err, name) == ("forwarded", sid)
        assert nxt != "drop"


# ---- truncation at every offset --------------------------------------------------


@pytest.mark.parametrize("sid", sorted(VALID))
def test_truncated_every_offset(eng, guarded, sid):
    """Cut, length fields untouched: the outer IP header announces more than
    there is, so the outer parser says truncated (ip4_truncated for the
    IPv4 entry, ip6_truncated for the IPv6 ones: the IPv6 payload length
    runs past the buffer).  Through the classifier, a packet too short to
    hold the destination address reaches no SID (no_sid)."""
    pkt = VALID[sid]
    want = "ip4_truncated" if sid == "gtp4d" else "ip6_truncated"
    min_cls = 20 if sid == "gtp4d" else 40
    for k in range(len(pkt)):
        cut = pkt[:k]
        err, name, nxt, _ = guarded.run(eng, cut, sid=sid)
        assert (err, nxt) == (want, "drop"), (sid, k)
        err, name, nxt, _ = guarded.run(eng, cut)
        if k < min_cls:
            assert (err, name) == ("no_sid", ""), (sid, k)
        else:
            assert (err, name, nxt) == (want, sid, "drop"), (sid, k)


@pytest.mark.parametrize("sid", sorted(VALID))
def test_truncated_lengths_fixed(eng, guarded, sid):
    """Cut with the length fields rewritten to the cut: every header boundary
    gives its own reason (see _fixed_reason); only a cut inside the opaque
    inner packet may be forwarded."""
    pkt = VALID[sid]
    for k in range(len(pkt)):
        cut = _fix_lengths(sid, pkt[:k])
        want = _fixed_reason(sid, k)
        err, _, nxt, _ = guarded.run(eng, cut, sid=sid)
        assert err == want, (sid, k, err, want)
        assert (nxt == "drop") == (want != "forwarded")


# ---- headroom -------------------------------------------------------------------


def _encap_need(sid: str) -> int:
    """Bytes of headroom the encapsulation needs: pushed IPv6 + SRH of two
    segments (40 + 8 + 32) minus the outer headers it replaces (IPv4 20 /
    IPv6 40, UDP 8, GTP-U 16 with the PSC)."""
    return 80 - {"gtp4d": 44, "gtp6d": 64}[sid]


@pytest.mark.parametrize("sid", ["gtp4d", "gtp6d"])
def test_headroom(eng, guarded, sid):
    need = _encap_need(sid)
    for hr in (0, need - 1):
        err, name, nxt, _ = guarded.run(eng, VALID[sid], headroom=hr)
        assert (err, name, nxt) == ("no_headroom", sid, "drop"), hr
    err, _, _, out = guarded.run(eng, VALID[sid], headroom=need)
    assert err == "forwarded"
    assert len(out) == len(VALID[sid]) + need


@pytest.mark.parametrize("sid", ["gtp4e", "gtp6e", "end", "dt4"])
def test_no_headroom_needed_when_shrinking(eng, guarded, sid):
    err, name, _, _ = guarded.run(eng, VALID[sid], headroom=0)
    assert (err, name) == ("forwarded", sid)


def test_h_encaps_no_headroom(guarded):
    e = Engine()
    e.load_intent(
        load_intent_text(
            'node: {name: x, encap_source: "fc00::1"}\n'
            'policies: [{name: p, segments: ["fc00:0:2::1"]}]\n'
            "sids: [{name: enc, behavior: h.encaps, match: 10.0.0.0/24, policy: p}]\n",
            "enc",
        )
    )
    assert guarded.run(e, inner4(), headroom=39)[:2] == ("no_headroom", "enc")
    assert guarded.run(e, inner4(), headroom=40)[:2] == ("forwarded", "enc")


# ---- GTP-U header errors (both GTP-U parser entries) --------------------------------


def _both(g: bytes):
    return [("gtp4d", gtp4(g)), ("gtp6d", gtp6(g))]


def _set(b: bytes, off: int, val: bytes) -> bytes:
    return b[:off] + val + b[off + len(val) :]


def _gtp_cases():
    base = gtp()
    no_psc = gtp(flags_psc=False)
    ln = len(base) - 8
    # extension chain: | len | content ... | next type |
    skippable = (
        bytes(GTP_U_Header(gtp_type=255, teid=5, E=1, next_ex=0x41))
        + bytes([1, 0xAB, 0xCD, 0])
        + inner4()
    )
    skippable = _set(skippable, 2, (len(skippable) - 8).to_bytes(2, "big"))
    required = _set(skippable, 11, b"\xc1")
    zero_len = _set(base, 12, b"\x00")
    # PSC announcing 2 units (8 bytes) where the GTP-U length ends after 6
    short_ext = _set(_set(base, 12, b"\x02")[:18], 2, (10).to_bytes(2, "big"))
    return [
        ("flags_0x20_pt0", _set(base, 0, b"\x24"), "gtpu_bad_version"),
        ("flags_0x50_version2", _set(base, 0, b"\x54"), "gtpu_bad_version"),
        (
            "gtpu_length_past_udp",
            _set(base, 2, (ln + 1).to_bytes(2, "big")),
            "gtpu_bad_length",
        ),
        ("zero_length_extension", zero_len, "gtpu_bad_extension"),
        ("truncated_extension", short_ext, "gtpu_bad_extension"),
        ("unknown_required_ext_0xc1", required, "gtpu_unknown_ext"),
        ("unknown_skippable_ext_0x41", skippable, "forwarded"),
        ("message_type_3", _set(no_psc, 1, b"\x03"), "gtpu_bad_msg_type"),
        ("gpdu_without_tpdu", gtp(payload=b""), "bad_inner"),
        ("short_gtpu", base[:7], "gtpu_truncated"),
    ]


@pytest.mark.parametrize(
    "name,g,want", _gtp_cases(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_gtpu_errors(eng, guarded, name, g, want):
    for sid, pkt in _both(g):
        err, who, nxt, out = guarded.run(eng, pkt)
        assert (err, who) == (want, sid), name
        if want == "forwarded":
            # the skipped extension is gone, the T-PDU is carried unchanged
            assert out.endswith(inner4())


def test_udp_length_past_ip_total_length(eng, guarded):
    pkt = gtp4(gtp())
    bad = _set(pkt, 24, (len(pkt) - 20 + 1).to_bytes(2, "big"))
    assert guarded.run(eng, bad)[:2] == ("udp_bad_length", "gtp4d")
    pkt6 = gtp6(gtp())
    bad6 = _set(pkt6, 44, (len(pkt6) - 40 + 1).to_bytes(2, "big"))
    assert guarded.run(eng, bad6)[:2] == ("udp_bad_length", "gtp6d")
    assert guarded.run(eng, _set(pkt, 24, b"\x00\x07"))[:2] == (
        "udp_bad_length",
        "gtp4d",
    )


def test_not_gtpu(eng, guarded):
    g = gtp()
    other_port = bytes(IP(src=GNB4, dst=UPF4) / UDP(sport=2152, dport=2153) / Raw(g))
    tcp = _set(gtp4(g), 9, b"\x06")
    assert guarded.run(eng, other_port)[:2] == ("not_gtpu", "gtp4d")
    assert guarded.run(eng, tcp)[:2] == ("not_gtpu", "gtp4d")


@pytest.mark.parametrize("ipkw", [{"flags": "MF"}, {"frag": 10}])
def test_ipv4_fragment(eng, guarded, ipkw):
    assert guarded.run(eng, gtp4(gtp(), **ipkw))[:2] == ("ip4_fragment", "gtp4d")


def test_ipv4_bad_header(eng, guarded):
    pkt = gtp4(gtp())
    assert guarded.run(eng, _set(pkt, 0, b"\x44"))[:2] == ("ip4_malformed", "gtp4d")
    assert guarded.run(eng, _set(pkt, 2, b"\x00\x13"))[:2] == ("ip4_malformed", "gtp4d")


# ---- Segments Left, SRH and hop limit ------------------------------------------


def test_segments_left(eng, guarded):
    cases = [
        (srv6(GTP6E_DA, [GNB6, GTP6E_DA], sl=0), "gtp6e", "srh_bad_segments_left"),
        (
            srv6(GTP6E_DA, [GNB6, GTP6E_DA, "fc00:0:2::9"], sl=2),
            "gtp6e",
            "srh_bad_segments_left",
        ),
        (srv6(GTP6E_DA), "gtp6e", "srh_missing"),
        (srv6(GTP4E_DA, ["fc00::9", GTP4E_DA], sl=1), "gtp4e", "srh_bad_segments_left"),
        (srv6("fc00:0:2::1", ["fc00:0:2::1"], sl=0), "end", "srh_bad_segments_left"),
        (srv6("fc00:0:2::1"), "end", "srh_missing"),
        (
            srv6("fc00:0:d4::1", ["fc00:0:d4::1", "fc00::9"], sl=1),
            "dt4",
            "srh_bad_segments_left",
        ),
        (
            gtp6(gtp(), srh=(["fc00:0:6d::1", "fc00::9"], 1)),
            "gtp6d",
            "srh_bad_segments_left",
        ),
    ]
    for pkt, sid, want in cases:
        assert guarded.run(eng, pkt)[:3] == (want, sid, "drop"), (sid, want)


def test_srh_shorter_than_announced(eng, guarded):
    pkt = srv6("fc00:0:2::1", ["fc00:0:d4::1", "fc00:0:2::1"], sl=1)
    # hdr ext len 6 (56 bytes) where 4 (40 bytes) + inner remain: the SRH
    # would end past the IPv6 payload once the inner packet is dropped
    bad = _set(pkt, 41, b"\x06")
    bad = _set(bad, 4, (40 + 8).to_bytes(2, "big"))[: 40 + 48]
    assert guarded.run(eng, bad)[:2] == ("srh_truncated", "end")
    bad2 = _set(pkt, 41, bytes([200]))
    assert guarded.run(eng, bad2)[:2] == ("srh_truncated", "end")


def test_srh_last_entry_past_its_length(eng, guarded):
    pkt = srv6("fc00:0:2::1", ["fc00:0:d4::1", "fc00:0:2::1"], sl=1)
    assert guarded.run(eng, _set(pkt, 44, b"\x02"))[:2] == ("srh_malformed", "end")
    # Segments Left above Last Entry
    assert guarded.run(eng, _set(pkt, 43, b"\x02"))[:2] == ("srh_malformed", "end")
    # routing type other than 4
    assert guarded.run(eng, _set(pkt, 42, b"\x03"))[:2] == ("srh_malformed", "end")


@pytest.mark.parametrize("hlim", [0, 1])
def test_hop_limit(eng, guarded, hlim):
    for pkt, sid in (
        (srv6("fc00:0:2::1", ["fc00:0:d4::1", "fc00:0:2::1"], sl=1, hlim=hlim), "end"),
        (srv6(GTP4E_DA, hlim=hlim), "gtp4e"),
        (srv6(GTP6E_DA, [GNB6, GTP6E_DA], sl=1, hlim=hlim), "gtp6e"),
    ):
        assert guarded.run(eng, pkt)[:3] == ("hop_limit_exceeded", sid, "drop")


def test_ipv6_bad_version_and_ext_chain(eng, guarded):
    pkt = srv6("fc00:0:d4::1")
    # version 6 is what the classifier needs: run the SID directly
    assert guarded.run(eng, _set(pkt, 0, b"\x40"), sid="dt4")[0] == "ip6_malformed"
    # Hop-by-Hop after another extension header
    dst_hbh = (
        bytes(IPv6(src=SRC6, dst="fc00:0:d4::1", nh=60))
        + bytes([0, 0, 1, 4, 0, 0, 0, 0])
        + bytes([4, 0, 1, 4, 0, 0, 0, 0])
        + inner4()
    )
    dst_hbh = _set(dst_hbh, 4, (len(dst_hbh) - 40).to_bytes(2, "big"))
    assert guarded.run(eng, dst_hbh)[:2] == ("ip6_bad_ext_chain", "dt4")


def test_end_m_gtp4_e_control_needs_known_tag(eng, guarded):
    pkt = srv6(GTP4E_DA, [GTP4E_DA], sl=0, payload=b"", nh=59, tag=0x0010)
    assert guarded.run(eng, pkt)[:2] == ("gtpu_bad_msg_type", "gtp4e")
    pkt = srv6(GTP4E_DA, [GTP4E_DA], sl=0, payload=inner4(), nh=6)
    assert guarded.run(eng, pkt)[:2] == ("bad_inner", "gtp4e")
