/*
 * baton.h: the Devious Baton protocol (draft-frindell-webtrans-devious-baton-00),
 * sans-I/O: the query parameters of a baton session, the Baton message
 * (encoder and an incremental reader) and the rules that say what an
 * endpoint does with a message it received.
 *
 * Not here: streams, datagrams and sessions. baton_session.c applies these
 * rules to a wt_session through the public API; this module is plain data
 * in, decisions out, so every rule has a unit test (tests/unit/test_baton.c).
 */
#ifndef WT_BATON_H
#define WT_BATON_H

#include <stddef.h>
#include <stdint.h>

#include "h3/varint.h"

#define BATON_PROTOCOL "devious-baton-00" /* the WT sub-protocol */
#define BATON_VERSION 0                   /* the only version this draft defines */
#define BATON_MAX_COUNT 1024              /* parallel batons a server agrees to run */

/* Stream error codes (RESET_STREAM, STOP_SENDING), draft §4.6.1. */
enum { BATON_IDC = 0x01, BATON_WHATEVER = 0x02, BATON_I_LIED = 0x03 };
/* Session error codes (WT_CLOSE_SESSION), draft §4.6.2. */
enum { BATON_DA_YAMN = 0x01, BATON_BRUH = 0x02, BATON_SUS = 0x03, BATON_BORED = 0x04 };

/* ------------------------------------------------------------------------ */
/* Query parameters (draft §3.1)                                            */

typedef struct baton_params {
  uint32_t version; /* default 0 */
  int baton;        /* 1..255, or -1 when absent (the server picks one) */
  uint32_t count;   /* default 1 */
} baton_params;

/* Parses `query` (what follows '?', NULL or "" for none). Returns 0, or the
 * HTTP status to refuse the session with (400) and *why a static one-line
 * reason: a value that is not a decimal number, a parameter given twice, an
 * unsupported version, a baton outside 1..255, a count of 0 or above
 * BATON_MAX_COUNT. Unknown parameters are ignored. */
int baton_params_parse(const char *query, baton_params *p, const char **why);

/* ------------------------------------------------------------------------ */
/* Baton message: { padding length (varint), padding, baton (1 byte) }      */

/* Encodes a message with `padding` zero bytes into `out`. Returns its
 * length, or 0 if `cap` is too small. */
size_t baton_encode(uint8_t value, uint64_t padding, uint8_t *out, size_t cap);

/* Reads one message from a stream, a few bytes at a time; the padding is
 * counted, not kept, so any padding length costs no memory. */
typedef struct baton_reader {
  enum { BR_LEN, BR_PAD, BR_VALUE, BR_DONE, BR_BAD } state;
  wt_varint_reader len; /* the library's incremental varint reader */
  uint64_t pad_left;
  uint64_t fed;
  uint8_t value;
} baton_reader;

void baton_reader_init(baton_reader *r);
/* Feeds bytes. Returns 0, or -1 once bytes follow the baton (malformed:
 * the sender must FIN right after it). */
int baton_reader_feed(baton_reader *r, const uint8_t *p, size_t n);
/* At the stream's FIN: the baton value 0..255, or -1 if the message is
 * incomplete or malformed (the session ends with BRUH). */
int baton_reader_finish(const baton_reader *r);
/* Nothing at all was fed (a bare FIN). */
int baton_reader_empty(const baton_reader *r);

/* A whole message in one datagram: the value, or -1 if malformed. */
int baton_decode(const uint8_t *p, size_t n);

/* ------------------------------------------------------------------------ */
/* The game: what to do with a received message (draft §4.2, §4.4, §4.5)   */

/* How a message arrived. */
typedef enum baton_arrival {
  BATON_ON_UNI,       /* a peer's uni stream */
  BATON_ON_PEER_BIDI, /* a bidi stream the peer opened */
  BATON_ON_OWN_BIDI,  /* a bidi stream we opened (the reply to our message) */
} baton_arrival;

/* Where the reply goes. */
typedef enum baton_reply {
  BATON_REPLY_NONE,     /* value 0: this baton is done */
  BATON_REPLY_NEW_BIDI, /* after a uni stream */
  BATON_REPLY_SAME,     /* after a peer's bidi stream: on it, then FIN */
  BATON_REPLY_NEW_UNI,  /* after our own bidi stream */
} baton_reply;

typedef struct baton_step {
  uint32_t error;    /* nonzero: close the session with this code (SUS) */
  baton_reply reply; /* where to send `value` */
  uint8_t value;     /* the incoming value + 1 (mod 256) */
  int datagram;      /* also send the received message as a datagram */
} baton_step;

typedef struct baton_game {
  int is_server;
  uint32_t active;   /* batons still in play, from the count parameter */
  uint64_t received; /* messages received on streams */
  uint64_t lost;     /* batons that ended with a reset instead of a 0 */
} baton_game;

void baton_game_init(baton_game *g, int is_server, uint32_t count);

/* A complete message with `value` arrived as `how`. `expected` is the value
 * the stream must carry (our own bidi stream: what we sent + 1), or -1 when
 * any value is acceptable. A 0 received, or a 0 about to be sent as the
 * reply, ends that baton. */
baton_step baton_game_on_message(baton_game *g, baton_arrival how, int value, int expected);

/* A stream that was to carry a baton (to us, or from us unacknowledged) was
 * reset or stopped: that baton is out of play. */
void baton_game_on_lost(baton_game *g);

/* Every baton ended: the endpoint closes the session without an error once
 * what it sent is acknowledged. */
int baton_game_over(const baton_game *g);

/* Name of a session error code, for log lines. */
const char *baton_error_name(uint32_t code);

#endif
