/*
 * srv6_mup_cli.c - CLI front end: decodes into srv6_mup_args_t and calls
 * srv6_mup_sid_add_del() (srv6_mup.c); show commands.
 *
 *   sr localsid prefix <sid>/<len> [fib-table N] behavior mup.<key> [args]
 *   srv6-mup policy add|del match <prefix> [table N] behavior <key> [args]
 *   srv6-mup session add ue <ip4|ip6/64> gnb <ip4> teid <n> [qfi <n>] [rqi]
 *   srv6-mup session del ue <ip4|ip6/64>
 *   srv6-mup map add|del sid <index> <from-ip6> <to-ip6>
 *   srv6-mup type2 add|del sid <index> n3 <ip4> teid <n> [segment <ip6>]
 *   show srv6-mup sids | sessions | counters
 *
 * [args], all optional, for any behaviour (the core rejects what does not
 * fit, see docs/plugin.md):
 *   out-table N         table the result is looked up in
 *   source X::[/P]      encap source / IPv6 SA prefix (P = IPv4 SA offset)
 *   ipv4-source A.B.C.D End.M.GTP4.E fixed IPv4 SA
 *   fixed-source        End.M.GTP6.E: use "source" as the IPv6 SA
 *   segment X::[/L]     policy segment, first first; /L on the last one =
 *                       where Args.Mob.Session goes (args-len L)
 *   args-len L
 *   vpp-args X::/L      VPP reading: append an args segment built from X/L
 *   u-bit pdu-type      VPP: U bit carries the PSC PDU type
 *   nh ipv4|ipv6|detect pdu-type dl|ul  udp-checksum  always-srh  no-psc
 *   group-bits G rate-bits R [unit-pps U] [burst B]   (End.Limit)
 */
#include <srv6_mup/srv6_mup.h>

static const char *const behavior_keys_cli[MUP_B_N] = {
#define _(e, n, name, key, code) [n] = key,
  foreach_mup_behavior
#undef _
};

/* "<key>" or "mup.<key>", e.g. h.m.gtp4.d or mup.h.m.gtp4.d */
uword
unformat_srv6_mup_behavior (unformat_input_t *input, va_list *args)
{
  u8 *b = va_arg (*args, u8 *);
  u8 *word = 0;
  char *w;
  unsigned i;
  uword ok = 0;
  if (!unformat (input, "%s", &word))
    return 0;
  vec_add1 (word, 0);
  w = (char *) word;
  if (!strncmp (w, "mup.", 4))
    w += 4;
  for (i = 1; i < MUP_B_N; i++)
    if (behavior_keys_cli[i] && !strcasecmp (w, behavior_keys_cli[i]))
      {
	*b = i;
	ok = 1;
	break;
      }
  vec_free (word);
  return ok;
}

uword
srv6_mup_unformat_args (unformat_input_t *input, srv6_mup_args_t *a)
{
  ip6_address_t x;
  ip4_address_t v4;
  u32 u, len;

  while (unformat_check_input (input) != UNFORMAT_END_OF_INPUT)
    {
      if (unformat (input, "out-table %u", &a->out_table_id))
	;
      else if (unformat (input, "source %U/%u", unformat_ip6_address,
			 &a->source, &len) &&
	       len <= 128)
	a->source_len = len;
      else if (unformat (input, "source %U", unformat_ip6_address, &a->source))
	;
      else if (unformat (input, "source-len %u", &len) && len <= 128)
	a->source_len = len;
      else if (unformat (input, "ipv4-source %U", unformat_ip4_address, &v4))
	{
	  a->ipv4_source = v4;
	  a->flags |= MUP_F_FIXED_SRC4;
	}
      else if (unformat (input, "fixed-source"))
	a->flags |= MUP_F_FIXED_SRC6;
      else if (unformat (input, "segment %U/%u", unformat_ip6_address, &x,
			 &len) &&
	       len <= 128 && a->n_segments < MUP_MAX_SEGS)
	{
	  a->segments[a->n_segments++] = x;
	  a->args_prefix_len = len;
	}
      else if (unformat (input, "segment %U", unformat_ip6_address, &x) &&
	       a->n_segments < MUP_MAX_SEGS)
	a->segments[a->n_segments++] = x;
      else if (unformat (input, "args-len %u", &len) && len <= 128)
	a->args_prefix_len = len;
      else if (unformat (input, "vpp-args %U/%u", unformat_ip6_address,
			 &a->vpp_args_prefix, &len) &&
	       len <= 128)
	{
	  a->args_prefix_len = len;
	  a->flags |= MUP_F_VPP_ARGS;
	}
      else if (unformat (input, "u-bit pdu-type"))
	a->flags |= MUP_F_U_PDU_TYPE;
      else if (unformat (input, "nh ipv4"))
	a->nh = MUP_NH_IP4;
      else if (unformat (input, "nh ipv6"))
	a->nh = MUP_NH_IP6;
      else if (unformat (input, "nh detect"))
	a->nh = MUP_NH_DETECT;
      else if (unformat (input, "pdu-type dl"))
	a->pdu_type = 0;
      else if (unformat (input, "pdu-type ul"))
	a->pdu_type = 1;
      else if (unformat (input, "udp-checksum"))
	a->flags |= MUP_F_UDP4_CSUM;
      else if (unformat (input, "always-srh"))
	a->flags |= MUP_F_ALWAYS_SRH;
      else if (unformat (input, "no-psc"))
	a->flags |= MUP_F_NO_PSC;
      else if (unformat (input, "group-bits %u", &u) && u < 256)
	a->limit_group_bits = u;
      else if (unformat (input, "rate-bits %u", &u) && u < 256)
	a->limit_rate_bits = u;
      else if (unformat (input, "unit-pps %llu", &a->limit_unit_pps))
	;
      else if (unformat (input, "burst %u", &a->limit_burst))
	;
      else
	return 0;
    }
  return 1;
}

/* Which Args.Mob.Session reading and U-bit mode a SID uses. */
u8 *
format_srv6_mup_args_mode (u8 *s, va_list *args)
{
  u32 flags = va_arg (*args, u32);
  return format (
    s, "args %s, u-bit %s",
    flags & MUP_F_VPP_ARGS ? "vpp (extra segment)" : "rfc (last SID)",
    flags & MUP_F_U_PDU_TYPE ? "vpp (PSC PDU type)" : "rfc (0, ignored)");
}

u8 *
format_srv6_mup_sid (u8 *s, va_list *args)
{
  srv6_mup_sid_t *sid = va_arg (*args, srv6_mup_sid_t *);
  u32 index = va_arg (*args, u32);
  srv6_mup_args_t *a = &sid->args;
  u32 indent = format_get_indent (s);
  int i;

  s = format (s, "[%u] %s %U/%u table %u", index,
	      mup_behavior_name (a->behavior), format_ip46_address, &a->prefix,
	      a->prefix_is_ip6 ? IP46_TYPE_IP6 : IP46_TYPE_IP4, a->prefix_len,
	      a->table_id);
  s = format (s, " %s", sid->sr_ls_index != ~0 ? "localsid" : "headend");
  s = format (s, "\n%Uout-table %u, %U", format_white_space, indent + 2,
	      a->out_table_id, format_srv6_mup_args_mode, (u32) a->flags);
  if (a->n_segments)
    {
      s = format (s, "\n%Usegments", format_white_space, indent + 2);
      for (i = 0; i < a->n_segments; i++)
	s = format (s, " %U", format_ip6_address, &a->segments[i]);
      s = format (s, " args-len %u", a->args_prefix_len);
      if (a->flags & MUP_F_VPP_ARGS)
	s =
	  format (s, " vpp-args %U", format_ip6_address, &a->vpp_args_prefix);
    }
  if (!ip6_address_is_zero (&a->source) || a->source_len)
    s = format (s, "\n%Usource %U/%u", format_white_space, indent + 2,
		format_ip6_address, &a->source, a->source_len);
  if (a->flags & MUP_F_FIXED_SRC4)
    s = format (s, "\n%Uipv4-source %U", format_white_space, indent + 2,
		format_ip4_address, &a->ipv4_source);
  if (sid->core)
    s = format (s, "\n%Uencap %u octets, %u SRH segments", format_white_space,
		indent + 2, sid->core->encap_len, sid->core->nsegs);
  return s;
}

static clib_error_t *
last_error (int rv)
{
  srv6_mup_main_t *mm = &srv6_mup_main;
  return clib_error_return (0, "%v (rv %d)", mm->last_error, rv);
}

static clib_error_t *
srv6_mup_policy_command_fn (vlib_main_t *vm, unformat_input_t *input,
			    vlib_cli_command_t *cmd)
{
  unformat_input_t _line, *line = &_line;
  srv6_mup_args_t a;
  clib_error_t *err = 0;
  u32 len = ~0, index;
  int rv, have_match = 0, have_behavior = 0;

  clib_memset (&a, 0, sizeof (a));
  if (!unformat_user (input, unformat_line_input, line))
    return clib_error_return (0, "expected add|del ...");
  if (unformat (line, "add"))
    a.is_add = 1;
  else if (!unformat (line, "del"))
    {
      err = clib_error_return (0, "expected add|del");
      goto done;
    }
  while (unformat_check_input (line) != UNFORMAT_END_OF_INPUT)
    {
      if (unformat (line, "match %U/%u", unformat_ip4_address, &a.prefix.ip4,
		    &len) &&
	  len <= 32)
	{
	  a.prefix_is_ip6 = 0;
	  have_match = 1;
	}
      else if (unformat (line, "match %U/%u", unformat_ip6_address,
			 &a.prefix.ip6, &len) &&
	       len <= 128)
	{
	  a.prefix_is_ip6 = 1;
	  have_match = 1;
	}
      else if (unformat (line, "table %u", &a.table_id))
	;
      else if (unformat (line, "behavior %U", unformat_srv6_mup_behavior,
			 &a.behavior))
	{
	  have_behavior = 1;
	  if (!srv6_mup_unformat_args (line, &a))
	    {
	      err = clib_error_return (0, "bad argument '%U'",
				       format_unformat_error, line);
	      goto done;
	    }
	}
      else
	{
	  err = clib_error_return (0, "unknown input '%U'",
				   format_unformat_error, line);
	  goto done;
	}
    }
  if (!have_match || (a.is_add && !have_behavior))
    {
      err = clib_error_return (0, "match <prefix> and behavior are needed");
      goto done;
    }
  a.prefix_len = len;
  rv = srv6_mup_sid_add_del (&a, &index);
  if (rv)
    err = last_error (rv);
  else if (a.is_add)
    vlib_cli_output (vm, "sid %u", index);
done:
  unformat_free (line);
  return err;
}

VLIB_CLI_COMMAND (srv6_mup_policy_command, static) = {
  .path = "srv6-mup policy",
  .short_help = "srv6-mup policy add|del match <ip4|ip6 prefix> [table N] "
		"behavior h.m.gtp4.d|gtp4.dt4|gtp4.dt6|gtp4.dt46|h.encaps|"
		"h.t1st [args]",
  .function = srv6_mup_policy_command_fn,
};

static clib_error_t *
srv6_mup_session_command_fn (vlib_main_t *vm, unformat_input_t *input,
			     vlib_cli_command_t *cmd)
{
  unformat_input_t _line, *line = &_line;
  ip46_address_t ue;
  mup_t1st_t v;
  clib_error_t *err = 0;
  int is_add = -1, have_ue = 0, replaced, rv;
  u8 ue_is_ip6 = 0;
  u32 len, teid = 0, qfi = 0;

  clib_memset (&v, 0, sizeof (v));
  clib_memset (&ue, 0, sizeof (ue));
  if (!unformat_user (input, unformat_line_input, line))
    return clib_error_return (0, "expected add|del ...");
  while (unformat_check_input (line) != UNFORMAT_END_OF_INPUT)
    {
      if (unformat (line, "add"))
	is_add = 1;
      else if (unformat (line, "del"))
	is_add = 0;
      else if (unformat (line, "ue %U/%u", unformat_ip6_address, &ue.ip6,
			 &len))
	{
	  if (len != 64)
	    {
	      err = clib_error_return (0, "an IPv6 UE is a /64 prefix");
	      goto done;
	    }
	  ue_is_ip6 = have_ue = 1;
	}
      else if (unformat (line, "ue %U/32", unformat_ip4_address, &ue.ip4) ||
	       unformat (line, "ue %U", unformat_ip4_address, &ue.ip4))
	have_ue = 1;
      else if (unformat (line, "gnb %U", unformat_ip4_address, v.gnb))
	;
      else if (unformat (line, "teid %u", &teid))
	;
      else if (unformat (line, "qfi %u", &qfi))
	;
      else if (unformat (line, "rqi"))
	v.rqi = 1;
      else
	{
	  err = clib_error_return (0, "unknown input '%U'",
				   format_unformat_error, line);
	  goto done;
	}
    }
  if (is_add < 0 || !have_ue)
    {
      err = clib_error_return (0, "add|del and ue are needed");
      goto done;
    }
  v.teid = teid;
  v.qfi = qfi > 255 ? 255 : qfi;
  rv = srv6_mup_session_add_del (is_add, &ue, ue_is_ip6, &v, &replaced);
  if (rv)
    err = last_error (rv);
  else if (replaced)
    vlib_cli_output (vm, "session replaced (handover)");
done:
  unformat_free (line);
  return err;
}

VLIB_CLI_COMMAND (srv6_mup_session_command, static) = {
  .path = "srv6-mup session",
  .short_help = "srv6-mup session add|del ue <ip4|ip6/64> [gnb <ip4> "
		"teid <n> [qfi <n>] [rqi]]",
  .function = srv6_mup_session_command_fn,
};

static clib_error_t *
srv6_mup_map_command_fn (vlib_main_t *vm, unformat_input_t *input,
			 vlib_cli_command_t *cmd)
{
  ip6_address_t from, to;
  u32 index = ~0;
  int is_add = -1, rv;
  clib_memset (&to, 0, sizeof (to));
  if (unformat (input, "add sid %u %U %U", &index, unformat_ip6_address, &from,
		unformat_ip6_address, &to))
    is_add = 1;
  else if (unformat (input, "del sid %u %U", &index, unformat_ip6_address,
		     &from))
    is_add = 0;
  else
    return clib_error_return (0, "expected add sid N FROM TO | del sid N "
				 "FROM");
  rv = srv6_mup_map_add_del (index, is_add, &from, &to);
  return rv ? last_error (rv) : 0;
}

VLIB_CLI_COMMAND (srv6_mup_map_command, static) = {
  .path = "srv6-mup map",
  .short_help = "srv6-mup map add|del sid <index> <from-ip6> [<to-ip6>]",
  .function = srv6_mup_map_command_fn,
};

static clib_error_t *
srv6_mup_type2_command_fn (vlib_main_t *vm, unformat_input_t *input,
			   vlib_cli_command_t *cmd)
{
  ip4_address_t n3;
  ip6_address_t seg;
  u32 index = ~0, teid = 0;
  int is_add = -1, rv;
  clib_memset (&seg, 0, sizeof (seg));
  if (unformat (input, "add sid %u n3 %U teid %u segment %U", &index,
		unformat_ip4_address, &n3, &teid, unformat_ip6_address, &seg))
    is_add = 1;
  else if (unformat (input, "del sid %u n3 %U teid %u", &index,
		     unformat_ip4_address, &n3, &teid))
    is_add = 0;
  else
    return clib_error_return (0, "expected add sid N n3 A.B.C.D teid T "
				 "segment X:: | del sid N n3 A.B.C.D teid T");
  rv = srv6_mup_type2_add_del (index, is_add, &n3, teid, &seg);
  return rv ? last_error (rv) : 0;
}

VLIB_CLI_COMMAND (srv6_mup_type2_command, static) = {
  .path = "srv6-mup type2",
  .short_help = "srv6-mup type2 add|del sid <index> n3 <ip4> teid <n> "
		"[segment <ip6>]",
  .function = srv6_mup_type2_command_fn,
};

static clib_error_t *
show_srv6_mup_sids_fn (vlib_main_t *vm, unformat_input_t *input,
		       vlib_cli_command_t *cmd)
{
  srv6_mup_main_t *mm = &srv6_mup_main;
  srv6_mup_sid_t *sid;
  vlib_cli_output (vm, "srv6-mup SIDs: %u", pool_elts (mm->sids));
  pool_foreach (sid, mm->sids)
    vlib_cli_output (vm, "%U", format_srv6_mup_sid, sid,
		     (u32) (sid - mm->sids));
  return 0;
}

VLIB_CLI_COMMAND (show_srv6_mup_sids_command, static) = {
  .path = "show srv6-mup sids",
  .short_help = "show srv6-mup sids",
  .function = show_srv6_mup_sids_fn,
};

static clib_error_t *
show_srv6_mup_sessions_fn (vlib_main_t *vm, unformat_input_t *input,
			   vlib_cli_command_t *cmd)
{
  srv6_mup_main_t *mm = &srv6_mup_main;
  mup_sess_table_t *t = &mm->t1st;
  u32 i, shown = 0, max = 100;

  unformat (input, "max %u", &max);
  vlib_cli_output (vm, "Type 1 sessions: %u of %u slots", t->count,
		   mm->t1st_size);
  for (i = 0; t->slots && i <= t->mask && shown < max; i++)
    {
      mup_sess_slot_t *sl = &t->slots[i];
      const mup_t1st_t *v;
      if (sl->used != 1)
	continue;
      v = &sl->val[sl->sel & 1];
      if (((u32 *) sl->key)[1] == 0)
	vlib_cli_output (vm, "  ue %U -> gnb %U teid %u qfi %u%s",
			 format_ip4_address, sl->key, format_ip4_address,
			 v->gnb, v->teid, v->qfi, v->rqi ? " rqi" : "");
      else
	vlib_cli_output (vm, "  ue %U/64 -> gnb %U teid %u qfi %u%s",
			 format_ip6_address, sl->key, format_ip4_address,
			 v->gnb, v->teid, v->qfi, v->rqi ? " rqi" : "");
      shown++;
    }
  return 0;
}

VLIB_CLI_COMMAND (show_srv6_mup_sessions_command, static) = {
  .path = "show srv6-mup sessions",
  .short_help = "show srv6-mup sessions [max N]",
  .function = show_srv6_mup_sessions_fn,
};

static clib_error_t *
show_srv6_mup_counters_fn (vlib_main_t *vm, unformat_input_t *input,
			   vlib_cli_command_t *cmd)
{
  srv6_mup_main_t *mm = &srv6_mup_main;
  srv6_mup_sid_t *sid;
  vlib_counter_t c;
  u32 e;

  pool_foreach (sid, mm->sids)
    {
      u32 si = sid - mm->sids;
      vlib_get_combined_counter (&mm->fwd_counters, si, &c);
      vlib_cli_output (vm, "[%u] %s %U/%u", si,
		       mup_behavior_name (sid->args.behavior),
		       format_ip46_address, &sid->args.prefix,
		       sid->args.prefix_is_ip6 ? IP46_TYPE_IP6 : IP46_TYPE_IP4,
		       sid->args.prefix_len);
      vlib_cli_output (vm, "  %-24s %llu packets %llu bytes", "forwarded",
		       c.packets, c.bytes);
      for (e = 1; e < MUP_E_N; e++)
	{
	  u64 v =
	    vlib_get_simple_counter (&mm->drop_counters, si * MUP_E_N + e);
	  if (v)
	    vlib_cli_output (vm, "  %-24s %llu", mup_error_name (e), v);
	}
    }
  vlib_cli_output (vm, "end markers sent %llu, not sent %llu",
		   mm->end_markers_sent, mm->end_markers_not_sent);
  return 0;
}

VLIB_CLI_COMMAND (show_srv6_mup_counters_command, static) = {
  .path = "show srv6-mup counters",
  .short_help = "show srv6-mup counters",
  .function = show_srv6_mup_counters_fn,
};
