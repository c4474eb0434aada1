"""VPP integration: start a private VPP, apply the upstream-expressible part
of the lab intent, read it back, plan again (no changes).

Needs MUPVPP_VPP_BIN (path of the vpp binary); its plugins must include
srv6mobile_plugin.so.  Skipped otherwise, saying so.
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
from mupvpp.model import Behavior
from mupvpp.plan import plan

VPP_BIN = os.environ.get("MUPVPP_VPP_BIN")
pytestmark = pytest.mark.skipif(
    not VPP_BIN, reason="MUPVPP_VPP_BIN not set: no VPP installed"
)
ROOT = Path(__file__).parent.parent.parent
UPSTREAM_ONLY = {Behavior.END_MAP, Behavior.END_LIMIT, Behavior.H_T1ST}


@pytest.fixture
def vpp(tmp_path):
    sock = tmp_path / "api.sock"
    conf = (
        f"unix {{ nodaemon cli-listen {tmp_path}/cli.sock }}\n"
        f"socksvr {{ socket-name {sock} }}\n"
        "cpu { main-core 0 }\n"
        "plugins { plugin dpdk_plugin.so { disable } }\n"
    )
    proc = subprocess.Popen(
        [VPP_BIN, conf.replace("\n", " ")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        if sock.exists():
            break
        time.sleep(0.1)
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
