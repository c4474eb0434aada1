"""SRv6 downlink to End.M.GTP4.E (examples/lab.yaml), static packets.

Ether / IPv6 SA fc00:0:a4:0:c000:264:: (source prefix fc00:0:a4::/64 then
the IPv4 SA the gNB will see, the UPF N3 192.0.2.100, at bit 64) /
DA fc00:0:4e:c000:20a:.... (locator fc00:0:4e::/48 | IPv4 DA 192.0.2.10 |
Args.Mob.Session QFI R=0 U=0 TEID | 0) / SRH (one segment, Segments Left 0) /
IPv4 DN 198.51.100.1 -> UE 10.10.0.1+i / UDP

SID layout (RFC 9433 section 6.6):
  | locator 48 | IPv4 DA 32 | QFI 6 | R | U | TEID 32 | pad 8 |

No field engine: the TEID sits in the IPv6 DA behind nothing TRex can
checksum-fix, so --n_flows makes that many static streams (TEIDs --teid,
--teid+1, ..., UE 10.10.0.1, .2, ...) sharing --pps equally.

Tunables: --n_flows 2 --teid 0x100 --qfi 9 --gnb 192.0.2.10
          --gtp_src 192.0.2.100 --size 128 --pps 1000
"""

import ipaddress

import _mup_pkt as m


class SRv6DownlinkGTP4E:
    def get_streams(self, tunables=None, direction=0, port_id=0, **kwargs):
        p = m.parser("srv6_downlink_gtp4e", __doc__)
        p.add_argument("--n_flows", type=m.int0, default=2)
        p.add_argument("--teid", type=m.int0, default=0x100)
        p.add_argument("--qfi", type=m.int0, default=9)
        p.add_argument("--gnb", default=m.GNB4)
        p.add_argument("--gtp_src", default=m.UPF_N3)
        p.add_argument("--locator", default=m.LOC_GTP4E)
        p.add_argument("--src_prefix", default=m.SRC_PREFIX4)
        p.add_argument("--size", type=m.int0, default=128)
        a = m.parse(p, tunables, kwargs)
        src = m.v4_in_v6(a.src_prefix, a.gtp_src)
        ue0 = ipaddress.IPv4Address(m.UE4_START)
        streams = []
        for i in range(a.n_flows):
            sid = m.args_sid(a.locator, a.qfi, a.teid + i, ipv4=a.gnb)
            overhead = 14 + 40 + 24
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
                / m.IPv6(src=src, dst=sid, nh=43)
                / (m.srh_bytes([sid], 0, nh=4) + inner)
            )
            streams.append(m.stream(pkt, None, a.pps / a.n_flows, name=f"flow{i}"))
        return streams


def register():
    return SRv6DownlinkGTP4E()
