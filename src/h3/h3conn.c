/*
 * h3conn.c: HTTP/3 connection state machine (see h3conn.h).
 *
 * Every stream gets a record on its first byte. Its `kind` says which
 * reader runs next; readers consume what they can and may change the kind
 * (a bidi stream turns into a request or a WebTransport stream once its
 * first varint is known). A connection error closes the whole connection
 * through io->close and makes every later input a no-op; a stream error
 * resets that stream and turns it into K_IGNORE.
 */
#include "h3/h3conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h3/codes.h"
#include "h3/frame.h"
#include "h3/varint.h"
#include "webtransport.h"

enum kind {
  K_UNI_TYPE,   /* peer uni stream: reading its type */
  K_BIDI_FIRST, /* peer bidi stream: reading 0x41 or a frame type */
  K_CONTROL,
  K_QPACK_ENC,
  K_QPACK_DEC,
  K_REQUEST,
  K_WT_SID, /* WebTransport stream: reading the session ID */
  K_WT,
  K_IGNORE, /* consume and drop */
  K_LOCAL,  /* our control / QPACK streams: we never read them */
};

enum { HS_NONE, HS_HEADERS, HS_TRAILERS };

/* Frame payloads we buffer are bounded so a peer cannot make us hold more
 * than this for a control frame. */
#define CONTROL_FRAME_MAX WT_SETTINGS_MAX_PAYLOAD

typedef struct h3s {
  int64_t id;
  uint8_t kind;
  uint8_t bidi;
  uint8_t headers_state;
  uint8_t wt_bidi;
  uint8_t buffering;      /* control stream: current frame payload is kept */
  uint8_t wt_hdr;         /* WT stream we opened: length of the header we wrote */
  uint8_t no_body;        /* response to HEAD, or 204/304: content-length describes no DATA */
  uint64_t offset;        /* bytes received so far; for WT streams, where the payload began */
  int64_t content_length; /* of the message being received; -1 when absent */
  uint64_t data_rx;       /* DATA payload bytes of that message so far */
  size_t deferred;        /* DATA bytes of the current input the handler credits later */
  wt_varint_reader vr;
  wt_frame_reader fr;
  wt_buf fbuf;
  wt_qpack_inst_reader qr;
  void *up;
} h3s;

struct wt_h3conn {
  wt_h3conn_config cfg;
  wt_setting settings[16];
  wt_h3_io io;
  wt_h3_handler h;
  const wt_logger *log;
  wt_idmap streams;
  int closed;
  int started;
  int have_peer_settings;
  wt_h3_settings peer;
  int64_t peer_control, peer_qpack_enc, peer_qpack_dec;
  int64_t local_control;
  uint64_t goaway_recv; /* UINT64_MAX until one arrives */
  uint64_t max_push_id_recv;
  int max_push_id_seen;
};

static int is_client_initiated(int64_t sid) { return (sid & 1) == 0; }
static int is_bidi(int64_t sid) { return (sid & 2) == 0; }
static int is_local(const wt_h3conn *c, int64_t sid) { return is_client_initiated(sid) != c->cfg.is_server; }

/* ------------------------------------------------------------------------ */
/* Lifecycle                                                                */

int wt_h3conn_new(const wt_h3conn_config *cfg, const wt_h3_io *io, const wt_h3_handler *h, const wt_logger *log,
                  wt_h3conn **out) {
  if (cfg->nsettings > sizeof(((wt_h3conn *)0)->settings) / sizeof(wt_setting)) return WT_ERR_INVALID_ARGUMENT;
  wt_h3conn *c = calloc(1, sizeof(*c));
  if (!c) return WT_ERR_NOMEM;
  c->cfg = *cfg;
  memcpy(c->settings, cfg->settings, cfg->nsettings * sizeof(wt_setting));
  c->cfg.settings = c->settings;
  c->io = *io;
  c->h = *h;
  c->log = log;
  wt_idmap_init(&c->streams);
  c->peer_control = c->peer_qpack_enc = c->peer_qpack_dec = c->local_control = -1;
  c->goaway_recv = UINT64_MAX;
  wt_settings_init(&c->peer);
  *out = c;
  return 0;
}

static void stream_free(h3s *s) {
  wt_buf_free(&s->fbuf);
  free(s);
}

void wt_h3conn_free(wt_h3conn *c) {
  if (!c) return;
  for (size_t i = 0; i < c->streams.cap; i++)
    if (wt_idmap_used(&c->streams, i)) stream_free(c->streams.slots[i].value);
  wt_idmap_free(&c->streams);
  free(c);
}

const wt_h3_settings *wt_h3conn_peer_settings(const wt_h3conn *c) { return c->have_peer_settings ? &c->peer : NULL; }
int wt_h3conn_is_closed(const wt_h3conn *c) { return c->closed; }
int wt_h3conn_goaway_received(const wt_h3conn *c) { return c->goaway_recv != UINT64_MAX; }

void wt_h3conn_fail(wt_h3conn *c, uint64_t code, const char *why) {
  if (c->closed) return;
  c->closed = 1;
  WT_LOGW(c->log, "HTTP/3 connection error 0x%llx: %s", (unsigned long long)code, why);
  c->io.close(c->io.ctx, code, why);
}

static h3s *stream_new(wt_h3conn *c, int64_t sid, int kind) {
  h3s *s = calloc(1, sizeof(*s));
  if (!s) return NULL;
  s->id = sid;
  s->kind = (uint8_t)kind;
  s->bidi = (uint8_t)is_bidi(sid);
  s->content_length = -1;
  wt_frame_reader_init(&s->fr);
  wt_buf_init(&s->fbuf);
  if (wt_idmap_put(&c->streams, (uint64_t)sid, s)) {
    stream_free(s);
    return NULL;
  }
  return s;
}

/* A stream error: reset our side, ask the peer to stop, drop what follows. */
static void stream_error(wt_h3conn *c, h3s *s, uint64_t code, const char *why) {
  WT_LOGI(c->log, "stream %lld: HTTP/3 stream error 0x%llx: %s", (long long)s->id, (unsigned long long)code, why);
  if (s->bidi || is_local(c, s->id)) c->io.reset(c->io.ctx, s->id, code, 0);
  if (s->bidi || !is_local(c, s->id)) c->io.stop_sending(c->io.ctx, s->id, code);
  int was_request = s->kind == K_REQUEST && s->headers_state != HS_NONE;
  s->kind = K_IGNORE;
  wt_buf_free(&s->fbuf);
  if (was_request) c->h.on_request_end(c->h.ctx, s->id, 1, code);
}

/* ------------------------------------------------------------------------ */
/* Start: control and QPACK streams, SETTINGS                               */

static int open_local_uni(wt_h3conn *c, uint8_t type, const wt_buf *extra) {
  int64_t sid;
  int rv = c->io.open_stream(c->io.ctx, 0, &sid);
  if (rv) return rv;
  if (type == H3_STREAM_CONTROL) c->local_control = sid;
  if (!stream_new(c, sid, K_LOCAL)) return WT_ERR_NOMEM;
  ssize_t n = c->io.write(c->io.ctx, sid, &type, 1, 0, SIZE_MAX);
  if (n >= 0 && extra) n = c->io.write(c->io.ctx, sid, extra->data, extra->len, 0, SIZE_MAX);
  return n < 0 ? (int)n : 0;
}

int wt_h3conn_start(wt_h3conn *c) {
  if (c->started) return 0;
  wt_buf settings;
  wt_buf_init(&settings);
  int rv = wt_settings_write_frame(&settings, c->cfg.settings, c->cfg.nsettings, c->cfg.grease_seed);
  if (!rv) rv = open_local_uni(c, H3_STREAM_CONTROL, &settings);
  if (!rv) rv = open_local_uni(c, H3_STREAM_QPACK_ENCODER, NULL);
  if (!rv) rv = open_local_uni(c, H3_STREAM_QPACK_DECODER, NULL);
  wt_buf_free(&settings);
  if (rv) {
    WT_LOGE(c->log, "cannot open HTTP/3 control streams: %s", wt_strerror(rv));
    return rv;
  }
  c->started = 1;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Unidirectional stream types                                              */

static int claim_critical(wt_h3conn *c, int64_t *slot, int64_t sid, const char *what) {
  if (*slot >= 0) {
    char why[64];
    snprintf(why, sizeof(why), "second %s stream", what);
    wt_h3conn_fail(c, H3_STREAM_CREATION_ERROR, why);
    return -1;
  }
  *slot = sid;
  return 0;
}

static void classify_uni(wt_h3conn *c, h3s *s, uint64_t type) {
  switch (type) {
  case H3_STREAM_CONTROL:
    if (claim_critical(c, &c->peer_control, s->id, "control") == 0) s->kind = K_CONTROL;
    return;
  case H3_STREAM_QPACK_ENCODER:
  case H3_STREAM_QPACK_DECODER: {
    int dec = type == H3_STREAM_QPACK_DECODER;
    if (claim_critical(c, dec ? &c->peer_qpack_dec : &c->peer_qpack_enc, s->id,
                       dec ? "QPACK decoder" : "QPACK encoder") == 0) {
      s->kind = dec ? K_QPACK_DEC : K_QPACK_ENC;
      wt_qpack_inst_reader_init(&s->qr, dec);
    }
    return;
  }
  case H3_STREAM_PUSH:
    /* Clients never push (RFC 9114 §6.2.2); we never sent MAX_PUSH_ID, so
     * any push ID a server uses exceeds it (§4.6). */
    if (c->cfg.is_server)
      wt_h3conn_fail(c, H3_STREAM_CREATION_ERROR, "push stream from a client");
    else
      wt_h3conn_fail(c, H3_ID_ERROR, "push stream without MAX_PUSH_ID");
    return;
  case H3_STREAM_WT_UNI:
    s->kind = K_WT_SID;
    s->wt_bidi = 0;
    return;
  default:
    /* Unknown and reserved types are ignored (RFC 9114 §6.2.3, §9). */
    s->kind = K_IGNORE;
    c->io.stop_sending(c->io.ctx, s->id, H3_STREAM_CREATION_ERROR);
    return;
  }
}

static size_t read_first_varint(h3s *s, const uint8_t *p, size_t len, uint64_t *v, int *done) {
  size_t n = wt_varint_reader_feed(&s->vr, p, p + len, done);
  if (*done) {
    *v = s->vr.value;
    wt_varint_reader_reset(&s->vr);
  }
  return n;
}

static size_t read_uni_type(wt_h3conn *c, h3s *s, const uint8_t *p, size_t len) {
  uint64_t type;
  int done;
  size_t n = read_first_varint(s, p, len, &type, &done);
  if (done) classify_uni(c, s, type);
  return n;
}

/* A peer bidi stream starts with 0x41 (WebTransport) or a frame type. */
static size_t read_bidi_first(wt_h3conn *c, h3s *s, const uint8_t *p, size_t len) {
  uint64_t v;
  int done;
  size_t n = read_first_varint(s, p, len, &v, &done);
  if (!done) return n;
  if (v == H3_FRAME_WT_STREAM) {
    s->kind = K_WT_SID;
    s->wt_bidi = 1;
  } else if (!c->cfg.is_server) {
    /* Server-initiated bidi streams exist only for WebTransport. */
    wt_h3conn_fail(c, H3_STREAM_CREATION_ERROR, "server-initiated bidi stream that is not WebTransport");
  } else {
    s->kind = K_REQUEST;
    wt_frame_reader_start_with_type(&s->fr, v);
  }
  return n;
}

static size_t read_wt_sid(wt_h3conn *c, h3s *s, const uint8_t *p, size_t len) {
  uint64_t session_id;
  int done;
  size_t n = read_first_varint(s, p, len, &session_id, &done);
  if (!done) return n;
  /* A session ID is the ID of a client-initiated bidi stream (draft §4.2,
   * §4.3). */
  if ((session_id & 3) != 0) {
    wt_h3conn_fail(c, H3_ID_ERROR, "WebTransport stream names a session ID that is not a client bidi stream");
    return n;
  }
  s->kind = K_WT;
  s->up = c->h.on_wt_stream(c->h.ctx, s->id, session_id, s->wt_bidi);
  if (!s->up && s->kind == K_WT) s->kind = K_IGNORE;
  return n;
}

/* ------------------------------------------------------------------------ */
/* Control stream                                                           */

static void on_settings_frame(wt_h3conn *c, h3s *s) {
  uint64_t err;
  if (c->have_peer_settings) {
    wt_h3conn_fail(c, H3_FRAME_UNEXPECTED, "second SETTINGS frame");
    return;
  }
  if (wt_settings_parse(wt_buf_rpos(&s->fbuf), wt_buf_readable(&s->fbuf), !c->cfg.is_server, &c->peer, &err)) {
    wt_h3conn_fail(c, err, "invalid SETTINGS");
    return;
  }
  c->have_peer_settings = 1;
  c->h.on_settings(c->h.ctx);
}

static int parse_single_varint(const wt_buf *b, uint64_t *v) {
  size_t n = wt_varint_read(wt_buf_rpos(b), wt_buf_rpos(b) + wt_buf_readable(b), v);
  return n && n == wt_buf_readable(b) ? 0 : -1;
}

static void on_goaway_frame(wt_h3conn *c, uint64_t id) {
  /* From a server the ID is a client bidi stream ID (RFC 9114 §5.2), and
   * successive GOAWAYs must not increase it. */
  if (!c->cfg.is_server && (id & 3) != 0) {
    wt_h3conn_fail(c, H3_ID_ERROR, "GOAWAY with a stream ID that is not a client bidi stream");
    return;
  }
  if (c->goaway_recv != UINT64_MAX && id > c->goaway_recv) {
    wt_h3conn_fail(c, H3_ID_ERROR, "GOAWAY ID increased");
    return;
  }
  c->goaway_recv = id;
  c->h.on_goaway(c->h.ctx, id);
}

static void on_control_frame_end(wt_h3conn *c, h3s *s) {
  uint64_t v;
  uint64_t type = s->fr.type;
  if (type == H3_FRAME_SETTINGS) {
    on_settings_frame(c, s);
  } else if (type == H3_FRAME_GOAWAY || type == H3_FRAME_MAX_PUSH_ID || type == H3_FRAME_CANCEL_PUSH) {
    if (parse_single_varint(&s->fbuf, &v)) {
      wt_h3conn_fail(c, H3_FRAME_ERROR, "malformed control frame");
    } else if (type == H3_FRAME_GOAWAY) {
      on_goaway_frame(c, v);
    } else if (type == H3_FRAME_MAX_PUSH_ID) {
      if (c->max_push_id_seen && v < c->max_push_id_recv) wt_h3conn_fail(c, H3_ID_ERROR, "MAX_PUSH_ID decreased");
      c->max_push_id_seen = 1;
      c->max_push_id_recv = v;
    } else {
      /* We never promise pushes and never allow them, so every push ID the
       * peer can name is unknown (RFC 9114 §7.2.3). */
      wt_h3conn_fail(c, H3_ID_ERROR, "CANCEL_PUSH for a push that does not exist");
    }
  }
  wt_buf_clear(&s->fbuf);
}

/* Which frames may appear on the peer's control stream. Returns 1 to
 * buffer the payload, 0 to skip it, -1 after failing the connection. */
static int control_frame_allowed(wt_h3conn *c, h3s *s) {
  uint64_t t = s->fr.type;
  if (s->fr.frames == 1 && t != H3_FRAME_SETTINGS) {
    wt_h3conn_fail(c, H3_MISSING_SETTINGS, "control stream does not start with SETTINGS");
    return -1;
  }
  if (t == H3_FRAME_WT_STREAM) {
    /* The signal belongs at the start of a bidi stream only (draft §4.3). */
    wt_h3conn_fail(c, H3_FRAME_ERROR, "WT_STREAM signal on the control stream");
    return -1;
  }
  if (t == H3_FRAME_DATA || t == H3_FRAME_HEADERS || t == H3_FRAME_PUSH_PROMISE || wt_frame_is_h2_reserved(t) ||
      (t == H3_FRAME_MAX_PUSH_ID && !c->cfg.is_server)) {
    wt_h3conn_fail(c, H3_FRAME_UNEXPECTED, "frame not allowed on the control stream");
    return -1;
  }
  if (t == H3_FRAME_SETTINGS || t == H3_FRAME_GOAWAY || t == H3_FRAME_MAX_PUSH_ID || t == H3_FRAME_CANCEL_PUSH) {
    if (s->fr.len > (t == H3_FRAME_SETTINGS ? CONTROL_FRAME_MAX : 8)) {
      wt_h3conn_fail(c, t == H3_FRAME_SETTINGS ? H3_EXCESSIVE_LOAD : H3_FRAME_ERROR, "control frame too long");
      return -1;
    }
    return 1;
  }
  return 0;
}

static size_t read_control(wt_h3conn *c, h3s *s, const uint8_t *p, size_t len) {
  size_t used = 0;
  while (!c->closed) {
    wt_frame_event ev;
    const uint8_t *chunk;
    size_t clen;
    used += wt_frame_reader_step(&s->fr, p + used, len - used, &ev, &chunk, &clen);
    if (ev == WT_FRAME_NEED_MORE) break;
    if (ev == WT_FRAME_HEADER) {
      int a = control_frame_allowed(c, s);
      if (a < 0) break;
      s->buffering = (uint8_t)a;
    } else if (ev == WT_FRAME_PAYLOAD) {
      if (s->buffering && wt_buf_append(&s->fbuf, chunk, clen)) {
        wt_h3conn_fail(c, H3_INTERNAL_ERROR, "out of memory");
        break;
      }
    } else if (s->buffering) {
      on_control_frame_end(c, s);
    }
  }
  return used;
}

/* ------------------------------------------------------------------------ */
/* QPACK instruction streams                                                */

static size_t read_qpack(wt_h3conn *c, h3s *s, const uint8_t *p, size_t len) {
  if (wt_qpack_inst_reader_feed(&s->qr, p, len)) {
    if (s->kind == K_QPACK_ENC)
      wt_h3conn_fail(c, QPACK_ENCODER_STREAM_ERROR, "encoder stream instruction for a table we never allowed");
    else
      wt_h3conn_fail(c, QPACK_DECODER_STREAM_ERROR, "decoder stream instruction for entries we never inserted");
  }
  return len;
}

/* ------------------------------------------------------------------------ */
/* Request streams                                                          */

static int collect_field(void *ud, const char *name, size_t nlen, const char *value, size_t vlen) {
  return wt_h3_headers_add(ud, name, nlen, value, vlen);
}

/* The first header section of a message: what its body must add up to
 * (RFC 9114 §4.1.2). Returns 0, or -1 after a stream error. */
static int note_content_length(wt_h3conn *c, h3s *s, const wt_h3_headers *h) {
  if (!c->cfg.is_server && (h->status == 204 || h->status == 304)) s->no_body = 1;
  /* Validation (headers.c) refused a malformed or conflicting one. */
  s->content_length = s->no_body || !h->has_content_length ? -1 : (int64_t)h->content_length;
  return 0;
}

/* Decodes the buffered HEADERS payload and hands it up. */
static void on_headers_frame(wt_h3conn *c, h3s *s) {
  wt_h3_headers h;
  const char *why = NULL;
  wt_h3_headers_init(&h);
  int rv = wt_qpack_decode(wt_buf_rpos(&s->fbuf), wt_buf_readable(&s->fbuf), c->cfg.max_field_section_size,
                           collect_field, &h);
  wt_buf_free(&s->fbuf);
  if (rv == WT_ERR_TOO_LARGE) {
    stream_error(c, s, H3_EXCESSIVE_LOAD, "field section larger than we accept");
  } else if (rv == WT_ERR_NOMEM) {
    wt_h3conn_fail(c, H3_INTERNAL_ERROR, "out of memory decoding a field section");
  } else if (rv) {
    wt_h3conn_fail(c, QPACK_DECOMPRESSION_FAILED, "cannot decode field section");
  } else if (s->headers_state == HS_HEADERS) {
    if (wt_h3_headers_check_trailers(&h, &why))
      stream_error(c, s, H3_MESSAGE_ERROR, why);
    else
      s->headers_state = HS_TRAILERS;
  } else if (c->cfg.is_server) {
    if (wt_h3_headers_check_request(&h, 1, &why))
      stream_error(c, s, H3_MESSAGE_ERROR, why);
    else if (note_content_length(c, s, &h) == 0) {
      s->headers_state = HS_HEADERS;
      c->h.on_headers(c->h.ctx, s->id, &h);
    }
  } else if (wt_h3_headers_check_response(&h, &why) || h.status == 101) {
    stream_error(c, s, H3_MESSAGE_ERROR, why ? why : "101 response");
  } else if (h.status >= 200 && note_content_length(c, s, &h) == 0) { /* 1xx are interim */
    s->headers_state = HS_HEADERS;
    c->h.on_headers(c->h.ctx, s->id, &h);
  }
  wt_h3_headers_free(&h);
}

/* Validates a frame header on a request stream. Returns 0 when the frame
 * may follow (its payload is then buffered, streamed or skipped by type),
 * -1 after a stream or connection error. */
static int request_frame_allowed(wt_h3conn *c, h3s *s) {
  uint64_t t = s->fr.type;
  switch (t) {
  case H3_FRAME_HEADERS:
    if (s->headers_state == HS_TRAILERS) break;
    if (s->fr.len > c->cfg.max_field_section_size) {
      stream_error(c, s, H3_EXCESSIVE_LOAD, "HEADERS frame larger than our field section limit");
      return -1;
    }
    return 0;
  case H3_FRAME_DATA:
    if (s->headers_state != HS_HEADERS) break;
    /* RFC 9114 §4.1.2: more content than content-length announced (or
     * any in a message that has none) is malformed. */
    s->data_rx += s->fr.len;
    if ((s->content_length >= 0 && s->data_rx > (uint64_t)s->content_length) || (s->no_body && s->fr.len)) {
      stream_error(c, s, H3_MESSAGE_ERROR, "DATA beyond content-length");
      return -1;
    }
    return 0;
  case H3_FRAME_WT_STREAM:
    wt_h3conn_fail(c, H3_FRAME_ERROR, "WT_STREAM signal in the middle of a request stream");
    return -1;
  case H3_FRAME_PUSH_PROMISE:
    if (!c->cfg.is_server) {
      wt_h3conn_fail(c, H3_ID_ERROR, "PUSH_PROMISE without MAX_PUSH_ID");
      return -1;
    }
    break;
  case H3_FRAME_CANCEL_PUSH:
  case H3_FRAME_SETTINGS:
  case H3_FRAME_GOAWAY:
  case H3_FRAME_MAX_PUSH_ID: break;
  default:
    if (wt_frame_is_h2_reserved(t)) break;
    return 0;
  }
  wt_h3conn_fail(c, H3_FRAME_UNEXPECTED, "frame not allowed here on a request stream");
  return -1;
}

static size_t read_request(wt_h3conn *c, h3s *s, const uint8_t *p, size_t len) {
  size_t used = 0;
  while (!c->closed && s->kind == K_REQUEST) {
    wt_frame_event ev;
    const uint8_t *chunk;
    size_t clen;
    used += wt_frame_reader_step(&s->fr, p + used, len - used, &ev, &chunk, &clen);
    if (ev == WT_FRAME_NEED_MORE) break;
    if (ev == WT_FRAME_HEADER) {
      if (request_frame_allowed(c, s) < 0) break;
    } else if (ev == WT_FRAME_PAYLOAD) {
      if (s->fr.type == H3_FRAME_HEADERS && wt_buf_append(&s->fbuf, chunk, clen))
        wt_h3conn_fail(c, H3_INTERNAL_ERROR, "out of memory");
      if (s->fr.type == H3_FRAME_DATA) s->deferred += c->h.on_data(c->h.ctx, s->id, chunk, clen);
    } else if (s->fr.type == H3_FRAME_HEADERS) {
      on_headers_frame(c, s);
    }
  }
  return used;
}

static void request_fin(wt_h3conn *c, h3s *s) {
  if (!wt_frame_reader_at_boundary(&s->fr)) {
    wt_h3conn_fail(c, H3_FRAME_ERROR, "request stream ends inside a frame");
  } else if (s->headers_state == HS_NONE) {
    stream_error(c, s, H3_REQUEST_INCOMPLETE, "request stream ended without HEADERS");
  } else if (s->content_length >= 0 && s->data_rx != (uint64_t)s->content_length) {
    stream_error(c, s, H3_MESSAGE_ERROR, "content shorter than content-length");
  } else {
    s->kind = K_IGNORE;
    c->h.on_request_end(c->h.ctx, s->id, 0, 0);
  }
}

/* ------------------------------------------------------------------------ */
/* Input                                                                    */

static h3s *find_or_create(wt_h3conn *c, int64_t sid) {
  h3s *s = wt_idmap_get(&c->streams, (uint64_t)sid);
  if (s || is_local(c, sid)) return s;
  s = stream_new(c, sid, is_bidi(sid) ? K_BIDI_FIRST : K_UNI_TYPE);
  if (!s) wt_h3conn_fail(c, H3_INTERNAL_ERROR, "out of memory");
  return s;
}

static int is_critical(const h3s *s) {
  return s->kind == K_CONTROL || s->kind == K_QPACK_ENC || s->kind == K_QPACK_DEC;
}

/* Runs the readers over the input. Returns the bytes HTTP/3 itself consumed
 * (WebTransport payload is credited by the layer above when read). */
static size_t dispatch(wt_h3conn *c, h3s *s, const uint8_t *data, size_t len, int fin, int *wt_done) {
  size_t off = 0, own = 0;
  *wt_done = 0;
  while (!c->closed && (off < len || (fin && s->kind == K_WT))) {
    size_t n;
    switch (s->kind) {
    case K_UNI_TYPE: n = read_uni_type(c, s, data + off, len - off); break;
    case K_BIDI_FIRST: n = read_bidi_first(c, s, data + off, len - off); break;
    case K_WT_SID: n = read_wt_sid(c, s, data + off, len - off); break;
    case K_CONTROL: n = read_control(c, s, data + off, len - off); break;
    case K_QPACK_ENC:
    case K_QPACK_DEC: n = read_qpack(c, s, data + off, len - off); break;
    case K_REQUEST:
      s->deferred = 0;
      n = read_request(c, s, data + off, len - off);
      /* Body bytes the handler keeps are credited when it reads them. */
      own -= s->deferred < n ? s->deferred : n;
      break;
    case K_WT:
      c->h.on_wt_data(c->h.ctx, s->up, data + off, len - off, fin);
      *wt_done = 1;
      return own;
    default: n = len - off; break;
    }
    off += n;
    own += n;
    s->offset += n; /* stops growing at K_WT: there the payload begins */
  }
  return own;
}

void wt_h3conn_on_stream_data(wt_h3conn *c, int64_t sid, const uint8_t *data, size_t len, int fin) {
  if (c->closed) return;
  h3s *s = find_or_create(c, sid);
  if (!s) {
    c->io.consumed(c->io.ctx, sid, len);
    return;
  }
  int wt_done;
  size_t own = dispatch(c, s, data, len, fin, &wt_done);
  if (own) c->io.consumed(c->io.ctx, sid, own);
  if (!fin || c->closed || wt_done) return;
  if (is_critical(s))
    wt_h3conn_fail(c, H3_CLOSED_CRITICAL_STREAM, "peer closed a critical stream");
  else if (s->kind == K_REQUEST)
    request_fin(c, s);
  else if (s->kind == K_BIDI_FIRST)
    stream_error(c, s, H3_REQUEST_INCOMPLETE, "request stream ended before its first frame");
}

void wt_h3conn_on_stream_reset(wt_h3conn *c, int64_t sid, uint64_t code, uint64_t final_size) {
  if (c->closed) return;
  h3s *s = wt_idmap_get(&c->streams, (uint64_t)sid);
  if (!s) return;
  if (is_critical(s)) {
    wt_h3conn_fail(c, H3_CLOSED_CRITICAL_STREAM, "peer reset a critical stream");
  } else if (s->kind == K_WT && s->up) {
    c->h.on_wt_reset(c->h.ctx, s->up, code, final_size > s->offset ? final_size - s->offset : 0);
  } else if (s->kind == K_REQUEST) {
    s->kind = K_IGNORE;
    /* A client must hear of a reset even before any response came. */
    if (s->headers_state != HS_NONE || is_local(c, sid)) c->h.on_request_end(c->h.ctx, sid, 1, code);
  }
}

void wt_h3conn_on_stop_sending(wt_h3conn *c, int64_t sid, uint64_t code) {
  if (c->closed) return;
  h3s *s = wt_idmap_get(&c->streams, (uint64_t)sid);
  if (!s) return;
  if (s->kind == K_LOCAL)
    wt_h3conn_fail(c, H3_CLOSED_CRITICAL_STREAM, "peer stopped one of our critical streams");
  else if (s->kind == K_WT && s->up)
    c->h.on_wt_stop(c->h.ctx, s->up, code);
  else if (s->kind == K_REQUEST || s->kind == K_IGNORE)
    c->h.on_request_stop(c->h.ctx, sid, code);
}

void wt_h3conn_on_stream_writable(wt_h3conn *c, int64_t sid) {
  h3s *s = wt_idmap_get(&c->streams, (uint64_t)sid);
  if (s && s->kind == K_WT && s->up)
    c->h.on_wt_writable(c->h.ctx, s->up);
  else if (s && s->bidi && s->kind != K_WT && !c->closed)
    c->h.on_request_writable(c->h.ctx, sid);
}

void wt_h3conn_on_stream_acked(wt_h3conn *c, int64_t sid) {
  h3s *s = wt_idmap_get(&c->streams, (uint64_t)sid);
  if (s && s->kind == K_WT && s->up) c->h.on_wt_acked(c->h.ctx, s->up);
}

void wt_h3conn_on_stream_closed(wt_h3conn *c, int64_t sid) {
  h3s *s = wt_idmap_del(&c->streams, (uint64_t)sid);
  if (!s) return;
  if (s->kind == K_WT && s->up) c->h.on_wt_closed(c->h.ctx, s->up);
  stream_free(s);
}

void wt_h3conn_on_stream_credit(wt_h3conn *c, int bidi) {
  if (!c->closed) c->h.on_stream_credit(c->h.ctx, bidi);
}

void wt_h3conn_on_datagram(wt_h3conn *c, const uint8_t *data, size_t len) {
  if (c->closed) return;
  uint64_t qsid;
  size_t n = wt_varint_read(data, data + len, &qsid);
  /* RFC 9297 §2.1: a datagram too short for its quarter stream ID, or one
   * naming an impossible stream, is H3_DATAGRAM_ERROR. */
  if (!n || qsid > (WT_VARINT_MAX >> 2)) {
    wt_h3conn_fail(c, H3_DATAGRAM_ERROR, "malformed HTTP datagram");
    return;
  }
  c->h.on_datagram(c->h.ctx, qsid * 4, data + n, len - n);
}

/* ------------------------------------------------------------------------ */
/* Output                                                                   */

static int write_all(wt_h3conn *c, int64_t sid, const wt_buf *b, int fin) {
  ssize_t n = c->io.write(c->io.ctx, sid, wt_buf_rpos(b), wt_buf_readable(b), fin, SIZE_MAX);
  return n < 0 ? (int)n : 0;
}

int wt_h3conn_send_headers(wt_h3conn *c, int64_t sid, const wt_qpack_field *f, size_t n, int fin) {
  wt_buf block, frame;
  wt_buf_init(&block);
  wt_buf_init(&frame);
  int rv = wt_qpack_encode(&block, f, n);
  if (!rv) rv = wt_frame_write(&frame, H3_FRAME_HEADERS, wt_buf_rpos(&block), wt_buf_readable(&block));
  if (!rv) rv = write_all(c, sid, &frame, fin);
  wt_buf_free(&block);
  wt_buf_free(&frame);
  return rv;
}

int wt_h3conn_send_request(wt_h3conn *c, const wt_qpack_field *f, size_t n, int fin, int64_t *sid) {
  if (c->closed) return WT_ERR_CLOSED;
  int rv = c->io.open_stream(c->io.ctx, 1, sid);
  if (rv) return rv;
  h3s *s = stream_new(c, *sid, K_REQUEST);
  if (!s) return WT_ERR_NOMEM;
  /* The response to HEAD has no content whatever its content-length says. */
  for (size_t i = 0; i < n; i++)
    if (f[i].name_len == 7 && memcmp(f[i].name, ":method", 7) == 0 && f[i].value_len == 4 &&
        memcmp(f[i].value, "HEAD", 4) == 0)
      s->no_body = 1;
  return wt_h3conn_send_headers(c, *sid, f, n, fin);
}

int wt_h3conn_send_data(wt_h3conn *c, int64_t sid, const uint8_t *data, size_t len, int fin) {
  if (c->closed) return WT_ERR_CLOSED;
  wt_buf frame;
  wt_buf_init(&frame);
  int rv = len ? wt_frame_write(&frame, H3_FRAME_DATA, data, len) : 0;
  if (!rv) rv = write_all(c, sid, &frame, fin);
  wt_buf_free(&frame);
  return rv;
}

ssize_t wt_h3conn_write_data(wt_h3conn *c, int64_t sid, const uint8_t *data, size_t len, int fin, size_t limit) {
  if (c->closed) return WT_ERR_CLOSED;
  if (len == 0) {
    ssize_t n = c->io.write(c->io.ctx, sid, NULL, 0, fin, SIZE_MAX);
    return n < 0 ? n : 0;
  }
  /* One frame per call keeps the header's length exact: the payload is
   * sized to the room first, so a short write never splits a frame. */
  size_t take = c->io.reserve(c->io.ctx, sid, len, limit);
  if (take == 0) return 0;
  uint8_t hdr[16], *p = hdr;
  p = wt_varint_write(p, H3_FRAME_DATA);
  p = wt_varint_write(p, take);
  ssize_t n = c->io.write(c->io.ctx, sid, hdr, (size_t)(p - hdr), 0, SIZE_MAX);
  if (n >= 0) n = c->io.write(c->io.ctx, sid, data, take, fin && take == len, SIZE_MAX);
  return n < 0 ? n : (ssize_t)take;
}

int wt_h3conn_open_wt_stream(wt_h3conn *c, uint64_t session_id, int bidi, void *up, int64_t *sid) {
  if (c->closed) return WT_ERR_CLOSED;
  int rv = c->io.open_stream(c->io.ctx, bidi, sid);
  if (rv) return rv;
  h3s *s = stream_new(c, *sid, K_WT);
  if (!s) return WT_ERR_NOMEM;
  s->up = up;
  uint8_t hdr[16], *p = hdr;
  p = wt_varint_write(p, bidi ? H3_FRAME_WT_STREAM : H3_STREAM_WT_UNI);
  p = wt_varint_write(p, session_id);
  s->wt_hdr = (uint8_t)(p - hdr);
  ssize_t n = c->io.write(c->io.ctx, *sid, hdr, s->wt_hdr, 0, SIZE_MAX);
  return n < 0 ? (int)n : 0;
}

ssize_t wt_h3conn_write(wt_h3conn *c, int64_t sid, const uint8_t *data, size_t len, int fin, size_t limit) {
  if (c->closed) return WT_ERR_CLOSED;
  return c->io.write(c->io.ctx, sid, data, len, fin, limit);
}

ssize_t wt_h3conn_write_ref(wt_h3conn *c, int64_t sid, const uint8_t *data, size_t len, int fin, size_t limit,
                            wt_release_cb release, void *ud) {
  if (c->closed) return WT_ERR_CLOSED;
  if (!c->io.write_ref) return WT_ERR_INVALID_ARGUMENT;
  return c->io.write_ref(c->io.ctx, sid, data, len, fin, limit, release, ud);
}

int wt_h3conn_reset(wt_h3conn *c, int64_t sid, uint64_t code) {
  return c->closed ? WT_ERR_CLOSED : c->io.reset(c->io.ctx, sid, code, 0);
}

int wt_h3conn_reset_wt(wt_h3conn *c, int64_t sid, uint64_t code, uint64_t payload) {
  if (c->closed) return WT_ERR_CLOSED;
  h3s *s = wt_idmap_get(&c->streams, (uint64_t)sid);
  uint64_t hdr = s && s->kind == K_WT ? s->wt_hdr : 0;
  uint64_t reliable = payload > UINT64_MAX - hdr ? UINT64_MAX : hdr + payload;
  return c->io.reset(c->io.ctx, sid, code, reliable);
}

int wt_h3conn_stop_sending(wt_h3conn *c, int64_t sid, uint64_t code) {
  return c->closed ? WT_ERR_CLOSED : c->io.stop_sending(c->io.ctx, sid, code);
}

void wt_h3conn_consumed(wt_h3conn *c, int64_t sid, size_t n) {
  if (!c->closed && n) c->io.consumed(c->io.ctx, sid, n);
}

void wt_h3conn_detach(wt_h3conn *c, int64_t sid) {
  h3s *s = wt_idmap_get(&c->streams, (uint64_t)sid);
  if (s) {
    s->up = NULL;
    s->kind = K_IGNORE;
  }
}

int wt_h3conn_send_datagram(wt_h3conn *c, uint64_t session_id, const uint8_t *data, size_t len) {
  if (c->closed) return WT_ERR_CLOSED;
  uint8_t hdr[8];
  uint8_t *p = wt_varint_write(hdr, session_id / 4);
  return c->io.send_datagram(c->io.ctx, hdr, (size_t)(p - hdr), data, len, session_id);
}

int wt_h3conn_send_goaway(wt_h3conn *c, uint64_t id) {
  if (c->closed) return WT_ERR_CLOSED;
  int64_t ctrl = c->local_control;
  if (ctrl < 0) return WT_ERR_STATE;
  uint8_t payload[8];
  uint8_t *p = wt_varint_write(payload, id);
  wt_buf frame;
  wt_buf_init(&frame);
  int rv = wt_frame_write(&frame, H3_FRAME_GOAWAY, payload, (size_t)(p - payload));
  if (!rv) rv = write_all(c, ctrl, &frame, 0);
  wt_buf_free(&frame);
  return rv;
}
