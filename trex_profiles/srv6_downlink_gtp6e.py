"""SRv6 downlink to End.M.GTP6.E (examples/lab.yaml), static packets.

Ether / IPv6 fc00:0:ff::1 -> fc00:0:6e:0:.... (SID fc00:0:6e::/64 then
Args.Mob.Session QFI R=0 U=0 TEID at bit 64) / SRH [SRH[0] = gNB
2001:db8:a::10, SRH[1] = the SID], Segments Left 1 /
IPv4 DN 198.51.100.1 -> UE 10.10.0.1+i / UDP

End.M.GTP6.E must be the penultimate segment (RFC 9433 section 6.5): the
gNB, SRH[0], becomes the GTP-U IPv6 DA.

Tunables: --n_flows 2 --teid 0x100 --qfi 9 --gnb 2001:db8:a::10
          --size 128 --pps 1000
"""

import ipaddress

import _mup_pkt as m


class SRv6DownlinkGTP6E:
    def get_streams(self, tunables=None, direction=0, port_id=0, **kwargs):
        p = m.parser("srv6_downlink_gtp6e", __doc__)
        p.add_argument("--n_flows", type=m.int0, default=2)
        p.add_argument("--teid", type=m.int0, default=0x100)
        p.add_argument("--qfi", type=m.int0, default=9)
        p.add_argument("--gnb", default=m.GNB6)
        p.add_argument("--locator", default=m.LOC_GTP6E)
        p.add_argument("--src", default=m.ENCAP_SRC)
        p.add_argument("--size", type=m.int0, default=128)
        a = m.parse(p, tunables, kwargs)
        ue0 = ipaddress.IPv4Address(m.UE4_START)
        streams = []
        for i in range(a.n_flows):
            sid = m.args_sid(a.locator, a.qfi, a.teid + i)
            overhead = 14 + 40 + 8 + 32
            inner = m.inner_packet(
                False,
                m.DN4,
                str(ue0 + i),
                m.DN_PORT,
                m.DN_PORT,
                m.inner_len_for_frame(a.size, overhead, False),
            )
            pkt = (
                m.ether()
                / m.IPv6(src=a.src, dst=sid, nh=43)
                / (m.srh_bytes([sid, a.gnb], 1, nh=4) + inner)
            )
            streams.append(m.stream(pkt, None, a.pps / a.n_flows, name=f"flow{i}"))
        return streams


def register():
    return SRv6DownlinkGTP6E()
