"""Runs inside the TRex client venv (.venv-trex), never in mupvpp's own.

A long-lived driver of one TRex server through the official client
(PyPI lbr-trex-client), for ``mupvpp.bench.trex``.  The client brings its
own scapy, which must not meet mupvpp's, hence a separate interpreter.

Protocol: one JSON object per line.  Request on stdin
``{"id": N, "op": OP, ...}``; reply on stdout
``{"id": N, "ok": true, ...}`` or ``{"id": N, "ok": false, "error": MSG,
"kind": "connect" | "trex" | "input" | "internal"}``.  Anything the client
prints goes to stderr.  EOF on stdin or ``{"op": "quit"}`` disconnects and
exits.

Ops:
  hello                      -> client_version
  connect host sync_port async_port timeout
                             -> server_version, port_count, ports (info)
  reset ports promiscuous    acquire (force), stop, remove streams, clear
  load port streams          STLProfile.from_json(streams) onto one port
  trial tx_ports rx_ports pps duration drain_s poll_s
                             -> counters of one timed run (see _trial)
  start tx_ports pps duration / stats ports / stop ports
  quit
"""

import contextlib
import importlib.metadata
import json
import os
import sys
import time

API = {}


def _client_version():
    try:
        return importlib.metadata.version("lbr_trex_client")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _api():
    if not API:
        import lbr_trex_client  # noqa: F401  (puts trex/ on sys.path)
        from trex.stl.api import STLClient, STLError, STLProfile

        API.update(STLClient=STLClient, STLProfile=STLProfile, STLError=STLError)
    return API


class Failure(Exception):
    def __init__(self, kind, msg):
        super().__init__(msg)
        self.kind = kind


class Worker:
    def __init__(self):
        self.c = None
        self.where = None

    # -- ops ------------------------------------------------------------------
    def op_hello(self, req):
        return {"client_version": _client_version(), "python": sys.version.split()[0]}

    def op_connect(self, req):
        api = _api()
        host = req["host"]
        sync_port = int(req.get("sync_port", 4501))
        async_port = int(req.get("async_port", 4500))
        self.where = f"{host}:{sync_port}"
        timeout = req.get("timeout", 10)
        c = api["STLClient"](
            server=host,
            sync_port=sync_port,
            async_port=async_port,
            verbose_level="error",
            sync_timeout=timeout,
            async_timeout=timeout,
        )
        try:
            c.connect()
        except Exception as e:
            raise Failure("connect", f"{type(e).__name__}: {e}") from e
        self.c = c
        ver = c.get_server_version()
        ports = []
        for pid in range(c.get_port_count()):
            info = c.get_port_info(pid)
            info = info[0] if isinstance(info, list) else info
            ports.append(
                {
                    k: info.get(k)
                    for k in ("index", "driver", "speed", "description", "src_mac")
                    if k in info
                }
                | {"id": pid}
            )
        return {
            "client_version": _client_version(),
            "server_version": ver.get("version"),
            "server_build": ver.get("build_date"),
            "mode": ver.get("mode"),
            "port_count": c.get_port_count(),
            "ports": ports,
        }

    def _client(self):
        if self.c is None:
            raise Failure("input", "not connected: send 'connect' first")
        return self.c

    def op_reset(self, req):
        c = self._client()
        ports = req.get("ports") or list(range(c.get_port_count()))
        c.reset(ports=ports)
        if req.get("promiscuous", True):
            with contextlib.suppress(Exception):  # not every PMD has it
                c.set_port_attr(ports=ports, promiscuous=True)
        return {"ports": ports}

    def op_load(self, req):
        c = self._client()
        port = int(req["port"])
        profile = _api()["STLProfile"].from_json(req["streams"])
        streams = profile.get_streams()
        c.remove_all_streams(ports=[port])
        c.add_streams(streams, ports=[port])
        return {"port": port, "streams": len(streams)}

    def _stats(self, ports):
        st = self._client().get_stats(ports=ports)
        out = {}
        for p in ports:
            s = st.get(p, {})
            out[str(p)] = {
                k: int(s.get(k, 0))
                for k in (
                    "opackets",
                    "ipackets",
                    "obytes",
                    "ibytes",
                    "oerrors",
                    "ierrors",
                )
            }
        return out

    def op_stats(self, req):
        c = self._client()
        ports = req.get("ports") or list(range(c.get_port_count()))
        return {"ports": self._stats(ports)}

    def op_start(self, req):
        c = self._client()
        c.start(
            ports=req["tx_ports"],
            mult=f"{float(req['pps']):.3f}pps",
            duration=float(req.get("duration", -1)),
            force=True,
            total=True,
        )
        return {}

    def op_stop(self, req):
        c = self._client()
        c.stop(ports=req.get("ports"))
        return {}

    def op_trial(self, req):
        """One timed run: clear counters, start the TX ports at ``pps`` (in
        total) for ``duration`` s, watch the TX counters until they stop
        moving, let in-flight packets land (``drain_s``), read counters.

        ``tx_time_s`` is the time the TX ports actually took, from the
        samples: TRex stretches a run its cores cannot keep up with, so it
        may exceed ``duration``; the parent decides which to trust.  A run
        stretched beyond ``stretch_limit_s`` (1.5 x duration + 0.5 s) is
        stopped there (``cut_short``): its rate is known by then."""
        c = self._client()
        tx = [int(p) for p in req["tx_ports"]]
        rx = [int(p) for p in req["rx_ports"]]
        allp = sorted(set(tx) | set(rx))
        pps = float(req["pps"])
        duration = float(req["duration"])
        drain = float(req.get("drain_s", 0.25))
        poll = float(req.get("poll_s", 0.02))
        limit = float(req.get("timeout_s", 3 * duration + 30))
        stretch_limit = float(req.get("stretch_limit_s", 1.5 * duration + 0.5))
        cut = False
        c.stop(ports=allp)
        c.clear_stats(ports=allp)

        def txcount():
            st = c.get_stats(ports=tx)
            return sum(int(st.get(p, {}).get("opackets", 0)) for p in tx)

        t_ask = time.monotonic()
        c.start(
            ports=tx, mult=f"{pps:.3f}pps", duration=duration, force=True, total=True
        )
        t_started = time.monotonic()
        samples = [(t_started, txcount())]
        first_move = None  # (t before, t after) of the first increase
        last_move = None  # (t before, t after) of the last increase
        still = 0
        while True:
            time.sleep(poll)
            t = time.monotonic()
            n = txcount()
            tp, np_ = samples[-1]
            if n != np_:
                if first_move is None:
                    first_move = (tp, t)
                last_move = (tp, t)
                still = 0
            else:
                still += 1
            samples.append((t, n))
            active = bool(set(c.get_active_ports()) & set(tx))
            if not active and still >= 2 and t - t_started >= min(duration, 0.05):
                break
            if active and not cut and t - t_started > stretch_limit:
                # TRex is stretching the run (it cannot keep the rate):
                # what it managed so far tells the rate; stop it here.
                c.stop(ports=tx)
                cut = True
            if t - t_ask > limit:
                c.stop(ports=tx)
                raise Failure(
                    "trex",
                    f"trial did not end within {limit:.0f} s (asked {duration} s)",
                )
        time.sleep(drain)
        counters = self._stats(allp)
        sent = sum(counters[str(p)]["opackets"] for p in tx)
        received = sum(counters[str(p)]["ipackets"] for p in rx)
        if first_move and last_move:
            # midpoints of the sampling intervals where TX began and ended
            tx_time = (last_move[0] + last_move[1]) / 2 - (
                first_move[0] + first_move[1]
            ) / 2
            # the first interval may already contain the start: its
            # packets began no earlier than the start RPC returned
            tx_time = max(tx_time, last_move[0] - t_started)
        else:
            tx_time = 0.0
        return {
            "sent": sent,
            "received": received,
            "ports": counters,
            "asked_s": duration,
            "wall_s": samples[-1][0] - t_ask,
            "tx_time_s": tx_time,
            "tx_time_err_s": 2 * poll
            + (samples[1][0] - samples[0][0] if len(samples) > 1 else 0),
            "samples": len(samples),
            "cut_short": cut,
        }

    def op_quit(self, req):
        self.close()
        return {"bye": True}

    def close(self):
        if self.c is not None:
            with contextlib.suppress(Exception):
                self.c.stop()
            with contextlib.suppress(Exception):
                self.c.disconnect()
            self.c = None


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    out = sys.stdout
    sys.stdout = sys.stderr  # the client prints: keep our channel clean
    w = Worker()
    try:
        for line in sys.stdin:
            if not line.strip():
                continue
            rid = None
            try:
                req = json.loads(line)
                rid = req.get("id")
                fn = getattr(w, "op_" + str(req.get("op")), None)
                if fn is None:
                    raise Failure("input", f"unknown op {req.get('op')!r}")
                reply = fn(req)
                reply["ok"] = True
            except Failure as e:
                reply = {"ok": False, "kind": e.kind, "error": str(e)}
            except Exception as e:  # the parent maps it to a mupvpp error
                kind = (
                    "trex"
                    if type(e).__name__.startswith(("STL", "TRex"))
                    else "internal"
                )
                reply = {"ok": False, "kind": kind, "error": f"{type(e).__name__}: {e}"}
            reply["id"] = rid
            out.write(json.dumps(reply) + "\n")
            out.flush()
            if reply.get("bye"):
                break
    finally:
        w.close()


if __name__ == "__main__":
    main()
