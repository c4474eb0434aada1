"""Semantic checks over a schema-checked :class:`~mupvpp.model.Intent`.

The per-behaviour field table (:data:`BEHAVIOR_FIELDS`) is the one place that
says which keys a behaviour requires or accepts, in the manner of the action
table of Linux ``net/ipv6/seg6_local.c``.  :func:`check_intent` checks
references, the RFC 9433 bit layouts, overlaps and sessions; it returns
problems rather than raising, so the loader can report everything at once.

Bit layouts (RFC 9433 section 6.1, 6.6, 6.7)::

    End.M.GTP4.E SID / H.M.GTP4.D last SID:
    | locator (L) | IPv4 DA (32) | Args.Mob.Session (40) | pad |   L <= 56
    End.M.GTP6.E SID / End.M.GTP6.D last SID:
    | locator (L) | Args.Mob.Session (40) | pad |                   L <= 88
    H.M.GTP4.D / End.M.GTP4.E IPv6 SA:
    | source prefix (P) | IPv4 SA (32) | ignored |                 P <= 96
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mupvpp.errors import Problem
from mupvpp.model import Behavior, Intent, Policy, Sid

MUP_MAX_SEGS = 6  # segments per policy; MUP_MAX_SEGS in core/mup.h
ARGS_MOB_SESSION_BITS = 40  # QFI 6 + R 1 + U 1 + TEID 32
IPV4_BITS = 32
GTP4_MAX_LOCATOR = 128 - IPV4_BITS - ARGS_MOB_SESSION_BITS  # 56
GTP6_MAX_LOCATOR = 128 - ARGS_MOB_SESSION_BITS  # 88
MAX_SOURCE_PREFIX = 128 - IPV4_BITS  # 96


@dataclass(frozen=True)
class FieldSpec:
    """Keys (besides name, behavior, sid/match) a behaviour requires/accepts."""

    required: frozenset[str] = frozenset()
    optional: frozenset[str] = frozenset()


def _spec(required: str = "", optional: str = "") -> FieldSpec:
    return FieldSpec(frozenset(required.split()), frozenset(optional.split()))


_D_OPT = "fib_table inner always_srh"
_E_OPT = "fib_table pdu_type"
BEHAVIOR_FIELDS: dict[Behavior, FieldSpec] = {
    Behavior.END: _spec(),
    Behavior.END_DT4: _spec("", "fib_table"),
    Behavior.END_DT6: _spec("", "fib_table"),
    Behavior.END_DT46: _spec("", "fib_table"),
    Behavior.H_ENCAPS: _spec("policy", "fib_table always_srh"),
    Behavior.H_M_GTP4_D: _spec("policy source_prefix", _D_OPT),
    # exactly one of ipv4_source_len / ipv4_source: checked by the loader
    Behavior.END_M_GTP4_E: _spec("", "ipv4_source_len ipv4_source " + _E_OPT),
    Behavior.END_M_GTP6_D: _spec("policy", "source " + _D_OPT),
    Behavior.END_M_GTP6_D_DI: _spec("policy", "source " + _D_OPT),
    Behavior.END_M_GTP6_E: _spec("", "source " + _E_OPT),
    Behavior.END_MAP: _spec("maps"),
    Behavior.END_LIMIT: _spec("limit"),
    Behavior.GTP4_DT4: _spec("", "fib_table"),
    Behavior.GTP4_DT6: _spec("", "fib_table"),
    Behavior.GTP4_DT46: _spec("", "fib_table"),
    Behavior.GTP6_DT4: _spec("", "fib_table"),
    Behavior.GTP6_DT6: _spec("", "fib_table"),
    Behavior.GTP6_DT46: _spec("", "fib_table"),
    Behavior.H_T1ST: _spec("policy", "fib_table always_srh"),
}

# Behaviours whose outer IPv6 SA is node.encap_source (unless ``source`` set).
_USES_ENCAP_SOURCE = frozenset(
    {
        Behavior.H_ENCAPS,
        Behavior.H_T1ST,
        Behavior.END_M_GTP6_D,
        Behavior.END_M_GTP6_D_DI,
    }
)


@dataclass
class LineMap:
    """Where each object and field was written: (kind, key, field) -> line.

    ``kind`` is node, policy, sid, type1 or type2; ``key`` the object's key
    (name, ue_prefix, n3/teid); field "" is the object itself.  ``broken``
    holds objects that failed the schema pass (not reported again).
    """

    lines: dict[tuple[str, str, str], int] = field(default_factory=dict)
    broken: set[tuple[str, str]] = field(default_factory=set)

    def set(self, kind: str, key: str, fld: str, line: int) -> None:
        self.lines.setdefault((kind, key, fld), line)

    def get(self, kind: str, key: str, fld: str, default: int = 0) -> int:
        return self.lines.get(
            (kind, key, fld), self.lines.get((kind, key, ""), default)
        )


class _Checker:
    def __init__(self, intent: Intent, lines: LineMap | None) -> None:
        self.intent = intent
        self.lines = lines or LineMap()
        self.problems: list[Problem] = []
        self.policies = {p.name: p for p in intent.policies}
        self.sids = {s.name: s for s in intent.sids}

    def err(self, kind, key, obj_line, fld, msg, severity="error", at=None) -> None:
        """Record a problem at the line of ``fld`` (or ``at``, when given)."""
        line = at if at is not None else self.lines.get(kind, key, fld, obj_line)
        label = "node" if kind == "node" else f"{kind} {key}"
        p = Problem(self.intent.source, line, label, fld, msg, severity)
        if p not in self.problems:
            self.problems.append(p)

    # -- references

    def policy_of(self, s: Sid) -> Policy | None:
        if s.policy is None:
            return None
        p = self.policies.get(s.policy)
        if p is None and ("policy", s.policy) not in self.lines.broken:
            self.err(
                "sid",
                s.name,
                s.line,
                "policy",
                f"policy {s.policy!r} does not exist",
            )
        return p

    def need_args(self, p: Policy, s: Sid, limit: int, what: str) -> None:
        """The policy's last segment must carry /len with len <= limit."""
        last = f"segments[{len(p.segments) - 1}]"
        if p.args_len is None:
            self.err(
                "policy",
                p.name,
                p.line,
                last,
                f"used by {s.behavior.key} {s.name}, which writes {what} into "
                f"the last segment: write it as addr/len (len <= {limit})",
            )
        elif p.args_len > limit:
            left = 128 - p.args_len
            self.err(
                "policy",
                p.name,
                p.line,
                last,
                f"/{p.args_len} leaves {left} bits; {what} used by "
                f"{s.behavior.key} {s.name} need {128 - limit}",
            )

    # -- the checks

    def run(self) -> list[Problem]:
        for s in self.intent.sids:
            self.sid(s)
        self.overlaps()
        self.sessions()
        return self.problems

    def sid(self, s: Sid) -> None:
        b = s.behavior
        L = s.prefix.prefixlen
        p = self.policy_of(s)
        if b is Behavior.END_M_GTP4_E and L > GTP4_MAX_LOCATOR:
            self.err(
                "sid",
                s.name,
                s.line,
                "sid",
                f"locator /{L} leaves {128 - L} bits; IPv4 DA (32) + "
                f"Args.Mob.Session (40) need 72",
            )
        if b is Behavior.END_M_GTP6_E and L > GTP6_MAX_LOCATOR:
            self.err(
                "sid",
                s.name,
                s.line,
                "sid",
                f"locator /{L} leaves {128 - L} bits; Args.Mob.Session (40) needs 40",
            )
        if s.ipv4_source_len is not None and s.ipv4_source_len > MAX_SOURCE_PREFIX:
            self.err(
                "sid",
                s.name,
                s.line,
                "ipv4_source_len",
                f"{s.ipv4_source_len} leaves {128 - s.ipv4_source_len} bits; "
                "the IPv4 SA (32) needs 32",
            )
        if (
            s.source_prefix is not None
            and s.source_prefix.prefixlen > MAX_SOURCE_PREFIX
        ):
            n = s.source_prefix.prefixlen
            self.err(
                "sid",
                s.name,
                s.line,
                "source_prefix",
                f"/{n} leaves {128 - n} bits; the IPv4 SA (32) needs 32",
            )
        if b is Behavior.END_LIMIT:
            total = L + s.limit_group_bits + s.limit_rate_bits
            if total > 128:
                self.err(
                    "sid",
                    s.name,
                    s.line,
                    "limit",
                    f"sid /{L} + group_bits {s.limit_group_bits} + rate_bits "
                    f"{s.limit_rate_bits} = {total} > 128",
                )
        if b is Behavior.END_MAP:
            seen: set = set()
            for i, (a, _) in enumerate(s.maps):
                if a not in s.prefix:
                    self.err(
                        "sid",
                        s.name,
                        s.line,
                        "maps",
                        f"maps[{i}].from {a} is outside the SID {s.prefix}: "
                        "it would never be looked up",
                    )
                if a in seen:
                    self.err(
                        "sid", s.name, s.line, "maps", f"maps[{i}].from {a} repeated"
                    )
                seen.add(a)
        if (
            b in _USES_ENCAP_SOURCE
            and s.source is None
            and self.intent.node.encap_source is None
        ):
            self.err(
                "sid",
                s.name,
                s.line,
                "behavior",
                f"{b.key} needs node.encap_source (its outer IPv6 SA)",
            )
        if p is None:
            return
        if b is Behavior.H_M_GTP4_D:
            self.need_args(
                p, s, GTP4_MAX_LOCATOR, "IPv4 DA (32) + Args.Mob.Session (40)"
            )
        elif b is Behavior.H_T1ST:
            self.need_args(p, s, GTP6_MAX_LOCATOR, "Args.Mob.Session (40)")
        elif b in (Behavior.END_M_GTP6_D, Behavior.END_M_GTP6_D_DI):
            self.need_args(p, s, GTP6_MAX_LOCATOR, "Args.Mob.Session (40)")
        if b is Behavior.END_M_GTP6_D:
            # RFC 9433 6.5: End.M.GTP6.E needs Segments Left 1 (the gNB
            # address follows it); as the policy's last SID it sees SL 0.
            for e in self.intent.sids:
                if e.behavior is Behavior.END_M_GTP6_E and p.segments[-1] in e.prefix:
                    self.err(
                        "sid",
                        s.name,
                        s.line,
                        "policy",
                        f"policy {p.name} ends at end.m.gtp6.e {e.name}, which "
                        "would see Segments Left 0 and drop: end.m.gtp6.e must be "
                        "penultimate; use end.m.gtp6.d.di or append the gNB segment",
                        severity="warning",
                    )

    def overlaps(self) -> None:
        headend = {}
        local = {}
        for s in self.intent.sids:
            is_headend = (
                s.behavior in _HEADENDS
            )  # match: prefixes live in the FIB, SIDs in the localsid table
            table = headend if is_headend else local
            other = table.get(s.prefix)
            if other is None and s.prefix.version == 6:
                # IPv6 headend matches and localsids share the IPv6 FIB
                other = (local if is_headend else headend).get(s.prefix)
            if other is not None:
                what = "match" if is_headend else "sid"
                self.err(
                    "sid",
                    s.name,
                    s.line,
                    what,
                    f"{s.prefix} is also the {what} of sid {other.name} "
                    f"(line {other.line})",
                )
            else:
                table[s.prefix] = s

    def sessions(self) -> None:
        seen1: dict = {}
        for t in self.intent.type1:
            k = t.key
            if k in seen1:
                self.err(
                    "type1",
                    k,
                    t.line,
                    "ue_prefix",
                    f"duplicate ue_prefix (first at line {seen1[k].line})",
                    at=t.line,
                )
                continue
            seen1[k] = t
            h = self.headend(t, "type1", k, Behavior.H_T1ST)
            if h is None:
                continue
            if t.ue_prefix.version != h.prefix.version or not t.ue_prefix.subnet_of(
                h.prefix
            ):
                self.err(
                    "type1",
                    k,
                    t.line,
                    "ue_prefix",
                    f"outside headend {h.name} match {h.prefix}: its traffic "
                    "would never reach the headend",
                )
            p = self.policies.get(h.policy or "")
            if t.gnb.version == 6:
                self.err(
                    "type1",
                    k,
                    t.line,
                    "gnb",
                    "H.M.T1ST stamps the End.M.GTP4.E layout (IPv4 gNB + "
                    "Args.Mob.Session); an IPv6 gNB is not supported yet",
                )
            elif p is not None and (p.args_len or 0) > 56:
                self.err(
                    "type1",
                    k,
                    t.line,
                    "gnb",
                    f"an IPv4 gNB needs IPv4 DA (32) + Args.Mob.Session (40) in "
                    f"the last segment of policy {p.name}, whose /{p.args_len} "
                    f"leaves {128 - p.args_len} bits: use a locator <= /56",
                )
        seen2: dict = {}
        for t in self.intent.type2:
            k = t.key
            if k in seen2:
                self.err(
                    "type2",
                    k,
                    t.line,
                    "teid",
                    f"duplicate (n3, teid) (first at line {seen2[k].line})",
                    at=t.line,
                )
                continue
            seen2[k] = t
            h = self.headend(t, "type2", k, Behavior.H_M_GTP4_D)
            if h is None:
                continue
            if t.n3.version != h.prefix.version or t.n3 not in h.prefix:
                self.err(
                    "type2",
                    k,
                    t.line,
                    "n3",
                    f"{t.n3} is outside headend {h.name} match {h.prefix}",
                )

    def headend(self, t, kind: str, key: str, want: Behavior) -> Sid | None:
        h = self.sids.get(t.headend)
        if h is None:
            if ("sid", t.headend) not in self.lines.broken:
                self.err(
                    kind, key, t.line, "headend", f"sid {t.headend!r} does not exist"
                )
            return None
        if h.behavior is not want:
            self.err(
                kind,
                key,
                t.line,
                "headend",
                f"sid {h.name} is {h.behavior.key}; a {kind} session needs {want.key}",
            )
            return None
        return h


_HEADENDS = frozenset(
    {
        Behavior.H_ENCAPS,
        Behavior.H_T1ST,
        Behavior.H_M_GTP4_D,
        Behavior.GTP4_DT4,
        Behavior.GTP4_DT6,
        Behavior.GTP4_DT46,
    }
)


def vpp_loops(intent: Intent) -> list[str]:
    """Where this intent, installed in ONE VPP, makes packets circle.

    End.M.GTP4.E sends GTP-U to the IPv4 DA carried in its SID, which for a
    packet that H.M.GTP4.D encapsulated is the address that headend
    matched: when both are in the same VPP the packet comes back to the
    headend, and no hop limit / TTL carries over (each header is new).  The
    embedded engine runs each behaviour once, so it is not affected.
    """
    out = []
    for s in intent.sids:
        if s.behavior is not Behavior.H_M_GTP4_D or not s.policy:
            continue
        last = intent.policy(s.policy).segments[-1]
        for e in intent.sids:
            if e.behavior is Behavior.END_M_GTP4_E and last in e.prefix:
                out.append(
                    f"sid {s.name}: policy {s.policy} ends at the local "
                    f"end.m.gtp4.e {e.name}, which sends GTP-U back to "
                    f"{s.prefix}, this headend's own match: uplink packets "
                    "that no Type 2 session steers elsewhere loop in VPP"
                )
    return out


def check_intent(intent: Intent, lines: LineMap | None = None) -> list[Problem]:
    """All semantic problems (errors and warnings) of ``intent``."""
    return _Checker(intent, lines).run()


def validate_intent(intent: Intent) -> None:
    """Raise IntentError if ``intent`` (built without YAML, e.g. by the CLI) is
    invalid; warnings are ignored."""
    from mupvpp.errors import IntentError

    errors = [p for p in check_intent(intent) if p.severity == "error"]
    if errors:
        raise IntentError(errors)


__all__ = [
    "BEHAVIOR_FIELDS",
    "MUP_MAX_SEGS",
    "LineMap",
    "check_intent",
    "validate_intent",
    "vpp_loops",
]
