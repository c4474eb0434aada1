"""The embedded handover measurement (mupvpp bench): make-before-break
session swaps under a constant downlink, counted per path, with an End
Marker per moved session.  Figures (Mpps) are not asserted: packet counts
and their bookkeeping are."""

from __future__ import annotations

from pathlib import Path

from mupvpp.bench import report
from mupvpp.bench.run import handover
from mupvpp.bench.scenarios import PROFILE_DIR
from mupvpp.config import load_intent_text
from mupvpp.engine import Engine

LAB = (Path(__file__).resolve().parents[1] / "examples" / "lab.yaml").read_text()


def run(text: str = LAB, n_ue: int = 64):
    intent = load_intent_text(text, "lab.yaml")
    eng = Engine()
    eng.load_intent(intent)
    return handover(
        eng, intent, PROFILE_DIR / "handover_downlink.py", n_ue=n_ue, duration_s=0.4
    )


def test_handover_loses_nothing_and_sends_one_end_marker_per_ue():
    h = run()
    assert h.sent > 0 and h.lost == 0 and h.other == 0
    assert h.via_old + h.via_new == h.sent
    assert h.via_old > 0 and h.via_new > 0
    assert (h.end_markers, h.end_markers_not_sent) == (64, 0)
    assert sum(s[1] + s[2] for s in h.series) == h.sent
    text = report.handover_text(h)
    assert "lost 0 " in text and "End Markers toward the old gNB 64" in text


def test_handover_without_srh_counts_end_markers_not_sent():
    """A one-segment policy pushes no SRH: no SRH tag to carry the End
    Marker, so none is sent and each refusal is counted."""
    text = LAB.replace(
        'segments: ["fc00:0:2::1", "fc00:0:4e::/48"]', 'segments: ["fc00:0:4e::/48"]'
    )
    h = run(text, n_ue=8)
    assert h.lost == 0
    assert (h.end_markers, h.end_markers_not_sent) == (0, 8)
    assert "(8 not sent)" in report.handover_text(h)
