/*
 * engine.h - the embedded engine's C API, used through cffi
 * (mupvpp/engine/build.py reads the declarations between the CDEF markers).
 */
#ifndef MUPVPP_ENGINE_H
#define MUPVPP_ENGINE_H

#include <stdint.h>
#include "../../vpp_plugins/srv6_mup/core/mup.h"

/* CDEF-BEGIN */
typedef struct mup_engine mup_engine_t;
mup_engine_t *mup_engine_new (uint32_t max_sids);
void mup_engine_free (mup_engine_t *e);
int mup_engine_set_sid (mup_engine_t *e, uint32_t index,
			const mup_sid_params_t *p, const char **msg);
int mup_engine_del_sid (mup_engine_t *e, uint32_t index);
int mup_engine_route_add (mup_engine_t *e, int is_ip6, const uint8_t *addr,
			  uint8_t len, uint32_t index);
int mup_engine_route_del (mup_engine_t *e, int is_ip6, const uint8_t *addr,
			  uint8_t len);
uint32_t mup_engine_lookup (mup_engine_t *e, int is_ip6, const uint8_t *addr);
int mup_engine_map_set (mup_engine_t *e, uint32_t index, const uint8_t *from,
			const uint8_t *to);
int mup_engine_map_del (mup_engine_t *e, uint32_t index, const uint8_t *from);
int mup_engine_t2st_set (mup_engine_t *e, uint32_t index, const uint8_t *n3,
			 uint32_t teid, const uint8_t *segment);
int mup_engine_t2st_del (mup_engine_t *e, uint32_t index, const uint8_t *n3,
			 uint32_t teid);
int mup_engine_t1st_set (mup_engine_t *e, uint32_t index, const uint8_t *key,
			 const mup_t1st_t *v, uint8_t key_len);
uint32_t mup_engine_t1st_bulk (mup_engine_t *e, uint32_t index,
			       const uint8_t *keys, const mup_t1st_t *vals,
			       uint32_t n, uint8_t key_len);
int mup_engine_t1st_end_marker (mup_engine_t *e, uint32_t index,
				const uint8_t *key, uint8_t *buf,
				uint32_t size, const char **msg);
int mup_engine_t1st_del (mup_engine_t *e, uint32_t index, const uint8_t *key);
uint32_t mup_engine_t1st_count (mup_engine_t *e, uint32_t index);
void mup_engine_process (mup_engine_t *e, mup_pkt_t *pkts, uint32_t n,
			 uint64_t now_ns);
void mup_engine_run_sid (mup_engine_t *e, uint32_t index, mup_pkt_t *pkts,
			 uint32_t n, uint64_t now_ns);
int mup_engine_counters (mup_engine_t *e, uint32_t index, uint64_t *out,
			 uint32_t n_out);
void mup_engine_clear_counters (mup_engine_t *e);
uint32_t mup_n_errors (void);
uint64_t mup_rdtsc (void);
uint64_t mup_engine_bench_sid (mup_engine_t *e, uint32_t index,
			       const uint8_t *tmpl, const uint16_t *lens,
			       uint32_t stride, uint16_t headroom,
			       uint8_t *buf, mup_pkt_t *pkts, uint32_t n,
			       uint32_t rounds, uint64_t now_ns);
void mup_callgrind_dump (const char *label);
/* CDEF-END */

#endif
