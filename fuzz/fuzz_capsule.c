/*
 * fuzz_capsule.c: the capsule parser (src/h3/capsule.c) on arbitrary
 * CONNECT-stream payload, fed in pieces whose sizes come from the input so
 * that every split point is tried.
 */
#include "fuzz.h"
#include "h3/capsule.h"
#include "h3/codes.h"

/* Every value byte is read into this, so a bad length shows up under ASan. */
static volatile uint8_t sink;

static int on_capsule(void *ud, uint64_t type, const uint8_t *v, size_t len) {
  (void)ud;
  for (size_t i = 0; i < len; i++)
    sink = v[i];
  return type == CAPSULE_WT_CLOSE_SESSION; /* stop after a close, as sessions do */
}

const fuzz_seed fuzz_seeds[] = {
    FUZZ_SEED("\x68\x43\x07\x00\x00\x00\x07"
              "bye"),                                              /* WT_CLOSE_SESSION 7 "bye" */
    FUZZ_SEED("\x40\x40\x02\xaa\xbb\x68\x43\x04\x00\x00\x00\x01"), /* GREASE, then close */
    FUZZ_SEED("\x00\x04\x00hi!"),                                  /* DATAGRAM */
    FUZZ_SEED("\x80\x00\x78\xae\x00"),                             /* WT_DRAIN_SESSION */
    FUZZ_SEED("\x99\x0b\x4d\x3d\x04\x80\x01\x00\x00"),             /* WT_MAX_DATA */
};
const size_t fuzz_nseeds = sizeof(fuzz_seeds) / sizeof(fuzz_seeds[0]);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  size_t step = 1 + data[0] % 16;
  data++;
  size--;
  wt_capsule_parser cp;
  wt_capsule_parser_init(&cp, 1200);
  size_t off = 0;
  while (off < size) {
    size_t n = size - off < step ? size - off : step, used = 0;
    int rv = wt_capsule_parser_feed(&cp, data + off, n, on_capsule, NULL, &used);
    if (rv) break;
    off += n;
  }
  (void)wt_capsule_parser_at_boundary(&cp);
  wt_capsule_parser_free(&cp);
  return 0;
}
