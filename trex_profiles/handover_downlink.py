"""Plain IPv4 downlink toward the UEs, for handover loss measurement.

Ether / IPv4 198.51.100.1 -> UE 10.10.0.1 .. 10.10.0.n_ue / UDP 5001 ->
65535-j, at a constant rate.  The H.M.T1ST headend (examples/lab.yaml,
'downlink', match 10.10.0.0/16) looks the UE up in its Type 1 ST sessions
and encapsulates toward End.M.GTP4.E; a handover swaps the session while
this runs, and loss is counted against the constant rate.

The field engine steps the UE address; the UDP destination port moves the
other way so the UDP checksum stays valid; the IPv4 checksum is refixed.

Tunables: --n_ue 2 (the lab has sessions for 10.10.0.1 and .2)
          --ue 10.10.0.1 --size 128 --pps 1000
"""

import _mup_pkt as m


class HandoverDownlink:
    def get_streams(self, tunables=None, direction=0, port_id=0, **kwargs):
        p = m.parser("handover_downlink", __doc__)
        p.add_argument("--n_ue", type=m.int0, default=2)
        p.add_argument("--ue", default=m.UE4_START)
        p.add_argument("--size", type=m.int0, default=128)
        a = m.parse(p, tunables, kwargs)
        ilen = m.inner_len_for_frame(a.size, 14, False)
        pkt = m.ether() / m.IP(
            _pkt=m.inner_packet(False, m.DN4, a.ue, m.DN_PORT, m.UE_PORT, ilen)
        )
        # IPv4 DA at 14+16, UDP destination port at 14+20+2
        vm = m.ue_vars(a.ue, a.n_ue, 14 + 16, 14 + 22, False, 14)
        return [m.stream(pkt, vm, a.pps, name="downlink")]


def register():
    return HandoverDownlink()
