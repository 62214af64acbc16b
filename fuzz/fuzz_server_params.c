/*
 * fuzz_server_params.c: wt-server's /echo query parser
 * (tools/wt_server_params.c), which any client reaches with its :path.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "wt_server_params.h"

const fuzz_seed fuzz_seeds[] = {
    FUZZ_SEED("protocols=a,b%2Cc&close_after_ms=10&code=0xff&reason=bye+%E2%9C%93"),
    FUZZ_SEED("open_uni=3&open_bidi=2&reset_code=6&stop_code=5&drain_after_ms=0"),
};
const size_t fuzz_nseeds = sizeof(fuzz_seeds) / sizeof(fuzz_seeds[0]);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *q = malloc(size + 1);
  if (!q) return 0;
  memcpy(q, data, size);
  q[size] = 0;
  wts_params p;
  const char *why;
  (void)wts_params_parse(q, &p, &why);
  wts_params_free(&p);
  free(q);
  return 0;
}
