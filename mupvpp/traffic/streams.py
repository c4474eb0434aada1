"""TRex stream JSON -> a compact plan for the embedded C generator (gen.c).

Input is what :func:`mupvpp.traffic.compile.compile_profile` returns (a
list of ``STLStream.to_json()`` dicts).  Output is plain, frozen data:
per stream the template bytes, how it is sent (mode, rate, counts) and the
field-engine program as tuples that map 1:1 onto ``mup_gen_var_t`` /
``mup_gen_insn_t``.  Anything the generator cannot execute is refused here
with an InputError naming the stream and the instruction.

Supported field-engine instructions (TRex JSON ``vm.instructions``):
``flow_var`` (inc/dec/random, size 1/2/4/8, no value_list / next_var),
``write_flow_var``, ``fix_checksum_ipv4``, ``fix_checksum_hw`` (UDP/TCP
checksum, or the IPv4 header checksum; done in software by gen.c).
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field
from fractions import Fraction

try:
    from mupvpp.errors import InputError
except ImportError:  # pragma: no cover
    InputError = ValueError  # type: ignore[misc,assignment]

__all__ = [
    "add_to_generator",
    "GenInsn",
    "GenVar",
    "StreamPlan",
    "parse_streams",
    "weights",
    "OP_INC",
    "OP_DEC",
    "OP_RANDOM",
    "INSN_WRITE",
    "INSN_FIX_IP4",
    "INSN_FIX_L4",
]

# Must match gen.h
OP_INC, OP_DEC, OP_RANDOM = 0, 1, 2
INSN_WRITE, INSN_FIX_IP4, INSN_FIX_L4 = 0, 1, 2
MAX_VARS, MAX_INSNS = 64, 128

_OPS = {"inc": OP_INC, "dec": OP_DEC, "random": OP_RANDOM}
# TRex CTRexVmInsFixHwCs l4 types -> IP protocol (0: IPv4 header checksum)
_HW_L4 = {11: 17, 13: 6, 17: 0}
# Per-frame overhead on the wire: FCS 4 (not in the template) and
# preamble+SFD 8 + inter-frame gap 12 for L1 rates.
_FCS = 4
_L1_EXTRA = 20


@dataclass(frozen=True)
class GenVar:
    """One ``mup_gen_var_t`` (plus its TRex name)."""

    name: str
    size: int
    op: int
    init: int
    min: int
    max: int
    step: int


@dataclass(frozen=True)
class GenInsn:
    """One ``mup_gen_insn_t``: kind, var index (or IP protocol for
    INSN_FIX_L4), big_endian, offset, add (or the L4 offset for
    INSN_FIX_L4)."""

    kind: int
    var: int
    big_endian: int
    offset: int
    add: int


@dataclass(frozen=True)
class StreamPlan:
    """One TRex stream, ready for ``mup_gen_add_stream``.

    ``mode``: "continuous", "single_burst" or "multi_burst".  ``rate_type``
    and ``rate`` as TRex gives them ("pps", "bps_L1", "bps_L2",
    "percentage"); :meth:`pps` turns any of them into packets/s.
    ``total_pkts`` (single_burst), ``pkts_per_burst``/``ibg_usec``/``count``
    (multi_burst; count 0 = forever), ``isg_usec``, ``self_start`` and
    ``next`` (the name of the stream started after this one) are kept for
    the scheduler in bench; gen.c does not use them.
    """

    index: int
    name: str | None
    packet: bytes
    mode: str
    rate_type: str
    rate: float
    total_pkts: int = 0
    pkts_per_burst: int = 0
    ibg_usec: float = 0.0
    count: int = 0
    isg_usec: float = 0.0
    self_start: bool = True
    enabled: bool = True
    next: str | None = None
    vars: tuple[GenVar, ...] = field(default_factory=tuple)
    insns: tuple[GenInsn, ...] = field(default_factory=tuple)

    @property
    def frame_len(self) -> int:
        """On-the-wire frame length (template + FCS)."""
        return len(self.packet) + _FCS

    def pps(self, line_rate_bps: float = 10e9) -> float:
        """The stream's rate in packets/s; ``line_rate_bps`` is used for
        "percentage" rates only."""
        if self.rate_type == "pps":
            return float(self.rate)
        if self.rate_type == "bps_L2":
            return self.rate / (8 * self.frame_len)
        if self.rate_type == "bps_L1":
            return self.rate / (8 * (self.frame_len + _L1_EXTRA))
        if self.rate_type == "percentage":
            bps = line_rate_bps * self.rate / 100.0
            return bps / (8 * (self.frame_len + _L1_EXTRA))
        raise InputError(f"stream {self.index}: unknown rate type {self.rate_type}")


def _err(idx: int, msg: str) -> InputError:
    return InputError(f"stream {idx}: {msg}")


def _int(idx: int, d: dict, key: str, what: str) -> int:
    try:
        v = d[key]
    except KeyError:
        raise _err(idx, f"{what}: missing '{key}'") from None
    if isinstance(v, bool) or not isinstance(v, int):
        raise _err(idx, f"{what}: '{key}' must be an integer, not {v!r}")
    return v


def _vm(idx: int, instructions: list, plen: int):
    vars_: list[GenVar] = []
    index: dict[str, int] = {}
    insns: list[GenInsn] = []
    for n, ins in enumerate(instructions):
        kind = ins.get("type")
        what = f"instruction {n} ({kind})"
        if kind == "flow_var":
            if ins.get("value_list"):
                raise _err(idx, f"{what}: value_list is not supported")
            if ins.get("next_var"):
                raise _err(idx, f"{what}: next_var is not supported")
            size = _int(idx, ins, "size", what)
            if size not in (1, 2, 4, 8):
                raise _err(idx, f"{what}: size {size} not 1, 2, 4 or 8")
            op = ins.get("op")
            if op not in _OPS:
                raise _err(idx, f"{what}: op {op!r} not inc, dec or random")
            lo = _int(idx, ins, "min_value", what)
            hi = _int(idx, ins, "max_value", what)
            step = ins.get("step", 1)
            init = ins.get("init_value", lo)
            if op == "random":
                init = lo
            if not (0 <= lo <= hi < 1 << (8 * size)):
                raise _err(idx, f"{what}: range {lo}..{hi} bad for size {size}")
            if op != "random" and not (lo <= init <= hi and step > 0):
                raise _err(idx, f"{what}: init {init} / step {step} bad")
            name = ins.get("name")
            if name in index:
                raise _err(idx, f"{what}: variable {name!r} defined twice")
            index[name] = len(vars_)
            vars_.append(GenVar(name, size, _OPS[op], init, lo, hi, step))
        elif kind == "write_flow_var":
            name = ins.get("name")
            if name not in index:
                raise _err(idx, f"{what}: unknown variable {name!r}")
            off = _int(idx, ins, "pkt_offset", what)
            if off < 0 or off + vars_[index[name]].size > plen:
                raise _err(idx, f"{what}: offset {off} outside the packet")
            add = ins.get("add_value", 0)
            size = vars_[index[name]].size
            insns.append(
                GenInsn(
                    INSN_WRITE,
                    index[name],
                    1 if ins.get("is_big_endian", True) else 0,
                    off,
                    add % (1 << (8 * size)),  # negative adds wrap like TRex
                )
            )
        elif kind == "fix_checksum_ipv4":
            off = _int(idx, ins, "pkt_offset", what)
            if off < 0 or off + 20 > plen:
                raise _err(idx, f"{what}: offset {off} outside the packet")
            insns.append(GenInsn(INSN_FIX_IP4, 0, 0, off, 0))
        elif kind == "fix_checksum_hw":
            l3 = _int(idx, ins, "l2_len", what)
            l4 = l3 + _int(idx, ins, "l3_len", what)
            proto = _HW_L4.get(ins.get("l4_type"))
            if proto is None:
                raise _err(idx, f"{what}: l4_type {ins.get('l4_type')!r}")
            if proto == 0:
                insns.append(GenInsn(INSN_FIX_IP4, 0, 0, l3, 0))
            else:
                if l4 < l3 + 20 or l4 + 8 > plen:
                    raise _err(idx, f"{what}: offsets {l3}/{l4} bad")
                insns.append(GenInsn(INSN_FIX_L4, proto, 0, l3, l4))
        else:
            raise _err(
                idx,
                f"{what}: field-engine instruction '{kind}' is not supported "
                "by the embedded generator",
            )
    if len(vars_) > MAX_VARS or len(insns) > MAX_INSNS:
        raise _err(idx, f"field-engine program too long (max {MAX_VARS} vars)")
    return tuple(vars_), tuple(insns)


def _mode(idx: int, m: dict) -> dict:
    kind = m.get("type")
    rate = m.get("rate") or {}
    out = {"mode": kind, "rate_type": rate.get("type"), "rate": rate.get("value")}
    if out["rate_type"] not in ("pps", "bps_L1", "bps_L2", "percentage"):
        raise _err(idx, f"rate type {out['rate_type']!r} unknown")
    if not isinstance(out["rate"], int | float) or out["rate"] <= 0:
        raise _err(idx, f"rate {out['rate']!r} must be > 0")
    if kind == "continuous":
        pass
    elif kind == "single_burst":
        out["total_pkts"] = _int(idx, m, "total_pkts", "single_burst")
    elif kind == "multi_burst":
        out["pkts_per_burst"] = _int(idx, m, "pkts_per_burst", "multi_burst")
        out["ibg_usec"] = float(m.get("ibg", 0.0))
        out["count"] = _int(idx, m, "count", "multi_burst")
    else:
        raise _err(idx, f"mode {kind!r} not continuous/single_burst/multi_burst")
    return out


def parse_streams(streams: list[dict]) -> list[StreamPlan]:
    """Turn TRex stream JSON into StreamPlans (disabled streams included,
    marked ``enabled=False``).  Raises InputError on anything gen.c cannot
    run, naming the stream and the instruction."""
    if not isinstance(streams, list):
        raise InputError("TRex stream JSON must be a list of streams")
    plans = []
    for idx, s in enumerate(streams):
        try:
            pkt = base64.b64decode(s["packet"]["binary"], validate=True)
        except (KeyError, TypeError, ValueError) as e:
            raise _err(idx, f"packet.binary missing or not base64 ({e})") from None
        if len(pkt) < 14 or len(pkt) > 0xFFFF:
            raise _err(idx, f"packet of {len(pkt)} bytes")
        if s.get("flow_stats", {}).get("enabled"):
            # counted by TRex itself; the embedded run ignores the tagging
            pass
        vars_, insns = _vm(idx, (s.get("vm") or {}).get("instructions", []), len(pkt))
        plans.append(
            StreamPlan(
                index=idx,
                name=s.get("name"),
                packet=pkt,
                isg_usec=float(s.get("isg", 0.0)),
                self_start=bool(s.get("self_start", True)),
                enabled=bool(s.get("enabled", True)),
                next=s.get("next"),
                vars=vars_,
                insns=insns,
                **_mode(idx, s.get("mode") or {}),
            )
        )
    return plans


def weights(
    plans: list[StreamPlan], line_rate_bps: float = 10e9, resolution: int = 10000
) -> list[int]:
    """Smallest integer weights for ``mup_gen_add_stream`` in the ratio of
    the streams' packet rates (7:4:1 for IMIX), each rate ratio to the
    fastest stream approximated to 1/``resolution``; none below 1."""
    rates = [p.pps(line_rate_bps) for p in plans]
    if not rates:
        return []
    top = max(rates)
    fr = [
        max(Fraction(r / top).limit_denominator(resolution), Fraction(1, resolution))
        for r in rates
    ]
    lcm = math.lcm(*(f.denominator for f in fr))
    w = [int(f * lcm) for f in fr]
    if max(w) >= 1 << 31:  # many unrelated ratios: fall back to rounding
        w = [max(1, round(r / top * resolution)) for r in rates]
    g = math.gcd(*w)
    return [x // g for x in w]


def add_to_generator(ffi, lib, gen, plans: list[StreamPlan], line_rate_bps=10e9):
    """Add the enabled ``plans`` to a ``mup_gen_t`` through a cffi module
    (``ffi``/``lib`` of ``mupvpp._engine`` or any build of gen.c), weighted
    by their packet rates.  Returns the generator's stream indexes."""
    enabled = [p for p in plans if p.enabled]
    out = []
    for p, w in zip(enabled, weights(enabled, line_rate_bps), strict=True):
        cv = ffi.new("mup_gen_var_t[]", max(1, len(p.vars)))
        for i, v in enumerate(p.vars):
            cv[i].size, cv[i].op = v.size, v.op
            cv[i].init, cv[i].min, cv[i].max, cv[i].step = v.init, v.min, v.max, v.step
        ci = ffi.new("mup_gen_insn_t[]", max(1, len(p.insns)))
        for i, x in enumerate(p.insns):
            ci[i].kind, ci[i].var, ci[i].big_endian = x.kind, x.var, x.big_endian
            ci[i].offset, ci[i].add = x.offset, x.add
        rc = lib.mup_gen_add_stream(
            gen, p.packet, len(p.packet), w, cv, len(p.vars), ci, len(p.insns)
        )
        if rc < 0:
            raise _err(p.index, f"generator refused the stream (error {rc})")
        out.append(rc)
    return out
