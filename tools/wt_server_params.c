/*
 * wt_server_params.c: parsing and validation of wt-server's /echo query
 * parameters (see wt_server_params.h).
 *
 * Values are percent-decoded ('+' means a space, as in HTML forms and
 * URLSearchParams). Names are matched exactly, undecoded. A protocols=
 * value is split at its literal commas before decoding, so "%2C" can put
 * a comma inside a name. Empty segments ("a=1&&b=2") are skipped.
 */
#include "wt_server_params.h"

#include <stdlib.h>
#include <string.h>

#include "util/utf8.h" /* the library's validator: the same rules the peer applies */

enum { P_PROTOCOLS, P_CLOSE_AFTER, P_CODE, P_REASON, P_DRAIN_AFTER, P_OPEN_UNI, P_OPEN_BIDI, P_RESET, P_STOP, P_N };

static const char *const names[P_N] = {"protocols", "close_after_ms", "code",       "reason",   "drain_after_ms",
                                       "open_uni",  "open_bidi",      "reset_code", "stop_code"};

/* Decoded strings go to `w`, a cursor into p->store. Decoding never
 * lengthens a value, so the query's length bounds what is written. */
typedef struct parser {
  wts_params *p;
  char *w;
  unsigned seen; /* a bit per parameter, to refuse repeats */
  const char *why;
} parser;

static int fail(parser *ps, const char *why) {
  ps->why = why;
  return -1;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decodes in[0..n) to out; returns the decoded length or -1. */
static long pct_decode(const char *in, size_t n, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (in[i] != '%') {
      out[o++] = in[i] == '+' ? ' ' : in[i];
      continue;
    }
    int hi = i + 2 < n ? hexval(in[i + 1]) : -1;
    int lo = hi >= 0 ? hexval(in[i + 2]) : -1;
    if (lo < 0) return -1;
    out[o++] = (char)(hi << 4 | lo);
    i += 2;
  }
  return (long)o;
}

/* Decimal, or hexadecimal after "0x"; no sign, no spaces, at most `max`. */
static int parse_u32(const char *s, size_t n, uint32_t max, uint32_t *out) {
  unsigned base = 10;
  if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    base = 16;
    s += 2;
    n -= 2;
  }
  if (n == 0) return -1;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    int d = hexval(s[i]);
    if (d < 0 || (unsigned)d >= base) return -1;
    v = v * base + (unsigned)d;
    if (v > max) return -1;
  }
  *out = (uint32_t)v;
  return 0;
}

static int number(parser *ps, const char *raw, size_t n, uint32_t max, uint32_t *out) {
  long len = pct_decode(raw, n, ps->w);
  if (len < 0) return fail(ps, "bad percent-encoding");
  if (parse_u32(ps->w, (size_t)len, max, out)) return fail(ps, "not a number in range");
  return 0;
}

static int printable_ascii(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] < 0x20 || s[i] > 0x7e) return 0;
  return 1;
}

static int protocol_list(parser *ps, const char *raw, size_t n) {
  wts_params *p = ps->p;
  const char *item = raw, *end = raw + n;
  for (;;) {
    const char *comma = memchr(item, ',', (size_t)(end - item));
    const char *stop = comma ? comma : end;
    long len = pct_decode(item, (size_t)(stop - item), ps->w);
    if (len < 0) return fail(ps, "bad percent-encoding");
    if (len == 0) return fail(ps, "empty protocol name");
    if (!printable_ascii(ps->w, (size_t)len)) return fail(ps, "protocol name is not printable ASCII");
    if (p->nprotocols == WTS_MAX_PROTOCOLS) return fail(ps, "too many protocols");
    ps->w[len] = 0;
    p->protocols[p->nprotocols++] = ps->w;
    ps->w += len + 1;
    if (!comma) return 0;
    item = comma + 1;
  }
}

static int reason(parser *ps, const char *raw, size_t n) {
  long len = pct_decode(raw, n, ps->w);
  if (len < 0) return fail(ps, "bad percent-encoding");
  if (len > WTS_REASON_MAX) return fail(ps, "reason longer than 1024 bytes");
  if (!wt_utf8_valid((const uint8_t *)ps->w, (size_t)len)) return fail(ps, "reason is not UTF-8");
  ps->w[len] = 0;
  ps->p->reason = ps->w;
  ps->p->reason_len = (size_t)len;
  ps->w += len + 1;
  return 0;
}

static int value(parser *ps, int which, const char *raw, size_t n) {
  wts_params *p = ps->p;
  switch (which) {
  case P_PROTOCOLS: return protocol_list(ps, raw, n);
  case P_REASON: return reason(ps, raw, n);
  case P_CLOSE_AFTER: p->has_close = 1; return number(ps, raw, n, WTS_MAX_DELAY_MS, &p->close_after_ms);
  case P_CODE: return number(ps, raw, n, UINT32_MAX, &p->close_code);
  case P_DRAIN_AFTER: p->has_drain = 1; return number(ps, raw, n, WTS_MAX_DELAY_MS, &p->drain_after_ms);
  case P_OPEN_UNI: return number(ps, raw, n, WTS_MAX_STREAMS, &p->open_uni);
  case P_OPEN_BIDI: return number(ps, raw, n, WTS_MAX_STREAMS, &p->open_bidi);
  case P_RESET: p->has_reset = 1; return number(ps, raw, n, UINT32_MAX, &p->reset_code);
  default: p->has_stop = 1; return number(ps, raw, n, UINT32_MAX, &p->stop_code);
  }
}

/* One "name=value" segment of n bytes. */
static int segment(parser *ps, const char *seg, size_t n) {
  const char *eq = memchr(seg, '=', n);
  if (!eq) return fail(ps, "parameter without '='");
  size_t nlen = (size_t)(eq - seg);
  int which = 0;
  while (which < P_N && (strlen(names[which]) != nlen || memcmp(names[which], seg, nlen) != 0))
    which++;
  if (which == P_N) return fail(ps, "unknown parameter");
  if (ps->seen & 1u << which) return fail(ps, "repeated parameter");
  ps->seen |= 1u << which;
  return value(ps, which, eq + 1, n - nlen - 1);
}

int wts_params_parse(const char *query, wts_params *p, const char **why) {
  memset(p, 0, sizeof(*p));
  p->reason = "";
  if (!query) query = "";
  size_t qlen = strlen(query);
  p->store = malloc(qlen + 1);
  if (!p->store) {
    *why = "out of memory";
    return -1;
  }
  parser ps = {.p = p, .w = p->store};
  for (const char *s = query; *s;) {
    size_t n = strcspn(s, "&");
    if (n && segment(&ps, s, n)) {
      *why = ps.why;
      return -1;
    }
    s += n + (s[n] == '&');
  }
  if ((ps.seen & (1u << P_CODE | 1u << P_REASON)) && !p->has_close) {
    *why = "code and reason need close_after_ms";
    return -1;
  }
  return 0;
}

void wts_params_free(wts_params *p) {
  free(p->store);
  p->store = NULL;
}
