/*
 * fuzz_settings.c: SETTINGS payloads as a client and as a server would
 * receive them, then the generation choice and the log description.
 */
#include "fuzz.h"
#include "h3/settings.h"

const fuzz_seed fuzz_seeds[] = {
    FUZZ_SEED("\x33\x01\x08\x01\xab\x60\x37\x42\x01\xac\x2c\x7c\xf0\x00\x01"), /* datagram, connect, -02, -15 */
    FUZZ_SEED("\x06\x44\x00\x33\x01"),                                         /* max field section, datagram */
};
const size_t fuzz_nseeds = sizeof(fuzz_seeds) / sizeof(fuzz_seeds[0]);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  for (int from_server = 0; from_server < 2; from_server++) {
    wt_h3_settings s;
    uint64_t err = 0;
    wt_settings_init(&s);
    if (wt_settings_parse(data, size, from_server, &s, &err) == 0) {
      char desc[256];
      (void)wt_settings_wt_draft(&s, WT_DRAFT_MASK_ALL);
      wt_settings_describe(&s, desc, sizeof(desc));
    }
  }
  return 0;
}
