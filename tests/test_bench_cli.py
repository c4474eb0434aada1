"""`mupvpp bench` on the embedded engine, through the command line: which
scenarios are measured or skipped on a configuration that is not
examples/lab.yaml, what is written to --out, exit codes and error lines.
Figures (Mpps) are not asserted."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mupvpp.cli import main

ROOT = Path(__file__).resolve().parents[1]
LAB = ROOT / "examples" / "lab.yaml"

needs_trex = pytest.mark.skipif(
    not (ROOT / ".venv-trex" / "bin" / "python").exists(),
    reason="TRex client venv (.venv-trex) not installed: run make venv-trex",
)

# lab.yaml with every SID, match and UE pool moved: the profiles' default
# addresses (lab.yaml's) reach none of them.
MOVES = [
    ("192.0.2.100", "192.0.2.101"),
    ("192.0.2.200", "192.0.2.201"),
    ("fc00:0:", "fc00:1:"),
    ("10.10.0.", "10.20.0."),
]


def other_lab(tmp_path) -> Path:
    text = LAB.read_text()
    for a, b in MOVES:
        text = text.replace(a, b)
    p = tmp_path / "other.yaml"
    p.write_text(text)
    return p


def run_main(capsys, *args):
    with pytest.raises(SystemExit) as ei:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return ei.value.code, out, err


def errors(err: str) -> list[str]:
    return [ln for ln in err.splitlines() if ln.startswith(("mupvpp:", "Error:"))]


@needs_trex
def test_bench_aims_scenarios_and_skips_what_it_cannot(capsys, tmp_path):
    cfg = other_lab(tmp_path)
    out_dir = tmp_path / "res"
    out_dir.mkdir()
    (out_dir / "handover.png").write_bytes(b"old")  # from an earlier run
    code, out, err = run_main(
        capsys, "bench", cfg, "--duration", "0.05", "--no-handover", "--out", out_dir
    )
    assert code == 0, err
    rows = {" ".join(ln.split()[:2]): ln for ln in out.splitlines() if " " in ln}
    # aimed at the config's SIDs through the profiles' tunables
    for scenario, sid in [
        ("h.m.gtp4.d", "uplink-gtp4"),
        ("end.m.gtp4.e", "gtp4e"),
        ("end.m.gtp6.d", "gtp6d"),
        ("end.m.gtp6.d.di", "gtp6d-di"),
        ("end.m.gtp6.e", "gtp6e"),
        ("end.dt4", "dt4"),
        ("h.t1st", "downlink"),
        ("end.map", "map"),
        ("gtp4.dt4", "gtp4-dt4"),
    ]:
        assert re.fullmatch(
            rf"{re.escape(scenario)} +{sid} +128 .* 100\.0  -",
            rows[f"{scenario} {sid}"],
        )
    # no tunable aims these: skipped, with the reason
    skipped = [ln for ln in out.splitlines() if " skipped: " in ln]
    assert skipped == [
        "end                skipped: traffic of srv6_end.py reaches no end SID of "
        "this config (it goes to fc00:0:2::1); use --profile with a profile that "
        "sends to it",
        "imix h.m.gtp4.d    skipped: traffic of imix_gtp4.py reaches no h.m.gtp4.d "
        "SID of this config (it goes to 192.0.2.100); use --profile with a profile "
        "that sends to it",
        "gtp control mix    skipped: traffic of gtp_control_mix.py reaches no "
        "h.m.gtp4.d SID of this config (it goes to 192.0.2.100); use --profile "
        "with a profile that sends to it",
    ]
    assert (
        "no scenario measures end.dt6, end.limit (use --profile with a profile of "
        "your own)" in out.splitlines()
    )
    assert "handover: not run (--no-handover)" in out.splitlines()
    assert out.splitlines()[-1] == (
        f"removed (stale, from an earlier run): {out_dir / 'handover.png'}"
    )
    assert not (out_dir / "handover.png").exists()
    assert (out_dir / "throughput.png").exists()
    doc = json.loads((out_dir / "bench.json").read_text())
    assert len(doc["throughput"]) == 9
    assert all(r["sid"] != "(no sid)" for r in doc["throughput"])
    assert [s["scenario"] for s in doc["skipped"]] == [
        "end",
        "imix h.m.gtp4.d",
        "gtp control mix",
    ]
    assert doc["skipped"][0]["reason"].startswith("traffic of srv6_end.py reaches")
    assert doc["no_scenario"] == ["end.dt6", "end.limit"]
    assert doc["handover"] is None
    assert doc["handover_note"] == "not run (--no-handover)"


@needs_trex
def test_bench_handover_uses_the_headend_pool(capsys, tmp_path):
    cfg = other_lab(tmp_path)
    code, out, err = run_main(
        capsys, "bench", cfg, "--profile", "srv6_end", "-t", "size=128",
        "--duration", "0.05", "--out", tmp_path / "r",
    )  # fmt: skip
    # a --profile that reaches no SID: nothing measured, exit 7
    assert code == 7
    assert (
        "srv6_end           skipped: traffic of srv6_end.py reaches no SID of "
        "this config (it goes to fc00:0:2::1); check its -t tunables"
    ) in out.splitlines()
    assert errors(err) == [
        "mupvpp: error: nothing measured: every scenario was skipped (see the "
        "table above)"
    ]
    from mupvpp.bench.run import handover
    from mupvpp.bench.scenarios import PROFILE_DIR
    from mupvpp.config import load_intent
    from mupvpp.engine import Engine

    intent = load_intent(str(cfg))
    eng = Engine()
    eng.load_intent(intent)
    h = handover(
        eng, intent, PROFILE_DIR / "handover_downlink.py", n_ue=16, duration_s=0.2
    )
    assert h.sent > 0 and h.lost == 0 and h.via_old + h.via_new == h.sent


def test_bench_nothing_to_measure_exit_7(capsys, tmp_path):
    cfg = tmp_path / "dt6.yaml"
    cfg.write_text(
        "node: {name: x}\nsids:\n"
        '  - {name: dt6, behavior: end.dt6, sid: "fc00:0:d6::/64", fib_table: 0}\n'
    )
    code, out, err = run_main(capsys, "bench", cfg, "--out", tmp_path / "r")
    assert code == 7
    assert out.splitlines()[2:5] == [
        "no scenario measures end.dt6 (use --profile with a profile of your own)",
        "",
        "handover: not run (no h.t1st headend in this config)",
    ]
    assert errors(err) == [
        "mupvpp: error: nothing measured: no scenario for this config (see the "
        "table above)"
    ]
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["bench.json"]


@pytest.mark.parametrize(
    "args, line",
    [
        (
            ["--out", "/proc/foo"],
            "Error: Invalid value for --out: cannot write /proc/foo: No such file "
            "or directory",
        ),
        (
            ["--json", "/nonexistent/x.json"],
            "Error: Invalid value for --json: cannot write /nonexistent/x.json: "
            "No such file or directory",
        ),
        (["-t", "n_ue=4"], "Error: -t/--tunable applies to --profile: give a profile"),
    ],
)
def test_bench_bad_command_line_exit_2_before_running(capsys, args, line):
    code, out, err = run_main(capsys, "bench", LAB, *args)
    assert code == 2
    assert out == ""
    assert err.splitlines()[-1] == line
    assert "Traceback" not in err


def test_bench_missing_config_exit_3_like_validate(capsys):
    code, out, err = run_main(capsys, "bench", "/nonexistent/lab.yaml")
    assert code == 3
    assert errors(err) == [
        "mupvpp: error: /nonexistent/lab.yaml:0: intent: -: cannot read: No such "
        "file or directory"
    ]
    vcode, _, verr = run_main(capsys, "validate", "/nonexistent/lab.yaml")
    assert (vcode, errors(verr)) == (code, errors(err))


def test_bench_yaml_profile_refused_exit_7(capsys, tmp_path):
    prof = tmp_path / "imix.yaml"
    prof.write_text("- duration: 1\n")
    code, out, err = run_main(capsys, "bench", LAB, "--profile", prof)
    assert code == 7
    assert errors(err) == [
        f"mupvpp: error: --profile {prof}: only TRex STL Python profiles (.py) are "
        "supported, not TRex YAML or other profiles"
    ]


@needs_trex
@pytest.mark.parametrize(
    "args, line",
    [
        (
            ["--profile", "gtp4_uplink", "-t", "teid=0"],
            "mupvpp: error: TRex profile gtp4_uplink.py: ValueError: TEID range "
            "must be inside 1..0xffffffff",
        ),
        (
            ["--profile", str(ROOT / "trex_profiles" / "_mup_pkt.py")],
            "mupvpp: error: TRex profile _mup_pkt.py: not a TRex STL profile: it "
            "has no register()",
        ),
        (
            ["--profile", "gtp4_uplink", "-t", "bogus=1,x=2"],
            "mupvpp: error: TRex profile gtp4_uplink.py: unknown tunable bogus, x "
            "(known: dst, n_teid, n_ue, pps, psc, qfi, size, src, teid)",
        ),
        (
            ["--profile", "gtp4_uplink", "-t", "teid=abc"],
            "mupvpp: error: TRex profile gtp4_uplink.py: argument --teid: invalid "
            "int0 value: 'abc'",
        ),
    ],
)
def test_bench_profile_errors_are_one_line_exit_7(capsys, tmp_path, args, line):
    code, out, err = run_main(
        capsys, "bench", LAB, *args, "--duration", "0.05", "--out", tmp_path
    )
    assert code == 7
    assert errors(err) == [line]
    assert "Traceback" not in err


@needs_trex
def test_bench_profile_traceback_with_mupvpp_verbose(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("MUPVPP_VERBOSE", "1")
    code, out, err = run_main(
        capsys, "bench", LAB, "--profile", "gtp4_uplink", "-t", "teid=0",
        "--out", tmp_path,
    )  # fmt: skip
    assert code == 7
    lines = errors(err)
    assert lines[0] == (
        "mupvpp: error: TRex profile gtp4_uplink.py: ValueError: TEID range must "
        "be inside 1..0xffffffff"
    )
    assert "mupvpp: error: Python Traceback follows:" in lines
    assert lines[-1] == (
        "mupvpp: error: ValueError: TEID range must be inside 1..0xffffffff"
    )
