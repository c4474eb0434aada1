/*
 * srv6_mup_node.c - graph nodes: one per behaviour family
 * (srv6-mup-<behavior>), each a thin loop around the core's per-packet
 * functions (core/mup_behaviors.h).
 *
 * For a frame: map every buffer to its SID (the DPO index is the SR
 * localsid index for localsids, the srv6_mup SID index for headends),
 * describe it as a mup_pkt_t, run the core over each run of consecutive
 * packets of one SID, then move the buffer start to where the core left
 * the packet, set the lookup table and the next node, and count.
 */
#include <srv6_mup/srv6_mup.h>
#include <srv6_mup/core/mup_behaviors.h>

typedef struct
{
  u32 sid_index;
  u8 behavior;
  u8 error;
  u8 next;
  u16 len_in;
  u16 len_out;
  u8 data[64]; /* first octets of the result */
} srv6_mup_trace_t;

#ifndef CLIB_MARCH_VARIANT
static u8 *
format_srv6_mup_trace (u8 *s, va_list *args)
{
  CLIB_UNUSED (vlib_main_t * vm) = va_arg (*args, vlib_main_t *);
  CLIB_UNUSED (vlib_node_t * node) = va_arg (*args, vlib_node_t *);
  srv6_mup_trace_t *t = va_arg (*args, srv6_mup_trace_t *);
  u32 indent = format_get_indent (s);
  static const char *const next_names[] = { "drop", "ip4-lookup",
					    "ip6-lookup" };

  s = format (s, "srv6-mup: sid %u %s -> %s (%s) len %u -> %u", t->sid_index,
	      mup_behavior_name (t->behavior),
	      next_names[t->next < 3 ? t->next : 0], mup_error_name (t->error),
	      t->len_in, t->len_out);
  if (t->error == MUP_E_NONE)
    s = format (s, "\n%U%U", format_white_space, indent + 2, format_hex_bytes,
		t->data, clib_min ((u32) t->len_out, sizeof (t->data)));
  return s;
}

/* Node error counters, generated from the core's list of drop reasons. */
static vlib_error_desc_t srv6_mup_error_counters[] = {
#define _(e, n, nm, ds)                                                       \
  [n] = { .name = nm,                                                         \
	  .desc = ds,                                                         \
	  .severity =                                                         \
	    n ? VL_COUNTER_SEVERITY_ERROR : VL_COUNTER_SEVERITY_INFO },
  foreach_mup_error
#undef _
};
#endif

static_always_inline uword
srv6_mup_node_inline (vlib_main_t *vm, vlib_node_runtime_t *node,
		      vlib_frame_t *frame, int is_localsid)
{
  srv6_mup_main_t *mm = &srv6_mup_main;
  u32 *from = vlib_frame_vector_args (frame);
  u32 n = frame->n_vectors, i, j;
  u32 thread_index = vm->thread_index;
  vlib_buffer_t *bufs[VLIB_FRAME_SIZE];
  u16 nexts[VLIB_FRAME_SIZE];
  u32 sidx[VLIB_FRAME_SIZE];
  u16 len_in[VLIB_FRAME_SIZE];
  mup_pkt_t pk[VLIB_FRAME_SIZE];
  u32 data_size = vlib_buffer_get_default_data_size (vm);
  u64 now_ns = (u64) (vlib_time_now (vm) * 1e9);
  u32 run_si = ~0, run_pkts = 0, last_dpo = ~0, last_sidx = ~0;
  u64 run_bytes = 0;
  srv6_mup_sid_t *run_sid = 0;

  vlib_get_buffers (vm, from, bufs, n);

  for (i = 0; i < n; i++)
    {
      vlib_buffer_t *b = bufs[i];
      u32 dpo_index = vnet_buffer (b)->ip.adj_index[VLIB_TX];
      mup_pkt_t *p = &pk[i];

      /* the core reads the headers and writes into the headroom in front
	 of them: have both lines on their way a few packets ahead */
      if (PREDICT_TRUE (i + 4 < n))
	{
	  vlib_prefetch_buffer_header (bufs[i + 4], LOAD);
	  CLIB_PREFETCH (bufs[i + 4]->data - CLIB_CACHE_LINE_BYTES,
			 3 * CLIB_CACHE_LINE_BYTES, STORE);
	}

      /* consecutive packets mostly share a SID: one SR localsid read */
      if (dpo_index != last_dpo)
	{
	  last_dpo = dpo_index;
	  last_sidx =
	    is_localsid ? srv6_mup_sid_index_from_sr (dpo_index) : dpo_index;
	}
      sidx[i] = last_sidx;
      p->data = vlib_buffer_get_current (b);
      p->len = b->current_length;
      p->headroom = b->current_data + VLIB_BUFFER_PRE_DATA_SIZE;
      p->tailroom = data_size - b->current_data - b->current_length;
      p->next = MUP_NEXT_DROP;
      p->error = MUP_E_NONE;
      p->fib_index = 0;
      p->sid_index = sidx[i];
      len_in[i] = b->current_length;
      /* the core sees one contiguous packet: chains are not handled */
      if (PREDICT_FALSE (b->flags & VLIB_BUFFER_NEXT_PRESENT))
	{
	  p->error = MUP_E_TOO_BIG;
	  sidx[i] |= 0x80000000;
	}
    }

  /* run the core over each run of consecutive packets of one SID */
  for (i = 0; i < n; i = j)
    {
      srv6_mup_sid_t *sid;
      for (j = i + 1; j < n && sidx[j] == sidx[i]; j++)
	;
      if (PREDICT_FALSE (sidx[i] & 0x80000000))
	continue;
      if (PREDICT_FALSE (pool_is_free_index (mm->sids, sidx[i])))
	{
	  u32 k;
	  for (k = i; k < j; k++)
	    pk[k].error = MUP_E_NO_SID;
	  continue;
	}
      sid = pool_elt_at_index (mm->sids, sidx[i]);
      mup_run_inline (sid->core, &pk[i], j - i, now_ns);
    }

  for (i = 0; i < n; i++)
    {
      vlib_buffer_t *b = bufs[i];
      mup_pkt_t *p = &pk[i];
      u32 si = sidx[i] & 0x7fffffff;

      if (PREDICT_TRUE (p->error == MUP_E_NONE && p->next != MUP_NEXT_DROP))
	{
	  i16 delta = (i16) (p->data - (u8 *) vlib_buffer_get_current (b));
	  int is_ip4 = p->next == MUP_NEXT_IP4;
	  /* counted once per run of one SID, not once per packet */
	  if (si != run_si)
	    {
	      if (run_pkts)
		vlib_increment_combined_counter (&mm->fwd_counters,
						 thread_index, run_si,
						 run_pkts, run_bytes);
	      run_si = si;
	      run_sid = pool_elt_at_index (mm->sids, si);
	      run_pkts = run_bytes = 0;
	    }
	  b->current_data += delta;
	  b->current_length = p->len;
	  nexts[i] = p->next;
	  vnet_buffer (b)->sw_if_index[VLIB_TX] =
	    is_ip4 ? run_sid->fib4_index : run_sid->fib6_index;
	  /* the core already set TTL / hop limit (decremented for the
	     endpoint behaviours, 64 for a new encapsulation): the rewrite
	     nodes must not decrement it again */
	  b->flags =
	    (b->flags & ~(VNET_BUFFER_F_IS_IP4 | VNET_BUFFER_F_IS_IP6)) |
	    (is_ip4 ? VNET_BUFFER_F_IS_IP4 : VNET_BUFFER_F_IS_IP6) |
	    VNET_BUFFER_F_LOCALLY_ORIGINATED;
	  run_pkts++;
	  run_bytes += p->len;
	}
      else
	{
	  if (p->error == MUP_E_NONE)
	    p->error = MUP_E_NO_SID;
	  nexts[i] = SRV6_MUP_NEXT_DROP;
	  b->error = node->errors[p->error];
	  if (!pool_is_free_index (mm->sids, si))
	    vlib_increment_simple_counter (&mm->drop_counters, thread_index,
					   si * MUP_E_N + p->error, 1);
	}

      if (PREDICT_FALSE (b->flags & VLIB_BUFFER_IS_TRACED))
	{
	  srv6_mup_trace_t *t = vlib_add_trace (vm, node, b, sizeof (*t));
	  t->sid_index = si;
	  t->behavior = pool_is_free_index (mm->sids, si) ?
			  0 :
			  pool_elt_at_index (mm->sids, si)->args.behavior;
	  t->error = p->error;
	  t->next = nexts[i];
	  t->len_in = len_in[i];
	  t->len_out = b->current_length;
	  clib_memcpy_fast (t->data, vlib_buffer_get_current (b),
			    clib_min (sizeof (t->data), b->current_length));
	}
    }

  if (run_pkts)
    vlib_increment_combined_counter (&mm->fwd_counters, thread_index, run_si,
				     run_pkts, run_bytes);
  vlib_buffer_enqueue_to_next (vm, node, from, nexts, n);
  return n;
}

#define _(e, name, ls)                                                        \
  VLIB_NODE_FN (srv6_mup_node_##e)                                            \
  (vlib_main_t * vm, vlib_node_runtime_t * node, vlib_frame_t * frame)        \
  {                                                                           \
    return srv6_mup_node_inline (vm, node, frame, ls);                        \
  }
foreach_srv6_mup_node
#undef _

#ifndef CLIB_MARCH_VARIANT
#define _(e, nm, ls)                                                          \
  VLIB_REGISTER_NODE (srv6_mup_node_##e) = {                                  \
    .name = nm,                                                               \
    .vector_size = sizeof (u32),                                              \
    .format_trace = format_srv6_mup_trace,                                    \
    .type = VLIB_NODE_TYPE_INTERNAL,                                          \
    .n_errors = MUP_E_N,                                                      \
    .error_counters = srv6_mup_error_counters,                                \
    .n_next_nodes = SRV6_MUP_N_NEXT,                                          \
    .next_nodes = { [SRV6_MUP_NEXT_DROP] = "error-drop",                      \
		    [SRV6_MUP_NEXT_IP4_LOOKUP] = "ip4-lookup",                \
		    [SRV6_MUP_NEXT_IP6_LOOKUP] = "ip6-lookup" },              \
  };
  foreach_srv6_mup_node
#undef _
#endif
