/*
 * json.c: JSON string literals (see json.h).
 */
#include "util/json.h"

#include <stdio.h>

size_t wt_json_string(char *out, size_t cap, const char *s) {
  size_t n = 0;
  out[n++] = '"';
  for (; s && *s; s++) {
    unsigned char ch = (unsigned char)*s;
    char esc[8];
    size_t k;
    if (ch == '"' || ch == '\\')
      k = (size_t)snprintf(esc, sizeof(esc), "\\%c", ch);
    else if (ch < 0x20)
      k = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", ch);
    else
      esc[0] = (char)ch, k = 1;
    if (n + k + 2 > cap) {
      /* Do not leave half a UTF-8 sequence before the closing quote. */
      while (n > 1 && ((unsigned char)out[n - 1] & 0xc0) == 0x80)
        n--;
      if (n > 1 && ((unsigned char)out[n - 1] & 0xc0) == 0xc0) n--;
      break;
    }
    for (size_t i = 0; i < k; i++)
      out[n++] = esc[i];
  }
  out[n++] = '"';
  out[n] = 0;
  return n;
}
