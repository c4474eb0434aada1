"""Session install rate (`make bench-control`).

Type 1 sessions installed into an H.M.T1ST headend of the embedded engine:

* bulk: one C call for the whole batch (what `mupvpp session load` and a
  BGP feed hand to the engine): the data plane's own install rate;
* per call: one Python call per session through ``Engine.t1st_set``
  (addresses parsed, cffi crossing each time): the control-plane path.

    python -m mupvpp.bench.control [--n 1000000]
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
import time

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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Type 1 session installs per second")
    ap.add_argument("--n", type=int, default=1_000_000)
    a = ap.parse_args(argv)
    b = bulk(a.n)
    p = per_call(min(a.n, 200_000))
    print(f"{'path':<34} {'sessions/s':>14}")
    print(f"{'embedded, bulk (one C call)':<34} {b:>14,.0f}")
    print(f"{'embedded, one Python call each':<34} {p:>14,.0f}")
    print("live VPP through vpp-papi: needs a VPP (not measured here)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
