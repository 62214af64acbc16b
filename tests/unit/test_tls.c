/*
 * test_tls.c: server credentials (generated and loaded from PEM) and the
 * serverCertificateHashes rules (src/quic/tls.c).
 */
#include <gnutls/crypto.h>
#include <stdlib.h>
#include <unistd.h>

#include "certgen.h"
#include "quic/tls.h"
#include "test.h"

static char dir[64];
static char path_cert[128], path_key[128];

static void make_dir(void) {
  snprintf(dir, sizeof(dir), "/tmp/wt_tls_XXXXXX");
  if (!mkdtemp(dir)) abort();
  snprintf(path_cert, sizeof(path_cert), "%s/cert.pem", dir);
  snprintf(path_key, sizeof(path_key), "%s/key.pem", dir);
}

static const char *rules_for(const char *dns, int days, int rsa) {
  test_cert c;
  gnutls_datum_t der;
  if (test_cert_make(&c, dns, days, rsa, 0, NULL) || test_cert_der(&c, &der)) return "fixture failed";
  const char *why = wt_tls_check_hash_cert_rules(&der, time(NULL));
  gnutls_free(der.data);
  test_cert_free(&c);
  return why;
}

static const wt_tls_server_source gen = {NULL, NULL, NULL, NULL};

static wt_tls_server_source files(const char *c, const char *k) {
  wt_tls_server_source src = {c, k, NULL, NULL};
  return src;
}

static void generated_certificate_is_browser_ready(void) {
  wt_tls_server *s;
  wt_logger log = {NULL, NULL, WT_LOG_ERROR};
  CHECK_EQ(wt_tls_server_new(&gen, &log, &s), 0);
  const uint8_t *h = wt_tls_server_cert_sha256(s);
  uint8_t zero[32] = {0};
  CHECK(memcmp(h, zero, 32) != 0);
  wt_tls_server *s2;
  CHECK_EQ(wt_tls_server_new(&gen, &log, &s2), 0);
  CHECK(memcmp(h, wt_tls_server_cert_sha256(s2), 32) != 0); /* a fresh key and serial each time */
  wt_tls_server_free(s);
  wt_tls_server_free(s2);
}

static void hash_certificate_rules_match_the_browsers(void) {
  CHECK(rules_for("localhost", 13, 0) == NULL);
  CHECK(rules_for("localhost", 14, 0) == NULL);
  const char *why = rules_for("localhost", 15, 0);
  CHECK(why && strstr(why, "14 days"));
  why = rules_for("localhost", 10, 1);
  CHECK(why && strstr(why, "RSA"));
  why = rules_for("localhost", -2, 0);
  CHECK(why && strstr(why, "not currently valid"));
  gnutls_datum_t junk = {(unsigned char *)"junk", 4};
  CHECK(wt_tls_check_hash_cert_rules(&junk, time(NULL)) != NULL);
}

static int warned;
static char warning[1024];
static void count_warnings(wt_log_level level, const char *line, void *ud) {
  if (level == WT_LOG_WARN && strstr(line, "serverCertificateHashes")) {
    warned++;
    snprintf(warning, sizeof(warning), "%s", line);
  }
}

static int explain(const char *dns, int days, int rsa, char *out, size_t cap) {
  test_cert c;
  gnutls_datum_t der;
  if (test_cert_make(&c, dns, days, rsa, 0, NULL) || test_cert_der(&c, &der)) return -2;
  int rv = wt_tls_explain_hash_cert(&der, time(NULL), out, cap);
  gnutls_free(der.data);
  test_cert_free(&c);
  return rv;
}

/* The explanation names every broken rule, with the number of days and the
 * reason browsers have the rule. */
static void explanation_names_each_broken_rule(void) {
  char why[600];
  CHECK_EQ(explain("localhost", 13, 0, why, sizeof(why)), 0);
  CHECK_EQ(why[0], 0);
  CHECK_EQ(explain("localhost", 10, 1, why, sizeof(why)), 1);
  CHECK(strstr(why, "RSA") && strstr(why, "W3C") && strstr(why, "ECDSA P-256"));
  CHECK(!strstr(why, "days"));
  CHECK_EQ(explain("localhost", 365, 0, why, sizeof(why)), 1);
  CHECK(strstr(why, "valid for 365 days") && strstr(why, "at most 14 days"));
  CHECK(!strstr(why, "RSA"));
  CHECK_EQ(explain("localhost", 30, 1, why, sizeof(why)), 1);
  CHECK(strstr(why, "RSA") && strstr(why, "valid for 30 days"));
  CHECK_EQ(explain("localhost", -2, 0, why, sizeof(why)), 1);
  CHECK(strstr(why, "expired"));
  gnutls_datum_t junk = {(unsigned char *)"junk", 4};
  CHECK_EQ(wt_tls_explain_hash_cert(&junk, time(NULL), why, sizeof(why)), -1);
}

/* A connection holds a reference to the credentials of its handshake, so
 * replacing the transport's certificate does not pull them away. */
static void credentials_are_reference_counted(void) {
  wt_tls_server *s;
  wt_logger log = {NULL, NULL, WT_LOG_ERROR};
  CHECK_EQ(wt_tls_server_new(&gen, &log, &s), 0);
  uint8_t h[32];
  memcpy(h, wt_tls_server_cert_sha256(s), 32);
  CHECK(wt_tls_server_ref(s) == s);
  wt_tls_server_free(s);                          /* the transport lets go */
  CHECK_MEM(wt_tls_server_cert_sha256(s), h, 32); /* still alive for the connection (ASan checks) */
  wt_tls_server_free(s);
  CHECK(wt_tls_server_ref(NULL) == NULL);
  wt_tls_server_free(NULL);
}

static void loaded_certificate_hash_is_its_der_hash(void) {
  test_cert c;
  gnutls_datum_t der;
  uint8_t want[32];
  CHECK_EQ(test_cert_make(&c, "localhost", 13, 0, 0, NULL), 0);
  CHECK_EQ(test_cert_der(&c, &der), 0);
  CHECK_EQ(gnutls_hash_fast(GNUTLS_DIG_SHA256, der.data, der.size, want), 0);
  CHECK_EQ(test_cert_write(&c, NULL, path_cert, path_key), 0);
  wt_logger log = {count_warnings, NULL, WT_LOG_INFO};
  wt_tls_server *s;
  warned = 0;
  wt_tls_server_source src = files(path_cert, path_key);
  CHECK_EQ(wt_tls_server_new(&src, &log, &s), 0);
  CHECK_MEM(wt_tls_server_cert_sha256(s), want, 32);
  CHECK_EQ(warned, 0);
  wt_tls_server_free(s);
  gnutls_free(der.data);
  test_cert_free(&c);
}

static void loading_a_certificate_browsers_refuse_warns(void) {
  test_cert c;
  CHECK_EQ(test_cert_make(&c, "localhost", 30, 1, 0, NULL), 0); /* RSA and 30 days */
  CHECK_EQ(test_cert_write(&c, NULL, path_cert, path_key), 0);
  wt_logger log = {count_warnings, NULL, WT_LOG_INFO};
  wt_tls_server *s;
  warned = 0;
  wt_tls_server_source src = files(path_cert, path_key);
  CHECK_EQ(wt_tls_server_new(&src, &log, &s), 0);
  CHECK_EQ(warned, 1); /* one line, naming both rules, the reason and the way out */
  CHECK(strstr(warning, "browsers will refuse") && strstr(warning, "RSA") && strstr(warning, "valid for 30 days"));
  CHECK(strstr(warning, path_cert) && strstr(warning, "wt-cert"));
  wt_tls_server_free(s);
  test_cert_free(&c);
}

static void bad_file_arguments_are_errors(void) {
  wt_logger log = {NULL, NULL, WT_LOG_ERROR};
  wt_tls_server *s;
  wt_tls_server_source half = files(path_cert, NULL), missing = files("/nonexistent/c.pem", "/nonexistent/k.pem");
  CHECK_EQ(wt_tls_server_new(&half, &log, &s), WT_ERR_INVALID_ARGUMENT);
  CHECK_EQ(wt_tls_server_new(&missing, &log, &s), WT_ERR_NOT_FOUND);
  FILE *f = fopen(path_key, "w");
  fputs("not a key\n", f);
  fclose(f);
  wt_tls_server_source bad = files(path_cert, path_key);
  CHECK(wt_tls_server_new(&bad, &log, &s) != 0);
  wt_tls_server_source bad_mem = {NULL, NULL, "-----BEGIN CERTIFICATE-----\n", "x"};
  CHECK_EQ(wt_tls_server_new(&bad_mem, &log, &s), WT_ERR_TLS);
}

static void generated_pem_loads_with_the_same_hash(void) {
  char *cert, *key;
  uint8_t hash[32];
  CHECK_EQ(wt_certificate_generate(&cert, &key, hash), 0);
  CHECK(strstr(cert, "BEGIN CERTIFICATE") != NULL);
  CHECK(strstr(key, "PRIVATE KEY") != NULL);
  wt_logger log = {count_warnings, NULL, WT_LOG_INFO};
  wt_tls_server *s;
  warned = 0;
  wt_tls_server_source src = {NULL, NULL, cert, key};
  CHECK_EQ(wt_tls_server_new(&src, &log, &s), 0);
  CHECK_MEM(wt_tls_server_cert_sha256(s), hash, 32);
  CHECK_EQ(warned, 0); /* browser-ready: ECDSA, 13 days */
  wt_tls_server_free(s);
  free(cert);
  free(key);
}

int main(void) {
  make_dir();
  RUN(generated_certificate_is_browser_ready);
  RUN(hash_certificate_rules_match_the_browsers);
  RUN(loaded_certificate_hash_is_its_der_hash);
  RUN(loading_a_certificate_browsers_refuse_warns);
  RUN(bad_file_arguments_are_errors);
  RUN(explanation_names_each_broken_rule);
  RUN(credentials_are_reference_counted);
  RUN(generated_pem_loads_with_the_same_hash);
  unlink(path_cert);
  unlink(path_key);
  rmdir(dir);
  return TEST_REPORT();
}
