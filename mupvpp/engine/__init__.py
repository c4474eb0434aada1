"""The embedded data plane: the C core (vpp_plugins/srv6_mup/core) through cffi.

``Engine`` owns one ``mup_engine_t``: a destination classifier in front of
the core behaviours, with counters per SID and drop reason.  Python never
loops over packets on the fast path: ``process`` hands a whole vector to C;
the per-packet loop in ``process_bytes`` only copies bytes in and out for
tools such as ``mupvpp replay``.
"""

from __future__ import annotations

import ipaddress
import os
import time
from dataclasses import dataclass

from mupvpp.model import Behavior, InnerType, Intent, Sid

try:
    if os.environ.get("MUPVPP_SANITIZE") == "1":  # make test-asan
        from mupvpp._engine_asan import ffi, lib
    else:
        from mupvpp._engine import ffi, lib
except ImportError as exc:  # pragma: no cover - only without a build
    raise ImportError(
        "the embedded engine (mupvpp._engine) is not built: "
        "run `make` or `pip install -e .`"
    ) from exc

N_ERRORS = lib.mup_n_errors()
ERROR_NAMES = [ffi.string(lib.mup_error_name(i)).decode() for i in range(N_ERRORS)]
NEXT_NAMES = {0: "drop", 1: "ip4-lookup", 2: "ip6-lookup"}
HEADROOM = lib.MUP_PRE_DATA
STRIDE = 2048
MAX_PACKET = 65535 - 256  # an IP packet plus room to encapsulate


class EngineError(ValueError):
    """A configuration the core refused, with its reason."""


@dataclass(frozen=True)
class Result:
    """What became of one packet."""

    data: bytes  # the packet as it leaves (the input, unchanged, if dropped)
    next: str  # "drop", "ip4-lookup", "ip6-lookup"
    error: str  # drop reason, "forwarded" when forwarded
    sid: str  # name of the SID/headend that handled it ("" if none)
    fib_index: int


def _a16(addr) -> bytes:
    return ipaddress.ip_address(addr).packed.ljust(16, b"\0")


def sid_params(sid: Sid, intent: Intent):
    """Translate a validated Sid into the core's mup_sid_params_t."""
    p = ffi.new("mup_sid_params_t *")
    p.behavior = int(sid.behavior)
    flags = 0
    node = intent.node
    if node.compat.u_bit == "vpp":
        flags |= lib.MUP_F_U_PDU_TYPE
    if node.udp4_checksum:
        flags |= lib.MUP_F_UDP4_CSUM
    if sid.always_srh:
        flags |= lib.MUP_F_ALWAYS_SRH
    p.fib_index = sid.fib_table
    p.nh = int(sid.inner) if sid.inner is not None else int(InnerType.DETECT)
    p.pdu_type = sid.pdu_type or 0
    if sid.prefix.version == 6:
        p.sid_len = sid.prefix.prefixlen
    b = sid.behavior
    if b == Behavior.END_M_GTP4_E:
        if sid.ipv4_source is not None:
            flags |= lib.MUP_F_FIXED_SRC4
            ffi.memmove(p.src4, sid.ipv4_source.packed, 4)
        else:
            p.src_len = sid.ipv4_source_len or 0
    if b == Behavior.END_M_GTP6_E and sid.source is not None:
        flags |= lib.MUP_F_FIXED_SRC6
        ffi.memmove(p.src6, sid.source.packed, 16)
    if sid.policy:
        pol = intent.policy(sid.policy)
        p.nsegs = len(pol.segments)
        for i, seg in enumerate(pol.segments):
            ffi.memmove(p.segs[i], seg.packed, 16)
        p.dst_len = pol.args_len or 0
        if node.compat.args == "vpp" and pol.args_len is not None:
            # VPP's reading: the policy stays intact and an extra segment,
            # built from its last one, carries the arguments.
            flags |= lib.MUP_F_VPP_ARGS
            ffi.memmove(p.dst_prefix, pol.segments[-1].packed, 16)
        if b == Behavior.H_M_GTP4_D:
            sp = sid.source_prefix
            ffi.memmove(p.src6, sp.network_address.packed, 16)
            p.src_len = sp.prefixlen
        else:
            src = sid.source or node.encap_source
            if src is not None:
                ffi.memmove(p.src6, src.packed, 16)
    if b == Behavior.END_LIMIT:
        p.limit_group_bits = sid.limit_group_bits
        p.limit_rate_bits = sid.limit_rate_bits
        p.limit_unit_pps = sid.limit_unit_pps
    p.flags = flags
    return p


class Engine:
    """One embedded data plane, configured from an Intent."""

    def __init__(self, max_sids: int = 1024):
        self._e = ffi.gc(lib.mup_engine_new(max_sids), lib.mup_engine_free)
        if self._e == ffi.NULL:
            raise MemoryError("mup_engine_new failed")
        self.max_sids = max_sids
        self.index: dict[str, int] = {}  # sid name -> index
        self.names: dict[int, str] = {0: ""}
        self.behavior: dict[str, Behavior] = {}
        self._routes: dict[str, tuple[int, bytes, int]] = {}
        self.t0 = time.monotonic_ns()
        self._too_big = 0  # packets process_bytes could not buffer

    # ---- configuration ----
    def _alloc(self, name: str) -> int:
        if name in self.index:
            return self.index[name]
        used = set(self.index.values())
        for i in range(1, self.max_sids + 1):
            if i not in used:
                return i
        raise EngineError(f"more than {self.max_sids} SIDs")

    def set_sid(self, sid: Sid, intent: Intent) -> int:
        """Add or replace a SID (its route, parameters and tables)."""
        idx = self._alloc(sid.name)
        msg = ffi.new("const char **")
        if lib.mup_engine_set_sid(self._e, idx, sid_params(sid, intent), msg) < 0:
            raise EngineError(f"sid {sid.name}: {ffi.string(msg[0]).decode()}")
        self.index[sid.name] = idx
        self.names[idx] = sid.name
        self.behavior[sid.name] = sid.behavior
        old = self._routes.get(sid.name)
        net = sid.prefix
        route = (net.version, net.network_address.packed, net.prefixlen)
        if old and old != route:
            lib.mup_engine_route_del(self._e, int(old[0] == 6), old[1], old[2])
        if (
            lib.mup_engine_route_add(
                self._e, int(net.version == 6), route[1], route[2], idx
            )
            < 0
        ):
            raise EngineError(f"sid {sid.name}: cannot add route {net}")
        self._routes[sid.name] = route
        for frm, to in sid.maps:
            self._check(
                lib.mup_engine_map_set(self._e, idx, frm.packed, to.packed),
                f"sid {sid.name}: map {frm}",
            )
        return idx

    def del_sid(self, name: str) -> None:
        idx = self.index.pop(name)
        route = self._routes.pop(name)
        lib.mup_engine_route_del(self._e, int(route[0] == 6), route[1], route[2])
        lib.mup_engine_del_sid(self._e, idx)
        self.names.pop(idx, None)
        self.behavior.pop(name, None)

    @staticmethod
    def _check(rc: int, what: str) -> int:
        if rc < 0:
            raise EngineError(f"{what}: refused by the data plane (rc {rc})")
        return rc

    def _t1_key(self, ue_prefix) -> tuple[bytes, int]:
        net = ipaddress.ip_network(ue_prefix)
        if net.version == 4:
            return net.network_address.packed.ljust(16, b"\0"), 4
        return net.network_address.packed[:8].ljust(16, b"\0"), 8

    def t1st_set(self, headend: str, ue_prefix, gnb, teid: int, qfi=0, rqi=False):
        """Install or atomically replace (handover) a Type 1 session."""
        v = ffi.new("mup_t1st_t *")
        g = ipaddress.ip_address(gnb)
        ffi.memmove(v.gnb, g.packed, len(g.packed))
        v.is_ip6 = int(g.version == 6)
        v.teid = teid
        v.qfi = qfi
        v.rqi = int(bool(rqi))
        key, klen = self._t1_key(ue_prefix)
        rc = lib.mup_engine_t1st_set(self._e, self.index[headend], key, v, klen)
        return self._check(rc, f"type1 session {ue_prefix}")

    def t1st_end_marker(self, headend: str, ue_prefix) -> bytes:
        """The End Marker (SRv6 form, SRH tag End Marker) for the session
        ue_prefix holds now: send it on the old path before a handover."""
        key, _ = self._t1_key(ue_prefix)
        buf = ffi.new("uint8_t[]", 256)
        msg = ffi.new("const char **")
        n = lib.mup_engine_t1st_end_marker(
            self._e, self.index[headend], key, buf, 256, msg
        )
        if n < 0:
            raise EngineError(
                f"type1 session {ue_prefix}: {ffi.string(msg[0]).decode()}"
            )
        return bytes(ffi.buffer(buf, n))

    def t1st_del(self, headend: str, ue_prefix) -> None:
        key, _ = self._t1_key(ue_prefix)
        self._check(
            lib.mup_engine_t1st_del(self._e, self.index[headend], key),
            f"type1 session {ue_prefix}",
        )

    def t1st_count(self, headend: str) -> int:
        return lib.mup_engine_t1st_count(self._e, self.index[headend])

    def t2st_set(self, headend: str, n3, teid: int, segment) -> int:
        rc = lib.mup_engine_t2st_set(
            self._e,
            self.index[headend],
            ipaddress.ip_address(n3).packed,
            teid,
            _a16(segment),
        )
        return self._check(rc, f"type2 session {n3}/{teid}")

    def t2st_del(self, headend: str, n3, teid: int) -> None:
        self._check(
            lib.mup_engine_t2st_del(
                self._e, self.index[headend], ipaddress.ip_address(n3).packed, teid
            ),
            f"type2 session {n3}/{teid}",
        )

    def load_intent(self, intent: Intent) -> None:
        """Configure everything an intent holds (fresh engine)."""
        for sid in intent.sids:
            self.set_sid(sid, intent)
        for s in intent.type1:
            self.t1st_set(s.headend, s.ue_prefix, s.gnb, s.teid, s.qfi, s.rqi)
        for s in intent.type2:
            self.t2st_set(s.headend, s.n3, s.teid, s.segment)

    # ---- packets ----
    def now_ns(self) -> int:
        return time.monotonic_ns() - self.t0

    def process_bytes(self, packets: list[bytes], now_ns=None):
        """Run packets (each starting at its IP header); return Results.

        ``now_ns``: the data plane's clock (End.Limit buckets): one value for
        the whole batch, or one per packet (``mupvpp replay`` passes the
        capture's timestamps).  A packet too big for a buffer is dropped as
        ``too_big`` and the others still run.
        """
        n = len(packets)
        if n == 0:
            return []
        if now_ns is None:
            now_ns = self.now_ns()
        times = now_ns if isinstance(now_ns, list | tuple) else [now_ns] * n
        if len(times) != n:
            raise ValueError("now_ns: one time per packet")
        biggest = max(len(d) for d in packets)
        stride = max(STRIDE, (HEADROOM + min(biggest, MAX_PACKET) + 64 + 63) & ~63)
        buf = ffi.new("uint8_t[]", n * stride)
        pk = ffi.new("mup_pkt_t[]", n)
        for i, data in enumerate(packets):
            off = i * stride + HEADROOM
            size = len(data) if len(data) <= MAX_PACKET else 0
            ffi.memmove(buf + off, data, size)
            pk[i].data = buf + off
            pk[i].len = size
            pk[i].headroom = HEADROOM
            pk[i].tailroom = stride - HEADROOM - size
        # one engine call per run of packets that share a time; a packet
        # too big for a buffer never reaches the engine (its counters would
        # see an empty packet): it is counted here, as too_big
        i = 0
        while i < n:
            if len(packets[i]) > MAX_PACKET:
                self._too_big += 1
                i += 1
                continue
            j = i + 1
            while j < n and times[j] == times[i] and len(packets[j]) <= MAX_PACKET:
                j += 1
            lib.mup_engine_process(self._e, pk + i, j - i, times[i])
            i = j
        out = []
        for i in range(n):
            p = pk[i]
            if len(packets[i]) > MAX_PACKET:
                p.next, p.error, p.sid_index = 0, ERROR_NAMES.index("too_big"), 0
            fwd = p.error == 0
            data = bytes(ffi.buffer(p.data, p.len)) if fwd else packets[i]
            out.append(
                Result(
                    data=data,
                    next=NEXT_NAMES[p.next],
                    error=ERROR_NAMES[p.error],
                    sid=self.names.get(p.sid_index, ""),
                    fib_index=p.fib_index if fwd else 0,
                )
            )
        return out

    def counters(self) -> dict[str, dict[str, int]]:
        """Counters by SID name: {name: {reason: packets, ..., 'bytes': n}}."""
        out = {}
        arr = ffi.new("uint64_t[]", N_ERRORS + 1)
        for name, idx in [("(no sid)", 0), *sorted(self.index.items())]:
            lib.mup_engine_counters(self._e, idx, arr, N_ERRORS + 1)
            c = {ERROR_NAMES[i]: arr[i] for i in range(N_ERRORS) if arr[i]}
            c["bytes"] = arr[N_ERRORS]
            out[name] = c
        if self._too_big:
            nosid = out["(no sid)"]
            nosid["too_big"] = nosid.get("too_big", 0) + self._too_big
        return out

    def clear_counters(self) -> None:
        lib.mup_engine_clear_counters(self._e)
        self._too_big = 0

    @property
    def raw(self):
        """The underlying mup_engine_t * (for the generator and benches)."""
        return self._e
