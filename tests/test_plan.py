"""The planner: exact op lists, ordering, and "apply the plan, plan again,
get nothing" (hypothesis over the fixtures and random subsets)."""

from __future__ import annotations

import dataclasses
import ipaddress
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from mupvpp.config import load_intent
from mupvpp.model import Intent, Node
from mupvpp.plan import Op, apply_ops, format_plan, ops_to_json, plan, refs, state

HERE = Path(__file__).parent
LAB = load_intent(HERE.parent / "examples" / "lab.yaml")
FIXTURES = [LAB] + [
    load_intent(p) for p in sorted((HERE / "intent" / "good").glob("*.yaml"))
]


def acts(ops):
    return [(op.action, op.kind, op.key) for op in ops]


def test_empty_state_creates_everything_in_order():
    ops = plan(LAB, None)
    assert acts(ops) == [
        ("add", "node", "node"),
        ("add", "policy", "to-gtp4e"),
        ("add", "policy", "to-gtp6e"),
        ("add", "policy", "to-dt4"),
        ("add", "sid", "uplink-gtp4"),
        ("add", "sid", "gtp4e"),
        ("add", "sid", "gtp6d"),
        ("add", "sid", "gtp6d-di"),
        ("add", "sid", "gtp6e"),
        ("add", "sid", "end"),
        ("add", "sid", "dt4"),
        ("add", "sid", "dt6"),
        ("add", "sid", "map"),
        ("add", "sid", "limit"),
        ("add", "sid", "downlink"),
        ("add", "sid", "gtp4-dt4"),
        ("add", "type1", "10.10.0.1/32"),
        ("add", "type1", "10.10.0.2/32"),
        ("add", "type2", "192.0.2.100 teid 0x10000"),
    ]
    assert all(op.old is None for op in ops)
    assert plan(LAB, apply_ops(None, ops)) == []


def test_same_intent_no_ops_even_if_lines_moved():
    moved = dataclasses.replace(
        LAB, sids=tuple(dataclasses.replace(s, line=s.line + 5) for s in LAB.sids)
    )
    assert plan(moved, LAB) == []


def test_empty_desired_deletes_in_dependency_order():
    ops = plan(Intent(node=Node()), LAB)
    kinds = [op.kind for op in ops]
    assert kinds == ["node", "type1", "type1", "type2"] + ["sid"] * 12 + ["policy"] * 3
    assert ops[0] == Op("replace", "node", "node", Node(), LAB.node)
    assert all(op.action == "del" and op.obj is None for op in ops[1:])
    assert ops[1] == Op("del", "type1", "10.10.0.1/32", None, LAB.type1[0])


def test_handover_is_a_replace():
    t = LAB.type1[0]
    moved = dataclasses.replace(
        t, gnb=ipaddress.ip_address("192.0.2.11"), teid=0x102, line=99
    )
    desired = dataclasses.replace(LAB, type1=(moved, LAB.type1[1]))
    ops = plan(desired, LAB)
    assert ops == [Op("replace", "type1", "10.10.0.1/32", moved, t)]
    assert format_plan(ops).splitlines() == [
        "~ type1 10.10.0.1/32 (gnb 192.0.2.10 -> 192.0.2.11, teid 0x100 -> 0x102)",
        "Plan: 0 to add, 1 to replace, 0 to delete.",
    ]


def test_policy_change_replaces_its_sids():
    p = LAB.policy("to-gtp6e")
    p2 = dataclasses.replace(p, segments=(ipaddress.ip_address("fc00:0:6e::"),))
    desired = dataclasses.replace(
        LAB, policies=tuple(p2 if x is p else x for x in LAB.policies)
    )
    assert acts(plan(desired, LAB)) == [
        ("replace", "policy", "to-gtp6e"),
        ("replace", "sid", "gtp6d-di"),
    ]


def test_sid_moved_to_new_policy_orders_around_it():
    """New policy created before the SID replace; old one deleted after."""
    old_p = LAB.policy("to-dt4")
    new_p = dataclasses.replace(old_p, name="to-dt4b")
    sid = LAB.sid("gtp6d")
    current = dataclasses.replace(
        LAB,
        sids=tuple(
            dataclasses.replace(s, policy="to-dt4") if s is sid else s for s in LAB.sids
        ),
    )
    desired = dataclasses.replace(
        current,
        policies=tuple(new_p if p is old_p else p for p in LAB.policies),
        sids=tuple(
            dataclasses.replace(s, policy="to-dt4b") if s.name == "gtp6d" else s
            for s in current.sids
        ),
    )
    assert acts(plan(desired, current)) == [
        ("add", "policy", "to-dt4b"),
        ("replace", "sid", "gtp6d"),
        ("del", "policy", "to-dt4"),
    ]


def test_mixed_plan_exact():
    desired = dataclasses.replace(
        LAB,
        sids=tuple(s for s in LAB.sids if s.name != "map"),
        type1=(dataclasses.replace(LAB.type1[0], qfi=5),),
    )
    current = dataclasses.replace(LAB, policies=LAB.policies[:2], type2=())
    ops = plan(desired, current)
    assert acts(ops) == [
        ("del", "type1", "10.10.0.2/32"),
        ("del", "sid", "map"),
        ("replace", "type1", "10.10.0.1/32"),
        ("add", "policy", "to-dt4"),
        ("add", "type2", "192.0.2.100 teid 0x10000"),
    ]
    text = format_plan(ops).splitlines()
    assert text[0] == (
        "- type1 10.10.0.2/32 (gnb 192.0.2.10 teid 0x101 qfi 9 via downlink)"
    )
    assert text[1] == "- sid map (end.map fc00:0:3a::/64)"
    assert text[2] == "~ type1 10.10.0.1/32 (qfi 9 -> 5)"
    assert text[-1] == "Plan: 2 to add, 1 to replace, 2 to delete."


def test_ops_to_json():
    ops = plan(LAB, None)
    js = ops_to_json(ops)
    assert js[0]["kind"] == "node" and js[0]["obj"]["name"] == "lab-gw"
    assert js[5] == {
        "action": "add",
        "kind": "sid",
        "key": "gtp4e",
        "obj": {
            "name": "gtp4e",
            "behavior": "end.m.gtp4.e",
            "prefix": "fc00:0:4e::/48",
            "policy": None,
            "fib_table": 0,
            "source_prefix": None,
            "ipv4_source_len": 64,
            "ipv4_source": None,
            "source": None,
            "inner": "detect",
            "pdu_type": None,
            "always_srh": False,
            "maps": [],
            "limit": {"group_bits": 0, "rate_bits": 0, "unit_pps": 1000},
            "line": 31,
        },
        "old": None,
        "reinstall": False,
    }
    assert js[-1]["obj"]["teid"] == 0x10000
    assert format_plan([]) == "No changes: the data plane matches the intent."


# -- property: apply the plan, plan again, get nothing -----------------------


def _pool():
    objs = {"policy": [], "sid": [], "type1": [], "type2": []}
    for i in FIXTURES:
        objs["policy"] += i.policies
        objs["sid"] += i.sids
        objs["type1"] += i.type1
        objs["type2"] += i.type2
    # same keys, other contents: replacements and handovers
    objs["type1"] += [dataclasses.replace(t, teid=t.teid ^ 1) for t in LAB.type1]
    objs["sid"] += [dataclasses.replace(s, fib_table=7) for s in LAB.sids]
    objs["policy"] += [dataclasses.replace(p, args_len=None) for p in LAB.policies]
    return objs


POOL = _pool()


@st.composite
def intents(draw):
    kw = {}
    for kind, field in (
        ("policy", "policies"),
        ("sid", "sids"),
        ("type1", "type1"),
        ("type2", "type2"),
    ):
        chosen = draw(st.lists(st.sampled_from(POOL[kind]), max_size=12))
        kw[field] = tuple(chosen)
    # one object per key, as a validated intent has
    tmp = Intent(node=Node(), **kw)
    st_ = state(tmp)
    return Intent(
        node=Node(),
        policies=tuple(st_["policy"].values()),
        sids=tuple(st_["sid"].values()),
        type1=tuple(st_["type1"].values()),
        type2=tuple(st_["type2"].values()),
    )


@settings(max_examples=300, deadline=None)
@given(desired=intents(), current=st.one_of(st.none(), intents()))
def test_plan_is_idempotent(desired, current):
    ops = plan(desired, current)
    after = apply_ops(current, ops)
    assert plan(desired, after) == []
    assert state(after) == state(desired)
    # dependencies hold at every step: what an op points at exists by then,
    # and nothing still points at a deleted object unless the desired state
    # itself does (random intents need not be consistent)
    want = state(desired)
    sim = current
    for op in ops:
        sim = apply_ops(sim, [op])
        now = state(sim)
        for kind, key in refs(op.kind, op.obj):
            if key in want[kind]:
                assert key in now[kind], (op, kind, key)
        if op.action == "del":
            for kind, objs in now.items():
                for k, o in objs.items():
                    if (op.kind, op.key) in refs(kind, o):
                        assert k in want[kind] and want[kind][k] == o, (op, k)


def test_node_compat_change_replaces_every_policy_and_sid():
    """Backends compile node settings into policies and SIDs: a change of
    compat.args re-issues them all, and the sessions of the replaced
    headends are installed again (a SID's session table goes with it)."""
    vpp_args = dataclasses.replace(
        LAB.node, compat=dataclasses.replace(LAB.node.compat, args="vpp")
    )
    ops = plan(dataclasses.replace(LAB, node=vpp_args), LAB)
    assert acts(ops)[0] == ("replace", "node", "node")
    assert [op.kind for op in ops[1:]] == (
        ["policy"] * 3 + ["sid"] * 12 + ["type1"] * 2 + ["type2"]
    )
    assert all(op.action == "replace" for op in ops)
    assert [op.reinstall for op in ops[-3:]] == [True] * 3
    assert not any(op.reinstall for op in ops[:-3])
    text = format_plan(ops)
    assert text.splitlines()[0] == (
        "~ node node (compat args rfc u_bit rfc -> args vpp u_bit rfc)"
    )
    assert "~ sid gtp4e (its policy or the node settings changed)" in text
    after = apply_ops(LAB, ops)
    assert after.node == vpp_args
    assert plan(dataclasses.replace(LAB, node=vpp_args), after) == []


def test_node_name_change_is_one_op():
    renamed = dataclasses.replace(LAB, node=dataclasses.replace(LAB.node, name="x"))
    ops = plan(renamed, LAB)
    assert acts(ops) == [("replace", "node", "node")]
    assert format_plan(ops).splitlines()[0] == "~ node node (name lab-gw -> x)"


def test_large_plan_keeps_base_order():
    """100,000 session adds (the ordering is O(n log n), so this returns in
    about a second; the old quadratic sort took minutes): deletions first,
    then every add in intent order."""
    many = tuple(
        dataclasses.replace(
            LAB.type1[0],
            ue_prefix=ipaddress.ip_network(
                f"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}/32"
            ),
        )
        for i in range(100_000)
    )
    ops = plan(dataclasses.replace(LAB, type1=many), LAB)
    assert acts(ops[:2]) == [
        ("del", "type1", "10.10.0.1/32"),
        ("del", "type1", "10.10.0.2/32"),
    ]
    assert [op.obj for op in ops[2:]] == list(many)


def test_replaced_headend_reinstalls_its_sessions():
    """An H.M.GTP4.D whose source prefix changes is replaced: its Type 2
    session is installed again (not removed first: it went with the SID),
    and a rollback of the SID brings the session back too; Type 1
    sessions of other headends are untouched."""
    from mupvpp.backends import mup_api

    sids = tuple(
        dataclasses.replace(s, source_prefix=ipaddress.ip_network("fc00:0:a5::/64"))
        if s.name == "uplink-gtp4"
        else s
        for s in LAB.sids
    )
    new = dataclasses.replace(LAB, sids=sids)
    ops = plan(new, LAB)
    assert acts(ops) == [
        ("replace", "sid", "uplink-gtp4"),
        ("replace", "type2", "192.0.2.100 teid 0x10000"),
    ]
    assert ops[1].reinstall and ops[1].old == ops[1].obj
    assert format_plan(ops).splitlines()[1] == (
        "~ type2 192.0.2.100 teid 0x10000 "
        "(installed again: headend uplink-gtp4 is replaced)"
    )
    assert ops_to_json(ops)[1]["reinstall"] is True
    # through the plugin API: the SID goes and comes back; the session is
    # only added (no delete of what is gone), and undoing the SID's removal
    # re-adds its session
    (gone, back), (add, _) = mup_api.op_steps(ops[0], new, LAB)
    assert gone[0] == "srv6_mup_policy_add_del" and not gone[1]["is_add"]
    assert [c[0] for c in back] == [
        "srv6_mup_policy_add_del",
        "srv6_mup_type2_add_del",
    ]
    ((call, undo),) = mup_api.op_steps(ops[1], new, LAB)
    assert call[0] == "srv6_mup_type2_add_del" and call[1]["is_add"]
    assert undo == [mup_api.type2_call(ops[1].obj, True)]
    assert plan(new, apply_ops(LAB, ops)) == []
