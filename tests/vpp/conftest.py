"""A private VPP with the srv6_mup plugin, for the plugin integration tests.

Topology (packet generator interfaces, no DPDK):

    pg0 (10.0.0.1/24, fd00::1/64)  -->  VPP + srv6_mup  -->  pg1 (10.0.1.1/24,
                                                              fd01::1/64)
    every route not owned by a SID/headend leaves through pg1 towards
    10.0.1.2 / fd01::2 (static neighbours), in tables 0, 10 and 20.

Environment:
    MUPVPP_VPP_PREFIX   VPP install prefix (bin/vpp, bin/vppctl, share/vpp/api)
    MUPVPP_PLUGIN_DIR   directory holding srv6_mup_plugin.so
                        (default build/plugin/lib/vpp_plugins)
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import struct
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PG_MAC_DST = bytes.fromhex("020000000002")  # the static neighbours' MAC
TABLES = (10, 20)


def _prefix() -> Path | None:
    p = os.environ.get("MUPVPP_VPP_PREFIX")
    return Path(p) if p else None


def _plugin_dir() -> Path:
    return Path(
        os.environ.get("MUPVPP_PLUGIN_DIR", ROOT / "build/plugin/lib/vpp_plugins")
    )


def _lib_dirs(prefix: Path) -> list[str]:
    return [
        d
        for d in glob.glob(str(prefix / "lib*"))
        + glob.glob(str(prefix / "lib/*-linux-gnu"))
        if os.path.isdir(d)
    ]


def write_pcap(path: Path, frames: list[bytes]) -> None:
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for fr in frames:
            f.write(struct.pack("<IIII", 0, 0, len(fr), len(fr)))
            f.write(fr)


def read_pcap(path: Path) -> list[bytes]:
    data = path.read_bytes()
    if len(data) < 24:
        return []
    out, off = [], 24
    while off + 16 <= len(data):
        incl = struct.unpack_from("<I", data, off + 8)[0]
        out.append(data[off + 16 : off + 16 + incl])
        off += 16 + incl
    return out


class Vpp:
    """One VPP process with private sockets; CLI through vppctl, API through
    vpp_papi."""

    def __init__(self, prefix: Path, plugin_dir: Path, workdir: Path):
        self.prefix = prefix
        self.dir = workdir
        self.cli_sock = workdir / "cli.sock"
        self.api_sock = workdir / "api.sock"
        self.env = dict(os.environ)
        self.env["LD_LIBRARY_PATH"] = ":".join(
            _lib_dirs(prefix) + [self.env.get("LD_LIBRARY_PATH", "")]
        )
        vpp_plugins = [
            d + "/vpp_plugins"
            for d in _lib_dirs(prefix)
            if os.path.isdir(d + "/vpp_plugins")
        ]
        conf = workdir / "startup.conf"
        conf.write_text(
            f"""
unix {{
  nodaemon
  cli-listen {self.cli_sock}
  log {workdir}/vpp.log
  runtime-dir {workdir}
}}
api-segment {{ prefix mupvpp{os.getpid()} }}
socksvr {{ socket-name {self.api_sock} }}
statseg {{ socket-name {workdir}/stats.sock }}
memory {{ main-heap-size 512M main-heap-page-size 4k }}
buffers {{ buffers-per-numa 16384 page-size 4k }}
srv6-mup {{ sessions 4096 }}
plugins {{
  path {":".join(vpp_plugins + [str(plugin_dir)])}
  plugin dpdk_plugin.so {{ disable }}
}}
"""
        )
        self.log = open(workdir / "stdout.log", "wb")
        self.proc = subprocess.Popen(
            [str(prefix / "bin/vpp"), "-c", str(conf)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=self.env,
        )
        self.api = None
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"vpp exited {self.proc.returncode}: "
                    + (workdir / "stdout.log").read_text(errors="replace")[-3000:]
                )
            if self.cli_sock.exists() and "vpp" in self.cli("show version").lower():
                break
            time.sleep(0.2)
        else:
            self.stop()
            raise RuntimeError("vpp did not come up in 30 s")

    def cli(self, cmd: str) -> str:
        r = subprocess.run(
            [str(self.prefix / "bin/vppctl"), "-s", str(self.cli_sock), cmd],
            capture_output=True,
            env=self.env,
            timeout=30,
        )
        return r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")

    def cli_ok(self, cmd: str) -> str:
        out = self.cli(cmd)
        low = out.lower()
        if "unknown input" in low or "error" in low or "failed" in low:
            raise AssertionError(f"{cmd!r}: {out}")
        return out

    def connect_api(self, plugin_dir: Path):
        from vpp_papi import VPPApiClient

        files = glob.glob(
            str(self.prefix / "share/vpp/api/**/*.api.json"), recursive=True
        )
        build = plugin_dir.parents[1] if len(plugin_dir.parents) > 1 else plugin_dir
        files += glob.glob(str(build / "**/srv6_mup.api.json"), recursive=True)
        files += glob.glob(
            str(ROOT / "build/plugin/**/srv6_mup.api.json"), recursive=True
        )
        self.api = VPPApiClient(
            apifiles=sorted(set(files)), server_address=str(self.api_sock)
        )
        self.api.connect("mupvpp-test")
        return self.api

    def stop(self) -> None:
        if self.api is not None:
            try:
                self.api.disconnect()
            except Exception:  # already gone: nothing to release
                pass
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()

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
        out = self.cli("show hardware-interfaces pg0")
        mac = None
        for tok in out.split():
            if tok.count(":") == 5 and len(tok) == 17:
                mac = tok
                break
        self.pg0_mac = bytes.fromhex(mac.replace(":", "")) if mac else bytes(6)

    def frame(self, ip: bytes) -> bytes:
        etype = b"\x86\xdd" if ip[0] >> 4 == 6 else b"\x08\x00"
        return self.pg0_mac + bytes.fromhex("020000000001") + etype + ip

    def send(
        self, packets: list[bytes], expect: int, timeout: float = 3.0
    ) -> list[bytes]:
        """Inject IP packets on pg0, return the IP packets leaving pg1."""
        d = Path(tempfile.mkdtemp(dir=self.dir))
        inp, out = d / "in.pcap", d / "out.pcap"
        write_pcap(inp, [self.frame(p) for p in packets])
        self.cli_ok(f"packet-generator capture pg1 pcap {out} count {max(expect, 1)}")
        self.cli_ok(f"packet-generator new pcap {inp} source pg0 name s_{d.name}")
        self.cli_ok("packet-generator enable-stream s_" + d.name)
        deadline = time.time() + timeout
        got: list[bytes] = []
        while time.time() < deadline:
            if out.exists():
                got = read_pcap(out)
                if len(got) >= expect:
                    break
            time.sleep(0.05)
        if expect == 0:
            time.sleep(0.2)
        self.cli("packet-generator capture pg1 disable")
        if out.exists():
            got = read_pcap(out)
        self.cli(f"packet-generator delete s_{d.name}")
        shutil.rmtree(d, ignore_errors=True)
        return [g[14:] for g in got]

    def send_stream(
        self, packet: bytes, n: int, rate: float, timeout: float = 30.0
    ) -> list[bytes]:
        """Send one packet n times at rate pps; return what leaves pg1."""
        d = Path(tempfile.mkdtemp(dir=self.dir))
        inp, out = d / "in.pcap", d / "out.pcap"
        write_pcap(inp, [self.frame(packet)])
        self.cli_ok(f"packet-generator capture pg1 pcap {out} count {n}")
        self.cli_ok(
            f"packet-generator new pcap {inp} source pg0 name s_{d.name} "
            f"limit {n} rate {rate}"
        )
        self.cli_ok("packet-generator enable-stream s_" + d.name)
        deadline = time.time() + timeout
        got: list[bytes] = []
        while time.time() < deadline:
            if out.exists():
                got = read_pcap(out)
                if len(got) >= n:
                    break
            time.sleep(0.1)
        self.cli("packet-generator capture pg1 disable")
        if out.exists():
            got = read_pcap(out)
        self.cli(f"packet-generator delete s_{d.name}")
        shutil.rmtree(d, ignore_errors=True)
        return [g[14:] for g in got]


@pytest.fixture(scope="session")
def vpp(tmp_path_factory):
    prefix = _prefix()
    if prefix is None:
        pytest.skip("MUPVPP_VPP_PREFIX not set: no VPP installed")
    if not (prefix / "bin/vpp").exists():
        pytest.skip(f"MUPVPP_VPP_PREFIX={prefix}: no bin/vpp there")
    plugin_dir = _plugin_dir()
    if not (plugin_dir / "srv6_mup_plugin.so").exists():
        pytest.skip(
            f"srv6_mup_plugin.so not in {plugin_dir}: run make plugin "
            "VPP_PREFIX=... or set MUPVPP_PLUGIN_DIR"
        )
    workdir = Path(tempfile.mkdtemp(prefix=f"mupvpp-test-{os.getpid()}-", dir="/tmp"))
    v = Vpp(prefix, plugin_dir, workdir)
    try:
        v.pg_setup()
        v.connect_api(plugin_dir)
        yield v
    finally:
        v.stop()
        shutil.rmtree(workdir, ignore_errors=True)
