/*
 * utf8.c: UTF-8 checks (see utf8.h).
 */
#include "util/utf8.h"

/* Length of the sequence starting with lead byte c and the allowed range of
 * the second byte (which is what rules out overlongs and surrogates). */
static int seq_info(uint8_t c, uint8_t *lo, uint8_t *hi) {
  *lo = 0x80;
  *hi = 0xbf;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) return 2;
  if (c >= 0xe0 && c <= 0xef) {
    if (c == 0xe0) *lo = 0xa0;
    if (c == 0xed) *hi = 0x9f;
    return 3;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    if (c == 0xf0) *lo = 0x90;
    if (c == 0xf4) *hi = 0x8f;
    return 4;
  }
  return 0;
}

int wt_utf8_valid(const uint8_t *p, size_t len) {
  size_t i = 0;
  while (i < len) {
    uint8_t lo, hi;
    int n = seq_info(p[i], &lo, &hi);
    if (n == 0 || len - i < (size_t)n) return 0;
    if (n > 1 && (p[i + 1] < lo || p[i + 1] > hi)) return 0;
    for (int k = 2; k < n; k++)
      if ((p[i + k] & 0xc0) != 0x80) return 0;
    i += (size_t)n;
  }
  return 1;
}

size_t wt_utf8_truncate(const uint8_t *p, size_t len, size_t max) {
  if (len <= max) return len;
  size_t n = max;
  /* Back up over continuation bytes to the start of the character that
   * straddles the cut, then drop it. */
  while (n > 0 && (p[n] & 0xc0) == 0x80)
    n--;
  return n;
}
