"""Write the example captures used by the README (`mupvpp replay`).

Built with scapy: uplink GTP-U/IPv4 toward the lab's H.M.GTP4.D (with and
without PDU Session Container, one End Marker), downlink SRv6 toward its
End.M.GTP4.E, and one malformed GTP-U packet (bad version) to show a drop.

    .venv/bin/python examples/make_pcaps.py
"""

from pathlib import Path

from scapy.all import IP, UDP, Ether, IPv6, IPv6ExtHdrSegmentRouting, wrpcap
from scapy.contrib.gtp import GTP_U_Header, GTPPDUSessionContainer

HERE = Path(__file__).resolve().parent
ETH = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")


def inner(i):
    return IP(src=f"10.10.0.{i}", dst="198.51.100.1") / UDP(sport=4000 + i, dport=53) / (
        b"mupvpp" * 4
    )


def gtp4(teid, psc=True, **kw):
    g = GTP_U_Header(teid=teid, **kw)
    if psc:
        g = GTP_U_Header(teid=teid, E=1, next_ex=0x85, **kw) / GTPPDUSessionContainer(
            type=1, QFI=9
        )
    return ETH / IP(src="192.0.2.10", dst="192.0.2.100") / UDP(sport=2152, dport=2152) / g


def main():
    pkts = [gtp4(0x300 + i) / inner(i) for i in range(1, 4)]
    pkts.append(gtp4(0x310, psc=False) / inner(9))
    pkts.append(gtp4(0x300, psc=False, gtp_type=254))  # End Marker
    pkts.append(gtp4(0x10000, psc=False) / inner(7))  # Type 2 session hit
    bad = gtp4(0x300, psc=False) / inner(1)
    raw = bytearray(bytes(bad))
    raw[14 + 20 + 8] = 0x50  # GTP version 2: dropped as gtpu_bad_version
    pkts.append(Ether(bytes(raw)))
    down = (
        ETH
        / IPv6(src="fc00:0:a4:0:c000:264::", dst="fc00:0:4e:c000:20a:2400:1:0")
        / IPv6ExtHdrSegmentRouting(addresses=["fc00:0:4e:c000:20a:2400:1:0"], segleft=0)
        / IP(src="198.51.100.1", dst="10.10.0.1")
        / UDP(sport=53, dport=4001)
        / (b"reply" * 4)
    )
    pkts.append(down)
    wrpcap(str(HERE / "lab-mixed.pcap"), pkts)
    print(f"wrote {HERE / 'lab-mixed.pcap'} ({len(pkts)} packets)")


if __name__ == "__main__":
    main()
