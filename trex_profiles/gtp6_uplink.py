"""GTP-U/IPv6 uplink: gNB -> End.M.GTP6.D SID (examples/lab.yaml).

Ether / IPv6 2001:db8:a::10 -> fc00:0:6d::1 / UDP 2152 -> 2152 /
GTP-U G-PDU (TEID from 0x200, n_teid of them) [/ PSC UL, QFI] /
IPv4 (or IPv6 with --inner 6) UE -> DN / UDP

Tunables: --n_teid 1000 --teid 0x200 --n_ue 1000 --psc 1 --qfi 9
          --inner 4 --dst fc00:0:6d::1 (fc00:0:6f::1 for End.M.GTP6.D.Di)
          --size 128 (frame size incl. FCS) --pps 1000
The outer UDP checksum is fixed per packet (STLVmFixChecksumHw).
"""

import _mup_pkt as m


class GTP6Uplink:
    def get_streams(self, tunables=None, direction=0, port_id=0, **kwargs):
        p = m.parser("gtp6_uplink", __doc__)
        p.add_argument("--n_teid", type=m.int0, default=1000)
        p.add_argument("--teid", type=m.int0, default=0x200)
        p.add_argument("--n_ue", type=m.int0, default=1000)
        p.add_argument("--psc", type=m.int0, default=1)
        p.add_argument("--qfi", type=m.int0, default=9)
        p.add_argument("--inner", type=m.int0, choices=(4, 6), default=4)
        p.add_argument("--size", type=m.int0, default=128)
        p.add_argument("--src", default=m.GNB6)
        p.add_argument("--dst", default=m.SID_GTP6D)
        a = m.parse(p, tunables, kwargs)
        return [
            m.gtpu_stream(
                outer6=True,
                src=a.src,
                dst=a.dst,
                teid=a.teid,
                n_teid=a.n_teid,
                psc=bool(a.psc),
                qfi=a.qfi,
                inner6=a.inner == 6,
                n_ue=a.n_ue,
                frame_size=a.size,
                pps=a.pps,
            )
        ]


def register():
    return GTP6Uplink()
