"""trex_profiles/*.py through the official TRex client (.venv-trex).

Each profile is compiled by the real client in a subprocess
(mupvpp.traffic.compile), its packets are parsed with this venv's scapy
2.8 (an independent decoder: the profiles are built with the client's
bundled scapy 2.4 and raw bytes) and checked field by field against
examples/lab.yaml, and its JSON must survive the client's
from_json -> to_json round trip.
"""

import base64
from pathlib import Path

import pytest

from mupvpp.traffic import compile as tc
from mupvpp.traffic.streams import INSN_FIX_L4, INSN_WRITE, parse_streams, weights

scapy = pytest.importorskip("scapy.all")
gtp = pytest.importorskip("scapy.contrib.gtp")
inet6 = pytest.importorskip("scapy.layers.inet6")

REPO = Path(__file__).resolve().parents[1]
PROFILES = REPO / "trex_profiles"
ALL = sorted(p.name for p in PROFILES.glob("[a-z]*.py"))

needs_trex = pytest.mark.skipif(
    not (REPO / ".venv-trex" / "bin" / "python").exists(),
    reason="TRex client venv (.venv-trex) not installed: run make venv-trex",
)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("streams")


@pytest.fixture
def compiled(cache, monkeypatch):
    monkeypatch.setenv("MUPVPP_CACHE", str(cache))

    def run(name, **tunables):
        return tc.compile_profile(PROFILES / name, tunables)

    return run


def pkts(streams):
    return [base64.b64decode(s["packet"]["binary"]) for s in streams]


def checksums_ok(raw: bytes) -> bool:
    """Every IPv4/UDP checksum in the frame is what scapy computes (a UDP
    checksum of 0, 'none' over IPv4, is accepted as sent)."""
    p = scapy.Ether(raw)
    q = p.copy()
    layer = q
    while layer:
        if isinstance(layer, scapy.IP):
            del layer.chksum
        if isinstance(layer, scapy.UDP) and layer.chksum != 0:
            del layer.chksum
        layer = layer.payload
    return bytes(scapy.Ether(bytes(q))) == raw


def inner_ip(p):
    layer = p[gtp.GTP_U_Header].payload
    while layer and not isinstance(layer, scapy.IP | inet6.IPv6):
        layer = layer.payload
    return layer


def vm(stream):
    return stream["vm"]["instructions"]


# ---- no TRex needed --------------------------------------------------------


def test_profiles_present():
    for name in (
        "gtp4_uplink.py",
        "gtp6_uplink.py",
        "srv6_downlink_gtp4e.py",
        "srv6_downlink_gtp6e.py",
        "imix_gtp4.py",
        "gtp_control_mix.py",
        "handover_downlink.py",
        "end_dt4.py",
        "srv6_end.py",
    ):
        assert name in ALL


def test_missing_venv_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("MUPVPP_TREX_PYTHON", str(tmp_path / "nope" / "python"))
    with pytest.raises(tc.InputError, match="run `make venv-trex`"):
        tc.compile_profile(PROFILES / "gtp4_uplink.py", {})


def test_streams_rejects_unknown_instruction():
    s = {
        "packet": {"binary": base64.b64encode(bytes(64)).decode()},
        "mode": {"type": "continuous", "rate": {"type": "pps", "value": 1}},
        "vm": {"instructions": [{"type": "trim_pkt_size", "name": "x"}]},
    }
    with pytest.raises(tc.InputError, match="'trim_pkt_size' is not supported"):
        parse_streams([s])


# ---- through the TRex client ---------------------------------------------


@needs_trex
@pytest.mark.parametrize("name", ALL)
def test_profile_roundtrips_and_plans(compiled, name):
    streams = compiled(name)
    assert streams and all("packet" in s for s in streams)
    assert tc.roundtrip(streams) == streams
    plans = parse_streams(streams)  # the generator can run all of them
    assert len(plans) == len(streams)
    for raw in pkts(streams):
        assert checksums_ok(raw), name


@needs_trex
def test_cache_hit_and_key(compiled, cache):
    a = compiled("gtp4_uplink.py", n_teid=7)
    n = len(list(cache.iterdir()))
    assert compiled("gtp4_uplink.py", n_teid=7) == a
    assert len(list(cache.iterdir())) == n
    compiled("gtp4_uplink.py", n_teid=8)
    assert len(list(cache.iterdir())) == n + 1


@needs_trex
def test_gtp4_uplink(compiled):
    (s,) = compiled("gtp4_uplink.py")
    (raw,) = pkts([s])
    assert len(raw) == 124  # 128-octet frame without FCS
    p = scapy.Ether(raw)
    assert (p[scapy.IP].src, p[scapy.IP].dst) == ("192.0.2.10", "192.0.2.100")
    assert (p[scapy.UDP].sport, p[scapy.UDP].dport) == (2152, 2152)
    h = p[gtp.GTP_U_Header]
    assert (h.gtp_type, h.teid, h.E, h.next_ex) == (255, 0x200, 1, 0x85)
    psc = p[gtp.GTPPDUSessionContainer]
    assert (psc.type, psc.QFI) == (1, 9)
    inner = inner_ip(p)
    assert (inner.src, inner.dst) == ("10.10.0.1", "198.51.100.1")
    assert h.length == len(raw) - 14 - 20 - 8 - 8
    fv = {i["name"]: i for i in vm(s) if i["type"] == "flow_var"}
    assert (fv["teid"]["min_value"], fv["teid"]["max_value"]) == (0x200, 0x200 + 999)
    assert fv["teid"]["init_value"] == 0x200
    assert (fv["ue"]["min_value"], fv["ue"]["max_value"]) == (1, 1000)
    wr = {i["name"]: i["pkt_offset"] for i in vm(s) if i["type"] == "write_flow_var"}
    assert wr["teid"] == 46
    assert wr["ue"] == 14 + 20 + 8 + 16 + 12 + 2  # low half of the inner SA
    fix = [i["pkt_offset"] for i in vm(s) if i["type"] == "fix_checksum_ipv4"]
    assert fix == [14 + 20 + 8 + 16]


@needs_trex
def test_gtp4_uplink_tunables(compiled):
    (s,) = compiled("gtp4_uplink.py", n_teid=100, psc=0, size=82, qfi=5)
    (raw,) = pkts([s])
    assert len(raw) == 78  # the smallest GTP-U/IPv4 frame
    p = scapy.Ether(raw)
    assert p[gtp.GTP_U_Header].E == 0
    assert gtp.GTPPDUSessionContainer not in p
    fv = {i["name"]: i for i in vm(s) if i["type"] == "flow_var"}
    assert fv["teid"]["max_value"] == 0x200 + 99
    (s,) = compiled("gtp4_uplink.py", teid=0x1000, n_teid=1, n_ue=1)
    assert vm(s) == []
    assert scapy.Ether(pkts([s])[0])[gtp.GTP_U_Header].teid == 0x1000


@needs_trex
@pytest.mark.parametrize(
    "tun, dst, inner6",
    [
        ({}, "fc00:0:6d::1", False),
        ({"dst": "fc00:0:6f::1"}, "fc00:0:6f::1", False),
        ({"inner": 6, "psc": 0}, "fc00:0:6d::1", True),
    ],
)
def test_gtp6_uplink(compiled, tun, dst, inner6):
    (s,) = compiled("gtp6_uplink.py", **tun)
    (raw,) = pkts([s])
    assert len(raw) == 124
    p = scapy.Ether(raw)
    assert (p[inet6.IPv6].src, p[inet6.IPv6].dst) == ("2001:db8:a::10", dst)
    assert p[gtp.GTP_U_Header].teid == 0x200
    inner = inner_ip(p)
    if inner6:
        assert isinstance(inner, inet6.IPv6) and inner.src == "2001:db8:10::1"
    else:
        assert isinstance(inner, scapy.IP) and inner.src == "10.10.0.1"
        assert p[gtp.GTPPDUSessionContainer].QFI == 9
    plan = parse_streams([s])[0]
    l4 = [x for x in plan.insns if x.kind == INSN_FIX_L4]
    assert [(x.var, x.offset, x.add) for x in l4] == [(17, 14, 54)]


@needs_trex
def test_srv6_downlink_gtp4e(compiled):
    streams = compiled("srv6_downlink_gtp4e.py")
    assert len(streams) == 2
    want = ["fc00:0:4e:c000:20a:2400:1:0", "fc00:0:4e:c000:20a:2400:1:100"]
    for k, (s, raw) in enumerate(zip(streams, pkts(streams), strict=True)):
        assert len(raw) == 124 and vm(s) == []
        assert s["mode"]["rate"] == {"type": "pps", "value": 500.0}
        p = scapy.Ether(raw)
        assert p[inet6.IPv6].src == "fc00:0:a4:0:c000:264::"
        assert p[inet6.IPv6].dst == want[k]
        srh = p[inet6.IPv6ExtHdrSegmentRouting]
        assert (srh.segleft, srh.lastentry, srh.addresses) == (0, 0, [want[k]])
        assert p[scapy.IP].dst == f"10.10.0.{1 + k}"
    streams = compiled("srv6_downlink_gtp4e.py", n_flows=5, pps=100)
    assert len(streams) == 5
    assert weights(parse_streams(streams)) == [1] * 5


@needs_trex
def test_srv6_downlink_gtp6e(compiled):
    streams = compiled("srv6_downlink_gtp6e.py")
    want = ["fc00:0:6e:0:2400:1::", "fc00:0:6e:0:2400:1:100:0"]
    for k, raw in enumerate(pkts(streams)):
        p = scapy.Ether(raw)
        assert (p[inet6.IPv6].src, p[inet6.IPv6].dst) == ("fc00:0:ff::1", want[k])
        srh = p[inet6.IPv6ExtHdrSegmentRouting]
        assert srh.segleft == 1
        assert srh.addresses == ["2001:db8:a::10", want[k]]
        assert p[scapy.IP].dst == f"10.10.0.{1 + k}"


@needs_trex
def test_imix_gtp4(compiled):
    streams = compiled("imix_gtp4.py")
    assert [len(r) for r in pkts(streams)] == [86, 590, 1514]  # 64 -> 90 frame
    assert weights(parse_streams(streams)) == [7, 4, 1]
    for raw in pkts(streams):
        assert scapy.Ether(raw)[gtp.GTP_U_Header].teid == 0x200


@needs_trex
def test_gtp_control_mix(compiled):
    gpdu, em, echo = compiled("gtp_control_mix.py")
    assert [gpdu["name"], em["name"], echo["name"]] == ["gpdu", "end_marker", "echo"]
    h = scapy.Ether(pkts([em])[0])[gtp.GTP_U_Header]
    assert (h.gtp_type, h.length, h.teid, h.E, h.S) == (254, 0, 0x200, 0, 0)
    h = scapy.Ether(pkts([echo])[0])[gtp.GTP_U_Header]
    assert (h.gtp_type, h.teid, h.S, h.seq, h.length) == (1, 0, 1, 1, 4)
    seq = [i for i in vm(echo) if i["type"] == "write_flow_var"]
    assert seq[0]["pkt_offset"] == 14 + 20 + 8 + 8
    assert weights(parse_streams([gpdu, em, echo])) == [100, 1, 1]


@needs_trex
def test_handover_downlink(compiled):
    (s,) = compiled("handover_downlink.py", n_ue=50)
    p = scapy.Ether(pkts([s])[0])
    assert (p[scapy.IP].src, p[scapy.IP].dst) == ("198.51.100.1", "10.10.0.1")
    plan = parse_streams([s])[0]
    assert [(v.name, v.min, v.max) for v in plan.vars] == [
        ("ue", 1, 50),
        ("ue_port", 0xFFFF - 49, 0xFFFF),
    ]
    writes = [x.offset for x in plan.insns if x.kind == INSN_WRITE]
    assert writes == [14 + 16 + 2, 14 + 20 + 2]


@needs_trex
def test_end_dt4_and_end(compiled):
    p = scapy.Ether(pkts(compiled("end_dt4.py"))[0])
    assert p[inet6.IPv6].dst == "fc00:0:d4::1"
    assert p[inet6.IPv6ExtHdrSegmentRouting].segleft == 0
    assert p[scapy.IP].src == "10.10.0.1"
    p = scapy.Ether(pkts(compiled("end_dt4.py", srh=0))[0])
    assert p[inet6.IPv6].nh == 4 and inet6.IPv6ExtHdrSegmentRouting not in p
    p = scapy.Ether(pkts(compiled("srv6_end.py"))[0])
    assert p[inet6.IPv6].dst == "fc00:0:2::1"
    srh = p[inet6.IPv6ExtHdrSegmentRouting]
    assert (srh.segleft, srh.addresses) == (1, ["fc00:0:d4::1", "fc00:0:2::1"])


@needs_trex
def test_bad_tunable_is_reported(compiled):
    with pytest.raises(tc.InputError) as ei:
        compiled("gtp4_uplink.py", n_ue=70000)
    assert str(ei.value) == (
        "TRex profile gtp4_uplink.py: ValueError: UE range crosses a 16-bit "
        "boundary: lower n_ue"
    )
