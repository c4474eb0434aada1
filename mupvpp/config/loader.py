"""YAML -> validated :class:`mupvpp.model.Intent`.  The only YAML parser here.

Two passes, like vppcfg: the schema pass (this module) turns raw YAML into
model objects, checking keys, types and required fields; the semantic pass
(:mod:`mupvpp.config.validate`) checks references, bit layouts and overlaps.
Every problem of both passes is collected and raised as one
:class:`~mupvpp.errors.IntentError`, each with the file and line of the
offending key (or value).  An object with a schema problem is left out of the
semantic pass, and references to it are not reported again.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import yaml

from mupvpp.config.validate import (
    BEHAVIOR_FIELDS,
    MUP_MAX_SEGS,
    LineMap,
    check_intent,
)
from mupvpp.errors import IntentError, Problem
from mupvpp.model import (
    HEADEND_ANY,
    HEADEND_V4,
    Behavior,
    Compat,
    InnerType,
    Intent,
    Node,
    Policy,
    Sid,
    Type1Session,
    Type2Session,
)

TEID_MAX = 2**32 - 1

# -- YAML with line numbers --------------------------------------------------


class LineDict(dict):
    """A mapping that remembers its line and the line of each key."""

    line: int = 0

    def __init__(self) -> None:
        super().__init__()
        self.key_lines: dict[Any, int] = {}

    def kline(self, key: str) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):
    """A sequence that remembers its line and the line of each item."""

    line: int = 0

    def __init__(self) -> None:
        super().__init__()
        self.item_lines: list[int] = []

    def iline(self, i: int) -> int:
        return self.item_lines[i] if i < len(self.item_lines) else self.line


class _LineLoader(yaml.SafeLoader):
    """SafeLoader whose mappings and sequences carry 1-based line numbers."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.dup_keys: list[tuple[int, Any]] = []


def _construct_map(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    d = LineDict()
    d.line = node.start_mark.line + 1
    for knode, vnode in node.value:
        key = loader.construct_object(knode, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "mapping key is not a scalar", knode.start_mark
            ) from None
        if key in d:
            loader.dup_keys.append((knode.start_mark.line + 1, key))
        d[key] = loader.construct_object(vnode, deep=True)
        d.key_lines[key] = knode.start_mark.line + 1
    return d


def _construct_seq(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    lst = LineList()
    lst.line = node.start_mark.line + 1
    for child in node.value:
        lst.append(loader.construct_object(child, deep=True))
        lst.item_lines.append(child.start_mark.line + 1)
    return lst


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


# -- the schema pass -----------------------------------------------------------

TOP_KEYS = ("node", "policies", "sids", "sessions")
NODE_KEYS = ("name", "encap_source", "compat", "udp4_checksum")
COMPAT_KEYS = ("args", "u_bit")
POLICY_KEYS = ("name", "segments")
SID_KEYS = (
    "name",
    "behavior",
    "sid",
    "match",
    "policy",
    "fib_table",
    "source_prefix",
    "ipv4_source_len",
    "ipv4_source",
    "source",
    "inner",
    "pdu_type",
    "always_srh",
    "maps",
    "limit",
)
LIMIT_KEYS = ("group_bits", "rate_bits", "unit_pps")
MAP_KEYS = ("from", "to")
SESSIONS_KEYS = ("type1", "type2")
TYPE1_KEYS = ("ue_prefix", "gnb", "teid", "qfi", "rqi", "headend")
TYPE2_KEYS = ("n3", "teid", "segment", "headend")

_MISSING = object()


class _Bad(Exception):
    """A field failed its check; the problem has been recorded."""


class _Builder:
    def __init__(self, filename: str) -> None:
        self.file = filename
        self.problems: list[Problem] = []
        self.lines = LineMap()

    # -- reporting

    def err(self, line: int, obj: str, fld: str, msg: str) -> None:
        self.problems.append(Problem(self.file, line, obj, fld, msg))

    def bad(self, line: int, obj: str, fld: str, msg: str) -> _Bad:
        self.err(line, obj, fld, msg)
        return _Bad()

    def mapping(self, v: Any, line: int, obj: str, fld: str) -> LineDict:
        if not isinstance(v, LineDict):
            raise self.bad(line, obj, fld, f"expected a mapping, got {_kind(v)}")
        return v

    def seq(self, v: Any, line: int, obj: str, fld: str) -> LineList:
        if not isinstance(v, LineList):
            raise self.bad(line, obj, fld, f"expected a list, got {_kind(v)}")
        return v

    def unknown_keys(self, d: LineDict, allowed: tuple[str, ...], obj: str) -> None:
        for k in d:
            if k not in allowed:
                self.err(
                    d.kline(k),
                    obj,
                    str(k),
                    f"unknown key {k!r}; valid keys: {', '.join(allowed)}",
                )

    # -- typed fields: return the converted value or raise _Bad

    def field(self, d: LineDict, key: str, obj: str, conv, *, required=False):
        """Convert ``d[key]`` with ``conv(value, line, obj, key)``.

        Returns ``_MISSING`` when absent and not required.
        """
        if key not in d or d[key] is None:
            if required:
                raise self.bad(d.line, obj, key, f"missing required key {key!r}")
            return _MISSING
        return conv(d[key], d.kline(key), obj, key)

    def s(self, v, line, obj, fld) -> str:
        if not isinstance(v, str) or not v:
            raise self.bad(
                line, obj, fld, f"expected a non-empty string, got {_kind(v)}"
            )
        return v

    def boolean(self, v, line, obj, fld) -> bool:
        if not isinstance(v, bool):
            raise self.bad(line, obj, fld, f"expected true or false, got {_kind(v)}")
        return v

    def integer(self, lo: int, hi: int | None = None, why: str = ""):
        def conv(v, line, obj, fld) -> int:
            if isinstance(v, str):
                try:
                    v = int(v, 0)
                except ValueError:
                    pass
            if isinstance(v, bool) or not isinstance(v, int):
                raise self.bad(line, obj, fld, f"expected an integer, got {_kind(v)}")
            if v < lo or (hi is not None and v > hi):
                rng = f">= {lo}" if hi is None else f"in {lo}..{hi}"
                msg = f"{v} out of range: must be {rng}"
                raise self.bad(line, obj, fld, msg + (f" ({why})" if why else ""))
            return v

        return conv

    def choice(self, choices: dict[str, Any]):
        def conv(v, line, obj, fld):
            key = v.lower() if isinstance(v, str) else v
            for k, val in choices.items():
                if key == k or (not isinstance(key, str) and str(key) == k):
                    return val
            raise self.bad(line, obj, fld, f"{v!r} is not one of: {', '.join(choices)}")

        return conv

    def address(self, family: int | None):
        """family 4, 6 or None (either)."""

        def conv(v, line, obj, fld):
            if not isinstance(v, str):
                raise self.bad(
                    line, obj, fld, f"expected an address string, got {_kind(v)}"
                )
            try:
                a = ipaddress.ip_address(v.strip())
            except ValueError:
                raise self.bad(
                    line, obj, fld, f"{v!r} is not an {_fam(family)} address"
                ) from None
            if family and a.version != family:
                raise self.bad(
                    line, obj, fld, f"{v!r} is not an {_fam(family)} address"
                )
            return a

        return conv

    def prefix(self, family: int | None):
        """A prefix; without /len it is a host route (/32 or /128)."""

        def conv(v, line, obj, fld):
            if not isinstance(v, str):
                raise self.bad(
                    line, obj, fld, f"expected a prefix string, got {_kind(v)}"
                )
            text = v.strip()
            try:
                n = ipaddress.ip_network(text, strict=False)
            except ValueError:
                raise self.bad(
                    line, obj, fld, f"{v!r} is not an {_fam(family)} prefix"
                ) from None
            if family and n.version != family:
                raise self.bad(line, obj, fld, f"{v!r} is not an {_fam(family)} prefix")
            try:
                ipaddress.ip_network(text, strict=True)
            except ValueError:
                raise self.bad(
                    line,
                    obj,
                    fld,
                    f"{v!r} has host bits set past /{n.prefixlen} (did you mean {n}?)",
                ) from None
            return n

        return conv

    # -- objects

    def node(self, raw: Any, line: int) -> Node:
        obj = "node"
        if raw is None:
            self.err(line, obj, "node", "missing required section 'node'")
            return Node()
        try:
            d = self.mapping(raw, line, obj, "node")
        except _Bad:
            return Node()
        self.unknown_keys(d, NODE_KEYS, obj)
        kw: dict[str, Any] = {}
        for key, conv, req in (
            ("name", self.s, True),
            ("encap_source", self.address(6), False),
            ("udp4_checksum", self.boolean, False),
        ):
            try:
                v = self.field(d, key, obj, conv, required=req)
                if v is not _MISSING:
                    kw[key] = v
            except _Bad:
                pass
            self.lines.set("node", "", key, d.kline(key))
        if d.get("compat") is not None:
            try:
                c = self.mapping(d["compat"], d.kline("compat"), obj, "compat")
                self.unknown_keys(c, COMPAT_KEYS, obj)
                ckw = {}
                for key in COMPAT_KEYS:
                    try:
                        v = self.field(
                            c, key, obj, self.choice({"rfc": "rfc", "vpp": "vpp"})
                        )
                        if v is not _MISSING:
                            ckw[key] = v
                    except _Bad:
                        pass
                kw["compat"] = Compat(**ckw)
            except _Bad:
                pass
        self.lines.set("node", "", "", d.line)
        return Node(**kw)

    def policy(self, d: LineDict, idx: int) -> Policy | None:
        obj = f"policies[{idx}]"
        name = None
        try:
            name = self.field(d, "name", obj, self.s, required=True)
            obj = f"policy {name}"
        except _Bad:
            pass
        self.unknown_keys(d, POLICY_KEYS, obj)
        ok = name is not None
        segs: list[ipaddress.IPv6Address] = []
        args_len = None
        try:
            raw = self.field(d, "segments", obj, self.seq, required=True)
            n = len(raw)
            if not 1 <= n <= MUP_MAX_SEGS:
                raise self.bad(
                    d.kline("segments"),
                    obj,
                    "segments",
                    f"{n} segments: a policy has 1..{MUP_MAX_SEGS} (MUP_MAX_SEGS)",
                )
            for i, seg in enumerate(raw):
                fld = f"segments[{i}]"
                line = raw.iline(i)
                self.lines.set("policy", name or "", fld, line)
                try:
                    if not isinstance(seg, str):
                        raise self.bad(
                            line,
                            obj,
                            fld,
                            f"expected an IPv6 address, got {_kind(seg)}",
                        )
                    if "/" in seg:
                        if i != n - 1:
                            raise self.bad(
                                line,
                                obj,
                                fld,
                                f"{seg!r}: only the last segment may be written "
                                "addr/len (where Args.Mob.Session is written)",
                            )
                        addr_s, _, len_s = seg.partition("/")
                        addr = self.address(6)(addr_s, line, obj, fld)
                        try:
                            alen = int(len_s)
                        except ValueError:
                            alen = -1
                        if not 0 <= alen <= 128:
                            raise self.bad(
                                line, obj, fld, f"{seg!r}: length must be 0..128"
                            )
                        past = int(addr) & ((1 << (128 - alen)) - 1)
                        if past:
                            raise self.bad(
                                line,
                                obj,
                                fld,
                                f"{seg!r} has bits set past /{alen}; "
                                "Args.Mob.Session is written there",
                            )
                        args_len = alen
                    else:
                        addr = self.address(6)(seg, line, obj, fld)
                    segs.append(addr)
                except _Bad:
                    ok = False
        except _Bad:
            ok = False
        if name is not None:
            self.lines.set("policy", name, "", d.line)
            self.lines.set("policy", name, "segments", d.kline("segments"))
            if not ok:
                self.lines.broken.add(("policy", name))
        if not ok:
            return None
        return Policy(name=name, segments=tuple(segs), args_len=args_len, line=d.line)

    def sid(self, d: LineDict, idx: int) -> Sid | None:
        obj = f"sids[{idx}]"
        name = None
        try:
            name = self.field(d, "name", obj, self.s, required=True)
            obj = f"sid {name}"
        except _Bad:
            pass
        self.unknown_keys(d, SID_KEYS, obj)
        ok = name is not None
        for k in d:
            self.lines.set("sid", name or "", str(k), d.kline(k))
        self.lines.set("sid", name or "", "", d.line)
        beh: Behavior | None = None
        try:
            raw = self.field(d, "behavior", obj, self.s, required=True)
            try:
                beh = Behavior.from_key(raw)
            except KeyError:
                valid = ", ".join(b.key for b in Behavior)
                raise self.bad(
                    d.kline("behavior"),
                    obj,
                    "behavior",
                    f"unknown behavior {raw!r}; valid: {valid}",
                ) from None
        except _Bad:
            ok = False
        kw: dict[str, Any] = {}
        if beh is not None:
            ok = self._sid_prefix(d, obj, beh, kw) and ok
            spec = BEHAVIOR_FIELDS[beh]
            for key in SID_KEYS[4:]:
                if key in d and key not in spec.required | spec.optional:
                    self.err(
                        d.kline(key),
                        obj,
                        key,
                        f"field {key!r} does not apply to {beh.key}",
                    )
                    ok = False
            for key in sorted(spec.required):
                if key not in d or d[key] is None:
                    self.err(
                        d.line,
                        obj,
                        key,
                        f"{beh.key} requires {key!r}",
                    )
                    ok = False
            if beh is Behavior.END_M_GTP4_E:
                has_len = d.get("ipv4_source_len") is not None
                has_src = d.get("ipv4_source") is not None
                if has_len == has_src:
                    line = d.kline("ipv4_source") if has_src else d.line
                    self.err(
                        line,
                        obj,
                        "ipv4_source_len",
                        "end.m.gtp4.e takes exactly one of ipv4_source_len "
                        "(IPv4 SA bit offset in the IPv6 SA) and ipv4_source",
                    )
                    ok = False
        convs = {
            "policy": self.s,
            "fib_table": self.integer(0, TEID_MAX),
            "source_prefix": self.prefix(6),
            "ipv4_source_len": self.integer(0, 128),
            "ipv4_source": self.address(4),
            "source": self.address(6),
            "inner": self.choice(
                {
                    "detect": InnerType.DETECT,
                    "ipv4": InnerType.IPV4,
                    "ipv6": InnerType.IPV6,
                }
            ),
            "pdu_type": self.integer(0, 1, "PSC PDU type: 0 downlink, 1 uplink"),
            "always_srh": self.boolean,
        }
        for key, conv in convs.items():
            try:
                v = self.field(d, key, obj, conv)
                if v is not _MISSING:
                    kw[key] = v
            except _Bad:
                ok = False
        try:
            v = self.field(d, "maps", obj, self._maps)
            if v is not _MISSING:
                kw["maps"] = v
        except _Bad:
            ok = False
        try:
            v = self.field(d, "limit", obj, self._limit)
            if v is not _MISSING:
                (
                    kw["limit_group_bits"],
                    kw["limit_rate_bits"],
                    kw["limit_unit_pps"],
                ) = v
        except _Bad:
            ok = False
        if name is not None and not ok:
            self.lines.broken.add(("sid", name))
        if not ok or beh is None or "prefix" not in kw:
            return None
        return Sid(name=name, behavior=beh, line=d.line, **kw)

    def _sid_prefix(self, d: LineDict, obj: str, beh: Behavior, kw: dict) -> bool:
        headend = beh in HEADEND_V4 or beh in HEADEND_ANY
        has_sid = d.get("sid") is not None
        has_match = d.get("match") is not None
        if has_sid and has_match:
            self.err(
                d.kline("match"), obj, "match", "write exactly one of sid: and match:"
            )
            return False
        if headend and has_sid:
            self.err(
                d.kline("sid"),
                obj,
                "sid",
                f"{beh.key} is a headend: write match: (the destination prefix "
                "it steers), not sid:",
            )
            return False
        if not headend and has_match:
            self.err(
                d.kline("match"),
                obj,
                "match",
                f"{beh.key} is a local SID: write sid: (its IPv6 prefix), not match:",
            )
            return False
        if not has_sid and not has_match:
            key = "match" if headend else "sid"
            self.err(d.line, obj, key, f"{beh.key} requires {key!r}")
            return False
        try:
            if has_sid:
                kw["prefix"] = self.field(d, "sid", obj, self.prefix(6))
            else:
                fam = 4 if beh in HEADEND_V4 else None
                if fam == 4:
                    v = d["match"]
                    if isinstance(v, str) and ":" in v:
                        raise self.bad(
                            d.kline("match"),
                            obj,
                            "match",
                            f"{beh.key} matches IPv4 GTP-U: match must be an "
                            f"IPv4 prefix, got {v!r}",
                        )
                kw["prefix"] = self.field(d, "match", obj, self.prefix(fam))
        except _Bad:
            return False
        return True

    def _maps(self, v, line, obj, fld):
        lst = self.seq(v, line, obj, fld)
        out = []
        bad = False
        for i, m in enumerate(lst):
            f = f"maps[{i}]"
            try:
                m = self.mapping(m, lst.iline(i), obj, f)
                self.unknown_keys(m, MAP_KEYS, obj)
                a = self.field(m, "from", obj + "", self.address(6), required=True)
                b = self.field(m, "to", obj, self.address(6), required=True)
                out.append((a, b))
            except _Bad:
                bad = True
        if bad:
            raise _Bad()
        return tuple(out)

    def _limit(self, v, line, obj, fld):
        m = self.mapping(v, line, obj, fld)
        self.unknown_keys(m, LIMIT_KEYS, obj)
        vals = []
        bad = False
        for key, conv, req in (
            ("group_bits", self.integer(0, 128), True),
            ("rate_bits", self.integer(0, 128), True),
            ("unit_pps", self.integer(1), False),
        ):
            try:
                x = self.field(m, key, obj, conv, required=req)
                vals.append(1000 if x is _MISSING else x)
            except _Bad:
                bad = True
        if bad:
            raise _Bad()
        self.lines.set("sid", obj.removeprefix("sid "), "limit", line)
        return tuple(vals)

    def type1(self, d: LineDict, idx: int) -> Type1Session | None:
        obj = f"sessions.type1[{idx}]"
        kw: dict[str, Any] = {}
        ok = True
        try:
            kw["ue_prefix"] = self.field(
                d, "ue_prefix", obj, self.prefix(None), required=True
            )
            obj = f"type1 {kw['ue_prefix']}"
            p = kw["ue_prefix"]
            want = 32 if p.version == 4 else 64
            if p.prefixlen != want:
                self.err(
                    d.kline("ue_prefix"),
                    obj,
                    "ue_prefix",
                    f"/{p.prefixlen} not allowed: a Type 1 ST UE prefix is an "
                    "IPv4 /32 or an IPv6 /64 (one UE, draft-ietf-bess-mup-safi)",
                )
                ok = False
        except _Bad:
            ok = False
        self.unknown_keys(d, TYPE1_KEYS, obj)
        ok = (
            self._fields(
                d,
                obj,
                kw,
                (
                    ("gnb", self.address(None), True),
                    ("teid", self._teid, True),
                    ("qfi", self.integer(0, 63, "QFI is 6 bits"), False),
                    ("rqi", self.boolean, False),
                    ("headend", self.s, True),
                ),
            )
            and ok
        )
        key = str(kw.get("ue_prefix", obj))
        for k in d:
            self.lines.set("type1", key, str(k), d.kline(k))
        self.lines.set("type1", key, "", d.line)
        if not ok:
            return None
        return Type1Session(line=d.line, **kw)

    def type2(self, d: LineDict, idx: int) -> Type2Session | None:
        obj = f"sessions.type2[{idx}]"
        if isinstance(d.get("n3"), str) and isinstance(d.get("teid"), int):
            t = d["teid"]
            obj = (
                f"type2 {d['n3']} teid {t:#x}"
                if isinstance(t, int)
                else f"type2 {d['n3']} teid {t}"
            )
        self.unknown_keys(d, TYPE2_KEYS, obj)
        kw: dict[str, Any] = {}
        ok = self._fields(
            d,
            obj,
            kw,
            (
                ("n3", self.address(None), True),
                ("teid", self._teid, True),
                ("segment", self.address(6), True),
                ("headend", self.s, True),
            ),
        )
        if not ok:
            return None
        s = Type2Session(line=d.line, **kw)
        for k in d:
            self.lines.set("type2", s.key, str(k), d.kline(k))
        self.lines.set("type2", s.key, "", d.line)
        return s

    def _teid(self, v, line, obj, fld):
        return self.integer(
            1, TEID_MAX, "TEID 0 is invalid in ST routes, draft-ietf-bess-mup-safi"
        )(v, line, obj, fld)

    def _fields(self, d, obj, kw, specs) -> bool:
        ok = True
        for key, conv, req in specs:
            try:
                v = self.field(d, key, obj, conv, required=req)
                if v is not _MISSING:
                    kw[key] = v
            except _Bad:
                ok = False
        return ok

    def items(self, parent: LineDict, key: str, obj: str) -> list[tuple[int, Any]]:
        raw = parent.get(key)
        if raw is None:
            return []
        try:
            lst = self.seq(raw, parent.kline(key), obj, key)
        except _Bad:
            return []
        out = []
        for i, item in enumerate(lst):
            try:
                out.append((i, self.mapping(item, lst.iline(i), f"{obj}[{i}]", key)))
            except _Bad:
                pass
        return out

    def intent(self, top: Any) -> Intent | None:
        if not isinstance(top, LineDict):
            self.err(
                getattr(top, "line", 1),
                "intent",
                "-",
                f"expected a mapping with keys {', '.join(TOP_KEYS)}, got {_kind(top)}",
            )
            return None
        self.unknown_keys(top, TOP_KEYS, "intent")
        node = self.node(top.get("node"), top.kline("node") if "node" in top else 1)
        policies: list[Policy] = []
        seen: dict[str, int] = {}
        for i, d in self.items(top, "policies", "policies"):
            p = self.policy(d, i)
            name = d.get("name")
            if isinstance(name, str) and name:
                if name in seen:
                    self.err(
                        d.kline("name"),
                        f"policy {name}",
                        "name",
                        f"duplicate policy name (first defined at line {seen[name]})",
                    )
                    continue
                seen[name] = d.line
            if p is not None:
                policies.append(p)
        sids: list[Sid] = []
        seen = {}
        for i, d in self.items(top, "sids", "sids"):
            s = self.sid(d, i)
            name = d.get("name")
            if isinstance(name, str) and name:
                if name in seen:
                    self.err(
                        d.kline("name"),
                        f"sid {name}",
                        "name",
                        f"duplicate sid name (first defined at line {seen[name]})",
                    )
                    continue
                seen[name] = d.line
            if s is not None:
                sids.append(s)
        type1: list[Type1Session] = []
        type2: list[Type2Session] = []
        if top.get("sessions") is not None:
            try:
                sess = self.mapping(
                    top["sessions"], top.kline("sessions"), "sessions", "sessions"
                )
                self.unknown_keys(sess, SESSIONS_KEYS, "sessions")
                for i, d in self.items(sess, "type1", "sessions.type1"):
                    t = self.type1(d, i)
                    if t is not None:
                        type1.append(t)
                for i, d in self.items(sess, "type2", "sessions.type2"):
                    t = self.type2(d, i)
                    if t is not None:
                        type2.append(t)
            except _Bad:
                pass
        return Intent(
            node=node,
            policies=tuple(policies),
            sids=tuple(sids),
            type1=tuple(type1),
            type2=tuple(type2),
            source=self.file,
        )


def _kind(v: Any) -> str:
    if v is None:
        return "nothing"
    if isinstance(v, bool):
        return f"boolean {v}"
    if isinstance(v, LineDict):
        return "a mapping"
    if isinstance(v, LineList):
        return "a list"
    if isinstance(v, int | float):
        return f"number {v}"
    if isinstance(v, str):
        return f"string {v!r}"
    return type(v).__name__


def _fam(family: int | None) -> str:
    return {4: "IPv4", 6: "IPv6", None: "IP"}[family]


# -- public API ------------------------------------------------------------------


def load_intent_text(
    text: str, filename: str = "<string>", warnings: list[Problem] | None = None
) -> Intent:
    """Parse and validate intent YAML; raise IntentError listing every problem.

    Warnings (problems that do not make the intent invalid) are appended to
    ``warnings`` when a list is given.
    """
    b = _Builder(filename)
    try:
        loader = _LineLoader(text)
    except yaml.YAMLError as e:  # e.g. a NUL or other unprintable character
        raise IntentError([Problem(filename, 1, "yaml", "-", str(e))]) from None
    try:
        top = loader.get_single_data()
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        line = mark.line + 1 if mark else 1
        msg = getattr(e, "problem", None) or str(e)
        raise IntentError([Problem(filename, line, "yaml", "-", msg)]) from None
    finally:
        loader.dispose()
    for line, key in loader.dup_keys:
        b.err(line, "yaml", str(key), f"duplicate key {key!r}")
    if top is None:
        raise IntentError([Problem(filename, 1, "intent", "-", "empty intent file")])
    intent = b.intent(top)
    problems = list(b.problems)
    if intent is not None:
        problems += check_intent(intent, b.lines)
    errors = [p for p in problems if p.severity == "error"]
    if warnings is not None:
        warnings.extend(p for p in problems if p.severity != "error")
    if errors or intent is None:
        errors.sort(key=lambda p: p.line)
        raise IntentError(errors)
    return intent


def load_intent(path: str | Path, warnings: list[Problem] | None = None) -> Intent:
    """Read, parse and validate the intent file at ``path``."""
    p = Path(path)
    try:
        text = read_utf8(p)
    except OSError as e:
        raise IntentError(
            [Problem(str(path), 0, "intent", "-", f"cannot read: {e.strerror}")]
        ) from None
    except UnicodeDecodeError as e:
        raise IntentError([_decode_problem(str(path), p.read_bytes(), e)]) from None
    return load_intent_text(text, str(path), warnings)


def read_utf8(p: Path) -> str:
    """A text file that must be UTF-8 (YAML 1.1 allows UTF-16 with a BOM,
    which PyYAML then handles; everything else is an error)."""
    data = p.read_bytes()
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16")
    return data.decode("utf-8")


def _decode_problem(filename: str, data: bytes, e: UnicodeDecodeError) -> Problem:
    line = data[: e.start].count(b"\n") + 1
    return Problem(
        filename,
        line,
        "yaml",
        "-",
        f"not UTF-8 text: byte 0x{data[e.start]:02x} at offset {e.start}",
    )


def load_sessions_text(text: str, filename: str = "<string>") -> list[Type1Session]:
    """Type 1 sessions from YAML: a list of session mappings, or a mapping
    with a ``type1`` list (``session load``).  Schema checks only: references
    (headends) are checked against the running intent by the caller.
    """
    b = _Builder(filename)
    try:
        loader = _LineLoader(text)
    except yaml.YAMLError as e:  # e.g. a NUL or other unprintable character
        raise IntentError([Problem(filename, 1, "yaml", "-", str(e))]) from None
    try:
        top = loader.get_single_data()
    except yaml.YAMLError as e:  # as load_intent_text reports it: FILE:LINE
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        line = mark.line + 1 if mark else 1
        msg = getattr(e, "problem", None) or str(e)
        raise IntentError([Problem(filename, line, "yaml", "-", msg)]) from None
    finally:
        loader.dispose()
    if isinstance(top, LineDict) and set(top) - {"type1"}:
        keys = [k for k in top if k != "type1"]
        other = ", ".join(map(str, keys))
        raise IntentError(
            [
                Problem(
                    filename,
                    top.key_lines.get(keys[0]) or top.line or 1,
                    "sessions",
                    other,
                    "only type1 sessions can be loaded (a list, or "
                    "{type1: [...]}); put type2 sessions in CONFIG and apply it",
                )
            ]
        )
    if isinstance(top, LineDict) and "type1" in top:
        items = b.items(top, "type1", "type1")
    elif isinstance(top, LineList):
        wrapper = LineDict()
        wrapper["type1"] = top
        items = b.items(wrapper, "type1", "type1")
    else:
        raise IntentError(
            [Problem(filename, 1, "sessions", "-", "expected a list of sessions")]
        )
    out = [t for i, d in items if (t := b.type1(d, i)) is not None]
    if b.problems:
        raise IntentError(b.problems)
    return out
