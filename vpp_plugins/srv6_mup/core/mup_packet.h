/*
 * mup_packet.h - bounds-checked header readers and writers shared by every
 * behaviour: byte order, checksums, 128-bit SID arithmetic, the IPv6
 * extension chain / SRH walker and the GTP-U parser.  All static inline.
 */
#ifndef MUP_CORE_PACKET_H
#define MUP_CORE_PACKET_H

#include <string.h>
#include "mup.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "mup core assumes a little-endian host"
#endif

typedef unsigned __int128 mup_u128;

#define MUP_LIKELY(x)	__builtin_expect (!!(x), 1)
#define MUP_UNLIKELY(x) __builtin_expect (!!(x), 0)

/*
 * Fast paths are inlined into their vector loop; the general (slow) paths
 * and the vector loops stay out of line, each with its own registers.
 * Use as "static MUP_ALWAYS_INLINE" / "static MUP_NOINLINE" (unused: no
 * warning where a file includes the header but calls none of them).
 */
#if defined(__GNUC__) || defined(__clang__)
#define MUP_ALWAYS_INLINE inline __attribute__ ((__always_inline__))
#define MUP_NOINLINE	  __attribute__ ((__noinline__, __unused__))
#else
#define MUP_ALWAYS_INLINE inline
#define MUP_NOINLINE
#endif

/* Raw (wire order) loads and stores of 2, 4 and 8 octets. */
static inline uint16_t
mup_ld16 (const uint8_t *p)
{
  uint16_t v;
  memcpy (&v, p, 2);
  return v;
}

static inline uint32_t
mup_ld32 (const uint8_t *p)
{
  uint32_t v;
  memcpy (&v, p, 4);
  return v;
}

static inline uint64_t
mup_ld64 (const uint8_t *p)
{
  uint64_t v;
  memcpy (&v, p, 8);
  return v;
}

static inline void
mup_st16 (uint8_t *p, uint16_t v)
{
  memcpy (p, &v, 2);
}

static inline void
mup_st32 (uint8_t *p, uint32_t v)
{
  memcpy (p, &v, 4);
}

static inline void
mup_st64 (uint8_t *p, uint64_t v)
{
  memcpy (p, &v, 8);
}

static inline uint16_t
mup_rd16 (const uint8_t *p)
{
  uint16_t v;
  memcpy (&v, p, 2);
  return __builtin_bswap16 (v);
}

static inline uint32_t
mup_rd32 (const uint8_t *p)
{
  uint32_t v;
  memcpy (&v, p, 4);
  return __builtin_bswap32 (v);
}

static inline void
mup_wr16 (uint8_t *p, uint16_t v)
{
  v = __builtin_bswap16 (v);
  memcpy (p, &v, 2);
}

static inline void
mup_wr32 (uint8_t *p, uint32_t v)
{
  v = __builtin_bswap32 (v);
  memcpy (p, &v, 4);
}

/* A 128-bit address as a host-order integer (bit 0 of the address = MSB). */
static inline mup_u128
mup_ld128 (const uint8_t *p)
{
  uint64_t hi, lo;
  memcpy (&hi, p, 8);
  memcpy (&lo, p + 8, 8);
  return ((mup_u128) __builtin_bswap64 (hi) << 64) | __builtin_bswap64 (lo);
}

static inline void
mup_st128 (uint8_t *p, mup_u128 v)
{
  uint64_t hi = __builtin_bswap64 ((uint64_t) (v >> 64));
  uint64_t lo = __builtin_bswap64 ((uint64_t) v);
  memcpy (p, &hi, 8);
  memcpy (p + 8, &lo, 8);
}

static inline mup_u128
mup_u128_of (const uint64_t t[2])
{
  return ((mup_u128) t[0] << 64) | t[1];
}

/*
 * Field of nbits (1..64) at bit offset off (0 = most significant bit of the
 * address).  Callers guarantee off + nbits <= 128 (checked at config time).
 */
static inline uint64_t
mup_get_bits (mup_u128 a, unsigned off, unsigned nbits)
{
  mup_u128 v = a >> (128 - off - nbits);
  return (uint64_t) v & (nbits == 64 ? ~0ull : ((1ull << nbits) - 1));
}

static inline mup_u128
mup_put_bits (mup_u128 a, unsigned off, unsigned nbits, uint64_t val)
{
  unsigned sh = 128 - off - nbits;
  mup_u128 m =
    (nbits == 64 ? (mup_u128) ~0ull : (mup_u128) ((1ull << nbits) - 1)) << sh;
  return (a & ~m) | (((mup_u128) val << sh) & m);
}

/*
 * Args.Mob.Session (RFC 9433 section 6.1), 40 bits:
 *   | QFI (6) | R (1) | U (1) | PDU Session ID = TEID (32) |
 */
static inline uint64_t
mup_args_pack (uint8_t qfi, uint8_t r, uint8_t u, uint32_t teid)
{
  return ((uint64_t) ((qfi & 0x3f) << 2 | (r & 1) << 1 | (u & 1)) << 32) |
	 teid;
}

/* Hash of a 16-octet exact-match key (End.MAP, Type 2 sessions). */
static inline uint32_t
mup_map_hash (const uint8_t key[16])
{
  mup_u128 k = mup_ld128 (key);
  uint64_t x = (uint64_t) (k >> 64) ^ ((uint64_t) k * 0xC2B2AE3D27D4EB4Full);
  return (uint32_t) ((x * 0x9E3779B97F4A7C15ull) >> 32);
}

/* ---- checksums (RFC 1071) ---- */

static inline uint64_t
mup_csum_add (uint64_t sum, const uint8_t *p, uint32_t n)
{
  while (n >= 8)
    {
      uint64_t w;
      memcpy (&w, p, 8);
      sum += w;
      sum += (sum < w); /* end-around carry */
      p += 8;
      n -= 8;
    }
  if (n >= 4)
    {
      uint32_t w;
      memcpy (&w, p, 4);
      sum += w;
      sum += (sum < w);
      p += 4;
      n -= 4;
    }
  if (n >= 2)
    {
      uint16_t w;
      memcpy (&w, p, 2);
      sum += w;
      sum += (sum < w);
      p += 2;
      n -= 2;
    }
  if (n)
    {
      uint64_t w = p[0]; /* little-endian host: first byte is the low one */
      sum += w;
      sum += (sum < w);
    }
  return sum;
}

/* Fold to 16 bits; result in network byte order as stored by memcpy. */
static inline uint16_t
mup_csum_fold (uint64_t sum)
{
  sum = (sum & 0xffffffff) + (sum >> 32);
  sum = (sum & 0xffffffff) + (sum >> 32);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t) ~sum;
}

/*
 * Fold a 64-bit ones-complement accumulator to 16 bits (not inverted): 0
 * for 0, else the value in 1..0xffff.  Adding a word to itself rotated by
 * half its width leaves the end-around-carry sum of its halves in the top
 * half (two rotates instead of four shift-mask-add steps).
 */
static inline uint32_t
mup_fold16 (uint64_t sum)
{
  uint32_t s32;
  sum += (sum >> 32) | (sum << 32);
  s32 = (uint32_t) (sum >> 32);
  s32 += (s32 >> 16) | (s32 << 16);
  return s32 >> 16;
}

/*
 * A sum accumulated from little-endian loads (mup_csum_add) is the byte
 * swap of the big-endian sum (RFC 1071 section 2(B)): convert it so it can
 * be added to sums of header fields taken as values.
 */
static inline uint32_t
mup_csum_le_to_be (uint64_t le_sum)
{
  return __builtin_bswap16 ((uint16_t) mup_fold16 (le_sum));
}

/* Ones-complement add of a 64-bit word (end-around carry: add, adc). */
static inline uint64_t
mup_oc_add (uint64_t sum, uint64_t w)
{
  sum += w;
  return sum + (sum < w);
}

/*
 * Ones-complement sum of n octets taken as little-endian 64-bit words (the
 * last one zero padded), added to sum.  Two accumulators keep the carry
 * chains of long packets independent.  The octets must start at an even
 * offset of the checksummed data.  Fold with mup_fold16.
 */
static inline uint64_t
mup_csum64 (uint64_t sum, const uint8_t *p, uint32_t n)
{
  uint64_t b = 0, t = 0;
  uint32_t r = n & 7;
  const uint8_t *e = p + (n & ~15u);
  if (MUP_LIKELY (n >= 8))
    {
      /* the last r octets: the 8 that end the data, shifted down by the
	 8 - r octets already counted; they keep their position modulo 8 */
      if (r)
	t = mup_ld64 (p + n - 8) >> (64 - 8 * r);
    }
  else
    {
      /* 2^16 = 1 modulo 0xffff: where a 16-bit word sits in the sum does
	 not matter, only that its first octet stays the low one */
      const uint8_t *q = p;
      if (n & 4)
	{
	  t = mup_ld32 (q);
	  q += 4;
	}
      if (n & 2)
	{
	  t += mup_ld16 (q);
	  q += 2;
	}
      if (n & 1)
	t += q[0];
    }
  for (; p != e; p += 16)
    {
      sum = mup_oc_add (sum, mup_ld64 (p));
      b = mup_oc_add (b, mup_ld64 (p + 8));
    }
  if (n & 8)
    sum = mup_oc_add (sum, mup_ld64 (p));
  return mup_oc_add (mup_oc_add (sum, b), t);
}

/* Store ~sum (big-endian domain) as a checksum; 0 becomes 0xffff when
   zero_is_ffff (UDP). */
static inline void
mup_put_csum (uint8_t *at, uint64_t be_sum, int zero_is_ffff)
{
  uint16_t c = (uint16_t) ~mup_fold16 (be_sum);
  if (zero_is_ffff && c == 0)
    c = 0xffff;
  mup_wr16 (at, c);
}

static inline void
mup_ip4_set_csum (uint8_t *ip4)
{
  /* 20 octets as five 32-bit words: no loop, no carries lost in 64 bits */
  uint32_t w[5];
  uint64_t sum;
  uint16_t c;
  ip4[10] = ip4[11] = 0;
  memcpy (w, ip4, 20);
  sum = (uint64_t) w[0] + w[1] + w[2] + w[3] + w[4];
  c = mup_csum_fold (sum);
  memcpy (ip4 + 10, &c, 2);
}

/*
 * UDP checksum over IPv6 (RFC 8200 section 8.1): pseudo-header of source,
 * destination, upper-layer length and next header 17.  A computed 0 is sent
 * as 0xffff; over IPv6 it is never 0.
 */
static inline void
mup_udp6_set_csum (uint8_t *ip6, uint8_t *udp, uint32_t ulen)
{
  uint64_t sum = mup_csum_add (0, ip6 + 8, 32);
  uint8_t ph[8] = { 0, 0, 0, 0, 0, 0, 0, 17 };
  uint16_t c;
  mup_wr32 (ph, ulen);
  sum = mup_csum_add (sum, ph, 8);
  udp[6] = udp[7] = 0;
  sum = mup_csum_add (sum, udp, ulen);
  c = mup_csum_fold (sum);
  if (c == 0)
    c = 0xffff;
  memcpy (udp + 6, &c, 2);
}

static inline void
mup_udp4_set_csum (uint8_t *ip4, uint8_t *udp, uint32_t ulen)
{
  uint64_t sum = mup_csum_add (0, ip4 + 12, 8);
  uint8_t ph[4] = { 0, 17, 0, 0 };
  uint16_t c;
  mup_wr16 (ph + 2, (uint16_t) ulen);
  sum = mup_csum_add (sum, ph, 4);
  udp[6] = udp[7] = 0;
  sum = mup_csum_add (sum, udp, ulen);
  c = mup_csum_fold (sum);
  if (c == 0)
    c = 0xffff;
  memcpy (udp + 6, &c, 2);
}

/*
 * UDP source port for entropy (RFC 8086 style): 0xC000 | 14 bits of a
 * multiplicative hash of the inner flow.  Documented in docs/behaviors.md
 * so that independent code can predict it:
 *   IPv4 inner: k = src << 32 | dst, ports = first 4 octets of L4 for
 *               TCP (6) / UDP (17) / SCTP (132) when not a fragment, else 0
 *   IPv6 inner: k = xor of the four 64-bit halves of src and dst,
 *               ports as above when next header is TCP/UDP/SCTP
 *   k ^= ports << 16 ^ proto;  h = (k * 0x9E3779B97F4A7C15) >> 50
 */
/* 1 for TCP (6), UDP (17) and SCTP (132) */
static inline uint32_t
mup_l4_ports (uint8_t proto)
{
  return (proto == 6) | (proto == 17) | (proto == 132);
}

static inline uint16_t
mup_entropy_port (const uint8_t *inner, uint32_t len)
{
  uint64_t k;
  uint32_t ports = 0;
  uint8_t proto;
  if (len >= 20 && (inner[0] >> 4) == 4)
    {
      uint32_t ihl = (inner[0] & 15) * 4u;
      proto = inner[9];
      /* src << 32 | dst: octets 12..19 as one big-endian word */
      k = __builtin_bswap64 (mup_ld64 (inner + 12));
      if (mup_l4_ports (proto) && (mup_rd16 (inner + 6) & 0x3fff) == 0 &&
	  ihl >= 20 && len >= ihl + 4)
	ports = mup_rd32 (inner + ihl);
    }
  else if (len >= 40 && (inner[0] >> 4) == 6)
    {
      const uint8_t *a = inner + 8;
      proto = inner[6];
      /* byte swap commutes with xor: one swap of the xor of the raw words */
      k = __builtin_bswap64 (mup_ld64 (a) ^ mup_ld64 (a + 8) ^
			     mup_ld64 (a + 16) ^ mup_ld64 (a + 24));
      if (mup_l4_ports (proto) && len >= 44)
	ports = mup_rd32 (inner + 40);
    }
  else
    return MUP_GTPU_PORT;
  k ^= (uint64_t) ports << 16 ^ proto;
  return (uint16_t) (0xC000 | ((k * 0x9E3779B97F4A7C15ull) >> 50));
}

/*
 * mup_inner_ok (inner, len) == nh for nh 4 or 41, fused with
 * mup_entropy_port: returns the entropy source port (never 0), or 0 when
 * the inner packet is not a whole packet of that family.
 */
static MUP_ALWAYS_INLINE uint32_t
mup_inner_port (const uint8_t *in, uint32_t len, uint8_t nh)
{
  uint64_t k;
  uint32_t ports = 0;
  uint8_t proto;
  if (nh == 4)
    {
      uint64_t w;
      uint32_t ihl, tot;
      if (MUP_UNLIKELY (len < 20))
	return 0;
      w = mup_ld64 (in);
      ihl = ((uint32_t) w & 15) * 4;
      tot = __builtin_bswap16 ((uint16_t) (w >> 16));
      /* version 4, IHL >= 5, 20 <= total length <= len */
      if (MUP_UNLIKELY ((uint8_t) (w - 0x45) > 10 || tot - 20 > len - 20))
	return 0;
      proto = in[9];
      k = __builtin_bswap64 (mup_ld64 (in + 12)); /* src << 32 | dst */
      /* ports unless a fragment (MF or offset: octets 6-7 & 0x3fff) */
      if (((w >> 48) & 0xff3f) == 0 && len >= ihl + 4)
	ports = mup_rd32 (in + ihl) & -(uint32_t) mup_l4_ports (proto);
    }
  else
    {
      if (MUP_UNLIKELY (len < 40 || (in[0] >> 4) != 6 ||
			40u + mup_rd16 (in + 4) > len))
	return 0;
      proto = in[6];
      k = __builtin_bswap64 (mup_ld64 (in + 8) ^ mup_ld64 (in + 16) ^
			     mup_ld64 (in + 24) ^ mup_ld64 (in + 32));
      if (len >= 44)
	ports = mup_rd32 (in + 40) & -(uint32_t) mup_l4_ports (proto);
    }
  k ^= (uint64_t) ports << 16 ^ proto;
  return 0xC000 | (uint32_t) ((k * 0x9E3779B97F4A7C15ull) >> 50);
}

/* ---- IPv6 header and extension chain (RFC 8200, RFC 8754) ---- */

typedef struct
{
  uint16_t upper_off; /* offset of the upper-layer header */
  uint16_t srh_off;   /* offset of the SRH, 0 if none */
  uint16_t end;	      /* 40 + payload length (bytes past it are ignored) */
  uint8_t upper_nh;   /* next header value naming the upper layer */
  uint8_t sl;	      /* Segments Left (0 without SRH) */
  uint8_t last_entry;
  uint8_t has_srh;
} mup_ip6_info_t;

/* Parse the IPv6 header and walk HBH / Destination Options / SRH. */
static inline int
mup_ip6_parse (const uint8_t *b, uint32_t len, mup_ip6_info_t *o)
{
  uint32_t off = 40, end, n;
  uint8_t nh;
  if (MUP_UNLIKELY (len < 40))
    return MUP_E_TRUNC_IP6;
  if (MUP_UNLIKELY ((b[0] >> 4) != 6))
    return MUP_E_BAD_IP6;
  end = 40u + mup_rd16 (b + 4);
  if (MUP_UNLIKELY (end > len))
    return MUP_E_TRUNC_IP6;
  nh = b[6];
  o->srh_off = 0;
  o->has_srh = 0;
  o->sl = 0;
  o->last_entry = 0;
  for (n = 0; n < 8; n++)
    {
      if (nh == 43)
	{
	  uint32_t hl;
	  if (MUP_UNLIKELY (off + 8 > end))
	    return MUP_E_TRUNC_SRH;
	  hl = (b[off + 1] + 1u) * 8;
	  if (MUP_UNLIKELY (off + hl > end))
	    return MUP_E_TRUNC_SRH;
	  /* RFC 8754 section 2: routing type 4; one SRH only */
	  if (MUP_UNLIKELY (b[off + 2] != 4 || o->has_srh))
	    return MUP_E_BAD_SRH;
	  if (MUP_UNLIKELY (8 + 16u * (b[off + 4] + 1u) > hl ||
			    b[off + 3] > b[off + 4]))
	    return MUP_E_BAD_SRH;
	  o->has_srh = 1;
	  o->srh_off = (uint16_t) off;
	  o->sl = b[off + 3];
	  o->last_entry = b[off + 4];
	  nh = b[off];
	  off += hl;
	}
      else if (nh == 0 || nh == 60)
	{
	  uint32_t hl;
	  if (MUP_UNLIKELY (nh == 0 && off != 40))
	    return MUP_E_BAD_EXT_CHAIN; /* HBH must come first */
	  if (MUP_UNLIKELY (off + 8 > end))
	    return MUP_E_BAD_EXT_CHAIN;
	  hl = (b[off + 1] + 1u) * 8;
	  if (MUP_UNLIKELY (off + hl > end))
	    return MUP_E_BAD_EXT_CHAIN;
	  nh = b[off];
	  off += hl;
	}
      else
	{
	  o->upper_off = (uint16_t) off;
	  o->upper_nh = nh;
	  o->end = (uint16_t) end;
	  return MUP_E_NONE;
	}
    }
  return MUP_E_BAD_EXT_CHAIN;
}

/* ---- GTP-U (3GPP TS 29.281 section 5, TS 38.415 section 5.5.2) ----
 *
 *    0                   1                   2                   3
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |Ver=1|P|R|E|S|N| Message Type  |            Length             |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                             TEID                              |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |     Sequence Number (opt)     |  N-PDU (opt)  | Next Ext (opt)|
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   extension: | len (4-octet units) | content ... | next ext type |
 *   PDU Session Container (0x85): | PDU type (4) | ... | PPP|RQI|QFI(6) |
 */
typedef struct
{
  uint32_t teid;
  uint16_t hdr_len; /* mandatory + optional + extensions */
  uint16_t pdu_len; /* T-PDU (or information elements) after hdr_len */
  uint16_t seq;
  uint8_t type;
  uint8_t qfi;
  uint8_t rqi;
  uint8_t has_psc;
  uint8_t psc_pdu_type;
  uint8_t tag; /* draft-murakami SRH tag for this message */
} mup_gtpu_t;

static inline int
mup_gtpu_parse (const uint8_t *g, uint32_t avail, mup_gtpu_t *o)
{
  uint32_t end, off;
  uint8_t next;
  if (MUP_UNLIKELY (avail < 8))
    return MUP_E_TRUNC_GTPU;
  if (MUP_UNLIKELY ((g[0] & 0xf0) != 0x30)) /* version 1, PT 1 */
    return MUP_E_BAD_GTPU_VERSION;
  end = 8u + mup_rd16 (g + 2);
  if (MUP_UNLIKELY (end > avail))
    return MUP_E_BAD_GTPU_LEN;
  o->type = g[1];
  o->teid = mup_rd32 (g + 4);
  o->has_psc = 0;
  o->qfi = 0;
  o->rqi = 0;
  o->psc_pdu_type = 0;
  o->seq = 0;
  off = 8;
  if (MUP_LIKELY (g[0] == 0x34 && end >= 16 && g[11] == 0x85 && g[12] == 1 &&
		  g[15] == 0))
    {
      /* fast path: one 4-octet PDU Session Container, nothing after it */
      o->seq = mup_rd16 (g + 8);
      o->has_psc = 1;
      o->psc_pdu_type = g[13] >> 4;
      o->qfi = g[14] & 0x3f;
      o->rqi = o->psc_pdu_type == 0 ? (g[14] >> 6) & 1 : 0;
      off = 16;
    }
  else if (g[0] & 0x07) /* any of E, S, PN: the 4 optional octets follow */
    {
      if (MUP_UNLIKELY (end < 12))
	return MUP_E_TRUNC_GTPU;
      o->seq = mup_rd16 (g + 8);
      off = 12;
      next = (g[0] & 0x04) ? g[11] : 0;
      while (next)
	{
	  uint32_t elen;
	  if (MUP_UNLIKELY (off + 4 > end))
	    return MUP_E_BAD_GTPU_EXT;
	  elen = g[off] * 4u;
	  if (MUP_UNLIKELY (elen == 0 || off + elen > end))
	    return MUP_E_BAD_GTPU_EXT;
	  if (next == 0x85)
	    {
	      /* PDU Session Container: PDU type high nibble of octet 1,
		 QFI low 6 bits of octet 2, RQI bit 6 (DL only) */
	      o->has_psc = 1;
	      o->psc_pdu_type = g[off + 1] >> 4;
	      o->qfi = g[off + 2] & 0x3f;
	      o->rqi = o->psc_pdu_type == 0 ? (g[off + 2] >> 6) & 1 : 0;
	    }
	  else if (next & 0x80)
	    return MUP_E_UNKNOWN_GTPU_EXT; /* comprehension required */
	  next = g[off + elen - 1];
	  off += elen;
	}
    }
  o->hdr_len = (uint16_t) off;
  o->pdu_len = (uint16_t) (end - off);
  switch (o->type)
    {
    case MUP_GTPU_GPDU:
      o->tag = MUP_TAG_DATA;
      break;
    case MUP_GTPU_END_MARKER:
      o->tag = MUP_TAG_END_MARKER;
      break;
    case MUP_GTPU_ECHO_REQUEST:
      o->tag = MUP_TAG_ECHO_REQUEST;
      break;
    case MUP_GTPU_ECHO_REPLY:
      o->tag = MUP_TAG_ECHO_REPLY;
      break;
    case MUP_GTPU_ERROR_IND:
      o->tag = MUP_TAG_ERROR_IND;
      break;
    default:
      return MUP_E_BAD_GTPU_TYPE;
    }
  return MUP_E_NONE;
}

/*
 * The two common G-PDU layouts, checked with two wide loads: flags 0x30
 * (nothing optional) or 0x34 with exactly one 4-octet PDU Session
 * Container and no extension after it.  Returns 0 for anything else (the
 * caller then runs mup_gtpu_parse, which names the drop reason); when it
 * returns 1, mup_gtpu_parse would have accepted the header with the same
 * hdr_len, pdu_len, TEID, QFI, RQI (in qr) and PDU type, tag
 * MUP_TAG_DATA.
 */
typedef struct
{
  uint32_t teid_raw; /* TEID as on the wire */
  uint32_t hdr_len;  /* 8 or 16 */
  uint32_t pdu_len;
  uint8_t qr; /* Args.Mob.Session octet without U: QFI << 2 | RQI << 1 */
  uint8_t pdu_type;
} mup_gtpu_fast_t;

static MUP_ALWAYS_INLINE int
mup_gtpu_fast (const uint8_t *g, uint32_t avail, mup_gtpu_fast_t *o)
{
  uint64_t w;
  uint32_t end;
  if (MUP_UNLIKELY (avail < 8))
    return 0;
  w = mup_ld64 (g);
  end = 8u + __builtin_bswap16 ((uint16_t) (w >> 16));
  if (MUP_UNLIKELY (end > avail))
    return 0;
  o->teid_raw = (uint32_t) (w >> 32);
  if ((uint16_t) w == 0xff30) /* flags 0x30, type 255 */
    {
      o->hdr_len = 8;
      o->qr = o->pdu_type = 0;
    }
  else
    {
      uint64_t x;
      uint8_t pt, q;
      if (MUP_UNLIKELY ((uint16_t) w != 0xff34 || end < 16))
	return 0;
      x = mup_ld64 (g + 8);
      /* next extension 0x85, length 1, no extension after it */
      if (MUP_UNLIKELY ((x & 0xff0000ffff000000ull) != 0x0000000185000000ull))
	return 0;
      pt = (uint8_t) (x >> 44) & 15;
      q = (uint8_t) (x >> 48);
      o->hdr_len = 16;
      o->pdu_type = pt;
      /* QFI: low 6 bits; RQI: bit 6, DL PDU type 0 only */
      o->qr = (uint8_t) ((q & 0x3f) << 2 | (pt == 0 ? (q >> 5) & 2 : 0));
    }
  o->pdu_len = end - o->hdr_len;
  return 1;
}

/*
 * TEID field of the arguments for a GTP-U message (draft-murakami):
 * user data and End Marker carry the TEID; Echo and Error Indication carry
 * the 16-bit sequence number in the TEID's first two octets.
 */
static inline uint32_t
mup_gtpu_args_teid (const mup_gtpu_t *g)
{
  if (g->tag == MUP_TAG_ECHO_REQUEST || g->tag == MUP_TAG_ECHO_REPLY ||
      g->tag == MUP_TAG_ERROR_IND)
    return (uint32_t) g->seq << 16;
  return g->teid;
}

/*
 * The inner packet of len octets must be a whole IPv4 or IPv6 packet: its
 * own length field may not run past what carries it (padding after it is
 * allowed).  Returns its next header value (4 or 41) or 0.
 */
static inline uint8_t
mup_inner_ok (const uint8_t *inner, uint32_t len)
{
  if (MUP_UNLIKELY (len < 20))
    return 0;
  if ((inner[0] >> 4) == 4)
    {
      uint32_t tot = mup_rd16 (inner + 2);
      return (inner[0] & 15) >= 5 && tot >= 20 && tot <= len ? 4 : 0;
    }
  if ((inner[0] >> 4) == 6)
    return len >= 40 && 40u + mup_rd16 (inner + 4) <= len ? 41 : 0;
  return 0;
}

/* Inner next header for an SRv6 encapsulation of a GTP-U payload. */
static inline int
mup_inner_nh (uint8_t cfg_nh, const mup_gtpu_t *g, const uint8_t *inner,
	      uint8_t *nh)
{
  uint8_t v;
  if (g->tag != MUP_TAG_DATA)
    {
      *nh = 59; /* No Next Header: control message, IEs follow verbatim */
      return MUP_E_NONE;
    }
  v = mup_inner_ok (inner, g->pdu_len);
  if (MUP_UNLIKELY (!v))
    return MUP_E_BAD_INNER;
  if (MUP_UNLIKELY (cfg_nh != MUP_NH_DETECT && cfg_nh != v))
    return MUP_E_INNER_AF;
  *nh = v;
  return MUP_E_NONE;
}

/*
 * Build a GTP-U header (and PSC when with_psc) into h; returns its length
 * (8, 12 or 16).  payload is the T-PDU / IE length that follows.
 */
static inline uint32_t
mup_gtpu_build (uint8_t *h, uint8_t type, uint32_t teid, uint16_t seq,
		int with_seq, int with_psc, uint8_t pdu_type, uint8_t qfi,
		uint8_t rqi, uint32_t payload)
{
  uint32_t hl = 8;
  h[0] = 0x30;
  h[1] = type;
  mup_wr32 (h + 4, teid);
  if (with_seq || with_psc)
    {
      h[0] |= (with_psc ? 0x04 : 0) | (with_seq ? 0x02 : 0);
      mup_wr16 (h + 8, with_seq ? seq : 0);
      h[10] = 0;
      h[11] = with_psc ? 0x85 : 0;
      hl = 12;
      if (with_psc)
	{
	  h[12] = 1; /* 4 octets */
	  h[13] = (uint8_t) (pdu_type << 4);
	  h[14] =
	    (uint8_t) ((pdu_type == 0 ? (rqi & 1) << 6 : 0) | (qfi & 0x3f));
	  h[15] = 0; /* no next extension */
	  hl = 16;
	}
    }
  mup_wr16 (h + 2, (uint16_t) (hl - 8 + payload));
  return hl;
}

/* Big-endian-domain sum of the header mup_gtpu_build writes (for the UDP
   checksum without reading the header back). */
static inline uint64_t
mup_gtpu_sum (uint8_t type, uint32_t teid, uint16_t seq, int with_seq,
	      int with_psc, uint8_t pdu_type, uint8_t qfi, uint8_t rqi,
	      uint32_t payload)
{
  uint32_t flags = 0x30, hl = 8;
  uint64_t sum;
  if (with_seq || with_psc)
    {
      flags |= (with_psc ? 0x04 : 0) | (with_seq ? 0x02 : 0);
      hl = with_psc ? 16 : 12;
    }
  sum =
    (flags << 8 | type) + (hl - 8 + payload) + (teid >> 16) + (teid & 0xffff);
  if (hl >= 12)
    sum += (with_seq ? seq : 0) + (with_psc ? 0x85 : 0);
  if (with_psc)
    sum +=
      (0x0100u | (uint32_t) pdu_type << 4) +
      ((uint32_t) ((pdu_type == 0 ? (rqi & 1) << 6 : 0) | (qfi & 0x3f)) << 8);
  return sum;
}

#endif /* MUP_CORE_PACKET_H */
