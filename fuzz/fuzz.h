/*
 * fuzz.h: the one entry point every fuzz target defines (libFuzzer's), so
 * the same file builds with clang -fsanitize=fuzzer (WT_FUZZ=ON) or with
 * replay.c as a plain program that CTest runs on every build.
 */
#ifndef WT_FUZZ_H
#define WT_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Well-formed examples a target offers for replay.c to mutate (optional:
 * libFuzzer ignores them; give it a corpus directory instead). */
typedef struct fuzz_seed {
  const char *data;
  size_t len;
} fuzz_seed;
#define FUZZ_SEED(literal)                                                                                             \
  { literal, sizeof(literal) - 1 }
extern const fuzz_seed fuzz_seeds[];
extern const size_t fuzz_nseeds;

#endif
