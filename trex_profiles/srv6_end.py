"""SRv6 through the End SID fc00:0:2::1 toward End.DT4 (examples/lab.yaml).

Ether / IPv6 fc00:0:ff::1 -> fc00:0:2::1 / SRH [SRH[0] = fc00:0:d4::1,
SRH[1] = fc00:0:2::1], Segments Left 1 / IPv4 UE -> DN / UDP

Tunables: --size 128 --pps 1000
"""

import _mup_pkt as m


class SRv6End:
    def get_streams(self, tunables=None, direction=0, port_id=0, **kwargs):
        p = m.parser("srv6_end", __doc__)
        p.add_argument("--size", type=m.int0, default=128)
        a = m.parse(p, tunables, kwargs)
        ext = m.srh_bytes([m.SID_END, m.SID_DT4], 1, nh=4)
        inner = m.inner_packet(
            False,
            m.UE4_START,
            m.DN4,
            m.UE_PORT,
            m.DN_PORT,
            m.inner_len_for_frame(a.size, 14 + 40 + len(ext), False),
        )
        pkt = m.ether() / m.IPv6(src=m.ENCAP_SRC, dst=m.SID_END, nh=43) / (ext + inner)
        return [m.stream(pkt, None, a.pps, name="end")]


def register():
    return SRv6End()
