"""Which TRex profile exercises which behaviour of a configuration.

A scenario names a profile in ``trex_profiles/`` and its tunables; it runs
when the configuration has a SID of its behaviour.  The packets decide
which SID they reach (the engine's classifier), so a scenario reports by the
SID that actually handled the traffic.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
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

# The tunable of a built-in profile that says where its traffic goes, and
# what a SID of the scenario's behaviour gives it: "host" an address inside
# the SID/match prefix, "prefix" the prefix itself (a locator the profile
# puts arguments behind), "ue" the UE of a Type 1 session of the headend.
AIM = {
    "gtp4_uplink.py": ("dst", "host"),
    "gtp6_uplink.py": ("dst", "host"),
    "end_dt4.py": ("sid", "host"),
    "srv6_downlink_gtp4e.py": ("locator", "prefix"),
    "srv6_downlink_gtp6e.py": ("locator", "prefix"),
    "handover_downlink.py": ("ue", "ue"),
}


def unmeasured(keys) -> list[str]:
    """The behaviours among ``keys`` that no built-in scenario measures."""
    have = {s.behavior for s in SCENARIOS}
    return sorted(k for k in set(keys) if k not in have)


def _host(net) -> str:
    """An address inside net: the address of a host route, else network + 1."""
    if net.prefixlen == net.max_prefixlen:
        return str(net.network_address)
    return str(net.network_address + 1)


def aim(scenario: Scenario, intent) -> tuple[Scenario, str]:
    """(scenario, SID name): the scenario with its profile's destination
    tunable set to the first SID of its behaviour in ``intent``, so the
    profile's traffic (lab.yaml addresses by default) reaches that SID in
    any configuration (the lab.yaml values in SCENARIOS are replaced).
    Profiles without such a tunable are left as they are; whether the traffic arrives is
    checked when the scenario runs (see mupvpp.bench.run.Skipped)."""
    sids = [s for s in intent.sids if s.behavior.key == scenario.behavior]
    if not sids:
        return scenario, ""
    sid = sids[0]
    knob = AIM.get(Path(scenario.profile).name)
    if knob is None:
        return scenario, sid.name
    key, how = knob
    value = None
    if scenario.behavior == "end.map" and sid.maps:
        value = str(sid.maps[0][0])  # a mapped SID, or End.MAP drops it
    elif how == "prefix":
        value = str(sid.prefix)
    elif how == "ue":
        ues = [t.ue_prefix for t in intent.type1 if t.headend == sid.name]
        net = ues[0] if ues else sid.prefix
        if net.version == 4:  # handover_downlink.py sends IPv4 only
            value = str(net.network_address) if ues else _host(net)
    else:
        value = _host(sid.prefix)
    if value is None:
        return scenario, sid.name
    return replace(scenario, tunables={**scenario.tunables, key: value}), sid.name
