/*
 * fuzz_tools.c: the parsers in the tools that any peer reaches: the Devious
 * Baton query and message (tools/baton.c, from a WebTransport client) and
 * the demo page's HTTP/1.1 request head (tools/demo_http.c, from anything
 * on loopback). The first input byte picks the parser.
 *
 * Baton messages are also checked for consistency: feeding the same bytes
 * to the incremental reader in two splits gives the one-shot decoder's
 * verdict, and a message the encoder writes decodes to its value.
 */
#include <stdlib.h>
#include <string.h>

#include "baton.h"
#include "demo_http.h"
#include "fuzz.h"

const fuzz_seed fuzz_seeds[] = {
    FUZZ_SEED("\x00version=0&baton=17&count=16"),
    FUZZ_SEED("\x01\x03\x00\x00\x00\x2a"),
    FUZZ_SEED("\x01\x40\x02\x00\x00\xff"),
    FUZZ_SEED("\x02GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"),
    FUZZ_SEED("\x02GET /config.json HTTP/1.0\r\n\r\n"),
};
const size_t fuzz_nseeds = sizeof(fuzz_seeds) / sizeof(fuzz_seeds[0]);

static int reader_verdict(const uint8_t *p, size_t n, size_t split) {
  baton_reader r;
  baton_reader_init(&r);
  if (baton_reader_feed(&r, p, split) || baton_reader_feed(&r, p + split, n - split)) return -1;
  return baton_reader_finish(&r);
}

static void fuzz_baton_message(const uint8_t *p, size_t n) {
  int whole = baton_decode(p, n);
  if (reader_verdict(p, n, 0) != whole || reader_verdict(p, n, n / 2) != whole || reader_verdict(p, n, n) != whole)
    abort();
  uint8_t msg[64];
  uint8_t value = n ? p[0] : 0;
  uint64_t padding = n > 1 ? p[1] % 40 : 0;
  size_t len = baton_encode(value, padding, msg, sizeof(msg));
  if (!len || baton_decode(msg, len) != value) abort();
}

static void fuzz_demo_head(const uint8_t *p, size_t n) {
  static const uint8_t body[] = "<html></html>";
  static const demo_http_route routes[] = {{"/", "text/html", body, sizeof(body) - 1},
                                           {"/config.json", "application/json", body, 2}};
  char *out = NULL;
  size_t out_len = 0;
  int status = demo_http_respond(routes, 2, (const char *)p, n, &out, &out_len);
  if (status < 100 || status > 599 || (out && !out_len)) abort();
  free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  const uint8_t *p = data + 1;
  size_t n = size - 1;
  switch (data[0] % 3) {
  case 0: {
    char *q = malloc(n + 1);
    if (!q) return 0;
    memcpy(q, p, n);
    q[n] = 0;
    baton_params bp;
    const char *why = NULL;
    if (baton_params_parse(q, &bp, &why) && !why) abort(); /* a refusal always says why */
    free(q);
    break;
  }
  case 1: fuzz_baton_message(p, n); break;
  default: fuzz_demo_head(p, n); break;
  }
  return 0;
}
