/*
 * fuzz_sfv.c: the RFC 9651 structured-field parser for WT-Available-Protocols
 * (list of strings) and WT-Protocol (one string), with and without the
 * draft-02 era's bare tokens; what parses must serialize again.
 */
#include <string.h>

#include "fuzz.h"
#include "h3/sfv.h"
#include "util/buf.h"

static int on_string(void *ud, const char *s, size_t len) {
  wt_buf *out = ud;
  return wt_sfv_serialize_string(out, s, len);
}

const fuzz_seed fuzz_seeds[] = {
    FUZZ_SEED("\"moq-00\", \"x\""),
    FUZZ_SEED("\"a\\\"b\""),
    FUZZ_SEED("token, \"s\";p=1"),
};
const size_t fuzz_nseeds = sizeof(fuzz_seeds) / sizeof(fuzz_seeds[0]);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  for (int tokens = 0; tokens < 2; tokens++) {
    wt_buf out;
    wt_buf_init(&out);
    (void)wt_sfv_parse_string_list((const char *)data, size, tokens, on_string, &out);
    wt_buf_free(&out);
    wt_buf_init(&out);
    (void)wt_sfv_parse_string_item((const char *)data, size, tokens, &out);
    wt_buf_free(&out);
  }
  return 0;
}
