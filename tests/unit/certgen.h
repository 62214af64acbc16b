/*
 * certgen.h: test fixtures - certificates made with GnuTLS for tests that
 * need specific ones (RSA, long validity, a CA and a leaf it signed, wrong
 * host names). Test code only; the library's own generator is in
 * src/quic/tls.c.
 */
#ifndef WT_TEST_CERTGEN_H
#define WT_TEST_CERTGEN_H

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

typedef struct test_cert {
  gnutls_x509_crt_t crt;
  gnutls_x509_privkey_t key;
} test_cert;

/* Makes a certificate for `dns` (NULL: none) valid from now-1h for `days`
 * (negative: already expired), with an RSA-2048 or ECDSA P-256 key, signed
 * by `issuer` (NULL: self-signed). `ca` makes it a CA. Returns 0 or -1. */
static inline int test_cert_make(test_cert *c, const char *dns, int days, int rsa, int ca, const test_cert *issuer) {
  time_t now = time(NULL);
  unsigned char serial[8] = {1, 2, 3, 4, 5, 6, 7, (unsigned char)(now & 0x7f)};
  const char *err;
  int rv = gnutls_x509_privkey_init(&c->key);
  if (!rv)
    rv = rsa ? gnutls_x509_privkey_generate(c->key, GNUTLS_PK_RSA, 2048, 0)
             : gnutls_x509_privkey_generate(c->key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1),
                                            0);
  if (!rv) rv = gnutls_x509_crt_init(&c->crt);
  if (!rv) rv = gnutls_x509_crt_set_version(c->crt, 3);
  if (!rv) rv = gnutls_x509_crt_set_serial(c->crt, serial, sizeof(serial));
  if (!rv) rv = gnutls_x509_crt_set_activation_time(c->crt, days < 0 ? now + days * 86400 - 7200 : now - 3600);
  if (!rv) rv = gnutls_x509_crt_set_expiration_time(c->crt, days < 0 ? now - 3600 : now - 3600 + days * 86400);
  if (!rv) rv = gnutls_x509_crt_set_dn(c->crt, ca ? "CN=libwebtransport test CA" : "CN=test", &err);
  if (!rv && dns)
    rv = gnutls_x509_crt_set_subject_alt_name(c->crt, GNUTLS_SAN_DNSNAME, dns, (unsigned)strlen(dns),
                                              GNUTLS_FSAN_APPEND);
  if (!rv) rv = gnutls_x509_crt_set_basic_constraints(c->crt, ca, -1);
  if (!rv)
    rv = gnutls_x509_crt_set_key_usage(
        c->crt, ca ? GNUTLS_KEY_KEY_CERT_SIGN : GNUTLS_KEY_DIGITAL_SIGNATURE | (rsa ? GNUTLS_KEY_KEY_ENCIPHERMENT : 0));
  if (!rv && !ca) rv = gnutls_x509_crt_set_key_purpose_oid(c->crt, GNUTLS_KP_TLS_WWW_SERVER, 0);
  if (!rv) rv = gnutls_x509_crt_set_key(c->crt, c->key);
  if (!rv && issuer) rv = gnutls_x509_crt_set_authority_key_id(c->crt, (const void *)"ca-key-id", 9);
  if (!rv)
    rv = gnutls_x509_crt_sign2(c->crt, issuer ? issuer->crt : c->crt, issuer ? issuer->key : c->key, GNUTLS_DIG_SHA256,
                               0);
  return rv ? -1 : 0;
}

static inline void test_cert_free(test_cert *c) {
  gnutls_x509_crt_deinit(c->crt);
  gnutls_x509_privkey_deinit(c->key);
}

static inline int test_cert_der(const test_cert *c, gnutls_datum_t *der) {
  return gnutls_x509_crt_export2(c->crt, GNUTLS_X509_FMT_DER, der) ? -1 : 0;
}

/* Writes the certificate (and the issuer after it, for a chain) and the key
 * as PEM files. */
static inline int test_cert_write(const test_cert *c, const test_cert *issuer, const char *cert_path,
                                  const char *key_path) {
  gnutls_datum_t a = {NULL, 0}, b = {NULL, 0}, k = {NULL, 0};
  int rv = gnutls_x509_crt_export2(c->crt, GNUTLS_X509_FMT_PEM, &a);
  if (!rv && issuer) rv = gnutls_x509_crt_export2(issuer->crt, GNUTLS_X509_FMT_PEM, &b);
  if (!rv && key_path) rv = gnutls_x509_privkey_export2(c->key, GNUTLS_X509_FMT_PEM, &k);
  FILE *f = rv ? NULL : fopen(cert_path, "wb");
  if (f) {
    fwrite(a.data, 1, a.size, f);
    if (b.data) fwrite(b.data, 1, b.size, f);
    fclose(f);
  }
  FILE *g = (!f || !key_path) ? NULL : fopen(key_path, "wb");
  if (g) {
    fwrite(k.data, 1, k.size, g);
    fclose(g);
  }
  gnutls_free(a.data);
  gnutls_free(b.data);
  gnutls_free(k.data);
  return f && (g || !key_path) ? 0 : -1;
}

#endif
