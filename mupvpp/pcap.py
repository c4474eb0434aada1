"""Minimal pcap (libpcap classic format) reader and writer.

Link types: 1 Ethernet (an optional 802.1Q tag is kept), 101 raw IP,
228 IPv4, 229 IPv6.  Every read is length-checked: a truncated or foreign
file raises InputError naming the record and why; a runt frame is kept as
an undecodable record.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from mupvpp.errors import InputError

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
_LINKTYPES = {LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6}
_MAGIC = {
    b"\xd4\xc3\xb2\xa1": ("<", 1_000_000),
    b"\xa1\xb2\xc3\xd4": (">", 1_000_000),
    b"\x4d\x3c\xb2\xa1": ("<", 1_000_000_000),
    b"\xa1\xb2\x3c\x4d": (">", 1_000_000_000),
}
ETH_P_IP, ETH_P_IPV6, ETH_P_8021Q = 0x0800, 0x86DD, 0x8100


@dataclass
class Record:
    ts_sec: int
    ts_frac: int
    l2: bytes  # link header kept for the output (empty for raw IP)
    ip: bytes  # from the IP header on
    undecodable: str = ""  # why the frame holds no IP packet (runt frame)


def read_pcap(path: str | Path) -> tuple[int, list[Record]]:
    """(link type, records).  Raises InputError on a malformed file; a
    frame too short for its link header is a record with ``undecodable``
    set (the caller counts it and carries on)."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise InputError(f"{path}: {e.strerror or e}") from None
    if len(data) < 24:
        raise InputError(f"{path}: {len(data)} bytes is too short for a pcap header")
    if data[:4] not in _MAGIC:
        raise InputError(
            f"{path}: not a classic pcap file (magic {data[:4].hex()}); "
            "pcapng is not supported: convert with `editcap -F pcap`"
        )
    endian, per_sec = _MAGIC[data[:4]]
    div = per_sec // 1_000_000  # keep microseconds
    _, _, _, _, _, linktype = struct.unpack(endian + "HHiIII", data[4:24])
    if linktype not in _LINKTYPES:
        raise InputError(
            f"{path}: link type {linktype} not supported "
            "(1 Ethernet, 101 raw IP, 228 IPv4, 229 IPv6)"
        )
    out, off, n = [], 24, 0
    while off < len(data):
        n += 1
        if off + 16 > len(data):
            raise InputError(f"{path}: record {n}: header truncated at byte {off}")
        ts, frac, incl, orig = struct.unpack(endian + "IIII", data[off : off + 16])
        off += 16
        if off + incl > len(data):
            raise InputError(
                f"{path}: record {n}: {incl} bytes announced, "
                f"{len(data) - off} left in the file"
            )
        frame = data[off : off + incl]
        off += incl
        out.append(Record(ts, frac // div, *_split(frame, linktype)))
    return linktype, out


def _split(frame: bytes, linktype: int) -> tuple[bytes, bytes, str]:
    """(link header, IP packet, why undecodable or "")."""
    if linktype != LINKTYPE_ETHERNET:
        return b"", frame, ""
    if len(frame) < 14:
        return frame, b"", f"Ethernet frame of {len(frame)} bytes"
    hl = 14
    if struct.unpack("!H", frame[12:14])[0] == ETH_P_8021Q:
        if len(frame) < 18:
            return frame, b"", f"802.1Q frame of {len(frame)} bytes"
        hl = 18
    return frame[:hl], frame[hl:], ""


def with_l2(l2: bytes, ip: bytes) -> bytes:
    """Re-attach a link header, its EtherType set for the new IP version."""
    if not l2:
        return ip
    etype = ETH_P_IPV6 if ip and ip[0] >> 4 == 6 else ETH_P_IP
    return l2[:-2] + struct.pack("!H", etype) + ip


def write_pcap(path: str | Path, linktype: int, records: list[tuple[Record, bytes]]):
    """Write (input record, output IP bytes) pairs with the input's times."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype))
        for rec, ip in records:
            version = ip[0] >> 4
            if (linktype, version) in ((LINKTYPE_IPV4, 6), (LINKTYPE_IPV6, 4)):
                raise InputError(
                    f"{path}: link type {linktype} cannot hold an IPv{version} "
                    "output; use an Ethernet or raw-IP (101) capture"
                )
            frame = with_l2(rec.l2, ip)
            f.write(
                struct.pack("<IIII", rec.ts_sec, rec.ts_frac, len(frame), len(frame))
            )
            f.write(frame)
