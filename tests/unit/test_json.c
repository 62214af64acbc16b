/*
 * test_json.c: JSON string literals for qlog records (src/util/json.c):
 * escapes, control characters, and cutting a long value without splitting
 * a UTF-8 sequence or losing the closing quote.
 */
#include "util/json.h"

#include "test.h"

static void plain_and_escaped(void) {
  char out[64];
  CHECK_EQ(wt_json_string(out, sizeof(out), "abc"), 5);
  CHECK(strcmp(out, "\"abc\"") == 0);
  wt_json_string(out, sizeof(out), "a\"b\\c\n\x01");
  CHECK(strcmp(out, "\"a\\\"b\\\\c\\u000a\\u0001\"") == 0);
  wt_json_string(out, sizeof(out), "");
  CHECK(strcmp(out, "\"\"") == 0);
  wt_json_string(out, sizeof(out), NULL);
  CHECK(strcmp(out, "\"\"") == 0);
  wt_json_string(out, sizeof(out), "caf\xc3\xa9");
  CHECK(strcmp(out, "\"caf\xc3\xa9\"") == 0);
}

static void long_values_are_cut_whole(void) {
  char out[8];
  size_t n = wt_json_string(out, sizeof(out), "abcdefghij");
  CHECK_EQ(n, 7);
  CHECK(strcmp(out, "\"abcde\"") == 0);
  /* "ab" + e-acute (2 bytes) + "c": the cut falls inside the e-acute. */
  char small[6];
  wt_json_string(small, sizeof(small), "ab\xc3\xa9xyz");
  CHECK(strcmp(small, "\"ab\"") == 0);
  /* An escape never gets split either. */
  char tiny[5];
  wt_json_string(tiny, sizeof(tiny), "a\n");
  CHECK(strcmp(tiny, "\"a\"") == 0);
}

int main(void) {
  RUN(plain_and_escaped);
  RUN(long_values_are_cut_whole);
  return TEST_REPORT();
}
