"""`mupvpp replay`: push a capture through the configured data plane."""

from __future__ import annotations

import json
from collections import Counter

import click

from mupvpp.errors import InputError


def replay(config: str, inp: str, out: str):
    """Run every packet of ``inp`` through an engine configured from
    ``config``; write forwarded packets to ``out`` in order.  Returns a
    summary dict (JSON-ready)."""
    from mupvpp.config import load_intent
    from mupvpp.engine import Engine
    from mupvpp.pcap import (
        LINKTYPE_IPV4,
        LINKTYPE_IPV6,
        LINKTYPE_RAW,
        read_pcap,
        write_pcap,
    )

    intent = load_intent(config)
    linktype, records = read_pcap(inp)
    eng = Engine()
    eng.load_intent(intent)
    # the capture's clock drives the data plane's (End.Limit token buckets)
    t0 = records[0].ts_sec * 10**9 + records[0].ts_frac * 1000 if records else 0
    times = [max(0, r.ts_sec * 10**9 + r.ts_frac * 1000 - t0) for r in records]
    good = [i for i, r in enumerate(records) if not r.undecodable]
    done = eng.process_bytes(
        [records[i].ip for i in good], now_ns=[times[i] for i in good]
    )
    results = [None] * len(records)
    for i, res in zip(good, done, strict=True):
        results[i] = res
    fwd = [
        (rec, res.data)
        for rec, res in zip(records, results, strict=True)
        if res is not None and res.next != "drop"
    ]
    out_linktype = linktype
    if linktype in (LINKTYPE_IPV4, LINKTYPE_IPV6) and any(
        (d[0] >> 4) != (4 if linktype == LINKTYPE_IPV4 else 6) for _, d in fwd
    ):
        out_linktype = LINKTYPE_RAW  # one family per 228/229 file: use raw IP
    write_pcap(out, out_linktype, fwd)
    drops = Counter((r.sid or "(no sid)", r.error) for r in done if r.next == "drop")
    undecodable = [
        {"index": i + 1, "reason": r.undecodable}
        for i, r in enumerate(records)
        if r.undecodable
    ]
    packets = [
        {"index": i + 1, "sid": r.sid, "result": r.error, "next": r.next}
        if r is not None
        else {"index": i + 1, "sid": "", "result": "undecodable", "next": "drop"}
        for i, r in enumerate(results)
    ]
    return {
        "input": inp,
        "output": out,
        "linktype_in": linktype,
        "linktype_out": out_linktype,
        "packets_in": len(records),
        "packets_out": len(fwd),
        "dropped": sum(drops.values()) + len(undecodable),
        "drops": [{"sid": s, "reason": e, "packets": n} for (s, e), n in drops.items()],
        "undecodable": undecodable,
        "counters": {k: v for k, v in eng.counters().items() if len(v) > 1},
        "intent": intent,
        "packets": packets,
    }


def format_summary(s: dict) -> str:
    lines = [
        f"{s['packets_in']} packets in, {s['packets_out']} out "
        f"({s['output']}), {s['dropped']} dropped",
    ]
    if s["linktype_out"] != s["linktype_in"]:
        lines.append(
            f"note: link type {s['linktype_in']} holds one IP family; the output "
            f"is raw IP (link type {s['linktype_out']})"
        )
    bad = s.get("undecodable") or []
    if bad:
        first = ", ".join(f"record {u['index']}: {u['reason']}" for u in bad[:3])
        lines.append(
            f"undecodable frames (dropped, not run): {len(bad)} ({first}"
            + (", ..." if len(bad) > 3 else "")
            + ")"
        )
    lines += [
        "",
        f"{'SID':<16} {'result':<24} {'packets':>8}",
    ]
    for sid, c in s["counters"].items():
        for reason, n in sorted(c.items()):
            if reason != "bytes":
                lines.append(f"{sid:<16} {reason:<24} {n:>8}")
    return "\n".join(lines)


@click.command("replay")
@click.argument("config", type=click.Path(dir_okay=False))
@click.argument("pcap_in", metavar="IN.pcap", type=click.Path(dir_okay=False))
@click.option(
    "-o",
    "--output",
    "pcap_out",
    metavar="OUT.pcap",
    required=True,
    type=click.Path(dir_okay=False),
    help="Where forwarded packets are written (same link type, same order).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def command(config, pcap_in, pcap_out, as_json):
    """Push every packet of IN.pcap through the data plane CONFIG describes.

    Runs on the embedded engine (the same C core as the VPP plugin).
    Forwarded packets go to OUT.pcap with the input's link type and
    timestamps; drops are counted by SID and reason.  The capture's
    timestamps are the data plane's clock (End.Limit rates).  Link types:
    Ethernet (an 802.1Q tag is kept), raw IP (101), IPv4 (228) and IPv6
    (229); as 228/229 hold one family, their output is raw IP when the
    family changes.  Packets up to 64 KiB less 256 bytes; a bigger one is
    dropped as too_big, an Ethernet frame too short for its header is
    counted as undecodable; the others still run.

    \b
    Example:
      mupvpp replay examples/lab.yaml examples/lab-mixed.pcap -o /tmp/out.pcap
    """
    root = click.get_current_context().find_root().obj
    if getattr(root, "vpp", None):
        from mupvpp.errors import BackendUnsupported

        raise BackendUnsupported(
            "replay runs on the embedded engine (the same C core as the "
            "srv6_mup plugin); drop --vpp, or capture on the VPP with `pcap trace`"
        )
    from mupvpp.paths import check_file

    check_file(pcap_out, "'-o' / '--output'")
    try:
        s = replay(config, pcap_in, pcap_out)
    except ValueError as exc:  # packet too big for a buffer
        raise InputError(str(exc)) from exc
    _save_counters(s.pop("intent"), s["counters"])
    if as_json:
        click.echo(json.dumps(s, indent=2))
    else:
        click.echo(format_summary(s))


def _save_counters(intent, counters: dict) -> None:
    """Keep the run's counters in the embedded state file, when the intent
    applied there is the one just replayed (for `mupvpp show counters`)."""
    from pathlib import Path

    from mupvpp.backends.embedded import EmbeddedBackend
    from mupvpp.plan import plan

    obj = click.get_current_context().find_root().obj
    state = getattr(obj, "state", None)
    if not state or not Path(state).exists():
        return
    be = EmbeddedBackend(state)
    current = be.read_state()
    if current is not None and not plan(intent, current):
        be.save_counters(counters)
