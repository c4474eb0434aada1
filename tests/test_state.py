"""Intent <-> JSON round trip (the embedded state file and --json output)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mupvpp.config import load_intent
from mupvpp.state import intent_from_dict, intent_to_dict

HERE = Path(__file__).parent
FILES = [HERE.parent / "examples" / "lab.yaml"] + sorted(
    (HERE / "intent" / "good").glob("*.yaml")
)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_round_trip(path):
    intent = load_intent(path)
    d = intent_to_dict(intent)
    text = json.dumps(d, sort_keys=True)
    back = intent_from_dict(json.loads(text))
    assert back == intent
    assert intent_to_dict(back) == d


def test_shape():
    d = intent_to_dict(load_intent(FILES[0]))
    assert d["version"] == 1
    assert d["node"]["encap_source"] == "fc00:0:ff::1"
    assert d["sessions"]["type1"][0] == {
        "ue_prefix": "10.10.0.1/32",
        "gnb": "192.0.2.10",
        "teid": 256,
        "qfi": 9,
        "rqi": False,
        "headend": "downlink",
        "line": 77,
    }


def test_wrong_version():
    with pytest.raises(ValueError, match="version 9"):
        intent_from_dict({"version": 9})
