"""The planner: desired intent + current state -> ordered list of changes.

Pure: no I/O, no backend.  An :class:`Op` is data; backends execute it,
``format_plan`` and ``ops_to_json`` show it.

Order (base): deletions first, in dependency order (type1, type2 sessions,
then SIDs, then policies), then replacements (policies, SIDs, sessions), then
creations (policies, SIDs, sessions).  Two cases need more than that, and
are fixed by a stable topological sort over the base order:

* a replacement that starts using a new object (a SID moved to a new policy)
  runs after that object's creation;
* an object that a replacement stops using (the SID's old policy) is deleted
  after that replacement.

A SID is replaced when any of its fields change or when the policy it uses
is replaced (backends precompute policy data into the SID).  A Type 1
session with the same ``ue_prefix`` and a new gNB/TEID/QFI is replaced: that
is a handover.  Node settings are one ``node`` op, first (an add on an
empty data plane, a replace when they change); when
it touches what the data plane computes from them (encap source, compat,
UDP checksum) every kept policy and SID is replaced too, since backends
precompute those settings into them.  Backends take the node settings from
the desired intent.
"""

from __future__ import annotations

import dataclasses
import heapq
from dataclasses import dataclass
from typing import Any

from mupvpp.model import Intent, Node, Policy, Sid, Type1Session, Type2Session
from mupvpp.state import obj_to_dict

KINDS = ("policy", "sid", "type1", "type2")
_DEL_ORDER = ("type1", "type2", "sid", "policy")
_NEW_ORDER = ("policy", "sid", "type1", "type2")
_PHASE = {"del": 0, "replace": 1, "add": 2}


@dataclass(frozen=True)
class Op:
    """One change.  ``obj`` is the new object (None for del), ``old`` the
    object being replaced or deleted (None for add)."""

    action: str  # "add" | "del" | "replace"
    kind: str  # "node" | "policy" | "sid" | "type1" | "type2"
    key: str
    obj: Any = None
    old: Any = None
    # a session whose headend SID is replaced in the same plan: the SID's
    # session table goes with it, so install again; do not remove first
    reinstall: bool = False


def key_of(kind: str, obj: Any) -> str:
    if kind in ("policy", "sid"):
        return obj.name
    return obj.key


def state(intent: Intent | None) -> dict[str, dict[str, Any]]:
    """The objects of ``intent`` keyed per kind, in intent order."""
    out: dict[str, dict[str, Any]] = {k: {} for k in KINDS}
    if intent is None:
        return out
    for kind, objs in (
        ("policy", intent.policies),
        ("sid", intent.sids),
        ("type1", intent.type1),
        ("type2", intent.type2),
    ):
        for o in objs:
            out[kind][key_of(kind, o)] = o
    return out


def same(a: Any, b: Any) -> bool:
    """Equal apart from the source ``line``."""
    return dataclasses.replace(a, line=0) == dataclasses.replace(b, line=0)


def refs(kind: str, obj: Any) -> set[tuple[str, str]]:
    """What ``obj`` points at, as (kind, key)."""
    if obj is None:
        return set()
    if kind == "sid" and obj.policy:
        return {("policy", obj.policy)}
    if kind in ("type1", "type2") and obj.headend:
        return {("sid", obj.headend)}
    return set()


def node_changed(desired: Node, current: Node) -> tuple[bool, bool]:
    """(any setting changed, a data-plane setting changed)."""
    dp = dataclasses.replace(desired, name="") != dataclasses.replace(current, name="")
    return desired != current, dp


def plan(desired: Intent, current: Intent | None) -> list[Op]:
    """The ordered ops that turn ``current`` into ``desired``."""
    want, have = state(desired), state(current)
    ops: list[Op] = []
    node_op, node_dp = current is None, False
    if current is not None:
        node_op, node_dp = node_changed(desired.node, current.node)
    for kind in _DEL_ORDER:
        for k, o in have[kind].items():
            if k not in want[kind]:
                ops.append(Op("del", kind, k, None, o))
    replaced_policies = {
        k
        for k, o in want["policy"].items()
        if k in have["policy"] and not same(o, have["policy"][k])
    }
    replaced_sids: set[str] = set()
    for kind in _NEW_ORDER:
        for k, o in want[kind].items():
            if k not in have[kind]:
                continue
            old = have[kind][k]
            changed = not same(o, old)
            if kind == "sid" and o.policy in replaced_policies:
                changed = True
            if node_dp and kind in ("policy", "sid"):
                changed = True
            again = kind in ("type1", "type2") and old.headend in replaced_sids
            if changed or again:
                ops.append(Op("replace", kind, k, o, old, reinstall=again))
                if kind == "sid":
                    replaced_sids.add(k)
    for kind in _NEW_ORDER:
        for k, o in want[kind].items():
            if k not in have[kind]:
                ops.append(Op("add", kind, k, o, None))
    ops = _order(ops)
    if node_op and current is None:
        ops.insert(0, Op("add", "node", "node", desired.node, None))
    elif node_op:
        ops.insert(0, Op("replace", "node", "node", desired.node, current.node))
    return ops


def _order(ops: list[Op]) -> list[Op]:
    """Stable topological sort of ``ops`` (see the module docstring)."""
    n = len(ops)
    after: list[set[int]] = [set() for _ in range(n)]  # after[j]: must precede j
    ident = {(op.kind, op.key): i for i, op in enumerate(ops)}
    for j, op in enumerate(ops):
        # whatever op's new side points at must be created first
        for r in refs(op.kind, op.obj):
            i = ident.get(r)
            if i is not None and ops[i].action == "add":
                after[j].add(i)
        # whatever op's old side points at may be deleted only afterwards
        for r in refs(op.kind, op.old):
            i = ident.get(r)
            if i is not None and ops[i].action == "del":
                after[i].add(j)
    # Kahn's algorithm, always taking the lowest ready index: the base order
    # wherever no edge says otherwise
    waiting = [len(a) for a in after]
    then: list[list[int]] = [[] for _ in range(n)]
    for j, a in enumerate(after):
        for i in a:
            then[i].append(j)
    ready = [j for j in range(n) if not waiting[j]]
    heapq.heapify(ready)
    done: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        done.append(i)
        for j in then[i]:
            waiting[j] -= 1
            if not waiting[j]:
                heapq.heappush(ready, j)
    if len(done) < n:  # pragma: no cover - impossible: edges follow kind order
        raise RuntimeError("dependency cycle in plan")
    return [ops[j] for j in done]


def apply_ops(current: Intent | None, ops: list[Op]) -> Intent:
    """The state after ``ops`` ran on ``current`` (pure; no checks)."""
    st = state(current)
    node = current.node if current is not None else Node()
    for op in ops:
        if op.kind == "node":
            node = op.obj
            continue
        table = st[op.kind]
        if op.action == "del":
            table.pop(op.key, None)
        else:
            table[op.key] = op.obj
    base = current if current is not None else Intent(node=Node())
    return dataclasses.replace(
        base,
        node=node,
        policies=tuple(st["policy"].values()),
        sids=tuple(st["sid"].values()),
        type1=tuple(st["type1"].values()),
        type2=tuple(st["type2"].values()),
    )


# -- showing a plan ---------------------------------------------------------------

_SIGN = {"add": "+", "del": "-", "replace": "~"}


def describe(kind: str, obj: Any) -> str:
    """A one-line summary of an object, as in ``(end.m.gtp4.e fc00:0:4e::/48)``."""
    if isinstance(obj, Policy):
        segs = [str(s) for s in obj.segments]
        if obj.args_len is not None:
            segs[-1] += f"/{obj.args_len}"
        return ", ".join(segs)
    if isinstance(obj, Sid):
        extra = f" -> {obj.policy}" if obj.policy else ""
        return f"{obj.behavior.key} {obj.prefix}{extra}"
    if isinstance(obj, Type1Session):
        return (
            f"gnb {obj.gnb} teid {obj.teid:#x} qfi {obj.qfi}"
            f"{' rqi' if obj.rqi else ''} via {obj.headend}"
        )
    if isinstance(obj, Node):
        return f"node {obj.name}"
    if isinstance(obj, Type2Session):
        return f"n3 {obj.n3} teid {obj.teid:#x} -> {obj.segment} via {obj.headend}"
    return str(obj)


def _changes(old: Any, new: Any) -> str:
    diffs = []
    for f in dataclasses.fields(new):
        if f.name == "line":
            continue
        a, b = getattr(old, f.name), getattr(new, f.name)
        if a != b:
            if f.name == "teid":
                a, b = f"{a:#x}", f"{b:#x}"
            elif f.name == "behavior":
                a, b = a.key, b.key
            elif f.name == "segments":
                a, b = describe("policy", old), describe("policy", new)
            elif f.name == "compat":
                a = f"args {a.args} u_bit {a.u_bit}"
                b = f"args {b.args} u_bit {b.u_bit}"
            elif f.name == "encap_source":
                a, b = a or "none", b or "none"
            diffs.append(f"{f.name} {a} -> {b}")
    if diffs:
        return ", ".join(diffs)
    if isinstance(new, Sid):
        return "its policy or the node settings changed"
    return "node settings changed"


def format_plan(ops: list[Op]) -> str:
    """Terraform-like text: ``+ sid gtp4e (end.m.gtp4.e fc00:0:4e::/48)``."""
    if not ops:
        return "No changes: the data plane matches the intent."
    lines = []
    for op in ops:
        if op.action == "replace" and op.reinstall and same(op.old, op.obj):
            body = f"installed again: headend {op.obj.headend} is replaced"
        elif op.action == "replace":
            body = _changes(op.old, op.obj)
        else:
            body = describe(op.kind, op.obj if op.obj is not None else op.old)
        lines.append(f"{_SIGN[op.action]} {op.kind} {op.key} ({body})")
    count = {a: sum(op.action == a for op in ops) for a in _SIGN}
    lines.append(
        f"Plan: {count['add']} to add, {count['replace']} to replace, "
        f"{count['del']} to delete."
    )
    return "\n".join(lines)


def ops_to_json(ops: list[Op]) -> list[dict]:
    """JSON-ready ops: action, kind, key, obj, old (dicts from mupvpp.state)."""
    return [
        {
            "action": op.action,
            "kind": op.kind,
            "key": op.key,
            "obj": obj_to_dict(op.kind, op.obj),
            "old": obj_to_dict(op.kind, op.old),
            "reinstall": op.reinstall,
        }
        for op in ops
    ]
