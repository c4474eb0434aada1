/*
 * gen.c - embedded packet generator (see gen.h for the semantics).
 *
 * Per packet: pick a stream (smooth weighted round robin), memcpy its
 * template (from the IP header on when stripping L2), advance its
 * variables, run its instructions over the copy.
 * No allocation after mup_gen_add_stream.
 */
#include <stdlib.h>
#include <string.h>

#include "gen.h"

typedef struct
{
  uint8_t *tmpl;
  uint32_t len;
  uint32_t l2_len; /* Ethernet (+ VLAN tags) before the IP header */
  int64_t weight;
  int64_t current; /* SWRR state */
  uint64_t count;  /* packets produced */
  uint64_t rng;	   /* xorshift64* state */
  uint64_t seed;
  uint32_t n_vars, n_insns;
  mup_gen_var_t vars[MUP_GEN_MAX_VARS];
  uint64_t val[MUP_GEN_MAX_VARS];
  mup_gen_insn_t insns[MUP_GEN_MAX_INSNS];
} mup_gen_stream_t;

struct mup_gen
{
  mup_gen_stream_t **streams;
  uint32_t n_streams;
  int64_t total_weight;
  uint32_t max_len;    /* longest template, L2 included */
  uint32_t max_ip_len; /* longest template without its L2 header */
};

static uint64_t
size_mask (uint8_t size)
{
  return size >= 8 ? ~0ull : ((1ull << (8 * size)) - 1);
}

/* xorshift64* (Vigna 2016): fast, deterministic. */
static uint64_t
gen_rand (uint64_t *s)
{
  uint64_t x = *s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 0x2545F4914F6CDD1Dull;
}

/* trex-core stream VM inc_mod/dec_mod: the restart consumes one step. */
static uint64_t
inc_mod (uint64_t lo, uint64_t hi, uint64_t cur, uint64_t step)
{
  uint64_t left = hi - cur;
  return step <= left ? cur + step : lo + (step - left - 1);
}

static uint64_t
dec_mod (uint64_t lo, uint64_t hi, uint64_t cur, uint64_t step)
{
  uint64_t left = cur - lo;
  return step <= left ? cur - step : hi - (step - left - 1);
}

static uint64_t
rand_range (uint64_t *s, uint64_t lo, uint64_t hi)
{
  uint64_t r = gen_rand (s);
  if (hi - lo == ~0ull)
    return r;
  return lo + r % (hi - lo + 1);
}

static uint32_t
l2_length (const uint8_t *p, uint32_t len)
{
  uint32_t off = 12;
  /* 802.1Q / 802.1ad tags, any depth */
  while (off + 4 <= len)
    {
      uint16_t et = (uint16_t) (p[off] << 8 | p[off + 1]);
      if (et != 0x8100 && et != 0x88a8 && et != 0x9100)
	break;
      off += 4;
    }
  return off + 2;
}

mup_gen_t *
mup_gen_new (void)
{
  return calloc (1, sizeof (mup_gen_t));
}

void
mup_gen_free (mup_gen_t *g)
{
  if (!g)
    return;
  for (uint32_t i = 0; i < g->n_streams; i++)
    {
      free (g->streams[i]->tmpl);
      free (g->streams[i]);
    }
  free (g->streams);
  free (g);
}

static void
stream_reset (mup_gen_stream_t *s)
{
  s->count = 0;
  s->current = 0;
  s->rng = s->seed;
  for (uint32_t v = 0; v < s->n_vars; v++)
    s->val[v] = s->vars[v].init;
}

int
mup_gen_add_stream (mup_gen_t *g, const uint8_t *tmpl, uint32_t len,
		    uint32_t weight, const mup_gen_var_t *vars,
		    uint32_t n_vars, const mup_gen_insn_t *insns,
		    uint32_t n_insns)
{
  if (!g || !tmpl || len < 14 || len > 0xffff || weight == 0 ||
      n_vars > MUP_GEN_MAX_VARS || n_insns > MUP_GEN_MAX_INSNS ||
      (n_vars && !vars) || (n_insns && !insns))
    return MUP_GEN_E_ARG;

  for (uint32_t v = 0; v < n_vars; v++)
    {
      const mup_gen_var_t *x = &vars[v];
      uint64_t m = size_mask (x->size);
      if (x->size != 1 && x->size != 2 && x->size != 4 && x->size != 8)
	return MUP_GEN_E_VAR;
      if (x->op > MUP_GEN_OP_RANDOM || x->min > x->max || x->max > m)
	return MUP_GEN_E_VAR;
      if (x->op != MUP_GEN_OP_RANDOM &&
	  (x->init < x->min || x->init > x->max || x->step == 0))
	return MUP_GEN_E_VAR;
    }
  for (uint32_t i = 0; i < n_insns; i++)
    {
      const mup_gen_insn_t *x = &insns[i];
      switch (x->kind)
	{
	case MUP_GEN_INSN_WRITE:
	  if (x->var >= n_vars ||
	      (uint32_t) x->offset + vars[x->var].size > len)
	    return MUP_GEN_E_INSN;
	  break;
	case MUP_GEN_INSN_FIX_IP4:
	  if ((uint32_t) x->offset + 20 > len)
	    return MUP_GEN_E_INSN;
	  break;
	case MUP_GEN_INSN_FIX_L4:
	  if ((x->var != 17 && x->var != 6) || x->add < x->offset + 20u ||
	      x->add + (x->var == 17 ? 8u : 20u) > len)
	    return MUP_GEN_E_INSN;
	  break;
	default:
	  return MUP_GEN_E_INSN;
	}
    }

  mup_gen_stream_t *s = calloc (1, sizeof (*s));
  mup_gen_stream_t **ns =
    realloc (g->streams, (g->n_streams + 1) * sizeof (*ns));
  if (!s || !ns || !(s->tmpl = malloc (len)))
    {
      if (s)
	free (s->tmpl);
      free (s);
      if (ns)
	g->streams = ns;
      return MUP_GEN_E_NOMEM;
    }
  g->streams = ns;
  memcpy (s->tmpl, tmpl, len);
  s->len = len;
  s->l2_len = l2_length (tmpl, len);
  s->weight = weight;
  s->n_vars = n_vars;
  s->n_insns = n_insns;
  if (n_vars)
    memcpy (s->vars, vars, n_vars * sizeof (*vars));
  if (n_insns)
    memcpy (s->insns, insns, n_insns * sizeof (*insns));
  /* deterministic, distinct per stream, never zero */
  s->seed = 0x9E3779B97F4A7C15ull * (g->n_streams + 1);
  stream_reset (s);
  g->streams[g->n_streams] = s;
  g->total_weight += weight;
  if (len > g->max_len)
    g->max_len = len;
  if (len - s->l2_len > g->max_ip_len)
    g->max_ip_len = len - s->l2_len;
  return (int) g->n_streams++;
}

uint64_t
mup_gen_stream_count (const mup_gen_t *g, uint32_t i)
{
  return g && i < g->n_streams ? g->streams[i]->count : 0;
}

void
mup_gen_reset (mup_gen_t *g)
{
  for (uint32_t i = 0; g && i < g->n_streams; i++)
    stream_reset (g->streams[i]);
}

/* Smooth weighted round robin: every stream gains its weight, the richest
   sends and pays the total.  Exact shares over any window of total_weight
   packets, evenly spread. */
static mup_gen_stream_t *
pick (mup_gen_t *g)
{
  mup_gen_stream_t *best = g->streams[0];
  if (g->n_streams == 1)
    return best;
  for (uint32_t i = 0; i < g->n_streams; i++)
    {
      mup_gen_stream_t *s = g->streams[i];
      s->current += s->weight;
      if (s->current > best->current)
	best = s;
    }
  best->current -= g->total_weight;
  return best;
}

static uint32_t
csum_add (uint32_t sum, const uint8_t *p, uint32_t n)
{
  for (uint32_t i = 0; i + 1 < n; i += 2)
    sum += (uint32_t) (p[i] << 8 | p[i + 1]);
  if (n & 1)
    sum += (uint32_t) p[n - 1] << 8;
  return sum;
}

static uint16_t
csum_fold (uint32_t sum)
{
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t) ~sum;
}

/* p: packet as laid out in the template (offset 0 = template byte 0). */
static void
fix_ip4 (uint8_t *p, uint32_t len, uint32_t off)
{
  uint32_t ihl = (uint32_t) (p[off] & 0x0f) * 4;
  if (ihl < 20 || off + ihl > len)
    return;
  p[off + 10] = p[off + 11] = 0;
  uint16_t c = csum_fold (csum_add (0, p + off, ihl));
  p[off + 10] = (uint8_t) (c >> 8);
  p[off + 11] = (uint8_t) c;
}

static void
fix_l4 (uint8_t *p, uint32_t len, uint32_t l3, uint32_t l4, uint8_t proto)
{
  uint32_t end, sum = 0;
  if ((p[l3] >> 4) == 4)
    {
      end = l3 + (uint32_t) (p[l3 + 2] << 8 | p[l3 + 3]);
      sum = csum_add (sum, p + l3 + 12, 8);
    }
  else if ((p[l3] >> 4) == 6 && l3 + 40 <= len)
    {
      end = l3 + 40 + (uint32_t) (p[l3 + 4] << 8 | p[l3 + 5]);
      sum = csum_add (sum, p + l3 + 8, 32);
    }
  else
    return;
  if (end > len || end < l4 + 8)
    return;
  uint32_t l4_len = end - l4;
  uint32_t csum_off = l4 + (proto == 17 ? 6 : 16);
  if (csum_off + 2 > end)
    return;
  sum += proto + l4_len;
  p[csum_off] = p[csum_off + 1] = 0;
  uint16_t c = csum_fold (csum_add (sum, p + l4, l4_len));
  if (proto == 17 && c == 0)
    c = 0xffff; /* RFC 768: zero means no checksum */
  p[csum_off] = (uint8_t) (c >> 8);
  p[csum_off + 1] = (uint8_t) c;
}

static void
advance_vars (mup_gen_stream_t *s)
{
  for (uint32_t v = 0; v < s->n_vars; v++)
    {
      const mup_gen_var_t *x = &s->vars[v];
      switch (x->op)
	{
	case MUP_GEN_OP_INC:
	  s->val[v] = inc_mod (x->min, x->max, s->val[v], x->step);
	  break;
	case MUP_GEN_OP_DEC:
	  s->val[v] = dec_mod (x->min, x->max, s->val[v], x->step);
	  break;
	default:
	  break;
	}
    }
}

/* p: the packet from template offset skip on (the L2 header is gone when
   skip != 0; instructions that address it are skipped). */
static void
run_vm (mup_gen_stream_t *s, uint8_t *p, uint32_t skip)
{
  uint32_t len = s->len - skip;

  /* random variables draw a fresh value for every packet */
  for (uint32_t v = 0; v < s->n_vars; v++)
    if (s->vars[v].op == MUP_GEN_OP_RANDOM)
      s->val[v] = rand_range (&s->rng, s->vars[v].min, s->vars[v].max);

  for (uint32_t i = 0; i < s->n_insns; i++)
    {
      const mup_gen_insn_t *x = &s->insns[i];
      if (x->offset < skip)
	continue;
      uint32_t off = x->offset - skip;
      if (x->kind == MUP_GEN_INSN_WRITE)
	{
	  uint8_t size = s->vars[x->var].size;
	  uint64_t val = (s->val[x->var] + x->add) & size_mask (size);
	  uint8_t *d = p + off;
	  for (uint8_t b = 0; b < size; b++)
	    {
	      uint8_t byte = (uint8_t) (val >> (8 * b));
	      if (x->big_endian)
		d[size - 1 - b] = byte;
	      else
		d[b] = byte;
	    }
	}
      else if (x->kind == MUP_GEN_INSN_FIX_IP4)
	fix_ip4 (p, len, off);
      else
	fix_l4 (p, len, off, (uint32_t) x->add - skip, x->var);
    }
}

uint32_t
mup_gen_fill (mup_gen_t *g, uint8_t *buf, uint32_t stride, uint16_t headroom,
	      mup_pkt_t *pkts, uint32_t n, int strip_l2)
{
  if (!g || !g->n_streams || !buf || !pkts)
    return 0;
  if ((uint64_t) headroom + (strip_l2 ? g->max_ip_len : g->max_len) > stride)
    return 0;

  for (uint32_t i = 0; i < n; i++)
    {
      mup_gen_stream_t *s = pick (g);
      uint8_t *slot = buf + (size_t) i * stride + headroom;
      uint32_t skip = strip_l2 ? s->l2_len : 0;
      memcpy (slot, s->tmpl + skip, s->len - skip);
      if (s->count)
	advance_vars (s);
      run_vm (s, slot, skip);
      s->count++;
      mup_pkt_t *pk = &pkts[i];
      memset (pk, 0, sizeof (*pk));
      pk->data = slot;
      pk->len = (uint16_t) (s->len - skip);
      pk->headroom = headroom;
      pk->tailroom = (uint16_t) (stride - headroom - pk->len);
      pk->next = MUP_NEXT_DROP;
      pk->error = MUP_E_NONE;
    }
  return n;
}
