"""CLI: exit codes, exact error lines, plan --json, session commands
(against an in-memory backend; the embedded engine is tested elsewhere)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mupvpp.cli import cli, main
from mupvpp.config import load_intent
from mupvpp.state import intent_to_dict

ROOT = Path(__file__).parent.parent
LAB = str(ROOT / "examples" / "lab.yaml")
BAD = ROOT / "tests" / "intent" / "bad" / "type1_teid_zero.yaml"


def run(*args, state=None):
    r = CliRunner()
    base = ["--state", str(state)] if state else ["--state", "/nonexistent/s.json"]
    return r.invoke(cli, base + list(args), catch_exceptions=False)


def run_main(capsys, *args):
    with pytest.raises(SystemExit) as ei:
        main(list(args))
    out, err = capsys.readouterr()
    return ei.value.code, out, err


def test_validate_ok(capsys):
    code, out, err = run_main(capsys, "validate", LAB)
    assert code == 0
    assert out == f"{LAB}: ok (3 policies, 12 sids, 2 type1, 1 type2 sessions)\n"
    assert err == ""


def test_validate_warns_gtp6e_not_penultimate(capsys, tmp_path):
    """A plain End.M.GTP6.D whose policy ends at a local End.M.GTP6.E."""
    text = (
        Path(LAB)
        .read_text()
        .replace(
            'sid: "fc00:0:6d::/64"\n    policy: to-dt4',
            'sid: "fc00:0:6d::/64"\n    policy: to-gtp6e',
        )
    )
    cfg = tmp_path / "lab.yaml"
    cfg.write_text(text)
    code, out, err = run_main(capsys, "validate", str(cfg))
    assert code == 0
    assert "warning: policy to-gtp6e ends at end.m.gtp6.e gtp6e" in err


def test_validate_bad_exit_3_exact_lines(capsys):
    code, out, err = run_main(capsys, "validate", str(BAD))
    assert code == 3
    assert out == ""
    assert err.splitlines() == [
        f"mupvpp: error: {BAD}:13: type1 10.10.0.1/32: teid: 0 out of range: must "
        "be in 1..4294967295 (TEID 0 is invalid in ST routes, "
        "draft-ietf-bess-mup-safi)",
        f"mupvpp: error: {BAD}:14: type1 10.10.0.2/32: teid: 4294967296 out of "
        "range: must be in 1..4294967295 (TEID 0 is invalid in ST routes, "
        "draft-ietf-bess-mup-safi)",
    ]


def test_usage_error_exit_2(capsys):
    code, _, err = run_main(capsys, "validate")
    assert code == 2
    assert "Missing argument" in err


def test_plan_json_empty_state(capsys):
    code, out, _ = run_main(
        capsys, "--state", "/nonexistent/s.json", "plan", LAB, "--json"
    )
    assert code == 0
    ops = json.loads(out)
    assert [(o["action"], o["kind"], o["key"]) for o in ops] == [
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
    assert ops[0]["obj"] == {
        "name": "lab-gw",
        "encap_source": "fc00:0:ff::1",
        "compat": {"args": "rfc", "u_bit": "rfc"},
        "udp4_checksum": False,
    }
    assert ops[1]["obj"] == {
        "name": "to-gtp4e",
        "segments": ["fc00:0:2::1", "fc00:0:4e::"],
        "args_len": 48,
        "line": 18,
    }
    assert all(o["old"] is None for o in ops)


def test_plan_against_state_file(tmp_path):
    state = tmp_path / "s.json"
    state.write_text(json.dumps({"intent": intent_to_dict(load_intent(LAB))}))
    r = run("plan", LAB, state=state)
    assert r.exit_code == 0
    assert r.output.splitlines()[-1] == (
        "No changes: the data plane matches the intent."
    )


@pytest.fixture
def applied(tmp_path):
    """A state file with the lab intent applied on the embedded engine."""
    st = tmp_path / "state.json"
    r = run("apply", LAB, "--yes", state=st)
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[-1] == "Applied 19 changes."
    return st


def test_apply_then_sessions(applied, tmp_path):
    st = applied
    r = run(
        "session", "add", "--ue-prefix", "10.10.0.3/32", "--gnb", "192.0.2.10",
        "--teid", "0x102", "--qfi", "9", "--headend", "downlink", state=st,
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[0] == (
        "+ type1 10.10.0.3/32 (gnb 192.0.2.10 teid 0x102 qfi 9 via downlink)"
    )
    r = run(
        "session", "handover", "--ue-prefix", "10.10.0.3/32", "--gnb", "192.0.2.11",
        "--teid", "0x200", state=st,
    )  # fmt: skip
    assert r.output.splitlines()[0] == (
        "~ type1 10.10.0.3/32 (gnb 192.0.2.10 -> 192.0.2.11, teid 0x102 -> 0x200)"
    )
    r = run("session", "del", "--ue-prefix", "10.10.0.3/32", state=st)
    assert r.output.splitlines()[0].startswith("- type1 10.10.0.3/32")
    csv = tmp_path / "ues.csv"
    csv.write_text(
        "ue_prefix,gnb,teid,qfi,headend\n"
        "10.10.1.1/32,192.0.2.10,1,1,downlink\n"
        "10.10.1.2/32,192.0.2.10,2,1,downlink\n"
    )
    r = run("session", "load", str(csv), state=st)
    assert r.exit_code == 0, r.output
    r = run("show", "sessions", "--json", state=st)
    assert [t["ue_prefix"] for t in json.loads(r.output)["type1"]] == [
        "10.10.0.1/32",
        "10.10.0.2/32",
        "10.10.1.1/32",
        "10.10.1.2/32",
    ]
    # the state really drives the engine: a UE of the loaded file is served
    from mupvpp.backends.embedded import EmbeddedBackend

    eng = EmbeddedBackend(st).engine()
    assert eng.t1st_count("downlink") == 4


def test_session_bad_headend(applied, capsys):
    code, _, err = run_main(
        capsys, "--state", str(applied), "session", "add", "--ue-prefix",
        "10.10.0.3/32", "--gnb", "192.0.2.10", "--teid", "1", "--headend", "gtp4e",
    )  # fmt: skip
    assert code == 7
    assert "a type1 session needs h.t1st" in err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--teid", "0"], "session 10.10.0.8/32: teid: 0 is outside 1..4294967295"),
        (["--teid", "-1"], "teid: -1 is outside 1..4294967295 (0 is invalid)"),
        (["--teid", "zz"], "teid: 'zz' is not an integer"),
        (["--teid", "1", "--qfi", "64"], "qfi: 64 is outside 0..63"),
    ],
)
def test_session_add_ranges(applied, capsys, args, message):
    code, _, err = run_main(
        capsys, "--state", str(applied), "session", "add", "--ue-prefix",
        "10.10.0.8/32", "--gnb", "192.0.2.10", "--headend", "downlink", *args,
    )  # fmt: skip
    assert code == 7
    assert message in err


def test_session_add_rejects_wide_ue_prefix(applied, capsys):
    code, _, err = run_main(
        capsys, "--state", str(applied), "session", "add", "--ue-prefix",
        "10.10.0.0/24", "--gnb", "192.0.2.10", "--teid", "5", "--headend", "downlink",
    )  # fmt: skip
    assert code == 7
    assert "ue_prefix: /24 not allowed (a UE is an IPv4 /32 or an IPv6 /64)" in err


def test_session_load_csv_reports_every_bad_row(applied, capsys, tmp_path):
    f = tmp_path / "s.csv"
    f.write_text(
        "ue_prefix,gnb,teid,qfi,headend\n"
        "10.10.2.1/32,192.0.2.10,0,1,downlink\n"
        "10.10.2.2/32,192.0.2.10,7,99,downlink\n"
        "10.10.2.3/32,192.0.2.10,7,1,downlink,extra\n"
        "10.10.2.4/32,192.0.2.10,8,1,downlink\n"
        "10.10.2.4/32,192.0.2.10,9,1,downlink\n"
    )
    code, _, err = run_main(capsys, "--state", str(applied), "session", "load", str(f))
    assert code == 7
    lines = [x.removeprefix("mupvpp: error: ") for x in err.strip().splitlines()]
    assert lines[0].endswith(f"{f}:2: session 10.10.2.1/32: teid: 0 is outside "
                             "1..4294967295 (0 is invalid)")  # fmt: skip
    assert lines[1] == f"{f}:3: session 10.10.2.2/32: qfi: 99 is outside 0..63"
    assert lines[2] == f"{f}:4: more columns than the header names"
    assert lines[3] == f"{f}:6: session 10.10.2.4/32 repeats line 5"


def test_session_load_csv_with_bom(applied, capsys, tmp_path):
    """Excel writes CSV UTF-8 with a byte order mark: accepted."""
    f = tmp_path / "s.csv"
    f.write_bytes(
        b"\xef\xbb\xbfue_prefix,gnb,teid,qfi,headend\r\n"
        b"10.10.2.1/32,192.0.2.10,0x77,1,downlink\r\n"
    )
    code, out, err = run_main(
        capsys, "--state", str(applied), "session", "load", str(f)
    )
    assert (code, err) == (0, "")
    assert "10.10.2.1/32" in out


def test_session_load_csv_short_row(applied, capsys, tmp_path):
    """A row with fewer columns than the header: FILE:LINE and which."""
    f = tmp_path / "s.csv"
    f.write_text(
        "ue_prefix,gnb,teid,qfi,headend\n"
        "10.10.2.1/32,192.0.2.10,7,1,downlink\n"
        "10.10.2.2/32,192.0.2.10,8\n"
    )
    code, _, err = run_main(capsys, "--state", str(applied), "session", "load", str(f))
    assert code == 7
    assert err == (
        f"mupvpp: error: {f}:3: fewer columns than the header names: "
        "missing qfi, headend\n"
    )


def test_session_load_csv_bad_header(applied, capsys, tmp_path):
    f = tmp_path / "s.csv"
    f.write_text("ue_prefix;gnb;teid;headend\n10.10.2.1/32;192.0.2.10;1;downlink\n")
    code, _, err = run_main(capsys, "--state", str(applied), "session", "load", str(f))
    assert code == 7
    assert "header must name ue_prefix,gnb,teid,headend" in err


def test_session_load_yaml_bad_input_exit_7(applied, capsys, tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("- {ue_prefix: 10.10.0.3/32, gnb: 192.0.2.10, teid: 0, headend: x}\n")
    code, _, err = run_main(capsys, "--state", str(applied), "session", "load", str(f))
    assert code == 7
    assert "teid: 0 out of range" in err


def test_state_in_a_missing_directory(capsys):
    code, _, err = run_main(
        capsys, "--state", "/proc/nope/st.json", "apply", "--yes", LAB
    )
    assert code == 7
    assert "--state /proc/nope/st.json: cannot write the state file" in err


def test_help_teaches():
    r = run("--help")
    assert "_MUPVPP_COMPLETE=bash_source mupvpp" in r.output
    assert "3 intent invalid" in r.output
    assert "srv6_mup plugin" in r.output


@pytest.mark.parametrize(
    "text, why",
    [
        ('{"intent": "x"}', "'intent' is a string, expected an object"),
        (
            "[]",
            "not a mupvpp state file: expected a JSON object with an 'intent' "
            "key, found a list",
        ),
        (
            '{"sids": []}',
            "not a mupvpp state file: expected a JSON object with an 'intent' "
            "key, found an object without 'intent'",
        ),
        (
            '{"intent": {"sids": [{"x": 1}]}}',
            "'intent' is not an intent mupvpp wrote: missing 'name'",
        ),
        ("nope", "not JSON (Expecting value: line 1 column 1 (char 0))"),
    ],
)
@pytest.mark.parametrize(
    "cmd",
    [
        ["plan", LAB],
        ["show", "sids"],
        ["show", "node"],
        ["show", "counters"],
        ["apply", LAB, "--yes"],
        ["session", "del", "--ue-prefix", "10.10.0.1/32"],
    ],
)
def test_malformed_state_file_same_error_everywhere(capsys, tmp_path, text, why, cmd):
    st = tmp_path / "st.json"
    st.write_text(text)
    code, out, err = run_main(capsys, "--state", str(st), *cmd)
    assert code == 7
    assert out == ""
    assert err.splitlines() == [f"mupvpp: error: state file {st}: {why}"]
    assert st.read_text() == text  # left alone


@pytest.mark.parametrize(
    "cmd",
    [
        ["add", "--ue-prefix", "10.10.0.3/32", "--gnb", "192.0.2.10", "--teid", "1",
         "--headend", "downlink"],
        ["del", "--ue-prefix", "10.10.0.1/32"],
        ["load", "ues.csv"],
    ],
)  # fmt: skip
def test_session_before_apply(capsys, tmp_path, monkeypatch, cmd):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ues.csv").write_text(
        "ue_prefix,gnb,teid,headend\n10.10.0.3/32,192.0.2.10,1,downlink\n"
    )
    st = tmp_path / "st.json"
    code, out, err = run_main(capsys, "--state", str(st), "session", *cmd)
    assert code == 7
    assert err.splitlines() == [
        f"mupvpp: error: nothing applied yet (state file {st}): run 'mupvpp "
        "apply CONFIG' first"
    ]
    assert not st.exists()


def test_exit_codes_documented_alike():
    """`mupvpp --help`, README.md and errors.py say the same about exit 7."""
    import re

    import mupvpp.errors

    def flat(text: str) -> str:
        return re.sub(r"\s+", " ", text)

    help_text = flat(run("--help").output)
    readme = flat((ROOT / "README.md").read_text())
    doc = flat(mupvpp.errors.__doc__)
    assert (
        "7 bad input file (pcap, session list, TRex profile or state file; also "
        "bench when nothing could be measured)" in help_text
    )
    assert (
        "7 bad input file (pcap, session list, TRex profile or state file; also "
        "`bench` when nothing could be measured)" in readme
    )
    assert (
        "bad input file: pcap (packets), session list, TRex profile or state "
        "file; also `bench` when nothing at all could be measured" in doc
    )


def test_readme_links_exist():
    import re

    text = (ROOT / "README.md").read_text()
    assert "../shared" not in text
    links = re.findall(r"\]\(([^)#]+)\)", text)
    assert "docs/trex.md" in links
    assert [x for x in links if not (ROOT / x).exists()] == []


def test_show_counters_hint_names_replay_only(capsys, tmp_path):
    code, out, err = run_main(
        capsys, "--state", str(tmp_path / "s"), "show", "counters"
    )
    assert code == 0
    assert out == ""
    assert err == (
        "no counters: the embedded engine counts within one run; `mupvpp replay` "
        "and `mupvpp bench` print theirs, and replay saves its own in --state "
        "when it replays the applied CONFIG\n"
    )


@pytest.mark.parametrize("what", ["node", "sids", "policies", "sessions"])
def test_show_nothing_applied(capsys, tmp_path, what):
    st = tmp_path / "s.json"
    code, out, err = run_main(capsys, "--state", str(st), "show", what)
    assert code == 0
    assert out == ""
    assert err == (
        f"nothing applied yet (state file {st}): run 'mupvpp apply CONFIG' first\n"
    )


def test_session_add_help_and_ipv6_gnb_agree(applied, capsys):
    r = run("session", "add", "--help")
    assert "--gnb TEXT" in r.output
    assert "gNB IPv4 address" in " ".join(r.output.split())
    assert "IPv6 gNBs are not supported yet" in " ".join(r.output.split())
    code, _, err = run_main(
        capsys, "--state", str(applied), "session", "add", "--ue-prefix",
        "10.10.0.3/32", "--gnb", "2001:db8::1", "--teid", "1", "--headend",
        "downlink",
    )  # fmt: skip
    assert code == 7
    assert err.splitlines() == [
        "mupvpp: error: type1 10.10.0.3/32: gnb: H.M.T1ST stamps the "
        "End.M.GTP4.E layout (IPv4 gNB + Args.Mob.Session); an IPv6 gNB is not "
        "supported yet"
    ]


@pytest.mark.parametrize(
    "text, line",
    [
        (
            "type1:\n  - {ue_prefix: 10.10.0.3/32, gnb: [\n",
            "{f}:3: yaml: -: expected the node content, but found '<stream end>'",
        ),
        (
            "type1: []\ntype2:\n  - {n3: 192.0.2.100, teid: 5, segment: "
            '"fc00:0:d4::1", headend: uplink-gtp4}\n',
            "{f}:2: sessions: type2: only type1 sessions can be loaded (a list, "
            "or {{type1: [...]}}); put type2 sessions in CONFIG and apply it",
        ),
    ],
)
def test_session_load_yaml_errors_name_the_file(applied, capsys, tmp_path, text, line):
    f = tmp_path / "ues.yaml"
    f.write_text(text)
    before = applied.read_text()
    code, out, err = run_main(
        capsys, "--state", str(applied), "session", "load", str(f)
    )
    assert code == 7
    assert err.splitlines() == ["mupvpp: error: " + line.format(f=f)]
    assert applied.read_text() == before


def test_concurrent_session_adds_all_land(tmp_path):
    """Six `mupvpp session add` at once on one state file: the state lock
    makes them take turns, so every session is kept (before, each saved
    over the others and two of six survived)."""
    import subprocess
    import sys

    exe = str(Path(sys.executable).parent / "mupvpp")
    st = str(tmp_path / "st.json")
    r = subprocess.run(
        [exe, "--state", st, "apply", "--yes", LAB], capture_output=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    procs = [
        subprocess.Popen(
            [
                exe,
                "--state",
                st,
                "session",
                "add",
                "--ue-prefix",
                f"10.10.3.{i}/32",
                "--gnb",
                "192.0.2.10",
                "--teid",
                str(0x700 + i),
                "--qfi",
                "1",
                "--headend",
                "downlink",
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for i in range(1, 7)
    ]
    for p in procs:
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
    doc = json.loads(Path(st).read_text())
    ues = {t["ue_prefix"] for t in doc["intent"]["sessions"]["type1"]}
    assert {f"10.10.3.{i}/32" for i in range(1, 7)} <= ues
    assert Path(st + ".lock").exists()
