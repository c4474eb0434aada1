"""Which TRex profile exercises which behaviour of a configuration.

A scenario names a profile in ``trex_profiles/`` and its tunables; it runs
when the configuration has a SID of its behaviour.  The packets decide
which SID they reach (the engine's classifier), so a scenario reports by the
SID that actually handled the traffic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

PROFILE_DIR = Path(__file__).resolve().parents[2] / "trex_profiles"


@dataclass(frozen=True)
class Scenario:
    name: str
    behavior: str  # YAML key of the behaviour it measures
    profile: str  # file in trex_profiles/
    tunables: dict = field(default_factory=dict)

    @property
    def path(self) -> Path:
        p = Path(self.profile)
        return p if p.is_absolute() or p.exists() else PROFILE_DIR / p


SCENARIOS = (
    Scenario("h.m.gtp4.d", "h.m.gtp4.d", "gtp4_uplink.py"),
    Scenario("end.m.gtp4.e", "end.m.gtp4.e", "srv6_downlink_gtp4e.py"),
    Scenario("end.m.gtp6.d", "end.m.gtp6.d", "gtp6_uplink.py"),
    Scenario(
        "end.m.gtp6.d.di", "end.m.gtp6.d.di", "gtp6_uplink.py", {"dst": "fc00:0:6f::1"}
    ),
    Scenario("end.m.gtp6.e", "end.m.gtp6.e", "srv6_downlink_gtp6e.py"),
    Scenario("end", "end", "srv6_end.py"),
    Scenario("end.dt4", "end.dt4", "end_dt4.py"),
    Scenario("h.t1st", "h.t1st", "handover_downlink.py", {"n_ue": 2}),
    Scenario("end.map", "end.map", "end_dt4.py", {"sid": "fc00:0:3a::1"}),
    Scenario("gtp4.dt4", "gtp4.dt4", "gtp4_uplink.py", {"dst": "192.0.2.200"}),
    Scenario("imix h.m.gtp4.d", "h.m.gtp4.d", "imix_gtp4.py"),
    Scenario("gtp control mix", "h.m.gtp4.d", "gtp_control_mix.py"),
)
