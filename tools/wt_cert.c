/*
 * wt_cert.c: the wt-cert tool: makes a certificate browsers accept through
 * serverCertificateHashes (ECDSA P-256, valid 13 days, for localhost,
 * 127.0.0.1 and ::1), writes it and its key as PEM files, and prints its
 * SHA-256 as hex, as base64, and as a ready JavaScript
 * `serverCertificateHashes` option. With --show it prints the same for an
 * existing certificate and says why browsers would refuse it, if they would.
 *
 * It uses only the public API (wt_certificate_generate,
 * wt_certificate_inspect); the key file is created with mode 0600 and
 * existing files are only replaced with --force.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "toolutil.h"
#include "webtransport.h"

static void usage(void) {
  fprintf(stderr, "usage: wt-cert [--cert FILE] [--key FILE] [--force]\n"
                  "       wt-cert --show FILE\n"
                  "  Makes an ECDSA P-256 certificate for localhost, 127.0.0.1 and ::1 valid 13 days (what\n"
                  "  browsers accept through serverCertificateHashes), writes it to FILE (default cert.pem)\n"
                  "  and its key to FILE (default key.pem, mode 0600; existing files need --force), and\n"
                  "  prints its SHA-256 in hex and base64 and a ready JavaScript snippet.\n"
                  "  Regenerate before it expires: browsers refuse it afterwards.\n"
                  "  --show FILE prints the same for an existing certificate and whether browsers take it.\n"
                  "  Use: wt-server --cert cert.pem --key key.pem\n");
}

/* Writes `text` to `path` with `mode`; without `force` an existing file is
 * an error. */
static int write_file(const char *path, const char *text, mode_t mode, int force) {
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (force ? O_TRUNC : O_EXCL), mode);
  if (fd < 0) {
    fprintf(stderr, "wt-cert: cannot create %s: %s%s\n", path, strerror(errno),
            errno == EEXIST ? " (use --force to replace it)" : "");
    return -1;
  }
  size_t len = strlen(text), off = 0;
  while (off < len) {
    ssize_t n = write(fd, text + off, len - off);
    if (n <= 0) {
      fprintf(stderr, "wt-cert: cannot write %s: %s\n", path, strerror(errno));
      close(fd);
      return -1;
    }
    off += (size_t)n;
  }
  return close(fd) ? -1 : 0;
}

/* The hash in the three forms people paste somewhere. */
static void print_hash(const uint8_t hash[32], int64_t not_after) {
  char hex[65], b64[64], when[64];
  wt_hex_sha256(hash, hex);
  tool_base64(hash, 32, b64);
  time_t t = (time_t)not_after;
  struct tm tm;
  strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", gmtime_r(&t, &tm));
  printf("valid until: %s (%.1f days from now)\n", when, (double)(not_after - (int64_t)time(NULL)) / 86400.0);
  printf("sha256 hex: %s\n", hex);
  printf("sha256 base64: %s\n", b64);
  printf("javascript: serverCertificateHashes: [{algorithm: 'sha-256', value: Uint8Array.from(atob('%s'), c => "
         "c.charCodeAt(0))}]\n",
         b64);
  printf("wt-client: --cert-hash %s\n", hex);
}

static int show(const char *path) {
  char *pem = tool_read_text(path);
  if (!pem) {
    fprintf(stderr, "wt-cert: cannot read %s: %s\n", path, strerror(errno));
    return 1;
  }
  uint8_t hash[32];
  int64_t not_after;
  char why[600];
  int rv = wt_certificate_inspect(pem, hash, &not_after, why, sizeof(why));
  free(pem);
  if (rv) {
    fprintf(stderr, "wt-cert: %s: no certificate found (%s)\n", path, wt_strerror(rv));
    return 1;
  }
  printf("certificate: %s\n", path);
  print_hash(hash, not_after);
  if (*why) {
    printf("warning: browsers will refuse this certificate with serverCertificateHashes because %s\n", why);
    return 3;
  }
  printf("browsers accept it with serverCertificateHashes\n");
  return 0;
}

int main(int argc, char **argv) {
  const char *cert_path = "cert.pem", *key_path = "key.pem", *show_path = NULL;
  int force = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--cert") && v)
      cert_path = argv[++i];
    else if (!strcmp(a, "--key") && v)
      key_path = argv[++i];
    else if (!strcmp(a, "--show") && v)
      show_path = argv[++i];
    else if (!strcmp(a, "--force"))
      force = 1;
    else {
      usage();
      return !strcmp(a, "--help") || !strcmp(a, "-h") ? 0 : 2;
    }
  }
  if (show_path) return show(show_path);
  /* Check both names first so that a refusal leaves no half-written pair. */
  const char *exists = access(cert_path, F_OK) == 0 ? cert_path : access(key_path, F_OK) == 0 ? key_path : NULL;
  if (exists && !force) {
    fprintf(stderr, "wt-cert: %s exists (use --force to replace it)\n", exists);
    return 1;
  }
  char *cert, *key;
  uint8_t hash[32];
  int64_t not_after;
  int rv = wt_certificate_generate(&cert, &key, hash);
  if (rv) {
    fprintf(stderr, "wt-cert: cannot generate a certificate: %s\n", wt_strerror(rv));
    return 1;
  }
  rv = wt_certificate_inspect(cert, hash, &not_after, NULL, 0);
  if (!rv && (write_file(key_path, key, 0600, force) || write_file(cert_path, cert, 0644, force))) rv = -1;
  free(cert);
  free(key);
  if (rv) return 1;
  printf("certificate: %s (ECDSA P-256, for localhost, 127.0.0.1 and ::1)\n", cert_path);
  printf("key: %s\n", key_path);
  print_hash(hash, not_after);
  printf("server: wt-server --cert %s --key %s\n", cert_path, key_path);
  return 0;
}
