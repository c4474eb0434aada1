/*
 * pump.c - the measurement loop in C: generator -> engine, vector by
 * vector, with no Python per packet.  Cycles are counted around the engine
 * only, so the figures are the data plane's, not the generator's.
 */
#include <string.h>
#include "pump.h"

static inline uint32_t
rd32 (const uint8_t *p)
{
  return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 |
	 p[3];
}

int
mup_pump (mup_engine_t *e, mup_gen_t *g, uint8_t *buf, uint32_t stride,
	  uint16_t headroom, mup_pkt_t *pkts, uint32_t vec, uint64_t n_vectors,
	  uint64_t now_ns, uint64_t ns_per_vector, mup_pump_stats_t *st)
{
  uint64_t v;
  uint32_t i;
  for (v = 0; v < n_vectors; v++)
    {
      uint64_t t0, t1;
      if (mup_gen_fill (g, buf, stride, headroom, pkts, vec, 1) != vec)
	return -1;
      t0 = mup_rdtsc ();
      mup_engine_process (e, pkts, vec, now_ns);
      t1 = mup_rdtsc ();
      st->cycles += t1 - t0;
      st->sent += vec;
      now_ns += ns_per_vector;
      for (i = 0; i < vec; i++)
	{
	  const mup_pkt_t *p = &pkts[i];
	  if (p->error)
	    {
	      st->dropped++;
	      continue;
	    }
	  st->forwarded++;
	  st->bytes += p->len;
	  if (st->probe_off && p->len >= st->probe_off + 4u)
	    {
	      uint32_t val = rd32 (p->data + st->probe_off);
	      if (val == st->probe_a)
		st->hits_a++;
	      else if (val == st->probe_b)
		st->hits_b++;
	      else
		st->hits_other++;
	    }
	}
    }
  return 0;
}
