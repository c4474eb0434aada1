"""The control plane on a live VPP with the srv6_mup plugin: the whole lab
intent (every behaviour, Type 1 and Type 2 sessions) through the plugin's
API, read back from its dumps, planned again (nothing), a handover from the
CLI, counters by SID name, an apply that fails half-way rolled back, and
everything removed.

Uses the plugin VPP of conftest.py (skipped, saying why, without
MUPVPP_VPP_PREFIX or a built plugin).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from scapy.all import IP, UDP, raw
from scapy.contrib.gtp import GTP_U_Header

from mupvpp.backends.vpp import VppBackend
from mupvpp.config import load_intent
from mupvpp.errors import ApplyError
from mupvpp.plan import plan
from mupvpp.vpplab import api_files

ROOT = Path(__file__).resolve().parents[2]
LAB = ROOT / "examples" / "lab.yaml"
HEADENDS = {"uplink-gtp4", "downlink", "gtp4-dt4"}


@pytest.fixture
def api_dir(vpp, tmp_path):
    """VPP's API JSON plus the plugin's, in one directory (--api-dir)."""
    d = tmp_path / "api"
    d.mkdir()
    for f in api_files(vpp.prefix, vpp.plugin_dir):
        (d / Path(f).name).symlink_to(f)
    return str(d)


def backend(vpp, api_dir, tmp_path) -> VppBackend:
    return VppBackend(
        str(vpp.api_sock), state_path=str(tmp_path / "st.json"), api_dir=api_dir
    )


def dumps(api) -> tuple[int, int, set, set]:
    return (
        len(api.srv6_mup_localsid_dump()),
        len(api.srv6_mup_policy_dump()),
        {(str(d.ue), str(d.gnb), d.teid, d.qfi) for d in api.srv6_mup_session_dump()},
        {(str(d.n3), d.teid, str(d.segment)) for d in api.srv6_mup_type2_dump()},
    )


def empty(intent):
    return dataclasses.replace(intent, policies=(), sids=(), type1=(), type2=())


def test_lab_through_the_plugin_api(vpp, api_dir, tmp_path, capsys):
    from mupvpp.cli import main

    lab = load_intent(LAB)
    with backend(vpp, api_dir, tmp_path) as be:
        assert be.has_mup
        be.apply(plan(lab, be.read_state()), lab)
        assert plan(lab, be.read_state()) == []
        n_local, n_head, t1, t2 = dumps(vpp.api)
        assert (n_local, n_head) == (len(lab.sids) - len(HEADENDS), len(HEADENDS))
        assert t1 == {
            ("10.10.0.1/32", "192.0.2.10", 0x100, 9),
            ("10.10.0.2/32", "192.0.2.10", 0x101, 9),
        }
        assert t2 == {("192.0.2.100", 0x10000, "fc00:0:d4::1")}
        assert "End.MAP fc00:0:3a::/64" in vpp.cli("show srv6-mup sids")

    # a handover from the CLI: one atomic replace in the plugin's table
    st = str(tmp_path / "st.json")
    args = ["--vpp", str(vpp.api_sock), "--state", st, "--api-dir", api_dir]
    with pytest.raises(SystemExit) as ei:
        main([*args, "session", "handover", "--ue-prefix", "10.10.0.1/32",
              "--gnb", "192.0.2.11", "--teid", "0x500"])  # fmt: skip
    assert ei.value.code == 0, capsys.readouterr()
    assert ("10.10.0.1/32", "192.0.2.11", 0x500, 9) in dumps(vpp.api)[2]

    with backend(vpp, api_dir, tmp_path) as be:
        # the lab file now differs by that session only
        ops = plan(lab, be.read_state())
        assert [(o.action, o.kind, o.key) for o in ops] == [
            ("replace", "type1", "10.10.0.1/32")
        ]
        be.apply(ops, lab)
        # counters by SID name: one uplink G-PDU whose TEID has a Type 2
        # session: H.M.GTP4.D to the direct segment fc00:0:d4::1, End.DT4
        # there, out of table 10.  (A TEID without one would follow the
        # policy to the lab's own End.M.GTP4.E and back: see vpp_loops.)
        pkt = (
            IP(src="192.0.2.10", dst="192.0.2.100")
            / UDP(sport=2152, dport=2152)
            / GTP_U_Header(teid=0x10000)
            / IP(src="10.10.0.1", dst="198.51.100.1")
            / UDP(sport=1, dport=2)
        )
        (out,) = vpp.send([raw(pkt)], 1)
        assert IP(out).dst == "198.51.100.1"
        c = be.counters()
        assert (c["uplink-gtp4"]["forwarded"], c["dt4"]["forwarded"]) == (1, 1)
        # remove everything
        gone = empty(lab)
        be.apply(plan(gone, be.read_state()), gone)
        assert dumps(vpp.api) == (0, 0, set(), set())
        assert plan(gone, be.read_state()) == []


def test_failure_half_way_is_rolled_back(vpp, api_dir, tmp_path):
    """An SR localsid VPP already has (made outside mupvpp) makes the add of
    the lab's End.DT6 fail: everything this apply did is undone and the
    error names the op and the message."""
    lab = load_intent(LAB)
    vpp.cli_ok("sr localsid prefix fc00:0:d6::/64 behavior end")
    try:
        with backend(vpp, api_dir, tmp_path) as be:
            with pytest.raises(ApplyError) as ei:
                be.apply(plan(lab, be.read_state()), lab)
            assert str(ei.value).startswith(
                "add sid dt6 failed at srv6_mup_localsid_add_del: "
            )
            assert str(ei.value).endswith("; rolled back")
            assert dumps(vpp.api) == (0, 0, set(), set())
            assert be.read_state() is None  # nothing saved
    finally:
        vpp.cli_ok("sr localsid del prefix fc00:0:d6::/64")
