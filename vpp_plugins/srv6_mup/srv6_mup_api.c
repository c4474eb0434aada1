/*
 * srv6_mup_api.c - binary API handlers only: decode into srv6_mup_args_t,
 * call srv6_mup.c, reply.  Every handler replies on every path.
 */
#include <srv6_mup/srv6_mup.h>
#include <vlibapi/api.h>
#include <vlibmemory/api.h>
#include <vnet/ip/ip_types_api.h>

#include <srv6_mup/srv6_mup.api_enum.h>
#include <srv6_mup/srv6_mup.api_types.h>

#define REPLY_MSG_ID_BASE srv6_mup_main.msg_id_base
#include <vlibapi/api_helper_macros.h>

/* The API's identifiers are the core's (append-only, never renumbered). */
#define _(e, n, name, key, code)                                              \
  STATIC_ASSERT ((int) SRV6_MUP_API_BEHAVIOR_##e == (int) MUP_B_##e,          \
		 "behavior " #e " differs between .api and core");
foreach_mup_behavior
#undef _
#define _(e, n, name, desc)                                                   \
  STATIC_ASSERT ((int) SRV6_MUP_API_ERROR_##e == (int) MUP_E_##e,             \
		 "error " #e " differs between .api and core");
  foreach_mup_error
#undef _
    STATIC_ASSERT (SRV6_MUP_API_F_VPP_ARGS == MUP_F_VPP_ARGS &&
		     SRV6_MUP_API_F_U_PDU_TYPE == MUP_F_U_PDU_TYPE &&
		     SRV6_MUP_API_F_UDP4_CSUM == MUP_F_UDP4_CSUM &&
		     SRV6_MUP_API_F_ALWAYS_SRH == MUP_F_ALWAYS_SRH &&
		     SRV6_MUP_API_F_FIXED_SRC4 == MUP_F_FIXED_SRC4 &&
		     SRV6_MUP_API_F_FIXED_SRC6 == MUP_F_FIXED_SRC6 &&
		     SRV6_MUP_API_F_NO_PSC == MUP_F_NO_PSC,
		   "flags differ between .api and core");
STATIC_ASSERT (MUP_E_N <= 32, "srv6_mup_counters_details.drops[32]");
STATIC_ASSERT (MUP_MAX_SEGS == 6, "srv6_mup_params.segments[6]");

static void
params_decode (const vl_api_srv6_mup_params_t *p, srv6_mup_args_t *a)
{
  int i;
  a->behavior = p->behavior;
  a->flags = p->flags;
  a->out_table_id = p->out_table_id;
  ip6_address_decode (p->source, &a->source);
  a->source_len = p->source_len;
  ip4_address_decode (p->ipv4_source, &a->ipv4_source);
  a->n_segments = clib_min (p->n_segments, MUP_MAX_SEGS + 1);
  for (i = 0; i < clib_min (a->n_segments, MUP_MAX_SEGS); i++)
    ip6_address_decode (p->segments[i], &a->segments[i]);
  a->args_prefix_len = p->args_prefix_len;
  ip6_address_decode (p->vpp_args_prefix, &a->vpp_args_prefix);
  a->nh = p->nh;
  a->pdu_type = p->pdu_type;
  a->limit_group_bits = p->limit_group_bits;
  a->limit_rate_bits = p->limit_rate_bits;
  a->limit_burst = p->limit_burst;
  a->limit_unit_pps = p->limit_unit_pps;
}

static void
params_encode (const srv6_mup_args_t *a, vl_api_srv6_mup_params_t *p)
{
  int i;
  clib_memset (p, 0, sizeof (*p));
  p->behavior = a->behavior;
  p->flags = a->flags;
  p->out_table_id = a->out_table_id;
  ip6_address_encode (&a->source, p->source);
  p->source_len = a->source_len;
  ip4_address_encode (&a->ipv4_source, p->ipv4_source);
  p->n_segments = a->n_segments;
  for (i = 0; i < a->n_segments; i++)
    ip6_address_encode (&a->segments[i], p->segments[i]);
  p->args_prefix_len = a->args_prefix_len;
  ip6_address_encode (&a->vpp_args_prefix, p->vpp_args_prefix);
  p->nh = a->nh;
  p->pdu_type = a->pdu_type;
  p->limit_group_bits = a->limit_group_bits;
  p->limit_rate_bits = a->limit_rate_bits;
  p->limit_burst = a->limit_burst;
  p->limit_unit_pps = a->limit_unit_pps;
}

static void
vl_api_srv6_mup_localsid_add_del_t_handler (
  vl_api_srv6_mup_localsid_add_del_t *mp)
{
  vl_api_srv6_mup_localsid_add_del_reply_t *rmp;
  srv6_mup_args_t a;
  u32 index = ~0;
  int rv;

  clib_memset (&a, 0, sizeof (a));
  a.is_add = mp->is_add;
  a.is_localsid = 1;
  a.prefix_is_ip6 = 1;
  ip6_address_decode (mp->sid.address, &a.prefix.ip6);
  a.prefix_len = mp->sid.len;
  a.table_id = mp->table_id;
  params_decode (&mp->params, &a);
  rv = srv6_mup_sid_add_del (&a, &index);
  REPLY_MACRO2_END (VL_API_SRV6_MUP_LOCALSID_ADD_DEL_REPLY,
		    ({ rmp->sid_index = index; }));
}

static void
vl_api_srv6_mup_policy_add_del_t_handler (vl_api_srv6_mup_policy_add_del_t *mp)
{
  vl_api_srv6_mup_policy_add_del_reply_t *rmp;
  srv6_mup_args_t a;
  fib_prefix_t pfx;
  u32 index = ~0;
  int rv;

  clib_memset (&a, 0, sizeof (a));
  a.is_add = mp->is_add;
  a.is_localsid = 0;
  ip_prefix_decode (&mp->match, &pfx);
  rv = pfx.fp_len > (pfx.fp_proto == FIB_PROTOCOL_IP6 ? 128 : 32) ?
	 VNET_API_ERROR_INVALID_VALUE :
	 0;
  if (rv == 0)
    {
      a.prefix_is_ip6 = pfx.fp_proto == FIB_PROTOCOL_IP6;
      a.prefix = pfx.fp_addr;
      a.prefix_len = pfx.fp_len;
      a.table_id = mp->table_id;
      params_decode (&mp->params, &a);
      rv = srv6_mup_sid_add_del (&a, &index);
    }
  REPLY_MACRO2_END (VL_API_SRV6_MUP_POLICY_ADD_DEL_REPLY,
		    ({ rmp->sid_index = index; }));
}

static void
send_sid_details (srv6_mup_sid_t *sid, u32 index, int is_localsid,
		  vl_api_registration_t *rp, u32 context)
{
  fib_prefix_t pfx;
  clib_memset (&pfx, 0, sizeof (pfx));
  pfx.fp_proto = sid->args.prefix_is_ip6 ? FIB_PROTOCOL_IP6 : FIB_PROTOCOL_IP4;
  pfx.fp_addr = sid->args.prefix;
  pfx.fp_len = sid->args.prefix_len;
  if (is_localsid)
    {
      vl_api_srv6_mup_localsid_details_t *rmp;
      REPLY_MACRO_DETAILS4_END (VL_API_SRV6_MUP_LOCALSID_DETAILS, rp, context,
				({
				  rmp->sid_index = index;
				  ip_prefix_encode (&pfx, &rmp->prefix);
				  rmp->table_id = sid->args.table_id;
				  params_encode (&sid->args, &rmp->params);
				}));
    }
  else
    {
      vl_api_srv6_mup_policy_details_t *rmp;
      REPLY_MACRO_DETAILS4_END (VL_API_SRV6_MUP_POLICY_DETAILS, rp, context, ({
				  rmp->sid_index = index;
				  ip_prefix_encode (&pfx, &rmp->prefix);
				  rmp->table_id = sid->args.table_id;
				  params_encode (&sid->args, &rmp->params);
				}));
    }
}

static void
sid_dump (u32 client_index, u32 context, int is_localsid)
{
  srv6_mup_main_t *mm = &srv6_mup_main;
  vl_api_registration_t *rp =
    vl_api_client_index_to_registration (client_index);
  srv6_mup_sid_t *sid;
  if (!rp)
    return;
  pool_foreach (sid, mm->sids)
    {
      if ((sid->sr_ls_index != ~0) == is_localsid)
	send_sid_details (sid, sid - mm->sids, is_localsid, rp, context);
    }
}

static void
vl_api_srv6_mup_localsid_dump_t_handler (vl_api_srv6_mup_localsid_dump_t *mp)
{
  sid_dump (mp->client_index, mp->context, 1);
}

static void
vl_api_srv6_mup_policy_dump_t_handler (vl_api_srv6_mup_policy_dump_t *mp)
{
  sid_dump (mp->client_index, mp->context, 0);
}

static void
vl_api_srv6_mup_session_add_del_t_handler (
  vl_api_srv6_mup_session_add_del_t *mp)
{
  vl_api_srv6_mup_session_add_del_reply_t *rmp;
  fib_prefix_t pfx;
  mup_t1st_t v;
  int replaced = 0, rv;

  clib_memset (&v, 0, sizeof (v));
  ip_prefix_decode (&mp->ue, &pfx);
  rv = 0;
  if (pfx.fp_len != (pfx.fp_proto == FIB_PROTOCOL_IP6 ? 64 : 32))
    rv = VNET_API_ERROR_INVALID_VALUE; /* UE: IPv4 /32 or IPv6 /64 */
  if (rv == 0)
    {
      ip4_address_decode (mp->gnb, (ip4_address_t *) v.gnb);
      v.teid = mp->teid;
      v.qfi = mp->qfi;
      v.rqi = mp->rqi;
      rv = srv6_mup_session_add_del (mp->is_add, &pfx.fp_addr,
				     pfx.fp_proto == FIB_PROTOCOL_IP6, &v,
				     &replaced);
    }
  REPLY_MACRO2_END (VL_API_SRV6_MUP_SESSION_ADD_DEL_REPLY,
		    ({ rmp->replaced = replaced; }));
}

static void
vl_api_srv6_mup_session_dump_t_handler (vl_api_srv6_mup_session_dump_t *mp)
{
  srv6_mup_main_t *mm = &srv6_mup_main;
  mup_sess_table_t *t = &mm->t1st;
  vl_api_registration_t *rp;
  vl_api_srv6_mup_session_details_t *rmp;
  u32 i, context = mp->context;

  rp = vl_api_client_index_to_registration (mp->client_index);
  if (!rp)
    return;
  for (i = 0; t->slots && i <= t->mask; i++)
    {
      mup_sess_slot_t *sl = &t->slots[i];
      const mup_t1st_t *v;
      fib_prefix_t pfx;
      if (sl->used != 1)
	continue;
      v = &sl->val[sl->sel & 1];
      clib_memset (&pfx, 0, sizeof (pfx));
      if (((u32 *) sl->key)[1] == 0)
	{
	  pfx.fp_proto = FIB_PROTOCOL_IP4;
	  pfx.fp_len = 32;
	  clib_memcpy (pfx.fp_addr.ip4.as_u8, sl->key, 4);
	}
      else
	{
	  pfx.fp_proto = FIB_PROTOCOL_IP6;
	  pfx.fp_len = 64;
	  clib_memcpy (pfx.fp_addr.ip6.as_u8, sl->key, 8);
	}
      REPLY_MACRO_DETAILS4_END (
	VL_API_SRV6_MUP_SESSION_DETAILS, rp, context, ({
	  ip_prefix_encode (&pfx, &rmp->ue);
	  ip4_address_encode ((ip4_address_t *) v->gnb, rmp->gnb);
	  rmp->teid = v->teid;
	  rmp->qfi = v->qfi;
	  rmp->rqi = v->rqi;
	}));
    }
}

static void
vl_api_srv6_mup_map_add_del_t_handler (vl_api_srv6_mup_map_add_del_t *mp)
{
  vl_api_srv6_mup_map_add_del_reply_t *rmp;
  ip6_address_t from, to;
  int rv;
  ip6_address_decode (mp->match_sid, &from);
  ip6_address_decode (mp->mapped_sid, &to);
  rv = srv6_mup_map_add_del (mp->sid_index, mp->is_add, &from, &to);
  REPLY_MACRO_END (VL_API_SRV6_MUP_MAP_ADD_DEL_REPLY);
}

static void
vl_api_srv6_mup_type2_add_del_t_handler (vl_api_srv6_mup_type2_add_del_t *mp)
{
  vl_api_srv6_mup_type2_add_del_reply_t *rmp;
  ip4_address_t n3;
  ip6_address_t seg;
  int rv;
  ip4_address_decode (mp->n3, &n3);
  ip6_address_decode (mp->segment, &seg);
  rv = srv6_mup_type2_add_del (mp->sid_index, mp->is_add, &n3, mp->teid, &seg);
  REPLY_MACRO_END (VL_API_SRV6_MUP_TYPE2_ADD_DEL_REPLY);
}

static void
vl_api_srv6_mup_type2_dump_t_handler (vl_api_srv6_mup_type2_dump_t *mp)
{
  srv6_mup_main_t *mm = &srv6_mup_main;
  vl_api_registration_t *rp;
  vl_api_srv6_mup_type2_details_t *rmp;
  srv6_mup_sid_t *sid;
  u32 context = mp->context, i;

  rp = vl_api_client_index_to_registration (mp->client_index);
  if (!rp)
    return;
  pool_foreach (sid, mm->sids)
    {
      u32 si = sid - mm->sids;
      mup_map_table_t *t = sid->core ? sid->core->t2st : 0;
      if (!t || (mp->sid_index != ~0 && mp->sid_index != si))
	continue;
      for (i = 0; i <= t->mask; i++)
	{
	  mup_map_slot_t *sl = &t->slots[i];
	  ip4_address_t n3;
	  u32 teid;
	  if (sl->used != 1)
	    continue;
	  srv6_mup_type2_key_decode (sl->key, &n3, &teid);
	  REPLY_MACRO_DETAILS4_END (
	    VL_API_SRV6_MUP_TYPE2_DETAILS, rp, context, ({
	      rmp->sid_index = si;
	      ip4_address_encode (&n3, rmp->n3);
	      rmp->teid = teid;
	      ip6_address_encode ((ip6_address_t *) sl->val, rmp->segment);
	    }));
	}
    }
}

static void
vl_api_srv6_mup_counters_dump_t_handler (vl_api_srv6_mup_counters_dump_t *mp)
{
  srv6_mup_main_t *mm = &srv6_mup_main;
  vl_api_registration_t *rp;
  vl_api_srv6_mup_counters_details_t *rmp;
  srv6_mup_sid_t *sid;
  u32 context = mp->context;

  rp = vl_api_client_index_to_registration (mp->client_index);
  if (!rp)
    return;
  pool_foreach (sid, mm->sids)
    {
      u32 si = sid - mm->sids, e;
      vlib_counter_t c;
      if (mp->sid_index != ~0 && mp->sid_index != si)
	continue;
      vlib_get_combined_counter (&mm->fwd_counters, si, &c);
      REPLY_MACRO_DETAILS4_END (
	VL_API_SRV6_MUP_COUNTERS_DETAILS, rp, context, ({
	  rmp->sid_index = si;
	  rmp->behavior = sid->args.behavior;
	  rmp->forwarded_packets = c.packets;
	  rmp->forwarded_bytes = c.bytes;
	  rmp->n_errors = MUP_E_N;
	  clib_memset (rmp->drops, 0, sizeof (rmp->drops));
	  for (e = 1; e < MUP_E_N; e++)
	    rmp->drops[e] =
	      vlib_get_simple_counter (&mm->drop_counters, si * MUP_E_N + e);
	}));
    }
}

#include <vnet/format_fns.h>
#include <srv6_mup/srv6_mup.api.c>

clib_error_t *
srv6_mup_api_hookup (vlib_main_t *vm)
{
  api_main_t *am = vlibapi_get_main ();
  srv6_mup_main.msg_id_base = setup_message_id_table ();
  /* Session updates need no barrier: the core's two-copy selector makes a
     replace atomic for the workers (handover without holding traffic). */
  vl_api_set_msg_thread_safe (
    am, srv6_mup_main.msg_id_base + VL_API_SRV6_MUP_SESSION_ADD_DEL, 1);
  return 0;
}
