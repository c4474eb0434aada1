"""GTP-U/IPv4 G-PDUs plus GTP-U control messages at a low rate.

Stream gpdu: as gtp4_uplink.py at --pps.
Stream end_marker: End Marker (type 254, no payload, TEID --teid) at
  --ctl_pps.
Stream echo: Echo Request (type 1, S flag, TEID 0, sequence number
  counting up from 1) at --ctl_pps.
All from 192.0.2.10 to 192.0.2.100 (H.M.GTP4.D, examples/lab.yaml).

Tunables: --n_teid 1000 --teid 0x200 --n_ue 1000 --psc 1 --qfi 9
          --size 128 --pps 1000 --ctl_pps 10
"""

import _mup_pkt as m
from trex.stl.api import STLVmFlowVar, STLVmWrFlowVar


class GTPControlMix:
    def get_streams(self, tunables=None, direction=0, port_id=0, **kwargs):
        p = m.parser("gtp_control_mix", __doc__)
        p.add_argument("--n_teid", type=m.int0, default=1000)
        p.add_argument("--teid", type=m.int0, default=0x200)
        p.add_argument("--n_ue", type=m.int0, default=1000)
        p.add_argument("--psc", type=m.int0, default=1)
        p.add_argument("--qfi", type=m.int0, default=9)
        p.add_argument("--size", type=m.int0, default=128)
        p.add_argument("--ctl_pps", type=float, default=10.0)
        a = m.parse(p, tunables, kwargs)
        gpdu = m.gtpu_stream(
            teid=a.teid,
            n_teid=a.n_teid,
            psc=bool(a.psc),
            qfi=a.qfi,
            n_ue=a.n_ue,
            frame_size=a.size,
            pps=a.pps,
            name="gpdu",
        )
        end_marker = m.gtpu_stream(
            teid=a.teid,
            psc=False,
            msg_type=m.GTP_END_MARKER,
            pps=a.ctl_pps,
            name="end_marker",
        )
        # Echo Request: TEID 0, S=1, sequence number at octet 8 of GTP-U.
        seq_off = 14 + 20 + 8 + 8
        seq_vm = [
            STLVmFlowVar(
                name="seq",
                size=2,
                op="inc",
                min_value=1,
                max_value=0xFFFF,
                init_value=1,
                split_to_cores=False,
            ),
            STLVmWrFlowVar(fv_name="seq", pkt_offset=seq_off),
        ]
        echo = m.gtpu_stream(
            teid=0,
            psc=False,
            msg_type=m.GTP_ECHO_REQUEST,
            seq=1,
            pps=a.ctl_pps,
            name="echo",
            extra_vm=seq_vm,
        )
        return [gpdu, end_marker, echo]


def register():
    return GTPControlMix()
