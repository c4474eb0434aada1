/*
 * srv6_mup.c - plugin registration, SR framework registration, and the one
 * function that validates and applies a SID / headend (used by the CLI and
 * the binary API alike).
 *
 * How packets reach the nodes:
 *
 *   localsid (End.M.GTP4.E, End.M.GTP6.E/D/D.Di, GTP6.DT*, End, End.DT*,
 *   End.MAP, End.Limit): registered with VPP's SR framework as
 *   "mup.<behavior>" (sr_localsid_register_function).  The SR framework
 *   installs the SID prefix in the IPv6 FIB with our DPO whose index is the
 *   SR localsid index; ls->plugin_mem holds the srv6_mup SID index.
 *
 *   headend (H.M.GTP4.D, GTP4.DT*, H.Encaps, H.M.T1ST): matched on the
 *   packet's IPv4/IPv6 destination.  The plugin installs the match prefix
 *   in the FIB itself (its own FIB source) with our DPO whose index is the
 *   srv6_mup SID index.  Simpler than srv6-mobile's policy plugin function
 *   plus "sr steer ... via bsid", and it needs no binding SID.
 */
#include <srv6_mup/srv6_mup.h>
#include <vnet/plugin/plugin.h>
#include <vpp/app/version.h>

srv6_mup_main_t srv6_mup_main;

#define SRV6_MUP_DEFAULT_SESSIONS (1 << 16)
#define SRV6_MUP_MAP_SIZE	  1024
#define SRV6_MUP_T2ST_SIZE	  4096 /* Type 2 slots per headend */
#define SRV6_MUP_LIMIT_BURST	  32

static const char *const srv6_mup_behavior_keys[MUP_B_N] = {
#define _(e, n, name, key, code) [n] = key,
  foreach_mup_behavior
#undef _
};

const char *
srv6_mup_behavior_key (unsigned b)
{
  return b < MUP_B_N && srv6_mup_behavior_keys[b] ? srv6_mup_behavior_keys[b] :
						    "unknown";
}

srv6_mup_node_family_t
srv6_mup_behavior_family (unsigned b)
{
  switch (b)
    {
    case MUP_B_H_M_GTP4_D:
      return SRV6_MUP_NODE_H_M_GTP4_D;
    case MUP_B_GTP4_DT4:
    case MUP_B_GTP4_DT6:
    case MUP_B_GTP4_DT46:
      return SRV6_MUP_NODE_GTP4_DT;
    case MUP_B_H_ENCAPS:
    case MUP_B_H_T1ST:
      return SRV6_MUP_NODE_H_ENCAPS;
    case MUP_B_END_M_GTP4_E:
      return SRV6_MUP_NODE_END_M_GTP4_E;
    case MUP_B_END_M_GTP6_E:
      return SRV6_MUP_NODE_END_M_GTP6_E;
    case MUP_B_END_M_GTP6_D:
    case MUP_B_END_M_GTP6_D_DI:
      return SRV6_MUP_NODE_END_M_GTP6_D;
    case MUP_B_GTP6_DT4:
    case MUP_B_GTP6_DT6:
    case MUP_B_GTP6_DT46:
      return SRV6_MUP_NODE_GTP6_DT;
    default:
      return SRV6_MUP_NODE_END;
    }
}

int
srv6_mup_behavior_is_localsid (unsigned b)
{
  static const u8 is_ls[SRV6_MUP_N_NODES] = {
#define _(e, name, ls) [SRV6_MUP_NODE_##e] = ls,
    foreach_srv6_mup_node
#undef _
  };
  return b > 0 && b < MUP_B_N && is_ls[srv6_mup_behavior_family (b)];
}

/* Which lookup tables a behaviour may send its result to. */
static void
behavior_outputs (unsigned b, int *ip4, int *ip6)
{
  *ip4 = *ip6 = 0;
  switch (b)
    {
    case MUP_B_END_M_GTP4_E:
    case MUP_B_END_DT4:
    case MUP_B_GTP4_DT4:
    case MUP_B_GTP6_DT4:
      *ip4 = 1;
      break;
    case MUP_B_END_DT46:
    case MUP_B_GTP4_DT46:
    case MUP_B_GTP6_DT46:
      *ip4 = *ip6 = 1;
      break;
    default:
      *ip6 = 1;
    }
}

u32
srv6_mup_sid_index_from_sr (u32 ls_index)
{
  ip6_sr_localsid_t *ls = pool_elt_at_index (sr_main.localsids, ls_index);
  return pointer_to_uword (ls->plugin_mem);
}

static int
set_error (int rv, char *fmt, ...)
{
  srv6_mup_main_t *mm = &srv6_mup_main;
  va_list va;
  vec_reset_length (mm->last_error);
  va_start (va, fmt);
  mm->last_error = va_format (mm->last_error, fmt, &va);
  va_end (va);
  vlib_log_notice (mm->log_class, "%v", mm->last_error);
  return rv;
}

static void
t1st_ensure (void)
{
  srv6_mup_main_t *mm = &srv6_mup_main;
  mup_sess_slot_t *slots;
  if (mm->t1st.slots)
    return;
  slots = clib_mem_alloc_aligned (sizeof (slots[0]) * mm->t1st_size,
				  CLIB_CACHE_LINE_BYTES);
  /* key_len 8: IPv4 UE keys are 4 octets followed by 4 zero octets */
  mup_sess_init (&mm->t1st, slots, mm->t1st_size, 8);
}

static void
sid_free_mem (srv6_mup_sid_t *sid)
{
  if (sid->core)
    {
      if (sid->core->buckets)
	clib_mem_free (sid->core->buckets);
      clib_mem_free (sid->core);
    }
  if (sid->map_slots)
    clib_mem_free (sid->map_slots);
  if (sid->t2st_slots)
    clib_mem_free (sid->t2st_slots);
  sid->core = 0;
  sid->map_slots = 0;
  sid->t2st_slots = 0;
}

/*
 * THE validation: decode-independent checks, table resolution, and the
 * core's mup_sid_init (which checks the behaviour's own parameters and
 * precomputes the encapsulation).  Fills sid on success.
 */
static int
sid_build (const srv6_mup_args_t *a, srv6_mup_sid_t *sid)
{
  srv6_mup_main_t *mm = &srv6_mup_main;
  mup_sid_params_t p;
  const char *msg = 0;
  int out4, out6, i;
  mup_sid_t *core;

  clib_memset (sid, 0, sizeof (*sid));
  sid->sr_ls_index = ~0;
  if (a->behavior == 0 || a->behavior >= MUP_B_N)
    return set_error (VNET_API_ERROR_INVALID_VALUE, "unknown behavior %u",
		      a->behavior);
  if (a->is_localsid != srv6_mup_behavior_is_localsid (a->behavior))
    return set_error (VNET_API_ERROR_INVALID_VALUE, "%s is %s",
		      mup_behavior_name (a->behavior),
		      a->is_localsid ? "a headend: use a policy" :
				       "a localsid: use sr localsid");
  if (a->is_localsid && !a->prefix_is_ip6)
    return set_error (VNET_API_ERROR_INVALID_VALUE, "a SID is IPv6");
  if ((a->behavior == MUP_B_H_M_GTP4_D || a->behavior == MUP_B_GTP4_DT4 ||
       a->behavior == MUP_B_GTP4_DT6 || a->behavior == MUP_B_GTP4_DT46) &&
      a->prefix_is_ip6)
    return set_error (VNET_API_ERROR_INVALID_VALUE,
		      "%s matches an IPv4 destination prefix",
		      mup_behavior_name (a->behavior));
  if (a->prefix_len > (a->prefix_is_ip6 ? 128 : 32))
    return set_error (VNET_API_ERROR_INVALID_VALUE, "prefix length %u",
		      a->prefix_len);
  if (a->n_segments > MUP_MAX_SEGS)
    return set_error (VNET_API_ERROR_INVALID_VALUE, "at most %u segments",
		      MUP_MAX_SEGS);

  behavior_outputs (a->behavior, &out4, &out6);
  sid->fib4_index = fib_table_find (FIB_PROTOCOL_IP4, a->out_table_id);
  sid->fib6_index = fib_table_find (FIB_PROTOCOL_IP6, a->out_table_id);
  if ((out4 && sid->fib4_index == ~0) || (out6 && sid->fib6_index == ~0))
    return set_error (VNET_API_ERROR_NO_SUCH_FIB,
		      "out-table %u does not exist for %s", a->out_table_id,
		      out4 && sid->fib4_index == ~0 ? "IPv4" : "IPv6");
  if (sid->fib4_index == ~0)
    sid->fib4_index = 0;
  if (sid->fib6_index == ~0)
    sid->fib6_index = 0;

  clib_memset (&p, 0, sizeof (p));
  p.behavior = a->behavior;
  p.flags = a->flags;
  p.sid_len = a->is_localsid ? a->prefix_len : 0;
  p.src_len = a->source_len;
  p.dst_len = a->args_prefix_len;
  p.nh = a->nh;
  p.pdu_type = a->pdu_type;
  p.nsegs = a->n_segments;
  p.fib_index = sid->fib6_index;
  clib_memcpy (p.src6, a->source.as_u8, 16);
  clib_memcpy (p.src4, a->ipv4_source.as_u8, 4);
  for (i = 0; i < a->n_segments; i++)
    clib_memcpy (p.segs[i], a->segments[i].as_u8, 16);
  clib_memcpy (p.dst_prefix, a->vpp_args_prefix.as_u8, 16);
  p.limit_group_bits = a->limit_group_bits;
  p.limit_rate_bits = a->limit_rate_bits;
  p.limit_unit_pps = a->limit_unit_pps;
  p.limit_burst = a->limit_burst;

  core = clib_mem_alloc_aligned (sizeof (*core), CLIB_CACHE_LINE_BYTES);
  if (mup_sid_init (core, &p, &msg) < 0)
    {
      clib_mem_free (core);
      return set_error (VNET_API_ERROR_INVALID_VALUE, "%s: %s",
			mup_behavior_name (a->behavior), msg);
    }
  sid->core = core;

  switch (a->behavior)
    {
    case MUP_B_END_MAP:
      sid->map_slots = clib_mem_alloc_aligned (
	sizeof (mup_map_slot_t) * SRV6_MUP_MAP_SIZE, CLIB_CACHE_LINE_BYTES);
      core->map = clib_mem_alloc (sizeof (mup_map_table_t));
      mup_map_init (core->map, sid->map_slots, SRV6_MUP_MAP_SIZE);
      break;
    case MUP_B_END_LIMIT:
      {
	u32 burst = a->limit_burst ? a->limit_burst : SRV6_MUP_LIMIT_BURST;
	core->buckets = clib_mem_alloc_aligned (
	  sizeof (mup_bucket_t) * core->n_buckets, CLIB_CACHE_LINE_BYTES);
	for (i = 0; i < core->n_buckets; i++)
	  {
	    core->buckets[i].tokens_milli = (u64) burst * 1000;
	    core->buckets[i].burst_milli = (u64) burst * 1000;
	    core->buckets[i].last_ns = 0;
	    core->buckets[i].rate_pps = 0;
	  }
      }
      break;
    case MUP_B_H_T1ST:
      t1st_ensure ();
      core->t1st = &mm->t1st;
      break;
    default:
      break;
    }
  sid->args = *a;
  sid->args.is_add = 1;
  return 0;
}

static void
sid_free (srv6_mup_sid_t *sid)
{
  srv6_mup_main_t *mm = &srv6_mup_main;
  if (sid->core && sid->core->map)
    {
      clib_mem_free (sid->core->map);
      sid->core->map = 0;
    }
  if (sid->core && sid->core->t2st)
    {
      clib_mem_free (sid->core->t2st);
      sid->core->t2st = 0;
    }
  sid_free_mem (sid);
  pool_put (mm->sids, sid);
}

static void
sid_counters_init (u32 index)
{
  srv6_mup_main_t *mm = &srv6_mup_main;
  u32 i;
  vlib_validate_combined_counter (&mm->fwd_counters, index);
  vlib_zero_combined_counter (&mm->fwd_counters, index);
  vlib_validate_simple_counter (&mm->drop_counters, (index + 1) * MUP_E_N - 1);
  for (i = 0; i < MUP_E_N; i++)
    vlib_zero_simple_counter (&mm->drop_counters, index * MUP_E_N + i);
}

/* ---- SR framework callbacks (localsids) ---- */

static int
sr_creation (ip6_sr_localsid_t *ls)
{
  srv6_mup_main_t *mm = &srv6_mup_main;
  srv6_mup_args_t *a = ls->plugin_mem;
  srv6_mup_sid_t tmp, *sid;
  int rv;

  if (a == mm->pending)
    mm->pending = 0;
  a->prefix.ip6 = ls->localsid;
  a->prefix_len = ls->localsid_prefix_len;
  a->prefix_is_ip6 = 1;
  a->is_localsid = 1;
  a->table_id = ls->fib_table;
  rv = sid_build (a, &tmp);
  clib_mem_free (a);
  ls->plugin_mem = 0;
  if (rv)
    return rv;
  pool_get_aligned (mm->sids, sid, CLIB_CACHE_LINE_BYTES);
  *sid = tmp;
  sid->sr_ls_index = ls - sr_main.localsids;
  ls->plugin_mem = uword_to_pointer ((uword) (sid - mm->sids), void *);
  sid_counters_init (sid - mm->sids);
  return 0;
}

static int
sr_removal (ip6_sr_localsid_t *ls)
{
  srv6_mup_main_t *mm = &srv6_mup_main;
  u32 index = pointer_to_uword (ls->plugin_mem);
  if (!pool_is_free_index (mm->sids, index))
    sid_free (pool_elt_at_index (mm->sids, index));
  return 0;
}

static u8 *
sr_format (u8 *s, va_list *args)
{
  void *mem = va_arg (*args, void *);
  srv6_mup_main_t *mm = &srv6_mup_main;
  u32 index = pointer_to_uword (mem);
  if (pool_is_free_index (mm->sids, index))
    return format (s, "srv6-mup: (invalid)");
  return format (s, "%U", format_srv6_mup_sid,
		 pool_elt_at_index (mm->sids, index), index);
}

/* "mup.<behavior> <args>": the rest of the "sr localsid" line. */
static uword
sr_unformat (unformat_input_t *input, va_list *args, unsigned behavior)
{
  srv6_mup_main_t *mm = &srv6_mup_main;
  void **plugin_mem = va_arg (*args, void **);
  srv6_mup_args_t a;
  u8 *word = 0;
  uword ok;

  if (!unformat (input, "%s", &word))
    return 0;
  /* "%s" yields a NUL-terminated vector */
  ok = !strncmp ((char *) word, "mup.", 4) &&
       !strcmp ((char *) word + 4, srv6_mup_behavior_key (behavior));
  vec_free (word);
  if (!ok)
    return 0;
  clib_memset (&a, 0, sizeof (a));
  a.is_add = 1;
  a.behavior = behavior;
  a.is_localsid = 1;
  if (!srv6_mup_unformat_args (input, &a))
    return 0;
  /* a localsid that fails before its creation callback leaves its args
     here; the next decode frees them */
  if (mm->pending)
    clib_mem_free (mm->pending);
  mm->pending = clib_mem_alloc (sizeof (a));
  *mm->pending = a;
  *plugin_mem = mm->pending;
  return 1;
}

#define _(e, n, name, key, code)                                              \
  static uword sr_unformat_##e (unformat_input_t *input, va_list *args)       \
  {                                                                           \
    return sr_unformat (input, args, MUP_B_##e);                              \
  }
foreach_mup_behavior
#undef _

  static unformat_function_t *const sr_unformat_fns[MUP_B_N] = {
#define _(e, n, name, key, code) [n] = sr_unformat_##e,
    foreach_mup_behavior
#undef _
  };

/* ---- add / del ---- */

static int
localsid_add_del (srv6_mup_args_t *a, u32 *sid_index)
{
  srv6_mup_main_t *mm = &srv6_mup_main;
  srv6_mup_sid_t *sid;
  int rv;

  if (!a->is_add)
    {
      u32 found = ~0;
      pool_foreach (sid, mm->sids)
	{
	  if (sid->sr_ls_index != ~0 &&
	      ip6_address_is_equal (&sid->args.prefix.ip6, &a->prefix.ip6) &&
	      sid->args.prefix_len == a->prefix_len &&
	      sid->args.table_id == a->table_id)
	    found = sid - mm->sids;
	}
      if (found == ~0)
	return set_error (
	  VNET_API_ERROR_NO_SUCH_ENTRY, "no srv6-mup localsid %U/%u table %u",
	  format_ip6_address, &a->prefix.ip6, a->prefix_len, a->table_id);
      *sid_index = found;
      /* the SR key keeps the length as given: 0 for "address X" */
      rv = sr_cli_localsid (1, &a->prefix.ip6, a->prefix_len, 0, 0, ~0,
			    a->table_id, 0, 0, 0);
      if (rv == -2)
	rv = sr_cli_localsid (1, &a->prefix.ip6, 0, 0, 0, ~0, a->table_id, 0,
			      0, 0);
      return rv ? set_error (VNET_API_ERROR_NO_SUCH_ENTRY,
			     "SR framework refused the delete (%d)", rv) :
		  0;
    }

  if (a->behavior == 0 || a->behavior >= MUP_B_N || !mm->sr_fn[a->behavior])
    return set_error (VNET_API_ERROR_INVALID_VALUE,
		      "behavior %u is not a localsid behavior", a->behavior);
  if (a->prefix_len == 0 || a->prefix_len > 128)
    return set_error (VNET_API_ERROR_INVALID_VALUE,
		      "SID prefix length must be 1..128");
  vec_reset_length (mm->last_error);
  if (mm->pending)
    clib_mem_free (mm->pending);
  mm->pending = clib_mem_alloc (sizeof (*a));
  *mm->pending = *a;
  mm->pending->is_localsid = 1;
  rv = sr_cli_localsid (0, &a->prefix.ip6, a->prefix_len, 0,
			mm->sr_fn[a->behavior], ~0, a->table_id, 0, 0,
			mm->pending);
  if (mm->pending) /* creation callback never ran */
    {
      clib_mem_free (mm->pending);
      mm->pending = 0;
    }
  switch (rv)
    {
    case 0:
      break;
    case -1:
    case -4:
      return set_error (VNET_API_ERROR_VALUE_EXIST,
			"a localsid or route %U/%u already exists",
			format_ip6_address, &a->prefix.ip6, a->prefix_len);
    case -3:
      return set_error (VNET_API_ERROR_NO_SUCH_FIB,
			"IPv6 table %u does not exist", a->table_id);
    default:
      /* -6: our creation callback refused; last_error says why */
      if (!vec_len (mm->last_error))
	set_error (0, "SR framework error %d", rv);
      return VNET_API_ERROR_INVALID_VALUE;
    }
  pool_foreach (sid, mm->sids)
    {
      if (sid->sr_ls_index != ~0 &&
	  ip6_address_is_equal (&sid->args.prefix.ip6, &a->prefix.ip6) &&
	  sid->args.prefix_len == a->prefix_len &&
	  sid->args.table_id == a->table_id)
	*sid_index = sid - mm->sids;
    }
  return 0;
}

static void
headend_prefix (const srv6_mup_args_t *a, fib_prefix_t *pfx)
{
  clib_memset (pfx, 0, sizeof (*pfx));
  pfx->fp_len = a->prefix_len;
  if (a->prefix_is_ip6)
    {
      pfx->fp_proto = FIB_PROTOCOL_IP6;
      pfx->fp_addr.ip6 = a->prefix.ip6;
      ip6_address_mask (&pfx->fp_addr.ip6, &ip6_main.fib_masks[a->prefix_len]);
    }
  else
    {
      pfx->fp_proto = FIB_PROTOCOL_IP4;
      pfx->fp_addr.ip4 = a->prefix.ip4;
      pfx->fp_addr.ip4.as_u32 &= ip4_main.fib_masks[a->prefix_len];
    }
}

static int
headend_add_del (srv6_mup_args_t *a, u32 *sid_index)
{
  srv6_mup_main_t *mm = &srv6_mup_main;
  srv6_mup_sid_t tmp, *sid;
  fib_prefix_t pfx, other;
  u32 fib_index, found = ~0;
  dpo_id_t dpo = DPO_INVALID;
  int rv;

  if (a->prefix_len > (a->prefix_is_ip6 ? 128 : 32))
    return set_error (VNET_API_ERROR_INVALID_VALUE, "prefix length %u",
		      a->prefix_len);
  headend_prefix (a, &pfx);
  pool_foreach (sid, mm->sids)
    {
      if (sid->sr_ls_index != ~0 || sid->args.table_id != a->table_id)
	continue;
      headend_prefix (&sid->args, &other);
      if (fib_prefix_cmp (&pfx, &other) == 0)
	found = sid - mm->sids;
    }
  fib_index = fib_table_find (pfx.fp_proto, a->table_id);
  if (!a->is_add)
    {
      if (found == ~0)
	return set_error (VNET_API_ERROR_NO_SUCH_ENTRY,
			  "no srv6-mup policy for %U table %u",
			  format_fib_prefix, &pfx, a->table_id);
      sid = pool_elt_at_index (mm->sids, found);
      fib_table_entry_special_remove (sid->match_fib_index, &pfx, mm->fib_src);
      fib_table_unlock (sid->match_fib_index, pfx.fp_proto, mm->fib_src);
      *sid_index = found;
      sid_free (sid);
      return 0;
    }
  if (found != ~0)
    return set_error (VNET_API_ERROR_VALUE_EXIST,
		      "a srv6-mup policy for %U table %u already exists",
		      format_fib_prefix, &pfx, a->table_id);
  if (fib_index == ~0)
    return set_error (VNET_API_ERROR_NO_SUCH_FIB, "%s table %u does not exist",
		      a->prefix_is_ip6 ? "IPv6" : "IPv4", a->table_id);
  if (fib_table_lookup_exact_match (fib_index, &pfx) != FIB_NODE_INDEX_INVALID)
    return set_error (VNET_API_ERROR_VALUE_EXIST,
		      "a route for %U already exists in table %u",
		      format_fib_prefix, &pfx, a->table_id);
  a->is_localsid = 0;
  rv = sid_build (a, &tmp);
  if (rv)
    return rv;
  pool_get_aligned (mm->sids, sid, CLIB_CACHE_LINE_BYTES);
  *sid = tmp;
  sid->match_fib_index = fib_index;
  sid_counters_init (sid - mm->sids);
  fib_table_lock (fib_index, pfx.fp_proto, mm->fib_src);
  dpo_set (&dpo, mm->dpo_type[srv6_mup_behavior_family (a->behavior)],
	   fib_proto_to_dpo (pfx.fp_proto), sid - mm->sids);
  fib_table_entry_special_dpo_add (fib_index, &pfx, mm->fib_src,
				   FIB_ENTRY_FLAG_EXCLUSIVE, &dpo);
  dpo_reset (&dpo);
  *sid_index = sid - mm->sids;
  return 0;
}

int
srv6_mup_sid_add_del (srv6_mup_args_t *a, u32 *sid_index)
{
  u32 dummy;
  if (!sid_index)
    sid_index = &dummy;
  *sid_index = ~0;
  if (a->is_add && (a->behavior == 0 || a->behavior >= MUP_B_N))
    return set_error (VNET_API_ERROR_INVALID_VALUE, "unknown behavior %u",
		      a->behavior);
  if (a->is_localsid)
    return localsid_add_del (a, sid_index);
  return headend_add_del (a, sid_index);
}

/* ---- Type 1 sessions ---- */

/* The H.M.T1ST headend whose UE prefix holds ue (longest match). */
static srv6_mup_sid_t *
t1st_headend_of (const ip46_address_t *ue, u8 ue_is_ip6)
{
  srv6_mup_main_t *mm = &srv6_mup_main;
  srv6_mup_sid_t *sid, *best = 0;
  pool_foreach (sid, mm->sids)
    {
      const srv6_mup_args_t *a = &sid->args;
      if (a->behavior != MUP_B_H_T1ST || a->prefix_is_ip6 != ue_is_ip6 ||
	  (best && best->args.prefix_len >= a->prefix_len))
	continue;
      if (ue_is_ip6 ? ip6_destination_matches_route (
			&ip6_main, &ue->ip6, &a->prefix.ip6, a->prefix_len) :
		      ip4_destination_matches_route (
			&ip4_main, &ue->ip4, &a->prefix.ip4, a->prefix_len))
	best = sid;
    }
  return best;
}

/*
 * A Type 1 session moved to another gNB or TEID: send an End Marker on the
 * old path (3GPP TS 29.281 section 7.3.2), after the swap, so that it
 * follows the last packet the old session carried.  It is the SRv6 form
 * the core builds (SRH tag End Marker, next header 59, the old gNB and
 * TEID in the args SID); End.M.GTP4.E at the interwork side turns it into
 * a GTP-U End Marker toward the old gNB.  A headend without an SRH cannot
 * carry the tag: counted as not sent, with the reason in the log.
 */
static void
end_marker_send (const ip46_address_t *ue, u8 ue_is_ip6, const mup_t1st_t *old)
{
  srv6_mup_main_t *mm = &srv6_mup_main;
  vlib_main_t *vm = vlib_get_main ();
  srv6_mup_sid_t *sid = t1st_headend_of (ue, ue_is_ip6);
  u8 pkt[sizeof (((mup_sid_t *) 0)->encap)];
  const char *why = "no H.M.T1ST headend holds the UE";
  vlib_buffer_t *b;
  vlib_frame_t *f;
  u32 bi;
  int n = -1;

  if (sid)
    n = mup_t1st_end_marker (sid->core, old, pkt, sizeof (pkt), &why);
  if (n > 0 && vlib_buffer_alloc (vm, &bi, 1) != 1)
    {
      why = "no buffer";
      n = -1;
    }
  if (n <= 0)
    {
      mm->end_markers_not_sent++;
      vlib_log_notice (mm->log_class, "End Marker for UE %U not sent: %s",
		       format_ip46_address, ue,
		       ue_is_ip6 ? IP46_TYPE_IP6 : IP46_TYPE_IP4, why);
      return;
    }
  b = vlib_get_buffer (vm, bi);
  memcpy (vlib_buffer_get_current (b), pkt, n);
  b->current_length = n;
  b->flags |= VNET_BUFFER_F_LOCALLY_ORIGINATED;
  vnet_buffer (b)->sw_if_index[VLIB_RX] = 0;
  vnet_buffer (b)->sw_if_index[VLIB_TX] = sid->fib6_index;
  f = vlib_get_frame_to_node (vm, ip6_lookup_node.index);
  ((u32 *) vlib_frame_vector_args (f))[0] = bi;
  f->n_vectors = 1;
  vlib_put_frame_to_node (vm, ip6_lookup_node.index, f);
  mm->end_markers_sent++;
}

/*
 * A deleted session leaves a tombstone (lookups probe past it).  Once
 * tombstones and live sessions fill the table, or tombstones are a quarter
 * of it (long probes for every miss), rebuild the table in place without
 * them.  The data plane reads the table without locks: workers wait at the
 * barrier meanwhile (the main thread is here, not in a node).
 */
static void
t1st_compact (void)
{
  srv6_mup_main_t *mm = &srv6_mup_main;
  vlib_main_t *vm = vlib_get_main ();
  mup_sess_table_t *t = &mm->t1st;
  u32 size = t->mask + 1, i, n;
  mup_sess_slot_t *live = 0;

  for (i = 0; i < size; i++)
    if (t->slots[i].used == 1)
      vec_add1 (live, t->slots[i]);
  vlib_worker_thread_barrier_sync (vm);
  mup_sess_init (t, t->slots, size, t->key_len);
  n = mup_sess_insert_live (t, live, vec_len (live));
  vlib_worker_thread_barrier_release (vm);
  ASSERT (n == vec_len (live));
  (void) n;
  vec_free (live);
}

int
srv6_mup_session_add_del (int is_add, const ip46_address_t *ue, u8 ue_is_ip6,
			  const mup_t1st_t *v, int *replaced)
{
  srv6_mup_main_t *mm = &srv6_mup_main;
  u8 key[16] = { 0 };
  const mup_t1st_t *cur;
  mup_t1st_t old;
  int rv;

  *replaced = 0;
  if (ue_is_ip6)
    clib_memcpy (key, ue->ip6.as_u8, 8);
  else
    clib_memcpy (key, ue->ip4.as_u8, 4);
  t1st_ensure ();
  if (!is_add)
    {
      if (mup_sess_del (&mm->t1st, key) < 0)
	return set_error (VNET_API_ERROR_NO_SUCH_ENTRY, "no session for %U",
			  format_ip46_address, ue, IP46_TYPE_ANY);
      return 0;
    }
  if (v->teid == 0)
    return set_error (VNET_API_ERROR_INVALID_VALUE, "TEID 0 is invalid");
  if (v->qfi > 63)
    return set_error (VNET_API_ERROR_INVALID_VALUE, "QFI %u above 63", v->qfi);
  /* Type 1 session update = handover: the core writes the inactive copy
     and flips the selector, so a packet sees the old or the new one.  The
     old value is kept first: its End Marker follows the swap. */
  if ((cur = mup_sess_get (&mm->t1st, key)))
    old = *cur;
  else if (mm->t1st.tombs &&
	   (mm->t1st.count + mm->t1st.tombs >= mm->t1st.mask ||
	    mm->t1st.tombs > (mm->t1st.mask + 1) / 4))
    t1st_compact ();
  rv = mup_sess_set (&mm->t1st, key, v);
  if (rv == -1)
    return set_error (VNET_API_ERROR_TABLE_TOO_BIG,
		      "session table full (%u slots, %u usable; startup "
		      "config srv6-mup { sessions N })",
		      mm->t1st_size, mm->t1st_size - 1);
  if (rv < 0)
    return set_error (VNET_API_ERROR_INVALID_VALUE, "session rejected");
  *replaced = rv == 1;
  if (cur && (old.teid != v->teid || old.is_ip6 != v->is_ip6 ||
	      memcmp (old.gnb, v->gnb, sizeof (old.gnb))))
    end_marker_send (ue, ue_is_ip6, &old);
  return 0;
}

int
srv6_mup_map_add_del (u32 sid_index, int is_add, const ip6_address_t *from,
		      const ip6_address_t *to)
{
  srv6_mup_main_t *mm = &srv6_mup_main;
  srv6_mup_sid_t *sid;
  if (pool_is_free_index (mm->sids, sid_index))
    return set_error (VNET_API_ERROR_NO_SUCH_ENTRY, "no SID %u", sid_index);
  sid = pool_elt_at_index (mm->sids, sid_index);
  if (sid->args.behavior != MUP_B_END_MAP || !sid->core->map)
    return set_error (VNET_API_ERROR_INVALID_VALUE, "SID %u is not End.MAP",
		      sid_index);
  if (!is_add)
    return mup_map_del (sid->core->map, from->as_u8) < 0 ?
	     set_error (VNET_API_ERROR_NO_SUCH_ENTRY, "no mapping for %U",
			format_ip6_address, from) :
	     0;
  if (mup_map_set (sid->core->map, from->as_u8, to->as_u8) < 0)
    return set_error (VNET_API_ERROR_TABLE_TOO_BIG, "End.MAP table full");
  return 0;
}

/* ---- Type 2 sessions ---- */

/* Key of the core's Type 2 lookup (mup_behaviors.h): N3 IPv4 address,
   then the TEID, both in network order, zero padded to 16 octets. */
static void
type2_key (u8 key[16], const ip4_address_t *n3, u32 teid)
{
  clib_memset (key, 0, 16);
  clib_memcpy (key, n3->as_u8, 4);
  *(u32 *) (key + 4) = clib_host_to_net_u32 (teid);
}

void
srv6_mup_type2_key_decode (const u8 key[16], ip4_address_t *n3, u32 *teid)
{
  clib_memcpy (n3->as_u8, key, 4);
  *teid = clib_net_to_host_u32 (*(u32 *) (key + 4));
}

int
srv6_mup_type2_add_del (u32 sid_index, int is_add, const ip4_address_t *n3,
			u32 teid, const ip6_address_t *segment)
{
  srv6_mup_main_t *mm = &srv6_mup_main;
  srv6_mup_sid_t *sid;
  u8 key[16];

  if (pool_is_free_index (mm->sids, sid_index))
    return set_error (VNET_API_ERROR_NO_SUCH_ENTRY, "no SID %u", sid_index);
  sid = pool_elt_at_index (mm->sids, sid_index);
  if (sid->args.behavior != MUP_B_H_M_GTP4_D)
    return set_error (VNET_API_ERROR_INVALID_VALUE, "SID %u is not H.M.GTP4.D",
		      sid_index);
  if (teid == 0)
    return set_error (VNET_API_ERROR_INVALID_VALUE, "TEID 0 is invalid");
  type2_key (key, n3, teid);
  if (!is_add)
    return !sid->core->t2st || mup_map_del (sid->core->t2st, key) < 0 ?
	     set_error (VNET_API_ERROR_NO_SUCH_ENTRY,
			"no Type 2 session %U teid %u", format_ip4_address, n3,
			teid) :
	     0;
  if (!sid->core->t2st)
    {
      /* the handler runs under the worker barrier: the node sees either
	 no table or a complete one */
      mup_map_table_t *t = clib_mem_alloc (sizeof (*t));
      sid->t2st_slots = clib_mem_alloc_aligned (
	sizeof (mup_map_slot_t) * SRV6_MUP_T2ST_SIZE, CLIB_CACHE_LINE_BYTES);
      mup_map_init (t, sid->t2st_slots, SRV6_MUP_T2ST_SIZE);
      sid->core->t2st = t;
    }
  if (mup_map_set (sid->core->t2st, key, segment->as_u8) < 0)
    return set_error (VNET_API_ERROR_TABLE_TOO_BIG,
		      "Type 2 table of SID %u full (%u)", sid_index,
		      SRV6_MUP_T2ST_SIZE);
  return 0;
}

/* ---- init ---- */

static void
dpo_lock_noop (dpo_id_t *dpo)
{
}

static u8 *
format_srv6_mup_dpo (u8 *s, va_list *args)
{
  index_t index = va_arg (*args, index_t);
  CLIB_UNUSED (u32 indent) = va_arg (*args, u32);
  return format (s, "srv6-mup: [%u]", index);
}

static const dpo_vft_t srv6_mup_dpo_vft = {
  .dv_lock = dpo_lock_noop,
  .dv_unlock = dpo_lock_noop,
  .dv_format = format_srv6_mup_dpo,
};

/* Node names per DPO protocol for every family. */
#define _(e, name, ls)                                                        \
  static const char *const dpo_nodes_##e[] = { name, NULL };                  \
  static const char *const *const dpo_by_proto_##e[DPO_PROTO_NUM] = {         \
    [DPO_PROTO_IP4] = ls ? NULL : dpo_nodes_##e,                              \
    [DPO_PROTO_IP6] = dpo_nodes_##e,                                          \
  };
foreach_srv6_mup_node
#undef _

  static clib_error_t *
  srv6_mup_init (vlib_main_t *vm)
{
  srv6_mup_main_t *mm = &srv6_mup_main;
  static u8 fn_names[MUP_B_N][64], keywords[MUP_B_N][32];
  unsigned b;
  int rv;

  mm->log_class = vlib_log_register_class ("srv6-mup", 0);
  if (!mm->t1st_size)
    mm->t1st_size = SRV6_MUP_DEFAULT_SESSIONS;
  mm->fwd_counters.name = "srv6-mup-forwarded";
  mm->fwd_counters.stat_segment_name = "/srv6-mup/sid/forwarded";
  mm->drop_counters.name = "srv6-mup-drops";
  mm->drop_counters.stat_segment_name = "/srv6-mup/sid/drops";
  mm->fib_src = fib_source_allocate ("srv6-mup", FIB_SOURCE_PRIORITY_HI,
				     FIB_SOURCE_BH_SIMPLE);

#define _(e, name, ls)                                                        \
  mm->dpo_type[SRV6_MUP_NODE_##e] =                                           \
    dpo_register_new_type (&srv6_mup_dpo_vft, dpo_by_proto_##e);              \
  mm->node_index[SRV6_MUP_NODE_##e] =                                         \
    vlib_get_node_by_name (vm, (u8 *) name)->index;
  foreach_srv6_mup_node
#undef _

    /* SR localsid behaviours: "mup.<key>", e.g. mup.end.m.gtp4.e (the plain
       names belong to srv6-mobile and to VPP's SR core). */
    for (b = 1; b < MUP_B_N; b++)
  {
    if (!srv6_mup_behavior_is_localsid (b))
      continue;
    snprintf ((char *) fn_names[b], sizeof (fn_names[b]), "SRv6-MUP-%s-plugin",
	      mup_behavior_name (b));
    snprintf ((char *) keywords[b], sizeof (keywords[b]), "mup.%s",
	      srv6_mup_behavior_key (b));
    rv = sr_localsid_register_function (
      vm, fn_names[b], keywords[b], (u8 *) mup_behavior_name (b),
      (u8 *) "see show srv6-mup help / docs/plugin.md",
      b == MUP_B_END || b == MUP_B_END_DT4 || b == MUP_B_END_DT6 ||
	  b == MUP_B_END_DT46 || b == MUP_B_END_MAP ?
	128 :
	64,
      &mm->dpo_type[srv6_mup_behavior_family (b)], sr_format,
      sr_unformat_fns[b], sr_creation, sr_removal);
    if (rv < 0)
      return clib_error_return (0, "cannot register SR behavior %s",
				keywords[b]);
    mm->sr_fn[b] = rv;
  }
  return srv6_mup_api_hookup (vm);
}

VLIB_INIT_FUNCTION (srv6_mup_init) = {
  .runs_after = VLIB_INITS ("sr_localsids_init", "ip6_lookup_init",
			    "ip4_lookup_init"),
};

static clib_error_t *
srv6_mup_config (vlib_main_t *vm, unformat_input_t *input)
{
  srv6_mup_main_t *mm = &srv6_mup_main;
  u32 n;
  while (unformat_check_input (input) != UNFORMAT_END_OF_INPUT)
    {
      if (unformat (input, "sessions %u", &n))
	{
	  if (n < 2)
	    return clib_error_return (0, "sessions: at least 2");
	  mm->t1st_size = 1u << max_log2 (n);
	}
      else
	return clib_error_return (0, "unknown input '%U'",
				  format_unformat_error, input);
    }
  return 0;
}

VLIB_CONFIG_FUNCTION (srv6_mup_config, "srv6-mup");

VLIB_PLUGIN_REGISTER () = {
  .version = VPP_BUILD_VER,
  .description = "SRv6 Mobile User Plane (RFC 9433) over the mupvpp core",
};
