"""Session install rate (`make bench-control`).

Type 1 sessions installed into an H.M.T1ST headend of the embedded engine:

* bulk: one C call for the whole batch (what `mupvpp session load` and a
  BGP feed hand to the engine): the data plane's own install rate;
* per call: one Python call per session through ``Engine.t1st_set``
  (addresses parsed, cffi crossing each time): the control-plane path;
* live VPP (with ``--vpp-prefix`` or ``MUPVPP_VPP_PREFIX``): a private VPP
  with the srv6_mup plugin is started, and sessions are installed through
  vpp-papi's socket connection, pipelined (``mupvpp.backends.pipe``: every
  reply read and checked) and one blocking call at a time.

    python -m mupvpp.bench.control [--n 1000000] [--vpp-prefix /opt/vpp]
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
import time
from pathlib import Path

from mupvpp.config import load_intent_text
from mupvpp.engine import Engine, ffi, lib

INTENT = """
node: {name: bench, encap_source: "fc00:0:ff::1"}
policies:
  - {name: p, segments: ["fc00:0:2::1", "fc00:0:4e::/48"]}
sids:
  - {name: he, behavior: h.t1st, match: 10.0.0.0/8, policy: p}
"""


def bulk(n: int) -> float:
    eng = Engine()
    eng.load_intent(load_intent_text(INTENT, "<bench>"))
    keys = ffi.new("uint8_t[]", 16 * n)
    vals = ffi.new("mup_t1st_t[]", n)
    base = int(ipaddress.IPv4Address("10.0.0.0"))
    kb = ffi.buffer(keys)
    for i in range(n):
        kb[16 * i : 16 * i + 4] = (base + i).to_bytes(4, "big")
        v = vals[i]
        v.gnb[0], v.gnb[1], v.gnb[2], v.gnb[3] = 192, 0, 2, 10
        v.teid = i + 1
        v.qfi = 9
    t = time.perf_counter()
    done = lib.mup_engine_t1st_bulk(eng.raw, eng.index["he"], keys, vals, n, 4)
    dt = time.perf_counter() - t
    assert done == n and eng.t1st_count("he") == n
    return n / dt


def per_call(n: int) -> float:
    eng = Engine()
    eng.load_intent(load_intent_text(INTENT, "<bench>"))
    base = ipaddress.IPv4Address("10.0.0.0")
    ues = [f"{base + i}/32" for i in range(n)]
    t = time.perf_counter()
    for i, ue in enumerate(ues):
        eng.t1st_set("he", ue, "192.0.2.10", i + 1, 9)
    dt = time.perf_counter() - t
    assert eng.t1st_count("he") == n
    return n / dt


def vpp_rates(prefix: Path, plugin_dir: Path, n: int, window: int) -> dict:
    """Type 1 installs into a live VPP running the srv6_mup plugin.

    * pipelined: ``mupvpp.backends.pipe.write_type1``, what ``mupvpp
      session load`` and ``apply`` use for runs of Type 1 sessions: up to
      ``window`` requests in flight, every reply read and its retval
      checked; timed from the first request to the last reply;
    * one by one: the ordinary blocking vpp_papi call.
    """
    from vpp_papi import VPPApiClient

    from mupvpp.backends.pipe import write_type1
    from mupvpp.model import Type1Session
    from mupvpp.vpplab import Vpp, api_files

    base = int(ipaddress.IPv4Address("10.0.0.0"))
    gnb = ipaddress.IPv4Address("192.0.2.10")
    out: dict = {}
    with Vpp(prefix, plugin_dir, sessions=1 << 21) as v:
        v.cli_ok(
            "srv6-mup policy add match 10.0.0.0/8 behavior h.t1st "
            "source fc00:0:ff::1 segment fc00:0:4e::/48"
        )
        sessions = [
            Type1Session(ipaddress.IPv4Network(base + i), gnb, i + 1, 9, headend="he")
            for i in range(n)
        ]
        c = VPPApiClient(
            apifiles=api_files(prefix, plugin_dir), server_address=str(v.api_sock)
        )
        c.connect("bench-pipe")
        try:
            t = time.perf_counter()
            rv = write_type1(c, sessions, window=window)
            out["pipelined"] = n / (time.perf_counter() - t)
        finally:
            c.disconnect()
        refused = [r for r in rv if r != 0]
        if refused:
            raise RuntimeError(f"{len(refused)} installs refused (retval {refused[0]})")

        api = v.connect_api("bench-sync")
        m = min(n, 20_000)
        t = time.perf_counter()
        for i in range(m):
            r = api.srv6_mup_session_add_del(
                is_add=True,
                ue=f"{ipaddress.IPv4Address(base + n + i)}/32",
                gnb="192.0.2.11",
                teid=i + 1,
                qfi=9,
            )
            if r.retval != 0:
                raise RuntimeError(f"install refused (retval {r.retval})")
        out["one_by_one"] = m / (time.perf_counter() - t)
        shown = v.cli("show srv6-mup sessions max 1")
        out["vpp_sessions_line"] = shown.strip().splitlines()[0] if shown else ""
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Type 1 session installs per second")
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument(
        "--vpp-prefix",
        type=Path,
        default=os.environ.get("MUPVPP_VPP_PREFIX"),
        help="VPP install prefix: also measure through vpp-papi "
        "(default $MUPVPP_VPP_PREFIX)",
    )
    ap.add_argument(
        "--plugin-dir",
        type=Path,
        default=os.environ.get("MUPVPP_PLUGIN_DIR"),
        help="where srv6_mup_plugin.so is (default build/plugin/lib/vpp_plugins)",
    )
    ap.add_argument("--vpp-n", type=int, default=200_000)
    ap.add_argument("--window", type=int, default=256, help="requests in flight")
    a = ap.parse_args(argv)
    b = bulk(a.n)
    p = per_call(min(a.n, 200_000))
    print(f"{'path':<34} {'sessions/s':>14}")
    print(f"{'embedded, bulk (one C call)':<34} {b:>14,.0f}")
    print(f"{'embedded, one Python call each':<34} {p:>14,.0f}")
    if a.vpp_prefix is None:
        print("live VPP through vpp-papi: not measured (no --vpp-prefix)")
        return 0
    from mupvpp.vpplab import DEFAULT_PLUGIN_DIR

    plugin_dir = a.plugin_dir or DEFAULT_PLUGIN_DIR
    if not (plugin_dir / "srv6_mup_plugin.so").exists():
        print(f"error: no srv6_mup_plugin.so in {plugin_dir}", file=sys.stderr)
        return 2
    v = vpp_rates(a.vpp_prefix, plugin_dir, a.vpp_n, a.window)
    print(f"{f'VPP papi, pipelined ({a.window} ahead)':<34} {v['pipelined']:>14,.0f}")
    print(f"{'VPP papi, one blocking call each':<34} {v['one_by_one']:>14,.0f}")
    print(f"  ({v['vpp_sessions_line']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
