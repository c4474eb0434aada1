"""VPP integration: start a private VPP, apply the upstream-expressible part
of the lab intent, read it back, plan again (no changes).

Needs MUPVPP_VPP_PREFIX (VPP install prefix: bin/vpp, lib/vpp_plugins with
srv6mobile_plugin.so).  Skipped otherwise, saying so.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import time
from pathlib import Path

import pytest

from mupvpp.backends.vpp import VppBackend
from mupvpp.config import load_intent
from mupvpp.errors import BackendUnsupported
from mupvpp.model import Behavior
from mupvpp.plan import plan

PREFIX = os.environ.get("MUPVPP_VPP_PREFIX")
pytestmark = pytest.mark.skipif(
    not PREFIX, reason="MUPVPP_VPP_PREFIX not set: no VPP installed"
)
ROOT = Path(__file__).parent.parent.parent
UPSTREAM_ONLY = {
    Behavior.END_MAP,
    Behavior.END_LIMIT,
    Behavior.H_T1ST,
    Behavior.GTP4_DT4,  # upstream t.m.gtp4.dt4 crashes VPP: refused
}


@pytest.fixture
def vpp(tmp_path):
    """A private VPP (own sockets, api-segment prefix, runtime dir; no
    hugepages, no DPDK) with upstream plugins only."""
    sock = tmp_path / "api.sock"
    conf = tmp_path / "startup.conf"
    conf.write_text(
        f"unix {{ nodaemon cli-listen {tmp_path}/cli.sock "
        f"runtime-dir {tmp_path} log {tmp_path}/vpp.log }}\n"
        f"api-segment {{ prefix mupvpp-be-{os.getpid()} }}\n"
        f"socksvr {{ socket-name {sock} }}\n"
        f"statseg {{ socket-name {tmp_path}/stats.sock page-size 4k }}\n"
        "memory { main-heap-size 512M main-heap-page-size 4k }\n"
        "buffers { buffers-per-numa 16384 page-size 4k }\n"
        "cpu { main-core 0 }\n"
        "plugins { plugin dpdk_plugin.so { disable } }\n"
    )
    proc = subprocess.Popen(
        [str(Path(PREFIX) / "bin" / "vpp"), "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(200):
        if sock.exists() or proc.poll() is not None:
            break
        time.sleep(0.1)
    if not sock.exists():
        proc.kill()
        pytest.fail(f"VPP did not open {sock}: {(tmp_path / 'vpp.log').read_text()}")
    yield str(sock)
    proc.terminate()
    proc.wait(10)


def test_apply_read_back_plan_again(vpp, tmp_path):
    lab = load_intent(ROOT / "examples" / "lab.yaml")
    lab = dataclasses.replace(
        lab,
        sids=tuple(s for s in lab.sids if s.behavior not in UPSTREAM_ONLY),
        type1=(),
        type2=(),
    )
    with VppBackend(vpp, state_path=str(tmp_path / "state.json")) as be:
        ops = plan(lab, be.read_state())
        be.apply(ops, lab)
        assert plan(lab, be.read_state()) == []
        shown = be.cli("show sr localsids")
        assert "fc00:0:4e::" in shown
        for prefix in ("fc00:0:6d::/64", "fc00:0:6f::/64", "fc00:0:6e::/64"):
            assert prefix in shown
        assert "Table: \t10" in shown  # End.DT4 in the table mupvpp created
        # remove everything: back to an empty data plane, nothing left
        empty = dataclasses.replace(lab, policies=(), sids=())
        be.apply(plan(empty, be.read_state()), empty)
        shown = be.cli("show sr localsids")
        assert "fc00:0:" not in shown
        assert "fc00:0:" not in be.cli("show sr policies")
        assert plan(empty, be.read_state()) == []


def test_unsupported_sid_changes_nothing(vpp, tmp_path):
    """The whole lab needs the srv6_mup plugin for End.MAP etc.: refused
    before anything is configured."""
    lab = load_intent(ROOT / "examples" / "lab.yaml")
    with VppBackend(vpp, state_path=str(tmp_path / "state.json")) as be:
        with pytest.raises(BackendUnsupported) as ei:
            be.apply(plan(lab, be.read_state()), lab)
        assert "needs the srv6_mup plugin" in str(ei.value)
        assert "fc00:0:" not in be.cli("show sr localsids")
        assert be.read_state() is None


def test_cli_apply_against_vpp(vpp, tmp_path, capsys):
    """The CLI end to end: validate → apply → plan (nothing) with --vpp."""
    from mupvpp.cli import main

    text = (ROOT / "examples" / "lab.yaml").read_text()
    cfg = tmp_path / "upstream.yaml"
    lab = load_intent(ROOT / "examples" / "lab.yaml")
    keep = [s.name for s in lab.sids if s.behavior not in UPSTREAM_ONLY]
    from mupvpp.state import intent_to_dict

    d = intent_to_dict(
        dataclasses.replace(
            lab,
            sids=tuple(s for s in lab.sids if s.name in keep),
            type1=(),
            type2=(),
        )
    )
    assert text  # the lab file exists; the reduced intent is written as YAML
    import yaml

    cfg.write_text(yaml.safe_dump(_yaml_of(d)))
    st = str(tmp_path / "st.json")
    for args, code in (
        (["apply", "--yes", str(cfg)], 0),
        (["plan", str(cfg)], 0),
    ):
        with pytest.raises(SystemExit) as ei:
            main(["--vpp", vpp, "--state", st, *args])
        assert ei.value.code == code
    out = capsys.readouterr().out
    assert out.strip().endswith("No changes: the data plane matches the intent.")


def _yaml_of(d: dict) -> dict:
    """intent_to_dict output -> the YAML intent layout."""
    sids = []
    for s in d["sids"]:
        y = {"name": s["name"], "behavior": s["behavior"]}
        key = "match" if s["behavior"] == "h.m.gtp4.d" else "sid"
        y[key] = s["prefix"]
        for f in ("policy", "fib_table", "source_prefix", "ipv4_source_len"):
            if s.get(f) not in (None, 0):
                y[f] = s[f]
        sids.append(y)
    pols = []
    for p in d["policies"]:
        segs = list(p["segments"])
        if p["args_len"] is not None:
            segs[-1] = f"{segs[-1]}/{p['args_len']}"
        pols.append({"name": p["name"], "segments": segs})
    return {
        "node": {"name": "vpp-test", "encap_source": d["node"]["encap_source"]},
        "policies": pols,
        "sids": sids,
    }
