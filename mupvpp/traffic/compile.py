"""TRex STL profile -> TRex stream JSON, through the official TRex client.

The client (PyPI ``lbr-trex-client``) lives in its own venv, ``.venv-trex``
(it needs Python <= 3.11 and its bundled scapy must not meet ours), so it
is never imported here: ``_trex_compile_worker.py`` runs in that venv's
interpreter and answers in JSON.

The result is what the TRex server's ``add_streams`` RPC takes: a list of
streams, each ``STLStream.to_json()``.  It is cached under
``$MUPVPP_CACHE`` (default ``~/.cache/mupvpp/streams/``), keyed by a hash
of the profile file, the shared helper modules next to it (``_*.py``), the
worker, the tunables and the client version, so an edit to any of them
recompiles.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

try:
    from mupvpp.errors import InputError
except ImportError:  # pragma: no cover - errors.py predates this module
    InputError = ValueError  # type: ignore[misc,assignment]

REPO = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).resolve().with_name("_trex_compile_worker.py")
TIMEOUT_S = 300

__all__ = [
    "cache_dir",
    "client_version",
    "compile_profile",
    "roundtrip",
    "trex_python",
]


def trex_python() -> Path:
    """The TRex client venv's interpreter (``$MUPVPP_TREX_PYTHON`` or
    ``<repo>/.venv-trex/bin/python``); InputError if it is missing."""
    env = os.environ.get("MUPVPP_TREX_PYTHON")
    py = Path(env) if env else REPO / ".venv-trex" / "bin" / "python"
    if not py.exists():
        raise InputError(
            f"TRex client venv not found: run `make venv-trex` (looked for {py})"
        )
    return py


def cache_dir() -> Path:
    env = os.environ.get("MUPVPP_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "mupvpp" / "streams"


def _call(req: dict, what: str = "") -> dict:
    py = trex_python()
    try:
        proc = subprocess.run(
            [str(py), str(WORKER)],
            input=json.dumps(req),
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise InputError(f"TRex client ({py}) failed to run: {e}") from e
    lines = proc.stdout.strip().splitlines()
    try:
        reply = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError) as e:
        raise InputError(
            f"TRex client worker gave no answer (exit {proc.returncode}): "
            f"{proc.stderr.strip()[-2000:]}"
        ) from e
    if not reply.get("ok"):
        msg = reply.get("error", "unknown error")
        if os.environ.get("MUPVPP_VERBOSE") and reply.get("detail"):
            msg += "\n" + reply["detail"].strip()
        raise InputError(f"{what or 'TRex client'}: {msg}")
    return reply


def client_version() -> str:
    """Version of the TRex client in the venv (from its dist-info; asks the
    interpreter only if that is not where we expect it)."""
    py = trex_python()
    venv = py.parent.parent
    for info in sorted(venv.glob("lib/python*/site-packages/lbr_trex_client-*")):
        if info.name.endswith(".dist-info"):
            return info.name[len("lbr_trex_client-") : -len(".dist-info")]
    return _call({"op": "version"})["client_version"]


def _cache_key(path: Path, tunables: dict, direction: int, port_id: int) -> str:
    h = hashlib.sha256()
    h.update(path.read_bytes())
    for helper in sorted(path.parent.glob("_*.py")):
        h.update(helper.name.encode() + b"\0" + helper.read_bytes())
    h.update(WORKER.read_bytes())
    meta = {
        "tunables": tunables,
        "direction": direction,
        "port_id": port_id,
        "client": client_version(),
        "python": sys.implementation.cache_tag,
    }
    h.update(json.dumps(meta, sort_keys=True, default=str).encode())
    return h.hexdigest()[:32]


def compile_profile(
    path: str | os.PathLike,
    tunables: dict | None = None,
    *,
    direction: int = 0,
    port_id: int = 0,
    use_cache: bool = True,
) -> list[dict]:
    """Load a TRex STL profile with the real TRex client and return its
    streams as TRex JSON (``STLProfile.to_json()``: a list of stream dicts
    with ``packet.binary`` base64, ``mode``, ``vm.instructions``, ...).

    ``tunables`` are passed as TRex does for ``start -f P -t k=v,...``.
    Raises InputError when the profile is missing, the client venv is not
    installed, or the profile fails in the client (one line, the profile's
    last exception line; the whole traceback with ``MUPVPP_VERBOSE=1``).
    """
    p = Path(path).resolve()
    if not p.is_file():
        raise InputError(f"{path}: TRex profile not found")
    tunables = dict(tunables or {})
    key = _cache_key(p, tunables, direction, port_id)
    cached = cache_dir() / f"{p.stem}-{key}.json"
    if use_cache and cached.is_file():
        try:
            return json.loads(cached.read_text())
        except json.JSONDecodeError:
            pass  # a torn write: recompile and replace it
    reply = _call(
        {
            "op": "compile",
            "profile": str(p),
            "tunables": tunables,
            "direction": direction,
            "port_id": port_id,
        },
        f"TRex profile {p.name}",
    )
    streams = reply["streams"]
    if use_cache:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(streams, sort_keys=True))
        os.replace(tmp, cached)
    return streams


def roundtrip(streams: list[dict]) -> list[dict]:
    """``STLProfile.from_json(streams).to_json()`` in the TRex client: the
    client's own check that the JSON describes streams it can rebuild."""
    return _call({"op": "roundtrip", "streams": streams})["streams"]
