/*
 * toolutil.c: helpers for the command-line tools (see toolutil.h).
 */
#include "toolutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double tool_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void tool_log(wt_log_level level, const char *line, void *user_data) {
  static const char *const names[] = {"error", "warn", "info", "debug"};
  const char *prog = user_data ? user_data : "wt";
  fprintf(stderr, "%s: %s: %s\n", prog, names[level], line);
}

int tool_parse_cc(const char *s, wt_cc_algo *out) {
  static const struct {
    const char *name;
    wt_cc_algo cc;
  } names[] = {{"cubic", WT_CC_CUBIC}, {"reno", WT_CC_RENO}, {"bbr", WT_CC_BBR}, {"bbr2", WT_CC_BBR2}};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    if (strcmp(s, names[i].name) == 0) {
      *out = names[i].cc;
      return 0;
    }
  return -1;
}

int tool_parse_size(const char *s, uint64_t *out) {
  char *end;
  unsigned long long v = strtoull(s, &end, 10);
  if (end == s) return -1;
  switch (*end) {
  case 'k':
  case 'K':
    v <<= 10;
    end++;
    break;
  case 'm':
  case 'M':
    v <<= 20;
    end++;
    break;
  case 'g':
  case 'G':
    v <<= 30;
    end++;
    break;
  default: break;
  }
  if (*end) return -1;
  *out = v;
  return 0;
}

void tool_rng_seed(tool_rng *r, uint64_t seed) {
  r->s = seed * 0x9e3779b97f4a7c15ULL + 1;
  r->cur = 0;
  r->pos = 0;
}

void tool_rng_fill(tool_rng *r, uint8_t *out, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (r->pos == 0) {
      r->s ^= r->s >> 12;
      r->s ^= r->s << 25;
      r->s ^= r->s >> 27;
      r->cur = r->s * 0x2545F4914F6CDD1DULL;
    }
    out[i] = (uint8_t)(r->cur >> (8 * r->pos));
    r->pos = (r->pos + 1) & 7;
  }
}

void tool_base64(const uint8_t *in, size_t n, char *out) {
  static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
    out[o++] = tbl[v >> 18 & 63];
    out[o++] = tbl[v >> 12 & 63];
    out[o++] = i + 1 < n ? tbl[v >> 6 & 63] : '=';
    out[o++] = i + 2 < n ? tbl[v & 63] : '=';
  }
  out[o] = 0;
}

char *tool_read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = malloc(1 << 20);
  size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
  if (buf && ferror(f)) {
    free(buf);
    buf = NULL;
    errno = EIO;
  }
  if (buf) buf[n] = 0;
  fclose(f);
  return buf;
}
