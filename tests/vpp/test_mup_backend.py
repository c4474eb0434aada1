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


def _with_ues(intent, n: int, gnb: str = "192.0.2.10"):
    """The lab plus n Type 1 sessions 10.10.1.0.. in its UE pool."""
    import ipaddress

    from mupvpp.model import Type1Session

    base = int(ipaddress.IPv4Address("10.10.1.0"))
    extra = tuple(
        Type1Session(
            ipaddress.IPv4Network(base + i),
            ipaddress.IPv4Address(gnb),
            0x1000 + i,
            5,
            headend="downlink",
        )
        for i in range(n)
    )
    return dataclasses.replace(intent, type1=intent.type1 + extra)


def test_pipelined_encoding_is_vpp_papis(vpp):
    """The writer's precompiled layout gives the bytes vpp_papi's own
    encoder gives, for IPv4 and IPv6 UEs, adds and deletes."""
    import ipaddress

    from mupvpp.backends.pipe import MSG, _pack_fast
    from mupvpp.model import Type1Session

    msg = vpp.client.messages[MSG]
    for ue, is_add in [
        ("10.10.0.7/32", True),
        ("10.10.0.7/32", False),
        ("2001:db8:10::/64", True),
        ("2001:db8:10::/64", False),
    ]:
        s = Type1Session(
            ipaddress.ip_network(ue),
            ipaddress.IPv4Address("192.0.2.77"),
            0xDEADBEEF,
            63,
            True,
        )
        kw = {"is_add": is_add, "ue": s.ue_prefix}
        if is_add:
            kw.update(gnb=s.gnb, teid=s.teid, qfi=s.qfi, rqi=s.rqi)
        want = msg.pack({**kw, "_vl_msg_id": 1234, "client_index": 7, "context": 99})
        assert _pack_fast(1234, 7, 99, s, is_add) == want


def test_many_sessions_pipelined_then_removed(vpp, api_dir, tmp_path):
    """A plan with 1,500 Type 1 adds goes through the pipelined writer:
    every session is in the plugin's dump with its own TEID and QFI, the
    next plan is empty, and removing them all is one pipelined run too."""
    lab = _with_ues(load_intent(LAB), 1500)
    with backend(vpp, api_dir, tmp_path) as be:
        ops = plan(lab, be.read_state())
        assert sum(o.kind == "type1" for o in ops) == 1502
        be.apply(ops, lab)
        t1 = dumps(vpp.api)[2]
        assert len(t1) == 1502
        assert ("10.10.1.0/32", "192.0.2.10", 0x1000, 5) in t1
        assert ("10.10.6.219/32", "192.0.2.10", 0x1000 + 1499, 5) in t1
        assert plan(lab, be.read_state()) == []
        gone = empty(lab)
        be.apply(plan(gone, be.read_state()), gone)
        assert dumps(vpp.api) == (0, 0, set(), set())


def test_pipelined_refusal_is_rolled_back(vpp, api_dir, tmp_path):
    """More Type 1 sessions than the plugin's table holds (4,096 slots in
    the test VPP): the first refused add fails the apply, and every session
    the pipeline did install is removed again with everything else."""
    lab = _with_ues(load_intent(LAB), 5000)
    with backend(vpp, api_dir, tmp_path) as be:
        with pytest.raises(ApplyError) as ei:
            be.apply(plan(lab, be.read_state()), lab)
        msg = str(ei.value)
        assert msg.startswith("add type1 10.10.")
        assert "failed at srv6_mup_session_add_del: srv6_mup_session_add_del " in msg
        assert "returned retval -" in msg and msg.endswith("; rolled back")
        assert dumps(vpp.api) == (0, 0, set(), set())
        assert be.read_state() is None


def test_session_table_reuses_deleted_slots(vpp):
    """Sessions come and go: 4,000 in, the same out, 4,000 others in, on
    the test VPP's 4,096-slot table.  Deleted slots must be usable again
    (before, their tombstones filled the table: every later add was
    refused as 'session table full')."""
    import ipaddress

    from mupvpp.backends.pipe import write_type1
    from mupvpp.model import Type1Session

    vpp.cli_ok(
        "srv6-mup policy add match 10.64.0.0/10 behavior h.t1st "
        "source fc00:0:ff::1 segment fc00:0:4e::/48"
    )
    try:

        def ues(first: str, n: int):
            base = int(ipaddress.IPv4Address(first))
            gnb = ipaddress.IPv4Address("192.0.2.10")
            return [
                Type1Session(ipaddress.IPv4Network(base + i), gnb, i + 1, 1)
                for i in range(n)
            ]

        a, b = ues("10.64.0.0", 4000), ues("10.96.0.0", 4000)
        assert write_type1(vpp.client, a) == [0] * 4000
        assert write_type1(vpp.client, a, is_add=False) == [0] * 4000
        assert write_type1(vpp.client, b) == [0] * 4000
        got = {str(d.ue) for d in vpp.api.srv6_mup_session_dump()}
        assert {str(s.ue_prefix) for s in b} <= got
        assert not {str(s.ue_prefix) for s in a} & got
        assert write_type1(vpp.client, b, is_add=False) == [0] * 4000
    finally:
        vpp.cli_ok("srv6-mup policy del match 10.64.0.0/10")


def test_api_dir_without_the_plugins_definitions(vpp, api_dir, tmp_path, capsys):
    """--api-dir lacking srv6_mup.api.json against a VPP running the plugin
    (its message table has srv6_mup_*): said, exit 5, instead of silently
    taking the upstream-API path."""
    from mupvpp.cli import main

    (Path(api_dir) / "srv6_mup.api.json").unlink()
    st = tmp_path / "st.json"
    with pytest.raises(SystemExit) as ei:
        main(["--vpp", str(vpp.api_sock), "--state", str(st), "--api-dir", api_dir,
              "apply", "--yes", str(LAB)])  # fmt: skip
    assert ei.value.code == 5
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"mupvpp: error: --api-dir {api_dir} lacks srv6_mup.api.json, but VPP at "
        f"{vpp.api_sock} runs the srv6_mup plugin: add it (from the plugin "
        "build: build/plugin/srv6_mup/) or leave out --api-dir"
    )
    assert dumps(vpp.api) == (0, 0, set(), set())
    assert not st.exists()


def test_state_path_not_writable_changes_nothing(vpp, api_dir, tmp_path, capsys):
    """--state in a directory that does not exist: exit 7 before VPP is
    touched (before, VPP was changed and saving it was a traceback); --state
    naming a directory: exit 7 for show as well."""
    from mupvpp.cli import main

    args = ["--vpp", str(vpp.api_sock), "--api-dir", api_dir]
    st = tmp_path / "nodir" / "st.json"
    with pytest.raises(SystemExit) as ei:
        main([*args, "--state", str(st), "apply", "--yes", str(LAB)])
    assert ei.value.code == 7
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"mupvpp: error: --state {st}: cannot write the state file: "
        f"directory {st.parent} does not exist"
    )
    assert dumps(vpp.api) == (0, 0, set(), set())
    with pytest.raises(SystemExit) as ei:
        main([*args, "--state", str(tmp_path), "apply", "--yes", str(LAB)])
    assert ei.value.code == 7
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"mupvpp: error: state file {tmp_path}: cannot read: Is a directory"
    )
    assert dumps(vpp.api) == (0, 0, set(), set())
    with pytest.raises(SystemExit) as ei:
        main([*args, "--state", str(tmp_path), "show", "sids"])
    assert ei.value.code == 7
    assert capsys.readouterr().err == (
        f"mupvpp: error: state file {tmp_path}: cannot read: Is a directory\n"
    )


def test_session_table_holds_slots_less_one(vpp, api_dir, tmp_path):
    """The test VPP's 4,096-slot table takes 4,095 sessions (open addressing
    keeps one slot free); the next is refused, and the reason says so."""
    import ipaddress

    from mupvpp.backends.pipe import write_type1
    from mupvpp.model import Type1Session

    vpp.cli_ok(
        "srv6-mup policy add match 10.64.0.0/10 behavior h.t1st "
        "source fc00:0:ff::1 segment fc00:0:4e::/48"
    )
    base = int(ipaddress.IPv4Address("10.64.0.0"))
    gnb = ipaddress.IPv4Address("192.0.2.10")
    ues = [
        Type1Session(ipaddress.IPv4Network(base + i), gnb, i + 1, 1)
        for i in range(4096)
    ]
    try:
        assert write_type1(vpp.client, ues[:4095]) == [0] * 4095
        (rv,) = write_type1(vpp.client, ues[4095:])
        assert rv != 0
        be = backend(vpp, api_dir, tmp_path)
        with be:
            assert be._mup_reason() == (
                " (session table full (4096 slots, 4095 usable; startup config "
                "srv6-mup { sessions N }))"
            )
    finally:
        write_type1(vpp.client, ues[:4095], is_add=False)
        vpp.cli_ok("srv6-mup policy del match 10.64.0.0/10")


def test_replaced_headend_keeps_its_type2_session(vpp, api_dir, tmp_path):
    """Replacing the H.M.GTP4.D (a new source prefix) removes its Type 2
    table in the plugin: the plan installs the session again.  An apply
    that replaces it and then fails is rolled back with the session back
    in place (before, both left VPP without it)."""
    import ipaddress

    lab = load_intent(LAB)
    moved = dataclasses.replace(
        lab,
        sids=tuple(
            dataclasses.replace(s, source_prefix=ipaddress.ip_network("fc00:0:a5::/64"))
            if s.name == "uplink-gtp4"
            else s
            for s in lab.sids
        ),
    )
    t2 = {("192.0.2.100", 0x10000, "fc00:0:d4::1")}
    with backend(vpp, api_dir, tmp_path) as be:
        be.apply(plan(lab, be.read_state()), lab)
        assert dumps(vpp.api)[3] == t2
        be.apply(plan(moved, be.read_state()), moved)
        assert dumps(vpp.api)[3] == t2
        assert plan(moved, be.read_state()) == []
        # back to lab.yaml, plus a SID VPP refuses (its prefix is taken by
        # a localsid made outside mupvpp): the replace is undone
        extra = dataclasses.replace(
            next(s for s in lab.sids if s.name == "end"),
            name="taken",
            prefix=ipaddress.ip_network("fc00:0:99::/64"),
        )
        bad = dataclasses.replace(lab, sids=lab.sids + (extra,))
        before = dumps(vpp.api)
        vpp.cli_ok("sr localsid prefix fc00:0:99::/64 behavior end")
        try:
            with pytest.raises(ApplyError) as ei:
                be.apply(plan(bad, be.read_state()), bad)
            assert str(ei.value).startswith("add sid taken failed at ")
            assert dumps(vpp.api) == before
        finally:
            vpp.cli_ok("sr localsid del prefix fc00:0:99::/64")
        gone = empty(lab)
        be.apply(plan(gone, be.read_state()), gone)
        assert dumps(vpp.api) == (0, 0, set(), set())


def test_interrupted_pipelined_load_is_rolled_back(vpp, api_dir, tmp_path, monkeypatch):
    """Ctrl-C half-way through a pipelined run of 1,500 sessions: whatever
    VPP took is removed again, nothing is saved, and the connection still
    answers ordinary calls afterwards."""
    from mupvpp.backends import pipe

    lab = _with_ues(load_intent(LAB), 1500)
    calls = {"n": 0}
    real = pipe._SocketReader.read

    def read(self, timeout):
        calls["n"] += 1
        if calls["n"] == 700:
            raise KeyboardInterrupt
        return real(self, timeout)

    monkeypatch.setattr(pipe._SocketReader, "read", read)
    with backend(vpp, api_dir, tmp_path) as be:
        with pytest.raises(KeyboardInterrupt):
            be.apply(plan(lab, be.read_state()), lab)
        assert calls["n"] == 700
        assert dumps(vpp.api) == (0, 0, set(), set())
        assert be.read_state() is None
        monkeypatch.setattr(pipe._SocketReader, "read", real)
        be.apply(plan(lab, be.read_state()), lab)
        assert len(dumps(vpp.api)[2]) == 1502
        gone = empty(lab)
        be.apply(plan(gone, be.read_state()), gone)
        assert dumps(vpp.api) == (0, 0, set(), set())
