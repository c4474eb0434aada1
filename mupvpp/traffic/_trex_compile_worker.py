"""Runs inside the TRex client venv (.venv-trex), never in mupvpp's own.

The official TRex client (PyPI lbr-trex-client) needs Python <= 3.11 and
brings its own scapy, which breaks if another scapy was imported first, so
mupvpp talks to it only through this script in a subprocess.

Request (JSON on stdin):
    {"op": "compile", "profile": PATH, "tunables": {...},
     "direction": 0, "port_id": 0}
    {"op": "roundtrip", "streams": [...]}      # from_json -> to_json
    {"op": "version"}
Reply (JSON on stdout): {"ok": true, "client_version": V, "streams": [...]}
or {"ok": false, "error": MESSAGE}.
"""

import contextlib
import importlib.metadata
import json
import os
import sys


def _client_version():
    try:
        return importlib.metadata.version("lbr_trex_client")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _load_api():
    import lbr_trex_client  # noqa: F401  (puts trex/ on sys.path)
    from trex.stl.api import STLProfile

    return STLProfile


def _run(req):
    op = req.get("op")
    if op == "version":
        return {"client_version": _client_version()}
    STLProfile = _load_api()
    if op == "compile":
        path = os.path.abspath(req["profile"])
        profile = STLProfile.load(
            path,
            direction=req.get("direction", 0),
            port_id=req.get("port_id", 0),
            **req.get("tunables", {}),
        )
        if profile is None:
            raise ValueError("profile printed its help instead of streams")
        streams = profile.to_json()
    elif op == "roundtrip":
        streams = STLProfile.from_json(req["streams"]).to_json()
    else:
        raise ValueError(f"unknown op {op!r}")
    return {"client_version": _client_version(), "streams": streams}


def main():
    # The script's own directory (mupvpp/traffic) must not shadow modules.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    req = json.load(sys.stdin)
    out = sys.stdout
    try:
        with contextlib.redirect_stdout(sys.stderr):
            reply = _run(req)
        reply["ok"] = True
    except SystemExit as e:
        reply = {"ok": False, "error": f"profile exited ({e.code})"}
    except Exception as e:  # report everything to the parent, it raises
        reply = {"ok": False, "error": f"{type(e).__name__}: {e}"}
    json.dump(reply, out)
    out.write("\n")


if __name__ == "__main__":
    main()
