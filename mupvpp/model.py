"""The validated intent: plain, frozen data.

Only ``mupvpp.config`` builds these from YAML; the planner, the backends and
the CLI read them.  Addresses are ``ipaddress`` objects, prefixes are
``ipaddress.IPv4Network``/``IPv6Network``.  Behaviour ids match
``foreach_mup_behavior`` in ``vpp_plugins/srv6_mup/core/mup.h``.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from enum import IntEnum

IPv4Address = ipaddress.IPv4Address
IPv6Address = ipaddress.IPv6Address
IPv4Network = ipaddress.IPv4Network
IPv6Network = ipaddress.IPv6Network


class Behavior(IntEnum):
    """SRv6 MUP behaviours; values are the C core's mup_behavior_t."""

    END = 1
    END_DT4 = 2
    END_DT6 = 3
    END_DT46 = 4
    H_ENCAPS = 5
    H_M_GTP4_D = 6
    END_M_GTP4_E = 7
    END_M_GTP6_D = 8
    END_M_GTP6_D_DI = 9
    END_M_GTP6_E = 10
    END_MAP = 11
    END_LIMIT = 12
    GTP4_DT4 = 13
    GTP4_DT6 = 14
    GTP4_DT46 = 15
    GTP6_DT4 = 16
    GTP6_DT6 = 17
    GTP6_DT46 = 18
    H_T1ST = 19

    @property
    def key(self) -> str:
        """The name used in YAML and on the CLI (``end.m.gtp4.e``)."""
        return BEHAVIOR_KEYS[self]

    @property
    def rfc_name(self) -> str:
        return BEHAVIOR_RFC_NAMES[self]

    @classmethod
    def from_key(cls, key: str) -> Behavior:
        return _BY_KEY[key.lower()]


BEHAVIOR_KEYS = {
    Behavior.END: "end",
    Behavior.END_DT4: "end.dt4",
    Behavior.END_DT6: "end.dt6",
    Behavior.END_DT46: "end.dt46",
    Behavior.H_ENCAPS: "h.encaps",
    Behavior.H_M_GTP4_D: "h.m.gtp4.d",
    Behavior.END_M_GTP4_E: "end.m.gtp4.e",
    Behavior.END_M_GTP6_D: "end.m.gtp6.d",
    Behavior.END_M_GTP6_D_DI: "end.m.gtp6.d.di",
    Behavior.END_M_GTP6_E: "end.m.gtp6.e",
    Behavior.END_MAP: "end.map",
    Behavior.END_LIMIT: "end.limit",
    Behavior.GTP4_DT4: "gtp4.dt4",
    Behavior.GTP4_DT6: "gtp4.dt6",
    Behavior.GTP4_DT46: "gtp4.dt46",
    Behavior.GTP6_DT4: "gtp6.dt4",
    Behavior.GTP6_DT6: "gtp6.dt6",
    Behavior.GTP6_DT46: "gtp6.dt46",
    Behavior.H_T1ST: "h.t1st",
}
BEHAVIOR_RFC_NAMES = {
    Behavior.END: "End",
    Behavior.END_DT4: "End.DT4",
    Behavior.END_DT6: "End.DT6",
    Behavior.END_DT46: "End.DT46",
    Behavior.H_ENCAPS: "H.Encaps",
    Behavior.H_M_GTP4_D: "H.M.GTP4.D",
    Behavior.END_M_GTP4_E: "End.M.GTP4.E",
    Behavior.END_M_GTP6_D: "End.M.GTP6.D",
    Behavior.END_M_GTP6_D_DI: "End.M.GTP6.D.Di",
    Behavior.END_M_GTP6_E: "End.M.GTP6.E",
    Behavior.END_MAP: "End.MAP",
    Behavior.END_LIMIT: "End.Limit",
    Behavior.GTP4_DT4: "H.M.GTP4.DT4",
    Behavior.GTP4_DT6: "H.M.GTP4.DT6",
    Behavior.GTP4_DT46: "H.M.GTP4.DT46",
    Behavior.GTP6_DT4: "End.M.GTP6.DT4",
    Behavior.GTP6_DT6: "End.M.GTP6.DT6",
    Behavior.GTP6_DT46: "End.M.GTP6.DT46",
    Behavior.H_T1ST: "H.M.T1ST",
}
_BY_KEY = {v: k for k, v in BEHAVIOR_KEYS.items()}

# Behaviours matched on an IPv4 destination (headends) rather than a local SID.
HEADEND_V4 = frozenset(
    {
        Behavior.H_M_GTP4_D,
        Behavior.GTP4_DT4,
        Behavior.GTP4_DT6,
        Behavior.GTP4_DT46,
    }
)
# Behaviours that may match either family (steering prefixes).
HEADEND_ANY = frozenset({Behavior.H_ENCAPS, Behavior.H_T1ST})


class InnerType(IntEnum):
    """Inner packet type for the decapsulating (D) behaviours."""

    DETECT = 0
    IPV4 = 4
    IPV6 = 41


@dataclass(frozen=True)
class Compat:
    """How far to follow VPP srv6-mobile instead of RFC 9433.

    args: "rfc" writes Args.Mob.Session into the policy's last SID; "vpp"
    appends an extra segment built from ``dst_prefix`` (VPP's reading).
    u_bit: "rfc" sends U=0; "vpp" puts the PSC PDU type in the U bit.
    """

    args: str = "rfc"
    u_bit: str = "rfc"


@dataclass(frozen=True)
class Node:
    name: str = "mup"
    encap_source: IPv6Address | None = None
    compat: Compat = field(default_factory=Compat)
    udp4_checksum: bool = False  # UDP checksum over IPv4: computed or zero


@dataclass(frozen=True)
class Policy:
    """An SR policy: segment list, first segment first.

    The last segment is the one that receives Args.Mob.Session; for it,
    ``args_len`` is the number of leading bits kept (its prefix length),
    None where the policy carries no arguments.
    """

    name: str
    segments: tuple[IPv6Address, ...]
    args_len: int | None = None
    line: int = 0


@dataclass(frozen=True)
class Sid:
    """A local SID (localsid) or a headend (matched on a destination prefix).

    ``prefix`` is the SID prefix (locator + function) for endpoint
    behaviours, or the matched destination prefix for headends
    (H.M.GTP4.D matches the UPF N3 IPv4 address or prefix).
    """

    name: str
    behavior: Behavior
    prefix: IPv4Network | IPv6Network
    policy: str | None = None  # name of a Policy
    fib_table: int = 0  # table for the DT lookups / output
    source_prefix: IPv6Network | None = None  # H.M.GTP4.D: IPv6 SA prefix
    ipv4_source_len: int | None = None  # End.M.GTP4.E: IPv4 SA bit offset
    ipv4_source: IPv4Address | None = None  # End.M.GTP4.E: fixed IPv4 SA
    source: IPv6Address | None = None  # End.M.GTP6.E/D: IPv6 SA
    inner: InnerType = InnerType.DETECT
    pdu_type: int | None = None  # PSC PDU type to send; None: no PSC rule
    always_srh: bool = False
    maps: tuple[tuple[IPv6Address, IPv6Address], ...] = ()  # End.MAP
    limit_group_bits: int = 0  # End.Limit
    limit_rate_bits: int = 0
    limit_unit_pps: int = 1000
    line: int = 0


@dataclass(frozen=True)
class Type1Session:
    """MUP Type 1 Session Transformed (downlink, at the N6-side PE).

    UE prefix -> gNB endpoint, downlink TEID, QFI; used by the H.M.T1ST
    headend named in ``headend``.
    """

    ue_prefix: IPv4Network | IPv6Network
    gnb: IPv4Address | IPv6Address
    teid: int
    qfi: int = 0
    rqi: bool = False
    headend: str = ""
    line: int = 0

    @property
    def key(self) -> str:
        return str(self.ue_prefix)


@dataclass(frozen=True)
class Type2Session:
    """MUP Type 2 Session Transformed (uplink, at the interwork side).

    UPF N3 endpoint + uplink TEID -> direct segment (an End.DT4/DT6 SID).
    """

    n3: IPv4Address | IPv6Address
    teid: int
    segment: IPv6Address
    headend: str = ""
    line: int = 0

    @property
    def key(self) -> str:
        return f"{self.n3} teid {self.teid:#x}"


@dataclass(frozen=True)
class Intent:
    node: Node
    policies: tuple[Policy, ...] = ()
    sids: tuple[Sid, ...] = ()
    type1: tuple[Type1Session, ...] = ()
    type2: tuple[Type2Session, ...] = ()
    source: str = ""  # file name, for messages

    def policy(self, name: str) -> Policy:
        for p in self.policies:
            if p.name == name:
                return p
        raise KeyError(name)

    def sid(self, name: str) -> Sid:
        for s in self.sids:
            if s.name == name:
                return s
        raise KeyError(name)
