"""The embedded generator (mupvpp/engine/gen.c) against TRex field-engine
semantics, with exact bytes.

gen.c is compiled here with a test-local cffi build (independent of
mupvpp/engine/build.py).  Expected values are computed independently in
Python (checksums) or by scapy.
"""

import importlib.util
import re
import struct
import sys
from pathlib import Path

import pytest

cffi = pytest.importorskip("cffi")

REPO = Path(__file__).resolve().parents[1]
ENGINE = REPO / "mupvpp" / "engine"
TREX_VENV = REPO / ".venv-trex" / "bin" / "python"

PKT_CDEF = """
typedef struct {
  uint8_t *data; uint16_t len; uint16_t headroom; uint16_t tailroom;
  uint8_t next; uint8_t error; uint32_t fib_index; uint32_t sid_index;
} mup_pkt_t;
"""


@pytest.fixture(scope="module")
def gen(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("genbuild")
    text = (ENGINE / "gen.h").read_text()
    block = re.search(r"/\* CDEF-BEGIN \*/(.*?)/\* CDEF-END \*/", text, re.S)
    ffi = cffi.FFI()
    ffi.cdef(PKT_CDEF + block.group(1))
    ffi.set_source(
        "_mup_gen_test",
        '#include "gen.h"',
        sources=[str(ENGINE / "gen.c")],
        include_dirs=[str(ENGINE)],
        extra_compile_args=["-std=c11", "-O2", "-Wall", "-Werror"],
    )
    lib_path = ffi.compile(tmpdir=str(tmp), verbose=False)
    spec = importlib.util.spec_from_file_location("_mup_gen_test", lib_path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.ffi, mod.lib


# ---- helpers -------------------------------------------------------------


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4_ok(hdr: bytes) -> bool:
    return csum(hdr[: (hdr[0] & 15) * 4]) == 0


def gtp4_template(teid=0x200, ue="10.10.0.1") -> bytes:
    """Ether / IPv4 / UDP 2152 / GTP-U G-PDU / IPv4 / UDP, built by hand."""
    inner_udp = struct.pack("!HHHH", 0xFFFF, 5001, 8, 0)
    ue_b = bytes(int(x) for x in ue.split("."))
    inner = bytearray(
        struct.pack(
            "!BBHHHBBH4s4s",
            0x45,
            0,
            28,
            0,
            0,
            64,
            17,
            0,
            ue_b,
            bytes([198, 51, 100, 1]),
        )
    )
    inner[10:12] = struct.pack("!H", csum(bytes(inner)))
    inner += inner_udp
    gtp = struct.pack("!BBHI", 0x30, 255, len(inner), teid) + inner
    udp = struct.pack("!HHHH", 2152, 2152, 8 + len(gtp), 0) + gtp
    ip = bytearray(
        struct.pack(
            "!BBHHHBBH4s4s",
            0x45,
            0,
            20 + len(udp),
            0,
            0,
            64,
            17,
            0,
            bytes([192, 0, 2, 10]),
            bytes([192, 0, 2, 100]),
        )
    )
    ip[10:12] = struct.pack("!H", csum(bytes(ip)))
    eth = bytes.fromhex("0000000200000000000100000800")
    return eth + bytes(ip) + udp


TEID_OFF = 14 + 20 + 8 + 4  # 46
INNER_OFF = 14 + 20 + 8 + 8  # 50


def add(ffi, lib, g, tmpl, weight=1, vars_=(), insns=()):
    cv = ffi.new("mup_gen_var_t[]", max(1, len(vars_)))
    for i, (size, op, init, lo, hi, step) in enumerate(vars_):
        cv[i] = {
            "size": size,
            "op": op,
            "init": init,
            "min": lo,
            "max": hi,
            "step": step,
        }
    ci = ffi.new("mup_gen_insn_t[]", max(1, len(insns)))
    for i, (kind, var, be, off, addv) in enumerate(insns):
        ci[i] = {"kind": kind, "var": var, "big_endian": be, "offset": off, "add": addv}
    return lib.mup_gen_add_stream(
        g, tmpl, len(tmpl), weight, cv, len(vars_), ci, len(insns)
    )


def fill(ffi, lib, g, n, stride=512, headroom=128, strip=0):
    buf = ffi.new("uint8_t[]", n * stride)
    pkts = ffi.new("mup_pkt_t[]", n)
    got = lib.mup_gen_fill(g, buf, stride, headroom, pkts, n, strip)
    assert got == n
    return [bytes(ffi.buffer(pkts[i].data, pkts[i].len)) for i in range(n)], pkts, buf


@pytest.fixture
def g(gen):
    ffi, lib = gen
    h = lib.mup_gen_new()
    yield h
    lib.mup_gen_free(h)


# ---- field engine --------------------------------------------------------


def test_teid_inc_wraps_max_to_min(gen, g):
    ffi, lib = gen
    t = gtp4_template()
    assert (
        add(
            ffi,
            lib,
            g,
            t,
            vars_=[(4, 0, 0x200, 0x200, 0x202, 1)],
            insns=[(0, 0, 1, TEID_OFF, 0)],
        )
        == 0
    )
    out, pkts, _ = fill(ffi, lib, g, 5)
    teids = [struct.unpack_from("!I", p, TEID_OFF)[0] for p in out]
    assert teids == [0x200, 0x201, 0x202, 0x200, 0x201]
    # everything but the TEID is the template
    assert out[1][:TEID_OFF] == t[:TEID_OFF]
    assert out[1][TEID_OFF + 4 :] == t[TEID_OFF + 4 :]
    assert lib.mup_gen_stream_count(g, 0) == 5


def test_strip_l2_points_at_ip_and_sets_room(gen, g):
    ffi, lib = gen
    t = gtp4_template()
    add(
        ffi,
        lib,
        g,
        t,
        vars_=[(4, 0, 0x200, 0x200, 0x2FF, 1)],
        insns=[(0, 0, 1, TEID_OFF, 0)],
    )
    out, pkts, buf = fill(ffi, lib, g, 2, stride=256, headroom=64, strip=1)
    assert out[0] == t[14:]
    assert struct.unpack_from("!I", out[1], TEID_OFF - 14)[0] == 0x201
    base = int(ffi.cast("uintptr_t", buf))
    for i in range(2):
        assert int(ffi.cast("uintptr_t", pkts[i].data)) == base + i * 256 + 64
        assert pkts[i].len == len(t) - 14
        assert pkts[i].headroom == 64
        assert pkts[i].tailroom == 256 - 64 - (len(t) - 14)


def test_vlan_header_is_stripped(gen, g):
    ffi, lib = gen
    t = gtp4_template()
    vlan = t[:12] + bytes.fromhex("8100 0064") + t[12:]
    add(ffi, lib, g, vlan)
    out, _, _ = fill(ffi, lib, g, 1, strip=1)
    assert out[0] == t[14:]


def test_step_wrap_and_dec_follow_trex(gen, g):
    """trex-core inc_mod/dec_mod: a restart consumes one step."""
    ffi, lib = gen
    t = bytes(64)
    add(
        ffi,
        lib,
        g,
        t,
        vars_=[(1, 0, 3, 0, 4, 2), (2, 1, 12, 10, 12, 1)],
        insns=[(0, 0, 1, 20, 0), (0, 1, 1, 30, 0)],
    )
    out, _, _ = fill(ffi, lib, g, 6)
    assert [p[20] for p in out] == [3, 0, 2, 4, 1, 3]
    assert [struct.unpack_from("!H", p, 30)[0] for p in out] == [12, 11, 10, 12, 11, 10]


def test_write_add_little_endian_and_truncation(gen, g):
    ffi, lib = gen
    add(
        ffi,
        lib,
        g,
        bytes(64),
        vars_=[(2, 0, 0xFFFE, 0, 0xFFFF, 1)],
        insns=[(0, 0, 0, 20, 1), (0, 0, 1, 30, 0x10)],
    )
    out, _, _ = fill(ffi, lib, g, 3)
    # value + add truncated to 2 octets
    assert [p[20:22] for p in out] == [b"\xff\xff", b"\x00\x00", b"\x01\x00"]
    assert [p[30:32] for p in out] == [b"\x00\x0e", b"\x00\x0f", b"\x00\x10"]


def test_fix_ipv4_checksum(gen, g):
    ffi, lib = gen
    t = gtp4_template()
    ue_off = INNER_OFF + 12 + 2  # low 16 bits of the inner IPv4 SA
    add(
        ffi,
        lib,
        g,
        t,
        vars_=[(2, 0, 1, 1, 1000, 1)],
        insns=[(0, 0, 1, ue_off, 0), (1, 0, 0, INNER_OFF, 0)],
    )
    out, _, _ = fill(ffi, lib, g, 3)
    for k, p in enumerate(out):
        inner = p[INNER_OFF : INNER_OFF + 20]
        assert inner[12:16] == bytes([10, 10, 0, 1 + k])
        expected = bytearray(inner)
        expected[10:12] = b"\0\0"
        assert struct.unpack_from("!H", inner, 10)[0] == csum(bytes(expected))
        assert ip4_ok(inner)


def test_fix_udp_checksum_ipv6(gen, g):
    scapy = pytest.importorskip("scapy.all")
    ffi, lib = gen
    pkt = (
        scapy.Ether()
        / scapy.IPv6(src="2001:db8:a::10", dst="fc00:0:6d::1")
        / scapy.UDP(sport=2152, dport=2152)
        / bytes(range(40))
    )
    t = bytes(pkt)
    add(
        ffi,
        lib,
        g,
        t,
        vars_=[(4, 0, 0x200, 0x200, 0x300, 1)],
        insns=[(0, 0, 1, 14 + 40 + 8 + 4, 0), (2, 17, 0, 14, 14 + 40)],
    )
    out, _, _ = fill(ffi, lib, g, 3)
    for p in out:
        got = scapy.Ether(p)
        want = got.copy()
        del want[scapy.UDP].chksum
        want = scapy.Ether(bytes(want))
        assert got[scapy.UDP].chksum == want[scapy.UDP].chksum


def test_random_in_range_and_deterministic(gen):
    ffi, lib = gen
    seqs = []
    for _ in range(2):
        h = lib.mup_gen_new()
        add(
            ffi,
            lib,
            h,
            bytes(64),
            vars_=[(2, 2, 0, 100, 110, 1)],
            insns=[(0, 0, 1, 20, 0)],
        )
        out, _, _ = fill(ffi, lib, h, 200)
        seqs.append([struct.unpack_from("!H", p, 20)[0] for p in out])
        lib.mup_gen_free(h)
    assert seqs[0] == seqs[1]
    assert set(seqs[0]) <= set(range(100, 111))
    assert len(set(seqs[0])) == 11


def test_smooth_weighted_round_robin(gen, g):
    ffi, lib = gen
    for tag, w in ((1, 7), (2, 4), (3, 1)):
        t = bytearray(64)
        t[20] = tag
        add(ffi, lib, g, bytes(t), weight=w)
    out, _, _ = fill(ffi, lib, g, 24)
    tags = [p[20] for p in out]
    assert [tags.count(k) for k in (1, 2, 3)] == [14, 8, 2]
    assert tags[:12].count(1) == 7  # exact over every 12-packet period
    # smooth: the heavy stream never sends more than twice in a row here
    assert "111" not in "".join(map(str, tags))


def test_reset_rewinds(gen, g):
    ffi, lib = gen
    t = gtp4_template()
    add(
        ffi,
        lib,
        g,
        t,
        vars_=[(4, 0, 0x200, 0x200, 0x2FF, 1)],
        insns=[(0, 0, 1, TEID_OFF, 0)],
    )
    fill(ffi, lib, g, 3)
    lib.mup_gen_reset(g)
    out, _, _ = fill(ffi, lib, g, 1)
    assert struct.unpack_from("!I", out[0], TEID_OFF)[0] == 0x200


@pytest.mark.parametrize(
    "vars_, insns",
    [
        ([(3, 0, 0, 0, 1, 1)], []),  # size 3
        ([(1, 0, 0, 0, 256, 1)], []),  # max beyond the size
        ([(1, 0, 5, 0, 4, 1)], []),  # init outside the range
        ([(1, 5, 0, 0, 4, 1)], []),  # op
        ([(4, 0, 0, 0, 4, 1)], [(0, 0, 1, 62, 0)]),  # write past the end
        ([(4, 0, 0, 0, 4, 1)], [(0, 1, 1, 20, 0)]),  # unknown var
        ([], [(1, 0, 0, 50, 0)]),  # IPv4 fix past the end
        ([], [(2, 99, 0, 14, 34)]),  # L4 protocol
        ([], [(7, 0, 0, 14, 0)]),  # kind
    ],
)
def test_add_stream_rejects(gen, g, vars_, insns):
    ffi, lib = gen
    assert add(ffi, lib, g, bytes(64), vars_=vars_, insns=insns) < 0


def test_fill_refuses_what_does_not_fit(gen, g):
    ffi, lib = gen
    add(ffi, lib, g, bytes(200))
    buf = ffi.new("uint8_t[]", 256 * 2)
    pkts = ffi.new("mup_pkt_t[]", 2)
    assert lib.mup_gen_fill(g, buf, 256, 128, pkts, 2, 0) == 0
    assert lib.mup_gen_fill(g, buf, 256, 56, pkts, 2, 0) == 2
    assert lib.mup_gen_fill(ffi.NULL, buf, 256, 56, pkts, 2, 0) == 0


# ---- a real profile, end to end ------------------------------------------


@pytest.mark.skipif(
    not TREX_VENV.exists(),
    reason="TRex client venv (.venv-trex) not installed: run make venv-trex",
)
def test_gtp4_uplink_profile_through_generator(gen, tmp_path, monkeypatch):
    """TRex profile -> client JSON -> plan -> gen.c: TEIDs, UEs and every
    checksum as scapy 2.8 computes them."""
    monkeypatch.setenv("MUPVPP_CACHE", str(tmp_path))
    sys.path.insert(0, str(REPO))
    from mupvpp.traffic.compile import compile_profile
    from mupvpp.traffic.streams import add_to_generator, parse_streams

    scapy = pytest.importorskip("scapy.all")
    gtp = pytest.importorskip("scapy.contrib.gtp")
    ffi, lib = gen
    plans = parse_streams(
        compile_profile(
            REPO / "trex_profiles" / "gtp4_uplink.py", {"n_teid": 3, "n_ue": 2}
        )
    )
    h = lib.mup_gen_new()
    try:
        assert add_to_generator(ffi, lib, h, plans) == [0]
        out, _, _ = fill(ffi, lib, h, 4, strip=1)
    finally:
        lib.mup_gen_free(h)
    for k, raw in enumerate(out):
        p = scapy.IP(raw)
        assert p[gtp.GTP_U_Header].teid == 0x200 + k % 3
        inner = p[gtp.GTP_U_Header].payload
        while not isinstance(inner, scapy.IP):
            inner = inner.payload
        assert inner.src == f"10.10.0.{1 + k % 2}"
        rebuilt = scapy.IP(raw)
        inner_r = rebuilt[scapy.IP : 2]
        del inner_r.chksum
        del inner_r[scapy.UDP].chksum
        inner_r = scapy.IP(bytes(inner_r))
        assert inner.chksum == inner_r.chksum
        assert inner[scapy.UDP].chksum == inner_r[scapy.UDP].chksum
