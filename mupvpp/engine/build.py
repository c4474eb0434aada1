"""cffi out-of-line API build of the C core + embedded engine.

Run by setuptools (``cffi_modules`` in setup.py) when the package is
installed; produces the extension ``mupvpp._engine``.  The C declarations
come from the headers themselves (between CDEF markers) so they cannot
drift from the C sources.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CORE = ROOT / "vpp_plugins" / "srv6_mup" / "core"

# Types of mup.h that Python touches, in cdef syntax ("..." lets the C
# compiler fill in sizes and constants).
CORE_CDEF = """
#define MUP_PRE_DATA ...
#define MUP_MAX_SEGS ...
#define MUP_F_VPP_ARGS ...
#define MUP_F_U_PDU_TYPE ...
#define MUP_F_UDP4_CSUM ...
#define MUP_F_ALWAYS_SRH ...
#define MUP_F_FIXED_SRC4 ...
#define MUP_F_FIXED_SRC6 ...
#define MUP_F_NO_PSC ...
typedef struct {
  uint8_t *data;
  uint16_t len;
  uint16_t headroom;
  uint16_t tailroom;
  uint8_t next;
  uint8_t error;
  uint32_t fib_index;
  uint32_t sid_index;
} mup_pkt_t;
typedef struct {
  uint8_t gnb[16];
  uint32_t teid;
  uint8_t qfi;
  uint8_t is_ip6;
  uint8_t rqi;
  ...;
} mup_t1st_t;
typedef struct {
  uint8_t behavior;
  uint8_t flags;
  uint8_t sid_len;
  uint8_t src_len;
  uint8_t dst_len;
  uint8_t nh;
  uint8_t pdu_type;
  uint8_t nsegs;
  uint32_t fib_index;
  uint8_t src6[16];
  uint8_t src4[4];
  uint8_t segs[...][16];
  uint8_t dst_prefix[16];
  uint8_t limit_group_bits;
  uint8_t limit_rate_bits;
  uint64_t limit_unit_pps;
  uint32_t limit_burst;
} mup_sid_params_t;
const char *mup_error_name (unsigned e);
const char *mup_behavior_name (unsigned b);
void mup_args_write (uint8_t addr[16], unsigned bit_off, uint8_t qfi,
                     uint8_t r, uint8_t u, uint32_t teid);
void mup_args_read (const uint8_t addr[16], unsigned bit_off, uint8_t *qfi,
                    uint8_t *r, uint8_t *u, uint32_t *teid);
void mup_bits_write (uint8_t addr[16], unsigned bit_off, unsigned nbits,
                     uint64_t value);
uint64_t mup_bits_read (const uint8_t addr[16], unsigned bit_off,
                        unsigned nbits);
"""


def _cdef_of(header: Path) -> str:
    text = header.read_text()
    m = re.search(r"/\* CDEF-BEGIN \*/(.*?)/\* CDEF-END \*/", text, re.S)
    if not m:
        raise RuntimeError(f"{header}: no CDEF-BEGIN/CDEF-END block")
    return m.group(1)


ffibuilder = FFI()
cdef = CORE_CDEF + _cdef_of(HERE / "engine.h")
sources = [str(CORE / "mup_core.c"), str(HERE / "engine.c")]
includes = '#include "engine.h"\n'
if (HERE / "gen.h").exists():
    cdef += _cdef_of(HERE / "gen.h")
    sources.append(str(HERE / "gen.c"))
    includes += '#include "gen.h"\n'
    cdef += _cdef_of(HERE / "pump.h")
    sources.append(str(HERE / "pump.c"))
    includes += '#include "pump.h"\n'
SANITIZE = os.environ.get("MUPVPP_SANITIZE") == "1"
ffibuilder.cdef(cdef)
ffibuilder.set_source(
    "mupvpp._engine_asan" if SANITIZE else "mupvpp._engine",
    includes,
    sources=[str(Path(s).relative_to(ROOT)) for s in sources],
    include_dirs=[str(HERE.relative_to(ROOT)), str(CORE.relative_to(ROOT))],
    extra_compile_args=[
        "-O3",
        "-std=gnu11",
        "-Wall",
        "-Wextra",
        "-Wno-unused-parameter",
        "-fno-strict-aliasing",
    ]
    + (
        [
            "-O1",
            "-g",
            "-fsanitize=address,undefined",
            "-fno-omit-frame-pointer",
            "-fno-sanitize-recover=undefined",
        ]
        if SANITIZE
        else []
    ),
    extra_link_args=["-fsanitize=address,undefined"] if SANITIZE else [],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=False)
