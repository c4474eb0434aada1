/*
 * mup.h - portable SRv6 Mobile User Plane core (RFC 9433).
 *
 * No VPP headers: this file is compiled into the VPP plugin and into the
 * embedded engine (cffi).  Everything a behaviour needs is parsed and
 * precomputed at configuration time into a mup_sid_t; the per-packet
 * functions in mup_behaviors.h only read it.
 *
 * A packet is (data, len, headroom): data points at the first byte of the
 * outer IP header, headroom bytes in front of it may be written
 * (encapsulation grows into it; VPP gives 128 bytes of pre-data).
 */
#ifndef MUP_CORE_MUP_H
#define MUP_CORE_MUP_H

#include <stddef.h>
#include <stdint.h>

#define MUP_PRE_DATA  128
#define MUP_MAX_SEGS  6 /* segments in a policy, args SID included */
#define MUP_GTPU_PORT 2152
#define MUP_ARGS_BITS 40 /* Args.Mob.Session, RFC 9433 section 6.1 */

/*
 * Behaviours.  Identifiers are explicit and append-only: the same numbers
 * are used by the .api file and by Python (mupvpp/model.py).
 *   _(ENUM, id, RFC/VPP name, yaml/cli name, IANA code point or 0)
 */
#define foreach_mup_behavior                                                  \
  _ (END, 1, "End", "end", 1)                                                 \
  _ (END_DT4, 2, "End.DT4", "end.dt4", 19)                                    \
  _ (END_DT6, 3, "End.DT6", "end.dt6", 18)                                    \
  _ (END_DT46, 4, "End.DT46", "end.dt46", 20)                                 \
  _ (H_ENCAPS, 5, "H.Encaps", "h.encaps", 0)                                  \
  _ (H_M_GTP4_D, 6, "H.M.GTP4.D", "h.m.gtp4.d", 0)                            \
  _ (END_M_GTP4_E, 7, "End.M.GTP4.E", "end.m.gtp4.e", 72)                     \
  _ (END_M_GTP6_D, 8, "End.M.GTP6.D", "end.m.gtp6.d", 69)                     \
  _ (END_M_GTP6_D_DI, 9, "End.M.GTP6.D.Di", "end.m.gtp6.d.di", 70)            \
  _ (END_M_GTP6_E, 10, "End.M.GTP6.E", "end.m.gtp6.e", 71)                    \
  _ (END_MAP, 11, "End.MAP", "end.map", 40)                                   \
  _ (END_LIMIT, 12, "End.Limit", "end.limit", 41)                             \
  _ (GTP4_DT4, 13, "H.M.GTP4.DT4", "gtp4.dt4", 0)                             \
  _ (GTP4_DT6, 14, "H.M.GTP4.DT6", "gtp4.dt6", 0)                             \
  _ (GTP4_DT46, 15, "H.M.GTP4.DT46", "gtp4.dt46", 0)                          \
  _ (GTP6_DT4, 16, "End.M.GTP6.DT4", "gtp6.dt4", 0)                           \
  _ (GTP6_DT6, 17, "End.M.GTP6.DT6", "gtp6.dt6", 0)                           \
  _ (GTP6_DT46, 18, "End.M.GTP6.DT46", "gtp6.dt46", 0)                        \
  _ (H_T1ST, 19, "H.M.T1ST", "h.t1st", 0)

typedef enum
{
#define _(e, n, name, key, code) MUP_B_##e = n,
  foreach_mup_behavior
#undef _
    MUP_B_N,
} mup_behavior_t;

/*
 * Drop reasons.  Explicit and append-only; the same list is the VPP node
 * error list and the Python counter names.
 *   _(ENUM, id, counter name, description)
 */
#define foreach_mup_error                                                     \
  _ (NONE, 0, "forwarded", "forwarded")                                       \
  _ (NO_SID, 1, "no_sid", "no SID or policy matches the destination")         \
  _ (TRUNC_IP4, 2, "ip4_truncated", "IPv4 header truncated")                  \
  _ (BAD_IP4, 3, "ip4_malformed", "IPv4 version, IHL or total length bad")    \
  _ (IP4_FRAGMENT, 4, "ip4_fragment", "IPv4 fragment (not reassembled)")      \
  _ (TRUNC_IP6, 5, "ip6_truncated", "IPv6 header truncated")                  \
  _ (BAD_IP6, 6, "ip6_malformed", "IPv6 version or payload length bad")       \
  _ (BAD_EXT_CHAIN, 7, "ip6_bad_ext_chain", "IPv6 extension chain bad")       \
  _ (NOT_GTPU, 8, "not_gtpu", "not UDP to port 2152")                         \
  _ (BAD_UDP_LEN, 9, "udp_bad_length", "UDP length inconsistent")             \
  _ (TRUNC_GTPU, 10, "gtpu_truncated", "GTP-U header truncated")              \
  _ (BAD_GTPU_VERSION, 11, "gtpu_bad_version", "GTP-U version/PT not 1/1")    \
  _ (BAD_GTPU_LEN, 12, "gtpu_bad_length", "GTP-U length exceeds UDP data")    \
  _ (BAD_GTPU_EXT, 13, "gtpu_bad_extension", "GTP-U extension zero/trunc")    \
  _ (UNKNOWN_GTPU_EXT, 14, "gtpu_unknown_ext",                                \
     "GTP-U comprehension-required extension unknown")                        \
  _ (BAD_GTPU_TYPE, 15, "gtpu_bad_msg_type",                                  \
     "GTP-U message type unsupported")                                        \
  _ (NO_SRH, 16, "srh_missing", "behaviour requires an SRH")                  \
  _ (TRUNC_SRH, 17, "srh_truncated", "SRH shorter than announced")            \
  _ (BAD_SRH, 18, "srh_malformed", "SRH type/last entry/length bad")          \
  _ (BAD_SL, 19, "srh_bad_segments_left",                                     \
     "Segments Left wrong for behaviour")                                     \
  _ (HOP_LIMIT, 20, "hop_limit_exceeded", "hop limit or TTL exhausted")       \
  _ (NO_HEADROOM, 21, "no_headroom", "not enough headroom to encapsulate")    \
  _ (BAD_INNER, 22, "bad_inner", "inner packet is neither IPv4 nor IPv6")     \
  _ (INNER_AF, 23, "inner_af_mismatch", "inner family not allowed here")      \
  _ (NO_MAPPING, 24, "map_miss", "End.MAP: no mapping for the SID")           \
  _ (RATE_LIMITED, 25, "rate_limited", "End.Limit: over the group rate")      \
  _ (NO_SESSION, 26, "session_miss", "no MUP session for the packet")         \
  _ (GTPU_CONTROL, 27, "gtpu_control_local",                                  \
     "GTP-U control message terminated here")                                 \
  _ (NOT_SRV6, 28, "not_srv6", "no SRH and no inner packet to decapsulate")   \
  _ (TOO_BIG, 29, "too_big", "result larger than the buffer")                 \
  _ (IP6_FRAGMENT, 30, "ip6_fragment", "IPv6 fragment (not reassembled)")

typedef enum
{
#define _(e, n, name, desc) MUP_E_##e = n,
  foreach_mup_error
#undef _
    MUP_E_N,
} mup_error_t;

/* Where a packet goes after a behaviour. */
typedef enum
{
  MUP_NEXT_DROP = 0,
  MUP_NEXT_IP4 = 1, /* IPv4 lookup in fib_index */
  MUP_NEXT_IP6 = 2, /* IPv6 lookup in fib_index */
  MUP_NEXT_N = 3,
} mup_next_t;

/* Flags in mup_sid_t.flags */
#define MUP_F_VPP_ARGS	 (1u << 0) /* VPP: Args in an extra segment */
#define MUP_F_U_PDU_TYPE (1u << 1) /* VPP: U bit carries PSC PDU type */
#define MUP_F_UDP4_CSUM	 (1u << 2) /* compute UDP checksum over IPv4 */
#define MUP_F_ALWAYS_SRH (1u << 3) /* push an SRH even for one segment */
#define MUP_F_FIXED_SRC4 (1u << 4) /* End.M.GTP4.E: fixed IPv4 SA */
#define MUP_F_FIXED_SRC6 (1u << 5) /* End.M.GTP6.E: fixed IPv6 SA */
#define MUP_F_NO_PSC	 (1u << 6) /* never add a PDU Session Container */

/*
 * Flags in mup_sid_t.fp, derived by mup_sid_init from the parameters so
 * that the per-packet fast paths test one byte instead of recomputing them.
 */
#define MUP_FP_ARGS_BYTES (1u << 0) /* args field starts on an octet */
#define MUP_FP_SRC_BYTES  (1u << 1) /* IPv4 SA in the IPv6 SA on an octet */
#define MUP_FP_ARGS_IN_DA (1u << 2) /* args SID is also the pushed DA */
#define MUP_FP_PLAIN                                                          \
  (1u << 3) /* RFC defaults: no flag of the                                   \
		 behaviour's fast path set, PDU type                          \
		 0, inner detect, octet-aligned                               \
		 fields (a specialised loop) */

/* Inner next header selection for the D behaviours. */
#define MUP_NH_DETECT 0
#define MUP_NH_IP4    4
#define MUP_NH_IP6    41

/* draft-murakami-dmm-user-plane-message-encoding: SRH Tag values */
#define MUP_TAG_DATA	     0x0000
#define MUP_TAG_END_MARKER   0x0001
#define MUP_TAG_ERROR_IND    0x0002
#define MUP_TAG_ECHO_REQUEST 0x0004
#define MUP_TAG_ECHO_REPLY   0x0008

/* GTP-U message types (TS 29.281 section 6.1) */
#define MUP_GTPU_ECHO_REQUEST 1
#define MUP_GTPU_ECHO_REPLY   2
#define MUP_GTPU_ERROR_IND    26
#define MUP_GTPU_END_MARKER   254
#define MUP_GTPU_GPDU	      255

typedef struct
{
  uint8_t *data;      /* first byte of the outer IP header */
  uint16_t len;	      /* bytes from data */
  uint16_t headroom;  /* writable bytes before data */
  uint16_t tailroom;  /* writable bytes after data+len */
  uint8_t next;	      /* mup_next_t */
  uint8_t error;      /* mup_error_t (MUP_E_NONE when forwarded) */
  uint32_t fib_index; /* table for the lookup next */
  uint32_t sid_index; /* which SID/policy handled it (dispatcher) */
} mup_pkt_t;

/* Type 1 Session Transformed: downlink, at the N6-side PE. */
typedef struct
{
  uint8_t gnb[16]; /* gNB endpoint: IPv4 in the first 4 octets, or IPv6 */
  uint32_t teid;   /* downlink TEID (host order), never 0 */
  uint8_t qfi;	   /* 0..63 */
  uint8_t is_ip6;  /* gNB address family */
  uint8_t rqi;	   /* reflective QoS indication */
  uint8_t pad;
} mup_t1st_t;

/*
 * Session table keyed by a 16-octet key (UE IPv4 address in the first 4
 * octets, or the UE IPv6 /64 prefix).  Open addressing, power-of-two size.
 * Each slot holds two copies of its value and a selector: the writer fills
 * the inactive copy and flips the selector (release), a reader loads the
 * selector (acquire) and reads that copy, so a packet sees the old or the
 * new session, never a mix or neither (atomic handover).
 */
typedef struct
{
  uint8_t key[16];
  uint32_t used;	 /* 0 free, 1 used, 2 deleted (tombstone) */
  volatile uint32_t sel; /* which copy is live */
  mup_t1st_t val[2];
} mup_sess_slot_t;

typedef struct
{
  mup_sess_slot_t *slots;
  uint32_t mask;   /* size - 1 */
  uint32_t count;  /* live entries */
  uint32_t tombs;  /* deleted slots */
  uint8_t key_len; /* 4 (IPv4 UE) or 8 (IPv6 /64 UE prefix) */
} mup_sess_table_t;

/* End.MAP table: exact match on the 128-bit active SID. */
typedef struct
{
  uint8_t key[16];
  uint8_t val[16];
  uint32_t used;
} mup_map_slot_t;

typedef struct
{
  mup_map_slot_t *slots;
  uint32_t mask;
  uint32_t count;
} mup_map_table_t;

/* End.Limit token bucket, one per group. */
typedef struct
{
  uint64_t tokens_milli; /* tokens scaled by 1000 */
  uint64_t last_ns;
  uint64_t rate_pps; /* packets per second */
  uint64_t burst_milli;
} mup_bucket_t;

typedef struct
{
  uint8_t behavior; /* mup_behavior_t */
  uint8_t flags;    /* MUP_F_* */
  uint8_t sid_len;  /* locator+function bits of the SID (args follow) */
  uint8_t src_len;  /* GTP4: bits of the IPv6 SA before the IPv4 SA */
  uint8_t dst_len;  /* D behaviours: bits of the args SID before the args */
  uint8_t nh;	    /* MUP_NH_* for the D behaviours */
  uint8_t pdu_type; /* PSC PDU type to send (0 DL, 1 UL) */
  uint8_t nsegs;    /* segments in the pushed SRH (0: no SRH) */
  uint8_t args_seg; /* index into SRH segment list (0 = last) for args */
  uint8_t limit_group_bits; /* End.Limit: bits of group id after sid_len */
  uint8_t limit_rate_bits;  /* End.Limit: bits of rate after group id */
  uint8_t fp;		    /* MUP_FP_*: layouts the fast paths may assume */
  uint16_t encap_len;	    /* bytes of the precomputed encapsulation */
  uint8_t args_shift;	    /* D/headends: 128 - dst_len - field width */
  uint8_t src_shift;	    /* 128 - src_len - 32: IPv4 SA in the IPv6 SA */
  uint8_t get_shift;	    /* E: 128 - sid_len - field width */
  uint8_t args_byte;	    /* MUP_FP_ARGS_BYTES: octet of the per-packet field
			       in the args SID (dst_len / 8, E: sid_len / 8) */
  uint8_t src_byte;	    /* MUP_FP_SRC_BYTES: octet of the IPv4 SA in the
			       IPv6 SA (src_len / 8) */
  uint8_t args_off;	    /* offset of the args SID in the pushed header */
  /* precomputed 128-bit values, host order {high, low}, the bits that
     are written per packet cleared: OR is all the fast path does */
  uint64_t args_tmpl[2]; /* the args SID */
  uint64_t src_tmpl[2];	 /* the IPv6 SA (H.M.GTP4.D) */
  uint32_t fib_index;	 /* output table */
  uint32_t src4;	 /* fixed IPv4 SA (network order) */
  uint8_t src6[16];	 /* encap source / IPv6 SA prefix / fixed IPv6 SA */
  uint8_t dst6[16];	 /* first segment (IPv6 DA of the encapsulation) */
  /* IPv6 header (+ SRH) template; payload length / nh / args patched. */
  uint8_t encap[40 + 8 + 16 * MUP_MAX_SEGS];
  mup_map_table_t *map;	  /* End.MAP */
  mup_sess_table_t *t1st; /* H.T1ST */
  mup_map_table_t *t2st;  /* H.M.GTP4.D: (N3 IPv4, TEID) -> segment */
  mup_bucket_t *buckets;  /* End.Limit, indexed by group id */
  uint32_t n_buckets;
  uint64_t limit_unit_pps; /* End.Limit: pps per unit of the rate field */
} mup_sid_t;

/* Counters per SID: packets by error (MUP_E_NONE = forwarded). */
typedef struct
{
  uint64_t pkts[MUP_E_N];
  uint64_t bytes_fwd;
} mup_counters_t;

/* ---- configuration (mup_config.c) ---- */

/* Parameters as the control plane gives them, host-friendly. */
typedef struct
{
  uint8_t behavior;
  uint8_t flags;
  uint8_t sid_len; /* prefix length of the SID (locator + function) */
  uint8_t src_len;
  uint8_t dst_len;
  uint8_t nh;
  uint8_t pdu_type;
  uint8_t nsegs; /* policy segments given in segs[] */
  uint32_t fib_index;
  uint8_t src6[16]; /* encap source, IPv6 SA prefix, or fixed IPv6 SA */
  uint8_t src4[4];
  uint8_t segs[MUP_MAX_SEGS][16]; /* policy, first segment first; the last
				     one receives the args (RFC reading) */
  uint8_t dst_prefix[16]; /* VPP reading: the extra args segment prefix */
  uint8_t limit_group_bits;
  uint8_t limit_rate_bits;
  uint64_t limit_unit_pps;
  uint32_t limit_burst;
} mup_sid_params_t;

/* Returns 0 or a negative mup_cfg_error_t; msg gets a short reason. */
int mup_sid_init (mup_sid_t *s, const mup_sid_params_t *p, const char **msg);

int mup_map_init (mup_map_table_t *t, mup_map_slot_t *slots, uint32_t size);
int mup_map_set (mup_map_table_t *t, const uint8_t key[16],
		 const uint8_t val[16]);
int mup_map_del (mup_map_table_t *t, const uint8_t key[16]);

int mup_sess_init (mup_sess_table_t *t, mup_sess_slot_t *slots, uint32_t size,
		   uint8_t key_len);
/* Insert or atomically replace; returns 0, 1 if replaced, <0 if full. */
int mup_sess_set (mup_sess_table_t *t, const uint8_t key[16],
		  const mup_t1st_t *v);
int mup_sess_del (mup_sess_table_t *t, const uint8_t key[16]);
/* Put every live session of the n slots at from into t (a rebuild without
   tombstones, or into a larger table); returns how many went in.  Control
   plane only: t must have no concurrent readers. */
uint32_t mup_sess_insert_live (mup_sess_table_t *t,
			       const mup_sess_slot_t *from, uint32_t n);
const mup_t1st_t *mup_sess_get (const mup_sess_table_t *t,
				const uint8_t key[16]);

/*
 * End Marker for a Type 1 session that moves to another gNB (3GPP TS 29.281
 * section 7.3.2): what an H.M.T1ST headend sends on the old path, after
 * the last packet of the old session.  SRv6 form (RFC 9433 section 6.6,
 * SRH tag End Marker, next header 59, no payload) with the old session's
 * gNB and Args.Mob.Session, so End.M.GTP4.E turns it into a GTP-U End
 * Marker (type 254, old TEID) toward the old gNB.  Written at buf; returns
 * its length, or -1 (msg: why) when s is not H.M.T1ST, its policy pushes
 * no SRH to carry the tag, or size is short.
 */
int mup_t1st_end_marker (const mup_sid_t *s, const mup_t1st_t *old,
			 uint8_t *buf, uint32_t size, const char **msg);

/* Args.Mob.Session helpers (RFC 9433 section 6.1), exported for tests. */
void mup_args_write (uint8_t addr[16], unsigned bit_off, uint8_t qfi,
		     uint8_t r, uint8_t u, uint32_t teid);
void mup_args_read (const uint8_t addr[16], unsigned bit_off, uint8_t *qfi,
		    uint8_t *r, uint8_t *u, uint32_t *teid);
void mup_bits_write (uint8_t addr[16], unsigned bit_off, unsigned nbits,
		     uint64_t value);
uint64_t mup_bits_read (const uint8_t addr[16], unsigned bit_off,
			unsigned nbits);

/* Run one behaviour over a vector of packets. */
void mup_run (const mup_sid_t *s, mup_pkt_t *pkts, uint32_t n,
	      uint64_t now_ns);

const char *mup_error_name (unsigned e);
const char *mup_behavior_name (unsigned b);

#endif /* MUP_CORE_MUP_H */
