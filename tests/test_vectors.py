"""Golden vectors (tests/vectors/*.json, built from docs/behaviors.md with
scapy by tests/vectors/make_vectors.py) against the C core, plus round trips
through a D behaviour and its E counterpart."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from scapy.all import IP, UDP, IPv6, IPv6ExtHdrSegmentRouting, Raw
from scapy.contrib.gtp import GTP_U_Header, GTPPDUSessionContainer

from mupvpp.config import load_intent_text
from mupvpp.engine import Engine

VEC_DIR = Path(__file__).resolve().parent / "vectors"
BEHAVIORS = (
    "h_m_gtp4_d end_m_gtp4_e end_m_gtp6_d end_m_gtp6_d_di end_m_gtp6_e end "
    "end_dt4 end_dt6 end_dt46 end_map end_limit h_encaps h_t1st gtp4_dt4 gtp6_dt46"
).split()


def _load_generator():
    spec = importlib.util.spec_from_file_location(
        "make_vectors", VEC_DIR / "make_vectors.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _cases():
    out = []
    for path in sorted(VEC_DIR.glob("*.json")):
        for c in json.loads(path.read_text()):
            out.append(pytest.param(c, id=f"{path.stem}:{c['name']}"))
    return out


def _dissect(b: bytes):
    return IP(b) if b and b[0] >> 4 == 4 else IPv6(b)


def _fields(pkt) -> list[tuple[str, str, object]]:
    out = []
    layer = pkt
    while layer:
        for f in layer.fields_desc:
            out.append((layer.name, f.name, layer.getfieldval(f.name)))
        layer = layer.payload
    return out


def scapy_diff(want: bytes, got: bytes) -> str:
    """Field by field differences of two packets, as scapy dissects them."""
    a, b = _fields(_dissect(want)), _fields(_dissect(got))
    lines = [f"expected {len(want)} bytes, got {len(got)}"]
    for i in range(max(len(a), len(b))):
        fa = a[i] if i < len(a) else ("-", "-", "<missing>")
        fb = b[i] if i < len(b) else ("-", "-", "<missing>")
        if fa != fb:
            lines.append(
                f"  {fa[0]}.{fa[1]}: expected {fa[2]!r}, got {fb[0]}.{fb[1]}={fb[2]!r}"
            )
    first = next(
        (i for i in range(min(len(want), len(got))) if want[i] != got[i]),
        min(len(want), len(got)),
    )
    lines.append(f"  first differing byte: {first}")
    lines.append(f"  expected {want.hex()}")
    lines.append(f"  got      {got.hex()}")
    return "\n".join(lines)


def engine_for(text: str, name: str = "vector") -> Engine:
    e = Engine()
    e.load_intent(load_intent_text(text, name))
    return e


def test_generator_and_files_agree():
    gen = _load_generator()
    assert gen.check(VEC_DIR) == [], (
        "tests/vectors/*.json differ from make_vectors.py: "
        "run python tests/vectors/make_vectors.py"
    )


def test_every_behavior_has_vectors():
    present = {p.stem for p in VEC_DIR.glob("*.json")}
    assert set(BEHAVIORS) <= present
    for b in BEHAVIORS:
        cases = json.loads((VEC_DIR / f"{b}.json").read_text())
        assert any(c["error"] == "forwarded" for c in cases), b


@pytest.mark.parametrize("c", _cases())
def test_vector(c):
    e = engine_for(c["intent"], c["name"])
    inp = bytes.fromhex(c["input"])
    (r,) = e.process_bytes([inp])
    assert (r.error, r.sid, r.next) == (c["error"], c["sid"], c["next"]), (c["rfc"], r)
    if c["output"] is not None:
        want = bytes.fromhex(c["output"])
        assert r.data == want, f"{c['rfc']}\n" + scapy_diff(want, r.data)
        assert r.fib_index == c["fib_index"]
    else:
        assert r.data == inp
    ctr = e.counters()
    assert ctr[c["sid"]][c["error"]] == 1
    others = {k: v for k, v in ctr[c["sid"]].items() if k not in (c["error"], "bytes")}
    assert others == {}
    assert ctr["(no sid)"] == {"bytes": 0}


def test_public_vpp_examples_are_present():
    gtp4 = json.loads((VEC_DIR / "h_m_gtp4_d.json").read_text())
    gtp6 = json.loads((VEC_DIR / "end_m_gtp6_d.json").read_text())
    (c4,) = [c for c in gtp4 if c["name"] == "vpp_example_d4_32"]
    (c6,) = [c for c in gtp6 if c["name"] == "vpp_example_d4_64"]
    seg4 = IPv6(bytes.fromhex(c4["output"]))[IPv6ExtHdrSegmentRouting].addresses[0]
    seg6 = IPv6(bytes.fromhex(c6["output"]))[IPv6ExtHdrSegmentRouting].addresses[0]
    assert seg4 == "d4:0:101:101::c800:0"
    assert seg6 == "d4::c800:0"


# ---- round trips ---------------------------------------------------------------

ROUND4 = """
node: {name: rt}
policies:
  - {name: p, segments: ["fc00:0:2::1", "fc00:0:4e::/48"]}
sids:
  - {name: d, behavior: h.m.gtp4.d, match: 192.0.2.100/32, policy: p,
     source_prefix: "fc00:0:a4::/64"}
  - {name: e, behavior: end.m.gtp4.e, sid: "fc00:0:4e::/48", ipv4_source_len: 64}
  - {name: end, behavior: end, sid: "fc00:0:2::/64"}
"""

ROUND6 = """
node: {name: rt, encap_source: "fc00:0:ff::1"}
policies:
  - {name: p, segments: ["fc00:0:60::/%d"]}
sids:
  - {name: di, behavior: end.m.gtp6.d.di, sid: "fc00:0:6f::/64", policy: p}
  - {name: e, behavior: end.m.gtp6.e, sid: "fc00:0:60::/%d"}
"""


def _inner4():
    return bytes(
        IP(src="10.1.2.3", dst="10.9.8.7", id=9)
        / UDP(sport=7, dport=9)
        / Raw(b"round trip")
    )


def _inner6():
    return bytes(
        IPv6(src="2001:db8::1", dst="2001:db8::2")
        / UDP(sport=7, dport=9)
        / Raw(b"round trip 6")
    )


def _gtpu(teid, inner, qfi, rqi, mtype=255):
    g = GTP_U_Header(gtp_type=mtype, teid=teid)
    if qfi is not None:
        g.E, g.next_ex = 1, 0x85
        g = g / GTPPDUSessionContainer(type=0, QFI=qfi, RQI=rqi)
    return g / Raw(inner)


def _psc(pkt):
    return pkt[GTPPDUSessionContainer] if GTPPDUSessionContainer in pkt else None


@pytest.mark.parametrize("teid", [1, 0x12345678, 0xFFFFFFFF])
@pytest.mark.parametrize("qfi,rqi", [(None, 0), (9, 0), (63, 1), (0, 1)])
@pytest.mark.parametrize("inner", [_inner4, _inner6])
def test_round_trip_gtp4(teid, qfi, rqi, inner):
    e = engine_for(ROUND4)
    pl = inner()
    pkt = (
        IP(src="192.0.2.10", dst="192.0.2.100", ttl=64)
        / UDP(sport=2152, dport=2152)
        / _gtpu(teid, pl, qfi, rqi)
    )
    (r1,) = e.process_bytes([bytes(pkt)])
    assert (r1.sid, r1.error) == ("d", "forwarded")
    (r2,) = e.process_bytes([r1.data])  # End at fc00:0:2::1
    assert (r2.sid, r2.error) == ("end", "forwarded")
    (r3,) = e.process_bytes([r2.data])
    assert (r3.sid, r3.error, r3.next) == ("e", "forwarded", "ip4-lookup")
    out = IP(r3.data)
    # the SID carried the IPv4 DA, the IPv6 SA the IPv4 SA: both come back
    assert (out.src, out.dst) == ("192.0.2.10", "192.0.2.100")
    g = out[GTP_U_Header]
    assert (g.gtp_type, g.teid) == (255, teid)
    psc = _psc(out)
    if qfi or rqi:
        assert (psc.QFI, psc.RQI) == (qfi or 0, rqi)
    else:
        assert psc is None
    assert bytes(out[UDP].payload)[-len(pl) :] == pl
    assert out[UDP].len == 8 + 8 + (8 if psc else 0) + len(pl)


@pytest.mark.parametrize("plen", [44, 64, 68, 88])
@pytest.mark.parametrize("qfi,rqi", [(None, 0), (5, 1)])
@pytest.mark.parametrize("inner", [_inner4, _inner6])
def test_round_trip_gtp6(plen, qfi, rqi, inner):
    e = engine_for(ROUND6 % (plen, plen))
    pl = inner()
    teid = 0xA1B2C3D4
    da = "fc00:0:6f::77"
    pkt = (
        IPv6(src="2001:db8:a::10", dst=da, tc=0x28, fl=3)
        / UDP(sport=2152, dport=2152)
        / _gtpu(teid, pl, qfi, rqi)
    )
    (r1,) = e.process_bytes([bytes(pkt)])
    assert (r1.sid, r1.error) == ("di", "forwarded")
    mid = IPv6(r1.data)
    assert mid[IPv6ExtHdrSegmentRouting].segleft == 1
    (r2,) = e.process_bytes([r1.data])
    assert (r2.sid, r2.error, r2.next) == ("e", "forwarded", "ip6-lookup")
    out = IPv6(r2.data)
    # SA kept by D.Di; GTP-U DA = SRH[0] = the original DA
    assert (out.src, out.dst) == ("2001:db8:a::10", da)
    g = out[GTP_U_Header]
    assert (g.gtp_type, g.teid) == (255, teid)
    psc = _psc(out)
    if qfi:
        assert (psc.QFI, psc.RQI) == (qfi, rqi)
    else:
        assert psc is None
    assert bytes(out[UDP].payload)[-len(pl) :] == pl
    chk = out[UDP].chksum
    del out[UDP].chksum
    assert IPv6(bytes(out))[UDP].chksum == chk


@pytest.mark.parametrize("mtype,seq", [(254, None), (1, 0x1234), (2, 0xFFFE)])
def test_round_trip_gtp4_control(mtype, seq):
    e = engine_for(ROUND4)
    g = GTP_U_Header(gtp_type=mtype, teid=0x55 if seq is None else 0)
    if seq is not None:
        g.S, g.seq = 1, seq
    pkt = IP(src="192.0.2.10", dst="192.0.2.100") / UDP(sport=2152, dport=2152) / g
    (r1,) = e.process_bytes([bytes(pkt)])
    (r2,) = e.process_bytes([r1.data])
    (r3,) = e.process_bytes([r2.data])
    assert [r.error for r in (r1, r2, r3)] == ["forwarded"] * 3
    out = IP(r3.data)
    assert out[UDP].sport == 2152
    og = out[GTP_U_Header]
    assert og.gtp_type == mtype
    if seq is None:
        assert (og.teid, og.S) == (0x55, 0)
    else:
        assert (og.teid, og.S, og.seq) == (0, 1, seq)
