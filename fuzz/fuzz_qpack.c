/*
 * fuzz_qpack.c: the QPACK field-section decoder (static table + Huffman)
 * and the encoder/decoder instruction stream readers on arbitrary bytes;
 * a decoded section is then checked as a request, as the server does.
 */
#include "fuzz.h"
#include "h3/headers.h"
#include "h3/qpack.h"

static int add_field(void *ud, const char *n, size_t nl, const char *v, size_t vl) {
  return wt_h3_headers_add(ud, n, nl, v, vl);
}

const fuzz_seed fuzz_seeds[] = {
    FUZZ_SEED("\x00\x00\xd1\xd7\x50\x0b\x6c\x6f\x63\x61\x6c\x68\x6f\x73\x74"), /* GET https localhost */
    FUZZ_SEED("\x00\x00\x5f\x1d\x88\x25\xb6\x50\xc3\xab\xb8\x15\xc1"),         /* literal with Huffman */
    FUZZ_SEED("\x00\x00\x80"),                                                 /* dynamic reference */
};
const size_t fuzz_nseeds = sizeof(fuzz_seeds) / sizeof(fuzz_seeds[0]);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  wt_h3_headers h;
  wt_h3_headers_init(&h);
  const char *why;
  if (wt_qpack_decode(data, size, 16384, add_field, &h) == 0) (void)wt_h3_headers_check_request(&h, 1, &why);
  wt_h3_headers_free(&h);
  for (int dec = 0; dec < 2; dec++) {
    wt_qpack_inst_reader r;
    wt_qpack_inst_reader_init(&r, dec);
    (void)wt_qpack_inst_reader_feed(&r, data, size);
  }
  return 0;
}
