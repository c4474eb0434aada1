"""GTP-U/IPv4 uplink: gNB -> UPF N3, hits H.M.GTP4.D (examples/lab.yaml).

Ether / IPv4 192.0.2.10 -> 192.0.2.100 / UDP 2152 -> 2152 /
GTP-U G-PDU (TEID from 0x200, n_teid of them) [/ PSC UL, QFI] /
IPv4 UE (10.10.0.1 + n_ue) -> 198.51.100.1 / UDP

Tunables: --n_teid 1000 --teid 0x200 --n_ue 1000 --psc 1 --qfi 9
          --size 128 (frame size incl. FCS) --pps 1000
TRex console: start -f trex_profiles/gtp4_uplink.py -t n_teid=100
"""

import _mup_pkt as m


class GTP4Uplink:
    def get_streams(self, tunables=None, direction=0, port_id=0, **kwargs):
        p = m.parser("gtp4_uplink", __doc__)
        p.add_argument("--n_teid", type=m.int0, default=1000)
        p.add_argument("--teid", type=m.int0, default=0x200)
        p.add_argument("--n_ue", type=m.int0, default=1000)
        p.add_argument("--psc", type=m.int0, default=1)
        p.add_argument("--qfi", type=m.int0, default=9)
        p.add_argument("--size", type=m.int0, default=128)
        p.add_argument("--src", default=m.GNB4)
        p.add_argument("--dst", default=m.UPF_N3)
        a = m.parse(p, tunables, kwargs)
        return [
            m.gtpu_stream(
                outer6=False,
                src=a.src,
                dst=a.dst,
                teid=a.teid,
                n_teid=a.n_teid,
                psc=bool(a.psc),
                qfi=a.qfi,
                n_ue=a.n_ue,
                frame_size=a.size,
                pps=a.pps,
            )
        ]


def register():
    return GTP4Uplink()
