/*
 * static_files.c: the --root file server of wt-server (see static_files.h).
 */
#include "static_files.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_CHUNK 65536

int static_files_init(static_files *sf, const char *dir) {
  struct stat st;
  if (!realpath(dir, sf->root) || stat(sf->root, &st) || !S_ISDIR(st.st_mode)) return -1;
  return 0;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decodes %XX once (so "%252e" stays the literal name "%2e"). Returns the
 * length, or -1 for a bad escape, a NUL or a backslash. */
static long decode(const char *in, size_t n, char *out, size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= n || hexval(in[i + 1]) < 0 || hexval(in[i + 2]) < 0) return -1;
      c = (char)(hexval(in[i + 1]) * 16 + hexval(in[i + 2]));
      i += 2;
    }
    if (c == 0 || c == '\\' || o + 1 >= cap) return -1;
    out[o++] = c;
  }
  out[o] = 0;
  return (long)o;
}

int static_files_map(const static_files *sf, const char *path, char *out, size_t cap) {
  char dec[PATH_MAX];
  const char *q = strchr(path, '?');
  size_t n = q ? (size_t)(q - path) : strlen(path);
  if (n == 0 || path[0] != '/') return -1;
  long len = decode(path, n, dec, sizeof(dec));
  if (len < 0) return -1;
  /* No segment may be "." or ".." (after decoding: %2e%2e, ..%2f, ...). */
  for (char *seg = dec + 1;;) {
    char *end = strchr(seg, '/');
    size_t sl = end ? (size_t)(end - seg) : strlen(seg);
    if ((sl == 1 && seg[0] == '.') || (sl == 2 && seg[0] == '.' && seg[1] == '.')) return -1;
    if (!end) break;
    seg = end + 1;
  }
  int w = snprintf(out, cap, "%s%s%s", sf->root, dec, dec[len - 1] == '/' ? "index.html" : "");
  return w < 0 || (size_t)w >= cap ? -1 : 0;
}

const char *static_files_type(const char *name) {
  static const char *const types[][2] = {
      {".html", "text/html; charset=utf-8"}, {".htm", "text/html; charset=utf-8"},
      {".js", "text/javascript"},            {".mjs", "text/javascript"},
      {".css", "text/css"},                  {".json", "application/json"},
      {".txt", "text/plain; charset=utf-8"}, {".svg", "image/svg+xml"},
      {".png", "image/png"},                 {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},               {".gif", "image/gif"},
      {".webp", "image/webp"},               {".ico", "image/x-icon"},
      {".wasm", "application/wasm"},         {".mp4", "video/mp4"},
      {".webm", "video/webm"},               {".pdf", "application/pdf"},
  };
  const char *dot = strrchr(name, '.');
  if (dot && !strchr(dot, '/'))
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
      if (strcasecmp(dot, types[i][0]) == 0) return types[i][1];
  return "application/octet-stream";
}

/* One response being sent: the open file and how far we are. */
typedef struct file_send {
  int fd;
  off_t off, size;
} file_send;

static void answer(wt_http_request *r, int status, const char *allow) {
  wt_http_header h[2] = {{"content-length", "0"}, {"allow", allow}};
  wt_http_request_respond(r, status, h, allow ? 2 : 1, 1);
}

/* Sends what fits; the rest waits for WT_EV_HTTP_WRITABLE. */
static void pump(wt_http_request *r, file_send *fs) {
  char buf[FILE_CHUNK];
  while (fs->off < fs->size) {
    size_t want = fs->size - fs->off < FILE_CHUNK ? (size_t)(fs->size - fs->off) : FILE_CHUNK;
    ssize_t n = pread(fs->fd, buf, want, fs->off);
    if (n <= 0) {
      wt_http_request_abort(r, 0x102); /* H3_INTERNAL_ERROR: the file changed under us */
      return;
    }
    ssize_t w = wt_http_request_write(r, buf, (size_t)n, fs->off + n == fs->size);
    if (w < 0) {
      if (w != WT_ERR_AGAIN) wt_http_request_abort(r, 0x102);
      return;
    }
    fs->off += w;
    if (w < n) return;
  }
}

/* Opens the file a request names; 0, or the status to answer. */
static int open_file(const static_files *sf, const char *path, file_send *fs, char *name, size_t cap) {
  char real[PATH_MAX];
  struct stat st;
  if (static_files_map(sf, path, name, cap)) return 404;
  /* A symlink may still lead out of the root. */
  size_t rl = strlen(sf->root);
  if (!realpath(name, real) || strncmp(real, sf->root, rl) != 0 || (real[rl] != '/' && real[rl] != 0)) return 404;
  fs->fd = open(real, O_RDONLY | O_CLOEXEC);
  if (fs->fd < 0) return errno == EACCES ? 403 : 404;
  if (fstat(fs->fd, &st) || !S_ISREG(st.st_mode)) {
    close(fs->fd);
    return 404;
  }
  fs->size = st.st_size;
  fs->off = 0;
  return 0;
}

static void on_request(const static_files *sf, wt_http_request *r) {
  const char *m = wt_http_request_method(r);
  int head = strcmp(m, "HEAD") == 0;
  if (!head && strcmp(m, "GET") != 0) {
    answer(r, 405, "GET, HEAD");
    return;
  }
  file_send *fs = malloc(sizeof(*fs));
  char name[PATH_MAX];
  int status = fs ? open_file(sf, wt_http_request_path(r), fs, name, sizeof(name)) : 503;
  if (status) {
    free(fs);
    answer(r, status, NULL);
    return;
  }
  char len[32];
  snprintf(len, sizeof(len), "%lld", (long long)fs->size);
  wt_http_header h[] = {{"content-type", static_files_type(name)}, {"content-length", len}};
  if (wt_http_request_respond(r, 200, h, 2, head || fs->size == 0) || head || fs->size == 0) {
    close(fs->fd);
    free(fs);
    return;
  }
  wt_http_request_set_context(r, fs);
  pump(r, fs);
}

void static_files_event(const wt_event *ev, void *user_data) {
  file_send *fs = ev->http ? wt_http_request_context(ev->http) : NULL;
  switch (ev->type) {
  case WT_EV_HTTP_REQUEST: on_request(user_data, ev->http); break;
  case WT_EV_HTTP_WRITABLE:
    if (fs) pump(ev->http, fs);
    break;
  case WT_EV_HTTP_CLOSED:
    if (fs) {
      close(fs->fd);
      free(fs);
    }
    break;
  default: break;
  }
}
