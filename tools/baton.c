/*
 * baton.c: Devious Baton rules, parameters and message format (see baton.h).
 */
#include "baton.h"

#include <string.h>

/* ------------------------------------------------------------------------ */
/* Query parameters                                                         */

/* A decimal number of at most 9 digits spanning [s, end). */
static int parse_dec(const char *s, const char *end, uint32_t *out) {
  if (s == end || end - s > 9) return -1;
  uint32_t v = 0;
  for (; s < end; s++) {
    if (*s < '0' || *s > '9') return -1;
    v = v * 10 + (uint32_t)(*s - '0');
  }
  *out = v;
  return 0;
}

static int param_is(const char *s, size_t n, const char *name) { return strlen(name) == n && !memcmp(s, name, n); }

/* One "name=value" segment [s, end). */
static int parse_one(const char *s, const char *end, baton_params *p, unsigned *seen, const char **why) {
  const char *eq = memchr(s, '=', (size_t)(end - s));
  size_t nlen = (size_t)((eq ? eq : end) - s);
  static const char *const names[] = {"version", "baton", "count"};
  int which = -1;
  for (int i = 0; i < 3; i++)
    if (param_is(s, nlen, names[i])) which = i;
  if (which < 0) return 0; /* not ours: ignored */
  if (*seen & (1u << which)) {
    *why = "a parameter is given twice";
    return 400;
  }
  *seen |= 1u << which;
  uint32_t v;
  if (!eq || parse_dec(eq + 1, end, &v)) {
    *why = which == 0   ? "version is not a decimal number"
           : which == 1 ? "baton is not a decimal number"
                        : "count is not a decimal number";
    return 400;
  }
  if (which == 0 && v != BATON_VERSION) {
    *why = "unsupported version (this server speaks devious-baton version 0)";
    return 400;
  }
  if (which == 1 && (v < 1 || v > 255)) {
    *why = "baton must be 1..255";
    return 400;
  }
  if (which == 2 && (v < 1 || v > BATON_MAX_COUNT)) {
    *why = "count must be 1..1024";
    return 400;
  }
  if (which == 0) p->version = v;
  if (which == 1) p->baton = (int)v;
  if (which == 2) p->count = v;
  return 0;
}

int baton_params_parse(const char *query, baton_params *p, const char **why) {
  p->version = BATON_VERSION;
  p->baton = -1;
  p->count = 1;
  unsigned seen = 0;
  for (const char *s = query; s && *s;) {
    const char *end = strchr(s, '&');
    if (!end) end = s + strlen(s);
    if (end > s) {
      int status = parse_one(s, end, p, &seen, why);
      if (status) return status;
    }
    s = *end ? end + 1 : end;
  }
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Messages                                                                 */

size_t baton_encode(uint8_t value, uint64_t padding, uint8_t *out, size_t cap) {
  if (padding > WT_VARINT_MAX) return 0;
  size_t vlen = wt_varint_size(padding);
  if (cap < vlen + 1 || cap - vlen - 1 < padding) return 0;
  uint8_t *p = wt_varint_write(out, padding);
  memset(p, 0, (size_t)padding);
  p[padding] = value;
  return vlen + (size_t)padding + 1;
}

void baton_reader_init(baton_reader *r) {
  memset(r, 0, sizeof(*r));
  r->state = BR_LEN;
  wt_varint_reader_reset(&r->len);
}

int baton_reader_feed(baton_reader *r, const uint8_t *p, size_t n) {
  const uint8_t *end = p + n;
  r->fed += n;
  while (p < end) {
    switch (r->state) {
    case BR_LEN: {
      int done = 0;
      p += wt_varint_reader_feed(&r->len, p, end, &done);
      if (done) {
        r->pad_left = r->len.value;
        r->state = r->pad_left ? BR_PAD : BR_VALUE;
      }
      break;
    }
    case BR_PAD: {
      uint64_t take = (uint64_t)(end - p) < r->pad_left ? (uint64_t)(end - p) : r->pad_left;
      p += take;
      r->pad_left -= take;
      if (!r->pad_left) r->state = BR_VALUE;
      break;
    }
    case BR_VALUE:
      r->value = *p++;
      r->state = BR_DONE;
      break;
    case BR_DONE:
    case BR_BAD: r->state = BR_BAD; return -1;
    }
  }
  return 0;
}

int baton_reader_finish(const baton_reader *r) { return r->state == BR_DONE ? r->value : -1; }

int baton_reader_empty(const baton_reader *r) { return r->fed == 0; }

int baton_decode(const uint8_t *p, size_t n) {
  baton_reader r;
  baton_reader_init(&r);
  if (baton_reader_feed(&r, p, n)) return -1;
  return baton_reader_finish(&r);
}

/* ------------------------------------------------------------------------ */
/* Rules                                                                    */

void baton_game_init(baton_game *g, int is_server, uint32_t count) {
  memset(g, 0, sizeof(*g));
  g->is_server = is_server;
  g->active = count;
}

static void baton_done(baton_game *g) {
  if (g->active) g->active--;
}

baton_step baton_game_on_message(baton_game *g, baton_arrival how, int value, int expected) {
  baton_step st = {0};
  g->received++;
  if (expected >= 0 && value != expected) {
    st.error = BATON_SUS;
    return st;
  }
  /* Draft §4.4: a client echoes values = 1 (mod 7), a server values = 0. */
  st.datagram = value % 7 == (g->is_server ? 0 : 1);
  if (value == 0) {
    st.reply = BATON_REPLY_NONE;
    baton_done(g);
    return st;
  }
  st.value = (uint8_t)(value + 1);
  st.reply = how == BATON_ON_UNI         ? BATON_REPLY_NEW_BIDI
             : how == BATON_ON_PEER_BIDI ? BATON_REPLY_SAME
                                         : BATON_REPLY_NEW_UNI;
  if (st.value == 0) baton_done(g); /* the exchange completes with the 0 we send */
  return st;
}

void baton_game_on_lost(baton_game *g) {
  g->lost++;
  baton_done(g);
}

int baton_game_over(const baton_game *g) { return g->active == 0; }

const char *baton_error_name(uint32_t code) {
  switch (code) {
  case 0: return "no error";
  case BATON_DA_YAMN: return "DA_YAMN (no stream credit to continue)";
  case BATON_BRUH: return "BRUH (malformed baton message)";
  case BATON_SUS: return "SUS (unexpected baton value)";
  case BATON_BORED: return "BORED (waited too long for the next message)";
  default: return "unknown baton error";
  }
}
