"""Args.Mob.Session and bit-field helpers of the C core (mup_args_write,
mup_args_read, mup_bits_write, mup_bits_read) against plain Python integer
arithmetic at every bit offset (RFC 9433 section 6.1)::

    | QFI (6) | R (1) | U (1) | TEID (32) |   first octet = QFI<<2 | R<<1 | U
"""

from __future__ import annotations

import ipaddress
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mupvpp.engine import ffi, lib

ARGS_BITS = 40


def put_bits(a: int, off: int, n: int, v: int) -> int:
    sh = 128 - off - n
    m = ((1 << n) - 1) << sh
    return (a & ~m) | ((v << sh) & m)


def get_bits(a: int, off: int, n: int) -> int:
    return (a >> (128 - off - n)) & ((1 << n) - 1)


def pack(qfi, r, u, teid) -> int:
    return ((qfi & 0x3F) << 2 | (r & 1) << 1 | (u & 1)) << 32 | teid


def c_addr(v: int):
    return ffi.new("uint8_t[16]", v.to_bytes(16, "big"))


def py_addr(buf) -> int:
    return int.from_bytes(bytes(ffi.buffer(buf, 16)), "big")


def c_args_write(a: int, off, qfi, r, u, teid) -> int:
    buf = c_addr(a)
    lib.mup_args_write(buf, off, qfi, r, u, teid)
    return py_addr(buf)


def c_args_read(a: int, off):
    buf = c_addr(a)
    q, r, u, t = (
        ffi.new("uint8_t *"),
        ffi.new("uint8_t *"),
        ffi.new("uint8_t *"),
        ffi.new("uint32_t *"),
    )
    lib.mup_args_read(buf, off, q, r, u, t)
    return q[0], r[0], u[0], t[0]


RNG = random.Random(9433)
PATTERNS = [
    0,
    (1 << 128) - 1,
    0x0123456789ABCDEF_FEDCBA9876543210,
    RNG.getrandbits(128),
    RNG.getrandbits(128),
]
VALUES = [
    (0, 0, 0, 0),
    (63, 1, 1, 0xFFFFFFFF),
    (9, 1, 0, 0x12345678),
    (1, 0, 1, 1),
    (0x2A, 0, 0, 0x80000001),
]


@pytest.mark.parametrize("off", range(0, 89))
def test_args_every_offset(off):
    for a in PATTERNS:
        for qfi, r, u, teid in VALUES:
            want = put_bits(a, off, ARGS_BITS, pack(qfi, r, u, teid))
            got = c_args_write(a, off, qfi, r, u, teid)
            assert got == want, (off, hex(a), hex(got), hex(want))
            # bits outside [off, off+40) are kept
            keep = ~(((1 << ARGS_BITS) - 1) << (128 - off - ARGS_BITS))
            assert got & keep & ((1 << 128) - 1) == a & keep & ((1 << 128) - 1)
            assert c_args_read(got, off) == (qfi, r, u, teid)
            v = get_bits(got, off, ARGS_BITS)
            assert (v >> 34, (v >> 33) & 1, (v >> 32) & 1, v & 0xFFFFFFFF) == (
                qfi,
                r,
                u,
                teid,
            )


@pytest.mark.parametrize("nbits", [1, 6, 7, 8, 16, 32, 40, 63, 64])
def test_bits_every_offset(nbits):
    for off in range(0, 128 - nbits + 1):
        for a in PATTERNS[:3]:
            v = RNG.getrandbits(nbits)
            buf = c_addr(a)
            lib.mup_bits_write(buf, off, nbits, v)
            assert py_addr(buf) == put_bits(a, off, nbits, v), (off, nbits)
            assert lib.mup_bits_read(buf, off, nbits) == v
            assert lib.mup_bits_read(c_addr(a), off, nbits) == get_bits(a, off, nbits)


def test_args_write_masks_oversized_fields():
    # QFI is 6 bits, R and U 1 bit: higher bits must not leak into neighbours
    got = c_args_write(0, 64, 0xFF, 3, 3, 0)
    assert got == put_bits(0, 64, ARGS_BITS, pack(0x3F, 1, 1, 0))


@settings(max_examples=400, deadline=None)
@given(
    a=st.integers(0, (1 << 128) - 1),
    off=st.integers(0, 88),
    qfi=st.integers(0, 63),
    r=st.integers(0, 1),
    u=st.integers(0, 1),
    teid=st.integers(0, 0xFFFFFFFF),
)
def test_args_property(a, off, qfi, r, u, teid):
    got = c_args_write(a, off, qfi, r, u, teid)
    assert got == put_bits(a, off, ARGS_BITS, pack(qfi, r, u, teid))
    assert c_args_read(got, off) == (qfi, r, u, teid)


def test_vpp_example_gtp4():
    """VPP's test: prefix d4::/32, IPv4 DA 1.1.1.1, QFI 0, TEID 200."""
    buf = c_addr(int(ipaddress.IPv6Address("d4::")))
    lib.mup_bits_write(buf, 32, 32, int(ipaddress.IPv4Address("1.1.1.1")))
    lib.mup_args_write(buf, 64, 0, 0, 0, 200)
    assert str(ipaddress.IPv6Address(py_addr(buf))) == "d4:0:101:101::c800:0"


def test_vpp_example_gtp6():
    """VPP's test: prefix d4::/64, QFI 0, TEID 200."""
    buf = c_addr(int(ipaddress.IPv6Address("d4::")))
    lib.mup_args_write(buf, 64, 0, 0, 0, 200)
    assert str(ipaddress.IPv6Address(py_addr(buf))) == "d4::c800:0"
    assert c_args_read(py_addr(buf), 64) == (0, 0, 0, 200)
