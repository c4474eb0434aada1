/*
 * mup_behaviors.h - one per-packet function per behaviour (RFC 9433,
 * RFC 8986).  Each reads its precomputed mup_sid_t, rewrites the packet in
 * place (growing into the headroom), and sets p->next / p->error.  Every
 * path ends in exactly one place: forwarded (next = IP4/IP6 lookup) or
 * dropped with a named reason.
 *
 * Rule for every function: read everything needed from the old headers
 * into locals before writing the new ones, because they overlap.
 */
#ifndef MUP_CORE_BEHAVIORS_H
#define MUP_CORE_BEHAVIORS_H

#include "mup_packet.h"

#define MUP_DROP(p, e)                                                        \
  do                                                                          \
    {                                                                         \
      (p)->next = MUP_NEXT_DROP;                                              \
      (p)->error = (e);                                                       \
      return;                                                                 \
    }                                                                         \
  while (0)

#define MUP_CHECK(p, expr)                                                    \
  do                                                                          \
    {                                                                         \
      int _e = (expr);                                                        \
      if (MUP_UNLIKELY (_e != MUP_E_NONE))                                    \
	MUP_DROP (p, _e);                                                     \
    }                                                                         \
  while (0)

static inline void
mup_fwd (const mup_sid_t *s, mup_pkt_t *p, uint8_t next)
{
  p->next = next;
  p->error = MUP_E_NONE;
  p->fib_index = s->fib_index;
}

/* Move the packet start by delta bytes (negative: grow into headroom). */
static inline void
mup_move (mup_pkt_t *p, int32_t delta, uint32_t new_len)
{
  p->data += delta;
  p->headroom = (uint16_t) ((int32_t) p->headroom + delta);
  p->len = (uint16_t) new_len;
}

/* Copy the el octets of the encapsulation template of s to h. */
static MUP_ALWAYS_INLINE void
mup_copy_encap (const mup_sid_t *s, uint8_t *h, uint32_t el)
{
  /* constant sizes let the compiler copy with a few vector moves */
  switch (el)
    {
    case 40:
      memcpy (h, s->encap, 40);
      break;
    case 64:
      memcpy (h, s->encap, 64);
      break;
    case 80:
      memcpy (h, s->encap, 80);
      break;
    case 96:
      memcpy (h, s->encap, 96);
      break;
    default:
      {
	uint32_t i; /* 48 + 16 n octets */
	for (i = 0; i < el; i += 16)
	  memcpy (h + i, s->encap + i, 16);
      }
    }
}

/*
 * Push the precomputed IPv6 (+SRH) header of s in front of the payload that
 * starts at p->data + inner_off.  Returns the new IPv6 header, or NULL when
 * the headroom is too small.
 */
static inline uint8_t *
mup_push_encap (const mup_sid_t *s, mup_pkt_t *p, uint32_t inner_off,
		uint32_t inner_len, uint8_t nh, uint16_t tag)
{
  uint32_t el = s->encap_len;
  uint8_t *h;
  if (MUP_UNLIKELY (inner_off + p->headroom < el))
    return 0;
  if (MUP_UNLIKELY (el + inner_len > 0xffff))
    return 0;
  h = p->data + inner_off - el;
  mup_copy_encap (s, h, el);
  mup_wr16 (h + 4, (uint16_t) (el - 40 + inner_len));
  if (s->nsegs)
    {
      h[40] = nh;
      mup_wr16 (h + 46, tag);
    }
  else
    h[6] = nh;
  mup_move (p, (int32_t) inner_off - (int32_t) el, el + inner_len);
  return h;
}

/* Address of the segment that receives the arguments in a pushed header. */
static inline uint8_t *
mup_args_slot (const mup_sid_t *s, uint8_t *h)
{
  return s->nsegs ? h + 48 + 16 * s->args_seg : h + 24;
}

/* Write the args SID into its slot, and into the DA when it is active. */
static inline void
mup_store_args_sid (const mup_sid_t *s, uint8_t *h, mup_u128 sid)
{
  uint8_t *slot = mup_args_slot (s, h);
  mup_st128 (slot, sid);
  if (s->nsegs && s->args_seg == s->nsegs - 1)
    mup_st128 (h + 24, sid);
}

/* ---- GTP-U over IPv4 / IPv6 front parts shared by D and DT behaviours --- */

typedef struct
{
  mup_gtpu_t g;
  uint32_t inner_off;
  uint32_t sa4, da4; /* IPv4 outer (GTP4) */
  uint8_t tos;
} mup_gtp_in_t;

static inline int
mup_parse_gtp4 (const uint8_t *b, uint32_t len, mup_gtp_in_t *o)
{
  uint32_t ihl, tot, ulen;
  const uint8_t *u;
  if (MUP_UNLIKELY (len < 20))
    return MUP_E_TRUNC_IP4;
  if (MUP_UNLIKELY ((b[0] >> 4) != 4 || (b[0] & 15) < 5))
    return MUP_E_BAD_IP4;
  ihl = (b[0] & 15) * 4u;
  tot = mup_rd16 (b + 2);
  if (MUP_UNLIKELY (tot > len))
    return MUP_E_TRUNC_IP4;
  if (MUP_UNLIKELY (tot < ihl))
    return MUP_E_BAD_IP4;
  if (MUP_UNLIKELY (mup_rd16 (b + 6) & 0x3fff))
    return MUP_E_IP4_FRAGMENT;
  if (MUP_UNLIKELY (b[9] != 17))
    return MUP_E_NOT_GTPU;
  if (MUP_UNLIKELY (tot < ihl + 8))
    return MUP_E_BAD_UDP_LEN;
  u = b + ihl;
  if (MUP_UNLIKELY (mup_rd16 (u + 2) != MUP_GTPU_PORT))
    return MUP_E_NOT_GTPU;
  ulen = mup_rd16 (u + 4);
  if (MUP_UNLIKELY (ulen < 8 || ulen > tot - ihl))
    return MUP_E_BAD_UDP_LEN;
  {
    int e = mup_gtpu_parse (u + 8, ulen - 8, &o->g);
    if (MUP_UNLIKELY (e))
      return e;
  }
  o->inner_off = ihl + 8 + o->g.hdr_len;
  o->sa4 = mup_rd32 (b + 12);
  o->da4 = mup_rd32 (b + 16);
  o->tos = b[1];
  return MUP_E_NONE;
}

static inline int
mup_parse_gtp6 (const uint8_t *b, uint32_t len, mup_ip6_info_t *ip,
		mup_gtp_in_t *o)
{
  uint32_t ulen;
  const uint8_t *u;
  int e = mup_ip6_parse (b, len, ip);
  if (MUP_UNLIKELY (e))
    return e;
  /* the GTP-U packet must be addressed to this SID: no segments left */
  if (MUP_UNLIKELY (ip->sl != 0))
    return MUP_E_BAD_SL;
  if (MUP_UNLIKELY (ip->upper_nh == 44))
    return MUP_E_IP6_FRAGMENT;
  if (MUP_UNLIKELY (ip->upper_nh != 17))
    return MUP_E_NOT_GTPU;
  if (MUP_UNLIKELY (ip->upper_off + 8u > ip->end))
    return MUP_E_BAD_UDP_LEN;
  u = b + ip->upper_off;
  if (MUP_UNLIKELY (mup_rd16 (u + 2) != MUP_GTPU_PORT))
    return MUP_E_NOT_GTPU;
  ulen = mup_rd16 (u + 4);
  if (MUP_UNLIKELY (ulen < 8 || ulen > (uint32_t) (ip->end - ip->upper_off)))
    return MUP_E_BAD_UDP_LEN;
  e = mup_gtpu_parse (u + 8, ulen - 8, &o->g);
  if (MUP_UNLIKELY (e))
    return e;
  o->inner_off = ip->upper_off + 8u + o->g.hdr_len;
  o->tos = (uint8_t) (mup_rd32 (b) >> 20);
  return MUP_E_NONE;
}

/* Exact-match table lookup (End.MAP, Type 2 sessions); value or NULL. */
static inline const uint8_t *
mup_map_find (const mup_map_table_t *t, const uint8_t key[16])
{
  uint32_t i, h;
  if (!t || !t->slots)
    return 0;
  h = mup_map_hash (key);
  for (i = 0; i <= t->mask; i++)
    {
      const mup_map_slot_t *sl = &t->slots[(h + i) & t->mask];
      if (!sl->used)
	return 0;
      if (sl->used == 1 && memcmp (sl->key, key, 16) == 0)
	return sl->val;
    }
  return 0;
}

/* ---- H.M.GTP4.D (RFC 9433 section 6.7) ----
 *
 * GTP-U/IPv4 in, SRv6 out.  Last SID = destination prefix (dst_len bits) |
 * IPv4 DA (32) | Args.Mob.Session (40) | zero pad; IPv6 SA = source prefix
 * (src_len bits) | IPv4 SA (32) | template bits.  With a Type 2 session
 * table, a (N3 address, TEID) hit sends to its direct segment instead.
 */
static MUP_NOINLINE void
mup_h_m_gtp4_d_slow (const mup_sid_t *s, mup_pkt_t *p)
{
  mup_gtp_in_t in;
  uint8_t nh, *h;
  uint32_t teid;
  uint8_t u;
  MUP_CHECK (p, mup_parse_gtp4 (p->data, p->len, &in));
  MUP_CHECK (p, mup_inner_nh (s->nh, &in.g, p->data + in.inner_off, &nh));
  teid = mup_gtpu_args_teid (&in.g);
  u = (s->flags & MUP_F_U_PDU_TYPE) ? (in.g.psc_pdu_type & 1) : 0;

  if (s->t2st && in.g.tag == MUP_TAG_DATA)
    {
      /* Type 2 Session Transformed: (N3 endpoint, uplink TEID) -> segment */
      uint8_t key[16] = { 0 };
      const uint8_t *seg;
      mup_wr32 (key, in.da4);
      mup_wr32 (key + 4, in.g.teid);
      seg = mup_map_find (s->t2st, key);
      if (seg)
	{
	  uint32_t inner_len = in.g.pdu_len;
	  mup_u128 sa;
	  if (MUP_UNLIKELY (in.inner_off + p->headroom < 40))
	    MUP_DROP (p, MUP_E_NO_HEADROOM);
	  h = p->data + in.inner_off - 40;
	  memcpy (h, s->encap, 8);
	  mup_wr16 (h + 4, (uint16_t) inner_len);
	  h[6] = nh;
	  sa = mup_u128_of (s->src_tmpl) | (mup_u128) in.sa4 << s->src_shift;
	  mup_st128 (h + 8, sa);
	  memcpy (h + 24, seg, 16);
	  mup_move (p, (int32_t) in.inner_off - 40, 40 + inner_len);
	  mup_fwd (s, p, MUP_NEXT_IP6);
	  return;
	}
    }

  {
    mup_u128 sid, sa, v;
    /* the message type rides in the SRH tag: none without an SRH */
    if (MUP_UNLIKELY (in.g.tag != MUP_TAG_DATA && !s->nsegs))
      MUP_DROP (p, MUP_E_GTPU_CONTROL);
    h = mup_push_encap (s, p, in.inner_off, in.g.pdu_len, nh, in.g.tag);
    if (MUP_UNLIKELY (!h))
      MUP_DROP (p, MUP_E_NO_HEADROOM);
    sa = mup_u128_of (s->src_tmpl) | (mup_u128) in.sa4 << s->src_shift;
    mup_st128 (h + 8, sa);
    /* | IPv4 DA (32) | Args.Mob.Session (40) | at bit dst_len */
    v = (mup_u128) in.da4 << MUP_ARGS_BITS |
	mup_args_pack (in.g.qfi, in.g.rqi, u, teid);
    sid = mup_u128_of (s->args_tmpl) | v << s->args_shift;
    mup_store_args_sid (s, h, sid);
    mup_fwd (s, p, MUP_NEXT_IP6);
  }
}

/* Type 2 session lookup of (N3 IPv4 DA, TEID), both as on the wire: the
   mup_map_find of the key { DA, TEID, 0 ... } with its hash folded. */
static MUP_ALWAYS_INLINE const uint8_t *
mup_t2_find (const mup_map_table_t *t, uint32_t da_raw, uint32_t teid_raw)
{
  uint64_t k0 = (uint64_t) da_raw | (uint64_t) teid_raw << 32;
  uint32_t i, h;
  if (!t->slots)
    return 0;
  /* mup_map_hash: high word = the first 8 key octets, low word 0 */
  h = (uint32_t) ((__builtin_bswap64 (k0) * 0x9E3779B97F4A7C15ull) >> 32);
  for (i = 0; i <= t->mask; i++)
    {
      const mup_map_slot_t *sl = &t->slots[(h + i) & t->mask];
      if (!sl->used)
	return 0;
      if (sl->used == 1 && mup_ld64 (sl->key) == k0 &&
	  mup_ld64 (sl->key + 8) == 0)
	return sl->val;
    }
  return 0;
}

/*
 * Fast-path front shared by H.M.GTP4.D (IPv4, off 20) and End.M.GTP6.D
 * (IPv6, off 40): UDP to port 2152 at b + off within the first end octets,
 * a G-PDU in mup_gtpu_fast's layout, and a whole inner packet of a family
 * the SID takes.  0: not the common case (the general path decides).
 */
static MUP_ALWAYS_INLINE int
mup_udp_gtpu_fast (const mup_sid_t *s, const uint8_t *b, uint32_t off,
		   uint32_t end, int plain, mup_gtpu_fast_t *g,
		   uint32_t *inner_off, uint32_t *inner_len, uint8_t *nh)
{
  uint64_t wu = mup_ld64 (b + off);
  uint32_t ulen = __builtin_bswap16 ((uint16_t) (wu >> 32));
  if (MUP_UNLIKELY ((uint16_t) (wu >> 16) !=
		      __builtin_bswap16 (MUP_GTPU_PORT) ||
		    ulen < 8 || off + ulen > end))
    return 0;
  if (MUP_UNLIKELY (!mup_gtpu_fast (b + off + 8, ulen - 8, g)))
    return 0;
  *inner_off = off + 8 + g->hdr_len;
  *inner_len = g->pdu_len;
  *nh = mup_inner_ok (b + *inner_off, *inner_len);
  return *nh && (plain || s->nh == MUP_NH_DETECT || s->nh == *nh);
}

/*
 * H.M.GTP4.D fast path: IPv4 without options, UDP to 2152, a G-PDU in one
 * of the mup_gtpu_fast layouts, a whole inner packet.  Everything is
 * checked before the first write; anything else (and every drop) returns 0
 * for mup_h_m_gtp4_d_slow, which has the final word.  Same output octets.
 */
static MUP_ALWAYS_INLINE int
mup_h_m_gtp4_d_fast (const mup_sid_t *s, mup_pkt_t *p, int plain)
{
  /* plain: the SID has MUP_FP_PLAIN, its flags are known here */
  const uint32_t fl = plain ? 0 : s->flags;
  const uint32_t fp = plain ? MUP_FP_ARGS_BYTES | MUP_FP_SRC_BYTES : s->fp;
  uint8_t *b = p->data, *h;
  uint32_t len = p->len, tot, inner_off, inner_len, el, sa_raw, da_raw;
  uint64_t w0;
  mup_gtpu_fast_t g;
  uint8_t nh, qb;
  if (MUP_UNLIKELY (len < 36))
    return 0;
  w0 = mup_ld64 (b);
  /* version 4, IHL 5; flags/fragment offset: no MF, offset 0 */
  if (MUP_UNLIKELY ((w0 & 0xff3f0000000000ffull) != 0x45))
    return 0;
  tot = __builtin_bswap16 ((uint16_t) (w0 >> 16));
  if (MUP_UNLIKELY (tot > len || b[9] != 17))
    return 0;
  if (MUP_UNLIKELY (!mup_udp_gtpu_fast (s, b, 20, tot, plain, &g, &inner_off,
					&inner_len, &nh)))
    return 0;
  sa_raw = mup_ld32 (b + 12);
  da_raw = mup_ld32 (b + 16);
  qb = g.qr | ((fl & MUP_F_U_PDU_TYPE) ? (g.pdu_type & 1) : 0);

  if (s->t2st)
    {
      const uint8_t *seg = mup_t2_find (s->t2st, da_raw, g.teid_raw);
      if (seg)
	{
	  if (MUP_UNLIKELY (inner_off + p->headroom < 40))
	    return 0;
	  h = b + inner_off - 40;
	  memcpy (h, s->encap, 24); /* version .. hop limit, SA template */
	  mup_wr16 (h + 4, (uint16_t) inner_len);
	  h[6] = nh;
	  if (fp & MUP_FP_SRC_BYTES)
	    mup_st32 (h + 8 + s->src_byte, sa_raw);
	  else
	    mup_st128 (h + 8, mup_u128_of (s->src_tmpl) |
				(mup_u128) __builtin_bswap32 (sa_raw)
				  << s->src_shift);
	  memcpy (h + 24, seg, 16);
	  mup_move (p, (int32_t) inner_off - 40, 40 + inner_len);
	  mup_fwd (s, p, MUP_NEXT_IP6);
	  return 1;
	}
    }

  el = s->encap_len;
  if (MUP_UNLIKELY (inner_off + p->headroom < el || el + inner_len > 0xffff))
    return 0;
  h = b + inner_off - el;
  mup_copy_encap (s, h, el); /* the SRH tag is 0 in the template */
  mup_wr16 (h + 4, (uint16_t) (el - 40 + inner_len));
  if (s->nsegs)
    h[40] = nh;
  else
    h[6] = nh;
  if (fp & MUP_FP_SRC_BYTES)
    mup_st32 (h + 8 + s->src_byte, sa_raw);
  else
    mup_st128 (h + 8, mup_u128_of (s->src_tmpl) |
			(mup_u128) __builtin_bswap32 (sa_raw) << s->src_shift);
  if (fp & MUP_FP_ARGS_BYTES)
    {
      /* | IPv4 DA | QFI R U | TEID | at octet dst_len / 8 */
      uint8_t *a = h + s->args_off + s->args_byte;
      mup_st32 (a, da_raw);
      a[4] = qb;
      mup_st32 (a + 5, g.teid_raw);
      if (s->fp & MUP_FP_ARGS_IN_DA)
	{
	  a = h + 24 + s->args_byte;
	  mup_st32 (a, da_raw);
	  a[4] = qb;
	  mup_st32 (a + 5, g.teid_raw);
	}
    }
  else
    {
      mup_u128 v = (mup_u128) __builtin_bswap32 (da_raw) << MUP_ARGS_BITS |
		   ((uint64_t) qb << 32 | __builtin_bswap32 (g.teid_raw));
      mup_store_args_sid (s, h,
			  mup_u128_of (s->args_tmpl) | v << s->args_shift);
    }
  mup_move (p, (int32_t) inner_off - (int32_t) el, el + inner_len);
  mup_fwd (s, p, MUP_NEXT_IP6);
  return 1;
}

static MUP_ALWAYS_INLINE void
mup_h_m_gtp4_d_x (const mup_sid_t *s, mup_pkt_t *p, int plain)
{
  if (MUP_LIKELY (mup_h_m_gtp4_d_fast (s, p, plain)))
    return;
  mup_h_m_gtp4_d_slow (s, p);
}

/* ---- End.M.GTP6.D / End.M.GTP6.D.Di (RFC 9433 sections 6.3, 6.4) ----
 *
 * GTP-U/IPv6 in, SRv6 out.  Args.Mob.Session at bit dst_len of the args
 * SID.  D.Di keeps the original IPv6 SA and appends the original DA as
 * SRH[0], so that a far End.M.GTP6.E (Segments Left 1) rebuilds GTP-U.
 */
static MUP_NOINLINE void
mup_end_m_gtp6_d_slow (const mup_sid_t *s, mup_pkt_t *p, int di)
{
  mup_ip6_info_t ip;
  mup_gtp_in_t in;
  uint8_t nh, *h, u, sa[16], da[16];
  mup_u128 sid;
  MUP_CHECK (p, mup_parse_gtp6 (p->data, p->len, &ip, &in));
  MUP_CHECK (p, mup_inner_nh (s->nh, &in.g, p->data + in.inner_off, &nh));
  u = (s->flags & MUP_F_U_PDU_TYPE) ? (in.g.psc_pdu_type & 1) : 0;
  if (MUP_UNLIKELY (in.g.tag != MUP_TAG_DATA && !s->nsegs))
    MUP_DROP (p, MUP_E_GTPU_CONTROL);
  if (di)
    {
      memcpy (sa, p->data + 8, 16);
      memcpy (da, p->data + 24, 16);
    }
  h = mup_push_encap (s, p, in.inner_off, in.g.pdu_len, nh, in.g.tag);
  if (MUP_UNLIKELY (!h))
    MUP_DROP (p, MUP_E_NO_HEADROOM);
  if (di)
    {
      memcpy (h + 8, sa, 16);
      memcpy (h + 48, da, 16); /* SRH[0] = original destination */
    }
  sid = mup_u128_of (s->args_tmpl) |
	(mup_u128) mup_args_pack (in.g.qfi, in.g.rqi, u,
				  mup_gtpu_args_teid (&in.g))
	  << s->args_shift;
  mup_store_args_sid (s, h, sid);
  mup_fwd (s, p, MUP_NEXT_IP6);
}

/*
 * End.M.GTP6.D(.Di) fast path: IPv6 with UDP (2152) right after the fixed
 * header, a G-PDU in one of the mup_gtpu_fast layouts, a whole inner
 * packet.  Returns 0 before any write for everything else.
 */
static MUP_ALWAYS_INLINE int
mup_end_m_gtp6_d_fast (const mup_sid_t *s, mup_pkt_t *p, int di, int plain)
{
  /* plain: the SID has MUP_FP_PLAIN, its flags are known here */
  const uint32_t fl = plain ? 0 : s->flags;
  const uint32_t fp = plain ? MUP_FP_ARGS_BYTES | MUP_FP_SRC_BYTES : s->fp;
  uint8_t *b = p->data, *h;
  uint32_t len = p->len, end, inner_off, inner_len, el;
  uint64_t w0, sa0 = 0, sa1 = 0, da0 = 0, da1 = 0;
  mup_gtpu_fast_t g;
  uint8_t nh, qb;
  if (MUP_UNLIKELY (len < 56))
    return 0;
  w0 = mup_ld64 (b);
  end = 40u + __builtin_bswap16 ((uint16_t) (w0 >> 32));
  /* version 6, next header UDP */
  if (MUP_UNLIKELY ((w0 & 0x00ff0000000000f0ull) != 0x0011000000000060ull ||
		    end > len))
    return 0;
  if (MUP_UNLIKELY (!mup_udp_gtpu_fast (s, b, 40, end, plain, &g, &inner_off,
					&inner_len, &nh)))
    return 0;
  el = s->encap_len;
  if (MUP_UNLIKELY (inner_off + p->headroom < el || el + inner_len > 0xffff))
    return 0;
  qb = g.qr | ((fl & MUP_F_U_PDU_TYPE) ? (g.pdu_type & 1) : 0);
  if (di)
    {
      sa0 = mup_ld64 (b + 8);
      sa1 = mup_ld64 (b + 16);
      da0 = mup_ld64 (b + 24);
      da1 = mup_ld64 (b + 32);
    }
  h = b + inner_off - el;
  mup_copy_encap (s, h, el); /* the SRH tag is 0 in the template */
  mup_wr16 (h + 4, (uint16_t) (el - 40 + inner_len));
  if (s->nsegs)
    h[40] = nh;
  else
    h[6] = nh;
  if (di)
    {
      mup_st64 (h + 8, sa0);
      mup_st64 (h + 16, sa1);
      mup_st64 (h + 48, da0); /* SRH[0] = original destination */
      mup_st64 (h + 56, da1);
    }
  if (fp & MUP_FP_ARGS_BYTES)
    {
      uint8_t *a = h + s->args_off + s->args_byte;
      a[0] = qb;
      mup_st32 (a + 1, g.teid_raw);
      if (s->fp & MUP_FP_ARGS_IN_DA)
	{
	  a = h + 24 + s->args_byte;
	  a[0] = qb;
	  mup_st32 (a + 1, g.teid_raw);
	}
    }
  else
    mup_store_args_sid (
      s, h,
      mup_u128_of (s->args_tmpl) |
	(mup_u128) ((uint64_t) qb << 32 | __builtin_bswap32 (g.teid_raw))
	  << s->args_shift);
  mup_move (p, (int32_t) inner_off - (int32_t) el, el + inner_len);
  mup_fwd (s, p, MUP_NEXT_IP6);
  return 1;
}

static MUP_ALWAYS_INLINE void
mup_end_m_gtp6_d_x (const mup_sid_t *s, mup_pkt_t *p, int di, int plain)
{
  if (MUP_LIKELY (mup_end_m_gtp6_d_fast (s, p, di, plain)))
    return;
  mup_end_m_gtp6_d_slow (s, p, di);
}

/* Message type, TEID and sequence of the GTP-U message for an SRH tag. */
static inline int
mup_tag_to_gtpu (uint16_t tag, uint32_t args_teid, uint8_t *type,
		 uint32_t *teid, uint16_t *seq, int *with_seq)
{
  *with_seq = 0;
  *seq = 0;
  *teid = args_teid;
  switch (tag)
    {
    case MUP_TAG_DATA:
      *type = MUP_GTPU_GPDU;
      return MUP_E_NONE;
    case MUP_TAG_END_MARKER:
      *type = MUP_GTPU_END_MARKER;
      return MUP_E_NONE;
    case MUP_TAG_ECHO_REQUEST:
      *type = MUP_GTPU_ECHO_REQUEST;
      break;
    case MUP_TAG_ECHO_REPLY:
      *type = MUP_GTPU_ECHO_REPLY;
      break;
    case MUP_TAG_ERROR_IND:
      *type = MUP_GTPU_ERROR_IND;
      break;
    default:
      return MUP_E_BAD_GTPU_TYPE;
    }
  *with_seq = 1;
  *seq = (uint16_t) (args_teid >> 16);
  *teid = 0;
  return MUP_E_NONE;
}

/* ---- End.M.GTP4.E / End.M.GTP6.E (RFC 9433 sections 6.5, 6.6) ----
 *
 * SRv6 in, GTP-U out.  GTP4.E: IPv4 DA and args from the active SID at
 * sid_len; IPv4 SA from the IPv6 SA at src_len (or fixed); Segments Left 0
 * or no SRH.  GTP6.E: args at sid_len; GTP-U DA = SRH[0]; must be
 * penultimate (Segments Left 1); UDP checksum always computed.
 */
static MUP_NOINLINE void
mup_end_m_gtp_e_slow (const mup_sid_t *s, mup_pkt_t *p, int is_ip6)
{
  mup_ip6_info_t ip;
  uint8_t *b = p->data, *h, *udp, type, gnb[16], sa6[16];
  uint32_t inner_off, inner_len, teid, ip4_sa = 0, ip4_da = 0, vtf, hl;
  uint32_t gl, out;
  uint16_t tag = 0, seq, sport;
  uint64_t args;
  uint8_t qfi, r, ubit, pdu_type, hlim;
  int with_seq, with_psc;
  mup_u128 da;

  MUP_CHECK (p, mup_ip6_parse (b, p->len, &ip));
  if (is_ip6)
    {
      if (MUP_UNLIKELY (!ip.has_srh))
	MUP_DROP (p, MUP_E_NO_SRH);
      if (MUP_UNLIKELY (ip.sl != 1))
	MUP_DROP (p, MUP_E_BAD_SL);
    }
  else if (MUP_UNLIKELY (ip.sl != 0))
    MUP_DROP (p, MUP_E_BAD_SL);
  hlim = b[7];
  if (MUP_UNLIKELY (hlim <= 1))
    MUP_DROP (p, MUP_E_HOP_LIMIT);
  if (ip.has_srh)
    tag = mup_rd16 (b + ip.srh_off + 6);
  inner_off = ip.upper_off;
  inner_len = ip.end - inner_off;
  /* user data: a whole IPv4/IPv6 packet; control messages: IEs only,
     next header 59 (draft-murakami) */
  if (tag == MUP_TAG_DATA ?
	MUP_UNLIKELY (mup_inner_ok (b + inner_off, inner_len) != ip.upper_nh) :
	MUP_UNLIKELY (ip.upper_nh != 59))
    MUP_DROP (p, MUP_E_BAD_INNER);

  da = mup_ld128 (b + 24) >> s->get_shift;
  args = (uint64_t) da & ((1ull << MUP_ARGS_BITS) - 1);
  if (!is_ip6)
    {
      ip4_da = (uint32_t) (da >> MUP_ARGS_BITS);
      ip4_sa = (s->flags & MUP_F_FIXED_SRC4) ?
		 mup_rd32 ((const uint8_t *) &s->src4) :
		 (uint32_t) (mup_ld128 (b + 8) >> s->src_shift);
    }
  qfi = (uint8_t) (args >> 34) & 0x3f;
  r = (uint8_t) (args >> 33) & 1;
  ubit = (uint8_t) (args >> 32) & 1;
  MUP_CHECK (
    p, mup_tag_to_gtpu (tag, (uint32_t) args, &type, &teid, &seq, &with_seq));
  pdu_type = (s->flags & MUP_F_U_PDU_TYPE) ? ubit : s->pdu_type;
  with_psc = !(s->flags & MUP_F_NO_PSC) && (qfi || r) &&
	     (type == MUP_GTPU_GPDU || type == MUP_GTPU_END_MARKER);
  gl = (with_seq || with_psc) ? (with_psc ? 16 : 12) : 8;
  sport = tag == MUP_TAG_DATA ? mup_entropy_port (b + inner_off, inner_len) :
				MUP_GTPU_PORT;
  vtf = mup_rd32 (b);
  if (is_ip6)
    {
      memcpy (gnb, b + ip.srh_off + 8, 16);
      memcpy (sa6, (s->flags & MUP_F_FIXED_SRC6) ? s->src6 : b + 8, 16);
    }

  hl = is_ip6 ? 40 : 20;
  out = hl + 8 + gl;
  if (MUP_UNLIKELY (inner_off + p->headroom < out))
    MUP_DROP (p, MUP_E_NO_HEADROOM);
  h = b + inner_off - out;
  udp = h + hl;
  mup_gtpu_build (udp + 8, type, teid, seq, with_seq, with_psc, pdu_type, qfi,
		  r, inner_len);
  mup_wr16 (udp, sport);
  mup_wr16 (udp + 2, MUP_GTPU_PORT);
  mup_wr16 (udp + 4, (uint16_t) (8 + gl + inner_len));
  udp[6] = udp[7] = 0;
  /*
   * Checksums are summed from the values just written, not read back from
   * the packet: a load right after narrower stores to the same bytes
   * cannot be forwarded and stalls the pipeline.
   */
  if (is_ip6)
    {
      uint32_t ulen = 8 + gl + inner_len;
      uint64_t be;
      mup_wr32 (h, vtf);
      mup_wr16 (h + 4, (uint16_t) ulen);
      h[6] = 17;
      h[7] = hlim - 1;
      memcpy (h + 8, sa6, 16);
      memcpy (h + 24, gnb, 16);
      /* RFC 8200 section 8.1: pseudo-header, UDP, GTP-U, T-PDU */
      be =
	mup_csum_le_to_be (mup_csum_add (mup_csum_add (0, sa6, 16), gnb, 16));
      be += mup_csum_le_to_be (mup_csum_add (0, b + inner_off, inner_len));
      be += ulen + 17 + sport + MUP_GTPU_PORT + ulen;
      be += mup_gtpu_sum (type, teid, seq, with_seq, with_psc, pdu_type, qfi,
			  r, inner_len);
      mup_put_csum (udp + 6, be, 1);
    }
  else
    {
      uint32_t tot = out + inner_len;
      h[0] = 0x45;
      h[1] = (uint8_t) (vtf >> 20); /* traffic class -> DSCP/ECN */
      mup_wr16 (h + 2, (uint16_t) tot);
      h[4] = h[5] = 0;
      h[6] = h[7] = 0;
      h[8] = hlim - 1;
      h[9] = 17;
      mup_wr32 (h + 12, ip4_sa);
      mup_wr32 (h + 16, ip4_da);
      mup_put_csum (h + 10,
		    (0x4500u | h[1]) + tot +
		      ((uint32_t) (hlim - 1) << 8 | 17) + (ip4_sa >> 16) +
		      (ip4_sa & 0xffff) + (ip4_da >> 16) + (ip4_da & 0xffff),
		    0);
      if (s->flags & MUP_F_UDP4_CSUM)
	mup_udp4_set_csum (h, udp, 8 + gl + inner_len);
    }
  mup_move (p, (int32_t) inner_off - (int32_t) out, out + inner_len);
  mup_fwd (s, p, is_ip6 ? MUP_NEXT_IP6 : MUP_NEXT_IP4);
}

/*
 * End.M.GTP4.E / End.M.GTP6.E fast path for user data: IPv6 with one SRH
 * right after it (routing type 4, the expected Segments Left, tag 0; TLVs
 * allowed) or, for GTP4.E, no SRH; a whole inner IPv4/IPv6 packet; hop
 * limit above 1.  Everything is read before the first write and every
 * other packet returns 0 for mup_end_m_gtp_e_slow.  The headers are built
 * in registers and stored 8 octets at a time; the UDP checksum over IPv6
 * is summed from those words (little-endian, RFC 1071 section 2(B)).
 */
/* The back half of the E fast path, for a constant with_psc. */
static MUP_ALWAYS_INLINE int
mup_end_m_gtp_e_emit (const mup_sid_t *s, mup_pkt_t *p, int is_ip6,
		      int with_psc, int plain, uint32_t fl, uint32_t fp,
		      uint64_t w0, uint32_t off, uint32_t inner_len,
		      uint32_t sport, uint8_t qb, uint32_t teid_raw,
		      uint32_t da_raw)
{
  uint8_t *b = p->data, *h, *udp;
  uint32_t hlim = (uint32_t) (w0 >> 56), gl, out, ulen, sa_raw = 0;
  uint64_t g0, g1 = 0, uw;
  uint8_t pdu_type;
  gl = with_psc ? 16 : 8;
  out = (is_ip6 ? 48 : 28) + gl;
  if (MUP_UNLIKELY (off + p->headroom < out))
    return 0;
  if (!is_ip6)
    {
      if (MUP_UNLIKELY (out + inner_len > 0xffff))
	return 0; /* the general path sums the untruncated length */
      if (fl & MUP_F_FIXED_SRC4)
	sa_raw = s->src4;
      else if (fp & MUP_FP_SRC_BYTES)
	sa_raw = mup_ld32 (b + 8 + s->src_byte);
      else
	sa_raw =
	  __builtin_bswap32 ((uint32_t) (mup_ld128 (b + 8) >> s->src_shift));
    }
  ulen = 8 + gl + inner_len;

  /* GTP-U and UDP (checksum 0 for now) as stored */
  g0 = (with_psc ? 0x34 : 0x30) | (uint64_t) MUP_GTPU_GPDU << 8 |
       (uint64_t) __builtin_bswap16 ((uint16_t) (gl - 8 + inner_len)) << 16 |
       (uint64_t) teid_raw << 32;
  if (with_psc)
    {
      /* sequence 0, N-PDU 0, next 0x85 | 01, PDU type, RQI/QFI, 00 */
      uint32_t q;
      pdu_type = (fl & MUP_F_U_PDU_TYPE) ? (qb & 1) : plain ? 0 : s->pdu_type;
      q = (uint32_t) (qb >> 2) | (pdu_type == 0 ? (qb & 2u) << 5 : 0);
      g1 =
	0x0000000185000000ull | (uint64_t) pdu_type << 44 | (uint64_t) q << 48;
    }
  uw = (uint64_t) __builtin_bswap16 ((uint16_t) sport) |
       (uint64_t) __builtin_bswap16 (MUP_GTPU_PORT) << 16 |
       (uint64_t) __builtin_bswap16 ((uint16_t) ulen) << 32;

  h = b + off - out;
  if (is_ip6)
    {
      /* RFC 8200 section 8.1: pseudo-header, UDP, GTP-U, T-PDU */
      uint64_t acc, sa0, sa1, d0, d1;
      const uint8_t *sa = (fl & MUP_F_FIXED_SRC6) ? s->src6 : b + 8;
      uint16_t c;
      /* a tree of independent sums (short carry chains): the inner
	 packet with the pseudo-header length and next header (< 2^33);
	 the addresses; GTP-U with UDP (< 2^48, checksum 0) and PSC
	 (< 2^56), whose plain sum cannot overflow */
      acc = mup_csum64 ((uint64_t) __builtin_bswap32 (ulen) + 0x11000001u,
			b + off, inner_len);
      sa0 = mup_ld64 (sa);
      sa1 = mup_ld64 (sa + 8);
      d0 = mup_ld64 (b + 48); /* SRH[0]: the gNB */
      d1 = mup_ld64 (b + 56);
      mup_st64 (h, (uint64_t) (uint32_t) w0 | /* version, class, label */
		     (uint64_t) __builtin_bswap16 ((uint16_t) ulen) << 32 |
		     17ull << 48 | (uint64_t) (hlim - 1) << 56);
      mup_st64 (h + 8, sa0);
      mup_st64 (h + 16, sa1);
      mup_st64 (h + 24, d0);
      mup_st64 (h + 32, d1);
      acc = mup_oc_add (
	acc, mup_oc_add (mup_oc_add (sa0, sa1), mup_oc_add (d0, d1)));
      acc = mup_oc_add (acc, mup_oc_add (g0, uw + g1));
      /* ~fold with a computed 0 sent as 0xffff, in the representative
	 1..0xffff of minus the sum: 0x10000 - fold (sum + 1), the + 1
	 being the 1 of 0x11000001 above */
      c = (uint16_t) (0x10000 - mup_fold16 (acc));
      udp = h + 40;
      mup_st64 (udp, uw | (uint64_t) c << 48);
    }
  else
    {
      uint32_t tot = out + inner_len;
      uint32_t tos = (__builtin_bswap32 ((uint32_t) w0) >> 20) & 0xff;
      uint32_t i0 =
	0x45 | tos << 8 | (uint32_t) __builtin_bswap16 ((uint16_t) tot) << 16;
      uint32_t i1 = (hlim - 1) | 17 << 8;
      uint16_t c =
	(uint16_t) ~mup_fold16 ((uint64_t) i0 + i1 + sa_raw + da_raw);
      mup_st64 (h, i0); /* identification, flags, fragment offset 0 */
      mup_st64 (h + 8, i1 | (uint64_t) c << 16 | (uint64_t) sa_raw << 32);
      mup_st32 (h + 16, da_raw);
      udp = h + 20;
      mup_st64 (udp, uw);
    }
  mup_st64 (udp + 8, g0);
  if (with_psc)
    mup_st64 (udp + 16, g1);
  if (!is_ip6 && (fl & MUP_F_UDP4_CSUM))
    mup_udp4_set_csum (h, udp, ulen);
  mup_move (p, (int32_t) off - (int32_t) out, out + inner_len);
  mup_fwd (s, p, is_ip6 ? MUP_NEXT_IP6 : MUP_NEXT_IP4);
  return 1;
}

/* The middle of the E fast path: inner packet, args, then emit; off is a
   constant for the common 40-octet SRH. */
static MUP_ALWAYS_INLINE int
mup_end_m_gtp_e_mid (const mup_sid_t *s, mup_pkt_t *p, int is_ip6, int plain,
		     uint32_t fl, uint32_t fp, uint64_t w0, uint32_t end,
		     uint32_t off, uint8_t unh)
{
  uint8_t *b = p->data;
  uint32_t inner_len, teid_raw, da_raw = 0, sport;
  uint8_t qb;

  inner_len = end - off;
  if (unh == 4)
    sport = mup_inner_port (b + off, inner_len, 4);
  else if (MUP_LIKELY (unh == 41))
    sport = mup_inner_port (b + off, inner_len, 41);
  else
    return 0;
  if (MUP_UNLIKELY (!sport))
    return 0;

  /* Args.Mob.Session (and the IPv4 DA) from the active SID */
  if (fp & MUP_FP_ARGS_BYTES)
    {
      const uint8_t *a = b + 24 + s->args_byte;
      if (!is_ip6)
	{
	  da_raw = mup_ld32 (a);
	  a += 4;
	}
      qb = a[0];
      teid_raw = mup_ld32 (a + 1);
    }
  else
    {
      mup_u128 da = mup_ld128 (b + 24) >> s->get_shift;
      if (!is_ip6)
	da_raw = __builtin_bswap32 ((uint32_t) (da >> MUP_ARGS_BITS));
      qb = (uint8_t) ((uint64_t) da >> 32);
      teid_raw = __builtin_bswap32 ((uint32_t) da);
    }
  /* a PSC when QFI or R is set (G-PDU) */
  if (!(fl & MUP_F_NO_PSC) && (qb & 0xfe))
    return mup_end_m_gtp_e_emit (s, p, is_ip6, 1, plain, fl, fp, w0, off,
				 inner_len, sport, qb, teid_raw, da_raw);
  return mup_end_m_gtp_e_emit (s, p, is_ip6, 0, plain, fl, fp, w0, off,
			       inner_len, sport, qb, teid_raw, da_raw);
}
static MUP_ALWAYS_INLINE int
mup_end_m_gtp_e_fast (const mup_sid_t *s, mup_pkt_t *p, int is_ip6, int plain)
{
  /* plain: the SID has MUP_FP_PLAIN, its flags are known here */
  const uint32_t fl = plain ? 0 : s->flags;
  const uint32_t fp = plain ? MUP_FP_ARGS_BYTES | MUP_FP_SRC_BYTES : s->fp;
  uint8_t *b = p->data;
  uint32_t len = p->len, end, hlim;
  uint64_t w0;
  uint8_t unh;

  if (MUP_UNLIKELY (len < (is_ip6 ? 80u : 40u)))
    return 0;
  w0 = mup_ld64 (b);
  end = 40u + __builtin_bswap16 ((uint16_t) (w0 >> 32));
  hlim = (uint32_t) (w0 >> 56);
  /* version 6 (GTP6.E: and next header 43) */
  if (MUP_UNLIKELY ((w0 & (is_ip6 ? 0x00ff0000000000f0ull : 0xf0)) !=
		      (is_ip6 ? 0x002b000000000060ull : 0x60) ||
		    end > len || hlim <= 1))
    return 0;
  unh = (uint8_t) (w0 >> 48);
  if (is_ip6 || unh == 43)
    {
      uint32_t hl, le;
      uint64_t x;
      /* GTP6.E: len >= 80 makes the read safe, 40 + hl <= end below
	 implies end >= 48 */
      if (MUP_UNLIKELY (!is_ip6 && 48 > end))
	return 0;
      x = mup_ld64 (b + 40);
      /* the usual SRH: 2 segments, no TLV (length 4, last entry 1),
	 routing type 4, Segments Left 1 (GTP6.E) or 0 (GTP4.E), tag 0 */
      if (MUP_LIKELY (
	    (x & 0xffff00ffffffff00ull) ==
	    (is_ip6 ? 0x0000000101040400ull : 0x0000000100040400ull)))
	{
	  if (MUP_UNLIKELY (80 > end))
	    return 0;
	  return mup_end_m_gtp_e_mid (s, p, is_ip6, plain, fl, fp, w0, end, 80,
				      (uint8_t) x);
	}
      /* any other: routing type 4, the Segments Left, tag 0 */
      if (MUP_UNLIKELY ((x & 0xffff0000ffff0000ull) !=
			(is_ip6 ? 0x0000000001040000ull : 0x40000ull)))
	return 0;
      hl = (((uint32_t) (x >> 8) & 0xff) + 1) * 8;
      le = (uint32_t) (x >> 32) & 0xff;
      if (MUP_UNLIKELY (40 + hl > end || 8 + 16 * (le + 1) > hl ||
			(is_ip6 && le < 1)))
	return 0;
      return mup_end_m_gtp_e_mid (s, p, is_ip6, plain, fl, fp, w0, end,
				  40 + hl, (uint8_t) x);
    }
  return mup_end_m_gtp_e_mid (s, p, is_ip6, plain, fl, fp, w0, end, 40, unh);
}

static MUP_ALWAYS_INLINE void
mup_end_m_gtp_e_x (const mup_sid_t *s, mup_pkt_t *p, int is_ip6, int plain)
{
  if (MUP_LIKELY (mup_end_m_gtp_e_fast (s, p, is_ip6, plain)))
    return;
  mup_end_m_gtp_e_slow (s, p, is_ip6);
}

/* ---- GTP4/GTP6 .DT4/.DT6/.DT46 (VPP srv6-mobile extras) ----
 * GTP-U decapsulation and lookup of the inner packet in fib_index.
 * Control messages are terminated here and counted. */
static inline void
mup_gtp_dt (const mup_sid_t *s, mup_pkt_t *p, int is_ip6, int af)
{
  mup_ip6_info_t ip;
  mup_gtp_in_t in;
  const uint8_t *inner;
  uint8_t v;
  if (is_ip6)
    MUP_CHECK (p, mup_parse_gtp6 (p->data, p->len, &ip, &in));
  else
    MUP_CHECK (p, mup_parse_gtp4 (p->data, p->len, &in));
  if (in.g.tag != MUP_TAG_DATA)
    MUP_DROP (p, MUP_E_GTPU_CONTROL);
  inner = p->data + in.inner_off;
  v = mup_inner_ok (inner, in.g.pdu_len) == 4  ? 4 :
      mup_inner_ok (inner, in.g.pdu_len) == 41 ? 6 :
						 0;
  if (MUP_UNLIKELY (!v))
    MUP_DROP (p, MUP_E_BAD_INNER);
  if (MUP_UNLIKELY ((af == 4 && v != 4) || (af == 6 && v != 6)))
    MUP_DROP (p, MUP_E_INNER_AF);
  mup_move (p, (int32_t) in.inner_off, in.g.pdu_len);
  mup_fwd (s, p, v == 4 ? MUP_NEXT_IP4 : MUP_NEXT_IP6);
}

/* ---- End (RFC 8986 section 4.1) ---- */
static inline void
mup_end (const mup_sid_t *s, mup_pkt_t *p)
{
  mup_ip6_info_t ip;
  uint8_t *b = p->data, sl;
  MUP_CHECK (p, mup_ip6_parse (b, p->len, &ip));
  if (MUP_UNLIKELY (!ip.has_srh))
    MUP_DROP (p, MUP_E_NO_SRH);
  if (MUP_UNLIKELY (ip.sl == 0))
    MUP_DROP (p, MUP_E_BAD_SL);
  if (MUP_UNLIKELY (b[7] <= 1))
    MUP_DROP (p, MUP_E_HOP_LIMIT);
  sl = ip.sl - 1;
  b[ip.srh_off + 3] = sl;
  memcpy (b + 24, b + ip.srh_off + 8 + 16 * sl, 16);
  b[7]--;
  mup_fwd (s, p, MUP_NEXT_IP6);
}

/* ---- End.DT4 / End.DT6 / End.DT46 (RFC 8986 sections 4.6-4.8) ---- */
static inline void
mup_end_dt (const mup_sid_t *s, mup_pkt_t *p, int af)
{
  mup_ip6_info_t ip;
  uint8_t nh;
  MUP_CHECK (p, mup_ip6_parse (p->data, p->len, &ip));
  if (MUP_UNLIKELY (ip.sl != 0))
    MUP_DROP (p, MUP_E_BAD_SL);
  nh = ip.upper_nh;
  if (MUP_UNLIKELY (
	(nh != 4 && nh != 41) ||
	mup_inner_ok (p->data + ip.upper_off, ip.end - ip.upper_off) != nh))
    MUP_DROP (p, MUP_E_BAD_INNER);
  if (MUP_UNLIKELY ((af == 4 && nh != 4) || (af == 6 && nh != 41)))
    MUP_DROP (p, MUP_E_INNER_AF);
  mup_move (p, ip.upper_off, ip.end - ip.upper_off);
  mup_fwd (s, p, nh == 4 ? MUP_NEXT_IP4 : MUP_NEXT_IP6);
}

/* ---- End.MAP (RFC 9433 section 6.2) ---- */
static inline void
mup_end_map (const mup_sid_t *s, mup_pkt_t *p)
{
  mup_ip6_info_t ip;
  uint8_t *b = p->data;
  const uint8_t *to;
  MUP_CHECK (p, mup_ip6_parse (b, p->len, &ip));
  if (MUP_UNLIKELY (b[7] <= 1))
    MUP_DROP (p, MUP_E_HOP_LIMIT);
  to = mup_map_find (s->map, b + 24);
  if (MUP_UNLIKELY (!to))
    MUP_DROP (p, MUP_E_NO_MAPPING);
  memcpy (b + 24, to, 16);
  b[7]--;
  mup_fwd (s, p, MUP_NEXT_IP6);
}

/* ---- End.Limit (RFC 9433 section 6.8) ----
 * The SID carries | locator (sid_len) | group id | limit rate |; flows of a
 * group share one token bucket.  Within the rate the packet is processed
 * as End. */
static inline void
mup_end_limit (const mup_sid_t *s, mup_pkt_t *p, uint64_t now_ns)
{
  mup_u128 da;
  uint64_t group, rate, pps, add;
  mup_bucket_t *bk;
  if (MUP_UNLIKELY (p->len < 40 || (p->data[0] >> 4) != 6))
    MUP_DROP (p, p->len < 40 ? MUP_E_TRUNC_IP6 : MUP_E_BAD_IP6);
  da = mup_ld128 (p->data + 24);
  group = mup_get_bits (da, s->sid_len, s->limit_group_bits);
  rate =
    mup_get_bits (da, s->sid_len + s->limit_group_bits, s->limit_rate_bits);
  bk = &s->buckets[group & (s->n_buckets - 1)];
  pps = rate * s->limit_unit_pps;
  if (now_ns > bk->last_ns)
    {
      add = (now_ns - bk->last_ns) * pps / 1000000u; /* milli-packets */
      bk->tokens_milli += add;
      if (bk->tokens_milli > bk->burst_milli)
	bk->tokens_milli = bk->burst_milli;
      bk->last_ns = now_ns;
    }
  if (bk->tokens_milli < 1000)
    MUP_DROP (p, MUP_E_RATE_LIMITED);
  bk->tokens_milli -= 1000;
  mup_end (s, p);
}

/* Session table hash: the first 8 key octets, multiplicative. */
static inline uint32_t
mup_sess_hash (const uint8_t key[16])
{
  uint64_t k;
  memcpy (&k, key, 8);
  return (uint32_t) ((k * 0x9E3779B97F4A7C15ull) >> 32);
}

/* Reader side of the atomic handover (see mup_sess_table_t). */
static inline const mup_t1st_t *
mup_sess_find (const mup_sess_table_t *t, const uint8_t key[16])
{
  uint32_t i, h = mup_sess_hash (key);
  for (i = 0; i <= t->mask; i++)
    {
      const mup_sess_slot_t *sl = &t->slots[(h + i) & t->mask];
      if (!sl->used)
	return 0;
      if (sl->used == 1 && memcmp (sl->key, key, 8) == 0)
	return &sl->val[__atomic_load_n (&sl->sel, __ATOMIC_ACQUIRE) & 1];
    }
  return 0;
}

/* H.M.T1ST: the session's gNB IPv4 address and Args.Mob.Session into the
   args SID of a pushed encapsulation. */
static inline void
mup_t1st_stamp (const mup_sid_t *s, uint8_t *h, const mup_t1st_t *ses)
{
  mup_u128 v = (mup_u128) mup_rd32 (ses->gnb) << MUP_ARGS_BITS |
	       mup_args_pack (ses->qfi, ses->rqi, 0, ses->teid);
  mup_store_args_sid (s, h, mup_u128_of (s->args_tmpl) | v << s->args_shift);
}

/* ---- H.Encaps (RFC 8986 section 5.1) and H.M.T1ST ----
 * H.M.T1ST: the N6-side PE of the MUP architecture.  The UE address picks
 * a Type 1 Session Transformed; its gNB IPv4 address and Args.Mob.Session
 * are stamped into the policy's last SID (the End.M.GTP4.E layout). */
static inline void
mup_h_encaps (const mup_sid_t *s, mup_pkt_t *p, int t1st)
{
  uint8_t *b = p->data, *h, nh, key[16] = { 0 };
  uint32_t ilen;
  const mup_t1st_t *ses = 0;
  if (MUP_UNLIKELY (p->len < 20))
    MUP_DROP (p, MUP_E_BAD_INNER);
  if ((b[0] >> 4) == 4)
    {
      ilen = mup_rd16 (b + 2);
      if (MUP_UNLIKELY ((b[0] & 15) < 5 || ilen < 20 || ilen > p->len))
	MUP_DROP (p, MUP_E_BAD_IP4);
      nh = 4;
      memcpy (key, b + 16, 4);
    }
  else if ((b[0] >> 4) == 6)
    {
      if (MUP_UNLIKELY (p->len < 40))
	MUP_DROP (p, MUP_E_TRUNC_IP6);
      ilen = 40u + mup_rd16 (b + 4);
      if (MUP_UNLIKELY (ilen > p->len))
	MUP_DROP (p, MUP_E_TRUNC_IP6);
      nh = 41;
      memcpy (key, b + 24, 8);
    }
  else
    MUP_DROP (p, MUP_E_BAD_INNER);
  if (t1st)
    {
      ses = mup_sess_find (s->t1st, key);
      if (MUP_UNLIKELY (!ses))
	MUP_DROP (p, MUP_E_NO_SESSION);
    }
  h = mup_push_encap (s, p, 0, ilen, nh, MUP_TAG_DATA);
  if (MUP_UNLIKELY (!h))
    MUP_DROP (p, MUP_E_NO_HEADROOM);
  if (ses)
    mup_t1st_stamp (s, h, ses);
  mup_fwd (s, p, MUP_NEXT_IP6);
}

/*
 * Vector loops of the behaviours with a fast path, out of line.  A SID
 * with MUP_FP_PLAIN runs a copy of the loop in which its flags are
 * constants (plain = 1), so their tests fold away.
 */
#define MUP_VEC_FN(name, stmt)                                                \
  static MUP_NOINLINE void name (const mup_sid_t *s, mup_pkt_t *pk,           \
				 uint32_t n)                                  \
  {                                                                           \
    uint32_t i;                                                               \
    if (s->fp & MUP_FP_PLAIN)                                                 \
      {                                                                       \
	const int plain = 1;                                                  \
	for (i = 0; i < n; i++)                                               \
	  {                                                                   \
	    mup_pkt_t *p = &pk[i];                                            \
	    stmt;                                                             \
	  }                                                                   \
      }                                                                       \
    else                                                                      \
      {                                                                       \
	const int plain = 0;                                                  \
	for (i = 0; i < n; i++)                                               \
	  {                                                                   \
	    mup_pkt_t *p = &pk[i];                                            \
	    stmt;                                                             \
	  }                                                                   \
      }                                                                       \
  }

MUP_VEC_FN (mup_vec_h_m_gtp4_d, mup_h_m_gtp4_d_x (s, p, plain))
MUP_VEC_FN (mup_vec_end_m_gtp4_e, mup_end_m_gtp_e_x (s, p, 0, plain))
MUP_VEC_FN (mup_vec_end_m_gtp6_e, mup_end_m_gtp_e_x (s, p, 1, plain))
MUP_VEC_FN (mup_vec_end_m_gtp6_d, mup_end_m_gtp6_d_x (s, p, 0, plain))
MUP_VEC_FN (mup_vec_end_m_gtp6_d_di, mup_end_m_gtp6_d_x (s, p, 1, plain))
#undef MUP_VEC_FN

/* One behaviour over a vector: the switch is outside the packet loop. */
static inline void
mup_run_inline (const mup_sid_t *s, mup_pkt_t *pk, uint32_t n, uint64_t now_ns)
{
  uint32_t i;
#define LOOP(stmt)                                                            \
  for (i = 0; i < n; i++)                                                     \
    {                                                                         \
      mup_pkt_t *p = &pk[i];                                                  \
      stmt;                                                                   \
    }                                                                         \
  break
  switch (s->behavior)
    {
    case MUP_B_H_M_GTP4_D:
      mup_vec_h_m_gtp4_d (s, pk, n);
      break;
    case MUP_B_END_M_GTP4_E:
      mup_vec_end_m_gtp4_e (s, pk, n);
      break;
    case MUP_B_END_M_GTP6_E:
      mup_vec_end_m_gtp6_e (s, pk, n);
      break;
    case MUP_B_END_M_GTP6_D:
      mup_vec_end_m_gtp6_d (s, pk, n);
      break;
    case MUP_B_END_M_GTP6_D_DI:
      mup_vec_end_m_gtp6_d_di (s, pk, n);
      break;
    case MUP_B_GTP4_DT4:
      LOOP (mup_gtp_dt (s, p, 0, 4));
    case MUP_B_GTP4_DT6:
      LOOP (mup_gtp_dt (s, p, 0, 6));
    case MUP_B_GTP4_DT46:
      LOOP (mup_gtp_dt (s, p, 0, 46));
    case MUP_B_GTP6_DT4:
      LOOP (mup_gtp_dt (s, p, 1, 4));
    case MUP_B_GTP6_DT6:
      LOOP (mup_gtp_dt (s, p, 1, 6));
    case MUP_B_GTP6_DT46:
      LOOP (mup_gtp_dt (s, p, 1, 46));
    case MUP_B_END:
      LOOP (mup_end (s, p));
    case MUP_B_END_DT4:
      LOOP (mup_end_dt (s, p, 4));
    case MUP_B_END_DT6:
      LOOP (mup_end_dt (s, p, 6));
    case MUP_B_END_DT46:
      LOOP (mup_end_dt (s, p, 46));
    case MUP_B_END_MAP:
      LOOP (mup_end_map (s, p));
    case MUP_B_END_LIMIT:
      LOOP (mup_end_limit (s, p, now_ns));
    case MUP_B_H_ENCAPS:
      LOOP (mup_h_encaps (s, p, 0));
    case MUP_B_H_T1ST:
      LOOP (mup_h_encaps (s, p, 1));
    default:
      for (i = 0; i < n; i++)
	{
	  pk[i].next = MUP_NEXT_DROP;
	  pk[i].error = MUP_E_NO_SID;
	}
    }
#undef LOOP
}

#endif /* MUP_CORE_BEHAVIORS_H */
