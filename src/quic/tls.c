/*
 * tls.c: GnuTLS credentials, sessions, verification and exporter for QUIC
 * (see tls.h).
 */
#include "quic/tls.h"

#include <arpa/inet.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY 86400
/* Browsers refuse serverCertificateHashes certificates valid for more than
 * two weeks (W3C WebTransport, "custom certificate requirements"). */
#define HASH_CERT_MAX_VALIDITY (14 * DAY)
#define GENERATED_VALIDITY (13 * DAY)

/* TLS 1.3 only; AES-GCM first because GnuTLS's ChaCha20 is several times
 * slower on this class of machine (shared/spec/machine-limits.md); the
 * server's order wins. */
static const char PRIORITY[] = "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:"
                               "-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:%DISABLE_TLS13_COMPAT_MODE:"
                               "%SERVER_PRECEDENCE";

static const gnutls_datum_t ALPN_H3 = {(unsigned char *)"h3", 2};

struct wt_tls_server {
  int refs;
  gnutls_certificate_credentials_t cred;
  gnutls_priority_t prio; /* parsed once, lazily */
  uint8_t sha256[32];
  const wt_logger *log;
};

/* ------------------------------------------------------------------------ */
/* Server credentials                                                       */

static int sha256_of(const gnutls_datum_t *der, uint8_t out[32]) {
  return gnutls_hash_fast(GNUTLS_DIG_SHA256, der->data, der->size, out) == 0 ? 0 : WT_ERR_TLS;
}

static int add_ip_san(gnutls_x509_crt_t crt, int family, const char *text) {
  uint8_t addr[16];
  if (inet_pton(family, text, addr) != 1) return -1;
  return gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_IPADDRESS, addr, family == AF_INET ? 4 : 16,
                                              GNUTLS_FSAN_APPEND);
}

/* Fills a self-signed certificate for localhost valid from an hour ago
 * (some clock skew) for 13 days. */
static int fill_generated_crt(gnutls_x509_crt_t crt, gnutls_x509_privkey_t key) {
  uint8_t serial[16];
  time_t now = time(NULL);
  const char *err = NULL;
  if (gnutls_rnd(GNUTLS_RND_NONCE, serial, sizeof(serial))) return -1;
  serial[0] &= 0x7f; /* positive */
  int rv = gnutls_x509_crt_set_version(crt, 3);
  if (!rv) rv = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial));
  if (!rv) rv = gnutls_x509_crt_set_activation_time(crt, now - 3600);
  if (!rv) rv = gnutls_x509_crt_set_expiration_time(crt, now - 3600 + GENERATED_VALIDITY);
  if (!rv) rv = gnutls_x509_crt_set_dn(crt, "CN=localhost", &err);
  if (!rv) rv = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, "localhost", 9, GNUTLS_FSAN_APPEND);
  if (!rv) rv = add_ip_san(crt, AF_INET, "127.0.0.1");
  if (!rv) rv = add_ip_san(crt, AF_INET6, "::1");
  if (!rv) rv = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE);
  if (!rv) rv = gnutls_x509_crt_set_basic_constraints(crt, 0, -1);
  if (!rv) rv = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0);
  if (!rv) rv = gnutls_x509_crt_set_key(crt, key);
  if (!rv) rv = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0);
  return rv;
}

/* Makes the generated key and certificate; the caller deinits both. */
static int generate_pair(gnutls_x509_privkey_t *key, gnutls_x509_crt_t *crt) {
  *key = NULL;
  *crt = NULL;
  int rv = gnutls_x509_privkey_init(key);
  if (!rv)
    rv = gnutls_x509_privkey_generate2(*key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0, NULL,
                                       0);
  if (!rv) rv = gnutls_x509_crt_init(crt);
  if (!rv) rv = fill_generated_crt(*crt, *key);
  return rv;
}

static int crt_sha256(gnutls_x509_crt_t crt, uint8_t out[32]) {
  gnutls_datum_t der = {NULL, 0};
  int rv = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der) ? WT_ERR_TLS : sha256_of(&der, out);
  gnutls_free(der.data);
  return rv;
}

static int generate_cert(wt_tls_server *s) {
  gnutls_x509_privkey_t key;
  gnutls_x509_crt_t crt;
  int rv = generate_pair(&key, &crt);
  if (!rv) rv = crt_sha256(crt, s->sha256);
  if (!rv) rv = gnutls_certificate_set_x509_key(s->cred, &crt, 1, key);
  if (rv) WT_LOGE(s->log, "cannot generate a certificate: %s", rv < 0 ? gnutls_strerror(rv) : wt_strerror(rv));
  gnutls_x509_crt_deinit(crt);
  gnutls_x509_privkey_deinit(key);
  return rv ? WT_ERR_TLS : 0;
}

static char *datum_to_string(const gnutls_datum_t *d) {
  char *p = malloc(d->size + 1);
  if (p) {
    memcpy(p, d->data, d->size);
    p[d->size] = 0;
  }
  return p;
}

int wt_certificate_generate(char **cert_pem, char **key_pem, uint8_t sha256[32]) {
  if (!cert_pem || !key_pem || !sha256) return WT_ERR_INVALID_ARGUMENT;
  gnutls_x509_privkey_t key;
  gnutls_x509_crt_t crt;
  gnutls_datum_t c = {NULL, 0}, k = {NULL, 0};
  int rv = generate_pair(&key, &crt) ? WT_ERR_TLS : 0;
  if (!rv) rv = crt_sha256(crt, sha256);
  if (!rv && (gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &c) ||
              gnutls_x509_privkey_export2(key, GNUTLS_X509_FMT_PEM, &k)))
    rv = WT_ERR_TLS;
  *cert_pem = rv ? NULL : datum_to_string(&c);
  *key_pem = rv ? NULL : datum_to_string(&k);
  if (!rv && (!*cert_pem || !*key_pem)) {
    free(*cert_pem);
    free(*key_pem);
    *cert_pem = *key_pem = NULL;
    rv = WT_ERR_NOMEM;
  }
  gnutls_free(c.data);
  gnutls_free(k.data);
  gnutls_x509_crt_deinit(crt);
  gnutls_x509_privkey_deinit(key);
  return rv;
}

const char *wt_tls_check_hash_cert_rules(const gnutls_datum_t *der, time_t now) {
  gnutls_x509_crt_t crt;
  const char *why = NULL;
  if (gnutls_x509_crt_init(&crt)) return "cannot parse the certificate";
  if (gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER)) {
    why = "cannot parse the certificate";
  } else {
    time_t nb = gnutls_x509_crt_get_activation_time(crt), na = gnutls_x509_crt_get_expiration_time(crt);
    int pk = gnutls_x509_crt_get_pk_algorithm(crt, NULL);
    if (pk == GNUTLS_PK_RSA || pk == GNUTLS_PK_RSA_PSS)
      why = "it uses an RSA key (browsers require ECDSA)";
    else if (na <= nb || na - nb > HASH_CERT_MAX_VALIDITY)
      why = "it is valid for more than 14 days";
    else if (now < nb || now > na)
      why = "it is not currently valid";
  }
  gnutls_x509_crt_deinit(crt);
  return why;
}

/* Appends "; " and a formatted clause to out. */
static void add_clause(char *out, size_t cap, const char *clause) {
  size_t n = strlen(out);
  if (n < cap) snprintf(out + n, cap - n, "%s%s", n ? "; " : "", clause);
}

int wt_tls_explain_hash_cert(const gnutls_datum_t *der, time_t now, char *out, size_t cap) {
  gnutls_x509_crt_t crt;
  char clause[256];
  out[0] = 0;
  if (gnutls_x509_crt_init(&crt)) return -1;
  if (gnutls_x509_crt_import(crt, der, GNUTLS_X509_FMT_DER)) {
    gnutls_x509_crt_deinit(crt);
    return -1;
  }
  time_t nb = gnutls_x509_crt_get_activation_time(crt), na = gnutls_x509_crt_get_expiration_time(crt);
  int pk = gnutls_x509_crt_get_pk_algorithm(crt, NULL);
  if (pk == GNUTLS_PK_RSA || pk == GNUTLS_PK_RSA_PSS)
    add_clause(out, cap,
               "its key is RSA, which the W3C WebTransport spec forbids for serverCertificateHashes "
               "(ECDSA P-256 is the key type every browser must accept)");
  else if (pk != GNUTLS_PK_ECDSA && pk != GNUTLS_PK_EDDSA_ED25519)
    add_clause(out, cap, "its key type is not ECDSA (the W3C WebTransport spec only guarantees ECDSA P-256)");
  if (na <= nb || na - nb > HASH_CERT_MAX_VALIDITY) {
    snprintf(clause, sizeof(clause),
             "it is valid for %lld days, and browsers accept at most 14 days for serverCertificateHashes "
             "(W3C WebTransport: a short validity limits how long a pinned key can be misused)",
             (long long)((na - nb) / DAY));
    add_clause(out, cap, clause);
  }
  if (now < nb || now > na) add_clause(out, cap, now < nb ? "it is not valid yet" : "it has expired");
  gnutls_x509_crt_deinit(crt);
  return out[0] ? 1 : 0;
}

int wt_certificate_inspect(const char *cert_pem, uint8_t sha256[32], int64_t *not_after, char *why, size_t why_cap) {
  if (!cert_pem || !sha256) return WT_ERR_INVALID_ARGUMENT;
  gnutls_x509_crt_t crt;
  gnutls_datum_t pem = {(unsigned char *)cert_pem, (unsigned)strlen(cert_pem)}, der = {NULL, 0};
  if (gnutls_x509_crt_init(&crt)) return WT_ERR_NOMEM;
  int rv = gnutls_x509_crt_import(crt, &pem, GNUTLS_X509_FMT_PEM) ? WT_ERR_INVALID_ARGUMENT : 0;
  if (!rv && gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der)) rv = WT_ERR_TLS;
  if (!rv) rv = sha256_of(&der, sha256);
  if (!rv && not_after) *not_after = (int64_t)gnutls_x509_crt_get_expiration_time(crt);
  if (!rv && why && why_cap) wt_tls_explain_hash_cert(&der, time(NULL), why, why_cap);
  gnutls_free(der.data);
  gnutls_x509_crt_deinit(crt);
  return rv;
}

/* Loads PEM credentials from files or from memory and checks them against
 * what browsers require of serverCertificateHashes certificates. */
static int load_cert(wt_tls_server *s, const wt_tls_server_source *src) {
  const char *what = src->cert_file ? src->cert_file : "certificate in memory";
  int rv;
  if (src->cert_file) {
    rv = gnutls_certificate_set_x509_key_file2(s->cred, src->cert_file, src->key_file, GNUTLS_X509_FMT_PEM, NULL, 0);
  } else {
    gnutls_datum_t c = {(unsigned char *)src->cert_pem, (unsigned)strlen(src->cert_pem)};
    gnutls_datum_t k = {(unsigned char *)src->key_pem, (unsigned)strlen(src->key_pem)};
    rv = gnutls_certificate_set_x509_key_mem2(s->cred, &c, &k, GNUTLS_X509_FMT_PEM, NULL, 0);
  }
  if (rv < 0) {
    WT_LOGE(s->log, "cannot load %s%s%s: %s", what, src->key_file ? " / key " : "", src->key_file ? src->key_file : "",
            gnutls_strerror(rv));
    return rv == GNUTLS_E_FILE_ERROR ? WT_ERR_NOT_FOUND : WT_ERR_TLS;
  }
  gnutls_datum_t der;
  if (gnutls_certificate_get_crt_raw(s->cred, 0, 0, &der) || sha256_of(&der, s->sha256)) {
    WT_LOGE(s->log, "cannot read back %s", what);
    return WT_ERR_TLS;
  }
  char why[600];
  if (wt_tls_explain_hash_cert(&der, time(NULL), why, sizeof(why)) == 1)
    WT_LOGW(s->log,
            "%s: browsers will refuse this certificate with serverCertificateHashes because %s. It works only if "
            "it chains to a CA the browser trusts; for hashes use an ECDSA P-256 certificate valid at most 14 days "
            "(wt-cert makes one)",
            what, why);
  return 0;
}

int wt_tls_server_new(const wt_tls_server_source *src, const wt_logger *log, wt_tls_server **out) {
  if (!src->cert_file != !src->key_file || !src->cert_pem != !src->key_pem) return WT_ERR_INVALID_ARGUMENT;
  wt_tls_server *s = calloc(1, sizeof(*s));
  if (!s) return WT_ERR_NOMEM;
  s->log = log;
  s->refs = 1;
  int rv = gnutls_certificate_allocate_credentials(&s->cred) ? WT_ERR_NOMEM : 0;
  if (!rv) rv = src->cert_file || src->cert_pem ? load_cert(s, src) : generate_cert(s);
  if (rv) {
    wt_tls_server_free(s);
    return rv;
  }
  *out = s;
  return 0;
}

wt_tls_server *wt_tls_server_ref(wt_tls_server *s) {
  if (s) s->refs++;
  return s;
}

void wt_tls_server_free(wt_tls_server *s) {
  if (!s || --s->refs > 0) return;
  if (s->cred) gnutls_certificate_free_credentials(s->cred);
  if (s->prio) gnutls_priority_deinit(s->prio);
  free(s);
}

const uint8_t *wt_tls_server_cert_sha256(const wt_tls_server *s) { return s->sha256; }

/* ------------------------------------------------------------------------ */
/* Sessions                                                                 */

/* The priority string is parsed once per server or client, not per
 * session: a parsed priority costs about 8 KiB, which every half-open
 * connection of a flood would otherwise carry. */
static int configure_common(gnutls_session_t session, gnutls_certificate_credentials_t cred, wt_tls_conn_ref *cref,
                            unsigned alpn_flags, gnutls_priority_t *prio) {
  int rv = *prio ? 0 : gnutls_priority_init(prio, PRIORITY, NULL);
  if (!rv) rv = gnutls_priority_set(session, *prio);
  if (!rv) rv = gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, cred);
  if (!rv) rv = gnutls_alpn_set_protocols(session, &ALPN_H3, 1, alpn_flags);
  gnutls_session_set_ptr(session, &cref->ref);
  return rv;
}

int wt_tls_server_session(wt_tls_server *s, wt_tls_conn_ref *cref, gnutls_session_t *out) {
  gnutls_session_t session;
  if (gnutls_init(&session, GNUTLS_SERVER | GNUTLS_NO_AUTO_SEND_TICKET | GNUTLS_NO_END_OF_EARLY_DATA))
    return WT_ERR_NOMEM;
  int rv = ngtcp2_crypto_gnutls_configure_server_session(session) ? -1 : 0;
  if (!rv)
    rv = configure_common(session, s->cred, cref, GNUTLS_ALPN_MANDATORY | GNUTLS_ALPN_SERVER_PRECEDENCE, &s->prio);
  if (rv) {
    WT_LOGE(s->log, "cannot set up a TLS server session: %s", rv < -1 ? gnutls_strerror(rv) : "ngtcp2");
    gnutls_deinit(session);
    return WT_ERR_TLS;
  }
  *out = session;
  return 0;
}

static int verify_hashes(gnutls_session_t session, wt_tls_verify *v) {
  unsigned n = 0;
  const gnutls_datum_t *certs = gnutls_certificate_get_peers(session, &n);
  uint8_t h[32];
  char hex[65];
  if (!certs || n == 0 || sha256_of(&certs[0], h)) {
    snprintf(v->error, sizeof(v->error), "server sent no certificate");
    return -1;
  }
  for (size_t i = 0; i < v->nhashes; i++) {
    if (memcmp(v->hashes[i], h, 32) != 0) continue;
    const char *why = wt_tls_check_hash_cert_rules(&certs[0], time(NULL));
    if (!why) return 0;
    snprintf(v->error, sizeof(v->error), "pinned certificate refused: %s", why);
    return -1;
  }
  wt_hex_sha256(h, hex);
  char pinned[65];
  wt_hex_sha256(v->hashes[0], pinned);
  snprintf(v->error, sizeof(v->error),
           "certificate hash mismatch: the server's certificate has sha256 %s, we pinned %s%s; it probably has a new "
           "certificate: pin its current hash (wt-server prints it at start and on rotation)",
           hex, pinned, v->nhashes > 1 ? " and others" : "");
  return -1;
}

static int verify_ca(gnutls_session_t session, wt_tls_verify *v) {
  unsigned status = 0;
  int rv = gnutls_certificate_verify_peers3(session, v->host, &status);
  if (rv < 0) {
    snprintf(v->error, sizeof(v->error), "certificate verification failed: %s", gnutls_strerror(rv));
    return -1;
  }
  if (status == 0) return 0;
  gnutls_datum_t txt = {NULL, 0};
  gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &txt, 0);
  const char *why = txt.data ? (const char *)txt.data : "unknown reason";
  size_t n = strlen(why);
  while (n && why[n - 1] == ' ')
    n--; /* GnuTLS pads its sentences */
  snprintf(v->error, sizeof(v->error), "certificate for %s not trusted: %.*s", v->host, (int)n, why);
  gnutls_free(txt.data);
  return -1;
}

static int verify_cb(gnutls_session_t session) {
  wt_tls_conn_ref *cref = gnutls_session_get_ptr(session);
  wt_tls_verify *v = cref ? cref->verify : NULL;
  if (!v) return -1;
  switch (v->mode) {
  case WT_VERIFY_NONE: WT_LOGW(v->log, "not verifying the certificate of %s (insecure mode)", v->host); return 0;
  case WT_VERIFY_HASHES: return verify_hashes(session, v);
  default: return verify_ca(session, v);
  }
}

/* Credentials for a client session. Only CA verification needs a trust
 * store; loading the system one costs tens of milliseconds, so it happens
 * once per transport and never for pinned or insecure connections. */
static int client_creds(wt_tls_client_creds *cc, wt_verify_mode mode, const char *ca_file,
                        gnutls_certificate_credentials_t *cred, gnutls_certificate_credentials_t *own) {
  int with_trust = mode == WT_VERIFY_CA;
  gnutls_certificate_credentials_t *shared = with_trust ? &cc->system : &cc->bare;
  *own = NULL;
  if (!ca_file && *shared) {
    *cred = *shared;
    return 0;
  }
  gnutls_certificate_credentials_t c;
  if (gnutls_certificate_allocate_credentials(&c)) return WT_ERR_NOMEM;
  if ((with_trust && gnutls_certificate_set_x509_system_trust(c) < 0) ||
      (with_trust && ca_file && gnutls_certificate_set_x509_trust_file(c, ca_file, GNUTLS_X509_FMT_PEM) < 0)) {
    gnutls_certificate_free_credentials(c);
    return ca_file ? WT_ERR_NOT_FOUND : WT_ERR_TLS;
  }
  gnutls_certificate_set_verify_function(c, verify_cb);
  if (ca_file && with_trust)
    *own = c;
  else
    *shared = c;
  *cred = c;
  return 0;
}

static int is_ip_literal(const char *host) {
  uint8_t buf[16];
  return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

int wt_tls_client_session(wt_tls_client_creds *cc, wt_tls_conn_ref *cref, const char *ca_file, gnutls_session_t *out,
                          gnutls_certificate_credentials_t *own_creds) {
  gnutls_certificate_credentials_t cred;
  int rv = client_creds(cc, cref->verify->mode, ca_file, &cred, own_creds);
  if (rv) return rv;
  gnutls_session_t session;
  if (gnutls_init(&session, GNUTLS_CLIENT | GNUTLS_NO_END_OF_EARLY_DATA)) rv = WT_ERR_NOMEM;
  if (!rv && ngtcp2_crypto_gnutls_configure_client_session(session)) rv = WT_ERR_TLS;
  if (!rv && configure_common(session, cred, cref, GNUTLS_ALPN_MANDATORY, &cc->prio)) rv = WT_ERR_TLS;
  const char *host = cref->verify->host;
  /* SNI carries names only (RFC 6066 §3). */
  if (!rv && !is_ip_literal(host) && gnutls_server_name_set(session, GNUTLS_NAME_DNS, host, strlen(host)))
    rv = WT_ERR_TLS;
  if (rv) {
    if (rv != WT_ERR_NOMEM) gnutls_deinit(session);
    if (*own_creds) gnutls_certificate_free_credentials(*own_creds);
    *own_creds = NULL;
    return rv;
  }
  *out = session;
  return 0;
}

void wt_tls_client_creds_free(wt_tls_client_creds *cc) {
  if (cc->system) gnutls_certificate_free_credentials(cc->system);
  if (cc->bare) gnutls_certificate_free_credentials(cc->bare);
  if (cc->prio) gnutls_priority_deinit(cc->prio);
  cc->system = cc->bare = NULL;
  cc->prio = NULL;
}

int wt_tls_export(gnutls_session_t session, const char *label, const uint8_t *context, size_t context_len, uint8_t *out,
                  size_t out_len) {
  int rv = gnutls_prf_rfc5705(session, strlen(label), label, context_len, (const char *)context, out_len, (char *)out);
  return rv ? WT_ERR_TLS : 0;
}
