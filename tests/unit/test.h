/*
 * test.h: the minimal unit-test harness every tests/unit/test_*.c uses.
 *
 * A test is a `static void name(void)` listed in the file's main() with
 * RUN(name). A failed CHECK prints file:line and the expression, marks the
 * current test failed and returns from it. main() ends with TEST_REPORT(),
 * which prints "N passed, N failed" and returns non-zero on any failure, so
 * each test binary is one CTest test.
 */
#ifndef WT_TEST_H
#define WT_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "webtransport.h"

static int wt_test_failed_current;
static int wt_test_npassed, wt_test_nfailed;

#define CHECK(cond)                                                                                                    \
  do {                                                                                                                 \
    if (!(cond)) {                                                                                                     \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                                         \
      wt_test_failed_current = 1;                                                                                      \
      return;                                                                                                          \
    }                                                                                                                  \
  } while (0)

#define CHECK_EQ(a, b)                                                                                                 \
  do {                                                                                                                 \
    long long wt_a_ = (long long)(a), wt_b_ = (long long)(b);                                                          \
    if (wt_a_ != wt_b_) {                                                                                              \
      fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (%lld vs %lld)\n", __FILE__, __LINE__, #a, #b, wt_a_, wt_b_);  \
      wt_test_failed_current = 1;                                                                                      \
      return;                                                                                                          \
    }                                                                                                                  \
  } while (0)

#define CHECK_MEM(a, b, n)                                                                                             \
  do {                                                                                                                 \
    if (memcmp((a), (b), (n)) != 0) {                                                                                  \
      fprintf(stderr, "%s:%d: CHECK_MEM failed: %s vs %s\n", __FILE__, __LINE__, #a, #b);                              \
      wt_test_failed_current = 1;                                                                                      \
      return;                                                                                                          \
    }                                                                                                                  \
  } while (0)

#define RUN(fn)                                                                                                        \
  do {                                                                                                                 \
    wt_test_failed_current = 0;                                                                                        \
    fn();                                                                                                              \
    if (wt_test_failed_current) {                                                                                      \
      wt_test_nfailed++;                                                                                               \
      fprintf(stderr, "FAIL %s\n", #fn);                                                                               \
    } else {                                                                                                           \
      wt_test_npassed++;                                                                                               \
    }                                                                                                                  \
  } while (0)

#define TEST_REPORT() (printf("%d passed, %d failed\n", wt_test_npassed, wt_test_nfailed), wt_test_nfailed ? 1 : 0)

/* Decodes a hex string (spaces ignored) into out; returns the byte count. */
static inline size_t test_unhex(const char *hex, uint8_t *out) {
  size_t n = 0;
  int hi = -1;
  for (; *hex; hex++) {
    int c = *hex, v;
    if (c >= '0' && c <= '9')
      v = c - '0';
    else if (c >= 'a' && c <= 'f')
      v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      v = c - 'A' + 10;
    else
      continue;
    if (hi < 0)
      hi = v;
    else {
      out[n++] = (uint8_t)(hi << 4 | v);
      hi = -1;
    }
  }
  return n;
}

#endif
