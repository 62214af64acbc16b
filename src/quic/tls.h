/*
 * tls.h: GnuTLS for QUIC: server certificates, client verification, the
 * per-connection TLS session, and the keying-material exporter.
 *
 * For: everything the QUIC layer asks of TLS 1.3. Server credentials come
 * from PEM files or are generated (ECDSA P-256, 13 days, so browsers take
 * them through serverCertificateHashes). Clients verify by the system CA
 * store and host name, by pinned SHA-256 hashes with the browser's rules,
 * or not at all (development only). A failed verification aborts the
 * handshake and leaves a one-line reason. Not for: packet protection keys
 * (ngtcp2's crypto helper derives and installs those).
 */
#ifndef WT_QUIC_TLS_H
#define WT_QUIC_TLS_H

#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util/log.h"
#include "webtransport.h"

typedef struct wt_tls_server wt_tls_server;

/* Where server credentials come from: PEM files, PEM text, or (all NULL)
 * a certificate generated on the spot. */
typedef struct wt_tls_server_source {
  const char *cert_file, *key_file;
  const char *cert_pem, *key_pem;
} wt_tls_server_source;

/* Loads or generates the credentials. Logs a warning when a loaded
 * certificate could not be used with serverCertificateHashes (RSA, or valid
 * longer than 14 days). */
int wt_tls_server_new(const wt_tls_server_source *src, const wt_logger *log, wt_tls_server **out);
void wt_tls_server_free(wt_tls_server *s);
const uint8_t *wt_tls_server_cert_sha256(const wt_tls_server *s);

/* Client verification settings, copied into the connection. */
typedef struct wt_tls_verify {
  wt_verify_mode mode;
  uint8_t (*hashes)[32];
  size_t nhashes;
  char host[256];
  char error[400]; /* why verification failed, "" otherwise */
  const wt_logger *log;
} wt_tls_verify;

/* Shared client credentials: the system trust store is loaded once per
 * transport, on first use. */
typedef struct wt_tls_client_creds {
  gnutls_certificate_credentials_t system; /* with the system store; lazily created */
  gnutls_certificate_credentials_t bare;   /* no trust store: pinned hashes, insecure */
  gnutls_priority_t prio;                  /* parsed on first use */
} wt_tls_client_creds;

void wt_tls_client_creds_free(wt_tls_client_creds *cc);

/* What a TLS session points back to: ngtcp2's connection reference (it
 * must come first: ngtcp2's crypto helper casts the session pointer to it)
 * and, for clients, the verification settings. */
typedef struct wt_tls_conn_ref {
  ngtcp2_crypto_conn_ref ref;
  wt_tls_verify *verify;
} wt_tls_conn_ref;

/* Creates a TLS session for one connection, configured for ngtcp2 and
 * pointing at `cref`, which must outlive it. A client verifies with
 * cref->verify; `ca_file` adds trusted CAs, in which case the session gets
 * private credentials returned in *own_creds (free them after the session;
 * NULL otherwise). */
int wt_tls_server_session(wt_tls_server *s, wt_tls_conn_ref *cref, gnutls_session_t *out);
int wt_tls_client_session(wt_tls_client_creds *cc, wt_tls_conn_ref *cref, const char *ca_file, gnutls_session_t *out,
                          gnutls_certificate_credentials_t *own_creds);

/* RFC 8446 §7.5 exporter. Returns 0 or WT_ERR_TLS. */
int wt_tls_export(gnutls_session_t session, const char *label, const uint8_t *context, size_t context_len, uint8_t *out,
                  size_t out_len);

/* Checks a DER certificate the way browsers check serverCertificateHashes
 * certificates (validity at most 14 days, currently valid, not RSA), at
 * time `now`. Returns NULL if acceptable, or a static reason. */
const char *wt_tls_check_hash_cert_rules(const gnutls_datum_t *der, time_t now);

#endif
