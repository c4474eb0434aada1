"""SRv6 to End.DT4 fc00:0:d4::1 (examples/lab.yaml, VRF table 10).

Ether / IPv6 fc00:0:ff::1 -> fc00:0:d4::1 [/ SRH (one segment, SL 0)] /
IPv4 UE 10.10.0.1 -> DN 198.51.100.1 / UDP

Tunables: --srh 1 (0: no SRH, H.Encaps.Red style) --size 128 --pps 1000
"""

import _mup_pkt as m


class EndDT4:
    def get_streams(self, tunables=None, direction=0, port_id=0, **kwargs):
        p = m.parser("end_dt4", __doc__)
        p.add_argument("--srh", type=m.int0, default=1)
        p.add_argument("--sid", default=m.SID_DT4)
        p.add_argument("--size", type=m.int0, default=128)
        a = m.parse(p, tunables, kwargs)
        ext = m.srh_bytes([a.sid], 0, nh=4) if a.srh else b""
        inner = m.inner_packet(
            False,
            m.UE4_START,
            m.DN4,
            m.UE_PORT,
            m.DN_PORT,
            m.inner_len_for_frame(a.size, 14 + 40 + len(ext), False),
        )
        pkt = (
            m.ether()
            / m.IPv6(src=m.ENCAP_SRC, dst=a.sid, nh=43 if a.srh else 4)
            / (ext + inner)
        )
        return [m.stream(pkt, None, a.pps, name="dt4")]


def register():
    return EndDT4()
