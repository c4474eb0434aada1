"""`mupvpp bench --trex HOST`: the bench scenarios on a real TRex server.

The official TRex client (PyPI ``lbr-trex-client``) lives in its own venv
(``.venv-trex``; its bundled scapy must not meet ours), so it is driven
through ``_trex_worker.py``: a long-lived subprocess in that interpreter
speaking JSON lines over stdin/stdout (see the worker for the protocol).

What is measured, per scenario (a TRex profile from ``trex_profiles/``,
compiled by :func:`mupvpp.traffic.compile.compile_profile` and loaded with
``STLProfile.from_json`` on the TX port):

* NDR and PDR (0 and 0.5 % loss) by :mod:`mupvpp.bench.search`;
* every trial from **port counters**: packets sent = opackets of the TX
  port(s), received = ipackets of the RX port(s).  Per-stream statistics
  cannot follow a packet across a GTP-U <-> SRv6 rewrite, port counters do;
* rates from the packets actually sent over the time actually taken (TRex
  stretches a run it cannot keep up with; a memif port silently sends
  less), and a trial whose actual TX rate is below 99 % of the target is
  reported as a saturated generator, not as loss in the device under test.

With ``vpp_socket`` the device under test is a live VPP: the intent is
applied through the VPP backend first, and the h.t1st handover moves every
Type 1 session to a new gNB mid-run (loss from port counters too).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import queue
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from mupvpp.bench.search import (
    DEFAULT_PDR_LOSS,
    DEFAULT_PRECISION,
    SATURATION,
    Trial,
    TrialResult,
    search_ndr_pdr,
)
from mupvpp.errors import BackendUnavailable, InputError

WORKER = Path(__file__).resolve().with_name("_trex_worker.py")
SYNC_PORT = 4501
ASYNC_PORT = 4500
CONNECT_TIMEOUT_S = 15.0

__all__ = [
    "TRexDriver",
    "run_trex_bench",
    "measure_trex",
]


class TRexDriver:
    """One TRex server, through the worker subprocess.

    Use as a context manager; every method raises BackendUnavailable (naming
    host and port) when the server or the worker fails.
    """

    def __init__(
        self,
        host: str,
        sync_port: int = SYNC_PORT,
        async_port: int = ASYNC_PORT,
        *,
        python: str | os.PathLike | None = None,
        timeout_s: float = CONNECT_TIMEOUT_S,
    ):
        self.host = host
        self.sync_port = int(sync_port)
        self.async_port = int(async_port)
        self.timeout_s = timeout_s
        self.where = f"TRex server {host}:{self.sync_port}"
        self.info: dict = {}
        self._id = 0
        self._python = python
        self._proc: subprocess.Popen | None = None
        self._lines: queue.Queue = queue.Queue()
        self._stderr = tempfile.TemporaryFile(mode="w+", encoding="utf-8")

    # -- process ---------------------------------------------------------------
    def _spawn(self) -> None:
        if self._python is None:
            from mupvpp.traffic.compile import trex_python

            try:
                self._python = trex_python()
            except InputError as e:
                raise BackendUnavailable(f"{self.where}: {e}") from None
        try:
            self._proc = subprocess.Popen(
                [str(self._python), str(WORKER)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                text=True,
                bufsize=1,
                cwd=tempfile.gettempdir(),
            )
        except OSError as e:
            raise BackendUnavailable(
                f"{self.where}: cannot start the TRex client ({self._python}): {e}"
            ) from None
        out = self._proc.stdout

        def pump():
            for line in out:
                self._lines.put(line)
            self._lines.put(None)

        threading.Thread(target=pump, daemon=True, name="trex-worker-out").start()

    def _stderr_tail(self, n: int = 1500) -> str:
        try:
            self._stderr.flush()
            self._stderr.seek(0)
            return self._stderr.read()[-n:].strip()
        except (OSError, ValueError):
            return ""

    def call(self, op: str, timeout_s: float = 60.0, **kw) -> dict:
        if self._proc is None:
            self._spawn()
        assert self._proc is not None and self._proc.stdin is not None
        self._id += 1
        req = {"id": self._id, "op": op, **kw}
        try:
            self._proc.stdin.write(json.dumps(req) + "\n")
            self._proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise BackendUnavailable(
                f"{self.where}: TRex client worker died: {self._stderr_tail()}"
            ) from None
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.close(kill=True)
                raise BackendUnavailable(
                    f"{self.where}: no answer to {op!r} within {timeout_s:.0f} s"
                ) from None
            if line is None:
                rc = self._proc.wait()
                self._proc = None
                raise BackendUnavailable(
                    f"{self.where}: TRex client worker exited ({rc}) during "
                    f"{op!r}: {self._stderr_tail()}"
                )
            try:
                reply = json.loads(line)
            except json.JSONDecodeError:
                continue  # not ours (a stray print): the worker answers in JSON
            if reply.get("id") == self._id:
                break
        if not reply.get("ok"):
            err = reply.get("error", "unknown error")
            if reply.get("kind") == "connect":
                raise BackendUnavailable(
                    f"{self.where} unreachable: {err} (is `t-rex-64 -i` running "
                    f"there, RPC port {self.sync_port} and async port "
                    f"{self.async_port} open?)"
                )
            raise BackendUnavailable(f"{self.where}: {op}: {err}")
        return reply

    # -- API ---------------------------------------------------------------------
    def connect(self) -> dict:
        self.info = self.call(
            "connect",
            timeout_s=self.timeout_s + 30,
            host=self.host,
            sync_port=self.sync_port,
            async_port=self.async_port,
            timeout=self.timeout_s,
        )
        return self.info

    def reset(self, ports: list[int] | None = None, promiscuous: bool = True) -> None:
        self.call("reset", ports=ports, promiscuous=promiscuous)

    def load(self, port: int, streams: list[dict]) -> int:
        return self.call("load", port=port, streams=streams)["streams"]

    def stats(self, ports: list[int] | None = None) -> dict:
        return self.call("stats", ports=ports)["ports"]

    def start(self, tx_ports: list[int], pps: float, duration: float = -1) -> None:
        self.call("start", tx_ports=tx_ports, pps=pps, duration=duration)

    def stop(self, ports: list[int] | None = None) -> None:
        self.call("stop", ports=ports)

    def run_trial(
        self,
        tx_ports: list[int],
        rx_ports: list[int],
        pps: float,
        duration: float,
        drain_s: float = 0.25,
    ) -> tuple[TrialResult, dict]:
        """One run at ``pps`` (all TX ports together) for ``duration`` s:
        (TrialResult from port counters, the worker's raw reply)."""
        raw = self.call(
            "trial",
            timeout_s=3 * duration + 60,
            tx_ports=tx_ports,
            rx_ports=rx_ports,
            pps=pps,
            duration=duration,
            drain_s=drain_s,
        )
        return trial_result(raw, pps, duration), raw

    def close(self, kill: bool = False) -> None:
        p, self._proc = self._proc, None
        if p is not None:
            with contextlib.suppress(OSError, ValueError):
                if not kill:
                    self._id += 1
                    p.stdin.write(json.dumps({"id": self._id, "op": "quit"}) + "\n")
                    p.stdin.flush()
                p.stdin.close()
            try:
                p.wait(timeout=0.5 if kill else 10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        with contextlib.suppress(OSError):
            self._stderr.close()

    def __enter__(self) -> TRexDriver:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def trial_result(raw: dict, pps: float, duration: float) -> TrialResult:
    """The worker's trial reply as a TrialResult.

    The time taken is the asked duration unless the TX counters kept moving
    clearly longer (TRex stretched the run): then it is the measured TX
    time.  A run that ended early counts at the asked duration (it sent
    less: that is what saturation means)."""
    measured = float(raw.get("tx_time_s", 0.0))
    slack = float(raw.get("tx_time_err_s", 0.05)) + 0.02 * duration
    took = measured if measured > duration + slack else duration
    return TrialResult(
        sent=int(raw["sent"]),
        received=int(raw["received"]),
        duration_s=took,
        offered_pps=float(pps),
    )


def _line_rate_pps(port_info: dict, frame_bytes: int) -> float | None:
    """Line rate of a port at a frame size (20 B of preamble and IFG)."""
    speed = port_info.get("speed")
    try:
        gbps = float(speed)
    except (TypeError, ValueError):
        return None
    if gbps <= 0:
        return None
    return gbps * 1e9 / ((frame_bytes + 20) * 8)


def _frame_bytes(streams: list[dict]) -> int:
    import base64

    sizes = [
        len(base64.b64decode(s["packet"]["binary"]))
        for s in streams
        if s.get("enabled", True)
    ]
    return round(sum(sizes) / len(sizes)) + 4 if sizes else 64  # + FCS


def measure_trex(
    drv: TRexDriver,
    streams: list[dict],
    *,
    tx_ports: list[int],
    rx_ports: list[int],
    duration: float,
    min_pps: float,
    max_pps: float | None,
    precision: float = DEFAULT_PRECISION,
    pdr_loss: float = DEFAULT_PDR_LOSS,
    max_trials: int = 30,
    saturation: float = SATURATION,
    on_trial: Callable[[Trial], None] | None = None,
) -> dict:
    """NDR/PDR search of one stream set, loaded on every TX port."""
    drv.reset(sorted(set(tx_ports) | set(rx_ports)))
    for p in tx_ports:
        drv.load(p, streams)
    frame = _frame_bytes(streams)
    if max_pps is None:
        rates = [
            _line_rate_pps(pi, frame)
            for pi in drv.info.get("ports", [])
            if pi.get("id") in tx_ports
        ]
        rates = [r for r in rates if r]
        max_pps = sum(rates) if rates else 1e7
    max_pps = max(max_pps, min_pps)
    raws: list[dict] = []

    def trial(rate: float, d: float) -> TrialResult:
        r, raw = drv.run_trial(tx_ports, rx_ports, rate, d)
        raws.append(raw)
        return r

    res = search_ndr_pdr(
        trial,
        min_pps,
        max_pps,
        duration,
        pdr_loss=pdr_loss,
        precision=precision,
        max_trials=max_trials,
        saturation=saturation,
        progress=on_trial,
    )
    doc = res.as_dict()
    for t, raw in zip(doc["trials"], raws, strict=True):
        t["ports"] = raw.get("ports", {})
        t["measured_tx_s"] = raw.get("tx_time_s")
        t["wall_s"] = raw.get("wall_s")
    doc["frame_bytes"] = frame
    doc["ndr_mpps"] = round(res.ndr.rate_pps / 1e6, 6)
    doc["pdr_mpps"] = round(res.pdr.rate_pps / 1e6, 6)
    doc["ndr_gbps"] = round(res.ndr.rate_pps * frame * 8 / 1e9, 6)
    doc["pdr_gbps"] = round(res.pdr.rate_pps * frame * 8 / 1e9, 6)
    doc["generator_limited"] = res.ndr.generator_limited or res.pdr.generator_limited
    return doc


def _handover_trex(
    drv: TRexDriver,
    backend,
    intent,
    streams: list[dict],
    *,
    tx_ports: list[int],
    rx_ports: list[int],
    pps: float,
    duration: float,
    new_gnb: str = "192.0.2.11",
) -> dict:
    """Constant downlink at ``pps``; half-way every Type 1 session of the
    intent moves to ``new_gnb`` on the live VPP.  Loss from port counters:
    opackets of the TX ports minus ipackets of the RX ports."""
    import ipaddress

    from mupvpp.plan import plan

    moved = tuple(
        dataclasses.replace(t, gnb=ipaddress.ip_address(new_gnb), teid=t.teid + 0x1000)
        for t in intent.type1
    )
    desired = dataclasses.replace(intent, type1=moved)
    drv.reset(sorted(set(tx_ports) | set(rx_ports)))
    for p in tx_ports:
        drv.load(p, streams)
    before = drv.stats()
    t0 = time.monotonic()
    drv.start(tx_ports, pps, duration)
    time.sleep(duration / 2)
    at = time.monotonic() - t0
    ops = plan(desired, backend.read_state())
    t1 = time.monotonic()
    backend.apply(ops, desired)
    took = time.monotonic() - t1
    # let the run finish and in-flight packets land
    end = t0 + duration * 1.5 + 1.0
    while time.monotonic() < end:
        time.sleep(0.1)
    time.sleep(0.25)
    drv.stop(tx_ports)
    after = drv.stats()

    def delta(ports, key):
        return sum(after[str(p)][key] - before[str(p)][key] for p in ports)

    sent = delta(tx_ports, "opackets")
    received = delta(rx_ports, "ipackets")
    lost = max(0, sent - received)
    wall = time.monotonic() - t0
    rate = sent / duration if duration else 0.0
    saturated = rate < SATURATION * pps
    # restore the intent's sessions for the next run
    backend.apply(plan(intent, backend.read_state()), intent)
    return {
        "sessions": len(intent.type1),
        "offered_pps": pps,
        "sent": sent,
        "received": received,
        "lost": lost,
        "loss_ratio": lost / sent if sent else None,
        "convergence_ms": round(lost / rate * 1e3, 3) if rate else None,
        "handover_at_s": round(at, 3),
        "handover_took_ms": round(took * 1e3, 3),
        "ops": len(ops),
        "saturated": saturated,
        "wall_s": round(wall, 3),
    }


def _resolve_scenarios(scenarios, keys):
    from mupvpp.bench.scenarios import PROFILE_DIR, SCENARIOS, Scenario

    if scenarios is None:
        return [s for s in SCENARIOS if s.behavior in keys]
    out = []
    by_name = {s.name: s for s in SCENARIOS}
    for s in scenarios:
        if isinstance(s, Scenario):
            out.append(s)
        elif s in by_name:
            out.append(by_name[s])
        else:
            p = Path(s)
            if not p.exists() and (PROFILE_DIR / s).exists():
                p = PROFILE_DIR / s
            if not p.exists():
                raise InputError(f"scenario {s!r}: no such scenario or profile")
            out.append(Scenario(p.stem, "", str(p), {}))
    return out


def run_trex_bench(
    config_path: str | os.PathLike,
    scenarios: Iterable | None,
    trex_host: str,
    duration: float,
    out_dir: str | os.PathLike | None,
    progress: Callable[[str, float, str], None] | None = None,
    *,
    vpp_socket: str | None = None,
    state_path: str = ".mupvpp-state.json",
    sync_port: int = SYNC_PORT,
    async_port: int = ASYNC_PORT,
    tx_ports: Iterable[int] = (0,),
    rx_ports: Iterable[int] = (1,),
    min_pps: float = 1000.0,
    max_pps: float | None = None,
    precision: float = DEFAULT_PRECISION,
    pdr_loss: float = DEFAULT_PDR_LOSS,
    max_trials: int = 30,
    handover: bool = True,
    handover_pps: float | None = None,
    python: str | os.PathLike | None = None,
) -> dict:
    """NDR/PDR per scenario on a real TRex; JSON-ready result.

    ``scenarios``: Scenario objects, scenario names or profile paths; None =
    the built-in scenarios whose behaviour CONFIG has.  ``progress(name,
    fraction, message)`` is called after every trial.  With ``vpp_socket``
    CONFIG is applied to that VPP first and the handover is measured (it
    needs a DUT the bench can reconfigure).  ``out_dir``: where
    ``bench-trex.json`` is written (None: not written).
    """
    from mupvpp.config import load_intent
    from mupvpp.traffic.compile import compile_profile

    intent = load_intent(str(config_path))
    keys = {s.behavior.key for s in intent.sids}
    scen = _resolve_scenarios(scenarios, keys)
    tx = [int(p) for p in tx_ports]
    rx = [int(p) for p in rx_ports]
    if not tx or not rx:
        raise InputError("need at least one TX and one RX port")
    doc: dict = {
        "config": str(config_path),
        "engine": "trex",
        "trex": {"host": trex_host, "sync_port": sync_port},
        "dut": f"vpp {vpp_socket}" if vpp_socket else "external (not configured)",
        "duration_s": duration,
        "tx_ports": tx,
        "rx_ports": rx,
        "precision": precision,
        "pdr_loss_ratio": pdr_loss,
        "scenarios": [],
        "handover": None,
    }
    with contextlib.ExitStack() as stack:
        backend = None
        if vpp_socket:
            from mupvpp.backends import open_backend
            from mupvpp.plan import plan

            backend = stack.enter_context(open_backend(vpp_socket, state_path))
            ops = plan(intent, backend.read_state())
            backend.apply(ops, intent)
            doc["vpp_ops_applied"] = len(ops)
        drv = stack.enter_context(
            TRexDriver(trex_host, sync_port, async_port, python=python)
        )
        info = drv.connect()
        doc["trex"].update(
            server_version=info.get("server_version"),
            client_version=info.get("client_version"),
            ports=info.get("ports"),
        )
        n_ports = int(info.get("port_count", 0))
        bad = [p for p in tx + rx if p >= n_ports]
        if bad:
            raise InputError(
                f"{drv.where} has {n_ports} port(s); ports {bad} do not exist"
            )
        total = len(scen) + (1 if handover and vpp_socket else 0)
        for i, s in enumerate(scen):
            streams = compile_profile(s.path, dict(s.tunables))
            if progress:
                progress(s.name, i / max(1, total), "compiled")

            def on_trial(t: Trial, name=s.name, i=i):
                if progress:
                    frac = (i + min(1.0, (t.index + 1) / max_trials)) / max(1, total)
                    sat = " saturated" if t.saturated else ""
                    progress(
                        name,
                        frac,
                        f"trial {t.index}: {t.target_pps:.0f} pps, "
                        f"loss {t.loss_ratio:.4%}{sat}",
                    )

            row = measure_trex(
                drv,
                streams,
                tx_ports=tx,
                rx_ports=rx,
                duration=duration,
                min_pps=min_pps,
                max_pps=max_pps,
                precision=precision,
                pdr_loss=pdr_loss,
                max_trials=max_trials,
                on_trial=on_trial,
            )
            row = {"scenario": s.name, "profile": str(s.path), **row}
            doc["scenarios"].append(row)
        if handover and "h.t1st" in keys:
            if backend is None:
                doc["handover"] = {
                    "skipped": "needs --vpp: the device under test must be "
                    "reconfigured mid-run"
                }
            elif not intent.type1:
                doc["handover"] = {"skipped": "the configuration has no type1 sessions"}
            else:
                from mupvpp.bench.scenarios import PROFILE_DIR

                streams = compile_profile(
                    PROFILE_DIR / "handover_downlink.py",
                    {"n_ue": len(intent.type1)},
                )
                ndr = [  # the h.t1st scenario, or --profile handover_downlink
                    r["ndr_pps"]
                    for r in doc["scenarios"]
                    if r["scenario"] == "h.t1st"
                    or Path(r["profile"]).name == "handover_downlink.py"
                ]
                pps = handover_pps or (0.5 * ndr[0] if ndr and ndr[0] else min_pps)
                doc["handover"] = _handover_trex(
                    drv,
                    backend,
                    intent,
                    streams,
                    tx_ports=tx,
                    rx_ports=rx,
                    pps=pps,
                    duration=max(1.0, 2 * duration),
                )
                if progress:
                    progress("handover", 1.0, "done")
        if backend is not None:
            with contextlib.suppress(Exception):
                doc["vpp_counters"] = backend.counters()
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        path = out / "bench-trex.json"
        path.write_text(json.dumps(doc, indent=2, default=str))
        doc["written"] = str(path)
    return doc


def format_table(doc: dict) -> str:
    """A plain-text summary of :func:`run_trex_bench`'s result."""
    lines = [
        f"{'scenario':<20} {'frame':>5} {'NDR Mpps':>10} {'PDR Mpps':>10} "
        f"{'trials':>6}  notes"
    ]
    for r in doc.get("scenarios", []):
        notes = []
        if r.get("generator_limited"):
            notes.append("generator-limited (DUT not saturated)")
        elif r.get("saturated"):
            notes.append("generator saturated in some trials")
        if r["ndr"].get("at_max"):
            notes.append("NDR at max rate")
        if r["ndr"].get("below_min"):
            notes.append("NDR below min rate")
        if not (r["ndr"].get("converged") and r["pdr"].get("converged")):
            notes.append("not converged")
        lines.append(
            f"{r['scenario']:<20} {r['frame_bytes']:>5} {r['ndr_mpps']:>10.4f} "
            f"{r['pdr_mpps']:>10.4f} {len(r['trials']):>6}  {'; '.join(notes)}"
        )
    ho = doc.get("handover")
    if ho:
        if "skipped" in ho:
            lines.append(f"handover: skipped ({ho['skipped']})")
        else:
            lines.append(
                f"handover: {ho['sessions']} sessions at {ho['offered_pps']:.0f} pps, "
                f"lost {ho['lost']} ({ho['convergence_ms']} ms)"
                + (" [generator saturated]" if ho.get("saturated") else "")
            )
    return "\n".join(lines)
