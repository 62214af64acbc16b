/*
 * baton_session.h: runs the Devious Baton game (baton.h) on one
 * wt_session, either side, through the public API only. wt-server uses it
 * for /webtransport/devious-baton and /baton, wt-client for --baton.
 *
 * Not for parsing or protocol rules (baton.c) nor for the event loop (the
 * tools own theirs).
 */
#ifndef WT_BATON_SESSION_H
#define WT_BATON_SESSION_H

#include "baton.h"
#include "webtransport.h"

typedef struct baton_session baton_session;

/* Creates the game state for `s`. A server passes the initial baton value
 * (1..255) and opens its uni streams at once (baton_session_start); a
 * client passes `initial` -1. Returns NULL when out of memory. The caller
 * routes every event of `s` to baton_session_on_event and frees the state
 * after WT_EV_SESSION_CLOSED. */
baton_session *baton_session_new(wt_session *s, int is_server, uint32_t count, int initial);

/* Server: opens one uni stream per baton carrying the initial value (draft
 * §4.1); without enough stream credit the session is closed with DA_YAMN. */
void baton_session_start(baton_session *b);

/* Handles one event of the session (stream events included). */
void baton_session_on_event(baton_session *b, const wt_event *ev);

/* After WT_EV_SESSION_CLOSED: 0 when every baton finished and the session
 * closed without error; else -1 with a one-line reason in `why`. */
int baton_session_result(const baton_session *b, char *why, size_t cap);

/* Counters for the tools' summary line. */
typedef struct baton_stats {
  uint32_t count, active;
  uint64_t received, sent, datagrams_sent, datagrams_received, lost;
} baton_stats;
void baton_session_stats(const baton_session *b, baton_stats *out);

void baton_session_free(baton_session *b);

#endif
