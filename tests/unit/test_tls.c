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
static void count_warnings(wt_log_level level, const char *line, void *ud) {
  if (level == WT_LOG_WARN && strstr(line, "serverCertificateHashes")) warned++;
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
  CHECK_EQ(warned, 1);
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
  RUN(generated_pem_loads_with_the_same_hash);
  unlink(path_cert);
  unlink(path_key);
  rmdir(dir);
  return TEST_REPORT();
}
