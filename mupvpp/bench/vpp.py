"""srv6_mup against upstream srv6-mobile in one VPP (`make bench-vpp`).

One VPP (mupvpp.vpplab: private sockets, pg0 -> VPP -> pg1, no DPDK) loads
both plugins.  Each behaviour is configured twice, through upstream's CLI
and through ours, on different prefixes; the same packet shape is built for
each side.  For each side a packet-generator stream replays one packet
`--packets` times in 256-packet frames (pg's VLIB_FRAME_SIZE; no rate, so
every pg-input call fills a frame), between `clear runtime` and
`show runtime`.  Reported per side:

* the behaviour node and its clocks per packet (`show runtime` Clocks);
* the path: every node that handled (nearly) every packet, pg-input to
  pg1-tx, the sum of their clocks per packet, and Mpps = TSC Hz / sum
  (`show cpu` Base frequency is VPP's TSC rate);
* how many packets left pg1 (a side that drops is flagged, its figures
  are not comparable).

    python -m mupvpp.bench.vpp --vpp-prefix /opt/vpp [--plugin-dir DIR]
        [--packets 2000000] [--main-core 1] [--only NAME] [--json OUT]

One main thread, no workers; the machine's other load shows up in the
clocks, so read ratios, and rerun before trusting small differences.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import re
import statistics
import struct
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from mupvpp.vpplab import DEFAULT_PLUGIN_DIR, Vpp, VppError, write_pcap

GTPU = 2152
PATH_SHARE = 0.9  # a node is on the path if it saw >= 90 % of the packets
RUN_TIMEOUT = 120.0

# ---------------------------------------------------------------- packets


def _csum(b: bytes) -> int:
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4(src: str, dst: str, proto: int, payload: bytes, ttl: int = 64) -> bytes:
    h = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        20 + len(payload),
        0,
        0,
        ttl,
        proto,
        0,
        ipaddress.IPv4Address(src).packed,
        ipaddress.IPv4Address(dst).packed,
    )
    return h[:10] + struct.pack("!H", _csum(h)) + h[12:] + payload


def ip6(src, dst, nh: int, payload: bytes, hlim: int = 64) -> bytes:
    return (
        struct.pack("!IHBB", 6 << 28, len(payload), nh, hlim)
        + ipaddress.IPv6Address(src).packed
        + ipaddress.IPv6Address(dst).packed
        + payload
    )


def udp(sport: int, dport: int, payload: bytes) -> bytes:
    # checksum 0: valid over IPv4; over IPv6 the GTP-U nodes do not check it
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def gtpu(teid: int, payload: bytes) -> bytes:
    """GTP-U G-PDU, no optional fields (TS 29.281 section 5.1)."""
    return struct.pack("!BBHI", 0x30, 0xFF, len(payload), teid) + payload


def srh(nh: int, segments: list[str], sl: int, payload: bytes) -> bytes:
    """RFC 8754 SRH; segments in SRH order (segments[0] = last segment)."""
    segs = b"".join(ipaddress.IPv6Address(s).packed for s in segments)
    h = struct.pack("!BBBBBBH", nh, 2 * len(segments), 4, sl, len(segments) - 1, 0, 0)
    return h + segs + payload


def inner4() -> bytes:
    return ip4("10.1.0.1", "10.2.0.1", 17, udp(1000, 2000, b"m" * 18))


def sid_with(prefix: str, plen: int, *fields: tuple[int, int]) -> str:
    """prefix/plen followed by (value, bits) fields, most significant first."""
    v = int(ipaddress.IPv6Address(prefix))
    off = plen
    for val, bits in fields:
        v |= val << (128 - off - bits)
        off += bits
    return str(ipaddress.IPv6Address(v))


def args_mob(qfi: int, teid: int) -> tuple[int, int]:
    """Args.Mob.Session (RFC 9433 section 6.1): QFI(6) R(1) U(1) TEID(32);
    srv6-mobile's layout is the same 40 bits."""
    return ((qfi << 2) << 32) | teid, 40


V4_GNB, V4_UPF, TEID = "192.0.2.10", "192.0.2.1", 0x64


def gtp4e_packet(locator: str, plen: int) -> bytes:
    """SRv6 toward an End.M.GTP4.E SID: DA = locator | IPv4 DA | args,
    SA carries the IPv4 SA at bits 64..96; inner IPv4, no SRH."""
    da = sid_with(
        locator, plen, (int(ipaddress.IPv4Address(V4_GNB)), 32), args_mob(0, TEID)
    )
    sa = sid_with("2001:db8:cc::", 64, (int(ipaddress.IPv4Address(V4_UPF)), 32))
    return ip6(sa, da, 4, inner4())


def gtp4d_packet(dst4: str) -> bytes:
    """GTP-U over IPv4 toward an H.M.GTP4.D / T.M.GTP4.D headend."""
    return ip4(V4_GNB, dst4, 17, udp(GTPU, GTPU, gtpu(TEID, inner4())))


def gtp6d_packet(sid: str) -> bytes:
    """GTP-U over IPv6 toward an End.M.GTP6.D(.Di) SID."""
    return ip6("2001:db8:9b::1", sid, 17, udp(GTPU, GTPU, gtpu(TEID, inner4())))


def gtp6e_packet(locator: str) -> bytes:
    """SRv6 toward an End.M.GTP6.E SID (/64 + args), SRH with Segments Left
    1 whose last segment is the gNB."""
    sid = sid_with(locator, 64, args_mob(0, TEID))
    return ip6("2001:db8:9c::1", sid, 43, srh(4, ["2001:db8:9b::1", sid], 1, inner4()))


# ---------------------------------------------------------------- scenarios


@dataclass
class Side:
    node: str
    cli: list[str]
    packet: bytes


@dataclass
class Scenario:
    name: str
    upstream: Side
    ours: Side


COMMON_UPSTREAM = ["set sr encaps source addr 2001:db8:a1::1"]


def scenarios() -> list[Scenario]:
    return [
        Scenario(
            "End.M.GTP4.E",
            Side(
                "srv6-end-m-gtp4-e",
                [
                    "sr localsid prefix 2001:db8:4e::/48 behavior end.m.gtp4.e "
                    "v4src_position 64 fib-table 0"
                ],
                gtp4e_packet("2001:db8:4e::", 48),
            ),
            Side(
                "srv6-mup-end-m-gtp4-e",
                [
                    "sr localsid prefix fc00:0:4e::/48 behavior mup.end.m.gtp4.e "
                    "source-len 64"
                ],
                gtp4e_packet("fc00:0:4e::", 48),
            ),
        ),
        Scenario(
            "H.M.GTP4.D 1 SID",
            Side(
                "srv6-t-m-gtp4-d",
                [
                    # drop-in: upstream encapsulates every G-PDU in SRv6;
                    # without it, it strips GTP-U and routes the inner packet
                    "sr policy add bsid 2001:db8:d6:: behavior t.m.gtp4.d d6::/32 "
                    "v6src_prefix 2001:db8:c1::/64 nhtype ipv4 fib-table 0 drop-in",
                    "sr steer l3 198.51.100.1/32 via bsid 2001:db8:d6::",
                ],
                gtp4d_packet("198.51.100.1"),
            ),
            Side(
                "srv6-mup-h-m-gtp4-d",
                [
                    "srv6-mup policy add match 192.0.2.100/32 behavior h.m.gtp4.d "
                    "source fc00:0:a4::/64 segment fc00:74::/32"
                ],
                gtp4d_packet("192.0.2.100"),
            ),
        ),
        Scenario(
            "H.M.GTP4.D 3 SIDs",
            Side(
                "srv6-t-m-gtp4-d",
                [
                    # upstream prepends the segment list of the policy whose
                    # BSID is the SR prefix: d2::, d3::, then the args SID
                    "sr policy add bsid d4:: next d2:: next d3::",
                    "sr policy add bsid 2001:db8:d5:: behavior t.m.gtp4.d d4::/32 "
                    "v6src_prefix 2001:db8:c1::/64 nhtype ipv4 fib-table 0 drop-in",
                    "sr steer l3 198.51.100.3/32 via bsid 2001:db8:d5::",
                ],
                gtp4d_packet("198.51.100.3"),
            ),
            Side(
                "srv6-mup-h-m-gtp4-d",
                [
                    "srv6-mup policy add match 192.0.2.103/32 behavior h.m.gtp4.d "
                    "source fc00:0:a4::/64 segment fc00:0:2::1 segment fc00:0:3::1 "
                    "segment fc00:74::/32"
                ],
                gtp4d_packet("192.0.2.103"),
            ),
        ),
        Scenario(
            "End.M.GTP6.D",
            Side(
                "srv6-end-m-gtp6-d",
                [
                    "sr localsid prefix 2001:db8:6d::/64 behavior end.m.gtp6.d "
                    "d7::/64 fib-table 0 drop-in"
                ],
                gtp6d_packet("2001:db8:6d::1"),
            ),
            Side(
                "srv6-mup-end-m-gtp6-d",
                [
                    "sr localsid prefix fc00:0:6d::/64 behavior mup.end.m.gtp6.d "
                    "source fc00:0:ff::1 segment fc00:0:7e::/64"
                ],
                gtp6d_packet("fc00:0:6d::1"),
            ),
        ),
        Scenario(
            "End.M.GTP6.D.Di",
            Side(
                "srv6-end-m-gtp6-d-di",
                [
                    "sr localsid prefix 2001:db8:6f::/64 behavior end.m.gtp6.d.di "
                    "d8::/64"
                ],
                gtp6d_packet("2001:db8:6f::1"),
            ),
            Side(
                "srv6-mup-end-m-gtp6-d",
                [
                    "sr localsid prefix fc00:0:6f::/64 behavior mup.end.m.gtp6.d.di "
                    "source fc00:0:ff::1 segment fc00:0:7e::/64"
                ],
                gtp6d_packet("fc00:0:6f::1"),
            ),
        ),
        Scenario(
            "End.M.GTP6.E",
            Side(
                "srv6-end-m-gtp6-e",
                [
                    "sr localsid prefix 2001:db8:6e::/64 behavior end.m.gtp6.e "
                    "fib-table 0"
                ],
                gtp6e_packet("2001:db8:6e::"),
            ),
            Side(
                "srv6-mup-end-m-gtp6-e",
                ["sr localsid prefix fc00:0:6e::/64 behavior mup.end.m.gtp6.e"],
                gtp6e_packet("fc00:0:6e::"),
            ),
        ),
    ]


# ---------------------------------------------------------------- running


@dataclass
class Result:
    node: str
    node_clocks: float | None
    path: dict[str, float] = field(default_factory=dict)
    sent: int = 0
    forwarded: int = 0
    out_len: float = 0.0  # mean frame length leaving pg1
    seconds: float = 0.0
    repeats: int = 1

    @property
    def path_clocks(self) -> float:
        return sum(self.path.values())

    def mpps(self, hz: float) -> float | None:
        return hz / self.path_clocks / 1e6 if self.path_clocks else None

    def as_dict(self, hz: float) -> dict:
        return {
            "node": self.node,
            "node_clocks_per_packet": self.node_clocks,
            "path": self.path,
            "path_clocks_per_packet": self.path_clocks,
            "path_mpps": self.mpps(hz),
            "sent": self.sent,
            "forwarded": self.forwarded,
            "frame_len_out": self.out_len,
            "wall_seconds": self.seconds,
            "repeats": self.repeats,
        }


_RUNTIME_ROW = re.compile(
    r"^(?P<name>\S+)\s+.*?\s(?P<calls>\d+)\s+(?P<vectors>\d+)\s+(?P<susp>\d+)\s+"
    r"(?P<clocks>[\d.]+e[+-]?\d+|[\d.]+)\s+(?P<vpc>[\d.]+)\s*$"
)


def parse_runtime(text: str) -> dict[str, tuple[int, float]]:
    """`show runtime` -> node -> (vectors, clocks per vector)."""
    out: dict[str, tuple[int, float]] = {}
    for line in text.splitlines():
        m = _RUNTIME_ROW.match(line.strip())
        if m and int(m["vectors"]) > 0:
            v, c = int(m["vectors"]), float(m["clocks"])
            if m["name"] in out:  # same node on several threads
                v0, c0 = out[m["name"]]
                c = (c0 * v0 + c * v) / (v0 + v)
                v += v0
            out[m["name"]] = (v, c)
    return out


def _tx(vpp: Vpp, ifname: str) -> tuple[int, int]:
    """(tx packets, tx bytes) of an interface since `clear interfaces`."""
    out = vpp.cli(f"show interface {ifname}")
    p = re.search(r"tx packets\s+(\d+)", out)
    b = re.search(r"tx bytes\s+(\d+)", out)
    return (int(p.group(1)) if p else 0, int(b.group(1)) if b else 0)


def run_once(vpp: Vpp, side: Side, n: int, tag: str) -> tuple[dict, int, int, float]:
    """One stream of n packets: (show runtime, tx packets, tx bytes, s)."""
    pcap = vpp.dir / f"{tag}.pcap"
    write_pcap(pcap, [vpp.frame(side.packet)])
    vpp.cli_ok(f"packet-generator new pcap {pcap} source pg0 name {tag} limit {n}")
    vpp.cli("clear interfaces")
    vpp.cli("clear errors")
    vpp.cli("clear runtime")
    t0 = time.monotonic()
    vpp.cli_ok(f"packet-generator enable-stream {tag}")
    deadline = t0 + RUN_TIMEOUT
    last, still = -1, 0
    while time.monotonic() < deadline:
        time.sleep(0.2)
        tx = _tx(vpp, "pg1")[0]
        if tx >= n:
            break
        # the stream stops by itself at its limit; dropped packets never
        # reach pg1, so stop waiting once nothing moves any more
        still = still + 1 if tx == last else 0
        if still >= 5:
            break
        last = tx
    seconds = time.monotonic() - t0
    runtime = parse_runtime(vpp.cli("show runtime"))
    tx, tx_bytes = _tx(vpp, "pg1")
    vpp.cli(f"packet-generator delete {tag}")
    pcap.unlink(missing_ok=True)
    return runtime, tx, tx_bytes, seconds


def run_side(vpp: Vpp, side: Side, n: int, tag: str, repeats: int) -> Result:
    """repeats runs; per node the median clocks per packet."""
    runs = [run_once(vpp, side, n, f"{tag}r{i}") for i in range(repeats)]
    on_path: dict[str, list[float]] = {}
    for runtime, *_ in runs:
        for name, (vectors, clocks) in runtime.items():
            if vectors >= PATH_SHARE * n:
                on_path.setdefault(name, []).append(clocks)
    path = {k: statistics.median(v) for k, v in on_path.items() if len(v) == repeats}
    tx = min(r[1] for r in runs)
    tx_bytes = runs[-1][2]
    return Result(
        node=side.node,
        node_clocks=path.get(side.node),
        path=path,
        sent=n,
        forwarded=tx,
        out_len=tx_bytes / runs[-1][1] if runs[-1][1] else 0.0,
        seconds=statistics.median(r[3] for r in runs),
        repeats=repeats,
    )


def tsc_hz(vpp: Vpp) -> float:
    m = re.search(r"Base frequency:\s+([\d.]+)\s*GHz", vpp.cli("show cpu"))
    return float(m.group(1)) * 1e9 if m else 2.6e9


def _fmt(x: float | None, spec: str = ".1f") -> str:
    return "-" if x is None else format(x, spec)


def table(rows: list[dict], hz: float) -> str:
    head = (
        "behaviour",
        "upstream node",
        "clk/pkt",
        "our node",
        "clk/pkt",
        "ratio",
        "up path clk",
        "up Mpps",
        "our path clk",
        "our Mpps",
    )
    lines = []
    for r in rows:
        u, o = r["upstream"], r["ours"]
        flag = ""
        for side, d in (("upstream", u), ("ours", o)):
            if d["forwarded"] < 0.99 * d["sent"]:
                flag += f" [{side}: {d['forwarded']}/{d['sent']} left pg1]"
        lines.append(
            (
                r["behavior"],
                u["node"],
                _fmt(u["node_clocks_per_packet"]),
                o["node"],
                _fmt(o["node_clocks_per_packet"]),
                _fmt(r["node_ratio"], ".2f"),
                _fmt(u["path_clocks_per_packet"]),
                _fmt(u["path_mpps"], ".2f"),
                _fmt(o["path_clocks_per_packet"]),
                _fmt(o["path_mpps"], ".2f") + flag,
            )
        )
    widths = [max(len(h), *(len(x[i]) for x in lines)) for i, h in enumerate(head)]
    fmt = " | ".join(
        f"{{:{'<' if i in (0, 1, 3) else '>'}{w}}}" for i, w in enumerate(widths)
    )
    out = [fmt.format(*head), "-+-".join("-" * w for w in widths)]
    out += [fmt.format(*x) for x in lines]
    out.append(
        f"clk = TSC clocks per packet ({hz / 1e9:.3f} GHz); ratio = ours / upstream "
        "(behaviour node); path = pg-input .. pg1-tx; Mpps = TSC Hz / path clocks"
    )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m mupvpp.bench.vpp", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--vpp-prefix", type=Path, required=True, help="VPP install prefix")
    ap.add_argument(
        "--plugin-dir",
        type=Path,
        default=DEFAULT_PLUGIN_DIR,
        help=f"directory with srv6_mup_plugin.so (default {DEFAULT_PLUGIN_DIR})",
    )
    ap.add_argument(
        "--packets", type=int, default=2_000_000, help="per side (default 2000000)"
    )
    ap.add_argument(
        "--main-core",
        type=int,
        default=(os.cpu_count() or 1) - 1,
        help="CPU for VPP's main thread (default: the last one)",
    )
    ap.add_argument(
        "--repeat", type=int, default=3, help="runs per side; medians (default 3)"
    )
    ap.add_argument(
        "--only", action="append", default=[], help="behaviour name (repeatable)"
    )
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args(argv)

    if not (args.vpp_prefix / "bin/vpp").exists():
        print(f"error: no bin/vpp under {args.vpp_prefix}", file=sys.stderr)
        return 2
    if not (args.plugin_dir / "srv6_mup_plugin.so").exists():
        print(
            f"error: no srv6_mup_plugin.so in {args.plugin_dir}: "
            "make plugin VPP_PREFIX=... or --plugin-dir",
            file=sys.stderr,
        )
        return 2
    todo = [s for s in scenarios() if not args.only or s.name in args.only]
    if not todo:
        print(f"error: no behaviour named {args.only}", file=sys.stderr)
        return 2

    try:
        vpp = Vpp(
            args.vpp_prefix,
            args.plugin_dir,
            main_core=args.main_core,
            buffers=32768,
        )
    except VppError as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    rows = []
    try:
        vpp.pg_setup()
        plugins = vpp.cli("show plugins")
        for need in ("srv6mobile_plugin.so", "srv6_mup_plugin.so"):
            if need not in plugins:
                raise VppError(f"{need} not loaded")
        version = vpp.cli("show version").strip()
        hz = tsc_hz(vpp)
        for c in COMMON_UPSTREAM:
            vpp.cli_ok(c)
        for s in todo:
            for c in s.upstream.cli + s.ours.cli:
                vpp.cli_ok(c)
        for i, s in enumerate(todo):
            up = run_side(vpp, s.upstream, args.packets, f"up{i}", args.repeat)
            ours = run_side(vpp, s.ours, args.packets, f"mup{i}", args.repeat)
            ratio = (
                ours.node_clocks / up.node_clocks
                if ours.node_clocks and up.node_clocks
                else None
            )
            rows.append(
                {
                    "behavior": s.name,
                    "upstream": up.as_dict(hz) | {"cli": s.upstream.cli},
                    "ours": ours.as_dict(hz) | {"cli": s.ours.cli},
                    "node_ratio": ratio,
                }
            )
            print(
                f"{s.name}: upstream {_fmt(up.node_clocks)} clk/pkt, "
                f"ours {_fmt(ours.node_clocks)} clk/pkt",
                file=sys.stderr,
            )
    except VppError as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    finally:
        vpp.stop()

    print(version)
    print(table(rows, hz))
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "vpp": version,
                    "tsc_hz": hz,
                    "packets_per_run": args.packets,
                    "repeats": args.repeat,
                    "main_core": args.main_core,
                    "frame_size": 256,
                    "rows": rows,
                },
                indent=2,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
