/*
 * gen.h - embedded packet generator: executes TRex STL stream definitions
 * (packet template + field-engine program) into mup_pkt_t batches.
 *
 * The Python side (mupvpp/traffic/streams.py) turns TRex stream JSON into
 * templates, variables and instructions; this file only fills buffers.
 * Rates and burst counts are the caller's business: the generator only
 * interleaves streams by weight (smooth weighted round robin, as nginx).
 *
 * Field-engine semantics follow TRex (trex-core src/stx/stl, stream VM):
 *  - a variable starts at init: the first packet of a stream sees init;
 *  - inc adds step, wrapping past max to min + (step - left - 1); dec is the
 *    mirror image (wraps below min to max - ...);
 *  - random draws min + r % (max - min + 1) from a xorshift64* generator
 *    seeded deterministically per stream (TRex's own generator differs, so
 *    random sequences are not bit-identical to TRex, only distributed alike);
 *  - write stores (var + add) truncated to the variable's size, big- or
 *    little-endian, at a template offset;
 *  - fix IPv4 recomputes the IPv4 header checksum of the header at offset;
 *  - fix L4 (TRex fix_checksum_hw, done here in software) recomputes the
 *    UDP or TCP checksum with the IPv4/IPv6 pseudo header (IPv6: the DA in
 *    the fixed header, so not for an L4 behind an SRH with Segments Left>0).
 *
 * Offsets are template offsets (L2 header included), whatever strip_l2 is.
 */
#ifndef MUP_ENGINE_GEN_H
#define MUP_ENGINE_GEN_H

#include <stdint.h>

#include "../../vpp_plugins/srv6_mup/core/mup.h"

#define MUP_GEN_OP_INC	  0
#define MUP_GEN_OP_DEC	  1
#define MUP_GEN_OP_RANDOM 2

#define MUP_GEN_INSN_WRITE   0 /* var: variable index; big_endian; add */
#define MUP_GEN_INSN_FIX_IP4 1 /* offset: IPv4 header */
#define MUP_GEN_INSN_FIX_L4                                                   \
  2 /* offset: L3 header; add: L4 offset;                                     \
       var: IP protocol (17 UDP, 6 TCP) */

#define MUP_GEN_MAX_VARS  64
#define MUP_GEN_MAX_INSNS 128

/* mup_gen_add_stream error returns */
#define MUP_GEN_E_ARG	(-1) /* null/zero template, bad counts */
#define MUP_GEN_E_VAR	(-2) /* bad size/op/range in a variable */
#define MUP_GEN_E_INSN	(-3) /* bad kind/var/offset in an instruction */
#define MUP_GEN_E_NOMEM (-4)

/* CDEF-BEGIN */
typedef struct mup_gen mup_gen_t; /* opaque */

typedef struct
{
  uint8_t size; /* 1, 2, 4 or 8 octets */
  uint8_t op;	/* 0 inc, 1 dec, 2 random */
  uint64_t init, min, max, step;
} mup_gen_var_t;

typedef struct
{
  uint8_t kind;	      /* 0 write, 1 fix IPv4 csum, 2 fix L4 csum */
  uint8_t var;	      /* write: variable index; fix L4: IP protocol */
  uint8_t big_endian; /* write: 1 network order, 0 little-endian */
  uint16_t offset;    /* write: where; fix: L3 header offset */
  uint64_t add;	      /* write: added to the value; fix L4: L4 offset */
} mup_gen_insn_t;

mup_gen_t *mup_gen_new (void);
void mup_gen_free (mup_gen_t *g);
/* Returns the stream index (>= 0) or a negative MUP_GEN_E_* code. */
int mup_gen_add_stream (mup_gen_t *g, const uint8_t *tmpl, uint32_t len,
			uint32_t weight, const mup_gen_var_t *vars,
			uint32_t n_vars, const mup_gen_insn_t *insns,
			uint32_t n_insns);
/* Fills n packets at buf + i*stride + headroom; returns n, or 0 when no
   stream is added or a packet would not fit in stride - headroom. */
uint32_t mup_gen_fill (mup_gen_t *g, uint8_t *buf, uint32_t stride,
		       uint16_t headroom, mup_pkt_t *pkts, uint32_t n,
		       int strip_l2);
/* Packets produced so far by stream i (0 if there is no such stream). */
uint64_t mup_gen_stream_count (const mup_gen_t *g, uint32_t i);
/* Rewind every stream to its first packet (variables to init). */
void mup_gen_reset (mup_gen_t *g);
/* CDEF-END */

#endif /* MUP_ENGINE_GEN_H */
