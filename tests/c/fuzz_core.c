/*
 * fuzz_core.c - libFuzzer target over every parser entry of the core.
 *
 * Input: octet 0 picks the SID (behaviour), octet 1 the headroom (0..255,
 * capped at MUP_PRE_DATA), the rest is the packet.  The packet is copied to
 * the end of a buffer so that ASan sees any read past it, with the picked
 * headroom in front; guard bytes before the headroom must stay intact.
 * Every SID is also reached through the engine's classifier.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include "../../mupvpp/engine/engine.h"
#include "../../vpp_plugins/srv6_mup/core/mup_behaviors.h"

#define N_SIDS 19
static mup_engine_t *eng;
static mup_sid_t sids[N_SIDS];
static int n_sids;
static mup_map_table_t map;
static mup_map_slot_t map_slots[16];
static mup_sess_table_t t1st;
static mup_sess_slot_t t1st_slots[16];
static mup_bucket_t buckets[16];

static void
a6 (uint8_t *a, uint16_t w0, uint16_t w1, uint16_t w2, uint16_t w7)
{
  memset (a, 0, 16);
  a[0] = w0 >> 8, a[1] = w0 & 0xff, a[2] = w1 >> 8, a[3] = w1 & 0xff;
  a[4] = w2 >> 8, a[5] = w2 & 0xff, a[14] = w7 >> 8, a[15] = w7 & 0xff;
}

static void
add (uint8_t b, uint8_t sid_len, uint8_t nsegs, uint8_t dst_len, uint8_t flags)
{
  mup_sid_params_t p;
  const char *msg = 0;
  uint32_t i;
  memset (&p, 0, sizeof (p));
  p.behavior = b;
  p.sid_len = sid_len;
  p.flags = flags;
  p.nsegs = nsegs;
  p.dst_len = dst_len;
  p.src_len = 64;
  p.limit_group_bits = 4;
  p.limit_rate_bits = 8;
  p.limit_unit_pps = 1000;
  a6 (p.src6, 0xfc00, 0, 0xa4, 0);
  for (i = 0; i < nsegs; i++)
    a6 (p.segs[i], 0xfc00, 0, (uint16_t) (0x10 + i), 0);
  if (mup_sid_init (&sids[n_sids], &p, &msg) != 0)
    abort ();
  if (mup_engine_set_sid (eng, (uint32_t) n_sids + 1, &p, &msg) != 0)
    abort ();
  n_sids++;
}

static void
setup (void)
{
  uint8_t k[16], v[16];
  mup_t1st_t s;
  int i;
  eng = mup_engine_new (64);
  add (MUP_B_H_M_GTP4_D, 0, 2, 48, 0);
  add (MUP_B_H_M_GTP4_D, 0, 1, 44, 0);
  add (MUP_B_END_M_GTP4_E, 52, 0, 0, MUP_F_UDP4_CSUM);
  add (MUP_B_END_M_GTP6_D, 64, 2, 68, 0);
  add (MUP_B_END_M_GTP6_D_DI, 64, 1, 60, 0);
  add (MUP_B_END_M_GTP6_E, 68, 0, 0, 0);
  add (MUP_B_END, 64, 0, 0, 0);
  add (MUP_B_END_DT4, 64, 0, 0, 0);
  add (MUP_B_END_DT6, 64, 0, 0, 0);
  add (MUP_B_END_DT46, 64, 0, 0, 0);
  add (MUP_B_END_MAP, 64, 0, 0, 0);
  add (MUP_B_END_LIMIT, 64, 0, 0, 0);
  add (MUP_B_H_ENCAPS, 0, 3, 0, 0);
  add (MUP_B_H_T1ST, 0, 2, 40, 0);
  add (MUP_B_GTP4_DT4, 0, 0, 0, 0);
  add (MUP_B_GTP4_DT46, 0, 0, 0, 0);
  add (MUP_B_GTP6_DT6, 64, 0, 0, 0);
  add (MUP_B_GTP6_DT46, 64, 0, 0, 0);
  add (MUP_B_H_M_GTP4_D, 0, 1, 56, MUP_F_ALWAYS_SRH | MUP_F_U_PDU_TYPE);
  mup_map_init (&map, map_slots, 16);
  a6 (k, 0xfc00, 0, 0x3a, 1);
  a6 (v, 0xfc00, 0, 0xd4, 1);
  mup_map_set (&map, k, v);
  sids[10].map = &map;
  mup_sess_init (&t1st, t1st_slots, 16, 4);
  memset (&s, 0, sizeof (s));
  s.gnb[0] = 192, s.gnb[3] = 10, s.teid = 0x100, s.qfi = 9;
  memset (k, 0, 16);
  k[0] = 10, k[1] = 10, k[3] = 1;
  mup_sess_set (&t1st, k, &s);
  sids[13].t1st = &t1st;
  for (i = 0; i < 16; i++)
    buckets[i].burst_milli = buckets[i].tokens_milli = 4000;
  sids[11].buckets = buckets;
  sids[11].n_buckets = 16;
  sids[0].t2st = &map;
  /* classifier routes: a few prefixes of each family */
  {
    uint8_t a[16] = { 192, 0, 2, 100 };
    mup_engine_route_add (eng, 0, a, 24, 1);
    a6 (a, 0xfc00, 0, 0x4e, 0);
    mup_engine_route_add (eng, 1, a, 48, 3);
    a6 (a, 0xfc00, 0, 0x6e, 0);
    mup_engine_route_add (eng, 1, a, 64, 6);
  }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static uint8_t *page;
  enum
  {
    CAP = 4096
  };
  mup_pkt_t p;
  uint32_t len, hr, i;
  uint8_t *buf;
  if (!eng)
    setup ();
  if (size < 2 || size - 2 > CAP - MUP_PRE_DATA - 64)
    return 0;
  if (!page)
    page = malloc (CAP);
  len = (uint32_t) size - 2;
  hr = data[1] % (MUP_PRE_DATA + 1);
  /* packet at the very end of a heap block: reads past it are caught */
  buf = malloc (hr + len + 16);
  memset (buf, 0xa5, 16);
  memcpy (buf + 16 + hr, data + 2, len);
  memset (&p, 0, sizeof (p));
  p.data = buf + 16 + hr;
  p.len = (uint16_t) len;
  p.headroom = (uint16_t) hr;
  mup_run (&sids[data[0] % n_sids], &p, 1, 1000000);
  for (i = 0; i < 16; i++)
    assert (buf[i] == 0xa5);
  assert (p.error < MUP_E_N && p.next < MUP_NEXT_N);
  if (p.error == MUP_E_NONE)
    assert (p.data >= buf + 16 && p.data + p.len <= buf + 16 + hr + len + 0);
  /* the same bytes through the classifier */
  memcpy (buf + 16 + hr, data + 2, len);
  p.data = buf + 16 + hr;
  p.len = (uint16_t) len;
  p.headroom = (uint16_t) hr;
  mup_engine_process (eng, &p, 1, 2000000);
  for (i = 0; i < 16; i++)
    assert (buf[i] == 0xa5);
  free (buf);
  return 0;
}
