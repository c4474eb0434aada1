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
    from mupvpp.pcap import read_pcap, write_pcap

    intent = load_intent(config)
    linktype, records = read_pcap(inp)
    eng = Engine()
    eng.load_intent(intent)
    results = eng.process_bytes([r.ip for r in records])
    fwd = [
        (rec, res.data)
        for rec, res in zip(records, results, strict=True)
        if res.next != "drop"
    ]
    write_pcap(out, linktype, fwd)
    drops = Counter((r.sid or "(no sid)", r.error) for r in results if r.next == "drop")
    packets = [
        {"index": i + 1, "sid": r.sid, "result": r.error, "next": r.next}
        for i, r in enumerate(results)
    ]
    return {
        "input": inp,
        "output": out,
        "packets_in": len(records),
        "packets_out": len(fwd),
        "dropped": sum(drops.values()),
        "drops": [{"sid": s, "reason": e, "packets": n} for (s, e), n in drops.items()],
        "counters": {k: v for k, v in eng.counters().items() if len(v) > 1},
        "packets": packets,
    }


def format_summary(s: dict) -> str:
    lines = [
        f"{s['packets_in']} packets in, {s['packets_out']} out "
        f"({s['output']}), {s['dropped']} dropped",
        "",
        f"{'SID':<16} {'result':<24} {'packets':>8}",
    ]
    for sid, c in s["counters"].items():
        for reason, n in sorted(c.items()):
            if reason != "bytes":
                lines.append(f"{sid:<16} {reason:<24} {n:>8}")
    return "\n".join(lines)


@click.command("replay")
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
@click.argument(
    "pcap_in", metavar="IN.pcap", type=click.Path(exists=True, dir_okay=False)
)
@click.option(
    "-o",
    "--output",
    "pcap_out",
    metavar="OUT.pcap",
    required=True,
    type=click.Path(dir_okay=False, writable=True),
    help="Where forwarded packets are written (same link type, same order).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def command(config, pcap_in, pcap_out, as_json):
    """Push every packet of IN.pcap through the data plane CONFIG describes.

    Runs on the embedded engine (the same C core as the VPP plugin).
    Forwarded packets go to OUT.pcap with the input's link type and
    timestamps; drops are counted by SID and reason.  Link types: Ethernet,
    raw IP (101), IPv4 (228), IPv6 (229); packets start at their IP header.

    \b
    Example:
      mupvpp replay examples/lab.yaml examples/uplink.pcap -o /tmp/out.pcap
    """
    root = click.get_current_context().find_root().obj
    if getattr(root, "vpp", None):
        from mupvpp.errors import BackendUnsupported

        raise BackendUnsupported(
            "replay runs on the embedded engine (the same C core as the "
            "srv6_mup plugin); drop --vpp, or capture on the VPP with `pcap trace`"
        )
    try:
        s = replay(config, pcap_in, pcap_out)
    except ValueError as exc:  # packet too big for a buffer
        raise InputError(str(exc)) from exc
    _save_counters(s["counters"])
    if as_json:
        click.echo(json.dumps(s, indent=2))
    else:
        click.echo(format_summary(s))


def _save_counters(counters: dict) -> None:
    """Keep the run's counters in the embedded state file, when there is
    one, for `mupvpp show counters`."""
    from pathlib import Path

    from mupvpp.backends.embedded import EmbeddedBackend

    obj = click.get_current_context().find_root().obj
    state = getattr(obj, "state", None)
    if state and Path(state).exists():
        EmbeddedBackend(state).save_counters(counters)
