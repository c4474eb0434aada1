/*
 * srv6_mup.h - SRv6 Mobile User Plane (RFC 9433) VPP plugin.
 *
 * VPP glue only: the per-packet logic lives in core/ (portable C, no VPP
 * headers).  This plugin registers the localsid behaviours with VPP's SR
 * framework, installs the headends (matched on an IPv4/IPv6 prefix) as FIB
 * entries pointing at its own DPO, keeps the Type 1 session table, and
 * exposes CLI, binary API and counters.
 */
#ifndef SRV6_MUP_SRV6_MUP_H
#define SRV6_MUP_SRV6_MUP_H

#include <vnet/vnet.h>
#include <vnet/ip/ip.h>
#include <vnet/fib/fib_table.h>
#include <vnet/fib/fib_source.h>
#include <vnet/dpo/dpo.h>
#include <vnet/srv6/sr.h>
#include <vlib/counter.h>
#include <vlib/log.h>

#include <srv6_mup/core/mup.h>

/*
 * Graph nodes, one per behaviour family:
 *   _(ENUM, node name, is_localsid (DPO index = SR localsid index), input af)
 * Headend families (is_localsid 0) are reached through this plugin's own
 * FIB entries; their DPO index is the srv6_mup SID index.
 */
#define foreach_srv6_mup_node                                                 \
  _ (H_M_GTP4_D, "srv6-mup-h-m-gtp4-d", 0)                                    \
  _ (GTP4_DT, "srv6-mup-gtp4-dt", 0)                                          \
  _ (H_ENCAPS, "srv6-mup-h-encaps", 0)                                        \
  _ (END_M_GTP4_E, "srv6-mup-end-m-gtp4-e", 1)                                \
  _ (END_M_GTP6_E, "srv6-mup-end-m-gtp6-e", 1)                                \
  _ (END_M_GTP6_D, "srv6-mup-end-m-gtp6-d", 1)                                \
  _ (GTP6_DT, "srv6-mup-gtp6-dt", 1)                                          \
  _ (END, "srv6-mup-end", 1)

typedef enum
{
#define _(e, name, ls) SRV6_MUP_NODE_##e,
  foreach_srv6_mup_node
#undef _
    SRV6_MUP_N_NODES,
} srv6_mup_node_family_t;

/* Next nodes of every srv6-mup node, in mup_next_t order. */
#define foreach_srv6_mup_next                                                 \
  _ (DROP, "error-drop")                                                      \
  _ (IP4_LOOKUP, "ip4-lookup")                                                \
  _ (IP6_LOOKUP, "ip6-lookup")

typedef enum
{
#define _(e, n) SRV6_MUP_NEXT_##e,
  foreach_srv6_mup_next
#undef _
    SRV6_MUP_N_NEXT,
} srv6_mup_next_t;

STATIC_ASSERT ((int) SRV6_MUP_NEXT_DROP == (int) MUP_NEXT_DROP &&
		 (int) SRV6_MUP_NEXT_IP4_LOOKUP == (int) MUP_NEXT_IP4 &&
		 (int) SRV6_MUP_NEXT_IP6_LOOKUP == (int) MUP_NEXT_IP6,
	       "graph next indices follow mup_next_t");

/* Options in srv6_mup_args_t.flags: the core's MUP_F_* bits. */

/*
 * One set of arguments shared by the CLI and the binary API.  The front ends
 * only decode into this struct; srv6_mup_sid_add_del() validates it (through
 * the core's mup_sid_init) and applies it.
 */
typedef struct
{
  u8 is_add;
  u8 behavior;	  /* mup_behavior_t */
  u8 is_localsid; /* 1: SR localsid; 0: headend matched on a prefix */
  u8 flags;	  /* MUP_F_* */

  /* localsid: the SID prefix; headend: the matched IPv4/IPv6 prefix */
  ip46_address_t prefix;
  u8 prefix_len;
  u8 prefix_is_ip6;
  u32 table_id;	    /* table the SID / match prefix is installed in */
  u32 out_table_id; /* table the result is looked up in */

  ip6_address_t source;	     /* encap source, IPv6 SA prefix or fixed SA */
  u8 source_len;	     /* GTP4: bits of the IPv6 SA before the IPv4 SA */
  ip4_address_t ipv4_source; /* End.M.GTP4.E fixed IPv4 SA */

  u8 n_segments;
  ip6_address_t segments[MUP_MAX_SEGS]; /* policy, first segment first */
  u8 args_prefix_len;			/* args position in the last SID */
  ip6_address_t vpp_args_prefix;	/* VPP reading: extra args segment */

  u8 nh;       /* MUP_NH_DETECT / _IP4 / _IP6 */
  u8 pdu_type; /* 0 DL, 1 UL */

  u8 limit_group_bits;
  u8 limit_rate_bits;
  u32 limit_burst;
  u64 limit_unit_pps;
} srv6_mup_args_t;

/* A configured SID or headend. */
typedef struct
{
  mup_sid_t *core; /* cache-line aligned, read by the nodes */
  srv6_mup_args_t args;
  u32 sr_ls_index; /* SR localsid index, ~0 for a headend */
  u32 fib4_index;  /* output lookup tables */
  u32 fib6_index;
  u32 match_fib_index;	      /* headend: where the match prefix lives */
  mup_map_slot_t *map_slots;  /* End.MAP table memory */
  mup_map_slot_t *t2st_slots; /* H.M.GTP4.D Type 2 table memory */
} srv6_mup_sid_t;

typedef struct
{
  srv6_mup_sid_t *sids; /* pool */

  /* SR localsid function number per behaviour (0: not a localsid) */
  u32 sr_fn[MUP_B_N];
  dpo_type_t dpo_type[SRV6_MUP_N_NODES];
  u32 node_index[SRV6_MUP_N_NODES];
  fib_source_t fib_src;

  /* args decoded by the SR CLI, not yet claimed by a localsid creation */
  srv6_mup_args_t *pending;
  u8 *last_error; /* reason of the last failed add, for the CLI */

  /* Type 1 Session Transformed table, shared by every H.M.T1ST SID:
     key = UE IPv4 address (4 octets) or UE IPv6 /64 (8 octets). */
  mup_sess_table_t t1st;
  u32 t1st_size;
  u64 end_markers_sent;	    /* on a Type 1 gNB/TEID change */
  u64 end_markers_not_sent; /* no SRH to carry the tag, no buffer, ... */

  /* per-SID counters: forwarded (packets, bytes), drops by reason at
     index sid * MUP_E_N + error */
  vlib_combined_counter_main_t fwd_counters;
  vlib_simple_counter_main_t drop_counters;

  u16 msg_id_base;
  vlib_log_class_t log_class;
} srv6_mup_main_t;

extern srv6_mup_main_t srv6_mup_main;

/* Errors returned by the add/del functions (API retval). */
#define foreach_srv6_mup_rv                                                   \
  _ (INVALID_ARGS, VNET_API_ERROR_INVALID_VALUE)                              \
  _ (EXISTS, VNET_API_ERROR_VALUE_EXIST)                                      \
  _ (NOT_FOUND, VNET_API_ERROR_NO_SUCH_ENTRY)                                 \
  _ (NO_TABLE, VNET_API_ERROR_NO_SUCH_FIB)                                    \
  _ (TABLE_FULL, VNET_API_ERROR_TABLE_TOO_BIG)

int srv6_mup_sid_add_del (srv6_mup_args_t *a, u32 *sid_index);
int srv6_mup_session_add_del (int is_add, const ip46_address_t *ue,
			      u8 ue_is_ip6, const mup_t1st_t *v,
			      int *replaced);
int srv6_mup_map_add_del (u32 sid_index, int is_add, const ip6_address_t *from,
			  const ip6_address_t *to);
int srv6_mup_type2_add_del (u32 sid_index, int is_add, const ip4_address_t *n3,
			    u32 teid, const ip6_address_t *segment);
void srv6_mup_type2_key_decode (const u8 key[16], ip4_address_t *n3,
				u32 *teid);
const char *srv6_mup_behavior_key (unsigned b);
int srv6_mup_behavior_is_localsid (unsigned b);
srv6_mup_node_family_t srv6_mup_behavior_family (unsigned b);
u32 srv6_mup_sid_index_from_sr (u32 ls_index);

format_function_t format_srv6_mup_sid;
format_function_t format_srv6_mup_args_mode;
unformat_function_t unformat_srv6_mup_behavior;
uword srv6_mup_unformat_args (unformat_input_t *input, srv6_mup_args_t *a);

clib_error_t *srv6_mup_api_hookup (vlib_main_t *vm);

#endif /* SRV6_MUP_SRV6_MUP_H */
