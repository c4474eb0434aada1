"""Intent loader: good fixtures load, each bad fixture gives exactly the
error lines in its ``.expect`` sidecar (FILE:LINE: OBJECT: FIELD: MESSAGE)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from mupvpp.config import load_intent, load_intent_text
from mupvpp.errors import IntentError, Problem
from mupvpp.model import Behavior, InnerType

HERE = Path(__file__).parent
ROOT = HERE.parent
GOOD = sorted((HERE / "intent" / "good").glob("*.yaml"))
BAD = sorted((HERE / "intent" / "bad").glob("*.yaml"))


def test_fixture_counts():
    assert len(BAD) >= 25
    assert all(p.with_suffix(".expect").exists() for p in BAD)


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.stem)
def test_good(path):
    warnings: list[Problem] = []
    intent = load_intent(path, warnings)
    assert intent.source == str(path)
    assert warnings == []


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad(path):
    expected = path.with_suffix(".expect").read_text().splitlines()
    with pytest.raises(IntentError) as ei:
        load_intent_text(path.read_text(), path.name)
    assert str(ei.value).splitlines() == expected
    assert ei.value.exit_code == 3
    assert [str(p) for p in ei.value.problems] == expected


def test_all_problems_reported_at_once():
    with pytest.raises(IntentError) as ei:
        load_intent(HERE / "intent" / "bad" / "many_problems.yaml")
    problems = ei.value.problems
    assert len(problems) >= 8
    objs = {p.obj for p in problems}
    assert {"node", "policy p4", "sid e4", "sid weird", "sid down"} <= objs
    assert problems == sorted(problems, key=lambda p: p.line)


def test_lab_example():
    warnings: list[Problem] = []
    intent = load_intent(ROOT / "examples" / "lab.yaml", warnings)
    assert intent.node.name == "lab-gw"
    assert [p.name for p in intent.policies] == ["to-gtp4e", "to-gtp6e", "to-dt4"]
    assert intent.policy("to-gtp4e").args_len == 48
    assert intent.policy("to-dt4").args_len == 64
    e4 = intent.sid("gtp4e")
    assert e4.behavior is Behavior.END_M_GTP4_E
    assert e4.prefix == ipaddress.ip_network("fc00:0:4e::/48")
    assert e4.ipv4_source_len == 64
    assert intent.sid("limit").limit_group_bits == 16
    assert intent.sid("map").maps == (
        (
            ipaddress.ip_address("fc00:0:3a::1"),
            ipaddress.ip_address("fc00:0:d4::1"),
        ),
    )
    assert [t.teid for t in intent.type1] == [0x100, 0x101]
    assert intent.type2[0].key == "192.0.2.100 teid 0x10000"
    assert warnings == []


def test_defaults_and_sid_without_len():
    intent = load_intent_text(
        "node: {name: n}\nsids:\n  - {name: e, behavior: end, sid: 'fc00::1'}\n",
        "x.yaml",
    )
    s = intent.sid("e")
    assert s.prefix.prefixlen == 128
    assert s.inner is InnerType.DETECT
    assert s.line == 3
    assert intent.node.compat.args == "rfc"


def test_problem_format():
    p = Problem("f.yaml", 7, "sid x", "sid", "bad")
    assert str(p) == "f.yaml:7: sid x: sid: bad"
    w = Problem("f.yaml", 7, "sid x", "policy", "hmm", "warning")
    assert str(w) == "f.yaml:7: sid x: policy: warning: hmm"


def test_unreadable_file(tmp_path):
    with pytest.raises(IntentError) as ei:
        load_intent(tmp_path / "missing.yaml")
    assert "cannot read" in str(ei.value)


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"node: {name: caf\xe9}\n", "x.yaml:1: yaml: -: not UTF-8 text: byte 0xe9"),
        (b"node:\n  name: a\x00b\n", "x.yaml:1: yaml: -: unacceptable character"),
    ],
)
def test_undecodable_intent(tmp_path, data, expected):
    f = tmp_path / "x.yaml"
    f.write_bytes(data)
    with pytest.raises(IntentError) as ei:
        load_intent(f)
    assert str(ei.value).replace(str(tmp_path) + "/", "").startswith(expected)
