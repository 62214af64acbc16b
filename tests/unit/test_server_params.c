/*
 * test_server_params.c: wt-server's /echo query parser
 * (tools/wt_server_params.c): every parameter, percent-decoding, the
 * bounds, and each way a query is refused (the integration test checks
 * that a refused query gets 400 on the wire).
 */
#include "wt_server_params.h"

#include "test.h"

static void empty_query_means_plain_echo(void) {
  wts_params p;
  const char *why = NULL;
  CHECK_EQ(wts_params_parse(NULL, &p, &why), 0);
  CHECK(!p.has_close && !p.has_drain && !p.has_reset && !p.has_stop);
  CHECK_EQ(p.open_uni + p.open_bidi, 0);
  CHECK_EQ(p.nprotocols, 0);
  CHECK_EQ(p.reason_len, 0);
  wts_params_free(&p);
  CHECK_EQ(wts_params_parse("", &p, &why), 0);
  wts_params_free(&p);
  CHECK_EQ(wts_params_parse("&&", &p, &why), 0); /* empty segments are skipped */
  wts_params_free(&p);
}

static void every_parameter_is_read(void) {
  wts_params p;
  const char *why = NULL;
  CHECK_EQ(wts_params_parse("protocols=moq-00,x%2Cy&close_after_ms=400&code=0xFEEDbeef&reason=bye+now%2C%E2%9C%93"
                            "&drain_after_ms=50&open_uni=3&open_bidi=1000&reset_code=6&stop_code=4294967295",
                            &p, &why),
           0);
  CHECK_EQ(p.nprotocols, 2);
  CHECK(strcmp(p.protocols[0], "moq-00") == 0);
  CHECK(strcmp(p.protocols[1], "x,y") == 0); /* split before decoding */
  CHECK(p.has_close);
  CHECK_EQ(p.close_after_ms, 400);
  CHECK_EQ(p.close_code, 0xfeedbeefu);
  CHECK_EQ(p.reason_len, 11);
  CHECK_MEM(p.reason, "bye now,\xe2\x9c\x93", 11);
  CHECK(p.has_drain);
  CHECK_EQ(p.drain_after_ms, 50);
  CHECK_EQ(p.open_uni, 3);
  CHECK_EQ(p.open_bidi, WTS_MAX_STREAMS);
  CHECK(p.has_reset && p.has_stop);
  CHECK_EQ(p.reset_code, 6);
  CHECK_EQ(p.stop_code, 0xffffffffu);
  wts_params_free(&p);
}

static void reason_of_exactly_1024_bytes_is_accepted(void) {
  char q[64 + 3 * 1025];
  strcpy(q, "close_after_ms=0&reason=");
  size_t n = strlen(q);
  for (int i = 0; i < 1024; i++)
    q[n++] = 'r';
  q[n] = 0;
  wts_params p;
  const char *why = NULL;
  CHECK_EQ(wts_params_parse(q, &p, &why), 0);
  CHECK_EQ(p.reason_len, 1024);
  wts_params_free(&p);
  /* 1025 bytes, written as escapes so the decoded length is what counts. */
  strcpy(q, "close_after_ms=0&reason=");
  n = strlen(q);
  for (int i = 0; i < 1025; i++) {
    memcpy(q + n, "%41", 3);
    n += 3;
  }
  q[n] = 0;
  CHECK_EQ(wts_params_parse(q, &p, &why), -1);
  CHECK(why && strstr(why, "1024"));
  wts_params_free(&p);
}

static void malformed_queries_are_refused_with_a_reason(void) {
  static const char *const bad[] = {
      "bogus=1",
      "Open_uni=1",
      "open_uni",
      "open_uni=",
      "open_uni=abc",
      "open_uni=-1",
      "open_uni=+1",
      "open_bidi=1e3",
      "open_uni=1001",
      "open_bidi=99999999999999999999999",
      "close_after_ms=86400001",
      "drain_after_ms=0x5265C01",
      "close_after_ms=1&code=4294967296",
      "reset_code=0x100000000",
      "stop_code=0x",
      "stop_code=1%2",
      "close_after_ms=1&reason=%zz",
      "close_after_ms=1&reason=%",
      "close_after_ms=1&reason=%FF",
      "close_after_ms=1&reason=%ED%A0%80",
      "close_after_ms=1&reason=%C0%80",
      "close_after_ms=1&reason=%F4%90%80%80",
      "code=1",
      "reason=x",
      "open_uni=1&open_uni=1",
      "protocols=",
      "protocols=a,,b",
      "protocols=a,",
      "protocols=a%01",
      "protocols=a%7F",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    wts_params p;
    const char *why = NULL;
    int rv = wts_params_parse(bad[i], &p, &why);
    wts_params_free(&p);
    if (rv != -1 || !why || !*why) fprintf(stderr, "accepted or no reason: %s\n", bad[i]);
    CHECK_EQ(rv, -1);
    CHECK(why && *why);
  }
}

static void too_many_protocols_are_refused(void) {
  char q[512] = "protocols=";
  for (int i = 0; i <= WTS_MAX_PROTOCOLS; i++)
    strcat(q, i ? ",p" : "p");
  wts_params p;
  const char *why = NULL;
  CHECK_EQ(wts_params_parse(q, &p, &why), -1);
  wts_params_free(&p);
  q[strlen(q) - 2] = 0; /* exactly the maximum */
  CHECK_EQ(wts_params_parse(q, &p, &why), 0);
  CHECK_EQ(p.nprotocols, WTS_MAX_PROTOCOLS);
  wts_params_free(&p);
}

int main(void) {
  RUN(empty_query_means_plain_echo);
  RUN(every_parameter_is_read);
  RUN(reason_of_exactly_1024_bytes_is_accepted);
  RUN(malformed_queries_are_refused_with_a_reason);
  RUN(too_many_protocols_are_refused);
  return TEST_REPORT();
}
