"""Performance-regression gate: instructions per packet per behaviour.

Instruction counts come from valgrind/callgrind, collected only inside the
behaviour loop of the C core (mupvpp.bench.core), so they repeat exactly on
a noisy machine.  The gate fails when any behaviour costs more than
``margin`` (default 3%) over ci/baseline.json, or when a behaviour of the
baseline is missing.

    python -m ci.gate            # check (exit 1 on regression)
    python -m ci.gate --update   # measure and write the baseline on purpose
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mupvpp.bench.core import DEFAULT_CONFIG, measure_instructions

BASELINE = Path(__file__).resolve().parent / "baseline.json"


def compare(baseline: dict, measured: dict, margin: float) -> tuple[list, bool]:
    """Rows (behaviour, base, now, change) and whether the gate passes."""
    rows, ok = [], True
    for name in sorted(set(baseline) | set(measured)):
        b, m = baseline.get(name), measured.get(name)
        if b is None:
            rows.append((name, None, m, "new (not in baseline)"))
            continue
        if m is None:
            rows.append((name, b, None, "MISSING"))
            ok = False
            continue
        change = (m - b) / b if b else 0.0
        verdict = f"{change:+.1%}"
        if change > margin:
            verdict += f"  REGRESSION (> {margin:.0%})"
            ok = False
        rows.append((name, b, m, verdict))
    return rows, ok


def format_rows(rows) -> str:
    out = [f"{'behaviour':<18} {'baseline':>10} {'now':>10}  change", "-" * 56]
    for name, b, m, v in rows:
        bs = f"{b:.1f}" if b is not None else "-"
        ms = f"{m:.1f}" if m is not None else "-"
        out.append(f"{name:<18} {bs:>10} {ms:>10}  {v}")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="instructions/packet regression gate")
    ap.add_argument("--update", action="store_true", help="rewrite the baseline")
    ap.add_argument("--margin", type=float, default=0.03)
    ap.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    a = ap.parse_args(argv)
    measured = measure_instructions(a.config)
    if not measured:
        print("ci.gate: callgrind produced no measurement", file=sys.stderr)
        return 2
    if a.update:
        BASELINE.write_text(
            json.dumps(
                {"unit": "instructions per packet (callgrind)", "behaviors": measured},
                indent=2,
                sort_keys=True,
            )
            + "\n"
        )
        print(format_rows(compare(measured, measured, a.margin)[0]))
        print(f"baseline written: {BASELINE}")
        return 0
    base = json.loads(BASELINE.read_text())["behaviors"]
    rows, ok = compare(base, measured, a.margin)
    print("instructions per packet, callgrind, 256-packet vectors")
    print(format_rows(rows))
    failed = sum(1 for r in rows if "REGRESSION" in r[3] or r[3] == "MISSING")
    print(f"gate: {len(rows) - failed} passed, {failed} failed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
