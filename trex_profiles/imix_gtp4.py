"""GTP-U/IPv4 uplink (as gtp4_uplink.py) at IMIX frame sizes.

Sizes 64/594/1518 with 7:4:1 packet weights; a size below the smallest
GTP-U frame (82 octets, 90 with the PSC) is raised to it.  --pps is the
total rate, split 7:4:1.

Tunables: --n_teid 1000 --teid 0x200 --n_ue 1000 --psc 1 --qfi 9 --pps
"""

import _mup_pkt as m

IMIX = ((64, 7), (594, 4), (1518, 1))


class IMIXGTP4:
    def get_streams(self, tunables=None, direction=0, port_id=0, **kwargs):
        p = m.parser("imix_gtp4", __doc__)
        p.add_argument("--n_teid", type=m.int0, default=1000)
        p.add_argument("--teid", type=m.int0, default=0x200)
        p.add_argument("--n_ue", type=m.int0, default=1000)
        p.add_argument("--psc", type=m.int0, default=1)
        p.add_argument("--qfi", type=m.int0, default=9)
        a = m.parse(p, tunables, kwargs)
        total = sum(w for _, w in IMIX)
        return [
            m.gtpu_stream(
                outer6=False,
                teid=a.teid,
                n_teid=a.n_teid,
                psc=bool(a.psc),
                qfi=a.qfi,
                n_ue=a.n_ue,
                frame_size=size,
                pps=a.pps * w / total,
                name=f"imix{size}",
            )
            for size, w in IMIX
        ]


def register():
    return IMIXGTP4()
