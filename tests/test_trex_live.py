"""`bench --trex` against a real TRex server.

Set ``MUPVPP_TREX_HOST`` (e.g. 127.0.0.1) to a TRex server started with
``t-rex-64 -i`` whose port 0 reaches port 1 (a veth loop or bridge, see
docs/trex.md).  Optional: ``MUPVPP_TREX_PORTS=TX,RX`` (default 0,1),
``MUPVPP_TREX_MAX_PPS`` (default 200000: the top of the search).
Without a server these tests skip; the one that needs no server checks
that an unreachable host is reported as such.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from mupvpp.errors import BackendUnavailable

REPO = Path(__file__).resolve().parents[1]
HOST = os.environ.get("MUPVPP_TREX_HOST")
live = pytest.mark.skipif(not HOST, reason="MUPVPP_TREX_HOST not set: no TRex server")


def _trex_venv() -> bool:
    try:
        from mupvpp.traffic.compile import trex_python

        trex_python()
        return True
    except Exception:
        return False


needs_client = pytest.mark.skipif(
    not _trex_venv(), reason="TRex client venv (.venv-trex) missing: make venv-trex"
)


def _ports() -> tuple[list[int], list[int]]:
    tx, rx = os.environ.get("MUPVPP_TREX_PORTS", "0,1").split(",")
    return [int(tx)], [int(rx)]


MAX_PPS = float(os.environ.get("MUPVPP_TREX_MAX_PPS", "200000"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@needs_client
def test_unreachable_server_is_backend_unavailable():
    from mupvpp.bench.trex import TRexDriver

    port = _free_port()
    with TRexDriver("127.0.0.1", port, timeout_s=2) as drv:
        with pytest.raises(BackendUnavailable) as e:
            drv.connect()
    msg = str(e.value)
    assert f"127.0.0.1:{port}" in msg and "unreachable" in msg
    assert e.value.exit_code == 5


@needs_client
def test_missing_client_interpreter_is_backend_unavailable(tmp_path):
    from mupvpp.bench.trex import TRexDriver

    with TRexDriver("127.0.0.1", python=tmp_path / "nope" / "python") as drv:
        with pytest.raises(BackendUnavailable, match="127.0.0.1:4501"):
            drv.connect()


@pytest.fixture(scope="module")
def drv():
    from mupvpp.bench.trex import TRexDriver

    d = TRexDriver(HOST)
    d.connect()
    yield d
    d.close()


@live
@needs_client
def test_connect_reports_server_and_ports(drv):
    tx, rx = _ports()
    assert drv.info["server_version"]
    assert drv.info["port_count"] >= max(tx + rx) + 1


@live
@needs_client
def test_one_trial_counts_every_packet(drv):
    from mupvpp.bench.trex import _frame_bytes
    from mupvpp.traffic.compile import compile_profile

    tx, rx = _ports()
    streams = compile_profile(REPO / "trex_profiles" / "gtp4_uplink.py")
    drv.reset(tx + rx)
    drv.load(tx[0], streams)
    r, raw = drv.run_trial(tx, rx, 10_000, 1.0)
    # 10 kpps for 1 s through a loop: all sent, all back, not saturated
    assert 9_900 <= r.sent <= 10_100
    assert r.received == r.sent
    assert not r.saturated()
    assert raw["ports"][str(tx[0])]["opackets"] == r.sent
    assert _frame_bytes(streams) > 64


@live
@needs_client
def test_short_ndr_search(drv):
    from mupvpp.bench.trex import measure_trex
    from mupvpp.traffic.compile import compile_profile

    tx, rx = _ports()
    streams = compile_profile(REPO / "trex_profiles" / "gtp4_uplink.py")
    doc = measure_trex(
        drv,
        streams,
        tx_ports=tx,
        rx_ports=rx,
        duration=0.5,
        min_pps=1000,
        max_pps=MAX_PPS,
        precision=0.05,
        max_trials=12,
    )
    json.dumps(doc)
    assert doc["ndr_pps"] > 0
    assert doc["pdr_pps"] >= doc["ndr_pps"]
    assert doc["trials"]
    for t in doc["trials"]:
        assert t["sent"] > 0
        # port counters: one TX and one RX port per trial
        assert t["ports"][str(tx[0])]["opackets"] == t["sent"]
        assert t["ports"][str(rx[0])]["ipackets"] == t["received"]
    # every valid failure lies above the NDR
    for t in doc["trials"]:
        if not t["saturated"] and t["loss"] > 0:
            assert t["target_pps"] > doc["ndr_pps"]


@live
@needs_client
def test_saturated_generator_is_reported_not_taken_as_loss(drv):
    """Ask far more than a virtual port can send: the first trial must be
    flagged saturated (actual TX rate < 99 % of the target), and no
    saturated trial may become the NDR's upper bound."""
    from mupvpp.bench.trex import measure_trex
    from mupvpp.traffic.compile import compile_profile

    tx, rx = _ports()
    streams = compile_profile(REPO / "trex_profiles" / "gtp4_uplink.py")
    doc = measure_trex(
        drv,
        streams,
        tx_ports=tx,
        rx_ports=rx,
        duration=0.5,
        min_pps=1000,
        max_pps=100e6,
        precision=0.1,
        max_trials=8,
    )
    first = doc["trials"][0]
    assert first["saturated"], first
    assert first["tx_pps"] < 0.99 * first["target_pps"]
    assert doc["saturated"] and doc["generator_ceiling_pps"] is not None
    up = doc["ndr"]["upper_trial"]
    if up is not None:
        assert not doc["trials"][up]["saturated"]


@live
@needs_client
def test_run_trex_bench_writes_json(tmp_path):
    from mupvpp.bench.trex import format_table, run_trex_bench

    tx, rx = _ports()
    seen = []
    doc = run_trex_bench(
        REPO / "examples" / "lab.yaml",
        ["h.m.gtp4.d"],
        HOST,
        0.5,
        tmp_path,
        progress=lambda *a: seen.append(a),
        tx_ports=tx,
        rx_ports=rx,
        max_pps=MAX_PPS,
        precision=0.1,
        max_trials=8,
    )
    saved = json.loads((tmp_path / "bench-trex.json").read_text())
    assert saved["scenarios"][0]["scenario"] == "h.m.gtp4.d"
    row = doc["scenarios"][0]
    assert row["ndr_pps"] > 0 and "pdr_pps" in row and row["trials"]
    assert doc["trex"]["server_version"]
    assert seen and seen[-1][0] == "h.m.gtp4.d"
    # no --vpp: the handover needs a DUT the bench can reconfigure
    assert doc["handover"] is None or "skipped" in doc["handover"]
    assert "h.m.gtp4.d" in format_table(doc)


# -- no server needed -----------------------------------------------------------


def test_trial_result_uses_the_time_actually_taken():
    from mupvpp.bench.trex import trial_result

    # counters stopped within the sampling error of 1 s: the asked duration
    r = trial_result({"sent": 990, "received": 990, "tx_time_s": 1.03}, 1000, 1.0)
    assert r.duration_s == 1.0 and not r.saturated()
    # TRex stretched the run to 2 s: all packets sent, at half the rate
    r = trial_result({"sent": 1000, "received": 1000, "tx_time_s": 2.0}, 1000, 1.0)
    assert r.duration_s == 2.0 and r.tx_pps == 500 and r.saturated()
    assert r.loss == 0
    # the port silently sent less in the asked time: saturated, not loss
    r = trial_result({"sent": 600, "received": 600, "tx_time_s": 0.98}, 1000, 1.0)
    assert r.saturated() and r.loss == 0


def test_frame_size_and_line_rate():
    import base64

    from mupvpp.bench.trex import _frame_bytes, _line_rate_pps

    pkt = base64.b64encode(bytes(60)).decode()
    assert _frame_bytes([{"packet": {"binary": pkt}}]) == 64
    assert _line_rate_pps({"speed": 10}, 64) == pytest.approx(14_880_952, rel=1e-6)
    assert _line_rate_pps({"speed": None}, 64) is None


@needs_client
def test_worker_answers_and_rejects_unknown_ops():
    from mupvpp.bench.trex import TRexDriver

    with TRexDriver("127.0.0.1") as drv:
        assert drv.call("hello")["client_version"]
        with pytest.raises(BackendUnavailable, match="unknown op"):
            drv.call("frobnicate")
        with pytest.raises(BackendUnavailable, match="not connected"):
            drv.call("stats")
