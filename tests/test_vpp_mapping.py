"""Model -> upstream VPP API calls, as data (no VPP needed)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from mupvpp.backends import Backend
from mupvpp.backends.vpp import (
    VppBackend,
    derived_bsid,
    node_to_vpp_calls,
    op_to_vpp_steps,
    policy_to_vpp_calls,
    sid_to_vpp_calls,
)
from mupvpp.config import load_intent
from mupvpp.errors import BackendUnavailable, BackendUnsupported
from mupvpp.model import Compat
from mupvpp.plan import plan

LAB = load_intent(Path(__file__).parent.parent / "examples" / "lab.yaml")


def test_node():
    assert node_to_vpp_calls(LAB.node) == [
        ("sr_set_encap_source", {"encaps_source": "fc00:0:ff::1"})
    ]


def test_args_policy_rfc_and_vpp_readings():
    p = LAB.policy("to-gtp4e")
    (call,) = policy_to_vpp_calls(p, LAB)
    assert call == (
        "sr_policy_add",
        {
            "bsid_addr": "fc00:0:4e::",  # = the sr_prefix VPP looks up
            "weight": 1,
            "is_encap": True,
            "is_spray": False,
            "fib_table": 0,
            "sids": {
                "num_sids": 1,
                "weight": 1,
                "sids": ["fc00:0:2::1"] + ["::"] * 15,  # a fixed sids[16]
            },
        },
    )
    vpp = dataclasses.replace(
        LAB, node=dataclasses.replace(LAB.node, compat=Compat(args="vpp"))
    )
    (call,) = policy_to_vpp_calls(p, vpp)
    assert call[1]["sids"]["sids"][:3] == ["fc00:0:2::1", "fc00:0:4e::", "::"]
    assert policy_to_vpp_calls(p, LAB, is_del=True) == [
        ("sr_policy_del", {"bsid_addr": "fc00:0:4e::", "sr_policy_index": 0xFFFFFFFF})
    ]


def test_gtp4d_is_a_mobile_policy_plus_steering():
    calls = sid_to_vpp_calls(LAB.sid("uplink-gtp4"), LAB)
    bsid = str(derived_bsid("sid:uplink-gtp4"))
    assert [c[0] for c in calls] == ["sr_mobile_policy_add", "sr_steering_add_del"]
    assert calls[0][1] == {
        "bsid_addr": bsid,
        "sr_prefix": "fc00:0:4e::/48",
        "v6src_prefix": "fc00:0:a4::/64",
        "behavior": "t.m.gtp4.d",
        "fib_table": 0,
        "local_fib_table": 0,
        "encap_src": "fc00:0:ff::1",
        "drop_in": False,
        "nhtype": 0,
    }
    assert calls[1][1]["prefix"] == "192.0.2.100/32"
    assert calls[1][1]["traffic_type"] == 4


def test_localsids():
    (c,) = sid_to_vpp_calls(LAB.sid("gtp4e"), LAB)
    assert c[0] == "sr_mobile_localsid_add_del"
    assert c[1]["behavior"] == "end.m.gtp4.e"
    assert c[1]["localsid_prefix"] == "fc00:0:4e::/48"
    assert c[1]["v4src_position"] == 64
    (c,) = sid_to_vpp_calls(LAB.sid("gtp6d-di"), LAB)
    assert (c[1]["behavior"], c[1]["sr_prefix"]) == (
        "end.m.gtp6.d.di",
        "fc00:0:6e::/64",
    )
    assert sid_to_vpp_calls(LAB.sid("dt4"), LAB) == [
        ("cli_inband", {"cmd": "sr localsid prefix fc00:0:d4::/64 behavior end.dt4 10"})
    ]


@pytest.mark.parametrize("name", ["map", "limit", "downlink"])
def test_mup_only_behaviours_unsupported(name):
    with pytest.raises(BackendUnsupported, match="needs the srv6_mup plugin"):
        sid_to_vpp_calls(LAB.sid(name), LAB)


def test_sessions_unsupported():
    ops = [op for op in plan(LAB, None) if op.kind == "type1"]
    with pytest.raises(BackendUnsupported, match="srv6_mup plugin") as ei:
        op_to_vpp_steps(ops[0], LAB, LAB)
    assert ei.value.exit_code == 6


def test_replace_undo_pairs():
    sid = LAB.sid("uplink-gtp4")
    new = dataclasses.replace(sid, fib_table=3)
    desired = dataclasses.replace(
        LAB, sids=tuple(new if s is sid else s for s in LAB.sids)
    )
    (op,) = [o for o in plan(desired, LAB) if o.kind == "sid"]
    steps = op_to_vpp_steps(op, desired, LAB)
    names = [(c[0], u[0] if u else None) for c, u in steps]
    assert names == [
        ("sr_steering_add_del", "sr_steering_add_del"),
        ("sr_policy_del", "sr_mobile_policy_add"),
        ("sr_mobile_policy_add", "sr_policy_del"),
        ("sr_steering_add_del", "sr_steering_add_del"),
    ]
    assert steps[0][0][1]["is_del"] is True and steps[0][1][1]["is_del"] is False


def test_unreachable_socket(tmp_path):
    be = VppBackend(str(tmp_path / "no.sock"))
    assert isinstance(be, Backend)
    with pytest.raises(BackendUnavailable, match="does not exist") as ei:
        with be:
            pass
    assert ei.value.exit_code == 5


def test_socket_not_listening(tmp_path):
    import socket

    path = tmp_path / "dead.sock"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))  # bound, never listening: connect is refused
    try:
        with pytest.raises(BackendUnavailable, match="cannot connect to VPP"):
            VppBackend(str(path), timeout=1).connect()
    finally:
        s.close()


def test_gtp4_dt_refused_on_upstream_because_it_crashes_vpp():
    from mupvpp.backends.vpp import sid_to_vpp_calls
    from mupvpp.errors import BackendUnsupported

    with pytest.raises(BackendUnsupported) as ei:
        sid_to_vpp_calls(LAB.sid("gtp4-dt4"), LAB)
    assert str(ei.value) == (
        "sid gtp4-dt4: gtp4.dt4 (H.M.GTP4.DT4) crashes upstream VPP's srv6-mobile "
        "(t.m.gtp4.dt*, seen on v26.10); use the srv6_mup plugin"
    )


def test_tables_created_before_sids():
    from mupvpp.backends.vpp import tables_to_vpp_calls

    def add(v6):
        return {"is_add": True, "table": {"table_id": 10, "is_ip6": v6, "name": ""}}

    assert tables_to_vpp_calls(LAB) == [
        ("ip_table_add_del", add(False)),
        ("ip_table_add_del", add(True)),
    ]


class _DyingApi:
    """A vpp_papi client's ``api`` with the srv6_mup plugin whose dumps fail
    as vpp_papi does when VPP dies (broken pipe) or hangs (read failed)."""

    def __init__(self, exc: Exception):
        self.exc = exc
        self.srv6_mup_localsid_add_del = object()

    def __getattr__(self, name: str):
        if not name.endswith("_dump") and name != "cli_inband":
            raise AttributeError(name)

        def fail(**kw):
            raise self.exc

        return fail


def _dying_exceptions():
    from vpp_papi.vpp_papi import VPPIOError
    from vpp_papi.vpp_transport_socket import VppTransportSocketIOError

    return [
        VppTransportSocketIOError(1, "Sendall error: BrokenPipeError(32)"),
        VPPIOError(2, "VPP API client: read failed"),
        TimeoutError("timed out"),
    ]


@pytest.mark.parametrize("exc", _dying_exceptions(), ids=lambda e: type(e).__name__)
def test_vpp_dying_during_plugin_dumps_is_unavailable(tmp_path, monkeypatch, exc):
    """VPP dying or hanging during the plugin's dumps (read_state, counters,
    the log read) is BackendUnavailable naming the socket, exit 5 from the
    CLI: not a vpp_papi traceback."""
    import types

    from mupvpp.cli import main
    from mupvpp.state import intent_to_dict

    st = tmp_path / "st.json"
    st.write_text(__import__("json").dumps(intent_to_dict(LAB)))
    sock = str(tmp_path / "api.sock")

    def disconnect():  # as vpp_papi's on a dead socket
        raise exc

    def connect(self):
        self.vpp = types.SimpleNamespace(api=_DyingApi(exc), disconnect=disconnect)

    monkeypatch.setattr(VppBackend, "connect", connect)
    be = VppBackend(sock, state_path=str(st))
    with pytest.raises(BackendUnavailable) as ei:
        be.read_state()
    want = f"VPP at {sock}: srv6_mup_localsid_dump: {type(exc).__name__}: {exc}"
    assert str(ei.value) == want
    with pytest.raises(BackendUnavailable) as ei:
        be.counters()
    assert str(ei.value) == want
    with pytest.raises(BackendUnavailable) as ei:
        be.cli_text("show logging")
    assert str(ei.value).startswith(f"VPP at {sock}: cli_inband: ")
    for what in ("sids", "counters"):
        with pytest.raises(SystemExit) as ei:
            main(["--vpp", sock, "--state", str(st), "show", what])
        assert ei.value.code == 5


def test_empty_api_dir_says_so(tmp_path, capsys):
    """--api-dir with no definitions in it: said, not vpp_papi's empty
    'VPPRuntimeError: '."""
    from mupvpp.cli import main

    sock = tmp_path / "api.sock"
    sock.touch()
    empty = tmp_path / "api"
    empty.mkdir()
    with pytest.raises(SystemExit) as ei:
        main(["--vpp", str(sock), "--api-dir", str(empty), "show", "counters"])
    assert ei.value.code == 5
    assert capsys.readouterr().err == (
        f"mupvpp: error: --api-dir {empty}: no *.api.json files found there "
        "(searched recursively)\n"
    )


def test_mup_reason_skips_throttled_lines(monkeypatch):
    """VPP's log, throttled, ends with '--- message(s) throttled ---': the
    reason is the newest real srv6-mup line."""
    log = (
        "2026/12/04 07:00:00:001 warn       srv6-mup       "
        "session 10.10.1.0/32: session table full\n"
        "2026/12/04 07:00:00:002 warn       srv6-mup       "
        "session 10.10.1.1/32: no policy matches\n"
        "2026/12/04 07:00:00:003 warn       srv6-mup       "
        "--- message(s) throttled ---\n"
        "2026/12/04 07:00:00:004 notice     dhcp/client    "
        "something else\n"
    )
    be = VppBackend("/nonexistent.sock")
    monkeypatch.setattr(be, "cli_text", lambda cmd: log)
    assert be._mup_reason() == " (session 10.10.1.1/32: no policy matches)"
    monkeypatch.setattr(
        be, "cli_text", lambda cmd: log.split("\n", 2)[2]
    )  # only the marker left
    assert be._mup_reason() == ""


def test_state_checked_writable_before_apply(tmp_path, monkeypatch):
    """VppBackend.apply refuses (InputError, exit 7) a state file it could
    not write before it touches VPP."""
    from mupvpp.errors import InputError

    def connect(self):  # apply must not get as far as VPP
        raise AssertionError("connected")

    monkeypatch.setattr(VppBackend, "connect", connect)
    for st, why in [
        (
            tmp_path / "nodir" / "st.json",
            f"directory {tmp_path / 'nodir'} does not exist",
        ),
        (tmp_path, "it is a directory"),
    ]:
        with pytest.raises(InputError) as ei:
            VppBackend("/x.sock", state_path=str(st)).apply([], LAB)
        assert str(ei.value) == f"--state {st}: cannot write the state file: {why}"
        assert ei.value.exit_code == 7
