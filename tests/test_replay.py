"""`mupvpp replay` and the pcap reader/writer, on the example capture."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from click.testing import CliRunner
from scapy.all import IP, UDP, IPv6, IPv6ExtHdrSegmentRouting, rdpcap
from scapy.contrib.gtp import GTP_U_Header, GTPPDUSessionContainer

from mupvpp.cli import cli, main
from mupvpp.errors import InputError
from mupvpp.pcap import read_pcap

ROOT = Path(__file__).resolve().parents[1]
LAB = str(ROOT / "examples" / "lab.yaml")
PCAP = str(ROOT / "examples" / "lab-mixed.pcap")


def test_replay_example(tmp_path):
    out = tmp_path / "out.pcap"
    r = CliRunner().invoke(cli, ["replay", LAB, PCAP, "-o", str(out), "--json"])
    assert r.exit_code == 0, r.output
    s = json.loads(r.output)
    assert (s["packets_in"], s["packets_out"], s["dropped"]) == (8, 7, 1)
    assert s["drops"] == [
        {"sid": "uplink-gtp4", "reason": "gtpu_bad_version", "packets": 1}
    ]
    assert s["counters"]["uplink-gtp4"]["forwarded"] == 6
    assert s["counters"]["gtp4e"]["forwarded"] == 1
    pk = rdpcap(str(out))
    assert len(pk) == 7
    # first uplink packet: TEID 0x301, QFI 9 from the PSC, IPv4 DA 192.0.2.100
    srh = pk[0][IPv6ExtHdrSegmentRouting]
    assert pk[0][IPv6].src == "fc00:0:a4:0:c000:20a::"
    assert srh.addresses == ["fc00:0:4e:c000:264:2400:3:100", "fc00:0:2::1"]
    assert srh.tag == 0 and srh.nh == 4
    # End Marker: SRH tag 0x0001, no next header
    em = pk[4][IPv6ExtHdrSegmentRouting]
    assert (em.tag, em.nh) == (1, 59)
    # Type 2 session hit: straight to the direct segment, no SRH
    assert pk[5][IPv6].dst == "fc00:0:d4::1" and pk[5][IPv6].nh == 4
    # downlink SRv6 -> GTP-U/IPv4 toward the gNB
    g = pk[6]
    assert (g[IP].src, g[IP].dst) == ("192.0.2.100", "192.0.2.10")
    assert g[UDP].dport == 2152
    gtp = GTP_U_Header(bytes(g[UDP].payload))
    assert gtp.teid == 0x100 and gtp.gtp_type == 255 and gtp.E == 1
    psc = gtp[GTPPDUSessionContainer]
    assert (psc.type, psc.QFI) == (0, 9)  # downlink PSC, QFI from the SID
    assert bytes(psc.payload)[:1] == b"\x45"


def test_replay_text_summary(tmp_path):
    r = CliRunner().invoke(cli, ["replay", LAB, PCAP, "-o", str(tmp_path / "o.pcap")])
    assert r.exit_code == 0
    assert r.output.splitlines()[0] == (
        f"8 packets in, 7 out ({tmp_path / 'o.pcap'}), 1 dropped"
    )
    assert "uplink-gtp4      gtpu_bad_version                1" in r.output


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\x00" * 10, "is too short for a pcap header"),
        (b"\x0a\x0d\x0d\x0a" + b"\x00" * 30, "pcapng is not supported"),
        (
            struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 147),
            "link type 147 not supported",
        ),
        (
            struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)
            + struct.pack("<IIII", 0, 0, 100, 100)
            + b"\x00" * 20,
            "record 1: 100 bytes announced, 20 left in the file",
        ),
    ],
)
def test_bad_pcap(tmp_path, capsys, data, message):
    p = tmp_path / "bad.pcap"
    p.write_bytes(data)
    with pytest.raises(InputError) as ei:
        read_pcap(p)
    assert message in str(ei.value)
    with pytest.raises(SystemExit) as ei:
        main(["replay", LAB, str(p), "-o", str(tmp_path / "o")])
    assert ei.value.code == 7  # InputError
    err = capsys.readouterr().err
    assert err.startswith("mupvpp: error: ") and message in err


def test_replay_refuses_vpp(capsys):
    with pytest.raises(SystemExit) as ei:
        main(["--vpp", "/nonexistent.sock", "replay", LAB, PCAP, "-o", "/tmp/x.pcap"])
    assert ei.value.code == 6
    assert "replay runs on the embedded engine" in capsys.readouterr().err


def _pcap(path, linktype, frames, step_s=0):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1000 + i * step_s, 0, len(fr), len(fr)))
            f.write(fr)


def _limit_pkt():
    # End.Limit SID fc00:0:3b::/64: group 1 (16 bits), rate 5 (16 bits) x 1000
    da = "fc00:0:3b:0:1:5::"
    return bytes(
        IPv6(src="fc00::1", dst=da)
        / IPv6ExtHdrSegmentRouting(addresses=["fc00:0:2::9", da], segleft=1)
        / IP(src="10.0.0.1", dst="10.0.0.2")
    )


def test_replay_uses_capture_time_for_end_limit(tmp_path):
    """40 packets one second apart never exceed 5000 pps; 40 at the same
    instant exceed the burst (32) by 8."""
    slow, fast = tmp_path / "slow.pcap", tmp_path / "fast.pcap"
    _pcap(slow, 101, [_limit_pkt()] * 40, step_s=1)
    _pcap(fast, 101, [_limit_pkt()] * 40, step_s=0)
    for f, fwd, limited in ((slow, 40, 0), (fast, 32, 8)):
        r = CliRunner().invoke(
            cli, ["replay", LAB, str(f), "-o", str(tmp_path / "o"), "--json"]
        )
        s = json.loads(r.output)
        assert s["counters"]["limit"].get("forwarded", 0) == fwd
        assert s["counters"]["limit"].get("rate_limited", 0) == limited


def test_replay_jumbo_and_oversized(tmp_path):
    big = bytes(
        IP(src="192.0.2.10", dst="192.0.2.100")
        / UDP(sport=2152, dport=2152)
        / GTP_U_Header(teid=5)
        / IP(src="10.10.0.1", dst="198.51.100.1")
        / (b"j" * 8900)
    )
    huge = b"\x45" + b"\x00" * 65400  # more than a buffer can take
    f = tmp_path / "big.pcap"
    _pcap(f, 101, [big, huge])
    r = CliRunner().invoke(
        cli, ["replay", LAB, str(f), "-o", str(tmp_path / "o"), "--json"]
    )
    s = json.loads(r.output)
    assert [p["result"] for p in s["packets"]] == ["forwarded", "too_big"]
    assert len(rdpcap(str(tmp_path / "o"))[0]) == len(big) - 36 + 40 + 8 + 32


def test_replay_linktype_228_family_change_writes_raw(tmp_path):
    up = bytes(
        IP(src="192.0.2.10", dst="192.0.2.100")
        / UDP(sport=2152, dport=2152)
        / GTP_U_Header(teid=5)
        / IP(src="10.10.0.1", dst="198.51.100.1")
    )
    f = tmp_path / "v4.pcap"
    _pcap(f, 228, [up])
    out = tmp_path / "o.pcap"
    r = CliRunner().invoke(cli, ["replay", LAB, str(f), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "the output is raw IP (link type 101)" in r.output
    assert read_pcap(out)[0] == 101
    assert read_pcap(out)[1][0].ip[0] >> 4 == 6


def _uplink(payload: int = 0) -> bytes:
    return bytes(
        IP(src="192.0.2.10", dst="192.0.2.100")
        / UDP(sport=2152, dport=2152)
        / GTP_U_Header(teid=5)
        / IP(src="10.10.0.1", dst="198.51.100.1")
        / (b"j" * payload)
    )


def test_replay_runt_frames_are_counted_and_the_rest_runs(tmp_path):
    eth = b"\x00\x00\x00\x02\x00\x00\x00\x00\x00\x01\x00\x00\x08\x00"
    vlan = eth[:12] + b"\x81\x00\x00\x05"  # tag, then nothing
    f = tmp_path / "runt.pcap"
    _pcap(f, 1, [eth + _uplink(), b"\x00" * 6, vlan, eth + _uplink()])
    out = tmp_path / "o.pcap"
    r = CliRunner().invoke(cli, ["replay", LAB, str(f), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[:2] == [
        f"4 packets in, 2 out ({out}), 2 dropped",
        "undecodable frames (dropped, not run): 2 (record 2: Ethernet frame of 6 "
        "bytes, record 3: 802.1Q frame of 16 bytes)",
    ]
    assert "uplink-gtp4      forwarded                       2" in r.output
    assert len(read_pcap(out)[1]) == 2
    r = CliRunner().invoke(cli, ["replay", LAB, str(f), "-o", str(out), "--json"])
    s = json.loads(r.output)
    assert s["undecodable"] == [
        {"index": 2, "reason": "Ethernet frame of 6 bytes"},
        {"index": 3, "reason": "802.1Q frame of 16 bytes"},
    ]
    assert [p["result"] for p in s["packets"]] == [
        "forwarded",
        "undecodable",
        "undecodable",
        "forwarded",
    ]


def test_replay_oversized_counted_as_too_big_not_no_sid(tmp_path):
    ok = _uplink(60000 - len(_uplink()))
    f = tmp_path / "big.pcap"
    _pcap(f, 101, [ok, _uplink(65535 - len(_uplink())), b"\x45" + b"\x00" * 70000])
    out = tmp_path / "o.pcap"
    r = CliRunner().invoke(cli, ["replay", LAB, str(f), "-o", str(out)])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0] == f"3 packets in, 1 out ({out}), 2 dropped"
    assert "(no sid)         too_big                         2" in lines
    assert "uplink-gtp4      forwarded                       1" in lines
    assert not [ln for ln in lines if "no_sid" in ln]


def test_replay_unwritable_output_exit_2(capsys):
    with pytest.raises(SystemExit) as ei:
        main(["replay", LAB, PCAP, "-o", "/nonexistent/dir/o.pcap"])
    code = ei.value.code
    err = capsys.readouterr().err
    assert code == 2
    assert err.splitlines()[-1] == (
        "Error: Invalid value for '-o' / '--output': cannot write "
        "/nonexistent/dir/o.pcap: No such file or directory"
    )


@pytest.mark.parametrize(
    "args, code, line",
    [
        (
            ["/nonexistent/lab.yaml", PCAP],
            3,
            "mupvpp: error: /nonexistent/lab.yaml:0: intent: -: cannot read: No "
            "such file or directory",
        ),
        (
            [LAB, "/nonexistent/in.pcap"],
            7,
            "mupvpp: error: /nonexistent/in.pcap: No such file or directory",
        ),
    ],
)
def test_replay_missing_input_files(capsys, tmp_path, args, code, line):
    with pytest.raises(SystemExit) as ei:
        main(["replay", *args, "-o", str(tmp_path / "o.pcap")])
    assert ei.value.code == code
    assert capsys.readouterr().err.splitlines() == [line]
