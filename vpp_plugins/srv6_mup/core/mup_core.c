/*
 * mup_core.c - configuration-time builders and tables of the MUP core.
 *
 * mup_sid_init() checks a behaviour's parameters once and precomputes its
 * encapsulation template, so the per-packet code (mup_behaviors.h) only
 * copies and patches.  Tables use caller-provided memory: no allocation
 * here, none on the fast path.
 */
#include "mup_behaviors.h"

_Static_assert(MUP_E_N <= 256, "errors must fit mup_pkt_t.error");
_Static_assert(MUP_B_N <= 256, "behaviours must fit mup_sid_t.behavior");
_Static_assert(sizeof (((mup_sid_t *) 0)->encap) >= 40 + 8 + 16 * MUP_MAX_SEGS,
	       "encap template must hold IPv6 + SRH of MUP_MAX_SEGS");

static const char *const mup_error_names[] = {
#define _(e, n, name, desc) [n] = name,
  foreach_mup_error
#undef _
};

static const char *const mup_behavior_names[] = {
#define _(e, n, name, key, code) [n] = name,
  foreach_mup_behavior
#undef _
};

const char *
mup_error_name (unsigned e)
{
  return e < MUP_E_N && mup_error_names[e] ? mup_error_names[e] : "unknown";
}

const char *
mup_behavior_name (unsigned b)
{
  return b < MUP_B_N && mup_behavior_names[b] ? mup_behavior_names[b] :
						"unknown";
}

void
mup_bits_write (uint8_t addr[16], unsigned bit_off, unsigned nbits,
		uint64_t value)
{
  mup_st128 (addr, mup_put_bits (mup_ld128 (addr), bit_off, nbits, value));
}

uint64_t
mup_bits_read (const uint8_t addr[16], unsigned bit_off, unsigned nbits)
{
  return mup_get_bits (mup_ld128 (addr), bit_off, nbits);
}

void
mup_args_write (uint8_t addr[16], unsigned bit_off, uint8_t qfi, uint8_t r,
		uint8_t u, uint32_t teid)
{
  mup_bits_write (addr, bit_off, MUP_ARGS_BITS,
		  mup_args_pack (qfi, r, u, teid));
}

void
mup_args_read (const uint8_t addr[16], unsigned bit_off, uint8_t *qfi,
	       uint8_t *r, uint8_t *u, uint32_t *teid)
{
  uint64_t a = mup_bits_read (addr, bit_off, MUP_ARGS_BITS);
  *qfi = (uint8_t) (a >> 34) & 0x3f;
  *r = (uint8_t) (a >> 33) & 1;
  *u = (uint8_t) (a >> 32) & 1;
  *teid = (uint32_t) a;
}

static int
fail (const char **msg, const char *m)
{
  if (msg)
    *msg = m;
  return -1;
}

/* Behaviours that push an IPv6 (+SRH) encapsulation. */
static int
pushes_encap (unsigned b)
{
  return b == MUP_B_H_M_GTP4_D || b == MUP_B_END_M_GTP6_D ||
	 b == MUP_B_END_M_GTP6_D_DI || b == MUP_B_H_ENCAPS ||
	 b == MUP_B_H_T1ST;
}

/*
 * Build the encapsulation template.  Segment list, first segment first:
 *   policy S1..Sn                      (RFC reading: Sn takes the args)
 *   policy S1..Sn, D                   (VPP reading: D = dst_prefix takes
 *                                       the args)
 *   ... , orig-DA                      (End.M.GTP6.D.Di: SRH[0] = original
 *                                       DA, filled per packet)
 * The SRH lists them in reverse order (RFC 8754 section 2).
 */
static int
build_encap (mup_sid_t *s, const mup_sid_params_t *p, const char **msg)
{
  uint8_t list[MUP_MAX_SEGS + 2][16];
  unsigned n = 0, i, args_idx = 0, has_args, srh;
  uint8_t *h = s->encap;

  if (p->nsegs < 1 || p->nsegs > MUP_MAX_SEGS)
    return fail (msg, "policy needs 1 to MUP_MAX_SEGS segments");
  for (i = 0; i < p->nsegs; i++)
    memcpy (list[n++], p->segs[i], 16);
  has_args = s->behavior != MUP_B_H_ENCAPS;
  if (has_args && (p->flags & MUP_F_VPP_ARGS))
    memcpy (list[n++], p->dst_prefix, 16);
  args_idx = n - 1;
  if (s->behavior == MUP_B_END_M_GTP6_D_DI)
    memset (list[n++], 0, 16);
  if (n > MUP_MAX_SEGS)
    return fail (msg, "too many segments once the args segment is added");

  srh = n > 1 || (p->flags & MUP_F_ALWAYS_SRH);
  memset (h, 0, sizeof (s->encap));
  h[0] = 0x60;
  h[6] = srh ? 43 : 0;
  h[7] = 64;
  memcpy (h + 8, p->src6, 16);
  memcpy (h + 24, list[0], 16);
  if (srh)
    {
      h[40] = 0;		 /* next header: per packet */
      h[41] = (uint8_t) (2 * n); /* 8-octet units past the first 8 */
      h[42] = 4;		 /* routing type: SRH */
      h[43] = (uint8_t) (n - 1); /* Segments Left: S1 is active */
      h[44] = (uint8_t) (n - 1); /* Last Entry */
      for (i = 0; i < n; i++)
	memcpy (h + 48 + 16 * i, list[n - 1 - i], 16);
      s->nsegs = (uint8_t) n;
      s->args_seg = (uint8_t) (n - 1 - args_idx);
      s->encap_len = (uint16_t) (40 + 8 + 16 * n);
    }
  else
    {
      s->nsegs = 0;
      s->args_seg = 0;
      s->encap_len = 40;
    }
  memcpy (s->dst6, list[0], 16);
  {
    /* the args SID with its per-packet field cleared */
    unsigned width =
      (s->behavior == MUP_B_H_M_GTP4_D || s->behavior == MUP_B_H_T1ST) ?
	32 + MUP_ARGS_BITS :
	MUP_ARGS_BITS;
    mup_u128 t = mup_ld128 (list[args_idx]);
    if (has_args)
      {
	mup_u128 m = (((mup_u128) 1 << width) - 1)
		     << (128 - p->dst_len - width);
	t &= ~m;
	s->args_shift = (uint8_t) (128 - p->dst_len - width);
	mup_st128 (h + (srh ? 48 + 16 * s->args_seg : 24), t);
	if (!srh || s->args_seg == n - 1)
	  mup_st128 (h + 24, t);
      }
    s->args_tmpl[0] = (uint64_t) (t >> 64);
    s->args_tmpl[1] = (uint64_t) t;
  }
  /* where the fast paths patch the pushed header (mup_store_args_sid) */
  s->args_off = (uint8_t) (s->nsegs ? 48 + 16 * s->args_seg : 24);
  if (s->nsegs && s->args_seg == s->nsegs - 1)
    s->fp |= MUP_FP_ARGS_IN_DA;
  if (has_args && p->dst_len % 8 == 0)
    {
      s->fp |= MUP_FP_ARGS_BYTES;
      s->args_byte = (uint8_t) (p->dst_len / 8);
    }
  return 0;
}

int
mup_sid_init (mup_sid_t *s, const mup_sid_params_t *p, const char **msg)
{
  unsigned b = p->behavior;
  memset (s, 0, sizeof (*s));
  if (b == 0 || b >= MUP_B_N)
    return fail (msg, "unknown behavior");
  s->behavior = p->behavior;
  s->flags = p->flags;
  s->sid_len = p->sid_len;
  s->src_len = p->src_len;
  s->dst_len = p->dst_len;
  s->nh = p->nh;
  s->pdu_type = p->pdu_type;
  s->fib_index = p->fib_index;
  memcpy (s->src6, p->src6, 16);
  memcpy (&s->src4, p->src4, 4);
  if (p->sid_len > 128)
    return fail (msg, "SID prefix length above 128");
  if (p->nh != MUP_NH_DETECT && p->nh != MUP_NH_IP4 && p->nh != MUP_NH_IP6)
    return fail (msg, "inner next header must be detect, 4 or 41");
  if (p->pdu_type > 1)
    return fail (msg, "PDU type must be 0 (DL) or 1 (UL)");

  switch (b)
    {
    case MUP_B_END_M_GTP4_E:
      if (p->sid_len + 32 + MUP_ARGS_BITS > 128)
	return fail (msg, "End.M.GTP4.E SID prefix leaves no room for IPv4 "
			  "DA (32) + Args.Mob.Session (40): at most /56");
      if (!(p->flags & MUP_F_FIXED_SRC4) && p->src_len + 32 > 128)
	return fail (msg, "IPv4 SA position past bit 96 of the IPv6 SA");
      break;
    case MUP_B_END_M_GTP6_E:
      if (p->sid_len + MUP_ARGS_BITS > 128)
	return fail (msg, "End.M.GTP6.E SID prefix leaves no room for "
			  "Args.Mob.Session (40): at most /88");
      break;
    case MUP_B_H_M_GTP4_D:
    case MUP_B_H_T1ST:
      if (p->dst_len + 32 + MUP_ARGS_BITS > 128)
	return fail (msg, "destination prefix leaves no room for IPv4 DA "
			  "(32) + Args.Mob.Session (40): at most /56");
      if (b == MUP_B_H_M_GTP4_D && p->src_len + 32 > 128)
	return fail (msg, "source prefix longer than /96 leaves no room "
			  "for the IPv4 SA");
      break;
    case MUP_B_END_M_GTP6_D:
    case MUP_B_END_M_GTP6_D_DI:
      if (p->dst_len + MUP_ARGS_BITS > 128)
	return fail (msg, "destination prefix leaves no room for "
			  "Args.Mob.Session (40): at most /88");
      break;
    case MUP_B_END_LIMIT:
      if (p->limit_group_bits > 16 || p->limit_rate_bits > 32 ||
	  p->limit_rate_bits == 0 ||
	  p->sid_len + p->limit_group_bits + p->limit_rate_bits > 128)
	return fail (msg, "End.Limit: group (<=16) and rate (1..32) bits "
			  "must fit after the SID prefix");
      s->limit_group_bits = p->limit_group_bits;
      s->limit_rate_bits = p->limit_rate_bits;
      s->limit_unit_pps = p->limit_unit_pps ? p->limit_unit_pps : 1;
      s->n_buckets = 1u << p->limit_group_bits;
      break;
    default:
      break;
    }
  /* IPv4 SA inside the IPv6 SA (H.M.GTP4.D writes, End.M.GTP4.E reads) */
  if (p->src_len <= 96)
    {
      mup_u128 t = mup_ld128 (p->src6);
      s->src_shift = (uint8_t) (96 - p->src_len);
      t &= ~((mup_u128) 0xffffffffu << s->src_shift);
      s->src_tmpl[0] = (uint64_t) (t >> 64);
      s->src_tmpl[1] = (uint64_t) t;
    }
  if (p->src_len <= 96 && p->src_len % 8 == 0)
    {
      s->fp |= MUP_FP_SRC_BYTES;
      s->src_byte = (uint8_t) (p->src_len / 8);
    }
  if (b == MUP_B_END_M_GTP4_E && p->sid_len <= 56)
    s->get_shift = (uint8_t) (128 - p->sid_len - 32 - MUP_ARGS_BITS);
  if (b == MUP_B_END_M_GTP6_E && p->sid_len <= 88)
    s->get_shift = (uint8_t) (128 - p->sid_len - MUP_ARGS_BITS);
  if ((b == MUP_B_END_M_GTP4_E || b == MUP_B_END_M_GTP6_E) &&
      p->sid_len % 8 == 0)
    {
      s->fp |= MUP_FP_ARGS_BYTES;
      s->args_byte = (uint8_t) (p->sid_len / 8);
    }
  if (pushes_encap (b))
    {
      if (build_encap (s, p, msg) < 0)
	return -1;
    }
  else
    {
      /* the template's first 8 octets are also used by the Type 2 path */
      s->encap[0] = 0x60;
      s->encap[7] = 64;
      s->encap_len = 40;
    }
  /* the layouts and flags the specialised fast-path loops assume */
  switch (b)
    {
    case MUP_B_H_M_GTP4_D:
    case MUP_B_END_M_GTP6_D:
    case MUP_B_END_M_GTP6_D_DI:
      if (!(p->flags & MUP_F_U_PDU_TYPE) && p->nh == MUP_NH_DETECT &&
	  (s->fp & MUP_FP_ARGS_BYTES) &&
	  (b != MUP_B_H_M_GTP4_D || (s->fp & MUP_FP_SRC_BYTES)))
	s->fp |= MUP_FP_PLAIN;
      break;
    case MUP_B_END_M_GTP4_E:
    case MUP_B_END_M_GTP6_E:
      if (!(p->flags & (MUP_F_U_PDU_TYPE | MUP_F_NO_PSC | MUP_F_FIXED_SRC4 |
			MUP_F_FIXED_SRC6 | MUP_F_UDP4_CSUM)) &&
	  p->pdu_type == 0 && (s->fp & MUP_FP_ARGS_BYTES) &&
	  (b != MUP_B_END_M_GTP4_E || (s->fp & MUP_FP_SRC_BYTES)))
	s->fp |= MUP_FP_PLAIN;
      break;
    default:
      break;
    }
  return 0;
}

/* ---- End.MAP / Type 2 exact-match table ---- */

int
mup_map_init (mup_map_table_t *t, mup_map_slot_t *slots, uint32_t size)
{
  if (size == 0 || (size & (size - 1)))
    return -1;
  memset (slots, 0, sizeof (*slots) * size);
  t->slots = slots;
  t->mask = size - 1;
  t->count = 0;
  return 0;
}

static mup_map_slot_t *
map_slot (mup_map_table_t *t, const uint8_t key[16], int for_insert)
{
  uint32_t i, h = mup_map_hash (key);
  mup_map_slot_t *tomb = 0;
  for (i = 0; i <= t->mask; i++)
    {
      mup_map_slot_t *sl = &t->slots[(h + i) & t->mask];
      if (!sl->used)
	return for_insert ? (tomb ? tomb : sl) : 0;
      if (sl->used == 2)
	{
	  if (!tomb)
	    tomb = sl;
	  continue;
	}
      if (memcmp (sl->key, key, 16) == 0)
	return sl;
    }
  return for_insert ? tomb : 0;
}

int
mup_map_set (mup_map_table_t *t, const uint8_t key[16], const uint8_t val[16])
{
  mup_map_slot_t *sl;
  if (t->count >= t->mask) /* keep one free slot: lookups terminate */
    {
      sl = map_slot (t, key, 0);
      if (!sl)
	return -1;
    }
  else
    sl = map_slot (t, key, 1);
  if (!sl)
    return -1;
  if (sl->used == 1)
    {
      memcpy (sl->val, val, 16);
      return 1;
    }
  memcpy (sl->key, key, 16);
  memcpy (sl->val, val, 16);
  __atomic_store_n (&sl->used, 1, __ATOMIC_RELEASE);
  t->count++;
  return 0;
}

int
mup_map_del (mup_map_table_t *t, const uint8_t key[16])
{
  mup_map_slot_t *sl = map_slot (t, key, 0);
  if (!sl || sl->used != 1)
    return -1;
  __atomic_store_n (&sl->used, 2, __ATOMIC_RELEASE);
  t->count--;
  return 0;
}

/* ---- Type 1 session table ---- */

int
mup_sess_init (mup_sess_table_t *t, mup_sess_slot_t *slots, uint32_t size,
	       uint8_t key_len)
{
  if (size == 0 || (size & (size - 1)) || (key_len != 4 && key_len != 8))
    return -1;
  memset (slots, 0, sizeof (*slots) * size);
  t->slots = slots;
  t->mask = size - 1;
  t->count = 0;
  t->tombs = 0;
  t->key_len = key_len;
  return 0;
}

static mup_sess_slot_t *
sess_slot (mup_sess_table_t *t, const uint8_t key[16], int for_insert)
{
  uint32_t i, h = mup_sess_hash (key);
  mup_sess_slot_t *tomb = 0;
  for (i = 0; i <= t->mask; i++)
    {
      mup_sess_slot_t *sl = &t->slots[(h + i) & t->mask];
      if (!sl->used)
	return for_insert ? (tomb ? tomb : sl) : 0;
      if (sl->used == 2)
	{
	  if (!tomb)
	    tomb = sl;
	  continue;
	}
      if (memcmp (sl->key, key, 8) == 0)
	return sl;
    }
  return for_insert ? tomb : 0;
}

int
mup_sess_set (mup_sess_table_t *t, const uint8_t key16[16],
	      const mup_t1st_t *v)
{
  mup_sess_slot_t *sl;
  uint8_t key[16] = { 0 };
  if (v->teid == 0 || v->qfi > 63 || v->is_ip6)
    return -2; /* TEID 0 is invalid; IPv6 gNB not supported by H.M.T1ST */
  memcpy (key, key16, t->key_len);
  sl = sess_slot (t, key, t->count + t->tombs < t->mask);
  if (!sl)
    return -1;
  if (sl->used == 1)
    {
      /* handover: fill the inactive copy, then publish it */
      uint32_t next = (sl->sel & 1) ^ 1;
      sl->val[next] = *v;
      __atomic_store_n (&sl->sel, next, __ATOMIC_RELEASE);
      return 1;
    }
  if (sl->used == 2)
    t->tombs--;
  memcpy (sl->key, key, 16);
  sl->val[0] = *v;
  sl->sel = 0;
  __atomic_store_n (&sl->used, 1, __ATOMIC_RELEASE);
  t->count++;
  return 0;
}

uint32_t
mup_sess_insert_live (mup_sess_table_t *t, const mup_sess_slot_t *from,
		      uint32_t n)
{
  uint32_t i, in = 0;
  for (i = 0; i < n; i++)
    if (from[i].used == 1 &&
	mup_sess_set (t, from[i].key, &from[i].val[from[i].sel & 1]) >= 0)
      in++;
  return in;
}

int
mup_sess_del (mup_sess_table_t *t, const uint8_t key16[16])
{
  uint8_t key[16] = { 0 };
  mup_sess_slot_t *sl;
  memcpy (key, key16, t->key_len);
  sl = sess_slot (t, key, 0);
  if (!sl || sl->used != 1)
    return -1;
  __atomic_store_n (&sl->used, 2, __ATOMIC_RELEASE);
  t->count--;
  t->tombs++;
  return 0;
}

const mup_t1st_t *
mup_sess_get (const mup_sess_table_t *t, const uint8_t key16[16])
{
  uint8_t key[16] = { 0 };
  memcpy (key, key16, t->key_len);
  return mup_sess_find (t, key);
}

void
mup_run (const mup_sid_t *s, mup_pkt_t *pkts, uint32_t n, uint64_t now_ns)
{
  mup_run_inline (s, pkts, n, now_ns);
}

int
mup_t1st_end_marker (const mup_sid_t *s, const mup_t1st_t *old, uint8_t *buf,
		     uint32_t size, const char **msg)
{
  mup_pkt_t p = { 0 };
  uint8_t *h;
  if (s->behavior != MUP_B_H_T1ST)
    return fail (msg, "End Marker: not an H.M.T1ST headend");
  if (!s->nsegs)
    return fail (msg, "End Marker: the policy pushes no SRH to carry the "
		      "End Marker tag (use an SRH: always_srh)");
  if (old->is_ip6)
    return fail (msg, "End Marker: IPv6 gNB (H.M.T1ST maps IPv4 gNBs)");
  if (size < s->encap_len)
    return fail (msg, "End Marker: buffer too small");
  p.data = buf + s->encap_len;
  p.len = 0;
  p.headroom = s->encap_len;
  h = mup_push_encap (s, &p, 0, 0, 59, MUP_TAG_END_MARKER);
  if (!h)
    return fail (msg, "End Marker: no room for the encapsulation");
  mup_t1st_stamp (s, h, old);
  return (int) p.len;
}
