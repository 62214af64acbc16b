/*
 * url.c: https URL parsing for clients (see url.h).
 */
#include "util/url.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "webtransport.h"

static int valid_path_byte(unsigned char c) { return c > 0x20 && c < 0x7f && c != '#'; }

/* What may sit between the brackets of an IPv6 literal (as in the WHATWG
 * URL parser: hex pieces, colons and an embedded IPv4 address). */
static int valid_ipv6_byte(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
}

static int parse_port(const char *p, const char *end, uint16_t *port) {
  if (p == end || end - p > 5) return -1;
  unsigned v = 0;
  for (; p < end; p++) {
    if (*p < '0' || *p > '9') return -1;
    v = v * 10 + (unsigned)(*p - '0');
  }
  if (v == 0 || v > 65535) return -1;
  *port = (uint16_t)v;
  return 0;
}

/* Splits "host[:port]" or "[v6][:port]" into its parts. */
static int parse_authority(const char *a, const char *end, wt_url *u) {
  const char *host = a, *host_end, *colon = NULL;
  if (a < end && *a == '[') {
    const char *rb = memchr(a, ']', (size_t)(end - a));
    if (!rb) return -1;
    host = a + 1;
    host_end = rb;
    for (const char *p = host; p < host_end; p++)
      if (!valid_ipv6_byte((unsigned char)*p)) return -1;
    if (rb + 1 < end) {
      if (rb[1] != ':') return -1;
      colon = rb + 1;
    }
  } else {
    host_end = memchr(a, ':', (size_t)(end - a));
    if (host_end)
      colon = host_end;
    else
      host_end = end;
    for (const char *p = host; p < host_end; p++)
      if (!(valid_path_byte((unsigned char)*p)) || *p == '/' || *p == '?' || *p == '[' || *p == ']') return -1;
  }
  size_t hlen = (size_t)(host_end - host);
  if (hlen == 0 || hlen >= sizeof(u->host) || (size_t)(end - a) >= sizeof(u->authority)) return -1;
  memcpy(u->host, host, hlen);
  u->host[hlen] = 0;
  memcpy(u->authority, a, (size_t)(end - a));
  u->authority[end - a] = 0;
  u->port = 443;
  if (colon && parse_port(colon + 1, end, &u->port)) return -1;
  return 0;
}

int wt_url_parse(const char *url, wt_url *u) {
  memset(u, 0, sizeof(*u));
  if (!url || strncasecmp(url, "https://", 8) != 0) return WT_ERR_INVALID_ARGUMENT;
  const char *a = url + 8;
  const char *end = a + strcspn(a, "/?#");
  if (memchr(a, '@', (size_t)(end - a)) || *end == '#') return WT_ERR_INVALID_ARGUMENT;
  if (parse_authority(a, end, u)) return WT_ERR_INVALID_ARGUMENT;
  const char *path = end;
  for (const char *p = path; *p; p++)
    if (!valid_path_byte((unsigned char)*p)) return WT_ERR_INVALID_ARGUMENT;
  size_t plen = strlen(path);
  int need_slash = plen == 0 || path[0] == '?';
  u->path = malloc(plen + 2);
  if (!u->path) return WT_ERR_NOMEM;
  u->path[0] = '/';
  memcpy(u->path + need_slash, path, plen + 1);
  return 0;
}

void wt_url_free(wt_url *u) {
  free(u->path);
  u->path = NULL;
}

/* The host part of "host[:port]" or "[v6][:port]", into out (NUL-terminated).
 * Returns -1 if it does not fit. */
static int host_of(const char *a, char *out, size_t cap) {
  size_t n;
  if (*a == '[') {
    const char *rb = strchr(a, ']');
    if (!rb) return -1;
    n = (size_t)(rb - a - 1);
    a++;
  } else {
    n = strcspn(a, ":/");
  }
  if (n == 0 || n >= cap) return -1;
  memcpy(out, a, n);
  out[n] = 0;
  return 0;
}

int wt_origin_host_matches(const char *origin, const char *authority) {
  const char *sep = origin ? strstr(origin, "://") : NULL;
  char oh[256], ah[256];
  if (!sep || !authority || host_of(sep + 3, oh, sizeof(oh)) || host_of(authority, ah, sizeof(ah))) return 0;
  return strcasecmp(oh, ah) == 0;
}
