/*
 * test_headers.c: field storage and RFC 9114 §4.3 / RFC 9220 message
 * checks (src/h3/headers.c).
 */
#include "h3/headers.h"
#include "test.h"

/* Builds headers from "name", "value" pairs ending with NULL. */
static void build(wt_h3_headers *h, const char *const *kv) {
  wt_h3_headers_init(h);
  for (; kv[0]; kv += 2)
    wt_h3_headers_add(h, kv[0], strlen(kv[0]), kv[1], strlen(kv[1]));
}

static int check_req(const char *const *kv, int allow_protocol, const char **why) {
  wt_h3_headers h;
  build(&h, kv);
  int rv = wt_h3_headers_check_request(&h, allow_protocol, why);
  wt_h3_headers_free(&h);
  return rv;
}

static void accepts_a_webtransport_connect(void) {
  const char *const kv[] = {":method",
                            "CONNECT",
                            ":protocol",
                            "webtransport",
                            ":scheme",
                            "https",
                            ":authority",
                            "localhost:4433",
                            ":path",
                            "/echo?x=1",
                            "origin",
                            "http://localhost",
                            "sec-webtransport-http3-draft02",
                            "1",
                            NULL};
  wt_h3_headers h;
  const char *why = NULL;
  build(&h, kv);
  CHECK_EQ(wt_h3_headers_check_request(&h, 1, &why), 0);
  CHECK(strcmp(h.protocol, "webtransport") == 0);
  CHECK(strcmp(h.path, "/echo?x=1") == 0);
  CHECK(strcmp(wt_h3_headers_get(&h, "origin"), "http://localhost") == 0);
  CHECK(wt_h3_headers_get(&h, "absent") == NULL);
  wt_h3_headers_free(&h);
}

static void accepts_plain_requests(void) {
  const char *why;
  const char *const get[] = {":method", "GET", ":scheme", "https", ":path", "/", ":authority", "a", NULL};
  CHECK_EQ(check_req(get, 1, &why), 0);
  const char *const connect[] = {":method", "CONNECT", ":authority", "example.com:443", NULL};
  CHECK_EQ(check_req(connect, 1, &why), 0);
  /* host instead of :authority; both when equal; other schemes need neither */
  const char *const host[] = {":method", "GET", ":scheme", "https", ":path", "/", "host", "a", NULL};
  CHECK_EQ(check_req(host, 1, &why), 0);
  const char *const both[] = {":method", "GET", ":scheme", "https", ":path", "/", ":authority", "a", "host", "a", NULL};
  CHECK_EQ(check_req(both, 1, &why), 0);
  const char *const urn[] = {":method", "GET", ":scheme", "urn", ":path", "/", NULL};
  CHECK_EQ(check_req(urn, 1, &why), 0);
}

static void content_length_is_parsed(void) {
  wt_h3_headers h;
  const char *why;
  const char *const kv[] = {":method",        "POST", ":scheme",        "https", ":path", "/", ":authority", "a",
                            "content-length", "42",   "content-length", "42",    NULL};
  build(&h, kv);
  CHECK_EQ(wt_h3_headers_check_request(&h, 1, &why), 0);
  CHECK(h.has_content_length);
  CHECK_EQ(h.content_length, 42);
  wt_h3_headers_free(&h);
  const char *const none[] = {":method", "GET", ":scheme", "https", ":path", "/", ":authority", "a", NULL};
  build(&h, none);
  CHECK_EQ(wt_h3_headers_check_request(&h, 1, &why), 0);
  CHECK(!h.has_content_length);
  wt_h3_headers_free(&h);
}

static void rejects_malformed_requests(void) {
  static const char *const cases[][16] = {
      {":method", "GET", ":path", "/", NULL},                                       /* no :scheme */
      {":scheme", "https", ":path", "/", NULL},                                     /* no :method */
      {":method", "GET", ":scheme", "https", ":path", "", NULL},                    /* empty :path */
      {":method", "GET", ":method", "GET", ":scheme", "https", ":path", "/", NULL}, /* duplicate */
      {":method", "GET", ":scheme", "https", ":path", "/", ":status", "200", NULL}, /* response pseudo */
      {":method", "GET", ":scheme", "https", ":path", "/", ":foo", "x", NULL},      /* unknown pseudo */
      {":method", "GET", "a", "b", ":scheme", "https", ":path", "/", NULL},         /* pseudo after regular */
      {":method", "GET", ":scheme", "https", ":path", "/", "Host", "x", NULL},      /* uppercase name */
      {":method", "GET", ":scheme", "https", ":path", "/", "a b", "x", NULL},       /* space in name */
      {":method", "GET", ":scheme", "https", ":path", "/", "a", "x\ny", NULL},      /* LF in value */
      {":method", "GET", ":scheme", "https", ":path", "/", "a", " x", NULL},        /* leading space */
      {":method", "GET", ":scheme", "https", ":path", "/", "connection", "close", NULL},
      {":method", "GET", ":scheme", "https", ":path", "/", "te", "gzip", NULL},
      {":method", "CONNECT", ":protocol", "webtransport", ":scheme", "https", ":path", "/", NULL}, /* no authority */
      {":method", "GET", ":protocol", "webtransport", ":scheme", "https", ":path", "/", ":authority", "a", NULL},
      {":method", "CONNECT", ":scheme", "https", ":authority", "a", NULL}, /* plain CONNECT with scheme */
      {":method", "GET", ":scheme", "https", ":path", "/", NULL},          /* neither :authority nor host */
      {":method", "GET", ":scheme", "https", ":path", "/", ":authority", "", NULL},
      {":method", "GET", ":scheme", "https", ":path", "/", "host", "", NULL},
      {":method", "GET", ":scheme", "https", ":path", "/", ":authority", "a", "host", "b", NULL},
      {":method", "GET", ":scheme", "https", ":path", "/", ":authority", "a", "content-length", "1x", NULL},
      {":method", "GET", ":scheme", "https", ":path", "/", ":authority", "a", "content-length", "", NULL},
      {":method", "GET", ":scheme", "https", ":path", "/", ":authority", "a", "content-length", "1", "content-length",
       "2", NULL},
      {":method", "GET", ":scheme", "https", ":path", "/", ":authority", "a", "content-length", "99999999999999999999",
       NULL},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const char *why = NULL;
    if (check_req(cases[i], 1, &why) != WT_ERR_PROTO) {
      fprintf(stderr, "case %zu was accepted\n", i);
      CHECK(0);
    }
    CHECK(why != NULL);
  }
}

static void protocol_needs_our_connect_setting(void) {
  const char *const kv[] = {":method", "CONNECT", ":protocol", "webtransport", ":scheme", "https", ":authority", "a",
                            ":path",   "/",       NULL};
  const char *why;
  CHECK_EQ(check_req(kv, 0, &why), WT_ERR_PROTO);
}

static void te_trailers_is_allowed(void) {
  const char *const kv[] = {":method", "GET", ":scheme", "https", ":path", "/", ":authority", "a", "te", "trailers", NULL};
  const char *why;
  CHECK_EQ(check_req(kv, 1, &why), 0);
}

static void checks_responses_and_trailers(void) {
  wt_h3_headers h;
  const char *why;
  const char *const ok[] = {":status", "200", "wt-protocol", "\"moq\"", NULL};
  build(&h, ok);
  CHECK_EQ(wt_h3_headers_check_response(&h, &why), 0);
  CHECK_EQ(h.status, 200);
  wt_h3_headers_free(&h);
  static const char *const bad[][6] = {{"x", "y", NULL},
                                       {":status", "20", NULL},
                                       {":status", "abc", NULL},
                                       {":status", "600", NULL},
                                       {":status", "200", ":status", "200", NULL},
                                       {":status", "200", ":path", "/", NULL}};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    build(&h, bad[i]);
    CHECK_EQ(wt_h3_headers_check_response(&h, &why), WT_ERR_PROTO);
    wt_h3_headers_free(&h);
  }
  const char *const trailers[] = {"x-checksum", "1", NULL};
  build(&h, trailers);
  CHECK_EQ(wt_h3_headers_check_trailers(&h, &why), 0);
  wt_h3_headers_free(&h);
  const char *const pseudo_trailer[] = {":status", "200", NULL};
  build(&h, pseudo_trailer);
  CHECK_EQ(wt_h3_headers_check_trailers(&h, &why), WT_ERR_PROTO);
  wt_h3_headers_free(&h);
}

static void stores_values_with_embedded_bytes(void) {
  wt_h3_headers h;
  wt_h3_headers_init(&h);
  for (int i = 0; i < 100; i++)
    CHECK_EQ(wt_h3_headers_add(&h, "k", 1, "abc", 3), 0);
  CHECK_EQ(h.n, 100);
  CHECK(strcmp(h.fields[99].value, "abc") == 0);
  CHECK_EQ(h.fields[99].value_len, 3);
  wt_h3_headers_free(&h);
}

int main(void) {
  RUN(accepts_a_webtransport_connect);
  RUN(accepts_plain_requests);
  RUN(content_length_is_parsed);
  RUN(rejects_malformed_requests);
  RUN(protocol_needs_our_connect_setting);
  RUN(te_trailers_is_allowed);
  RUN(checks_responses_and_trailers);
  RUN(stores_values_with_embedded_bytes);
  return TEST_REPORT();
}
