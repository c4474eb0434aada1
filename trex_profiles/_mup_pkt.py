"""Shared packet builders for the mupvpp TRex STL profiles.

Not a profile (no register()): imported by the profiles in this directory
(TRex puts the profile's directory on sys.path while it loads a profile).
Works with the scapy bundled in the TRex client (2.4.x), which has no PDU
Session Container class, so GTP-U headers are built as bytes here.

Addresses default to examples/lab.yaml.

Checksums under the field engine
--------------------------------
Varying a field breaks every checksum that covers it.  The profiles keep all
checksums valid with the plain field-engine instructions only:

* inner IPv4 header: STLVmFixIpv4 at the inner header;
* inner UDP: the UE address moves by +j, the inner UDP source port moves by
  -j (a second variable stepping in lockstep), so the ones'-complement sum
  the UDP checksum covers (pseudo header + UDP) does not change and the
  template's checksum stays right (RFC 1624 arithmetic, no carries: both
  ranges stay inside one 16-bit word);
* outer UDP over IPv4: checksum 0 (RFC 768, allowed for GTP-U);
* outer UDP over IPv6 (the TEID moves): STLVmFixChecksumHw (TRex computes
  it, in the NIC or in software).

All variables use split_to_cores=False so the lockstep pairs stay aligned
and the sequence is the same on every core count.
"""

import argparse
import ipaddress
import struct

from scapy.layers.inet6 import IPv6
from trex.stl.api import (
    IP,
    UDP,
    CTRexVmInsFixHwCs,
    Ether,
    STLPktBuilder,
    STLScVmRaw,
    STLStream,
    STLTXCont,
    STLVmFixChecksumHw,
    STLVmFixIpv4,
    STLVmFlowVar,
    STLVmWrFlowVar,
)

GTPU_PORT = 2152
FCS = 4  # TRex frame sizes count the Ethernet FCS, the template does not

# GTP-U (TS 29.281 section 5.1) flag bits: version 1, PT 1, E, S, PN
GTP_V1_PT = 0x30
GTP_E = 0x04
GTP_S = 0x02
GTP_PN = 0x01
GTP_ECHO_REQUEST = 1
GTP_END_MARKER = 254
GTP_GPDU = 255
PSC_TYPE = 0x85  # PDU Session Container (TS 38.415)

ETH_SRC = "00:00:00:01:00:00"
ETH_DST = "00:00:00:02:00:00"

# Lab addresses (examples/lab.yaml)
GNB4 = "192.0.2.10"
UPF_N3 = "192.0.2.100"
GNB6 = "2001:db8:a::10"
SID_GTP6D = "fc00:0:6d::1"
SID_GTP6DI = "fc00:0:6f::1"
LOC_GTP4E = "fc00:0:4e::/48"
LOC_GTP6E = "fc00:0:6e::/64"
SRC_PREFIX4 = "fc00:0:a4::/64"  # IPv6 SA prefix of the GTP4 behaviours
ENCAP_SRC = "fc00:0:ff::1"
SID_END = "fc00:0:2::1"
SID_DT4 = "fc00:0:d4::1"
UE4_START = "10.10.0.1"  # UE pool 10.10.0.0/16
UE6_START = "2001:db8:10::1"
DN4 = "198.51.100.1"  # a data-network server the UEs talk to
DN6 = "2001:db8:dd::1"
UE_PORT = 0xFFFF  # inner UDP source port of UE 0 (moves down, see above)
DN_PORT = 5001


def int0(text):
    """argparse type: int in any base (TRex passes '512' for 0x200)."""
    return int(str(text), 0)


def parser(prog, doc):
    p = argparse.ArgumentParser(prog=prog, description=doc)
    p.add_argument("--pps", type=float, default=1000.0, help="total packets/s")
    return p


def parse(p, tunables, kwargs):
    """Accept argparse-style tunables (TRex >= 2.89: a list of strings) and
    the older keyword style (tunables as **kwargs)."""
    argv = list(tunables or [])
    for k, v in kwargs.items():
        if k in ("direction", "port_id"):
            continue
        argv += ["--" + k, str(v)]
    return p.parse_args(argv)


def gtpu_header(msg_type, teid, payload_len, psc=False, qfi=0, pdu_type=1, seq=None):
    """GTP-U header bytes (TS 29.281 section 5.1).

     0               1               2               3
    +-------+-+-+-+-+---------------+-------------------------------+
    |V=1|PT1|*|E|S|PN| message type |     length (after octet 8)    |
    +---------------+---------------+-------------------------------+
    |                             TEID                              |
    +-------------------------------+---------------+---------------+
    |        sequence number        |    N-PDU      | next ext type |  (E|S|PN)
    +---------------+---------------+---------------+---------------+
    | len=1 (4 oct) |PDU type| spare| ..  |  QFI    | next ext = 0  |  (PSC)
    +---------------+---------------+---------------+---------------+
    """
    flags = GTP_V1_PT
    opt = b""
    if psc or seq is not None:
        flags |= (GTP_E if psc else 0) | (GTP_S if seq is not None else 0)
        opt = struct.pack("!HBB", seq or 0, 0, PSC_TYPE if psc else 0)
        if psc:
            # TS 38.415 5.5.2: UL PDU type 1 / DL 0 in the high nibble of
            # octet 1; QFI the low 6 bits of octet 2.
            opt += bytes([1, (pdu_type & 0xF) << 4, qfi & 0x3F, 0])
    length = len(opt) + payload_len
    return struct.pack("!BBHI", flags, msg_type, length, teid) + opt


def inner_packet(is_ip6, src, dst, sport, dport, total_len):
    """Inner IP/UDP of total_len bytes (at least the bare headers)."""
    if is_ip6:
        hdr = IPv6(src=src, dst=dst) / UDP(sport=sport, dport=dport)
    else:
        hdr = IP(src=src, dst=dst, id=0) / UDP(sport=sport, dport=dport)
    pad = max(0, total_len - len(hdr))
    return bytes(hdr / (b"\x00" * pad))


def inner_len_for_frame(frame_size, overhead, is_ip6):
    """Inner packet length for a frame of frame_size (FCS included);
    never below the bare inner IP/UDP headers."""
    bare = 48 if is_ip6 else 28
    return max(bare, frame_size - FCS - overhead)


def ue_vars(start, n_ue, addr_off, sport_off, is_ip6, inner_l3_off, name="ue"):
    """Field-engine program moving the inner UE address (its low 16 bits,
    at addr_off) over n_ue values from start and, in lockstep, the inner
    UDP source port the other way (keeps the inner UDP checksum right)."""
    if n_ue <= 1:
        return []
    low = int(ipaddress.ip_address(start)) & 0xFFFF
    if low + n_ue - 1 > 0xFFFF:
        raise ValueError("UE range crosses a 16-bit boundary: lower n_ue")
    port = name + "_port"
    alen = 16 if is_ip6 else 4
    return [
        STLVmFlowVar(
            name=name,
            size=2,
            op="inc",
            min_value=low,
            max_value=low + n_ue - 1,
            init_value=low,
            split_to_cores=False,
        ),
        STLVmFlowVar(
            name=port,
            size=2,
            op="dec",
            min_value=UE_PORT - (n_ue - 1),
            max_value=UE_PORT,
            init_value=UE_PORT,
            split_to_cores=False,
        ),
        STLVmWrFlowVar(fv_name=name, pkt_offset=addr_off + alen - 2),
        STLVmWrFlowVar(fv_name=port, pkt_offset=sport_off),
    ] + ([] if is_ip6 else [STLVmFixIpv4(offset=inner_l3_off)])


def teid_var(teid, n_teid, teid_off):
    if n_teid <= 1:
        return []
    if teid + n_teid - 1 > 0xFFFFFFFF or teid == 0:
        raise ValueError("TEID range must be inside 1..0xffffffff")
    return [
        STLVmFlowVar(
            name="teid",
            size=4,
            op="inc",
            min_value=teid,
            max_value=teid + n_teid - 1,
            init_value=teid,
            split_to_cores=False,
        ),
        STLVmWrFlowVar(fv_name="teid", pkt_offset=teid_off),
    ]


def fix_udp6(l3_off, l4_off):
    return [
        STLVmFixChecksumHw(
            l3_offset=l3_off,
            l4_offset=l4_off,
            l4_type=CTRexVmInsFixHwCs.L4_TYPE_UDP,
        )
    ]


def stream(pkt, vm=None, pps=1000.0, name=None):
    builder = STLPktBuilder(pkt=pkt, vm=STLScVmRaw(vm) if vm else None)
    return STLStream(name=name, packet=builder, mode=STLTXCont(pps=pps))


def ether():
    return Ether(src=ETH_SRC, dst=ETH_DST)


def args_sid(prefix, qfi, teid, ipv4=None, r=0, u=0):
    """SID with Args.Mob.Session (RFC 9433 section 6.1) after the prefix
    (and after the IPv4 DA for the GTP4 SIDs).

    | locator (L) | [IPv4 DA (32)] | QFI(6) R U | TEID (32) | zero pad |
    """
    net = ipaddress.IPv6Network(prefix, strict=False)
    bits = int(net.network_address)
    off = net.prefixlen
    if ipv4 is not None:
        bits |= int(ipaddress.IPv4Address(ipv4)) << (128 - off - 32)
        off += 32
    if off + 40 > 128:
        raise ValueError("prefix too long for Args.Mob.Session")
    args = ((qfi & 0x3F) << 2 | (r & 1) << 1 | (u & 1)) << 32 | teid
    bits |= args << (128 - off - 40)
    return str(ipaddress.IPv6Address(bits))


def v4_in_v6(prefix, ipv4):
    """IPv6 SA of the GTP4 behaviours: source prefix, then the IPv4 SA."""
    net = ipaddress.IPv6Network(prefix, strict=False)
    bits = int(net.network_address)
    bits |= int(ipaddress.IPv4Address(ipv4)) << (128 - net.prefixlen - 32)
    return str(ipaddress.IPv6Address(bits))


def srh_bytes(segments, segments_left, nh=4, tag=0):
    """SRH (RFC 8754 section 2) as bytes.

    +---------------+---------------+---------------+---------------+
    |  next header  | hdr ext len   | routing type=4| segments left |
    +---------------+---------------+---------------+---------------+
    |  last entry   |     flags     |              tag              |
    +---------------+---------------+---------------+---------------+
    |            segment list[0] (the last segment, 128 bits)       |
    ...
    """
    addrs = list(reversed(segments))
    body = b"".join(ipaddress.IPv6Address(a).packed for a in addrs)
    return (
        struct.pack(
            "!BBBBBBH",
            nh,
            2 * len(addrs),
            4,
            segments_left,
            len(addrs) - 1,
            0,
            tag,
        )
        + body
    )


def gtpu_stream(
    outer6=False,
    src=GNB4,
    dst=UPF_N3,
    teid=0x200,
    n_teid=1,
    psc=True,
    qfi=9,
    pdu_type=1,
    inner6=False,
    n_ue=1,
    frame_size=128,
    pps=1000.0,
    msg_type=GTP_GPDU,
    seq=None,
    name=None,
    extra_vm=(),
):
    """One GTP-U stream: Ether / IPv4|IPv6 / UDP 2152 / GTP-U [/ PSC]
    [/ inner IPv4|IPv6 / UDP] with the TEID and UE ranges in the field
    engine.  Only G-PDUs carry an inner packet (TS 29.281 section 5.1)."""
    l3 = 14
    l4 = l3 + (40 if outer6 else 20)
    gtp = l4 + 8
    gtp_len = 8 + (4 if (psc or seq is not None) else 0) + (4 if psc else 0)
    inner_off = gtp + gtp_len
    if msg_type == GTP_GPDU:
        ilen = inner_len_for_frame(frame_size, inner_off, inner6)
        if inner6:
            ue, dn = UE6_START, DN6
        else:
            ue, dn = UE4_START, DN4
        inner = inner_packet(inner6, ue, dn, UE_PORT, DN_PORT, ilen)
    else:
        inner = b""
        n_ue = 1
    hdr = gtpu_header(msg_type, teid, len(inner), psc, qfi, pdu_type, seq)
    if outer6:
        ip = IPv6(src=src, dst=dst)
        udp = UDP(sport=GTPU_PORT, dport=GTPU_PORT)
    else:
        ip = IP(src=src, dst=dst, id=0)
        udp = UDP(sport=GTPU_PORT, dport=GTPU_PORT, chksum=0)
    pkt = ether() / ip / udp / (hdr + inner)
    vm = teid_var(teid, n_teid, gtp + 4)
    ue_addr_off = inner_off + (8 if inner6 else 12)
    sport_off = inner_off + (40 if inner6 else 20)
    vm += (
        ue_vars(ue, n_ue, ue_addr_off, sport_off, inner6, inner_off)
        if (msg_type == GTP_GPDU)
        else []
    )
    vm += list(extra_vm)
    if outer6 and vm:
        vm += fix_udp6(l3, l4)
    return stream(pkt, vm, pps, name)
