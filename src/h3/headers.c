/*
 * headers.c: field storage and HTTP/3 message well-formedness checks
 * (RFC 9114 §4.2, §4.3; RFC 9220 §3).
 */
#include "h3/headers.h"

#include <stdlib.h>
#include <string.h>

#include "webtransport.h"

void wt_h3_headers_init(wt_h3_headers *h) { memset(h, 0, sizeof(*h)); }

void wt_h3_headers_free(wt_h3_headers *h) {
  for (size_t i = 0; i < h->n; i++)
    free(h->fields[i].name);
  free(h->fields);
  wt_h3_headers_init(h);
}

int wt_h3_headers_add(wt_h3_headers *h, const char *name, size_t name_len, const char *value, size_t value_len) {
  if (h->n == h->cap) {
    size_t ncap = h->cap ? h->cap * 2 : 16;
    wt_h3_field *nf = realloc(h->fields, ncap * sizeof(*nf));
    if (!nf) return WT_ERR_NOMEM;
    h->fields = nf;
    h->cap = ncap;
  }
  /* One allocation holds "name\0value\0". */
  char *mem = malloc(name_len + value_len + 2);
  if (!mem) return WT_ERR_NOMEM;
  memcpy(mem, name, name_len);
  mem[name_len] = 0;
  memcpy(mem + name_len + 1, value, value_len);
  mem[name_len + 1 + value_len] = 0;
  h->fields[h->n++] = (wt_h3_field){mem, mem + name_len + 1, name_len, value_len};
  return 0;
}

const char *wt_h3_headers_get(const wt_h3_headers *h, const char *name) {
  for (size_t i = 0; i < h->n; i++)
    if (strcmp(h->fields[i].name, name) == 0) return h->fields[i].value;
  return NULL;
}

/* RFC 9110 §5.6.2 tchar, lowercase only (RFC 9114 §4.2). */
static int valid_name_char(unsigned char c) {
  if (c >= 'a' && c <= 'z') return 1;
  if (c >= '0' && c <= '9') return 1;
  return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int valid_name(const wt_h3_field *f) {
  size_t i = f->name[0] == ':' ? 1 : 0;
  if (f->name_len <= i) return 0;
  for (; i < f->name_len; i++)
    if (!valid_name_char((unsigned char)f->name[i])) return 0;
  return 1;
}

/* RFC 9114 §4.2 / RFC 9110 §5.5: NUL, CR and LF are never valid, nor is
 * leading or trailing whitespace. */
static int valid_value(const wt_h3_field *f) {
  for (size_t i = 0; i < f->value_len; i++) {
    unsigned char c = (unsigned char)f->value[i];
    if (c == 0 || c == '\r' || c == '\n') return 0;
  }
  if (f->value_len) {
    char a = f->value[0], z = f->value[f->value_len - 1];
    if (a == ' ' || a == '\t' || z == ' ' || z == '\t') return 0;
  }
  return 1;
}

static int connection_specific(const wt_h3_field *f) {
  static const char *const banned[] = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"};
  for (size_t i = 0; i < sizeof(banned) / sizeof(banned[0]); i++)
    if (strcmp(f->name, banned[i]) == 0) return 1;
  return strcmp(f->name, "te") == 0 && strcmp(f->value, "trailers") != 0;
}

/* Common checks; records pseudo-headers through `pseudo`, which returns 0
 * to accept one. */
typedef int (*pseudo_fn)(wt_h3_headers *h, const wt_h3_field *f);

static int check_fields(wt_h3_headers *h, pseudo_fn pseudo, const char **why) {
  int seen_regular = 0;
  for (size_t i = 0; i < h->n; i++) {
    const wt_h3_field *f = &h->fields[i];
    if (!valid_name(f)) return *why = "invalid field name", WT_ERR_PROTO;
    if (!valid_value(f)) return *why = "invalid field value", WT_ERR_PROTO;
    if (f->name[0] == ':') {
      if (seen_regular) return *why = "pseudo-header after regular field", WT_ERR_PROTO;
      if (!pseudo || pseudo(h, f)) return *why = "unknown, duplicate or misplaced pseudo-header", WT_ERR_PROTO;
    } else {
      seen_regular = 1;
      if (connection_specific(f)) return *why = "connection-specific field", WT_ERR_PROTO;
    }
  }
  return 0;
}

static int set_once(const char **slot, const wt_h3_field *f) {
  if (*slot) return -1;
  *slot = f->value;
  return 0;
}

static int request_pseudo(wt_h3_headers *h, const wt_h3_field *f) {
  if (strcmp(f->name, ":method") == 0) return set_once(&h->method, f);
  if (strcmp(f->name, ":scheme") == 0) return set_once(&h->scheme, f);
  if (strcmp(f->name, ":authority") == 0) return set_once(&h->authority, f);
  if (strcmp(f->name, ":path") == 0) return set_once(&h->path, f);
  if (strcmp(f->name, ":protocol") == 0) return set_once(&h->protocol, f);
  return -1;
}

/* RFC 9110 §8.6: content-length is digits; several fields, or a list in
 * one, must all agree (RFC 9114 §4.1.2 then compares it with the DATA
 * received). */
static int check_content_length(wt_h3_headers *h, const char **why) {
  h->has_content_length = 0;
  h->content_length = 0;
  for (size_t i = 0; i < h->n; i++) {
    if (strcmp(h->fields[i].name, "content-length") != 0) continue;
    const char *p = h->fields[i].value;
    do {
      while (*p == ' ' || *p == '\t')
        p++;
      uint64_t v = 0;
      const char *start = p;
      for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_C(1) << 62) / 10) return *why = "invalid content-length", WT_ERR_PROTO;
        v = v * 10 + (uint64_t)(*p - '0');
      }
      while (*p == ' ' || *p == '\t')
        p++;
      if (p == start || (*p && *p != ',')) return *why = "invalid content-length", WT_ERR_PROTO;
      if (h->has_content_length && v != h->content_length) return *why = "conflicting content-length", WT_ERR_PROTO;
      h->has_content_length = 1;
      h->content_length = v;
    } while (*p++ == ',');
  }
  return 0;
}

/* RFC 9114 §4.3.1: http(s) requests name their authority in :authority or
 * host; neither may be empty, and both must agree. */
static int check_authority(const wt_h3_headers *h, const char **why) {
  const char *host = wt_h3_headers_get(h, "host");
  if ((h->authority && !*h->authority) || (host && !*host)) return *why = "empty :authority or host", WT_ERR_PROTO;
  if (h->authority && host && strcmp(h->authority, host) != 0)
    return *why = ":authority and host disagree", WT_ERR_PROTO;
  int needs = h->scheme && (strcmp(h->scheme, "https") == 0 || strcmp(h->scheme, "http") == 0);
  if (needs && !h->authority && !host) return *why = "http(s) request without :authority or host", WT_ERR_PROTO;
  return 0;
}

int wt_h3_headers_check_request(wt_h3_headers *h, int allow_protocol, const char **why) {
  h->method = h->scheme = h->authority = h->path = h->protocol = NULL;
  int rv = check_fields(h, request_pseudo, why);
  if (!rv) rv = check_content_length(h, why);
  if (!rv) rv = check_authority(h, why);
  if (rv) return rv;
  if (!h->method || !*h->method) return *why = "missing :method", WT_ERR_PROTO;
  int connect = strcmp(h->method, "CONNECT") == 0;
  if (h->protocol) {
    if (!allow_protocol || !connect) return *why = ":protocol without extended CONNECT", WT_ERR_PROTO;
    if (!h->scheme || !h->path || !h->authority || !*h->path || !*h->authority)
      return *why = "extended CONNECT needs :scheme, :path and :authority", WT_ERR_PROTO;
    return 0;
  }
  if (connect) {
    if (h->scheme || h->path || !h->authority) return *why = "malformed CONNECT", WT_ERR_PROTO;
    return 0;
  }
  if (!h->scheme || !h->path || !*h->path) return *why = "missing :scheme or :path", WT_ERR_PROTO;
  return 0;
}

static int response_pseudo(wt_h3_headers *h, const wt_h3_field *f) {
  if (strcmp(f->name, ":status") != 0 || h->status) return -1;
  if (f->value_len != 3) return -1;
  int v = 0;
  for (int i = 0; i < 3; i++) {
    if (f->value[i] < '0' || f->value[i] > '9') return -1;
    v = v * 10 + (f->value[i] - '0');
  }
  if (v < 100 || v > 599) return -1;
  h->status = v;
  return 0;
}

int wt_h3_headers_check_response(wt_h3_headers *h, const char **why) {
  h->status = 0;
  int rv = check_fields(h, response_pseudo, why);
  if (!rv) rv = check_content_length(h, why);
  if (rv) return rv;
  if (!h->status) return *why = "missing :status", WT_ERR_PROTO;
  return 0;
}

int wt_h3_headers_check_trailers(const wt_h3_headers *h, const char **why) {
  return check_fields((wt_h3_headers *)h, NULL, why);
}
