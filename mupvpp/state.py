"""JSON (de)serialisation of the validated intent, shared by the backends
(the embedded state file, VPP read-back) and the CLI (``--json`` output).

The format is plain JSON types: addresses and prefixes as strings, the
behaviour by its YAML key, ``inner`` by name.  ``intent_from_dict`` trusts
its input only as far as types go: it is for state mupvpp wrote itself.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from mupvpp.model import (
    Behavior,
    Compat,
    InnerType,
    Intent,
    Node,
    Policy,
    Sid,
    Type1Session,
    Type2Session,
)

FORMAT_VERSION = 1


def _s(x: Any) -> str | None:
    return None if x is None else str(x)


def node_to_dict(n: Node) -> dict:
    return {
        "name": n.name,
        "encap_source": _s(n.encap_source),
        "compat": {"args": n.compat.args, "u_bit": n.compat.u_bit},
        "udp4_checksum": n.udp4_checksum,
    }


def node_from_dict(d: dict) -> Node:
    src = d.get("encap_source")
    return Node(
        name=d.get("name", "mup"),
        encap_source=ipaddress.IPv6Address(src) if src else None,
        compat=Compat(**d.get("compat", {})),
        udp4_checksum=bool(d.get("udp4_checksum", False)),
    )


def policy_to_dict(p: Policy) -> dict:
    return {
        "name": p.name,
        "segments": [str(s) for s in p.segments],
        "args_len": p.args_len,
        "line": p.line,
    }


def policy_from_dict(d: dict) -> Policy:
    return Policy(
        name=d["name"],
        segments=tuple(ipaddress.IPv6Address(s) for s in d["segments"]),
        args_len=d.get("args_len"),
        line=d.get("line", 0),
    )


def sid_to_dict(s: Sid) -> dict:
    return {
        "name": s.name,
        "behavior": s.behavior.key,
        "prefix": str(s.prefix),
        "policy": s.policy,
        "fib_table": s.fib_table,
        "source_prefix": _s(s.source_prefix),
        "ipv4_source_len": s.ipv4_source_len,
        "ipv4_source": _s(s.ipv4_source),
        "source": _s(s.source),
        "inner": s.inner.name.lower(),
        "pdu_type": s.pdu_type,
        "always_srh": s.always_srh,
        "maps": [{"from": str(a), "to": str(b)} for a, b in s.maps],
        "limit": {
            "group_bits": s.limit_group_bits,
            "rate_bits": s.limit_rate_bits,
            "unit_pps": s.limit_unit_pps,
        },
        "line": s.line,
    }


def sid_from_dict(d: dict) -> Sid:
    lim = d.get("limit") or {}
    sp, v4, src = d.get("source_prefix"), d.get("ipv4_source"), d.get("source")
    return Sid(
        name=d["name"],
        behavior=Behavior.from_key(d["behavior"]),
        prefix=ipaddress.ip_network(d["prefix"]),
        policy=d.get("policy"),
        fib_table=d.get("fib_table", 0),
        source_prefix=ipaddress.IPv6Network(sp) if sp else None,
        ipv4_source_len=d.get("ipv4_source_len"),
        ipv4_source=ipaddress.IPv4Address(v4) if v4 else None,
        source=ipaddress.IPv6Address(src) if src else None,
        inner=InnerType[d.get("inner", "detect").upper()],
        pdu_type=d.get("pdu_type"),
        always_srh=bool(d.get("always_srh", False)),
        maps=tuple(
            (ipaddress.IPv6Address(m["from"]), ipaddress.IPv6Address(m["to"]))
            for m in d.get("maps", ())
        ),
        limit_group_bits=lim.get("group_bits", 0),
        limit_rate_bits=lim.get("rate_bits", 0),
        limit_unit_pps=lim.get("unit_pps", 1000),
        line=d.get("line", 0),
    )


def type1_to_dict(t: Type1Session) -> dict:
    return {
        "ue_prefix": str(t.ue_prefix),
        "gnb": str(t.gnb),
        "teid": t.teid,
        "qfi": t.qfi,
        "rqi": t.rqi,
        "headend": t.headend,
        "line": t.line,
    }


def type1_from_dict(d: dict) -> Type1Session:
    return Type1Session(
        ue_prefix=ipaddress.ip_network(d["ue_prefix"]),
        gnb=ipaddress.ip_address(d["gnb"]),
        teid=int(d["teid"]),
        qfi=int(d.get("qfi", 0)),
        rqi=bool(d.get("rqi", False)),
        headend=d.get("headend", ""),
        line=d.get("line", 0),
    )


def type2_to_dict(t: Type2Session) -> dict:
    return {
        "n3": str(t.n3),
        "teid": t.teid,
        "segment": str(t.segment),
        "headend": t.headend,
        "line": t.line,
    }


def type2_from_dict(d: dict) -> Type2Session:
    return Type2Session(
        n3=ipaddress.ip_address(d["n3"]),
        teid=int(d["teid"]),
        segment=ipaddress.IPv6Address(d["segment"]),
        headend=d.get("headend", ""),
        line=d.get("line", 0),
    )


#: kind -> (to_dict, from_dict), for Op serialisation and generic code.
CODECS = {
    "node": (node_to_dict, node_from_dict),
    "policy": (policy_to_dict, policy_from_dict),
    "sid": (sid_to_dict, sid_from_dict),
    "type1": (type1_to_dict, type1_from_dict),
    "type2": (type2_to_dict, type2_from_dict),
}


def obj_to_dict(kind: str, obj: Any) -> dict | None:
    return None if obj is None else CODECS[kind][0](obj)


def obj_from_dict(kind: str, d: dict | None) -> Any:
    return None if d is None else CODECS[kind][1](d)


def intent_to_dict(intent: Intent) -> dict:
    """The intent as JSON-ready data (lists and dicts of str/int/bool/None)."""
    return {
        "version": FORMAT_VERSION,
        "source": intent.source,
        "node": node_to_dict(intent.node),
        "policies": [policy_to_dict(p) for p in intent.policies],
        "sids": [sid_to_dict(s) for s in intent.sids],
        "sessions": {
            "type1": [type1_to_dict(t) for t in intent.type1],
            "type2": [type2_to_dict(t) for t in intent.type2],
        },
    }


def intent_from_dict(d: dict) -> Intent:
    """Inverse of :func:`intent_to_dict`."""
    version = d.get("version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise ValueError(f"state format version {version}, expected {FORMAT_VERSION}")
    sess = d.get("sessions", {})
    return Intent(
        node=node_from_dict(d.get("node", {})),
        policies=tuple(policy_from_dict(p) for p in d.get("policies", ())),
        sids=tuple(sid_from_dict(s) for s in d.get("sids", ())),
        type1=tuple(type1_from_dict(t) for t in sess.get("type1", ())),
        type2=tuple(type2_from_dict(t) for t in sess.get("type2", ())),
        source=d.get("source", ""),
    )


def read_state_file(path) -> tuple[dict, Intent | None]:
    """The embedded state file, ``{"intent": {...}, "counters": {...}}``:
    (the document, the applied intent or None).  A missing file is an empty
    state.  Anything else that is not such a file raises InputError naming
    the file and what is wrong, the same for every command."""
    import json
    from pathlib import Path

    from mupvpp.errors import InputError

    p = Path(path)
    if not p.exists():
        return {}, None

    def bad(why: str) -> InputError:
        return InputError(f"state file {p}: {why}")

    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except OSError as e:
        raise bad(f"cannot read: {e.strerror or e}") from None
    except (UnicodeDecodeError, ValueError) as e:
        raise bad(f"not JSON ({e})") from None
    names = {dict: "an object", list: "a list", str: "a string", type(None): "null"}
    if not isinstance(doc, dict) or "intent" not in doc:
        found = names.get(type(doc), type(doc).__name__)
        if isinstance(doc, dict):
            found = "an object without 'intent'"
        raise bad(
            f"not a mupvpp state file: expected a JSON object with an 'intent' "
            f"key, found {found}"
        )
    d = doc["intent"]
    if d is None or d == {}:
        return doc, None
    if not isinstance(d, dict):
        found = names.get(type(d), type(d).__name__)
        raise bad(f"'intent' is {found}, expected an object")
    try:
        return doc, intent_from_dict(d)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        what = f"missing {e}" if isinstance(e, KeyError) else str(e)
        raise bad(f"'intent' is not an intent mupvpp wrote: {what}") from None


class StateLock:
    """``with StateLock(path, backend) as be``: the backend, entered while
    this process holds an exclusive lock on ``path + ".lock"``, so that two
    mupvpp commands on one state file (two ``session add`` at once) run one
    after the other instead of each saving over the other's change.  Waits
    up to ``wait`` seconds for the other one, then gives up with an
    InputError naming the lock file.  Where the state file's directory does
    not exist there is nothing to protect yet: no lock."""

    def __init__(self, path, backend, wait: float = 30.0):
        self.lock_path = Path(str(path) + ".lock")
        self.backend = backend
        self.wait = wait
        self.fd = None

    def __enter__(self):
        import fcntl
        import time

        from mupvpp.errors import InputError

        if self.lock_path.parent.is_dir():
            try:
                self.fd = open(self.lock_path, "a")  # noqa: SIM115 - held until exit
            except OSError:
                self.fd = None  # read-only place: reading needs no lock
        if self.fd is not None:
            deadline = time.monotonic() + self.wait
            while True:
                try:
                    fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        self.fd.close()
                        self.fd = None
                        raise InputError(
                            f"{self.lock_path}: another mupvpp command holds "
                            f"this state file's lock (waited {self.wait:g} s)"
                        ) from None
                    time.sleep(0.05)
        try:
            return self.backend.__enter__()
        except BaseException:
            self._release()
            raise

    def __exit__(self, *exc):
        try:
            return self.backend.__exit__(*exc)
        finally:
            self._release()

    def _release(self):
        if self.fd is not None:
            self.fd.close()  # closing drops the flock
            self.fd = None
