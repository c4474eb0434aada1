"""Traffic: TRex STL profiles -> TRex stream JSON -> embedded generator plan.

- :mod:`mupvpp.traffic.compile` runs the official TRex client (in its own
  venv, ``.venv-trex``) to turn a profile into TRex stream JSON, cached.
- :mod:`mupvpp.traffic.streams` turns that JSON into templates and
  field-engine programs for the C generator (``mupvpp/engine/gen.c``).

The same JSON is what a live TRex server's ``add_streams`` takes.
"""

from mupvpp.traffic.compile import compile_profile, roundtrip
from mupvpp.traffic.streams import StreamPlan, parse_streams, weights

__all__ = ["StreamPlan", "compile_profile", "parse_streams", "roundtrip", "weights"]
