/*
 * hex.c: SHA-256 <-> hex text, for certificate pinning on the command line
 * and in logs.
 */
#include <ctype.h>

#include "webtransport.h"

void wt_hex_sha256(const uint8_t hash[32], char out[65]) {
  static const char digits[] = "0123456789abcdef";
  for (int i = 0; i < 32; i++) {
    out[2 * i] = digits[hash[i] >> 4];
    out[2 * i + 1] = digits[hash[i] & 15];
  }
  out[64] = 0;
}

static int hexval(int c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = tolower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

int wt_parse_sha256(const char *hex, uint8_t hash[32]) {
  if (!hex || !hash) return WT_ERR_INVALID_ARGUMENT;
  int n = 0;
  for (const char *p = hex; *p;) {
    if (*p == ':' && n > 0) { /* "AB:CD:..." as openssl prints it */
      p++;
      continue;
    }
    int hi = hexval((unsigned char)p[0]);
    int lo = hi < 0 ? -1 : hexval((unsigned char)p[1]);
    if (hi < 0 || lo < 0 || n == 32) return WT_ERR_INVALID_ARGUMENT;
    hash[n++] = (uint8_t)(hi << 4 | lo);
    p += 2;
  }
  return n == 32 ? 0 : WT_ERR_INVALID_ARGUMENT;
}
