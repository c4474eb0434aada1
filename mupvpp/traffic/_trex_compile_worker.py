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
or {"ok": false, "error": ONE_LINE, "detail": FULL_TEXT} (the traceback a
profile raised is in "detail"; "error" is its last line).
"""

import contextlib
import importlib.metadata
import io
import json
import os
import re
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


class Refused(Exception):
    """A profile that gave no streams; the message is the whole story."""


def _refused(text):
    """One line for a profile that exited instead of giving streams: its
    argparse error, naming an unknown tunable and the known ones."""
    errs = [ln.split("error: ", 1)[1] for ln in text.splitlines() if "error: " in ln]
    if not errs:
        return "profile printed its help instead of streams"
    err = errs[-1]
    known = sorted(set(re.findall(r"\[--(\w+)", text)) - {"help"})
    if err.startswith("unrecognized arguments:"):
        args = err.split(":", 1)[1].split()
        bad = list(dict.fromkeys(a[2:] for a in args if a.startswith("--")))
        return f"unknown tunable {', '.join(bad)}" + (
            f" (known: {', '.join(known)})" if known else ""
        )
    return err


def _last_line(text):
    """The exception line that ends a traceback (TRexError carries one)."""
    lines = [ln.strip() for ln in str(text).splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def _run(req):
    op = req.get("op")
    if op == "version":
        return {"client_version": _client_version()}
    STLProfile = _load_api()
    if op == "compile":
        path = os.path.abspath(req["profile"])
        said = io.StringIO()  # argparse's complaint about a tunable
        with contextlib.redirect_stderr(said):
            profile = STLProfile.load(
                path,
                direction=req.get("direction", 0),
                port_id=req.get("port_id", 0),
                **req.get("tunables", {}),
            )
        if profile is None:
            raise Refused(_refused(said.getvalue()))
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
        full = f"{type(e).__name__}: {e}"
        last = _last_line(e) or type(e).__name__
        if "has no attribute 'register'" in last:
            last = "not a TRex STL profile: it has no register()"
        elif not isinstance(e, Refused) and type(e).__name__ != "TRexError":
            last = f"{type(e).__name__}: {last}"
        reply = {"ok": False, "error": last, "detail": full}
    json.dump(reply, out)
    out.write("\n")


if __name__ == "__main__":
    main()
