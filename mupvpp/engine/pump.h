/* pump.h - generator -> engine measurement loop (see pump.c). */
#ifndef MUPVPP_PUMP_H
#define MUPVPP_PUMP_H

#include "engine.h"
#include "gen.h"

/* CDEF-BEGIN */
typedef struct
{
  uint64_t sent, forwarded, dropped, bytes, cycles;
  /* path probe: a big-endian u32 at probe_off of each forwarded packet is
     compared with probe_a (old path) and probe_b (new path) */
  uint32_t probe_off, probe_a, probe_b;
  uint64_t hits_a, hits_b, hits_other;
} mup_pump_stats_t;
int mup_pump (mup_engine_t *e, mup_gen_t *g, uint8_t *buf, uint32_t stride,
	      uint16_t headroom, mup_pkt_t *pkts, uint32_t vec,
	      uint64_t n_vectors, uint64_t now_ns, uint64_t ns_per_vector,
	      mup_pump_stats_t *st);
/* CDEF-END */

#endif
