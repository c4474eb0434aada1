"""A private VPP for the plugin tests and for ``make bench-vpp``.

One implementation of "start a VPP with the srv6_mup plugin, give it two
packet-generator interfaces, push pcap frames through it and read what
leaves", shared by tests/vpp/conftest.py and mupvpp.bench.vpp.

Topology (packet generator interfaces, no DPDK, no hugepages):

    pg0 (10.0.0.1/24, fd00::1/64)  -->  VPP + srv6_mup  -->  pg1 (10.0.1.1/24,
                                                              fd01::1/64)
    every route not owned by a SID/headend leaves through pg1 towards
    10.0.1.2 / fd01::2 (static neighbours), in tables 0, 10 and 20.

Each VPP gets its own directory holding its CLI, API and stats sockets, its
runtime dir and logs, and an api-segment prefix derived from that directory,
so parallel runs (and any other VPP on the machine) never collide.  Every
wait is bounded in time.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import signal
import struct
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PLUGIN_DIR = ROOT / "build/plugin/lib/vpp_plugins"
PG_MAC_DST = bytes.fromhex("020000000002")  # the static neighbours' MAC
PG_MAC_SRC = bytes.fromhex("020000000001")
TABLES = (10, 20)
START_TIMEOUT = 30.0
CLI_TIMEOUT = 30.0


class VppError(RuntimeError):
    """VPP did not start, refused a command, or a wait ran out."""


def write_pcap(path: Path, frames: list[bytes]) -> None:
    """Classic pcap, Ethernet link type."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for fr in frames:
            f.write(struct.pack("<IIII", 0, 0, len(fr), len(fr)))
            f.write(fr)


def read_pcap(path: Path) -> list[bytes]:
    """Frames of a pcap VPP is writing (a record cut short is not returned)."""
    data = path.read_bytes()
    if len(data) < 24:
        return []
    out, off = [], 24
    while off + 16 <= len(data):
        incl = struct.unpack_from("<I", data, off + 8)[0]
        if off + 16 + incl > len(data):
            break
        out.append(data[off + 16 : off + 16 + incl])
        off += 16 + incl
    return out


def lib_dirs(prefix: Path) -> list[str]:
    return [
        d
        for d in glob.glob(str(prefix / "lib*"))
        + glob.glob(str(prefix / "lib/*-linux-gnu"))
        if os.path.isdir(d)
    ]


def api_files(prefix: Path, plugin_dir: Path) -> list[str]:
    """VPP's API JSON files plus srv6_mup.api.json from the plugin build
    (build/plugin/srv6_mup/ next to build/plugin/lib/vpp_plugins)."""
    files = glob.glob(str(prefix / "share/vpp/api/**/*.api.json"), recursive=True)
    plugin_dir = plugin_dir.resolve()
    for d in {plugin_dir.parent.parent, plugin_dir, ROOT / "build/plugin"}:
        files += glob.glob(str(d / "**/srv6_mup.api.json"), recursive=True)
    return sorted(set(files))


class Vpp:
    """One VPP process with private sockets; CLI through vppctl, API
    through vpp_papi.  Use as a context manager or call stop()."""

    def __init__(
        self,
        prefix: Path,
        plugin_dir: Path,
        workdir: Path | None = None,
        *,
        sessions: int = 4096,
        buffers: int = 16384,
        main_core: int | None = None,
        extra_conf: str = "",
    ):
        self.prefix = Path(prefix)
        self.plugin_dir = Path(plugin_dir)
        self.own_dir = workdir is None
        self.dir = Path(workdir or tempfile.mkdtemp(prefix="mupvpp-vpp-", dir="/tmp"))
        self.cli_sock = self.dir / "cli.sock"
        self.api_sock = self.dir / "api.sock"
        self.client = self.api = None
        self.proc = None
        self.pg0_mac = bytes(6)
        self.env = dict(os.environ)
        self.env["LD_LIBRARY_PATH"] = ":".join(
            lib_dirs(self.prefix) + [self.env.get("LD_LIBRARY_PATH", "")]
        )
        vpp_plugins = [
            d + "/vpp_plugins"
            for d in lib_dirs(self.prefix)
            if os.path.isdir(d + "/vpp_plugins")
        ]
        # the api-segment prefix names shared memory files in /dev/shm:
        # unique per directory, not per process (one process may run several)
        seg = "mupvpp-" + re.sub(r"[^A-Za-z0-9]", "", self.dir.name)[-24:]
        cpu = f"cpu {{ main-core {main_core} }}" if main_core is not None else ""
        conf = self.dir / "startup.conf"
        conf.write_text(
            f"""
unix {{
  nodaemon
  cli-listen {self.cli_sock}
  log {self.dir}/vpp.log
  runtime-dir {self.dir}
}}
api-segment {{ prefix {seg} }}
socksvr {{ socket-name {self.api_sock} }}
statseg {{ socket-name {self.dir}/stats.sock page-size 4k }}
memory {{ main-heap-size 512M main-heap-page-size 4k }}
buffers {{ buffers-per-numa {buffers} default data-size 2048 page-size 4k }}
{cpu}
srv6-mup {{ sessions {sessions} }}
plugins {{
  path {":".join(vpp_plugins + [str(self.plugin_dir)])}
  plugin dpdk_plugin.so {{ disable }}
}}
{extra_conf}
"""
        )
        self.log = open(self.dir / "stdout.log", "wb")
        self.proc = subprocess.Popen(
            [str(self.prefix / "bin/vpp"), "-c", str(conf)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=self.env,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.close()
                raise VppError(
                    f"vpp exited {self.proc.returncode}: "
                    + (self.dir / "stdout.log").read_text(errors="replace")[-3000:]
                )
            if self.cli_sock.exists():
                try:
                    if "vpp" in self.cli("show version", timeout=5).lower():
                        break
                except subprocess.TimeoutExpired:
                    pass
            time.sleep(0.2)
        else:
            self.stop()
            raise VppError(f"vpp did not come up in {START_TIMEOUT:.0f} s")

    def __enter__(self) -> Vpp:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- control ----
    def cli(self, cmd: str, timeout: float = CLI_TIMEOUT) -> str:
        r = subprocess.run(
            [str(self.prefix / "bin/vppctl"), "-s", str(self.cli_sock), cmd],
            capture_output=True,
            env=self.env,
            timeout=timeout,
        )
        return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")

    def cli_ok(self, cmd: str) -> str:
        out = self.cli(cmd)
        low = out.lower()
        if "unknown input" in low or "error" in low or "failed" in low:
            raise VppError(f"{cmd!r}: {out}")
        return out

    def connect_api(self, name: str = "mupvpp"):
        """Connect vpp_papi; self.api is the method namespace
        (``vpp.api.srv6_mup_localsid_dump()``)."""
        from vpp_papi import VPPApiClient

        self.client = VPPApiClient(
            apifiles=api_files(self.prefix, self.plugin_dir),
            server_address=str(self.api_sock),
        )
        self.client.connect(name)
        self.api = self.client.api
        return self.api

    def stop(self) -> None:
        if self.client is not None:
            try:
                self.client.disconnect()
            except Exception:  # VPP already gone: nothing to release
                pass
            self.client = self.api = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if not self.log.closed:
            self.log.close()
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    # ---- packet generator ----
    def pg_setup(self) -> None:
        for c in [
            "create packet-generator interface pg0",
            "create packet-generator interface pg1",
            "set interface state pg0 up",
            "set interface state pg1 up",
            "set interface ip address pg0 10.0.0.1/24",
            "set interface ip address pg0 fd00::1/64",
            "set interface ip address pg1 10.0.1.1/24",
            "set interface ip address pg1 fd01::1/64",
            "set ip neighbor pg1 10.0.1.2 02:00:00:00:00:02 static",
            "set ip neighbor pg1 fd01::2 02:00:00:00:00:02 static",
            "ip route add 0.0.0.0/0 via 10.0.1.2 pg1",
            "ip route add ::/0 via fd01::2 pg1",
        ]:
            self.cli_ok(c)
        for t in TABLES:
            self.cli_ok(f"ip table add {t}")
            self.cli_ok(f"ip6 table add {t}")
            self.cli_ok(f"ip route add table {t} 0.0.0.0/0 via 10.0.1.2 pg1")
            self.cli_ok(f"ip route add table {t} ::/0 via fd01::2 pg1")
        m = re.search(
            r"Ethernet address ((?:[0-9a-f]{2}:){5}[0-9a-f]{2})",
            self.cli("show hardware-interfaces pg0"),
        )
        self.pg0_mac = bytes.fromhex(m.group(1).replace(":", "")) if m else bytes(6)

    def frame(self, ip: bytes) -> bytes:
        """An IP packet in an Ethernet frame addressed to pg0."""
        etype = b"\x86\xdd" if ip[0] >> 4 == 6 else b"\x08\x00"
        return self.pg0_mac + PG_MAC_SRC + etype + ip

    def _run_stream(
        self, frames: list[bytes], extra: str, expect: int, timeout: float
    ) -> list[bytes]:
        """Capture pg1 while frames (a pcap stream on pg0) play; return the
        IP packets sent to the static neighbour (VPP's own ND/MLD/ARP
        traffic goes to multicast or broadcast MACs and is left out)."""
        d = Path(tempfile.mkdtemp(dir=self.dir))
        inp, out = d / "in.pcap", d / "out.pcap"
        name = "s" + re.sub(r"[^A-Za-z0-9]", "", d.name)
        write_pcap(inp, frames)
        # a capture closes (and the next frame truncates the file) once
        # count frames were written: leave room for VPP's own frames
        self.cli_ok(f"packet-generator capture pg1 pcap {out} count {expect + 100000}")
        self.cli_ok(f"packet-generator new pcap {inp} source pg0 name {name} {extra}")
        self.cli_ok(f"packet-generator enable-stream {name}")
        deadline = time.monotonic() + timeout
        got: list[bytes] = []
        while time.monotonic() < deadline:
            if expect and out.exists():
                got = [g for g in read_pcap(out) if g[:6] == PG_MAC_DST]
                if len(got) >= expect:
                    break
            time.sleep(0.05)
        if expect == 0:
            time.sleep(0.2)
        self.cli("packet-generator capture pg1 disable")
        self.cli(f"packet-generator delete {name}")
        if out.exists():
            got = [g for g in read_pcap(out) if g[:6] == PG_MAC_DST]
        shutil.rmtree(d, ignore_errors=True)
        return [g[14:] for g in got]

    def capture(self, action, expect: int, timeout: float = 5.0) -> list[bytes]:
        """Capture pg1 while action() runs (an API call that makes VPP send
        something itself); return the IP packets sent to the neighbour."""
        d = Path(tempfile.mkdtemp(dir=self.dir))
        out = d / "out.pcap"
        self.cli_ok(f"packet-generator capture pg1 pcap {out} count {expect + 1000}")
        got: list[bytes] = []
        try:
            action()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and len(got) < expect:
                time.sleep(0.05)
                if out.exists():
                    got = [g for g in read_pcap(out) if g[:6] == PG_MAC_DST]
            time.sleep(0.1)  # anything beyond expect shows up too
        finally:
            self.cli("packet-generator capture pg1 disable")
        if out.exists():
            got = [g for g in read_pcap(out) if g[:6] == PG_MAC_DST]
        shutil.rmtree(d, ignore_errors=True)
        return [g[14:] for g in got]

    def send(
        self, packets: list[bytes], expect: int, timeout: float = 5.0
    ) -> list[bytes]:
        """Inject IP packets on pg0, return the IP packets leaving pg1."""
        if not packets:
            return []
        return self._run_stream([self.frame(p) for p in packets], "", expect, timeout)

    def send_stream(
        self, packet: bytes, n: int, rate: float, timeout: float = 30.0
    ) -> list[bytes]:
        """Send one packet n times at rate pps; return what leaves pg1."""
        return self._run_stream(
            [self.frame(packet)], f"limit {n} rate {rate:g}", n, timeout
        )


def start_lab(prefix: Path, plugin_dir: Path, workdir: Path | None = None, **kw) -> Vpp:
    """A VPP with pg0/pg1 and the tables set up and the API connected."""
    v = Vpp(prefix, plugin_dir, workdir, **kw)
    try:
        v.pg_setup()
        v.connect_api()
    except BaseException:
        v.stop()
        raise
    return v
