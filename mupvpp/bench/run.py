"""Throughput and handover measurements on the embedded engine.

All per-packet work happens in C (``mup_pump``: generator -> classifier ->
behaviour, one 256-packet vector at a time).  Cycles are read with the TSC
around the data plane only; Mpps figures are derived from them and from
wall time, both reported.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from mupvpp.bench.scenarios import AIM
from mupvpp.engine import ERROR_NAMES, HEADROOM, STRIDE, Engine, EngineError, ffi, lib
from mupvpp.model import Behavior, Intent
from mupvpp.traffic.compile import compile_profile
from mupvpp.traffic.streams import add_to_generator, parse_streams

VECTOR = 256


def tsc_hz(sample_s: float = 0.05) -> float:
    """TSC frequency, calibrated against the monotonic clock."""
    t0, c0 = time.perf_counter_ns(), lib.mup_rdtsc()
    time.sleep(sample_s)
    t1, c1 = time.perf_counter_ns(), lib.mup_rdtsc()
    return (c1 - c0) * 1e9 / (t1 - t0) if c1 > c0 else 0.0


class Pump:
    """A generator loaded with a profile's streams, feeding an engine."""

    def __init__(self, engine: Engine, profile, tunables: dict | None = None):
        self.engine = engine
        self.streams = compile_profile(profile, tunables or {})
        self.plans = parse_streams(self.streams)
        self.gen = ffi.gc(lib.mup_gen_new(), lib.mup_gen_free)
        add_to_generator(ffi, lib, self.gen, self.plans)
        self.buf = ffi.new("uint8_t[]", VECTOR * STRIDE)
        self.pkts = ffi.new("mup_pkt_t[]", VECTOR)
        self.frame_len = round(
            sum(p.frame_len for p in self.plans if p.enabled)
            / max(1, sum(1 for p in self.plans if p.enabled))
        )

    def run(self, n_vectors: int, st, now_ns: int = 0, ns_per_vector: int = 0):
        rc = lib.mup_pump(
            self.engine.raw,
            self.gen,
            self.buf,
            STRIDE,
            HEADROOM,
            self.pkts,
            VECTOR,
            n_vectors,
            now_ns,
            ns_per_vector,
            st,
        )
        if rc < 0:
            raise RuntimeError("generator could not fill a vector (packet too big?)")


@dataclass
class Throughput:
    scenario: str
    profile: str
    sid: str
    behavior: str
    frame_bytes: int
    packets: int
    forwarded: int
    dropped: int
    cycles_per_packet: float
    mpps_core: float  # TSC Hz / cycles per packet: the data plane alone
    mpps_wall: float  # packets / wall time, generator included
    drops: dict = field(default_factory=dict)


def _sid_of(engine: Engine, before: dict, after: dict) -> tuple[str, dict]:
    """The SID whose counters moved most, and its drop reasons."""
    best, best_n, drops = "", -1, {}
    for name, c in after.items():
        b = before.get(name, {})
        moved = {
            k: v - b.get(k, 0) for k, v in c.items() if k != "bytes" and v - b.get(k, 0)
        }
        n = sum(moved.values())
        if n > best_n:
            best, best_n = name, n
            drops = {k: v for k, v in moved.items() if k != ERROR_NAMES[0]}
    return best, drops


class Skipped(Exception):
    """A scenario whose traffic does not reach what it is meant to measure;
    ``reason`` is one line for the table and the JSON."""

    def __init__(self, scenario, reason: str):
        self.scenario = scenario
        self.reason = reason
        super().__init__(reason)


def _packet_dst(packet: bytes) -> str:
    """The IP destination of an Ethernet frame (802.1Q tag skipped)."""
    off = 18 if packet[12:14] == b"\x81\x00" else 14
    etype = packet[off - 2 : off]
    try:
        if etype == b"\x08\x00":
            return str(ipaddress.IPv4Address(packet[off + 16 : off + 20]))
        if etype == b"\x86\xdd":
            return str(ipaddress.IPv6Address(packet[off + 24 : off + 40]))
    except ipaddress.AddressValueError:
        pass
    return "?"


def _check_reaches(engine: Engine, scenario, pump: Pump, sid: str) -> None:
    """Raise Skipped unless the warm-up traffic reached a SID of the
    scenario's behaviour (any SID for a profile without one)."""
    want = scenario.behavior
    beh = engine.behavior.get(sid)
    if beh is not None and (not want or beh.key == want):
        return
    profile = Path(scenario.profile).name
    dsts = sorted({_packet_dst(p.packet) for p in pump.plans if p.enabled})
    goes = ", ".join(dsts[:2]) + (", ..." if len(dsts) > 2 else "")
    what = f"no {want} SID" if want else "no SID"
    if not want:
        hint = "check its -t tunables"
    elif profile in AIM:
        hint = "use --profile with -t"
    else:  # nothing to aim it with
        hint = "use --profile with a profile that sends to it"
    reason = f"traffic of {profile} reaches {what} of this config (it goes to {goes})"
    if beh is not None:
        reason += f", but {sid} ({beh.key})"
    raise Skipped(scenario, f"{reason}; {hint}")


def throughput(
    engine: Engine,
    scenario,
    duration_s: float,
    hz: float,
    progress=None,
) -> Throughput:
    """Measure one scenario; Skipped when its traffic does not reach a SID
    of its behaviour (a configuration with other addresses than the
    profile's)."""
    pump = Pump(engine, scenario.path, scenario.tunables)
    st = ffi.new("mup_pump_stats_t *")
    warm = engine.counters()
    pump.run(16, st)  # warm caches and the branch predictor
    before = engine.counters()
    _check_reaches(engine, scenario, pump, _sid_of(engine, warm, before)[0])
    st = ffi.new("mup_pump_stats_t *")
    chunk = 64
    t0 = time.perf_counter()
    deadline = t0 + duration_s
    while True:
        pump.run(chunk, st, engine.now_ns())
        now = time.perf_counter()
        if progress:
            progress(min(1.0, (now - t0) / max(duration_s, 1e-9)))
        if now >= deadline:
            break
    wall = time.perf_counter() - t0
    sid, drops = _sid_of(engine, before, engine.counters())
    cpp = st.cycles / st.sent if st.sent else 0.0
    beh = engine.behavior.get(sid)
    return Throughput(
        scenario=scenario.name,
        profile=scenario.profile,
        sid=sid,
        behavior=beh.key if beh else "",
        frame_bytes=pump.frame_len,
        packets=st.sent,
        forwarded=st.forwarded,
        dropped=st.dropped,
        cycles_per_packet=round(cpp, 1),
        mpps_core=round(hz / cpp / 1e6, 2) if cpp else 0.0,
        mpps_wall=round(st.sent / wall / 1e6, 2),
        drops=drops,
    )


@dataclass
class Handover:
    headend: str
    ues: int
    offered_mpps: float  # achieved rate of the generator -> engine loop
    sent: int
    via_old: int
    via_new: int
    other: int
    lost: int
    convergence_ms: float  # lost / offered rate (RFC 6412 style)
    handover_at_s: float
    handover_took_ms: float  # time the control plane spent swapping sessions
    end_markers: int = 0  # End Markers built for the old path, one per UE
    end_markers_not_sent: int = 0  # refused (policy without an SRH, ...)
    series: list = field(default_factory=list)  # (t_s, old, new, lost) per slice


def _probe_offset(intent: Intent, headend: str) -> int:
    """Byte offset of the gNB IPv4 address in an H.M.T1ST output, 0 if the
    address is not octet-aligned (then per-path counts are not probed)."""
    sid = intent.sid(headend)
    pol = intent.policy(sid.policy)
    if not pol.args_len or pol.args_len % 8:
        return 0
    srh = len(pol.segments) > 1 or sid.always_srh
    return (48 if srh else 24) + pol.args_len // 8


def handover(
    engine: Engine,
    intent: Intent,
    profile,
    n_ue: int = 1000,
    duration_s: float = 2.0,
    slice_vectors: int = 16,
    old_gnb: str = "192.0.2.10",
    new_gnb: str = "192.0.2.11",
    progress=None,
) -> Handover:
    """Constant downlink to n_ue UEs (the first addresses of the headend's
    match) through the H.M.T1ST headend; half-way
    the Type 1 session of every UE moves to a new gNB (make-before-break:
    each session is replaced atomically, from a second thread, while the
    data plane runs).  Counts what arrives via the old and the new gNB."""
    headends = [s for s in intent.sids if s.behavior == Behavior.H_T1ST]
    if not headends:
        raise ValueError("the configuration has no h.t1st headend for a handover")
    he = headends[0].name
    pool = headends[0].prefix
    if pool.version != 4 or pool.num_addresses - 1 < n_ue:
        raise ValueError(
            f"h.t1st {he} matches {pool}: the handover needs {n_ue} IPv4 UEs in it"
        )
    first = pool.network_address + (1 if pool.prefixlen < 32 else 0)
    ues = [first + i for i in range(n_ue)]
    for i, ue in enumerate(ues):
        engine.t1st_set(he, f"{ue}/32", old_gnb, 0x1000 + i, 9)
    pump = Pump(engine, profile, {"n_ue": n_ue, "ue": str(first)})
    st = ffi.new("mup_pump_stats_t *")
    st.probe_off = _probe_offset(intent, he)
    st.probe_a = int(ipaddress.IPv4Address(old_gnb))
    st.probe_b = int(ipaddress.IPv4Address(new_gnb))
    pump.run(4, st)
    st = ffi.new("mup_pump_stats_t *")
    st.probe_off = _probe_offset(intent, he)
    st.probe_a = int(ipaddress.IPv4Address(old_gnb))
    st.probe_b = int(ipaddress.IPv4Address(new_gnb))

    done = {}

    def move():
        # per UE: the End Marker of the old session (3GPP TS 29.281 section
        # 7.3.2) is built before the swap and belongs on the old path after it
        markers = refused = 0
        t = time.perf_counter()
        for i, ue in enumerate(ues):
            try:
                engine.t1st_end_marker(he, f"{ue}/32")
                markers += 1
            except EngineError:
                refused += 1
            engine.t1st_set(he, f"{ue}/32", new_gnb, 0x2000 + i, 9)
        done["took"] = time.perf_counter() - t
        done["markers"], done["refused"] = markers, refused

    series = []
    mover = threading.Thread(target=move)
    t0 = time.perf_counter()
    started = False
    prev = (0, 0, 0, 0)
    while True:
        now = time.perf_counter() - t0
        if not started and now >= duration_s / 2:
            done["at"] = now
            mover.start()
            started = True
        pump.run(slice_vectors, st, engine.now_ns())
        cur = (st.sent, st.hits_a, st.hits_b, st.sent - st.forwarded)
        series.append(
            (
                round(now, 6),
                cur[1] - prev[1],
                cur[2] - prev[2],
                cur[3] - prev[3],
            )
        )
        prev = cur
        if progress:
            progress(min(1.0, now / max(duration_s, 1e-9)))
        # run on until the swap is over and the stated duration has passed
        if now >= duration_s and started and not mover.is_alive():
            break
    mover.join()
    wall = time.perf_counter() - t0
    rate = st.sent / wall
    lost = st.sent - st.forwarded
    return Handover(
        headend=he,
        ues=n_ue,
        offered_mpps=round(rate / 1e6, 3),
        sent=st.sent,
        via_old=st.hits_a,
        via_new=st.hits_b,
        other=st.hits_other,
        lost=lost,
        convergence_ms=round(lost / rate * 1e3, 6) if rate else 0.0,
        handover_at_s=round(done.get("at", 0.0), 3),
        handover_took_ms=round(done.get("took", 0.0) * 1e3, 3),
        end_markers=done.get("markers", 0),
        end_markers_not_sent=done.get("refused", 0),
        series=series,
    )
