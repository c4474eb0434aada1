"""A private VPP with the srv6_mup plugin, for the plugin integration tests.

The VPP starter, the pg0 -> VPP -> pg1 topology and the pcap helpers live in
mupvpp/vpplab.py (shared with ``make bench-vpp``).

Environment:
    MUPVPP_VPP_PREFIX   VPP install prefix (bin/vpp, bin/vppctl, share/vpp/api)
    MUPVPP_PLUGIN_DIR   directory holding srv6_mup_plugin.so
                        (default build/plugin/lib/vpp_plugins)
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from mupvpp.vpplab import DEFAULT_PLUGIN_DIR, start_lab


def _prefix() -> Path | None:
    p = os.environ.get("MUPVPP_VPP_PREFIX")
    return Path(p) if p else None


def _plugin_dir() -> Path:
    return Path(os.environ.get("MUPVPP_PLUGIN_DIR", DEFAULT_PLUGIN_DIR))


@pytest.fixture(scope="session")
def vpp():
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
    v = start_lab(prefix, plugin_dir, workdir)
    try:
        yield v
    finally:
        v.stop()
        shutil.rmtree(workdir, ignore_errors=True)
