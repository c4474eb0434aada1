"""Bench results: terminal table, JSON document, PNG plots."""

from __future__ import annotations

import json
import platform
from dataclasses import asdict
from pathlib import Path


def skip(scenario, reason: str) -> dict:
    """A scenario that was not measured, for table() and the JSON."""
    return {
        "scenario": scenario.name,
        "profile": str(scenario.profile),
        "behavior": scenario.behavior,
        "tunables": dict(scenario.tunables),
        "reason": reason,
    }


def table(rows, skipped=(), no_scenario=()) -> str:
    head = (
        f"{'scenario':<18} {'SID':<12} {'frame':>5} {'cyc/pkt':>8} "
        f"{'Mpps core':>9} {'Mpps wall':>9} {'fwd %':>6}  drops"
    )
    out = [head, "-" * len(head)]
    for r in rows:
        pct = 100.0 * r.forwarded / r.packets if r.packets else 0.0
        drops = ", ".join(f"{k}={v}" for k, v in sorted(r.drops.items())) or "-"
        out.append(
            f"{r.scenario:<18} {r.sid:<12} {r.frame_bytes:>5} "
            f"{r.cycles_per_packet:>8.1f} {r.mpps_core:>9.2f} {r.mpps_wall:>9.2f} "
            f"{pct:>6.1f}  {drops}"
        )
    for s in skipped:
        out.append(f"{s['scenario']:<18} skipped: {s['reason']}")
    if no_scenario:
        out.append(
            "no scenario measures "
            + ", ".join(no_scenario)
            + " (use --profile with a profile of your own)"
        )
    return "\n".join(out)


def handover_text(h) -> str:
    return (
        f"handover on {h.headend}: {h.ues} UEs moved to a new gNB at "
        f"t={h.handover_at_s}s (swap took {h.handover_took_ms} ms) under "
        f"{h.offered_mpps} Mpps: sent {h.sent}, via old gNB {h.via_old}, "
        f"via new gNB {h.via_new}, other {h.other}, lost {h.lost} "
        f"(convergence {h.convergence_ms} ms)"
        + (
            f"; End Markers toward the old gNB {h.end_markers}"
            + (
                f" ({h.end_markers_not_sent} not sent)"
                if h.end_markers_not_sent
                else ""
            )
            if hasattr(h, "end_markers")
            else ""
        )
    )


def document(
    config: str, hz: float, rows, ho, skipped=(), no_scenario=(), ho_note=""
) -> dict:
    return {
        "config": config,
        "engine": "embedded",
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "tsc_hz": round(hz),
            "python": platform.python_version(),
        },
        "throughput": [asdict(r) for r in rows],
        "skipped": list(skipped),
        "no_scenario": list(no_scenario),
        "handover": asdict(ho) if ho else None,
        "handover_note": "" if ho else ho_note,
    }


PLOTS = ("throughput.png", "handover.png")


def save(out_dir: Path, doc: dict) -> tuple[list[Path], list[Path]]:
    """Write bench.json and the plots; (written, removed): a plot this run
    has no data for is removed, so out_dir never shows an earlier run's."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    p = out_dir / "bench.json"
    p.write_text(json.dumps(doc, indent=2))
    written.append(p)
    written += plots(out_dir, doc)
    removed = []
    for name in PLOTS:
        stale = out_dir / name
        if stale not in written and stale.exists():
            stale.unlink()
            removed.append(stale)
    return written, removed


def plots(out_dir: Path, doc: dict) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    rows = doc["throughput"]
    if rows:
        fig, ax = plt.subplots(figsize=(9, 4.5))
        names = [f"{r['scenario']}\n{r['frame_bytes']} B" for r in rows]
        ax.bar(names, [r["mpps_core"] for r in rows], color="#3572a5", label="core")
        ax.bar(
            names,
            [r["mpps_wall"] for r in rows],
            color="#e8a33d",
            label="with generator",
        )
        ax.set_ylabel("Mpps (one core)")
        ax.set_title("mupvpp embedded engine: throughput per behaviour")
        ax.legend()
        plt.setp(ax.get_xticklabels(), rotation=30, ha="right", fontsize=8)
        fig.tight_layout()
        p = out_dir / "throughput.png"
        fig.savefig(p, dpi=110)
        plt.close(fig)
        written.append(p)
    ho = doc.get("handover")
    if ho and ho["series"]:
        t = [s[0] for s in ho["series"]]
        fig, ax = plt.subplots(figsize=(9, 4))
        ax.plot(t, [s[1] for s in ho["series"]], label="via old gNB", lw=1)
        ax.plot(t, [s[2] for s in ho["series"]], label="via new gNB", lw=1)
        ax.plot(t, [s[3] for s in ho["series"]], label="lost", lw=1, color="red")
        ax.axvline(ho["handover_at_s"], ls="--", color="grey", label="handover")
        ax.set_xlabel("time (s)")
        ax.set_ylabel("packets per slice")
        ax.set_title(
            f"Type 1 session handover, {ho['ues']} UEs, {ho['offered_mpps']} Mpps: "
            f"{ho['lost']} lost"
        )
        ax.legend()
        fig.tight_layout()
        p = out_dir / "handover.png"
        fig.savefig(p, dpi=110)
        plt.close(fig)
        written.append(p)
    return written
