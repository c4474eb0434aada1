"""Cost of each behaviour of the C core alone (`make bench-core`).

Two figures per behaviour, over 256-packet vectors of the scenario's TRex
profile (the same packets as `mupvpp bench`):

* cycles per packet, from the TSC around the behaviour loop, warm cache,
  median of several runs (noisy machines: read it as an indication);
* instructions per packet under valgrind/callgrind, collected only inside
  the behaviour loop (repeatable: what the CI gate compares).

    python -m mupvpp.bench.core [--config examples/lab.yaml] [--json OUT]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CONFIG = ROOT / "examples" / "lab.yaml"
# The behaviours the speed goal names, then the others of the lab.
CORE_SCENARIOS = (
    "h.m.gtp4.d",
    "end.m.gtp4.e",
    "end.m.gtp6.d",
    "end.m.gtp6.d.di",
    "end.m.gtp6.e",
    "end",
    "end.dt4",
    "h.t1st",
)
VECTOR = 256


class Bench:
    """Engine + one 256-packet template vector per scenario."""

    def __init__(self, config: Path):
        from mupvpp.bench.run import Pump
        from mupvpp.bench.scenarios import SCENARIOS
        from mupvpp.config import load_intent
        from mupvpp.engine import HEADROOM, STRIDE, Engine, ffi, lib

        self.ffi, self.lib = ffi, lib
        self.intent = load_intent(config)
        self.engine = Engine()
        self.engine.load_intent(self.intent)
        self.cases = []
        by_name = {s.name: s for s in SCENARIOS}
        for name in CORE_SCENARIOS:
            s = by_name[name]
            if s.behavior not in {x.behavior.key for x in self.intent.sids}:
                continue
            pump = Pump(self.engine, s.path, s.tunables)
            tmpl = ffi.new("uint8_t[]", VECTOR * STRIDE)
            pk = ffi.new("mup_pkt_t[]", VECTOR)
            lib.mup_gen_fill(pump.gen, tmpl, STRIDE, HEADROOM, pk, VECTOR, 1)
            lens = ffi.new("uint16_t[]", [pk[i].len for i in range(VECTOR)])
            # which SID the packets reach: classify a copy once
            probe = self.engine.process_bytes(
                [bytes(ffi.buffer(pk[0].data, pk[0].len))]
            )[0]
            idx = self.engine.index.get(probe.sid, 0)
            self.cases.append((name, probe.sid, idx, tmpl, lens))
        self.buf = ffi.new("uint8_t[]", VECTOR * STRIDE)
        self.pkts = ffi.new("mup_pkt_t[]", VECTOR)

    def cycles(self, idx, tmpl, lens, rounds: int) -> int:
        from mupvpp.engine import HEADROOM, STRIDE

        return self.lib.mup_engine_bench_sid(
            self.engine.raw,
            idx,
            tmpl,
            lens,
            STRIDE,
            HEADROOM,
            self.buf,
            self.pkts,
            VECTOR,
            rounds,
            0,
        )

    def forwarded_all(self, idx) -> bool:
        return all(self.pkts[i].error == 0 for i in range(VECTOR))


def measure_cycles(config: Path, repeats: int = 7, rounds: int = 200) -> dict:
    b = Bench(config)
    out = {}
    for name, sid, idx, tmpl, lens in b.cases:
        b.cycles(idx, tmpl, lens, 20)  # warm
        runs = [
            b.cycles(idx, tmpl, lens, rounds) / (rounds * VECTOR)
            for _ in range(repeats)
        ]
        out[name] = {
            "sid": sid,
            "cycles_per_packet": round(statistics.median(runs), 1),
            "all_forwarded": b.forwarded_all(idx),
        }
    return out


def _child(config: Path, rounds: int) -> None:
    """Inside valgrind: one callgrind dump per behaviour."""
    b = Bench(config)
    for name, _sid, idx, tmpl, lens in b.cases:
        b.lib.mup_callgrind_dump(b"reset")
        b.cycles(idx, tmpl, lens, rounds)
        b.lib.mup_callgrind_dump(f"behavior={name}".encode())


def measure_instructions(config: Path, rounds: int = 4) -> dict:
    """Instructions per packet per behaviour, counted by callgrind."""
    from mupvpp.bench.scenarios import SCENARIOS
    from mupvpp.traffic.compile import compile_profile

    # compile (and cache) the profiles outside valgrind
    for s in SCENARIOS:
        if s.name in CORE_SCENARIOS:
            compile_profile(s.path, s.tunables)
    with tempfile.TemporaryDirectory() as d:
        cmd = [
            "valgrind",
            "--tool=callgrind",
            "--collect-atstart=no",
            f"--callgrind-out-file={d}/cg.out",
            sys.executable,
            "-m",
            "mupvpp.bench.core",
            "--callgrind-child",
            "--config",
            str(config),
            "--rounds",
            str(rounds),
        ]
        r = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
        if r.returncode != 0:
            raise RuntimeError(f"valgrind failed ({r.returncode}):\n{r.stderr[-2000:]}")
        out = {}
        for f in sorted(glob.glob(f"{d}/cg.out*")):
            text = Path(f).read_text(errors="replace")
            m = re.search(r"^desc: Trigger: Client Request: behavior=(\S+)", text, re.M)
            t = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
            if m and t:
                out[m.group(1)] = round(int(t.group(1)) / (rounds * VECTOR), 1)
        return out


# Upstream VPP srv6-mobile node clocks per packet on this machine's CPU
# (VPP v26.10-rc0, pg input, 256-packet vectors), from the project issue.
UPSTREAM_CLOCKS = {
    "h.m.gtp4.d": 70.1,
    "end.m.gtp4.e": 86.6,
    "end.m.gtp6.d": 79.4,
    "end.m.gtp6.d.di": 81.0,
    "end.m.gtp6.e": 66.4,
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--callgrind-child", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.callgrind_child:
        _child(a.config, a.rounds)
        return 0
    cyc = measure_cycles(a.config)
    ins = {} if a.no_callgrind else measure_instructions(a.config, a.rounds)
    print(
        f"{'behaviour':<16} {'SID':<12} {'cycles/pkt':>10} {'instr/pkt':>10} "
        f"{'VPP node clk*':>13} {'ratio':>6}"
    )
    for name, c in cyc.items():
        up = UPSTREAM_CLOCKS.get(name)
        ratio = f"{c['cycles_per_packet'] / up:.2f}" if up else "-"
        inst = f"{ins[name]:.1f}" if name in ins else "-"
        print(
            f"{name:<16} {c['sid']:<12} {c['cycles_per_packet']:>10.1f} "
            f"{inst:>10} {up or '-':>13} {ratio:>6}"
            + ("" if c["all_forwarded"] else "  (drops!)")
        )
    print(
        "* upstream srv6-mobile node clocks/packet quoted from the project issue "
        "(VPP v26.10-rc0 on this CPU, whole node incl. VPP buffer handling), "
        "not measured here; `make bench-vpp` measures both side by side."
    )
    if a.json:
        a.json.write_text(json.dumps({"cycles": cyc, "instructions": ins}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
