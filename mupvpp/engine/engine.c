/*
 * engine.c - the embedded data plane: a classifier (longest-prefix match on
 * the destination, IPv4 and IPv6) in front of the portable core, with per
 * SID counters.  It plays the role VPP's ip4/ip6 lookup + SR localsid nodes
 * play in production; the behaviour code is the same core/ code.
 *
 * Index 0 is reserved: packets matching nothing are counted there.
 */
#include <stdlib.h>
#include <string.h>
#include "engine.h"
#include "../../vpp_plugins/srv6_mup/core/mup_behaviors.h"

/* Instruction counting under callgrind (ci/gate.py): collect only inside
   the behaviour loop, dump one record per behaviour. */
#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define MUP_HAVE_CALLGRIND 1
#endif
#endif
#ifndef MUP_HAVE_CALLGRIND
#define CALLGRIND_TOGGLE_COLLECT
#define CALLGRIND_DUMP_STATS_AT(x)
#endif

typedef struct
{
  uint8_t addr[16]; /* masked prefix */
  uint8_t len;
  uint8_t used; /* 0 free, 1 used, 2 deleted */
  uint32_t index;
} route_t;

typedef struct
{
  route_t *slots;
  uint32_t mask, count, tombs;
  uint32_t len_refs[129]; /* routes per prefix length */
  uint8_t lens[129];	  /* distinct lengths present, longest first */
  uint32_t n_lens;
} fib_t;

typedef struct
{
  mup_sid_t sid;
  mup_counters_t ctr;
  mup_map_table_t map;	 /* End.MAP */
  mup_map_table_t t2st;	 /* Type 2 sessions */
  mup_sess_table_t t1st; /* Type 1 sessions */
  mup_bucket_t *buckets;
  uint32_t limit_burst;
  uint8_t in_use;
} slot_t;

struct mup_engine
{
  slot_t *s;
  uint32_t n;
  fib_t fib[2]; /* [0] IPv4, [1] IPv6 */
  mup_counters_t unmatched;
  uint32_t *cls; /* scratch: sid index per packet */
  uint32_t cls_n;
};

static void
mask_addr (uint8_t *out, const uint8_t *a, unsigned len, unsigned alen)
{
  unsigned i;
  for (i = 0; i < alen; i++)
    {
      unsigned bits = len > i * 8 ? len - i * 8 : 0;
      out[i] = bits >= 8 ? a[i] : (uint8_t) (a[i] & (0xff00 >> bits));
    }
  for (; i < 16; i++)
    out[i] = 0;
}

static uint32_t
route_hash (const uint8_t *a, uint8_t len)
{
  uint64_t x, y;
  memcpy (&x, a, 8);
  memcpy (&y, a + 8, 8);
  x ^= y * 0xC2B2AE3D27D4EB4Full ^ len;
  return (uint32_t) ((x * 0x9E3779B97F4A7C15ull) >> 32);
}

static int
fib_grow (fib_t *f)
{
  uint32_t size = f->slots ? (f->mask + 1) * 2 : 64, i;
  route_t *old = f->slots, *ns = calloc (size, sizeof (route_t));
  uint32_t old_size = f->slots ? f->mask + 1 : 0;
  if (!ns)
    return -1;
  f->slots = ns;
  f->mask = size - 1;
  f->tombs = 0;
  for (i = 0; i < old_size; i++)
    if (old[i].used == 1)
      {
	uint32_t h = route_hash (old[i].addr, old[i].len), j;
	for (j = 0;; j++)
	  if (!ns[(h + j) & f->mask].used)
	    {
	      ns[(h + j) & f->mask] = old[i];
	      break;
	    }
      }
  free (old);
  return 0;
}

static void
fib_relens (fib_t *f)
{
  int l;
  f->n_lens = 0;
  for (l = 128; l >= 0; l--)
    if (f->len_refs[l])
      f->lens[f->n_lens++] = (uint8_t) l;
}

static route_t *
fib_find (const fib_t *f, const uint8_t *key, uint8_t len)
{
  uint32_t h = route_hash (key, len), i;
  if (!f->slots)
    return 0;
  for (i = 0; i <= f->mask; i++)
    {
      route_t *r = &f->slots[(h + i) & f->mask];
      if (!r->used)
	return 0;
      if (r->used == 1 && r->len == len && memcmp (r->addr, key, 16) == 0)
	return r;
    }
  return 0;
}

/* Longest-prefix match: one masked hash probe per prefix length present,
   longest first.  Keys are compared as 128-bit integers. */
static inline uint32_t
fib_lookup (const fib_t *f, const uint8_t *da, unsigned alen)
{
  uint32_t i, j;
  uint8_t full[16] = { 0 };
  mup_u128 a;
  memcpy (full, da, alen);
  a = mup_ld128 (full);
  for (i = 0; i < f->n_lens; i++)
    {
      unsigned len = f->lens[i];
      mup_u128 m = len ? ~(mup_u128) 0 << (128 - len) : 0;
      uint8_t key[16];
      uint32_t h;
      mup_st128 (key, a & m);
      h = route_hash (key, (uint8_t) len);
      for (j = 0; j <= f->mask; j++)
	{
	  const route_t *r = &f->slots[(h + j) & f->mask];
	  if (!r->used)
	    break;
	  if (r->used == 1 && r->len == len && memcmp (r->addr, key, 16) == 0)
	    return r->index;
	}
    }
  return 0;
}

mup_engine_t *
mup_engine_new (uint32_t max_sids)
{
  mup_engine_t *e = calloc (1, sizeof (*e));
  if (!e)
    return 0;
  e->n = max_sids + 1;
  e->s = calloc (e->n, sizeof (slot_t));
  if (!e->s)
    {
      free (e);
      return 0;
    }
  return e;
}

static void
slot_clear (slot_t *sl)
{
  free (sl->map.slots);
  free (sl->t2st.slots);
  free (sl->t1st.slots);
  free (sl->buckets);
  memset (sl, 0, sizeof (*sl));
}

void
mup_engine_free (mup_engine_t *e)
{
  uint32_t i;
  if (!e)
    return;
  for (i = 0; i < e->n; i++)
    slot_clear (&e->s[i]);
  free (e->s);
  free (e->fib[0].slots);
  free (e->fib[1].slots);
  free (e->cls);
  free (e);
}

static slot_t *
get_slot (mup_engine_t *e, uint32_t index)
{
  if (index == 0 || index >= e->n || !e->s[index].in_use)
    return 0;
  return &e->s[index];
}

int
mup_engine_set_sid (mup_engine_t *e, uint32_t index, const mup_sid_params_t *p,
		    const char **msg)
{
  slot_t *sl;
  mup_sid_t tmp;
  if (index == 0 || index >= e->n)
    {
      *msg = "SID index out of range";
      return -1;
    }
  if (mup_sid_init (&tmp, p, msg) < 0)
    return -1;
  sl = &e->s[index];
  slot_clear (sl);
  sl->sid = tmp;
  sl->in_use = 1;
  if (p->behavior == MUP_B_END_LIMIT)
    {
      uint32_t i;
      sl->buckets = calloc (tmp.n_buckets, sizeof (mup_bucket_t));
      sl->limit_burst = p->limit_burst ? p->limit_burst : 32;
      for (i = 0; i < tmp.n_buckets; i++)
	{
	  sl->buckets[i].burst_milli = sl->limit_burst * 1000ull;
	  sl->buckets[i].tokens_milli = sl->buckets[i].burst_milli;
	}
      sl->sid.buckets = sl->buckets;
    }
  return 0;
}

int
mup_engine_del_sid (mup_engine_t *e, uint32_t index)
{
  slot_t *sl = get_slot (e, index);
  if (!sl)
    return -1;
  slot_clear (sl);
  return 0;
}

int
mup_engine_route_add (mup_engine_t *e, int is_ip6, const uint8_t *addr,
		      uint8_t len, uint32_t index)
{
  fib_t *f = &e->fib[is_ip6 ? 1 : 0];
  unsigned alen = is_ip6 ? 16 : 4;
  uint8_t key[16];
  route_t *r;
  uint32_t h, i;
  if (len > alen * 8 || index == 0 || index >= e->n)
    return -1;
  mask_addr (key, addr, len, alen);
  r = fib_find (f, key, len);
  if (r)
    {
      r->index = index;
      return 1;
    }
  if (!f->slots || (f->count + f->tombs + 1) * 2 > f->mask + 1)
    if (fib_grow (f) < 0)
      return -1;
  h = route_hash (key, len);
  for (i = 0;; i++)
    {
      r = &f->slots[(h + i) & f->mask];
      if (r->used != 1)
	break;
    }
  if (r->used == 2)
    f->tombs--;
  memcpy (r->addr, key, 16);
  r->len = len;
  r->index = index;
  r->used = 1;
  f->count++;
  f->len_refs[len]++;
  fib_relens (f);
  return 0;
}

int
mup_engine_route_del (mup_engine_t *e, int is_ip6, const uint8_t *addr,
		      uint8_t len)
{
  fib_t *f = &e->fib[is_ip6 ? 1 : 0];
  uint8_t key[16];
  route_t *r;
  if (len > (is_ip6 ? 128 : 32))
    return -1;
  mask_addr (key, addr, len, is_ip6 ? 16 : 4);
  r = fib_find (f, key, len);
  if (!r)
    return -1;
  r->used = 2;
  f->count--;
  f->tombs++;
  f->len_refs[len]--;
  fib_relens (f);
  return 0;
}

uint32_t
mup_engine_lookup (mup_engine_t *e, int is_ip6, const uint8_t *addr)
{
  return fib_lookup (&e->fib[is_ip6 ? 1 : 0], addr, is_ip6 ? 16 : 4);
}

/* Grow an exact-match table to keep its load under one half. */
static int
map_reserve (mup_map_table_t *t)
{
  uint32_t size, i, old_size;
  mup_map_slot_t *old;
  mup_map_table_t nt;
  if (t->slots && (t->count + 1) * 2 <= t->mask + 1)
    return 0;
  size = t->slots ? (t->mask + 1) * 2 : 64;
  nt.slots = malloc (size * sizeof (mup_map_slot_t));
  if (!nt.slots)
    return -1;
  mup_map_init (&nt, nt.slots, size);
  old = t->slots;
  old_size = old ? t->mask + 1 : 0;
  for (i = 0; i < old_size; i++)
    if (old[i].used == 1)
      mup_map_set (&nt, old[i].key, old[i].val);
  *t = nt;
  free (old);
  return 0;
}

int
mup_engine_map_set (mup_engine_t *e, uint32_t index, const uint8_t *from,
		    const uint8_t *to)
{
  slot_t *sl = get_slot (e, index);
  if (!sl || sl->sid.behavior != MUP_B_END_MAP || map_reserve (&sl->map))
    return -1;
  sl->sid.map = &sl->map;
  return mup_map_set (&sl->map, from, to);
}

int
mup_engine_map_del (mup_engine_t *e, uint32_t index, const uint8_t *from)
{
  slot_t *sl = get_slot (e, index);
  if (!sl || !sl->map.slots)
    return -1;
  return mup_map_del (&sl->map, from);
}

static void
t2st_key (uint8_t key[16], const uint8_t *n3, uint32_t teid)
{
  memset (key, 0, 16);
  memcpy (key, n3, 4);
  mup_wr32 (key + 4, teid);
}

int
mup_engine_t2st_set (mup_engine_t *e, uint32_t index, const uint8_t *n3,
		     uint32_t teid, const uint8_t *segment)
{
  slot_t *sl = get_slot (e, index);
  uint8_t key[16];
  if (!sl || sl->sid.behavior != MUP_B_H_M_GTP4_D || teid == 0 ||
      map_reserve (&sl->t2st))
    return -1;
  sl->sid.t2st = &sl->t2st;
  t2st_key (key, n3, teid);
  return mup_map_set (&sl->t2st, key, segment);
}

int
mup_engine_t2st_del (mup_engine_t *e, uint32_t index, const uint8_t *n3,
		     uint32_t teid)
{
  slot_t *sl = get_slot (e, index);
  uint8_t key[16];
  if (!sl || !sl->t2st.slots)
    return -1;
  t2st_key (key, n3, teid);
  return mup_map_del (&sl->t2st, key);
}

/* Make room for `more` new sessions at a load of at most one half; a
   rehash also drops tombstones.  Control-plane time only. */
static int
sess_reserve (mup_sess_table_t *t, uint8_t key_len, uint32_t more)
{
  uint32_t size, need;
  mup_sess_slot_t *old;
  mup_sess_table_t nt;
  if (t->slots && (uint64_t) (t->count + t->tombs + more) * 2 <= t->mask + 1)
    return 0;
  need = (t->slots ? t->count : 0) + more;
  for (size = 1024; size < 2 * (uint64_t) need; size *= 2)
    ;
  nt.slots = malloc ((size_t) size * sizeof (mup_sess_slot_t));
  if (!nt.slots)
    return -1;
  mup_sess_init (&nt, nt.slots, size, t->slots ? t->key_len : key_len);
  old = t->slots;
  if (old)
    mup_sess_insert_live (&nt, old, t->mask + 1);
  *t = nt;
  free (old);
  return 0;
}

int
mup_engine_t1st_set (mup_engine_t *e, uint32_t index, const uint8_t *key,
		     const mup_t1st_t *v, uint8_t key_len)
{
  slot_t *sl = get_slot (e, index);
  if (!sl || sl->sid.behavior != MUP_B_H_T1ST)
    return -1;
  if (sl->t1st.slots && sl->t1st.key_len != key_len)
    return -1;
  if (sess_reserve (&sl->t1st, key_len, 1))
    return -1;
  sl->sid.t1st = &sl->t1st;
  return mup_sess_set (&sl->t1st, key, v);
}

/* End Marker for the session key currently holds (see mup.h), to be sent
   on the old path before the session moves.  Returns its length or -1. */
int
mup_engine_t1st_end_marker (mup_engine_t *e, uint32_t index,
			    const uint8_t *key, uint8_t *buf, uint32_t size,
			    const char **msg)
{
  slot_t *sl = get_slot (e, index);
  const mup_t1st_t *old;
  if (!sl || sl->sid.behavior != MUP_B_H_T1ST)
    {
      *msg = "not an H.M.T1ST headend";
      return -1;
    }
  old = sl->t1st.slots ? mup_sess_get (&sl->t1st, key) : 0;
  if (!old)
    {
      *msg = "no such session";
      return -1;
    }
  return mup_t1st_end_marker (&sl->sid, old, buf, size, msg);
}

/* Install n sessions in one call (bulk load); returns how many were taken,
   stopping at the first refused one. keys: n x 16 octets. */
uint32_t
mup_engine_t1st_bulk (mup_engine_t *e, uint32_t index, const uint8_t *keys,
		      const mup_t1st_t *vals, uint32_t n, uint8_t key_len)
{
  slot_t *sl = get_slot (e, index);
  uint32_t i;
  if (!sl || sl->sid.behavior != MUP_B_H_T1ST ||
      (sl->t1st.slots && sl->t1st.key_len != key_len) ||
      sess_reserve (&sl->t1st, key_len, n))
    return 0;
  sl->sid.t1st = &sl->t1st;
  for (i = 0; i < n; i++)
    if (mup_sess_set (&sl->t1st, keys + 16 * (size_t) i, &vals[i]) < 0)
      break;
  return i;
}

int
mup_engine_t1st_del (mup_engine_t *e, uint32_t index, const uint8_t *key)
{
  slot_t *sl = get_slot (e, index);
  if (!sl || !sl->t1st.slots)
    return -1;
  return mup_sess_del (&sl->t1st, key);
}

uint32_t
mup_engine_t1st_count (mup_engine_t *e, uint32_t index)
{
  slot_t *sl = get_slot (e, index);
  return sl && sl->t1st.slots ? sl->t1st.count : 0;
}

/* H.M.T1ST without any session yet: an empty table, every packet misses */
static mup_sess_slot_t empty_sess_slot;
static const mup_sess_table_t empty_sess = { &empty_sess_slot, 0, 0, 0, 4 };

void
mup_engine_process (mup_engine_t *e, mup_pkt_t *pkts, uint32_t n,
		    uint64_t now_ns)
{
  uint32_t i, j;
  for (i = 0; i < n; i++)
    {
      mup_pkt_t *p = &pkts[i];
      uint32_t idx = 0;
      if (p->len >= 20 && (p->data[0] >> 4) == 4)
	idx = fib_lookup (&e->fib[0], p->data + 16, 4);
      else if (p->len >= 40 && (p->data[0] >> 4) == 6)
	idx = fib_lookup (&e->fib[1], p->data + 24, 16);
      p->sid_index = idx;
    }
  /* run each stretch of packets for one SID as a vector */
  for (i = 0; i < n; i = j)
    {
      uint32_t idx = pkts[i].sid_index;
      slot_t *sl = get_slot (e, idx);
      for (j = i + 1; j < n && pkts[j].sid_index == idx; j++)
	;
      if (!sl)
	{
	  uint32_t k;
	  for (k = i; k < j; k++)
	    {
	      pkts[k].next = MUP_NEXT_DROP;
	      pkts[k].error = MUP_E_NO_SID;
	    }
	  e->unmatched.pkts[MUP_E_NO_SID] += j - i;
	  continue;
	}
      if (sl->sid.behavior == MUP_B_H_T1ST && !sl->sid.t1st)
	sl->sid.t1st = (mup_sess_table_t *) &empty_sess;
      mup_run_inline (&sl->sid, pkts + i, j - i, now_ns);
      {
	uint32_t k;
	for (k = i; k < j; k++)
	  {
	    sl->ctr.pkts[pkts[k].error]++;
	    if (pkts[k].error == MUP_E_NONE)
	      sl->ctr.bytes_fwd += pkts[k].len;
	  }
      }
    }
}

void
mup_engine_run_sid (mup_engine_t *e, uint32_t index, mup_pkt_t *pkts,
		    uint32_t n, uint64_t now_ns)
{
  slot_t *sl = get_slot (e, index);
  uint32_t k;
  if (!sl)
    return;
  if (sl->sid.behavior == MUP_B_H_T1ST && !sl->sid.t1st)
    sl->sid.t1st = (mup_sess_table_t *) &empty_sess;
  mup_run_inline (&sl->sid, pkts, n, now_ns);
  for (k = 0; k < n; k++)
    {
      pkts[k].sid_index = index;
      sl->ctr.pkts[pkts[k].error]++;
      if (pkts[k].error == MUP_E_NONE)
	sl->ctr.bytes_fwd += pkts[k].len;
    }
}

int
mup_engine_counters (mup_engine_t *e, uint32_t index, uint64_t *out,
		     uint32_t n_out)
{
  const mup_counters_t *c;
  uint32_t i;
  if (index == 0)
    c = &e->unmatched;
  else
    {
      slot_t *sl = get_slot (e, index);
      if (!sl)
	return -1;
      c = &sl->ctr;
    }
  for (i = 0; i < n_out && i < MUP_E_N; i++)
    out[i] = c->pkts[i];
  if (n_out > MUP_E_N)
    out[MUP_E_N] = c->bytes_fwd;
  return 0;
}

void
mup_engine_clear_counters (mup_engine_t *e)
{
  uint32_t i;
  memset (&e->unmatched, 0, sizeof (e->unmatched));
  for (i = 0; i < e->n; i++)
    memset (&e->s[i].ctr, 0, sizeof (e->s[i].ctr));
}

uint32_t
mup_n_errors (void)
{
  return MUP_E_N;
}

/* Read the TSC (x86) for cycle counts in benchmarks; 0 elsewhere. */
uint64_t
mup_rdtsc (void)
{
#if defined(__x86_64__) || defined(__i386__)
  return __builtin_ia32_rdtsc ();
#else
  return 0;
#endif
}

/*
 * Benchmark loop in C: copy a template vector of packets into the buffers,
 * run one SID over the vector, rounds times.  Returns TSC cycles spent in
 * the behaviour only (the copy is excluded).
 */
uint64_t
mup_engine_bench_sid (mup_engine_t *e, uint32_t index, const uint8_t *tmpl,
		      const uint16_t *lens, uint32_t stride, uint16_t headroom,
		      uint8_t *buf, mup_pkt_t *pkts, uint32_t n,
		      uint32_t rounds, uint64_t now_ns)
{
  slot_t *sl = get_slot (e, index);
  uint64_t cyc = 0;
  uint32_t r, i;
  if (!sl)
    return 0;
  if (sl->sid.behavior == MUP_B_H_T1ST && !sl->sid.t1st)
    sl->sid.t1st = (mup_sess_table_t *) &empty_sess;
  for (r = 0; r < rounds; r++)
    {
      uint64_t t0;
      for (i = 0; i < n; i++)
	{
	  uint8_t *d = buf + (size_t) i * stride + headroom;
	  memcpy (d, tmpl + (size_t) i * stride + headroom, lens[i]);
	  pkts[i].data = d;
	  pkts[i].len = lens[i];
	  pkts[i].headroom = headroom;
	  pkts[i].tailroom = (uint16_t) (stride - headroom - lens[i]);
	}
      t0 = mup_rdtsc ();
      CALLGRIND_TOGGLE_COLLECT;
      mup_run_inline (&sl->sid, pkts, n, now_ns);
      CALLGRIND_TOGGLE_COLLECT;
      cyc += mup_rdtsc () - t0;
      for (i = 0; i < n; i++)
	sl->ctr.pkts[pkts[i].error]++;
    }
  return cyc;
}

/* End one callgrind measurement (no-op outside valgrind). */
void
mup_callgrind_dump (const char *label)
{
  CALLGRIND_DUMP_STATS_AT (label);
  (void) label;
}
