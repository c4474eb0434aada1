"""Seed corpus for fuzz_core: every golden-vector input, prefixed with the
fuzz target's SID index for its behaviour and a full headroom octet."""

import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# index of the first SID of each behaviour in fuzz_core.c setup()
SID_INDEX = {
    "h.m.gtp4.d": 0,
    "end.m.gtp4.e": 2,
    "end.m.gtp6.d": 3,
    "end.m.gtp6.d.di": 4,
    "end.m.gtp6.e": 5,
    "end": 6,
    "end.dt4": 7,
    "end.dt6": 8,
    "end.dt46": 9,
    "end.map": 10,
    "end.limit": 11,
    "h.encaps": 12,
    "h.t1st": 13,
    "gtp4.dt4": 14,
    "gtp4.dt46": 15,
    "gtp6.dt6": 16,
    "gtp6.dt46": 17,
}


def main(out: Path) -> None:
    out.mkdir(exist_ok=True)
    n = 0
    for f in sorted((HERE.parent / "vectors").glob("*.json")):
        for case in json.loads(f.read_text()):
            found = re.findall(r"behavior: ([\w.]+)", case["intent"])
            beh = next((b for b in found if b in SID_INDEX), None)
            if beh is None:
                continue
            data = bytes([SID_INDEX[beh], 128]) + bytes.fromhex(case["input"])
            (out / f"{f.stem}-{n}").write_bytes(data)
            n += 1
    print(f"{n} seeds in {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "seeds")
