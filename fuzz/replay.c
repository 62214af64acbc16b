/*
 * replay.c: main() for fuzz targets built without libFuzzer. With file
 * arguments it runs each file once (to replay a crash or a corpus); with
 * `--write-seeds DIR` it writes the target's seeds there as files; without,
 * it runs a fixed number of deterministic pseudo-random inputs, half of
 * them mutations of the target's fuzz_seeds, so every build
 * exercises each parser with hostile bytes under whatever sanitizers the
 * build has.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint32_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 16);
}

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    return 1;
  }
  static uint8_t buf[1 << 20];
  size_t n = fread(buf, 1, sizeof(buf), f);
  fclose(f);
  LLVMFuzzerTestOneInput(buf, n);
  return 0;
}

/* Writes each seed to DIR/seed-N: how fuzz/corpus/ starts (fuzz/run.sh). */
static int write_seeds(const char *dir) {
  for (size_t i = 0; i < fuzz_nseeds; i++) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/seed-%zu", dir, i);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(fuzz_seeds[i].data, 1, fuzz_seeds[i].len, f) != fuzz_seeds[i].len) {
      perror(path);
      if (f) fclose(f);
      return 1;
    }
    fclose(f);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0) return write_seeds(argv[2]);
  if (argc > 1) {
    int rv = 0;
    for (int i = 1; i < argc; i++)
      rv |= run_file(argv[i]);
    return rv;
  }
  static uint8_t buf[4096];
  int runs = 20000;
  size_t nseeds = fuzz_nseeds;
  for (int i = 0; i < runs; i++) {
    size_t n;
    if (nseeds && (i & 1)) {
      size_t k = next() % nseeds;
      n = fuzz_seeds[k].len < sizeof(buf) ? fuzz_seeds[k].len : sizeof(buf);
      memcpy(buf, fuzz_seeds[k].data, n);
      int flips = 1 + (int)(next() % 4);
      for (int f = 0; f < flips && n; f++)
        buf[next() % n] = (uint8_t)next();
      if (next() % 4 == 0 && n) n = next() % n; /* truncate */
    } else {
      n = next() % 512;
      for (size_t j = 0; j < n; j++)
        buf[j] = (uint8_t)next();
    }
    LLVMFuzzerTestOneInput(buf, n);
  }
  printf("%d inputs, no crash\n", runs);
  return 0;
}
